"""§7.12 conformance cases against the real engine on a manual clock: what the gateway hands on
is what the topology's nodes receive."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hosting.gateway import pipeline
from hosting.gateway.exchange import GatewayRequest
from runtime.clock import ManualClock
from runtime.engine import Engine
from runtime.spec import SCHEMA, load

PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "label": node_id, "x": 0, "y": 0, "config": config}


def edge(source: str, target: str) -> dict[str, Any]:
    return {"id": f"{source}-{target}", "source": source, "target": target, "config": {}}


def route(method: str, path: str, action: str, target: str) -> dict[str, Any]:
    return {"method": method, "path": path, "integration": {"action": action, "target": target}}


def document() -> dict[str, Any]:
    routes = [
        route("POST", "/orders", "PutEvents", "bus"),
        route("POST", "/jobs", "SendMessage", "jobs"),
        route("POST", "/pay", "StartExecution", "pay"),
        route("GET", "/slow", "Invoke", "slow"),
    ]
    return {
        "schema": SCHEMA,
        "name": "Playbook",
        "nodes": [
            node("api", "http_api", routes=routes, timeout_ms=29000),
            node("bus", "event_bus", bus_name="shop"),
            node("placed", "rule", event_pattern={"detail-type": ["OrderPlaced"]}),
            node("placed-log", "log"),
            node("jobs", "queue"),
            node("worker", "function"),
            node("jobs-log", "log"),
            node("pay", "state_machine", definition=PASS),
            node("slow", "function", latency_ms=30000, timeout=60),
        ],
        "edges": [
            edge("api", "bus"),
            edge("api", "jobs"),
            edge("api", "pay"),
            edge("api", "slow"),
            edge("bus", "placed"),
            edge("placed", "placed-log"),
            edge("jobs", "worker"),
            edge("worker", "jobs-log"),
        ],
    }


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    running = Engine(load(document()), clock=ManualClock())
    await running.start()
    yield running
    await running.stop()


async def call(engine: Engine, method: str, path: str, body: Any = None) -> Any:
    raw = b"" if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    return await pipeline.handle(engine, "prod", GatewayRequest(method, path, "", headers, raw))


async def test_put_events_feeds_a_rule_that_matches_the_event_built_from_the_request(
    engine: Engine,
) -> None:
    entry = {"Source": "com.shop", "DetailType": "OrderPlaced", "Detail": {"total": 5}}
    response = await call(engine, "POST", "/orders", entry)
    await call(engine, "POST", "/orders", {**entry, "DetailType": "OrderShipped"})
    await engine.settle()
    assert json.loads(response.body)["FailedEntryCount"] == 0
    events = engine.node("placed-log").recent()  # type: ignore[attr-defined]
    assert len(events) == 1
    event = events[0]["body"]
    assert event["source"] == "com.shop" and event["detail"] == {"total": 5}
    # The answered EventId is the gateway's message id: the bus names events itself and does not
    # report per-entry results back to a caller yet.


async def test_send_message_puts_the_request_body_on_the_queue_as_sent(engine: Engine) -> None:
    response = await call(engine, "POST", "/jobs", {"a": 1})
    await engine.advance(5)
    bodies = [entry["body"] for entry in engine.node("jobs-log").recent()]  # type: ignore[attr-defined]
    assert json.loads(response.body)["MessageId"]
    assert any(
        json.loads(body) == {"a": 1} if isinstance(body, str) else body == {"a": 1}
        for body in bodies
    )


async def test_start_execution_runs_with_the_body_as_input_under_the_answered_arn(
    engine: Engine,
) -> None:
    response = await call(engine, "POST", "/pay", {"total": 3})
    await engine.settle()
    arn = json.loads(response.body)["executionArn"]
    machine = engine.node("pay")
    record = next(r for r in machine.executions.values() if r.arn == arn)  # type: ignore[attr-defined]
    assert record.input == {"total": 3} and record.status == "SUCCEEDED"


async def test_a_function_slower_than_the_timeout_is_a_504_at_29_seconds_and_still_finishes(
    engine: Engine,
) -> None:
    started = engine.clock.now()
    response = await call(engine, "GET", "/slow")
    assert response.status == 504
    assert engine.clock.now() - started == pytest.approx(29)
    slow = engine.node("slow")
    await engine.advance(2)
    assert slow.stats.acked == 1  # the backend completed after the caller got its 504
