"""Partner event source: realistic SaaS events (payments, git pushes, tickets) for a bus."""

from __future__ import annotations

import random
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import NodeRuntime, TaskFactory
from runtime.templates import seeded_uuid

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


CURRENCIES = ("usd", "eur", "gbp")
REPOSITORIES = ("flowyard/runtime", "flowyard/designer", "acme/shop")
PEOPLE = ("ada", "grace", "linus", "margaret", "ken")


def partner_detail(partner: str, event_type: str, rng: random.Random, n: int) -> dict[str, Any]:
    """A realistic-looking payload for one partner event (shapes follow each SaaS's webhooks)."""
    if partner == "stripe":
        amount = rng.randint(500, 250000)
        return {
            "id": f"evt_{rng.getrandbits(64):016x}",
            "type": event_type,
            "data": {
                "object": {
                    "id": f"pi_{rng.getrandbits(64):016x}",
                    "amount": amount,
                    "currency": rng.choice(CURRENCIES),
                    "customer": f"cus_{rng.getrandbits(40):010x}",
                    "status": event_type.rsplit(".", 1)[-1],
                }
            },
        }
    if partner == "github":
        return {
            "action": event_type,
            "repository": {"full_name": rng.choice(REPOSITORIES)},
            "sender": {"login": rng.choice(PEOPLE)},
            "ref": "refs/heads/main",
            "after": f"{rng.getrandbits(160):040x}",
            "number": n,
        }
    if partner == "zendesk":
        return {
            "ticket": {
                "id": 1000 + n,
                "status": event_type.split(".")[-1],
                "priority": rng.choice(("low", "normal", "high", "urgent")),
                "requester": f"{rng.choice(PEOPLE)}@example.com",
            }
        }
    return {
        "id": 450789469 + n,
        "topic": event_type,
        "total_price": f"{rng.randint(5, 900)}.{rng.randint(0, 99):02d}",
        "currency": rng.choice(CURRENCIES).upper(),
        "customer": {"email": f"{rng.choice(PEOPLE)}@example.com"},
    }


class PartnerSourceNode(NodeRuntime):
    """Emits the partner's events at ``rate`` per minute, with seeded realistic data."""

    kind = "partner_source"

    def setup(self) -> None:
        seed = self.settings["seed"]
        self.rng = random.Random(seed) if seed else self.engine.rng
        self.types = tuple(self.settings["event_types"]) or PARTNER_EVENTS[self.settings["partner"]]
        self.counter = 0
        partner = self.settings["partner"]
        self.source = f"aws.partner/{partner}.com/{self.engine.settings.account}/flowyard"

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        return [("emit", self._emit_forever)]

    def make(self, event_type: str | None = None, *, traced: bool = False) -> Message:
        self.counter += 1
        event_type = event_type or self.rng.choice(self.types)
        detail = partner_detail(self.settings["partner"], event_type, self.rng, self.counter)
        return Message.new(
            detail,
            now=self.clock.now(),
            system={"Source": self.source, "DetailType": event_type},
            node=self.id,
            message_id=seeded_uuid(self.rng),
            traced=traced,
        )

    async def inject(self, body: Any, attributes: Any = None, system: Any = None) -> Message:
        chosen = body if isinstance(body, str) and body in self.types else None
        message = self.make(chosen, traced=True)
        self.engine.begin_trace(message)
        self.stats.received += 1
        await self.send_on([message])
        return message

    async def _emit_forever(self) -> None:
        interval = 60.0 / self.settings["rate"]
        while True:
            await self.clock.sleep(interval)
            await self.engine.gate()
            self.stats.received += 1
            await self.send_on([self.make()])
