from __future__ import annotations

from typing import Any

import pytest

from designer.models import Topology
from runtime.spec import SCHEMA

pytestmark = pytest.mark.django_db


def test_a_saved_document_keeps_the_users_key_order(alice: Any) -> None:
    states = {"Zeta": {"Type": "Pass", "Next": "A"}, "A": {"Type": "Succeed"}}
    definition = {"StartAt": "Zeta", "States": states, "Comment": "order matters"}
    node = {
        "id": "sm",
        "kind": "state_machine",
        "label": "SM",
        "x": 0,
        "y": 0,
        "config": {"definition": definition},
    }
    document = {"schema": SCHEMA, "name": "Ordered", "nodes": [node], "edges": []}
    topology = Topology.create_from_document(alice, document)

    stored = Topology.objects.get(pk=topology.pk)
    saved = stored.document["nodes"][0]["config"]["definition"]
    assert list(saved) == ["StartAt", "States", "Comment"]
    assert list(saved["States"]) == ["Zeta", "A"]
    assert list(stored.revisions.get().document["nodes"][0]) == list(node)


def test_unicode_survives_unescaped(alice: Any) -> None:
    document = {"schema": SCHEMA, "name": "Commandes ✓", "nodes": [], "edges": []}
    topology = Topology.create_from_document(alice, document)
    assert Topology.objects.get(pk=topology.pk).document["name"] == "Commandes ✓"
