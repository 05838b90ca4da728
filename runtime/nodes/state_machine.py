"""Step Functions state machine: runs an ASL definition whose Task states call other nodes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.function import COMPUTE_TARGETS

MAX_DEFINITION_CHARS = 1048576
STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
EXPRESS_FORBIDDEN = (".sync", ".waitForTaskToken")


class StateMachine(Kind):
    name = "state_machine"
    label = "State machine"
    group = "Compute"
    icon = "◇"
    description = "Step Functions: runs an ASL workflow per message; Task states call other nodes."
    models = "AWS Step Functions"
    feeds = COMPUTE_TARGETS
    fields = (
        Field(
            "definition",
            "json",
            {
                "Comment": "Passes its input through unchanged.",
                "StartAt": "Pass",
                "States": {"Pass": {"Type": "Pass", "End": True}},
            },
            "The workflow in Amazon States Language: StartAt names the first state, States "
            "holds them all (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map). A Task's "
            "Resource names a wired node. At most 1,048,576 characters.",
            editor="asl",
        ),
        Field(
            "type",
            "choice",
            "STANDARD",
            "STANDARD: up to a year, exactly-once transitions, full execution history. EXPRESS: "
            "up to 5 minutes, at-least-once, no .sync or .waitForTaskToken tasks, history only "
            "through logging. Fixed when the machine is created.",
            choices=("STANDARD", "EXPRESS"),
        ),
        Field(
            "query_language",
            "choice",
            "JSONPath",
            "How states select and shape data: JSONPath (InputPath, Parameters, ResultPath…) "
            "or JSONata (Arguments, Output and {% … %} expressions). A QueryLanguage in the "
            "definition must agree.",
            choices=("JSONPath", "JSONata"),
        ),
        Field(
            "log_level",
            "choice",
            "OFF",
            "Execution logging; the only history an EXPRESS machine keeps.",
            choices=("OFF", "ALL", "ERROR", "FATAL"),
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        if not isinstance(config["definition"], dict):
            return [("/definition", "must be an object with StartAt and States")]
        return []

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        definition = config["definition"]
        if not isinstance(definition, dict):
            return []
        size = len(json.dumps(definition, ensure_ascii=False))
        if size > MAX_DEFINITION_CHARS:
            return [("/definition", f"must be at most {MAX_DEFINITION_CHARS} characters")]
        problems = asl_problems(definition)
        language = definition.get("QueryLanguage")
        if language is not None and language != config["query_language"]:
            problems.append(
                (
                    "/query_language",
                    f"the definition's QueryLanguage is {language}",
                )
            )
        if config["type"] == "EXPRESS":
            for path, resource in _resources(definition.get("States"), "/definition/States"):
                if resource.endswith(EXPRESS_FORBIDDEN) or ".sync:" in resource:
                    problems.append(
                        (path, "EXPRESS machines cannot use .sync or .waitForTaskToken tasks")
                    )
        return problems


def asl_problems(definition: dict[str, Any]) -> list[Problem]:
    """ASL errors as problems under /definition: runtime.asl.validate, else a shallow check."""
    try:
        from runtime.asl import validate
    except ImportError:
        return _shallow_asl_problems(definition)
    try:
        errors = validate(definition)
    except Exception as error:  # a validator may raise one error carrying the list
        errors = getattr(error, "errors", None) or [("", str(error))]
    return [_as_problem(error) for error in errors or ()]


def _as_problem(error: Any) -> Problem:
    if isinstance(error, tuple | list) and len(error) == 2:
        path, message = error
    elif isinstance(error, dict):
        path, message = error.get("path", ""), error.get("message", error)
    else:
        path = getattr(error, "path", getattr(error, "pointer", ""))
        message = getattr(error, "message", None) or str(error)
    return ("/definition" + _pointer(path), str(message))


def _pointer(path: Any) -> str:
    if isinstance(path, tuple | list):
        return "".join(f"/{part}" for part in path)
    path = str(path or "")
    if path.startswith("$"):
        path = path[1:].replace(".", "/")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def _shallow_asl_problems(definition: dict[str, Any], where: str = "/definition") -> list[Problem]:
    start, states = definition.get("StartAt"), definition.get("States")
    problems: list[Problem] = []
    if not isinstance(states, dict) or not states:
        return [(f"{where}/States", "is required: an object of state name → state")]
    if not isinstance(start, str):
        problems.append((f"{where}/StartAt", "is required: the name of the first state"))
    elif start not in states:
        problems.append((f"{where}/StartAt", f"names {start!r}, which is not a state"))
    for name, state in states.items():
        here = f"{where}/States/{name}"
        if not isinstance(state, dict):
            problems.append((here, "must be an object"))
            continue
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            problems.append((f"{here}/Type", "must be one of " + ", ".join(sorted(STATE_TYPES))))
            continue
        nxt = state.get("Next")
        if nxt is not None and nxt not in states:
            problems.append((f"{here}/Next", f"names {nxt!r}, which is not a state"))
        terminal = kind in ("Choice", "Succeed", "Fail")
        if not terminal and nxt is None and state.get("End") is not True:
            problems.append((here, "needs Next or End: true"))
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, dict):
                problems.extend(_shallow_asl_problems(branch, f"{here}/Branches/{index}"))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                problems.extend(_shallow_asl_problems(state[key], f"{here}/{key}"))
    return problems


def _resources(states: Any, where: str) -> Iterator[tuple[str, str]]:
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{where}/{name}"
        if isinstance(state.get("Resource"), str):
            yield f"{here}/Resource", state["Resource"]
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, dict):
                yield from _resources(branch.get("States"), f"{here}/Branches/{index}/States")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _resources(state[key].get("States"), f"{here}/{key}/States")
