"""SQS queue behaviour, playbook style with the manual clock (semantics §1.15), on every store."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime.events import MessageRefused
from runtime.store import MemoryStore, SqliteStore, StoreError
from tests.runtime.engine_helpers import STORES, edge, engine_for, node
from tests.runtime.store.stores import REDIS_URL


@pytest.fixture(autouse=True, params=["memory", "sqlite", "redis"])
async def each_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[None]:
    """Every test here runs on the memory store, the durable SQLite store and on Redis."""
    if request.param == "memory":
        yield
        return
    if request.param == "sqlite":
        opened: list[SqliteStore] = []

        def sqlite_factory() -> SqliteStore:
            store = SqliteStore(tmp_path / f"store-{len(opened)}.sqlite3")
            opened.append(store)
            return store

        STORES["factory"] = sqlite_factory
        try:
            yield
        finally:
            STORES["factory"] = MemoryStore
            for store in opened:
                await store.close()
        return
    from runtime.store.redis import RedisStore

    made: list[RedisStore] = []

    def factory() -> RedisStore:
        store = RedisStore.from_url(REDIS_URL, prefix=f"flowyard-test:{uuid.uuid4().hex}:")
        made.append(store)
        return store

    probe = factory()
    try:
        await probe.client.ping()
    except OSError:
        # Redis is part of the tested stack (make test's second pass runs on it): never skip.
        pytest.fail(f"no Redis at {REDIS_URL}: start redis-server (see .ci/run)")
    STORES["factory"] = factory
    try:
        yield
    finally:
        STORES["factory"] = MemoryStore
        for store in made:
            await store.clear()
            await store.close()


async def queue_run(**config: Any) -> Any:
    nodes = [node("q", "queue", **config)]
    if config.get("dead_letter_queue"):
        nodes.append(node("dlq", "queue", fifo=config.get("fifo", False)))
    engine, clock, observer = engine_for(nodes)
    await engine.start()
    return engine, engine.node("q"), clock, observer


async def test_sqs_case_1_a_received_message_is_hidden_from_an_immediate_second_receive() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    first = await queue.receive(1, wait=0, visibility_timeout=30)
    assert [item.message.body for item in first] == ["hello"]
    assert await queue.receive(1, wait=0) == []
    await engine.stop()


async def test_sqs_case_2_message_reappears_after_visibility_timeout_with_a_new_receipt() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    (first,) = await queue.receive(1, wait=0, visibility_timeout=1)
    await engine.advance(1.5)
    (second,) = await queue.receive(1, wait=0)
    assert second.message.id == first.message.id
    assert second.receipt != first.receipt and second.receive_count == 2
    await engine.stop()


async def test_sqs_case_3_visibility_zero_returns_it_and_the_queue_default_applies_again() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    (first,) = await queue.receive(1, wait=0)
    await queue.change_visibility(first.receipt, 0)
    assert len(await queue.receive(1, wait=0)) == 1
    assert await queue.receive(1, wait=0) == []
    await engine.stop()


async def test_sqs_case_4_a_visibility_change_counts_from_the_moment_of_the_call() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    (first,) = await queue.receive(1, wait=0, visibility_timeout=60)
    await engine.advance(15)
    await queue.change_visibility(first.receipt, 10)
    await engine.advance(9)
    assert await queue.receive(1, wait=0) == []
    await engine.advance(1)
    assert len(await queue.receive(1, wait=0)) == 1
    await engine.stop()


async def test_sqs_case_5_a_deleted_message_never_returns() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    (first,) = await queue.receive(1, wait=0, visibility_timeout=5)
    assert await queue.delete([first.receipt]) == 1
    await engine.advance(10)
    assert await queue.receive(1, wait=0) == []
    assert (await queue.counts())["depth"] == 0
    await engine.stop()


async def test_sqs_case_6_standard_deletes_with_an_expired_handle_but_fifo_refuses() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "hello")
    (first,) = await queue.receive(1, wait=0, visibility_timeout=1)
    await engine.advance(2)
    assert await queue.delete([first.receipt]) == 1
    assert await queue.receive(1, wait=0) == []
    await engine.stop()

    engine, queue, _, _ = await queue_run(fifo=True, content_based_deduplication=True)
    await engine.send("q", "hello", system={"MessageGroupId": "g"})
    (first,) = await queue.receive(1, wait=0, visibility_timeout=1)
    await engine.advance(2)
    with pytest.raises(StoreError, match="The receipt handle has expired") as error:
        await queue.delete([first.receipt])
    assert error.value.code == "InvalidParameterValue"
    await engine.stop()


async def test_sqs_case_7_long_polling_returns_as_soon_as_a_message_arrives() -> None:
    import asyncio

    engine, queue, clock, _ = await queue_run()
    start = clock.now()
    async with asyncio.TaskGroup() as group:
        waiting = group.create_task(queue.receive(1, wait=5))
        await engine.advance(2)
        await engine.send("q", "late")
        await engine.settle()
        got = await waiting
    assert [item.message.body for item in got] == ["late"] and clock.now() - start == 2
    async with asyncio.TaskGroup() as group:
        waiting = group.create_task(queue.receive(1, wait=5))
        await engine.advance(5)
        assert await waiting == []
    await engine.stop()


async def test_sqs_case_8_wait_21_and_max_messages_11_are_invalid_parameters() -> None:
    engine, queue, _, _ = await queue_run()
    with pytest.raises(StoreError, match="Must be >= 0 and <= 20, if provided"):
        await queue.receive(1, wait=21)
    with pytest.raises(StoreError, match="Must be between 1 and 10, if provided"):
        await queue.receive(11, wait=0)
    await engine.stop()


async def test_sqs_case_9_a_delayed_message_is_counted_delayed_until_its_time() -> None:
    engine, queue, _, _ = await queue_run()
    await engine.send("q", "later", system={"DelaySeconds": 5})
    await engine.advance(4.9)
    assert await queue.receive(1, wait=0) == []
    assert (await queue.counts())["delayed"] == 1
    await engine.advance(0.1)
    assert len(await queue.receive(1, wait=0)) == 1
    await engine.stop()


async def test_sqs_case_10_fifo_refuses_a_message_delay_but_applies_the_queue_delay() -> None:
    engine, queue, _, observer = await queue_run(
        fifo=True, content_based_deduplication=True, delay_seconds=2
    )
    await engine.send("q", "x", system={"MessageGroupId": "g", "DelaySeconds": 2})
    assert engine.snapshot()["nodes"]["q"]["refused"] == 1
    refused = observer.of(MessageRefused)[-1]
    assert (
        "The request include parameter that is not valid for this queue type"
        in refused.error_message
    )
    await engine.send("q", "y", system={"MessageGroupId": "g", "DelaySeconds": 0})
    await engine.advance(1.9)
    assert await queue.receive(1, wait=0) == []
    await engine.advance(0.1)
    assert len(await queue.receive(1, wait=0)) == 1
    await engine.stop()


async def test_sqs_case_11_retention_removes_visible_and_in_flight_messages() -> None:
    engine, queue, _, _ = await queue_run(retention_period=60)
    await engine.send("q", "visible")
    await engine.send("q", "in flight")
    await queue.receive(1, wait=0, visibility_timeout=120)
    await engine.advance(61)
    assert await queue.receive(10, wait=0) == []
    assert await queue.counts() == {"depth": 0, "in_flight": 0, "delayed": 0}
    await engine.stop()


async def test_sqs_case_12_past_max_receive_count_the_message_moves_to_the_dlq() -> None:
    engine, queue, _, _ = await queue_run(
        dead_letter_queue="dlq", max_receive_count=2, visibility_timeout=0
    )
    sent = await engine.send("q", {"order": 1}, {"store": "S1"})
    assert len(await queue.receive(1, wait=0)) == 1
    assert len(await queue.receive(1, wait=0)) == 1
    assert await queue.receive(1, wait=0) == []
    (moved,) = await engine.node("dlq").receive(1, wait=0)
    stored_id = moved.message.id
    assert moved.message.body == {"order": 1} and moved.message.attributes == {"store": "S1"}
    assert moved.message.system["DeadLetterQueueSourceArn"] == queue.arn
    assert moved.receive_count == 3  # the count carries over, and this receive adds one
    assert stored_id != sent.id and moved.message.trace_id == sent.trace_id
    assert engine.snapshot()["nodes"]["q"]["dead_lettered"] == 1
    await engine.stop()


async def test_sqs_dlq_keeps_the_message_id_from_the_source_queue() -> None:
    engine, queue, _, _ = await queue_run(
        dead_letter_queue="dlq", max_receive_count=1, visibility_timeout=0
    )
    await engine.send("q", "poison")
    (first,) = await queue.receive(1, wait=0)
    assert await queue.receive(1, wait=0) == []
    (moved,) = await engine.node("dlq").receive(1, wait=0)
    assert moved.message.id == first.message.id
    await engine.stop()


async def test_sqs_redrive_moves_dead_letters_back_to_the_source_as_new_messages() -> None:
    engine, queue, _, _ = await queue_run(
        dead_letter_queue="dlq", max_receive_count=1, visibility_timeout=0
    )
    await engine.send("q", "poison")
    (first,) = await queue.receive(1, wait=0)
    await queue.receive(1, wait=0)
    assert await engine.node("dlq").redrive() == 1
    (again,) = await queue.receive(1, wait=0)
    assert again.message.body == "poison" and again.message.id != first.message.id
    assert again.receive_count == 1
    with pytest.raises(StoreError, match="Source queue must be configured as a Dead Letter Queue"):
        await queue.redrive()
    await engine.stop()


async def test_sqs_case_13_a_dlq_of_another_type_is_a_lint_error() -> None:
    from runtime import graph
    from runtime.spec import load
    from tests.builders import make_document

    document = make_document(
        nodes=[
            node("q", "queue", fifo=True, content_based_deduplication=True, dead_letter_queue="d"),
            node("d", "queue"),
        ]
    )
    codes = {finding.code for finding in graph.errors(graph.lint(load(document)))}
    assert "dlq-type" in codes


async def test_sqs_case_14_fifo_needs_a_group_id_and_a_dedup_id_or_content_deduplication() -> None:
    engine, _, _, observer = await queue_run(fifo=True)
    await engine.send("q", "x")
    await engine.send("q", "x", system={"MessageGroupId": "g"})
    codes = [(event.error_code, event.error_message) for event in observer.of(MessageRefused)]
    assert codes[0] == (
        "MissingParameter",
        "The request must contain the parameter MessageGroupId.",
    )
    assert codes[1][0] == "InvalidParameterValue"
    assert "ContentBasedDeduplication enabled or MessageDeduplicationId" in codes[1][1]
    await engine.stop()


async def test_sqs_case_15_content_deduplication_lasts_five_minutes_even_after_delete() -> None:
    engine, queue, _, _ = await queue_run(fifo=True, content_based_deduplication=True)
    group = {"MessageGroupId": "g"}
    await engine.send("q", "x", system=group)
    await engine.send("q", "x", system=group)
    received = await queue.receive(10, wait=0)
    assert len(received) == 1
    assert engine.snapshot()["nodes"]["q"]["duplicates"] == 1
    await queue.delete([received[0].receipt])
    await engine.send("q", "x", system=group)
    assert await queue.receive(10, wait=0) == []
    await engine.advance(300)
    await engine.send("q", "x", system=group)
    assert len(await queue.receive(10, wait=0)) == 1
    await engine.stop()


@pytest.mark.parametrize(("scope", "delivered"), [("queue", 1), ("messageGroup", 2)])
async def test_sqs_case_16_dedup_scope_decides_whether_groups_share_dedup_ids(
    scope: str, delivered: int
) -> None:
    engine, queue, _, _ = await queue_run(
        fifo=True,
        deduplication_scope=scope,
        fifo_throughput_limit="perMessageGroupId" if scope == "messageGroup" else "perQueue",
    )
    for group in ("g1", "g2"):
        await engine.send(
            "q", group, system={"MessageGroupId": group, "MessageDeduplicationId": "d"}
        )
    assert len(await queue.receive(10, wait=0)) == delivered
    await engine.stop()


async def test_sqs_case_17_a_fifo_group_is_locked_while_its_head_is_in_flight() -> None:
    engine, queue, _, _ = await queue_run(fifo=True, content_based_deduplication=True)
    for body, group in (("A1", "A"), ("A2", "A"), ("B1", "B")):
        await engine.send("q", body, system={"MessageGroupId": group})
    (a1,) = await queue.receive(1, wait=0)
    (b1,) = await queue.receive(1, wait=0)
    assert (a1.message.body, b1.message.body) == ("A1", "B1")
    assert await queue.receive(1, wait=0) == []
    await queue.delete([a1.receipt])
    (a2,) = await queue.receive(1, wait=0)
    assert a2.message.body == "A2"
    await engine.stop()


async def test_sqs_case_18_a_fifo_batch_receive_keeps_group_order() -> None:
    engine, queue, _, _ = await queue_run(fifo=True, content_based_deduplication=True)
    for body in ("A1", "A2", "A3"):
        await engine.send("q", body, system={"MessageGroupId": "A"})
    assert [item.message.body for item in await queue.receive(10, wait=0)] == ["A1", "A2", "A3"]
    await engine.stop()


async def test_sqs_case_20_bodies_over_the_maximum_size_are_refused_in_utf8_bytes() -> None:
    engine, queue, _, observer = await queue_run(max_message_size=1024)
    await engine.send("q", "é" * 513)  # 1,026 bytes in UTF-8, 513 characters
    await engine.send("q", "x" * 1024)
    assert observer.of(MessageRefused)[-1].error_message == (
        "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes."
    )
    assert len(await queue.receive(10, wait=0)) == 1
    await engine.stop()

    engine, queue, _, observer = await queue_run()
    await engine.send("q", "x" * 1_048_577)
    refused = observer.of(MessageRefused)[-1]
    assert "Message must be shorter than 1048576 bytes" in refused.error_message
    await engine.stop()


async def test_sqs_case_21_more_than_ten_message_attributes_are_refused() -> None:
    engine, queue, _, observer = await queue_run()
    await engine.send("q", "x", {f"a{i}": "v" for i in range(11)})
    assert observer.of(MessageRefused)[-1].error_code == "InvalidParameterValue"
    assert await queue.receive(1, wait=0) == []
    await engine.stop()


async def test_sqs_case_22_purge_is_allowed_once_a_minute_and_clears_fifo_dedup() -> None:
    engine, queue, _, _ = await queue_run(fifo=True)
    system = {"MessageGroupId": "g", "MessageDeduplicationId": "d"}
    await engine.send("q", "x", system=system)
    assert await queue.purge() == 1
    with pytest.raises(StoreError) as error:
        await queue.purge()
    assert error.value.code == "PurgeQueueInProgress"
    await engine.send("q", "x", system=system)
    assert len(await queue.receive(1, wait=0)) == 1
    await engine.stop()


async def test_a_consumer_that_fails_leaves_the_message_to_come_back_then_to_the_dlq() -> None:
    nodes = [
        node("in", "producer"),
        node("q", "queue", visibility_timeout=10, max_receive_count=3, dead_letter_queue="dlq"),
        node("dlq", "queue"),
        node("fn", "function", failure_rate=1.0, timeout=3),
    ]
    engine, _, _ = engine_for(nodes, [edge("a", "in", "q"), edge("b", "q", "fn")])
    await engine.start()
    await engine.send("in", {"poison": True})
    await engine.advance(60)
    stats = engine.snapshot()["nodes"]
    assert stats["fn"]["in"] == 3 and stats["fn"]["errors"] == 3
    assert stats["q"]["dead_lettered"] == 1
    assert (await engine.node("dlq").counts())["depth"] == 1
    await engine.stop()


async def test_a_consumer_batch_is_at_most_ten_and_is_deleted_when_handled() -> None:
    nodes = [node("in", "producer"), node("q", "queue"), node("fn", "function", batch_size=10)]
    nodes.append(node("sink", "log"))
    edges = [edge("a", "in", "q"), edge("b", "q", "fn"), edge("c", "fn", "sink")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.node("in").emit(25)
    await engine.advance(1)
    stats = engine.snapshot()["nodes"]
    assert engine.node("fn").invocations == 3
    assert stats["q"]["acked"] == 25 and stats["sink"]["in"] == 25
    assert (await engine.node("q").counts())["depth"] == 0
    await engine.stop()


async def test_sqs_case_19_send_message_batch_checks_the_request_then_each_entry() -> None:
    engine, queue, _, _ = await queue_run()
    with pytest.raises(StoreError) as error:
        await queue.send_batch([{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)])
    assert error.value.code.endswith("TooManyEntriesInBatchRequest")
    with pytest.raises(StoreError) as error:
        await queue.send_batch([{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}])
    assert error.value.code.endswith("BatchEntryIdsNotDistinct")
    with pytest.raises(StoreError) as error:
        await queue.send_batch([{"Id": "bad id!", "MessageBody": "x"}])
    assert error.value.code.endswith("InvalidBatchEntryId")
    result = await queue.send_batch(
        [
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "bad \x00 char"},
            {"Id": "c", "MessageBody": "three"},
        ]
    )
    assert [entry["Id"] for entry in result["Successful"]] == ["a", "c"]
    (failure,) = result["Failed"]
    assert failure["Id"] == "b" and failure["SenderFault"] is True
    assert len(await queue.receive(10, wait=0)) == 2
    await engine.stop()


async def test_sqs_a_batch_over_one_mib_is_refused_whole() -> None:
    engine, queue, _, _ = await queue_run()
    entries = [{"Id": f"e{i}", "MessageBody": "x" * 262_144} for i in range(4)]
    entries[0]["MessageBody"] += "x"
    with pytest.raises(StoreError, match="You have sent 1048577 bytes"):
        await queue.send_batch(entries)
    await engine.stop()


async def test_sqs_case_21_message_attributes_come_back_only_when_asked_with_their_md5() -> None:
    from runtime.nodes.queue import md5_of_message_attributes

    engine, queue, _, _ = await queue_run(visibility_timeout=0)
    await engine.send("q", {"a": 1}, {"store": "S1", "count": 3, "order.id": "o-7"})
    plain = (await queue.receive_message(1, wait=0))["Messages"][0]
    assert "MessageAttributes" not in plain and "Attributes" not in plain
    assert plain["Body"] == '{"a":1}'
    assert plain["MD5OfBody"] == hashlib.md5(b'{"a":1}').hexdigest()
    full = (
        await queue.receive_message(
            1, wait=0, attribute_names=["All"], message_attribute_names=["All"]
        )
    )["Messages"][0]
    assert full["MessageAttributes"] == {
        "store": {"DataType": "String", "StringValue": "S1"},
        "count": {"DataType": "Number", "StringValue": "3"},
        "order.id": {"DataType": "String", "StringValue": "o-7"},
    }
    assert full["MD5OfMessageAttributes"] == md5_of_message_attributes(full["MessageAttributes"])
    # Worked by hand from the algorithm in semantics §1.11 for {"store": String "S1"}.
    assert md5_of_message_attributes({"store": {"DataType": "String", "StringValue": "S1"}}) == (
        "e5bc64c29439841a0ac7541def891620"
    )
    assert full["Attributes"]["ApproximateReceiveCount"] == "2"
    prefixed = await queue.receive_message(1, wait=0, message_attribute_names=["order.*"])
    assert prefixed["Messages"][0]["MessageAttributes"].keys() == {"order.id"}
    await engine.stop()
