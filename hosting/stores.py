"""Which store a topology's run keeps its state in, chosen by settings (see config/settings.py).

Each topology has a namespace of its own: a SQLite file ``topology-<id>.sqlite3`` under
``FLOWYARD_RUNS_DIR``, or the Redis key prefix ``<FLOWYARD_REDIS_PREFIX>t<id>:``. A redeploy opens
the same namespace again, so every node whose id survives keeps what it held.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from pathlib import Path
from typing import Any

from runtime.store import MemoryStore, Store

STORE_KINDS = ("sqlite", "redis", "memory")


def store_kind() -> str:
    from django.conf import settings

    kind = str(getattr(settings, "FLOWYARD_RUN_STORE", "sqlite")).lower()
    if kind not in STORE_KINDS:
        raise ValueError(
            f"FLOWYARD_RUN_STORE must be one of {', '.join(STORE_KINDS)}, not {kind!r}"
        )
    return kind


def sqlite_path(topology_id: int) -> Path:
    from django.conf import settings

    return Path(settings.FLOWYARD_RUNS_DIR) / f"topology-{topology_id}.sqlite3"


def install_prefix() -> str:
    """The Redis key prefix of this install: told apart by its database, so two checkouts (or
    a test run) can share one Redis without seeing each other's runs."""
    from django.conf import settings

    prefix = getattr(settings, "FLOWYARD_REDIS_PREFIX", "")
    if not prefix:
        database = settings.DATABASES["default"]
        where = f"{database.get('HOST', '')}:{database.get('PORT', '')}/{database.get('NAME', '')}"
        prefix = f"flowyard:{hashlib.sha256(where.encode()).hexdigest()[:10]}:"
    return prefix


def redis_prefix(topology_id: int) -> str:
    """The keys of one topology's run state."""
    return f"{install_prefix()}t{topology_id}:"


def open_store(topology_id: int, kind: str | None = None) -> Store:
    """A store on the topology's namespace; the caller closes it."""
    from django.conf import settings

    kind = kind or store_kind()
    if kind == "memory":
        return MemoryStore()
    if kind == "redis":
        from runtime.store.redis import RedisStore

        return RedisStore.from_url(settings.REDIS_URL, prefix=redis_prefix(topology_id))
    from runtime.store.sqlite import SqliteStore

    path = sqlite_path(topology_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStore(path, synchronous=settings.FLOWYARD_SQLITE_SYNCHRONOUS)


def durability(store: Store) -> dict[str, Any]:
    """What the store promises, as the toolbar and `runs status` show it (reliability R2, R19)."""
    return {**store.durability, "durable": store.durable}


def summarise(inventory: dict[str, Any]) -> dict[str, int]:
    """Totals of a store inventory: messages in queues, records in streams (Kinesis shards and
    Kafka partitions) and state-machine execution logs (``<node id>#executions``)."""
    queues = {name: count for name, count in inventory.get("queues", {}).items() if count}
    logs = {name: count for name, count in inventory.get("logs", {}).items() if count}
    machines = {name for name in logs if name.endswith("#executions")}
    totals = {
        "messages": sum(queues.values()),
        "queues": len(queues),
        "records": sum(count for name, count in logs.items() if name not in machines),
        "logs": len(logs) - len(machines),
    }
    if machines:
        totals["machines"] = len(machines)
    return totals


def describe(totals: dict[str, int]) -> str:
    """'150 messages in 3 queues, 20 records in 1 stream and the executions of 1 state
    machine', or '' when nothing is held."""
    parts = []
    if totals.get("messages"):
        parts.append(
            f"{plural(totals['messages'], 'message')} in {plural(totals['queues'], 'queue')}"
        )
    if totals.get("records"):
        where = plural(totals["logs"], "stream")
        parts.append(f"{plural(totals['records'], 'record')} in {where}")
    if totals.get("machines"):
        parts.append(f"the executions of {plural(totals['machines'], 'state machine')}")
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return "".join(parts)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" if count == 1 else f"{count:,} {word}s"


def stored_inventory(topology_id: int) -> dict[str, dict[str, int]]:
    """What the topology's store holds, read from sync code with no run in this process."""
    if store_kind() == "memory":
        return {"queues": {}, "logs": {}}

    async def read() -> dict[str, dict[str, int]]:
        store = open_store(topology_id)
        try:
            return await store.inventory(time.time())
        finally:
            await store.close()

    return asyncio.run(read())


def stored_totals(topology_id: int) -> dict[str, int]:
    return summarise(stored_inventory(topology_id))
