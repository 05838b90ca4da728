"""The state graph: scopes and edges from a definition, the layered layout, the SVG, statuses."""

from __future__ import annotations

import copy
import re
from typing import Any

from designer.demo import PAYMENT_WORKFLOW
from runtime.asl import ResourceMap, TaskError, execute
from runtime.asl.graph import (
    StatusTracker,
    build,
    describe_rule,
    layers,
    layout,
    render_svg,
    statuses,
)


def demo() -> dict[str, Any]:
    return copy.deepcopy(PAYMENT_WORKFLOW)


def test_the_demo_has_next_choice_default_retry_and_catch_edges() -> None:
    scope = build(demo())
    kinds = {(e.source, e.target, e.kind) for e in scope.edges}
    assert ("ChargeCard", "BigOrder?", "next") in kinds
    assert ("BigOrder?", "ManualReview", "choice") in kinds
    assert ("BigOrder?", "ShipAndNotify", "default") in kinds
    assert ("ChargeCard", "ChargeCard", "retry") in kinds
    assert ("ChargeCard", "PaymentFailed", "catch") in kinds
    assert [child.start for child in scope.children["ShipAndNotify"]] == [
        "ReserveStock",
        "NotifyCustomer",
    ]


def test_choice_branches_are_labelled_with_their_condition() -> None:
    choice = next(e for e in build(demo()).edges if e.kind == "choice")
    assert choice.label == "$.detail.total > 1000"
    assert describe_rule({"Variable": "$.s", "StringEquals": "a"}) == '$.s == "a"'
    assert describe_rule({"Variable": "$.x", "IsPresent": False}) == "$.x present is false"
    assert describe_rule({"Not": {"Variable": "$.b", "BooleanEquals": True}}) == (
        "not ($.b == true)"
    )
    assert describe_rule({"Condition": "{% $states.input.n > 2 %}"}) == "$states.input.n > 2"
    rule = {
        "And": [
            {"Variable": "$.a", "NumericLessThanPath": "$.b"},
            {"Variable": "$.f", "StringMatches": "log-*"},
        ]
    }
    assert describe_rule(rule) == '($.a < $.b) and ($.f matches "log-*")'


def test_layers_start_at_the_top_and_put_unreachable_states_last() -> None:
    definition = demo()
    definition["States"]["Orphan"] = {"Type": "Pass", "End": True}
    assert layers(build(definition)) == [
        ["ChargeCard"],
        ["BigOrder?", "PaymentFailed"],
        ["ManualReview", "ShipAndNotify"],
        ["Orphan"],
    ]


def test_a_parallel_state_is_a_group_holding_its_branches() -> None:
    placed = layout(build(demo()))
    group = placed.boxes["ShipAndNotify"]
    assert len(group.inner) == 2
    assert group.width > sum(inner.width for inner in group.inner)
    assert group.height > max(inner.height for inner in group.inner)
    boxes = placed.boxes
    assert boxes["ChargeCard"].y < boxes["BigOrder?"].y < boxes["ShipAndNotify"].y


def test_the_svg_draws_every_state_with_dashed_retry_and_catch_edges() -> None:
    svg = render_svg(demo())
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    names = re.findall(r'data-state="([^"]+)"', svg)
    assert sorted(names) == sorted(
        [
            "ChargeCard",
            "BigOrder?",
            "ManualReview",
            "ShipAndNotify",
            "ReserveStock",
            "NotifyCustomer",
            "PaymentFailed",
        ]
    )
    assert 'class="asl-edge edge-catch dashed"' in svg
    assert 'class="asl-edge edge-retry dashed"' in svg
    assert "$.detail.total &gt; 1000" in svg


def test_every_label_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    definition = {
        "StartAt": evil,
        "States": {
            evil: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "StringEquals": "</text><b>", "Next": "E"}],
                "Default": "E",
            },
            "E": {"Type": "Succeed"},
        },
    }
    svg = render_svg(definition, {evil: "failed"})
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg


def test_an_invalid_definition_still_draws_what_it_can() -> None:
    svg = render_svg({"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": 3}})
    assert 'data-state="A"' in svg and "Nowhere" not in svg
    assert render_svg({}).startswith("<svg")


def test_statuses_colour_states_and_default_to_not_run() -> None:
    svg = render_svg(demo(), {"ChargeCard": "succeeded"})
    assert 'data-state="ChargeCard" data-status="succeeded"' in svg
    assert 'data-state="PaymentFailed" data-status="not-run"' in svg


def test_statuses_follow_a_history_with_a_caught_failure() -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:1:function:f",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "F"}],
                "End": True,
            },
            "F": {"Type": "Fail", "Error": "E"},
        },
    }
    execution = execute(definition, {})
    assert statuses(execution.history) == {"T": "caught", "F": "failed"}


def test_statuses_of_a_parallel_state_and_its_branches() -> None:
    parallel = demo()["States"]["ShipAndNotify"]
    execution = execute({"StartAt": "S", "States": {"S": parallel}}, {})
    assert statuses(execution.history) == {
        "S": "succeeded",
        "ReserveStock": "succeeded",
        "NotifyCustomer": "succeeded",
    }


def test_a_retried_task_shows_retrying_then_succeeded() -> None:
    calls: list[Any] = []

    def flaky(payload: Any) -> Any:
        calls.append(payload)
        if len(calls) < 2:
            raise TaskError("Boom", "first time")
        return "ok"

    arn = "arn:aws:lambda:us-east-1:1:function:f"
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": arn,
                "Retry": [{"ErrorEquals": ["Boom"]}],
                "End": True,
            }
        },
    }
    execution = execute(definition, {}, resources=ResourceMap({arn: flaky}))
    tracker = StatusTracker()
    seen = [change for event in execution.history for change in tracker.feed(event)]
    assert seen == [("T", "running"), ("T", "failed"), ("T", "retrying"), ("T", "succeeded")]


def test_a_map_state_is_a_group_holding_its_item_processor() -> None:
    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Double",
                    "States": {
                        "Double": {"Type": "Pass", "Next": "Keep"},
                        "Keep": {"Type": "Succeed"},
                    },
                },
                "End": True,
            }
        },
    }
    placed = layout(build(definition))
    inner = placed.boxes["Each"].inner
    assert len(inner) == 1 and set(inner[0].boxes) == {"Double", "Keep"}
    svg = render_svg(definition)
    assert "Map: Each" in svg and 'data-source="Double" data-target="Keep"' in svg


def test_states_cut_off_while_typing_keep_their_own_layers() -> None:
    definition = demo()
    definition["StartAt"] = "Missing"
    definition["States"]["ChargeCard"]["Next"] = "Nowhere"
    assert layers(build(definition)) == [
        ["ChargeCard"],
        ["PaymentFailed"],
        ["BigOrder?"],
        ["ManualReview", "ShipAndNotify"],
    ]
