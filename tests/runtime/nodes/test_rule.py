from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from runtime.nodes.rule import Rule, schedule_problem
from tests.runtime.nodes import edge_lint, edge_problems, lint, problems


def test_defaults_match_every_event_and_retry_like_eventbridge() -> None:
    assert Rule.check_config({}) == []
    assert Rule.defaults()["max_retry_attempts"] == 185
    assert Rule.defaults()["max_event_age"] == 86400


def test_a_rule_has_at_most_five_targets() -> None:
    assert Rule.max_out_edges == 5
    assert Rule.feeds == {
        "queue",
        "topic",
        "function",
        "state_machine",
        "event_bus",
        "stream",
        "webhook",
        "log",
    }


def test_retry_policy_limits_are_enforced() -> None:
    assert problems(Rule, max_retry_attempts=186) == {"/max_retry_attempts": "must be 0..185"}
    assert problems(Rule, max_event_age=59) == {"/max_event_age": "must be 60..86400 s"}
    assert problems(Rule, max_event_age=86401) == {"/max_event_age": "must be 60..86400 s"}


def test_a_rule_needs_a_pattern_or_a_schedule() -> None:
    assert problems(Rule, event_pattern=None) == {
        "/event_pattern": "a rule needs an event pattern or a schedule"
    }
    assert problems(Rule, event_pattern=None, schedule_expression="rate(5 minutes)") == {}
    assert problems(Rule, schedule_expression="rate(5 minutes)") == {}


def test_a_half_written_pattern_loads_and_the_linter_reports_it() -> None:
    assert problems(Rule, event_pattern={"source": "x"}) == {}
    assert lint(Rule, event_pattern={"source": "x"})


def test_patterns_must_be_objects_with_array_leaves() -> None:
    assert lint(Rule, event_pattern=["a"]) == {
        "/event_pattern": "Event pattern is not valid. Reason: Filter is not an object"
    }
    found = lint(Rule, event_pattern={"detail": {"state": "running"}})
    assert found and all(pointer.startswith("/event_pattern") for pointer in found)
    found = lint(Rule, event_pattern={"source": []})
    assert found and all(pointer.startswith("/event_pattern") for pointer in found)
    assert lint(Rule, event_pattern={"detail": {"n": [{"numeric": [">", 1]}]}}) == {}


def test_patterns_longer_than_2048_characters_are_refused() -> None:
    pattern = {"source": ["x" * 2100]}
    assert lint(Rule, event_pattern=pattern) == {
        "/event_pattern": "must be at most 2048 characters, is 2115"
    }


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minute)",
        "rate(5 minutes)",
        "rate(2 days)",
        "cron(0 12 * * ? *)",
        "cron(0/15 8-17 ? * MON-FRI *)",
        "cron(0 10 ? * 6L 2026-2030)",
        "cron(0 10 ? * 3#2 *)",
        "cron(0 0 L * ? *)",
        "cron(0 0 3W JAN,JUL ? *)",
    ],
)
def test_valid_schedule_expressions_are_accepted(expression: str) -> None:
    assert schedule_problem(expression) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("rate(1 minutes)", "use 'minute' when N is 1 and 'minutes' otherwise"),
        ("rate(5 hour)", "use 'hour' when N is 1 and 'hours' otherwise"),
        ("rate(0 minutes)", "rate(N unit) needs a positive N"),
        (
            "rate(5 seconds)",
            "rate expressions look like rate(5 minutes): a positive integer and a unit",
        ),
        ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
        ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
        (
            "cron(0 12 * *)",
            "cron needs 6 fields (minutes hours day-of-month month day-of-week year), not 4",
        ),
        ("cron(60 12 * * ? *)", "minutes field '60' is not valid (0-59)"),
        ("cron(0 12 * 13 ? *)", "month field '13' is not valid (1-12 or JAN-DEC)"),
        ("cron(0 12 ? * 8 *)", "day-of-week field '8' is not valid (1-7 or SUN-SAT)"),
        ("cron(0 12 * * ? 1969)", "year field '1969' is not valid (1970-2199)"),
        ("cron(? 12 * * ? *)", "'?' is not allowed in minutes"),
        (
            "every hour",
            "must be rate(N unit) or cron(minutes hours day-of-month month day-of-week year)",
        ),
    ],
)
def test_invalid_schedule_expressions_explain_why(expression: str, message: str) -> None:
    assert schedule_problem(expression) == message
    assert problems(Rule, schedule_expression=expression) == {"/schedule_expression": message}


def test_the_matched_event_is_sent_by_default() -> None:
    assert Rule.check_edge_config({}) == []
    assert Rule.edge_defaults()["input_mode"] == "matched_event"


def test_only_one_kind_of_input_may_be_configured() -> None:
    assert edge_problems(Rule, input_path="$.detail") == {
        "/input_path": "applies only when input_mode is input_path"
    }
    assert edge_problems(Rule, input_mode="input_path", input={"a": 1}) == {
        "/input": "applies only when input_mode is constant"
    }


def test_constant_input_and_input_path_need_a_value() -> None:
    assert edge_problems(Rule, input_mode="constant") == {
        "/input": "constant input needs a JSON value"
    }
    assert edge_problems(Rule, input_mode="constant", input={"hello": "world"}) == {}
    assert edge_problems(Rule, input_mode="input_path") == {"/input_path": "is required"}
    assert edge_problems(Rule, input_mode="input_path", input_path="detail") == {
        "/input_path": "must be a JSONPath such as $.detail or $.detail.items[0]"
    }
    assert edge_problems(Rule, input_mode="input_path", input_path="$.detail.items[0]") == {}


def test_input_transformer_placeholders_must_be_mapped_or_predefined() -> None:
    config = {
        "input_mode": "input_transformer",
        "input_paths_map": {"s": "$.detail.state"},
        "input_template": '{"state": <s>, "rule": "<aws.events.rule-name>"}',
    }
    assert edge_lint(Rule, **config) == {}
    config["input_template"] = '{"state": <nope>}'
    assert edge_problems(Rule, **config) == {}
    assert edge_lint(Rule, **config) == {
        "/input_template": "InputTemplate contains invalid placeholder nope."
    }


def test_input_paths_map_is_bounded_and_reserves_aws_names() -> None:
    assert edge_lint(Rule, input_mode="input_transformer") == {
        "/input_template": "an input transformer needs a template"
    }
    many = {f"v{i}": "$.detail" for i in range(101)}
    found = edge_problems(
        Rule, input_mode="input_transformer", input_paths_map=many, input_template="<v1>"
    )
    assert found == {"/input_paths_map": "must have at most 100 entries"}
    found = edge_problems(
        Rule,
        input_mode="input_transformer",
        input_paths_map={"aws.events.x": "$.id"},
        input_template="x",
    )
    assert found == {
        "/input_paths_map/aws.events.x": "names starting with aws.events. are reserved"
    }


def test_fifo_group_ids_are_limited_to_128_characters() -> None:
    assert edge_problems(Rule, message_group_id="g" * 129) == {
        "/message_group_id": "must be at most 128 characters"
    }


def test_the_shared_pattern_compiler_is_used_when_available(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patterns = types.ModuleType("runtime.patterns")

    class PatternError(Exception):
        pass

    def compile_pattern(pattern: dict[str, Any]) -> None:
        raise PatternError("Event pattern is not valid. Reason: Unrecognized match type NUMERIC")

    patterns.PatternError = PatternError  # type: ignore[attr-defined]
    patterns.compile_pattern = compile_pattern  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "runtime.patterns", patterns)
    assert lint(Rule, event_pattern={"a": [{"NUMERIC": ["=", 5]}]}) == {
        "/event_pattern": "Event pattern is not valid. Reason: Unrecognized match type NUMERIC"
    }
