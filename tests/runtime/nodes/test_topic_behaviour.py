"""SNS topic behaviour: fan-out, filter policies, envelopes, FIFO and retries (semantics §2.7)."""

from __future__ import annotations

import json
from typing import Any

from runtime.events import MessageRefused
from runtime.outbound import Response
from tests.runtime.engine_helpers import edge, engine_for, node


async def topic_run(
    subscriptions: list[tuple[str, str, dict[str, Any]]], *, topic: dict[str, Any] | None = None
) -> Any:
    """A topic wired to (node id, kind, edge config) subscribers; queues have no consumer."""
    nodes = [node("t", "topic", **(topic or {}))]
    edges = []
    for node_id, kind, config in subscriptions:
        extra = {"fifo": True} if kind == "queue" and (topic or {}).get("fifo") else {}
        if extra:
            extra["content_based_deduplication"] = True
        if node_id not in {n["id"] for n in nodes}:
            nodes.append(node(node_id, kind, **extra))
        edges.append(edge(f"to-{node_id}-{len(edges)}", "t", node_id, **config))
    engine, clock, observer = engine_for(nodes, edges)
    await engine.start()
    return engine, observer


async def bodies(engine: Any, queue: str) -> list[Any]:
    return [item.message for item in await engine.node(queue).receive(10, wait=0)]


async def test_sns_case_1_each_queue_gets_one_notification_envelope() -> None:
    engine, _ = await topic_run([("q1", "queue", {}), ("q2", "queue", {})])
    await engine.send("t", "hello")
    for queue in ("q1", "q2"):
        (message,) = await bodies(engine, queue)
        envelope = message.body
        assert envelope["Type"] == "Notification" and envelope["Message"] == "hello"
        assert envelope["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:t"
        assert {"MessageId", "Timestamp", "Signature", "SigningCertURL", "UnsubscribeURL"} <= set(
            envelope
        )
        assert "Subject" not in envelope and "MessageAttributes" not in envelope
    await engine.stop()


async def test_sns_case_2_a_json_message_arrives_double_encoded() -> None:
    engine, _ = await topic_run([("q", "queue", {})])
    await engine.send("t", {"a": 1})
    (message,) = await bodies(engine, "q")
    assert message.body["Message"] == '{"a":1}'
    await engine.stop()


async def test_sns_case_3_raw_delivery_sends_the_message_and_attributes_as_they_are() -> None:
    engine, _ = await topic_run([("q", "queue", {"raw_message_delivery": True})])
    await engine.send("t", "plain text", {"store": "S1"})
    (message,) = await bodies(engine, "q")
    assert message.body == "plain text" and message.attributes == {"store": "S1"}
    await engine.stop()


async def delivered(
    policy: dict[str, Any], attributes: dict[str, Any] | None, **extra: Any
) -> bool:
    engine, _ = await topic_run([("q", "queue", {"filter_policy": policy, **extra})])
    await engine.send("t", extra.pop("body", "m") if "body" in extra else "m", attributes)
    got = await bodies(engine, "q")
    await engine.stop()
    return len(got) == 1


async def test_sns_case_4_an_attribute_policy_rejects_other_values_and_missing_attributes() -> None:
    policy = {"event": ["order_placed"]}
    assert not await delivered(policy, {"event": "order_cancelled"})
    assert not await delivered(policy, None)
    assert await delivered(policy, {"event": "order_placed"})


async def test_sns_case_5_numeric_ranges_match_number_attributes() -> None:
    policy = {"price": [{"numeric": [">", 0, "<=", 100]}]}
    assert await delivered(policy, {"price": 99})
    assert not await delivered(policy, {"price": 111})


async def test_sns_case_6_anything_but_on_string_arrays_needs_one_element_not_excluded() -> None:
    policy = {"interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert await delivered(policy, {"interests": ["rugby", "baseball"]})
    assert not await delivered(policy, {"interests": ["rugby"]})
    assert not await delivered(policy, None)


async def test_sns_case_7_exists_false_delivers_only_without_the_attribute() -> None:
    policy = {"store": [{"exists": False}]}
    assert await delivered(policy, None)
    assert not await delivered(policy, {"store": "S1"})


async def test_sns_case_8_or_delivers_when_either_branch_matches() -> None:
    policy = {"$or": [{"a": ["x"]}, {"b": ["y"]}]}
    assert await delivered(policy, {"b": "y"})
    assert not await delivered(policy, {"a": "y"})


async def test_sns_case_9_body_policies_match_json_bodies_only() -> None:
    config = {
        "filter_policy": {"order": {"status": ["paid"]}},
        "filter_policy_scope": "MessageBody",
    }
    engine, _ = await topic_run([("q", "queue", config)])
    await engine.send("t", {"order": {"status": "paid"}})
    await engine.send("t", "not json")
    got = await bodies(engine, "q")
    assert len(got) == 1 and json.loads(got[0].body["Message"]) == {"order": {"status": "paid"}}
    assert engine.snapshot()["nodes"]["t"]["dropped"] == 1
    await engine.stop()


async def test_sns_case_10_an_invalid_policy_is_refused_with_the_aws_reason() -> None:
    policy = {key: ["x"] for key in "abcdef"}
    engine, observer = await topic_run([("q", "queue", {"filter_policy": policy})])
    (refused,) = observer.of(MessageRefused)
    assert refused.error_code == "InvalidParameter"
    assert "Filter policy can not have more than 5 keys" in refused.error_message
    await engine.send("t", "m")
    assert await bodies(engine, "q") == []
    await engine.stop()


async def test_sns_case_11_an_empty_policy_delivers_everything() -> None:
    assert await delivered("", {"event": "anything"})  # type: ignore[arg-type]


async def test_sns_case_12_fifo_topics_need_a_group_and_drop_duplicates() -> None:
    engine, observer = await topic_run(
        [("q", "queue", {})], topic={"fifo": True, "content_based_deduplication": True}
    )
    await engine.send("t", "no group")
    (refused,) = observer.of(MessageRefused)
    assert refused.error_message == (
        "Invalid parameter: The MessageGroupId parameter is required for FIFO topics"
    )
    system = {"MessageGroupId": "g", "MessageDeduplicationId": "d1"}
    await engine.send("t", "one", system=system)
    await engine.send("t", "two", system=system)
    (message,) = await bodies(engine, "q")
    assert "SequenceNumber" in message.body and "Signature" not in message.body
    assert engine.snapshot()["nodes"]["t"]["duplicates"] == 1
    await engine.stop()


async def test_sns_case_14_an_http_endpoint_failing_gets_four_attempts_then_the_dlq() -> None:
    attempts: list[float] = []
    engine, clock, _ = engine_for(
        [node("t", "topic"), node("hook", "webhook", url="https://hooks.example.com/x")]
        + [node("dlq", "queue")],
        [edge("sub", "t", "hook", dead_letter_queue="dlq")],
    )

    async def failing_post(url: str, **_: Any) -> Response:
        attempts.append(clock.now())
        return Response(500, {}, b"", url)

    engine.settings = engine.settings.__class__(http_post=failing_post)
    await engine.start()
    start = clock.now()
    await engine.send("t", "hello")
    await engine.advance(120)
    assert [round(at - start) for at in attempts] == [0, 20, 40, 60]
    (letter,) = await engine.node("dlq").receive(1, wait=0)
    assert letter.message.body["Message"] == "hello"
    assert engine.snapshot()["nodes"]["t"]["dead_lettered"] == 1
    await engine.stop()


async def test_sns_case_15_message_structure_json_sends_each_protocol_its_text() -> None:
    engine, observer = await topic_run([("q", "queue", {}), ("sink", "sms", {})])
    structure = {"MessageStructure": "json"}
    await engine.send("t", {"default": "d", "sqs": "s"}, system=structure)
    (message,) = await bodies(engine, "q")
    assert message.body["Message"] == "s"
    assert engine.node("sink").sent[-1]["text"] == "d"
    await engine.send("t", {"sqs": "s"}, system=structure)
    assert observer.of(MessageRefused)[-1].error_code == "InvalidParameter"
    await engine.stop()


async def test_sns_case_16_a_message_over_256_kib_is_refused() -> None:
    engine, observer = await topic_run([("q", "queue", {})])
    await engine.send("t", "x" * 262_145)
    assert observer.of(MessageRefused)[-1].error_message == "Invalid parameter: Message too long"
    await engine.send("t", "x" * 262_144)
    assert len(await bodies(engine, "q")) == 1
    await engine.stop()


async def test_sns_case_17_a_function_subscriber_gets_sns_records() -> None:
    engine, _ = await topic_run([("fn", "function", {})])
    engine2_sink = engine.node("fn")
    seen: list[Any] = []
    original = engine2_sink.invoke

    async def spy(messages: list[Any]) -> None:
        seen.extend(message.body for message in messages)
        await original(messages)

    engine2_sink.invoke = spy  # type: ignore[method-assign]
    await engine.send("t", "hello")
    await engine.advance(1)
    record = seen[0]["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["Sns"]["Message"] == "hello"
    assert "SigningCertUrl" in record["Sns"] and "UnsubscribeUrl" in record["Sns"]
    await engine.stop()


async def test_a_fifo_topic_passes_group_and_dedup_ids_to_fifo_queues() -> None:
    engine, _ = await topic_run(
        [("q", "queue", {"raw_message_delivery": True})],
        topic={"fifo": True, "content_based_deduplication": True},
    )
    for body in ("a1", "a2"):
        await engine.send("t", body, system={"MessageGroupId": "A"})
    got = await engine.node("q").receive(10, wait=0)
    assert [item.message.body for item in got] == ["a1", "a2"] and got[0].group == "A"
    await engine.stop()


async def test_sns_case_16_publish_batch_limits_entries_and_total_size() -> None:
    from runtime.nodes.behaviour import DeliveryFailed

    engine, _ = await topic_run([("q", "queue", {})])
    topic = engine.node("t")
    eleven = [{"Id": f"e{i}", "Message": "m"} for i in range(11)]
    try:
        await topic.publish_batch(eleven)
    except DeliveryFailed as error:
        assert error.code == "TooManyEntriesInBatchRequest"
    else:
        raise AssertionError("11 entries were accepted")
    big = [{"Id": f"e{i}", "Message": "x" * 30 * 1024} for i in range(10)]
    try:
        await topic.publish_batch(big)
    except DeliveryFailed as error:
        assert error.code == "BatchRequestTooLong"
    else:
        raise AssertionError("300 KiB were accepted")
    result = await topic.publish_batch([{"Id": "a", "Message": "one"}, {"Id": "b", "Message": ""}])
    assert [e["Id"] for e in result["Successful"]] == ["a"] and result["Failed"][0]["Id"] == "b"
    assert len(await bodies(engine, "q")) == 1
    await engine.stop()


async def test_sns_case_13_an_http_subscription_gets_only_the_confirmation_until_confirmed() -> (
    None
):
    posted: list[Any] = []

    async def post(url: str, **options: Any) -> Response:
        posted.append(json.loads(options["body"]))
        return Response(200, {}, b"", url)

    engine, _, _ = engine_for(
        [node("t", "topic"), node("hook", "webhook", url="https://hooks.example.com/x")],
        [edge("sub", "t", "hook")],
        http_post=post,
    )
    await engine.start()
    topic = engine.node("t")
    token = await topic.request_confirmation("sub")
    await engine.send("t", "early")
    await engine.settle()
    assert [body["Type"] for body in posted] == ["SubscriptionConfirmation"]
    assert posted[0]["Token"] == token and "SubscribeURL" in posted[0]
    assert topic.confirm_subscription(token).endswith(":sub")
    await engine.send("t", "later")
    await engine.settle()
    assert [body["Type"] for body in posted] == ["SubscriptionConfirmation", "Notification"]
    assert posted[1]["Message"] == "later"
    await engine.stop()
