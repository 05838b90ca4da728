"""S2/S9/S10 for the gateway: keys not cookies, rate limits that hold, bodies that are capped."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from hosting.gateway import pipeline, registry
from runtime.spec import load
from tests.hosting.gateway.conftest import KEY, FakeEngine, api_document, request, route

Build = Callable[..., FakeEngine]


async def test_a_flood_is_throttled_with_retry_after_and_other_keys_are_unaffected(
    make_engine: Build,
) -> None:
    other = "o" * 24
    engine = make_engine(
        [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)],
        api_keys=[KEY, other],
        usage_plan_rate=10,
        usage_plan_burst=20,
    )
    api = pipeline.gateway_for(engine, "api")
    statuses = []
    for index in range(100):  # 100 requests spread over one second
        engine.clock.set_time(engine.clock.now() + (0.01 if index else 0))
        response = await api.handle(request("POST", "/orders", headers={"x-api-key": KEY}))
        statuses.append(response.status)
        if response.status == 429:
            assert int(response.headers["retry-after"]) >= 1
    assert statuses.count(429) >= 70
    other_key = await api.handle(request("POST", "/orders", headers={"x-api-key": other}))
    assert other_key.status == 200


@pytest.mark.django_db
def test_a_session_cookie_is_no_substitute_for_an_api_key(alice: Any) -> None:
    engine = FakeEngine(
        load(
            api_document(
                [route("POST", "/orders", "SendMessage", "jobs", api_key_required=True)],
                api_keys=[KEY],
            )
        )
    )
    registry.register("keyed", engine)
    try:
        client = Client(enforce_csrf_checks=True)
        client.force_login(alice)
        refused = client.post("/gw/keyed/prod/orders", b"{}", content_type="application/json")
        accepted = client.post(
            "/gw/keyed/prod/orders", b"{}", content_type="application/json", HTTP_X_API_KEY=KEY
        )
    finally:
        registry.unregister("keyed")
    assert refused.status_code == 403 and json.loads(refused.content) == {"message": "Forbidden"}
    assert accepted.status_code == 200 and len(engine.sent) == 1


@pytest.mark.django_db
def test_a_10_mb_body_is_refused_with_413_before_the_topology_sees_it() -> None:
    engine = FakeEngine(load(api_document([route("POST", "/orders", "SendMessage", "jobs")])))
    registry.register("big", engine)
    try:
        response = Client().post(
            "/gw/big/prod/orders", b"x" * (10 * 1024 * 1024 + 1), content_type="text/plain"
        )
    finally:
        registry.unregister("big")
    assert response.status_code == 413 and engine.sent == []
