"""Named operations on a live run: what web processes ask of the process that hosts it.

Each operation runs on the supervisor's loop, where the engines live, takes plain keyword
arguments and returns plain data (lists, dicts, strings, numbers), so that it can be performed in
the same process (embedded) or asked of a runtime worker over the channel layer (hosting.rpc)
with the same result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hosting.supervisor import Supervisor

Operation = Callable[..., Awaitable[Any]]
OPERATIONS: dict[str, Operation] = {}


def operation(name: str) -> Callable[[Operation], Operation]:
    def register(function: Operation) -> Operation:
        OPERATIONS[name] = function
        return function

    return register


async def perform(chief: Supervisor, op: str, args: dict[str, Any]) -> Any:
    function = OPERATIONS.get(op)
    if function is None:
        raise ValueError(f"no run operation named {op!r}")
    return await function(chief, **args)


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
