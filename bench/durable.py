"""Durable runs: the engine chain on each store, and recovery after SIGKILL with a full store.

Run: ``.venv/bin/python bench/durable.py [--messages 100000] [--repeat 3] [--stored 100000]``.
Prints, with the load average, the Python version and each store's settings:

* the chain of bench/engine.py (producer → bus → rule → queue → function → log, with its
  ticking observer) on ``MemoryStore``, ``SqliteStore`` (synchronous NORMAL, and FULL as an
  extra line) and ``RedisStore`` (one process), interleaved round by round; the median msg/s
  of each and its ratio to memory (targets: SQLite ≥ 0.3, Redis ≥ 0.2);
* recovery: a child process stores ``--stored`` messages over three queues (1,000 of them
  received, so in flight) and stream records on two shards, waits for its commits and is
  SIGKILLed; fresh processes then open the store, declare the queues and receive (the store
  alone, then a whole ``Engine`` built and started on it), with the counts checked each time.
  Target: < 10 s to running. On Redis the data stays in the server: recovery is reconnecting;
* runtime workers (1 vs 2 on Redis): not measured, they are not built yet.

Redis (``--redis``, default redis://127.0.0.1:6379/0) gets a unique key prefix per run, cleared
afterwards; ``--no-redis`` leaves it out. SQLite files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench.engine as chain  # noqa: E402
from runtime.engine import HEADLESS_GC_THRESHOLD, Engine  # noqa: E402
from runtime.events import Message  # noqa: E402
from runtime.spec import load  # noqa: E402
from runtime.store import LogRecord, MemoryStore, QueueOptions, SqliteStore, Store  # noqa: E402
from runtime.store.sqlite import MAX_BATCH  # noqa: E402

REDIS_URL = "redis://127.0.0.1:6379/0"
QUEUES = ("q0", "q1", "q2")
STREAM, SHARDS = "stream", 2
IN_FLIGHT = 1000  # received from q0 before the kill: recovery makes them visible again
TARGETS = {"sqlite": 0.3, "redis": 0.2}
RECOVERY_TARGET = 10.0
TIMED = ("open", "declare", "receive", "ready", "count", "process")  # seconds, per recovery

Rate = tuple[float, float]  # (messages per wall-clock second, per CPU second)


# --- stores -------------------------------------------------------------------------------------
def open_store(kind: str, where: str, redis_url: str = REDIS_URL) -> Store:
    """``where`` is the SQLite file, or the Redis key prefix."""
    if kind == "memory":
        return MemoryStore()
    if kind.startswith("sqlite"):
        return SqliteStore(where, synchronous="FULL" if kind == "sqlite-full" else "NORMAL")
    from runtime.store.redis import RedisStore

    return RedisStore.from_url(redis_url, prefix=where)


async def clear_redis(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (what a crashed child or a chain run left)."""
    from redis import asyncio as redis_asyncio

    client = redis_asyncio.from_url(url)
    deleted = 0
    try:
        async for key in client.scan_iter(match=f"{prefix}*", count=1000):
            deleted += await client.delete(key)
    finally:
        await client.aclose()
    return deleted


async def redis_settings(url: str) -> str:
    from redis import asyncio as redis_asyncio

    client = redis_asyncio.from_url(url)
    try:
        info = await client.info("server")
        persistence = await client.info("persistence")
        fsync = (await client.config_get("appendfsync")).get("appendfsync", "?")
        save = (await client.config_get("save")).get("save", "?")
    finally:
        await client.aclose()
    aof = "on" if persistence.get("aof_enabled") else "off"
    return (
        f"Redis {info.get('redis_version')} at {url}: appendonly {aof} (appendfsync {fsync}), "
        f"save '{save}'; RedisStore: one Lua call per batch, no local journal"
    )


# --- 1. chain throughput ------------------------------------------------------------------------
class StoppingEngine(Engine):
    """An Engine whose stop() cancels its tasks again until they end, and counts the extra
    cancels: on Python 3.11 redis-py's ``asyncio.wait_for`` around a socket write can swallow
    a task's cancellation (CPython gh-86296), and a plain stop() then waits forever."""

    recancels = 0

    async def stop(self, reason: str = "") -> None:
        async def again() -> None:
            while True:
                await asyncio.sleep(0.1)
                for task in self._tasks:
                    if not task.done():
                        StoppingEngine.recancels += 1
                        task.cancel()

        async with asyncio.TaskGroup() as group:
            watchdog = group.create_task(again())
            await super().stop(reason)
            watchdog.cancel()


@contextmanager
def chain_on(store: Store) -> Iterator[None]:
    """bench/engine.py's own run_engine, with its Engine given ``store``."""
    with mock.patch.object(chain, "Engine", functools.partial(StoppingEngine, store=store)):
        yield


async def chain_run(kind: str, messages: int, folder: Path, redis_url: str) -> dict[str, Any]:
    where = str(folder / f"chain-{uuid.uuid4().hex[:8]}.sqlite3")
    if kind == "redis":
        where = f"flowyard-bench:{uuid.uuid4().hex[:12]}:"
    store = open_store(kind, where, redis_url)
    try:
        before = StoppingEngine.recancels
        with chain_on(store):
            wall, cpu = await chain.run_engine(messages, 1, HEADLESS_GC_THRESHOLD)
        recancels = StoppingEngine.recancels - before
        closing = time.perf_counter()
        commits = getattr(getattr(store, "_journal", None), "commits", None)
        await store.close()
        closed = time.perf_counter() - closing
    finally:
        if kind == "redis":
            await clear_redis(redis_url, where)
    left = None
    if kind.startswith("sqlite"):
        with sqlite3.connect(where) as db:
            left = db.execute("SELECT count(*) FROM queue_records").fetchone()[0]
        for suffix in ("", "-wal", "-shm"):
            Path(where + suffix).unlink(missing_ok=True)
    return {
        "rate": (wall, cpu),
        "close": closed,
        "commits": commits,
        "left": left,
        "recancels": recancels,
    }


def throughput(args: argparse.Namespace, kinds: list[str], folder: Path) -> None:
    n, repeat = args.messages, args.repeat
    print(
        f"\n== chain throughput: {n:,} messages per run, median of {repeat}, rounds interleaved =="
    )
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for _ in range(repeat):
        for kind in kinds:
            runs[kind].append(asyncio.run(chain_run(kind, n, folder, args.redis)))
    rates = {
        kind: (
            statistics.median(r["rate"][0] for r in found),
            statistics.median(r["rate"][1] for r in found),
        )
        for kind, found in runs.items()
    }
    memory = rates["memory"]
    for kind in kinds:
        wall, cpu = rates[kind]
        found = runs[kind]
        extra = ""
        if kind.startswith("sqlite"):
            commits = statistics.median(r["commits"] for r in found)
            extra = (
                f"; {commits:,.0f} commits/run, close drained in "
                f"{statistics.median(r['close'] for r in found):.2f} s, "
                f"rows left {max(r['left'] for r in found)}"
            )
        print(
            f"{kind:<12}: {wall:>9,.0f} msg/s wall ({wall / memory[0]:.2f} of memory), "
            f"{cpu:>9,.0f} per CPU-second ({cpu / memory[1]:.2f}){extra}"
        )
    if "redis" in rates:
        stuck = sum(1 for r in runs["redis"] if r["recancels"])
        print(
            "  (Redis CPU-second rates leave out the Redis server's own CPU; Engine.stop() lost "
            f"a task cancellation in {stuck} of {len(runs['redis'])} Redis runs and needed "
            "cancelling again)"
        )
    for kind, target in TARGETS.items():
        if kind in rates:
            ratio = rates[kind][0] / memory[0]
            verdict = "met" if ratio >= target else "NOT met"
            print(f"target {kind} >= {target} of memory (wall): {ratio:.2f}, {verdict}")


# --- 2. recovery --------------------------------------------------------------------------------
def share(stored: int) -> dict[str, int]:
    """Messages per queue when ``stored`` go out in batches of chain.BATCH, round robin."""
    counts = dict.fromkeys(QUEUES, 0)
    for number, start in enumerate(range(0, stored, chain.BATCH)):
        counts[QUEUES[number % len(QUEUES)]] += min(chain.BATCH, stored - start)
    return counts


def recovery_document() -> Any:
    nodes = [{"id": name, "kind": "queue", "config": {}} for name in QUEUES]
    nodes.append({"id": STREAM, "kind": "stream", "config": {"shard_count": SHARDS}})
    return load({"schema": "flowyard.topology/1", "name": "recovery", "nodes": nodes, "edges": []})


async def fill(kind: str, where: str, stored: int, records: int, url: str) -> None:
    """Child: store everything, wait for the commits, say so, then wait for the SIGKILL."""
    started = time.perf_counter()
    store = open_store(kind, where, url)
    for name in QUEUES:
        await store.queue_declare(name, QueueOptions())
    now = time.time()
    for number, start in enumerate(range(0, stored, chain.BATCH)):
        queue = QUEUES[number % len(QUEUES)]
        batch = [
            Message.new({"order": n, "total": 12.5}, now=now, node=queue, message_id=f"m{n}")
            for n in range(start, min(stored, start + chain.BATCH))
        ]
        await store.queue_send(queue, batch, now)
    # Received, not deleted: in flight when the process dies.
    await store.queue_receive(QUEUES[0], now, max_messages=IN_FLIGHT, visibility_timeout=30)
    for start in range(0, records, 500):
        partition = (start // 500) % SHARDS
        batch = [
            LogRecord(0, f"k{n}", {"reading": n}, now, (), Message.new({"reading": n}, now=now))
            for n in range(start, min(records, start + 500))
        ]
        await store.log_append(STREAM, partition, batch)
    await store.sync()
    print(json.dumps({"filled": time.perf_counter() - started}), flush=True)
    await asyncio.sleep(3600)


async def recover(kind: str, where: str, url: str, engine: bool) -> None:
    """Child: open, declare, receive one message (timed), then count everything (checked)."""
    started = time.perf_counter()
    store = open_store(kind, where, url)
    opened = time.perf_counter()
    running: Engine | None = None
    if engine:
        running = Engine(recovery_document(), store=store)
        await running.start()
    else:
        for name in QUEUES:
            await store.queue_declare(name, QueueOptions())
    declared = time.perf_counter()
    if running is not None:
        got = await running.node(QUEUES[1]).receive(1, wait=0)  # type: ignore[attr-defined]
    else:
        got = (await store.queue_receive(QUEUES[1], time.time(), max_messages=1)).messages
    ready = time.perf_counter()
    print(json.dumps({"ready": ready - started}), flush=True)
    counts = {}
    for name in QUEUES:
        found = await store.queue_counts(name, time.time())
        counts[name] = found.visible + found.in_flight + found.delayed
    logs = 0
    for partition in range(SHARDS):
        start, end = await store.log_bounds(STREAM, partition)
        logs += end - start
    counted = time.perf_counter()
    if running is not None:
        await running.stop()
    await store.close()
    print(
        json.dumps(
            {
                "open": opened - started,
                "declare": declared - opened,
                "receive": ready - declared,
                "ready": ready - started,
                "count": counted - ready,
                "received": len(got),
                "counts": counts,
                "logs": logs,
                "recovered": getattr(store, "recovered", None),
            }
        ),
        flush=True,
    )


def child(*arguments: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", json.dumps(arguments)],
        stdout=subprocess.PIPE,
        text=True,
    )


def fill_and_kill(kind: str, where: str, stored: int, records: int, url: str) -> float:
    process = child("fill", kind, where, stored, records, url)
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit(f"the {kind} fill process ended without storing (exit {process.wait()})")
    process.send_signal(signal.SIGKILL)
    if process.wait() != -signal.SIGKILL:
        raise SystemExit(f"the {kind} fill process was not killed (exit {process.returncode})")
    return json.loads(line)["filled"]


def recover_once(kind: str, where: str, url: str, engine: bool) -> dict[str, Any]:
    spawned = time.perf_counter()
    process = child("recover", kind, where, url, engine)
    assert process.stdout is not None
    first = process.stdout.readline()
    spawn_to_ready = time.perf_counter() - spawned
    result = json.loads(process.stdout.readline() or "{}")
    if process.wait() != 0 or not first:
        raise SystemExit(f"the {kind} recovery process failed (exit {process.returncode})")
    result["process"] = spawn_to_ready
    return result


def recovery(args: argparse.Namespace, kind: str, folder: Path) -> None:
    stored, records, url = args.stored, args.records, args.redis
    where = str(folder / "recovery.sqlite3")
    if kind == "redis":
        where = f"flowyard-bench:{uuid.uuid4().hex[:12]}:"
    print(
        f"\n== recovery on {kind}: {stored:,} messages in {len(QUEUES)} queues "
        f"({IN_FLIGHT:,} in flight), {records:,} stream records on {SHARDS} shards; "
        f"SIGKILL; median of {args.repeat} fresh processes =="
    )
    if kind == "redis":
        print("(the data stays in the Redis server; RedisStore connects on its first call)")
    try:
        filled = fill_and_kill(kind, where, stored, records, url)
        size = ""
        if kind == "sqlite":
            mib = sum(p.stat().st_size for p in folder.glob("recovery.sqlite3*")) / 2**20
            size = f"; file + WAL {mib:,.1f} MiB"
        print(f"stored and committed in {filled:.2f} s, then SIGKILLed{size}")
        expected = share(stored)
        for engine in (False, True):
            runs = [recover_once(kind, where, url, engine) for _ in range(args.repeat)]
            bad = [r for r in runs if r["counts"] != expected or r["logs"] != records]
            mid = {key: statistics.median(r[key] for r in runs) for key in runs[0] if key in TIMED}
            what = "Engine build + start" if engine else "open + declare queues"
            verdict = "met" if mid["ready"] < RECOVERY_TARGET else "NOT met"
            print(
                f"{what:<22}: ready to receive in {mid['ready']:.2f} s (open {mid['open']:.2f}, "
                f"{'start' if engine else 'declare'} {mid['declare']:.2f}, first receive "
                f"{mid['receive']:.3f}); from process spawn {mid['process']:.2f} s; "
                f"target < {RECOVERY_TARGET:.0f} s {verdict}"
            )
            found = runs[0]
            total = sum(found["counts"].values())
            print(
                f"{'':<22}  counts {'OK' if not bad else 'WRONG'}: {total:,} messages "
                f"{found['counts']}, {found['logs']:,} stream records (counting took "
                f"{mid['count']:.2f} s)"
            )
            if bad:
                print(f"{'':<22}  expected {expected} and {records} records; got {bad[0]}")
    finally:
        if kind == "redis":
            asyncio.run(clear_redis(url, where))


# --- the command --------------------------------------------------------------------------------
def redis_reachable(url: str) -> str | None:
    """None when Redis answers, else why not."""

    async def ping() -> None:
        from redis import asyncio as redis_asyncio

        client = redis_asyncio.from_url(url, socket_connect_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        asyncio.run(ping())
    except Exception as error:  # noqa: BLE001 - reported, and Redis left out
        return f"{type(error).__name__}: {error}"
    return None


def run_child(arguments: list[Any]) -> None:
    role, *rest = arguments
    work: dict[str, Callable[..., Any]] = {"fill": fill, "recover": recover}
    asyncio.run(work[role](*rest))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="per chain run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--stored", type=int, default=100_000, help="messages before the kill")
    parser.add_argument("--records", type=int, default=10_000, help="stream records stored")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis URL (a unique prefix is used)")
    parser.add_argument("--no-redis", action="store_true", help="leave Redis out")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(json.loads(args.child))
        return
    load1, load5, _ = os.getloadavg()
    print(f"load average {load1:.2f} (5 min {load5:.2f}) on {os.cpu_count()} CPUs")
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), SQLite "
        f"{sqlite3.sqlite_version}, gc threshold {HEADLESS_GC_THRESHOLD} (headless runs)"
    )
    kinds = ["memory", "sqlite", "sqlite-full", "redis"]
    redis_problem = "left out (--no-redis)" if args.no_redis else redis_reachable(args.redis)
    with tempfile.TemporaryDirectory(prefix="flowyard-durable-") as name:
        folder = Path(name)
        probe = SqliteStore(folder / "probe.sqlite3")
        print(f"SqliteStore: {probe.durability}, group commit (<= {MAX_BATCH:,} operations)")
        asyncio.run(probe.close())
        print("sqlite-full: the same file settings with synchronous=FULL (survives power loss)")
        if redis_problem is None:
            print(asyncio.run(redis_settings(args.redis)))
        else:
            kinds.remove("redis")
            print(f"Redis: not measured, {redis_problem}")
        throughput(args, kinds, folder)
        recovery(args, "sqlite", folder)
        if redis_problem is None:
            recovery(args, "redis", folder)
    print("\n== workers ==")
    print("1 vs 2 runtime workers on Redis: not measured: runtime workers are not built yet")


if __name__ == "__main__":
    main()
