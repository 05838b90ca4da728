"""S2: every unsafe designer request needs the CSRF token; gateway routes need none and ignore
the session (an API key is their only credential)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from designer.models import Topology
from tests.security.conftest import designer_addresses

pytestmark = pytest.mark.django_db

UNSAFE = ("post", "put", "patch", "delete")


def test_every_unsafe_designer_request_without_a_csrf_token_is_refused(
    owned: Topology, alice: Any, bob: Any
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    addresses = designer_addresses(owned, bob)
    assert len(addresses) >= 20
    accepted = [
        (method, address.path)
        for address in addresses
        for method in UNSAFE
        if getattr(client, method)(address.path).status_code != 403
    ]
    assert accepted == []
    assert Topology.objects.filter(pk=owned.pk).exists()


def test_a_request_with_the_token_is_not_refused_for_csrf(owned: Topology, alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(f"/topologies/{owned.pk}/")
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else None
    token = token or client.cookies["csrftoken"].value
    response = client.post(
        f"/topologies/{owned.pk}/rename/", {"name": "Renamed"}, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code in (200, 302)
    owned.refresh_from_db()
    assert owned.name == "Renamed"
