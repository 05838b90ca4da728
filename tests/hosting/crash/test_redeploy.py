"""Redeploy keeps state (issue 11, Deliver 3), with the real Supervisor, engine and store.

The everyday loop "fix the consumer, redeploy, redrive the DLQ": a failing consumer sends its
messages to the DLQ; a new revision with the consumer fixed keeps the queue, the DLQ and the
messages still waiting (in flight ones too); the redriven DLQ messages are consumed once each.
A queue the new revision removes has its messages dropped and counted in ``info["dropped"]``;
``reset_state`` purges everything. On SQLite, and (where no consumer timing is involved) on
Redis too: a consumer on Redis may wait out a whole long poll (20 s) for a message whose
visibility ends during its receive call, so the consumer loop runs on SQLite only.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hosting.supervisor import Run, Supervisor
from runtime import spec
from runtime.store import SqliteStore, Store
from runtime.store.redis import RedisStore
from tests.builders import edge, function_node, make_document, queue_node
from tests.runtime.livefakes import drop_frames
from tests.runtime.store.stores import REDIS_URL

TOPOLOGY = 7


def document(*, failure_rate: float, with_gone: bool) -> dict[str, Any]:
    nodes = [
        queue_node("orders", visibility_timeout=2, dead_letter_queue="orders-dlq"),
        queue_node("orders-dlq"),
        function_node("worker", timeout=2, failure_rate=failure_rate),
        queue_node("done"),
    ]
    nodes[0]["config"]["max_receive_count"] = 2
    if with_gone:
        nodes.append(queue_node("gone"))
    return make_document(
        name="Redeploy",
        nodes=nodes,
        edges=[edge("orders-worker", "orders", "worker"), edge("worker-done", "worker", "done")],
    )


@pytest.fixture(params=["sqlite", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_factory(store_kind: str, tmp_path: Path) -> Iterator[Callable[..., Store]]:
    prefix = f"flowyard-test:{uuid.uuid4().hex[:12]}:"

    def open_store(topology_id: int) -> Store:
        if store_kind == "sqlite":
            return SqliteStore(tmp_path / f"topology-{topology_id}.sqlite3")
        return RedisStore.from_url(REDIS_URL, prefix=f"{prefix}t{topology_id}:")

    if store_kind == "redis":
        import redis

        try:
            redis.Redis.from_url(REDIS_URL).ping()
        except redis.RedisError:
            pytest.fail(f"no Redis at {REDIS_URL}: start redis-server (see .ci/run)")
    yield open_store
    if store_kind == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


@pytest.fixture
def chief(store_factory: Callable[..., Store]) -> Iterator[Supervisor]:
    chief = Supervisor(store_factory=store_factory, on_state=None, send=drop_frames, tick=0.02)
    yield chief
    chief.shutdown()


def depth(chief: Supervisor, node_id: str) -> int:
    """Messages the run's queue holds: visible, in flight and delayed."""

    async def read(run: Run) -> int:
        counts = await run.engine.nodes[node_id].counts()
        return counts["depth"] + counts["in_flight"] + counts["delayed"]

    return chief.with_run(TOPOLOGY, read)


def bodies(chief: Supervisor, node_id: str) -> list[Any]:
    async def read(run: Run) -> list[Any]:
        records = await run.store.queue_peek(node_id, time.time(), limit=1000)
        return sorted(record.message.body for record in records)

    return chief.with_run(TOPOLOGY, read)


def wait_for(condition: Callable[[], bool], timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_fix_the_consumer_redeploy_and_redrive_the_dlq(chief: Supervisor) -> None:
    chief.deploy(TOPOLOGY, spec.load(document(failure_rate=1.0, with_gone=True)), revision=1)
    for n in range(4):
        chief.send(TOPOLOGY, "orders", f"a{n}")
    for n in range(3):
        chief.send(TOPOLOGY, "gone", f"g{n}")
    # The consumer fails every time: after two receives each message moves to the DLQ.
    assert wait_for(lambda: depth(chief, "orders-dlq") == 4), depth(chief, "orders-dlq")
    # Two more that the failing consumer receives once at most (or is working on) when the
    # new revision replaces it: they come back in the new run, with a receive to spare.
    chief.send(TOPOLOGY, "orders", "b0")
    chief.send(TOPOLOGY, "orders", "b1")

    info = chief.redeploy(
        TOPOLOGY, spec.load(document(failure_rate=0.0, with_gone=False)), revision=2
    )

    assert info["revision"] == 2 and info["state"] == "running"
    assert info["dropped"] == "3 messages in 1 queue of removed nodes (gone)"
    assert "orders-dlq" not in info["dropped"]
    assert wait_for(lambda: bodies(chief, "done") == ["b0", "b1"]), (
        bodies(chief, "done"),
        bodies(chief, "orders-dlq"),
    )
    assert bodies(chief, "orders-dlq") == ["a0", "a1", "a2", "a3"]

    redriven = chief.with_run(TOPOLOGY, lambda run: run.engine.nodes["orders-dlq"].redrive())

    assert redriven == 4
    expected = ["a0", "a1", "a2", "a3", "b0", "b1"]
    assert wait_for(lambda: bodies(chief, "done") == expected), bodies(chief, "done")
    # The last batch's output is in done a moment before the batch is deleted from orders.
    assert wait_for(lambda: depth(chief, "orders") == 0), depth(chief, "orders")
    assert depth(chief, "orders-dlq") == 0
    # A later revision bringing a queue named "gone" back starts it empty: dropped is gone.
    again = chief.redeploy(
        TOPOLOGY, spec.load(document(failure_rate=0.0, with_gone=True)), revision=3
    )
    assert again["dropped"] == "" and depth(chief, "gone") == 0
    assert bodies(chief, "done") == expected


def test_a_queue_keeps_its_messages_across_redeploys_and_stop(chief: Supervisor) -> None:
    kept = spec.load(document(failure_rate=0.0, with_gone=True))
    chief.deploy(TOPOLOGY, kept, revision=1)
    for n in range(5):
        chief.send(TOPOLOGY, "gone", f"m{n}")
    assert wait_for(lambda: depth(chief, "gone") == 5)

    info = chief.redeploy(TOPOLOGY, kept, revision=2)

    assert info["recovered"] == "5 messages in 1 queue" and info["dropped"] == ""
    assert bodies(chief, "gone") == [f"m{n}" for n in range(5)]
    chief.stop(TOPOLOGY)
    assert chief.stored(TOPOLOGY) == {"messages": 5, "queues": 1, "records": 0, "logs": 0}
    chief.deploy(TOPOLOGY, kept, revision=2)
    assert bodies(chief, "gone") == [f"m{n}" for n in range(5)]


def test_reset_state_purges_every_queue_and_the_run_keeps_running(chief: Supervisor) -> None:
    chief.deploy(TOPOLOGY, spec.load(document(failure_rate=0.0, with_gone=True)), revision=1)
    chief.send(TOPOLOGY, "orders-dlq", "poison")
    for n in range(3):
        chief.send(TOPOLOGY, "gone", f"m{n}")
    assert wait_for(lambda: depth(chief, "gone") == 3)

    info = chief.reset_state(TOPOLOGY)

    assert info["purged"]["messages"] == 4 and info["purged"]["queues"] == 2
    assert info["state"] == "running" and info["recovered"] == ""
    assert depth(chief, "gone") == 0 and depth(chief, "orders-dlq") == 0
    assert chief.stored(TOPOLOGY)["messages"] == 0
    # Stopped, the store is purged all the same: a later deploy recovers nothing.
    chief.send(TOPOLOGY, "gone", "late")
    assert wait_for(lambda: depth(chief, "gone") == 1)
    chief.stop(TOPOLOGY)
    assert chief.reset_state(TOPOLOGY)["purged"]["messages"] == 1
    redeployed = chief.deploy(TOPOLOGY, spec.load(document(failure_rate=0.0, with_gone=True)))
    assert redeployed["recovered"] == "" and depth(chief, "gone") == 0
