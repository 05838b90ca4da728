"""Imported text: malformed JSON and YAML are reported with their line and column."""

from __future__ import annotations

import pytest

from runtime.formats import FormatError, import_document
from runtime.formats.reading import decode, decode_yaml, dumps_yaml


def test_malformed_json_names_the_line_and_column() -> None:
    with pytest.raises(FormatError, match=r"line 3, column 1"):
        import_document('{"schema": "flowyard.topology/1",\n "name": "x",\n}', fmt="json")


def test_malformed_yaml_names_the_line_and_column() -> None:
    text = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n   Properties: {\n"
    with pytest.raises(FormatError, match=r"not YAML: .* at line 4, column 4"):
        import_document(text, fmt="cloudformation")


def test_an_unclosed_flow_mapping_names_where_it_ended() -> None:
    with pytest.raises(FormatError, match=r"line \d+, column \d+"):
        decode("Resources: {Queue: {Type: AWS::SQS::Queue}\n")


def test_yaml_aliases_are_refused_before_they_can_expand() -> None:
    with pytest.raises(
        FormatError, match=r"aliases \(\*a\) are not supported, at line 2, column 4"
    ):
        decode_yaml("x: &a [1, 2]\ny: *a\n")


def test_text_that_is_not_utf8_is_refused() -> None:
    with pytest.raises(FormatError, match="not UTF-8"):
        decode(b"\xff\xfe{")


def test_too_deep_yaml_is_refused() -> None:
    with pytest.raises(FormatError, match="nesting is deeper"):
        decode_yaml("a: " + "[" * 40 + "]" * 40)


def test_written_yaml_has_no_anchors_and_keeps_multiline_text_readable() -> None:
    shared = {"a": 1}
    text = dumps_yaml({"x": shared, "y": shared, "code": "line 1\nline 2\n"})
    assert "&id" not in text and "*id" not in text
    assert "code: |" in text


def test_deep_yaml_is_refused_while_reading_with_its_place() -> None:
    with pytest.raises(
        FormatError, match=r"nesting is deeper than 32 levels, at line 1, column 33"
    ):
        decode_yaml("[" * 40)
    with pytest.raises(FormatError, match=r"nesting .*at line 1, column \d+"):
        decode_yaml("[" * 100_000)
