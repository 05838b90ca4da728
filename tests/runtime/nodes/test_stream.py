from __future__ import annotations

from runtime.nodes.stream import Stream
from tests.runtime.nodes import edge_problems, problems


def test_defaults_are_one_shard_kept_for_a_day() -> None:
    assert Stream.check_config({}) == []
    assert Stream.defaults()["shard_count"] == 1
    assert Stream.defaults()["retention_hours"] == 24


def test_a_stream_feeds_consumers() -> None:
    assert Stream.feeds == {"function", "state_machine", "log"}


def test_limits_follow_kinesis() -> None:
    assert problems(Stream, shard_count=0) == {"/shard_count": "must be 1..500 shards"}
    assert problems(Stream, shard_count=501) == {"/shard_count": "must be 1..500 shards"}
    assert problems(Stream, retention_hours=23) == {"/retention_hours": "must be 24..8760 h"}
    assert problems(Stream, retention_hours=8761) == {"/retention_hours": "must be 24..8760 h"}
    assert problems(Stream, max_record_size=10485761) == {
        "/max_record_size": "must be 1048576..10485760 bytes"
    }
    assert problems(Stream, capacity_mode="AUTO") == {
        "/capacity_mode": "must be one of 'PROVISIONED', 'ON_DEMAND'"
    }


def test_consumers_start_at_latest_by_default() -> None:
    assert Stream.check_edge_config({}) == []
    assert Stream.edge_defaults()["starting_position"] == "LATEST"


def test_at_timestamp_needs_an_iso_time() -> None:
    assert edge_problems(Stream, starting_position="AT_TIMESTAMP") == {
        "/starting_timestamp": "AT_TIMESTAMP needs a timestamp"
    }
    assert (
        edge_problems(
            Stream, starting_position="AT_TIMESTAMP", starting_timestamp="2026-01-01T12:00:00Z"
        )
        == {}
    )
    assert edge_problems(Stream, starting_position="AT_TIMESTAMP", starting_timestamp="soon") == {
        "/starting_timestamp": "must be an ISO-8601 time, e.g. 2026-01-01T12:00:00Z"
    }
    assert edge_problems(Stream, starting_timestamp="2026-01-01T12:00:00Z") == {
        "/starting_timestamp": "applies only when starting_position is AT_TIMESTAMP"
    }


def test_batch_size_is_bounded() -> None:
    assert edge_problems(Stream, batch_size=10001) == {"/batch_size": "must be 1..10000 records"}
