"""Kinesis stream behaviour: MD5 shards, sequence numbers, iterators, retention (§4.10)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from runtime.events import MessageRefused
from runtime.store import StoreError
from tests.runtime.engine_helpers import edge, engine_for, node


async def stream_run(shards: int = 1, **config: Any) -> Any:
    engine, clock, observer = engine_for([node("s", "stream", shard_count=shards, **config)])
    await engine.start()
    return engine, engine.node("s"), clock, observer


async def read_all(stream: Any, shard_id: str, kind: str = "TRIM_HORIZON", **where: Any) -> list:
    iterator = await stream.get_shard_iterator(shard_id, kind, **where)
    return (await stream.get_records(iterator))["Records"]


async def test_kinesis_case_1_one_key_one_shard_increasing_sequence_numbers_in_order() -> None:
    engine, stream, _, _ = await stream_run()
    results = [await stream.put_record(f"r{i}", "k") for i in range(3)]
    assert {result["ShardId"] for result in results} == {"shardId-000000000000"}
    numbers = [int(result["SequenceNumber"]) for result in results]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    records = await read_all(stream, "shardId-000000000000")
    assert [(r["Data"], r["PartitionKey"]) for r in records] == [
        ("r0", "k"),
        ("r1", "k"),
        ("r2", "k"),
    ]
    await engine.stop()


async def test_kinesis_case_2_keys_land_on_the_shard_whose_md5_range_holds_them() -> None:
    engine, stream, _, _ = await stream_run(shards=2)
    assert stream.shard_range(0) == (0, 2**127 - 1)
    assert stream.shard_range(1) == (2**127, 2**128 - 1)
    for key in ("alpha", "beta", "gamma", "delta", "user-1"):
        expected = 0 if int(hashlib.md5(key.encode()).hexdigest(), 16) < 2**127 else 1
        result = await stream.put_record("x", key)
        assert result["ShardId"] == f"shardId-{expected:012d}"
    await engine.stop()


async def test_kinesis_three_shards_split_the_hash_space_like_aws() -> None:
    engine, stream, _, _ = await stream_run(shards=3)
    assert stream.shard_range(0)[1] == 113427455640312821154458202477256070484
    assert stream.shard_range(2)[1] == 2**128 - 1
    await engine.stop()


async def test_kinesis_case_3_an_explicit_hash_key_picks_the_shard_and_is_range_checked() -> None:
    engine, stream, _, _ = await stream_run(shards=2)
    assert (await stream.put_record("x", "k", explicit_hash_key="0"))["ShardId"].endswith("0")
    last = await stream.put_record("x", "k", explicit_hash_key=str(2**128 - 1))
    assert last["ShardId"] == "shardId-000000000001"
    with pytest.raises(StoreError) as error:
        await stream.put_record("x", "k", explicit_hash_key=str(2**128))
    assert error.value.code == "InvalidArgumentException"
    await engine.stop()


async def test_kinesis_case_4_a_latest_iterator_sees_only_later_records() -> None:
    engine, stream, _, _ = await stream_run()
    await stream.put_record("old", "k")
    iterator = await stream.get_shard_iterator("shardId-000000000000", "LATEST")
    await stream.put_record("new1", "k")
    await stream.put_record("new2", "k")
    page = await stream.get_records(iterator)
    assert [r["Data"] for r in page["Records"]] == ["new1", "new2"]
    assert (await stream.get_records(page["NextShardIterator"]))["Records"] == []
    await engine.stop()


async def test_kinesis_case_5_at_and_after_sequence_number() -> None:
    engine, stream, _, _ = await stream_run()
    results = [await stream.put_record(name, "k") for name in ("r1", "r2", "r3")]
    shard, second = "shardId-000000000000", results[1]["SequenceNumber"]
    at = await read_all(stream, shard, "AT_SEQUENCE_NUMBER", sequence_number=second)
    after = await read_all(stream, shard, "AFTER_SEQUENCE_NUMBER", sequence_number=second)
    assert [r["Data"] for r in at] == ["r2", "r3"] and [r["Data"] for r in after] == ["r3"]
    await engine.stop()


async def test_kinesis_case_6_at_timestamp_starts_at_the_first_record_at_or_after_it() -> None:
    engine, stream, clock, _ = await stream_run()
    await stream.put_record("r1", "k")
    await engine.advance(10)
    middle = clock.now() - 5
    await stream.put_record("r2", "k")
    await stream.put_record("r3", "k")
    records = await read_all(stream, "shardId-000000000000", "AT_TIMESTAMP", timestamp=middle)
    assert [r["Data"] for r in records] == ["r2", "r3"]
    await engine.stop()


async def test_kinesis_case_7_an_iterator_expires_after_five_minutes() -> None:
    engine, stream, _, _ = await stream_run()
    iterator = await stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    await engine.advance(301)
    with pytest.raises(StoreError) as error:
        await stream.get_records(iterator)
    assert error.value.code == "ExpiredIteratorException"
    await engine.stop()


async def test_kinesis_case_8_independent_consumers_each_read_every_record() -> None:
    nodes = [
        node("p", "producer", partition_key="{{choice a|b|c}}"),
        node("s", "stream", shard_count=2),
        node("one", "log"),
        node("two", "log"),
    ]
    edges = [
        edge("p-s", "p", "s"),
        edge("s-one", "s", "one", starting_position="TRIM_HORIZON"),
        edge("s-two", "s", "two", starting_position="TRIM_HORIZON", batch_size=3),
    ]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.node("p").emit(20)
    await engine.advance(1)
    stats = engine.snapshot()["nodes"]
    assert stats["one"]["in"] == 20 and stats["two"]["in"] == 20
    await engine.stop()


async def test_kinesis_case_9_records_past_retention_are_gone_from_trim_horizon() -> None:
    engine, stream, _, _ = await stream_run()
    await stream.put_record("old", "k")
    await engine.advance(24 * 3600 + 1)
    await stream.put_record("new", "k")
    assert [r["Data"] for r in await read_all(stream, "shardId-000000000000")] == ["new"]
    await engine.stop()


async def test_kinesis_case_10_realism_mode_throttles_writes_over_1000_per_second() -> None:
    nodes = [node("p", "producer"), node("s", "stream", enforce_throughput=True)]
    engine, _, observer = engine_for(nodes, [edge("p-s", "p", "s")])
    await engine.start()
    await engine.node("p").emit(1001)
    refused = observer.of(MessageRefused)
    assert len(refused) == 1 and refused[0].error_code == "ProvisionedThroughputExceededException"
    assert engine.snapshot()["nodes"]["s"]["in"] == 1000
    await engine.stop()


async def test_kinesis_case_12_a_record_over_1_mib_is_refused() -> None:
    nodes = [node("p", "producer"), node("s", "stream")]
    engine, _, observer = engine_for(nodes, [edge("p-s", "p", "s")])
    await engine.start()
    await engine.send("p", "x" * (1024 * 1024))
    assert observer.of(MessageRefused)[-1].error_code == "ValidationException"
    await engine.stop()


async def test_a_failing_consumer_blocks_its_shard_and_retries_the_same_batch() -> None:
    nodes = [
        node("p", "producer"),
        node("s", "stream"),
        node("fn", "function", failure_rate=1.0),
    ]
    edges = [edge("p-s", "p", "s"), edge("s-fn", "s", "fn", starting_position="TRIM_HORIZON")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.node("p").emit(2)
    await engine.advance(3.5)
    stats = engine.snapshot()["nodes"]
    assert engine.node("fn").invocations == 4 and stats["s"]["retries"] == 8
    assert engine.node("s").positions[("s-fn", 0)] == 0
    await engine.stop()


async def test_kinesis_case_10_put_records_over_the_shard_limit_fails_only_those_records() -> None:
    engine, stream, _, _ = await stream_run(enforce_throughput=True)
    result = await stream.put_records([{"Data": i, "PartitionKey": "k"} for i in range(500)])
    assert result["FailedRecordCount"] == 0
    result = await stream.put_records([{"Data": i, "PartitionKey": "k"} for i in range(500)])
    failed = [r for r in result["Records"] if "ErrorCode" in r]
    assert result["FailedRecordCount"] == len(failed) == 0
    more = await stream.put_records([{"Data": "x", "PartitionKey": "k"}] * 2)
    assert more["FailedRecordCount"] == 2
    assert more["Records"][0]["ErrorCode"] == "ProvisionedThroughputExceededException"
    await engine.stop()


async def test_kinesis_case_11_a_sixth_get_records_call_in_a_second_is_throttled() -> None:
    engine, stream, _, _ = await stream_run(enforce_throughput=True)
    iterator = await stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    for _ in range(5):
        iterator = (await stream.get_records(iterator))["NextShardIterator"]
    with pytest.raises(StoreError) as error:
        await stream.get_records(iterator)
    assert error.value.code == "ProvisionedThroughputExceededException"
    await engine.advance(1)
    assert (await stream.get_records(iterator))["Records"] == []
    await engine.stop()


async def test_kinesis_case_12_put_records_takes_at_most_500_entries() -> None:
    engine, stream, _, _ = await stream_run()
    with pytest.raises(StoreError) as error:
        await stream.put_records([{"Data": 1, "PartitionKey": "k"}] * 501)
    assert error.value.code == "ValidationException"
    await engine.stop()


async def test_kinesis_case_15_a_21st_enhanced_fan_out_consumer_is_refused() -> None:
    nodes = [node("s", "stream")] + [node(f"c{i}", "log") for i in range(21)]
    edges = [edge(f"e{i}", "s", f"c{i}", enhanced_fan_out=True) for i in range(21)]
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    (refused,) = observer.of(MessageRefused)
    assert refused.error_code == "LimitExceededException"
    assert (
        len(
            {
                task.get_name().split(":")[2]
                for task in engine._tasks
                if "consume" in task.get_name()
            }
        )
        == 20
    )
    await engine.stop()


async def test_kinesis_case_13_splitting_closes_the_parent_and_children_take_new_writes() -> None:
    nodes = [node("s", "stream"), node("sink", "log", keep_last=100)]
    edges = [edge("e", "s", "sink", starting_position="TRIM_HORIZON")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    stream = engine.node("s")
    low_key = next(k for k in (f"k{i}" for i in range(100)) if _md5(k) < 2**126)
    high_key = next(k for k in (f"k{i}" for i in range(100)) if _md5(k) >= 2**126)
    await stream.put_record("before", low_key)
    children = await stream.split_shard("shardId-000000000000", str(2**126))
    assert children == ["shardId-000000000001", "shardId-000000000002"]
    assert stream.shard_range(1) == (0, 2**126 - 1)
    assert stream.shard_range(2) == (2**126, 2**128 - 1)
    assert stream.layout[0].ending_sequence is not None
    assert (await stream.put_record("low", low_key))["ShardId"] == "shardId-000000000001"
    assert (await stream.put_record("high", high_key))["ShardId"] == "shardId-000000000002"
    iterator = await stream.get_shard_iterator("shardId-000000000000", "TRIM_HORIZON")
    page = await stream.get_records(iterator)
    assert [r["Data"] for r in page["Records"]] == ["before"]
    assert page["NextShardIterator"] is None
    assert [child["ShardId"] for child in page["ChildShards"]] == children
    await engine.advance(1)
    # The running consumer finished the parent, then read both children.
    assert sorted(engine.node("sink").recent(), key=lambda e: e["at"])[0]["body"] == "before"
    assert engine.snapshot()["nodes"]["sink"]["in"] == 3
    await engine.stop()


async def test_kinesis_case_14_merging_shards_that_are_not_adjacent_is_refused() -> None:
    engine, stream, _, _ = await stream_run(shards=3)
    with pytest.raises(StoreError) as error:
        await stream.merge_shards("shardId-000000000000", "shardId-000000000002")
    assert error.value.code == "InvalidArgumentException"
    (child,) = await stream.merge_shards("shardId-000000000000", "shardId-000000000001")
    assert stream.shard_range(3) == (
        0,
        stream.shard_range(1)[1] if False else 2 * (2**128 // 3) - 1,
    )
    await engine.stop()


def _md5(key: str) -> int:
    return int(hashlib.md5(key.encode()).hexdigest(), 16)


async def test_kinesis_case_15_subscribe_to_shard_pushes_records_and_a_continuation() -> None:
    engine, stream, _, _ = await stream_run()
    results = [await stream.put_record(f"r{i}", "k") for i in range(3)]
    event = await stream.subscribe_to_shard("efo-1", "shardId-000000000000", "TRIM_HORIZON")
    assert [r["Data"] for r in event["Records"]] == ["r0", "r1", "r2"]
    assert event["ContinuationSequenceNumber"] == results[-1]["SequenceNumber"]
    with pytest.raises(StoreError) as error:
        await stream.subscribe_to_shard("efo-1", "shardId-000000000000")
    assert error.value.code == "ResourceInUseException"
    await engine.advance(5)
    await stream.put_record("r3", "k")
    again = await stream.subscribe_to_shard(
        "efo-1",
        "shardId-000000000000",
        "CONTINUATION",
        sequence_number=event["ContinuationSequenceNumber"],
    )
    assert [r["Data"] for r in again["Records"]] == ["r3"]
    await engine.stop()
