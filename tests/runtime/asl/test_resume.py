"""Resuming an execution recorded before a restart (`Resume`): where it picks up, what its
history says, and what its Task, Wait and Retry states do again (reliability R10).

Each test runs an execution part of the way, keeps a copy of its history and of the last
transition it reported (what a store would hold), cuts it off, and runs it again from there."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

from runtime.asl import ExecutionRun, ExecutionStatus, ManualClock, StateMachine
from runtime.asl.interpreter import INTERRUPTED, Resume
from tests.runtime.asl.mocks import MockResources, returns, throws

T0 = 1_000_000.0
LAMBDA = "arn:aws:states:::lambda:invoke"


class Recorded:
    """What a store would hold of a run: its events and the transitions it reported."""

    def __init__(self) -> None:
        self.transitions: list[tuple[str, str | None, int, float]] = []

    def heard(self, change: str, visit: Any, following: str | None) -> None:
        if change == "entered":
            self.transitions.append((change, visit.name, visit.entered_event, visit.entered_time))
        else:
            self.transitions.append((change, following, visit.exited_event, 0.0))


async def cut_off(
    definition: dict[str, Any],
    data: Any,
    seconds: float,
    resources: Any = None,
    clock: ManualClock | None = None,
) -> tuple[list[dict[str, Any]], Recorded]:
    """Run ``seconds`` of virtual time (from T0), then cut the execution off; returns a copy of
    its history at that moment and what it reported."""
    clock = clock or ManualClock(T0, auto_advance=False)
    recorded = Recorded()
    run = ExecutionRun(
        StateMachine(definition),
        data,
        clock=clock,
        resources=resources,
        name="exec",
        on_transition=recorded.heard,
    )
    async with asyncio.timeout(10), asyncio.TaskGroup() as group:
        task = group.create_task(run.run())
        for _ in range(20):
            await asyncio.sleep(0)
        await step(clock, seconds)
        kept = copy.deepcopy(run.history.events)
        task.cancel()
    return kept, recorded


def resume_from(
    history: list[dict[str, Any]], recorded: Recorded, data: Any, start_at: str
) -> Resume:
    """Resume as a store holding ``history`` would: at the last state entered, or after the
    last one left."""
    held = [found for found in recorded.transitions if found[2] <= len(history)]
    if not held:
        return Resume(history, T0, start_at, data)
    change, state, event_id, entered = held[-1]
    if change == "entered":
        details = history[event_id - 1]["stateEnteredEventDetails"]
        return Resume(history, T0, state, json.loads(details["input"]), {}, (event_id, entered))
    output = json.loads(history[event_id - 1]["stateExitedEventDetails"]["output"])
    return Resume(history, T0, state, output)


async def step(clock: ManualClock, seconds: float) -> None:
    """Move virtual time on deadline by deadline, letting each woken task run."""
    target = clock.now() + seconds
    while (deadline := clock.next_deadline) is not None and deadline <= target:
        clock.set_time(deadline)
        for _ in range(20):
            await asyncio.sleep(0)
    clock.set_time(target)
    for _ in range(20):
        await asyncio.sleep(0)


def types(history: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in history]


def contiguous(history: list[dict[str, Any]]) -> bool:
    return [event["id"] for event in history] == list(range(1, len(history) + 1))


async def resumed(
    definition: dict[str, Any],
    resume: Resume,
    at: float,
    resources: Any = None,
    then: float = 0,
) -> Any:
    clock = ManualClock(at, auto_advance=then == 0)
    run = ExecutionRun(
        StateMachine(definition), {"in": 1}, clock=clock, resources=resources, resume=resume
    )
    if not then:
        return await run.run()
    async with asyncio.timeout(10), asyncio.TaskGroup() as group:
        task = group.create_task(run.run())
        for _ in range(20):
            await asyncio.sleep(0)
        await step(clock, then)
    return task.result()


WAITING = {
    "StartAt": "Nap",
    "States": {
        "Nap": {"Type": "Wait", "Seconds": 60, "Next": "Done"},
        "Done": {"Type": "Pass", "End": True},
    },
}


async def test_a_wait_resumes_without_a_second_entered_event_and_keeps_its_deadline() -> None:
    history, recorded = await cut_off(WAITING, {"in": 1}, 10)
    assert types(history) == ["ExecutionStarted", "WaitStateEntered"]
    resume = resume_from(history, recorded, {"in": 1}, "Nap")
    clock = ManualClock(T0 + 30, auto_advance=False)
    run = ExecutionRun(StateMachine(WAITING), {"in": 1}, clock=clock, resume=resume)
    async with asyncio.TaskGroup() as group:
        task = group.create_task(run.run())
        for _ in range(20):
            await asyncio.sleep(0)
        clock.advance(29)
        await asyncio.sleep(0)
        assert not task.done()
        clock.advance(1)
    execution = task.result()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert types(execution.history) == [
        "ExecutionStarted",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert contiguous(execution.history)
    assert execution.history[2]["timestamp"].timestamp() == T0 + 60
    assert execution.start_date is not None and execution.start_date.timestamp() == T0


async def test_after_a_state_left_the_next_one_is_entered_with_its_output() -> None:
    machine = {
        "StartAt": "First",
        "States": {
            "First": {"Type": "Pass", "Result": {"a": 1}, "Next": "Nap"},
            "Nap": {"Type": "Wait", "Seconds": 5, "Next": "Last"},
            "Last": {"Type": "Pass", "End": True},
        },
    }
    history, recorded = await cut_off(machine, {}, 1)
    # As if the crash came right after First was left: keep events up to its Exited.
    left = next(t for t in recorded.transitions if t[0] == "left")
    resume = resume_from(history[: left[2]], _only(recorded, left), {}, "First")
    assert (resume.state, resume.data, resume.entered) == ("Nap", {"a": 1}, None)
    execution = await resumed(machine, resume, T0 + 1)
    assert types(execution.history) == [
        "ExecutionStarted",
        "PassStateEntered",
        "PassStateExited",
        "WaitStateEntered",
        "WaitStateExited",
        "PassStateEntered",
        "PassStateExited",
        "ExecutionSucceeded",
    ]
    assert contiguous(execution.history)
    assert execution.output == {"a": 1}


def _only(recorded: Recorded, last: tuple[str, str | None, int, float]) -> Recorded:
    kept = Recorded()
    kept.transitions = recorded.transitions[: recorded.transitions.index(last) + 1]
    return kept


async def test_an_execution_whose_scope_had_ended_only_records_its_success() -> None:
    history, recorded = await cut_off(WAITING, {"in": 1}, 60)
    done = Resume(history[:5], T0, None, {"in": 1})
    execution = await resumed(WAITING, done, T0 + 61)
    assert types(execution.history)[-2:] == ["PassStateExited", "ExecutionSucceeded"]
    assert len(execution.history) == 6
    assert execution.output == {"in": 1}


async def test_nothing_recorded_but_the_start_runs_from_start_at_with_the_first_start_time() -> (
    None
):
    machine = {
        "StartAt": "P",
        "States": {
            "P": {"Type": "Pass", "Parameters": {"t.$": "$$.Execution.StartTime"}, "End": True}
        },
    }
    execution = await resumed(machine, Resume([], T0, "P", {"in": 1}), T0 + 100)
    assert types(execution.history)[0] == "ExecutionStarted"
    assert execution.output == {"t": "1970-01-12T13:46:40.000Z"}


TASK = {
    "StartAt": "Call",
    "States": {
        "Call": {
            "Type": "Task",
            "Resource": LAMBDA,
            "Parameters": {
                "entered.$": "$$.State.EnteredTime",
                "retries.$": "$$.State.RetryCount",
                "name.$": "$$.Execution.Name",
            },
            "End": True,
        }
    },
}


async def test_a_task_in_flight_is_recorded_as_interrupted_and_runs_again_alike() -> None:
    clock = ManualClock(T0, auto_advance=False)
    first = MockResources({LAMBDA: [returns({"ok": 1}, delay=5)]}, clock=clock)
    history, recorded = await cut_off(TASK, {}, 2, first, clock)
    assert types(history)[-1] == "TaskStarted"
    again = MockResources({LAMBDA: [returns({"ok": 2})]})
    resume = resume_from(history, recorded, {}, "Call")
    clock = ManualClock(T0 + 3)
    run = ExecutionRun(
        StateMachine(TASK), {}, clock=clock, resources=again, name="exec", resume=resume
    )
    execution = await run.run()
    assert execution.status == ExecutionStatus.SUCCEEDED
    assert types(execution.history) == [
        "ExecutionStarted",
        "TaskStateEntered",
        "TaskScheduled",
        "TaskStarted",
        "TaskFailed",
        "TaskScheduled",
        "TaskStarted",
        "TaskSucceeded",
        "TaskStateExited",
        "ExecutionSucceeded",
    ]
    assert execution.history[4]["taskFailedEventDetails"]["error"] == INTERRUPTED
    assert contiguous(execution.history)
    assert again.payloads(LAMBDA) == first.payloads(LAMBDA)  # same entered time, retry count
    assert first.payloads(LAMBDA)[0]["retries"] == 0


async def test_a_recorded_failure_is_caught_or_fails_the_execution_without_a_new_attempt() -> None:
    failing = MockResources({LAMBDA: [throws("Boom", "bad")]})
    caught = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Catch": [{"ErrorEquals": ["Boom"], "Next": "Handled"}],
                "End": True,
            },
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    for definition, status in ((caught, ExecutionStatus.SUCCEEDED), (TASK, ExecutionStatus.FAILED)):
        history, recorded = await cut_off(definition, {}, 0, failing)
        # The crash came right after TaskFailed was recorded.
        failed = next(i for i, e in enumerate(history) if e["type"] == "TaskFailed")
        resume = resume_from(history[: failed + 1], recorded, {}, "Call")
        assert resume.entered is not None
        nobody = MockResources({})
        execution = await resumed(definition, resume, T0 + 1, nobody)
        assert nobody.calls == []
        assert execution.status == status
        assert contiguous(execution.history)
        assert types(execution.history)[failed + 1] in ("TaskStateExited", "ExecutionFailed")


async def test_retries_recorded_before_a_restart_count_against_max_attempts() -> None:
    retrying = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": LAMBDA,
                "Parameters": {"retries.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    clock = ManualClock(T0, auto_advance=False)
    failing = MockResources({LAMBDA: [throws("Boom")]}, clock=clock)
    history, recorded = await cut_off(retrying, {}, 11, failing, clock)  # two attempts failed
    assert types(history).count("TaskFailed") == 2
    resume = resume_from(history, recorded, {}, "Call")
    again = MockResources({LAMBDA: [throws("Boom")]})
    execution = await resumed(retrying, resume, T0 + 25, again, then=5)  # back-off ends at 30
    assert [payload["retries"] for payload in again.payloads(LAMBDA)] == [2]
    assert execution.status == ExecutionStatus.FAILED
    assert types(execution.history).count("TaskScheduled") == 3
    assert contiguous(execution.history)


async def test_only_states_of_the_machine_s_own_scope_report_transitions() -> None:
    parallel = {
        "StartAt": "Both",
        "States": {
            "Both": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                    {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}},
                ],
                "Next": "After",
            },
            "After": {"Type": "Pass", "End": True},
        },
    }
    _, recorded = await cut_off(parallel, {}, 0)
    assert [(change, state) for change, state, _, _ in recorded.transitions] == [
        ("entered", "Both"),
        ("left", "After"),
        ("entered", "After"),
        ("left", None),
    ]
