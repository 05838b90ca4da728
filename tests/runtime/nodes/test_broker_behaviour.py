"""Amazon MQ (JMS) behaviour: competing consumers, broadcast, redelivery then DLQ (§8.1)."""

from __future__ import annotations

from typing import Any

from runtime.events import Message
from runtime.nodes.behaviour import DeliveryFailed, Link
from tests.runtime.engine_helpers import edge, engine_for, node


async def broker_run(destination: str, consumers: int = 2, **config: Any) -> Any:
    nodes = [node("p", "producer"), node("mq", "broker", destination_type=destination, **config)]
    edges = [edge("p-mq", "p", "mq")]
    for index in range(consumers):
        nodes.append(node(f"c{index}", "log"))
        edges.append(edge(f"mq-c{index}", "mq", f"c{index}"))
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    return engine


async def test_mq_case_1_queue_consumers_compete_and_each_message_is_consumed_once() -> None:
    engine = await broker_run("queue")
    await engine.node("p").emit(10)
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] + stats["c1"]["in"] == 10
    assert stats["c0"]["in"] == 5 and stats["c1"]["in"] == 5
    await engine.stop()


async def test_mq_case_2_topic_subscribers_each_get_every_message() -> None:
    engine = await broker_run("topic")
    await engine.node("p").emit(10)
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] == 10 and stats["c1"]["in"] == 10
    await engine.stop()


class Flaky:
    """Fails the first ``failures`` deliveries, recording what it saw."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.seen: list[Message] = []

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.seen.extend(messages)
        if len(self.seen) <= self.failures:
            raise DeliveryFailed("Rollback", "the session rolled back")


async def test_mq_case_4_a_failed_delivery_is_redelivered_marked_as_redelivered() -> None:
    engine = await broker_run("queue", consumers=1)
    flaky = Flaky(1)
    engine.node("c0").accept = flaky.accept  # type: ignore[method-assign]
    await engine.send("p", {"order": 1})
    await engine.advance(1)
    first, second = flaky.seen
    assert "JMSRedelivered" not in first.system
    assert second.system["JMSRedelivered"] is True and second.system["JMSXDeliveryCount"] == 2
    await engine.stop()


async def test_mq_case_5_seven_failures_with_the_default_policy_land_in_the_dlq() -> None:
    engine = await broker_run("queue", consumers=1)
    flaky = Flaky(100)
    engine.node("c0").accept = flaky.accept  # type: ignore[method-assign]
    await engine.send("p", {"order": 1})
    await engine.advance(60)
    broker = engine.node("mq")
    assert len(flaky.seen) == 7  # the first delivery and six redeliveries
    assert len(broker.dead_letters) == 1 and engine.snapshot()["nodes"]["mq"]["dead_lettered"] == 1
    await engine.stop()


async def test_mq_case_8_a_message_group_always_goes_to_the_same_consumer() -> None:
    engine = await broker_run("queue", consumers=3)
    for _ in range(6):
        await engine.send("p", {"x": 1}, system={"JMSXGroupID": "orders-42"})
    counts = [engine.snapshot()["nodes"][f"c{i}"]["in"] for i in range(3)]
    assert sorted(counts) == [0, 0, 6]
    await engine.stop()


async def test_mq_messages_past_their_ttl_go_to_the_dlq() -> None:
    engine = await broker_run("queue", consumers=1, message_ttl=500)
    flaky = Flaky(1)
    engine.node("c0").accept = flaky.accept  # type: ignore[method-assign]
    await engine.send("p", {"order": 1})
    await engine.advance(2)
    assert len(flaky.seen) == 1 and len(engine.node("mq").dead_letters) == 1
    await engine.stop()


async def test_mq_case_3_offline_non_durable_subscribers_miss_messages_durable_ones_catch_up() -> (
    None
):
    for durable, expected in ((False, 0), (True, 1)):
        engine = await broker_run("topic", durable_subscriptions=durable)
        broker = engine.node("mq")
        broker.disconnect("c1")
        await engine.send("p", {"while": "offline"})
        assert await broker.reconnect("c1") == expected
        stats = engine.snapshot()["nodes"]
        assert stats["c0"]["in"] == 1 and stats["c1"]["in"] == expected
        await engine.stop()


async def test_mq_case_7_a_selector_subscriber_receives_only_matching_messages() -> None:
    engine = await broker_run("topic")
    engine.node("mq").set_selector("mq-c1", "color = 'red' AND amount > 100")
    await engine.send("p", {"n": 1}, {"color": "red", "amount": 150})
    await engine.send("p", {"n": 2}, {"color": "red", "amount": 50})
    await engine.send("p", {"n": 3}, {"color": "blue", "amount": 500})
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] == 3 and stats["c1"]["in"] == 1
    assert engine.node("c1").recent()[0]["body"] == {"n": 1}
    await engine.stop()


def test_selectors_parse_the_sql92_subset_and_refuse_the_rest() -> None:
    import pytest

    from runtime.nodes.broker import SelectorError, compile_selector

    selector = compile_selector("kind IN ('a', 'b') OR (n BETWEEN 1 AND 3 AND x IS NOT NULL)")
    assert selector({"kind": "a"}) and selector({"n": 2, "x": 0})
    assert not selector({"n": 5, "x": 0}) and not selector({"n": 2})
    assert not compile_selector("amount > 100")({"amount": "lots"})  # type mismatch: unknown
    with pytest.raises(SelectorError):
        compile_selector("color = ")
    with pytest.raises(SelectorError):
        compile_selector("__import__('os')")


async def test_mq_case_6_virtual_topic_queues_each_get_everything_and_their_consumers_compete() -> (
    None
):
    engine = await broker_run("topic", consumers=3)
    broker = engine.node("mq")
    broker.set_virtual_queue("mq-c0", "Consumer.A.VirtualTopic.Orders")
    broker.set_virtual_queue("mq-c1", "Consumer.A.VirtualTopic.Orders")
    broker.set_virtual_queue("mq-c2", "Consumer.B.VirtualTopic.Orders")
    await engine.node("p").emit(10)
    stats = engine.snapshot()["nodes"]
    assert stats["c0"]["in"] + stats["c1"]["in"] == 10 and stats["c0"]["in"] == 5
    assert stats["c2"]["in"] == 10
    await engine.stop()


async def test_mq_exponential_back_off_multiplies_the_delay_after_each_redelivery() -> None:
    engine = await broker_run(
        "queue", consumers=1, use_exponential_backoff=True, maximum_redeliveries=3
    )
    flaky = Flaky(100)
    start = engine.clock.now()
    seen_at: list[float] = []

    async def timed(messages: list[Message], link: Link | None) -> None:
        seen_at.append(engine.clock.now() - start)
        await flaky.accept(messages, link)

    engine.node("c0").accept = timed  # type: ignore[method-assign]
    await engine.send("p", {"order": 1})
    await engine.advance(60)
    assert seen_at == [0, 1, 6, 31]  # initial 1 s, then 1 s x 5, then 1 s x 25
    assert [m.system.get("JMSXDeliveryCount") for m in flaky.seen] == [None, 2, 3, 4]
    assert len(engine.node("mq").dead_letters) == 1
    await engine.stop()


async def test_mq_a_queue_destination_keeps_its_messages_in_the_runs_store() -> None:
    engine = await broker_run("queue", consumers=0)
    for number in range(3):
        await engine.send("p", {"order": number})
    held = await engine.store.inventory(engine.clock.now())
    assert held["queues"] == {"mq": 3}
    assert engine.snapshot()["nodes"]["mq"]["depth"] == 3
    await engine.stop()


async def test_mq_the_dlq_is_a_store_queue_of_the_node() -> None:
    engine = await broker_run("queue", consumers=1, maximum_redeliveries=0)
    engine.node("c0").accept = Flaky(100).accept  # type: ignore[method-assign]
    await engine.send("p", {"order": 1})
    held = await engine.store.inventory(engine.clock.now())
    assert held["queues"] == {"mq#dlq": 1}
    assert engine.snapshot()["nodes"]["mq"]["dlq_depth"] == 1
    await engine.stop()
