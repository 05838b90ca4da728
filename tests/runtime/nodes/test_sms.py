from __future__ import annotations

from runtime.nodes.sms import Sms
from tests.runtime.nodes import lint, problems


def test_defaults_text_the_body_to_a_reserved_number() -> None:
    assert Sms.check_config({}) == []
    assert Sms.feeds == frozenset()


def test_phone_numbers_must_be_e164() -> None:
    assert problems(Sms, phone_numbers=["+14155550123", "+447700900123"]) == {}
    message = "must be E.164: + and 2-15 digits, e.g. +14155550123"
    assert problems(Sms, phone_numbers=["4155550123"]) == {"/phone_numbers/0": message}
    assert problems(Sms, phone_numbers=["+0123"]) == {"/phone_numbers/0": message}
    assert problems(Sms, phone_numbers=["+1234567890123456"]) == {"/phone_numbers/0": message}
    assert problems(Sms, phone_numbers=[]) == {"/phone_numbers": "needs at least one number"}


def test_sender_ids_are_up_to_eleven_alphanumerics_with_a_letter() -> None:
    assert problems(Sms, sender_id="Flowyard") == {}
    message = "must be 1-11 letters and digits with at least one letter"
    assert problems(Sms, sender_id="12345") == {"/sender_id": message}
    assert problems(Sms, sender_id="Flow-yard") == {"/sender_id": message}
    assert problems(Sms, sender_id="FlowyardApp1") == {
        "/sender_id": "must be at most 11 characters"
    }


def test_the_message_is_a_template_of_at_most_1600_characters() -> None:
    assert lint(Sms, message_template="Order {{body.id}} shipped") == {}
    assert problems(Sms, message_template="x" * 1601) == {
        "/message_template": "must be at most 1600 characters"
    }
    assert lint(Sms, message_template="") == {"/message_template": "is required"}
