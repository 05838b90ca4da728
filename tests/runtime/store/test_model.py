"""R18: a Hypothesis state machine of send / receive / delete / change visibility / tick /
crash-restart against a tiny reference model of an SQS queue with a DLQ.

Invariants, checked after every step: what the model says was acknowledged and not deleted is
exactly what the store holds (acknowledged-never-lost, nothing unexpected), receive counts go
up by one per delivery, a message moves to the DLQ exactly after maxReceiveCount deliveries,
and a FIFO queue hands out each group in order with one batch in flight per group.

On SQLite a crash-restart abandons the store without flushing and reopens the file: in-flight
messages become visible with their counts, receipt handles from before are invalid. On Redis
it drops the client and connects again: nothing changes, which is what it must show.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import itertools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from runtime.events import Message
from runtime.store import QueueOptions, SqliteStore, Store, StoreError
from tests.runtime.store.stores import Namespace

VISIBILITY = 10.0
LIMIT = 3  # maxReceiveCount
WINDOW = 300.0  # FIFO deduplication window


@functools.cache
def empty_sqlite_file() -> Path:
    folder = tempfile.mkdtemp(prefix="flowyard-r18-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = Path(folder) / "empty.sqlite3"

    async def make() -> None:
        await SqliteStore(path).close()

    asyncio.run(make())
    return path


@dataclass
class Model:
    """One message as the reference model sees it."""

    id: str
    group: str | None
    order: int
    count: int = 0
    deadline: float | None = None  # end of the visibility window while in flight
    receipt: str | None = None
    old_receipts: list[str] = field(default_factory=list)


class QueueMachine(RuleBasedStateMachine):
    kind = "sqlite"

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.directory = Path(tempfile.mkdtemp(prefix="flowyard-r18-"))
        self.namespace = Namespace(self.kind, self.directory)
        if self.kind == "sqlite":
            # A copy of an empty store's file: creating one costs a few fsyncs on this disk.
            shutil.copy(empty_sqlite_file(), self.namespace.path)
        self.store: Store | None = None
        self.now = 1000.0
        self.numbers = itertools.count()
        self.source: dict[str, Model] = {}
        self.dlq: set[str] = set()
        self.dedup: dict[str, float] = {}
        self.stale: list[str] = []  # receipts from before a SQLite restart

    def run(self, call: Any) -> Any:
        return self.loop.run_until_complete(call)

    # --- life -----------------------------------------------------------------------------------
    @initialize(fifo=st.booleans())
    def open(self, fifo: bool) -> None:
        self.fifo = fifo
        self.options = QueueOptions(
            fifo=fifo, visibility_timeout=VISIBILITY, max_receive_count=LIMIT
        )
        self.dlq_options = QueueOptions(fifo=fifo)
        self._connect()

    def _connect(self) -> None:
        self.store = self.namespace.open()
        self.run(self.store.queue_declare("q", self.options))
        self.run(self.store.queue_declare("dlq", self.dlq_options))

    def teardown(self) -> None:
        try:
            self.run(self.namespace.cleanup())
        finally:
            self.loop.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    @rule()
    def crash_restart(self) -> None:
        assert self.store is not None
        self.run(self.namespace.crash(self.store))
        self._connect()
        if self.kind == "sqlite":
            for model in self.source.values():
                model.deadline = None
                if model.receipt is not None:
                    self.stale.append(model.receipt)
                self.stale.extend(model.old_receipts)
                model.receipt, model.old_receipts = None, []

    # --- the model's view -----------------------------------------------------------------------
    def in_flight(self, model: Model) -> bool:
        return model.deadline is not None and model.deadline > self.now

    def available(self) -> list[Model]:
        """Receivable now, in the order a FIFO queue must respect."""
        locked = {m.group for m in self.source.values() if self.fifo and self.in_flight(m)}
        return sorted(
            (
                m
                for m in self.source.values()
                if not self.in_flight(m) and (m.group is None or m.group not in locked)
            ),
            key=lambda m: m.order,
        )

    # --- rules ----------------------------------------------------------------------------------
    @rule(count=st.integers(1, 3), group=st.sampled_from("AB"), dedup=st.integers(0, 5))
    def send(self, count: int, group: str, dedup: int) -> None:
        assert self.store is not None
        messages, models = [], []
        for offset in range(count):
            identifier = f"m{next(self.numbers)}"
            system = None
            if self.fifo:
                system = {
                    "MessageGroupId": group,
                    "MessageDeduplicationId": f"d{dedup + offset}",
                }
            messages.append(
                Message.new(identifier, now=self.now, system=system, message_id=identifier)
            )
            models.append(Model(identifier, group if self.fifo else None, 0))
        outcomes = self.run(self.store.queue_send("q", messages, self.now))
        for message, model, outcome in zip(messages, models, outcomes, strict=True):
            expected = False
            if self.fifo:
                key = message.system["MessageDeduplicationId"]
                first = self.dedup.get(key)
                expected = first is not None and self.now - first < WINDOW
                if not expected:
                    self.dedup[key] = self.now
            assert outcome.duplicate == expected, (model.id, outcome)
            if not expected:
                model.order = outcome.sequence
                self.source[model.id] = model  # acknowledged: must never be lost

    @rule(wanted=st.integers(1, 10))
    def receive(self, wanted: int) -> None:
        assert self.store is not None
        before = self.available()
        locked = {m.group for m in self.source.values() if self.fifo and self.in_flight(m)}
        result = self.run(self.store.queue_receive("q", self.now, max_messages=wanted))
        assert len(result.messages) <= wanted
        if before:
            assert result.messages or result.dead_lettered, "a receivable message was not received"
        else:
            assert not result.messages and not result.dead_lettered
        letters = []
        for record in result.dead_lettered:
            model = self.source.pop(record.message.id)
            assert model.count == LIMIT == record.receive_count, "dead-lettered at the wrong count"
            assert not self.in_flight(model)
            letters.append(model)
        for item in result.messages:
            model = self.source[item.message.id]
            assert not self.in_flight(model), f"{model.id} handed out while in flight"
            assert model.count < LIMIT, f"{model.id} delivered past maxReceiveCount"
            assert item.receive_count == model.count + 1, "receive counts go up one at a time"
            model.count += 1
            model.deadline = self.now + VISIBILITY
            if model.receipt is not None:
                model.old_receipts.append(model.receipt)
            model.receipt = item.receipt
        if self.fifo:
            handed = [item.message.id for item in result.messages]
            for group in {item.group for item in result.messages}:
                assert group not in locked, f"group {group} handed out with a batch in flight"
                mine = [i for i in handed if self.source[i].group == group]
                gone = {m.id for m in letters}
                head = [m.id for m in before if m.group == group and m.id not in gone]
                assert mine == head[: len(mine)], f"group {group} out of order: {mine} {head}"
        if letters:
            moved = []
            for record in result.dead_lettered:
                system = {"ApproximateReceiveCount": record.receive_count}
                if self.fifo:
                    system["MessageGroupId"] = record.group
                    system["MessageDeduplicationId"] = record.message.id
                moved.append(record.message.derive("dlq", system=system))
            self.run(self.store.queue_send("dlq", moved, self.now))
            self.dlq.update(m.id for m in letters)

    def _held_receipt(self, data: st.DataObject, *, current: bool) -> tuple[Model, str] | None:
        pool = [
            (model, receipt)
            for model in self.source.values()
            for receipt in ([model.receipt] if current else model.old_receipts)
            if receipt is not None
        ]
        return data.draw(st.sampled_from(pool)) if pool else None

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        assert self.store is not None
        picked = self._held_receipt(data, current=True)
        if picked is None:
            return
        model, receipt = picked
        if self.fifo and not self.in_flight(model):
            with pytest.raises(StoreError, match="receipt handle has expired"):
                self.run(self.store.queue_delete("q", [receipt], self.now))
            return
        # Standard queues delete with the latest handle even once its visibility ended.
        assert self.run(self.store.queue_delete("q", [receipt], self.now)) == 1
        del self.source[model.id]

    @rule(data=st.data())
    def delete_with_a_superseded_receipt(self, data: st.DataObject) -> None:
        assert self.store is not None
        picked = self._held_receipt(data, current=False)
        if picked is None:
            return
        model, receipt = picked
        assert self.run(self.store.queue_delete("q", [receipt], self.now)) == 0
        assert model.id in self.source

    @precondition(lambda self: bool(self.stale))
    @rule(data=st.data())
    def use_a_receipt_from_before_the_restart(self, data: st.DataObject) -> None:
        assert self.store is not None
        receipt = data.draw(st.sampled_from(self.stale))
        with pytest.raises(StoreError) as error:
            self.run(self.store.queue_delete("q", [receipt], self.now))
        assert error.value.code == "ReceiptHandleIsInvalid"

    @rule(data=st.data(), timeout=st.sampled_from([0, 5, 20]))
    def change_visibility(self, data: st.DataObject, timeout: int) -> None:
        assert self.store is not None
        picked = self._held_receipt(data, current=True)
        if picked is None:
            return
        model, receipt = picked
        self.run(self.store.queue_change_visibility("q", receipt, timeout, self.now))
        if self.in_flight(model):
            model.deadline = self.now + timeout

    @rule(seconds=st.sampled_from([1, 5, 10, 11]))
    def tick(self, seconds: int) -> None:
        self.now += seconds

    @rule()
    def tick_past_the_dedup_window(self) -> None:
        self.now += WINDOW + 1

    # --- invariants -----------------------------------------------------------------------------
    @invariant()
    def holds_exactly_what_was_acknowledged(self) -> None:
        if self.store is None:
            return
        expected = {
            name: size for name, size in (("q", len(self.source)), ("dlq", len(self.dlq))) if size
        }
        assert self.run(self.store.inventory(self.now)) == {"queues": expected, "logs": {}}
        visible = {m.id for m in self.source.values() if not self.in_flight(m)}
        peeked = self.run(self.store.queue_peek("q", self.now, 1000))
        assert {record.message.id for record in peeked} == visible
        in_dlq = self.run(self.store.queue_peek("dlq", self.now, 1000))
        assert {record.message.id for record in in_dlq} == self.dlq


class RedisQueueMachine(QueueMachine):
    kind = "redis"


# >= 500 examples per CI run on SQLite (R18); Redis, one network round trip per call, fewer.
TestSqliteQueueModel = QueueMachine.TestCase
TestSqliteQueueModel.settings = settings(
    max_examples=500,
    stateful_step_count=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRedisQueueModel = RedisQueueMachine.TestCase
TestRedisQueueModel.settings = settings(TestSqliteQueueModel.settings, max_examples=150)
