from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from designer.models import Share, Topology
from runtime.spec import SCHEMA

pytestmark = pytest.mark.django_db


@pytest.fixture
def topology(alice: Any) -> Topology:
    document = {"schema": SCHEMA, "name": "Alice's", "nodes": [], "edges": []}
    return Topology.create_from_document(alice, document)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_owner_shares_for_reading_and_the_reader_sees_it(
    topology: Topology, alice: Any, bob: Any
) -> None:
    response = client_for(alice).post(
        reverse("designer:share", args=[topology.pk]), {"username": "bob", "access": "read"}
    )
    assert response.status_code == 302
    assert Share.objects.get(topology=topology, user=bob).access == "read"
    bob_client = client_for(bob)
    assert bob_client.get(reverse("designer:editor", args=[topology.pk])).status_code == 200
    save = bob_client.post(
        reverse("designer:document", args=[topology.pk]),
        {"version": 1, "document": topology.document},
        content_type="application/json",
    )
    assert save.status_code == 403


def test_an_edit_share_allows_saving(topology: Topology, alice: Any, bob: Any) -> None:
    client_for(alice).post(
        reverse("designer:share", args=[topology.pk]), {"username": "bob", "access": "edit"}
    )
    save = client_for(bob).post(
        reverse("designer:document", args=[topology.pk]),
        {"version": 1, "document": {**topology.document, "name": "Renamed by Bob"}},
        content_type="application/json",
    )
    assert save.status_code == 200
    topology.refresh_from_db()
    assert topology.name == "Renamed by Bob"


def test_sharing_twice_updates_the_access(topology: Topology, alice: Any, bob: Any) -> None:
    url = reverse("designer:share", args=[topology.pk])
    client_for(alice).post(url, {"username": "bob", "access": "read"})
    client_for(alice).post(url, {"username": "bob", "access": "edit"})
    assert list(topology.shares.values_list("access", flat=True)) == ["edit"]


def test_removing_a_share_takes_access_back(topology: Topology, alice: Any, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access="read")
    client_for(alice).post(reverse("designer:unshare", args=[topology.pk, bob.pk]))
    assert client_for(bob).get(reverse("designer:editor", args=[topology.pk])).status_code == 404


def test_an_unknown_user_gets_a_clear_message(topology: Topology, alice: Any) -> None:
    response = client_for(alice).post(
        reverse("designer:share", args=[topology.pk]),
        {"username": "nobody", "access": "read"},
        follow=True,
    )
    assert "There is no user named “nobody”." in response.content.decode()


def test_only_the_owner_manages_sharing(topology: Topology, bob: Any, carol: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access="edit")
    assert client_for(bob).get(reverse("designer:sharing", args=[topology.pk])).status_code == 403
    response = client_for(carol).post(
        reverse("designer:share", args=[topology.pk]), {"username": "carol", "access": "edit"}
    )
    assert response.status_code == 404
    assert not topology.shares.filter(user=carol).exists()


def test_the_sharing_page_lists_the_shares_escaped(topology: Topology, alice: Any) -> None:
    from django.contrib.auth import get_user_model

    evil = get_user_model().objects.create_user("<b>eve</b>")
    Share.objects.create(topology=topology, user=evil, access="read")
    page = client_for(alice).get(reverse("designer:sharing", args=[topology.pk])).content.decode()
    assert "&lt;b&gt;eve&lt;/b&gt;" in page and "<b>eve</b>" not in page
