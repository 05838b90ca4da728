"""ASL: one state machine's definition out, and ASL files in as state machine nodes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from runtime.formats import FormatError, export, import_document
from runtime.formats.asl import add_to_document, node_id_from, state_machine_ids
from runtime.spec import load
from tests.runtime.formats.samples import demo, every_kind


def test_the_only_state_machine_is_exported_by_default() -> None:
    exported = export(demo(), "asl")
    assert exported.filename == "payment-workflow.asl.json"
    assert json.loads(exported.content) == demo().node("payment-workflow").config["definition"]


def test_several_machines_need_a_node_and_the_error_lists_them() -> None:
    with pytest.raises(FormatError, match="workflow, express"):
        export(every_kind(), "asl")
    assert json.loads(export(every_kind(), "asl", node="express").content)["StartAt"] == "Pass"


def test_a_node_that_is_not_a_state_machine_is_refused() -> None:
    with pytest.raises(FormatError, match="'orders-queue' is not a state machine"):
        export(demo(), "asl", node="orders-queue")


def test_an_asl_file_becomes_a_topology_with_one_state_machine() -> None:
    text = export(demo(), "asl").content
    imported = import_document(text, filename="payment.asl.json")
    spec = load(imported.document)
    assert imported.format == "asl"
    (node,) = spec.nodes
    assert (node.id, node.kind) == ("payment", "state_machine")
    assert node.config["definition"] == json.loads(text)


def test_an_asl_file_can_be_added_to_an_existing_topology() -> None:
    document = demo().to_dict()
    definition = {"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}
    merged = load(add_to_document(document, definition, "payment-workflow.json"))
    assert len(merged.nodes) == len(document["nodes"]) + 1
    assert merged.nodes[-1].id == "payment-workflow-2"
    assert merged.nodes[-1].y > max(node["y"] for node in document["nodes"])


def test_node_ids_come_from_file_names() -> None:
    assert node_id_from("/tmp/My Flow.asl.json") == "My-Flow"
    assert node_id_from("!!!.json") == "state-machine"


def test_json_that_is_not_asl_is_refused_as_asl() -> None:
    with pytest.raises(FormatError, match="StartAt and States"):
        import_document('{"States": {}}', fmt="asl")


def lint_definition(definition: Any) -> list[str]:
    """cfn-lint's ASL schema (rule E3601) on a definition, as a state machine resource holds it."""
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "states.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}
                },
            },
            "Machine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Definition": definition,
                },
            },
        },
    }
    matches = lint(json.dumps(template), config=ManualArgs(regions=["us-east-1"]))
    return [f"{match.rule.id} {match.message}" for match in matches]


def test_cfn_lint_accepts_every_exported_definition() -> None:
    for spec in (demo(), every_kind()):
        for node_id in state_machine_ids(spec):
            assert lint_definition(json.loads(export(spec, "asl", node=node_id).content)) == []


def test_cfn_lint_is_a_real_asl_check() -> None:
    broken = {"StartAt": "A", "States": {"A": {"Type": "Bogus", "End": True}}}
    assert any(error.startswith("E3601") for error in lint_definition(broken))
