"""Decoding imported text (JSON or YAML) under the import limits, with line and column on errors.

YAML is read with a safe loader that understands CloudFormation's short tags (!Ref, !GetAtt,
!Sub…) as their long forms and refuses aliases, whose expansion could blow up memory.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from runtime import spec as topology_spec
from runtime.formats.errors import FormatError
from runtime.spec import SpecError


def text_of(raw: str | bytes) -> str:
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > topology_spec.MAX_DOCUMENT_BYTES:
        raise FormatError(
            f"the file is {size:,} bytes; the limit is {topology_spec.MAX_DOCUMENT_BYTES:,}"
        )
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise FormatError(f"not UTF-8 text: {error.reason} at byte {error.start}") from None


def decode_json(raw: str | bytes) -> Any:
    """JSON under the document limits; errors carry the line and column."""
    try:
        return topology_spec.decode(text_of(raw))
    except SpecError as error:
        raise FormatError(error.errors[0][1]) from None


# libyaml's parser and emitter are many times faster than the pure-Python ones, when built.
_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_OPENING = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSING = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Loader(_SafeLoader):
    """The safe loader plus CloudFormation's short tags (!Ref, !GetAtt, !Sub…)."""


def _check_events(text: str) -> None:
    """Refuses aliases and deep nesting from the event stream, before anything is built."""
    depth = 0
    for event in yaml.parse(text, Loader=_SafeLoader):
        mark = event.start_mark
        where = f"at line {mark.line + 1}, column {mark.column + 1}"
        if isinstance(event, yaml.AliasEvent):
            raise FormatError(f"YAML aliases (*{event.anchor}) are not supported, {where}")
        if isinstance(event, _OPENING):
            depth += 1
            if depth > topology_spec.MAX_DEPTH:
                raise FormatError(
                    f"nesting is deeper than {topology_spec.MAX_DEPTH} levels, {where}"
                )
        elif isinstance(event, _CLOSING):
            depth -= 1


def _short_tag(loader: Any, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_Loader.add_multi_constructor("!", _short_tag)


def decode_yaml(raw: str | bytes) -> Any:
    text = text_of(raw)
    try:
        _check_events(text)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = error.problem or error.context or "malformed"
        raise FormatError(f"not YAML: {problem}{where}") from None
    except yaml.YAMLError as error:
        raise FormatError(f"not YAML: {error}") from None
    return data


def decode(raw: str | bytes) -> Any:
    """JSON when the text starts like JSON, else YAML (a superset, with better CFN errors)."""
    text = text_of(raw)
    if text.lstrip()[:1] in ("{", "["):
        return decode_json(text)
    return decode_yaml(text)


def dumps_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


class _Dumper(_SafeDumper):
    """Block style for multi-line strings; never anchors, which CloudFormation rejects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: Any, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def dumps_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
