"""SqliteStore on its own: a real SIGKILL (R1 at the store), failing commits (R17), the
fsync policy it verifies and reports (R19), group commit, and the engine on top of it."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runtime.events import Message, MessageRefused
from runtime.store import QueueOptions, SqliteStore, StoreError
from tests.runtime.engine_helpers import engine_for, node

ROOT = Path(__file__).resolve().parents[3]


def message(body: object) -> Message:
    return Message.new(body, now=0.0)


async def bodies_in(path: Path, queue: str = "q") -> list[object]:
    store = SqliteStore(path)
    try:
        await store.queue_declare(queue, QueueOptions())
        return [record.message.body for record in await store.queue_peek(queue, 100.0, 10_000)]
    finally:
        await store.close()


# --- R19: the fsync policy is checked at open and reported ------------------------------------
@pytest.mark.parametrize(
    ("level", "code", "survives"),
    [("NORMAL", 1, "process crash"), ("FULL", 2, "power loss"), ("extra", 3, "power loss")],
)
async def test_r19_wal_and_the_synchronous_level_are_verified_and_reported(
    tmp_path: Path, level: str, code: int, survives: str
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3", synchronous=level)
    assert store.durability == {
        "store": "sqlite",
        "path": str(tmp_path / "s.sqlite3"),
        "journal_mode": "wal",
        "synchronous": level.upper(),
        "survives": survives,
    }
    assert store.durable and store.name == "sqlite"
    (actual,) = store._journal.connection.execute("PRAGMA synchronous").fetchone()
    assert actual == code
    await store.close()
    with sqlite3.connect(tmp_path / "s.sqlite3") as other:
        assert other.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_r19_a_level_that_is_not_durable_or_a_file_without_wal_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="synchronous must be one of"):
        SqliteStore(tmp_path / "s.sqlite3", synchronous="OFF")
    with pytest.raises(StoreError, match="expected wal") as error:
        SqliteStore(":memory:")  # an in-memory database cannot be in WAL mode
    assert error.value.code == "ServiceUnavailable"


# --- group commit and busy ------------------------------------------------------------------------
async def test_concurrent_sends_share_commits(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", QueueOptions())
    before = store._journal.commits
    await asyncio.gather(*(store.queue_send("q", [message(i)], 0.0) for i in range(200)))
    assert store._journal.commits - before < 20  # 200 acknowledged sends, a few commits
    await store.close()
    assert len(await bodies_in(tmp_path / "s.sqlite3")) == 200


async def test_a_journal_waiting_to_commit_is_busy(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", QueueOptions())
    store.queue_store_now("q", [message("x")], 0.0)
    assert store.busy
    await store.sync()
    for _ in range(100):  # the writer may still be leaving its last batch
        if not store.busy:
            break
        await asyncio.sleep(0.001)
    assert not store.busy
    await store.close()


async def test_a_message_consumed_within_one_batch_is_never_written(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    await store.queue_declare("q", QueueOptions())
    store.queue_store_now("q", [message("x")], 0.0)
    result = store.queue_take_now("q", 0.0, 10)
    store.queue_ack_now("q", result.taken, result.counts, 0.0)
    await store.sync()
    (rows,) = store._journal.connection.execute("SELECT count(*) FROM queue_records").fetchone()
    assert rows == 0
    await store.close()


# --- R17: a failing disk refuses the send, never acknowledges then loses -----------------------
def fail_commits(store: SqliteStore, monkeypatch: pytest.MonkeyPatch, reason: str) -> list[bool]:
    """Make every commit of the store's writer fail with ``reason`` while the list is set."""
    failing = [True]
    commit = store._journal._commit

    def faulty() -> None:
        if failing:
            raise sqlite3.OperationalError(reason)
        commit()

    monkeypatch.setattr(store._journal, "_commit", faulty)
    return failing


@pytest.mark.parametrize("reason", ["database or disk is full", "database is locked"])
async def test_r17_a_failed_commit_refuses_the_send_and_the_store_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reason: str
) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message("before")], 0.0)
    failing = fail_commits(store, monkeypatch, reason)
    for attempt in range(3):
        with pytest.raises(StoreError) as error:
            await store.queue_send("q", [message(f"during-{attempt}")], 1.0)
        assert error.value.code == "ServiceUnavailable" and reason in error.value.message
    assert store.busy  # the refused batch waits to be retried
    failing.clear()
    await store.queue_send("q", [message("after")], 2.0)  # commits what was pending too
    store.abandon()
    held = await bodies_in(path)
    assert "before" in held and "after" in held  # acknowledged: never lost
    # Refused sends are reported failed; the store may still hold them (at-least-once).
    assert set(held) <= {"before", "after", "during-0", "during-1", "during-2"}


async def test_r17_a_real_lock_held_by_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path, busy_timeout=0.05)
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message("before")], 0.0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    with pytest.raises(StoreError, match="database is locked"):
        await store.queue_send("q", [message("during")], 1.0)
    other.execute("ROLLBACK")
    other.close()
    await store.queue_send("q", [message("after")], 2.0)
    await store.close()
    assert await bodies_in(path) == ["before", "during", "after"]


async def test_r17_a_really_full_database(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    await store.queue_declare("q", QueueOptions())
    await store.queue_send("q", [message("before")], 0.0)
    connection = store._journal.connection  # the writer is idle after the send returned
    (pages,) = connection.execute("PRAGMA page_count").fetchone()
    connection.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="full"):
        await store.queue_send("q", [message("x" * 20_000)], 1.0)
    connection.execute("PRAGMA max_page_count = 1073741823")
    await store.queue_send("q", [message("after")], 2.0)
    await store.close()
    assert await bodies_in(path) == ["before", "x" * 20_000, "after"]


async def test_r17_the_queue_node_refuses_what_its_store_could_not_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "s.sqlite3")
    engine, _, observer = engine_for([node("q", "queue")], store=store)
    await engine.start()
    failing = fail_commits(store, monkeypatch, "database or disk is full")
    await engine.send("q", "refused")
    refused = observer.of(MessageRefused)
    assert [event.error_code for event in refused] == ["ServiceUnavailable"]
    assert engine.snapshot()["nodes"]["q"]["refused"] == 1
    failing.clear()
    await engine.send("q", "accepted")
    assert engine.snapshot()["nodes"]["q"]["in"] == 1
    await engine.stop()
    await store.close()


# --- R1 at the store: SIGKILL a real process at random points -------------------------------------
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_r1_sigkill_loses_no_acknowledged_message(tmp_path: Path, seed: int) -> None:
    total = 2000
    path = tmp_path / "s.sqlite3"
    rng = random.Random(seed)
    kill_after = rng.randint(5, 400)  # lines: sending, consuming and dead-lettering interleave
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.runtime.store.crash_sender",
            str(path),
            str(total),
            str(seed),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while len(lines) < kill_after and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("done"):
                break
    finally:
        os.kill(child.pid, signal.SIGKILL)
        lines += child.stdout.read().splitlines(keepends=True)  # written before the kill
        child.wait()
    assert child.returncode == -signal.SIGKILL, f"seed {seed}: the sender ended by itself"
    said: dict[str, set[str]] = {
        "sent": set(),
        "deleting": set(),
        "deleted": set(),
        "dead-lettered": set(),
    }
    for line in lines:
        what, *identifiers = line.split()
        said.setdefault(what, set()).update(identifiers)

    async def contents() -> tuple[list[str], list[str]]:
        store = SqliteStore(path)
        await store.queue_declare("q", QueueOptions())
        await store.queue_declare("dlq", QueueOptions())
        now = time.time()
        source = [r.message.id for r in await store.queue_take_all("q", now)]
        dlq = [r.message.id for r in await store.queue_take_all("dlq", now)]
        store.abandon()  # leave the file as the kill left it
        return source, dlq

    source, dlq = asyncio.run(contents())
    universe = {f"m{n}" for n in range(total)}
    held = set(source) | set(dlq)
    acked = said["sent"]
    # Jepsen's total-queue: an acknowledged message is lost unless the store still holds it
    # or a consumer was deleting it (a delete cut off by the kill may or may not have landed).
    lost = acked - held - said["deleting"]
    context = f"seed {seed}, killed after {len(lines)} lines, {len(acked)} acknowledged"
    assert not lost, f"{context}: lost {sorted(lost)[:10]}"
    assert held <= universe, f"{context}: unexpected {sorted(held - universe)[:10]}"
    assert len(source) == len(set(source)) and len(dlq) == len(set(dlq)), context
    assert not set(source) & set(dlq), f"{context}: in both the queue and the DLQ"
    assert not said["deleted"] & held, f"{context}: a confirmed delete came back"
    assert said["dead-lettered"] <= set(dlq), f"{context}: a dead-lettered message went missing"
    assert acked, f"{context}: nothing was acknowledged before the kill"


# --- moves: a removal commits with the copy, never before it -------------------------------------
async def test_a_redrive_cut_off_before_the_copies_were_stored_leaves_them_in_the_dlq(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    for name in ("q", "dlq"):
        await store.queue_declare(name, QueueOptions())
    await store.queue_send("dlq", [message(i) for i in range(3)], 0.0)
    taken = await store.queue_take_all("dlq", 1.0)
    await store.queue_send("q", [taken[0].message.derive("q")], 1.0)  # one copy stored
    await store.sync()
    store.abandon()  # killed before the other two were stored in q
    assert await bodies_in(path, "dlq") == [1, 2]
    assert await bodies_in(path, "q") == [0]


async def test_records_taken_to_be_moved_but_never_stored_elsewhere_stay(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = SqliteStore(path)
    await store.queue_declare("dlq", QueueOptions())
    await store.queue_send("dlq", [message("x")], 0.0)
    assert len(await store.queue_take_all("dlq", 1.0)) == 1
    await store.close()  # a redrive cut off by a stop: at-least-once keeps the original
    assert await bodies_in(path, "dlq") == ["x"]
