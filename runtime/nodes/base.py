"""The contract every node kind follows.

A kind is a small class in its own module under ``runtime/nodes/``, listed once in ``KINDS``. It
declares:

* what it is for the palette: ``label``, ``group``, ``icon`` and a one-line ``description``;
* its config: a tuple of ``Field`` (name, type, default, limits, help text); the designer builds
  its form from these and ``check_config`` validates a document's config against them;
* its ports: ``feeds`` names the kinds it may send to (an empty set means no out-port), and
  ``has_input`` says whether anything may send to it;
* the config carried by its outgoing edges (``edge_fields``), e.g. a topic's filter policy;
* ``extra_checks`` for rules that span several fields (FIFO names, redrive targets, patterns).

Behaviour (what a running node does) is added by the engine's node classes; the declaration here
is what the designer, the validator and the linter read.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

FieldType = Literal["int", "float", "bool", "str", "text", "choice", "json", "list", "node"]
EditorHint = Literal["", "pattern", "filter_policy", "asl", "json_schema", "template", "jsonata"]

GROUPS: tuple[str, ...] = ("Producers", "Routing", "Buffers", "Compute", "Targets")

# A problem found in a config: (JSON pointer relative to the config, message).
Problem = tuple[str, str]


@dataclass(frozen=True)
class Field:
    """One config field of a node kind, with the limits of the service it models."""

    name: str
    type: FieldType
    default: Any
    help: str
    label: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    pattern: str | None = None  # regex a string value must fully match
    editor: EditorHint = ""
    unit: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def check(self, value: Any) -> str | None:
        """The message for an invalid value, or None when the value is acceptable."""
        checker = _CHECKERS[self.type]
        return checker(self, value)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "default": self.default,
            "help": self.help,
            "label": self.title,
        }
        optional = {
            "minimum": self.minimum,
            "maximum": self.maximum,
            "choices": list(self.choices) or None,
            "max_length": self.max_length,
            "pattern": self.pattern,
            "editor": self.editor or None,
            "unit": self.unit or None,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        return data


def _range_text(field: Field) -> str:
    low = "" if field.minimum is None else _number_text(field.minimum)
    high = "" if field.maximum is None else _number_text(field.maximum)
    return f"{low}..{high}"


def _number_text(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else str(number)


def _check_number(field: Field, value: Any, *, integral: bool) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be an integer" if integral else "must be a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    if integral and not float(value).is_integer():
        return "must be an integer"
    too_low = field.minimum is not None and value < field.minimum
    too_high = field.maximum is not None and value > field.maximum
    if too_low or too_high:
        unit = f" {field.unit}" if field.unit else ""
        return f"must be {_range_text(field)}{unit}"
    return None


def _check_int(field: Field, value: Any) -> str | None:
    return _check_number(field, value, integral=True)


def _check_float(field: Field, value: Any) -> str | None:
    return _check_number(field, value, integral=False)


def _check_bool(field: Field, value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _check_str(field: Field, value: Any) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if field.max_length is not None and len(value) > field.max_length:
        return f"must be at most {field.max_length} characters"
    if field.pattern and value and not re.fullmatch(field.pattern, value):
        return f"must match {field.pattern}"
    return None


def _check_choice(field: Field, value: Any) -> str | None:
    if value in field.choices:
        return None
    return "must be one of " + ", ".join(repr(choice) for choice in field.choices)


def _check_json(field: Field, value: Any) -> str | None:
    # Any JSON value; the kind's extra_checks give meaning to it (pattern, ASL, ...).
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return "must be JSON"
    return None


def _check_list(field: Field, value: Any) -> str | None:
    if not isinstance(value, list):
        return "must be a list"
    if field.maximum is not None and len(value) > field.maximum:
        return f"must have at most {_number_text(field.maximum)} items"
    return None


_CHECKERS = {
    "int": _check_int,
    "float": _check_float,
    "bool": _check_bool,
    "str": _check_str,
    "text": _check_str,
    "choice": _check_choice,
    "json": _check_json,
    "list": _check_list,
    "node": _check_str,  # the id of another node; graph.py checks that it exists
}


class Kind:
    """A node kind's declaration: palette entry, config schema, ports and cross-field rules."""

    name: ClassVar[str]
    label: ClassVar[str]
    group: ClassVar[str]
    icon: ClassVar[str]  # a short glyph shown on the palette and the canvas
    description: ClassVar[str]
    models: ClassVar[str] = ""  # the AWS service it emulates
    fields: ClassVar[tuple[Field, ...]] = ()
    edge_fields: ClassVar[tuple[Field, ...]] = ()
    feeds: ClassVar[frozenset[str]] = frozenset()
    has_input: ClassVar[bool] = True
    max_out_edges: ClassVar[int | None] = None

    @classmethod
    def field(cls, name: str) -> Field:
        for field in cls.fields:
            if field.name == name:
                return field
        raise KeyError(name)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {field.name: _copy_default(field.default) for field in cls.fields}

    @classmethod
    def edge_defaults(cls) -> dict[str, Any]:
        return {field.name: _copy_default(field.default) for field in cls.edge_fields}

    @classmethod
    def has_output(cls) -> bool:
        return bool(cls.feeds)

    @classmethod
    def with_defaults(cls, config: Mapping[str, Any]) -> dict[str, Any]:
        return {**cls.defaults(), **config}

    @classmethod
    def check_config(cls, config: Any) -> list[Problem]:
        """Every problem of a node's config: unknown keys, types, limits, then cross-field rules."""
        return check_fields(cls.fields, config, cls.extra_checks)

    @classmethod
    def check_edge_config(cls, config: Any) -> list[Problem]:
        return check_fields(cls.edge_fields, config, cls.extra_edge_checks)

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        """Rules spanning fields; receives the config merged with defaults, all fields valid."""
        return []

    @classmethod
    def extra_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        return []

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        """Deep checks run by the linter, not on load: a document with a half-written pattern or
        state machine can still be saved, and the problem shows as a lint error on the node."""
        return []

    @classmethod
    def semantic_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        return []

    @classmethod
    def to_dict(cls) -> dict[str, Any]:
        return {
            "kind": cls.name,
            "label": cls.label,
            "group": cls.group,
            "icon": cls.icon,
            "description": cls.description,
            "models": cls.models,
            "has_input": cls.has_input,
            "feeds": sorted(cls.feeds),
            "max_out_edges": cls.max_out_edges,
            "fields": [field.to_dict() for field in cls.fields],
            "edge_fields": [field.to_dict() for field in cls.edge_fields],
        }


def _copy_default(value: Any) -> Any:
    # Defaults are shared class data; hand out copies so a caller cannot mutate them.
    return json.loads(json.dumps(value)) if isinstance(value, dict | list) else value


def check_fields(
    fields: Iterable[Field],
    config: Any,
    extra_checks: Any = None,
) -> list[Problem]:
    if not isinstance(config, dict):
        return [("", "must be an object")]
    by_name = {field.name: field for field in fields}
    problems: list[Problem] = [
        (f"/{key}", f"unknown setting {key!r}") for key in config if key not in by_name
    ]
    for name, value in config.items():
        field = by_name.get(name)
        if field is None:
            continue
        message = field.check(value)
        if message:
            problems.append((f"/{name}", message))
    if not problems and extra_checks is not None:
        merged = {name: _copy_default(field.default) for name, field in by_name.items()}
        merged.update(config)
        problems.extend(extra_checks(merged))
    return problems


# Flowyard templates: text with {{...}} placeholders, shared by producers, transforms and targets.
# Generators make up values; references read the message being handled.
TEMPLATE_GENERATORS_HELP = (
    "{{n}} counts 1, 2, 3 per event; {{uuid}} a random v4 UUID; {{now}} the ISO-8601 UTC time; "
    "{{choice a|b|c}} one of the options at random; {{int 1 100}} a random integer, both ends "
    "included."
)
TEMPLATE_REFERENCES_HELP = (
    "{{body}} the message body as JSON; {{body.order.id}} one field of it (dotted path, "
    "numbers index arrays); {{attributes.name}} a message attribute; {{id}} the message id; "
    "{{now}} and {{uuid}} as in producers."
)

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_PATH_PART = r"[A-Za-z0-9_$@-]+"
_GENERATOR_FORMS = (
    re.compile(r"n|uuid|now"),
    re.compile(r"choice [^|{}]+(\|[^|{}]+)+"),
    re.compile(r"int -?\d+ -?\d+"),
)
_REFERENCE_FORMS = (
    re.compile(r"uuid|now|id|body"),
    re.compile(rf"body(\.{_PATH_PART})+"),
    re.compile(r"attributes\.[A-Za-z0-9_.-]+"),
)


def template_problem(
    text: str, *, generators: bool = False, references: bool = False
) -> str | None:
    """Why a Flowyard template is malformed, or None; see TEMPLATE_*_HELP for the syntax."""
    for match in _PLACEHOLDER.finditer(text):
        token = match.group(1).strip()
        forms = (_GENERATOR_FORMS if generators else ()) + (_REFERENCE_FORMS if references else ())
        if not any(form.fullmatch(token) for form in forms):
            return f"unknown placeholder {match.group(0)}"
        if token.startswith("int "):
            low, high = (int(part) for part in token.split()[1:])
            if low > high:
                return f"{match.group(0)}: the first bound must not exceed the second"
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        return "has an unclosed {{ or a stray }}"
    return None


def json_strings(value: Any, pointer: str = "") -> Iterable[tuple[str, str]]:
    """Every string inside a JSON value (keys excluded), with its JSON pointer."""
    if isinstance(value, str):
        yield pointer, value
    elif isinstance(value, dict):
        for key, item in value.items():
            escaped = str(key).replace("~", "~0").replace("/", "~1")
            yield from json_strings(item, f"{pointer}/{escaped}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_strings(item, f"{pointer}/{index}")


def non_default(
    config: Mapping[str, Any], fields: Iterable[Field], names: Iterable[str]
) -> list[str]:
    """Names among ``names`` whose value in ``config`` differs from the field's default."""
    defaults = {field.name: field.default for field in fields}
    return [name for name in names if config.get(name) != defaults[name]]
