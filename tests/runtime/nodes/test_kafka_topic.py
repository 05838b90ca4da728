from __future__ import annotations

from runtime.nodes.kafka_topic import KafkaTopic
from tests.runtime.nodes import edge_problems, problems


def test_defaults_follow_msk() -> None:
    assert KafkaTopic.check_config({}) == []
    defaults = KafkaTopic.defaults()
    assert defaults["partitions"] == 1
    assert defaults["replication_factor"] == 3
    assert defaults["retention_ms"] == 604800000
    assert defaults["max_message_bytes"] == 1048588


def test_a_kafka_topic_feeds_consumers() -> None:
    assert KafkaTopic.feeds == {"function", "state_machine", "log"}


def test_limits_are_enforced() -> None:
    assert problems(KafkaTopic, partitions=0) == {"/partitions": "must be 1..1000"}
    assert problems(KafkaTopic, retention_ms=-2) == {"/retention_ms": "must be -1.. ms"}
    assert problems(KafkaTopic, max_message_bytes=0) == {"/max_message_bytes": "must be 1.. bytes"}
    assert problems(KafkaTopic, cleanup_policy="archive") == {
        "/cleanup_policy": "must be one of 'delete', 'compact', 'compact,delete'"
    }


def test_min_insync_replicas_cannot_exceed_the_replication_factor() -> None:
    assert problems(KafkaTopic, replication_factor=1) == {
        "/min_insync_replicas": "must not exceed the replication factor"
    }
    assert problems(KafkaTopic, replication_factor=1, min_insync_replicas=1) == {}


def test_consumer_groups_and_offset_reset_are_per_edge() -> None:
    assert KafkaTopic.check_edge_config({}) == []
    assert (
        edge_problems(KafkaTopic, consumer_group_id="billing.v2", auto_offset_reset="earliest")
        == {}
    )
    assert edge_problems(KafkaTopic, consumer_group_id="has space") == {
        "/consumer_group_id": "must match [A-Za-z0-9._-]+"
    }
    assert edge_problems(KafkaTopic, auto_offset_reset="none") == {
        "/auto_offset_reset": "must be one of 'latest', 'earliest'"
    }
