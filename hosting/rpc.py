"""Calls from web processes to the runtime worker that owns a run, over the channel layer.

A worker listens on a channel of its own (named in its leases, hosting.leases). A caller sends
``{"type": "flowyard.rpc", "op", "args", "reply"}`` there and waits on a reply channel of its own
for ``{"result"}`` or ``{"error", "code"}``. Operations are named and their arguments and results
are plain data (the channel layer carries msgpack): no code and no object crosses processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

CALL_TIMEOUT = 40.0  # above the gateway's largest integration timeout (29 s)
WAKE_GROUP = "flowyard-workers"  # every worker's channel: "a command is waiting"
Handler = Callable[[str, dict[str, Any]], Awaitable[Any]]


class RemoteError(Exception):
    """The worker refused or failed the call; ``code`` names the exception it raised."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


class WorkerGone(Exception):
    """No worker answered in time (it died, or its lease is about to lapse)."""


def layer() -> Any:
    from channels.layers import get_channel_layer

    found = get_channel_layer()
    if found is None:
        raise RuntimeError("runtime workers need a channel layer (set REDIS_URL)")
    return found


async def call(channel: str, op: str, args: dict[str, Any], timeout: float = CALL_TIMEOUT) -> Any:
    """Run ``op`` on the worker listening on ``channel``; its result or its error."""
    channels = layer()
    reply = await channels.new_channel("flowyard-reply.")
    await channels.send(channel, {"type": "flowyard.rpc", "op": op, "args": args, "reply": reply})
    try:
        async with asyncio.timeout(timeout):
            answer = await channels.receive(reply)
    except TimeoutError:
        raise WorkerGone(f"no runtime worker answered {op} within {timeout:.0f} s") from None
    if "error" in answer:
        raise RemoteError(answer.get("code", "Error"), answer["error"])
    return answer.get("result")


async def serve(channel: str, handler: Handler, on_wake: Callable[[], None] | None = None) -> None:
    """Answer calls on ``channel`` until cancelled; each call runs as a task of its own. The
    channel also joins WAKE_GROUP, whose messages call ``on_wake``."""
    channels = layer()
    await channels.group_add(WAKE_GROUP, channel)
    async with asyncio.TaskGroup() as group:  # answer() never raises: one call cannot end it
        while True:
            message = await channels.receive(channel)
            if message.get("type") == "flowyard.wake":
                if on_wake is not None:
                    on_wake()
                continue
            if message.get("type") == "flowyard.rpc" and message.get("reply"):
                group.create_task(answer(channels, message, handler))


async def answer(channels: Any, message: dict[str, Any], handler: Handler) -> None:
    try:
        result = await handler(str(message.get("op")), dict(message.get("args") or {}))
        reply: dict[str, Any] = {"result": result}
    except Exception as error:  # noqa: BLE001 - every failure goes back to the caller
        reply = {"error": str(error) or type(error).__name__, "code": type(error).__name__}
    try:
        await channels.send(message["reply"], reply)
    except Exception:  # noqa: BLE001 - the caller gave up or the reply does not fit
        log.exception("could not answer %s", message.get("op"))
