"""The supervisor owns runs on its own loop: deploy, refuse, stop, pause, redeploy, shut down."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from hosting import supervisor as supervision
from hosting.supervisor import (
    AlreadyRunning,
    DeployRefused,
    NotRunning,
    Supervisor,
)
from runtime import spec
from tests.builders import edge, log_node, make_document, pipeline_document, producer_node
from tests.runtime.livefakes import FakeEngine

PIPELINE = spec.load(pipeline_document())
BROKEN = spec.load(
    make_document(nodes=[producer_node(), log_node()], edges=[edge("a", "orders-in", "sink")])
)


class Frames:
    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    async def __call__(self, topology_id: Any, frame: dict[str, Any]) -> bool:
        self.frames.append(frame)
        return True


@pytest.fixture
def states() -> list[tuple[int, str]]:
    return []


@pytest.fixture
def frames() -> Frames:
    return Frames()


@pytest.fixture
def supervisor(states: list[tuple[int, str]], frames: Frames) -> Iterator[Supervisor]:
    engines: list[FakeEngine] = []

    def factory(topology_spec: Any, recorder: Any, store: Any) -> FakeEngine:
        engine = FakeEngine(topology_spec, recorder)
        engines.append(engine)
        return engine

    chief = Supervisor(
        engine_factory=factory,
        on_state=lambda topology_id, state: states.append((topology_id, state)),
        send=frames,
        tick=0.01,
    )
    chief.engines = engines  # type: ignore[attr-defined]
    yield chief
    chief.shutdown()


def test_deploy_starts_a_run_and_records_it_as_running(
    supervisor: Supervisor, states: list
) -> None:
    info = supervisor.deploy(1, PIPELINE, revision=3)
    assert info["state"] == "running" and info["revision"] == 3
    assert states == [(1, "running")]
    assert supervisor.states() == {1: "running"}


def test_deploy_refuses_a_topology_with_lint_errors(supervisor: Supervisor, states: list) -> None:
    with pytest.raises(DeployRefused) as refused:
        supervisor.deploy(1, BROKEN)
    assert refused.value.problems[0]["code"] == "edge-not-allowed"
    assert states == [] and supervisor.states() == {}


def test_deploy_refuses_a_second_run_of_the_same_topology(supervisor: Supervisor) -> None:
    supervisor.deploy(1, PIPELINE)
    with pytest.raises(AlreadyRunning):
        supervisor.deploy(1, PIPELINE)


def test_a_run_that_cannot_start_is_refused_and_recorded_as_failed(states: list) -> None:
    chief = Supervisor(
        engine_factory=lambda s, r, store: FakeEngine(s, r, fail_start=True),
        on_state=lambda topology_id, state: states.append((topology_id, state)),
        send=Frames(),
    )
    try:
        with pytest.raises(DeployRefused, match="store is unreachable"):
            chief.deploy(1, PIPELINE)
    finally:
        chief.shutdown()
    assert (1, "failed") in states


def test_stop_ends_the_run_and_sends_its_last_frame(
    supervisor: Supervisor, states: list, frames: Frames
) -> None:
    supervisor.deploy(1, PIPELINE)
    supervisor.send(1, "orders-in", {"n": 1}, count=3)
    info = supervisor.stop(1)
    assert info["state"] == "stopped" and states[-1] == (1, "stopped")
    last = frames.frames[-1]
    assert last["state"] == "stopped"
    delivered = sum(f["nodes"].get("sink", {}).get("d", {}).get("in", 0) for f in frames.frames)
    assert delivered == 3
    with pytest.raises(NotRunning):
        supervisor.send(1, "orders-in", {"n": 2})


def test_pause_and_resume_move_the_run_and_the_stored_state(
    supervisor: Supervisor, states: list
) -> None:
    supervisor.deploy(1, PIPELINE)
    assert supervisor.pause(1)["state"] == "paused"
    assert supervisor.resume(1)["state"] == "running"
    assert states == [(1, "running"), (1, "paused"), (1, "running")]


def test_redeploy_replaces_the_run_with_a_new_one(supervisor: Supervisor) -> None:
    first = supervisor.deploy(1, PIPELINE, revision=1)
    second = supervisor.redeploy(1, PIPELINE, revision=2)
    assert second["run"] != first["run"] and second["revision"] == 2
    engines = supervisor.engines  # type: ignore[attr-defined]
    assert engines[0].state.value == "stopped" and engines[1].state.value == "running"


def test_a_run_outlives_whoever_started_it(supervisor: Supervisor) -> None:
    import threading

    thread = threading.Thread(target=lambda: supervisor.deploy(5, PIPELINE))
    thread.start()
    thread.join()
    assert supervisor.send(5, "orders-in", {"n": 1}) and supervisor.states() == {5: "running"}


def test_shutdown_stops_every_run_and_leaves_them_recorded_for_the_next_server(
    supervisor: Supervisor, states: list
) -> None:
    supervisor.deploy(1, PIPELINE)
    supervisor.deploy(2, PIPELINE)
    supervisor.shutdown()
    assert not supervisor.alive
    engines = supervisor.engines  # type: ignore[attr-defined]
    assert all(engine.stopped_with is not None for engine in engines)
    assert {(1, "running"), (2, "running")} <= set(states)
    assert not {(1, "stopped"), (2, "stopped")} & set(states)


def test_the_snapshot_for_a_new_client_is_the_tickers_base(supervisor: Supervisor) -> None:
    import asyncio

    supervisor.deploy(1, PIPELINE)
    supervisor.send(1, "orders-in", {"n": 1})
    snapshot = asyncio.run(supervisor.alive_snapshot(1))
    assert snapshot is not None and snapshot["type"] == "snapshot"
    assert set(snapshot["nodes"]) == {"orders-in", "orders", "worker", "sink"}


def test_the_server_process_stops_its_runs_at_exit(tmp_path: Any) -> None:
    script = textwrap.dedent(
        """
        import os, django
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        django.setup()
        from hosting import supervisor
        from runtime import spec
        from tests.builders import pipeline_document
        from tests.runtime.livefakes import FakeEngine
        engines = []
        def factory(s, r, store):
            engines.append(FakeEngine(s, r))
            return engines[-1]
        def report(topology_id, state):
            print("recorded", topology_id, state, flush=True)
        import atexit
        # atexit runs last-in first-out: this prints after the supervisor's own hook ran.
        atexit.register(lambda: print("engine", engines[0].state.value, flush=True))
        chief = supervisor.get_supervisor()
        chief.engine_factory, chief.on_state = factory, report
        chief.deploy(9, spec.load(pipeline_document()))
        """
    )
    # The process hosts its run itself, on an ephemeral store (the scaled pass sets REDIS_URL).
    env = {**os.environ, "FLOWYARD_HOSTING": "web", "FLOWYARD_RUN_STORE": "memory"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    lines = result.stdout.split("\n")
    # Stopped, but still recorded as running: the next server process resumes it.
    assert "recorded 9 running" in lines and "recorded 9 stopped" not in lines
    assert "engine stopped" in lines


def test_a_busy_run_still_gives_a_connecting_client_a_snapshot_in_time(
    supervisor: Supervisor,
) -> None:
    import asyncio
    import threading
    import time

    supervisor.deploy(1, PIPELINE)

    async def hog(run: Any) -> None:
        time.sleep(1.0)  # a run saturating its loop

    thread = threading.Thread(target=lambda: supervisor.with_run(1, hog))
    thread.start()
    time.sleep(0.05)

    async def connect() -> tuple[Any, float]:
        started = time.monotonic()
        snapshot = await supervisor.alive_snapshot(1, timeout=0.2)
        return snapshot, time.monotonic() - started

    snapshot, waited = asyncio.run(connect())
    thread.join()
    assert waited < 0.6
    assert snapshot is not None and snapshot["busy"] and snapshot["state"] == "running"


def test_emails_go_to_djangos_backend_from_a_worker_at_a_bounded_rate(settings: Any) -> None:
    from django.core import mail

    from hosting.supervisor import EmailRelay

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    relay = EmailRelay(rate=5)
    relay.tokens = 5
    email = {"to": ["a@example.com"], "from": "shop@example.com", "subject": "Hi", "body": "Yo"}
    for _ in range(5):
        relay.submit(email)
    with pytest.raises(RuntimeError, match="Maximum sending rate exceeded"):
        relay.submit(email)
    relay.drain()
    assert len(mail.outbox) == 5 and mail.outbox[0].subject == "Hi"


def test_an_engine_that_never_stops_is_abandoned_and_the_run_reported_failed(
    states: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    class Stuck(FakeEngine):
        async def stop(self, reason: str = "") -> None:
            while True:  # ignores cancellation, like a task that swallows it
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    continue

    monkeypatch.setattr(supervision, "STOP_TIMEOUT", 0.2)
    chief = Supervisor(
        engine_factory=Stuck,
        on_state=lambda topology_id, state: states.append((topology_id, state)),
        send=Frames(),
    )
    chief.deploy(1, PIPELINE)
    info = chief.stop(1)
    assert "did not stop within" in info["error"]
    assert (1, "failed") in states
    chief.deploy(1, PIPELINE)  # the topology can run again
    chief._loop.call_soon_threadsafe(chief._closing.set)  # type: ignore[union-attr]


async def test_the_asgi_lifespan_shutdown_stops_every_run(states: list) -> None:
    import asyncio

    from config.asgi import application

    chief = Supervisor(
        engine_factory=FakeEngine,
        on_state=lambda topology_id, state: states.append((topology_id, state)),
        send=Frames(),
    )
    previous = supervision.set_supervisor(chief)
    try:
        await asyncio.to_thread(chief.deploy, 3, PIPELINE)
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: list[dict[str, Any]] = []
        for message in ("lifespan.startup", "lifespan.shutdown"):
            inbox.put_nowait({"type": message})

        async def send(message: dict[str, Any]) -> None:
            outbox.append(message)

        await application({"type": "lifespan"}, inbox.get, send)
    finally:
        supervision.set_supervisor(previous)
    assert [m["type"] for m in outbox] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    assert not chief.alive and (3, "running") in states and (3, "stopped") not in states
