"""Every page carries the security headers, and scripts carry that response's CSP nonce."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PAGES = ["/", "/accounts/login/", "/admin/login/"]


def nonce_of(response: Any) -> str:
    match = re.search(r"script-src 'self' 'nonce-([^']+)'", response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    return match.group(1)


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_csp_with_a_fresh_nonce(client: Client, alice: Any, path: str) -> None:
    client.force_login(alice)
    first, second = client.get(path), client.get(path)
    assert nonce_of(first) != nonce_of(second)
    policy = first["Content-Security-Policy"]
    assert "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy


def test_htmx_is_loaded_with_the_nonce(client: Client, alice: Any) -> None:
    client.force_login(alice)
    response = client.get("/")
    page = response.content.decode()
    assert f'nonce="{nonce_of(response)}"' in page
    assert "htmx" in page


def test_the_other_security_headers_are_set(client: Client) -> None:
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
