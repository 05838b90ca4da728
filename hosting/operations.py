"""Named operations on a live run: what web processes ask of the process that hosts it.

Each operation runs on the supervisor's loop, where the engines live, takes plain keyword
arguments and returns plain data (lists, dicts, strings, numbers), so that it can be performed in
the same process (embedded, ``Supervisor.operate``) or asked of a runtime worker over the channel
layer (hosting.rpc, ``RemoteSupervisor.operate``) with the same result. Views call them by name;
no closure ever needs to cross a process. Expected refusals (a queue that is no DLQ, a start
refused, a token nobody waits for) are answers (``{"refused": ...}``), not exceptions, so they
read the same from either side; NotRunning is raised when the topology has no run.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hosting.supervisor import NotRunning, Run, Supervisor

Operation = Callable[..., Awaitable[Any]]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(function: Operation) -> Operation:
        OPERATIONS[name] = function
        return function

    return register


async def perform(chief: Supervisor, op: str, args: dict[str, Any]) -> Any:
    """Run the named operation; its result as the channel layer carries it (see ``plain``)."""
    function = OPERATIONS.get(op)
    if function is None:
        raise ValueError(f"no run operation named {op!r}")
    return plain(await function(chief, **args))


@operation("info")
async def info(chief: Supervisor, topology_id: int) -> dict[str, Any] | None:
    run = chief.runs.get(topology_id)
    return run.info() if run is not None else None


@operation("send")
async def send(
    chief: Supervisor,
    topology_id: int,
    node_id: str,
    body: Any,
    attributes: dict[str, Any] | None = None,
    count: int = 1,
) -> list[str]:
    return await chief._send(topology_id, node_id, body, attributes, count)


@operation("snapshot")
async def snapshot(chief: Supervisor, topology_id: int) -> dict[str, Any] | None:
    return await chief._snapshot(topology_id)


@operation("stored")
async def stored(chief: Supervisor, topology_id: int) -> dict[str, int]:
    return await chief._stored(topology_id)


@operation("gateway")
async def gateway(
    chief: Supervisor, topology_id: int, stage: str, request: dict[str, Any]
) -> dict[str, Any]:
    """One API Gateway request through the run's pipeline (routing, keys, throttles, the
    integration), answered as the response's fields."""
    from hosting.gateway import pipeline
    from hosting.gateway.exchange import GatewayRequest

    run = chief._live(topology_id)
    response = await pipeline.handle(run.engine, stage, GatewayRequest(**request))
    return {
        "status": response.status,
        "body": response.body,
        "headers": dict(response.headers),
        "error_type": response.error_type,
        "error_message": response.error_message,
    }


@operation("graphql")
async def graphql(
    chief: Supervisor, topology_id: int, node_id: str | None, data: Any, api_key: str
) -> list[Any]:
    """One GraphQL request (query or mutation) against the run's graphql_api node."""
    from hosting.appsync.http import _execute
    from hosting.gateway.registry import Running

    run = chief._live(topology_id)

    async def here(coroutine: Any) -> Any:
        return await coroutine

    status, answer = await _execute(Running(run.engine, here, topology_id), node_id, data, api_key)
    return [status, answer]


# --- plain data ---------------------------------------------------------------------------------

MSGPACK_INT_MIN, MSGPACK_INT_MAX = -(2**63), 2**64 - 1


def plain(value: Any) -> Any:
    """``value`` as the channel layer carries it (msgpack): dicts with str keys, lists, str,
    bytes, int, float, bool and None. Tuples become lists and other mappings and sequences dicts
    and lists, as msgpack itself would; a key that is not a string is written as JSON writes it
    (``1`` → ``"1"``, ``True`` → ``"true"``); anything else becomes its ``str()``, as the views'
    ``json.dumps(default=str)`` shows it. Every operation's result passes through here, in the
    worker and in the embedded process alike, so both hand the views the same shapes."""
    if value is None or isinstance(value, bool | str | bytes | float):
        return value
    if isinstance(value, int):
        return int(value) if MSGPACK_INT_MIN <= value <= MSGPACK_INT_MAX else str(value)
    if isinstance(value, Mapping):
        return {plain_key(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    return str(value)


def plain_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, bool | int | float):
        return json.dumps(key)
    return str(key)


# --- the inspector's panels (designer.run_views) ------------------------------------------------


def the_run(chief: Supervisor, topology_id: int) -> Run:
    """The topology's run, finished or not (a stopped run's panels still read what it kept), as
    ``Supervisor.with_run`` finds it; NotRunning when there is none."""
    run = chief.runs.get(topology_id)
    if run is None:
        raise NotRunning(f"topology {topology_id} has no run; deploy it first")
    return run


@operation("producer.rate")
async def producer_rate(chief: Supervisor, topology_id: int, node_id: str, rate: float) -> float:
    """The load generator's rate slider: the events per second now applied."""
    return the_run(chief, topology_id).set_rate(node_id, float(rate))


@operation("node.messages")
async def node_messages(chief: Supervisor, topology_id: int, node_id: str) -> list[Any]:
    """A node's last messages as it received them, newest first (Seen.to_dict)."""
    run = the_run(chief, topology_id)
    return [seen.to_dict() for seen in run.recorder.recent(node_id)]


@operation("node.clear_messages")
async def clear_node_messages(chief: Supervisor, topology_id: int, node_id: str) -> None:
    the_run(chief, topology_id).recorder.clear(node_id)


@operation("trace")
async def trace(chief: Supervisor, topology_id: int, trace_id: str) -> dict[str, Any]:
    """One message's hops (the engine's provenance, or rebuilt from the nodes' recent messages
    when it was not traced in full), the messages as nodes saw them, and which of the two."""
    run = the_run(chief, topology_id)
    traced = run.engine.trace(trace_id)
    hops = [
        {
            "at": hop.at,
            "node": hop.node,
            "action": hop.action,
            "message_id": hop.message_id,
            "detail": hop.detail,
        }
        for hop in traced
    ]
    seen = [item.to_dict() for item in run.recorder.find(trace_id)]
    if not hops:
        hops = [
            {
                "at": item["at"],
                "node": item["node"],
                "action": "received",
                "message_id": item["id"],
                "detail": f"via {item['edge']}" if item["edge"] else "sent by hand",
            }
            for item in seen
        ]
    return {"hops": hops, "seen": seen, "sampled": not traced}


@operation("queue.view")
async def queue_view(
    chief: Supervisor, topology_id: int, node_id: str, limit: int = 50
) -> dict[str, Any]:
    """A queue's gauges, the queues it is the DLQ of, and its first ``limit`` waiting messages
    (bodies and attributes as JSON text)."""
    run = the_run(chief, topology_id)
    queue = run.engine.nodes[node_id]
    now = run.engine.clock.now()
    records = await run.engine.store.queue_peek(node_id, now, int(limit))
    return {
        "gauges": await queue.counts(),  # from the store, whichever it is: never a tick old
        "sources": [source.id for source in getattr(queue, "sources", [])],
        "records": [
            {
                "id": record.message.id,
                "trace_id": record.message.trace_id,
                "sent_at": record.sent_at,
                "receive_count": record.receive_count,
                "body": json.dumps(record.message.body, indent=1, default=str)[:2000],
                "attributes": json.dumps(dict(record.message.attributes), default=str),
                "source": record.dead_letter_source or "",
            }
            for record in records
        ],
    }


@operation("queue.redrive")
async def queue_redrive(chief: Supervisor, topology_id: int, node_id: str) -> dict[str, Any]:
    """StartMessageMoveTask: ``{"moved": n}``, or ``{"refused": why}`` (not a DLQ...)."""
    run = the_run(chief, topology_id)
    try:
        return {"moved": int(await run.engine.nodes[node_id].redrive())}
    except Exception as error:  # noqa: BLE001 - said in the panel
        return {"refused": str(getattr(error, "message", error))}


@operation("stream.records")
async def stream_records(
    chief: Supervisor, topology_id: int, node_id: str, per_shard: int = 25
) -> list[dict[str, Any]]:
    """A stream's (or Kafka topic's) last ``per_shard`` records of every shard or partition."""
    run = the_run(chief, topology_id)
    stream = run.engine.nodes[node_id]
    store = run.engine.store
    count = getattr(stream, "shards", None) or getattr(stream, "partitions", 1)
    shards = []
    for shard in range(int(count)):
        start, end = await store.log_bounds(node_id, shard)
        first = max(start, end - int(per_shard))
        records = await store.log_read(node_id, shard, first, int(per_shard))
        name = stream.shard_id(shard) if hasattr(stream, "shard_id") else f"partition-{shard}"
        shards.append(
            {
                "name": name,
                "start": start,
                "end": end,
                "records": [record_row(stream, shard, record) for record in records],
            }
        )
    return shards


def record_row(stream: Any, shard: int, record: Any) -> dict[str, Any]:
    sequence = (
        stream.sequence_number(shard, record.offset, record.timestamp)
        if hasattr(stream, "sequence_number")
        else str(record.offset)
    )
    message = record.message
    return {
        "offset": record.offset,
        "sequence": sequence,
        "key": record.key,
        "at": record.timestamp,
        "value": json.dumps(record.value, default=str)[:500],
        "trace_id": message.trace_id if message is not None else "",
    }


@operation("sm.overview")
async def machine_overview(
    chief: Supervisor, topology_id: int, node_id: str, limit: int = 50
) -> dict[str, Any]:
    """The inspector's executions panel: counts by status, how many run, and the last
    ``limit`` executions newest first with each state's status (None: the node keeps none)."""
    machine = the_run(chief, topology_id).engine.nodes[node_id]
    records = getattr(machine, "executions", None)
    listing = None
    if isinstance(records, dict):
        recent = list(records.values())[-int(limit) :]
        recent.reverse()
        listing = [
            {**record.summary(), "states": dict(record.tracker.statuses)} for record in recent
        ]
    gauges = machine.gauges()
    return {
        "counts": gauges.get("executions", {}),
        "running_count": gauges.get("running", 0),
        "executions": listing,
    }


# --- a state machine's page (designer.asl_views) ------------------------------------------------


def machine(chief: Supervisor, topology_id: int, node_id: str) -> Any:
    """The run's state machine node of this id, or None (the run predates the node)."""
    from runtime.nodes.state_machine import StateMachineNode

    node = the_run(chief, topology_id).engine.nodes.get(node_id)
    return node if isinstance(node, StateMachineNode) else None


@operation("sm.executions")
async def machine_executions(
    chief: Supervisor, topology_id: int, node_id: str
) -> list[dict[str, Any]]:
    """Every execution the run keeps of the machine, as summaries, newest first."""
    node = machine(chief, topology_id, node_id)
    if node is None:
        return []
    return [record.summary() for record in reversed(node.executions.values())]


@operation("sm.execution")
async def machine_execution(
    chief: Supervisor, topology_id: int, node_id: str, name: str
) -> dict[str, Any] | None:
    """One execution in full (history, steps, statuses) with the definition it runs, or None."""
    node = machine(chief, topology_id, node_id)
    record = node.execution(name) if node is not None else None
    if record is None:
        return None
    return {**record.to_dict(), "definition": node.settings["definition"]}


@operation("sm.start")
async def machine_start(
    chief: Supervisor, topology_id: int, node_id: str, input: Any, name: str | None = None
) -> dict[str, Any]:
    """StartExecution from the page: ``{"name": execution name}``, or ``{"refused": {"code",
    "message"}}`` as StartRefused says it."""
    from runtime.nodes.state_machine import StartRefused

    node = machine(chief, topology_id, node_id)
    try:
        if node is None:
            raise StartRefused("StateMachineDoesNotExist", "Redeploy: the run predates this node.")
        arn = await node.start_execution(input, name=name, source="ui")
    except StartRefused as refused:
        return {"refused": {"code": refused.code, "message": refused.message}}
    return {"name": str(arn).rsplit(":", 1)[-1]}


@operation("sm.callback")
async def machine_callback(
    chief: Supervisor,
    topology_id: int,
    node_id: str,
    token: str,
    outcome: str = "success",
    output: Any = None,
    error: str = "States.TaskFailed",
    cause: str = "",
) -> dict[str, Any]:
    """SendTaskSuccess (``outcome`` "success") or SendTaskFailure for a waiting task token:
    ``{"refused": None}``, or ``{"refused": why}`` for a token nobody waits for."""
    from runtime.nodes.state_machine import InvalidToken

    node = machine(chief, topology_id, node_id)
    try:
        if node is None:
            raise InvalidToken("no such state machine in the run")
        if outcome == "success":
            node.send_task_success(token, output)
        else:
            node.send_task_failure(token, error, cause)
    except InvalidToken as problem:
        return {"refused": str(problem) or "InvalidToken"}
    return {"refused": None}


@operation("sm.stop")
async def machine_stop(chief: Supervisor, topology_id: int, node_id: str, name: str) -> bool:
    """StopExecution from the execution view; False when that execution is not running."""
    node = machine(chief, topology_id, node_id)
    return node is not None and node.stop_execution(
        name, "Flowyard.Stopped", "Stopped from the execution view."
    )
