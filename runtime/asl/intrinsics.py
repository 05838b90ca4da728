"""Intrinsic functions of JSONPath mode (spec §6.5): parsing and evaluation.

Argument errors surface as `States.Runtime` with a cause that names the function, which is what
AWS reports in practice (the documented `States.IntrinsicFailure` is listed but rarely raised).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from runtime.asl.errors import runtime_error
from runtime.asl.paths import JsonPath, PathNotFound, PathSyntaxError, json_equal, parse_path

MAX_NESTING = 10
MAX_ARRAY_RANGE = 1000
MAX_ENCODE_INPUT = 10_000
HASH_ALGORITHMS = {
    "MD5": "md5",
    "SHA-1": "sha1",
    "SHA-256": "sha256",
    "SHA-384": "sha384",
    "SHA-512": "sha512",
}


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


@dataclass(frozen=True)
class Literal:
    value: Any
    raw: str | None = None  # string literals keep their escapes for States.Format


@dataclass(frozen=True)
class PathArg:
    path: JsonPath


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Literal | PathArg | Call, ...]
    text: str


@dataclass
class Scope:
    """What an intrinsic can read besides its arguments."""

    data: Any
    context: Any = None
    variables: Mapping[str, Any] | None = None
    rng: random.Random | None = None


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.")


@lru_cache(maxsize=2048)
def parse_intrinsic(text: str) -> Call:
    parser = _Parser(text)
    call = parser.call(depth=1)
    parser.skip_spaces()
    if parser.pos != len(text):
        raise IntrinsicSyntaxError(f"unexpected text after the function call in '{text}'")
    return call


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str) -> IntrinsicSyntaxError:
        return IntrinsicSyntaxError(f"{reason} in '{self.text}' at position {self.pos}")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in " \t\r\n":
            self.pos += 1

    def call(self, depth: int) -> Call:
        if depth > MAX_NESTING:
            raise self.fail(f"more than {MAX_NESTING} nested intrinsic functions")
        start = self.pos
        open_paren = self.text.find("(", self.pos)
        if not self.text.startswith("States.", self.pos) or open_paren < 0:
            raise self.fail("expected States.<Function>(...)")
        name = self.text[self.pos : open_paren]
        if name not in FUNCTIONS:
            raise self.fail(f"unknown intrinsic function '{name}'")
        self.pos = open_paren + 1
        args: list[Literal | PathArg | Call] = []
        self.skip_spaces()
        if self._peek() == ")":
            self.pos += 1
            return Call(name, (), self.text[start : self.pos])
        while True:
            self.skip_spaces()
            args.append(self.argument(depth))
            self.skip_spaces()
            char = self._peek()
            self.pos += 1
            if char == ")":
                return Call(name, tuple(args), self.text[start : self.pos])
            if char != ",":
                raise self.fail("expected ',' or ')'")

    def _peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def argument(self, depth: int) -> Literal | PathArg | Call:
        char = self._peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.pos):
            return self.call(depth + 1)
        return self.constant()

    def string(self) -> Literal:
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                escaped = self.text[self.pos + 1]
                chars.append(escaped if escaped in "'{}\\" else char + escaped)
                self.pos += 2
                continue
            if char == "'":
                self.pos += 1
                return Literal("".join(chars), raw=self.text[start + 1 : self.pos - 1])
            chars.append(char)
            self.pos += 1
        raise self.fail("unterminated string literal")

    def path(self) -> PathArg:
        start, depth, quote = self.pos, 0, None
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"" and depth:
                quote = char
            elif char == "[":
                depth += 1
            elif char == "]":
                depth -= 1
            elif depth == 0 and (char in ",)" or char in " \t\r\n"):
                break
            self.pos += 1
        try:
            return PathArg(parse_path(self.text[start : self.pos]))
        except PathSyntaxError as error:
            raise self.fail(str(error)) from None

    def constant(self) -> Literal:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ",) \t\r\n":
            self.pos += 1
        token = self.text[start : self.pos]
        if token in ("true", "false", "null"):
            return Literal(json.loads(token))
        try:
            number = json.loads(token)
        except ValueError:
            raise self.fail(f"invalid argument '{token}'") from None
        if not isinstance(number, int | float):
            raise self.fail(f"invalid argument '{token}'")
        return Literal(number)


def evaluate_intrinsic(text: str, scope: Scope) -> Any:
    """Evaluate an intrinsic function call; failures raise States.Runtime."""
    try:
        call = parse_intrinsic(text)
    except IntrinsicSyntaxError as error:
        raise runtime_error(f"The intrinsic function '{text}' is invalid: {error}") from None
    return _call(call, scope)


def _call(call: Call, scope: Scope) -> Any:
    values = [_argument(arg, scope) for arg in call.args]
    function = FUNCTIONS[call.name]
    try:
        if call.name == "States.Format":
            return _format(call, values)
        return function(values, scope)
    except _ArgumentError as error:
        raise runtime_error(
            f"The function '{call.text}' had the following error: {error}"
        ) from None


def _argument(arg: Literal | PathArg | Call, scope: Scope) -> Any:
    if isinstance(arg, Literal):
        return arg.value
    if isinstance(arg, Call):
        return _call(arg, scope)
    try:
        return arg.path.evaluate(scope.data, context=scope.context, variables=scope.variables)
    except PathNotFound:
        raise runtime_error(
            f"The JSONPath '{arg.path.text}' specified as an intrinsic function argument "
            "could not be found in the input"
        ) from None


class _ArgumentError(ValueError):
    pass


def _expect_count(values: list[Any], *counts: int) -> None:
    if len(values) not in counts:
        expected = " or ".join(str(count) for count in counts)
        raise _ArgumentError(f"expected {expected} arguments but got {len(values)}")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise _ArgumentError(message)


def _format(call: Call, values: list[Any]) -> str:
    _expect(len(values) >= 1, "States.Format needs a template argument")
    template_arg = call.args[0]
    template = template_arg.raw if isinstance(template_arg, Literal) else values[0]
    _expect(isinstance(template, str), "the template must be a string")
    escaped = isinstance(template_arg, Literal) and template_arg.raw is not None
    pieces, args, position = [], iter(values[1:]), 0
    used = 0
    while position < len(template):
        char = template[position]
        if escaped and char == "\\" and position + 1 < len(template):
            pieces.append(template[position + 1])
            position += 2
        elif template.startswith("{}", position):
            value = next(args, _NO_ARG)
            _expect(value is not _NO_ARG, "not enough arguments for the template")
            pieces.append(format_value(value))
            used += 1
            position += 2
        else:
            pieces.append(char)
            position += 1
    _expect(used == len(values) - 1, "the number of arguments does not match the template")
    return "".join(pieces)


_NO_ARG = object()


def format_value(value: Any) -> str:
    """String form of a value in States.Format: Java's toString for objects and arrays."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{key}={format_value(item)}" for key, item in value.items()) + "}"


def java_double(value: float) -> str:
    """Java's Double.toString: plain between 1e-3 and 1e7, scientific ("1.0E10") outside."""
    if math.isnan(value) or math.isinf(value) or value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    text = "".join(str(digit) for digit in digits)
    mantissa = text[0] + "." + (text[1:] or "0")
    return f"{'-' if sign else ''}{mantissa}E{len(text) - 1 + int(exponent)}"


def _array(values: list[Any], scope: Scope) -> list[Any]:
    return list(values)


def _array_partition(values: list[Any], scope: Scope) -> list[Any]:
    _expect_count(values, 2)
    array, size = values
    _expect(isinstance(array, list), "the first argument must be an array")
    _expect(_is_int(size) and size > 0, "the chunk size must be a positive integer")
    size = int(size)
    return [array[index : index + size] for index in range(0, len(array), size)]


def _array_contains(values: list[Any], scope: Scope) -> bool:
    _expect_count(values, 2)
    array, wanted = values
    _expect(isinstance(array, list), "the first argument must be an array")
    return any(json_equal(item, wanted) for item in array)


def _array_range(values: list[Any], scope: Scope) -> list[int]:
    _expect_count(values, 3)
    _expect(all(_is_int(value) for value in values), "arguments must be integers")
    start, end, step = (int(value) for value in values)
    _expect(step != 0, "the step cannot be zero")
    result = list(range(start, end + (1 if step > 0 else -1), step))
    _expect(len(result) <= MAX_ARRAY_RANGE, f"the result exceeds {MAX_ARRAY_RANGE} items")
    return result


def _array_get_item(values: list[Any], scope: Scope) -> Any:
    _expect_count(values, 2)
    array, index = values
    _expect(isinstance(array, list), "the first argument must be an array")
    _expect(_is_int(index) and 0 <= index < len(array), f"index {index} is out of bounds")
    return array[int(index)]


def _array_length(values: list[Any], scope: Scope) -> int:
    _expect_count(values, 1)
    _expect(isinstance(values[0], list), "the argument must be an array")
    return len(values[0])


def _array_unique(values: list[Any], scope: Scope) -> list[Any]:
    _expect_count(values, 1)
    _expect(isinstance(values[0], list), "the argument must be an array")
    unique: list[Any] = []
    for item in values[0]:
        if not any(json_equal(item, seen) for seen in unique):
            unique.append(item)
    return unique


def _base64_encode(values: list[Any], scope: Scope) -> str:
    _expect_count(values, 1)
    text = values[0]
    _expect(isinstance(text, str), "the argument must be a string")
    _expect(len(text) <= MAX_ENCODE_INPUT, f"the input exceeds {MAX_ENCODE_INPUT} characters")
    return base64.b64encode(text.encode()).decode("ascii")


def _base64_decode(values: list[Any], scope: Scope) -> str:
    _expect_count(values, 1)
    text = values[0]
    _expect(isinstance(text, str), "the argument must be a string")
    _expect(len(text) <= MAX_ENCODE_INPUT, f"the input exceeds {MAX_ENCODE_INPUT} characters")
    try:
        return base64.b64decode(text, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _ArgumentError("the argument is not valid base64") from None


def _hash(values: list[Any], scope: Scope) -> str:
    _expect_count(values, 2)
    data, algorithm = values
    _expect(isinstance(data, str), "the data must be a string")
    _expect(len(data) <= MAX_ENCODE_INPUT, f"the data exceeds {MAX_ENCODE_INPUT} characters")
    _expect(algorithm in HASH_ALGORITHMS, f"unsupported algorithm {algorithm!r}")
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode()).hexdigest()


def _json_merge(values: list[Any], scope: Scope) -> dict[str, Any]:
    _expect_count(values, 3)
    first, second, deep = values
    _expect(isinstance(first, dict) and isinstance(second, dict), "both inputs must be objects")
    _expect(deep is False, "deep merge is not supported: the third argument must be false")
    return {**first, **second}


def _json_to_string(values: list[Any], scope: Scope) -> str:
    _expect_count(values, 1)
    return json.dumps(values[0], separators=(",", ":"), ensure_ascii=False)


def _string_to_json(values: list[Any], scope: Scope) -> Any:
    _expect_count(values, 1)
    text = values[0]
    _expect(isinstance(text, str), "the argument must be a string")
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as error:
        raise _ArgumentError(f"the string is not valid JSON: {error}") from None


def _java_round(value: float) -> int:
    # Java's Math.round: half-up towards positive infinity (-1.5 -> -1, 0.5 -> 1).
    return math.floor(value + 0.5)


def _math_add(values: list[Any], scope: Scope) -> int:
    _expect_count(values, 2)
    _expect(
        all(isinstance(v, int | float) and not isinstance(v, bool) for v in values),
        "arguments must be numbers",
    )
    return _java_round(values[0]) + _java_round(values[1])


def _math_random(values: list[Any], scope: Scope) -> int:
    _expect_count(values, 2, 3)
    _expect(all(_is_int(value) for value in values), "arguments must be integers")
    start, end = int(values[0]), int(values[1])
    _expect(start <= end, "start must not be greater than end")
    rng = random.Random(int(values[2])) if len(values) == 3 else (scope.rng or random.Random())
    return rng.randint(start, end)


def _string_split(values: list[Any], scope: Scope) -> list[str]:
    _expect_count(values, 2)
    text, delimiters = values
    _expect(isinstance(text, str) and isinstance(delimiters, str), "arguments must be strings")
    pieces, current = [], []
    for char in text:
        if char in delimiters:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [piece for piece in pieces if piece]


def _uuid(values: list[Any], scope: Scope) -> str:
    _expect_count(values, 0)
    rng = scope.rng or random.Random()
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


FUNCTIONS: dict[str, Callable[[list[Any], Scope], Any]] = {
    "States.Format": lambda values, scope: None,  # needs the raw template: see _format
    "States.StringToJson": _string_to_json,
    "States.JsonToString": _json_to_string,
    "States.Array": _array,
    "States.ArrayPartition": _array_partition,
    "States.ArrayContains": _array_contains,
    "States.ArrayRange": _array_range,
    "States.ArrayGetItem": _array_get_item,
    "States.ArrayLength": _array_length,
    "States.ArrayUnique": _array_unique,
    "States.Base64Encode": _base64_encode,
    "States.Base64Decode": _base64_decode,
    "States.Hash": _hash,
    "States.JsonMerge": _json_merge,
    "States.MathRandom": _math_random,
    "States.MathAdd": _math_add,
    "States.StringSplit": _string_split,
    "States.UUID": _uuid,
}
