"""The Task state: input processing, one resource call per attempt, timeouts and callbacks."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

from runtime.asl import errors
from runtime.asl.concurrency import race
from runtime.asl.errors import ExecutionFailure, TaskError, query_error, runtime_error
from runtime.asl.interpreter import INTERRUPTED, INTERRUPTED_CAUSE, Transition, Visit
from runtime.asl.payload import read_parameter, to_json
from runtime.asl.resources import ResourceKind, classify


async def run_task(visit: Visit, raw: Any) -> Transition:
    if visit.prior:
        _interrupted(visit)

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


def _interrupted(visit: Visit) -> None:
    """A Task resumed after a restart whose last recorded event is an attempt in flight
    (scheduled, started or submitted, with no outcome): that attempt is recorded as failed
    with ``INTERRUPTED`` before the task runs again. It counts against no retrier."""
    assert visit.prior is not None
    kind = classify(visit.state["Resource"])
    family = kind.family
    last = visit.prior[-1]["type"]
    if last in (f"{family}Scheduled", f"{family}Started", "TaskSubmitted"):
        details = {**_resource_details(kind), "error": INTERRUPTED, "cause": INTERRUPTED_CAUSE}
        visit.event(f"{family}Failed", details)


def _jsonpath_seconds(visit: Visit, effective: Any, field: str) -> int | None:
    if field in visit.state:
        return visit.state[field]
    path = visit.state.get(f"{field}Path")
    if path is None:
        return None
    value = read_parameter(f"{field}Path", path, visit.scope(effective))
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
    # The attempt is recorded before it can have any effect outside the execution.
    await run.checkpoint()
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
