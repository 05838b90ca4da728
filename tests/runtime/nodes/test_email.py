from __future__ import annotations

from runtime.nodes.email import Email
from tests.runtime.nodes import lint, problems


def test_defaults_send_the_body_to_one_address() -> None:
    assert Email.check_config({}) == []
    assert Email.feeds == frozenset()


def test_recipients_must_be_addresses() -> None:
    assert problems(Email, to=["a@example.com", "b.c+d@mail.example.org"]) == {}
    assert problems(Email, to=["nobody"]) == {
        "/to/0": "must be an email address such as ops@example.com"
    }
    assert problems(Email, to=["a..b@example.com"]) == {
        "/to/0": "must not have leading, trailing or double dots before the @"
    }
    assert problems(Email, to=[]) == {"/to": "needs at least one address"}
    assert problems(Email, to=[f"u{i}@example.com" for i in range(51)]) == {
        "/to": "must have at most 50 items"
    }


def test_the_sender_must_be_an_address() -> None:
    assert problems(Email, from_address="flowyard") == {
        "/from_address": "must be an email address such as ops@example.com"
    }


def test_subject_and_body_are_templates() -> None:
    assert problems(Email, subject="Order {{body.order.id}}") == {}
    assert problems(Email, subject="{{uuid") == {"/subject": "has an unclosed {{ or a stray }}"}
    assert problems(Email, subject="two\nlines") == {"/subject": "must be one line"}
    assert lint(Email, body_template="{{choice a|b}}") == {
        "/body_template": "unknown placeholder {{choice a|b}}"
    }
