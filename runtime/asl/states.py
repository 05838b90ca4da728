"""One handler per state type: `async (visit, raw_input) -> (next state or None, output)`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from runtime.asl import errors
from runtime.asl.choice import evaluate_rule
from runtime.asl.concurrency import race
from runtime.asl.errors import ExecutionFailure, TaskError, query_error, runtime_error
from runtime.asl.interpreter import Frame, Transition, Visit
from runtime.asl.jsonata_mode import is_expression, json_type_name
from runtime.asl.paths import PathNotFound
from runtime.asl.payload import evaluate_expression, read_reference, to_json
from runtime.asl.resources import ResourceKind, classify
from runtime.asl.timestamps import parse_timestamp

INLINE_MAP_CONCURRENCY = 40
DISTRIBUTED_MAP_CONCURRENCY = 10_000
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
    result = state.get("Result", effective)
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
    remaining = target - visit.run.clock.now()
    if remaining > 0:
        await visit.run.clock.sleep(remaining)


def _jsonpath_wait_target(visit: Visit, effective: Any) -> float:
    state, now = visit.state, visit.run.clock.now()
    if "Seconds" in state:
        return now + state["Seconds"]
    if "Timestamp" in state:
        return parse_timestamp(state["Timestamp"]) / 1e9
    field = "SecondsPath" if "SecondsPath" in state else "TimestampPath"
    path = state[field]
    try:
        value = read_reference(path, visit.scope(effective))
    except PathNotFound:
        raise runtime_error(
            f"The {field} parameter does not reference an input value: {path}"
        ) from None
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
        return visit.run.clock.now() + seconds
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


# --- Task ------------------------------------------------------------------------------------


async def run_task(visit: Visit, raw: Any) -> Transition:
    async def attempt() -> Transition:
        state = visit.state
        kind = classify(state["Resource"])
        if kind.pattern == "callback":
            visit.task_token = f"{visit.run.rng.getrandbits(256):064x}"
        if visit.jsonata:
            states = visit.states_binding(raw)
            payload = (
                visit.resolve(state["Arguments"], "Arguments", states)
                if ("Arguments" in state)
                else raw
            )
            timeout = _jsonata_seconds(visit, states, "TimeoutSeconds")
            heartbeat = _jsonata_seconds(visit, states, "HeartbeatSeconds")
            result = await _invoke(visit, kind, payload, timeout, heartbeat)
            states["result"] = result
            output, assigned = visit.finish_jsonata(states, result)
        else:
            effective = visit.input_path(raw)
            payload = (
                visit.template("Parameters", effective) if "Parameters" in state else effective
            )
            timeout = _jsonpath_seconds(visit, effective, "TimeoutSeconds")
            heartbeat = _jsonpath_seconds(visit, effective, "HeartbeatSeconds")
            result = await _invoke(visit, kind, payload, timeout, heartbeat)
            output, assigned = visit.finish_jsonpath(raw, result)
        return state.get("Next"), visit.exit(output, assigned)

    return await visit.with_retry_and_catch(raw, attempt)


def _jsonpath_seconds(visit: Visit, effective: Any, field: str) -> int | None:
    if field in visit.state:
        return visit.state[field]
    path = visit.state.get(f"{field}Path")
    if path is None:
        return None
    try:
        value = read_reference(path, visit.scope(effective))
    except PathNotFound:
        raise runtime_error(
            f"The {field}Path parameter does not reference an input value: {path}"
        ) from None
    if not _is_int(value) or value <= 0:
        raise runtime_error(
            f"The {field}Path parameter must reference a positive integer: {path} == "
            f"{to_json(value)}"
        )
    return value


def _jsonata_seconds(visit: Visit, states: dict[str, Any], field: str) -> int | None:
    if field not in visit.state:
        return None
    value = visit.resolve(visit.state[field], field, states)
    if not _is_int(value) or value <= 0:
        raise query_error(
            f"The {field} field must be a positive integer, but was: {to_json(value)}"
        )
    return value


async def _invoke(
    visit: Visit,
    kind: ResourceKind,
    payload: Any,
    timeout: int | None,
    heartbeat: int | None,
) -> Any:
    """Schedule, start and await one task attempt, recording its history events."""
    family = kind.family
    resource_arn = visit.state["Resource"]
    visit.event(f"{family}Scheduled", _scheduled_details(kind, payload, timeout, heartbeat))
    visit.event(f"{family}Started", _resource_details(kind) if family == "Task" else {})
    run = visit.run
    token = visit.task_token
    if token is not None:
        run.tokens.open(token)
    try:

        def work() -> Awaitable[Any]:
            return _call_resource(visit, kind, resource_arn, payload, heartbeat)

        if timeout:
            winner, result = await race(work, lambda: run.clock.sleep(timeout))
        else:
            winner, result = 0, await work()
    except TaskError as failure:
        return _task_failed(visit, kind, failure.error, failure.cause)
    except ExecutionFailure:
        raise
    except Exception as error:  # a resource bug still fails the task, as Lambda would
        return _task_failed(visit, kind, type(error).__name__, str(error))
    finally:
        if token is not None:
            run.tokens.close(token)
            visit.task_token = None
    if winner != 0:
        cause = f"The task did not finish within its TimeoutSeconds ({timeout} s)."
        _timed_out(visit, kind, errors.TIMEOUT, cause)
    text = to_json(result)
    visit.check_size(text, result)
    details = {**_resource_details(kind), "output": text, "outputDetails": {"truncated": False}}
    visit.event(f"{family}Succeeded", details)
    return result


async def _call_resource(
    visit: Visit, kind: ResourceKind, resource_arn: str, payload: Any, heartbeat: int | None
) -> Any:
    run = visit.run
    token = visit.task_token
    submitted = await run.resources.invoke(resource_arn, _copy(payload), token=token)
    if kind.pattern != "callback" or token is None:
        return submitted
    details = {**_resource_details(kind), "output": to_json(submitted)}
    visit.event("TaskSubmitted", {**details, "outputDetails": {"truncated": False}})
    return await run.tokens.wait(token, heartbeat, run.clock)


def _copy(payload: Any) -> Any:
    # Resources get their own copy: documents inside the interpreter are never mutated.
    import json

    return json.loads(to_json(payload))


def _resource_details(kind: ResourceKind) -> dict[str, Any]:
    if kind.family != "Task":
        return {}
    return {"resourceType": kind.resource_type, "resource": kind.resource}


def _scheduled_details(
    kind: ResourceKind, payload: Any, timeout: int | None, heartbeat: int | None
) -> dict[str, Any]:
    text = to_json(payload)
    if kind.family == "Task":
        return {
            **_resource_details(kind),
            "region": "us-east-1",
            "parameters": text,
            "timeoutInSeconds": timeout,
            "heartbeatInSeconds": heartbeat,
        }
    details = {
        "resource": kind.resource,
        "input": text,
        "inputDetails": {"truncated": False},
        "timeoutInSeconds": timeout,
    }
    if kind.family == "Activity":
        details["heartbeatInSeconds"] = heartbeat
    return details


def _task_failed(visit: Visit, kind: ResourceKind, error: str | None, cause: str | None) -> Any:
    if error == errors.HEARTBEAT_TIMEOUT:
        _timed_out(visit, kind, error, cause)
    details = {**_resource_details(kind), "error": error, "cause": cause}
    visit.event(f"{kind.family}Failed", details)
    raise ExecutionFailure(error, cause)


def _timed_out(visit: Visit, kind: ResourceKind, error: str, cause: str | None) -> None:
    details = {**_resource_details(kind), "error": error, "cause": cause}
    visit.event(f"{kind.family}TimedOut", details)
    raise ExecutionFailure(error, cause)


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


# --- Map -------------------------------------------------------------------------------------


@dataclass
class _MapPlan:
    items: list[Any]
    concurrency: int
    distributed: bool
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None


async def run_map(visit: Visit, raw: Any) -> Transition:
    async def attempt() -> Transition:
        if visit.jsonata:
            states = visit.states_binding(raw)
            plan = _jsonata_map_plan(visit, states, raw)
            make_input = _jsonata_item_input(visit, raw)
        else:
            effective = visit.input_path(raw)
            plan = _jsonpath_map_plan(visit, effective)
            make_input = _jsonpath_item_input(visit, effective)
        visit.event("MapStateStarted", {"length": len(plan.items)})
        try:
            results = await _run_iterations(visit, plan, make_input)
        except ExecutionFailure:
            visit.event("MapStateFailed")
            raise
        visit.event("MapStateSucceeded")
        if visit.jsonata:
            states["result"] = results
            output, assigned = visit.finish_jsonata(states, results)
        else:
            output, assigned = visit.finish_jsonpath(raw, results)
        return visit.state.get("Next"), visit.exit(output, assigned)

    return await visit.with_retry_and_catch(raw, attempt)


def _processor(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("ItemProcessor") or state["Iterator"]


def _is_distributed(state: dict[str, Any]) -> bool:
    config = _processor(state).get("ProcessorConfig") or {}
    return config.get("Mode") == "DISTRIBUTED"


def _jsonpath_map_plan(visit: Visit, effective: Any) -> _MapPlan:
    state = visit.state
    items_path = state.get("ItemsPath", "$")
    scope = visit.scope(effective)
    try:
        items = read_reference(items_path, scope)
    except PathNotFound as missing:
        raise runtime_error(f"Invalid path '{items_path}' : {missing.jayway}") from None
    if not isinstance(items, list):
        raise runtime_error(f"Map state input must be an array but was: {to_json(items)}")
    distributed = _is_distributed(state)
    plan = _MapPlan(items, 0, distributed)
    plan.concurrency = _jsonpath_number(visit, scope, "MaxConcurrency", integer=True) or 0
    plan.tolerated_count = _jsonpath_number(visit, scope, "ToleratedFailureCount", integer=True)
    plan.tolerated_percentage = _jsonpath_number(
        visit, scope, "ToleratedFailurePercentage", integer=False
    )
    _check_limits(plan, visit.jsonata)
    return plan


def _jsonpath_number(visit: Visit, scope: Any, field: str, *, integer: bool) -> Any:
    if field in visit.state:
        return visit.state[field]
    path = visit.state.get(f"{field}Path")
    if path is None:
        return None
    try:
        value = read_reference(path, scope)
    except PathNotFound:
        raise runtime_error(f"The {field}Path field references a missing value: {path}") from None
    number = _as_number(value, integer=integer)
    if number is None:
        shown = value if isinstance(value, str) else to_json(value)
        kind = "integer" if integer else "number"
        raise runtime_error(
            f'The {field}Path field refers to value "{shown}" which is not a valid {kind}: {path}'
        )
    return number


def _as_number(value: Any, *, integer: bool) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = int(value) if integer else float(value)
        except ValueError:
            return None
    if isinstance(value, float) and integer:
        return int(value) if value.is_integer() else None
    return value if isinstance(value, int | float) else None


def _check_limits(plan: _MapPlan, jsonata: bool) -> None:
    fail = errors.query_error if jsonata else runtime_error
    if plan.concurrency < 0:
        raise fail("MaxConcurrency cannot be negative.")
    if plan.tolerated_count is not None and plan.tolerated_count < 0:
        raise fail("ToleratedFailureCount cannot be negative.")
    percentage = plan.tolerated_percentage
    if percentage is not None and not 0 <= percentage <= 100:
        raise fail("ToleratedFailurePercentage must be between 0 and 100.")


def _jsonata_map_plan(visit: Visit, states: dict[str, Any], raw: Any) -> _MapPlan:
    state = visit.state
    if "Items" in state:
        items = visit.resolve(state["Items"], "Items", states)
        if not isinstance(items, list):
            body = state["Items"][2:-2].strip() if is_expression(state["Items"]) else state["Items"]
            raise query_error(
                f"The JSONata expression '{body}' specified for the field 'Items' returned an "
                f"unexpected result type. Expected 'array', but was '{json_type_name(items)}' "
                f"for value: {to_json(items)}"
            )
    elif isinstance(raw, list):
        items = raw
    else:
        raise query_error(f"Map state input must be an array but was: {to_json(raw)}")
    plan = _MapPlan(items, 0, _is_distributed(state))
    plan.concurrency = _jsonata_number(visit, states, "MaxConcurrency", integer=True) or 0
    plan.tolerated_count = _jsonata_number(visit, states, "ToleratedFailureCount", integer=True)
    plan.tolerated_percentage = _jsonata_number(
        visit, states, "ToleratedFailurePercentage", integer=False
    )
    _check_limits(plan, visit.jsonata)
    return plan


def _jsonata_number(visit: Visit, states: dict[str, Any], field: str, *, integer: bool) -> Any:
    if field not in visit.state:
        return None
    value = visit.resolve(visit.state[field], field, states)
    number = None if isinstance(value, str) else _as_number(value, integer=integer)
    if number is None:
        kind = "integer" if integer else "number"
        raise query_error(f"The {field} field must be a valid {kind}, but was: {to_json(value)}")
    return number


ItemInput = Callable[[int, Any], Any]


def _jsonpath_item_input(visit: Visit, effective: Any) -> ItemInput:
    selector_key = "ItemSelector" if "ItemSelector" in visit.state else "Parameters"
    if selector_key not in visit.state:
        return lambda index, item: item

    def build(index: int, item: Any) -> Any:
        visit.map_item = (index, item)
        try:
            return visit.template(selector_key, effective)
        finally:
            visit.map_item = None

    return build


def _jsonata_item_input(visit: Visit, raw: Any) -> ItemInput:
    if "ItemSelector" not in visit.state:
        return lambda index, item: item

    def build(index: int, item: Any) -> Any:
        visit.map_item = (index, item)
        try:
            states = visit.states_binding(raw)
            return visit.resolve(visit.state["ItemSelector"], "ItemSelector", states)
        finally:
            visit.map_item = None

    return build


async def _run_iterations(visit: Visit, plan: _MapPlan, make_input: ItemInput) -> list[Any]:
    processor = _processor(visit.state)
    run = visit.run
    items = plan.items
    results: list[Any] = [None] * len(items)
    tolerant = plan.distributed and (
        plan.tolerated_count is not None or plan.tolerated_percentage is not None
    )
    failures: list[ExecutionFailure] = []
    start = visit.frame.last_event

    async def iteration(index: int) -> None:
        frame = visit.frame.child(start)
        data = make_input(index, items[index])
        details = {"name": visit.name, "index": index}
        frame.last_event = run.history.add("MapIterationStarted", frame.last_event, details)
        try:
            results[index] = await run.run_scope(processor, data, frame)
        except ExecutionFailure as failure:
            frame.last_event = run.history.add("MapIterationFailed", frame.last_event, details)
            failures.append(failure)
            if tolerant:
                results[index] = _error_output(failure)
                return
            raise
        except asyncio.CancelledError:
            run.history.add("MapIterationAborted", frame.last_event, details, final=True)
            raise
        frame.last_event = run.history.add("MapIterationSucceeded", frame.last_event, details)

    await _schedule(iteration, len(items), _concurrency(plan), tolerant)
    visit.frame.last_event = run.history.last_id
    if failures and not tolerant:
        raise failures[0]
    if failures and _exceeds_tolerance(plan, len(failures)):
        raise ExecutionFailure(
            errors.EXCEED_TOLERATED_FAILURE_THRESHOLD,
            f"The Map state '{visit.name}' failed: {len(failures)} of {len(items)} items failed, "
            "more than its tolerated failure threshold.",
        )
    return results


def _concurrency(plan: _MapPlan) -> int:
    if plan.concurrency:
        return plan.concurrency
    return DISTRIBUTED_MAP_CONCURRENCY if plan.distributed else INLINE_MAP_CONCURRENCY


async def _schedule(
    iteration: Callable[[int], Awaitable[None]], count: int, limit: int, tolerant: bool
) -> None:
    """Run iterations with at most `limit` in flight; the first failure stops the rest."""
    if limit == 1:
        for index in range(count):
            await iteration(index)
        return
    semaphore = asyncio.Semaphore(limit)
    failures: list[ExecutionFailure] = []
    tasks: list[asyncio.Task[None]] = []

    async def guarded(index: int) -> None:
        async with semaphore:
            try:
                await iteration(index)
            except ExecutionFailure as failure:
                if not failures:
                    failures.append(failure)
                    _cancel_others(tasks)

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            tasks.append(group.create_task(guarded(index)))
    if failures:
        raise failures[0]


def _exceeds_tolerance(plan: _MapPlan, failed: int) -> bool:
    if plan.tolerated_count is not None and failed > plan.tolerated_count:
        return True
    percentage = plan.tolerated_percentage
    return percentage is not None and failed * 100 / max(len(plan.items), 1) > percentage


def _error_output(failure: ExecutionFailure) -> dict[str, Any]:
    return {
        key: value
        for key, value in (("Error", failure.error), ("Cause", failure.cause))
        if value is not None
    }


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
