"""Live updates under load: the demo with its Checkout producer as load at 5,000 messages/s.

Run: ``.venv/bin/python bench/live.py [--rate 5000] [--seconds 5] [--repeat 3]``. Loopback only
and bounded: a daphne server on 127.0.0.1 (a child process with its own SQLite file), one
websocket client, a few seconds per run. Prints medians of:

* frames per second and bytes per second a websocket client receives (target: ≤ 20 frames/s);
* the server's event-loop lag p99, sampled every 10 ms on daphne's loop (target: < 50 ms);
* the engine's throughput with and without the live observers, in-process at full speed
  (target: overhead < 15%).

The partner webhook points at a refused loopback address, so nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
LAG_INTERVAL = 0.01
ENGINE_MESSAGES = 30_000
ENGINE_BATCH = 100


# Left out by default: at thousands of orders per second the payment workflow's executions and
# the webhook's retries saturate the engine (see --whole-demo), which is the engine's limit to
# measure (bench/engine.py), not the live view's.
HEAVY = ("payment-workflow", "charge-card", "partner-webhook")


def bench_document(rate: float, seconds: float, *, whole: bool = False) -> dict[str, Any]:
    from designer.demo import demo_document

    document = demo_document()
    for node in document["nodes"]:
        if node["id"] == "checkout":
            node["config"].update(mode="load", rate=rate, duration=max(1, int(seconds) + 30))
        if node["id"] == "partner-webhook":
            node["config"]["url"] = "http://127.0.0.1:9/refused"  # the SSRF guard refuses it
    if not whole:
        document["nodes"] = [n for n in document["nodes"] if n["id"] not in HEAVY]
        document["edges"] = [
            e for e in document["edges"] if e["source"] not in HEAVY and e["target"] not in HEAVY
        ]
    return document


# --- the server child -----------------------------------------------------------------------------


def serve(port: int, lag_file: str) -> None:
    """daphne on 127.0.0.1:port with a lag probe on its loop; writes samples on SIGTERM."""
    import logging

    import django

    django.setup()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("hosting").setLevel(logging.INFO)
    from daphne.server import Server  # installs the asyncio reactor
    from twisted.internet import reactor

    from config.asgi import application

    samples: list[tuple[float, float]] = []

    def probe(expected: float) -> None:
        now = time.monotonic()
        samples.append((time.time(), max(0.0, now - expected)))
        reactor.callLater(LAG_INTERVAL, probe, time.monotonic() + LAG_INTERVAL)

    def dump() -> None:
        Path(lag_file).write_text(json.dumps(samples))

    reactor.callWhenRunning(probe, time.monotonic())
    reactor.addSystemEventTrigger("before", "shutdown", dump)
    server = Server(
        application=application,
        endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
        signal_handlers=True,
    )
    server.run()


# --- the client side ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(rate: float, seconds: float, whole: bool) -> tuple[int, str]:
    """A user, the bench topology and a session in the bench database."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from designer.models import Topology

    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench")
    topology = Topology.create_from_document(user, bench_document(rate, seconds, whole=whole))
    client = Client()
    client.force_login(user)
    return topology.pk, client.cookies["sessionid"].value


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("the bench server did not start")


def command(base: str, session: str, topology: int, action: str) -> None:
    import httpx

    with httpx.Client(base_url=base, cookies={"sessionid": session}, timeout=60) as http:
        http.get(f"/topologies/{topology}/")
        token = http.cookies.get("csrftoken", "")
        response = http.post(
            f"/topologies/{topology}/run/{action}/",
            headers={"X-CSRFToken": token, "Accept": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"{action} failed: {response.status_code} {response.text[:300]}")


def watch(port: int, session: str, topology: int, seconds: float) -> dict[str, Any]:
    """Frames and bytes a websocket client receives during ``seconds`` of load."""
    from websockets.sync.client import connect

    url = f"ws://127.0.0.1:{port}/ws/topologies/{topology}/"
    headers = {"Cookie": f"sessionid={session}"}
    frames = 0
    size = 0
    delivered = 0
    with connect(url, origin=f"http://127.0.0.1:{port}", additional_headers=headers) as ws:
        ws.recv(timeout=5)  # the snapshot
        started = time.monotonic()
        window = (time.time(), 0.0)
        while (elapsed := time.monotonic() - started) < seconds:
            try:
                text = ws.recv(timeout=max(0.01, seconds - elapsed))
            except TimeoutError:
                break
            frames += 1
            size += len(text)
            frame = json.loads(text)
            delivered += frame.get("nodes", {}).get("fulfilment-log", {}).get("d", {}).get("in", 0)
        window = (window[0], time.time())
    elapsed = seconds
    return {
        "frames_per_s": frames / elapsed,
        "bytes_per_s": size / elapsed,
        "delivered_per_s": delivered / elapsed,
        "window": window,
    }


def use_scratch_database() -> str:
    """A throw-away SQLite file and state dir, set before Django reads its settings."""
    workdir = tempfile.mkdtemp(prefix="flowyard-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["FLOWYARD_STATE_DIR"] = workdir
    os.environ.pop("REDIS_URL", None)  # the embedded layer: consumers and runs share a process
    return workdir


def live_run(rate: float, seconds: float, workdir: str, whole: bool) -> dict[str, Any]:
    """One server, one deploy, one client: frame rate, bytes, server loop lag."""
    env = dict(os.environ)
    topology, session = prepare(rate, seconds, whole)
    port = free_port()
    lag_file = f"{workdir}/lag-{topology}.json"
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), "--lag-file", lag_file],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"
        command(base, session, topology, "deploy")
        time.sleep(0.5)  # let the load reach its rate
        seen = watch(port, session, topology, seconds)
        stopping = time.monotonic()
        for attempt in range(3):  # a saturated run may take more than one request to stop
            try:
                command(base, session, topology, "stop")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        seen["stop_s"] = time.monotonic() - stopping
        print(f"  run: {json.dumps({k: v for k, v in seen.items() if k != 'window'})}", flush=True)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    samples = json.loads(Path(lag_file).read_text()) if Path(lag_file).exists() else []
    start, end = seen.pop("window")
    lags = sorted(lag for at, lag in samples if start <= at <= end)
    seen["lag_p99_ms"] = lags[int(0.99 * (len(lags) - 1))] * 1000 if lags else float("nan")
    seen["lag_p50_ms"] = statistics.median(lags) * 1000 if lags else float("nan")
    return seen


# --- engine throughput with and without observers -----------------------------------------------


async def engine_rate(observed: bool, messages: int, whole: bool) -> tuple[float, float]:
    """Orders per second through the demo's order path (Checkout to the Fulfilment log), pushed
    as fast as the engine takes them, with or without the live recorder and a 50 ms ticker."""
    from hosting.live import Ticker
    from runtime.engine import Engine
    from runtime.observers import Recorder
    from runtime.spec import load

    document = bench_document(1, 1, whole=whole)
    for node in document["nodes"]:
        if node["id"] == "checkout":
            node["config"]["mode"] = "manual"
    recorder = Recorder()
    engine = Engine(load(document), observer=recorder if observed else None)
    ticker = None
    if observed:
        recorder.tap(engine)

        async def discard(topology_id: Any, frame: dict[str, Any]) -> bool:
            return True

        ticker = Ticker(0, engine, recorder, "bench", interval=0.05, send=discard)
    await engine.start()
    producer = engine.node("checkout")
    log = engine.node("fulfilment-log")
    try:
        async with asyncio.TaskGroup() as group:
            ticking = group.create_task(ticker.run()) if ticker else None
            started, cpu = time.perf_counter(), time.process_time()
            sent = 0
            while log.stats.received < messages:
                if sent < messages:
                    await producer.emit(min(ENGINE_BATCH, messages - sent))
                    sent += ENGINE_BATCH
                await asyncio.sleep(0)
                if time.perf_counter() - started > 60:
                    raise RuntimeError("the engine did not drain in 60 s")
            elapsed, used = time.perf_counter() - started, time.process_time() - cpu
            if ticking:
                ticking.cancel()
    finally:
        await engine.stop()
    # CPU seconds too: on a shared 2-core machine wall-clock rates swing with other work.
    return messages / elapsed, messages / used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=5000)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--whole-demo", action="store_true", help="keep the payment workflow and the webhook"
    )
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--lag-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.lag_file)
        return
    repeat = max(1, min(args.repeat, 5))
    seconds = max(1.0, min(args.seconds, 20.0))

    workdir = use_scratch_database()
    whole = args.whole_demo
    runs = [live_run(args.rate, seconds, workdir, whole) for _ in range(repeat)]
    plain: list[tuple[float, float]] = []
    observed: list[tuple[float, float]] = []
    for _ in range(repeat * 2):  # alternate, so drift hits both alike
        plain.append(asyncio.run(engine_rate(False, ENGINE_MESSAGES, whole)))
        observed.append(asyncio.run(engine_rate(True, ENGINE_MESSAGES, whole)))

    def median(key: str) -> float:
        return statistics.median(run[key] for run in runs)

    def rate(runs: list[tuple[float, float]], index: int) -> float:
        return statistics.median(run[index] for run in runs)

    overhead = 1 - rate(observed, 1) / rate(plain, 1)
    scope = "the whole demo" if whole else f"the demo without {', '.join(HEAVY)}"
    print(f"live updates, {scope}, Checkout as load at {args.rate:,.0f} msg/s, {repeat} runs:")
    print(f"  frames/s received       {median('frames_per_s'):8.1f}   (target ≤ 20)")
    print(f"  bytes/s received        {median('bytes_per_s'):8.0f}")
    print(f"  orders delivered/s      {median('delivered_per_s'):8.0f}   (as the frames report)")
    print(f"  server loop lag p50     {median('lag_p50_ms'):8.2f} ms")
    print(f"  server loop lag p99     {median('lag_p99_ms'):8.2f} ms (target < 50)")
    print(f"  stop under load         {median('stop_s'):8.2f} s")
    print(f"engine flat out, in-process, {ENGINE_MESSAGES:,} orders Checkout → Fulfilment log:")
    for name, measured in (("without observers", plain), ("with live observers", observed)):
        cpu = rate(measured, 1)
        print(f"  {name:<22}  {rate(measured, 0):8.0f} msg/s  ({cpu:.0f} per CPU second)")
    print(f"  observer overhead       {overhead * 100:8.1f} %    of CPU per message (target < 15)")


if __name__ == "__main__":
    main()
