"""The live door and the ticker: one frame per tick at most, deltas that add up, gauges absolute."""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from channels.layers import get_channel_layer

from hosting import live
from hosting.live import FrameBuilder, Ticker
from runtime import spec
from runtime.observers import Recorder, TickSamples
from tests.builders import pipeline_document
from tests.runtime.livefakes import FakeEngine


def snapshot(received: int, depth: int = 0, *, edge: int = 0, state: str = "running") -> dict:
    return {
        "state": state,
        "at": 100.0 + received,
        "nodes": {"q": {"kind": "queue", "state": "running", "in": received, "depth": depth}},
        "edges": {"e1": edge},
    }


def test_the_first_frame_carries_the_counters_as_deltas_from_zero() -> None:
    builder = FrameBuilder("1.1")
    frame = builder.build(snapshot(5, 2, edge=5), wall=0.0)
    assert frame is not None
    assert frame["seq"] == 1 and frame["run"] == "1.1"
    assert frame["nodes"]["q"] == {"d": {"in": 5}, "g": {"depth": 2}, "s": "running"}
    assert frame["edges"]["e1"] == {"d": 5}


def test_later_frames_carry_only_what_moved() -> None:
    builder = FrameBuilder("1.1")
    builder.build(snapshot(5, 2, edge=5), wall=0.0)
    frame = builder.build(snapshot(8, 2, edge=8), TickSamples(edge_ids={"e1": ["m1"]}), wall=0.05)
    assert frame is not None
    assert frame["nodes"]["q"] == {"d": {"in": 3}}
    assert frame["edges"]["e1"] == {"d": 3, "ids": ["m1"]}


def test_an_idle_run_sends_nothing_until_the_heartbeat_is_due() -> None:
    builder = FrameBuilder("1.1")
    builder.build(snapshot(5), wall=0.0)
    assert builder.build(snapshot(5), wall=0.5) is None
    heartbeat = builder.build(snapshot(5), wall=1.01)
    assert heartbeat is not None and heartbeat["nodes"] == {} and heartbeat["seq"] == 2


def test_the_snapshot_is_the_base_the_next_deltas_start_from() -> None:
    builder = FrameBuilder("1.1")
    builder.build(snapshot(5, 2, edge=5), wall=0.0)
    base = builder.snapshot()
    frame = builder.build(snapshot(9, 1, edge=9), wall=0.05)
    assert base["seq"] == 1 and base["nodes"]["q"]["c"]["in"] == 5
    assert base["nodes"]["q"]["c"]["in"] + frame["nodes"]["q"]["d"]["in"] == 9
    assert frame["nodes"]["q"]["g"] == {"depth": 1}


def test_a_state_change_forces_a_frame() -> None:
    builder = FrameBuilder("1.1")
    builder.build(snapshot(5), wall=0.0)
    frame = builder.build(snapshot(5, state="paused"), wall=0.01)
    assert frame is not None and frame["state"] == "paused"


async def test_ten_thousand_messages_in_a_second_give_at_most_twenty_frames() -> None:
    engine = FakeEngine(spec.load(pipeline_document()))
    recorder = Recorder()
    recorder.tap(engine)
    frames: list[dict[str, Any]] = []

    async def collect(topology_id: Any, frame: dict[str, Any]) -> bool:
        frames.append(frame)
        return True

    ticker = Ticker(1, engine, recorder, "1.1", interval=0.05, send=collect)
    await engine.start()

    async def load() -> None:
        # 10,000 messages spread over one second in 100 bursts of 100.
        for _ in range(100):
            for _ in range(100):
                await engine.send("orders-in", {"n": 1})
            await asyncio.sleep(0.01)

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.TaskGroup() as group:
        ticking = group.create_task(ticker.run())
        await load()
        await asyncio.sleep(0.06)
        ticking.cancel()
    elapsed = loop.time() - started
    # The frame rate follows the tick (20/s), not the 10,000 messages/s.
    assert len(frames) / elapsed <= 21
    assert len(frames) >= 10
    moved = sum(frame["edges"].get("in-queue", {}).get("d", 0) for frame in frames)
    assert moved == 10_000
    assert all(len(frame["edges"].get("in-queue", {}).get("ids", [])) <= 3 for frame in frames)


async def test_the_recorder_keeps_the_last_hundred_messages_per_node_with_bodies() -> None:
    engine = FakeEngine(spec.load(pipeline_document()))
    recorder = Recorder()
    recorder.tap(engine)
    for n in range(150):
        await engine.send("orders-in", {"n": n}, {"kind": "order"})
    recent = recorder.recent("sink")
    assert len(recent) == 100
    assert recent[0].message.body == {"n": 149}
    assert recent[0].to_dict()["attributes"] == {"kind": "order"}
    assert recent[0].edge == "worker-sink"


async def test_final_targets_give_latency_percentiles() -> None:
    engine = FakeEngine(spec.load(pipeline_document()))
    recorder = Recorder()
    recorder.tap(engine)
    await engine.send("orders-in", {"n": 1})
    engine.clock.advance(0.2)
    percentiles = recorder.percentiles(0)
    assert percentiles is not None and percentiles["n"] == 1 and percentiles["p99"] == 0.0


async def test_publish_reaches_the_topology_group() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(7), channel)
    await live.publish(7, {"type": "tick", "seq": 1})
    message = await asyncio.wait_for(layer.receive(channel), 1)
    assert message["type"] == live.FRAME_TYPE
    assert json.loads(message["text"]) == {"type": "tick", "seq": 1}
    await layer.group_discard(live.group_name(7), channel)


async def test_deliver_hops_from_another_threads_loop_to_the_consumers_loop(settings: Any) -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(live.group_name(8), channel)
    live.attach_consumer_loop(asyncio.get_running_loop())
    outcome: list[bool] = []
    thread = threading.Thread(
        target=lambda: outcome.append(asyncio.run(live.deliver(8, {"type": "tick", "seq": 3})))
    )
    thread.start()
    message = await asyncio.wait_for(layer.receive(channel), 2)
    await asyncio.to_thread(thread.join, 2)
    assert outcome == [True]
    assert json.loads(message["text"])["seq"] == 3
    await layer.group_discard(live.group_name(8), channel)


@pytest.mark.parametrize("value", [0.05, 0.2])
def test_the_tick_comes_from_settings(settings: Any, value: float) -> None:
    settings.FLOWYARD_LIVE_TICK = value
    assert live.tick_seconds() == value


def test_state_machine_state_changes_travel_in_the_next_frame() -> None:
    builder = FrameBuilder("1.1")
    samples = TickSamples(machine_states={("flow", "exec-1", "Charge"): "running"})
    frame = builder.build(snapshot(1), samples, wall=0.0)
    assert frame is not None
    assert frame["sm"] == [
        {"node": "flow", "execution": "exec-1", "state": "Charge", "status": "running"}
    ]


async def test_stream_lag_is_counted_per_consumer_in_records() -> None:
    from runtime.clock import ManualClock
    from runtime.engine import Engine
    from tests.builders import edge, log_node, make_document, node, producer_node

    document = make_document(
        nodes=[producer_node(), node("clicks", "stream", shard_count=2), log_node()],
        edges=[edge("in", "orders-in", "clicks"), edge("out", "clicks", "sink")],
    )
    engine = Engine(spec.load(document), clock=ManualClock(auto_advance=False))
    await engine.start()
    try:
        for n in range(5):
            await engine.send("orders-in", {"n": n})
        lag = (await live.stream_lag(engine))["clicks"]["lag"]
        await engine.advance(5)
        drained = (await live.stream_lag(engine))["clicks"]["lag"]
    finally:
        await engine.stop()
    assert set(lag) == {"sink"} and 0 <= lag["sink"] <= 5
    assert drained == {"sink": 0}
