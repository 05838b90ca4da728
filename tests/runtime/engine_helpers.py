"""Builders shared by the engine playbook tests: a spec from nodes and edges, a manual-clock run."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from runtime.clock import ManualClock
from runtime.engine import Engine
from runtime.events import ListObserver
from runtime.spec import load
from runtime.store import MemoryStore, Store
from tests.builders import edge, make_document, node

__all__ = ["edge", "node", "running", "engine_for", "STORES"]

# Tests that run on every store swap this (see tests/runtime/nodes/test_queue_behaviour.py).
STORES: dict[str, Callable[[], Store]] = {"factory": MemoryStore}


def engine_for(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] = (),  # type: ignore[assignment]
    *,
    wants_messages: bool = False,
    **settings: Any,
) -> tuple[Engine, ManualClock, ListObserver]:
    spec = load(make_document(nodes=nodes, edges=list(edges)))
    clock = ManualClock(auto_advance=False)
    observer = ListObserver(wants_messages=wants_messages)
    settings.setdefault("store", STORES["factory"]())
    engine = Engine(spec, clock=clock, observer=observer, rng=random.Random(7), **settings)
    return engine, clock, observer


@asynccontextmanager
async def running(
    nodes: list[dict[str, Any]],
    edges: list[dict[str, Any]] = (),  # type: ignore[assignment]
    **options: Any,
) -> AsyncIterator[Engine]:
    engine, _, _ = engine_for(nodes, list(edges), **options)
    await engine.start()
    try:
        await engine.settle()
        yield engine
    finally:
        await engine.stop()
