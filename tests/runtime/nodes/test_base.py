from __future__ import annotations

from typing import Any, ClassVar

from runtime.nodes.base import Field, Kind, Problem, json_strings, non_default, template_problem


class Sample(Kind):
    name = "sample"
    label = "Sample"
    group = "Buffers"
    icon = "S"
    description = "A kind for tests."
    fields: ClassVar[tuple[Field, ...]] = (
        Field("count", "int", 1, "Count.", minimum=1, maximum=10, unit="s"),
        Field("ratio", "float", 0.5, "Ratio.", minimum=0, maximum=1),
        Field("flag", "bool", False, "Flag."),
        Field("name", "str", "", "Name.", max_length=5, pattern=r"[a-z]+"),
        Field("color", "choice", "red", "Color.", choices=("red", "blue")),
        Field("data", "json", {}, "Data."),
        Field("items", "list", [], "Items.", maximum=2),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        return [("/flag", "needs count 2")] if config["flag"] and config["count"] != 2 else []


def test_an_empty_config_is_valid_with_defaults() -> None:
    assert Sample.check_config({}) == []
    assert Sample.defaults()["count"] == 1


def test_a_config_that_is_not_an_object_is_refused() -> None:
    assert Sample.check_config([]) == [("", "must be an object")]


def test_unknown_keys_are_reported() -> None:
    assert Sample.check_config({"nope": 1}) == [("/nope", "unknown setting 'nope'")]


def test_numbers_are_checked_against_their_range_with_the_unit() -> None:
    assert Sample.check_config({"count": 11}) == [("/count", "must be 1..10 s")]
    assert Sample.check_config({"count": 1.5}) == [("/count", "must be an integer")]
    assert Sample.check_config({"count": True}) == [("/count", "must be an integer")]
    assert Sample.check_config({"ratio": float("nan")}) == [("/ratio", "must be a finite number")]


def test_strings_choices_lists_and_json_are_type_checked() -> None:
    assert Sample.check_config({"name": "toolong"}) == [("/name", "must be at most 5 characters")]
    assert Sample.check_config({"name": "A1"}) == [("/name", "must match [a-z]+")]
    assert Sample.check_config({"color": "green"}) == [("/color", "must be one of 'red', 'blue'")]
    assert Sample.check_config({"items": [1, 2, 3]}) == [("/items", "must have at most 2 items")]
    assert Sample.check_config({"data": {1, 2}}) == [("/data", "must be JSON")]
    assert Sample.check_config({"flag": "yes"}) == [("/flag", "must be true or false")]


def test_extra_checks_run_only_when_every_field_is_valid() -> None:
    assert Sample.check_config({"flag": True}) == [("/flag", "needs count 2")]
    assert Sample.check_config({"flag": True, "count": 0}) == [("/count", "must be 1..10 s")]


def test_defaults_are_copies_a_caller_cannot_mutate() -> None:
    Sample.defaults()["data"]["x"] = 1
    assert Sample.defaults()["data"] == {}


def test_to_dict_describes_the_palette_entry_and_the_form() -> None:
    data = Sample.to_dict()
    assert data["kind"] == "sample"
    assert data["fields"][0] == {
        "name": "count",
        "type": "int",
        "default": 1,
        "help": "Count.",
        "label": "Count",
        "minimum": 1,
        "maximum": 10,
        "unit": "s",
    }


def test_templates_accept_known_generators_and_references() -> None:
    assert template_problem("{{n}} {{uuid}} {{now}}", generators=True) is None
    assert template_problem("{{choice a|b c}} {{int -5 5}}", generators=True) is None
    assert template_problem("{{body.order.id}} {{attributes.kind}} {{id}}", references=True) is None


def test_templates_reject_unknown_placeholders_and_stray_braces() -> None:
    assert template_problem("{{body}}", generators=True) == "unknown placeholder {{body}}"
    assert template_problem("{{choice a}}", generators=True) == "unknown placeholder {{choice a}}"
    assert template_problem("{{int 5 1}}", generators=True) == (
        "{{int 5 1}}: the first bound must not exceed the second"
    )
    assert template_problem("{{n", generators=True) == "has an unclosed {{ or a stray }}"


def test_json_strings_walks_nested_values_with_pointers() -> None:
    value = {"a": ["x", {"b/c": "y"}], "n": 1}
    assert list(json_strings(value, "/body")) == [("/body/a/0", "x"), ("/body/a/1/b~1c", "y")]


def test_non_default_lists_changed_fields() -> None:
    assert non_default({"count": 3, "flag": False}, Sample.fields, ("count", "flag")) == ["count"]
