"""The store contract, one parametrised suite run against every store (memory and Redis)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import pytest

from runtime.events import Message
from runtime.store import LogRecord, MemoryStore, QueueOptions, Store, StoreError

REDIS_URL = os.environ.get("FLOWYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    from runtime.store.redis import RedisStore

    made = RedisStore.from_url(REDIS_URL, prefix=f"flowyard-test:{uuid.uuid4().hex}:")
    try:
        await made.client.ping()
    except OSError:
        await made.close()
        # Redis is part of the tested stack (make test's second pass runs on it): never skip.
        pytest.fail(f"no Redis at {REDIS_URL}: start redis-server (see .ci/run)")
    try:
        yield made
    finally:
        await made.clear()
        await made.close()


def message(body: object, **system: object) -> Message:
    return Message.new(body, now=0.0, system=system or None)


async def test_sent_messages_are_received_in_order_and_hidden_while_in_flight(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=30))
    await store.queue_send("q", [message("a"), message("b")], 0.0)
    result = await store.queue_receive("q", 0.0, max_messages=10)
    assert [item.message.body for item in result.messages] == ["a", "b"]
    assert (await store.queue_receive("q", 1.0, max_messages=10)).messages == []
    counts = await store.queue_counts("q", 1.0)
    assert (counts.visible, counts.in_flight, counts.delayed) == (0, 2, 0)


async def test_visibility_ends_and_delete_removes_for_good(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=10))
    await store.queue_send("q", [message("a")], 0.0)
    (first,) = (await store.queue_receive("q", 0.0)).messages
    assert await store.queue_next_change("q", 0.0) == 10.0
    (again,) = (await store.queue_receive("q", 10.0)).messages
    assert again.receive_count == 2 and again.receipt != first.receipt
    assert await store.queue_delete("q", [again.receipt], 11.0) == 1
    assert (await store.queue_receive("q", 100.0)).messages == []


async def test_delays_and_retention_are_measured_from_the_send(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(delay_seconds=5, retention_period=60))
    await store.queue_send("q", [message("a")], 0.0)
    assert (await store.queue_counts("q", 1.0)).delayed == 1
    assert len((await store.queue_receive("q", 5.0)).messages) == 1
    await store.queue_send("q", [message("b")], 10.0, delays=[0])
    result = await store.queue_receive("q", 71.0)
    assert result.messages == [] and result.expired >= 1


async def test_records_past_max_receive_count_are_handed_back_for_the_dlq(store: Store) -> None:
    await store.queue_declare("q", QueueOptions(visibility_timeout=0, max_receive_count=1))
    await store.queue_send("q", [message("poison")], 0.0)
    assert len((await store.queue_receive("q", 0.0)).messages) == 1
    result = await store.queue_receive("q", 0.0)
    assert result.messages == [] and [r.message.body for r in result.dead_lettered] == ["poison"]


async def test_fifo_dedup_group_locking_and_expired_handles(store: Store) -> None:
    await store.queue_declare("f", QueueOptions(fifo=True, visibility_timeout=5))
    outcomes = await store.queue_send(
        "f",
        [
            message("a1", MessageGroupId="A", MessageDeduplicationId="1"),
            message("dup", MessageGroupId="A", MessageDeduplicationId="1"),
            message("b1", MessageGroupId="B", MessageDeduplicationId="2"),
        ],
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


async def test_purge_and_take_all_empty_the_queue(store: Store) -> None:
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message(i) for i in range(3)], 0.0)
    assert len(await store.queue_peek("q", 0.0)) == 3
    assert len(await store.queue_take_all("q", 0.0)) == 3
    await store.queue_send("q", [message("x")], 0.0)
    assert await store.queue_purge("q") == 1
    assert (await store.queue_counts("q", 0.0)).visible == 0


async def test_logs_append_with_consecutive_offsets_read_and_trim(store: Store) -> None:
    records = [LogRecord(0, "k", f"v{i}", float(i)) for i in range(5)]
    assert await store.log_append("s", 0, records) == [0, 1, 2, 3, 4]
    assert [r.value for r in await store.log_read("s", 0, 2, 2)] == ["v2", "v3"]
    assert await store.log_trim("s", 0, 2.0) == 2
    assert await store.log_bounds("s", 0) == (2, 5)
    assert [r.offset for r in await store.log_read("s", 0, 0, 10)] == [2, 3, 4]


async def test_committed_offsets_are_kept_per_group_and_partition(store: Store) -> None:
    assert await store.offset_get("t", "g", 0) is None
    await store.offset_commit("t", "g", 0, 7)
    assert await store.offset_get("t", "g", 0) == 7
    assert await store.offset_get("t", "other", 0) is None


async def test_an_unknown_queue_is_an_aws_error(store: Store) -> None:
    with pytest.raises(StoreError) as error:
        await store.queue_receive("nope", 0.0)
    assert error.value.code == "AWS.SimpleQueueService.NonExistentQueue"
