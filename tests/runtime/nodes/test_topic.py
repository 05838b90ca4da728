from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from runtime.nodes.topic import Topic
from tests.runtime.nodes import edge_lint, problems


def test_defaults_are_a_standard_topic_with_the_default_http_policy() -> None:
    assert Topic.check_config({}) == []
    assert Topic.defaults()["num_retries"] == 3
    assert Topic.defaults()["min_delay_target"] == 20


def test_a_topic_fans_out_to_subscribers() -> None:
    assert Topic.feeds == {"queue", "function", "webhook", "email", "sms", "log"}


def test_fifo_settings_on_a_standard_topic_are_refused() -> None:
    assert problems(Topic, content_based_deduplication=True) == {
        "/content_based_deduplication": "applies only when fifo is true"
    }
    assert problems(Topic, fifo=True, fifo_throughput_scope="MessageGroup") == {}


def test_limits_follow_sns() -> None:
    assert problems(Topic, num_retries=101) == {"/num_retries": "must be 0..100"}
    assert problems(Topic, min_delay_target=0) == {"/min_delay_target": "must be 1..3600 s"}
    assert problems(Topic, max_delay_target=3601) == {"/max_delay_target": "must be 1..3600 s"}
    assert problems(Topic, max_message_size=262145) == {
        "/max_message_size": "must be 1..262144 bytes"
    }
    assert problems(Topic, display_name="d" * 101) == {
        "/display_name": "must be at most 100 characters"
    }


def test_retry_phases_must_fit_in_the_total() -> None:
    assert problems(Topic, num_retries=2, num_no_delay_retries=3) == {
        "/num_retries": "must be at least the retries of the phases (3)"
    }


def test_the_minimum_delay_must_not_exceed_the_maximum() -> None:
    assert problems(Topic, min_delay_target=30, max_delay_target=20) == {
        "/max_delay_target": "must be at least the minimum delay"
    }


def test_the_retry_schedule_must_end_within_an_hour() -> None:
    assert problems(Topic, num_retries=100, min_delay_target=40, max_delay_target=40) == {
        "/num_retries": "the retries last about 4000 s; SNS allows at most 3600 s in total"
    }
    assert problems(Topic, num_retries=100, min_delay_target=36, max_delay_target=36) == {}


def test_a_subscription_receives_everything_by_default() -> None:
    assert Topic.check_edge_config({}) == []
    assert Topic.semantic_edge_checks(Topic.edge_defaults()) == []
    assert Topic.edge_defaults()["filter_policy"] is None


def test_a_valid_filter_policy_is_accepted() -> None:
    policy = {"price": [{"numeric": [">", 0, "<=", 100]}], "event": ["order_placed"]}
    assert edge_lint(Topic, filter_policy=policy) == {}


def test_filter_policies_are_objects_with_at_most_five_keys() -> None:
    found = edge_lint(Topic, filter_policy=["a"])
    assert list(found) == ["/filter_policy"]
    six = {f"k{i}": ["x"] for i in range(6)}
    found = edge_lint(Topic, filter_policy=six)
    assert list(found) == ["/filter_policy"] and "5 keys" in found["/filter_policy"]


def test_attribute_policies_cannot_nest_but_body_policies_can() -> None:
    nested = {"order": {"status": ["paid"]}}
    found = edge_lint(Topic, filter_policy=nested)
    assert found and all(pointer.startswith("/filter_policy") for pointer in found)
    assert edge_lint(Topic, filter_policy=nested, filter_policy_scope="MessageBody") == {}


def test_too_many_combinations_are_too_complex() -> None:
    policy = {key: ["1", "2", "3", "4"] for key in "abc"} | {"d": ["1", "2", "3"]}
    found = edge_lint(Topic, filter_policy=policy)
    assert list(found) == ["/filter_policy"] and "too complex" in found["/filter_policy"]


def test_the_shared_filter_policy_compiler_gets_the_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    patterns = types.ModuleType("runtime.patterns")
    seen: list[str] = []

    class FilterPolicyError(Exception):
        pass

    def compile_filter_policy(policy: dict[str, Any], scope: str) -> None:
        seen.append(scope)
        raise FilterPolicyError("Filter policy is too complex")

    patterns.FilterPolicyError = FilterPolicyError  # type: ignore[attr-defined]
    patterns.compile_filter_policy = compile_filter_policy  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "runtime.patterns", patterns)
    found = edge_lint(Topic, filter_policy={"a": ["x"]}, filter_policy_scope="MessageBody")
    assert found == {"/filter_policy": "Filter policy is too complex"}
    assert seen == ["MessageBody"]
