"""Recorded EventBridge and SNS cases run against runtime.patterns.

Every case of each file runs; the pass rate is printed. A failing case must be listed in
KNOWN_FAILURES with its reason, and a listed case that starts passing fails the test too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.patterns import (
    EventValidationError,
    FilterPolicyError,
    PatternError,
    compile_filter_policy,
    compile_pattern,
    validate_event,
)
from tests.conformance import load_cases, report

pytestmark = pytest.mark.conformance

# Case id -> why it fails. Empty: every recorded case passes.
KNOWN_FAILURES: dict[str, str] = {}


def _pattern_source(case: dict[str, Any]) -> Any:
    return case["pattern"] if case.get("pattern") is not None else case["pattern_text"]


def _eventbridge_failure(case: dict[str, Any]) -> str | None:
    """None when the case behaves as recorded, else what went wrong."""
    if case.get("error_on") == "event":
        try:
            validate_event(case["event_text"])
        except EventValidationError as error:
            return _compare(error.message, case["error_message"])
        return "event accepted, expected ValidationException"
    if case.get("error"):
        try:
            compile_pattern(_pattern_source(case))
        except PatternError as error:
            return _compare(f"{error.code}: {error.message}", _expected_error(case))
        return f"pattern accepted, expected {case['error_message']!r}"
    event = case["event"] if case.get("event") is not None else json.loads(case["event_text"])
    if case["id"].startswith("localstack-"):
        # These went through TestEventPattern, which validates the envelope first.
        validate_event(event)
    matched = compile_pattern(_pattern_source(case)).matches(event)
    return None if matched == case["match"] else f"matched={matched}, recorded {case['match']}"


def _expected_error(case: dict[str, Any]) -> str:
    return f"{case['error_code']}: {case['error_message']}"


def _sns_failure(case: dict[str, Any]) -> str | None:
    if "error" in case:
        try:
            compile_filter_policy(case["filter_policy"], case["scope"])
        except FilterPolicyError as error:
            if not case["error"]:
                return f"policy rejected: {error.message}"
            got = f"{error.code}: {error.message_for(case['api'])}"
            return _compare(got, _expected_error(case))
        return f"policy accepted, expected {case['error_message']!r}" if case["error"] else None
    policy = compile_filter_policy(case["filter_policy"], case["scope"])
    message = (
        case["message_attributes"] if case["scope"] == "MessageAttributes" else case["message_body"]
    )
    matched = policy.matches(message)
    return None if matched == case["match"] else f"matched={matched}, recorded {case['match']}"


def _compare(got: str, expected: str) -> str | None:
    return None if got == expected else f"got {got!r}, recorded {expected!r}"


def _run(filename: str, title: str, check: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cases = load_cases(filename)
    failures: dict[str, str] = {}
    for case in cases:
        try:
            reason = check(case)
        except Exception as error:  # a crash is a failing case, reported with the others
            reason = f"raised {error!r}"
        if reason is not None:
            failures[case["id"]] = reason
    summary = report(title, len(cases) - len(failures), len(cases), failures)
    with capsys.disabled():
        print("\n" + summary)
    ids = {case["id"] for case in cases}
    known = {case_id for case_id in KNOWN_FAILURES if case_id in ids}
    unexpected = {case_id: reason for case_id, reason in failures.items() if case_id not in known}
    fixed = sorted(known - failures.keys())
    assert not unexpected, f"failures not in KNOWN_FAILURES:\n{summary}"
    assert not fixed, f"listed in KNOWN_FAILURES but now passing: {fixed}"


def test_eventbridge_patterns_match_the_recorded_cases(
    capsys: pytest.CaptureFixture[str],
) -> None:
    _run("eventbridge_patterns.jsonl", "EventBridge patterns", _eventbridge_failure, capsys)


def test_sns_filter_policies_match_the_recorded_cases(capsys: pytest.CaptureFixture[str]) -> None:
    _run("sns_filter_policies.jsonl", "SNS filter policies", _sns_failure, capsys)


def test_known_failures_name_recorded_cases() -> None:
    ids = {
        case["id"]
        for filename in ("eventbridge_patterns.jsonl", "sns_filter_policies.jsonl")
        for case in load_cases(filename)
    }
    assert set(KNOWN_FAILURES) <= ids
