"""The gateway views through Django's test client: anonymous, CSRF-free, cookie-blind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from hosting.gateway import registry
from runtime.spec import load
from tests.hosting.gateway.conftest import FakeEngine, api_document, route

pytestmark = pytest.mark.django_db


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    running = FakeEngine(
        load(
            api_document(
                [
                    route("POST", "/orders", "PutEvents", "bus"),
                    route("ANY", "/echo/{proxy+}", "Invoke", "handler"),
                ]
            )
        )
    )

    async def echo(event: dict[str, Any]) -> Any:
        return {"statusCode": 200, "body": json.dumps(event["headers"])}

    running.function("handler", echo)
    registry.register("shop", running)
    yield running
    registry.unregister("shop")


def test_an_anonymous_post_without_a_csrf_token_reaches_the_topology(engine: FakeEngine) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/gw/shop/prod/orders", data=b'{"total": 1}', content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["FailedEntryCount"] == 0
    assert engine.sent[0].body == {"total": 1}
    assert "set-cookie" not in {name.lower() for name in response.headers}


def test_the_designer_session_cookie_never_reaches_the_topology(
    engine: FakeEngine, client: Client, alice: Any
) -> None:
    client.force_login(alice)
    client.cookies["theme"] = "dark"
    response = client.get("/gw/shop/prod/echo/a")
    headers = json.loads(response.content)
    assert "sessionid" not in headers.get("cookie", "") and "theme=dark" in headers["cookie"]
    assert response.cookies == {} or "sessionid" not in response.cookies


def test_a_logged_in_caller_gets_no_designer_access_through_the_gateway(
    engine: FakeEngine, client: Client, alice: Any
) -> None:
    client.force_login(alice)
    response = client.get("/gw/shop/prod/")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_an_unknown_or_stopped_topology_answers_a_clear_404() -> None:
    response = Client().post("/gw/nothing-here/prod/orders", data=b"{}", content_type="text/plain")
    assert response.status_code == 404
    assert response.json()["message"] == "Not Found"
    assert "no running topology" in response.json()["reason"]


def test_a_body_over_the_upload_limit_is_a_413(engine: FakeEngine, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/gw/shop/prod/orders", data=b"x" * 2048, content_type="text/plain")
    assert response.status_code == 413
    assert response.json() == {"message": "Request Too Long"}
