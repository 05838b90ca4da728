"""JSONPath as Step Functions uses it (the Jayway dialect), reference paths and path assignment.

A path starts at `$` (the state's data), `$$` (the context object) or `$name` (a workflow
variable). Definite paths (names and single indices only) address one node and fail when it is
missing; indefinite paths (wildcards, slices, unions, filters, deep scans) return a list of every
match, possibly empty. Reference paths (ResultPath, Choice `Variable`, `ItemsPath`, ...) must be
definite.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

ROOT_INPUT = "$"
ROOT_CONTEXT = "$$"
ROOT_VARIABLE = "var"

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"-?\d+")


class PathSyntaxError(ValueError):
    """The text is not a JSONPath this dialect understands."""


class PathNotFound(LookupError):
    """A definite path addressed a node that does not exist.

    `jayway` is the Jayway-style message AWS quotes, e.g. "No results for path: $['x']".
    """

    def __init__(self, path: JsonPath, jayway: str) -> None:
        super().__init__(jayway)
        self.path = path
        self.jayway = jayway


@dataclass(frozen=True)
class Step:
    kind: str  # name | index | wildcard | slice | names | indices | filter | deep
    value: Any = None

    @property
    def definite(self) -> bool:
        return self.kind in ("name", "index")


@dataclass(frozen=True)
class JsonPath:
    text: str
    root: str
    variable: str | None
    steps: tuple[Step, ...]
    definite: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "definite", all(step.definite for step in self.steps))

    def evaluate(
        self,
        data: Any,
        *,
        context: Any = None,
        variables: Mapping[str, Any] | None = None,
    ) -> Any:
        """The addressed value (definite paths) or the list of matches (indefinite paths)."""
        start = self._start(data, context, variables)
        if self.definite:
            return self._walk_definite(start)
        nodes = [start]
        for step in self.steps:
            nodes = list(_apply(step, nodes, data))
        return nodes

    def _start(self, data: Any, context: Any, variables: Mapping[str, Any] | None) -> Any:
        if self.root == ROOT_INPUT:
            return data
        if self.root == ROOT_CONTEXT:
            return context() if callable(context) else context
        if variables is None or self.variable not in variables:
            raise PathNotFound(self, f"No results for path: ${self.variable}")
        return variables[self.variable]

    def _walk_definite(self, node: Any) -> Any:
        for position, step in enumerate(self.steps):
            found, node = _lookup(node, step)
            if not found:
                leaf = position == len(self.steps) - 1
                prefix = self.jayway_prefix(position + 1)
                reason = "No results for path: " if leaf else "Missing property in path "
                raise PathNotFound(self, reason + prefix)
        return node

    def jayway_prefix(self, length: int | None = None) -> str:
        """The bracket form Jayway prints for the first `length` steps, e.g. `$['a'][0]`."""
        head = "$" if self.root != ROOT_VARIABLE else f"${self.variable}"
        return head + "".join(_bracket(step) for step in self.steps[:length])


def _bracket(step: Step) -> str:
    if step.kind == "name":
        return f"['{step.value}']"
    if step.kind == "index":
        return f"[{step.value}]"
    return "[*]"


def _lookup(node: Any, step: Step) -> tuple[bool, Any]:
    if step.kind == "name":
        if isinstance(node, dict) and step.value in node:
            return True, node[step.value]
        return False, None
    if isinstance(node, list):
        index = step.value + len(node) if step.value < 0 else step.value
        if 0 <= index < len(node):
            return True, node[index]
    return False, None


def _apply(step: Step, nodes: list[Any], root: Any) -> Iterator[Any]:
    for node in nodes:
        if step.kind in ("name", "index"):
            found, value = _lookup(node, step)
            if found:
                yield value
        elif step.kind == "wildcard":
            yield from _children(node)
        elif step.kind == "names":
            if isinstance(node, dict):
                yield from (node[name] for name in step.value if name in node)
        elif step.kind == "indices":
            for index in step.value:
                found, value = _lookup(node, Step("index", index))
                if found:
                    yield value
        elif step.kind == "slice" and isinstance(node, list):
            yield from node[slice(*step.value)]
        elif step.kind == "filter":
            yield from _filter(step.value, node, root)
        elif step.kind == "deep":
            for descendant in _descendants(node):
                yield from _apply(step.value, [descendant], root)


def _children(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return list(node.values())
    if isinstance(node, list):
        return list(node)
    return []


def _descendants(node: Any) -> Iterator[Any]:
    yield node
    for child in _children(node):
        if isinstance(child, dict | list):
            yield from _descendants(child)


def _filter(predicate: Callable[[Any, Any], bool], node: Any, root: Any) -> Iterator[Any]:
    # Jayway applies a filter to each element of an array, or to an object itself.
    if isinstance(node, list):
        yield from (item for item in node if predicate(item, root))
    elif isinstance(node, dict) and predicate(node, root):
        yield node


@lru_cache(maxsize=4096)
def parse_path(text: str) -> JsonPath:
    """Parse a JSONPath; raises PathSyntaxError."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise PathSyntaxError(f"'{text}' is not a JSONPath (it must start with '$')")
    if text.startswith("$$"):
        root, variable, position = ROOT_CONTEXT, None, 2
    elif len(text) > 1 and text[1] not in ".[":
        match = _VARIABLE_NAME.match(text, 1)
        if not match:
            raise PathSyntaxError(f"'{text}' is not a valid JSONPath or variable reference")
        root, variable, position = ROOT_VARIABLE, match.group(), match.end()
    else:
        root, variable, position = ROOT_INPUT, None, 1
    steps = _StepParser(text, position).parse()
    return JsonPath(text, root, variable, tuple(steps))


def parse_reference_path(text: str) -> JsonPath:
    """Parse a reference path: a JSONPath that addresses exactly one node."""
    path = parse_path(text)
    if not path.definite:
        raise PathSyntaxError(
            f"'{text}' is not a reference path (no wildcards, slices, unions or filters)"
        )
    return path


def is_path(text: Any) -> bool:
    try:
        parse_path(text)
    except PathSyntaxError:
        return False
    return True


class _StepParser:
    def __init__(self, text: str, position: int) -> None:
        self.text = text
        self.pos = position

    def fail(self, reason: str) -> PathSyntaxError:
        return PathSyntaxError(f"Invalid JSONPath '{self.text}': {reason} at position {self.pos}")

    def parse(self) -> list[Step]:
        steps: list[Step] = []
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if text.startswith("..", self.pos):
                self.pos += 2
                inner = self._bracket() if self._peek("[") else self._dotted()
                steps.append(Step("deep", inner))
            elif char == ".":
                self.pos += 1
                steps.append(self._dotted())
            elif char == "[":
                steps.append(self._bracket())
            else:
                raise self.fail(f"unexpected character {char!r}")
        return steps

    def _peek(self, char: str) -> bool:
        return self.text.startswith(char, self.pos)

    def _dotted(self) -> Step:
        if self._peek("*"):
            self.pos += 1
            return Step("wildcard")
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in ".[":
            self.pos += 1
        name = self.text[start : self.pos]
        if not name or name != name.strip():
            raise self.fail("empty or padded property name")
        return Step("name", name)

    def _bracket(self) -> Step:
        end = _closing_bracket(self.text, self.pos)
        if end < 0:
            raise self.fail("unclosed '['")
        content = self.text[self.pos + 1 : end].strip()
        self.pos = end + 1
        if content == "*":
            return Step("wildcard")
        if content.startswith("?"):
            return Step("filter", _parse_filter(content[1:].strip(), self.text))
        if content[:1] in ("'", '"'):
            names = _split_quoted(content, self.text)
            return Step("name", names[0]) if len(names) == 1 else Step("names", tuple(names))
        if ":" in content:
            return Step("slice", _parse_slice(content, self.text))
        parts = [part.strip() for part in content.split(",")]
        if not all(_INT.fullmatch(part) for part in parts):
            raise self.fail(f"invalid subscript [{content}]")
        indices = tuple(int(part) for part in parts)
        return Step("index", indices[0]) if len(indices) == 1 else Step("indices", indices)


def _closing_bracket(text: str, start: int) -> int:
    depth, quote = 0, None
    position = start
    while position < len(text):
        char = text[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return -1


def _split_quoted(content: str, text: str) -> list[str]:
    names: list[str] = []
    position = 0
    while position < len(content):
        quote = content[position]
        if quote not in "'\"":
            raise PathSyntaxError(f"Invalid JSONPath '{text}': expected a quoted property name")
        value, position = _read_quoted(content, position)
        names.append(value)
        while position < len(content) and content[position] in " ,":
            position += 1
    return names


def _read_quoted(content: str, start: int) -> tuple[str, int]:
    quote, chars, position = content[start], [], start + 1
    while position < len(content):
        char = content[position]
        # Only the delimiter itself can be escaped; any other backslash is literal.
        if char == "\\" and content[position + 1 : position + 2] == quote:
            chars.append(quote)
            position += 2
            continue
        if char == quote:
            return "".join(chars), position + 1
        chars.append(char)
        position += 1
    raise PathSyntaxError(f"unterminated string in {content!r}")


def _parse_slice(content: str, text: str) -> tuple[int | None, ...]:
    parts = [part.strip() for part in content.split(":")]
    if len(parts) > 3 or not all(part == "" or _INT.fullmatch(part) for part in parts):
        raise PathSyntaxError(f"Invalid JSONPath '{text}': invalid slice [{content}]")
    values = tuple(int(part) if part else None for part in parts)
    if len(values) == 3 and values[2] == 0:
        raise PathSyntaxError(f"Invalid JSONPath '{text}': slice step cannot be zero")
    return values


# Filter expressions: [?( <expr> )] with @ (current node), $ (root), literals, comparisons
# (== != < <= > >= =~ in nin), !, && and ||, grouped by parentheses.

_FILTER_TOKEN = re.compile(
    r"""\s*(?:
      (?P<op>==|!=|<=|>=|=~|&&|\|\||<|>|!|\(|\)|\[|\]|,)
    | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
    | (?P<regex>/(?:\\.|[^/\\])*/[a-z]*)
    | (?P<path>[@$](?:\.\.?[^\s.\[\]()=!<>&|,~]*|\[[^\]]*\])*)
    | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
    )""",
    re.VERBOSE,
)

FilterFn = Callable[[Any, Any], Any]
_MISSING = object()


def _parse_filter(content: str, text: str) -> Callable[[Any, Any], bool]:
    if not (content.startswith("(") and content.endswith(")")):
        raise PathSyntaxError(f"Invalid JSONPath '{text}': a filter must look like [?(...)]")
    tokens = _tokenize_filter(content[1:-1], text)
    parser = _FilterParser(tokens, text)
    expression = parser.parse_or()
    if parser.pos != len(tokens):
        raise PathSyntaxError(f"Invalid JSONPath '{text}': unexpected tokens in filter")
    return lambda node, root: _truthy(expression(node, root))


def _tokenize_filter(content: str, text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(content):
        if content[position:].strip() == "":
            break
        match = _FILTER_TOKEN.match(content, position)
        if not match or match.end() == position:
            raise PathSyntaxError(f"Invalid JSONPath '{text}': cannot parse filter {content!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str]], text: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.text = text

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise PathSyntaxError(f"Invalid JSONPath '{self.text}': incomplete filter")
        self.pos += 1
        return token

    def parse_or(self) -> FilterFn:
        left = self.parse_and()
        while self._peek() == ("op", "||"):
            self.pos += 1
            right = self.parse_and()
            left = _either(left, right)
        return left

    def parse_and(self) -> FilterFn:
        left = self.parse_comparison()
        while self._peek() == ("op", "&&"):
            self.pos += 1
            right = self.parse_comparison()
            left = _both(left, right)
        return left

    def parse_comparison(self) -> FilterFn:
        left = self.parse_unary()
        token = self._peek()
        operators = ("==", "!=", "<", "<=", ">", ">=", "=~")
        if token and (token in [("op", op) for op in operators] or token in _WORD_OPS):
            self.pos += 1
            right = self.parse_unary()
            return _compare(token[1], left, right)
        return left

    def parse_unary(self) -> FilterFn:
        kind, value = self._take()
        if (kind, value) == ("op", "!"):
            inner = self.parse_unary()
            return lambda node, root: not _truthy(inner(node, root))
        if (kind, value) == ("op", "("):
            inner = self.parse_or()
            if self._take() != ("op", ")"):
                raise PathSyntaxError(f"Invalid JSONPath '{self.text}': missing ')'")
            return inner
        if (kind, value) == ("op", "["):
            return self._array_literal()
        return _operand(kind, value, self.text)

    def _array_literal(self) -> FilterFn:
        items: list[FilterFn] = []
        while self._peek() != ("op", "]"):
            items.append(self.parse_unary())
            if self._peek() == ("op", ","):
                self.pos += 1
        self.pos += 1
        return lambda node, root: [item(node, root) for item in items]


_WORD_OPS = {("word", "in"), ("word", "nin")}


def _either(left: FilterFn, right: FilterFn) -> FilterFn:
    return lambda node, root: _truthy(left(node, root)) or _truthy(right(node, root))


def _both(left: FilterFn, right: FilterFn) -> FilterFn:
    return lambda node, root: _truthy(left(node, root)) and _truthy(right(node, root))


def _operand(kind: str, value: str, text: str) -> FilterFn:
    if kind == "number":
        number = float(value) if any(c in value for c in ".eE") else int(value)
        return lambda node, root: number
    if kind == "string":
        literal = _read_quoted(value, 0)[0]
        return lambda node, root: literal
    if kind == "regex":
        body, _, flags = value[1:].rpartition("/")
        pattern = re.compile(body, re.IGNORECASE if "i" in flags else 0)
        return lambda node, root: pattern
    if kind == "word" and value in ("true", "false", "null"):
        constant = json.loads(value)
        return lambda node, root: constant
    if kind == "path":
        return _filter_path(value, text)
    raise PathSyntaxError(f"Invalid JSONPath '{text}': unexpected {value!r} in filter")


def _filter_path(value: str, text: str) -> FilterFn:
    relative = value.startswith("@")
    inner = parse_path("$" + value[1:])

    def resolve(node: Any, root: Any) -> Any:
        try:
            return inner.evaluate(node if relative else root)
        except PathNotFound:
            return _MISSING

    return resolve


def _compare(operator: str, left: FilterFn, right: FilterFn) -> FilterFn:
    def compare(node: Any, root: Any) -> bool:
        a, b = left(node, root), right(node, root)
        if a is _MISSING or b is _MISSING:
            return False
        if operator == "=~":
            return isinstance(a, str) and isinstance(b, re.Pattern) and bool(b.fullmatch(a))
        if operator in ("in", "nin"):
            found = isinstance(b, list) and any(json_equal(a, item) for item in b)
            return found if operator == "in" else not found
        if operator in ("==", "!="):
            return json_equal(a, b) == (operator == "==")
        return _ordered(operator, a, b)

    return compare


def _ordered(operator: str, a: Any, b: Any) -> bool:
    both_numbers = _is_number(a) and _is_number(b)
    both_strings = isinstance(a, str) and isinstance(b, str)
    if not (both_numbers or both_strings):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[operator]


def _truthy(value: Any) -> bool:
    # A bare path in a filter ([?(@.isbn)]) tests existence, not truthiness.
    return value is not _MISSING and value is not False


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0, containers compare deeply."""
    if _is_number(a) and _is_number(b):
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    return a == b


class ResultPathMatchFailure(Exception):
    """ResultPath cannot be applied: an intermediate node exists but is not an object."""


def assign_path(data: Any, path: JsonPath, value: Any) -> Any:
    """A copy of `data` with `value` placed at the reference path (containers copied on the way).

    Intermediate objects are created as needed; values are never mutated in place, so the
    untouched parts of the document are shared with the original.
    """
    if not path.steps:
        return value
    return _assign(data, path.steps, value, path)


def _assign(node: Any, steps: tuple[Step, ...], value: Any, path: JsonPath) -> Any:
    step, rest = steps[0], steps[1:]
    if step.kind == "name":
        if node is None or not isinstance(node, dict):
            raise ResultPathMatchFailure(_match_failure(path, step, node))
        child = node.get(step.value, {}) if rest else None
        updated = dict(node)
        updated[step.value] = _assign(child, rest, value, path) if rest else value
        return updated
    if not isinstance(node, list):
        raise ResultPathMatchFailure(_match_failure(path, step, node))
    index = step.value + len(node) if step.value < 0 else step.value
    if not 0 <= index < len(node):
        raise ResultPathMatchFailure(_match_failure(path, step, node))
    updated_list = list(node)
    updated_list[index] = _assign(node[index], rest, value, path) if rest else value
    return updated_list


def _match_failure(path: JsonPath, step: Step, node: Any) -> str:
    rendered = json.dumps(node, separators=(",", ":"), ensure_ascii=False)
    return f'Unable to apply step "{step.value}" to input {rendered}'
