from __future__ import annotations

import importlib

import pytest

from runtime.nodes import GROUPS, KINDS

EXPECTED = {
    "producer": "Producers",
    "partner_source": "Producers",
    "http_api": "Producers",
    "graphql_api": "Producers",
    "event_bus": "Routing",
    "rule": "Routing",
    "topic": "Routing",
    "queue": "Buffers",
    "stream": "Buffers",
    "kafka_topic": "Buffers",
    "broker": "Buffers",
    "function": "Compute",
    "state_machine": "Compute",
    "webhook": "Targets",
    "email": "Targets",
    "sms": "Targets",
    "log": "Targets",
}


def test_every_kind_is_registered_in_its_group() -> None:
    assert {name: kind.group for name, kind in KINDS.items()} == EXPECTED
    assert all(kind.group in GROUPS for kind in KINDS.values())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_lives_in_the_module_named_after_it(name: str) -> None:
    kind = KINDS[name]
    module = importlib.import_module(f"runtime.nodes.{name}")
    assert kind.__module__ == module.__name__
    assert kind.name == name
    assert kind.__name__ == "".join(part.capitalize() for part in name.split("_"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_kind_has_palette_metadata(name: str) -> None:
    kind = KINDS[name]
    assert kind.label and kind.models and kind.description
    assert len(kind.icon) == 1
    assert "\n" not in kind.description


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_feed_is_a_real_kind_that_takes_input(name: str) -> None:
    for target in KINDS[name].feeds:
        assert target in KINDS, target
        assert KINDS[target].has_input, target


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_default_config_and_edge_config_validates(name: str) -> None:
    kind = KINDS[name]
    assert kind.check_config({}) == []
    assert kind.check_config(kind.defaults()) == []
    assert kind.check_edge_config({}) == []
    assert kind.semantic_checks(kind.defaults()) == []
    assert kind.semantic_edge_checks(kind.edge_defaults()) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_field_has_help_and_a_valid_default(name: str) -> None:
    kind = KINDS[name]
    for field in kind.fields + kind.edge_fields:
        assert field.help.strip(), field.name
        assert field.check(field.default) is None, field.name
        assert len({f.name for f in kind.fields}) == len(kind.fields)


def test_producers_take_no_input_and_targets_have_no_output() -> None:
    for kind in KINDS.values():
        assert kind.has_input == (kind.group != "Producers"), kind.name
        assert kind.has_output() == (kind.group != "Targets"), kind.name


def test_to_dict_is_json_for_every_kind() -> None:
    import json

    for kind in KINDS.values():
        json.dumps(kind.to_dict())


def test_the_node_kinds_import_no_django() -> None:
    import subprocess
    import sys

    code = "import sys, runtime.nodes; print('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False"
