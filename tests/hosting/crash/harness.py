"""Real-process crash tests: a daphne server of its own per workspace, clients that record what
the gateway acknowledged, the run's SQLite store file read directly, and Jepsen's total-queue
checker (reliability.md §2 and §4, R1 and R3).

A ``Workspace`` is a temporary folder with its own Django database (SQLite, migrated), a user,
the crash topology imported with ``manage.py topology import`` and recorded as running, and a
runs folder for the topology's store. ``Server`` starts ``python -m daphne`` on it (the server
resumes the recorded run at startup), kills it (SIGKILL) or stops it (SIGTERM) and measures
restart-to-ready: from process start until the gateway answers for the run again.

The topology: http_api ``POST /msg`` → SendMessage → queue ``inbox`` (short visibility timeout,
DLQ ``dlq`` after 2 receives) → function ``worker`` (latency, injected failures) → queue
``done``, which nobody consumes: it collects what the worker consumed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from runtime.nodes import KINDS
from runtime.store import QueueOptions, SqliteStore
from tests.builders import edge, function_node, make_document, node, queue_node

ROOT = Path(__file__).resolve().parents[3]
USERNAME = "crash"
QUEUES = ("inbox", "dlq", "done")
READY_TIMEOUT = 30.0  # seconds a starting server may take before the test gives up on it
# Restart-to-ready: the target (R1) is 10 s; 1-2 s are usual here, and a 2-core machine that
# other test suites share has taken 13 s. Reported against the target; failed past the limit.
READY_TARGET = 10.0
READY_LIMIT = 25.0

# The consumer: one poller (no reserved concurrency) taking batches of BATCH_SIZE.
BATCH_SIZE = 10
POLLERS = 1
# Messages a kill can leave both consumed (the output committed to ``done``) and undeleted
# from ``inbox``: the batches handed to the worker and not yet acknowledged (prefetch ×
# consumers, reliability R1).
IN_FLIGHT_WINDOW = BATCH_SIZE * POLLERS


def crash_document(
    *,
    name: str = "Crash R1",
    latency_ms: int = 40,
    failure_rate: float = 0.3,
    visibility_timeout: int = 2,
) -> dict[str, Any]:
    route = {
        "method": "POST",
        "path": "/msg",
        "integration": {"action": "SendMessage", "target": "inbox"},
    }
    return make_document(
        name=name,
        nodes=[
            node("api", "http_api", routes=[route]),
            queue_node(
                "inbox",
                visibility_timeout=visibility_timeout,
                dead_letter_queue="dlq",
                max_receive_count=2,
            ),
            queue_node("dlq"),
            function_node(
                "worker",
                timeout=1,
                latency_ms=latency_ms,
                failure_rate=failure_rate,
                batch_size=BATCH_SIZE,
            ),
            queue_node("done"),
        ],
        edges=[
            edge("api-inbox", "api", "inbox"),
            edge("inbox-worker", "inbox", "worker"),
            edge("worker-done", "worker", "done"),
        ],
    )


def queue_options(document: dict[str, Any], queue: str) -> QueueOptions:
    """The options the queue node declares its store queue with (runtime/nodes/queue.py)."""
    found = next(n for n in document["nodes"] if n["id"] == queue)
    defaults = {f.name: f.default for f in KINDS["queue"].fields}
    config = {**defaults, **found["config"]}
    return QueueOptions(
        fifo=config["fifo"],
        visibility_timeout=config["visibility_timeout"],
        delay_seconds=config["delay_seconds"],
        retention_period=config["retention_period"],
        max_receive_count=config["max_receive_count"] if config["dead_letter_queue"] else 0,
        content_based_deduplication=config["content_based_deduplication"],
        deduplication_scope=config["deduplication_scope"],
    )


# --- workspaces -----------------------------------------------------------------------------------
SETUP = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from designer.models import Topology
call_command("migrate", verbosity=0, interactive=False)
get_user_model().objects.create_user(sys.argv[2], password="crash-unused-password-1")
call_command("topology", "import", sys.argv[1], owner=sys.argv[2], verbosity=0)
topology = Topology.objects.get()
# What `runs deploy` will record: the run is live on this revision, so the server resumes it.
Topology.objects.filter(pk=topology.pk).update(run_state="running", run_revision=topology.version)
print(json.dumps({"id": topology.pk, "slug": topology.slug, "revision": topology.version}))
"""


def server_env(directory: Path) -> dict[str, str]:
    """The environment of a server on ``directory``: its own SQLite database and runs folder,
    the SQLite run store, runs resumed at startup; no Redis even when the scaled pass sets it."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLOWYARD_", "DATABASE_", "REDIS_", "SCALE_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        FLOWYARD_RUNS_DIR=str(directory / "runs"),
        FLOWYARD_STATE_DIR=str(directory / "state"),
        FLOWYARD_RESUME_RUNS="1",
        FLOWYARD_RUN_STORE="sqlite",
        FLOWYARD_HOSTING="web",  # the server process hosts its runs (the embedded default)
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Workspace:
    directory: Path
    document: dict[str, Any]
    topology_id: int
    slug: str

    @classmethod
    def create(cls, directory: Path, document: dict[str, Any]) -> Workspace:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "topology.json"
        path.write_text(json.dumps(document))
        done = subprocess.run(
            [sys.executable, "-c", SETUP, str(path), USERNAME],
            cwd=ROOT,
            env=server_env(directory),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        made = json.loads(done.stdout.strip().splitlines()[-1])
        return cls(directory, document, made["id"], made["slug"])

    def copy(self, directory: Path) -> Workspace:
        """A fresh workspace with this one's database (the run recorded as running, no store)."""
        directory.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self.directory / "db.sqlite3", directory / "db.sqlite3")
        return Workspace(directory, self.document, self.topology_id, self.slug)

    @property
    def store_path(self) -> Path:
        return self.directory / "runs" / f"topology-{self.topology_id}.sqlite3"

    def depths(self) -> dict[str, int]:
        """Rows per queue in the store file, read while the server runs (WAL lets a reader in)."""
        if not self.store_path.exists():
            return {}
        try:
            with contextlib.closing(sqlite3.connect(self.store_path, timeout=5)) as connection:
                rows = connection.execute(
                    "SELECT queue, count(*) FROM queue_records GROUP BY queue"
                ).fetchall()
        except sqlite3.OperationalError:  # the schema is not there yet
            return {}
        return dict.fromkeys(QUEUES, 0) | dict(rows)

    async def contents(self) -> dict[str, list[str]]:
        """Message bodies per queue, read with ``SqliteStore`` once no server runs. The store
        is abandoned afterwards, so the file stays as the server left it."""
        store = SqliteStore(self.store_path)
        try:
            found: dict[str, list[str]] = {}
            now = time.time()
            for name in QUEUES:
                await store.queue_declare(name, queue_options(self.document, name))
                records = await store.queue_peek(name, now, limit=10**9)
                found[name] = [str(record.message.body) for record in records]
            return found
        finally:
            store.abandon()


# --- the server -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``python -m daphne`` on a workspace; one process at a time, restarted on the same port."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ready_times: list[float] = []
        self.log_path = workspace.directory / "server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.base}/gw/{self.workspace.slug}/prod/msg"

    async def start(self) -> float:
        """Start the server and wait until the gateway serves the resumed run; returns the
        restart-to-ready time (process start to the gateway's first answer for the run)."""
        assert self.process is None or self.process.poll() is not None
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {self.starts} ---\n".encode())
            log.flush()
            began = time.monotonic()
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "daphne",
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "config.asgi:application",
                ],
                cwd=ROOT,
                env=server_env(self.workspace.directory),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() - began < READY_TIMEOUT:
                if self.process.poll() is not None:
                    raise AssertionError(f"the server exited at start:\n{self.log_tail()}")
                with contextlib.suppress(httpx.TransportError):
                    answer = await client.get(self.url)
                    # REST API, GET on a POST-only route: 403 once the run is served; 404 (no
                    # running topology) while the run has not resumed yet.
                    if answer.status_code == 403:
                        took = time.monotonic() - began
                        self.ready_times.append(took)
                        return took
                await asyncio.sleep(0.02)
        raise AssertionError(f"the gateway did not serve the run in time:\n{self.log_tail()}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    async def terminate(self, timeout: float = 30) -> float:
        """SIGTERM; returns the seconds until the process exited."""
        assert self.process is not None
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        while self.process.poll() is None:
            if time.monotonic() - began > timeout:
                self.process.kill()
                self.process.wait(10)
                raise AssertionError(f"the server ignored SIGTERM for {timeout} s")
            await asyncio.sleep(0.01)
        return time.monotonic() - began

    def stop_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


# --- clients --------------------------------------------------------------------------------------
def message_id(number: int) -> str:
    return f"m{number:06d}"


@dataclass
class Ledger:
    """What the clients did: every id taken is attempted exactly once; acked when answered 200;
    an id whose request failed (connection cut, 5xx) is indeterminate."""

    attempted: set[str] = field(default_factory=set)
    acked: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)


class Publisher:
    """Concurrent clients POSTing unique ids; the next phase continues with the next id."""

    def __init__(self, total: int, clients: int = 8) -> None:
        self.numbers: Iterator[int] = iter(range(total))
        self.total = total
        self.clients = clients
        self.ledger = Ledger()
        self.taken = 0

    @property
    def finished(self) -> bool:
        return self.taken >= self.total

    async def publish(self, url: str) -> None:
        """Send ids until all are sent or the server is gone (each client stops at its first
        failed request: the server was killed or stopped)."""
        ledger = self.ledger

        async def client() -> None:
            async with httpx.AsyncClient(timeout=20) as http:
                while True:
                    number = next(self.numbers, None)
                    if number is None:
                        return
                    self.taken += 1
                    identifier = message_id(number)
                    ledger.attempted.add(identifier)
                    try:
                        answer = await http.post(url, content=identifier)
                    except httpx.TransportError:
                        ledger.failed.add(identifier)
                        return
                    ledger.statuses[answer.status_code] += 1
                    if answer.status_code == 200:
                        ledger.acked.add(identifier)
                    else:
                        ledger.failed.add(identifier)
                        return

        await asyncio.gather(*(client() for _ in range(self.clients)))


async def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(interval)
    return condition()


async def drain(workspace: Workspace, server: Server, timeout: float = 60) -> None:
    """Wait until ``inbox`` holds nothing (no visible, delayed or in-flight row)."""
    drained = await wait_for(lambda: workspace.depths().get("inbox", 1) == 0, timeout, 0.1)
    assert drained, f"inbox not drained in {timeout} s: {workspace.depths()}\n{server.log_tail()}"


# --- Jepsen's total-queue checker -----------------------------------------------------------------
@dataclass
class Verdict:
    """total-queue (reliability.md §2): lost = acknowledged ids found nowhere; unexpected =
    ids never sent; duplicated = extra copies; recovered = unacknowledged ids that arrived."""

    acked: int
    attempted: int
    lost: list[str]
    unexpected: list[str]
    duplicated: int  # extra copies over done + dlq
    duplicated_ids: list[str]
    in_both: list[str]  # consumed and dead-lettered
    recovered: int
    done: int
    dlq: int
    left: int  # still in inbox

    @property
    def valid(self) -> bool:
        return not self.lost and not self.unexpected


def total_queue(ledger: Ledger, contents: dict[str, list[str]]) -> Verdict:
    done, dlq = Counter(contents["done"]), Counter(contents["dlq"])
    everywhere = done + dlq + Counter(contents["inbox"])
    found = set(everywhere)
    duplicated_ids = sorted(i for i, n in (done + dlq).items() if n > 1)
    return Verdict(
        acked=len(ledger.acked),
        attempted=len(ledger.attempted),
        lost=sorted(ledger.acked - set(done) - set(dlq)),
        unexpected=sorted(found - ledger.attempted),
        duplicated=sum(n - 1 for n in (done + dlq).values() if n > 1),
        duplicated_ids=duplicated_ids,
        in_both=sorted(set(done) & set(dlq)),
        recovered=len((found & ledger.attempted) - ledger.acked),
        done=len(set(done)),
        dlq=len(set(dlq)),
        left=sum(Counter(contents["inbox"]).values()),
    )


def overlap(first: Iterable[str], second: Iterable[str]) -> set[str]:
    return set(first) & set(second)


# Figures for the terminal summary (tests/hosting/crash/conftest.py prints them at the end):
# one line per test, and the R1 figures of every seed for a closing total.
SUMMARY: list[str] = []
R1_FIGURES: list[dict[str, Any]] = []


def r1_total() -> str:
    if not R1_FIGURES:
        return ""
    ready = sorted(t for figures in R1_FIGURES for t in figures["ready"])
    total = {key: sum(f[key] for f in R1_FIGURES) for key in ("acked", "lost", "duplicated")}
    return (
        f"R1 sqlite total over {len(R1_FIGURES)} seeds "
        f"({', '.join(str(f['seed']) for f in R1_FIGURES)}), "
        f"{sum(f['kills'] for f in R1_FIGURES)} SIGKILLs: acked {total['acked']}, lost "
        f"{total['lost']}, unexpected {sum(f['unexpected'] for f in R1_FIGURES)}, duplicated "
        f"{total['duplicated']}, in done and dlq {sum(f['in_both'] for f in R1_FIGURES)}, in dlq "
        f"{sum(f['dlq'] for f in R1_FIGURES)}; restart-to-ready median "
        f"{ready[len(ready) // 2]:.2f} s, max {ready[-1]:.2f} s"
    )
