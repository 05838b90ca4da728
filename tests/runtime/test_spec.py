from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from runtime import spec
from runtime.spec import SCHEMA, SpecError, TopologySpec, load, loads


def document(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "schema": SCHEMA,
        "name": "Orders",
        "nodes": [
            {"id": "bus", "kind": "event_bus", "label": "Bus", "x": 0, "y": 0, "config": {}},
            {"id": "q", "kind": "queue", "label": "Queue", "x": 200, "y": 0, "config": {}},
        ],
        "edges": [{"id": "e1", "source": "bus", "target": "q", "config": {}}],
    }
    base.update(overrides)
    return base


def errors_of(data: Any) -> list[tuple[str, str]]:
    with pytest.raises(SpecError) as caught:
        load(data) if not isinstance(data, str | bytes) else loads(data)
    return caught.value.errors


def test_it_loads_a_document_into_frozen_dataclasses() -> None:
    parsed = load(document())
    assert isinstance(parsed, TopologySpec)
    assert [node.id for node in parsed.nodes] == ["bus", "q"]
    assert parsed.edges[0].source == "bus"
    with pytest.raises(AttributeError):
        parsed.nodes[0].label = "changed"  # type: ignore[misc]


def test_it_round_trips_through_to_dict() -> None:
    original = document(description="d")
    assert load(original).to_dict() == load(load(original).to_dict()).to_dict()
    assert load(original).to_dict()["nodes"][1]["config"] == {}


def test_settings_fill_in_the_kind_defaults() -> None:
    queue = load(document()).node("q")
    assert queue.settings()["visibility_timeout"] == 30


def test_it_collects_every_problem_at_once() -> None:
    data = document()
    data["nodes"][0]["kind"] = "warp_drive"
    data["nodes"][1]["config"] = {"visibility_timeout": 50000}
    data["edges"][0]["target"] = "ghost"
    pointers = [pointer for pointer, _ in errors_of(data)]
    assert "/nodes/0/kind" in pointers
    assert "/nodes/1/config/visibility_timeout" in pointers
    assert "/edges/0/target" in pointers


def test_an_unknown_kind_names_the_known_ones() -> None:
    data = document()
    data["nodes"][0]["kind"] = "warp_drive"
    (pointer, message), *_ = errors_of(data)
    assert pointer == "/nodes/0/kind"
    assert "unknown kind 'warp_drive'" in message and "queue" in message


def test_a_config_value_out_of_range_names_the_range() -> None:
    data = document()
    data["nodes"][1]["config"] = {"visibility_timeout": 43201}
    assert errors_of(data) == [("/nodes/1/config/visibility_timeout", "must be 0..43200 s")]


def test_an_unknown_config_key_is_an_error_not_dropped() -> None:
    data = document()
    data["nodes"][1]["config"] = {"visiblity_timeout": 10}
    assert errors_of(data) == [
        ("/nodes/1/config/visiblity_timeout", "unknown setting 'visiblity_timeout'")
    ]


@pytest.mark.parametrize("schema", ["flowyard.topology/2", "nope", 1])
def test_a_wrong_schema_version_is_refused(schema: Any) -> None:
    (pointer, message), *_ = errors_of(document(schema=schema))
    assert pointer == "/schema"
    assert "unsupported schema version" in message


def test_a_missing_schema_is_refused() -> None:
    data = document()
    del data["schema"]
    assert errors_of(data)[0] == ("/schema", f"missing; expected {SCHEMA!r}")


def test_a_dangling_edge_is_refused() -> None:
    data = document()
    data["edges"][0]["source"] = "nowhere"
    assert errors_of(data) == [("/edges/0/source", "dangling edge: no node 'nowhere'")]


def test_duplicate_node_ids_are_refused() -> None:
    data = document()
    data["nodes"][1]["id"] = "bus"
    (pointer, message), *_ = errors_of(data)
    assert pointer == "/nodes/1/id"
    assert "duplicate node id 'bus'" in message and "/nodes/0" in message


def test_duplicate_edge_ids_are_refused() -> None:
    data = document()
    data["edges"].append(copy.deepcopy(data["edges"][0]))
    assert errors_of(data)[0][0] == "/edges/1/id"


@pytest.mark.parametrize("bad_id", ["", "-leading", "has space", "x" * 81, 7, None])
def test_ids_must_be_simple_names(bad_id: Any) -> None:
    data = document()
    data["nodes"][0]["id"] = bad_id
    assert any(pointer == "/nodes/0/id" for pointer, _ in errors_of(data))


def test_unknown_fields_are_errors() -> None:
    data = document(colour="red")
    data["nodes"][0]["size"] = 3
    pointers = [pointer for pointer, _ in errors_of(data)]
    assert pointers == ["/colour", "/nodes/0/size"]


def test_coordinates_must_be_finite_and_bounded() -> None:
    data = document()
    data["nodes"][0]["x"] = 1e12
    data["nodes"][1]["y"] = "12"
    pointers = [pointer for pointer, _ in errors_of(data)]
    assert pointers == ["/nodes/0/x", "/nodes/1/y"]


def test_edge_config_is_checked_against_the_source_kind() -> None:
    data = document()
    data["edges"][0]["config"] = {"filter_policy": {}}
    assert errors_of(data)[0] == (
        "/edges/0/config/filter_policy",
        "unknown setting 'filter_policy'",
    )


def test_it_refuses_more_than_2000_nodes() -> None:
    nodes = [{"id": f"n{i}", "kind": "log", "x": 0, "y": 0} for i in range(spec.MAX_NODES + 1)]
    assert errors_of(document(nodes=nodes, edges=[])) == [
        ("/nodes", "has 2,001 nodes; the limit is 2,000")
    ]


def test_it_refuses_more_than_10000_edges() -> None:
    edges = [{"id": f"e{i}", "source": "bus", "target": "q"} for i in range(spec.MAX_EDGES + 1)]
    assert errors_of(document(edges=edges)) == [("/edges", "has 10,001 edges; the limit is 10,000")]


def test_it_refuses_a_document_over_5_mb() -> None:
    text = json.dumps(document(description="x" * (spec.MAX_DOCUMENT_BYTES + 1)))
    (pointer, message), *_ = errors_of(text)
    assert pointer == "" and "the limit is 5,242,880" in message


def test_it_refuses_nesting_deeper_than_32_before_parsing() -> None:
    deep = "[" * 40 + "]" * 40
    text = json.dumps(document()).replace('"config": {}', f'"config": {{"body": {deep}}}', 1)
    assert errors_of(text) == [("", "nesting is deeper than 32 levels")]


def test_decoded_data_deeper_than_32_is_refused_too() -> None:
    nested: Any = {}
    for _ in range(40):
        nested = {"a": nested}
    data = document()
    data["nodes"][0]["config"] = nested
    assert errors_of(data) == [("", "nesting is deeper than 32 levels")]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps(document(description="[" * 100))
    assert loads(text).description == "[" * 100


@pytest.mark.parametrize("number", ["1" * 5000, "9007199254740993", "-" + "9" * 30])
def test_it_refuses_huge_numbers(number: str) -> None:
    text = json.dumps(document()).replace('"x": 0', f'"x": {number}', 1)
    (pointer, message), *_ = errors_of(text)
    assert pointer == "" and "too large" in message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_it_refuses_non_json_constants(constant: str) -> None:
    text = json.dumps(document()).replace('"x": 0', f'"x": {constant}', 1)
    assert "is not valid JSON" in errors_of(text)[0][1]


def test_not_json_names_the_line_and_column() -> None:
    (pointer, message), *_ = errors_of('{"schema": "flowyard.topology/1",\n  "name": }')
    assert pointer == ""
    assert message.startswith("not JSON") and "line 2, column 11" in message


def test_not_utf8_is_refused() -> None:
    assert "not UTF-8" in errors_of(b"\xff\xfe{}")[0][1]


def test_a_document_must_be_an_object() -> None:
    assert errors_of("[]") == [("", "a topology document must be a JSON object")]


def test_spec_error_message_summarises_the_problems() -> None:
    data = document()
    data["nodes"][0]["kind"] = "nope"
    with pytest.raises(SpecError, match=r"invalid topology: /nodes/0/kind: unknown kind"):
        load(data)


@pytest.mark.parametrize("number", ["1e400", "-1e400"])
def test_it_refuses_floats_that_overflow_to_infinity(number: str) -> None:
    text = json.dumps(document()).replace('"x": 0', f'"x": {number}', 1)
    assert "too large" in errors_of(text)[0][1]


def test_a_refused_number_names_its_line_and_column() -> None:
    text = '{"schema": "flowyard.topology/1",\n "name": "n", "meta": {"big": 1e999}}'
    assert errors_of(text) == [("", "number 1e999 is too large at line 2, column 31")]


@pytest.mark.parametrize("kind", [["queue"], {"k": 1}, 3, None])
def test_a_kind_that_is_not_a_string_is_an_error_not_a_crash(kind: Any) -> None:
    data = document()
    data["nodes"][0]["kind"] = kind
    assert errors_of(data)[0][0] == "/nodes/0/kind"
