"""Choice rules of JSONPath mode (spec §6.6): comparisons, type tests and And/Or/Not.

A type mismatch is never an error, only false. A missing `Variable` (or `...Path` operand) is
States.Runtime, except under `IsPresent`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from runtime.asl.errors import runtime_error
from runtime.asl.intrinsics import Scope
from runtime.asl.paths import PathNotFound, parse_path
from runtime.asl.timestamps import parse_timestamp

_MISSING = object()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string_key(value: str) -> bytes:
    # Java compares strings by UTF-16 code unit, which differs from code points above U+FFFF.
    return value.encode("utf-16-be", "surrogatepass")


def _numeric(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda a, b: _is_number(a) and _is_number(b) and compare(a, b)


def _string(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(a: Any, b: Any) -> bool:
        return isinstance(a, str) and isinstance(b, str) and compare(_string_key(a), _string_key(b))

    return check


def _timestamp(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def check(a: Any, b: Any) -> bool:
        left, right = parse_timestamp(a), parse_timestamp(b)
        return left is not None and right is not None and compare(left, right)

    return check


def _boolean_equals(a: Any, b: Any) -> bool:
    return isinstance(a, bool) and isinstance(b, bool) and a == b


def _string_matches(value: Any, pattern: Any) -> bool:
    return isinstance(value, str) and isinstance(pattern, str) and bool(_glob(pattern).match(value))


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    # `*` matches any run of characters; `\*` is a literal asterisk and `\\` a literal backslash.
    parts, position = [], 0
    while position < len(pattern):
        char = pattern[position]
        if char == "\\" and position + 1 < len(pattern):
            parts.append(re.escape(pattern[position + 1]))
            position += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        position += 1
    return re.compile("".join(parts) + r"\Z", re.DOTALL)


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "StringEquals": _string(lambda a, b: a == b),
    "StringLessThan": _string(lambda a, b: a < b),
    "StringGreaterThan": _string(lambda a, b: a > b),
    "StringLessThanEquals": _string(lambda a, b: a <= b),
    "StringGreaterThanEquals": _string(lambda a, b: a >= b),
    "StringMatches": _string_matches,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "BooleanEquals": _boolean_equals,
    "TimestampEquals": _timestamp(lambda a, b: a == b),
    "TimestampLessThan": _timestamp(lambda a, b: a < b),
    "TimestampGreaterThan": _timestamp(lambda a, b: a > b),
    "TimestampLessThanEquals": _timestamp(lambda a, b: a <= b),
    "TimestampGreaterThanEquals": _timestamp(lambda a, b: a >= b),
}

# The `...Path` twins compare against the value at a reference path (StringMatches has none).
PATH_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    f"{name}Path": compare for name, compare in COMPARISONS.items() if name != "StringMatches"
}

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsPresent": lambda value: value is not _MISSING,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}

OPERATORS = frozenset(COMPARISONS) | frozenset(PATH_COMPARISONS) | frozenset(TYPE_TESTS)


def rule_operator(rule: dict[str, Any]) -> str | None:
    """The comparison operator a rule uses, if it is a comparison rule."""
    return next((key for key in rule if key in OPERATORS), None)


def evaluate_rule(rule: dict[str, Any], scope: Scope) -> bool:
    """Whether a (possibly nested) choice rule matches the state's effective input."""
    if "And" in rule:
        return all(evaluate_rule(inner, scope) for inner in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(inner, scope) for inner in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], scope)
    operator = rule_operator(rule)
    if operator is None:
        raise runtime_error("The choice rule has no comparison operator.")
    variable = rule["Variable"]
    if operator in TYPE_TESTS:
        value = _resolve(variable, scope, allow_missing=operator == "IsPresent")
        return TYPE_TESTS[operator](value) == bool(rule[operator])
    value = _resolve(variable, scope, allow_missing=False)
    if operator in PATH_COMPARISONS:
        other = _resolve(rule[operator], scope, allow_missing=False)
        return PATH_COMPARISONS[operator](value, other)
    return COMPARISONS[operator](value, rule[operator])


def _resolve(path_text: str, scope: Scope, *, allow_missing: bool) -> Any:
    try:
        path = parse_path(path_text)
        return path.evaluate(scope.data, context=scope.context, variables=scope.variables)
    except PathNotFound:
        if allow_missing:
            return _MISSING
        raise runtime_error(
            f"Invalid path '{path_text}': The choice state's condition path references an "
            "invalid value."
        ) from None
