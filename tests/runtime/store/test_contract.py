"""The store contract: one suite, run against every store (memory, SQLite, Redis).

MemoryStore is the reference semantics (SQS queues, Kinesis/Kafka logs); the others must not
be told apart by anything here. Times are passed in, so nothing sleeps.
"""

from __future__ import annotations

import pytest

from runtime.events import Message
from runtime.store import LogRecord, QueueOptions, Store, StoreError


def message(body: object, **system: object) -> Message:
    return Message.new(body, now=0.0, system=system or None)


def fifo(body: object, group: str, dedup: str | None = None) -> Message:
    system = {"MessageGroupId": group}
    if dedup is not None:
        system["MessageDeduplicationId"] = dedup
    return message(body, **system)


def bodies(received: object) -> list[object]:
    return [item.message.body for item in received.messages]  # type: ignore[attr-defined]


# --- standard queues ------------------------------------------------------------------------------
async def test_sent_messages_are_received_in_order_and_hidden_while_in_flight(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    outcomes = await store.queue_send("q", [message("a"), message("b")], 0.0)
    assert [outcome.duplicate for outcome in outcomes] == [False, False]
    assert outcomes[0].sequence < outcomes[1].sequence
    result = await store.queue_receive("q", 0.0, max_messages=10)
    assert bodies(result) == ["a", "b"]
    assert [item.receive_count for item in result.messages] == [1, 1]
    assert (await store.queue_receive("q", 1.0, max_messages=10)).messages == []
    counts = await store.queue_counts("q", 1.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 2, 0)


async def test_a_receive_returns_at_most_max_messages(store: Store) -> None:
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message(i) for i in range(5)], 0.0)
    assert bodies(await store.queue_receive("q", 0.0, max_messages=3)) == [0, 1, 2]
    assert bodies(await store.queue_receive("q", 0.0, max_messages=3)) == [3, 4]


async def test_visibility_ends_and_delete_removes_for_good(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message("a")], 0.0)
    (first,) = (await store.queue_receive("q", 0.0)).messages
    assert first.sent_at == 0.0 and first.first_receive_at == 0.0
    assert await store.queue_next_change("q", 0.0) == 10.0
    assert (await store.queue_receive("q", 9.9)).messages == []
    (again,) = (await store.queue_receive("q", 10.0)).messages
    assert again.receive_count == 2 and again.receipt != first.receipt
    assert again.first_receive_at == 0.0
    assert await store.queue_delete("q", [again.receipt], 11.0) == 1
    assert (await store.queue_receive("q", 100.0)).messages == []
    assert await store.queue_next_change("q", 100.0) is None


async def test_a_superseded_receipt_deletes_nothing_and_an_unknown_one_is_invalid(
    store: Store,
) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message("a")], 0.0)
    (first,) = (await store.queue_receive("q", 0.0)).messages
    (second,) = (await store.queue_receive("q", 10.0)).messages
    assert await store.queue_delete("q", [first.receipt], 11.0) == 0
    assert (await store.queue_counts("q", 11.0)).in_flight == 1
    with pytest.raises(StoreError) as error:
        await store.queue_delete("q", ["q:nope:1"], 11.0)
    assert error.value.code == "ReceiptHandleIsInvalid"
    assert await store.queue_delete("q", [second.receipt], 11.0) == 1


async def test_change_visibility_extends_or_returns_the_message_at_once(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message("a"), message("b")], 0.0)
    a, b = (await store.queue_receive("q", 0.0, max_messages=2)).messages
    await store.queue_change_visibility("q", a.receipt, 30, 5.0)  # counts from the call
    await store.queue_change_visibility("q", b.receipt, 0, 5.0)
    (b_again,) = (await store.queue_receive("q", 5.0, max_messages=10)).messages
    assert b_again.message.body == "b"
    assert await store.queue_delete("q", [b_again.receipt], 5.0) == 1
    assert (await store.queue_receive("q", 34.9, max_messages=10)).messages == []
    (again,) = (await store.queue_receive("q", 35.0, max_messages=10)).messages
    assert again.message.body == "a" and again.receive_count == 2
    assert await store.queue_delete("q", [again.receipt], 35.0) == 1
    with pytest.raises(StoreError) as error:
        await store.queue_change_visibility("q", again.receipt, 10, 36.0)
    assert error.value.code == "InvalidParameterValue"


async def test_a_receive_with_its_own_visibility_timeout(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    await store.queue_send("q", [message("a")], 0.0)
    await store.queue_receive("q", 0.0, visibility_timeout=2)
    assert await store.queue_next_change("q", 0.0) == 2.0
    assert bodies(await store.queue_receive("q", 2.0)) == ["a"]


async def test_delays_and_retention_are_measured_from_the_send(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(delay_seconds=5, retention_period=60))
    await store.queue_send("q", [message("a")], 0.0)
    assert (await store.queue_counts("q", 1.0)).delayed == 1
    assert await store.queue_next_change("q", 1.0) == 5.0
    assert (await store.queue_receive("q", 4.9)).messages == []
    assert len((await store.queue_receive("q", 5.0)).messages) == 1
    await store.queue_send("q", [message("b")], 10.0, delays=[0])
    result = await store.queue_receive("q", 71.0)
    assert result.messages == [] and result.expired >= 1


async def test_per_message_delays(store: Store) -> None:
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message("later"), message("now")], 0.0, delays=[10, 0])
    counts = await store.queue_counts("q", 0.0)
    assert (counts.visible, counts.delayed) == (1, 1)
    assert bodies(await store.queue_receive("q", 0.0, max_messages=10)) == ["now"]
    assert bodies(await store.queue_receive("q", 10.0, max_messages=10)) == ["later"]


async def test_retention_also_removes_messages_in_flight(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(retention_period=60, visibility_timeout=120))
    await store.queue_send("q", [message("a"), message("b")], 0.0)
    await store.queue_receive("q", 0.0)
    assert (await store.queue_receive("q", 61.0, max_messages=10)).messages == []
    counts = await store.queue_counts("q", 61.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 0, 0)


async def test_records_past_max_receive_count_are_handed_back_for_the_dlq(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=0, max_receive_count=1))
    await store.queue_send("q", [message("poison")], 0.0)
    assert len((await store.queue_receive("q", 0.0)).messages) == 1
    result = await store.queue_receive("q", 0.0)
    assert result.messages == [] and [r.message.body for r in result.dead_lettered] == ["poison"]


async def test_a_message_is_delivered_exactly_max_receive_count_times(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=5, max_receive_count=3))
    await store.queue_send("q", [message("poison"), message("fine")], 0.0)
    counts = []
    for second in range(0, 20, 5):
        result = await store.queue_receive("q", float(second), max_messages=10)
        counts += [item.receive_count for item in result.messages if item.message.body == "poison"]
        for item in result.messages:
            if item.message.body == "fine":
                await store.queue_delete("q", [item.receipt], float(second))
        if result.dead_lettered:
            (letter,) = result.dead_lettered
            assert letter.receive_count == 3 and letter.message.body == "poison"
            break
    else:
        raise AssertionError("never dead-lettered")
    assert counts == [1, 2, 3]
    assert await store.inventory(20.0) == {"queues": {}, "logs": {}}


async def test_a_moved_message_keeps_its_send_time_and_receive_count(store: Store) -> None:
    await store.queue_declare("dlq", QueueOptions(retention_period=100))
    moved = message("x", DeadLetterQueueSourceArn="arn:q", ApproximateReceiveCount=3, _sent_at=10.0)
    await store.queue_send("dlq", [moved], 50.0)
    (item,) = (await store.queue_receive("dlq", 50.0)).messages
    assert (item.receive_count, item.sent_at, item.dead_letter_source) == (4, 10.0, "arn:q")
    assert (await store.queue_receive("dlq", 110.0)).expired == 1  # retention from 10.0


# --- FIFO queues ----------------------------------------------------------------------------------
async def test_fifo_dedup_group_locking_and_expired_handles(store: Store) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=5))
    outcomes = await store.queue_send(
        "f",
        [fifo("a1", "A", "1"), fifo("dup", "A", "1"), fifo("b1", "B", "2")],
        0.0,
    )
    assert [outcome.duplicate for outcome in outcomes] == [False, True, False]
    (a1,) = (await store.queue_receive("f", 0.0, max_messages=1)).messages
    (b1,) = (await store.queue_receive("f", 0.0, max_messages=1)).messages
    assert (a1.group, b1.group) == ("A", "B")
    with pytest.raises(StoreError, match="receipt handle has expired"):
        await store.queue_delete("f", [a1.receipt], 6.0)
    with pytest.raises(StoreError) as error:
        await store.queue_send("f", [message("no group")], 0.0)
    assert error.value.code == "MissingParameter"
    with pytest.raises(StoreError) as error:
        await store.queue_send("f", [fifo("no dedup id", "A")], 0.0)
    assert error.value.code == "InvalidParameterValue"


async def test_fifo_keeps_order_per_group_with_one_batch_in_flight_per_group(store: Store) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=10))
    sent = [fifo(f"{group}{n}", group, f"{group}{n}") for n in range(3) for group in "AB"]
    await store.queue_send("f", sent, 0.0)
    first = await store.queue_receive("f", 0.0, max_messages=2)
    assert bodies(first) == ["A0", "A1"]  # one group's messages, in order
    second = await store.queue_receive("f", 0.0, max_messages=10)
    assert bodies(second) == ["B0", "B1", "B2"]  # group A is locked while A0, A1 are out
    assert (await store.queue_receive("f", 0.0, max_messages=10)).messages == []
    await store.queue_delete("f", [item.receipt for item in first.messages], 1.0)
    assert bodies(await store.queue_receive("f", 1.0, max_messages=10)) == ["A2"]


async def test_fifo_a_returned_message_comes_back_before_the_rest_of_its_group(
    store: Store,
) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=10))
    await store.queue_send("f", [fifo(n, "g", str(n)) for n in range(3)], 0.0)
    (head,) = (await store.queue_receive("f", 0.0)).messages
    assert head.message.body == 0
    assert (await store.queue_receive("f", 5.0)).messages == []
    again = await store.queue_receive("f", 10.0, max_messages=10)
    assert bodies(again) == [0, 1, 2] and again.messages[0].receive_count == 2
    assert [item.sequence for item in again.messages] == sorted(
        item.sequence for item in again.messages
    )


async def test_fifo_dedup_window_r9(store: Store) -> None:
    """Same dedup id at t=0 and t=4 min: delivered once; again at t=6 min: delivered again."""
    await store.queue_declare("f", QueueOptions(fifo=True))
    assert not (await store.queue_send("f", [fifo("x", "g", "d")], 0.0))[0].duplicate
    (first,) = (await store.queue_receive("f", 1.0, max_messages=10)).messages
    assert await store.queue_delete("f", [first.receipt], 1.0) == 1
    assert (await store.queue_send("f", [fifo("x", "g", "d")], 240.0))[0].duplicate
    assert (await store.queue_receive("f", 240.0, max_messages=10)).messages == []
    assert not (await store.queue_send("f", [fifo("x", "g", "d")], 360.0))[0].duplicate
    assert bodies(await store.queue_receive("f", 360.0, max_messages=10)) == ["x"]


async def test_fifo_content_based_and_group_scoped_deduplication(store: Store) -> None:
    await store.queue_declare(
        "f",
        QueueOptions(
            fifo=True, content_based_deduplication=True, deduplication_scope="messageGroup"
        ),
    )
    outcomes = await store.queue_send(
        "f", [fifo("same", "A"), fifo("same", "A"), fifo("same", "B")], 0.0
    )
    assert [outcome.duplicate for outcome in outcomes] == [False, True, False]


# --- purge, take_all, peek, counts --------------------------------------------------------------
async def test_purge_and_take_all_empty_the_queue(store: Store) -> None:
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message(i) for i in range(3)], 0.0)
    assert [r.message.body for r in await store.queue_peek("q", 0.0)] == [0, 1, 2]
    assert [r.message.body for r in await store.queue_take_all("q", 0.0)] == [0, 1, 2]
    assert (await store.queue_counts("q", 0.0)).visible == 0
    await store.queue_send("q", [message("x")], 0.0)
    assert await store.queue_purge("q") == 1
    assert (await store.queue_counts("q", 0.0)).visible == 0


async def test_peek_leaves_messages_where_they_are(store: Store) -> None:
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message(i) for i in range(5)], 0.0)
    assert len(await store.queue_peek("q", 0.0, limit=2)) == 2
    assert len((await store.queue_receive("q", 0.0, max_messages=10)).messages) == 5


async def test_purge_forgets_fifo_dedup_ids(store: Store) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True))
    await store.queue_send("f", [fifo("x", "g", "d")], 0.0)
    assert await store.queue_purge("f") == 1
    assert not (await store.queue_send("f", [fifo("x", "g", "d")], 1.0))[0].duplicate


async def test_counts_split_visible_in_flight_and_delayed(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message(i) for i in range(4)], 0.0)
    await store.queue_send("q", [message("later")], 0.0, delays=[30])
    await store.queue_receive("q", 0.0, max_messages=1)
    counts = await store.queue_counts("q", 1.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (3, 1, 1)
    assert await store.queue_next_change("q", 1.0) == 10.0
    counts = await store.queue_counts("q", 30.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (5, 0, 0)


async def test_an_unknown_queue_is_an_aws_error(store: Store) -> None:
    with pytest.raises(StoreError) as error:
        await store.queue_receive("nope", 0.0)
    assert error.value.code == "AWS.SimpleQueueService.NonExistentQueue"


# --- logs -----------------------------------------------------------------------------------------
async def test_logs_append_with_consecutive_offsets_read_and_trim(store: Store) -> None:
    records = [LogRecord(0, "k", f"v{i}", float(i)) for i in range(5)]
    assert await store.log_append("s", 0, records) == [0, 1, 2, 3, 4]
    assert [r.value for r in await store.log_read("s", 0, 2, 2)] == ["v2", "v3"]
    assert await store.log_trim("s", 0, 2.0) == 2
    assert await store.log_bounds("s", 0) == (2, 5)
    assert [r.offset for r in await store.log_read("s", 0, 0, 10)] == [2, 3, 4]
    assert await store.log_append("s", 0, [LogRecord(0, None, {"n": 5}, 9.0)]) == [5]
    assert await store.log_read("s", 0, 6, 10) == []


async def test_log_records_keep_key_value_headers_and_message(store: Store) -> None:
    carried = message({"order": 1})
    record = LogRecord(0, "key", {"order": 1}, 3.5, (("h", "v"),), carried)
    await store.log_append("t", 1, [record])
    (read,) = await store.log_read("t", 1, 0, 10)
    assert (read.key, read.value, read.timestamp, read.headers) == (
        "key",
        {"order": 1},
        3.5,
        record.headers,
    )
    assert read.message is not None and read.message.id == carried.id
    assert read.message.body == {"order": 1}
    assert await store.log_bounds("t", 0) == (0, 0)  # partitions are separate logs


async def test_committed_offsets_are_kept_per_group_and_partition(store: Store) -> None:
    assert await store.offset_get("t", "g", 0) is None
    await store.offset_commit("t", "g", 0, 7)
    await store.offset_commit("t", "g", 1, 3)
    assert await store.offset_get("t", "g", 0) == 7
    assert await store.offset_get("t", "g", 1) == 3
    assert await store.offset_get("t", "other", 0) is None
    await store.offset_commit("t", "g", 0, 9)
    assert await store.offset_get("t", "g", 0) == 9


# --- the whole namespace --------------------------------------------------------------------------
async def fill(store: Store) -> None:
    await store.queue_declare("q1", QueueOptions(visibility_timeout=10))
    await store.queue_declare("q2", QueueOptions(visibility_timeout=10))
    await store.queue_send("q1", [message(i) for i in range(3)], 0.0)
    await store.queue_send("q2", [message("a"), message("b")], 0.0)
    await store.queue_send("q2", [message("later")], 0.0, delays=[60])
    await store.queue_receive("q2", 0.0)  # one in flight
    await store.log_append("s", 0, [LogRecord(0, "k", i, 0.0) for i in range(3)])
    await store.log_append("s", 1, [LogRecord(0, "k", "x", 0.0)])
    await store.offset_commit("s", "g", 0, 2)


async def test_inventory_counts_every_buffer_holding_something(store: Store) -> None:
    assert await store.inventory(0.0) == {"queues": {}, "logs": {}}
    await fill(store)
    assert await store.inventory(1.0) == {"queues": {"q1": 3, "q2": 3}, "logs": {"s": 4}}


async def test_drop_removes_named_buffers_and_counts_what_went(store: Store) -> None:
    await fill(store)
    assert await store.drop(["q2", "s", "never-existed"]) == 3 + 4
    assert await store.inventory(1.0) == {"queues": {"q1": 3}, "logs": {}}
    assert await store.offset_get("s", "g", 0) is None
    assert await store.log_bounds("s", 0) == (0, 0)
    # A dropped queue that is still declared starts empty and works.
    await store.queue_send("q2", [message("fresh")], 2.0)
    assert bodies(await store.queue_receive("q2", 2.0, max_messages=10)) == ["fresh"]


async def test_clear_empties_the_namespace(store: Store) -> None:
    await fill(store)
    assert await store.clear() == 3 + 3 + 4
    assert await store.inventory(1.0) == {"queues": {}, "logs": {}}
    assert await store.offset_get("s", "g", 0) is None
    assert await store.clear() == 0


async def test_every_store_says_what_it_is_and_syncs(store: Store) -> None:
    assert store.name in {"memory", "sqlite", "redis"}
    assert store.durability["store"] == store.name
    assert store.durable == (store.name != "memory")
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message("a")], 0.0)
    await store.sync()


async def test_fifo_a_batch_whose_visibility_ends_comes_back_in_order(store: Store) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=10))
    await store.queue_send("f", [fifo(n, "g", str(n)) for n in range(4)], 0.0)
    first = await store.queue_receive("f", 0.0, max_messages=3)
    assert bodies(first) == [0, 1, 2]
    await store.queue_change_visibility("f", first.messages[0].receipt, 0, 1.0)
    assert (await store.queue_receive("f", 1.0, max_messages=10)).messages == []  # 1, 2 out
    assert bodies(await store.queue_receive("f", 10.0, max_messages=10)) == [0, 1, 2, 3]
