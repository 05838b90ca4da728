"""Lambda function behaviour: transforms, latency and timeouts, failures and async retries."""

from __future__ import annotations

from typing import Any

from tests.runtime.engine_helpers import edge, engine_for, node


async def chain(function: dict[str, Any], *extra: dict[str, Any]) -> Any:
    nodes = [node("p", "producer"), node("fn", "function", **function), node("sink", "log"), *extra]
    edges = [edge("p-fn", "p", "fn"), edge("fn-sink", "fn", "sink")]
    engine, clock, observer = engine_for(nodes, edges)
    await engine.start()
    return engine, clock


async def test_a_jsonata_transform_reshapes_each_body() -> None:
    engine, _ = await chain(
        {"transform": "jsonata", "jsonata": '{"id": order.id, "total": $sum(items.price)}'}
    )
    await engine.send("p", {"order": {"id": 7}, "items": [{"price": 2}, {"price": 3}]})
    await engine.advance(1)
    assert engine.node("sink").recent()[0]["body"] == {"id": 7, "total": 5}
    await engine.stop()


async def test_a_template_transform_renders_references_and_parses_json() -> None:
    engine, _ = await chain(
        {
            "transform": "template",
            "template": '{"order": "{{body.order.id}}", "tag": "{{attributes.t}}"}',
        }
    )
    await engine.send("p", {"order": {"id": "o-1"}}, {"t": "vip"})
    await engine.advance(1)
    assert engine.node("sink").recent()[0]["body"] == {"order": "o-1", "tag": "vip"}
    await engine.stop()


async def test_injected_latency_takes_virtual_time_and_past_the_timeout_fails() -> None:
    engine, clock = await chain({"latency_ms": 2000, "timeout": 3})
    await engine.send("p", {"x": 1})
    await engine.advance(1.9)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 0
    await engine.advance(0.1)
    assert engine.snapshot()["nodes"]["sink"]["in"] == 1
    await engine.stop()

    engine, _ = await chain({"latency_ms": 5000, "timeout": 3, "max_retry_attempts": 0})
    await engine.send("p", {"x": 1})
    await engine.advance(10)
    stats = engine.snapshot()["nodes"]["fn"]
    assert stats["errors"] == 1 and stats["dead_lettered"] == 1
    await engine.stop()


async def test_an_async_failure_is_retried_after_one_and_two_minutes_then_sent_on_failure() -> None:
    engine, _ = await chain(
        {"failure_rate": 1.0, "on_failure": "failures"}, node("failures", "queue")
    )
    await engine.send("p", {"x": 1})
    await engine.advance(59)
    assert engine.node("fn").invocations == 1
    await engine.advance(1)
    assert engine.node("fn").invocations == 2
    await engine.advance(120)
    assert engine.node("fn").invocations == 3
    (record,) = await engine.node("failures").receive(1, wait=0)
    body = record.message.body
    assert body["requestContext"]["condition"] == "RetriesExhausted"
    assert body["requestContext"]["approximateInvokeCount"] == 3
    assert body["requestPayload"] == {"x": 1}
    assert body["responsePayload"]["errorMessage"] == "Injected failure (failure_rate)"
    await engine.stop()


async def test_a_failure_rate_fails_about_that_share_of_invocations() -> None:
    engine, _ = await chain({"failure_rate": 0.5, "max_retry_attempts": 0})
    await engine.node("p").emit(200)
    await engine.advance(1)
    errors = engine.snapshot()["nodes"]["fn"]["errors"]
    assert 60 < errors < 140
    await engine.stop()


async def test_a_jsonata_result_of_nothing_sends_nothing_and_counts_a_drop() -> None:
    engine, _ = await chain({"transform": "jsonata", "jsonata": "missing.field"})
    await engine.send("p", {"x": 1})
    await engine.advance(1)
    stats = engine.snapshot()["nodes"]
    assert stats["sink"]["in"] == 0 and stats["fn"]["dropped"] == 1
    await engine.stop()
