"""State-machine executions kept in the run's store (issue 11, reliability R10): a new engine on
the same store lists the finished executions with their histories and resumes the STANDARD ones
that were running, between transitions, with contiguous event ids; EXPRESS ones are not resumed.

A crash is simulated without stopping the engine: its SQLite store is abandoned (nothing not yet
committed reaches the file, as when the process is killed) or its Redis client closed, and its
tasks are cancelled while the run still counts as running, with nothing they write afterwards
reaching the store. Time is a ManualClock throughout.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from runtime.asl.interpreter import INTERRUPTED
from runtime.clock import ManualClock
from runtime.engine import Engine
from runtime.events import ListObserver, RunState
from runtime.nodes.state_machine import (
    COMPACT_AFTER,
    LOST_CAUSE,
    MAX_EXECUTIONS_KEPT,
    StartRefused,
    StateMachineNode,
)
from runtime.spec import load
from runtime.store import MemoryStore, Store, StoreError
from tests.builders import make_document
from tests.runtime.engine_helpers import edge, node
from tests.runtime.store.stores import Namespace

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:"
T0 = 1_700_000_000.0
LOG = "flow#executions"

PASS_WAIT_PASS = {
    "StartAt": "Before",
    "States": {
        "Before": {"Type": "Pass", "Result": {"step": 1}, "ResultPath": "$.before", "Next": "Nap"},
        "Nap": {"Type": "Wait", "Seconds": 60, "Next": "After"},
        "After": {"Type": "Pass", "Result": {"step": 2}, "ResultPath": "$.after", "End": True},
    },
}

# A Task whose function takes 5 s (virtual): a crash in those 5 s leaves the attempt in flight.
# The idempotency key the task gets is the execution name and the state's entered time.
PASS_TASK_PASS = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {"Type": "Pass", "Result": "ready", "ResultPath": "$.prepared", "Next": "Call"},
        "Call": {
            "Type": "Task",
            "Resource": f"{LAMBDA}work",
            "Parameters": {
                "key.$": "States.Format('{}/{}', $$.Execution.Name, $$.State.EnteredTime)",
                "n.$": "$.n",
            },
            "ResultPath": "$.result",
            "Next": "Finish",
        },
        "Finish": {"Type": "Pass", "End": True},
    },
}


class Unplugged:
    """What a killed process's nodes write to: nothing reaches the store any more."""

    durable = True

    async def _gone(self, *args: Any, **kwargs: Any) -> Any:
        raise StoreError("ServiceUnavailable", "the process is gone")

    log_append = log_trim = sync = _gone


class Stores:
    """One store kind for a test. ``open()`` gives the store an engine runs on: the same
    MemoryStore each time (a redeploy in the same process), or a new SqliteStore on the same
    file or RedisStore on the same prefix (a new process)."""

    def __init__(self, kind: str, folder: Path) -> None:
        self.kind = kind
        self.memory = MemoryStore()
        self.namespace = Namespace(kind, folder)

    def open(self) -> Store:
        return self.memory if self.kind == "memory" else self.namespace.open()

    async def close(self) -> None:
        """Close what is open, as a stopped process does."""
        for store in list(self.namespace.opened):
            await store.close()
            self.namespace.opened.remove(store)

    async def crash(self, engine: Engine) -> None:
        """The process dies: the store keeps only what it had committed (SQLite) or applied
        (Redis), and whatever the run's tasks do while they are torn down never reaches it
        (the run is not told it is stopping)."""
        assert engine.state is RunState.RUNNING
        for found in engine.nodes.values():
            if isinstance(found, StateMachineNode):
                found.log.store = Unplugged()  # type: ignore[assignment]
        await self.namespace.crash(engine.store)
        for task in engine._tasks:
            task.cancel()
        await asyncio.gather(*engine._tasks, return_exceptions=True)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    found = Stores(request.param, tmp_path)
    await found.namespace.check()
    yield found
    await found.namespace.cleanup()


@pytest.fixture(params=["sqlite", "redis"])
async def durable(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    """A store that outlives its process (the ones a crash can be tried on)."""
    found = Stores(request.param, tmp_path)
    await found.namespace.check()
    yield found
    await found.namespace.cleanup()


def engine_on(
    store: Store,
    definition: dict[str, Any],
    *,
    start: float = T0,
    machine_type: str = "STANDARD",
    latency_ms: int = 5000,
    failure_rate: float = 0.0,
    extra_nodes: list[dict[str, Any]] = (),  # type: ignore[assignment]
    edges: list[dict[str, Any]] = (),  # type: ignore[assignment]
    log_level: str = "OFF",
) -> Engine:
    nodes = [
        node(
            "flow", "state_machine", definition=definition, type=machine_type, log_level=log_level
        ),
        node("work", "function", latency_ms=latency_ms, timeout=30, failure_rate=failure_rate),
        *extra_nodes,
    ]
    wires = [edge("calls", "flow", "work"), *edges]
    spec = load(make_document(nodes=nodes, edges=wires))
    return Engine(
        spec,
        clock=ManualClock(start, auto_advance=False),
        store=store,
        observer=ListObserver(),
        rng=random.Random(7),
    )


def flow(engine: Engine) -> StateMachineNode:
    found = engine.node("flow")
    assert isinstance(found, StateMachineNode)
    return found


async def until(engine: Engine, done: Callable[[], bool]) -> None:
    """Settle until ``done()``: a long run of states may outlast one settle on a busy machine."""
    for _ in range(100):
        if done():
            return
        await engine.settle()
    raise AssertionError("the run never got there")


def shape(history: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(event["id"], event["type"]) for event in history]


def assert_contiguous(history: list[dict[str, Any]]) -> None:
    assert [event["id"] for event in history] == list(range(1, len(history) + 1))
    for event in history:
        assert 0 <= event["previousEventId"] < event["id"]


def transitions(history: list[dict[str, Any]]) -> list[str]:
    """Entered and Exited events by state name: a repeated or missing transition shows."""
    found = []
    for event in history:
        kind = event["type"]
        if kind.endswith(("StateEntered", "StateExited")):
            details = event.get("stateEnteredEventDetails") or event["stateExitedEventDetails"]
            found.append(f"{details['name']}:{kind.removeprefix(kind.split('State')[0])}")
    return found


async def started(engine: Engine, count: int = 1, **input: Any) -> list[str]:
    names = []
    for number in range(count):
        arn = await flow(engine).start_execution({**input, "n": number}, name=f"run-{number}")
        names.append(str(arn).rsplit(":", 1)[-1])
    await engine.settle()
    return names


# --- finished executions ----------------------------------------------------------------------


async def test_finished_executions_are_listed_with_their_histories_by_a_new_engine(
    stores: Stores,
) -> None:
    first = engine_on(stores.open(), PASS_TASK_PASS, latency_ms=0)
    await first.start()
    names = await started(first, 3)
    before = {name: flow(first).executions[name].to_dict() for name in names}
    assert all(found["status"] == "SUCCEEDED" for found in before.values())
    await first.stop()
    await stores.close()

    second = engine_on(stores.open(), PASS_TASK_PASS, latency_ms=0)
    await second.start()
    try:
        kept = flow(second).executions
        assert list(kept) == names
        for name in names:
            after = kept[name].to_dict()
            assert after == before[name]  # status, output, history, steps, state statuses
            assert (
                kept[name].describe()["output"]
                == flow(second).executions[name].describe()["output"]
            )
        # Nothing runs again: the function was called once per execution, by the first run.
        await second.settle()
        assert second.node("work").invocations == 0  # type: ignore[attr-defined]
        assert second.snapshot()["nodes"]["flow"]["running"] == 0
    finally:
        await second.stop()


async def test_a_new_engine_keeps_the_same_bounded_list_and_the_log_is_rewritten(
    stores: Stores,
) -> None:
    passing = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    store = stores.open()
    first = engine_on(store, passing)
    await first.start()
    total = MAX_EXECUTIONS_KEPT + COMPACT_AFTER + 20
    for number in range(total):
        await flow(first).start_execution({"n": number}, name=f"e{number}")
        await first.settle()
    kept = list(flow(first).executions)
    assert len(kept) == MAX_EXECUTIONS_KEPT
    assert flow(first).log.rewrites >= 1
    start, end = await store.log_bounds(LOG, 0)
    assert start > 0  # what was rewritten is trimmed
    # Records of at most the kept executions, those let go since the rewrite, and definitions.
    assert end - start <= MAX_EXECUTIONS_KEPT + COMPACT_AFTER + 2
    await first.stop()
    await stores.close()

    second = engine_on(stores.open(), passing)
    await second.start()
    try:
        assert list(flow(second).executions) == kept
        assert all(r.status == "SUCCEEDED" for r in flow(second).executions.values())
        assert flow(second).executions[kept[-1]].output == {"n": total - 1}
    finally:
        await second.stop()


async def test_a_removed_state_machine_s_log_is_the_node_s_own_for_redeploys(
    stores: Stores,
) -> None:
    """Hosting drops "<node id>#<part>" buffers with the node; the log is named so."""
    store = stores.open()
    engine = engine_on(store, PASS_WAIT_PASS)
    await engine.start()
    await started(engine)
    inventory = await store.inventory(T0)
    assert LOG in inventory["logs"]
    assert LOG.split("#", 1)[0] == "flow"
    await engine.stop()
    await store.drop([LOG])
    assert LOG not in (await store.inventory(T0))["logs"]


# --- running executions resume ----------------------------------------------------------------


async def test_a_wait_resumes_after_a_crash_with_its_deadline_and_contiguous_history(
    durable: Stores,
) -> None:
    first = engine_on(durable.open(), PASS_WAIT_PASS)
    await first.start()
    await started(first)
    await first.advance(10)
    assert flow(first).executions["run-0"].status == "RUNNING"
    await durable.crash(first)

    second = engine_on(durable.open(), PASS_WAIT_PASS, start=T0 + 25)
    await second.start()
    try:
        record = flow(second).executions["run-0"]
        assert record.status == "RUNNING"
        assert shape(record.history)[-1] == (4, "WaitStateEntered")
        await second.advance(34)  # t = 59: the wait started at t = 0 is not over
        assert record.status == "RUNNING"
        await second.advance(1)
        assert record.status == "SUCCEEDED"
        assert record.output == {"n": 0, "before": {"step": 1}, "after": {"step": 2}}
        assert_contiguous(record.history)
        assert [kind for _, kind in shape(record.history)] == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
        exited = record.history[4]
        assert exited["timestamp"].timestamp() == T0 + 60
        assert flow(second).gauges()["resumed"] == 1
    finally:
        await second.stop()


async def test_a_task_in_flight_runs_again_with_the_same_context_and_the_attempt_is_recorded(
    durable: Stores,
) -> None:
    first = engine_on(durable.open(), PASS_TASK_PASS)
    await first.start()
    await started(first)
    await first.advance(2)  # the function takes 5 s
    assert first.node("work").invocations == 1  # type: ignore[attr-defined]
    await durable.crash(first)

    second = engine_on(durable.open(), PASS_TASK_PASS, start=T0 + 3)
    await second.start()
    try:
        await second.advance(5)
        record = flow(second).executions["run-0"]
        assert record.status == "SUCCEEDED"
        assert second.node("work").invocations == 1  # type: ignore[attr-defined]
        history = record.history
        assert_contiguous(history)
        assert [kind for _, kind in shape(history)] == [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionFailed",  # the attempt the crash cut off
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "PassStateEntered",
            "PassStateExited",
            "ExecutionSucceeded",
        ]
        interrupted = history[6]["lambdaFunctionFailedEventDetails"]
        assert interrupted["error"] == INTERRUPTED
        assert "side effects may happen twice" in interrupted["cause"]
        # The same input, and the same idempotency key, for both attempts.
        first_try = history[4]["lambdaFunctionScheduledEventDetails"]["input"]
        second_try = history[7]["lambdaFunctionScheduledEventDetails"]["input"]
        assert first_try == second_try
        assert "run-0/" in first_try
        assert transitions(history) == [
            "Prepare:StateEntered",
            "Prepare:StateExited",
            "Call:StateEntered",
            "Call:StateExited",
            "Finish:StateEntered",
            "Finish:StateExited",
        ]
    finally:
        await second.stop()


async def test_retries_keep_their_count_and_a_back_off_its_rest_across_a_crash(
    durable: Stores,
) -> None:
    retrying = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": f"{LAMBDA}work",
                "Parameters": {"retry.$": "$$.State.RetryCount"},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "MaxAttempts": 2}],
                "End": True,
            }
        },
    }
    first = engine_on(durable.open(), retrying, latency_ms=0, failure_rate=1.0)
    await first.start()
    await started(first)
    await first.advance(12)  # failed at t=0, retried at t=10 and failed, back-off of 20 s
    record = flow(first).executions["run-0"]
    assert [e["type"] for e in record.history].count("LambdaFunctionFailed") == 2
    await durable.crash(first)

    second = engine_on(durable.open(), retrying, latency_ms=0, failure_rate=1.0, start=T0 + 20)
    await second.start()
    try:
        record = flow(second).executions["run-0"]
        await second.advance(9)  # t = 29: the back-off ends at t = 30
        assert second.node("work").invocations == 0  # type: ignore[attr-defined]
        await second.advance(1)
        assert second.node("work").invocations == 1  # type: ignore[attr-defined]
        assert record.status == "FAILED"  # MaxAttempts 2: three attempts in all, not four
        assert_contiguous(record.history)
        scheduled = [
            e["lambdaFunctionScheduledEventDetails"]["input"]
            for e in record.history
            if e["type"] == "LambdaFunctionScheduled"
        ]
        assert scheduled == ['{"retry":0}', '{"retry":1}', '{"retry":2}']
    finally:
        await second.stop()


async def test_a_graceful_stop_leaves_running_executions_to_resume(stores: Stores) -> None:
    """A redeploy or SIGTERM stops the run: executions are cancelled, not ended."""
    first = engine_on(stores.open(), PASS_WAIT_PASS)
    await first.start()
    await started(first, 2)
    await first.advance(30)
    await first.stop()
    await stores.close()

    second = engine_on(stores.open(), PASS_WAIT_PASS, start=T0 + 30)
    await second.start()
    try:
        await second.advance(30)
        for record in flow(second).executions.values():
            assert record.status == "SUCCEEDED"
            assert_contiguous(record.history)
            assert len(record.history) == 8
            assert "WaitStateAborted" not in [e["type"] for e in record.history]
    finally:
        await second.stop()


async def test_an_execution_keeps_the_definition_it_started_with(stores: Stores) -> None:
    first = engine_on(stores.open(), PASS_WAIT_PASS)
    await first.start()
    await started(first)
    await first.stop()
    await stores.close()

    changed = {"StartAt": "Other", "States": {"Other": {"Type": "Succeed"}}}
    second = engine_on(stores.open(), changed, start=T0 + 60)
    await second.start()
    try:
        await second.settle()
        old = flow(second).executions["run-0"]
        assert old.status == "SUCCEEDED"
        assert transitions(old.history)[-2:] == ["After:StateEntered", "After:StateExited"]
        await flow(second).start_execution({}, name="new")
        await second.settle()
        assert transitions(flow(second).executions["new"].history) == [
            "Other:StateEntered",
            "Other:StateExited",
        ]
    finally:
        await second.stop()


async def test_variables_and_the_execution_timeout_survive_a_crash(durable: Stores) -> None:
    definition = {
        "QueryLanguage": "JSONata",
        "TimeoutSeconds": 100,
        "StartAt": "Remember",
        "States": {
            "Remember": {
                "Type": "Pass",
                "Assign": {"seen": "{% $states.input.n + 41 %}"},
                "Next": "Nap",
            },
            "Nap": {"Type": "Wait", "Seconds": 60, "Next": "Recall"},
            "Recall": {"Type": "Pass", "Output": {"seen": "{% $seen %}"}, "Next": "Long"},
            "Long": {"Type": "Wait", "Seconds": 60, "End": True},
        },
    }
    first = engine_on(durable.open(), definition)
    await first.start()
    await started(first)
    await first.advance(30)
    await durable.crash(first)

    second = engine_on(durable.open(), definition, start=T0 + 40)
    await second.start()
    try:
        record = flow(second).executions["run-0"]
        await second.advance(20)  # t = 60: Recall reads the variable assigned before the crash
        assert record.history[-2]["stateExitedEventDetails"]["output"] == '{"seen":41}'
        await second.advance(39)
        assert record.status == "RUNNING"
        await second.advance(1)  # t = 100: the execution's TimeoutSeconds count from its start
        assert record.status == "TIMED_OUT"
        assert_contiguous(record.history)
    finally:
        await second.stop()


async def test_the_history_cap_still_fails_a_resumed_execution_explicitly(durable: Stores) -> None:
    # Each loop is 4 events; after 6,245 loops a 10 s rest, then it loops until the cap.
    looping = {
        "StartAt": "Loop",
        "States": {
            "Loop": {
                "Type": "Pass",
                "Parameters": {"i.$": "States.MathAdd($.i, 1)"},
                "Next": "Check",
            },
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.i", "NumericEquals": 6245, "Next": "Rest"}],
                "Default": "Loop",
            },
            "Rest": {"Type": "Wait", "Seconds": 10, "Next": "Loop"},
        },
    }
    first = engine_on(durable.open(), looping)
    await first.start()
    await flow(first).start_execution({"i": 0}, name="loop")
    record = flow(first).executions["loop"]
    await until(
        first, lambda: bool(record.history) and record.history[-1]["type"] == "WaitStateEntered"
    )
    resting = len(record.history)
    await durable.crash(first)

    second = engine_on(durable.open(), looping, start=T0 + 5)
    await second.start()
    try:
        record = flow(second).executions["loop"]
        assert len(record.history) == resting
        await second.advance(5)
        await until(second, lambda: record.status != "RUNNING")
        assert record.status == "FAILED"
        assert record.error == "States.Runtime"
        assert "maximum number of history events (25000)" in (record.cause or "")
        assert len(record.history) == 25_001
        assert record.history[-1]["type"] == "ExecutionFailed"
        assert_contiguous(record.history)
    finally:
        await second.stop()


async def test_start_execution_answers_only_once_the_start_is_committed(durable: Stores) -> None:
    first = engine_on(durable.open(), PASS_WAIT_PASS)
    await first.start()
    await flow(first).start_execution({"n": 7}, name="acked")
    await durable.crash(first)  # at once: nothing after the answer is committed

    second = engine_on(durable.open(), PASS_WAIT_PASS)
    await second.start()
    try:
        record = flow(second).executions["acked"]
        assert record.input == {"n": 7}
        await second.advance(60)
        assert record.status == "SUCCEEDED"
        assert_contiguous(record.history)
    finally:
        await second.stop()


async def test_outcomes_of_resumed_executions_go_along_the_out_edges(durable: Stores) -> None:
    sink = [node("sink", "log")]
    wire = [edge("out", "flow", "sink")]
    first = engine_on(durable.open(), PASS_WAIT_PASS, extra_nodes=sink, edges=wire)
    await first.start()
    await started(first, 2)
    await first.advance(10)
    await durable.crash(first)

    second = engine_on(durable.open(), PASS_WAIT_PASS, extra_nodes=sink, edges=wire, start=T0 + 10)
    await second.start()
    try:
        await second.advance(50)
        bodies = [message.body for _, message in second.node("sink").entries]  # type: ignore[attr-defined]
        assert sorted(body["n"] for body in bodies) == [0, 1]
    finally:
        await second.stop()


# --- EXPRESS ----------------------------------------------------------------------------------


async def test_express_executions_are_not_resumed_and_say_why(stores: Stores) -> None:
    first = engine_on(stores.open(), PASS_WAIT_PASS, machine_type="EXPRESS", log_level="ALL")
    await first.start()
    await flow(first).start_execution({"n": 1}, name="quick")
    await flow(first).start_execution({"n": 2}, name="slow")
    await first.settle()
    first_flow = flow(first)
    first_flow.stop_execution("quick", "Stopped", "by the test")
    await first.settle()
    assert first_flow.executions["quick"].status == "ABORTED"
    await first.advance(10)
    if stores.kind == "memory":
        await first.stop()
    else:
        await stores.crash(first)

    second = engine_on(stores.open(), PASS_WAIT_PASS, machine_type="EXPRESS", start=T0 + 10)
    await second.start()
    try:
        ended = flow(second).executions["quick"]
        assert (ended.status, ended.error) == ("ABORTED", "Stopped")
        assert ended.history_kept and ended.history[-1]["type"] == "ExecutionAborted"
        lost = flow(second).executions["slow"]
        assert (lost.status, lost.error, lost.cause) == (
            "ABORTED",
            "Flowyard.RunStopped",
            LOST_CAUSE,
        )
        assert lost.history == [] and not lost.history_kept
        await second.advance(60)
        assert lost.status == "ABORTED"  # nothing ran it again
        assert flow(second).running == 0
    finally:
        await second.stop()


# --- the log read directly --------------------------------------------------------------------


async def test_the_log_holds_whole_batches_per_execution_in_order(stores: Stores) -> None:
    store = stores.open()
    engine = engine_on(store, PASS_WAIT_PASS)
    await engine.start()
    await started(engine)
    await engine.advance(60)
    await engine.stop()
    start, end = await store.log_bounds(LOG, 0)
    values = [record.value for record in await store.log_read(LOG, 0, start, end - start)]
    assert "def" in values[0]
    items = [item for value in values[1:] for item in value["i"]]
    tags = [item[0] for item in items]
    assert tags[0] == "start"
    assert tags[-2:] == ["end", "sent"]
    events = [item[1]["id"] for item in items if item[0] == "ev"]
    assert events == list(range(1, 9))
    assert [item[:2] for item in items if item[0] == "at"][1] == ["at", "Nap"]


# --- a store that cannot take the start ---------------------------------------------------------


class Failing(MemoryStore):
    """A memory store whose log refuses writes while ``failing`` is set (a full disk)."""

    durable = True
    failing = False

    async def log_append(self, log: str, partition: int, records: Any) -> list[int]:
        if self.failing:
            raise StoreError("ServiceUnavailable", "disk full")
        return await super().log_append(log, partition, records)


async def test_a_start_the_store_cannot_take_is_refused_not_acknowledged() -> None:
    store = Failing()
    queue = [node("inbox", "queue", visibility_timeout=30)]
    wire = [edge("in", "inbox", "flow")]
    engine = engine_on(store, PASS_WAIT_PASS, extra_nodes=queue, edges=wire)
    await engine.start()
    try:
        store.failing = True
        with pytest.raises(StartRefused) as refused:
            await flow(engine).start_execution({"n": 1}, name="refused")
        assert refused.value.code == "ServiceUnavailable"
        assert "refused" not in flow(engine).executions
        await engine.send("inbox", {"n": 2})
        await engine.settle()
        assert flow(engine).executions == {}  # the message stays in its queue
        counts = await store.queue_counts("inbox", engine.clock.now())
        assert counts.in_flight == 1
        store.failing = False
        await engine.advance(30)  # visible again: delivered, stored, started
        assert [r.input for r in flow(engine).executions.values()] == [{"n": 2}]
        assert (await store.queue_counts("inbox", engine.clock.now())).in_flight == 0
    finally:
        await engine.stop()
