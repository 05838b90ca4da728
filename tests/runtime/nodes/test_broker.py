from __future__ import annotations

from runtime.nodes.broker import Broker
from tests.runtime.nodes import problems


def test_defaults_are_an_activemq_queue_with_its_redelivery_policy() -> None:
    assert Broker.check_config({}) == []
    defaults = Broker.defaults()
    assert defaults["maximum_redeliveries"] == 6
    assert defaults["redelivery_delay"] == 1000
    assert defaults["dlq_name"] == "ActiveMQ.DLQ"


def test_a_broker_feeds_consumers() -> None:
    assert Broker.feeds == {"function", "state_machine", "log"}


def test_redelivery_limits_are_enforced() -> None:
    assert problems(Broker, maximum_redeliveries=-1) == {}
    assert problems(Broker, maximum_redeliveries=-2) == {"/maximum_redeliveries": "must be -1.."}
    assert problems(Broker, redelivery_delay=-1) == {"/redelivery_delay": "must be 0.. ms"}
    assert problems(Broker, backoff_multiplier=0.5) == {"/backoff_multiplier": "must be 1.."}


def test_durable_subscriptions_are_for_topics() -> None:
    assert problems(Broker, durable_subscriptions=True) == {
        "/durable_subscriptions": "applies only when destination_type is topic"
    }
    assert problems(Broker, destination_type="topic", durable_subscriptions=True) == {}


def test_the_dlq_name_is_required_and_has_no_spaces() -> None:
    assert problems(Broker, dlq_name="") == {"/dlq_name": "is required"}
    assert problems(Broker, dlq_name="DLQ orders") == {"/dlq_name": "must match [A-Za-z0-9._:/-]+"}
    assert problems(Broker, dlq_name="DLQ.orders") == {}
