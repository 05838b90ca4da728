from __future__ import annotations

import pytest

from runtime.nodes.queue import Queue
from tests.runtime.nodes import problems


def test_defaults_are_a_standard_queue_with_aws_defaults() -> None:
    assert Queue.check_config({}) == []
    assert Queue.defaults()["visibility_timeout"] == 30
    assert Queue.defaults()["retention_period"] == 345600


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("visibility_timeout", 43201, "must be 0..43200 s"),
        ("delay_seconds", 901, "must be 0..900 s"),
        ("retention_period", 59, "must be 60..1209600 s"),
        ("retention_period", 1209601, "must be 60..1209600 s"),
        ("max_message_size", 1023, "must be 1024..1048576 bytes"),
        ("max_message_size", 1048577, "must be 1024..1048576 bytes"),
        ("receive_wait_time", 21, "must be 0..20 s"),
        ("max_receive_count", 0, "must be 1..1000"),
        ("max_receive_count", 1001, "must be 1..1000"),
    ],
)
def test_each_limit_is_enforced(name: str, value: int, message: str) -> None:
    assert problems(Queue, **{name: value}) == {f"/{name}": message}


def test_fifo_settings_on_a_standard_queue_are_refused() -> None:
    assert problems(Queue, content_based_deduplication=True) == {
        "/content_based_deduplication": "applies only when fifo is true"
    }


def test_per_group_throughput_needs_per_group_deduplication() -> None:
    assert problems(Queue, fifo=True, fifo_throughput_limit="perMessageGroupId") == {
        "/fifo_throughput_limit": "perMessageGroupId requires deduplication_scope messageGroup"
    }
    assert (
        problems(
            Queue,
            fifo=True,
            fifo_throughput_limit="perMessageGroupId",
            deduplication_scope="messageGroup",
        )
        == {}
    )


def test_a_queue_feeds_consumers_only() -> None:
    assert Queue.feeds == {"function", "state_machine", "webhook", "log"}
    assert Queue.has_input
