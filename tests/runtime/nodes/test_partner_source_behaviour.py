"""Partner sources emit realistic, seeded SaaS events onto a bus."""

from __future__ import annotations

from tests.runtime.engine_helpers import edge, engine_for, node


async def test_a_partner_source_emits_at_its_rate_with_partner_sources_and_types() -> None:
    nodes = [
        node("stripe", "partner_source", partner="stripe", rate=6.0, seed=42),
        node("bus", "event_bus", bus_name="aws.partner/stripe.com/123/flowyard"),
        node("r", "rule", event_pattern={"source": [{"prefix": "aws.partner/stripe.com"}]}),
        node("q", "queue"),
    ]
    edges = [edge("a", "stripe", "bus"), edge("b", "bus", "r"), edge("c", "r", "q")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.advance(60)
    received = await engine.node("q").receive(10, wait=0)
    assert len(received) == 6
    event = received[0].message.body
    assert event["detail-type"] in (
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "charge.refunded",
        "invoice.paid",
        "customer.subscription.created",
    )
    assert event["detail"]["data"]["object"]["amount"] > 0
    await engine.stop()
