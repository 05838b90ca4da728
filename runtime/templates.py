"""Flowyard templates, compiled once: ``{{...}}`` placeholders in text and in JSON samples.

The syntax is documented in ``runtime.nodes.base`` (TEMPLATE_GENERATORS_HELP and
TEMPLATE_REFERENCES_HELP) and checked there by ``template_problem``. Nothing is evaluated as
code: each placeholder compiles to one of a fixed set of small functions.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime.events import Message

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_NUMBER_ONLY = re.compile(r"\{\{\s*(n|int -?\d+ -?\d+)\s*\}\}")


@dataclass(slots=True)
class TemplateContext:
    """What placeholders read: the event counter, randomness, time and the message at hand."""

    rng: random.Random
    now: float
    n: int = 0
    message: Message | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Piece = Callable[[TemplateContext], Any]


def iso_time(timestamp: float, *, millis: bool = False) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def seeded_uuid(rng: random.Random) -> str:
    """A v4 UUID drawn from the run's RNG, so seeded runs repeat exactly."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _lookup(value: Any, path: list[str]) -> Any:
    for part in path:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def _compile_token(token: str) -> Piece:
    """One placeholder as a function of the context; unknown forms render as themselves."""
    if token == "n":
        return lambda ctx: ctx.n
    if token == "uuid":
        return lambda ctx: seeded_uuid(ctx.rng)
    if token == "now":
        return lambda ctx: iso_time(ctx.now, millis=True)
    if token == "id":
        return lambda ctx: ctx.message.id if ctx.message else ""
    if token.startswith("choice "):
        options = [option.strip() for option in token[7:].split("|")]
        return lambda ctx: ctx.rng.choice(options)
    if token.startswith("int "):
        low, high = (int(part) for part in token.split()[1:3])
        return lambda ctx: ctx.rng.randint(low, high)
    if token == "body" or token.startswith("body."):
        path = token.split(".")[1:]
        return lambda ctx: _lookup(ctx.message.body if ctx.message else None, path)
    if token.startswith("attributes."):
        name = token[len("attributes.") :]
        return lambda ctx: ctx.message.attributes.get(name) if ctx.message else None
    literal = "{{" + token + "}}"
    return lambda ctx: literal


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def compile_text(text: str) -> Callable[[TemplateContext], str]:
    """A text template: placeholders render as text (JSON for structured values)."""
    parts: list[str | Piece] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        parts.append(_compile_token(match.group(1).strip()))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    if not any(callable(part) for part in parts):
        return lambda ctx: text

    def render(ctx: TemplateContext) -> str:
        return "".join(part if isinstance(part, str) else _as_text(part(ctx)) for part in parts)

    return render


def compile_json(sample: Any) -> Callable[[TemplateContext], Any]:
    """A JSON sample whose strings may hold placeholders. Static parts are shared, not copied;
    a string that is exactly one {{n}} or {{int a b}} becomes a number."""
    if isinstance(sample, str):
        if "{{" not in sample:
            return lambda ctx: sample
        if _NUMBER_ONLY.fullmatch(sample):
            return _compile_token(sample.strip()[2:-2].strip())
        return compile_text(sample)
    if isinstance(sample, dict):
        compiled = {key: compile_json(value) for key, value in sample.items()}
        if all(_is_static(value) for value in sample.values()):
            return lambda ctx: sample
        return lambda ctx: {key: piece(ctx) for key, piece in compiled.items()}
    if isinstance(sample, list):
        items = [compile_json(value) for value in sample]
        if all(_is_static(value) for value in sample):
            return lambda ctx: sample
        return lambda ctx: [piece(ctx) for piece in items]
    return lambda ctx: sample


def _is_static(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" not in value
    if isinstance(value, dict):
        return all(_is_static(item) for item in value.values())
    if isinstance(value, list):
        return all(_is_static(item) for item in value)
    return True


def parse_rendered(text: str) -> Any:
    """A rendered template is JSON when it parses as JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text
