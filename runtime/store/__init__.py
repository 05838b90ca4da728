"""Where queues and streams keep their contents: the Store interface and its implementations."""

from runtime.store.base import (
    LogRecord,
    QueueCounts,
    QueueOptions,
    QueueRecord,
    Received,
    ReceiveResult,
    SendOutcome,
    Store,
    StoreError,
)
from runtime.store.memory import MemoryStore
from runtime.store.sqlite import SqliteStore

__all__ = [
    "LogRecord",
    "MemoryStore",
    "QueueCounts",
    "QueueOptions",
    "QueueRecord",
    "ReceiveResult",
    "Received",
    "SendOutcome",
    "SqliteStore",
    "Store",
    "StoreError",
]
