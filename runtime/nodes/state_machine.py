"""Step Functions state machine: runs an ASL definition whose Task states call other nodes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from runtime.asl import ExecutionRun, InvalidDefinition, TaskError, TaskTokens
from runtime.asl import StateMachine as AslMachine
from runtime.asl.graph import StatusTracker
from runtime.asl.interpreter import Resume
from runtime.asl.payload import to_json
from runtime.clock import ManualClock
from runtime.events import Event, Message, NodeState, RunState
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import (
    DeliveryFailed,
    Link,
    NodeRuntime,
    TaskFactory,
    parse_json_body,
)
from runtime.nodes.function import COMPUTE_TARGETS
from runtime.store import LogRecord, StoreError

MAX_DEFINITION_CHARS = 1048576
STATE_TYPES = frozenset({"Pass", "Task", "Choice", "Wait", "Succeed", "Fail", "Parallel", "Map"})
EXPRESS_FORBIDDEN = (".sync", ".waitForTaskToken")


class StateMachine(Kind):
    name = "state_machine"
    label = "State machine"
    group = "Compute"
    icon = "◇"
    description = "Step Functions: runs an ASL workflow per message; Task states call other nodes."
    models = "AWS Step Functions"
    feeds = COMPUTE_TARGETS
    fields = (
        Field(
            "definition",
            "json",
            {
                "Comment": "Passes its input through unchanged.",
                "StartAt": "Pass",
                "States": {"Pass": {"Type": "Pass", "End": True}},
            },
            "The workflow in Amazon States Language: StartAt names the first state, States "
            "holds them all (Pass, Task, Choice, Wait, Succeed, Fail, Parallel, Map). Task "
            "states call nodes of this topology by id: a function as "
            "arn:aws:lambda:us-east-1:123456789012:function:<node id> or through "
            "arn:aws:states:::lambda:invoke with FunctionName <node id>; a queue through "
            "arn:aws:states:::sqs:sendMessage with QueueUrl ending in /<node id>; a topic through "
            "arn:aws:states:::sns:publish with TopicArn ending in :<node id>; an event bus "
            "through arn:aws:states:::events:putEvents (EventBusName: its bus name or node id, "
            "else the wired bus); another state machine through "
            "arn:aws:states:::states:startExecution(.sync, .sync:2) with StateMachineArn ending "
            "in :stateMachine:<node id>. Add .waitForTaskToken to wait for "
            "SendTaskSuccess/Failure with $$.Task.Token. Edges to called nodes carry the calls; "
            "other out-edges receive each execution's output, or its Error and Cause. At most "
            "1,048,576 characters.",
            editor="asl",
        ),
        Field(
            "type",
            "choice",
            "STANDARD",
            "STANDARD: up to a year, exactly-once transitions, full execution history, kept in "
            "the run's store: after a restart a running execution resumes where it was. "
            "EXPRESS: up to 5 minutes, at-least-once, no .sync or .waitForTaskToken tasks, "
            "history only through logging, and no state kept between transitions: one running "
            "when its run stops ends ABORTED. Fixed when the machine is created.",
            choices=("STANDARD", "EXPRESS"),
        ),
        Field(
            "query_language",
            "choice",
            "JSONPath",
            "How states select and shape data: JSONPath (InputPath, Parameters, ResultPath…) "
            "or JSONata (Arguments, Output and {% … %} expressions). A QueryLanguage in the "
            "definition must agree.",
            choices=("JSONPath", "JSONata"),
        ),
        Field(
            "log_level",
            "choice",
            "OFF",
            "Execution logging; the only history an EXPRESS machine keeps.",
            choices=("OFF", "ALL", "ERROR", "FATAL"),
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        if not isinstance(config["definition"], dict):
            return [("/definition", "must be an object with StartAt and States")]
        return []

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        definition = config["definition"]
        if not isinstance(definition, dict):
            return []
        size = len(json.dumps(definition, ensure_ascii=False))
        if size > MAX_DEFINITION_CHARS:
            return [("/definition", f"must be at most {MAX_DEFINITION_CHARS} characters")]
        problems = asl_problems(effective_definition(config))
        language = definition.get("QueryLanguage")
        if language is not None and language != config["query_language"]:
            problems.append(
                (
                    "/query_language",
                    f"the definition's QueryLanguage is {language}",
                )
            )
        if config["type"] == "EXPRESS":
            for path, resource in _resources(definition.get("States"), "/definition/States"):
                if resource.endswith(EXPRESS_FORBIDDEN) or ".sync:" in resource:
                    problems.append(
                        (path, "EXPRESS machines cannot use .sync or .waitForTaskToken tasks")
                    )
        return problems


def asl_problems(definition: dict[str, Any]) -> list[Problem]:
    """ASL errors as problems under /definition: runtime.asl.validate, else a shallow check."""
    try:
        from runtime.asl import validate
    except ImportError:
        return _shallow_asl_problems(definition)
    try:
        errors = validate(definition)
    except Exception as error:  # a validator may raise one error carrying the list
        errors = getattr(error, "errors", None) or [("", str(error))]
    return [_as_problem(error) for error in errors or ()]


def _as_problem(error: Any) -> Problem:
    if isinstance(error, tuple | list) and len(error) == 2:
        path, message = error
    elif isinstance(error, dict):
        path, message = error.get("path", ""), error.get("message", error)
    else:
        path = getattr(error, "path", getattr(error, "pointer", ""))
        message = getattr(error, "message", None) or str(error)
    return ("/definition" + _pointer(path), str(message))


def _pointer(path: Any) -> str:
    if isinstance(path, tuple | list):
        return "".join(f"/{part}" for part in path)
    path = str(path or "")
    if path.startswith("$"):
        path = path[1:].replace(".", "/")
    if path and not path.startswith("/"):
        path = "/" + path
    return path


def _shallow_asl_problems(definition: dict[str, Any], where: str = "/definition") -> list[Problem]:
    start, states = definition.get("StartAt"), definition.get("States")
    problems: list[Problem] = []
    if not isinstance(states, dict) or not states:
        return [(f"{where}/States", "is required: an object of state name → state")]
    if not isinstance(start, str):
        problems.append((f"{where}/StartAt", "is required: the name of the first state"))
    elif start not in states:
        problems.append((f"{where}/StartAt", f"names {start!r}, which is not a state"))
    for name, state in states.items():
        here = f"{where}/States/{name}"
        if not isinstance(state, dict):
            problems.append((here, "must be an object"))
            continue
        kind = state.get("Type")
        if kind not in STATE_TYPES:
            problems.append((f"{here}/Type", "must be one of " + ", ".join(sorted(STATE_TYPES))))
            continue
        nxt = state.get("Next")
        if nxt is not None and nxt not in states:
            problems.append((f"{here}/Next", f"names {nxt!r}, which is not a state"))
        terminal = kind in ("Choice", "Succeed", "Fail")
        if not terminal and nxt is None and state.get("End") is not True:
            problems.append((here, "needs Next or End: true"))
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, dict):
                problems.extend(_shallow_asl_problems(branch, f"{here}/Branches/{index}"))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                problems.extend(_shallow_asl_problems(state[key], f"{here}/{key}"))
    return problems


def _resources(states: Any, where: str) -> Iterator[tuple[str, str]]:
    if not isinstance(states, dict):
        return
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        here = f"{where}/{name}"
        if isinstance(state.get("Resource"), str):
            yield f"{here}/Resource", state["Resource"]
        for index, branch in enumerate(state.get("Branches") or ()):
            if isinstance(branch, dict):
                yield from _resources(branch.get("States"), f"{here}/Branches/{index}/States")
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _resources(state[key].get("States"), f"{here}/{key}/States")


# --- behaviour ------------------------------------------------------------------------------------
#
# Task resources name nodes of the topology (the help text of `definition` says the same):
#   arn:aws:lambda:<region>:<account>:function:<node id>     a function node, invoked directly
#   arn:aws:states:::lambda:invoke  FunctionName=<node id or its ARN>, Payload=...
#   arn:aws:states:::sqs:sendMessage  QueueUrl=https://sqs.<region>.amazonaws.com/<acct>/<node id>
#   arn:aws:states:::sns:publish  TopicArn=arn:aws:sns:<region>:<account>:<node id>
#   arn:aws:states:::events:putEvents  Entries[].EventBusName=<bus name or node id>
#   arn:aws:states:::states:startExecution[.sync[:2]]  StateMachineArn=...:stateMachine:<node id>
# each optionally with .waitForTaskToken; aws-sdk:<service>:<action> forms map to the same calls.
# Out-edges to nodes that Task states call carry those calls; the other out-edges receive each
# execution's output (or its failure).

MAX_EXECUTIONS_KEPT = 50
MAX_STEPS_KEPT = 5000  # per execution: data-processing steps shown in the execution view
MAX_EXECUTION_NAME = 80
STANDARD_MAX_SECONDS = 365 * 24 * 3600
EXPRESS_MAX_SECONDS = 300
INPUT_LIMIT_BYTES = 262_144
RESOURCE_SERVICES = {"eventbridge": "events", "sfn": "states"}  # aws-sdk service names


@dataclass(frozen=True, slots=True)
class ExecutionStateChanged(Event):
    """A state of an execution changed status: running, retrying, succeeded, failed, caught,
    aborted. The live view colours the state graph from these."""

    node: str
    execution: str
    state: str
    status: str


@dataclass(frozen=True, slots=True)
class ExecutionStatusChanged(Event):
    """An execution started (RUNNING) or ended (SUCCEEDED, FAILED, TIMED_OUT, ABORTED)."""

    node: str
    execution: str
    status: str
    error: str = ""
    cause: str = ""


class StartRefused(Exception):
    """StartExecution refused, with the AWS error code (ExecutionAlreadyExists, ...)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


class InvalidToken(Exception):
    """SendTaskSuccess/Failure/Heartbeat for a token nobody waits for (AWS: TaskTimedOut)."""


@dataclass
class ExecutionRecord:
    """One execution as DescribeExecution and the execution view see it."""

    name: str
    arn: str
    state_machine_arn: str
    input: Any
    source: str
    started: float
    status: str = "RUNNING"
    output: Any = None
    error: str | None = None
    cause: str | None = None
    stopped: float | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    step_count: int = 0
    history_kept: bool = True
    tracker: StatusTracker = field(default_factory=StatusTracker)
    tokens: TaskTokens = field(default_factory=TaskTokens)
    trace_id: str = ""
    launched: bool = False
    run: ExecutionRun | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    # What the machine's executions log holds of it (see ExecutionLog): the definition it runs,
    # the last state entered or left in the machine's own scope, the variables there, how many
    # history events are in the log, its end and whether its outcome was sent on.
    definition_key: str = ""
    machine_type: str = "STANDARD"
    checkpoint: tuple[Any, ...] | None = None
    variables: dict[str, Any] = field(default_factory=dict)
    logged: int = 0
    end: dict[str, Any] | None = None
    sent: bool = False
    resume: Resume | None = None

    @property
    def express(self) -> bool:
        return self.machine_type == "EXPRESS"

    def describe(self) -> dict[str, Any]:
        """DescribeExecution's answer (input and output as JSON text, dates as epoch seconds)."""
        answer: dict[str, Any] = {
            "executionArn": self.arn,
            "stateMachineArn": self.state_machine_arn,
            "name": self.name,
            "status": self.status,
            "startDate": self.started,
            "input": to_json(self.input),
        }
        if self.stopped is not None:
            answer["stopDate"] = self.stopped
        if self.status == "SUCCEEDED":
            answer["output"] = to_json(self.output)
        if self.error is not None:
            answer["error"] = self.error
        if self.cause is not None:
            answer["cause"] = self.cause
        return answer

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arn": self.arn,
            "status": self.status,
            "source": self.source,
            "started": self.started,
            "stopped": self.stopped,
            "error": self.error,
            "cause": self.cause,
            "waiting_tokens": self.tokens.pending() if self.status == "RUNNING" else [],
        }

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: what the designer shows and keeps."""
        return {
            **self.summary(),
            "input": self.input,
            "output": self.output,
            "history": [plain_event(event) for event in self.history],
            "history_kept": self.history_kept,
            "steps": {
                str(key): [list(step) for step in value] for key, value in self.steps.items()
            },
            "statuses": dict(self.tracker.statuses),
        }


def effective_definition(config: dict[str, Any]) -> Any:
    """The definition as it runs: the node's query language applies when the ASL names none."""
    definition = config["definition"]
    if (
        isinstance(definition, dict)
        and "QueryLanguage" not in definition
        and config.get("query_language") == "JSONata"
    ):
        return {"QueryLanguage": "JSONata", **definition}
    return definition


def plain_event(event: dict[str, Any]) -> dict[str, Any]:
    """A history event with its timestamp as epoch seconds (JSON-able)."""
    stamp = event.get("timestamp")
    if hasattr(stamp, "timestamp"):
        return {**event, "timestamp": stamp.timestamp()}
    return dict(event)


class StateMachineNode(NodeRuntime):
    """Runs one ASL execution per incoming message (its body is the input), and per
    ``start_execution`` call (API gateway, UI, a parent machine).

    Executions are tasks of the node's own TaskGroup, so a long Wait never holds up the sender.
    Task states call other nodes through ``TopologyResources``. Each finished execution sends its
    output, or ``{"Error", "Cause", ...}`` counted as an error, along the out-edges that are not
    Task calls. The last ``MAX_EXECUTIONS_KEPT`` executions stay readable with their history,
    and every state change is emitted as ``ExecutionStateChanged`` for the live view.

    Executions live in the run's store (``ExecutionLog``): a new engine on the same store lists
    the finished ones with their history and resumes the STANDARD ones that were running.
    """

    kind = "state_machine"

    def setup(self) -> None:
        self.arn = self.engine.arn("states", f"stateMachine:{self.id}")
        self.machine_type: str = self.settings["type"]
        self.setup_error = ""
        self.machine: AslMachine | None = None
        definition = effective_definition(self.settings)
        self.definition_key = ""
        # Definitions executions run on, by key: the current one and those of executions
        # resumed from the log (an execution keeps the definition it started with).
        self._definitions: dict[str, dict[str, Any]] = {}
        self._machines: dict[str, AslMachine] = {}
        try:
            machine = self._build(definition, self.machine_type, validate=True)
        except (InvalidDefinition, ValueError, TypeError) as error:
            self.state = NodeState.NOT_RUNNABLE
            self.setup_error = str(error)
        else:
            self.machine = machine
            self.definition_key = definition_key(definition, self.machine_type)
            self._definitions[self.definition_key] = {
                "definition": definition,
                "type": self.machine_type,
            }
            self._machines[self.definition_key] = machine
        self.resources = TopologyResources(self)
        called = called_nodes(self.settings["definition"]) if self.machine else set()
        self.output_links = [link for link in self.links if not is_call(link, called)]
        self.executions: OrderedDict[str, ExecutionRecord] = OrderedDict()
        self.counts = {"started": 0, "succeeded": 0, "failed": 0, "timed_out": 0, "aborted": 0}
        self.running = 0
        self.resumed = 0
        self.store_error = ""
        self._group: asyncio.TaskGroup | None = None
        self._backlog: list[tuple[ExecutionRecord, Message | None]] = []
        self._resends: list[ExecutionRecord] = []
        self.log = ExecutionLog(self)

    def _build(self, definition: Any, machine_type: str, *, validate: bool) -> AslMachine:
        machine = AslMachine(
            definition, name=self.id, state_machine_type=machine_type, validate=validate
        )
        machine.arn = self.arn
        limit = EXPRESS_MAX_SECONDS if machine_type == "EXPRESS" else STANDARD_MAX_SECONDS
        machine.timeout_seconds = min(machine.timeout_seconds or limit, limit)
        return machine

    @property
    def express(self) -> bool:
        return self.machine_type == "EXPRESS"

    @property
    def stopping(self) -> bool:
        """The run is being stopped: what its cancellation does to executions is not theirs
        to keep (they resume when the run starts again)."""
        state = self.engine.state
        return state is RunState.STOPPING or state is RunState.STOPPED

    async def start(self) -> None:
        """Read the executions log back: finished executions are listed again, STANDARD ones
        that were running resume, EXPRESS ones that were running end ABORTED."""
        try:
            values = await self.log.read()
        except Exception as error:  # noqa: BLE001 - the run starts; the node says why
            self.store_error = store_problem(error)
            return
        if values:
            self._restore(values)
        if self.log.appended > self.log.written:
            await self._checkpoint()

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        return [("executions", self.own_executions)]

    async def own_executions(self) -> None:
        """Holds the TaskGroup every execution of this node runs in, until the run stops."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                backlog, self._backlog = self._backlog, []
                for record, message in backlog:
                    self._spawn(record, message)
                resends, self._resends = self._resends, []
                for record in resends:
                    group.create_task(self._resend(record), name=f"{self.id}:outcome:{record.name}")
                try:
                    await asyncio.get_running_loop().create_future()
                finally:
                    self._group = None
        finally:
            # What the executions recorded before the stop goes to the store with it.
            with contextlib.suppress(Exception):
                await self.log.flush()

    # --- starting executions ----------------------------------------------------------------
    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        started: list[tuple[ExecutionRecord, Message]] = []
        for message in messages:
            try:
                record = self.new_execution(
                    parse_json_body(message.body),
                    name=message.id,
                    source="message",
                    trace=message.trace_id,
                )
            except StartRefused as refused:
                if refused.code == "ExecutionAlreadyExists":
                    self.stats.duplicates += 1  # a redelivered message starts nothing new
                else:
                    self.refuse(refused.code, refused.message, message)
                continue
            if record.launched:
                self.stats.duplicates += 1
                continue
            record.trace_id = message.trace_id
            started.append((record, message))
        if not started:
            return
        try:
            await self._stored([record for record, _ in started])
        except StartRefused as refused:
            # Not acknowledged: the sender keeps the messages and delivers them again.
            raise DeliveryFailed(
                refused.code, refused.message, failed=[message for _, message in started]
            ) from None
        for record, message in started:
            if not record.launched:
                self._spawn(record, message)

    async def start_execution(
        self,
        input: Any = None,
        *,
        name: str | None = None,
        sync: bool = False,
        source: str = "api",
    ) -> str | dict[str, Any]:
        """StartExecution: the execution ARN at once, or with ``sync`` DescribeExecution's
        answer once it ends. Raises StartRefused (InvalidExecutionInput, ...). Answers only once
        the store holds the start (a durable store: committed)."""
        self.stats.received += 1
        record = self.new_execution(input, name=name, source=source)
        if not record.launched:
            await self._stored([record])
        if sync:
            if not record.launched:
                await self.run_execution(record, None)
            await record.done.wait()
            return record.describe()
        if not record.launched:
            self._spawn(record, None)
        return record.arn

    async def _stored(self, records: list[ExecutionRecord]) -> None:
        """Wait until the store holds these starts; StartRefused(ServiceUnavailable) when it
        cannot take them (those not yet running are forgotten: the caller may try again)."""
        try:
            await self.log.flush()
        except Exception as error:  # noqa: BLE001 - any store failure refuses the start
            for record in records:
                if not record.launched and self.executions.get(record.name) is record:
                    del self.executions[record.name]
            raise StartRefused(
                "ServiceUnavailable", f"The execution could not be stored: {store_problem(error)}"
            ) from None

    async def start_sync_execution(self, input: Any = None, name: str | None = None) -> Any:
        """StartSyncExecution (API gateway). AWS allows it for EXPRESS machines only; Flowyard
        runs STANDARD machines the same way rather than refusing."""
        return await self.start_execution(input, name=name, sync=True, source="api")

    def new_execution(
        self, input: Any, *, name: str | None, source: str, trace: str = ""
    ) -> ExecutionRecord:
        if self.machine is None:
            raise StartRefused("InvalidDefinition", self.setup_error or "no valid definition")
        input = {} if input is None else input
        text = to_json(input)
        if len(text.encode()) > INPUT_LIMIT_BYTES:
            raise StartRefused(
                "InvalidExecutionInput",
                f"The execution input is larger than {INPUT_LIMIT_BYTES} bytes (UTF-8).",
            )
        name = name or self._new_name()
        if not 1 <= len(name) <= MAX_EXECUTION_NAME:
            raise StartRefused(
                "InvalidName", f"An execution name has 1 to {MAX_EXECUTION_NAME} characters."
            )
        existing = self.executions.get(name)
        if existing is not None:
            if existing.status == "RUNNING" and to_json(existing.input) == text:
                return existing  # StartExecution is idempotent while the execution runs
            raise StartRefused(
                "ExecutionAlreadyExists", f"Execution Already Exists: '{existing.arn}'"
            )
        record = ExecutionRecord(
            name=name,
            arn=self.engine.arn("states", f"execution:{self.id}:{name}"),
            state_machine_arn=self.arn,
            input=input,
            source=source,
            started=self.clock.now(),
            trace_id=trace,
            definition_key=self.definition_key,
            machine_type=self.machine_type,
        )
        self.executions[name] = record
        self.log.started(record)
        self._forget_oldest()
        return record

    def _forget_oldest(self) -> None:
        while len(self.executions) > MAX_EXECUTIONS_KEPT:
            oldest = next(iter(self.executions.values()))
            if oldest.status == "RUNNING":
                break  # running executions stay findable (callbacks, stop)
            self.executions.popitem(last=False)
            self.log.garbage += 1

    def _new_name(self) -> str:
        bits = f"{self.engine.rng.getrandbits(128):032x}"
        return f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-a{bits[17:20]}-{bits[20:]}"

    def _spawn(self, record: ExecutionRecord, message: Message | None) -> None:
        record.launched = True
        if self._group is None:
            self._backlog.append((record, message))  # the run has not started yet
            return
        self._group.create_task(
            self.run_execution(record, message), name=f"{self.id}:execution:{record.name}"
        )

    def machine_for(self, record: ExecutionRecord) -> AslMachine | None:
        """The machine an execution runs: the definition it started with, when it was started
        on another revision of this node and resumed from the log."""
        key = record.definition_key
        machine = self._machines.get(key)
        if machine is None:
            stored = self._definitions.get(key)
            if stored is None:
                return self.machine
            machine = self._build(stored["definition"], stored["type"], validate=False)
            self._machines[key] = machine
        return machine

    async def run_execution(self, record: ExecutionRecord, message: Message | None) -> None:
        """Runs one execution to its end, records it and sends its outcome on; never raises
        (except cancellation, which marks it ABORTED)."""
        record.launched = True
        resume, record.resume = record.resume, None
        try:
            machine = self.machine_for(record)
        except (InvalidDefinition, ValueError, TypeError) as error:
            machine, problem = None, str(error)
        else:
            problem = self.setup_error or "no valid definition"
        if machine is None:
            self.counts["started"] += 1
            self.running += 1
            self._finish(record, "FAILED", None, "States.Runtime", problem)
            await self._send_outcome(record, message)
            await self._sent(record)
            return
        durable = not record.express
        run = ExecutionRun(
            machine,
            record.input,
            clock=self.clock,
            resources=self.resources,
            tokens=record.tokens,
            rng=self.engine.rng,
            name=record.name,
            on_event=lambda event: self._heard(record, event),
            on_step=lambda visit, state, step, value: self._stepped(record, visit, step, value),
            on_transition=(
                (lambda *change: self._transitioned(record, *change)) if durable else None
            ),
            checkpoint=self._checkpoint if durable else None,
            resume=resume,
        )
        run.arn = record.arn
        record.run = run
        record.history = run.history.events
        self.counts["started"] += 1
        self.running += 1
        self._emit_status(record)
        try:
            execution = await run.run()
        except asyncio.CancelledError:
            self._finish(record, "ABORTED", None, "Flowyard.RunStopped", "The run was stopped.")
            raise
        except Exception as error:  # noqa: BLE001 - an interpreter bug fails one execution
            self._finish(
                record, "FAILED", None, "States.Runtime", f"{type(error).__name__}: {error}"
            )
        else:
            self._finish(
                record, execution.status.value, execution.output, execution.error, execution.cause
            )
        await self._send_outcome(record, message)
        await self._sent(record)

    def _finish(
        self,
        record: ExecutionRecord,
        status: str,
        output: Any,
        error: str | None,
        cause: str | None,
    ) -> None:
        record.status, record.output, record.error, record.cause = status, output, error, cause
        record.stopped = self.clock.now()
        record.run = None
        self.running -= 1
        key = status.lower()
        self.counts[key] = self.counts.get(key, 0) + 1
        level = self.settings["log_level"]
        if record.express and (level == "OFF" or (level != "ALL" and status == "SUCCEEDED")):
            # Express machines keep history only through logging (spec 6.10).
            record.history, record.steps, record.history_kept = [], {}, False
        if not self.stopping:
            # In the same step as the closing event: the log never holds one without the other.
            self.log.ended(record)
        record.done.set()
        self._emit_status(record)

    async def _sent(self, record: ExecutionRecord) -> None:
        """The outcome went on: recorded, and what the execution recorded is made durable."""
        if self.stopping:
            return
        record.sent = True
        self.log.add(record.name, ["sent"])
        await self._checkpoint()

    async def _checkpoint(self) -> None:
        """Make what the executions recorded durable. A store that fails is reported on the
        node and the execution goes on: after a crash it resumes from what was stored."""
        try:
            await self.log.flush()
        except Exception as error:  # noqa: BLE001 - reported; the execution goes on
            self.store_error = store_problem(error)
            self.stats.errors += 1
        else:
            self.store_error = ""

    def _emit_status(self, record: ExecutionRecord) -> None:
        self.engine.emit(
            ExecutionStatusChanged(
                self.clock.now(),
                self.id,
                record.name,
                record.status,
                record.error or "",
                record.cause or "",
            )
        )

    def _heard(self, record: ExecutionRecord, event: dict[str, Any]) -> None:
        now = self.clock.now()
        if not record.express and not self.stopping:
            self.log.add(record.name, ["ev", plain_event(event)])
            record.logged += 1
        for state, status in record.tracker.feed(event):
            self.engine.emit(ExecutionStateChanged(now, self.id, record.name, state, status))

    def _transitioned(self, record: ExecutionRecord, change: str, visit: Any, nxt: Any) -> None:
        """A state of the machine's own scope was entered or left: where it would resume."""
        if self.stopping:
            return
        if change == "entered":
            record.checkpoint = ("at", visit.name, visit.entered_event, visit.entered_time)
            self.log.add(record.name, list(record.checkpoint))
            return
        record.checkpoint = ("left", nxt, visit.exited_event)
        if visit.assigned:
            record.variables.update(visit.assigned)
        self.log.add(record.name, ["left", nxt, visit.exited_event, visit.assigned])

    def _stepped(self, record: ExecutionRecord, visit: int, step: str, value: Any) -> None:
        if record.step_count >= MAX_STEPS_KEPT:
            return
        record.step_count += 1
        text = to_json(value)
        record.steps.setdefault(visit, []).append((step, text))
        if not record.express and not self.stopping:
            self.log.add(record.name, ["st", visit, step, text])

    async def _send_outcome(self, record: ExecutionRecord, message: Message | None) -> None:
        if record.status == "SUCCEEDED":
            body = record.output
        else:
            body = {
                "Error": record.error,
                "Cause": record.cause,
                "ExecutionArn": record.arn,
                "Status": record.status,
                "Input": record.input,
            }
        if message is None:
            out = Message.new(
                body, now=self.clock.now(), node=self.id, traced=record.source == "ui"
            )
            if record.trace_id:
                out = dataclasses.replace(out, trace_id=record.trace_id)
        else:
            out = message.derive(self.id, body=body)
        if record.status != "SUCCEEDED":
            self.fail(record.error or record.status, record.cause or "", [out])
        else:
            self.stats.acked += 1
        if self.output_links:
            await self.send_on([out], self.output_links)

    async def _resend(self, record: ExecutionRecord) -> None:
        """The outcome of an execution that ended before a restart and was not sent on."""
        await self._send_outcome(record, None)
        await self._sent(record)

    # --- the executions log, read back ------------------------------------------------------
    def _restore(self, values: list[Any]) -> None:
        executions, definitions, starts = replay(values)
        for key, stored in definitions.items():
            self._definitions.setdefault(key, stored)
        self.log.definitions = set(definitions)
        for record in executions.values():
            if record.end is None and record.history:
                record.end = closing_end(record.history[-1])  # a closing event, and no end
            if record.end is not None:
                apply_end(record, record.end)
        self.executions = executions
        self._forget_oldest()
        self.log.garbage = max(0, starts - len(self.executions))
        for record in self.executions.values():
            if record.end is not None:
                if not record.sent:
                    self._resends.append(record)
            elif record.express:
                self._lost(record)
            else:
                try:
                    record.resume = self._resume_point(record)
                except (LookupError, ValueError, TypeError) as error:
                    # A log this code cannot resume from: said, not guessed at.
                    self._unresumable(record, f"{type(error).__name__}: {error}")
                    continue
                self.resumed += 1
                self._spawn(record, None)

    def _lost(self, record: ExecutionRecord) -> None:
        """An EXPRESS execution that was running when its run stopped: Express workflows keep
        no state between transitions (AWS records them only in CloudWatch Logs), so it cannot
        resume; it ends ABORTED saying why, and sends no outcome."""
        record.history, record.steps, record.history_kept = [], {}, False
        record.status, record.error, record.cause = "ABORTED", "Flowyard.RunStopped", LOST_CAUSE
        record.stopped = self.clock.now()
        self.counts["aborted"] += 1
        self.log.ended(record)
        record.sent = True
        self.log.add(record.name, ["sent"])
        record.done.set()

    def _unresumable(self, record: ExecutionRecord, problem: str) -> None:
        record.status, record.error = "FAILED", "States.Runtime"
        record.cause = f"The execution could not be resumed from the run's store: {problem}"
        record.stopped = self.clock.now()
        self.counts["failed"] += 1
        self.log.ended(record)
        self._resends.append(record)
        record.done.set()

    def _resume_point(self, record: ExecutionRecord) -> Resume:
        """Where a STANDARD execution picks up: at the last state of the machine's own scope it
        entered (that state runs again from its recorded input, without a second Entered
        event), or at the state after the last one it left."""
        history = record.history
        checkpoint = record.checkpoint
        variables = dict(record.variables)
        if checkpoint is None:
            machine = self.machine_for(record) or self.machine
            start = machine.definition["StartAt"] if machine is not None else ""
            return Resume(history, record.started, start, record.input, variables)
        if checkpoint[0] == "at":
            _, state, event_id, entered = checkpoint
            details = history[event_id - 1]["stateEnteredEventDetails"]
            data = json.loads(details["input"])
            return Resume(history, record.started, state, data, variables, (event_id, entered))
        _, state, event_id = checkpoint
        output = json.loads(history[event_id - 1]["stateExitedEventDetails"]["output"])
        return Resume(history, record.started, state, output, variables)

    # --- controlling executions -------------------------------------------------------------
    def stop_execution(self, name: str, error: str | None = None, cause: str | None = None) -> bool:
        """StopExecution: the execution ends ABORTED; False when it is not running."""
        record = self.executions.get(name)
        if record is None or record.run is None:
            return False
        record.run.stop(error, cause)
        return True

    def _waiting(self, token: str) -> ExecutionRecord:
        for record in self.executions.values():
            if record.status == "RUNNING" and token in record.tokens.pending():
                return record
        raise InvalidToken(f"TaskTimedOut: the task token is not pending: {token[:16]}…")

    def send_task_success(self, token: str, output: Any) -> None:
        self._waiting(token).tokens.send_task_success(token, output)

    def send_task_failure(
        self, token: str, error: str | None = None, cause: str | None = None
    ) -> None:
        self._waiting(token).tokens.send_task_failure(token, error, cause)

    def send_task_heartbeat(self, token: str) -> None:
        self._waiting(token).tokens.send_task_heartbeat(token)

    def execution(self, name: str) -> ExecutionRecord | None:
        return self.executions.get(name)

    def gauges(self) -> dict[str, Any]:
        gauges: dict[str, Any] = {"executions": dict(self.counts), "running": self.running}
        if self.executions:
            latest = next(reversed(self.executions.values()))
            gauges["latest"] = {
                "name": latest.name,
                "status": latest.status,
                "states": dict(latest.tracker.statuses),
            }
        if self.resumed:
            gauges["resumed"] = self.resumed
        if self.setup_error:
            gauges["error"] = self.setup_error
        if self.store_error:
            gauges["store_error"] = self.store_error
        return gauges


# --- the executions log -----------------------------------------------------------------------
#
# A machine keeps its executions in one log of the run's store, "<node id>#executions",
# partition 0 (node ids cannot hold "#"; the hosting layer counts "<node id>#<part>" as the
# node's own, so a removed machine's executions are dropped with it). Each log record is a
# batch of one execution's items, {"x": name, "i": [item, ...]}, in the order they happened:
#   ["start", {arn, input, source, started, trace, def, type}]     StartExecution
#   ["ev", event]                    a history event, its timestamp as epoch seconds
#   ["st", visit, step, value text]  a data-processing step (the execution view's steps)
#   ["at", state, event id, time]    a state of the machine's own scope was entered
#   ["left", next state or None, event id, assigned variables or None]   ... and left
#   ["vars", variables]              the variables of the machine's scope (rewritten logs)
#   ["end", {status, output, error, cause, stopped}]
#   ["sent"]                         its outcome went along the out-edges
# and {"def": key, "definition", "type"} once for each definition executions run on. A record
# is appended in one store call, so a crash leaves a prefix of whole records. Record
# timestamps are the log's epoch, which a rewrite increments: a rewrite appends {"compact": n}
# and n records (definitions, then one per execution kept, holding all its items), then trims
# every record of earlier epochs. Reading starts over at each complete rewrite.

COMPACT_AFTER = MAX_EXECUTIONS_KEPT  # executions the log holds and the node no longer keeps
READ_CHUNK = 500
LOST_CAUSE = (
    "The run stopped (its process ended) while this EXPRESS execution ran. Express workflows "
    "keep no state between transitions, so it was not resumed when the run started again."
)
_CLOSING = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def store_problem(error: Exception) -> str:
    if isinstance(error, StoreError):
        return f"{error.code}: {error.message}"
    return f"{type(error).__name__}: {error}"


def definition_key(definition: Any, machine_type: str) -> str:
    text = json.dumps([machine_type, definition], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class ExecutionLog:
    """Appends a machine's execution items to its log in the run's store, in order and one
    write at a time: what piles up while a write is out goes in the next one (group commit).
    ``flush()`` returns once everything added before it is stored (committed on a durable
    store). Once ``COMPACT_AFTER`` executions in the log are no longer kept, the next write
    rewrites it from the executions kept."""

    def __init__(self, node: StateMachineNode) -> None:
        self.node = node
        self.store = node.engine.store
        self.name = f"{node.id}#executions"
        self.pending: list[tuple[str | None, Any]] = []
        self.appended = 0
        self.written = 0
        self.epoch = 0
        self.garbage = 0
        self.definitions: set[str] = set()
        self.rewrites = 0
        # One write at a time, in order; what piles up meanwhile goes in the next one.
        self._lock = asyncio.Lock()

    def add(self, name: str | None, item: Any) -> None:
        self.pending.append((name, item))
        self.appended += 1

    def started(self, record: ExecutionRecord) -> None:
        key = record.definition_key
        if key and key not in self.definitions:
            self.definitions.add(key)
            self.add(None, {"def": key, **self.node._definitions[key]})
        self.add(record.name, ["start", start_meta(record)])

    def ended(self, record: ExecutionRecord) -> None:
        if record.express and record.history_kept:
            # Express executions log their history when they end, as far as logging keeps it.
            for event in record.history:
                self.add(record.name, ["ev", plain_event(event)])
            for visit, steps in record.steps.items():
                for step, text in steps:
                    self.add(record.name, ["st", visit, step, text])
        record.end = end_meta(record)
        self.add(record.name, ["end", record.end])

    async def flush(self) -> None:
        target = self.appended
        async with self._lock:
            if self.written < target:
                await self._write()
        if self.store.durable:
            await self.store.sync()

    async def _write(self) -> None:
        batch, self.pending = self.pending, []
        rewrite = self.garbage >= COMPACT_AFTER and not self.node.stopping
        records = self._rewrite() if rewrite else self._records(batch)
        try:
            if records:
                await self.store.log_append(self.name, 0, records)
            if rewrite:
                await self.store.log_trim(self.name, 0, float(self.epoch))
        finally:
            # Handed to the store even when this call failed or was cancelled on its way
            # (SqliteStore keeps and retries its journal): never appended twice.
            self.written += len(batch)

    def _records(self, batch: list[tuple[str | None, Any]]) -> list[LogRecord]:
        epoch = float(self.epoch)
        records: list[LogRecord] = []
        grouped: dict[str, list[Any]] = {}
        for name, item in batch:
            if name is None:
                records.append(LogRecord(0, None, item, epoch))
            else:
                grouped.setdefault(name, []).append(item)
        records.extend(
            LogRecord(0, name, {"x": name, "i": items}, epoch) for name, items in grouped.items()
        )
        return records

    def _rewrite(self) -> list[LogRecord]:
        """The log as the executions kept: everything added so far is in them (the pending
        items included), as far as the log would have held it."""
        self.epoch += 1
        self.garbage = 0
        self.rewrites += 1
        epoch = float(self.epoch)
        node = self.node
        kept = list(node.executions.values())
        keys = {record.definition_key for record in kept} | {node.definition_key}
        values: list[Any] = [
            {"def": key, **node._definitions[key]}
            for key in sorted(keys)
            if key in node._definitions
        ]
        self.definitions = {value["def"] for value in values}
        values.extend({"x": record.name, "i": items_of(record)} for record in kept)
        return [
            LogRecord(0, None, {"compact": len(values)}, epoch),
            *(LogRecord(0, value.get("x"), value, epoch) for value in values),
        ]

    async def read(self) -> list[Any]:
        """Every record value the log holds, oldest first."""
        start, end = await self.store.log_bounds(self.name, 0)
        values: list[Any] = []
        offset = start
        while offset < end:
            chunk = await self.store.log_read(self.name, 0, offset, READ_CHUNK)
            if not chunk:
                break
            for record in chunk:
                values.append(record.value)
                self.epoch = max(self.epoch, int(record.timestamp))
            offset = chunk[-1].offset + 1
        return values


def start_meta(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "arn": record.arn,
        "machine": record.state_machine_arn,
        "input": record.input,
        "source": record.source,
        "started": record.started,
        "trace": record.trace_id,
        "def": record.definition_key,
        "type": record.machine_type,
    }


def end_meta(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "status": record.status,
        "output": record.output,
        "error": record.error,
        "cause": record.cause,
        "stopped": record.stopped,
        "kept": record.history_kept,
    }


def items_of(record: ExecutionRecord) -> list[Any]:
    """One execution as the log would hold it, in the fewest items."""
    items: list[Any] = [["start", start_meta(record)]]
    items.extend(["ev", plain_event(event)] for event in record.history[: record.logged])
    if record.express and record.end is not None and record.history_kept:
        items.extend(["ev", plain_event(event)] for event in record.history)
    for visit, steps in record.steps.items():
        items.extend(["st", visit, step, text] for step, text in steps)
    if record.variables:
        items.append(["vars", record.variables])
    if record.checkpoint is not None:
        items.append(list(record.checkpoint) + ([None] if record.checkpoint[0] == "left" else []))
    if record.end is not None:
        items.append(["end", record.end])
    if record.sent:
        items.append(["sent"])
    return items


def replay(
    values: list[Any],
) -> tuple[OrderedDict[str, ExecutionRecord], dict[str, dict[str, Any]], int]:
    """The executions a log holds (in start order), the definitions they run on, and how many
    starts it holds (executions replaced or no longer kept included)."""
    executions: OrderedDict[str, ExecutionRecord] = OrderedDict()
    definitions: dict[str, dict[str, Any]] = {}
    starts = 0
    index = 0
    while index < len(values):
        value = values[index]
        index += 1
        if "compact" in value:
            if index + value["compact"] > len(values):
                break  # a rewrite cut short (never expected: it is one append)
            executions.clear()
            definitions.clear()
            starts = 0
            continue
        if "def" in value:
            definitions[value["def"]] = {"definition": value["definition"], "type": value["type"]}
            continue
        name = value["x"]
        for item in value["i"]:
            starts += replay_item(executions, name, item)
    return executions, definitions, starts


def replay_item(executions: OrderedDict[str, ExecutionRecord], name: str, item: list[Any]) -> int:
    tag = item[0]
    if tag == "start":
        meta = item[1]
        executions.pop(name, None)  # a name used again after its execution was let go
        executions[name] = ExecutionRecord(
            name=name,
            arn=meta["arn"],
            state_machine_arn=meta["machine"],
            input=meta["input"],
            source=meta["source"],
            started=meta["started"],
            trace_id=meta.get("trace", ""),
            launched=True,
            definition_key=meta.get("def", ""),
            machine_type=meta.get("type", "STANDARD"),
        )
        return 1
    record = executions.get(name)
    if record is None:
        return 0
    if tag == "ev":
        event = item[1]
        if event["id"] == len(record.history) + 1:  # a repeated item is read once
            event = {**event, "timestamp": datetime.fromtimestamp(event["timestamp"], tz=UTC)}
            record.history.append(event)
            record.logged += 1
            record.tracker.feed(event)
    elif tag == "st":
        _, visit, step, text = item
        if record.step_count < MAX_STEPS_KEPT:
            record.step_count += 1
            record.steps.setdefault(visit, []).append((step, text))
    elif tag == "at":
        record.checkpoint = ("at", item[1], item[2], item[3])
    elif tag == "left":
        record.checkpoint = ("left", item[1], item[2])
        if item[3]:
            record.variables.update(item[3])
    elif tag == "vars":
        record.variables = dict(item[1])
    elif tag == "end":
        record.end = item[1]
    elif tag == "sent":
        record.sent = True
    return 0


def closing_end(event: dict[str, Any]) -> dict[str, Any] | None:
    """The end a closing history event says, for a log that holds the event without it."""
    status = _CLOSING.get(event["type"])
    if status is None:
        return None
    details = event.get(event["type"][0].lower() + event["type"][1:] + "EventDetails") or {}
    output = json.loads(details["output"]) if "output" in details else None
    stamp = event["timestamp"]
    return {
        "status": status,
        "output": output,
        "error": details.get("error"),
        "cause": details.get("cause"),
        "stopped": stamp.timestamp() if hasattr(stamp, "timestamp") else stamp,
        "kept": True,
    }


def apply_end(record: ExecutionRecord, end: dict[str, Any]) -> None:
    record.status = end["status"]
    record.output, record.error, record.cause = end["output"], end["error"], end["cause"]
    record.stopped = end["stopped"]
    record.history_kept = end.get("kept", True)
    record.launched = True
    record.done.set()


def find_waiting(engine: Any, token: str) -> StateMachineNode:
    """The state machine node whose execution waits for this task token (SendTask* callers)."""
    for node in engine.nodes.values():
        if isinstance(node, StateMachineNode):
            try:
                node._waiting(token)
            except InvalidToken:
                continue
            return node
    raise InvalidToken(f"TaskTimedOut: the task token is not pending: {token[:16]}…")


# --- Task resources ---------------------------------------------------------------------------


def split_resource(resource: str) -> tuple[str, str, str]:
    """(service, action, pattern suffix) of a Task Resource; ("lambda", "arn", "") for a
    direct Lambda function ARN, ("", "", "") for anything else."""
    parts = resource.split(":")
    if len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function":
        return "lambda", "arn", ""
    if not resource.startswith("arn:aws:states:::"):
        return "", "", ""
    rest = resource.removeprefix("arn:aws:states:::").split(":")
    if rest[0] == "aws-sdk" and len(rest) >= 3:
        rest = [RESOURCE_SERVICES.get(rest[1], rest[1]), *rest[2:]]
    service, tail = rest[0], ":".join(rest[1:])
    action, _, pattern = tail.partition(".")
    return service, action[:1].lower() + action[1:], pattern


def last_name(value: Any, separator: str = ":") -> str:
    """The node id at the end of an ARN, a queue URL or a plain name."""
    text = str(value or "")
    if text.startswith(("https://", "http://")):
        return text.rstrip("/").rsplit("/", 1)[-1]
    if text.startswith("arn:"):
        parts = text.split(":")
        if len(parts) >= 7 and parts[2] in ("lambda", "states"):
            return parts[6]  # function:<name>[:alias], stateMachine:<name>
        text = parts[-1]
    return text.rsplit("/", 1)[-1] if "event-bus/" in text else text.split(":", 1)[0]


def called_nodes(definition: Any) -> set[str]:
    """Node ids the definition's Task states name statically (their edges are calls)."""
    names: set[str] = set()
    for state in _all_states(definition):
        if state.get("Type") != "Task" or not isinstance(state.get("Resource"), str):
            continue
        service, action, _ = split_resource(state["Resource"])
        parameters = state.get("Parameters", state.get("Arguments"))
        parameters = parameters if isinstance(parameters, dict) else {}
        if (service, action) == ("lambda", "arn"):
            names.add(last_name(state["Resource"]))
            continue
        key = {
            "lambda": "FunctionName",
            "sqs": "QueueUrl",
            "sns": "TopicArn",
            "states": "StateMachineArn",
        }.get(service)
        if key and isinstance(parameters.get(key), str):
            names.add(last_name(parameters[key]))
        for entry in parameters.get("Entries") or () if service == "events" else ():
            if isinstance(entry, dict) and isinstance(entry.get("EventBusName"), str):
                names.add(last_name(entry["EventBusName"]))
        if service == "events" and not any(
            isinstance(e, dict) and "EventBusName" in e for e in parameters.get("Entries") or ()
        ):
            names.add("*event_bus")
    return names


def is_call(link: Link, called: set[str]) -> bool:
    """Whether an out-edge carries Task calls rather than execution outcomes."""
    target = link.target
    if target.id in called:
        return True
    if target.kind == "event_bus":
        return "*event_bus" in called or target.settings.get("bus_name") in called
    return False


def _all_states(definition: Any) -> Iterator[dict[str, Any]]:
    states = definition.get("States") if isinstance(definition, dict) else None
    for state in (states or {}).values():
        if not isinstance(state, dict):
            continue
        yield state
        for branch in state.get("Branches") or ():
            yield from _all_states(branch)
        for key in ("ItemProcessor", "Iterator"):
            yield from _all_states(state.get(key))


class TopologyResources:
    """Answers Task states with the nodes of the running topology (see the mapping above).

    Each call is one message to the target node, counted on the connecting edge when there is
    one. A function's latency and failure injection apply; its errors become task errors named
    as Lambda names them, which Retry and Catch then see.
    """

    def __init__(self, node: StateMachineNode) -> None:
        self.node = node
        self.engine = node.engine

    async def invoke(self, resource: str, payload: Any, *, token: str | None) -> Any:
        service, action, pattern = split_resource(resource)
        if (service, action) == ("lambda", "arn"):
            return await self.call_function(last_name(resource), payload)
        handler = {
            ("lambda", "invoke"): self.lambda_invoke,
            ("sqs", "sendMessage"): self.send_message,
            ("sns", "publish"): self.publish,
            ("events", "putEvents"): self.put_events,
            ("states", "startExecution"): self.start_execution,
        }.get((service, action))
        if handler is None:
            raise TaskError(
                "States.TaskFailed",
                f"Flowyard does not emulate the resource '{resource}'. Task states can call "
                "functions, queues, topics, event buses and state machines of the topology.",
            )
        parameters = payload if isinstance(payload, dict) else {}
        return await handler(parameters, pattern)

    # --- targets ------------------------------------------------------------------------------
    def target(self, name: str, kind: str, error: str, what: str) -> NodeRuntime:
        node = self.engine.nodes.get(name)
        if node is None or node.kind != kind:
            found = f"'{name}' is a {node.kind} node" if node is not None else f"no node '{name}'"
            raise TaskError(error, f"{what} not found: {found} in this topology.")
        return node

    def count_call(self, target: NodeRuntime, message: Message) -> Link | None:
        """Counts the call on the edge to the target, when wired, so the canvas shows it."""
        source = self.node
        link = next((link for link in source.links if link.target is target), None)
        if link is not None:
            link.count += 1
            source.stats.sent += 1
            source.note("sent", [message], target.id)
        return link

    async def hand(self, target: NodeRuntime, message: Message, error: str) -> None:
        """Deliver one message as the Task's API call; a refusal fails the task."""
        link = self.count_call(target, message)
        refused = target.stats.refused
        try:
            await target.accept([message], link)
        except DeliveryFailed as failure:
            raise TaskError(f"{error}.{failure.code}", failure.message) from None
        if target.stats.refused > refused:
            raise TaskError(
                f"{error}.InvalidParameterException",
                f"{target.id} refused the request; its inspector lists the reason.",
            )

    def message(self, body: Any, **kwargs: Any) -> Message:
        return Message.new(
            body,
            now=self.node.clock.now(),
            node=self.node.id,
            message_id=self.engine.new_id(),
            **kwargs,
        )

    # --- Lambda ------------------------------------------------------------------------------
    async def call_function(self, name: str, payload: Any) -> Any:
        function = self.target(name, "function", "Lambda.ResourceNotFoundException", "Function")
        message = self.message(payload)
        self.count_call(function, message)
        return await invoke_function(function, message)

    async def lambda_invoke(self, parameters: dict[str, Any], pattern: str) -> Any:
        name = last_name(parameters.get("FunctionName"))
        output = await self.call_function(name, parameters.get("Payload", {}))
        return {
            "ExecutedVersion": "$LATEST",
            "Payload": output,
            "SdkHttpMetadata": {"HttpStatusCode": 200},
            "SdkResponseMetadata": {"RequestId": self.engine.new_id()},
            "StatusCode": 200,
        }

    # --- SQS, SNS, EventBridge ---------------------------------------------------------------
    async def send_message(self, parameters: dict[str, Any], pattern: str) -> Any:
        name = last_name(parameters.get("QueueUrl"))
        queue = self.target(name, "queue", "SQS.QueueDoesNotExistException", "Queue")
        body = parameters.get("MessageBody")
        system = {
            key: parameters[key]
            for key in ("MessageGroupId", "MessageDeduplicationId", "DelaySeconds")
            if key in parameters
        }
        message = self.message(
            body, attributes=api_attributes(parameters.get("MessageAttributes")), system=system
        )
        await self.hand(queue, message, "SQS")
        text = body if isinstance(body, str) else to_json(body)
        return {
            "MessageId": message.id,
            "MD5OfMessageBody": hashlib.md5(text.encode()).hexdigest(),  # SQS's own checksum
        }

    async def publish(self, parameters: dict[str, Any], pattern: str) -> Any:
        name = last_name(parameters.get("TopicArn") or parameters.get("TargetArn"))
        topic = self.target(name, "topic", "SNS.NotFoundException", "Topic")
        system = {
            key: parameters[key]
            for key in ("Subject", "MessageGroupId", "MessageDeduplicationId", "MessageStructure")
            if key in parameters
        }
        message = self.message(
            parameters.get("Message"),
            attributes=api_attributes(parameters.get("MessageAttributes")),
            system=system,
        )
        await self.hand(topic, message, "SNS")
        return {"MessageId": message.id}

    async def put_events(self, parameters: dict[str, Any], pattern: str) -> Any:
        entries = parameters.get("Entries")
        if not isinstance(entries, list) or not 1 <= len(entries) <= 10:
            raise TaskError(
                "EventBridge.ValidationException", "Entries must be a list of 1 to 10 entries."
            )
        answers: list[dict[str, Any]] = []
        failed = 0
        for entry in entries:
            bus = self.bus(entry.get("EventBusName") if isinstance(entry, dict) else None)
            refused = bus.stats.refused
            message = self.message({"Entries": [entry]})
            await bus.accept([message], self.count_call(bus, message))
            if bus.stats.refused > refused:
                failed += 1
                answers.append(
                    {"ErrorCode": "InvalidArgument", "ErrorMessage": "refused by the bus"}
                )
            else:
                answers.append({"EventId": message.id})
        result = {"Entries": answers, "FailedEntryCount": failed}
        if failed:
            raise TaskError("EventBridge.FailedEntry", to_json(result))
        return result

    def bus(self, name: Any) -> NodeRuntime:
        wanted = last_name(name) if name else "default"
        buses = [node for node in self.engine.nodes.values() if node.kind == "event_bus"]
        for bus in buses:
            if bus.id == wanted or bus.settings.get("bus_name") == wanted:
                return bus
        wired = [link.target for link in self.node.links if link.target.kind == "event_bus"]
        if not name and len(wired) == 1:
            return wired[0]  # no EventBusName: the bus this machine is wired to
        raise TaskError(
            "EventBridge.ResourceNotFoundException", f"Event bus {wanted} does not exist."
        )

    # --- Step Functions ----------------------------------------------------------------------
    async def start_execution(self, parameters: dict[str, Any], pattern: str) -> Any:
        name = last_name(parameters.get("StateMachineArn"))
        child = self.target(
            name,
            "state_machine",
            "StepFunctions.StateMachineDoesNotExistException",
            "State machine",
        )
        assert isinstance(child, StateMachineNode)
        child_input = parse_json_body(parameters.get("Input", {}))
        self.count_call(child, self.message(child_input))
        try:
            if not pattern.startswith("sync"):
                arn = await child.start_execution(
                    child_input, name=parameters.get("Name"), source="parent"
                )
                return {"ExecutionArn": arn, "StartDate": int(self.node.clock.now() * 1000)}
            described = await child.start_execution(
                child_input, name=parameters.get("Name"), sync=True, source="parent"
            )
        except StartRefused as refused:
            raise TaskError(f"StepFunctions.{refused.code}Exception", refused.message) from None
        assert isinstance(described, dict)
        if described["status"] != "SUCCEEDED":
            raise TaskError("States.TaskFailed", to_json(_sync_result(described, pattern)))
        return _sync_result(described, pattern)


def _sync_result(described: dict[str, Any], pattern: str) -> dict[str, Any]:
    """DescribeExecution as .sync tasks return it: Output as text, or as JSON with .sync:2."""
    result = {
        "ExecutionArn": described["executionArn"],
        "Input": described["input"],
        "InputDetails": {"Included": True},
        "Name": described["name"],
        "StartDate": int(described["startDate"] * 1000),
        "StateMachineArn": described["stateMachineArn"],
        "Status": described["status"],
        "StopDate": int(described.get("stopDate", described["startDate"]) * 1000),
    }
    if "output" in described:
        output = described["output"]
        result["Output"] = json.loads(output) if pattern == "sync:2" else output
        result["OutputDetails"] = {"Included": True}
    for key in ("error", "cause"):
        if key in described:
            result[key.capitalize()] = described[key]
    return result


def api_attributes(attributes: Any) -> dict[str, Any]:
    """SQS/SNS API MessageAttributes ({"n": {"DataType", "StringValue"}}) as message attributes."""
    if not isinstance(attributes, dict):
        return {}
    plain: dict[str, Any] = {}
    for name, value in attributes.items():
        if isinstance(value, dict):
            raw = value.get("StringValue", value.get("Value", ""))
            is_number = str(value.get("DataType", "")).startswith("Number")
            try:
                plain[name] = json.loads(raw) if is_number else raw
            except ValueError:
                plain[name] = raw
        else:
            plain[name] = value
    return plain


async def invoke_function(function: Any, message: Message) -> Any:
    """One synchronous invocation of a function node: its latency and failure injection, its
    transform; the result also goes along the function's own out-edges, as its invoke does.
    Returns the result body; raises TaskError named like Lambda's errors."""
    from runtime.nodes.function import InvocationError

    function.note_received([message])
    function.invocations += 1
    function.running += 1
    try:
        await function._simulate()
        result = function._transform(message)
    except InvocationError as error:
        function.fail(error.error_type, error.message, [message])
        cause = {"errorMessage": error.message, "errorType": error.error_type, "stackTrace": []}
        raise TaskError(error.error_type, to_json(cause)) from None
    finally:
        function.running -= 1
    function.stats.acked += 1
    if result is None:
        return None
    if function.links:
        await function.send_on([result])
    return result.body


# --- running without a deployment ------------------------------------------------------------


async def run_headless(
    spec: Any,
    node_id: str,
    input: Any = None,
    *,
    name: str | None = None,
    wall_timeout: float = 5.0,
) -> ExecutionRecord:
    """One execution of ``node_id`` over a temporary engine built from ``spec``, on virtual
    time (Waits and retries take none). Nothing else of the topology runs: producers and
    pollers stay idle. A callback nobody can answer is stopped after ``wall_timeout`` seconds."""
    from runtime.engine import Engine  # the engine imports this module

    # Virtual time that starts now, so the execution's timestamps read as today's.
    engine = Engine(spec, clock=ManualClock(time.time(), auto_advance=True))
    node = engine.node(node_id)
    if not isinstance(node, StateMachineNode):
        raise KeyError(f"{node_id} is not a state machine")
    for each in engine.nodes.values():
        await each.start()
    record = node.new_execution(input, name=name, source="ui")
    machines = [each for each in engine.nodes.values() if isinstance(each, StateMachineNode)]
    async with asyncio.TaskGroup() as group:
        for machine in machines:
            machine._group = group
            if machine.machine is not None:
                # On virtual time a one-year cap would elapse at once: keep only the definition's.
                machine.machine.timeout_seconds = machine.machine.definition.get("TimeoutSeconds")
        node._spawn(record, None)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(record.done.wait(), wall_timeout)
        for machine in machines:
            for other in machine.executions.values():
                if other.run is not None:
                    other.run.stop("Flowyard.NotDeployed", NOT_DEPLOYED_CAUSE)
    return record


NOT_DEPLOYED_CAUSE = (
    "Not deployed: the execution stopped waiting, because nobody can answer a callback or a "
    "child execution of a topology that is not running. Deploy it to run this workflow fully."
)
