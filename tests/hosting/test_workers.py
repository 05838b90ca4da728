"""Scale-out with real processes: two web processes and two runtime workers on one database and
one Redis behave as one system, and a killed worker's run moves to the other with its state."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from django.contrib.auth import get_user_model
from django.test import Client

from designer.models import Topology
from hosting.models import RunStatus
from tests.conftest import SESSION_REDIS_PREFIX
from tests.hosting.gateway.live import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
LEASE_TTL = 3.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Cluster:
    """The processes of one scaled-out install, started from scratch (never forked)."""

    env: dict[str, str]
    logs: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    webs: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def worker(self, name: str) -> None:
        self.workers[name] = self.spawn(
            name, sys.executable, "manage.py", "runtime_worker", "--interval", "0.2"
        )

    def web(self, name: str) -> str:
        port = free_port()
        daphne = str(Path(sys.executable).with_name("daphne"))
        self.spawn(name, daphne, "-b", "127.0.0.1", "-p", str(port), "config.asgi:application")
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: port_open(port), 30, f"{name} did not start")
        self.webs[name] = base
        return base

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for(check: Any, timeout: float, message: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(message)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    prefix = f"{SESSION_REDIS_PREFIX}cluster-{uuid.uuid4().hex[:8]}:"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": REDIS_URL,
        "FLOWYARD_REDIS_PREFIX": prefix,
        "FLOWYARD_HOSTING": "workers",
        "FLOWYARD_RUN_STORE": "redis",
        "FLOWYARD_LEASE_TTL": str(LEASE_TTL),
        "FLOWYARD_RUNS_DIR": str(tmp_path / "runs"),
        "FLOWYARD_LIVE_TICK": "0.1",
    }
    found = Cluster(env, tmp_path)
    try:
        yield found
    finally:
        found.stop()
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            client.delete(key)
        client.close()


def document() -> dict[str, Any]:
    """POST /msg → queue `inbox` → function → queue `done` (nobody consumes `done`)."""

    def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
        return {"id": node_id, "kind": kind, "label": node_id, "x": 0, "y": 0, "config": config}

    route = {
        "method": "POST",
        "path": "/msg",
        "integration": {"action": "SendMessage", "target": "inbox"},
    }
    return {
        "schema": "flowyard.topology/1",
        "name": f"Workers {uuid.uuid4().hex[:6]}",
        "description": "",
        "nodes": [
            node("api", "http_api", stage="prod", routes=[route]),
            node("inbox", "queue", visibility_timeout=2),
            node("worker", "function", timeout=1),
            node("done", "queue"),
        ],
        "edges": [
            {"id": "e1", "source": "api", "target": "inbox", "config": {}},
            {"id": "e2", "source": "inbox", "target": "worker", "config": {}},
            {"id": "e3", "source": "worker", "target": "done", "config": {}},
        ],
    }


def run_command(base: str, session: str, topology: Topology, action: str) -> httpx.Response:
    """A run command as a script sends it: CSRF token from the editor, JSON answer."""
    with httpx.Client(base_url=base, cookies={"sessionid": session}, timeout=60) as client:
        client.get(f"/topologies/{topology.pk}/")
        token = client.cookies.get("csrftoken", "")
        return client.post(
            f"/topologies/{topology.pk}/run/{action}/",
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )


def owner_session() -> tuple[Any, str]:
    owner = get_user_model().objects.create_user(f"ops-{uuid.uuid4().hex[:6]}", password="x-1")
    login = Client()
    login.force_login(owner)
    return owner, login.cookies["sessionid"].value


def status(topology: Topology) -> dict[str, Any]:
    row = RunStatus.objects.filter(topology_id=topology.pk).first()
    if row is None:
        return {}
    return {"state": row.state, "host": row.host, **json.loads(row.details)}


async def watch(base: str, session: str, topology: Topology, poke: Any) -> list[dict[str, Any]]:
    """The live socket of ``base`` for the topology: the snapshot, then frames for a while."""
    url = base.replace("http://", "ws://") + f"/ws/topologies/{topology.pk}/"
    frames: list[dict[str, Any]] = []
    async with websockets.connect(
        url, origin=base, additional_headers={"Cookie": f"sessionid={session}"}
    ) as socket:
        frames.append(json.loads(await asyncio.wait_for(socket.recv(), 10)))
        await asyncio.to_thread(poke)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3):
                while len(frames) < 5:
                    frames.append(json.loads(await socket.recv()))
    return frames


def running_status(topology: Topology, not_on: str = "") -> Any:
    def check() -> dict[str, Any] | None:
        found = status(topology)
        if found.get("state") == "running" and found.get("host") != not_on:
            return found
        return None

    return check


def post(base: str, topology: Topology, number: int) -> int:
    answer = httpx.post(f"{base}/gw/{topology.slug}/prod/msg", json={"n": number}, timeout=30)
    return answer.status_code


def test_two_web_processes_and_two_workers_behave_as_one_system(cluster: Cluster) -> None:
    owner, session = owner_session()
    topology = Topology.create_from_document(owner, document())
    cluster.worker("worker-a")
    cluster.worker("worker-b")
    web_one, web_two = cluster.web("web-one"), cluster.web("web-two")

    # Deploy on one web process: a worker takes the run, under its lease.
    answer = run_command(web_one, session, topology, "deploy")
    assert answer.status_code == 200, answer.text[:300] + cluster.log("web-one")
    first = wait_for(
        lambda: status(topology).get("state") == "running" and status(topology),
        20,
        "no worker took the run",
    )
    assert first["store"]["store"] == "redis"

    # A second deploy is refused, from either web process.
    again = run_command(web_two, session, topology, "deploy")
    assert again.status_code == 409 and "already" in again.text

    # The gateway answers on both web processes, served by the worker that owns the run.
    acked = [n for n in range(40) if post((web_one, web_two)[n % 2], topology, n) == 200]
    assert len(acked) == 40, cluster.log("web-one") + cluster.log("worker-a")

    # The live view on the other web process: a snapshot from the worker, then frames.
    live = asyncio.run(watch(web_two, session, topology, lambda: post(web_one, topology, 99)))
    assert live[0]["type"] == "snapshot" and "inbox" in live[0]["nodes"], live[:1]
    assert any(frame.get("type") != "snapshot" for frame in live[1:]), live

    # The toolbar of the other web process shows the run as running, on a worker.
    with httpx.Client(base_url=web_two, cookies={"sessionid": session}, timeout=30) as client:
        toolbar = client.get(
            f"/topologies/{topology.pk}/run/", headers={"Accept": "application/json"}
        )
    assert toolbar.json()["state"] == "running"

    # Kill the owning worker: the other takes the run over once the lease lapses, with the
    # state Redis kept, and the gateway answers again on both web processes.
    owner_worker = first["host"]
    victim = next(
        name
        for name, process in cluster.workers.items()
        if owner_worker.endswith(f":{process.pid}")
    )
    cluster.workers[victim].send_signal(signal.SIGKILL)
    cluster.workers[victim].wait(10)
    taken = wait_for(
        lambda: (
            (s := status(topology)).get("state") == "running" and s["host"] != owner_worker and s
        ),
        LEASE_TTL * 4 + 10,
        "the surviving worker did not take the run over",
    )
    assert taken["host"] != owner_worker
    later = [n for n in range(40, 60) if post((web_two, web_one)[n % 2], topology, n) == 200]
    assert len(later) == 20, cluster.log("web-two")[-1500:] + str(taken)

    # Everything acknowledged reaches `done` (in-flight messages of the dead worker come back
    # after their visibility timeout): nothing acknowledged is lost.
    def consumed() -> set[int]:
        nodes = status(topology).get("nodes", {})
        return nodes.get("done", {}).get("depth", 0) >= 60 and nodes["done"]

    wait_for(consumed, 30, f"not everything reached done: {status(topology).get('nodes')}")

    # Stop from the second web process: the worker stops the run and records it.
    stop = run_command(web_two, session, topology, "stop")
    assert stop.status_code == 200
    topology.refresh_from_db()
    assert topology.run_state == "stopped"
