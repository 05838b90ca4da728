"""S7: every address asks an anonymous visitor to log in, except an explicit allow-list; the
gateway's addresses are on it and answer as an API (JSON), never with the login page."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from designer.models import Topology
from tests.security.conftest import designer_addresses

pytestmark = pytest.mark.django_db

# Names reachable without logging in, and why.
ALLOWED = {
    "login": "the login form",
    "logout": "logging out needs no session",
    "token-login": "one-time login links",
}


def top_level_names(entries: list[URLPattern | URLResolver]) -> set[str]:
    names: set[str] = set()
    for entry in entries:
        if isinstance(entry, URLPattern) and entry.name:
            names.add(entry.name)
    return names


def test_the_allow_list_is_all_there_is_at_the_top_level() -> None:
    assert top_level_names(get_resolver().url_patterns) <= set(ALLOWED)


def test_every_designer_address_sends_an_anonymous_visitor_to_log_in(
    owned: Topology, bob: Any
) -> None:
    client = Client()
    open_doors = []
    for address in designer_addresses(owned, bob):
        for method in ("get", "post"):
            response = getattr(client, method)(address.path)
            redirected_to_login = response.status_code == 302 and "/accounts/login/" in (
                response.headers.get("Location", "")
            )
            if not redirected_to_login and response.status_code not in (401, 403):
                open_doors.append((method, address.name, response.status_code))
    assert open_doors == []


def test_the_admin_asks_an_anonymous_visitor_to_log_in() -> None:
    response = Client().get("/admin/")
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.parametrize(
    "path", ["/gw/x/prod/orders", "/gw/x/prod/", "/gw/x/prod", "/gw/x/graphql"]
)
def test_gateway_addresses_answer_anonymous_callers_as_an_api(path: str) -> None:
    response = Client().post(path, b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert "sessionid" not in response.cookies
