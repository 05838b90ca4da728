"""State machine definition validation (spec §6.1), reporting every problem at once.

Each problem is a `ValidationError` with the JSON-pointer-like location AWS uses
("/States/Foo/Next"), a message and the AWS diagnostic code. Messages follow AWS wording where
it is known and statelint's otherwise (e.g. `may have only one of ["Error", "ErrorPath"]`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from runtime.asl.choice import COMPARISONS, PATH_COMPARISONS, TYPE_TESTS
from runtime.asl.errors import ALL
from runtime.asl.intrinsics import IntrinsicSyntaxError, is_intrinsic, parse_intrinsic
from runtime.asl.jsonata_mode import JSONATA, JSONPATH, check_syntax, is_expression
from runtime.asl.paths import PathSyntaxError, parse_path
from runtime.asl.timestamps import parse_timestamp

SCHEMA = "SCHEMA_VALIDATION_FAILED"
MISSING_TARGET = "MISSING_TRANSITION_TARGET"
UNREACHABLE = "UNREACHABLE_STATE"
DUPLICATE = "DUPLICATE_STATE_NAME"
INVALID_JSON = "INVALID_JSON_DESCRIPTION"

MAX_STATE_NAME = 80
MAX_LABEL = 40
STATE_TYPES = ("Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map")
TOP_LEVEL_FIELDS = {"Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage"}
SCOPE_FIELDS = {"Comment", "StartAt", "States"}
PROCESSOR_FIELDS = {"Comment", "StartAt", "States", "ProcessorConfig"}
RETRIER_FIELDS = {
    "ErrorEquals",
    "IntervalSeconds",
    "MaxAttempts",
    "BackoffRate",
    "MaxDelaySeconds",
    "JitterStrategy",
    "Comment",
}
_LABEL_FORBIDDEN = (
    frozenset(' "#$%&*,:;<>?[\\]^`{|}~')
    | {chr(c) for c in range(0x20)}
    | {chr(c) for c in range(0x7F, 0xA0)}
)
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_COMMON = {"Type", "Comment", "QueryLanguage"}
_TRANSITION = {"Next", "End"}
_IO_PATHS = {"InputPath", "OutputPath"}

# Fields each state type accepts, by query language (spec §6.1 table plus JSONata's fields).
_JSONPATH_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _TRANSITION | _IO_PATHS | {"Parameters", "ResultPath", "Result", "Assign"},
    "Task": _COMMON
    | _TRANSITION
    | _IO_PATHS
    | {
        "Resource",
        "Parameters",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "TimeoutSecondsPath",
        "HeartbeatSeconds",
        "HeartbeatSecondsPath",
        "Credentials",
        "Assign",
    },
    "Choice": _COMMON | _IO_PATHS | {"Choices", "Default", "Assign"},
    "Wait": _COMMON
    | _TRANSITION
    | _IO_PATHS
    | {"Seconds", "Timestamp", "SecondsPath", "TimestampPath", "Assign"},
    "Succeed": _COMMON | _IO_PATHS,
    "Fail": _COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    "Parallel": _COMMON
    | _TRANSITION
    | _IO_PATHS
    | {"Branches", "Parameters", "ResultSelector", "ResultPath", "Retry", "Catch", "Assign"},
    "Map": _COMMON
    | _TRANSITION
    | _IO_PATHS
    | {
        "ItemProcessor",
        "Iterator",
        "ItemsPath",
        "ItemSelector",
        "Parameters",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "MaxConcurrencyPath",
        "ToleratedFailureCount",
        "ToleratedFailureCountPath",
        "ToleratedFailurePercentage",
        "ToleratedFailurePercentagePath",
        "Label",
        "ResultSelector",
        "ResultPath",
        "Retry",
        "Catch",
        "Assign",
    },
}
_JSONATA_FIELDS: dict[str, set[str]] = {
    "Pass": _COMMON | _TRANSITION | {"Output", "Assign"},
    "Task": _COMMON
    | _TRANSITION
    | {
        "Resource",
        "Arguments",
        "Output",
        "Assign",
        "Retry",
        "Catch",
        "TimeoutSeconds",
        "HeartbeatSeconds",
        "Credentials",
    },
    "Choice": _COMMON | {"Choices", "Default", "Output", "Assign"},
    "Wait": _COMMON | _TRANSITION | {"Seconds", "Timestamp", "Output", "Assign"},
    "Succeed": _COMMON | {"Output"},
    "Fail": _COMMON | {"Error", "Cause"},
    "Parallel": _COMMON
    | _TRANSITION
    | {"Branches", "Arguments", "Output", "Assign", "Retry", "Catch"},
    "Map": _COMMON
    | _TRANSITION
    | {
        "ItemProcessor",
        "Iterator",
        "Items",
        "ItemSelector",
        "ItemReader",
        "ItemBatcher",
        "ResultWriter",
        "MaxConcurrency",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "Label",
        "Output",
        "Assign",
        "Retry",
        "Catch",
    },
}
_EXCLUSIVE = {
    "Task": [
        ("TimeoutSeconds", "TimeoutSecondsPath"),
        ("HeartbeatSeconds", "HeartbeatSecondsPath"),
    ],
    "Fail": [("Error", "ErrorPath"), ("Cause", "CausePath")],
    "Map": [
        ("ItemProcessor", "Iterator"),
        ("ItemSelector", "Parameters"),
        ("MaxConcurrency", "MaxConcurrencyPath"),
        ("ToleratedFailureCount", "ToleratedFailureCountPath"),
        ("ToleratedFailurePercentage", "ToleratedFailurePercentagePath"),
    ],
}


@dataclass(frozen=True)
class ValidationError:
    """One problem in a definition: where (`path`), what (`message`) and AWS's `code`."""

    path: str
    message: str
    code: str = SCHEMA

    def __str__(self) -> str:
        return f"{self.code}: {self.message} at {self.path or '/'}"


def validate(
    definition: dict[str, Any] | str, *, state_machine_type: str = "STANDARD"
) -> list[ValidationError]:
    """Every problem in `definition` (a dict or JSON text); an empty list means it is valid."""
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except ValueError as error:
            return [_json_error(definition, error)]
    if not isinstance(definition, dict):
        return [ValidationError("", "Definition must be a valid JSON object")]
    checker = _Checker(definition.get("QueryLanguage", JSONPATH), state_machine_type)
    checker.machine(definition)
    return checker.errors


def _json_error(text: str, error: ValueError) -> ValidationError:
    if not text.strip():
        return ValidationError("", "Definition must be a valid JSON object")
    position = getattr(error, "pos", 0)
    line, column = getattr(error, "lineno", 1), getattr(error, "colno", 1)
    token = re.match(r"[A-Za-z0-9_$.+-]+", text[position:])
    if token and str(error).startswith("Expecting value"):
        # Jackson's wording, which is what AWS reports for text that is not JSON at all.
        source = f'[Source: (String)"{text}"; line: {line}, column: {column + len(token.group())}]'
        message = (
            f"Unrecognized token '{token.group()}': was expecting (JSON String, Number, Array, "
            f"Object or token 'null', 'true' or 'false')\n at {source}"
        )
        return ValidationError("", message, INVALID_JSON)
    return ValidationError("", f"Invalid JSON: {error}", INVALID_JSON)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Checker:
    def __init__(self, query_language: Any, machine_type: str) -> None:
        self.errors: list[ValidationError] = []
        self.query_language = query_language if query_language in (JSONPATH, JSONATA) else JSONPATH
        self.machine_type = machine_type
        self.names: set[str] = set()

    def add(self, path: str, message: str, code: str = SCHEMA) -> None:
        self.errors.append(ValidationError(path or "/", message, code))

    # --- machine and scopes -----------------------------------------------------------------

    def machine(self, definition: dict[str, Any]) -> None:
        missing = [name for name in ("States", "StartAt") if name not in definition]
        if missing:
            self.add("/", f"These fields are required: [{', '.join(missing)}]")
        for key in definition:
            if key not in TOP_LEVEL_FIELDS:
                self.add("/", f'The field "{key}" is not supported by Step Functions')
        self._top_level_values(definition)
        if not missing:
            self.scope(definition, "")

    def _top_level_values(self, definition: dict[str, Any]) -> None:
        if "Comment" in definition and not isinstance(definition["Comment"], str):
            self.add("/Comment", 'The field "Comment" must be a string')
        if "Version" in definition and definition["Version"] != "1.0":
            self.add("/Version", 'The field "Version" must be "1.0"')
        timeout = definition.get("TimeoutSeconds")
        if "TimeoutSeconds" in definition and not (_is_int(timeout) and timeout > 0):
            self.add("/TimeoutSeconds", 'The field "TimeoutSeconds" must be a positive integer')
        language = definition.get("QueryLanguage", JSONPATH)
        if language not in (JSONPATH, JSONATA):
            self.add("/QueryLanguage", 'The field "QueryLanguage" must be "JSONPath" or "JSONata"')

    def scope(self, scope: dict[str, Any], path: str, fields: set[str] | None = None) -> None:
        """A set of states with its StartAt: the machine, a branch or an item processor."""
        if fields is not None:
            for key in scope:
                if key not in fields:
                    self.add(path, f'The field "{key}" is not supported by Step Functions')
            for key in ("StartAt", "States"):
                if key not in scope:
                    self.add(path, f"These fields are required: [{key}]")
        states, start = scope.get("States"), scope.get("StartAt")
        if not isinstance(states, dict):
            if "States" in scope:
                self.add(f"{path}/States", 'The field "States" must be an object')
            return
        if not isinstance(start, str):
            if "StartAt" in scope:
                self.add(f"{path}/StartAt", 'The field "StartAt" must be a string')
        elif start not in states:
            self.add(f"{path}/StartAt", f"Missing 'StartAt' target: {start}", MISSING_TARGET)
        for name, state in states.items():
            self.state(name, state, f"{path}/States/{name}", states)
        if isinstance(start, str) and start in states:
            for name in states:
                if name not in _reachable(start, states):
                    self.add(
                        f"{path}/States/{name}", f"State '{name}' is not reachable", UNREACHABLE
                    )

    # --- states -------------------------------------------------------------------------

    def state(self, name: str, state: Any, path: str, siblings: dict[str, Any]) -> None:
        if len(name) > MAX_STATE_NAME or not name:
            self.add(path, f"State name must be 1 to {MAX_STATE_NAME} characters long")
        if name in self.names:
            self.add(path, f"State name '{name}' is used more than once", DUPLICATE)
        self.names.add(name)
        if not isinstance(state, dict):
            self.add(path, "A state must be a JSON object")
            return
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            self.add(f"{path}/Type", f'The field "Type" must be one of {list(STATE_TYPES)}')
            return
        language = self._language(state, path)
        allowed = (_JSONATA_FIELDS if language == JSONATA else _JSONPATH_FIELDS)[kind]
        for key in state:
            if key not in allowed:
                self.add(path, self._unsupported(key, kind, language))
        for first, second in _EXCLUSIVE.get(kind, []):
            if first in state and second in state:
                self.add(path, f'State may have only one of ["{first}", "{second}"]')
        state = {key: value for key, value in state.items() if key in allowed}
        self._transition(kind, state, path, siblings)
        if language == JSONATA:
            self._jsonata_fields(state, path)
        else:
            self._jsonpath_fields(state, path)
        getattr(self, f"_{kind.lower()}")(state, path, siblings, language)
        self._error_handling(state, path, siblings, language)

    def _language(self, state: dict[str, Any], path: str) -> str:
        language = state.get("QueryLanguage", self.query_language)
        if language not in (JSONPATH, JSONATA):
            self.add(path, 'The field "QueryLanguage" must be "JSONPath" or "JSONata"')
            return self.query_language
        if language == JSONPATH and self.query_language == JSONATA:
            self.add(
                path,
                "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
            )
        return language

    def _unsupported(self, key: str, kind: str, language: str) -> str:
        other = _JSONPATH_FIELDS if language == JSONATA else _JSONATA_FIELDS
        if key in other[kind]:
            return f'The field "{key}" is not supported when QueryLanguage is {language}'
        return f'The field "{key}" is not supported by Step Functions in a {kind} state'

    def _transition(
        self, kind: str, state: dict[str, Any], path: str, siblings: dict[str, Any]
    ) -> None:
        if kind in ("Choice", "Succeed", "Fail"):
            return
        has_next, has_end = "Next" in state, "End" in state
        if has_next and has_end:
            self.add(path, 'State may have only one of ["Next", "End"]')
        elif not has_next and not has_end:
            self.add(path, 'State must have either "Next" or "End": true')
        if has_end and state["End"] is not True:
            self.add(f"{path}/End", 'The field "End" must be true')
        if has_next:
            self._target(state["Next"], f"{path}/Next", siblings)

    def _target(self, target: Any, path: str, siblings: dict[str, Any]) -> None:
        if not isinstance(target, str):
            self.add(path, "A transition target must be a state name")
        elif target not in siblings:
            self.add(path, f"Missing 'Next' target: {target}", MISSING_TARGET)

    # --- data-processing fields -----------------------------------------------------------

    def _jsonpath_fields(self, state: dict[str, Any], path: str) -> None:
        for key in ("InputPath", "OutputPath"):
            if key in state and state[key] is not None:
                self._path(state[key], f"{path}/{key}", key)
        if state.get("ResultPath") is not None:
            self._result_path(state["ResultPath"], f"{path}/ResultPath")
        for key in ("Parameters", "ResultSelector", "ItemSelector"):
            if key in state:
                self._template(state[key], f"{path}/{key}")
        if "Assign" in state:
            self._assign(state["Assign"], f"{path}/Assign", JSONPATH)

    def _jsonata_fields(self, state: dict[str, Any], path: str) -> None:
        for key in ("Arguments", "Output", "Items", "ItemSelector"):
            if key in state:
                self._expressions(state[key], f"{path}/{key}")
        if "Assign" in state:
            self._assign(state["Assign"], f"{path}/Assign", JSONATA)

    def _path(self, value: Any, path: str, key: str, *, reference: bool = False) -> None:
        try:
            parsed = parse_path(value) if isinstance(value, str) else None
        except PathSyntaxError:
            parsed = None
        if parsed is None:
            kind = "reference path" if reference else "JSONPath"
            self.add(path, f'The value of "{key}" is not a valid {kind}: {json.dumps(value)}')
        elif reference and not parsed.definite:
            self.add(path, f'The value of "{key}" must be a reference path (a single node)')

    def _result_path(self, value: Any, path: str) -> None:
        try:
            parsed = parse_path(value) if isinstance(value, str) else None
        except PathSyntaxError:
            parsed = None
        if parsed is None or not parsed.definite or parsed.root != "$":
            self.add(path, f'The value of "ResultPath" is not a valid reference path: {value!r}')

    def _expression(self, value: Any, path: str, key: str) -> None:
        """A `.$` value: a JSONPath, context path, variable or intrinsic function call."""
        if isinstance(value, str) and is_intrinsic(value):
            try:
                parse_intrinsic(value)
                return
            except IntrinsicSyntaxError:
                pass
        elif isinstance(value, str):
            try:
                parse_path(value)
                return
            except PathSyntaxError:
                pass
        self.add(path, f'The value of "{key}" is not a JSONPath or intrinsic function expression')

    def _template(self, template: Any, path: str) -> None:
        if isinstance(template, dict):
            for key, value in template.items():
                if key.endswith(".$"):
                    self._expression(value, f"{path}/{key}", key)
                else:
                    self._template(value, f"{path}/{key}")
        elif isinstance(template, list):
            for index, item in enumerate(template):
                self._template(item, f"{path}/{index}")

    def _assign(self, assign: Any, path: str, language: str) -> None:
        if not isinstance(assign, dict):
            self.add(path, 'The field "Assign" must be an object')
            return
        for key, value in assign.items():
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            if not _VARIABLE_NAME.fullmatch(name):
                self.add(f"{path}/{key}", f"The variable name '{name}' is not valid")
            elif name == "states":
                self.add(f"{path}/{key}", "The variable name 'states' is reserved")
            if language == JSONATA:
                self._expressions(value, f"{path}/{key}")
            elif key.endswith(".$"):
                self._expression(value, f"{path}/{key}", key)
            else:
                self._template(value, f"{path}/{key}")

    def _expressions(self, value: Any, path: str) -> None:
        """JSONata fields: every `{% %}` string inside must parse."""
        if is_expression(value):
            problem = check_syntax(value)
            if problem:
                self.add(
                    path, f"The JSONata expression '{value[2:-2].strip()}' is invalid: {problem}"
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                self._expressions(item, f"{path}/{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self._expressions(item, f"{path}/{index}")

    def _seconds(self, state: dict[str, Any], key: str, path: str, language: str) -> None:
        if key not in state:
            return
        value = state[key]
        if language == JSONATA and is_expression(value):
            self._expressions(value, f"{path}/{key}")
        elif not (_is_int(value) and value > 0):
            self.add(f"{path}/{key}", f'The field "{key}" must be a positive integer')

    # --- per type -------------------------------------------------------------------------

    def _pass(self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str) -> None:
        pass

    def _succeed(
        self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str
    ) -> None:
        pass

    def _fail(self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str) -> None:
        for key in ("Error", "Cause"):
            if key in state and not isinstance(state[key], str):
                self.add(f"{path}/{key}", f'The field "{key}" must be a string')
            elif key in state and lang == JSONATA:
                self._expressions(state[key], f"{path}/{key}")
            if f"{key}Path" in state:
                self._expression(state[f"{key}Path"], f"{path}/{key}Path", f"{key}Path")

    def _task(self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str) -> None:
        resource = state.get("Resource")
        if "Resource" not in state:
            self.add(path, "These fields are required: [Resource]")
        elif not isinstance(resource, str):
            self.add(f"{path}/Resource", 'The field "Resource" must be a string')
        elif self.machine_type == "EXPRESS":
            if ".waitForTaskToken" in resource:
                # AWS's message really ends with a space before " at".
                self.add(
                    f"{path}/Resource",
                    "Express state machine does not support '.waitForTaskToken' service "
                    "integration ",
                )
            elif ".sync" in resource:
                self.add(
                    f"{path}/Resource",
                    "Express state machine does not support '.sync' service integration",
                )
        self._seconds(state, "TimeoutSeconds", path, lang)
        self._seconds(state, "HeartbeatSeconds", path, lang)
        for key in ("TimeoutSecondsPath", "HeartbeatSecondsPath"):
            if key in state:
                self._path(state[key], f"{path}/{key}", key, reference=True)
        timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
        if _is_int(timeout) and _is_int(heartbeat) and heartbeat >= timeout:
            self.add(path, '"HeartbeatSeconds" must be smaller than "TimeoutSeconds"')
        if "Credentials" in state:
            self._credentials(state["Credentials"], f"{path}/Credentials", lang)

    def _credentials(self, credentials: Any, path: str, lang: str) -> None:
        if is_expression(credentials) and lang == JSONATA:
            self._expressions(credentials, path)
            return
        if not isinstance(credentials, dict):
            self.add(path, 'The field "Credentials" must be an object')
            return
        if "RoleArn" not in credentials and "RoleArn.$" not in credentials:
            self.add(path, "The field 'RoleArn' is required but was missing")
        if lang == JSONATA:
            self._expressions(credentials, path)
        else:
            self._template(credentials, path)

    def _choice(
        self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str
    ) -> None:
        for index, rule in enumerate(self._non_empty_array(state, "Choices", path)):
            self._rule(rule, f"{path}/Choices/{index}", siblings, lang, top=True)
        if "Default" in state:
            self._target(state["Default"], f"{path}/Default", siblings)

    def _rule(
        self, rule: Any, path: str, siblings: dict[str, Any], lang: str, *, top: bool
    ) -> None:
        if not isinstance(rule, dict):
            self.add(path, "A choice rule must be an object")
            return
        if top:
            if "Next" not in rule:
                self.add(path, 'A choice rule must have a "Next" field')
            else:
                self._target(rule["Next"], f"{path}/Next", siblings)
        elif "Next" in rule:
            self.add(path, 'Nested choice rules cannot have a "Next" field')
        if lang == JSONATA:
            self._jsonata_rule(rule, path, top)
        else:
            self._jsonpath_rule(rule, path, siblings, top)

    def _jsonata_rule(self, rule: dict[str, Any], path: str, top: bool) -> None:
        allowed = {"Condition", "Next", "Comment"} | ({"Output", "Assign"} if top else set())
        for key in rule:
            if key not in allowed:
                self.add(path, f'The field "{key}" is not supported in a JSONata choice rule')
        condition = rule.get("Condition")
        if "Condition" not in rule:
            self.add(path, "These fields are required: [Condition]")
        elif is_expression(condition):
            self._expressions(condition, f"{path}/Condition")
        elif not isinstance(condition, bool):
            self.add(f"{path}/Condition", 'The field "Condition" must be a boolean or expression')
        for key in ("Output", "Assign"):
            if key in rule and key in allowed:
                if key == "Assign":
                    self._assign(rule[key], f"{path}/{key}", JSONATA)
                else:
                    self._expressions(rule[key], f"{path}/{key}")

    def _jsonpath_rule(
        self, rule: dict[str, Any], path: str, siblings: dict[str, Any], top: bool
    ) -> None:
        combinators = [key for key in ("And", "Or", "Not") if key in rule]
        operators = [key for key in rule if key in COMPARISONS or key in PATH_COMPARISONS]
        operators += [key for key in rule if key in TYPE_TESTS]
        extra = {"Next", "Comment"} | ({"Assign"} if top else set())
        if combinators:
            known = set(combinators) | extra
            for key in rule:
                if key not in known:
                    self.add(path, f'The field "{key}" is not supported in a choice rule')
            if len(combinators) > 1:
                self.add(path, "A choice rule may have only one of And, Or and Not")
            for key in combinators:
                self._combinator(rule[key], key, f"{path}/{key}", siblings)
        else:
            self._comparison(rule, operators, path, extra)
        if top and "Assign" in rule:
            self._assign(rule["Assign"], f"{path}/Assign", JSONPATH)

    def _combinator(self, value: Any, key: str, path: str, siblings: dict[str, Any]) -> None:
        if key == "Not":
            self._rule(value, path, siblings, JSONPATH, top=False)
        elif not isinstance(value, list) or not value:
            self.add(path, f'The field "{key}" must be a non-empty array of rules')
        else:
            for index, inner in enumerate(value):
                self._rule(inner, f"{path}/{index}", siblings, JSONPATH, top=False)

    def _comparison(
        self, rule: dict[str, Any], operators: list[str], path: str, extra: set[str]
    ) -> None:
        for key in rule:
            if key not in extra and key != "Variable" and key not in operators:
                self.add(path, f'The field "{key}" is not supported in a choice rule')
        if "Variable" not in rule:
            self.add(path, "A comparison rule requires a Variable field")
        else:
            self._path(rule["Variable"], f"{path}/Variable", "Variable", reference=True)
        if len(operators) != 1:
            self.add(path, "A comparison rule must have exactly one comparison operator")
            return
        operator = operators[0]
        self._operand(operator, rule[operator], f"{path}/{operator}")

    def _operand(self, operator: str, value: Any, path: str) -> None:
        if operator in PATH_COMPARISONS:
            self._path(value, path, operator, reference=True)
        elif operator in TYPE_TESTS or operator == "BooleanEquals":
            if not isinstance(value, bool):
                self.add(path, f'The value of "{operator}" must be a boolean')
        elif operator.startswith("Numeric"):
            if not _is_number(value):
                self.add(path, f'The value of "{operator}" must be a number')
        elif operator.startswith("Timestamp"):
            if parse_timestamp(value) is None:
                self.add(path, f'The value of "{operator}" must be an ISO-8601 timestamp')
        elif not isinstance(value, str):
            self.add(path, f'The value of "{operator}" must be a string')

    def _wait(self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str) -> None:
        keys = ("Seconds", "Timestamp", "SecondsPath", "TimestampPath")
        present = [key for key in keys if key in state]
        if len(present) != 1:
            choices = list(keys[:2] if lang == JSONATA else keys)
            self.add(path, f"A Wait state must have exactly one of {choices}")
        for key in present:
            value, where = state[key], f"{path}/{key}"
            if lang == JSONATA and is_expression(value):
                self._expressions(value, where)
            elif key == "Seconds" and not (_is_int(value) and value >= 0):
                self.add(where, 'The field "Seconds" must be a non-negative integer')
            elif key == "Timestamp" and parse_timestamp(value) is None:
                self.add(
                    where, 'The field "Timestamp" must be an ISO-8601 extended offset date-time'
                )
            elif key.endswith("Path"):
                self._path(value, where, key, reference=True)

    def _parallel(
        self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str
    ) -> None:
        for index, branch in enumerate(self._non_empty_array(state, "Branches", path)):
            where = f"{path}/Branches/{index}"
            if isinstance(branch, dict):
                self.scope(branch, where, SCOPE_FIELDS)
            else:
                self.add(where, "A branch must be an object")

    def _non_empty_array(self, state: dict[str, Any], key: str, path: str) -> list[Any]:
        """The state's required, non-empty array field; no items when it is missing or not one."""
        value = state.get(key)
        if key not in state:
            self.add(path, f"These fields are required: [{key}]")
            return []
        if not isinstance(value, list) or not value:
            self.add(f"{path}/{key}", f'The field "{key}" must be a non-empty array')
            return []
        return value

    def _map(self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str) -> None:
        key = "ItemProcessor" if "ItemProcessor" in state else "Iterator"
        processor = state.get(key)
        if "ItemProcessor" not in state and "Iterator" not in state:
            self.add(path, "These fields are required: [ItemProcessor]")
        elif not isinstance(processor, dict):
            self.add(f"{path}/{key}", f'The field "{key}" must be an object')
        else:
            self._processor(processor, f"{path}/{key}")
        if "ItemsPath" in state:
            self._items_path(state["ItemsPath"], f"{path}/ItemsPath")
        for field in ("MaxConcurrency", "ToleratedFailureCount", "ToleratedFailurePercentage"):
            self._map_number(state, field, path, lang)
        for field in ("MaxConcurrencyPath", "ToleratedFailureCountPath"):
            if field in state:
                self._path(state[field], f"{path}/{field}", field, reference=True)
        if "ToleratedFailurePercentagePath" in state:
            field = "ToleratedFailurePercentagePath"
            self._path(state[field], f"{path}/{field}", field, reference=True)
        if "Label" in state:
            self._label(state["Label"], f"{path}/Label")

    def _processor(self, processor: dict[str, Any], path: str) -> None:
        self.scope(processor, path, PROCESSOR_FIELDS)
        config = processor.get("ProcessorConfig")
        if config is None:
            return
        if not isinstance(config, dict):
            self.add(f"{path}/ProcessorConfig", 'The field "ProcessorConfig" must be an object')
            return
        if config.get("Mode", "INLINE") not in ("INLINE", "DISTRIBUTED"):
            self.add(f"{path}/ProcessorConfig/Mode", 'Mode must be "INLINE" or "DISTRIBUTED"')
        if config.get("ExecutionType", "STANDARD") not in ("STANDARD", "EXPRESS"):
            self.add(
                f"{path}/ProcessorConfig/ExecutionType",
                'ExecutionType must be "STANDARD" or "EXPRESS"',
            )

    def _items_path(self, value: Any, path: str) -> None:
        if value is None:
            self.add(path, 'The field "ItemsPath" must be a reference path, not null')
        else:
            self._path(value, path, "ItemsPath", reference=True)

    def _map_number(self, state: dict[str, Any], field: str, path: str, lang: str) -> None:
        if field not in state:
            return
        value = state[field]
        if lang == JSONATA and is_expression(value):
            self._expressions(value, f"{path}/{field}")
            return
        valid = _is_int(value) and value >= 0
        if field == "ToleratedFailurePercentage":
            valid = _is_number(value) and 0 <= value <= 100
        if not valid:
            self.add(f"{path}/{field}", f'The field "{field}" has an invalid value: {value!r}')

    def _label(self, label: Any, path: str) -> None:
        if not isinstance(label, str):
            self.add(path, 'The field "Label" must be a string')
        elif not label:
            self.add(path, "Label cannot be empty")
        elif len(label) > MAX_LABEL:
            self.add(path, f"Label cannot exceed {MAX_LABEL} characters")
        else:
            bad = next((char for char in label if char in _LABEL_FORBIDDEN), None)
            if bad is not None:
                self.add(path, f"Label contains invalid character: {bad!r}")

    # --- Retry and Catch ------------------------------------------------------------------

    def _error_handling(
        self, state: dict[str, Any], path: str, siblings: dict[str, Any], lang: str
    ) -> None:
        for key in ("Retry", "Catch"):
            if key not in state:
                continue
            handlers = state[key]
            if not isinstance(handlers, list):
                self.add(f"{path}/{key}", f'The field "{key}" must be an array')
                continue
            for index, handler in enumerate(handlers):
                where = f"{path}/{key}/{index}"
                if not isinstance(handler, dict):
                    self.add(where, f"A {key} entry must be an object")
                    continue
                last = index == len(handlers) - 1
                self._error_equals(handler, where, last)
                if key == "Retry":
                    self._retrier(handler, where)
                else:
                    self._catcher(handler, where, siblings, lang)

    def _error_equals(self, handler: dict[str, Any], path: str, last: bool) -> None:
        names = handler.get("ErrorEquals")
        if "ErrorEquals" not in handler:
            self.add(path, "These fields are required: [ErrorEquals]")
        elif not isinstance(names, list) or not names:
            self.add(f"{path}/ErrorEquals", 'The field "ErrorEquals" is empty: non-empty required')
        elif not all(isinstance(name, str) for name in names):
            self.add(f"{path}/ErrorEquals", 'The field "ErrorEquals" must list error names')
        elif ALL in names and (len(names) > 1 or not last):
            self.add(
                f"{path}/ErrorEquals",
                f'"{ALL}" must appear alone in ErrorEquals and only in the last entry',
            )

    def _retrier(self, retrier: dict[str, Any], path: str) -> None:
        for key in retrier:
            if key not in RETRIER_FIELDS:
                self.add(path, f'The field "{key}" is not supported in a retrier')
        checks = {
            "IntervalSeconds": (lambda v: _is_int(v) and v >= 1, "allowed minimum is 1"),
            "MaxAttempts": (lambda v: _is_int(v) and v >= 0, "allowed floor is 0"),
            "BackoffRate": (lambda v: _is_number(v) and v >= 1, "allowed minimum is 1"),
            "MaxDelaySeconds": (lambda v: _is_int(v) and v > 0, "allowed floor is 0"),
        }
        for key, (valid, rule) in checks.items():
            if key in retrier and not valid(retrier[key]):
                self.add(f"{path}/{key}", f'The field "{key}" has value {retrier[key]!r}: {rule}')
        jitter = retrier.get("JitterStrategy")
        if "JitterStrategy" in retrier and jitter not in ("FULL", "NONE"):
            self.add(
                f"{path}/JitterStrategy",
                f'The field "JitterStrategy" is {jitter!r}, not one of the allowed values '
                '["FULL", "NONE"]',
            )

    def _catcher(
        self, catcher: dict[str, Any], path: str, siblings: dict[str, Any], lang: str
    ) -> None:
        allowed = {"ErrorEquals", "Next", "Comment", "Assign"}
        allowed |= {"Output"} if lang == JSONATA else {"ResultPath"}
        for key in catcher:
            if key not in allowed:
                self.add(path, f'The field "{key}" is not supported in a catcher')
        if "Next" not in catcher:
            self.add(path, "These fields are required: [Next]")
        else:
            self._target(catcher["Next"], f"{path}/Next", siblings)
        if catcher.get("ResultPath") is not None and lang == JSONPATH:
            self._result_path(catcher["ResultPath"], f"{path}/ResultPath")
        if "Assign" in catcher:
            self._assign(catcher["Assign"], f"{path}/Assign", lang)
        if "Output" in catcher and lang == JSONATA:
            self._expressions(catcher["Output"], f"{path}/Output")


def _reachable(start: str, states: dict[str, Any]) -> set[str]:
    seen, pending = {start}, [start]
    while pending:
        state = states.get(pending.pop())
        if not isinstance(state, dict):
            continue
        for target in _targets(state):
            if isinstance(target, str) and target in states and target not in seen:
                seen.add(target)
                pending.append(target)
    return seen


def _targets(state: dict[str, Any]) -> list[Any]:
    targets = [state.get("Next"), state.get("Default")]
    for key in ("Choices", "Catch"):
        if isinstance(state.get(key), list):
            targets += [rule.get("Next") for rule in state[key] if isinstance(rule, dict)]
    return targets
