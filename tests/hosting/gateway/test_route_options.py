"""Per-route required request parameters (spec §7.5) and method-level throttling (spec §7.4),
on the manual clock: nothing here sleeps."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hosting.gateway import pipeline
from hosting.gateway.pipeline import ApiGateway
from tests.hosting.gateway.conftest import FakeEngine, request, route

Build = Callable[..., FakeEngine]
REQUIRED = ["querystring.page", "header.x-tenant"]


def gateway(engine: FakeEngine) -> ApiGateway:
    return pipeline.gateway_for(engine, "api")


def body(response: Any) -> Any:
    return json.loads(response.body)


async def test_a_request_missing_required_parameters_gets_400_naming_them_all(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", required_parameters=REQUIRED)]
    )
    response = await gateway(engine).handle(request("POST", "/orders", b"{}"))
    assert response.status == 400
    assert body(response) == {"message": "Missing required request parameters: [page, x-tenant]"}
    assert response.headers["x-amzn-errortype"] == "BadRequestException"
    assert engine.sent == []  # the integration is not called
    entry = gateway(engine).log.entries()[-1]
    assert entry["error.responseType"] == "BAD_REQUEST_PARAMETERS"


async def test_a_request_with_every_required_parameter_reaches_the_integration(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", required_parameters=REQUIRED)]
    )
    response = await gateway(engine).handle(
        request("POST", "/orders", b"{}", query="page=", headers={"x-tenant": "t1"})
    )
    assert response.status == 200 and len(engine.sent) == 1


async def test_required_header_names_are_matched_case_insensitively(make_engine: Build) -> None:
    declared = ["header.X-Tenant"]
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", required_parameters=declared)]
    )
    api = gateway(engine)
    found = await api.handle(request("POST", "/orders", b"{}", headers={"X-TENANT": "t1"}))
    missing = await api.handle(request("POST", "/orders", b"{}", headers={"x-other": "t1"}))
    assert found.status == 200
    assert body(missing) == {"message": "Missing required request parameters: [x-tenant]"}


async def test_a_required_path_parameter_is_satisfied_by_the_matched_route(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("GET", "/orders/{id}", "SendMessage", "jobs", required_parameters=["path.id"])]
    )
    assert (await gateway(engine).handle(request("GET", "/orders/7"))).status == 200


async def test_missing_parameters_are_reported_before_the_body_is_validated(
    make_engine: Build,
) -> None:
    schema = {"type": "object", "required": ["name"]}
    engine = make_engine(
        [
            route(
                "POST",
                "/orders",
                "SendMessage",
                "jobs",
                required_parameters=["querystring.page"],
                request_schema=schema,
            )
        ]
    )
    api = gateway(engine)
    both_wrong = await api.handle(request("POST", "/orders", b"{}"))
    assert body(both_wrong) == {"message": "Missing required request parameters: [page]"}
    body_wrong = await api.handle(request("POST", "/orders", b"{}", query="page=1"))
    assert body_wrong.status == 400 and body(body_wrong)["message"] == "Invalid request body"


async def test_throttling_comes_before_the_parameter_check(make_engine: Build) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", required_parameters=REQUIRED)],
        throttle_rate=1,
        throttle_burst=1,
    )
    api = gateway(engine)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 400
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 429


async def test_a_route_throttle_answers_429_with_retry_after_then_recovers_on_the_clock(
    make_engine: Build,
) -> None:
    throttle = {"rate": 0.5, "burst": 2}
    engine = make_engine([route("POST", "/orders", "SendMessage", "jobs", throttle=throttle)])
    api = gateway(engine)
    statuses = [(await api.handle(request("POST", "/orders", b"{}"))).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = await api.handle(request("POST", "/orders", b"{}"))
    assert body(refused) == {"message": "Too Many Requests"}
    assert refused.headers["retry-after"] == "2"  # one token every 2 s at 0.5 req/s
    engine.clock.advance(2)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 200
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 429


async def test_a_route_throttle_limits_only_its_own_route(make_engine: Build) -> None:
    engine = make_engine(
        [
            route("POST", "/orders", "SendMessage", "jobs", throttle={"rate": 1, "burst": 1}),
            route("POST", "/other", "SendMessage", "jobs"),
        ]
    )
    api = gateway(engine)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 200
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 429
    assert (await api.handle(request("POST", "/other", b"{}"))).status == 200


async def test_the_stage_throttle_still_applies_to_a_route_with_its_own_throttle(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", throttle={"rate": 100, "burst": 100})],
        throttle_rate=1,
        throttle_burst=1,
    )
    api = gateway(engine)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 200
    refused = await api.handle(request("POST", "/orders", b"{}"))
    assert refused.status == 429 and refused.headers["retry-after"] == "1"


async def test_a_request_refused_by_the_route_throttle_takes_no_stage_token(
    make_engine: Build,
) -> None:
    engine = make_engine(
        [
            route("POST", "/orders", "SendMessage", "jobs", throttle={"rate": 1, "burst": 1}),
            route("POST", "/other", "SendMessage", "jobs"),
        ],
        throttle_rate=1,
        throttle_burst=2,
    )
    api = gateway(engine)
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 200
    assert (await api.handle(request("POST", "/orders", b"{}"))).status == 429
    assert (await api.handle(request("POST", "/other", b"{}"))).status == 200
