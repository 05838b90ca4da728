"""The ASL interpreter: runs a validated state machine on asyncio against an injectable clock.

`ExecutionRun` owns one execution: its history, variables, context object and task tokens.
States run one after another inside a scope (the machine, a Parallel branch or a Map
iteration); Parallel branches and Map iterations are tasks of one `asyncio.TaskGroup`. Every
failure is an `ExecutionFailure`; Retry and Catch handle the catchable ones per state.
"""

from __future__ import annotations

import asyncio
import enum
import json
import random
from collections import ChainMap
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from runtime.asl import errors
from runtime.asl.concurrency import race
from runtime.asl.errors import ExecutionFailure, InvalidDefinition, error_matches
from runtime.asl.history import DEFAULT_MAX_EVENTS, History, details_key
from runtime.asl.intrinsics import Scope
from runtime.asl.jsonata_mode import JSONATA, JSONPATH, Evaluator
from runtime.asl.paths import ResultPathMatchFailure, assign_path, parse_path
from runtime.asl.payload import evaluate_template, select_path, to_json
from runtime.asl.resources import NoResources, Resources, TaskTokens
from runtime.asl.timestamps import format_timestamp
from runtime.clock import Clock, ManualClock

T = TypeVar("T")

DATA_LIMIT_BYTES = 262_144
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/StepFunctionsExecutionRole"

YIELD_EVERY = 32

Transition = tuple[str | None, Any]
EventListener = Callable[[dict[str, Any]], None]
# (entered event id, state name, processing step, value after the step): what a state did to its
# data between its Entered and Exited events, which the history alone does not show.
StepListener = Callable[[int, str, str, Any], None]
# Told as each state of the machine's own scope (not a Parallel branch or Map iteration) is
# entered, ("entered", its visit, None), and left, ("left", its visit, the next state or None
# when the machine ends): the points an execution recorded elsewhere resumes from (`Resume`).
TransitionListener = Callable[[str, "Visit", str | None], None]
Checkpoint = Callable[[], Awaitable[None]]

# The error of the `TaskFailed` (`LambdaFunctionFailed`, `ActivityFailed`) event a resumed
# execution records for a task attempt that was in flight when its process stopped.
INTERRUPTED = "Flowyard.RunInterrupted"
INTERRUPTED_CAUSE = (
    "The run stopped (its process ended) while this task ran. The execution resumed from its "
    "last recorded event and runs the task again with the same input and context "
    "(execution name, state entered time, retry count): its side effects may happen twice."
)
# The task outcomes that a Retry may follow, in the events of a resumed Task state.
_ATTEMPT_FAILURES = frozenset(
    f"{family}{outcome}"
    for family in ("Task", "LambdaFunction", "Activity")
    for outcome in ("Failed", "TimedOut")
)


async def _no_checkpoint() -> None:
    return None


class ExecutionStatus(enum.StrEnum):
    """Where an execution stands, as DescribeExecution reports it."""

    RUNNING = "RUNNING"
    """Started and not finished."""
    SUCCEEDED = "SUCCEEDED"
    """Reached an end state; `output` holds the result."""
    FAILED = "FAILED"
    """A state failed and nothing caught it; `error` and `cause` say why."""
    TIMED_OUT = "TIMED_OUT"
    """The machine's top-level TimeoutSeconds elapsed."""
    ABORTED = "ABORTED"
    """Stopped from outside (StopExecution)."""


@dataclass
class Execution:
    """The outcome of one execution, with its full history."""

    status: ExecutionStatus
    input: Any
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""
    execution_arn: str = ""
    state_machine_arn: str = ""
    start_date: datetime | None = None
    stop_date: datetime | None = None


@dataclass
class Resume:
    """Where an execution recorded before a restart picks up.

    ``history`` holds the events recorded so far (numbering continues after them; an empty
    history starts with ``ExecutionStarted`` as usual). The machine's own scope resumes at
    ``state`` with ``data`` as its input, or, with ``state`` None, had ended with ``data`` as
    its output. ``entered`` is that state's Entered event id and time when it was recorded: the
    state is not entered again but runs again from its input, with the same entered time in its
    context object. A Task attempt that was in flight is recorded as failed with
    ``INTERRUPTED`` and tried again (failures recorded before count against its retriers, and
    a back-off keeps its end); a Wait keeps its deadline; a Parallel or Map state runs again as
    a whole, its branches' events recorded again after those the restart cut short.
    """

    history: list[dict[str, Any]]
    started: float
    state: str | None
    data: Any
    variables: dict[str, Any] = field(default_factory=dict)
    entered: tuple[int, float] | None = None


class StateMachine:
    """A definition checked once by `validate`, ready to run many executions."""

    def __init__(
        self,
        definition: dict[str, Any] | str,
        *,
        name: str = "StateMachine",
        state_machine_type: str = "STANDARD",
        validate: bool = True,
    ) -> None:
        from runtime.asl.validate import validate as check

        if validate:
            problems = check(definition, state_machine_type=state_machine_type)
            if problems:
                raise InvalidDefinition(problems)
        self.definition: dict[str, Any] = (
            json.loads(definition) if isinstance(definition, str) else definition
        )
        self.name = name
        self.type = state_machine_type
        self.arn = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"
        self.query_language: str = self.definition.get("QueryLanguage", JSONPATH)
        self.timeout_seconds: int | None = self.definition.get("TimeoutSeconds")


@dataclass
class Frame:
    """One line of execution: the machine, a Parallel branch or a Map iteration."""

    variables: ChainMap[str, Any]
    last_event: int

    def child(self, last_event: int) -> Frame:
        # Branches and iterations read outer variables; their own assignments stay local.
        return Frame(self.variables.new_child(), last_event)


class InvalidExecutionInput(ValueError):
    """StartExecution refused the input (AWS error InvalidExecutionInput)."""


class _Stopped(Exception):
    pass


class _TimedOut(Exception):
    pass


class ExecutionRun:
    """One execution of a state machine. `await run()` drives it to completion."""

    def __init__(
        self,
        machine: StateMachine,
        input: Any = None,
        *,
        clock: Clock | None = None,
        resources: Resources | None = None,
        tokens: TaskTokens | None = None,
        rng: random.Random | None = None,
        name: str | None = None,
        max_history_events: int = DEFAULT_MAX_EVENTS,
        on_event: EventListener | None = None,
        on_step: StepListener | None = None,
        on_transition: TransitionListener | None = None,
        checkpoint: Checkpoint | None = None,
        resume: Resume | None = None,
    ) -> None:
        self.machine = machine
        text = "{}" if input is None else to_json(input)
        if len(text.encode()) > DATA_LIMIT_BYTES:
            raise InvalidExecutionInput(
                f"The execution input is larger than {DATA_LIMIT_BYTES} bytes (UTF-8)."
            )
        self.input = json.loads(text)
        self.clock = clock or ManualClock()
        self.resources: Resources = resources or NoResources()
        self.tokens = tokens or TaskTokens()
        self.rng = rng or random.Random()
        self.name = name or str(self.rng.getrandbits(128).to_bytes(16).hex())
        self.arn = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine.name}:{self.name}"
        self.resume = resume
        self.history = History(
            self.clock.now, max_history_events, on_event, None if resume is None else resume.history
        )
        self.on_step = on_step
        self.on_transition = on_transition
        # Awaited before anything leaves the execution or waits on time (a task attempt, a Wait,
        # a retry back-off): where the events so far are made durable.
        self.checkpoint: Checkpoint = checkpoint or _no_checkpoint
        self.started = 0.0
        self._root: Frame | None = None
        self.jsonata = Evaluator(lambda: int(self.clock.now() * 1000), self.rng)
        self._stop = asyncio.Event()
        self._stop_reason: tuple[str | None, str | None] = (None, None)
        self.status = ExecutionStatus.RUNNING
        self.execution_context: dict[str, Any] = {}
        self.transitions = 0

    def stop(self, error: str | None = None, cause: str | None = None) -> None:
        """Abort the execution (StopExecution): it ends ABORTED with this error and cause."""
        self._stop_reason = (error, cause)
        self._stop.set()

    async def run(self) -> Execution:
        resume = self.resume
        started = self.clock.now() if resume is None else resume.started
        self.started = started
        self.execution_context = {
            "Id": self.arn,
            "Input": self.input,
            "Name": self.name,
            "RoleArn": ROLE_ARN,
            "StartTime": format_timestamp(started),
            "RedriveCount": 0,
        }
        if not self.history.events:
            self.history.add(
                "ExecutionStarted",
                0,
                {
                    "input": to_json(self.input),
                    "inputDetails": {"truncated": False},
                    "roleArn": ROLE_ARN,
                },
            )
        variables = {} if resume is None else dict(resume.variables)
        frame = self._root = Frame(ChainMap(variables), self.history.last_id)
        execution = Execution(
            ExecutionStatus.RUNNING,
            self.input,
            name=self.name,
            execution_arn=self.arn,
            state_machine_arn=self.machine.arn,
            start_date=datetime.fromtimestamp(started, tz=UTC),
        )
        try:
            output = await self._guarded(lambda: self._main(frame))
        except ExecutionFailure as failure:
            self._finish_failed(execution, failure, frame)
        except _TimedOut:
            execution.status = ExecutionStatus.TIMED_OUT
            execution.error = errors.TIMEOUT
            execution.cause = "The execution exceeded its TimeoutSeconds."
            self.history.add(
                "ExecutionTimedOut",
                self.history.last_id,
                {"error": execution.error, "cause": execution.cause},
                final=True,
            )
        except _Stopped:
            execution.status = ExecutionStatus.ABORTED
            execution.error, execution.cause = self._stop_reason
            self.history.add(
                "ExecutionAborted",
                self.history.last_id,
                {"error": execution.error, "cause": execution.cause},
                final=True,
            )
        else:
            execution.status = ExecutionStatus.SUCCEEDED
            execution.output = output
            self.history.add(
                "ExecutionSucceeded",
                frame.last_event,
                {"output": to_json(output), "outputDetails": {"truncated": False}},
                final=True,
            )
        self.status = execution.status
        execution.stop_date = datetime.fromtimestamp(self.clock.now(), tz=UTC)
        execution.history = self.history.events
        return execution

    def _finish_failed(self, execution: Execution, failure: ExecutionFailure, frame: Frame) -> None:
        execution.status = ExecutionStatus.FAILED
        execution.error, execution.cause = failure.error, failure.cause
        previous = self.history.last_id
        if failure.error == errors.QUERY_EVALUATION_ERROR:
            previous = self.history.add(
                "EvaluationFailed",
                previous,
                {
                    "error": failure.error,
                    "cause": failure.cause,
                    "state": failure.state,
                },
                final=True,
            )
        self.history.add(
            "ExecutionFailed",
            previous,
            {"error": failure.error, "cause": failure.cause},
            final=True,
        )

    async def _main(self, frame: Frame) -> Any:
        resume = self.resume
        definition = self.machine.definition
        if resume is None:
            return await self.run_scope(definition, self.input, frame)
        if resume.state is None:
            return resume.data
        return await self.run_scope(
            definition, resume.data, frame, start=resume.state, entered=resume.entered
        )

    async def _guarded(self, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run the machine until it ends, times out or is stopped."""
        watchers: list[Callable[[], Awaitable[Any]]] = [self._stop.wait]
        if self.machine.timeout_seconds is not None:
            seconds = self.machine.timeout_seconds
            if self.resume is not None:  # counted from the start, not from the restart
                seconds = max(0.0, self.started + seconds - self.clock.now())
            watchers.append(lambda: self.clock.sleep(seconds))
        winner, value = await race(work, *watchers)
        if winner == 0:
            return value
        raise _Stopped if winner == 1 else _TimedOut

    async def run_scope(
        self,
        scope: Mapping[str, Any],
        data: Any,
        frame: Frame,
        *,
        start: str | None = None,
        entered: tuple[int, float] | None = None,
    ) -> Any:
        """Run states from StartAt (or ``start``) until one ends the scope; returns the final
        output. ``entered``: ``start`` was entered before a restart (its Entered event id and
        time), so it runs again without a second Entered event."""
        from runtime.asl.states import HANDLERS  # states.py builds on this module

        states = scope["States"]
        name = start or scope["StartAt"]
        told = self.on_transition if frame is self._root else None
        while True:
            self.transitions += 1
            if self.transitions % YIELD_EVERY == 0:
                # A long run of Pass/Choice states never suspends: let other tasks (and stop()) in.
                await asyncio.sleep(0)
            state = states[name]
            if entered is not None:
                visit = self.reenter(name, state, frame, entered)
                entered = None
            else:
                visit = self.enter(name, state, data, frame)
                if told is not None:
                    told("entered", visit, None)
            try:
                next_name, data = await HANDLERS[state["Type"]](visit, data)
            except ExecutionFailure as failure:
                visit.stamp(failure)
                raise
            except asyncio.CancelledError:
                # A sibling branch failed or the execution was stopped while this state ran.
                self.history.add(f"{state['Type']}StateAborted", frame.last_event, final=True)
                raise
            if told is not None:
                told("left", visit, next_name)
            if next_name is None:
                return data
            name = next_name

    def enter(self, name: str, state: dict[str, Any], data: Any, frame: Frame) -> Visit:
        language = state.get("QueryLanguage", self.machine.query_language)
        visit = Visit(self, frame, name, state, language == JSONATA, self.clock.now())
        visit.entered_event = visit.event(
            f"{state['Type']}StateEntered",
            {"name": name, "input": to_json(data), "inputDetails": {"truncated": False}},
        )
        return visit

    def reenter(
        self, name: str, state: dict[str, Any], frame: Frame, entered: tuple[int, float]
    ) -> Visit:
        """The visit of a state entered before a restart, with the events recorded after its
        Entered event (``prior``) for its handler to pick up from."""
        event_id, entered_time = entered
        language = state.get("QueryLanguage", self.machine.query_language)
        visit = Visit(self, frame, name, state, language == JSONATA, entered_time)
        visit.entered_event = event_id
        visit.prior = self.history.events[event_id:]
        return visit


class Visit:
    """One state being executed: its events, context object and data-processing helpers."""

    def __init__(
        self,
        run: ExecutionRun,
        frame: Frame,
        name: str,
        state: dict[str, Any],
        jsonata: bool,
        entered_time: float,
    ) -> None:
        self.run = run
        self.frame = frame
        self.name = name
        self.state = state
        self.jsonata = jsonata
        self.entered_time = entered_time
        self.entered_event = 0
        self.retry_count = 0
        self.task_token: str | None = None
        self.map_item: tuple[int, Any] | None = None
        self._entered_text: str | None = None
        self.exited_event = 0
        self.assigned: dict[str, Any] | None = None
        # A state resumed after a restart: the events it had recorded after its Entered event.
        self.prior: list[dict[str, Any]] | None = None

    # --- history -------------------------------------------------------------------------

    def event(self, event_type: str, details: dict[str, Any] | None = None) -> int:
        event_id = self.run.history.add(event_type, self.frame.last_event, details)
        self.frame.last_event = event_id
        return event_id

    def exit(self, output: Any, assigned: dict[str, Any] | None = None) -> Any:
        """Check the output size, commit variables and record the Exited event."""
        text = to_json(output)
        self.check_size(text, output)
        details: dict[str, Any] = {
            "name": self.name,
            "output": text,
            "outputDetails": {"truncated": False},
        }
        if assigned:
            self.frame.variables.update(assigned)
            self.assigned = assigned
            details["assignedVariables"] = {key: to_json(value) for key, value in assigned.items()}
            details["assignedVariablesDetails"] = {"truncated": False}
        self.exited_event = self.event(f"{self.state['Type']}StateExited", details)
        return output

    def stamp(self, failure: ExecutionFailure) -> None:
        """Prefix causes AWS attributes to this state with the state name and entry event."""
        if failure.in_state:
            failure.cause = (
                f"An error occurred while executing the state '{self.name}' "
                f"(entered at the event id #{self.entered_event}). {failure.cause}"
            )
            failure.in_state = False
        if failure.state is None:
            failure.state = self.name

    def check_size(self, text: str | None, value: Any) -> None:
        text = to_json(value) if text is None else text
        if len(text) > DATA_LIMIT_BYTES // 4 and len(text.encode()) > DATA_LIMIT_BYTES:
            raise ExecutionFailure(
                errors.DATA_LIMIT_EXCEEDED,
                f"The state/task '{self.name}' returned a result with a size exceeding "
                "the maximum number of bytes service limit.",
            )

    # --- context object and scopes ---------------------------------------------------------

    def context(self) -> dict[str, Any]:
        if self._entered_text is None:
            self._entered_text = format_timestamp(self.entered_time)
        context: dict[str, Any] = {
            "Execution": self.run.execution_context,
            "State": {
                "EnteredTime": self._entered_text,
                "Name": self.name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {"Id": self.run.machine.arn, "Name": self.run.machine.name},
        }
        if self.task_token is not None:
            context["Task"] = {"Token": self.task_token}
        if self.map_item is not None:
            context["Map"] = {"Item": {"Index": self.map_item[0], "Value": self.map_item[1]}}
        return context

    def scope(self, data: Any) -> Scope:
        return Scope(data, self.context, self.frame.variables, self.run.rng)

    def step(self, step: str, value: Any) -> Any:
        """Report one data-processing step to the run's step listener; returns the value."""
        listener = self.run.on_step
        if listener is not None:
            listener(self.entered_event, self.name, step, value)
        return value

    # --- JSONPath processing (spec 6.3) ----------------------------------------------------

    def input_path(self, raw: Any) -> Any:
        return self.step(
            "InputPath", select_path(self.state.get("InputPath", "$"), self.scope(raw))
        )

    def template(self, key: str, data: Any) -> Any:
        return self.step(key, evaluate_template(self.state[key], self.scope(data)))

    def assign_jsonpath(self, assign: Any, data: Any) -> dict[str, Any] | None:
        if assign is None:
            return None
        return evaluate_template(assign, self.scope(data))

    def result_path(self, raw: Any, result: Any, path_text: Any = "$") -> Any:
        if path_text is None:
            return self.step("ResultPath", raw)
        if path_text == "$":
            return self.step("ResultPath", result)
        try:
            return self.step("ResultPath", assign_path(raw, parse_path(path_text), result))
        except ResultPathMatchFailure as failure:
            raise ExecutionFailure(errors.RESULT_PATH_MATCH_FAILURE, str(failure)) from None

    def output_path(self, data: Any) -> Any:
        return self.step(
            "OutputPath", select_path(self.state.get("OutputPath", "$"), self.scope(data))
        )

    def finish_jsonpath(self, raw: Any, result: Any) -> tuple[Any, dict[str, Any] | None]:
        """ResultSelector, Assign, ResultPath and OutputPath, in AWS's order."""
        self.step("Result", result)
        if "ResultSelector" in self.state:
            result = self.template("ResultSelector", result)
        assigned = self.assign_jsonpath(self.state.get("Assign"), result)
        combined = self.result_path(raw, result, self.state.get("ResultPath", "$"))
        return self.output_path(combined), assigned

    # --- JSONata processing ---------------------------------------------------------------

    def states_binding(self, raw: Any, **extra: Any) -> dict[str, Any]:
        return {"input": raw, "context": self.context(), **extra}

    def resolve(self, value: Any, field: str, states: dict[str, Any]) -> Any:
        resolved = self.run.jsonata.resolve(value, states, self.frame.variables, field)
        if field in _JSONATA_STEPS:
            self.step(field, resolved)
        return resolved

    def finish_jsonata(
        self, states: dict[str, Any], default: Any, source: Mapping[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any] | None]:
        """Assign and Output of a JSONata state (or catcher), both seeing the same `$states`."""
        source = self.state if source is None else source
        assigned = None
        if "Assign" in source:
            assigned = self.resolve(source["Assign"], "Assign", states)
        output = self.resolve(source["Output"], "Output", states) if "Output" in source else default
        return output, assigned

    # --- errors -------------------------------------------------------------------------

    async def with_retry_and_catch(
        self, raw: Any, attempt: Callable[[], Awaitable[Transition]]
    ) -> Transition:
        """Run `attempt`, retrying and catching its failures as the state's Retry/Catch say."""
        retriers = self.state.get("Retry", [])
        used = [0] * len(retriers)
        if self.prior is not None:
            caught = await self._resume_retries(raw, retriers, used)
            if caught is not None:
                return caught
        while True:
            try:
                return await attempt()
            except ExecutionFailure as failure:
                self.stamp(failure)
                if not failure.catchable:
                    raise
                delay = self._retry_delay(retriers, used, failure)
                if delay is None:
                    return self._catch(raw, failure)
                self.retry_count += 1
                await self.run.checkpoint()
                await self.run.clock.sleep(delay)

    async def _resume_retries(
        self, raw: Any, retriers: list[dict[str, Any]], used: list[int]
    ) -> Transition | None:
        """A Task state resumed after a restart: count the failed attempts it had recorded
        against its retriers (so MaxAttempts and RetryCount hold), wait out what is left of
        a back-off it was in, or catch a failure it had recorded and not yet handled. Parallel
        and Map states start their attempts over."""
        prior, self.prior = self.prior or [], None
        if self.state["Type"] != "Task":
            return None
        pending: tuple[float, float] | None = None
        for event in prior:
            details = event.get(details_key(event["type"])) or {}
            if event["type"] not in _ATTEMPT_FAILURES or details.get("error") == INTERRUPTED:
                pending = None
                continue
            failure = ExecutionFailure(details.get("error"), details.get("cause"))
            self.stamp(failure)
            delay = self._retry_delay(retriers, used, failure) if failure.catchable else None
            if delay is None:
                if failure.catchable:
                    return self._catch(raw, failure)
                raise failure
            self.retry_count += 1
            pending = (event["timestamp"].timestamp(), delay)
        if pending is not None:  # stopped during the back-off: only its rest is left
            failed_at, delay = pending
            remaining = failed_at + delay - self.run.clock.now()
            if remaining > 0:
                await self.run.clock.sleep(remaining)
        return None

    def _retry_delay(
        self, retriers: list[dict[str, Any]], used: list[int], failure: ExecutionFailure
    ) -> float | None:
        for index, retrier in enumerate(retriers):
            if not error_matches(retrier["ErrorEquals"], failure.error):
                continue
            # Only the first matching retrier counts, even when it is exhausted.
            if used[index] >= retrier.get("MaxAttempts", 3):
                return None
            delay = (
                retrier.get("IntervalSeconds", 1) * retrier.get("BackoffRate", 2.0) ** used[index]
            )
            if "MaxDelaySeconds" in retrier:
                delay = min(delay, retrier["MaxDelaySeconds"])
            if retrier.get("JitterStrategy") == "FULL":
                delay = self.run.rng.uniform(0, delay)
            used[index] += 1
            return float(delay)
        return None

    def _catch(self, raw: Any, failure: ExecutionFailure) -> Transition:
        for catcher in self.state.get("Catch", []):
            if error_matches(catcher["ErrorEquals"], failure.error):
                break
        else:
            raise failure
        error_output = {
            key: value
            for key, value in (("Error", failure.error), ("Cause", failure.cause))
            if value is not None
        }
        if self.jsonata:
            states = self.states_binding(raw, errorOutput=error_output)
            output, assigned = self.finish_jsonata(states, error_output, catcher)
        else:
            assigned = self.assign_jsonpath(catcher.get("Assign"), error_output)
            output = self.result_path(raw, error_output, catcher.get("ResultPath", "$"))
        return catcher["Next"], self.exit(output, assigned)


_JSONATA_STEPS = frozenset({"Arguments", "Output", "ItemSelector"})


async def aexecute(
    definition: StateMachine | dict[str, Any] | str,
    input: Any = None,
    *,
    clock: Clock | None = None,
    resources: Resources | None = None,
    tokens: TaskTokens | None = None,
    rng: random.Random | None = None,
    name: str | None = None,
    max_history_events: int = DEFAULT_MAX_EVENTS,
    on_event: EventListener | None = None,
    on_step: StepListener | None = None,
) -> Execution:
    """Run one execution to completion; raises InvalidDefinition for a bad definition.

    ``on_event`` hears each history event as it is recorded; ``on_step`` each data-processing
    step of a state (InputPath, Parameters, Result, ResultSelector, ResultPath, OutputPath, and
    Arguments/Output in JSONata) with the value it produced.
    """
    machine = definition if isinstance(definition, StateMachine) else StateMachine(definition)
    run = ExecutionRun(
        machine,
        input,
        clock=clock,
        resources=resources,
        tokens=tokens,
        rng=rng,
        name=name,
        max_history_events=max_history_events,
        on_event=on_event,
        on_step=on_step,
    )
    return await run.run()


def execute(
    definition: StateMachine | dict[str, Any] | str,
    input: Any = None,
    *,
    clock: Clock | None = None,
    resources: Resources | None = None,
    rng: random.Random | None = None,
    name: str | None = None,
    max_history_events: int = DEFAULT_MAX_EVENTS,
) -> Execution:
    """Synchronous `aexecute` on a fresh event loop.

    Without a clock, a ManualClock is used: waits and retries take no real time. Called from a
    thread whose loop is already running (a sync helper inside async code), it runs the
    execution on a worker thread's own loop instead of failing.
    """
    execution = aexecute(
        definition,
        input,
        clock=clock,
        resources=resources,
        rng=rng,
        name=name,
        max_history_events=max_history_events,
    )
    return run_sync(execution, thread_name_prefix="asl-execute")


def run_sync(coroutine: Coroutine[Any, Any, T], *, thread_name_prefix: str) -> T:
    """Runs ``coroutine`` to completion from sync code: on a fresh event loop, or, when this
    thread's loop is already running, on a worker thread's own loop instead of failing."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=thread_name_prefix) as pool:
        return pool.submit(asyncio.run, coroutine).result()
