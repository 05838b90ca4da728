"""The embedded durable store: memory semantics, with a write-ahead journal in a SQLite file.

Reads and the engine's hot path stay on the ``MemoryStore`` structures. Every change to them
(a record added, received, removed; a FIFO dedup id; a log append or trim; a committed offset)
is appended to an in-process journal that ONE writer thread applies to SQLite, a batch per
transaction: group commit, so a burst of sends costs one commit. A send (``queue_send``, the
engine's ``queue_store_now`` followed by ``sync()``, ``log_append``) is acknowledged only once
its batch is committed (semantics: R1, R17). WAL mode; ``synchronous=NORMAL`` survives a killed
process, ``FULL`` a power loss too (https://www.sqlite.org/pragma.html#pragma_synchronous);
both are checked when the file is opened and reported by ``durability`` (R19).

A failed commit (disk full, database locked, any sqlite3 error) fails every ``sync()`` waiting
on that batch with ``StoreError("ServiceUnavailable")``; the batch stays in the journal and is
tried again with the next one, so the file converges once the fault clears and no sender is
told "stored" for something that is not.

Recovery: opening the file loads logs and offsets at once and keeps each queue's rows until the
queue is declared (its options are needed to place them): in-flight messages become visible
again with their receive counts, expired ones go, sequence numbers continue and FIFO dedup
memory is kept. One file per namespace (the hosting layer gives each topology its own).

Layout: ``queue_records`` (queue, seq) → message JSON and SQS bookkeeping; ``queue_meta`` the
last sequence number per queue; ``queue_dedup`` FIFO dedup keys with their first-accepted
time; ``log_records`` (log, partition, offset) → record; ``log_bounds`` start and end offsets;
``log_offsets`` committed consumer-group offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runtime.events import Message
from runtime.store.base import (
    LogRecord,
    QueueOptions,
    QueueRecord,
    ReceiveResult,
    SendOutcome,
    StoreError,
    decode_message,
    encode_message,
)
from runtime.store.memory import MemoryLog, MemoryQueue, MemoryStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS queue_records (
    queue TEXT NOT NULL, seq INTEGER NOT NULL, message TEXT NOT NULL, sent_at REAL NOT NULL,
    visible_at REAL NOT NULL, expires_at REAL NOT NULL, grp TEXT, dedup_id TEXT,
    receive_count INTEGER NOT NULL, first_receive_at REAL, dead_letter_source TEXT,
    PRIMARY KEY (queue, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_meta (queue TEXT PRIMARY KEY, last_sequence INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS queue_dedup (
    queue TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (queue, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS queue_dedup_age ON queue_dedup (queue, at);
CREATE TABLE IF NOT EXISTS log_records (
    log TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL, key TEXT,
    value TEXT NOT NULL, timestamp REAL NOT NULL, headers TEXT NOT NULL, message TEXT,
    PRIMARY KEY (log, partition, offset)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS log_bounds (
    log TEXT NOT NULL, partition INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    PRIMARY KEY (log, partition)
);
CREATE TABLE IF NOT EXISTS log_offsets (
    log TEXT NOT NULL, grp TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
    PRIMARY KEY (log, grp, partition)
);
"""

SYNCHRONOUS = {"OFF": 0, "NORMAL": 1, "FULL": 2, "EXTRA": 3}
SURVIVES = {"NORMAL": "process crash", "FULL": "power loss", "EXTRA": "power loss"}

# Journal operations: tuples led by one of these codes, applied in order by the writer.
ADD, RECEIVED, REMOVED, DEDUP, PURGED, APPEND, TRIM, OFFSET, DROP, CLEAR = range(10)
BARRIERS = frozenset({PURGED, DROP, CLEAR})
MAX_BATCH = 20000  # operations per transaction (a backlog commits in bounded steps)
RETRY_MAX = 1.0  # seconds between retries of a failing batch when nobody is waiting


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


class Journal:
    """The pending operations, the one thread that commits them, and who waits for what.

    Operations are numbered in the order they are appended (``appended``); the writer commits
    them in that order, so "everything up to n is durable" is ``committed >= n``. Only the
    event loop appends and only the writer pops (a deque is safe for that without a lock).
    """

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection
        self.ops: deque[tuple[Any, ...]] = deque()
        self.appended = 0
        self.committed = 0
        self.waiters: list[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self.writing = False
        self.wake = threading.Event()
        self.stopping = False
        self.abandoned = False
        self.closed = False  # the writer is gone: set before its last notify
        self.last_error: str | None = None
        self.commits = 0
        # Removals of records moved elsewhere (dead-lettered, redriven), held back until the
        # copy is journalled so both commit in one transaction: (trace id, hops) → removals.
        self.held: dict[tuple[str, tuple[str, ...]], list[tuple[int, str, int]]] = {}
        self._pruned: dict[str, float] = {}
        self.thread = threading.Thread(target=self._run, name="flowyard-sqlite", daemon=True)
        self.thread.start()

    # --- the event loop's side ------------------------------------------------------------------
    def append(self, op: tuple[Any, ...]) -> None:
        ops = self.ops
        ops.append(op)
        self.appended += 1
        if len(ops) == 1:
            self.wake.set()

    def hold(self, queue: str, record: QueueRecord) -> None:
        message = record.message
        self.held.setdefault((message.trace_id, message.hops), []).append(
            (REMOVED, queue, record.sequence)
        )

    def release_for(self, records: Sequence[QueueRecord]) -> None:
        """Records just added: journal the removals of the originals they were moved from."""
        held = self.held
        for record in records:
            message = record.message
            key = (message.trace_id, message.hops[:-1])
            waiting = held.get(key)
            if waiting:
                self.append(waiting.pop(0))
                if not waiting:
                    del held[key]

    def forget_held(self, names: set[str] | None) -> None:
        for key in list(self.held):
            kept = [op for op in self.held[key] if names is not None and op[1] not in names]
            if kept:
                self.held[key] = kept
            else:
                del self.held[key]

    @property
    def busy(self) -> bool:
        return bool(self.ops) or self.writing or bool(self.waiters)

    async def sync(self) -> None:
        target = self.appended
        if self.committed >= target:
            return
        if not self.thread.is_alive():
            raise StoreError("ServiceUnavailable", "The store is closed; nothing more is written.")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiter = (target, future, loop)
        self.waiters.append(waiter)
        self.wake.set()
        if self.committed >= target:  # committed while registering: the writer may not know
            future.set_result(None)
        elif self.closed:  # the writer left after we looked: its last notify missed us
            future.set_exception(
                StoreError("ServiceUnavailable", "The store is closed; nothing more is written.")
            )
        try:
            await future
        finally:
            if waiter in self.waiters:
                self.waiters.remove(waiter)

    def _settle(self, committed: int, failed_upto: int, error: str | None) -> None:
        """In the loop: wake the waiters whose operations are committed, fail those whose
        operations were in a failed batch (unless a retry has committed them since)."""
        committed = max(committed, self.committed)
        for waiter in list(self.waiters):
            target, future, _ = waiter
            if future.done():
                self.waiters.remove(waiter)
            elif target <= committed:
                future.set_result(None)
                self.waiters.remove(waiter)
            elif error is not None and target <= failed_upto:
                future.set_exception(
                    StoreError("ServiceUnavailable", f"The store could not commit: {error}")
                )
                self.waiters.remove(waiter)

    def _notify(self, committed: int, failed_upto: int, error: str | None) -> None:
        loops = {waiter[2] for waiter in list(self.waiters)}
        for loop in loops:
            # A closed loop has nobody waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._settle, committed, failed_upto, error)

    # --- the writer thread ----------------------------------------------------------------------
    def _run(self) -> None:
        retry: float | None = None
        while True:
            self.wake.wait(retry)
            self.wake.clear()
            if self.abandoned:
                break
            ops = self.ops
            if not ops:
                if self.stopping:
                    break
                continue
            batch = []
            while ops and len(batch) < MAX_BATCH:
                batch.append(ops.popleft())
            self.writing = True
            try:
                self._write(batch)
            except Exception as error:  # noqa: BLE001 - every failure is reported, then retried
                self._rollback()
                ops.extendleft(reversed(batch))
                self.last_error = f"{type(error).__name__}: {error}"
                self.writing = False
                self._notify(self.committed, self.committed + len(batch), self.last_error)
                if self.stopping or self.abandoned:
                    break
                retry = min(RETRY_MAX, (retry or 0.025) * 2)
                continue
            self.committed += len(batch)
            self.commits += 1
            self.last_error = None
            self.writing = False
            retry = None
            if self.waiters:
                self._notify(self.committed, 0, None)
            # A close that asked while this batch was written has its wake-up cleared by now:
            # look again rather than wait for one that never comes.
            if ops or self.stopping or self.abandoned:
                self.wake.set()
        self._close_connection()
        # Nobody may wait forever on a writer that is gone: a waiter that registers after
        # this notify sees ``closed`` and settles itself (sync).
        self.closed = True
        self._notify(self.committed, self.appended, "the store was closed")

    def _rollback(self) -> None:
        try:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
        except sqlite3.Error:
            pass

    def _close_connection(self) -> None:
        try:
            self._rollback()
            self.connection.close()
        except sqlite3.Error:
            pass

    def _commit(self) -> None:
        self.connection.execute("COMMIT")

    def _write(self, batch: list[tuple[Any, ...]]) -> None:
        execute = self.connection.execute
        execute("BEGIN IMMEDIATE")
        segment: list[tuple[Any, ...]] = []
        for op in batch:
            if op[0] in BARRIERS:
                self._apply(segment)
                segment = []
                self._barrier(op)
            else:
                segment.append(op)
        self._apply(segment)
        self._commit()

    def _barrier(self, op: tuple[Any, ...]) -> None:
        execute = self.connection.execute
        if op[0] == PURGED:
            execute("DELETE FROM queue_records WHERE queue = ?", (op[1],))
            execute("DELETE FROM queue_dedup WHERE queue = ?", (op[1],))
            return
        names: tuple[str, ...] | None = op[1] if op[0] == DROP else None
        tables = ("queue_records", "queue_dedup", "log_records", "log_bounds", "log_offsets")
        columns = ("queue", "queue", "log", "log", "log")
        for table, column in zip(tables, columns, strict=True):
            if names is None:
                execute(f"DELETE FROM {table}")
            else:
                self.connection.executemany(
                    f"DELETE FROM {table} WHERE {column} = ?", [(name,) for name in names]
                )

    def _apply(self, segment: list[tuple[Any, ...]]) -> None:
        """One stretch of operations without a purge or drop in it. A record added and removed
        in the same stretch is never written; its receives fold into its row."""
        if not segment:
            return
        added: dict[tuple[str, int], QueueRecord] = {}
        received: dict[tuple[str, int], QueueRecord] = {}
        removed: list[tuple[str, int]] = []
        dedup: list[tuple[str, str, float]] = []
        windows: dict[str, tuple[float, float]] = {}
        last_sequence: dict[str, int] = {}
        log_rows: list[tuple[Any, ...]] = []
        bounds: dict[tuple[str, int], tuple[int, int]] = {}
        trims: dict[tuple[str, int], int] = {}
        offsets: dict[tuple[str, str, int], int] = {}
        for op in segment:
            code = op[0]
            if code == ADD:
                queue = op[1]
                for record in op[2]:
                    added[(queue, record.sequence)] = record
                last = op[2][-1].sequence
                if last > last_sequence.get(queue, 0):
                    last_sequence[queue] = last
            elif code == RECEIVED:
                key = (op[1], op[2].sequence)
                if key not in added:
                    received[key] = op[2]
            elif code == REMOVED:
                key = (op[1], op[2])
                if added.pop(key, None) is None:
                    received.pop(key, None)
                    removed.append(key)
            elif code == DEDUP:
                dedup.append((op[1], op[2], op[3]))
                windows[op[1]] = (op[3], op[4])
            elif code == APPEND:
                log, partition = op[1], op[2]
                for record in op[3]:
                    log_rows.append(
                        (
                            log,
                            partition,
                            record.offset,
                            record.key,
                            _json(record.value),
                            record.timestamp,
                            _json([list(pair) for pair in record.headers]),
                            None if record.message is None else encode_message(record.message),
                        )
                    )
                bounds[(log, partition)] = (op[4], op[5])
            elif code == TRIM:
                bounds[(op[1], op[2])] = (op[3], op[4])
                trims[(op[1], op[2])] = op[3]
            elif code == OFFSET:
                offsets[(op[1], op[2], op[3])] = op[4]
        connection = self.connection
        if added:
            connection.executemany(
                "INSERT OR REPLACE INTO queue_records VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        queue,
                        sequence,
                        encode_message(r.message),
                        r.sent_at,
                        r.visible_at,
                        r.expires_at,
                        r.group,
                        r.dedup_id,
                        r.receive_count,
                        r.first_receive_at,
                        r.dead_letter_source,
                    )
                    for (queue, sequence), r in added.items()
                ],
            )
        if received:
            connection.executemany(
                "UPDATE queue_records SET receive_count = ?, first_receive_at = ? "
                "WHERE queue = ? AND seq = ?",
                [
                    (r.receive_count, r.first_receive_at, queue, sequence)
                    for (queue, sequence), r in received.items()
                ],
            )
        if removed:
            connection.executemany("DELETE FROM queue_records WHERE queue = ? AND seq = ?", removed)
        if last_sequence:
            connection.executemany(
                "INSERT INTO queue_meta VALUES (?, ?) ON CONFLICT (queue) DO UPDATE SET "
                "last_sequence = max(last_sequence, excluded.last_sequence)",
                list(last_sequence.items()),
            )
        if dedup:
            connection.executemany("INSERT OR REPLACE INTO queue_dedup VALUES (?,?,?)", dedup)
            now = time.monotonic()
            for queue, (at, window) in windows.items():
                if now - self._pruned.get(queue, 0.0) >= 1.0:
                    self._pruned[queue] = now
                    connection.execute(
                        "DELETE FROM queue_dedup WHERE queue = ? AND at <= ?", (queue, at - window)
                    )
        if log_rows:
            connection.executemany(
                "INSERT OR REPLACE INTO log_records VALUES (?,?,?,?,?,?,?,?)", log_rows
            )
        for (log, partition), start in trims.items():
            connection.execute(
                "DELETE FROM log_records WHERE log = ? AND partition = ? AND offset < ?",
                (log, partition, start),
            )
        if bounds:
            connection.executemany(
                'INSERT OR REPLACE INTO log_bounds (log, partition, start, "end") VALUES (?,?,?,?)',
                [(log, partition, start, end) for (log, partition), (start, end) in bounds.items()],
            )
        if offsets:
            connection.executemany(
                "INSERT OR REPLACE INTO log_offsets VALUES (?,?,?,?)",
                [(*key, offset) for key, offset in offsets.items()],
            )


class QueueJournal:
    """The hook a journalled ``MemoryQueue`` reports its changes to."""

    __slots__ = ("journal", "queue", "window")

    def __init__(self, journal: Journal, queue: str, window: float) -> None:
        self.journal = journal
        self.queue = queue
        self.window = window

    def added(self, records: Sequence[QueueRecord]) -> None:
        journal = self.journal
        journal.append((ADD, self.queue, records))
        if journal.held:
            journal.release_for(records)

    def removed(self, record: QueueRecord, *, moved: bool = False) -> None:
        if moved:
            self.journal.hold(self.queue, record)
        else:
            self.journal.append((REMOVED, self.queue, record.sequence))

    def received(self, record: QueueRecord) -> None:
        self.journal.append((RECEIVED, self.queue, record))

    def deduplicated(self, key: Any, at: float) -> None:
        self.journal.append((DEDUP, self.queue, _json(key), at, self.window))

    def cleared(self) -> None:
        self.journal.forget_held({self.queue})
        self.journal.append((PURGED, self.queue))


class SqliteStore(MemoryStore):
    """``MemoryStore`` semantics whose every change is journalled to a SQLite file (WAL).

    ``synchronous``: ``"NORMAL"`` (survives a killed process) or ``"FULL"``/``"EXTRA"``
    (survives a power loss too). ``busy_timeout``: seconds a write waits for another
    connection's lock before failing with "database is locked".
    """

    name = "sqlite"
    durable = True

    def __init__(
        self, path: str | Path, *, synchronous: str = "NORMAL", busy_timeout: float = 5.0
    ) -> None:
        super().__init__()
        level = synchronous.upper()
        if level not in SURVIVES:
            raise ValueError(
                f"synchronous must be one of {', '.join(SURVIVES)} for a durable store, "
                f"not {synchronous!r}"
            )
        self.path = Path(path)
        self.synchronous = level
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
        try:
            self._configure(connection, level)
            connection.executescript(SCHEMA)
            self._load(connection)
        except Exception:
            connection.close()
            raise
        self._session = secrets.token_hex(4)
        self._unplaced: set[str] = set()
        self._journal = Journal(connection)
        self.recovered = {name: len(rows) for name, rows in self._stored.items()}

    # --- opening --------------------------------------------------------------------------------
    def _configure(self, connection: sqlite3.Connection, level: str) -> None:
        """WAL and the synchronous level, verified rather than assumed (R19)."""
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        connection.execute(f"PRAGMA synchronous={level}")
        actual = connection.execute("PRAGMA synchronous").fetchone()[0]
        if str(mode).lower() != "wal" or actual != SYNCHRONOUS[level]:
            raise StoreError(
                "ServiceUnavailable",
                f"{self.path}: journal_mode={mode}, synchronous={actual}; expected wal and {level}",
            )
        self.journal_mode = str(mode).lower()

    def _load(self, connection: sqlite3.Connection) -> None:
        self._stored: dict[str, list[tuple[Any, ...]]] = {}
        for row in connection.execute(
            "SELECT queue, seq, message, sent_at, visible_at, expires_at, grp, dedup_id, "
            "receive_count, first_receive_at, dead_letter_source FROM queue_records "
            "ORDER BY queue, seq"
        ):
            self._stored.setdefault(row[0], []).append(row[1:])
        self._last_sequence: dict[str, int] = dict(
            connection.execute("SELECT queue, last_sequence FROM queue_meta").fetchall()
        )
        self._dedup: dict[str, list[tuple[str, float]]] = {}
        for queue, key, at in connection.execute("SELECT queue, key, at FROM queue_dedup"):
            self._dedup.setdefault(queue, []).append((key, at))
        for log, partition, start, end in connection.execute(
            'SELECT log, partition, start, "end" FROM log_bounds'
        ):
            target = self.logs[(log, partition)] = MemoryLog()
            target.start, target.end = start, end
        for row in connection.execute(
            "SELECT log, partition, offset, key, value, timestamp, headers, message "
            "FROM log_records ORDER BY log, partition, offset"
        ):
            log, partition, offset, key, value, timestamp, headers, message = row
            target = self.logs.get((log, partition))
            if target is None or offset < target.start:
                continue
            target.records.append(
                LogRecord(
                    offset,
                    key,
                    json.loads(value),
                    timestamp,
                    tuple(tuple(pair) for pair in json.loads(headers)),
                    None if message is None else decode_message(message),
                )
            )
        for log, group, partition, offset in connection.execute(
            "SELECT log, grp, partition, offset FROM log_offsets"
        ):
            self.offsets[(log, group, partition)] = offset

    def _restore(self, queue: MemoryQueue) -> None:
        """Put a declared queue's stored rows back: each waits on the delayed heap until its
        visible_at, so in-flight ones are visible at once (receive counts kept), delayed ones
        stay delayed, and the first advance() drops the expired."""
        rows = self._stored.pop(queue.name, [])
        last = max(self._last_sequence.pop(queue.name, 0), rows[-1][0] if rows else 0)
        queue._sequence = itertools.count(last + 1)
        for row in rows:
            sequence, message, sent, visible, expires, group, dedup_id, count, first, dls = row
            record = QueueRecord(
                decode_message(message),
                sent,
                visible,
                expires,
                sequence,
                group,
                dedup_id,
                count,
                first,
                dead_letter_source=dls,
            )
            queue.delayed.append((visible, sequence, record))
        queue.delayed.sort(key=lambda entry: (entry[0], entry[1]))  # a sorted list is a heap
        for key, at in self._dedup.pop(queue.name, []):
            found = json.loads(key)
            queue.dedup[tuple(found) if isinstance(found, list) else found] = at

    # --- what the store promises ----------------------------------------------------------------
    @property
    def durability(self) -> dict[str, Any]:
        return {
            "store": self.name,
            "path": str(self.path),
            "journal_mode": self.journal_mode,
            "synchronous": self.synchronous,
            "survives": SURVIVES[self.synchronous],
        }

    @property
    def busy(self) -> bool:
        """A store call in flight, for Engine.settle(): here, a journal not yet committed."""
        return self._journal.busy

    async def sync(self) -> None:
        await self._journal.sync()

    # --- queues ---------------------------------------------------------------------------------
    async def queue_declare(self, queue: str, options: QueueOptions) -> None:
        existing = self.queues.get(queue)
        if existing is not None:
            existing.options = options
            existing.journal.window = options.dedup_window  # type: ignore[union-attr]
            return
        made = MemoryQueue(queue, options)
        # Receipt handles from before a restart must not match one handed out after it.
        made._receipt_prefix = f"{queue}:{self._session}:"
        self._restore(made)
        made.journal = QueueJournal(self._journal, queue, options.dedup_window)
        self.queues[queue] = made
        if made.delayed:
            self._unplaced.add(queue)

    def _placed(self, queue: str, now: float) -> MemoryQueue:
        """The queue, its restored records placed before anything new is sent after them (a
        FIFO group's old messages come first)."""
        found = self._queue(queue)
        if queue in self._unplaced:
            self._unplaced.discard(queue)
            found.advance(now)
        return found

    def queue_send_now(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        return self._placed(queue, now).send(messages, now, delays)

    def queue_store_now(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None = None,
    ) -> int:
        if self._unplaced:
            self._placed(queue, now)
        return self._queue(queue).store(messages, now, delays)

    async def queue_send(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        *,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        outcomes = self._placed(queue, now).send(messages, now, delays)
        await self.sync()
        return outcomes

    async def queue_receive(
        self,
        queue: str,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
    ) -> ReceiveResult:
        result = self._queue(queue).receive(now, max_messages, visibility_timeout)
        # Receive counts are durable before the messages are handed out (maxReceiveCount holds
        # across a crash). Dead-lettered records go straight to the caller, who stores them in
        # the DLQ: no wait in between, so their removal commits with the copy.
        if not result.dead_lettered:
            await self.sync()
        return result

    async def queue_delete(self, queue: str, receipts: Sequence[str], now: float) -> int:
        deleted = self._queue(queue).delete(receipts, now)
        await self.sync()
        return deleted

    async def queue_purge(self, queue: str) -> int:
        purged = self._queue(queue).purge()
        await self.sync()
        return purged

    # --- logs -----------------------------------------------------------------------------------
    async def log_append(self, log: str, partition: int, records: Sequence[LogRecord]) -> list[int]:
        stored = self._append(log, partition, records)
        if stored:
            target = self.logs[(log, partition)]
            self._journal.append((APPEND, log, partition, stored, target.start, target.end))
            await self.sync()
        return [record.offset for record in stored]

    async def log_trim(self, log: str, partition: int, before: float) -> int:
        dropped = await super().log_trim(log, partition, before)
        if dropped:
            target = self.logs[(log, partition)]
            self._journal.append((TRIM, log, partition, target.start, target.end))
        return dropped

    async def offset_commit(self, log: str, group: str, partition: int, offset: int) -> None:
        await super().offset_commit(log, group, partition, offset)
        self._journal.append((OFFSET, log, group, partition, offset))
        await self.sync()

    # --- the whole namespace --------------------------------------------------------------------
    async def inventory(self, now: float) -> dict[str, dict[str, int]]:
        found = await super().inventory(now)
        for name, rows in self._stored.items():
            if held := sum(1 for row in rows if row[4] > now):
                found["queues"][name] = held
        return found

    async def drop(self, names: Sequence[str]) -> int:
        wanted = set(names)
        dropped = self._drop(wanted)
        for name in wanted:
            dropped += len(self._stored.pop(name, []))
            self._dedup.pop(name, None)
            self._last_sequence.pop(name, None)
        self._journal.forget_held(wanted)
        self._journal.append((DROP, tuple(sorted(wanted))))
        await self.sync()
        return dropped

    async def clear(self) -> int:
        dropped = self._drop(None)
        dropped += sum(len(rows) for rows in self._stored.values())
        self._stored.clear()
        self._dedup.clear()
        self._last_sequence.clear()
        self._journal.forget_held(None)
        self._journal.append((CLEAR,))
        await self.sync()
        return dropped

    # --- closing --------------------------------------------------------------------------------
    async def close(self) -> None:
        """Commit what is pending and stop the writer. Records handed out to be moved whose
        copy was never stored (a redrive cut off by the stop) stay where they were."""
        journal = self._journal
        if not journal.thread.is_alive():
            return
        # A failing disk: the senders were told, and what never committed is not claimed.
        with contextlib.suppress(StoreError):
            await journal.sync()
        journal.stopping = True
        journal.wake.set()
        try:
            await asyncio.to_thread(journal.thread.join)
        except RuntimeError:
            # At interpreter exit the default executor takes no more work; everything was
            # synced above, so the writer has at most its last empty round left.
            journal.thread.join(5)

    def abandon(self) -> None:
        """Stop as a killed process would: nothing pending is written (crash tests)."""
        journal = self._journal
        journal.abandoned = True
        journal.wake.set()
        journal.thread.join()
