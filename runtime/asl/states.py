"""One handler per state type: `async (visit, raw_input) -> (next state or None, output)`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from runtime.asl import errors
from runtime.asl.choice import evaluate_rule
from runtime.asl.errors import ExecutionFailure, query_error, runtime_error
from runtime.asl.interpreter import Frame, Transition, Visit
from runtime.asl.jsonata_mode import is_expression, json_type_name
from runtime.asl.map_state import run_map
from runtime.asl.payload import evaluate_expression, read_parameter, to_json
from runtime.asl.task_state import run_task
from runtime.asl.timestamps import parse_timestamp

MAX_WAIT_SECONDS = 99_999_999


# --- Pass, Succeed, Fail ---------------------------------------------------------------------


async def run_pass(visit: Visit, raw: Any) -> Transition:
    state = visit.state
    if visit.jsonata:
        output, assigned = visit.finish_jsonata(visit.states_binding(raw), raw)
        return state.get("Next"), visit.exit(output, assigned)
    effective = visit.input_path(raw)
    if "Parameters" in state:
        effective = visit.template("Parameters", effective)
    result = visit.step("Result", state.get("Result", effective))
    assigned = visit.assign_jsonpath(state.get("Assign"), result)
    combined = visit.result_path(raw, result, state.get("ResultPath", "$"))
    return state.get("Next"), visit.exit(visit.output_path(combined), assigned)


async def run_succeed(visit: Visit, raw: Any) -> Transition:
    if visit.jsonata:
        output, assigned = visit.finish_jsonata(visit.states_binding(raw), raw)
        return None, visit.exit(output, assigned)
    return None, visit.exit(visit.output_path(visit.input_path(raw)))


async def run_fail(visit: Visit, raw: Any) -> Transition:
    state = visit.state
    if visit.jsonata:
        states = visit.states_binding(raw)
        error = visit.resolve(state["Error"], "Error", states) if "Error" in state else None
        cause = visit.resolve(state["Cause"], "Cause", states) if "Cause" in state else None
    else:
        error = _fail_field(visit, raw, "Error")
        cause = _fail_field(visit, raw, "Cause")
    raise ExecutionFailure(_text(error), _text(cause))


def _fail_field(visit: Visit, raw: Any, name: str) -> Any:
    if name in visit.state:
        return visit.state[name]
    path_field = f"{name}Path"
    if path_field in visit.state:
        return evaluate_expression(visit.state[path_field], visit.scope(raw), path_field)
    return None


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else to_json(value)


# --- Choice ----------------------------------------------------------------------------------


async def run_choice(visit: Visit, raw: Any) -> Transition:
    state = visit.state
    if visit.jsonata:
        states = visit.states_binding(raw)
        rule = next((r for r in state["Choices"] if _condition(visit, r, states)), None)
        target, source = _choice_target(visit, rule)
        output, assigned = visit.finish_jsonata(states, raw, source)
        return target, visit.exit(output, assigned)
    effective = visit.input_path(raw)
    scope = visit.scope(effective)
    rule = next((r for r in state["Choices"] if evaluate_rule(r, scope)), None)
    target, source = _choice_target(visit, rule)
    assigned = visit.assign_jsonpath(source.get("Assign"), effective)
    return target, visit.exit(visit.output_path(effective), assigned)


def _choice_target(visit: Visit, rule: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
    # A matching rule brings its own Assign/Output; the state's own apply with Default.
    if rule is not None:
        return rule["Next"], rule
    if "Default" in visit.state:
        return visit.state["Default"], visit.state
    raise ExecutionFailure(
        errors.NO_CHOICE_MATCHED,
        f"No Choice rule matched the input of state '{visit.name}' and it has no Default.",
    )


def _condition(visit: Visit, rule: dict[str, Any], states: dict[str, Any]) -> bool:
    condition = rule.get("Condition")
    value = visit.resolve(condition, "Condition", states) if is_expression(condition) else condition
    if not isinstance(value, bool):
        raise query_error(
            f"The JSONata expression '{condition}' specified for the field 'Condition' returned "
            f"an unexpected result type. Expected 'boolean', but was '{json_type_name(value)}' "
            f"for value: {to_json(value)}"
        )
    return value


# --- Wait ------------------------------------------------------------------------------------


async def run_wait(visit: Visit, raw: Any) -> Transition:
    if visit.jsonata:
        states = visit.states_binding(raw)
        await _sleep_until(visit, _jsonata_wait_target(visit, states))
        output, assigned = visit.finish_jsonata(states, raw)
        return visit.state.get("Next"), visit.exit(output, assigned)
    effective = visit.input_path(raw)
    await _sleep_until(visit, _jsonpath_wait_target(visit, effective))
    assigned = visit.assign_jsonpath(visit.state.get("Assign"), effective)
    return visit.state.get("Next"), visit.exit(visit.output_path(effective), assigned)


async def _sleep_until(visit: Visit, target: float) -> None:
    """Sleep until ``target``, an absolute time: a Wait resumed after a restart keeps it."""
    clock = visit.run.clock
    if target - clock.now() > 0:
        await visit.run.checkpoint()
        remaining = target - clock.now()
        if remaining > 0:
            await clock.sleep(remaining)


def _jsonpath_wait_target(visit: Visit, effective: Any) -> float:
    # Seconds count from the state's entry (kept across a restart), not from now.
    state, now = visit.state, visit.entered_time
    if "Seconds" in state:
        return now + state["Seconds"]
    if "Timestamp" in state:
        return parse_timestamp(state["Timestamp"]) / 1e9
    field = "SecondsPath" if "SecondsPath" in state else "TimestampPath"
    path = state[field]
    value = read_parameter(field, path, visit.scope(effective))
    shown = value if isinstance(value, str) else to_json(value)
    if field == "TimestampPath":
        nanos = parse_timestamp(value)
        if nanos is None:
            raise runtime_error(
                f"The TimestampPath parameter does not reference a valid ISO-8601 extended "
                f"offset date-time format string: {path} == {shown}"
            )
        return nanos / 1e9
    if not isinstance(value, int) or isinstance(value, bool):
        raise runtime_error(
            f"The SecondsPath parameter cannot be parsed as a long value: {path} == {shown}"
        )
    if value < 0:
        raise runtime_error(
            f"The SecondsPath parameter references a negative value: {path} == {value}"
        )
    return now + value


def _jsonata_wait_target(visit: Visit, states: dict[str, Any]) -> float:
    state = visit.state
    if "Seconds" in state:
        seconds = visit.resolve(state["Seconds"], "Seconds", states)
        if not _is_int(seconds) or not 0 <= seconds <= MAX_WAIT_SECONDS:
            raise query_error(
                f"The Seconds field must be an integer between 0 and {MAX_WAIT_SECONDS}, "
                f"but was: {to_json(seconds)}"
            )
        return visit.entered_time + seconds
    value = visit.resolve(state["Timestamp"], "Timestamp", states)
    nanos = parse_timestamp(value)
    if nanos is None:
        shown = value if isinstance(value, str) else to_json(value)
        raise query_error(
            "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time "
            f"format string: {shown}"
        )
    return nanos / 1e9


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- Parallel --------------------------------------------------------------------------------


async def run_parallel(visit: Visit, raw: Any) -> Transition:
    async def attempt() -> Transition:
        state = visit.state
        if visit.jsonata:
            states = visit.states_binding(raw)
            data = (
                visit.resolve(state["Arguments"], "Arguments", states)
                if ("Arguments" in state)
                else raw
            )
        else:
            effective = visit.input_path(raw)
            data = visit.template("Parameters", effective) if "Parameters" in state else effective
        visit.event("ParallelStateStarted")
        try:
            results = await _run_branches(visit, data)
        except ExecutionFailure:
            visit.event("ParallelStateFailed")
            raise
        visit.event("ParallelStateSucceeded")
        if visit.jsonata:
            states["result"] = results
            output, assigned = visit.finish_jsonata(states, results)
        else:
            output, assigned = visit.finish_jsonpath(raw, results)
        return state.get("Next"), visit.exit(output, assigned)

    return await visit.with_retry_and_catch(raw, attempt)


async def _run_branches(visit: Visit, data: Any) -> list[Any]:
    branches = visit.state["Branches"]
    results: list[Any] = [None] * len(branches)
    failures: list[ExecutionFailure] = []
    tasks: list[asyncio.Task[None]] = []

    async def branch(index: int, definition: dict[str, Any], frame: Frame) -> None:
        try:
            results[index] = await visit.run.run_scope(definition, data, frame)
        except ExecutionFailure as failure:
            # The first failure stops the other branches and becomes the state's error.
            if not failures:
                failures.append(failure)
                _cancel_others(tasks)

    start = visit.frame.last_event
    async with asyncio.TaskGroup() as group:
        for index, definition in enumerate(branches):
            frame = visit.frame.child(start)
            tasks.append(group.create_task(branch(index, definition, frame)))
    visit.frame.last_event = visit.run.history.last_id
    if failures:
        raise failures[0]
    return results


def _cancel_others(tasks: list[asyncio.Task[None]]) -> None:
    current = asyncio.current_task()
    for task in tasks:
        if task is not current:
            task.cancel()


HANDLERS: dict[str, Callable[[Visit, Any], Awaitable[Transition]]] = {
    "Pass": run_pass,
    "Task": run_task,
    "Choice": run_choice,
    "Wait": run_wait,
    "Succeed": run_succeed,
    "Fail": run_fail,
    "Parallel": run_parallel,
    "Map": run_map,
}
