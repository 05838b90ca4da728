"""JSONPath-mode data processing: payload templates (`.$` keys) and the path fields of 6.3."""

from __future__ import annotations

import json
from typing import Any

from runtime.asl.errors import runtime_error
from runtime.asl.intrinsics import Scope, evaluate_intrinsic, is_intrinsic
from runtime.asl.paths import PathNotFound, PathSyntaxError, parse_path


def to_json(value: Any) -> str:
    """Compact JSON text, the form AWS uses in history events and causes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def evaluate_expression(expression: Any, scope: Scope, field: str) -> Any:
    """Value of a `.$` field: a JSONPath, `$$` context path, `$variable` or intrinsic call."""
    if is_intrinsic(expression):
        return evaluate_intrinsic(expression, scope)
    try:
        path = parse_path(expression)
    except PathSyntaxError as error:
        raise runtime_error(str(error)) from None
    try:
        return path.evaluate(scope.data, context=scope.context, variables=scope.variables)
    except PathNotFound:
        raise runtime_error(
            f"The JSONPath '{expression}' specified for the field '{field}' "
            f"could not be found in the input '{to_json(scope.data)}'"
        ) from None


def evaluate_template(template: Any, scope: Scope) -> Any:
    """Build a payload template: keys ending in `.$` are evaluated, everything else is literal."""
    if isinstance(template, dict):
        result: dict[str, Any] = {}
        for key, value in template.items():
            if key.endswith(".$"):
                result[key[:-2]] = evaluate_expression(value, scope, key)
            else:
                result[key] = evaluate_template(value, scope)
        return result
    if isinstance(template, list):
        return [evaluate_template(item, scope) for item in template]
    return template


def select_path(path_text: str | None, scope: Scope) -> Any:
    """InputPath / OutputPath: `null` selects `{}`, a missing node is States.Runtime."""
    if path_text is None:
        return {}
    if path_text == "$":
        return scope.data
    try:
        path = parse_path(path_text)
        return path.evaluate(scope.data, context=scope.context, variables=scope.variables)
    except PathSyntaxError as error:
        raise runtime_error(str(error)) from None
    except PathNotFound as missing:
        raise runtime_error(f"Invalid path '{path_text}' : {missing.jayway}") from None


def read_reference(path_text: str, scope: Scope) -> Any:
    """Value at a reference path; raises PathNotFound so callers can word their own cause."""
    path = parse_path(path_text)
    return path.evaluate(scope.data, context=scope.context, variables=scope.variables)


def read_parameter(field: str, path_text: str, scope: Scope) -> Any:
    """Value a ``…Path`` parameter (``SecondsPath``, ``TimeoutSecondsPath``…) references; a missing
    one is States.Runtime."""
    try:
        return read_reference(path_text, scope)
    except PathNotFound:
        raise runtime_error(
            f"The {field} parameter does not reference an input value: {path_text}"
        ) from None
