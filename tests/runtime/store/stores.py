"""Store namespaces for the contract and durability tests: open, crash and reopen one.

Redis at ``FLOWYARD_TEST_REDIS_URL`` (default 127.0.0.1:6379/0) is part of the tested stack:
a test that needs it fails, never skips, without it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from runtime.store import MemoryStore, SqliteStore, Store
from runtime.store.redis import RedisStore

REDIS_URL = os.environ.get("FLOWYARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
KINDS = ("memory", "sqlite", "redis")


class Namespace:
    """One place a store keeps its state (nothing, a SQLite file, a Redis prefix), opened as
    often as a test likes: a reopened store sees what the earlier ones left."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.path = directory / "store.sqlite3"
        self.prefix = f"flowyard-test:{uuid.uuid4().hex}:"
        self.opened: list[Store] = []

    def open(self, **options: Any) -> Store:
        store: Store
        if self.kind == "memory":
            store = MemoryStore()
        elif self.kind == "sqlite":
            store = SqliteStore(self.path, **options)
        else:
            store = RedisStore.from_url(REDIS_URL, prefix=self.prefix)
        self.opened.append(store)
        return store

    async def crash(self, store: Store) -> None:
        """End ``store`` as a killed process would: nothing it still buffers is written."""
        if isinstance(store, SqliteStore):
            store.abandon()
        elif isinstance(store, RedisStore):
            await store.client.aclose()  # every call was applied by Redis when it returned
        else:
            raise AssertionError("a memory store has nothing to recover")
        self.opened.remove(store)

    async def check(self) -> None:
        if self.kind == "redis":
            probe = RedisStore.from_url(REDIS_URL, prefix=self.prefix)
            try:
                await probe.client.ping()
            except OSError:
                # Redis is part of the tested stack (make test's second pass runs on it).
                pytest.fail(f"no Redis at {REDIS_URL}: start redis-server (see .ci/run)")
            finally:
                await probe.close()

    async def cleanup(self) -> None:
        for store in self.opened:
            await store.close()
        self.opened.clear()
        if self.kind == "redis":
            sweeper = RedisStore.from_url(REDIS_URL, prefix=self.prefix)
            await sweeper.clear()
            await sweeper.close()
