from __future__ import annotations

import copy
from typing import Any

from designer.diff import diff_documents
from tests.builders import edge, log_node, make_document, pipeline_document, queue_node


def changed(document: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(document)


def test_identical_documents_have_an_empty_diff() -> None:
    diff = diff_documents(pipeline_document(), pipeline_document())

    assert diff.is_empty
    assert diff.to_dict() == {
        "nodes": {"added": [], "removed": [], "changed": {}},
        "edges": {"added": [], "removed": [], "changed": {}},
        "header": [],
    }


def test_reordering_nodes_and_edges_is_not_a_change() -> None:
    before = pipeline_document()
    after = changed(before)
    after["nodes"].reverse()
    after["edges"].reverse()

    assert diff_documents(before, after).is_empty


def test_it_reports_added_nodes_and_edges() -> None:
    before = pipeline_document()
    after = changed(before)
    after["nodes"].append(log_node("audit"))
    after["edges"].append(edge("worker-audit", "worker", "audit"))

    diff = diff_documents(before, after)

    assert [change.id for change in diff.added_nodes] == ["audit"]
    assert diff.added_nodes[0].before is None
    assert diff.added_nodes[0].after["kind"] == "log"
    assert [change.id for change in diff.added_edges] == ["worker-audit"]
    assert diff.to_dict()["nodes"]["added"] == ["audit"]
    assert diff.to_dict()["edges"]["added"] == ["worker-audit"]
    assert not diff.removed_nodes and not diff.changed_nodes
    assert not diff.is_empty


def test_it_reports_removed_nodes_and_edges() -> None:
    before = pipeline_document()
    after = changed(before)
    after["nodes"] = [item for item in after["nodes"] if item["id"] != "sink"]
    after["edges"] = [item for item in after["edges"] if item["id"] != "worker-sink"]

    diff = diff_documents(before, after)

    assert [change.id for change in diff.removed_nodes] == ["sink"]
    assert diff.removed_nodes[0].after is None
    assert diff.removed_nodes[0].before["kind"] == "log"
    assert [change.id for change in diff.removed_edges] == ["worker-sink"]
    assert diff.to_dict()["nodes"]["removed"] == ["sink"]
    assert diff.to_dict()["edges"]["removed"] == ["worker-sink"]
    assert not diff.added_nodes and not diff.changed_edges


def test_it_names_the_changed_fields_of_a_node() -> None:
    before = pipeline_document()
    after = changed(before)
    queue = next(item for item in after["nodes"] if item["id"] == "orders")
    queue["label"] = "Orders queue"
    queue["x"] = 400

    diff = diff_documents(before, after)

    assert [change.id for change in diff.changed_nodes] == ["orders"]
    assert diff.changed_nodes[0].fields == ["label", "x"]
    assert diff.to_dict()["nodes"]["changed"] == {"orders": ["label", "x"]}


def test_it_names_config_fields_one_key_at_a_time() -> None:
    before = make_document(nodes=[queue_node("q", visibility_timeout=30, delay_seconds=5)])
    after = make_document(nodes=[queue_node("q", visibility_timeout=60, fifo=False)])

    diff = diff_documents(before, after)

    assert diff.to_dict()["nodes"]["changed"] == {
        "q": ["config.delay_seconds", "config.fifo", "config.visibility_timeout"]
    }


def test_it_reports_a_changed_edge_with_its_fields() -> None:
    before = make_document(
        nodes=[queue_node("q"), log_node("a"), log_node("b")], edges=[edge("e1", "q", "a")]
    )
    after = changed(before)
    after["edges"][0]["target"] = "b"
    after["edges"][0]["label"] = "to b"
    after["edges"][0]["config"] = {"batch": 5}

    diff = diff_documents(before, after)

    assert diff.to_dict()["edges"]["changed"] == {"e1": ["label", "target", "config.batch"]}
    assert diff.changed_edges[0].before["target"] == "a"
    assert diff.changed_edges[0].after["target"] == "b"


def test_it_reports_header_changes() -> None:
    before = pipeline_document()
    after = {**changed(before), "name": "Orders v2", "description": "With a sink"}

    diff = diff_documents(before, after)

    assert diff.header_changes == ["name", "description"]
    assert diff.to_dict()["header"] == ["name", "description"]
    assert not diff.is_empty


def test_a_change_of_meta_is_not_an_empty_diff() -> None:
    before = pipeline_document()
    after = {**changed(before), "meta": {"viewport": {"zoom": 2}}}

    diff = diff_documents(before, after)

    assert diff.header_changes == ["meta"]
    assert not diff.is_empty


def test_documents_without_nodes_or_edges_diff_cleanly() -> None:
    before: dict[str, Any] = {"name": "Empty"}
    after = make_document(name="Empty", nodes=[queue_node("q")])

    diff = diff_documents(before, after)

    assert [change.id for change in diff.added_nodes] == ["q"]
    assert diff.header_changes == []
