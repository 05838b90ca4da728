from __future__ import annotations

import pytest

from runtime.nodes.event_bus import EventBus
from tests.runtime.nodes import lint, problems


def test_defaults_are_the_default_bus_with_a_one_mib_entry_limit() -> None:
    assert EventBus.check_config({}) == []
    assert EventBus.defaults()["bus_name"] == "default"
    assert EventBus.defaults()["max_event_size"] == 1048576


def test_an_event_bus_feeds_rules_only() -> None:
    assert EventBus.feeds == {"rule"}


@pytest.mark.parametrize("name", ["orders", "team/orders.v1", "aws.partner/stripe.com/acct"])
def test_custom_and_partner_bus_names_are_accepted(name: str) -> None:
    assert problems(EventBus, bus_name=name) == {}


def test_bad_bus_names_are_refused() -> None:
    assert problems(EventBus, bus_name="has space") == {
        "/bus_name": "must match [/\\.\\-_A-Za-z0-9]+"
    }
    assert problems(EventBus, bus_name="") == {"/bus_name": "is required"}
    assert problems(EventBus, bus_name="aws.mine") == {
        "/bus_name": "names starting with aws. are reserved for partner buses"
    }
    assert problems(EventBus, bus_name="b" * 257) == {"/bus_name": "must be at most 256 characters"}


def test_limits_of_the_entry_size_and_the_archive() -> None:
    assert problems(EventBus, max_event_size=1048577) == {
        "/max_event_size": "must be 1..1048576 bytes"
    }
    assert problems(EventBus, archive_retention_days=-1) == {
        "/archive_retention_days": "must be 0.. days"
    }
    assert problems(EventBus, archive_max_events=0) == {
        "/archive_max_events": "must be 1..1000000 events"
    }


def test_the_linter_checks_the_archive_pattern() -> None:
    assert lint(EventBus, archive_enabled=True, archive_pattern={"source": ["a"]}) == {}
    assert problems(EventBus, archive_pattern={"source": "a"}) == {}
    found = lint(EventBus, archive_pattern={"source": "a"})
    assert found and all(pointer.startswith("/archive_pattern") for pointer in found)
