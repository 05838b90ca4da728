"""Security headers on every designer page (the base checks are in tests/test_security_headers.py):
a CSP with a fresh nonce, every inline script carrying that nonce, nosniff and no framing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from designer.models import Topology
from tests.security.conftest import designer_addresses, is_html

pytestmark = pytest.mark.django_db

NONCE = re.compile(r"script-src 'self' 'nonce-([^']+)'")
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def test_every_html_page_has_a_nonce_csp_and_only_nonced_or_external_scripts(
    owned: Topology, alice: Any, bob: Any
) -> None:
    client = Client()
    client.force_login(alice)
    checked = []
    for address in designer_addresses(owned, bob):
        response = client.get(address.path)
        if response.status_code != 200 or not is_html(response):
            continue
        policy = response["Content-Security-Policy"]
        match = NONCE.search(policy)
        assert match, (address.name, policy)
        assert "unsafe-eval" not in policy and "object-src 'none'" in policy
        for attributes in SCRIPT_TAG.findall(response.content.decode()):
            inline_json = "application/json" in attributes
            assert inline_json or "src=" in attributes or match.group(1) in attributes, (
                address.name,
                attributes,
            )
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        checked.append(address.name)
    assert len(checked) >= 3


def test_gateway_answers_carry_the_security_headers_too(owned: Topology) -> None:
    response = Client().get(f"/gw/{owned.slug}/prod/")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" in response
