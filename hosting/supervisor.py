"""The supervisor (edge): owns the running engines of this server process, one per topology.

A run is one deployed revision. The supervisor keeps its runs on its own event loop in its own
thread, so a run neither depends on the request or websocket that started it (it survives every
client disconnect) nor slows down the server's loop. That loop's main coroutine owns one
TaskGroup; each run is a task in it, and each run owns its engine and ticker in a TaskGroup of
its own, so no task is ever unowned.

Callers use the blocking API from sync code (views, management commands, atexit) and the ``a``
twins from async code (consumers). Run states reach the database through ``record_state``,
which looks the designer's model up through the app registry: ``runtime`` never imports
``designer``. Shutdown (``atexit``, or the ASGI lifespan under servers that speak it) stops every
run, flushes its last frame and records it as stopped.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import gc
import itertools
import logging
import queue
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hosting import stores
from hosting.live import Deliver, Ticker, deliver
from runtime import graph
from runtime.events import RunState
from runtime.observers import Recorder
from runtime.spec import TopologySpec
from runtime.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

CALL_TIMEOUT = 30.0  # a command that takes longer than this has hung; the caller gets an error
STOP_TIMEOUT = 10.0  # reliability R3: in-flight work finishes or returns within 10 s
SWITCH_INTERVAL = 0.001  # seconds a thread may hold the GIL while another waits for it
MAX_CATCH_UP = 0.1  # seconds of load a behind-schedule generator may emit at once
SNAPSHOT_TIMEOUT = 3.0  # a connecting client waits at most this long for a busy run

# Engine run states as the designer's Topology.run_state stores them.
STORED_STATE = {
    RunState.CREATED: "starting",
    RunState.STARTING: "starting",
    RunState.RUNNING: "running",
    RunState.PAUSED: "paused",
    RunState.STOPPING: "stopped",
    RunState.STOPPED: "stopped",
    RunState.FAILED: "failed",
}


class DeployRefused(Exception):
    """The topology has lint errors (or cannot be built); ``problems`` says why."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        self.problems = problems
        super().__init__("; ".join(problem["message"] for problem in problems[:5]))


class NotRunning(Exception):
    """The command needs a run of this topology and there is none."""


class AlreadyRunning(Exception):
    """Deploy was asked for a topology whose run is live; use redeploy."""


EngineFactory = Callable[[TopologySpec, Recorder, Store], Any]
StoreFactory = Callable[[int], Store]
StateRecorder = Callable[[int, str], None]


@dataclass
class Run:
    """One deployed revision: its engine, recorder, ticker and the task that owns them."""

    topology_id: int
    revision: int
    run_id: str
    engine: Any
    recorder: Recorder
    ticker: Ticker
    started: asyncio.Future[None]
    stop_requested: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    error: str = ""
    sent: dict[str, Any] = field(default_factory=dict)
    group: asyncio.TaskGroup | None = None
    started_at: float = 0.0
    drivers: dict[str, LoadDriver] = field(default_factory=dict)
    store: Store | None = None
    # What the store held when the run started ("150 messages in 3 queues"), and what a
    # redeploy dropped because its nodes are gone; both shown where the run's state is.
    recovered: str = ""
    dropped: str = ""
    # An ephemeral run resumed after its server stopped: what the last one held and lost (R2).
    discarded: str = ""
    start_paused: bool = False

    def drive_load(self) -> None:
        """Take every load producer over from the start, so its rate can change and a busy
        run sheds load instead of bursting (see LoadDriver)."""
        for node in self.engine.nodes.values():
            settings = getattr(node, "settings", {})
            if node.kind == "producer" and settings.get("mode") == "load":
                self.set_rate(node.id, float(settings.get("rate", 10.0)))

    def set_rate(self, node_id: str, rate: float) -> float:
        """Change a running load producer's events per second (the rate slider).

        The engine's producer reads its rate once when its load starts, so the edge drives the
        load: it cancels the producer's ``load`` task and calls ``emit()`` itself at the rate
        until the configured duration ends. A node offering ``set_rate`` is used as is.
        """
        node = self.engine.nodes[node_id]
        setter = getattr(node, "set_rate", None)
        if callable(setter):
            setter(rate)
            return rate
        driver = self.drivers.get(node_id)
        if driver is None:
            if self.group is None:
                raise NotRunning("the run is not ticking yet")
            for task in getattr(self.engine, "_tasks", ()):
                if task.get_name() == f"{node_id}:load":
                    task.cancel()
            duration = float(node.settings.get("duration", 60))
            until = self.started_at + duration
            driver = LoadDriver(self.engine, node, rate, until)
            self.drivers[node_id] = driver
            driver.task = self.group.create_task(driver.run(), name=f"load:{node_id}")
        driver.rate = rate
        return rate

    @property
    def state(self) -> str:
        return STORED_STATE.get(self.engine.state, "stopped")

    def info(self) -> dict[str, Any]:
        return {
            "topology": self.topology_id,
            "revision": self.revision,
            "run": self.run_id,
            "state": self.state,
            "error": self.error,
            "store": stores.durability(self.store) if self.store is not None else None,
            "recovered": self.recovered,
            "dropped": self.dropped,
            "discarded": self.discarded,
        }


class LoadDriver:
    """Emits a producer's load at a rate that may change while it runs.

    An open-loop generator that falls behind (a saturated run) sheds the backlog beyond
    ``MAX_CATCH_UP`` seconds of load instead of emitting it in one burst: a burst that size
    never yields the loop, so nothing else, not even Stop, would run until it is through.
    ``shed`` counts what was not emitted.
    """

    def __init__(self, engine: Any, node: Any, rate: float, until: float) -> None:
        self.engine = engine
        self.node = node
        self.rate = rate
        self.until = until
        self.shed = 0
        self.stopped = False
        self.task: asyncio.Task[None] | None = None

    def cancel(self) -> None:
        self.stopped = True
        if self.task is not None:
            self.task.cancel()

    async def run(self) -> None:
        clock = self.node.clock
        last = clock.now()
        credit = 0.0
        while not self.stopped and clock.now() < self.until:
            await self.engine.gate()
            now = clock.now()
            credit += (now - last) * self.rate
            last = now
            limit = max(1.0, self.rate * MAX_CATCH_UP)
            if credit > limit:
                self.shed += int(credit - limit)
                credit = limit
            due = int(credit)
            if due:
                credit -= due
                await self.node.emit(due)
            # Short steps so a new rate applies within one; long enough to batch at high rates.
            await clock.sleep(min(0.05, max(0.001, (1 - credit) / self.rate)))


def lint_problems(spec: TopologySpec) -> list[dict[str, Any]]:
    return [finding.to_dict() for finding in graph.errors(graph.lint(spec))]


def default_engine(spec: TopologySpec, recorder: Recorder, store: Store) -> Any:
    from runtime.engine import Engine

    return Engine(spec, observer=recorder, store=store, settings=engine_settings())


def engine_settings() -> Any:
    """EngineSettings from Django settings: SSRF allow-list and Django's email backend."""
    from django.conf import settings

    from runtime.engine import EngineSettings

    return EngineSettings(
        allow_hosts=tuple(getattr(settings, "FLOWYARD_OUTBOUND_ALLOW", ())),
        email_sender=send_email,
    )


EMAIL_BACKLOG = 10_000  # emails waiting for the backend; past this, sends fail (back pressure)
EMAIL_BATCH = 100
LOCMEM_KEPT = 1000  # the locmem outbox is a plain list: keep the last emails, not all of them


class EmailRelay:
    """Hands the engine's emails to Django's backend from one worker thread.

    Sending through Django costs far more than a message hop (building the message, the
    backend's connection), so doing it on a run's loop would stall every node at load rates.
    The engine's sender only enqueues. Like SES it has a maximum sending rate
    (``FLOWYARD_EMAIL_RATE`` per second, default 50): past it, or with a full queue, the email
    is refused, and the email node counts a failed delivery instead of dropping it silently.
    """

    def __init__(self, backlog: int = EMAIL_BACKLOG, rate: float | None = None) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=backlog)
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0
        self.rate = rate
        self.tokens = 0.0
        self.refilled = time.monotonic()

    def allowed(self) -> bool:
        """SES-style sending rate: a token bucket refilled at ``rate`` per second."""
        rate = self.rate if self.rate is not None else email_rate()
        now = time.monotonic()
        self.tokens = min(rate, self.tokens + (now - self.refilled) * rate)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True

    def submit(self, email: dict[str, Any]) -> None:
        if not self.allowed():
            raise RuntimeError("Throttling: Maximum sending rate exceeded.")
        self._ensure_worker()
        try:
            self.queue.put_nowait(email)
        except queue.Full:
            raise RuntimeError("the email backend is behind: too many emails waiting") from None

    def _ensure_worker(self) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._work, name="flowyard-email")
                self.thread.daemon = True
                self.thread.start()

    def _work(self) -> None:
        while True:
            batch = [self.queue.get()]
            while len(batch) < EMAIL_BATCH:
                try:
                    batch.append(self.queue.get_nowait())
                except queue.Empty:
                    break
            self._send(batch)

    def _send(self, batch: list[dict[str, Any]]) -> None:
        from django.conf import settings
        from django.core import mail

        messages = [
            mail.EmailMessage(
                email["subject"],
                email["body"],
                email.get("from") or settings.DEFAULT_FROM_EMAIL,
                email["to"],
            )
            for email in batch
        ]
        try:
            self.sent += mail.get_connection(fail_silently=False).send_messages(messages) or 0
        except Exception:  # noqa: BLE001 - logged: the worker must keep serving later emails
            self.failed += len(messages)
            log.exception("could not send %d emails", len(messages))
        outbox = getattr(mail, "outbox", None)
        if isinstance(outbox, list) and len(outbox) > LOCMEM_KEPT * 2:
            del outbox[:-LOCMEM_KEPT]

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until the queued emails were handed to the backend (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while not self.queue.empty() and time.monotonic() < deadline:
            time.sleep(0.01)


def email_rate() -> float:
    from django.conf import settings

    return float(getattr(settings, "FLOWYARD_EMAIL_RATE", 50))


email_relay = EmailRelay()


def send_email(email: dict[str, Any]) -> None:
    """The engine's email sender: queued for Django's configured backend (see EmailRelay)."""
    email_relay.submit(email)


def topology_model() -> Any:
    """The designer's Topology, found through the app registry (hosting never imports it)."""
    from django.apps import apps

    return apps.get_model("designer", "Topology")


def record_state(topology_id: int, state: str) -> None:
    """Store a run state on the designer's Topology."""
    topology_model().objects.filter(pk=topology_id).update(run_state=state)


def record_deployed(topology_id: int, revision: int) -> None:
    """Store which revision the topology's run runs, so a restart resumes that one."""
    topology_model().objects.filter(pk=topology_id).update(run_revision=revision)


class Supervisor:
    """Runs engines on a private loop thread; see the module docstring."""

    def __init__(
        self,
        *,
        engine_factory: EngineFactory = default_engine,
        store_factory: StoreFactory = stores.open_store,
        on_state: StateRecorder | None = record_state,
        on_deployed: Callable[[int, int], None] | None = None,
        send: Deliver = deliver,
        tick: float | None = None,
    ) -> None:
        self.engine_factory = engine_factory
        self.store_factory = store_factory
        self.on_state = on_state
        self.on_deployed = on_deployed
        self.deliver = send
        self.tick = tick
        self.runs: dict[int, Run] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._group: asyncio.TaskGroup | None = None
        self._closing: asyncio.Event | None = None
        self._ready = threading.Event()

    # --- the loop thread ------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._ready.clear()
            self._thread = threading.Thread(target=self._serve, name="flowyard-supervisor")
            # Daemon so a forgotten supervisor never blocks exit; atexit stops runs cleanly first.
            self._thread.daemon = True
            self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the supervisor loop did not start")

    def _serve(self) -> None:
        # Runs and the server's loop share the GIL: a busy run would hold it for the default
        # 5 ms slices, and the server's loop, waiting for it on every wake-up, lags by many.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        # Messages are short-lived tuples: the default collector runs a generation-0 pass every
        # 700 allocations and costs runs about a third of their throughput (bench/engine.py).
        # Set once for the process, not per run, so concurrent runs never undo each other.
        from runtime.engine import HEADLESS_GC_THRESHOLD

        gc.set_threshold(*HEADLESS_GC_THRESHOLD)
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            self._group = group
            self._ready.set()
            await self._closing.wait()
            await self._stop_all("server shutdown")
        self._group = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._ready.is_set()

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        self.start()
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("supervisor commands cannot block its own loop")
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run a coroutine on the supervisor loop and wait for it (from sync code)."""
        return self._submit(coroutine).result(timeout)

    async def acall(self, coroutine: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
        """Run a coroutine on the supervisor loop and await it (from another loop)."""
        async with asyncio.timeout(timeout):  # not wait_for: see hosting.live.deliver
            return await asyncio.wrap_future(self._submit(coroutine))

    # --- commands (blocking API) ----------------------------------------------------------------
    def deploy(
        self, topology_id: int, spec: TopologySpec, *, revision: int = 0, paused: bool = False
    ) -> dict[str, Any]:
        """Start a run of ``spec``; refuses lint errors (DeployRefused) and live runs.
        ``paused`` starts it paused, before any producer or consumer moves (a resumed run
        that was paused when its server stopped)."""
        problems = lint_problems(spec)
        if problems:
            raise DeployRefused(problems)
        info = self.call(self._deploy(topology_id, spec, revision, paused=paused))
        self._record(topology_id, info["state"], revision)
        return info

    def redeploy(
        self, topology_id: int, spec: TopologySpec, *, revision: int = 0
    ) -> dict[str, Any]:
        """Stop the current run (if any) and deploy ``spec`` as a new run."""
        problems = lint_problems(spec)
        if problems:
            raise DeployRefused(problems)
        self.call(self._stop(topology_id, "redeploy"), CALL_TIMEOUT)
        info = self.call(self._deploy(topology_id, spec, revision))
        self._record(topology_id, info["state"], revision)
        return info

    def stop(self, topology_id: int) -> dict[str, Any]:
        info = self.call(self._stop(topology_id, "stopped by a user"))
        self._record(topology_id, "stopped")
        return info

    def pause(self, topology_id: int) -> dict[str, Any]:
        info = self.call(self._pause(topology_id, pause=True))
        self._record(topology_id, info["state"])
        return info

    def resume(self, topology_id: int) -> dict[str, Any]:
        info = self.call(self._pause(topology_id, pause=False))
        self._record(topology_id, info["state"])
        return info

    def send(
        self,
        topology_id: int,
        node_id: str,
        body: Any,
        attributes: dict[str, Any] | None = None,
        *,
        count: int = 1,
    ) -> list[str]:
        """Inject ``count`` traced messages into a node; returns their trace ids."""
        return self.call(self._send(topology_id, node_id, body, attributes, count))

    def with_run(self, topology_id: int, action: Callable[[Run], Awaitable[T]]) -> T:
        """Run ``action(run)`` on the run's loop (inspector reads, redrive, rate changes)."""
        return self.call(self._with_run(topology_id, action))

    def operate(
        self, topology_id: int, op: str, *, timeout: float = CALL_TIMEOUT, **args: Any
    ) -> Any:
        """Perform the named operation (hosting.operations) on the run's loop and wait for its
        plain-data result: the same call, with the same result, as RemoteSupervisor.operate."""
        from hosting import operations

        return self.call(
            operations.perform(self, op, {"topology_id": topology_id, **args}), timeout
        )

    async def aoperate(
        self, topology_id: int, op: str, *, timeout: float = CALL_TIMEOUT, **args: Any
    ) -> Any:
        """``operate`` from async code."""
        from hosting import operations

        return await self.acall(
            operations.perform(self, op, {"topology_id": topology_id, **args}), timeout
        )

    def info(self, topology_id: int) -> dict[str, Any] | None:
        run = self.runs.get(topology_id)
        return run.info() if run is not None else None

    def states(self) -> dict[int, str]:
        return {topology_id: run.state for topology_id, run in list(self.runs.items())}

    def shutdown(self, timeout: float = STOP_TIMEOUT + 5) -> None:
        """Stop every run and the loop thread; safe to call twice or before anything started.

        The runs' recorded states stay as they are: a run that was running when its server
        stopped is what the next server resumes (see hosting.resume), with what its store
        kept. Each store syncs before it closes, so what was acknowledged is on disk.
        """
        thread, loop, closing = self._thread, self._loop, self._closing
        if thread is None or loop is None or closing is None or not thread.is_alive():
            return
        with contextlib.suppress(RuntimeError):  # the loop may already be gone at exit
            loop.call_soon_threadsafe(closing.set)
        thread.join(timeout)

    # --- run state kept in the store ------------------------------------------------------------
    def stored(self, topology_id: int) -> dict[str, int]:
        """What the topology's store holds now (totals; see hosting.stores.summarise)."""
        return self.call(self._stored(topology_id))

    def reset_state(self, topology_id: int) -> dict[str, Any]:
        """Purge everything the topology's store holds ("Reset state"). A live run is stopped,
        purged and started again on the same revision; returns the totals that went."""
        return self.call(self._reset_state(topology_id), CALL_TIMEOUT * 2)

    # --- async twins for consumers --------------------------------------------------------------
    async def alive_snapshot(
        self, topology_id: int, timeout: float = SNAPSHOT_TIMEOUT
    ) -> dict[str, Any] | None:
        """The live snapshot of the topology's run, or None when it has none.

        A run saturating its loop must not hold a connecting client: past ``timeout`` the
        client gets a snapshot without counters and catches up from the frames that follow.
        """
        if not self.alive or topology_id not in self.runs:
            return None
        try:
            return await self.acall(self._snapshot(topology_id), timeout)
        except TimeoutError:
            run = self.runs.get(topology_id)
            state = run.state if run is not None else "stopped"
            return {
                "type": "snapshot",
                "run": None,
                "seq": 0,
                "state": state,
                "busy": True,
                "nodes": {},
                "edges": {},
            }

    # --- on the supervisor loop -----------------------------------------------------------------
    async def _deploy(
        self, topology_id: int, spec: TopologySpec, revision: int, *, paused: bool = False
    ) -> dict[str, Any]:
        current = self.runs.get(topology_id)
        if current is not None and not current.finished.is_set():
            raise AlreadyRunning(f"topology {topology_id} is already {current.state}")
        recorder = Recorder()
        try:
            store = self.store_factory(topology_id)
        except Exception as error:
            raise DeployRefused(
                [{"message": f"the run's store could not open: {error}"}]
            ) from error
        try:
            recovered, dropped = await self._take_stock(store, spec)
            engine = self.engine_factory(spec, recorder, store)
        except Exception as error:
            await self._close_store(store)
            raise DeployRefused([{"message": f"the run could not be built: {error}"}]) from error
        recorder.tap(engine)
        run_id = f"{topology_id}.{next(self._ids)}"
        ticker = Ticker(
            topology_id, engine, recorder, run_id, interval=self.tick, send=self.deliver
        )
        loop = asyncio.get_running_loop()
        run = Run(topology_id, revision, run_id, engine, recorder, ticker, loop.create_future())
        run.start_paused = paused
        run.store, run.recovered, run.dropped = store, recovered, dropped
        self.runs[topology_id] = run
        assert self._group is not None
        self._group.create_task(self._own(run), name=f"run:{topology_id}")
        await asyncio.shield(run.started)
        return run.info()

    @staticmethod
    async def _take_stock(store: Store, spec: TopologySpec) -> tuple[str, str]:
        """What the store held for this topology: kept for the nodes that still exist, dropped
        (and counted) for the nodes a redeploy removed. Returns both as sentences."""
        inventory = await store.inventory(time.time())
        ids = {node.id for node in spec.nodes}

        def survives(name: str) -> bool:
            # A node may keep several buffers: "<node id>#<part>" belongs to that node.
            return name.split("#", 1)[0] in ids

        gone = sorted(
            name
            for section in inventory.values()
            for name, count in section.items()
            if not survives(name)
        )
        kept = {
            section: {name: count for name, count in names.items() if survives(name)}
            for section, names in inventory.items()
        }
        dropped = ""
        if gone:
            lost = {
                section: {name: count for name, count in names.items() if not survives(name)}
                for section, names in inventory.items()
            }
            await store.drop(gone)
            held = stores.describe(stores.summarise(lost))
            if held:
                emptied = sorted(n for part in lost.values() for n, count in part.items() if count)
                dropped = f"{held} of removed nodes ({', '.join(emptied)})"
        return stores.describe(stores.summarise(kept)), dropped

    @staticmethod
    async def _close_store(store: Store | None) -> None:
        """Make what the run stored durable and let the store go; never raises."""
        if store is None:
            return
        try:
            await store.sync()
        except Exception:  # noqa: BLE001 - what was not acknowledged may be lost; logged
            log.exception("the run's store could not sync its last writes")
        try:
            await store.close()
        except Exception:  # noqa: BLE001
            log.exception("the run's store did not close cleanly")

    async def _own(self, run: Run) -> None:
        """The run's owner task: start, tick until asked to stop, stop, flush. Never raises."""
        try:
            await run.engine.start()
            if run.start_paused:  # no await since start(): no task of the run has moved yet
                run.engine.pause()
        except Exception as error:  # noqa: BLE001 - a run that cannot start is reported
            run.error = f"{type(error).__name__}: {error}"
            log.exception("run %s could not start", run.run_id)
            await self._finish(run, failed=True)
            return
        run.started_at = run.engine.clock.now()
        run.started.set_result(None)
        failed = False
        try:
            await run.ticker.tick(force=True)
            async with asyncio.TaskGroup() as group:
                run.group = group
                ticking = group.create_task(run.ticker.run(), name=f"ticker:{run.topology_id}")
                run.drive_load()
                await run.stop_requested.wait()
                log.info("run %s: stop requested", run.run_id)
                run.ticker.stopped = True
                ticking.cancel()
                for driver in run.drivers.values():  # the load producers driven at the edge
                    driver.cancel()
        except asyncio.CancelledError:
            # Only the engine's own TaskGroup cancels this task: one of its tasks crashed.
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            run.error = run.error or "a task of the run failed"
            failed = True
        except Exception as error:  # noqa: BLE001 - the ticker is best effort
            log.exception("ticker of run %s failed", run.run_id)
            run.error = run.error or f"{type(error).__name__}: {error}"
        await self._finish(run, failed=failed)

    async def _finish(self, run: Run, *, failed: bool) -> None:
        began = time.monotonic()
        log.info("run %s: stopping the engine", run.run_id)
        # The stop runs as a task of the supervisor's group and is waited for with a deadline:
        # an engine whose tasks ignore cancellation must not leave the run unstoppable.
        assert self._group is not None
        stopping = self._group.create_task(self._stop_engine(run), name=f"stop:{run.topology_id}")
        done, _ = await asyncio.wait({stopping}, timeout=STOP_TIMEOUT)
        problem = stopping.result() if done else f"did not stop within {STOP_TIMEOUT:.0f} s"
        if problem:
            log.error("run %s: the engine %s", run.run_id, problem)
            run.error = run.error or f"the engine {problem}"
            failed = True
        await self._close_store(run.store)
        stopped = time.monotonic()
        await run.ticker.flush()
        log.info(
            "run %s stopped in %.2f s, last frame sent in %.2f s",
            run.run_id,
            stopped - began,
            time.monotonic() - stopped,
        )
        if not run.started.done():
            run.started.set_exception(
                DeployRefused([{"message": f"the run failed to start: {run.error}"}])
            )
        # Recorded before the run counts as finished, so a caller of stop() reads it.
        if failed and self.on_state is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.on_state, run.topology_id, "failed")
        run.finished.set()

    @staticmethod
    async def _stop_engine(run: Run) -> str:
        """Stop the engine; never raises, since it runs in the supervisor's own TaskGroup."""
        try:
            await run.engine.stop(run.error or "stopped")
        except Exception as error:  # noqa: BLE001 - reported by the caller
            return f"did not stop cleanly: {type(error).__name__}: {error}"
        return ""

    async def _stop(self, topology_id: int, reason: str) -> dict[str, Any]:
        run = self.runs.get(topology_id)
        if run is None:
            return {"topology": topology_id, "state": "stopped", "run": None}
        run.error = run.error or ""
        run.stop_requested.set()
        async with asyncio.timeout(STOP_TIMEOUT + 5):
            await run.finished.wait()
        return run.info()

    async def _stop_all(self, reason: str) -> None:
        for run in list(self.runs.values()):
            run.stop_requested.set()
        for run in list(self.runs.values()):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT + 5):
                    await run.finished.wait()

    def _live(self, topology_id: int) -> Run:
        run = self.runs.get(topology_id)
        if run is None or run.finished.is_set():
            raise NotRunning(f"topology {topology_id} has no run; deploy it first")
        return run

    async def _pause(self, topology_id: int, *, pause: bool) -> dict[str, Any]:
        run = self._live(topology_id)
        if pause:
            run.engine.pause()
        else:
            run.engine.resume()
        await run.ticker.tick(force=True)
        return run.info()

    async def _send(
        self,
        topology_id: int,
        node_id: str,
        body: Any,
        attributes: dict[str, Any] | None,
        count: int,
    ) -> list[str]:
        run = self._live(topology_id)
        traces: list[str] = []
        for _ in range(count):
            message = await run.engine.send(node_id, body, attributes)
            traces.append(message.trace_id)
            run.sent[message.trace_id] = message
        while len(run.sent) > 1000:
            run.sent.pop(next(iter(run.sent)))
        return traces

    async def _with_run(self, topology_id: int, action: Callable[[Run], Awaitable[T]]) -> T:
        run = self.runs.get(topology_id)
        if run is None:
            raise NotRunning(f"topology {topology_id} has no run; deploy it first")
        return await action(run)

    async def _stored(self, topology_id: int) -> dict[str, int]:
        run = self.runs.get(topology_id)
        if run is not None and not run.finished.is_set() and run.store is not None:
            return stores.summarise(await run.store.inventory(time.time()))
        store = self.store_factory(topology_id)
        try:
            return stores.summarise(await store.inventory(time.time()))
        finally:
            await self._close_store(store)

    async def _reset_state(self, topology_id: int) -> dict[str, Any]:
        run = self.runs.get(topology_id)
        live = run is not None and not run.finished.is_set()
        paused = live and run is not None and run.state == "paused"
        if live:
            assert run is not None
            await self._stop(topology_id, "reset state")
        store = self.store_factory(topology_id)
        try:
            totals = stores.summarise(await store.inventory(time.time()))
            await store.clear()
        finally:
            await self._close_store(store)
        info: dict[str, Any] = {"topology": topology_id, "state": "stopped", "run": None}
        if live:
            assert run is not None
            info = await self._deploy(topology_id, run.engine.spec, run.revision)
            if paused:
                info = await self._pause(topology_id, pause=True)
        return {**info, "purged": totals}

    async def _snapshot(self, topology_id: int) -> dict[str, Any] | None:
        run = self.runs.get(topology_id)
        return run.ticker.snapshot() if run is not None else None

    def _record(self, topology_id: int, state: str, revision: int | None = None) -> None:
        try:
            if self.on_state is not None:
                self.on_state(topology_id, state)
            if revision is not None and self.on_deployed is not None:
                self.on_deployed(topology_id, revision)
        except Exception:  # noqa: BLE001 - the run matters more than its stored label
            log.exception("could not record run state %s for topology %s", state, topology_id)


_supervisor: Supervisor | None = None
_supervisor_lock = threading.Lock()


def get_supervisor() -> Supervisor:
    """The process-wide supervisor, created on first use and stopped at interpreter exit. In a
    web process of a scaled-out install (FLOWYARD_HOSTING=workers) it is a RemoteSupervisor
    that carries every call to the runtime workers (hosting.remote)."""
    global _supervisor
    with _supervisor_lock:
        if _supervisor is None:
            if hosting_mode() == "workers" and not _in_worker:
                from hosting.remote import RemoteSupervisor

                _supervisor = RemoteSupervisor()  # type: ignore[assignment]
            else:
                _supervisor = Supervisor(on_deployed=record_deployed)
                atexit.register(_supervisor.shutdown)
        assert _supervisor is not None
        return _supervisor


_in_worker = False


def become_worker() -> None:
    """Mark this process as a runtime worker: its supervisor runs engines whatever the mode."""
    global _in_worker
    _in_worker = True


def hosting_mode() -> str:
    from django.conf import settings

    return str(getattr(settings, "FLOWYARD_HOSTING", "web"))


def set_supervisor(supervisor: Supervisor | None) -> Supervisor | None:
    """Swap the process-wide supervisor (tests); returns the previous one."""
    global _supervisor
    with _supervisor_lock:
        previous, _supervisor = _supervisor, supervisor
        return previous
