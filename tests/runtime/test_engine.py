"""The engine: life cycle, injection, stats, provenance and observation (playbook style)."""

from __future__ import annotations

import asyncio

import pytest

from runtime.events import (
    IllegalTransition,
    MessageReceived,
    MessageRefused,
    MessageSent,
    NodeState,
    RunState,
    RunStateChanged,
)
from tests.builders import pipeline_document
from tests.runtime.engine_helpers import edge, engine_for, node, running


def pipeline() -> tuple[list[dict], list[dict]]:
    document = pipeline_document()
    return document["nodes"], document["edges"]


async def test_a_run_goes_from_created_to_running_to_stopped_and_reports_each_state() -> None:
    engine, _, observer = engine_for(*pipeline())
    assert engine.state is RunState.CREATED
    await engine.start()
    assert engine.state is RunState.RUNNING
    await engine.stop()
    states = [event.state for event in observer.of(RunStateChanged)]
    assert states == [RunState.STARTING, RunState.RUNNING, RunState.STOPPING, RunState.STOPPED]


async def test_a_stopped_run_cannot_be_resumed() -> None:
    engine, _, _ = engine_for(*pipeline())
    await engine.start()
    await engine.stop()
    with pytest.raises(IllegalTransition):
        engine.resume()


async def test_every_node_task_is_named_after_its_node_and_cancelled_on_stop() -> None:
    engine, _, _ = engine_for(*pipeline())
    await engine.start()
    names = {task.get_name() for task in engine._tasks}
    assert "orders:poll:worker:0" in names and "engine:timers" in names
    tasks = list(engine._tasks)
    await engine.stop()
    assert all(task.done() for task in tasks)


async def test_a_message_sent_by_hand_flows_through_every_hop_and_is_traced() -> None:
    async with running(*pipeline()) as engine:
        message = await engine.send("orders-in", {"order": 1})
        await engine.advance(1)
        stats = engine.snapshot()["nodes"]
        assert [stats[n]["in"] for n in ("orders-in", "orders", "worker", "sink")] == [1, 1, 1, 1]
        assert stats["orders"]["acked"] == 1
        hops = [hop.node for hop in engine.trace(message.trace_id) if hop.action == "received"]
        assert hops == ["orders-in", "orders", "worker", "sink"]
        sink = engine.node("sink")
        assert sink.recent()[0]["body"] == {"order": 1}  # type: ignore[attr-defined]
        kept = sink.recent()[0]  # type: ignore[attr-defined]
        assert kept["hops"] == ["orders-in", "orders", "worker"]


async def test_edges_count_the_messages_that_crossed_them() -> None:
    async with running(*pipeline()) as engine:
        await engine.node("orders-in").emit(25)  # type: ignore[attr-defined]
        await engine.advance(1)
        assert engine.snapshot()["edges"] == {"in-queue": 25, "queue-worker": 25, "worker-sink": 25}


async def test_per_message_events_reach_only_observers_that_ask_for_them() -> None:
    quiet, _, quiet_observer = engine_for(*pipeline())
    loud, _, loud_observer = engine_for(*pipeline(), wants_messages=True)
    for engine in (quiet, loud):
        await engine.start()
        await engine.node("orders-in").emit(5)  # type: ignore[attr-defined]
        await engine.advance(1)
        await engine.stop()
    assert quiet_observer.of(MessageReceived) == []
    assert len(loud_observer.of(MessageReceived)) == 20
    assert len(loud_observer.of(MessageSent)) == 10


async def test_the_provenance_ring_per_node_is_bounded_and_sampled() -> None:
    async with running(*pipeline(), provenance_per_node=4, sample_every=1) as engine:
        await engine.node("orders-in").emit(50)  # type: ignore[attr-defined]
        await engine.advance(1)
        ring = engine.provenance("sink")
        assert len(ring) == 4
        assert {entry["action"] for entry in ring} == {"received"}


async def test_pausing_holds_producers_and_resuming_lets_them_go_on() -> None:
    nodes = [
        node("load", "producer", mode="load", rate=10.0, duration=10),
        node("sink", "log"),
    ]
    async with running(nodes, [edge("e", "load", "sink")]) as engine:
        await engine.advance(1)
        before = engine.snapshot()["nodes"]["sink"]["in"]
        engine.pause()
        await engine.advance(3)
        assert engine.snapshot()["nodes"]["sink"]["in"] <= before + 1
        engine.resume()
        await engine.advance(20)
        assert engine.snapshot()["nodes"]["sink"]["in"] == 100


async def test_bad_input_is_refused_with_an_aws_error_counted_and_the_run_goes_on() -> None:
    nodes = [node("in", "producer"), node("q", "queue", max_message_size=1024), node("sink", "log")]
    edges = [edge("a", "in", "q"), edge("b", "q", "sink")]
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("in", "x" * 1025)
    await engine.send("in", "fine")
    await engine.advance(1)
    refused = observer.of(MessageRefused)
    assert refused[0].error_code == "InvalidParameterValue"
    assert "Message must be shorter than 1024 bytes" in refused[0].error_message
    stats = engine.snapshot()["nodes"]
    assert stats["q"]["refused"] == 1 and stats["sink"]["in"] == 1
    await engine.stop()


async def test_sending_to_an_unknown_node_names_it() -> None:
    async with running(*pipeline()) as engine:
        with pytest.raises(KeyError, match="nope"):
            await engine.send("nope", {})


async def test_a_node_that_crashes_is_stopped_and_reported_while_the_run_goes_on() -> None:
    nodes, edges = pipeline()
    engine, _, _ = engine_for(nodes, edges)
    worker = engine.node("orders")

    def broken() -> list:
        async def boom() -> None:
            raise RuntimeError("boom")

        return [("boom", boom)]

    worker.tasks = broken  # type: ignore[method-assign]
    await engine.start()
    await engine.settle()
    assert worker.state is NodeState.STOPPED and engine.state is RunState.RUNNING
    await engine.stop()


async def test_the_engine_runs_on_the_real_clock_too() -> None:
    nodes, edges = pipeline()
    from runtime.engine import Engine
    from runtime.spec import load
    from tests.builders import make_document

    engine = Engine(load(make_document(nodes=nodes, edges=edges)))
    await engine.start()
    await engine.send("orders-in", {"real": True})
    for _ in range(100):
        if engine.snapshot()["nodes"]["sink"]["in"]:
            break
        await asyncio.sleep(0.001)
    await engine.stop()
    assert engine.snapshot()["nodes"]["sink"]["in"] == 1


async def test_a_message_looping_between_nodes_stops_at_the_hop_limit_as_a_dead_letter() -> None:
    from runtime.events import MessageDeadLettered

    nodes = [node("p", "producer"), node("t", "topic"), node("fn", "function")]
    edges = [edge("a", "p", "t"), edge("b", "t", "fn"), edge("c", "fn", "t")]
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("p", {"loop": True})
    await engine.advance(5)
    (letter,) = observer.of(MessageDeadLettered)
    assert letter.error_code == "HopLimitExceeded"
    assert engine.snapshot()["nodes"]["t"]["in"] < 20
    await engine.stop()


async def test_one_poison_message_among_many_goes_to_the_dlq_and_the_rest_are_processed() -> None:
    nodes = [
        node("p", "producer"),
        node("q", "queue", visibility_timeout=5, max_receive_count=3, dead_letter_queue="dlq"),
        node("dlq", "queue"),
        node("fn", "function", transform="jsonata", jsonata='$exists(poison) ? $error("bad") : $'),
        node("sink", "log", keep_last=1000),
    ]
    edges = [edge("a", "p", "q"), edge("b", "q", "fn"), edge("c", "fn", "sink")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    for number in range(200):
        await engine.send("p", {"poison": True} if number == 100 else {"n": number})
    await engine.advance(60)
    stats = engine.snapshot()["nodes"]
    # A transform error fails only its own message (a partial batch failure), not the batch.
    assert stats["sink"]["in"] == 199 and stats["dlq"]["depth"] == 1
    assert stats["q"]["dead_lettered"] == 1 and stats["q"]["depth"] == 0
    await engine.stop()


async def test_an_observer_that_raises_never_stops_the_run() -> None:
    class Broken:
        wants_messages = True

        def emit(self, event: object) -> None:
            raise RuntimeError("observer bug")

    nodes, edges = pipeline()
    from runtime.engine import Engine
    from runtime.spec import load
    from tests.builders import make_document

    engine = Engine(load(make_document(nodes=nodes, edges=edges)), observer=Broken())
    await engine.start()
    await engine.send("orders-in", {"x": 1})
    await engine.settle()
    await engine.stop()
    assert engine.snapshot()["nodes"]["sink"]["in"] == 1 and engine.observer_errors > 0
