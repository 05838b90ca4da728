"""Every recorded ASL case from the shared conformance data, with pass rates per family.

Executions run on a ManualClock, so recorded waits and retry back-offs cost no real time.
A failing case must be listed in KNOWN_FAILURES with its reason, and a listed case that starts
passing fails the suite too, so the list never goes stale.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.asl import ExecutionStatus, StateMachine, execute, validate
from tests.conformance import load_cases, report

pytestmark = pytest.mark.conformance

KNOWN_FAILURES: dict[str, str] = {
    "statelint-task-with-credentials": (
        "statelint accepts Credentials {'roleArn': ...}; AWS CreateStateMachine requires the "
        "field 'RoleArn' (recorded case test_invalid_credentials_field), and we follow AWS"
    ),
}


def _same_json(actual: Any, expected: Any) -> bool:
    # Key order is irrelevant, but 1 vs 1.0 and true vs 1 are not.
    return json.dumps(actual, sort_keys=True) == json.dumps(expected, sort_keys=True)


def execution_problem(case: dict[str, Any]) -> str | None:
    """Why an execution case fails, or None when it matches the AWS recording."""
    machine = StateMachine(case["definition"], state_machine_type=_type(case))
    execution = execute(machine, case["input"])
    if "expected_output" in case:
        if execution.status != ExecutionStatus.SUCCEEDED:
            return f"{execution.status}: {execution.error}: {execution.cause}"
        if not _same_json(execution.output, case["expected_output"]):
            return f"output {json.dumps(execution.output)[:300]}"
        return None
    expected = case["expected_error"]
    if execution.status != ExecutionStatus.FAILED:
        return f"{execution.status}, expected FAILED with {expected['error']}"
    if execution.error != expected["error"]:
        return f"error {execution.error!r}, expected {expected['error']!r}"
    cause = execution.cause
    if "cause" in expected and cause != expected["cause"]:
        return f"cause {cause!r}"
    prefix = expected["cause_contains"]
    if prefix is not None and not (cause or "").startswith(prefix):
        return f"cause {cause!r} lacks {prefix!r}"
    if prefix is None and "cause" not in expected and cause is not None:
        return f"cause {cause!r}, expected none"
    return None


def validation_problem(case: dict[str, Any]) -> str | None:
    """Why a validation case fails, or None when our verdict and wording match the record."""
    definition = case["definition_text"] if "definition_text" in case else case["definition"]
    problems = validate(definition, state_machine_type=_type(case))
    listed = "; ".join(str(problem) for problem in problems)[:500]
    if case["valid"]:
        return f"rejected a valid definition: {listed}" if problems else None
    if not problems:
        return "accepted an invalid definition"
    count = case.get("expected_problem_count")
    if count is not None and len(problems) != count:
        return f"{len(problems)} problems, statelint reports {count}: {listed}"
    for fragment in case.get("problem_substrings") or []:
        if not any(fragment in problem.message for problem in problems):
            return f"no problem mentions {fragment!r}: {listed}"
    recorded = case.get("error_message")
    if recorded and not any(_quoted_in(problem, recorded) for problem in problems):
        return f"AWS said {recorded[:200]!r}; we said {listed}"
    for diagnostic in case.get("diagnostics") or []:
        if not any(_matches_diagnostic(problem, diagnostic) for problem in problems):
            return f"AWS diagnostic {diagnostic} not reproduced: {listed}"
    return None


def _quoted_in(problem: Any, recorded: str) -> bool:
    return any(text in recorded for text in (str(problem), problem.message, repr(problem.message)))


def _matches_diagnostic(problem: Any, diagnostic: dict[str, str]) -> bool:
    location = diagnostic.get("location", "")
    same_place = not location.startswith("/") or problem.path == location
    return (
        problem.code == diagnostic["code"]
        and problem.message == diagnostic["message"]
        and same_place
    )


def _type(case: dict[str, Any]) -> str:
    return case.get("state_machine_type") or "STANDARD"


def _run_family(title: str, cases: list[dict[str, Any]], judge: Any) -> tuple[str, dict[str, str]]:
    failures: dict[str, str] = {}
    for case in cases:
        try:
            problem = judge(case)
        except Exception as error:  # a crash is a failing case, reported with the rest
            problem = f"crashed: {type(error).__name__}: {error}"
        if problem:
            failures[case["id"]] = problem
    passed = len(cases) - len(failures)
    return report(title, passed, len(cases), failures), failures


def _check_against_known(cases: list[dict[str, Any]], failures: dict[str, str]) -> None:
    ids = {case["id"] for case in cases}
    unexpected = {case: why for case, why in failures.items() if case not in KNOWN_FAILURES}
    fixed = sorted(case for case in KNOWN_FAILURES if case in ids and case not in failures)
    assert not unexpected, f"new failures: {json.dumps(unexpected, indent=1)[:4000]}"
    assert not fixed, f"listed in KNOWN_FAILURES but passing now: {fixed}"


@pytest.fixture(scope="module")
def execution_cases() -> list[dict[str, Any]]:
    return load_cases("asl_executions.jsonl")


@pytest.mark.parametrize("language", ["JSONPath", "JSONata"])
def test_recorded_executions_end_as_aws_recorded_them(
    execution_cases: list[dict[str, Any]], language: str
) -> None:
    cases = [case for case in execution_cases if case["query_language"] == language]
    summary, failures = _run_family(f"ASL executions ({language})", cases, execution_problem)
    print("\n" + summary)
    _check_against_known(cases, failures)


def test_recorded_definitions_are_accepted_or_rejected_as_aws_and_statelint_did() -> None:
    cases = load_cases("asl_validation.jsonl")
    summary, failures = _run_family("ASL validation", cases, validation_problem)
    print("\n" + summary)
    _check_against_known(cases, failures)
