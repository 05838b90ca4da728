"""Kafka topic behaviour: murmur2 partitions, offsets, consumer groups, commits (§5.5)."""

from __future__ import annotations

from typing import Any

import pytest

from runtime.events import MessageRefused
from runtime.nodes.kafka_topic import murmur2, partition_for
from runtime.store import StoreError
from tests.runtime.engine_helpers import edge, engine_for, node

# Expected values from Kafka's own UtilsTest (the Java client), pinned here.
MURMUR2_VECTORS = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


async def topic_run(partitions: int = 3, consumers: list[tuple[str, dict[str, Any]]] = ()) -> Any:  # type: ignore[assignment]
    nodes = [node("k", "kafka_topic", partitions=partitions)]
    edges = []
    for consumer, config in consumers:
        nodes.append(node(consumer, "log"))
        edges.append(edge(f"k-{consumer}", "k", consumer, **config))
    engine, clock, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.settle()
    return engine, engine.node("k"), observer


async def read(engine: Any, partition: int) -> list[Any]:
    return await engine.store.log_read("k", partition, 0, 1000)


@pytest.mark.parametrize(("key", "expected"), MURMUR2_VECTORS.items())
def test_kafka_case_2_murmur2_matches_the_java_client(key: str, expected: int) -> None:
    assert murmur2(key.encode()) == expected


async def test_kafka_case_1_one_key_one_partition_with_consecutive_offsets() -> None:
    engine, topic, _ = await topic_run()
    results = [await topic.produce(f"v{i}", "user-1") for i in range(10)]
    expected = partition_for(b"user-1", 3)
    assert {partition for partition, _ in results} == {expected}
    assert [offset for _, offset in results] == list(range(10))
    await engine.stop()


async def test_kafka_case_3_an_explicit_partition_wins_over_the_key() -> None:
    engine, topic, _ = await topic_run()
    assert (await topic.produce("v", "user-1", partition=2))[0] == 2
    await engine.stop()


async def test_kafka_case_4_null_keys_spread_over_every_partition() -> None:
    engine, topic, _ = await topic_run()
    partitions = {(await topic.produce("v"))[0] for _ in range(9)}
    assert partitions == {0, 1, 2}
    await engine.stop()


@pytest.mark.parametrize(("reset", "expected"), [("latest", 1), ("earliest", 6)])
async def test_kafka_case_5_a_new_group_starts_where_auto_offset_reset_says(
    reset: str, expected: int
) -> None:
    nodes = [node("k", "kafka_topic", partitions=1), node("late", "log")]
    engine, _, _ = engine_for(nodes)
    await engine.start()
    topic = engine.node("k")
    for i in range(5):
        await topic.produce(f"v{i}", "key")
    await engine.stop()
    # The group subscribes afterwards: same store, a new run with the consumer wired.
    store = engine.store
    nodes = [node("k", "kafka_topic", partitions=1), node("late", "log")]
    later, _, _ = engine_for(
        nodes, [edge("k-late", "k", "late", auto_offset_reset=reset)], store=store
    )
    await later.start()
    await later.settle()
    await later.node("k").produce("v5", "key")
    await later.advance(1)
    assert later.snapshot()["nodes"]["late"]["in"] == expected
    await later.stop()


async def test_kafka_case_6_a_group_splits_partitions_and_extra_members_idle() -> None:
    group = {"consumer_group_id": "G1"}
    engine, topic, _ = await topic_run(3, [("a", group), ("b", group)])
    assignment = topic.groups["G1"].assignment
    assert sorted(len(parts) for parts in assignment.values()) == [1, 2]
    assert sorted(p for parts in assignment.values() for p in parts) == [0, 1, 2]
    await engine.stop()
    engine, topic, _ = await topic_run(3, [(name, group) for name in ("a", "b", "c", "d")])
    assert sorted(len(parts) for parts in topic.groups["G1"].assignment.values()) == [0, 1, 1, 1]
    await engine.stop()


async def test_kafka_case_7_two_groups_each_receive_every_record() -> None:
    engine, topic, _ = await topic_run(
        3, [("a", {"consumer_group_id": "G1"}), ("b", {"consumer_group_id": "G2"})]
    )
    for i in range(12):
        await topic.produce(f"v{i}", f"key-{i}")
    await engine.advance(1)
    stats = engine.snapshot()["nodes"]
    assert stats["a"]["in"] == 12 and stats["b"]["in"] == 12
    await engine.stop()


async def test_kafka_case_8_a_replacement_consumer_resumes_at_the_committed_offset() -> None:
    config = {"consumer_group_id": "G", "enable_auto_commit": False}
    engine, topic, _ = await topic_run(1, [("a", config)])
    for i in range(5):
        await topic.produce(f"v{i}", "k")
    await engine.advance(1)
    assert await engine.store.offset_get("k", "G", 0) == 5
    topic.restart("G")
    await topic.produce("v5", "k")
    await engine.advance(1)
    assert engine.snapshot()["nodes"]["a"]["in"] == 6  # nothing read twice
    await engine.stop()


async def test_kafka_case_9_with_auto_commit_a_crash_before_the_interval_rereads_records() -> None:
    config = {"consumer_group_id": "G", "auto_commit_interval_ms": 5000}
    engine, topic, _ = await topic_run(1, [("a", config)])
    await topic.produce("v0", "k")
    await engine.advance(0.1)  # first batch commits (nothing committed yet)
    for i in range(1, 4):
        await topic.produce(f"v{i}", "k")
    await engine.advance(1)  # read, but not committed: within the 5 s interval
    assert engine.snapshot()["nodes"]["a"]["in"] == 4
    assert await engine.store.offset_get("k", "G", 0) == 1
    topic.restart("G")
    topic.wake()
    await engine.advance(1)
    assert engine.snapshot()["nodes"]["a"]["in"] == 7  # the three are read again
    await engine.stop()


async def test_kafka_case_10_retention_moves_log_start_and_old_offsets_reset() -> None:
    nodes = [node("k", "kafka_topic", partitions=1, retention_ms=3_600_000)]
    engine, _, _ = engine_for(nodes)
    await engine.start()
    topic = engine.node("k")
    await topic.produce("old", "k")
    await engine.store.offset_commit("k", "G", 0, 0)
    await engine.advance(7200)
    await topic.produce("new", "k")
    group = type("G", (), {"name": "G", "positions": {}})()
    assert await topic.position(group, 0, "earliest") == 1
    assert await engine.store.log_bounds("k", 0) == (1, 2)
    await engine.stop()


async def test_kafka_case_12_a_record_over_max_message_bytes_is_refused() -> None:
    nodes = [node("p", "producer"), node("k", "kafka_topic", max_message_bytes=100)]
    engine, _, observer = engine_for(nodes, [edge("p-k", "p", "k")])
    await engine.start()
    await engine.send("p", "x" * 200)
    assert observer.of(MessageRefused)[-1].error_code == "RecordTooLargeException"
    await engine.stop()


async def test_consumer_lag_is_the_end_offset_minus_the_committed_offset() -> None:
    engine, topic, _ = await topic_run(1, [("a", {"consumer_group_id": "G"})])
    for i in range(3):
        await topic.produce(f"v{i}", "k")
    assert (await topic.lag("G"))[0] == 3
    await engine.advance(1)
    assert (await topic.lag("G"))[0] == 0
    await engine.stop()


async def test_kafka_case_11_compaction_keeps_the_latest_per_key_and_tombstones_expire() -> None:
    nodes = [node("k", "kafka_topic", cleanup_policy="compact", delete_retention_ms=60_000)]
    engine, _, _ = engine_for(nodes)
    await engine.start()
    topic = engine.node("k")
    for key, value in (("a", 1), ("b", 2), ("a", 3)):
        await topic.produce(value, key)
    assert [(r.key, r.value, r.offset) for r in await topic.read_compacted(0)] == [
        ("b", 2, 1),
        ("a", 3, 2),
    ]
    await topic.produce(None, "b")
    assert [r.key for r in await topic.read_compacted(0)] == ["a", "b"]  # tombstone still visible
    await engine.advance(61)
    assert [(r.key, r.value) for r in await topic.read_compacted(0)] == [("a", 3)]
    await engine.stop()


async def test_kafka_case_13_more_partitions_remap_some_keys_and_fewer_are_refused() -> None:
    engine, topic, _ = await topic_run(3)
    keys = [f"user-{i}" for i in range(20)]
    before = {key: topic.choose_partition(key) for key in keys}
    topic.set_partitions(4)
    after = {key: topic.choose_partition(key) for key in keys}
    assert after == {key: partition_for(key.encode(), 4) for key in keys}
    assert any(before[key] != after[key] for key in keys)
    with pytest.raises(StoreError) as error:
        topic.set_partitions(2)
    assert error.value.code == "InvalidPartitionsException"
    await engine.stop()
