"""Targets: webhook through the guarded client, email through the injected sender, SMS, log."""

from __future__ import annotations

from typing import Any

from runtime.events import MessageRefused
from runtime.outbound import Response
from tests.runtime.engine_helpers import edge, engine_for, node


async def test_a_webhook_posts_the_body_with_its_headers_and_keeps_the_answer() -> None:
    calls: list[dict[str, Any]] = []

    async def post(url: str, **options: Any) -> Response:
        calls.append({"url": url, **options})
        return Response(200, {}, b"thanks", url)

    nodes = [node("p", "producer"), node("hook", "webhook", headers={"Authorization": "Bearer t"})]
    engine, _, _ = engine_for(nodes, [edge("e", "p", "hook")], http_post=post)
    await engine.start()
    await engine.send("p", {"a": 1})
    await engine.settle()
    (call,) = calls
    assert call["url"] == "https://example.com/hooks/flowyard" and call["body"] == b'{"a":1}'
    assert call["headers"]["Authorization"] == "Bearer t"
    assert call["headers"]["Content-Type"] == "application/json"
    assert engine.node("hook").responses[0]["status"] == 200
    assert engine.snapshot()["nodes"]["hook"]["acked"] == 1
    await engine.stop()


async def test_a_webhook_to_a_forbidden_address_is_refused_counted_and_the_run_goes_on() -> None:
    nodes = [node("p", "producer"), node("hook", "webhook", url="http://169.254.169.254/x")]
    nodes.append(node("sink", "log"))
    engine, _, observer = engine_for(nodes, [edge("e", "p", "hook"), edge("f", "p", "sink")])
    await engine.start()
    await engine.send("p", {"a": 1})
    await engine.advance(1)
    refused = observer.of(MessageRefused)
    assert (
        refused[0].error_code == "NO_PERMISSIONS" and "169.254.169.254" in refused[0].error_message
    )
    stats = engine.snapshot()["nodes"]
    assert stats["hook"]["refused"] == 1 and stats["sink"]["in"] == 1
    await engine.stop()


async def test_a_webhook_retries_5xx_with_its_own_policy_and_not_4xx() -> None:
    statuses = [500, 502, 200, 404]
    calls: list[float] = []
    engine, clock, _ = engine_for(
        [node("p", "producer"), node("hook", "webhook", retries=3, retry_delay=10)],
        [edge("e", "p", "hook")],
    )

    async def post(url: str, **options: Any) -> Response:
        calls.append(clock.now())
        return Response(statuses.pop(0), {}, b"", url)

    engine.settings = engine.settings.__class__(http_post=post)
    await engine.start()
    await engine.send("p", {"a": 1})
    await engine.advance(60)
    assert len(calls) == 3 and calls[2] - calls[0] == 20
    await engine.send("p", {"b": 2})
    await engine.advance(60)
    assert len(calls) == 4 and engine.snapshot()["nodes"]["p"]["dead_lettered"] == 1
    await engine.stop()


async def test_email_goes_through_the_injected_sender_with_rendered_subject_and_body() -> None:
    sent: list[dict[str, Any]] = []
    nodes = [
        node("p", "producer"),
        node(
            "mail",
            "email",
            to=["a@example.com"],
            subject="Order {{body.id}}",
            body_template="Total {{body.total}}",
        ),
    ]
    engine, _, _ = engine_for(nodes, [edge("e", "p", "mail")], email_sender=sent.append)
    await engine.start()
    await engine.send("p", {"id": 7, "total": 12.5})
    await engine.settle()
    assert sent[0]["subject"] == "Order 7" and sent[0]["body"] == "Total 12.5"
    assert sent[0]["to"] == ["a@example.com"]
    await engine.stop()


async def test_sms_records_each_text_per_number_with_its_segments() -> None:
    nodes = [
        node("p", "producer"),
        node("sms", "sms", phone_numbers=["+15555550100", "+15555550101"]),
    ]
    engine, _, _ = engine_for(nodes, [edge("e", "p", "sms")])
    await engine.start()
    await engine.send("p", "x" * 200)
    recorded = list(engine.node("sms").sent)
    assert [r["to"] for r in recorded] == ["+15555550100", "+15555550101"]
    assert recorded[0]["segments"] == 2
    await engine.stop()


async def test_a_log_keeps_only_the_last_n_messages() -> None:
    nodes = [node("p", "producer"), node("log", "log", keep_last=3, show="body")]
    engine, _, _ = engine_for(nodes, [edge("e", "p", "log")])
    await engine.start()
    for number in range(5):
        await engine.send("p", number)
    assert engine.node("log").recent() == [2, 3, 4]
    await engine.stop()


async def test_a_state_machine_passes_messages_on_and_says_it_is_a_stand_in() -> None:
    nodes = [node("p", "producer"), node("sm", "state_machine"), node("log", "log")]
    engine, _, _ = engine_for(nodes, [edge("a", "p", "sm"), edge("b", "sm", "log")])
    await engine.start()
    await engine.send("p", {"order": 1})
    await engine.settle()
    snapshot = engine.snapshot()["nodes"]
    assert snapshot["log"]["in"] == 1
    assert snapshot["sm"]["executions"]["started"] == 1
    await engine.stop()
