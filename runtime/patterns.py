"""EventBridge event patterns and SNS subscription filter policies.

A pattern is compiled once into an immutable tree: alternatives (one per `$or` combination),
each a tuple of fields (a dotted path plus precompiled matchers). Matching walks the event along
those paths and never re-parses the pattern.

The semantics follow aws/event-ruler, the matcher behind EventBridge and SNS filtering:

* fields are ANDed, the conditions listed for one field are ORed;
* a dotted key and the equivalent nesting are the same path, in the pattern and in the event;
* only leaf values (string, number, boolean, null) match; an event array matches when an element
  does, and fields inside objects of one event array must be satisfied by the same element
  ("array consistency");
* `exists: false` holds when no leaf consistent with the fields matched so far is present, which
  is why fields are evaluated in the sorted order event-ruler uses.

Error messages reproduce the texts AWS returns, as recorded in the shared conformance data.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

__all__ = [
    "EventValidationError",
    "FilterPolicy",
    "FilterPolicyError",
    "Pattern",
    "PatternError",
    "compile_filter_policy",
    "compile_pattern",
    "validate_event",
]

# The envelope fields TestEventPattern insists on (AWS-verified: `resources` may be absent).
REQUIRED_EVENT_FIELDS: Final = ("id", "account", "source", "time", "region", "detail-type")
# EventBridge quota on `$or` expansion; the wording of this error is not AWS-verified.
MAX_OR_COMBINATIONS: Final = 1000
# event-ruler's MachineComplexityEvaluator bound, calibrated on the recorded wildcard cases.
MAX_WILDCARD_COMPLEXITY: Final = 10
SNS_MAX_KEYS: Final = 5
SNS_MAX_COMBINATIONS: Final = 150
SNS_NUMBER_LIMIT: Final = 1e9
SNS_MAX_DECIMALS: Final = 5

EVENTBRIDGE_PREFIX: Final = "Event pattern is not valid. Reason: "

JsonValue: TypeAlias = Any
Membership: TypeAlias = tuple[tuple[int, int], ...]
Leaf: TypeAlias = tuple[Any, Membership]
FieldLeaves: TypeAlias = tuple[Sequence[Leaf], bool]


# --- errors -------------------------------------------------------------------------------------


class PatternError(ValueError):
    """An event pattern AWS would reject with InvalidEventPatternException."""

    code = "InvalidEventPatternException"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        self.message = EVENTBRIDGE_PREFIX + reason
        super().__init__(self.message)


class EventValidationError(ValueError):
    """An event TestEventPattern rejects: not a JSON object, or missing envelope fields."""

    code = "ValidationException"

    def __init__(self, message: str = "Parameter Event is not valid.") -> None:
        self.message = message
        super().__init__(message)


class FilterPolicyError(ValueError):
    """A filter policy SNS would reject with InvalidParameter.

    The wording depends on the API that received the policy; `message` is the Subscribe form and
    `message_for("SetSubscriptionAttributes")` gives the other one.
    """

    code = "InvalidParameter"

    def __init__(self, reason: str, *, names_filter_policy: bool = True) -> None:
        self.reason = reason
        self._names_filter_policy = names_filter_policy
        self.message = self.message_for("Subscribe")
        super().__init__(self.message)

    def message_for(self, api: str) -> str:
        """The AWS message as `Subscribe` or `SetSubscriptionAttributes` words it."""
        detail = f"FilterPolicy: {self.reason}" if self._names_filter_policy else self.reason
        if api.startswith("Subscribe"):
            return f"Invalid parameter: Attributes Reason: {detail}"
        return f"Invalid parameter: {detail}"


class _Invalid(Exception):
    """A validation failure inside the compiler, turned into the caller's error type."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _InvalidOr(_Invalid):
    """A malformed `$or`: event-ruler then re-reads the pattern with `$or` as a plain field."""


# --- JSON text with Jackson's error wording -----------------------------------------------------

_VALID_VALUE_LIST: Final = "(JSON String, Number, Array, Object or token 'null', 'true' or 'false')"
_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING_CHUNK_RE: Final = re.compile(r'[^"\\\x00-\x1f]*')
_ESCAPES: Final = {
    '"': '"',
    "\\": "\\",
    "/": "/",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
}


class _DuplicateKeyObject(dict[str, Any]):
    """A parsed JSON object that repeated a key; `pairs` keeps every occurrence in order."""

    pairs: list[tuple[str, Any]]


def _char_desc(char: str) -> str:
    code = ord(char)
    if code < 32 or 127 <= code <= 159:
        return f"(CTRL-CHAR, code {code})"
    if code > 255:
        return f"'{char}' (code {code} / 0x{code:x})"
    return f"'{char}' (code {code})"


def _is_identifier_part(char: str) -> bool:
    return char.isalnum() or char in "_$"


class _JsonText:
    """A strict JSON reader whose syntax errors read like Jackson's, as AWS reports them.

    Like event-ruler it stops after the root object, so trailing text is ignored, and it keeps
    repeated keys so that later occurrences override earlier ones path by path.
    """

    def __init__(self, text: str) -> None:
        self._text = text
        self._pos = 0

    def read_filter(self) -> JsonValue:
        char = self._skip_space()
        if char == "{":
            return self._object()
        if char is not None and char not in '["':
            self._value()  # an invalid first token is reported before the type
        raise _Invalid("Filter is not an object")

    def _unexpected(self, char: str, expectation: str) -> _Invalid:
        return _Invalid(f"Unexpected character ({_char_desc(char)}): {expectation}")

    def _location(self, offset: int) -> str:
        before = self._text[:offset]
        line = before.count("\n") + 1
        column = offset - (before.rfind("\n") + 1) + 1
        return f'[Source: (String)"{self._text[:500]}"; line: {line}, column: {column}]'

    def _end_of_input(self, kind: str, start: int) -> _Invalid:
        return _Invalid(
            f"Unexpected end-of-input: expected close marker for {kind} "
            f"(start marker at {self._location(start)})"
        )

    def _skip_space(self) -> str | None:
        text, pos = self._text, self._pos
        while pos < len(text):
            char = text[pos]
            if char in " \t\n\r":
                pos += 1
                continue
            self._pos = pos
            if ord(char) < 32:
                raise _Invalid(
                    f"Illegal character ({_char_desc(char)}): only regular white space "
                    "(\\r, \\n, \\t) is allowed between tokens"
                )
            return char
        self._pos = pos
        return None

    def _value(self) -> JsonValue:
        char = self._skip_space()
        if char is None:
            raise _Invalid("Unexpected end-of-input: expected a valid value")
        if char == "{":
            return self._object()
        if char == "[":
            return self._array()
        if char == '"':
            return self._string()
        if char == "-" or "0" <= char <= "9":
            return self._number()
        return self._token(char)

    def _token(self, char: str) -> JsonValue:
        if not (char.isalpha() or char in "_$"):
            raise self._unexpected(char, f"expected a valid value {_VALID_VALUE_LIST}")
        end = self._pos
        while end < len(self._text) and _is_identifier_part(self._text[end]):
            end += 1
        word = self._text[self._pos : end]
        literals = {"true": True, "false": False, "null": None}
        if word in literals:
            self._pos = end
            return literals[word]
        if word in ("NaN", "Infinity"):
            raise _Invalid(
                f"Non-standard token '{word}': enable "
                "JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS to allow"
            )
        shown = word[:256] + ("..." if len(word) > 256 else "")
        raise _Invalid(f"Unrecognized token '{shown}': was expecting {_VALID_VALUE_LIST}")

    def _object(self) -> dict[str, Any]:
        start = self._pos
        self._pos += 1
        pairs: list[tuple[str, Any]] = []
        char = self._skip_space()
        if char == "}":
            self._pos += 1
            return {}
        while True:
            if char is None:
                raise self._end_of_input("Object", start)
            if char != '"':
                raise self._unexpected(char, "was expecting double-quote to start field name")
            key = self._string()
            char = self._skip_space()
            if char is None:
                raise _Invalid("Unexpected end-of-input within/between Object entries")
            if char != ":":
                raise self._unexpected(
                    char, "was expecting a colon to separate field name and value"
                )
            self._pos += 1
            if self._skip_space() is None:
                raise _Invalid("Unexpected end-of-input within/between Object entries")
            pairs.append((key, self._value()))
            char = self._skip_space()
            if char == ",":
                self._pos += 1
                char = self._skip_space()
                continue
            if char == "}":
                self._pos += 1
                return _object_from_pairs(pairs)
            if char is None:
                raise self._end_of_input("Object", start)
            if char == "]":
                raise _Invalid(
                    f"Unexpected close marker ']': expected '}}' "
                    f"(for Object starting at {self._location(start)})"
                )
            raise self._unexpected(char, "was expecting comma to separate Object entries")

    def _array(self) -> list[Any]:
        start = self._pos
        self._pos += 1
        items: list[Any] = []
        char = self._skip_space()
        if char == "]":
            self._pos += 1
            return items
        while True:
            if char is None:
                raise self._end_of_input("Array", start)
            items.append(self._value())
            char = self._skip_space()
            if char == ",":
                self._pos += 1
                char = self._skip_space()
                continue
            if char == "]":
                self._pos += 1
                return items
            if char is None:
                raise self._end_of_input("Array", start)
            if char == "}":
                raise _Invalid(
                    f"Unexpected close marker '}}': expected ']' "
                    f"(for Array starting at {self._location(start)})"
                )
            raise self._unexpected(char, "was expecting comma to separate Array entries")

    def _string(self) -> str:
        text = self._text
        pos = self._pos + 1
        parts: list[str] = []
        while True:
            chunk = _STRING_CHUNK_RE.match(text, pos)
            assert chunk is not None  # the pattern also matches the empty string
            parts.append(chunk.group())
            pos = chunk.end()
            if pos >= len(text):
                raise _Invalid(
                    "Unexpected end-of-input: was expecting closing quote for a string value"
                )
            char = text[pos]
            if char == '"':
                self._pos = pos + 1
                return _join_surrogates("".join(parts))
            if char != "\\":
                self._pos = pos
                raise _Invalid(
                    f"Illegal unquoted character ({_char_desc(char)}): has to be escaped "
                    "using backslash to be included in string value"
                )
            pos = self._escape(pos + 1, parts)

    def _escape(self, pos: int, parts: list[str]) -> int:
        text = self._text
        if pos >= len(text):
            raise _Invalid("Unexpected end-of-input in character escape sequence")
        char = text[pos]
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
            return pos + 1
        if char != "u":
            raise _Invalid(f"Unrecognized character escape {_char_desc(char)}")
        digits = text[pos + 1 : pos + 5]
        for digit in digits:
            if digit not in "0123456789abcdefABCDEF":
                raise self._unexpected(digit, "expected a hex-digit for character escape sequence")
        if len(digits) < 4:
            raise _Invalid("Unexpected end-of-input in character escape sequence")
        parts.append(chr(int(digits, 16)))
        return pos + 5

    def _number(self) -> int | float:
        text, pos = self._text, self._pos
        found = _NUMBER_RE.match(text, pos)
        if found is None:
            nxt = text[pos + 1 : pos + 2]
            if not nxt:
                raise _Invalid("Unexpected end-of-input in number value")
            raise _Invalid(
                f"Unexpected character ({_char_desc(nxt)}) in numeric value: expected digit "
                "(0-9) to follow minus sign, for valid numeric value"
            )
        literal = found.group()
        self._pos = found.end()
        following = text[self._pos : self._pos + 1]
        if following.isdigit() and literal.lstrip("-") == "0":
            raise _Invalid("Invalid numeric value: Leading zeroes not allowed")
        incomplete = None
        if following == "." and not any(marker in literal for marker in ".eE"):
            incomplete = "Decimal point"
        elif following in ("e", "E") and not any(marker in literal for marker in "eE"):
            incomplete = "Exponent indicator"
        if incomplete is not None:
            nxt = text[self._pos + 1 : self._pos + 2]
            if not nxt:
                raise _Invalid("Unexpected end-of-input in number value")
            raise _Invalid(
                f"Unexpected character ({_char_desc(nxt)}) in numeric value: "
                f"{incomplete} not followed by a digit"
            )
        if any(marker in literal for marker in ".eE"):
            return float(literal)
        return int(literal)


def _object_from_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) == len(keys):
        return dict(pairs)
    result = _DuplicateKeyObject(pairs)
    result.pairs = pairs
    return result


def _join_surrogates(text: str) -> str:
    # \ud83d\ude80 arrives as two escapes; JSON means the one astral character they encode.
    if not any("\ud800" <= char <= "\udfff" for char in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "surrogatepass")


def _pairs(obj: Mapping[str, Any]) -> Sequence[tuple[str, Any]]:
    pairs = getattr(obj, "pairs", None)
    return pairs if pairs is not None else list(obj.items())


# --- values -------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _comparable(value: object) -> bool:
    """Whether a number takes part in numeric comparisons, as event-ruler decides.

    event-ruler compares doubles and refuses numbers a double cannot hold exactly.
    """
    kind = type(value)
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is not int:
        return False
    if -(2**53) <= value <= 2**53:  # type: ignore[operator]
        return True
    try:
        return float(value) == value  # type: ignore[arg-type]
    except OverflowError:
        return False


def _token_text(value: object) -> str:
    """The text Jackson's getText() gives for a token, used inside error messages."""
    if isinstance(value, dict):
        return "{"
    if isinstance(value, list):
        return "["
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- matchers -----------------------------------------------------------------------------------


class _Matcher:
    """One compiled condition on a leaf value. Subclasses are immutable."""

    __slots__ = ()

    def matches(self, value: Any) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def is_exact(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _Exact(_Matcher):
    """An exact string, number, boolean or null; numbers compare numerically (300 == 3.0e2)."""

    value: Any

    def matches(self, value: Any) -> bool:
        if self.value is None or isinstance(self.value, bool):
            return value is self.value
        if isinstance(self.value, str):
            return type(value) is str and value == self.value
        return type(value) in (int, float) and value == self.value

    def describe(self) -> str:
        return repr(self.value)

    def is_exact(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _IpEquals(_Matcher):
    """An exact string that is an IP address; event-ruler compares it as an address."""

    text: str
    version: int
    address: int

    def matches(self, value: Any) -> bool:
        return type(value) is str and _parse_ip(value) == (self.version, self.address)

    def describe(self) -> str:
        return repr(self.text)

    def is_exact(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Prefix(_Matcher):
    prefix: str

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.startswith(self.prefix)

    def describe(self) -> str:
        return f"prefix {self.prefix!r}"


@dataclass(frozen=True, slots=True)
class _PrefixIgnoreCase(_Matcher):
    prefix: str

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower().startswith(self.prefix)

    def describe(self) -> str:
        return f"prefix {self.prefix!r} ignoring case"


@dataclass(frozen=True, slots=True)
class _Suffix(_Matcher):
    suffix: str

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.endswith(self.suffix)

    def describe(self) -> str:
        return f"suffix {self.suffix!r}"


@dataclass(frozen=True, slots=True)
class _SuffixIgnoreCase(_Matcher):
    suffix: str

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower().endswith(self.suffix)

    def describe(self) -> str:
        return f"suffix {self.suffix!r} ignoring case"


@dataclass(frozen=True, slots=True)
class _EqualsIgnoreCase(_Matcher):
    text: str

    def matches(self, value: Any) -> bool:
        return type(value) is str and value.lower() == self.text

    def describe(self) -> str:
        return f"equals-ignore-case {self.text!r}"


@dataclass(frozen=True, slots=True)
class _Wildcard(_Matcher):
    text: str
    regex: re.Pattern[str]

    def matches(self, value: Any) -> bool:
        return type(value) is str and self.regex.fullmatch(value) is not None

    def describe(self) -> str:
        return f"wildcard {self.text!r}"


@dataclass(frozen=True, slots=True)
class _ExactSet(_Matcher):
    """The values an anything-but list excludes: strings, or numbers compared numerically."""

    strings: frozenset[str]
    numbers: frozenset[int | float]

    def matches(self, value: Any) -> bool:
        kind = type(value)
        if kind is str:
            return value in self.strings
        return (kind is int or kind is float) and value in self.numbers

    def describe(self) -> str:
        return repr(sorted(self.strings) + sorted(self.numbers))


@dataclass(frozen=True, slots=True)
class _AnythingBut(_Matcher):
    """Any present leaf (null included) that none of the excluded matchers accepts."""

    excluded: tuple[_Matcher, ...]
    label: str

    def matches(self, value: Any) -> bool:
        return not any(matcher.matches(value) for matcher in self.excluded)

    def describe(self) -> str:
        return f"anything-but {self.label}"


@dataclass(frozen=True, slots=True)
class _Numeric(_Matcher):
    """A numeric range; only JSON numbers match, never numeric strings (AWS-verified)."""

    lower: int | float | None
    lower_open: bool
    upper: int | float | None
    upper_open: bool

    def matches(self, value: Any) -> bool:
        if not _comparable(value):
            return False
        if self.lower is not None and (
            value < self.lower or (self.lower_open and value == self.lower)
        ):
            return False
        return self.upper is None or not (
            value > self.upper or (self.upper_open and value == self.upper)
        )

    def describe(self) -> str:
        if self.lower is not None and self.lower == self.upper:
            return f"numeric = {self.lower!r}"
        terms = []
        if self.lower is not None:
            terms.append(f"{'>' if self.lower_open else '>='} {self.lower!r}")
        if self.upper is not None:
            terms.append(f"{'<' if self.upper_open else '<='} {self.upper!r}")
        return "numeric " + " and ".join(terms)


@dataclass(frozen=True, slots=True)
class _Cidr(_Matcher):
    """A CIDR block as event-ruler builds it: from the given address up to its host bits."""

    text: str
    version: int
    lowest: int
    highest: int

    def matches(self, value: Any) -> bool:
        if type(value) is not str:
            return False
        address = _parse_ip(value)
        return (
            address is not None
            and address[0] == self.version
            and self.lowest <= address[1] <= self.highest
        )

    def describe(self) -> str:
        return f"cidr {self.text!r}"


@dataclass(frozen=True, slots=True)
class _Exists(_Matcher):
    """exists: true, satisfied by any leaf; objects and empty arrays have none (AWS-verified)."""

    def matches(self, value: Any) -> bool:
        return True

    def describe(self) -> str:
        return "exists"


@dataclass(frozen=True, slots=True)
class _Absent(_Matcher):
    """exists: false. Never matches a value; the field search treats it as allowed absence."""

    def matches(self, value: Any) -> bool:
        return False

    def describe(self) -> str:
        return "absent"


# --- IP addresses and CIDR ----------------------------------------------------------------------

_IPV4_RE: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_RE: Final = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")
_JAVA_INT_RE: Final = re.compile(r"[+-]?[0-9]+")


def _parse_ip(text: str) -> tuple[int, int] | None:
    """(version, integer) for an address literal in the forms event-ruler accepts, else None."""
    try:
        if _IPV4_RE.fullmatch(text):
            return 4, _ipv4_value(text)
        if _IPV6_RE.fullmatch(text):
            address = ipaddress.IPv6Address(text)
            # Java turns IPv4-mapped IPv6 literals into plain IPv4 addresses.
            if address.ipv4_mapped is not None:
                return 4, int(address.ipv4_mapped)
            return 6, int(address)
    except ValueError:
        return None
    return None


def _ipv4_value(text: str) -> int:
    # Java reads each octet as a decimal number, leading zeros included (0177 is 177, not octal).
    octets = [int(octet) for octet in text.split(".")]
    if any(octet > 255 for octet in octets):
        raise ValueError(text)
    return int.from_bytes(bytes(octets), "big")


def _java_split(text: str, separator: str) -> list[str]:
    # String.split drops trailing empty strings, unless the separator never occurs.
    if separator not in text:
        return [text]
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _compile_cidr(text: str) -> _Cidr:
    parts = _java_split(text, "/")
    if len(parts) != 2:
        raise _Invalid("Malformed CIDR, one '/' required")
    mask_text = parts[1]
    if not _JAVA_INT_RE.fullmatch(mask_text) or not -(2**31) <= int(mask_text) < 2**31:
        raise _Invalid("Malformed CIDR, mask bits must be an integer")
    mask = int(mask_text)
    if mask < 0:
        raise _Invalid("Malformed CIDR, mask bits must not be negative")
    address_text = parts[0]
    if not (_IPV4_RE.fullmatch(address_text) or _IPV6_RE.fullmatch(address_text)):
        raise _Invalid(f"Nonstandard IP address: {address_text}")
    parsed = _parse_ip(address_text)
    if parsed is None:
        raise _Invalid(f"Invalid IP address: {address_text}")
    version, address = parsed
    bits = 32 if version == 4 else 128
    if mask > bits - 1:
        raise _Invalid(f"IPv{version} mask bits must be < {bits}")
    host_bits = (1 << (bits - mask)) - 1
    return _Cidr(text, version, address, address | host_bits)


def _ip_equals_if_possible(text: str) -> _IpEquals | None:
    parsed = _parse_ip(text)
    return None if parsed is None else _IpEquals(text, parsed[0], parsed[1])


# --- wildcards ----------------------------------------------------------------------------------

_STAR: Final = None
WildcardTokens: TypeAlias = tuple[str | None, ...]


def _wildcard_tokens(text: str) -> WildcardTokens:
    """Parse a wildcard as event-ruler does, on the quoted value with byte positions."""
    quoted = f'"{text}"'
    tokens: list[str | None] = []
    offset = 0
    index = 0
    while index < len(quoted):
        char = quoted[index]
        if char == "*":
            if quoted[index + 1 : index + 2] == "*":
                raise _Invalid(f"Consecutive wildcard characters at pos {offset}")
            tokens.append(_STAR)
        elif char == "\\":
            escaped = quoted[index + 1 : index + 2]
            if escaped not in ("*", "\\"):
                raise _Invalid(f"Invalid escape character at pos {offset}")
            tokens.append(escaped)
            offset += 2
            index += 2
            continue
        else:
            tokens.append(char)
        offset += len(char.encode("utf-8", "surrogatepass"))
        index += 1
    return tuple(tokens)


def _compile_wildcard(text: str) -> _Wildcard:
    tokens = _wildcard_tokens(text)[1:-1]
    source = "".join(".*" if token is _STAR else re.escape(token) for token in tokens)
    return _Wildcard(text, re.compile(source, re.DOTALL))


NfaState: TypeAlias = tuple[bool, int, int]  # (inside a star loop, pattern index, position)


def _wildcard_complexity(patterns: Sequence[WildcardTokens]) -> int:
    """How many wildcard prefixes one input can keep alive at once, as event-ruler measures it.

    Each `*` is a state that loops on any character; the literal after it can be reached from
    before or inside the loop. The worst input is found by exploring every reachable state set;
    a state set costs its size plus one for every star not yet entered.
    """
    alphabet = {token for tokens in patterns for token in tokens if token is not _STAR}
    alphabet.add("\x00other")
    start = frozenset((False, index, 0) for index in range(len(patterns)))
    seen = {start}
    pending = [start]
    worst = 0
    while pending:
        states = pending.pop()
        for char in alphabet:
            following = _wildcard_step(patterns, states, char)
            if not following:
                continue
            worst = max(worst, _wildcard_cost(patterns, following))
            if worst > MAX_WILDCARD_COMPLEXITY:
                return worst
            if following not in seen:
                seen.add(following)
                pending.append(following)
    return worst


def _wildcard_step(
    patterns: Sequence[WildcardTokens], states: frozenset[NfaState], char: str
) -> frozenset[NfaState]:
    following: set[NfaState] = set()
    for in_loop, index, position in states:
        tokens = patterns[index]
        if position >= len(tokens):
            continue
        if in_loop or tokens[position] is _STAR:
            following.add((True, index, position))
            if tokens[position + 1] == char:
                following.add((False, index, position + 2))
        elif tokens[position] == char:
            following.add((False, index, position + 1))
    return frozenset(following)


def _wildcard_cost(patterns: Sequence[WildcardTokens], states: frozenset[NfaState]) -> int:
    cost = len(states)
    for in_loop, index, position in states:
        tokens = patterns[index]
        at_star = position < len(tokens) and tokens[position] is _STAR
        if not in_loop and at_star and (True, index, position) not in states:
            cost += 1
    return cost


# --- dialects -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Dialect:
    """What EventBridge and SNS accept differently in otherwise identical pattern syntax."""

    anything_but_operators: frozenset[str]
    anything_but_operator_lists: bool
    nested_ignore_case: bool
    wildcard: bool
    anything_but_type_message: str
    number_limit: float | None
    max_decimals: int | None
    max_alternatives: int
    too_many_alternatives: str


_EVENTBRIDGE: Final = _Dialect(
    anything_but_operators=frozenset({"equals-ignore-case", "prefix", "suffix", "wildcard"}),
    anything_but_operator_lists=True,
    nested_ignore_case=True,
    wildcard=True,
    anything_but_type_message="prefix/suffix match pattern must be a string",
    number_limit=None,
    max_decimals=None,
    max_alternatives=MAX_OR_COMBINATIONS,
    too_many_alternatives=f"$or expands into more than {MAX_OR_COMBINATIONS} combinations",
)
_SNS: Final = _Dialect(
    # SNS rejects anything-but suffix (AWS-verified) and has no wildcard operator.
    anything_but_operators=frozenset({"prefix"}),
    # SNS takes a single string there: {"prefix": false} is a string-type error (AWS-verified).
    anything_but_operator_lists=False,
    nested_ignore_case=False,
    wildcard=False,
    anything_but_type_message="prefix match pattern must be a string",
    number_limit=SNS_NUMBER_LIMIT,
    max_decimals=SNS_MAX_DECIMALS,
    # Far above what the 150-combination limit lets through; only bounds the expansion work.
    max_alternatives=10_000,
    too_many_alternatives="Filter policy is too complex",
)

# Operator names event-ruler reserves: a `$or` branch using one as a field name is not a `$or`.
# fmt: off
_RESERVED_NAMES: Final = frozenset(
    {
        "exactly", "equals-ignore-case", "prefix", "suffix", "anything-but", "exists",
        "wildcard", "numeric", "cidr", "html", "=", "<", "<=", ">", ">=", "regex",
        "not-wildcard", "not-equals-ignore-case", "date-after", "date-on-or-after",
        "date-before", "date-on-or-before", "in-date-range", "ip-address-in-range",
        "ip-address-not-in-range",
    }
)
# fmt: on


# --- compiler -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _FieldSpec:
    """One field as written: its path, nesting depth and the conditions listed for it."""

    path: str
    keys: tuple[str, ...]
    matchers: tuple[_Matcher, ...]


Alternative: TypeAlias = dict[str, _FieldSpec]


class _Compiler:
    """Validates a pattern in document order and expands `$or` into alternatives."""

    def __init__(self, dialect: _Dialect, *, or_enabled: bool) -> None:
        self._dialect = dialect
        self._or_enabled = or_enabled
        self._operators: dict[str, Callable[[Any], _Matcher]] = {
            "prefix": self._prefix,
            "suffix": self._suffix,
            "equals-ignore-case": self._equals_ignore_case,
            "numeric": self._numeric,
            "anything-but": self._anything_but,
            "exists": self._exists,
            "cidr": self._cidr,
        }
        if dialect.wildcard:
            self._operators["wildcard"] = self._wildcard

    def compile(self, root: object) -> list[Alternative]:
        if not isinstance(root, Mapping):
            raise _Invalid("Filter is not an object")
        alternatives: list[Alternative] = []
        self._object(root, (), alternatives, in_or=False)
        return alternatives

    def _object(
        self,
        obj: Mapping[str, Any],
        keys: tuple[str, ...],
        alternatives: list[Alternative],
        *,
        in_or: bool,
    ) -> None:
        pairs = _pairs(obj)
        if not pairs:
            raise _Invalid("Empty objects are not allowed")
        for key, value in pairs:
            if key == "$or" and self._or_enabled:
                self._or(value, keys, alternatives)
                continue
            if in_or and key in _RESERVED_NAMES:
                raise _InvalidOr(
                    f"{key} is Ruler reserved fieldName which cannot be used inside $or."
                )
            if isinstance(value, Mapping):
                self._object(value, (*keys, key), alternatives, in_or=in_or)
            elif isinstance(value, list):
                self._field((*keys, key), value, alternatives)
            else:
                raise _Invalid(f'"{key}" must be an object or an array')

    def _or(self, value: object, keys: tuple[str, ...], alternatives: list[Alternative]) -> None:
        if not isinstance(value, list):
            raise _InvalidOr("It must be an Array followed with $or.")
        before = [dict(alternative) for alternative in alternatives]
        alternatives.clear()
        for branch in value:
            if not isinstance(branch, Mapping):
                raise _InvalidOr("Only JSON object is allowed in array of $or relationship.")
            copies = [dict(alternative) for alternative in before] or [{}]
            self._object(branch, keys, copies, in_or=True)
            alternatives.extend(copies)
            if len(alternatives) > self._dialect.max_alternatives:
                raise _Invalid(self._dialect.too_many_alternatives)
        if len(value) < 2:
            raise _InvalidOr("There must have at least 2 Objects in $or relationship.")

    def _field(
        self, keys: tuple[str, ...], values: list[Any], alternatives: list[Alternative]
    ) -> None:
        matchers = tuple(self._condition(value) for value in values)
        if not matchers:
            raise _Invalid("Empty arrays are not allowed")
        spec = _FieldSpec(".".join(keys), keys, matchers)
        if not alternatives:
            alternatives.append({})
        for alternative in alternatives:
            # A repeated path overrides the earlier one, as event-ruler does with overriding on.
            alternative[spec.path] = spec

    def _condition(self, value: object) -> _Matcher:
        if isinstance(value, Mapping):
            return self._expression(value)
        if isinstance(value, str):
            return _ip_equals_if_possible(value) or _Exact(value)
        if value is None or isinstance(value, bool | int | float):
            return _Exact(value)
        raise _Invalid("Match value must be String, number, true, false, or null")

    def _expression(self, expression: Mapping[str, Any]) -> _Matcher:
        pairs = _pairs(expression)
        if not pairs:
            raise _Invalid("Match expression name not found")
        name, operand = pairs[0]
        handler = self._operators.get(name)
        if handler is None:
            raise _Invalid(f"Unrecognized match type {name}")
        matcher = handler(operand)
        if len(pairs) > 1:
            if name in ("numeric", "anything-but"):
                raise _Invalid("Too many elements in numeric expression")
            raise _Invalid("Only one key allowed in match expression")
        return matcher

    # -- string operators

    def _prefix(self, operand: object) -> _Matcher:
        if isinstance(operand, Mapping) and self._dialect.nested_ignore_case:
            text = self._ignore_case_operand(operand, "Prefix", "prefix")
            return _PrefixIgnoreCase(text.lower())
        if not isinstance(operand, str):
            raise _Invalid("prefix match pattern must be a string")
        return _Prefix(operand)

    def _suffix(self, operand: object) -> _Matcher:
        if isinstance(operand, Mapping) and self._dialect.nested_ignore_case:
            text = self._ignore_case_operand(operand, "Suffix", "suffix")
            return _SuffixIgnoreCase(text.lower())
        if not isinstance(operand, str):
            raise _Invalid("suffix match pattern must be a string")
        return _Suffix(operand)

    def _ignore_case_operand(self, operand: Mapping[str, Any], title: str, name: str) -> str:
        pairs = _pairs(operand)
        if not pairs:
            raise _Invalid(f"{title} expression name not found")
        inner_name, text = pairs[0]
        if inner_name != "equals-ignore-case":
            raise _Invalid(f"Unsupported {name} pattern: {inner_name}")
        if not isinstance(text, str):
            raise _Invalid("equals-ignore-case match pattern must be a string")
        if len(pairs) > 1:
            raise _Invalid("Only one key allowed in match expression")
        return text

    def _equals_ignore_case(self, operand: object) -> _Matcher:
        if not isinstance(operand, str):
            raise _Invalid("equals-ignore-case match pattern must be a string")
        return _EqualsIgnoreCase(operand.lower())

    def _wildcard(self, operand: object) -> _Matcher:
        if not isinstance(operand, str):
            raise _Invalid("wildcard match pattern must be a string")
        return _compile_wildcard(operand)

    def _cidr(self, operand: object) -> _Matcher:
        if not isinstance(operand, str):
            raise _Invalid("prefix match pattern must be a string")
        return _compile_cidr(operand)

    def _exists(self, operand: object) -> _Matcher:
        if operand is True:
            return _Exists()
        if operand is False:
            return _Absent()
        raise _Invalid("exists match pattern must be either true or false.")

    # -- numeric

    def _numeric(self, operand: object) -> _Matcher:
        if not isinstance(operand, list):
            raise _Invalid("Value of numeric must be an array.")
        terms = operand
        operator = terms[0] if terms else None
        if not isinstance(operator, str):
            shown = _token_text(operator) if terms else "]"
            raise _Invalid(f"Invalid member in numeric match: {shown}")
        if operator == "=":
            value = self._numeric_operand(terms, 1, "equals")
            if len(terms) > 2:
                raise _Invalid("Too many elements in numeric expression")
            exact = self._number(value)
            return _Numeric(exact, False, exact, False)
        if operator in (">", ">="):
            return self._lower_bounded(terms, operator)
        if operator in ("<", "<="):
            value = self._numeric_operand(terms, 1, operator)
            if len(terms) > 2:
                raise _Invalid("Too many elements in numeric expression")
            return _Numeric(None, False, self._number(value), operator == "<")
        raise _Invalid(f"Unrecognized numeric range operator: {operator}")

    def _lower_bounded(self, terms: list[Any], operator: str) -> _Matcher:
        bottom = self._numeric_operand(terms, 1, operator)
        if len(terms) == 2:
            return _Numeric(self._number(bottom), operator == ">", None, False)
        upper_operator = terms[2]
        if not isinstance(upper_operator, str):
            raise _Invalid(f"Bad value in numeric range: {_token_text(upper_operator)}")
        if upper_operator not in ("<", "<="):
            raise _Invalid(f"Bad numeric range operator: {upper_operator}")
        top = self._numeric_operand(terms, 3, upper_operator)
        if len(terms) > 4:
            raise _Invalid("Too many terms in numeric range expression")
        lower, upper = self._number(bottom), self._number(top)
        if not lower < upper:
            raise _Invalid("Bottom must be less than top")
        return _Numeric(lower, operator == ">", upper, upper_operator == "<")

    def _numeric_operand(self, terms: list[Any], index: int, name: str) -> int | float:
        value = terms[index] if index < len(terms) else None
        if not _is_number(value):
            raise _Invalid(f"Value of {name} must be numeric")
        return value  # type: ignore[no-any-return]

    def _number(self, value: int | float) -> int | float:
        """A pattern number, checked against what the dialect can compare."""
        if not _comparable(value):
            raise _Invalid(f"Cannot compare number : {_token_text(value)}")
        limit = self._dialect.number_limit
        if limit is not None and not -limit <= value <= limit:
            raise _Invalid(f"Value must be between {-limit:.1E} and {limit:.1E}, inclusive")
        decimals = self._dialect.max_decimals
        if decimals is not None and isinstance(value, float) and _decimals(value) > decimals:
            raise _Invalid(f"Only values upto {decimals} decimals are supported")
        return value

    # -- anything-but

    def _anything_but(self, operand: object) -> _Matcher:
        operator = None
        extra_keys = False
        if isinstance(operand, Mapping):
            pairs = _pairs(operand)
            if not pairs:
                raise _Invalid("Anything-But expression name not found")
            operator, operand = pairs[0]
            if operator not in self._dialect.anything_but_operators:
                raise _Invalid(f"Unsupported anything-but pattern: {operator}")
            extra_keys = len(pairs) > 1
            if not (self._dialect.anything_but_operator_lists or isinstance(operand, str)):
                raise _Invalid(self._anything_but_type_error(operator))
        if not (isinstance(operand, list | str) or _is_number(operand)):
            raise _Invalid("Value of anything-but must be an array or single string/number value.")
        if operator is None:
            matcher = self._anything_but_values(operand)
        else:
            matcher = self._anything_but_operator(operator, operand)
        if extra_keys:
            raise _Invalid("Too many elements in numeric expression")
        return matcher

    def _anything_but_values(self, operand: object) -> _Matcher:
        values = operand if isinstance(operand, list) else [operand]
        for value in values:
            if not (isinstance(value, str) or _is_number(value)):
                raise _Invalid("Inside anything but list, start|null|boolean is not supported.")
        strings = frozenset(value for value in values if isinstance(value, str))
        numbers = frozenset(self._number(value) for value in values if _is_number(value))
        if bool(strings) == bool(numbers):
            raise _Invalid(
                "Inside anything but list, either all values are number or string, "
                "mixed type is not supported"
            )
        label = repr(operand)
        return _AnythingBut((_ExactSet(strings, numbers),), label)

    def _anything_but_operator(self, operator: str, operand: object) -> _Matcher:
        values = operand if isinstance(operand, list) else [operand]
        for value in values:
            if not isinstance(value, str):
                raise _Invalid(self._anything_but_type_error(operator))
            if operator in ("prefix", "suffix") and value == "":
                raise _Invalid("Null prefix/suffix not allowed")
        texts: list[str] = values  # type: ignore[assignment]
        excluded: tuple[_Matcher, ...]
        if operator == "prefix":
            excluded = tuple(_Prefix(text) for text in texts)
        elif operator == "suffix":
            excluded = tuple(_Suffix(text) for text in texts)
        elif operator == "equals-ignore-case":
            excluded = tuple(_EqualsIgnoreCase(text.lower()) for text in texts)
        else:
            excluded = tuple(_compile_wildcard(text) for text in texts)
        return _AnythingBut(excluded, f"{operator} {repr(operand)}")

    def _anything_but_type_error(self, operator: str) -> str:
        if operator == "equals-ignore-case":
            return (
                "Inside anything-but/equals-ignore-case list, "
                "number|start|null|boolean is not supported."
            )
        if operator == "wildcard":
            return "wildcard match pattern must be a string"
        return self._dialect.anything_but_type_message


def _decimals(value: float) -> int:
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, exponent = text.lower().split("e")
        digits = len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0
        return max(0, digits - int(exponent))
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _compile_alternatives(root: object, dialect: _Dialect) -> list[Alternative]:
    try:
        return _Compiler(dialect, or_enabled=True).compile(root)
    except _InvalidOr:
        # event-ruler falls back to its older compiler, where `$or` is an ordinary field name.
        return _Compiler(dialect, or_enabled=False).compile(root)


def _wildcard_sources(spec: _FieldSpec) -> list[WildcardTokens]:
    sources: list[WildcardTokens] = []
    for matcher in spec.matchers:
        candidates = matcher.excluded if isinstance(matcher, _AnythingBut) else (matcher,)
        for candidate in candidates:
            if isinstance(candidate, _Wildcard):
                sources.append(_wildcard_tokens(candidate.text))
    return sources


def _check_wildcard_complexity(alternatives: Iterable[Alternative]) -> None:
    checked: set[int] = set()
    for alternative in alternatives:
        for spec in alternative.values():
            if id(spec) in checked:
                continue
            checked.add(id(spec))
            sources = _wildcard_sources(spec)
            if sources and _wildcard_complexity(sources) > MAX_WILDCARD_COMPLEXITY:
                raise _Invalid(
                    "Rule is too complex - try using fewer wildcard characters or fewer "
                    "repeating character sequences after a wildcard character"
                )


# --- runtime tree -------------------------------------------------------------------------------

_MISSING: Final = object()
_NO_LEAVES: Final[FieldLeaves] = ((), False)
Joins: TypeAlias = tuple[tuple[tuple[str, int], ...], ...]


def _joins(path: str) -> Joins:
    """For each segment, the event keys that can continue the path and where each one lands.

    AWS treats `{"a.b": …}` and `{"a": {"b": …}}` as the same path, in the event too, so at every
    level the next segment may also be spelled together with the segments after it.
    """
    segments = path.split(".")
    return tuple(
        tuple((".".join(segments[start:end]), end) for end in range(start + 1, len(segments) + 1))
        for start in range(len(segments))
    )


@dataclass(frozen=True, slots=True)
class _Field:
    """A field ready for matching: how to find its leaves and how to test one."""

    path: str
    joins: Joins
    steps: tuple[tuple[str, int, tuple[str, ...]], ...]
    matchers: tuple[_Matcher, ...]
    strings: frozenset[str]
    numbers: frozenset[int | float]
    exact_null: bool
    exact_true: bool
    exact_false: bool
    any_leaf: bool
    others: tuple[_Matcher, ...]
    has_positive: bool
    allows_absent: bool

    @classmethod
    def build(cls, spec: _FieldSpec) -> _Field:
        strings: set[str] = set()
        numbers: set[int | float] = set()
        specials: set[object] = set()
        others: list[_Matcher] = []
        for matcher in spec.matchers:
            if isinstance(matcher, _Exact):
                value = matcher.value
                if isinstance(value, str):
                    strings.add(value)
                elif value is None or isinstance(value, bool):
                    specials.add(value)
                else:
                    numbers.add(value)
            elif not isinstance(matcher, _Absent):
                others.append(matcher)
        joins = _joins(spec.path)
        return cls(
            path=spec.path,
            joins=joins,
            steps=tuple(
                (ways[0][0], ways[0][1], tuple(key for key, _ in ways[1:])) for ways in joins
            ),
            matchers=spec.matchers,
            strings=frozenset(strings),
            numbers=frozenset(numbers),
            exact_null=None in specials,
            exact_true=any(value is True for value in specials),
            exact_false=any(value is False for value in specials),
            any_leaf=any(isinstance(matcher, _Exists) for matcher in spec.matchers),
            others=tuple(others),
            has_positive=any(not isinstance(m, _Absent) for m in spec.matchers),
            allows_absent=any(isinstance(m, _Absent) for m in spec.matchers),
        )

    def accepts(self, value: Any) -> bool:
        """Whether any positive condition of the field accepts this leaf value."""
        if self.any_leaf:
            return True
        kind = type(value)
        if kind is str:
            if value in self.strings:
                return True
        elif kind is int or kind is float:
            if value in self.numbers:
                return True
        elif value is None:
            if self.exact_null:
                return True
        elif kind is bool and (self.exact_true if value else self.exact_false):
            return True
        for matcher in self.others:  # noqa: SIM110 - a plain loop beats any() on this hot path
            if matcher.matches(value):
                return True
        return False

    def leaves(self, event: Any) -> FieldLeaves:
        """The leaf values at this path, each with its array membership, and whether any
        came from inside an array."""
        node = event
        start = 0
        steps = self.steps
        depth = len(steps)
        # Fast path: plain nested objects, one key per level, no arrays on the way.
        while start < depth:
            if type(node) is not dict:
                return self._walk(event) if isinstance(node, list | dict) else _NO_LEAVES
            key, start, dotted = steps[start]
            for spelled in dotted:
                if spelled in node:  # a dotted key spells several levels at once
                    return self._walk(event)
            node = node.get(key, _MISSING)
            if node is _MISSING:
                return _NO_LEAVES
        kind = type(node)
        if kind is list or kind is dict or isinstance(node, list | dict):
            return self._walk(event)
        return [(node, ())], False

    def _walk(self, event: Any) -> FieldLeaves:
        found: list[Leaf] = []
        _collect(event, self.joins, 0, (), found)
        return found, any(membership for _, membership in found)


def _collect(node: Any, joins: Joins, start: int, membership: Membership, out: list[Leaf]) -> None:
    if start == len(joins):
        _emit_leaves(node, membership, out)
    elif isinstance(node, dict):
        for key, following in joins[start]:
            child = node.get(key, _MISSING)
            if child is not _MISSING:
                _collect(child, joins, following, membership, out)
    elif isinstance(node, list):
        array = id(node)
        for index, element in enumerate(node):
            _collect(element, joins, start, (*membership, (array, index)), out)


def _emit_leaves(node: Any, membership: Membership, out: list[Leaf]) -> None:
    if isinstance(node, list):
        array = id(node)
        for index, element in enumerate(node):
            _emit_leaves(element, (*membership, (array, index)), out)
    elif not isinstance(node, dict):
        out.append((node, membership))


def _merge(current: Membership, extra: Membership) -> Membership | None:
    """The combined array positions, or None when the two leaves sit in different elements."""
    if not extra:
        return current
    if not current:
        return extra
    combined = dict(current)
    for array, index in extra:
        known = combined.setdefault(array, index)
        if known != index:
            return None
    return tuple(sorted(combined.items()))


LeafCache: TypeAlias = dict[str, FieldLeaves]


def _sort_key(path: str) -> bytes:
    # event-ruler sorts keys as Java strings, that is by UTF-16 code units.
    return path.encode("utf-16-be", "surrogatepass")


@dataclass(frozen=True, slots=True)
class _Branch:
    """One `$or` alternative: every field must match."""

    fields: tuple[_Field, ...]  # sorted as event-ruler walks them
    written: tuple[_Field, ...]  # document order, usually the most selective first

    def matches(self, event: Any, cache: LeafCache) -> bool:
        inside_arrays = False
        for field in self.written:
            found = cache.get(field.path)
            if found is None:
                found = cache[field.path] = field.leaves(event)
            leaves, from_arrays = found
            if not _may_match(field, leaves, from_arrays):
                return False
            if from_arrays:
                inside_arrays = True
        if not inside_arrays:
            # Without arrays every field is independent, so the checks above were exact.
            return True
        return _search(self.fields, 0, (), event, cache)


def _cached_leaves(field: _Field, event: Any, cache: LeafCache) -> FieldLeaves:
    found = cache.get(field.path)
    if found is None:
        found = cache[field.path] = field.leaves(event)
    return found


def _may_match(field: _Field, leaves: Sequence[Leaf], from_arrays: bool) -> bool:
    if field.has_positive:
        accepts = field.accepts
        for value, _ in leaves:
            if accepts(value):
                return True
    return field.allows_absent and (not leaves or from_arrays)


def _search(
    fields: tuple[_Field, ...], index: int, membership: Membership, event: Any, cache: LeafCache
) -> bool:
    """Backtracking over leaf choices so that fields agree on shared array elements."""
    if index == len(fields):
        return True
    field = fields[index]
    leaves, _ = _cached_leaves(field, event, cache)
    if field.has_positive:
        tried: set[Membership] = set()
        for value, position in leaves:
            merged = _merge(membership, position)
            if merged is None or merged in tried or not field.accepts(value):
                continue
            tried.add(merged)
            if _search(fields, index + 1, merged, event, cache):
                return True
    if field.allows_absent and all(_merge(membership, pos) is None for _, pos in leaves):
        return _search(fields, index + 1, membership, event, cache)
    return False


def _build_branches(alternatives: list[Alternative]) -> tuple[_Branch, ...]:
    built: dict[int, _Field] = {}
    branches = []
    for alternative in alternatives:
        written = []
        for spec in alternative.values():
            field = built.get(id(spec))
            if field is None:
                field = built[id(spec)] = _Field.build(spec)
            written.append(field)
        ordered = tuple(sorted(written, key=lambda field: _sort_key(field.path)))
        branches.append(_Branch(ordered, tuple(written)))
    return tuple(branches)


def _matches(branches: tuple[_Branch, ...], event: Any) -> bool:
    cache: LeafCache = {}
    for branch in branches:  # noqa: SIM110 - a plain loop beats any() on this hot path
        if branch.matches(event, cache):
            return True
    return False


# --- explanations -------------------------------------------------------------------------------


def _explain(branches: tuple[_Branch, ...], event: Any) -> list[str]:
    if _matches(branches, event):
        return []
    if len(branches) == 1:
        return _explain_branch(branches[0], event)
    reasons: list[str] = []
    for number, branch in enumerate(branches, start=1):
        reasons += [
            f"$or alternative {number}: {reason}" for reason in _explain_branch(branch, event)
        ]
    return reasons


def _explain_branch(branch: _Branch, event: Any) -> list[str]:
    reasons = []
    for field in branch.written:
        leaves, from_arrays = field.leaves(event)
        if not _may_match(field, leaves, from_arrays):
            reasons.append(_explain_field(field, [value for value, _ in leaves]))
    if not reasons:
        paths = ", ".join(field.path for field in branch.fields)
        reasons.append(
            f"{paths}: each condition matches, but not within the same element of an event array"
        )
    return reasons


def _explain_field(field: _Field, values: list[Any]) -> str:
    positive = [matcher for matcher in field.matchers if not isinstance(matcher, _Absent)]
    if not positive:
        return f"{field.path}: {_show_values(values)} is present but must not exist"
    described = ", ".join(matcher.describe() for matcher in positive)
    if not values:
        return f"{field.path}: no leaf value here, but the pattern requires [{described}]"
    subject = repr(values[0]) if len(values) == 1 else f"no element of {repr(values)}"
    exact = all(matcher.is_exact() for matcher in positive)
    if len(values) == 1:
        verb = "is not one of" if exact else "does not match any of"
    else:
        verb = "is one of" if exact else "matches any of"
    return f"{field.path}: {subject} {verb} [{described}]"


def _show_values(values: list[Any]) -> str:
    return repr(values[0]) if len(values) == 1 else repr(values)


# --- EventBridge API ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, eq=False)
class Pattern:
    """A compiled EventBridge event pattern."""

    source: Any
    _branches: tuple[_Branch, ...]

    def matches(self, event: Mapping[str, Any] | str) -> bool:
        """Whether the event (an object, or its JSON text) matches the pattern."""
        return _matches(self._branches, _load_event(event))

    def explain(self, event: Mapping[str, Any] | str) -> list[str]:
        """Why the event does not match, one reason per failing field; empty when it matches."""
        return _explain(self._branches, _load_event(event))

    @property
    def alternatives(self) -> int:
        """How many alternatives the `$or` expansion produced (1 without `$or`)."""
        return len(self._branches)


def _load_event(event: Mapping[str, Any] | str | bytes) -> Any:
    if type(event) is not dict and isinstance(event, str | bytes):
        return json.loads(event)
    return event


def _load_rule_text(rule: object) -> object:
    if isinstance(rule, bytes):
        rule = rule.decode("utf-8")
    if isinstance(rule, str):
        return _JsonText(rule).read_filter()
    return rule


def compile_pattern(pattern: Mapping[str, Any] | str) -> Pattern:
    """Compile an event pattern, given as a dict or as raw JSON text.

    Raises PatternError with AWS's InvalidEventPatternException wording for invalid patterns.
    """
    try:
        alternatives = _compile_alternatives(_load_rule_text(pattern), _EVENTBRIDGE)
        _check_wildcard_complexity(alternatives)
    except _Invalid as invalid:
        raise PatternError(invalid.reason) from None
    return Pattern(pattern, _build_branches(alternatives))


def validate_event(event: Mapping[str, Any] | str) -> None:
    """Reject events TestEventPattern rejects: non-JSON, non-objects, missing envelope fields."""
    if isinstance(event, str | bytes):
        try:
            event = json.loads(event)
        except ValueError:
            raise EventValidationError() from None
    if not isinstance(event, Mapping):
        raise EventValidationError()
    if any(name not in event for name in REQUIRED_EVENT_FIELDS):
        raise EventValidationError()


# --- SNS API ------------------------------------------------------------------------------------

SCOPES: Final = ("MessageAttributes", "MessageBody")


@dataclass(frozen=True, slots=True, eq=False)
class FilterPolicy:
    """A compiled SNS subscription filter policy for one scope."""

    source: Any
    scope: str
    _branches: tuple[_Branch, ...]

    def matches(self, value: Mapping[str, Any] | str | bytes) -> bool:
        """Match message attributes (SNS API shape) or, for MessageBody scope, the raw message.

        A body that is not a JSON object never matches a body policy.
        """
        payload = self._payload(value)
        return payload is not None and _matches(self._branches, payload)

    def explain(self, value: Mapping[str, Any] | str | bytes) -> list[str]:
        """Why the message is filtered out; empty when it is delivered."""
        payload = self._payload(value)
        if payload is None:
            return ["the message body is not a JSON object"]
        return _explain(self._branches, payload)

    def _payload(self, value: Mapping[str, Any] | str | bytes) -> Mapping[str, Any] | None:
        if self.scope == "MessageAttributes":
            return _attributes_payload(value if isinstance(value, Mapping) else {})
        return _body_payload(value)


def _body_payload(body: Mapping[str, Any] | str | bytes) -> Mapping[str, Any] | None:
    if isinstance(body, Mapping):
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _attributes_payload(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute values as the filter sees them; Binary attributes take no part (AWS)."""
    payload: dict[str, Any] = {}
    for name, attribute in attributes.items():
        if not isinstance(attribute, Mapping):
            continue
        data_type = attribute.get("DataType", attribute.get("Type"))
        raw = attribute.get("StringValue", attribute.get("Value"))
        if not isinstance(data_type, str) or not isinstance(raw, str):
            continue
        if data_type == "String.Array":
            payload[name] = _string_array(raw)
        elif data_type.startswith("Number"):
            payload[name] = _attribute_number(raw)
        elif data_type.startswith("String"):
            payload[name] = raw
    return payload


def _string_array(raw: str) -> Any:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return raw
    return parsed if isinstance(parsed, list) else raw


def _attribute_number(raw: str) -> int | float | str:
    text = raw.strip()
    try:
        return int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)
    except ValueError:
        return raw


def compile_filter_policy(
    policy: Mapping[str, Any] | str, scope: str = "MessageAttributes"
) -> FilterPolicy:
    """Compile an SNS filter policy for `MessageAttributes` or `MessageBody` scope.

    Raises FilterPolicyError (InvalidParameter) for invalid policies, including SNS's limits:
    5 keys, 150 combinations, and no nesting under MessageAttributes scope.
    """
    if scope not in SCOPES:
        raise FilterPolicyError(f"Invalid filter policy scope: {scope}")
    try:
        alternatives = _compile_alternatives(_load_rule_text(policy), _SNS)
    except _Invalid as invalid:
        raise FilterPolicyError(invalid.reason) from None
    _check_sns_limits(alternatives, scope)
    return FilterPolicy(policy, scope, _build_branches(alternatives))


def _check_sns_limits(alternatives: list[Alternative], scope: str) -> None:
    if scope == "MessageAttributes" and any(
        len(spec.keys) > 1 for alternative in alternatives for spec in alternative.values()
    ):
        raise FilterPolicyError(
            "Filter policy scope MessageAttributes does not support nested filter policy",
            names_filter_policy=False,
        )
    for alternative in alternatives:
        # Only top-level keys count towards the limit, also for nested body policies.
        if len({spec.keys[0] for spec in alternative.values()}) > SNS_MAX_KEYS:
            raise FilterPolicyError(f"Filter policy can not have more than {SNS_MAX_KEYS} keys")
    if _combinations(alternatives) > SNS_MAX_COMBINATIONS:
        raise FilterPolicyError("Filter policy is too complex")


def _combinations(alternatives: list[Alternative]) -> int:
    """SNS's complexity: per alternative, the product of value counts times nesting depth;
    alternatives add up."""
    total = 0
    for alternative in alternatives:
        product = 1
        for spec in alternative.values():
            product *= len(spec.matchers) * len(spec.keys)
        total += product
    return total
