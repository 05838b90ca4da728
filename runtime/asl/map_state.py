"""The Map state: inline and distributed iterations, ItemReader, ItemSelector and ItemBatcher.

Distributed mode runs like inline mode with more concurrency and tolerated failures; its child
executions are not modelled. An ItemReader asks the execution's `Resources` for the items
(`invoke(reader Resource, {...Parameters, "ReaderConfig": ...})` must return a list), which is
where the engine plugs in S3-like sources.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.asl import errors
from runtime.asl.errors import ExecutionFailure, TaskError, query_error, runtime_error
from runtime.asl.interpreter import Transition, Visit
from runtime.asl.jsonata_mode import is_expression, json_type_name
from runtime.asl.paths import PathNotFound
from runtime.asl.payload import evaluate_template, read_reference, to_json

INLINE_MAP_CONCURRENCY = 40
DISTRIBUTED_MAP_CONCURRENCY = 10_000


@dataclass
class _MapPlan:
    items: list[Any]
    distributed: bool
    concurrency: int = 0
    tolerated_count: int | None = None
    tolerated_percentage: float | None = None
    batch_items: int | None = None
    batch_bytes: int | None = None
    batch_input: Any = field(default=None)

    @property
    def tolerant(self) -> bool:
        limits = (self.tolerated_count, self.tolerated_percentage)
        return self.distributed and any(limit is not None for limit in limits)


async def run_map(visit: Visit, raw: Any) -> Transition:
    async def attempt() -> Transition:
        fields = _Fields(visit, raw)
        plan = await _plan(fields)
        visit.event("MapStateStarted", {"length": len(plan.items)})
        try:
            inputs = _iteration_inputs(fields, plan)
            results = await _run_iterations(visit, plan, inputs)
        except ExecutionFailure:
            visit.event("MapStateFailed")
            raise
        visit.event("MapStateSucceeded")
        if visit.jsonata:
            output, assigned = visit.finish_jsonata({**fields.states, "result": results}, results)
        else:
            output, assigned = visit.finish_jsonpath(raw, results)
        return visit.state.get("Next"), visit.exit(output, assigned)

    return await visit.with_retry_and_catch(raw, attempt)


class _Fields:
    """Reads Map fields the way the state's query language wants them read."""

    def __init__(self, visit: Visit, raw: Any) -> None:
        self.visit = visit
        self.state = visit.state
        self.raw = raw
        if visit.jsonata:
            self.states = visit.states_binding(raw)
            self.data = raw
        else:
            self.states = {}
            self.data = visit.input_path(raw)

    def fail(self, cause: str) -> ExecutionFailure:
        return query_error(cause) if self.visit.jsonata else runtime_error(cause)

    def number(self, source: dict[str, Any], name: str, *, integer: bool) -> int | float | None:
        """A numeric field given literally, as a JSONata expression or through `<name>Path`."""
        if name in source:
            value = source[name]
            if not is_expression(value):
                return value
            value = self.visit.resolve(value, name, self.states)
            number = None if isinstance(value, str) else _as_number(value, integer=integer)
            if number is None:
                kind = "integer" if integer else "number"
                raise self.fail(
                    f"The {name} field must be a valid {kind}, but was: {to_json(value)}"
                )
            return number
        path = source.get(f"{name}Path")
        if path is None:
            return None
        try:
            value = read_reference(path, self.visit.scope(self.data))
        except PathNotFound:
            raise self.fail(f"The {name}Path field references a missing value: {path}") from None
        number = _as_number(value, integer=integer)
        if number is None:
            shown = value if isinstance(value, str) else to_json(value)
            kind = "integer" if integer else "number"
            raise self.fail(
                f'The {name}Path field refers to value "{shown}" which is not a valid {kind}: '
                f"{path}"
            )
        return number

    def template(self, value: Any, name: str, data: Any) -> Any:
        if self.visit.jsonata:
            return self.visit.resolve(value, name, self.visit.states_binding(self.raw))
        return evaluate_template(value, self.visit.scope(data))


async def _plan(fields: _Fields) -> _MapPlan:
    state = fields.state
    items = await _read_items(fields) if "ItemReader" in state else _items(fields)
    plan = _MapPlan(items, _is_distributed(state))
    plan.concurrency = fields.number(state, "MaxConcurrency", integer=True) or 0
    plan.tolerated_count = fields.number(state, "ToleratedFailureCount", integer=True)
    plan.tolerated_percentage = fields.number(state, "ToleratedFailurePercentage", integer=False)
    batcher = state.get("ItemBatcher")
    if isinstance(batcher, dict):
        plan.batch_items = fields.number(batcher, "MaxItemsPerBatch", integer=True)
        plan.batch_bytes = fields.number(batcher, "MaxInputBytesPerBatch", integer=True)
        if "BatchInput" in batcher:
            plan.batch_input = fields.template(batcher["BatchInput"], "BatchInput", fields.data)
    _check_limits(plan, fields)
    return plan


def _items(fields: _Fields) -> list[Any]:
    state = fields.state
    if fields.visit.jsonata:
        if "Items" not in state:
            if not isinstance(fields.raw, list):
                raise query_error(
                    f"Map state input must be an array but was: {to_json(fields.raw)}"
                )
            return fields.raw
        items = fields.visit.resolve(state["Items"], "Items", fields.states)
        if not isinstance(items, list):
            shown = (
                state["Items"][2:-2].strip() if is_expression(state["Items"]) else state["Items"]
            )
            raise query_error(
                f"The JSONata expression '{shown}' specified for the field 'Items' returned an "
                f"unexpected result type. Expected 'array', but was '{json_type_name(items)}' "
                f"for value: {to_json(items)}"
            )
        return items
    items_path = state.get("ItemsPath", "$")
    try:
        items = read_reference(items_path, fields.visit.scope(fields.data))
    except PathNotFound as missing:
        raise runtime_error(f"Invalid path '{items_path}' : {missing.jayway}") from None
    if not isinstance(items, list):
        raise runtime_error(f"Map state input must be an array but was: {to_json(items)}")
    return items


async def _read_items(fields: _Fields) -> list[Any]:
    reader = fields.state["ItemReader"]
    key = "Arguments" if fields.visit.jsonata else "Parameters"
    payload = fields.template(reader.get(key, {}), f"ItemReader/{key}", fields.data)
    config = reader.get("ReaderConfig") or {}
    if isinstance(payload, dict):
        payload = {**payload, "ReaderConfig": config}
    try:
        items = await fields.visit.run.resources.invoke(reader["Resource"], payload, token=None)
    except TaskError as failure:
        raise ExecutionFailure(
            errors.ITEM_READER_FAILED,
            f"The ItemReader '{reader['Resource']}' failed: {failure.error}: {failure.cause}",
        ) from None
    if not isinstance(items, list):
        raise ExecutionFailure(
            errors.ITEM_READER_FAILED,
            f"The ItemReader '{reader['Resource']}' did not return an array of items.",
        )
    limit = fields.number(config, "MaxItems", integer=True)
    return items[:limit] if limit else items


def _check_limits(plan: _MapPlan, fields: _Fields) -> None:
    if plan.concurrency < 0:
        raise fields.fail("MaxConcurrency cannot be negative.")
    if plan.tolerated_count is not None and plan.tolerated_count < 0:
        raise fields.fail("ToleratedFailureCount cannot be negative.")
    percentage = plan.tolerated_percentage
    if percentage is not None and not 0 <= percentage <= 100:
        raise fields.fail("ToleratedFailurePercentage must be between 0 and 100.")
    for limit in (plan.batch_items, plan.batch_bytes):
        if limit is not None and limit <= 0:
            raise fields.fail("ItemBatcher limits must be positive.")


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


def _processor(state: dict[str, Any]) -> dict[str, Any]:
    return state.get("ItemProcessor") or state["Iterator"]


def _is_distributed(state: dict[str, Any]) -> bool:
    config = _processor(state).get("ProcessorConfig") or {}
    return config.get("Mode") == "DISTRIBUTED"


def _iteration_inputs(fields: _Fields, plan: _MapPlan) -> list[Any]:
    """Each item through ItemSelector (legacy Parameters), then grouped by ItemBatcher."""
    state, visit = fields.state, fields.visit
    key = "ItemSelector" if "ItemSelector" in state else "Parameters"
    selected = plan.items
    if key in state:
        selected = []
        for index, item in enumerate(plan.items):
            visit.map_item = (index, item)
            try:
                selected.append(fields.template(state[key], key, fields.data))
            finally:
                visit.map_item = None
    if "ItemBatcher" not in state:
        return selected
    return [_batch(plan, batch) for batch in _batches(selected, plan)]


def _batches(items: list[Any], plan: _MapPlan) -> list[list[Any]]:
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = 0
    for item in items:
        item_size = len(to_json(item).encode())
        full = plan.batch_items is not None and len(current) >= plan.batch_items
        too_big = plan.batch_bytes is not None and current and size + item_size > plan.batch_bytes
        if full or too_big:
            batches.append(current)
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    return batches


def _batch(plan: _MapPlan, items: list[Any]) -> dict[str, Any]:
    batch: dict[str, Any] = {"Items": items}
    if plan.batch_input is not None:
        batch["BatchInput"] = plan.batch_input
    return batch


async def _run_iterations(visit: Visit, plan: _MapPlan, inputs: list[Any]) -> list[Any]:
    processor = _processor(visit.state)
    run = visit.run
    results: list[Any] = [None] * len(inputs)
    failures: list[ExecutionFailure] = []
    start = visit.frame.last_event

    async def iteration(index: int) -> None:
        frame = visit.frame.child(start)
        details = {"name": visit.name, "index": index}
        frame.last_event = run.history.add("MapIterationStarted", frame.last_event, details)
        try:
            results[index] = await run.run_scope(processor, inputs[index], frame)
        except ExecutionFailure as failure:
            frame.last_event = run.history.add("MapIterationFailed", frame.last_event, details)
            failures.append(failure)
            if plan.tolerant:
                results[index] = _error_output(failure)
                return
            raise
        except asyncio.CancelledError:
            run.history.add("MapIterationAborted", frame.last_event, details, final=True)
            raise
        frame.last_event = run.history.add("MapIterationSucceeded", frame.last_event, details)

    await _schedule(iteration, len(inputs), _concurrency(plan))
    visit.frame.last_event = run.history.last_id
    if failures and not plan.tolerant:
        raise failures[0]
    if failures and _exceeds_tolerance(plan, len(failures), len(inputs)):
        raise ExecutionFailure(
            errors.EXCEED_TOLERATED_FAILURE_THRESHOLD,
            f"The Map state '{visit.name}' failed: {len(failures)} of {len(inputs)} items "
            "failed, more than its tolerated failure threshold.",
        )
    return results


def _concurrency(plan: _MapPlan) -> int:
    if plan.concurrency:
        return plan.concurrency
    return DISTRIBUTED_MAP_CONCURRENCY if plan.distributed else INLINE_MAP_CONCURRENCY


async def _schedule(iteration: Callable[[int], Awaitable[None]], count: int, limit: int) -> None:
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
                    current = asyncio.current_task()
                    for task in tasks:
                        if task is not current:
                            task.cancel()

    async with asyncio.TaskGroup() as group:
        for index in range(count):
            tasks.append(group.create_task(guarded(index)))
    if failures:
        raise failures[0]


def _exceeds_tolerance(plan: _MapPlan, failed: int, total: int) -> bool:
    if plan.tolerated_count is not None and failed > plan.tolerated_count:
        return True
    percentage = plan.tolerated_percentage
    return percentage is not None and failed * 100 / max(total, 1) > percentage


def _error_output(failure: ExecutionFailure) -> dict[str, Any]:
    return {
        key: value
        for key, value in (("Error", failure.error), ("Cause", failure.cause))
        if value is not None
    }
