"""Partner event source: realistic SaaS events (payments, git pushes, tickets) for a bus."""

from __future__ import annotations

from typing import Any

from runtime.nodes.base import Field, Kind, Problem

# The event types each simulated partner emits (its detail-type values).
PARTNER_EVENTS: dict[str, tuple[str, ...]] = {
    "stripe": (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "invoice.paid",
        "customer.subscription.created",
    ),
    "github": ("push", "pull_request", "issues", "release", "workflow_run"),
    "zendesk": ("ticket.created", "ticket.updated", "ticket.solved", "comment.created"),
    "shopify": ("orders/create", "orders/paid", "orders/fulfilled", "products/update"),
}
PARTNER_LABELS = {
    "stripe": "Stripe payments",
    "github": "GitHub pushes and pull requests",
    "zendesk": "Zendesk tickets",
    "shopify": "Shopify orders",
}


class PartnerSource(Kind):
    name = "partner_source"
    label = "Partner source"
    group = "Producers"
    icon = "⚡"
    description = (
        "SaaS partner event source: emits realistic payment, git and ticket events to a bus."
    )
    models = "Amazon EventBridge partner event source"
    has_input = False
    feeds = frozenset({"event_bus"})
    fields = (
        Field(
            "partner",
            "choice",
            "stripe",
            "Which SaaS the events come from: "
            + "; ".join(f"{key} = {text}" for key, text in PARTNER_LABELS.items())
            + ". Events arrive with source aws.partner/<partner>.com/… on a partner bus.",
            choices=tuple(PARTNER_EVENTS),
        ),
        Field(
            "event_types",
            "list",
            [],
            "The event types (detail-type) to emit, from the partner's catalogue, e.g. "
            "payment_intent.succeeded for stripe, push for github, ticket.created for zendesk. "
            "Empty: all of them.",
            maximum=20,
        ),
        Field(
            "rate",
            "float",
            6.0,
            "How many events per minute the source emits while the topology runs.",
            minimum=0.1,
            maximum=6000,
            unit="events/min",
        ),
        Field(
            "seed",
            "int",
            0,
            "Seed for the generated data, so a run can be repeated exactly. 0: a new seed per run.",
            minimum=0,
            maximum=2**31 - 1,
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        catalogue = PARTNER_EVENTS[config["partner"]]
        problems: list[Problem] = []
        seen: set[str] = set()
        for index, event_type in enumerate(config["event_types"]):
            where = f"/event_types/{index}"
            if not isinstance(event_type, str) or event_type not in catalogue:
                problems.append((where, f"{config['partner']} emits only: " + ", ".join(catalogue)))
            elif event_type in seen:
                problems.append((where, f"{event_type!r} is listed twice"))
            else:
                seen.add(event_type)
        return problems
