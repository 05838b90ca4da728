"""S4: JSONata, JSONPath and templates cannot reach Python: hostile expressions are refused or
evaluate to plain data, and a canary file is never created."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

BODY = {"a": 1, "name": "x", "items": [1, 2]}


def plain(value: Any) -> bool:
    """JSON-shaped data only: no classes, functions or other Python objects."""
    if value is None or isinstance(value, bool | int | float | str):
        return "<class" not in str(value) and "<function" not in str(value)
    if isinstance(value, list):
        return all(plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    return False


def jsonata_payloads(canary: Path) -> list[str]:
    command = f"__import__('os').system('touch {canary}')"
    return [
        f'$eval("{command}")',
        f"$eval('$string(1)') & \"{command}\"",
        "$.__class__",
        "a.__class__.__mro__",
        '$lookup($, "__class__")',
        '$lookup($lookup($, "__class__"), "__subclasses__")',
        "$.__init__.__globals__",
        "$string($keys($)) & $type($)",
        "(function($x){ $x.__class__ })($)",
        '$sift($, function($v, $k){ $k = "__dict__" })',
    ]


def evaluate_safely(run: Any) -> Any:
    try:
        return run()
    except Exception:  # noqa: BLE001 - refusing the expression is a pass
        return None


def test_jsonata_in_function_transforms_cannot_reach_python(tmp_path: Path) -> None:
    import jsonata

    canary = tmp_path / "canary"
    for payload in jsonata_payloads(canary):

        def run(payload: str = payload) -> Any:
            return jsonata.Jsonata(payload).evaluate(BODY)

        assert plain(evaluate_safely(run)), payload
    assert not canary.exists()


def test_jsonata_in_state_machines_cannot_reach_python(tmp_path: Path) -> None:
    from runtime.asl.jsonata_mode import compile_expression

    canary = tmp_path / "canary"
    for payload in jsonata_payloads(canary):

        def run(payload: str = payload) -> Any:
            return compile_expression(payload).evaluate(BODY)

        assert plain(evaluate_safely(run)), payload
    assert not canary.exists()


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{__import__('os').system('touch CANARY')}}",
        "{{body.__class__}}",
        "{{body.__class__.__init__.__globals__}}",
        "{{attributes.__class__}}",
        "{{ config.items() }}",
        "{% for x in ().__class__.__base__.__subclasses__() %}{{x}}{% endfor %}",
        "${{7*7}}",
    ],
)
def test_templates_render_hostile_placeholders_as_inert_text(template: str, tmp_path: Path) -> None:
    from runtime.events import Message
    from runtime.templates import TemplateContext, compile_json, compile_text

    message = Message.new(dict(BODY), now=0.0, attributes={"k": "v"})
    context = TemplateContext(random.Random(1), 0.0, n=1, message=message)
    text = compile_text(template)(context)
    structured = compile_json({"value": template})(context)
    assert plain(text) and plain(structured)
    assert "49" not in text and "<class" not in text
    assert not (tmp_path / "CANARY").exists() and not Path("CANARY").exists()


@pytest.mark.parametrize(
    "path",
    ["$.__class__", "$..__class__", "$[?(@.__class__)]", "$.a.__class__.__mro__", "$['__dict__']"],
)
def test_jsonpath_cannot_reach_python_attributes(path: str) -> None:
    from runtime.asl import paths

    def run() -> Any:
        return paths.parse_path(path).evaluate(BODY)

    assert plain(evaluate_safely(run))
