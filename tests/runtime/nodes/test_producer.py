from __future__ import annotations

from runtime.nodes.producer import Producer
from tests.runtime.nodes import lint, problems


def test_defaults_send_a_templated_sample_by_hand() -> None:
    assert Producer.check_config({}) == []
    assert Producer.defaults()["mode"] == "manual"


def test_a_producer_has_no_input_and_feeds_buffers_routers_and_compute() -> None:
    assert not Producer.has_input
    assert Producer.feeds == {
        "event_bus",
        "queue",
        "topic",
        "stream",
        "kafka_topic",
        "broker",
        "function",
        "state_machine",
    }


def test_unknown_placeholders_in_the_body_are_reported_with_their_pointer() -> None:
    assert problems(Producer, body={"a": ["{{n}}", "{{nope}}"]}) == {}
    assert lint(Producer, body={"a": ["{{n}}", "{{nope}}"]}) == {
        "/body/a/1": "unknown placeholder {{nope}}"
    }


def test_schedule_mode_needs_a_valid_expression() -> None:
    assert problems(Producer, mode="schedule", schedule="") == {
        "/schedule": "schedule mode needs a schedule expression"
    }
    assert problems(Producer, mode="schedule", schedule="rate(1 hours)") == {
        "/schedule": "use 'hour' when N is 1 and 'hours' otherwise"
    }
    assert problems(Producer, mode="schedule", schedule="cron(0 12 * * ? *)") == {}


def test_load_rate_and_duration_are_bounded() -> None:
    assert problems(Producer, rate=0) == {"/rate": "must be 0.01..100000 events/s"}
    assert problems(Producer, duration=86401) == {"/duration": "must be 1..86400 s"}


def test_attributes_follow_the_sqs_rules() -> None:
    too_many = {f"a{i}": "x" for i in range(11)}
    assert problems(Producer, attributes=too_many) == {
        "/attributes": "must have at most 10 attributes"
    }
    assert problems(Producer, attributes={"AWS.x": "1"}) == {
        "/attributes/AWS.x": "names must not start with AWS. or Amazon."
    }
    assert problems(Producer, attributes={"k": ""}) == {
        "/attributes/k": "must be a non-empty string or a number"
    }
    assert problems(Producer, attributes={"k": "{{choice a|b}}", "n": 3}) == {}


def test_the_event_source_must_not_be_an_aws_namespace() -> None:
    assert problems(Producer, source="aws.ec2") == {
        "/source": "must not start with aws. (reserved for AWS services)"
    }
    assert problems(Producer, detail_type="") == {"/detail_type": "is required"}


def test_group_ids_and_partition_keys_may_be_templates() -> None:
    assert problems(Producer, message_group_id="customer-{{int 1 5}}") == {}
    assert problems(Producer, message_group_id="has space") == {
        "/message_group_id": "may hold only letters, digits and ASCII punctuation"
    }
    assert problems(Producer, partition_key="{{bad}}") == {
        "/partition_key": "unknown placeholder {{bad}}"
    }
    assert problems(Producer, partition_key="k" * 257) == {
        "/partition_key": "must be at most 256 characters"
    }
