"""What a durable store still holds after its process ends: closed, or abandoned after sync()
as a killed process would leave it (SQLite; Redis by a second client on the same prefix)."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.events import Message
from runtime.store import LogRecord, QueueOptions, SqliteStore, Store, StoreError
from tests.runtime.store.stores import Namespace

OPTIONS = QueueOptions(visibility_timeout=10, max_receive_count=3)
FIFO = QueueOptions(fifo=True, visibility_timeout=10)


@pytest.fixture(params=["sqlite", "redis"])
async def namespace(request: pytest.FixtureRequest, tmp_path: Path) -> Namespace:  # type: ignore[override]
    made = Namespace(request.param, tmp_path)
    await made.check()
    try:
        yield made  # type: ignore[misc]
    finally:
        await made.cleanup()


def message(body: object, **system: object) -> Message:
    return Message.new(body, now=0.0, system=system or None)


async def end(namespace: Namespace, store: Store, how: str) -> Store:
    """End ``store`` (closed, or crashed after its last call returned) and open it again."""
    if how == "close":
        await store.close()
        namespace.opened.remove(store)
    else:
        await namespace.crash(store)
    return namespace.open()


@pytest.mark.parametrize("how", ["close", "crash"])
async def test_messages_and_their_receive_counts_survive(namespace: Namespace, how: str) -> None:
    store = namespace.open()
    await store.queue_declare("q", OPTIONS)
    await store.queue_send("q", [message(i) for i in range(5)], 0.0)
    received = (await store.queue_receive("q", 0.0, max_messages=2)).messages
    await store.queue_delete("q", [received[0].receipt], 1.0)
    # Not declared yet in the new process: the inventory still sees what the file holds.
    again = await end(namespace, store, how)
    assert await again.inventory(2.0) == {"queues": {"q": 4}, "logs": {}}
    await again.queue_declare("q", OPTIONS)
    # In flight when the process ended: visible again (SQLite at once; Redis, whose state
    # never stopped, when the visibility timeout ends), its receive count kept.
    result = await again.queue_receive("q", 10.0, max_messages=10)
    assert sorted(item.message.body for item in result.messages) == [1, 2, 3, 4]
    counts = {item.message.body: item.receive_count for item in result.messages}
    assert counts == {1: 2, 2: 1, 3: 1, 4: 1}


async def test_max_receive_count_holds_across_crashes(namespace: Namespace) -> None:
    store = namespace.open()
    await store.queue_declare("q", OPTIONS)
    await store.queue_send("q", [message("poison")], 0.0)
    now = 0.0
    for expected in (1, 2, 3):
        (item,) = (await store.queue_receive("q", now)).messages
        assert item.receive_count == expected
        store = await end(namespace, store, "crash")
        await store.queue_declare("q", OPTIONS)
        now += 10.0
    result = await store.queue_receive("q", now)
    assert result.messages == []
    assert [(r.message.body, r.receive_count) for r in result.dead_lettered] == [("poison", 3)]


async def test_a_dead_lettered_message_is_in_exactly_one_queue_after_a_crash(
    namespace: Namespace,
) -> None:
    store = namespace.open()
    await store.queue_declare("q", QueueOptions(visibility_timeout=0, max_receive_count=1))
    await store.queue_declare("dlq", QueueOptions())
    await store.queue_send("q", [message("poison")], 0.0)
    await store.queue_receive("q", 0.0)
    (letter,) = (await store.queue_receive("q", 0.0)).dead_lettered
    moved = letter.message.derive("dlq", system={"ApproximateReceiveCount": 1, "_sent_at": 0.0})
    await store.queue_send("dlq", [moved], 0.0)
    store = await end(namespace, store, "crash")
    await store.queue_declare("q", QueueOptions(visibility_timeout=0, max_receive_count=1))
    await store.queue_declare("dlq", QueueOptions())
    assert await store.inventory(1.0) == {"queues": {"dlq": 1}, "logs": {}}


async def test_fifo_dedup_memory_and_group_order_survive(namespace: Namespace) -> None:
    store = namespace.open()
    await store.queue_declare("f", FIFO)
    sent = [message(f"g{n}", MessageGroupId="g", MessageDeduplicationId=f"d{n}") for n in range(3)]
    await store.queue_send("f", sent, 0.0)
    store = await end(namespace, store, "crash")
    await store.queue_declare("f", FIFO)
    repeat = message("again", MessageGroupId="g", MessageDeduplicationId="d1")
    assert (await store.queue_send("f", [repeat], 60.0))[0].duplicate
    fresh = message("g3", MessageGroupId="g", MessageDeduplicationId="d3")
    outcome = (await store.queue_send("f", [fresh], 60.0))[0]
    assert not outcome.duplicate and outcome.sequence > 3  # sequence numbers go on
    received = (await store.queue_receive("f", 60.0, max_messages=10)).messages
    assert [item.message.body for item in received] == ["g0", "g1", "g2", "g3"]
    assert not (await store.queue_send("f", [repeat], 301.0))[0].duplicate  # window over


async def test_delayed_messages_stay_delayed_and_expired_ones_go(namespace: Namespace) -> None:
    store = namespace.open()
    await store.queue_declare("q", QueueOptions(retention_period=100))
    await store.queue_send("q", [message("later")], 0.0, delays=[50])
    await store.queue_send("q", [message("old")], 0.0)
    await store.queue_send("q", [message("young")], 30.0)
    store = await end(namespace, store, "crash")
    await store.queue_declare("q", QueueOptions(retention_period=100))
    counts = await store.queue_counts("q", 40.0)
    assert (counts.visible, counts.delayed) == (2, 1)
    assert await store.inventory(120.0) == {"queues": {"q": 1}, "logs": {}}
    result = await store.queue_receive("q", 120.0, max_messages=10)
    assert [item.message.body for item in result.messages] == ["young"]


@pytest.mark.parametrize("how", ["close", "crash"])
async def test_logs_bounds_trims_and_offsets_survive(namespace: Namespace, how: str) -> None:
    store = namespace.open()
    carried = message({"n": 0})
    records = [LogRecord(0, "k", {"n": i}, float(i), (("h", i),), carried) for i in range(5)]
    await store.log_append("s", 0, records)
    await store.log_append("s", 1, records[:1])
    await store.log_trim("s", 0, 2.0)
    await store.offset_commit("s", "g", 0, 4)
    await store.sync()
    store = await end(namespace, store, how)
    assert await store.log_bounds("s", 0) == (2, 5)
    assert await store.log_bounds("s", 1) == (0, 1)
    read = await store.log_read("s", 0, 0, 10)
    assert [(r.offset, r.value, r.headers) for r in read] == [
        (2, {"n": 2}, (("h", 2),)),
        (3, {"n": 3}, (("h", 3),)),
        (4, {"n": 4}, (("h", 4),)),
    ]
    assert read[0].message is not None and read[0].message.id == carried.id
    assert await store.offset_get("s", "g", 0) == 4
    assert await store.log_append("s", 0, records[:1]) == [5]
    assert await store.inventory(0.0) == {"queues": {}, "logs": {"s": 5}}


async def test_drop_and_clear_are_durable(namespace: Namespace) -> None:
    store = namespace.open()
    for name in ("a", "b"):
        await store.queue_declare(name, OPTIONS)
        await store.queue_send(name, [message(1), message(2)], 0.0)
    await store.log_append("s", 0, [LogRecord(0, None, 1, 0.0)])
    assert await store.drop(["a"]) == 2
    store = await end(namespace, store, "crash")
    assert await store.inventory(0.0) == {"queues": {"b": 2}, "logs": {"s": 1}}
    assert await store.drop(["b"]) == 2  # not declared in this process: dropped all the same
    assert await store.clear() == 1
    store = await end(namespace, store, "crash")
    assert await store.inventory(0.0) == {"queues": {}, "logs": {}}


# --- SQLite only ----------------------------------------------------------------------------------
async def test_an_unsynced_send_may_go_but_a_synced_one_never_does(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", OPTIONS)
    store.queue_store_now("q", [message("synced")], 0.0)
    await store.sync()
    store.abandon()
    again = SqliteStore(tmp_path / "s.sqlite3")
    await again.queue_declare("q", OPTIONS)
    assert [r.message.body for r in await again.queue_peek("q", 0.0)] == ["synced"]
    await again.close()


async def test_a_receipt_from_before_a_restart_is_invalid(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", OPTIONS)
    await store.queue_send("q", [message("a")], 0.0)
    (old,) = (await store.queue_receive("q", 0.0)).messages
    await store.close()
    again = SqliteStore(tmp_path / "s.sqlite3")
    await again.queue_declare("q", OPTIONS)
    (new,) = (await again.queue_receive("q", 1.0)).messages
    assert new.receipt != old.receipt
    with pytest.raises(StoreError) as error:
        await again.queue_delete("q", [old.receipt], 1.0)
    assert error.value.code == "ReceiptHandleIsInvalid"
    assert await again.queue_delete("q", [new.receipt], 1.0) == 1
    await again.close()


async def test_a_closed_store_refuses_to_promise_anything(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", OPTIONS)
    await store.close()
    with pytest.raises(StoreError) as error:
        await store.queue_send("q", [message("late")], 0.0)
    assert error.value.code == "ServiceUnavailable"
