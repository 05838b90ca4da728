from __future__ import annotations

from runtime.nodes.log import Log
from tests.runtime.nodes import problems


def test_defaults_keep_the_last_hundred_messages() -> None:
    assert Log.check_config({}) == []
    assert Log.defaults()["keep_last"] == 100


def test_a_log_is_a_target_without_an_out_port() -> None:
    assert Log.feeds == frozenset()
    assert Log.has_input


def test_keep_last_is_bounded() -> None:
    assert problems(Log, keep_last=0) == {"/keep_last": "must be 1..10000 messages"}
    assert problems(Log, keep_last=10001) == {"/keep_last": "must be 1..10000 messages"}


def test_the_level_is_a_choice() -> None:
    assert problems(Log, level="TRACE") == {
        "/level": "must be one of 'DEBUG', 'INFO', 'WARNING', 'ERROR'"
    }
