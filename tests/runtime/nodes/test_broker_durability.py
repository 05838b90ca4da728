"""Amazon MQ contents in the run's store (issue 11): what a broker holds outlives its process.

A queue destination keeps its messages in the store queue ``<id>``, a durable subscriber's
backlog is ``<id>#sub:<consumer>`` and the dead letters ``<id>#dlq``; a redelivery waits there
as a copy with its delivery count. Every test runs on SQLite and on Redis: a first Engine is
abandoned as a killed process would leave it (after its sends were acknowledged), and a new
Engine starts on the same store. The JMS playbook of test_broker_behaviour runs here too, on
both stores, unchanged.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.engine import Engine
from runtime.events import Message
from runtime.nodes.behaviour import DeliveryFailed, Link
from runtime.nodes.broker import HAND_OFF, BrokerNode
from runtime.store import MemoryStore, SqliteStore, Store, StoreError
from tests.runtime.engine_helpers import STORES, edge, engine_for, node
from tests.runtime.nodes import test_broker_behaviour as playbook
from tests.runtime.store.stores import Namespace

DURABLE = ("sqlite", "redis")


@pytest.fixture(params=DURABLE)
async def namespace(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Namespace]:
    made = Namespace(request.param, tmp_path)
    await made.check()  # Redis is part of the tested stack: fails, never skips, without it
    try:
        yield made
    finally:
        await made.cleanup()


class Run:
    """One Engine of a topology on a store of ``namespace``; ``crash()`` ends it as a killed
    process would, and ``again()`` starts a new Engine on the same store, later on the clock."""

    def __init__(self, namespace: Namespace, nodes: list[Any], edges: list[Any]) -> None:
        self.namespace = namespace
        self.nodes = nodes
        self.edges = edges
        self.store: Store | None = None
        self.engine: Engine | None = None
        self.now: float | None = None

    async def start(self, nodes: list[Any] | None = None, edges: list[Any] | None = None) -> Engine:
        self.store = self.namespace.open()
        engine, clock, _ = engine_for(
            nodes or self.nodes, edges if edges is not None else self.edges, store=self.store
        )
        if self.now is not None:
            clock.set_time(self.now)
        self.engine = engine
        await engine.start()
        await engine.settle()
        return engine

    async def crash(self) -> None:
        """The process dies: the store keeps what it acknowledged, nothing more."""
        assert self.engine is not None and self.store is not None
        await self.engine.settle()
        self.now = self.engine.clock.now()
        await self.namespace.crash(self.store)
        await self.engine.stop()  # only its tasks end: the store is gone already

    async def stop(self) -> None:
        """A clean stop (a redeploy): the engine stops and the store is closed."""
        assert self.engine is not None and self.store is not None
        await self.engine.stop()
        self.now = self.engine.clock.now()
        await self.store.close()
        self.namespace.opened.remove(self.store)

    async def held(self) -> dict[str, int]:
        assert self.store is not None and self.engine is not None
        return (await self.store.inventory(self.engine.clock.now()))["queues"]


def broker_topology(
    destination: str, consumers: int = 1, **config: Any
) -> tuple[list[Any], list[Any]]:
    nodes = [node("p", "producer"), node("mq", "broker", destination_type=destination, **config)]
    edges = [edge("p-mq", "p", "mq")]
    for index in range(consumers):
        nodes.append(node(f"c{index}", "log"))
        edges.append(edge(f"mq-c{index}", "mq", f"c{index}"))
    return nodes, edges


class Failing:
    """A consumer that rolls back every delivery, recording what it saw."""

    def __init__(self) -> None:
        self.seen: list[Message] = []

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.seen.extend(messages)
        raise DeliveryFailed("Rollback", "the session rolled back")


def failing(engine: Engine, consumer: str) -> Failing:
    made = Failing()
    engine.node(consumer).accept = made.accept  # type: ignore[method-assign]
    return made


def bodies(engine: Engine, consumer: str) -> list[Any]:
    return [entry["body"] for entry in engine.node(consumer).recent()]


def broker(engine: Engine) -> BrokerNode:
    found = engine.node("mq")
    assert isinstance(found, BrokerNode)
    return found


# --- a crash and a new Engine on the same store ---------------------------------------------------
async def test_queue_messages_waiting_for_a_consumer_outlive_a_crash_and_are_delivered(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("queue", consumers=0)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    for number in range(3):
        await engine.send("p", {"order": number})
    assert broker(engine).gauges()["depth"] == 3
    assert await run.held() == {"mq": 3}
    await run.crash()

    # Redeployed with a consumer: what the broker kept is delivered, oldest first.
    nodes, edges = broker_topology("queue", consumers=1)
    engine = await run.start(nodes, edges)
    assert bodies(engine, "c0") == [{"order": 0}, {"order": 1}, {"order": 2}]
    await engine.send("p", {"order": 3})
    assert bodies(engine, "c0")[-1] == {"order": 3}
    first = engine.node("c0").entries[0][1]  # type: ignore[attr-defined]
    assert "JMSRedelivered" not in first.system  # never delivered before: a first delivery
    assert broker(engine).gauges() == {"depth": 0, "dlq_depth": 0}
    assert await run.held() == {}
    await engine.stop()


async def test_restored_messages_go_before_newer_ones(namespace: Namespace) -> None:
    nodes, edges = broker_topology("queue", consumers=0)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    for number in range(2):
        await engine.send("p", {"order": number})
    await run.crash()
    nodes, edges = broker_topology("queue", consumers=1)
    engine = await run.start(nodes, edges)
    await engine.send("p", {"order": 2})
    assert bodies(engine, "c0") == [{"order": 0}, {"order": 1}, {"order": 2}]
    await engine.stop()


async def test_a_message_mid_redelivery_keeps_its_delivery_count_and_reaches_the_dlq(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("queue", maximum_redeliveries=3)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    before = failing(engine, "c0")
    await engine.send("p", {"order": 1})
    await engine.advance(1)  # the first redelivery fails too
    assert [m.system.get("JMSXDeliveryCount") for m in before.seen] == [None, 2]
    assert await run.held() == {"mq": 1}  # the second redelivery waits in the store
    await run.crash()

    engine = await run.start()
    after = failing(engine, "c0")
    await engine.advance(1)
    await engine.advance(1)
    assert [m.system["JMSXDeliveryCount"] for m in after.seen] == [3, 4]
    assert all(m.system["JMSRedelivered"] is True for m in after.seen)
    assert not any(name.startswith("_mq") for m in after.seen for name in m.system)
    mq = broker(engine)
    assert len(mq.dead_letters) == 1 and mq.stats.dead_lettered == 1
    assert mq.dead_letters[0].body == {"order": 1}
    assert mq.gauges() == {"depth": 0, "dlq_depth": 1}
    assert await run.held() == {"mq#dlq": 1}
    await engine.advance(60)
    assert len(after.seen) == 2  # nothing more: it is in the DLQ, not redelivered again
    await engine.stop()


async def test_a_redelivery_goes_back_to_the_consumer_that_rolled_it_back(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("queue", consumers=2)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    flaky = failing(engine, "c0")
    await engine.send("p", {"order": 1})  # round robin: c0 first, and it rolls back
    await engine.send("p", {"order": 2})  # c1
    await engine.advance(1)
    assert [m.body for m in flaky.seen] == [{"order": 1}, {"order": 1}]
    assert bodies(engine, "c1") == [{"order": 2}]
    await engine.stop()


async def test_a_durable_subscribers_backlog_outlives_a_crash_and_is_delivered_on_reconnect(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("topic", consumers=2, durable_subscriptions=True)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    broker(engine).disconnect("c1")
    await engine.send("p", {"n": 1})
    await engine.send("p", {"n": 2})
    assert bodies(engine, "c0") == [{"n": 1}, {"n": 2}]
    assert await run.held() == {"mq#sub:c1": 2}
    await run.crash()

    engine = await run.start()
    mq = broker(engine)
    assert mq.offline == {"c1"}  # it has a backlog: offline until it reconnects
    assert mq.gauges()["depth"] == 2
    await engine.send("p", {"n": 3})
    assert bodies(engine, "c0") == [{"n": 3}]
    assert bodies(engine, "c1") == []
    assert await mq.reconnect("c1") == 3
    assert bodies(engine, "c1") == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert await run.held() == {}
    await engine.send("p", {"n": 4})
    assert bodies(engine, "c1")[-1] == {"n": 4}
    await engine.stop()


async def test_a_durable_subscribers_redelivery_waits_in_the_store_with_its_count(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("topic", consumers=1, durable_subscriptions=True)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    before = failing(engine, "c0")
    await engine.send("p", {"n": 1})
    assert len(before.seen) == 1
    assert await run.held() == {"mq#sub:c0": 1}
    await run.crash()

    engine = await run.start()
    assert broker(engine).offline == set()  # only a redelivery waits: it is connected
    await engine.advance(1)
    assert bodies(engine, "c0") == [{"n": 1}]
    redelivered = engine.node("c0").entries[0][1]  # type: ignore[attr-defined]
    assert redelivered.system["JMSXDeliveryCount"] == 2
    assert redelivered.system["JMSRedelivered"] is True
    assert await run.held() == {}
    await engine.stop()


async def test_the_dlq_contents_survive_a_crash(namespace: Namespace) -> None:
    nodes, edges = broker_topology("queue", message_ttl=500, dlq_name="DLQ.orders")
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    failing(engine, "c0")
    await engine.send("p", {"order": 1})
    await engine.send("p", {"order": 2})
    await engine.advance(2)  # both expired before their redelivery
    assert len(broker(engine).dead_letters) == 2
    assert await run.held() == {"mq#dlq": 2}
    await run.crash()

    engine = await run.start()
    mq = broker(engine)
    assert [m.body for m in mq.dead_letters] == [{"order": 1}, {"order": 2}]
    assert mq.gauges() == {"depth": 0, "dlq_depth": 2}
    failing(engine, "c0")
    await engine.send("p", {"order": 3})
    await engine.advance(2)
    assert mq.gauges()["dlq_depth"] == 3
    assert await run.held() == {"mq#dlq": 3}
    await engine.stop()


async def test_a_message_being_delivered_when_the_process_died_is_delivered_again(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("queue")
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    stuck = asyncio.Event()

    async def hangs(messages: list[Message], link: Link | None) -> None:
        await stuck.wait()  # the process dies while the consumer holds the message

    engine.node("c0").accept = hangs  # type: ignore[method-assign]
    async with asyncio.TaskGroup() as group:
        sending = group.create_task(engine.send("p", {"order": 1}))
        await engine.settle()
        assert not sending.done()
        await run.crash()
        sending.cancel()

    engine = await run.start()
    if namespace.kind == "sqlite":
        assert bodies(engine, "c0") == [{"order": 1}]  # SQLite puts it back at once
    else:
        assert bodies(engine, "c0") == []  # Redis: once its hand-off ends
    await engine.advance(HAND_OFF)
    assert bodies(engine, "c0") == [{"order": 1}]
    assert await run.held() == {}
    await engine.stop()


async def test_a_message_no_selector_takes_waits_in_the_store_and_is_looked_at_again(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("queue")
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    mq = broker(engine)
    mq.set_selector("mq-c0", "color = 'red'")
    await engine.send("p", {"n": 1}, {"color": "blue"})
    await engine.send("p", {"n": 2}, {"color": "red"})
    assert bodies(engine, "c0") == [{"n": 2}]
    assert mq.gauges()["depth"] == 1
    mq.set_selector("mq-c0", "color = 'blue'")
    await engine.advance(HAND_OFF)
    assert bodies(engine, "c0") == [{"n": 2}, {"n": 1}]
    assert await run.held() == {}
    await engine.stop()


async def test_the_broker_keeps_only_buffers_named_after_its_node(namespace: Namespace) -> None:
    """Redeploy drops a store buffer unless its name is a node id or ``<node id>#<part>``."""
    nodes, edges = broker_topology("topic", consumers=2, durable_subscriptions=True)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    mq = broker(engine)
    assert mq.buffers() == ["mq#sub:c0", "mq#sub:c1", "mq#dlq"]
    failing(engine, "c0")
    mq.disconnect("c1")
    await engine.send("p", {"n": 1})
    held = await run.held()
    assert set(held) == {"mq#sub:c0", "mq#sub:c1"}
    assert {name.split("#", 1)[0] for name in held} == {"mq"}
    await engine.stop()


async def test_what_a_redeploy_left_that_the_broker_no_longer_reads_is_dropped_and_counted(
    namespace: Namespace,
) -> None:
    nodes, edges = broker_topology("topic", consumers=2, durable_subscriptions=True)
    run = Run(namespace, nodes, edges)
    engine = await run.start()
    broker(engine).disconnect("c1")
    await engine.send("p", {"n": 1})
    await engine.send("p", {"n": 2})
    assert await run.held() == {"mq#sub:c1": 2}
    await run.stop()

    # c1's edge is gone: so is its subscription, counted; the DLQ stays with the node.
    nodes, edges = broker_topology("topic", consumers=1, durable_subscriptions=True)
    engine = await run.start(nodes, edges)
    assert engine.snapshot()["nodes"]["mq"]["dropped"] == 2
    assert await run.held() == {}
    await run.stop()

    # A queue destination's messages go when it becomes a topic.
    nodes, edges = broker_topology("queue", consumers=0)
    engine = await run.start(nodes, edges)
    await engine.send("p", {"n": 3})
    assert await run.held() == {"mq": 1}
    await run.stop()
    nodes, edges = broker_topology("topic", consumers=0)
    engine = await run.start(nodes, edges)
    assert engine.snapshot()["nodes"]["mq"]["dropped"] == 1
    assert await run.held() == {}
    await run.stop()


# --- acknowledgement ------------------------------------------------------------------------------
class UnsyncedMemory(MemoryStore):
    """A durable store whose commits fail (a full disk)."""

    durable = True

    async def sync(self) -> None:
        raise StoreError("ServiceUnavailable", "The store could not commit: disk I/O error")


class UnsyncedSqlite(SqliteStore):
    async def sync(self) -> None:
        raise StoreError("ServiceUnavailable", "The store could not commit: disk I/O error")


@pytest.fixture(params=["memory", "sqlite"])
def unsynced(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], Store]:
    if request.param == "memory":
        return UnsyncedMemory
    return lambda: UnsyncedSqlite(tmp_path / "failing.sqlite3")


async def test_a_queue_send_the_store_did_not_commit_is_refused_and_not_delivered(
    unsynced: Callable[[], Store],
) -> None:
    nodes, edges = broker_topology("queue")
    store = unsynced()
    engine, _, _ = engine_for(nodes, edges, store=store)
    await engine.start()
    with pytest.raises(DeliveryFailed) as refused:
        await engine.send("mq", {"order": 1})  # the Send button: told, not "stored"
    assert refused.value.code == "ServiceUnavailable"
    await engine.send("p", {"order": 2})  # through an edge: the producer is told it failed
    await engine.settle()
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] == 0
    assert stats["mq"]["out"] == 0 and stats["mq"]["acked"] == 0 and stats["mq"]["in"] == 0
    assert stats["mq"]["refused"] == 2  # what a gateway reads to answer 502, not 200
    assert stats["p"]["errors"] == 1
    await engine.stop()
    await store.close()


async def test_a_durable_backlog_the_store_did_not_commit_refuses_the_whole_publish(
    unsynced: Callable[[], Store],
) -> None:
    nodes, edges = broker_topology("topic", consumers=2, durable_subscriptions=True)
    store = unsynced()
    engine, _, _ = engine_for(nodes, edges, store=store)
    await engine.start()
    broker(engine).disconnect("c1")
    with pytest.raises(DeliveryFailed):
        await engine.send("mq", {"n": 1})
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] == 0  # the connected subscriber got nothing either
    assert stats["mq"]["out"] == 0 and stats["mq"]["refused"] == 1
    await engine.stop()
    await store.close()


# --- the JMS playbook, unchanged, on the durable stores -------------------------------------------
PLAYBOOK = [
    case
    for name, case in vars(playbook).items()
    if name.startswith("test_mq_") and inspect.iscoroutinefunction(case)
]


@pytest.mark.parametrize("case", PLAYBOOK, ids=lambda case: case.__name__)
async def test_the_jms_playbook_holds_on_a_durable_store(
    case: Callable[[], Any], namespace: Namespace, tmp_path: Path
) -> None:
    opened: list[Namespace] = []

    def fresh() -> Store:
        made = Namespace(namespace.kind, tmp_path / uuid.uuid4().hex)
        opened.append(made)
        return made.open()

    STORES["factory"] = fresh
    try:
        await case()
    finally:
        STORES["factory"] = MemoryStore
        for made in opened:
            await made.cleanup()
