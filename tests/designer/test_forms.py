"""The inspector forms built from a kind's config schema."""

from __future__ import annotations

import json

from designer.forms import ConfigForm, TopologyForm
from runtime.nodes import KINDS


def queue_form(**data: str) -> ConfigForm:
    values = {
        "label": "Orders",
        "deduplication_scope": "queue",
        "fifo_throughput_limit": "perQueue",
    }
    values.update(data)
    return ConfigForm(KINDS["queue"], "node", values)


def test_the_form_has_one_field_per_schema_field_plus_the_label() -> None:
    form = ConfigForm(KINDS["queue"], "node", label="Orders", config={"visibility_timeout": 60})

    assert list(form.fields) == ["label"] + [field.name for field in KINDS["queue"].fields]
    assert form["visibility_timeout"].value() == 60
    assert form["delay_seconds"].value() == 0  # the kind's default
    assert form["label"].value() == "Orders"


def test_valid_values_keep_only_what_differs_from_the_defaults() -> None:
    form = queue_form(visibility_timeout="60", delay_seconds="0", fifo="")

    assert form.is_valid(), form.errors
    assert form.result() == {"label": "Orders", "config": {"visibility_timeout": 60}, "ok": True}


def test_an_out_of_range_value_is_reported_beside_its_field_and_not_applied() -> None:
    form = queue_form(visibility_timeout="99999")

    assert not form.is_valid()
    assert form.errors["visibility_timeout"] == ["must be 0..43200 s"]
    assert form.result()["ok"] is False


def test_a_wrong_type_gets_django_s_message_beside_the_field() -> None:
    form = queue_form(visibility_timeout="soon")

    assert not form.is_valid()
    assert "visibility_timeout" in form.errors


def test_a_json_field_with_a_syntax_error_says_where() -> None:
    form = ConfigForm(
        KINDS["rule"], "node", {"label": "r", "state": "ENABLED", "event_pattern": '{"source": '}
    )

    assert not form.is_valid()
    assert form.errors["event_pattern"] == ["not JSON: Expecting value at line 1, column 12"]


def test_a_semantically_wrong_pattern_is_reported_but_still_applicable() -> None:
    pattern = json.dumps({"source": "not-a-list"})
    form = ConfigForm(
        KINDS["rule"], "node", {"label": "r", "state": "ENABLED", "event_pattern": pattern}
    )

    assert not form.is_valid()
    assert "event_pattern" in form.errors
    assert form.semantic_errors == {"event_pattern"}
    assert form.result()["ok"] is True
    assert form.result()["config"] == {"event_pattern": {"source": "not-a-list"}}


def test_a_blank_json_field_means_the_default() -> None:
    form = ConfigForm(KINDS["rule"], "node", {"label": "r", "state": "ENABLED"})

    assert form.is_valid(), form.errors
    assert form.result()["config"] == {}


def test_an_edge_form_uses_the_source_kind_s_edge_fields() -> None:
    policy = json.dumps({"detail": {"channel": ["email"]}})
    form = ConfigForm(
        KINDS["topic"],
        "edge",
        {"label": "", "filter_policy": policy, "filter_policy_scope": "MessageBody"},
    )

    assert [f.name for f in form.schema] == [f.name for f in KINDS["topic"].edge_fields]
    assert form.is_valid(), form.errors
    assert form.result()["config"] == {
        "filter_policy": {"detail": {"channel": ["email"]}},
        "filter_policy_scope": "MessageBody",
    }


def test_a_bad_filter_policy_is_reported_beside_the_field() -> None:
    form = ConfigForm(
        KINDS["topic"],
        "edge",
        {"filter_policy": json.dumps({"a": "b"}), "filter_policy_scope": "MessageBody"},
    )

    assert not form.is_valid()
    assert "filter_policy" in form.errors


def test_json_editors_are_checked_as_you_type_when_given_a_check_address() -> None:
    form = ConfigForm(KINDS["rule"], "node", check_url="/check/")

    attrs = form.fields["event_pattern"].widget.attrs
    assert attrs["hx-post"] == "/check/"
    assert "delay:" in attrs["hx-trigger"]
    assert json.loads(attrs["hx-vals"]) == {"_field": "event_pattern"}
    assert "hx-post" not in form.fields["state"].widget.attrs


def test_the_topology_form_needs_a_name() -> None:
    assert not TopologyForm({"name": "", "description": ""}).is_valid()
    assert TopologyForm({"name": "Orders", "description": ""}).is_valid()
