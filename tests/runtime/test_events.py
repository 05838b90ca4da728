"""Events and the envelope: immutable messages, hops, states as enums, past-tense facts."""

from __future__ import annotations

import dataclasses

import pytest

from runtime.events import (
    EMPTY,
    RUN_TRANSITIONS,
    ListObserver,
    Message,
    MessageDeadLettered,
    MessageRefused,
    NodeState,
    NullObserver,
    RunState,
)


def test_a_message_is_immutable_and_its_attributes_are_read_only() -> None:
    message = Message.new({"a": 1}, now=1.0, attributes={"k": "v"}, node="p")
    with pytest.raises(AttributeError):
        message.body = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        message.attributes["k"] = "changed"  # type: ignore[index]


def test_deriving_keeps_the_trace_adds_a_hop_and_shares_the_body() -> None:
    body = {"order": 1}
    first = Message.new(body, now=5.0, node="producer", message_id="m-1")
    second = first.derive("queue", message_id="m-2")
    assert second.trace_id == first.trace_id == "m-1" and second.id == "m-2"
    assert second.hops == ("producer", "queue") and second.body is body
    assert second.created_at == 5.0


def test_a_new_body_resets_the_measured_size_but_the_same_body_keeps_it() -> None:
    message = Message.new("abc", now=0, size=3)
    assert message.derive("n").size == 3
    assert message.derive("n", body="longer").size == -1


def test_empty_mappings_are_shared_not_allocated() -> None:
    assert Message.new("x", now=0).attributes is EMPTY


def test_run_states_are_enums_with_documented_members_and_legal_transitions() -> None:
    for state in RunState:
        assert state.__doc__
    assert RunState.RUNNING in RUN_TRANSITIONS[RunState.STARTING]
    assert RUN_TRANSITIONS[RunState.STOPPED] == frozenset()
    assert {state.value for state in NodeState} >= {"running", "stopped", "not_runnable"}


def test_events_are_frozen_past_tense_facts() -> None:
    event = MessageRefused(1.0, "q", "InvalidParameterValue", "too big", "m-1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.node = "other"  # type: ignore[misc]
    assert MessageDeadLettered.__name__.endswith("ed")


def test_observers_either_keep_everything_or_nothing() -> None:
    keeper = ListObserver()
    event = MessageRefused(1.0, "q", "Code", "text")
    keeper.emit(event)
    NullObserver().emit(event)
    assert keeper.of(MessageRefused) == [event] and not keeper.wants_messages
