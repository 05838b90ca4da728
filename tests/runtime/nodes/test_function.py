from __future__ import annotations

import pytest

from runtime.nodes.function import Function
from tests.runtime.nodes import lint, problems


def test_defaults_follow_lambda() -> None:
    assert Function.check_config({}) == []
    defaults = Function.defaults()
    assert defaults["timeout"] == 3
    assert defaults["memory"] == 128
    assert defaults["batch_size"] == 10
    assert defaults["max_retry_attempts"] == 2


def test_a_function_feeds_buffers_routers_compute_and_targets() -> None:
    assert {"queue", "topic", "event_bus", "function", "log", "webhook"} <= Function.feeds
    assert "producer" not in Function.feeds


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("memory", 127, "must be 128..10240 MB"),
        ("memory", 10241, "must be 128..10240 MB"),
        ("timeout", 0, "must be 1..900 s"),
        ("timeout", 901, "must be 1..900 s"),
        ("batch_size", 10001, "must be 1..10000 messages"),
        ("reserved_concurrency", 1001, "must be 0..1000"),
        ("failure_rate", 1.5, "must be 0..1"),
        ("max_retry_attempts", 3, "must be 0..2"),
        ("max_event_age", 59, "must be 60..21600 s"),
        ("batching_window", 301, "must be 0..300 s"),
    ],
)
def test_each_limit_is_enforced(name: str, value: float, message: str) -> None:
    assert problems(Function, **{name: value}) == {f"/{name}": message}


def test_a_jsonata_transform_needs_a_valid_expression() -> None:
    assert problems(Function, transform="jsonata") == {}
    assert lint(Function, transform="jsonata") == {
        "/jsonata": "a JSONata transform needs an expression"
    }
    assert lint(Function, transform="jsonata", jsonata='{"id": order.id}') == {}
    found = lint(Function, transform="jsonata", jsonata="$.a +")
    assert list(found) == ["/jsonata"] and found["/jsonata"].startswith("is not valid JSONata")


def test_a_template_transform_needs_a_valid_template() -> None:
    assert lint(Function, transform="template") == {
        "/template": "a template transform needs a template"
    }
    assert lint(Function, transform="template", template='{"id": "{{body.id}}"}') == {}
    assert lint(Function, transform="template", template="{{n}}") == {
        "/template": "unknown placeholder {{n}}"
    }


def test_an_expression_for_another_transform_is_refused() -> None:
    assert problems(Function, jsonata="$") == {"/jsonata": "applies only when transform is jsonata"}
