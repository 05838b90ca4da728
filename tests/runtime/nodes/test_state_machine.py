from __future__ import annotations

from typing import Any

import pytest

from runtime.nodes.state_machine import StateMachine
from tests.runtime.nodes import lint, problems


def task(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def test_defaults_are_a_single_pass_state() -> None:
    assert StateMachine.check_config({}) == []
    assert StateMachine.defaults()["definition"]["StartAt"] == "Pass"


def test_a_state_machine_feeds_the_same_kinds_as_a_function() -> None:
    from runtime.nodes.function import Function

    assert StateMachine.feeds == Function.feeds


def test_a_definition_without_states_is_refused_under_definition() -> None:
    assert problems(StateMachine, definition={"StartAt": "X"}) == {}
    found = lint(StateMachine, definition={"StartAt": "X"})
    assert found and all(pointer.startswith("/definition") for pointer in found)
    assert problems(StateMachine, definition="Pass") == {
        "/definition": "must be an object with StartAt and States"
    }


def test_start_at_must_name_a_state() -> None:
    definition = {"StartAt": "Nope", "States": {"P": {"Type": "Pass", "End": True}}}
    found = lint(StateMachine, definition=definition)
    assert found and all(pointer.startswith("/definition") for pointer in found)


def test_express_machines_cannot_wait_for_callbacks_or_sync_tasks() -> None:
    resource = "arn:aws:states:::states:startExecution.sync"
    found = lint(StateMachine, type="EXPRESS", definition=task(resource))
    assert found["/definition/States/T/Resource"] == (
        "EXPRESS machines cannot use .sync or .waitForTaskToken tasks"
    )
    assert "/definition/States/T/Resource" not in lint(StateMachine, definition=task(resource))


def test_the_query_language_must_agree_with_the_definition() -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "P",
        "States": {"P": {"Type": "Pass", "End": True}},
    }
    assert lint(StateMachine, definition=definition) == {
        "/query_language": "the definition's QueryLanguage is JSONata"
    }
    assert lint(StateMachine, definition=definition, query_language="JSONata") == {}


def test_type_and_logging_choices_are_checked() -> None:
    assert problems(StateMachine, type="FAST") == {"/type": "must be one of 'STANDARD', 'EXPRESS'"}
    assert problems(StateMachine, log_level="ALL") == {}


def test_errors_of_the_shared_asl_validator_are_reported_under_definition(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import runtime.asl

    def validate(definition: dict[str, Any]) -> list[tuple[str, str]]:
        return [("/States/P/Next", "names 'Q', which is not a state")]

    monkeypatch.setattr(runtime.asl, "validate", validate, raising=False)
    assert lint(StateMachine) == {"/definition/States/P/Next": "names 'Q', which is not a state"}
