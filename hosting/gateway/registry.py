"""The one seam between the gateway and whoever runs engines: topology slug → running engine.

Runs belong to the supervisor (``hosting.supervisor``), which keeps them on its own loop thread,
keyed by topology id; the slug is looked up through the app registry (``runtime`` never imports
``designer``). Gateway work then runs on the supervisor's loop, where the engine lives. Tests may
``register`` an engine directly; it then runs on the caller's loop.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

T = TypeVar("T")
SLUG_TTL = 2.0  # seconds a slug → id lookup is reused; slugs never change once made
RUN_CALL_TIMEOUT = 40.0  # above the largest integration timeout (30 s)

_local: dict[str, Any] = {}
_slugs: dict[str, tuple[float, int | None]] = {}


@dataclass(frozen=True)
class Running:
    """A running engine and how to run a coroutine where it lives."""

    engine: Any
    run: Callable[[Coroutine[Any, Any, Any]], Awaitable[Any]]
    topology_id: int | None = None
    # Scaled out: the run lives on a runtime worker, reached through this RemoteSupervisor.
    remote: Any = None


def register(slug: str, engine: Any) -> None:
    """Serve ``engine`` for ``slug`` on the caller's loop (tests, benchmarks)."""
    _local[slug] = engine


def unregister(slug: str) -> None:
    _local.pop(slug, None)


async def _same_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    return await coroutine


def _topology_id(slug: str) -> int | None:
    from django.apps import apps

    topology_model = apps.get_model("designer", "Topology")
    return topology_model.objects.filter(slug=slug).values_list("pk", flat=True).first()


async def topology_id(slug: str, *, fresh: bool = False) -> int | None:
    cached = _slugs.get(slug)
    now = time.monotonic()
    if cached is not None and now - cached[0] < SLUG_TTL and not fresh:
        return cached[1]
    found = await sync_to_async(_topology_id, thread_sensitive=True)(slug)
    _slugs[slug] = (now, found)
    return found


async def find(slug: str) -> Running | None:
    """The running engine serving ``slug``, or None when the topology is unknown or stopped."""
    engine = _local.get(slug)
    if engine is not None:
        return Running(engine, _same_loop)
    from hosting.supervisor import get_supervisor

    supervisor = get_supervisor()
    if getattr(supervisor, "remote", False):
        return await find_remote(slug, supervisor)
    run = None
    for fresh in (False, True):
        # A cached id may belong to a deleted topology whose slug was reused: look again.
        pk = await topology_id(slug, fresh=fresh)
        run = supervisor.runs.get(pk) if pk is not None else None
        if run is not None and not run.finished.is_set():
            break
    if pk is None or run is None or run.finished.is_set() or not supervisor.alive:
        return None

    async def on_supervisor_loop(coroutine: Coroutine[Any, Any, T]) -> T:
        return await supervisor.acall(coroutine, timeout=RUN_CALL_TIMEOUT)

    return Running(run.engine, on_supervisor_loop, pk)


_remote_states: dict[int, tuple[float, bool]] = {}


async def find_remote(slug: str, supervisor: Any) -> Running | None:
    """The run serving ``slug`` on a runtime worker, from the status workers publish (read at
    most every SLUG_TTL seconds per topology, not on every request)."""
    from hosting.host import LIVE

    pk = await topology_id(slug)
    if pk is None:
        return None
    now = time.monotonic()
    cached = _remote_states.get(pk)
    if cached is None or now - cached[0] >= SLUG_TTL:
        info = await sync_to_async(supervisor.info, thread_sensitive=True)(pk)
        cached = (now, info is not None and info["state"] in LIVE)
        _remote_states[pk] = cached
    if not cached[1]:
        return None
    return Running(None, _same_loop, pk, remote=supervisor)


async def serve(running: Running, stage: str, request: Any) -> Any:
    """One gateway request through the run's pipeline, where the run lives."""
    from dataclasses import asdict

    from hosting.gateway import pipeline
    from hosting.gateway.exchange import GatewayResponse

    if running.remote is None:
        return await running.run(pipeline.handle(running.engine, stage, request))
    fields = {**asdict(request), "headers": dict(request.headers)}
    answer = await running.remote.aoperate(
        running.topology_id, "gateway", stage=stage, request=fields
    )
    return GatewayResponse(**answer)
