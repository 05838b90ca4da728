"""Named operations on a live run (hosting.operations): each one performed through
``Supervisor.operate`` on a real run, every result plain data that crosses the channel layer
(msgpack) unchanged, and the same operations asked of a runtime worker through
``RemoteSupervisor.operate``."""

from __future__ import annotations

import asyncio
import datetime
import time
import types
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import msgpack
import pytest

from hosting import operations
from hosting import supervisor as supervision
from hosting.supervisor import NotRunning, Supervisor, record_state
from runtime import spec
from tests.builders import edge, log_node, make_document, node, producer_node
from tests.hosting.gateway.live_topology import GRAPHQL_KEY, live_document
from tests.runtime.livefakes import drop_frames

pytestmark = pytest.mark.django_db

MAIN = 9101  # topology ids of this module's runs (no Topology rows needed)
SHOP = 9102
IDLE = 9103  # never deployed
MACHINE = "approve"
CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "jobs", "MessageBody": {"t.$": "$$.Task.Token"}},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


def main_document() -> dict[str, Any]:
    """A queue with its DLQ and a consumer, a load producer, a two-shard stream and a state
    machine waiting for callbacks: something for every inspector panel."""
    return make_document(
        nodes=[
            producer_node(),
            node("orders", "queue", dead_letter_queue="orders-dlq", max_receive_count=2),
            node("orders-dlq", "queue"),
            node("worker", "function"),
            log_node(),
            producer_node("load", mode="load", rate=5.0, duration=60),
            node("load-q", "queue"),
            producer_node("clicks-in", partition_key="k-{{n}}"),
            node("clicks", "stream", shard_count=2),
            log_node("clicks-sink"),
            node(MACHINE, "state_machine", definition=CALLBACK),
            node("jobs", "queue"),
            log_node("jobs-sink"),
        ],
        edges=[
            edge("in-queue", "orders-in", "orders"),
            edge("queue-worker", "orders", "worker"),
            edge("worker-sink", "worker", "sink"),
            edge("load-queue", "load", "load-q"),
            edge("in-stream", "clicks-in", "clicks"),
            edge("stream-sink", "clicks", "clicks-sink"),
            edge("machine-jobs", MACHINE, "jobs"),
            edge("jobs-sink", "jobs", "jobs-sink"),
        ],
    )


@pytest.fixture
def chief() -> Iterator[Supervisor]:
    """A supervisor of this test's own, running the real engine, with the main run deployed."""
    chief = Supervisor(on_state=record_state, send=drop_frames, tick=0.02)
    previous = supervision.set_supervisor(chief)
    chief.deploy(MAIN, spec.load(main_document()), revision=1)
    # Deploy answers once the engine started; the rate slider needs the run ticking too.
    assert wait_for(lambda: chief.runs[MAIN].group is not None)
    yield chief
    chief.shutdown()
    supervision.set_supervisor(previous)


def wait_for(check: Callable[[], Any], seconds: float = 5.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    return check()


def msgpack_round_trip(value: Any) -> Any:
    """What the channel layer (channels_redis) makes of a value on its way between processes."""
    return msgpack.unpackb(msgpack.packb(value, use_bin_type=True), raw=False)


def sent(chief: Supervisor, node_id: str, body: Any, **options: Any) -> str:
    return chief.operate(MAIN, "send", node_id=node_id, body=body, **options)[0]


def execution(chief: Supervisor, name: str) -> dict[str, Any] | None:
    return chief.operate(MAIN, "sm.execution", node_id=MACHINE, name=name)


def waiting_token(chief: Supervisor, name: str) -> str:
    def token() -> str:
        found = execution(chief, name)
        return found["waiting_tokens"][0] if found and found["waiting_tokens"] else ""

    found = wait_for(token)
    assert found, execution(chief, name)
    return found


# --- the inspector's panels -----------------------------------------------------------------------


def test_producer_rate_changes_a_running_load_producer(chief: Supervisor) -> None:
    assert chief.operate(MAIN, "producer.rate", node_id="load", rate=400) == 400.0
    assert chief.runs[MAIN].drivers["load"].rate == 400.0


def test_node_messages_are_a_nodes_last_messages_as_plain_rows(chief: Supervisor) -> None:
    trace_id = sent(chief, "orders-in", {"n": 1}, attributes={"tier": "gold"})

    rows = wait_for(lambda: chief.operate(MAIN, "node.messages", node_id="sink"))

    assert [row["trace_id"] for row in rows] == [trace_id]
    row = rows[0]
    assert row["node"] == "sink" and row["edge"] == "worker-sink"
    assert row["body"] == {"n": 1} and row["attributes"] == {"tier": "gold"}
    assert isinstance(row["hops"], list) and row["hops"][0] == "orders-in"
    assert isinstance(row["at"], float) and isinstance(row["system"], dict)


def test_node_clear_messages_empties_a_nodes_list(chief: Supervisor) -> None:
    sent(chief, "orders-in", {"n": 1})
    assert wait_for(lambda: chief.operate(MAIN, "node.messages", node_id="sink"))

    assert chief.operate(MAIN, "node.clear_messages", node_id="sink") is None

    assert chief.operate(MAIN, "node.messages", node_id="sink") == []


def test_trace_gives_every_hop_of_a_traced_message(chief: Supervisor) -> None:
    trace_id = sent(chief, "orders-in", {"n": 2})

    def reached_the_sink() -> dict[str, Any] | None:
        found = chief.operate(MAIN, "trace", trace_id=trace_id)
        return found if any(hop["node"] == "sink" for hop in found["hops"]) else None

    found = wait_for(reached_the_sink)

    assert found is not None and found["sampled"] is False
    assert {"orders-in", "orders", "worker", "sink"} <= {hop["node"] for hop in found["hops"]}
    assert set(found["hops"][0]) == {"at", "node", "action", "message_id", "detail"}
    assert [seen["trace_id"] for seen in found["seen"]] == [trace_id] * len(found["seen"])
    unknown = chief.operate(MAIN, "trace", trace_id="nobody-sent-this")
    assert unknown == {"hops": [], "seen": [], "sampled": True}


def test_queue_view_shows_a_dlqs_waiting_messages_and_its_sources(chief: Supervisor) -> None:
    trace_id = sent(chief, "orders-dlq", {"stuck": True}, attributes={"a": 1})

    def counted() -> dict[str, Any] | None:  # a shared store's depth is counted at ticks
        view = chief.operate(MAIN, "queue.view", node_id="orders-dlq", limit=50)
        return view if view["gauges"]["depth"] == 1 else None

    view = wait_for(counted)

    assert view is not None and view["sources"] == ["orders"]
    [record] = view["records"]
    assert record["trace_id"] == trace_id and '"stuck": true' in record["body"]
    assert record["attributes"] == '{"a": 1}' and record["receive_count"] == 0
    assert chief.operate(MAIN, "queue.view", node_id="orders-dlq", limit=0)["records"] == []


def test_queue_redrive_moves_a_dlqs_messages_or_says_why_not(chief: Supervisor) -> None:
    sent(chief, "orders-dlq", {"stuck": True})

    assert chief.operate(MAIN, "queue.redrive", node_id="orders-dlq") == {"moved": 1}
    assert chief.operate(MAIN, "queue.view", node_id="orders-dlq")["records"] == []
    refused = chief.operate(MAIN, "queue.redrive", node_id="orders")
    assert refused == {"refused": "Source queue must be configured as a Dead Letter Queue."}


def test_stream_records_are_listed_by_shard_with_sequence_numbers(chief: Supervisor) -> None:
    chief.operate(MAIN, "send", node_id="clicks-in", body=None, count=10)

    def ten() -> list[dict[str, Any]] | None:
        shards = chief.operate(MAIN, "stream.records", node_id="clicks", per_shard=25)
        return shards if sum(len(shard["records"]) for shard in shards) == 10 else None

    shards = wait_for(ten)

    assert shards is not None
    assert [shard["name"] for shard in shards] == ["shardId-000000000000", "shardId-000000000001"]
    record = next(record for shard in shards for record in shard["records"])
    assert set(record) == {"offset", "sequence", "key", "at", "value", "trace_id"}
    assert record["key"].startswith("k-") and isinstance(record["sequence"], str)
    few = chief.operate(MAIN, "stream.records", node_id="clicks", per_shard=1)
    assert all(len(shard["records"]) <= 1 for shard in few)


def test_sm_overview_counts_executions_and_lists_them_with_their_states(
    chief: Supervisor,
) -> None:
    for name in ("first", "second"):
        assert chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name=name) == {
            "name": name
        }
    waiting_token(chief, "second")

    overview = chief.operate(MAIN, "sm.overview", node_id=MACHINE, limit=50)

    assert overview["running_count"] == 2 and overview["counts"]
    assert [item["name"] for item in overview["executions"]] == ["second", "first"]
    assert overview["executions"][0]["states"] == {"Ask": "running"}
    assert chief.operate(MAIN, "sm.overview", node_id=MACHINE, limit=1)["executions"][0][
        "name"
    ] == ("second")


# --- a state machine's page -----------------------------------------------------------------------


def test_sm_executions_lists_summaries_newest_first(chief: Supervisor) -> None:
    assert chief.operate(MAIN, "sm.executions", node_id=MACHINE) == []
    for name in ("a", "b"):
        chief.operate(MAIN, "sm.start", node_id=MACHINE, input={"n": name}, name=name)

    listed = chief.operate(MAIN, "sm.executions", node_id=MACHINE)

    assert [item["name"] for item in listed] == ["b", "a"]
    assert listed[0]["status"] == "RUNNING" and listed[0]["source"] == "ui"
    assert chief.operate(MAIN, "sm.executions", node_id="orders") == []  # not a machine


def test_sm_execution_gives_one_execution_in_full_with_its_definition(chief: Supervisor) -> None:
    chief.operate(MAIN, "sm.start", node_id=MACHINE, input={"n": 1}, name="full")
    waiting_token(chief, "full")

    found = execution(chief, "full")

    assert found is not None
    assert found["name"] == "full" and found["input"] == {"n": 1}
    assert found["definition"] == CALLBACK
    assert found["history"][0]["type"] == "ExecutionStarted"
    assert isinstance(found["history"][0]["timestamp"], float)
    assert all(isinstance(key, str) for key in found["steps"])
    assert execution(chief, "nope") is None
    assert chief.operate(MAIN, "sm.execution", node_id="orders", name="full") is None


def test_sm_start_answers_the_name_or_the_refusal(chief: Supervisor) -> None:
    assert chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name="once") == {
        "name": "once"
    }
    # StartExecution is idempotent while the execution runs with the same input.
    same = chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name="once")
    assert same == {"name": "once"}
    again = chief.operate(MAIN, "sm.start", node_id=MACHINE, input={"n": 2}, name="once")
    assert again["refused"]["code"] == "ExecutionAlreadyExists"
    missing = chief.operate(MAIN, "sm.start", node_id="orders", input={}, name=None)
    assert missing == {
        "refused": {
            "code": "StateMachineDoesNotExist",
            "message": "Redeploy: the run predates this node.",
        }
    }
    named = chief.operate(MAIN, "sm.start", node_id=MACHINE, input={})
    assert named["name"] and "refused" not in named


def test_sm_callback_answers_a_waiting_task_or_refuses_the_token(chief: Supervisor) -> None:
    chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name="ask")
    token = waiting_token(chief, "ask")

    wrong = chief.operate(
        MAIN, "sm.callback", node_id=MACHINE, token="nope", outcome="failure", error="E"
    )
    assert wrong["refused"].startswith("TaskTimedOut")
    answered = chief.operate(
        MAIN, "sm.callback", node_id=MACHINE, token=token, outcome="success", output={"ok": 1}
    )
    assert answered == {"refused": None}
    done = wait_for(lambda: (found := execution(chief, "ask")) and found["status"] == "SUCCEEDED")
    assert done
    assert execution(chief, "ask")["output"] == {"ok": 1}
    elsewhere = chief.operate(MAIN, "sm.callback", node_id="orders", token=token)
    assert elsewhere == {"refused": "no such state machine in the run"}


def test_sm_stop_aborts_a_running_execution(chief: Supervisor) -> None:
    chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name="halt")
    waiting_token(chief, "halt")

    assert chief.operate(MAIN, "sm.stop", node_id=MACHINE, name="halt") is True

    aborted = wait_for(lambda: execution(chief, "halt")["status"] == "ABORTED")
    assert aborted and execution(chief, "halt")["error"] == "Flowyard.Stopped"
    assert chief.operate(MAIN, "sm.stop", node_id=MACHINE, name="nope") is False
    assert chief.operate(MAIN, "sm.stop", node_id="orders", name="halt") is False


# --- the contract ---------------------------------------------------------------------------------

PANEL_CALLS: dict[str, dict[str, Any]] = {
    "producer.rate": {"node_id": "load", "rate": 50.0},
    "node.messages": {"node_id": "sink"},
    "node.clear_messages": {"node_id": "sink"},
    "trace": {"trace_id": "t"},
    "queue.view": {"node_id": "orders"},
    "queue.redrive": {"node_id": "orders-dlq"},
    "stream.records": {"node_id": "clicks"},
    "sm.overview": {"node_id": MACHINE},
    "sm.executions": {"node_id": MACHINE},
    "sm.execution": {"node_id": MACHINE, "name": "x"},
    "sm.start": {"node_id": MACHINE, "input": {}},
    "sm.callback": {"node_id": MACHINE, "token": "t"},
    "sm.stop": {"node_id": MACHINE, "name": "x"},
}


def test_every_panel_operation_of_a_topology_without_a_run_raises_not_running(
    chief: Supervisor,
) -> None:
    for op, args in PANEL_CALLS.items():
        with pytest.raises(NotRunning, match="deploy it first"):
            chief.operate(IDLE, op, **args)


def test_a_stopped_run_still_answers_its_panels_as_with_run_did(chief: Supervisor) -> None:
    sent(chief, "orders-dlq", {"kept": True})
    chief.stop(MAIN)
    assert chief.operate(MAIN, "sm.executions", node_id=MACHINE) == []
    assert chief.operate(MAIN, "trace", trace_id="t")["hops"] == []


def test_an_unknown_operation_is_refused(chief: Supervisor) -> None:
    with pytest.raises(ValueError, match="no run operation named 'nope'"):
        chief.operate(MAIN, "nope")


async def test_aoperate_is_operate_for_async_callers(chief: Supervisor) -> None:
    listed = await chief.aoperate(MAIN, "sm.executions", node_id=MACHINE)
    assert listed == []
    with pytest.raises(NotRunning):
        await chief.aoperate(IDLE, "node.messages", node_id="sink")


def every_result(chief: Supervisor) -> dict[str, Any]:
    """One result of every registered operation, on runs with something in them."""
    chief.deploy(SHOP, spec.load(live_document("Operations shop")), revision=1)
    trace_id = sent(chief, "orders-in", {"n": 1, "nested": [1, [2, 3]]})
    sent(chief, "orders-dlq", {"stuck": True}, attributes={"n": 2})
    chief.operate(MAIN, "send", node_id="clicks-in", body=None, count=3)
    chief.operate(MAIN, "sm.start", node_id=MACHINE, input={"n": 1}, name="contract")
    token = waiting_token(chief, "contract")
    wait_for(lambda: chief.operate(MAIN, "node.messages", node_id="sink"))
    wait_for(lambda: chief.operate(MAIN, "stream.records", node_id="clicks")[0]["records"])
    request = {
        "method": "POST",
        "path": "/orders",
        "query_string": "",
        "headers": {"content-type": "application/json"},
        "body": b'{"Source": "shop", "DetailType": "Order", "Detail": {"n": 1}}',
        "source_ip": "127.0.0.1",
        "stage": "prod",
    }
    query = {"query": 'query { post(id: "1") { id title } }'}
    results = {
        "info": chief.operate(MAIN, "info"),
        "send": chief.operate(MAIN, "send", node_id="orders-in", body={"n": 3}),
        "snapshot": chief.operate(MAIN, "snapshot"),
        "stored": chief.operate(MAIN, "stored"),
        "gateway": chief.operate(SHOP, "gateway", stage="prod", request=request),
        "graphql": chief.operate(
            SHOP, "graphql", node_id="posts-api", data=query, api_key=GRAPHQL_KEY
        ),
        "producer.rate": chief.operate(MAIN, "producer.rate", node_id="load", rate=7.5),
        "node.messages": chief.operate(MAIN, "node.messages", node_id="sink"),
        "trace": chief.operate(MAIN, "trace", trace_id=trace_id),
        "queue.view": chief.operate(MAIN, "queue.view", node_id="orders-dlq", limit=50),
        "stream.records": chief.operate(MAIN, "stream.records", node_id="clicks", per_shard=25),
        "sm.overview": chief.operate(MAIN, "sm.overview", node_id=MACHINE, limit=50),
        "sm.executions": chief.operate(MAIN, "sm.executions", node_id=MACHINE),
        "sm.execution": chief.operate(MAIN, "sm.execution", node_id=MACHINE, name="contract"),
        "sm.start": chief.operate(MAIN, "sm.start", node_id=MACHINE, input={}, name="contract"),
        "sm.callback": chief.operate(MAIN, "sm.callback", node_id=MACHINE, token=token),
        "sm.stop": chief.operate(MAIN, "sm.stop", node_id=MACHINE, name="contract"),
        "queue.redrive": chief.operate(MAIN, "queue.redrive", node_id="orders-dlq"),
        "node.clear_messages": chief.operate(MAIN, "node.clear_messages", node_id="sink"),
    }
    return results


def test_every_operations_result_survives_the_channel_layer_unchanged(chief: Supervisor) -> None:
    results = every_result(chief)

    assert set(results) == set(operations.OPERATIONS), "a new operation needs a call here"
    for op, result in results.items():
        assert msgpack_round_trip(result) == result, op
    # Not only empty answers: each panel read had something to say.
    assert results["gateway"]["status"] == 200, results["gateway"]
    assert results["graphql"][0] == 200
    bodies = [row["body"] for row in results["node.messages"]]
    assert {"n": 1, "nested": [1, [2, 3]]} in bodies
    assert results["queue.view"]["records"] and results["sm.execution"]["history"]
    assert results["sm.start"]["refused"]["code"] == "ExecutionAlreadyExists"
    assert results["sm.callback"] == {"refused": None}
    assert results["queue.redrive"] == {"moved": 1}


def test_results_are_plain_data_whatever_the_engine_holds() -> None:
    moment = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    held = {
        "tuple": (1, ("a", b"b")),
        "proxy": types.MappingProxyType({"k": (1, 2)}),
        1: "int key",
        None: "none key",
        2.5: "float key",
        "set": {3},
        "when": moment,
        "huge": 2**70,
        "fine": [1.5, -(2**63), 2**64 - 1, None, False, "text", bytearray(b"x")],
    }

    shown = operations.plain(held)

    assert shown == {
        "tuple": [1, ["a", b"b"]],
        "proxy": {"k": [1, 2]},
        "1": "int key",
        "null": "none key",
        "2.5": "float key",
        "set": "{3}",
        "when": str(moment),
        "huge": str(2**70),
        "fine": [1.5, -(2**63), 2**64 - 1, None, False, "text", b"x"],
    }
    assert msgpack_round_trip(shown) == shown


# --- through a runtime worker --------------------------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def scaled_out(settings: Any) -> Iterator[None]:
    """This process as a scaled-out install: Redis channel layer, runs on runtime workers."""
    from tests.conftest import SESSION_REDIS_PREFIX

    prefix = f"{SESSION_REDIS_PREFIX}ops-{uuid.uuid4().hex[:8]}:"
    settings.REDIS_URL = REDIS_URL
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
                "prefix": f"{prefix}asgi",
                "expiry": 60,
            },
        }
    }
    settings.FLOWYARD_HOSTING = "workers"
    settings.FLOWYARD_RUN_STORE = "redis"
    settings.FLOWYARD_REDIS_PREFIX = prefix
    try:
        yield
    finally:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


@pytest.mark.django_db(transaction=True)
def test_a_panel_reads_the_run_through_the_worker_that_owns_it(
    scaled_out: None, alice: Any
) -> None:
    from channels.layers import channel_layers
    from django.test import Client
    from django.urls import reverse

    from designer.models import Topology
    from hosting.remote import RemoteSupervisor
    from hosting.worker import Worker

    topology = Topology.create_from_document(alice, main_document())
    worker = Worker(Supervisor(on_state=record_state, send=drop_frames, tick=0.05), interval=0.1)
    remote = RemoteSupervisor()
    previous = supervision.set_supervisor(remote)  # type: ignore[arg-type]
    worker.start()
    # One process plays both sides here: the worker keeps the channel layer it listens on, and
    # the web side gets one of its own (channels_redis receives on one event loop per layer).
    # A round on the worker's loop first, so that its listener has taken its layer.
    worker.supervisor.call(asyncio.sleep(0))
    channel_layers.backends.clear()
    try:
        assert remote.deploy(topology.pk)["state"] == "running"
        trace_id = remote.send(topology.pk, "orders-in", {"remote": True})[0]
        remote.operate(topology.pk, "sm.start", node_id=MACHINE, input={}, name="far")

        rows = wait_for(lambda: remote.operate(topology.pk, "node.messages", node_id="sink"))
        assert [row["trace_id"] for row in rows] == [trace_id]
        assert rows[0]["body"] == {"remote": True} and rows[0]["hops"][0] == "orders-in"
        listed = remote.operate(topology.pk, "sm.executions", node_id=MACHINE)
        assert [item["name"] for item in listed] == ["far"]
        with pytest.raises(NotRunning):
            remote.operate(topology.pk + 1000, "node.messages", node_id="sink")

        # The inspector's panels, rendered by a web process that runs no engine.
        client = Client()
        client.force_login(alice)
        messages = client.get(reverse("designer:run-messages", args=[topology.pk, "sink"]))
        assert messages.status_code == 200 and trace_id.encode() in messages.content
        assert b"deploy it to see" not in messages.content
        machine = client.get(reverse("designer:run-executions", args=[topology.pk, MACHINE]))
        assert b"far" in machine.content and b"RUNNING" in machine.content
        page = client.get(reverse("designer:asl-execution", args=[topology.pk, MACHINE, "far"]))
        assert page.status_code == 200 and b"Waiting for a callback" in page.content
        assert remote.stop(topology.pk)["state"] == "stopped"
    finally:
        worker.stop()
        supervision.set_supervisor(previous)
