"""Shared diagram pieces: edge labels summarise rule patterns and topic filters."""

from __future__ import annotations

from runtime.formats.common import file_stem, one_line, pattern_summary


def test_patterns_read_as_short_text() -> None:
    pattern = {
        "source": ["a", "b"],
        "detail": {
            "total": [{"numeric": [">", 0, "<=", 100]}],
            "status": [{"anything-but": ["x"]}],
        },
    }
    assert pattern_summary(pattern) == (
        "source=a|b, detail.total=numeric > 0 <= 100, detail.status=anything-but x"
    )


def test_or_branches_are_grouped() -> None:
    assert pattern_summary({"$or": [{"a": [1]}, {"b": ["x"]}]}) == "(a=1) or (b=x)"


def test_labels_are_put_on_one_line_and_cut() -> None:
    assert one_line("a\nb\tc") == "a b c"
    assert one_line("abcdefghij", 5) == "abcd…"


def test_file_names_are_ascii_slugs() -> None:
    assert file_stem("Orders démo / v2") == "orders-d-mo-v2"
    assert file_stem("!!!") == "topology"
