"""JSONata query language (spec §6.11): `{% %}` expressions, `$states` and AWS's extra functions.

Expressions are evaluated with the `jsonata-python` package. Failures, and expressions that return
nothing, raise States.QueryEvaluationError with the cause wording AWS uses.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from jsonata.functions import Functions
from jsonata.jsonata import Jsonata
from jsonata.utils import Utils

from runtime.asl.errors import query_error
from runtime.asl.intrinsics import HASH_ALGORITHMS, MAX_ARRAY_RANGE
from runtime.asl.payload import to_json

JSONATA = "JSONata"
JSONPATH = "JSONPath"


class FunctionError(ValueError):
    """An AWS-provided JSONata function ($partition, $range, ...) rejected its arguments."""


class UndefinedResult(Exception):
    """The expression evaluated to JSONata's `undefined` (nothing)."""


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{%") and value.endswith("%}")


def expression_body(value: str) -> str:
    return value[2:-2].strip()


@lru_cache(maxsize=2048)
def compile_expression(body: str) -> Jsonata:
    """Parse once; raises jsonata.JException on a syntax error."""
    expression = Jsonata(body)
    expression.set_output_convert_nulls(False)
    for name, function in _STATIC_FUNCTIONS.items():
        expression.register_lambda(name, function)
    return expression


def check_syntax(value: str) -> str | None:
    """The parse error of a `{% %}` expression, or None when it compiles."""
    try:
        compile_expression(expression_body(value))
    except Exception as error:  # jsonata raises JException and, on odd input, plain errors
        return str(error)
    return None


class Evaluator:
    """Evaluates expressions for one execution: owns the clock- and RNG-backed functions."""

    def __init__(self, now_millis: Callable[[], int], rng: random.Random) -> None:
        self._functions = {
            "now": Jsonata.JLambda(
                lambda picture=None, tz=None: Functions.datetime_from_millis(
                    now_millis(), picture, tz
                )
            ),
            "millis": Jsonata.JLambda(now_millis),
            "random": Jsonata.JLambda(lambda seed=None: _random(rng, seed)),
            "uuid": Jsonata.JLambda(lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))),
        }

    def evaluate(self, value: str, states: dict[str, Any], variables: Mapping[str, Any]) -> Any:
        """Evaluate one `{% %}` string; raises UndefinedResult or jsonata's exception."""
        expression = compile_expression(expression_body(value))
        bindings: dict[str, Any] = dict(self._functions)
        for name, variable in variables.items():
            bindings[name] = Utils.NULL_VALUE if variable is None else variable
        bindings["states"] = states
        result = expression.evaluate(None, bindings)
        if result is None:
            raise UndefinedResult
        return _plain(Utils.convert_nulls(result))

    def resolve(
        self,
        value: Any,
        states: dict[str, Any],
        variables: Mapping[str, Any],
        field: str,
    ) -> Any:
        """Resolve a JSONata-mode field: expressions anywhere inside it are evaluated."""
        if is_expression(value):
            return self._evaluate_field(value, states, variables, field)
        if isinstance(value, dict):
            return {
                key: self.resolve(item, states, variables, f"{field}/{key}")
                for key, item in value.items()
            }
        if isinstance(value, list):
            return [
                self.resolve(item, states, variables, f"{field}/{index}")
                for index, item in enumerate(value)
            ]
        return value

    def _evaluate_field(
        self, value: str, states: dict[str, Any], variables: Mapping[str, Any], field: str
    ) -> Any:
        body = expression_body(value)
        try:
            result = self.evaluate(value, states, variables)
        except UndefinedResult:
            raise query_error(
                f"The JSONata expression '{body}' specified for the field '{field}' "
                "returned nothing (undefined)."
            ) from None
        except Exception as error:  # any jsonata failure is a query evaluation error
            raise query_error(
                f"The JSONata expression '{body}' specified for the field '{field}' "
                f"threw an error during evaluation. {_describe(error)}"
            ) from None
        if isinstance(result, _Unsupported):
            raise query_error(
                f"The JSONata expression '{body}' specified for the field '{field}' "
                "returned an unsupported result type."
            )
        return result


class _Unsupported:
    """Marker for results JSON cannot carry (functions, regexes)."""


def _describe(error: Exception) -> str:
    code = getattr(error, "error", None)
    return f"{code}: {error}" if code else str(error)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | bool | int | float):
        return value
    return _Unsupported()


def json_type_name(value: Any) -> str:
    """The type word AWS uses in "Expected 'array', but was 'object'"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def render_value(value: Any) -> str:
    return to_json(value)


def _sequence(items: list[Any]) -> list[Any]:
    # A JSONata sequence, so a one-item result collapses to the item as AWS's functions do.
    return Utils.create_sequence_from_iter(items)


def _partition(array: Any, size: Any) -> Any:
    if not isinstance(array, list) or not _is_int(size) or size <= 0:
        raise FunctionError("$partition expects an array and a positive size")
    size = int(size)
    return [array[index : index + size] for index in range(0, len(array), size)]


def _range(start: Any, end: Any, step: Any = 1) -> Any:
    if not (_is_int(start) and _is_int(end) and _is_int(step)) or step == 0:
        raise FunctionError("$range expects integers and a non-zero step")
    start, end, step = int(start), int(end), int(step)
    items = list(range(start, end + (1 if step > 0 else -1), step))
    if len(items) > MAX_ARRAY_RANGE:
        raise FunctionError(f"$range is limited to {MAX_ARRAY_RANGE} items")
    return _sequence(items)


def _hash(data: Any, algorithm: Any = "SHA-256") -> str:
    if not isinstance(data, str) or algorithm not in HASH_ALGORITHMS:
        raise FunctionError("$hash expects a string and a known algorithm")
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode()).hexdigest()


def _parse(text: Any) -> Any:
    if not isinstance(text, str):
        raise FunctionError("$parse expects a string")
    try:
        parsed = json.loads(text)
    except ValueError as error:
        raise FunctionError(f"$parse: invalid JSON ({error})") from None
    return Utils.NULL_VALUE if parsed is None else parsed


def _random(rng: random.Random, seed: Any) -> float:
    return random.Random(seed).random() if seed is not None else rng.random()


def _eval_unavailable(*args: Any) -> Any:
    raise FunctionError("$eval is not available in Step Functions")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


_STATIC_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _partition,
    "range": _range,
    "hash": _hash,
    "parse": _parse,
    "eval": _eval_unavailable,
}
