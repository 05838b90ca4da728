"""Gateway benchmark (loopback only, bounded): a POST route into an event bus over real HTTP.

    .venv/bin/python bench/gateway.py [--rounds 3] [--requests 1500] [--seconds 5]

Starts daphne on 127.0.0.1 with a throwaway SQLite database, deploys a topology through the
designer like a person would, then measures requests/s and p50/p99 latency at 1, 10 and 50
concurrent clients (median of the rounds), and the token bucket's accuracy: the rate it lets
through over 10 s, on the virtual clock and over HTTP, against the configured rate.

Two mounts are measured: the Django views (``config.urls``, through the middleware stack) and
the plain ASGI gateway mounted in front of Django (``hosting.gateway.asgi.with_gateway``, served
here as ``bench.gateway:application``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CONCURRENCY = (1, 10, 50)
MOUNTS = {"django views": "config.asgi:application", "plain ASGI": "bench.gateway:application"}


def __getattr__(name: str) -> object:
    # daphne imports ``bench.gateway:application``: the studio with the gateway mounted in front.
    if name == "application":
        from config.asgi import application as studio
        from hosting.gateway.asgi import with_gateway

        return with_gateway(studio)
    raise AttributeError(name)


BUCKET_RATE, BUCKET_BURST, BUCKET_SECONDS = 10.0, 2, 10.0  # low enough for a busy machine


def document() -> dict[str, Any]:
    from runtime.spec import SCHEMA

    def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
        return {"id": node_id, "kind": kind, "label": node_id, "x": 0, "y": 0, "config": config}

    orders = {
        "method": "POST",
        "path": "/orders",
        "integration": {"action": "PutEvents", "target": "bus"},
    }
    return {
        "schema": SCHEMA,
        "name": "Gateway bench",
        "nodes": [
            node("api", "http_api", routes=[orders]),
            node(
                "limited",
                "http_api",
                stage="limited",
                routes=[orders],
                throttle_rate=BUCKET_RATE,
                throttle_burst=BUCKET_BURST,
            ),
            node("bus", "event_bus", bus_name="bench"),
            node("all", "rule", event_pattern={"source": [{"prefix": ""}]}),
            node("sink", "log"),
        ],
        "edges": [
            {"id": "e1", "source": "api", "target": "bus", "config": {}},
            {"id": "e2", "source": "limited", "target": "bus", "config": {}},
            {"id": "e3", "source": "bus", "target": "all", "config": {}},
            {"id": "e4", "source": "all", "target": "sink", "config": {}},
        ],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_database(path: Path) -> tuple[str, int]:
    """Migrate a fresh SQLite database and create the topology; returns (session, topology id)."""
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from designer.models import Topology

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="bench-password-1")
    topology = Topology.create_from_document(user, document())
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value, topology.pk


def start_server(port: int, app: str) -> subprocess.Popen[bytes]:
    daphne = Path(sys.executable).with_name("daphne")
    process = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), app],
        cwd=ROOT,
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("daphne did not start")


def deploy(base: str, session: str, topology_id: int) -> None:
    import httpx

    with httpx.Client(base_url=base, cookies={"sessionid": session}, timeout=30) as client:
        client.get(f"/topologies/{topology_id}/")
        token = client.cookies.get("csrftoken", "")
        answer = client.post(
            f"/topologies/{topology_id}/run/deploy/", headers={"X-CSRFToken": token}
        )
        if answer.status_code not in (200, 302):
            raise SystemExit(f"deploy failed: {answer.status_code} {answer.text[:300]}")


async def load(url: str, clients: int, requests: int, seconds: float) -> dict[str, float]:
    """``clients`` concurrent clients POST until ``requests`` are done or ``seconds`` pass."""
    import httpx

    latencies: list[float] = []
    statuses: dict[int, int] = {}
    body = b'{"Source": "bench", "DetailType": "Order", "Detail": {"total": 1}}'
    headers = {"content-type": "application/json"}
    deadline = time.perf_counter() + seconds
    remaining = [requests]

    async def client(http: httpx.AsyncClient) -> None:
        while remaining[0] > 0 and time.perf_counter() < deadline:
            remaining[0] -= 1
            started = time.perf_counter()
            answer = await http.post(url, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            for _ in range(clients):
                group.create_task(client(http))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "ok": statuses.get(200, 0) / max(1, len(latencies)),
    }


async def throttled_rate(url: str, seconds: float) -> float:
    """Requests per second the limited stage lets through while 10 clients hammer it: the
    tokens after the burst, over the time between the first and the last allowed request."""
    import httpx

    allowed: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            answer = await http.post(url, content=b"{}")
            if answer.status_code == 200:
                allowed.append(sent)

    async with httpx.AsyncClient(timeout=30) as http, asyncio.TaskGroup() as group:
        for _ in range(10):
            group.create_task(client(http))
    allowed.sort()
    return (len(allowed) - BUCKET_BURST) / max(1e-9, allowed[-1] - allowed[0])


def virtual_bucket_rate() -> float:
    """The same bucket on a virtual clock: 100 attempts/s for 10 s, allowed per second."""
    from hosting.gateway.throttle import TokenBucket

    bucket = TokenBucket(BUCKET_RATE, BUCKET_BURST, 0.0)
    attempts = int(BUCKET_SECONDS * 100)
    allowed = sum(bucket.take(i / 100) for i in range(attempts + 1))  # t = 0 .. 10 s inclusive
    return (allowed - BUCKET_BURST) / BUCKET_SECONDS


def measure(app: str, session: str, topology_id: int, options: argparse.Namespace) -> None:
    port = free_port()
    server = start_server(port, app)
    base = f"http://127.0.0.1:{port}"
    try:
        deploy(base, session, topology_id)
        url = f"{base}/gw/gateway-bench/prod/orders"
        asyncio.run(load(url, 10, 200, 5))  # warm-up
        print(f"{'clients':>8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'200s':>6}")
        for clients in CONCURRENCY:
            rounds = [
                asyncio.run(load(url, clients, options.requests, options.seconds))
                for _ in range(options.rounds)
            ]
            median = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
            print(
                f"{clients:>8} {median['rps']:>9.0f} {median['p50']:>8.2f} "
                f"{median['p99']:>8.2f} {median['ok']:>6.0%}"
            )
        limited = f"{base}/gw/gateway-bench/limited/orders"
        report_bucket("over HTTP", asyncio.run(throttled_rate(limited, BUCKET_SECONDS)))
    finally:
        server.terminate()
        server.wait(10)


def report_bucket(name: str, rate: float) -> None:
    error = abs(rate - BUCKET_RATE) / BUCKET_RATE
    verdict = "ok" if error <= 0.05 else "OFF"
    print(
        f"token bucket ({name}): configured {BUCKET_RATE:g}/s burst {BUCKET_BURST}, "
        f"allowed {rate:.2f}/s over {BUCKET_SECONDS:g} s ({error:.1%} off) {verdict}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=1500, help="per round, at most")
    parser.add_argument("--seconds", type=float, default=5.0, help="per round, at most")
    parser.add_argument("--mount", choices=[*MOUNTS, "both"], default="both")
    options = parser.parse_args()
    print(
        f"POST /orders → PutEvents over HTTP (daphne, loopback); median of {options.rounds} "
        f"rounds of ≤{options.requests} requests / ≤{options.seconds:g} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    report_bucket("virtual clock", virtual_bucket_rate())
    with tempfile.TemporaryDirectory() as folder:
        session, topology_id = prepare_database(Path(folder) / "bench.sqlite3")
        for name, app in MOUNTS.items():
            if options.mount in (name, "both"):
                print(f"-- {name} ({app})")
                measure(app, session, topology_id, options)


if __name__ == "__main__":
    main()
