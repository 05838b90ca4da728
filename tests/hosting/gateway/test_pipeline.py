"""Playbook tests of the gateway pipeline: the API Gateway conformance cases of spec §7.12."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from hosting.gateway import pipeline
from hosting.gateway.pipeline import ApiGateway
from tests.hosting.gateway.conftest import KEY, FakeEngine, request, route

Build = Callable[..., FakeEngine]


def gateway(engine: FakeEngine) -> ApiGateway:
    return pipeline.gateway_for(engine, "api")


def body(response: Any) -> Any:
    return json.loads(response.body)


async def test_a_lambda_proxy_route_gets_path_and_query_parameters_and_its_answer_is_returned(
    make_engine: Build,
) -> None:
    engine = make_engine([route("GET", "/pets/{id}", "Invoke", "handler")])
    events: list[dict[str, Any]] = []

    async def answer(event: dict[str, Any]) -> Any:
        events.append(event)
        return {"statusCode": 201, "body": "ok"}

    engine.function("handler", answer)
    response = await gateway(engine).handle(request("GET", "/pets/42", query="x=1"))
    assert (response.status, response.body) == (201, b"ok")
    event = events[0]
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"x": "1"}
    assert event["resource"] == "/pets/{id}"
    assert event["httpMethod"] == "GET" and event["path"] == "/pets/42"


async def test_an_object_body_from_the_function_is_a_502(make_engine: Build) -> None:
    engine = make_engine([route("GET", "/pets", "Invoke", "handler")])

    async def answer(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "body": {"a": 1}}

    engine.function("handler", answer)
    response = await gateway(engine).handle(request("GET", "/pets"))
    assert response.status == 502
    assert body(response) == {"message": "Internal server error"}
    assert "Malformed Lambda proxy response" in gateway(engine).log.entries()[-1]["error.message"]


async def test_a_function_that_raises_is_a_502(make_engine: Build) -> None:
    engine = make_engine([route("GET", "/pets", "Invoke", "handler")])

    async def answer(event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    engine.function("handler", answer)
    response = await gateway(engine).handle(request("GET", "/pets"))
    assert response.status == 502


async def test_an_http_api_sends_payload_2_and_takes_a_bare_json_answer(make_engine: Build) -> None:
    engine = make_engine([route("GET", "/pets/{id}", "Invoke", "handler")], api_type="HTTP")
    events: list[dict[str, Any]] = []

    async def answer(event: dict[str, Any]) -> Any:
        events.append(event)
        return {"pet": event["pathParameters"]["id"]}

    engine.function("handler", answer)
    response = await gateway(engine).handle(request("GET", "/pets/7", query="a=1&a=2"))
    assert response.status == 200 and body(response) == {"pet": "7"}
    assert events[0]["version"] == "2.0"
    assert events[0]["routeKey"] == "GET /pets/{id}"
    assert events[0]["queryStringParameters"] == {"a": "1,2"}


async def test_a_literal_route_beats_a_parameter_and_a_greedy_proxy_catches_the_rest(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [
            route("GET", "/pets/mine", "SendMessage", "jobs"),
            route("GET", "/pets/{id}", "Publish", "alerts"),
            route("ANY", "/{proxy+}", "Invoke", "handler"),
        ]
    )
    seen: list[dict[str, Any]] = []

    async def answer(event: dict[str, Any]) -> Any:
        seen.append(event)
        return {"statusCode": 200, "body": ""}

    engine.function("handler", answer)
    api = gateway(engine)
    await api.handle(request("GET", "/pets/mine"))
    await api.handle(request("GET", "/pets/9"))
    await api.handle(request("GET", "/anything/deep"))
    assert [sent.node for sent in engine.sent] == ["jobs", "alerts"]
    assert seen[0]["pathParameters"] == {"proxy": "anything/deep"}


async def test_unknown_routes_answer_403_on_rest_and_404_on_http_apis(make_engine: Build) -> None:
    rest = make_engine([route("POST", "/orders", "PutEvents", "bus")])
    http = make_engine([route("POST", "/orders", "PutEvents", "bus")], api_type="HTTP")
    missing = await gateway(rest).handle(request("GET", "/nowhere"))
    wrong_method = await gateway(rest).handle(request("GET", "/orders"))
    not_found = await gateway(http).handle(request("GET", "/nowhere"))
    assert missing.status == wrong_method.status == 403
    assert body(missing) == {"message": "Missing Authentication Token"}
    assert not_found.status == 404 and body(not_found) == {"message": "Not Found"}


async def test_a_stage_throttle_answers_429_with_retry_after_then_recovers(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs")], throttle_rate=1, throttle_burst=1
    )
    api = gateway(engine)
    first = await api.handle(request("POST", "/orders", b"{}"))
    second = await api.handle(request("POST", "/orders", b"{}"))
    assert first.status == 200
    assert second.status == 429 and body(second) == {"message": "Too Many Requests"}
    assert second.headers["retry-after"] == "1"
    engine.clock.advance(1)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 200


async def test_a_quota_answers_limit_exceeded_until_the_next_utc_day(make_engine: Build) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)],
        api_keys=[KEY],
        quota_limit=3,
        quota_period="DAY",
    )
    api = gateway(engine)
    keyed = {"x-api-key": KEY}
    statuses = [
        (await api.handle(request("POST", "/orders", headers=keyed))).status for _ in "1234"
    ]
    assert statuses == [200, 200, 200, 429]
    limited = await api.handle(request("POST", "/orders", headers=keyed))
    assert body(limited) == {"message": "Limit Exceeded"}
    engine.clock.advance(86400)
    assert (await api.handle(request("POST", "/orders", headers=keyed))).status == 200


async def test_a_usage_plan_throttles_each_key_on_its_own(make_engine: Build) -> None:
    other = "o" * 24
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)],
        api_keys=[KEY, other],
        usage_plan_rate=1,
        usage_plan_burst=1,
    )
    api = gateway(engine)
    first = await api.handle(request("POST", "/orders", headers={"x-api-key": KEY}))
    again = await api.handle(request("POST", "/orders", headers={"x-api-key": KEY}))
    other_key = await api.handle(request("POST", "/orders", headers={"x-api-key": other}))
    assert [first.status, again.status, other_key.status] == [200, 429, 200]


async def test_a_route_needing_a_key_refuses_requests_without_a_valid_one(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)], api_keys=[KEY]
    )
    api = gateway(engine)
    missing = await api.handle(request("POST", "/orders"))
    wrong = await api.handle(request("POST", "/orders", headers={"x-api-key": "w" * 24}))
    assert missing.status == wrong.status == 403
    assert body(missing) == {"message": "Forbidden"}
    assert engine.sent == []


async def test_an_invalid_body_is_a_400_with_the_reason_and_never_reaches_the_target(
    make_engine: Build,
) -> None:
    schema = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
    }
    engine = make_engine([route("POST", "/pets", "SendMessage", "jobs", request_schema=schema)])
    api = gateway(engine)
    empty = await api.handle(request("POST", "/pets", b"{}"))
    not_json = await api.handle(request("POST", "/pets", b"name=x"))
    good = await api.handle(request("POST", "/pets", b'{"name": "Rex"}'))
    assert empty.status == not_json.status == 400
    assert body(empty)["message"] == "Invalid request body"
    assert "'name' is a required property" in body(empty)["validationErrorString"]
    assert good.status == 200
    assert [sent.body for sent in engine.sent] == ['{"name": "Rex"}']


async def test_an_integration_past_its_timeout_is_a_504_and_the_backend_still_finishes(
    make_engine: Build,
) -> None:
    engine = make_engine([route("GET", "/slow", "Invoke", "handler")], timeout_ms=29000)
    engine.clock.auto_advance = True
    finished: list[float] = []

    async def answer(event: dict[str, Any]) -> Any:
        await engine.clock.sleep(30)
        finished.append(engine.clock.now())
        return {"statusCode": 200, "body": "late"}

    engine.function("handler", answer)
    start = engine.clock.now()
    response = await gateway(engine).handle(request("GET", "/slow"))
    assert response.status == 504 and body(response) == {"message": "Endpoint request timed out"}
    assert engine.clock.now() - start == 29
    await engine.clock.sleep(2)
    assert finished == [start + 30]


async def test_send_message_puts_the_body_on_the_queue_and_answers_a_message_id(
    make_engine: Build,
) -> None:
    engine = make_engine([route("POST", "/jobs/{kind}", "SendMessage", "jobs")])
    response = await gateway(engine).handle(request("POST", "/jobs/print", b'{"a":1}', query="p=2"))
    assert response.status == 200
    sent = engine.sent[0]
    assert sent.body == '{"a":1}'
    assert dict(sent.attributes) == {"kind": "print", "p": "2"}
    assert body(response)["MessageId"] == sent.id
    assert body(response)["MD5OfMessageBody"] == hashlib.md5(b'{"a":1}').hexdigest()


async def test_put_events_builds_the_event_from_an_entry_shaped_body(make_engine: Build) -> None:
    engine = make_engine([route("POST", "/orders", "PutEvents", "bus")])
    entry = {"Source": "com.flowyard.orders", "DetailType": "OrderPlaced", "Detail": {"total": 5}}
    response = await gateway(engine).handle(request("POST", "/orders", json.dumps(entry).encode()))
    assert body(response) == {"Entries": [{"EventId": "msg-1"}], "FailedEntryCount": 0}
    sent = engine.sent[0]
    assert sent.body == {"total": 5}
    assert dict(sent.system) == {"Source": "com.flowyard.orders", "DetailType": "OrderPlaced"}


async def test_put_events_takes_source_and_detail_type_from_stage_variables(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "PutEvents", "bus")],
        stage_variables={"source": "com.shop", "detail_type": "Order"},
    )
    await gateway(engine).handle(request("POST", "/orders", b'{"id": 1}'))
    assert dict(engine.sent[0].system) == {"Source": "com.shop", "DetailType": "Order"}


async def test_put_events_with_a_detail_that_is_not_an_object_reports_a_failed_entry(
    make_engine: Build,
) -> None:
    engine = make_engine([route("POST", "/orders", "PutEvents", "bus")])
    response = await gateway(engine).handle(request("POST", "/orders", b"[1, 2]"))
    assert response.status == 200 and body(response)["FailedEntryCount"] == 1
    assert engine.sent == []


async def test_start_execution_starts_with_the_body_as_input_and_answers_an_arn(
    make_engine: Build,
) -> None:
    engine = make_engine([route("POST", "/pay", "StartExecution", "flow")])
    response = await gateway(engine).handle(request("POST", "/pay", b'{"total": 3}'))
    assert engine.sent[0].body == {"total": 3}
    assert body(response)["executionArn"].startswith("arn:aws:states:us-east-1:")


async def test_start_sync_execution_without_support_in_the_node_is_a_clear_501(
    make_engine: Build,
) -> None:
    engine = make_engine([route("POST", "/pay", "StartSyncExecution", "flow")])
    response = await gateway(engine).handle(request("POST", "/pay", b"{}"))
    assert response.status == 501
    assert "start_sync_execution" in gateway(engine).log.entries()[-1]["error.message"]


async def test_put_record_and_publish_reach_their_targets(make_engine: Build) -> None:
    engine = make_engine(
        [
            route("POST", "/clicks", "PutRecord", "clicks"),
            route("POST", "/alert", "Publish", "alerts"),
        ]
    )
    api = gateway(engine)
    await api.handle(request("POST", "/clicks", b'{"u": 1}', headers={"x-partition-key": "u1"}))
    published = await api.handle(request("POST", "/alert", b"fire"))
    assert dict(engine.sent[0].system) == {"PartitionKey": "u1"}
    assert engine.sent[1].body == "fire" and body(published)["MessageId"] == engine.sent[1].id


async def test_cors_preflight_is_answered_and_throttled_answers_carry_no_cors_headers(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs")],
        cors_allow_origins=["https://app.example"],
        cors_allow_headers=["content-type"],
        throttle_rate=1,
        throttle_burst=1,
    )
    api = gateway(engine)
    origin = {"origin": "https://app.example"}
    preflight = await api.handle(
        request("OPTIONS", "/orders", headers={**origin, "access-control-request-method": "POST"})
    )
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "POST"
    assert preflight.headers["access-control-allow-headers"] == "content-type"
    ok = await api.handle(request("POST", "/orders", headers=origin))
    throttled = await api.handle(request("POST", "/orders", headers=origin))
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert throttled.status == 429 and "access-control-allow-origin" not in throttled.headers


async def test_a_foreign_origin_gets_no_cors_headers(make_engine: Build) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs")],
        cors_allow_origins=["https://app.example"],
    )
    response = await gateway(engine).handle(
        request("POST", "/orders", headers={"origin": "https://evil.example"})
    )
    assert response.status == 200 and "access-control-allow-origin" not in response.headers


async def test_every_request_leaves_one_access_log_entry_with_the_context_fields(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)], api_keys=[KEY]
    )
    api = gateway(engine)
    ok = await api.handle(request("POST", "/orders", headers={"x-api-key": KEY}))
    await api.handle(request("POST", "/orders"))
    entries = pipeline.access_log(engine, "api")
    assert [entry["status"] for entry in entries] == [200, 403]
    assert entries[0]["requestId"] == ok.headers["x-amzn-requestid"]
    assert entries[0]["integrationLatency"] == 0 and entries[0]["routeKey"] == "POST /orders"
    assert entries[0]["identity.apiKey"] == "kkkk…"
    assert entries[1]["error.responseType"] == "INVALID_API_KEY"


async def test_the_access_log_is_a_bounded_ring(make_engine: Build) -> None:
    engine = make_engine([route("GET", "/", "SendMessage", "jobs")])
    api = gateway(engine)
    for _ in range(api.log._entries.maxlen + 10):  # type: ignore[operator]
        await api.handle(request("GET", "/nope"))
    assert len(pipeline.access_log(engine, "api")) == api.log._entries.maxlen


async def test_the_stage_in_the_url_picks_the_api(make_engine: Build) -> None:
    engine = make_engine([route("GET", "/", "SendMessage", "jobs")], stage="dev")
    served = await pipeline.handle(engine, "dev", request("GET", "/"))
    unknown_stage = await pipeline.handle(engine, "prod", request("GET", "/"))
    assert served.status == 200
    assert unknown_stage.status == 403
