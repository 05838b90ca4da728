"""RedisStore beyond the contract: the pollers' take/acknowledge path, and moves between queues
(dead-lettering, redrive) that leave a message in exactly one queue whatever step a worker dies
at (R1). Each "crash" raises where a killed worker would stop: after the hold, before the move.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime.events import Message
from runtime.nodes import queue as queue_module
from runtime.store import QueueOptions
from runtime.store.redis import HOLD, RedisStore
from tests.runtime.engine_helpers import engine_for, node
from tests.runtime.store.stores import Namespace


@pytest.fixture
async def namespace(tmp_path: Path) -> AsyncIterator[Namespace]:
    made = Namespace("redis", tmp_path)
    await made.check()
    try:
        yield made
    finally:
        await made.cleanup()


@pytest.fixture
def store(namespace: Namespace) -> RedisStore:
    opened = namespace.open()
    assert isinstance(opened, RedisStore)
    return opened


def message(body: object, **system: object) -> Message:
    return Message.new(body, now=0.0, system=system or None)


class WorkerKilled(Exception):
    """Where a SIGKILLed worker stops."""


def die_on_move(monkeypatch: pytest.MonkeyPatch, after: int = 0) -> list[int]:
    """``queue_move`` works ``after`` times, then the worker "dies" before it runs."""
    calls = [0]
    move = RedisStore.queue_move

    async def dying(self: RedisStore, *args: Any, **kwargs: Any) -> list[int]:
        calls[0] += 1
        if calls[0] > after:
            raise WorkerKilled
        return await move(self, *args, **kwargs)

    monkeypatch.setattr(RedisStore, "queue_move", dying)
    return calls


# --- the pollers' take and acknowledgement --------------------------------------------------
async def test_a_take_acknowledges_the_batch_handled_before(store: RedisStore) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    await store.queue_send("q", [message(i) for i in range(5)], 0.0)
    first = await store.queue_take("q", 0.0, 3)
    assert [m.body for m in first.messages] == [0, 1, 2]
    second = await store.queue_take("q", 1.0, 3, acks=first.acks())
    assert second.acked == 3 and [m.body for m in second.messages] == [3, 4]
    last = await store.queue_take("q", 2.0, 3, acks=second.acks(second.numbers[:1]))
    assert last.acked == 1 and last.messages == [] and last.next_change == 31.0
    counts = await store.queue_counts("q", 2.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 1, 0)


async def test_a_stale_acknowledgement_deletes_nothing_received_again(store: RedisStore) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message("a")], 0.0)
    first = await store.queue_take("q", 0.0, 1)
    again = await store.queue_take("q", 10.0, 1)  # its visibility ended: received again
    assert [m.body for m in again.messages] == ["a"]
    assert (await store.queue_take("q", 11.0, 0, acks=first.acks())).acked == 0
    assert (await store.queue_take("q", 11.0, 0, acks=again.acks())).acked == 1
    assert await store.inventory(11.0) == {"queues": {}, "logs": {}}


async def test_an_acknowledgement_after_the_visibility_ended(store: RedisStore) -> None:
    """As MemoryStore's queue_ack_now: a standard queue still deletes a message that is visible
    again but not received since; a FIFO queue refuses (its order must hold)."""
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=10))
    await store.queue_send("q", [message("a")], 0.0)
    await store.queue_send("f", [message("b", MessageGroupId="g", MessageDeduplicationId="b")], 0.0)
    standard = await store.queue_take("q", 0.0, 1)
    fifo = await store.queue_take("f", 0.0, 1)
    await store.queue_take("q", 10.0, 0)  # nothing taken; the visibility ended
    assert (await store.queue_take("q", 12.0, 0, acks=standard.acks())).acked == 1
    assert (await store.queue_take("f", 12.0, 0, acks=fifo.acks())).acked == 0
    assert await store.inventory(12.0) == {"queues": {"f": 1}, "logs": {}}
    (back,) = (await store.queue_take("f", 12.0, 10)).messages
    assert back.body == "b"


async def test_a_batch_taken_by_a_worker_that_dies_comes_back_once_its_visibility_ends(
    namespace: Namespace, store: RedisStore
) -> None:
    """The window at-least-once allows: handed over, not acknowledged yet (the acknowledgement
    rides on the next take), then the worker is killed. Delivered again, never lost."""
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    await store.queue_send("q", [message(i) for i in range(3)], 0.0)
    taken = await store.queue_take("q", 0.0, 3)
    assert len(taken.messages) == 3
    await namespace.crash(store)
    again = namespace.open()
    assert isinstance(again, RedisStore)
    await again.queue_declare("q", QueueOptions(visibility_timeout=30))
    assert (await again.queue_take("q", 29.0, 10)).messages == []
    redelivered = await again.queue_take("q", 30.0, 10)
    assert sorted(m.body for m in redelivered.messages) == [0, 1, 2]
    assert {m.id for m in redelivered.messages} == {m.id for m in taken.messages}


async def test_a_pipelined_take_is_applied_even_if_its_reply_is_never_read(
    store: RedisStore,
) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    await store.queue_send("q", [message(i) for i in range(4)], 0.0)
    taker = store.taker("q")
    await taker.send(0.0, 2)
    taken = await taker.read()
    await taker.send(0.0, 2, taken.acks())
    await taker.close()  # stopped with a reply in the air
    counts = await store.queue_counts("q", 0.0)
    assert (counts.visible, counts.in_flight) == (0, 2)  # acknowledged 2, took 2


async def test_counts_are_kept_without_reading_the_records(store: RedisStore) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10, retention_period=100))
    await store.queue_send("q", [message(i) for i in range(3000)], 0.0)
    await store.queue_send("q", [message("later")], 0.0, delays=[50])
    await store.queue_take("q", 0.0, 1000)
    counts = await store.queue_counts("q", 1.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (2000, 1000, 1)
    counts = await store.queue_counts("q", 10.0)  # the visibility of the thousand ended
    assert (counts.visible, counts.in_flight, counts.delayed) == (3000, 0, 1)
    assert await store.inventory(100.0) == {"queues": {}, "logs": {}}  # all past retention
    dropped = []  # a bounded number per call, so a call never blocks Redis for long
    while expired := (await store.queue_take("q", 100.0, 10)).expired:
        dropped.append(expired)
    assert sum(dropped) == 3001 and len(dropped) > 1


# --- moves between queues -----------------------------------------------------------------------
async def test_a_held_record_moves_once_even_when_its_hold_ended_and_it_was_held_again(
    store: RedisStore,
) -> None:
    await store.queue_declare("dlq", QueueOptions())
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("dlq", [message("x")], 0.0)
    (slow,) = await store.queue_hold("dlq", 0.0)
    assert await store.queue_hold("dlq", 1.0) == []  # hidden while held
    (fast,) = await store.queue_hold("dlq", HOLD + 1)  # the first mover died, or is slow
    assert await store.queue_move("dlq", "q", [fast], [fast.message], HOLD + 1) == [1]
    assert await store.queue_move("dlq", "q", [slow], [slow.message], HOLD + 2) == [0]
    assert await store.inventory(HOLD + 2) == {"queues": {"q": 1}, "logs": {}}


async def test_a_worker_that_dies_moving_a_dead_letter_leaves_it_in_its_queue(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, _ = engine_for(
        [
            node("q", "queue", dead_letter_queue="dlq", max_receive_count=1, visibility_timeout=0),
            node("dlq", "queue"),
        ],
        store=store,
    )
    await engine.start()
    sent = await engine.send("q", "poison")
    queue = engine.node("q")
    assert len(await queue.receive(1, wait=0)) == 1
    die_on_move(monkeypatch)
    with pytest.raises(WorkerKilled):
        await queue.receive(1, wait=0)  # held for the DLQ, then the worker dies
    assert await store.inventory(engine.clock.now()) == {"queues": {"q": 1}, "logs": {}}
    monkeypatch.undo()
    assert await queue.receive(1, wait=0) == []  # still held: hidden, not lost
    await engine.advance(HOLD)
    assert await queue.receive(1, wait=0) == []  # its hold ended: moved this time
    assert await store.inventory(engine.clock.now()) == {"queues": {"dlq": 1}, "logs": {}}
    (moved,) = await engine.node("dlq").receive(1, wait=0)
    assert moved.message.trace_id == sent.trace_id and moved.receive_count == 2
    assert moved.message.system["DeadLetterQueueSourceArn"] == queue.arn
    assert engine.snapshot()["nodes"]["q"]["dead_lettered"] == 1
    await engine.stop()


async def test_a_poller_that_dies_moving_a_dead_letter_leaves_it_in_its_queue(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, _ = engine_for(
        [
            node("in", "producer"),
            node("q", "queue", visibility_timeout=10, max_receive_count=2, dead_letter_queue="dlq"),
            node("dlq", "queue"),
            node("fn", "function", failure_rate=1.0, timeout=3),
        ],
        [
            {"id": "a", "source": "in", "target": "q", "config": {}},
            {"id": "b", "source": "q", "target": "fn", "config": {}},
        ],
        store=store,
    )
    die_on_move(monkeypatch)
    await engine.start()
    await engine.send("in", {"poison": True})
    await engine.advance(25)  # received twice, then held for the DLQ and the poller dies
    assert engine.snapshot()["nodes"]["fn"]["in"] == 2
    assert await store.inventory(engine.clock.now()) == {"queues": {"q": 1}, "logs": {}}
    await engine.stop()
    monkeypatch.undo()
    engine, _, _ = engine_for(
        [
            node("q", "queue", visibility_timeout=10, max_receive_count=2, dead_letter_queue="dlq"),
            node("dlq", "queue"),
        ],
        store=store,
    )
    await engine.start()
    engine.clock.advance(1000)  # a worker taking the run over, after the hold ended
    assert await engine.node("q").receive(1, wait=0) == []
    assert await store.inventory(engine.clock.now()) == {"queues": {"dlq": 1}, "logs": {}}
    await engine.stop()


async def test_a_redrive_cut_off_leaves_every_message_in_exactly_one_queue(
    store: RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _, _ = engine_for(
        [
            node("q", "queue", dead_letter_queue="dlq", max_receive_count=1, visibility_timeout=0),
            node("dlq", "queue"),
        ],
        store=store,
    )
    await engine.start()
    queue, dlq = engine.node("q"), engine.node("dlq")
    for body in ("a", "b", "c"):
        await engine.send("q", body)
    await queue.receive(10, wait=0)
    assert await queue.receive(10, wait=0) == []
    assert await store.inventory(engine.clock.now()) == {"queues": {"dlq": 3}, "logs": {}}
    # One record per move, and the worker dies before the second.
    monkeypatch.setattr(queue_module, "REDRIVE_CHUNK", 1)
    die_on_move(monkeypatch, after=1)
    with pytest.raises(WorkerKilled):
        await dlq.redrive()
    assert await store.inventory(engine.clock.now()) == {"queues": {"q": 1, "dlq": 2}, "logs": {}}
    monkeypatch.undo()
    assert await dlq.redrive() == 1  # the held one waits for its hold to end
    await engine.advance(HOLD)
    assert await dlq.redrive() == 1
    assert await store.inventory(engine.clock.now()) == {"queues": {"q": 3}, "logs": {}}
    received = await queue.receive(10, wait=0)
    assert sorted(item.message.body for item in received) == ["a", "b", "c"]
    assert all(item.receive_count == 1 for item in received)
    await engine.stop()
