from __future__ import annotations

from runtime.nodes.partner_source import PARTNER_EVENTS, PartnerSource
from tests.runtime.nodes import problems


def test_defaults_emit_every_stripe_event() -> None:
    assert PartnerSource.check_config({}) == []
    assert PartnerSource.defaults()["event_types"] == []


def test_a_partner_source_feeds_only_an_event_bus() -> None:
    assert PartnerSource.feeds == {"event_bus"}
    assert not PartnerSource.has_input


def test_event_types_come_from_the_partners_catalogue() -> None:
    assert problems(PartnerSource, partner="github", event_types=["push", "pull_request"]) == {}
    found = problems(PartnerSource, partner="github", event_types=["ticket.created"])
    assert found == {"/event_types/0": "github emits only: " + ", ".join(PARTNER_EVENTS["github"])}


def test_an_event_type_may_be_listed_once() -> None:
    assert problems(PartnerSource, partner="github", event_types=["push", "push"]) == {
        "/event_types/1": "'push' is listed twice"
    }


def test_the_rate_is_bounded() -> None:
    assert problems(PartnerSource, rate=0) == {"/rate": "must be 0.1..6000 events/min"}
    assert problems(PartnerSource, partner="salesforce") == {
        "/partner": "must be one of 'stripe', 'github', 'zendesk', 'shopify'"
    }
