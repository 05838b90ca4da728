"""Designer canvas speed: `python bench/canvas.py [--nodes 500] [--edges 1000] [--runs 5]`.

Builds a topology of 500 nodes and 1,000 legal edges in a throwaway SQLite database, serves it
with `manage.py runserver` on a free loopback port, opens the editor in the system Chromium and
prints the medians of: time to first full render (script start to two frames after drawing), a
fresh re-render, time to save (POST to stored revision), time to auto-layout (server round trip
plus redraw), and the frame time while dragging one node (pointer handler cost and frame interval).
Targets: render < 300 ms, drag < 16 ms a frame, save < 300 ms, layout < 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
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

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
TARGETS = {"render": 300, "save": 300, "layout": 200, "drag": 16}


def big_document(nodes: int, edges: int, seed: int = 1) -> dict[str, Any]:
    """Producers → queues → functions (which also feed each other and queues) → logs."""
    rng = random.Random(seed)
    shares = [("producer", 0.1), ("queue", 0.2), ("function", 0.5), ("log", 0.2)]
    kinds: list[str] = []
    for kind, share in shares:
        kinds += [kind] * round(nodes * share)
    kinds = (kinds + ["function"] * nodes)[:nodes]
    by_kind: dict[str, list[str]] = {}
    items = []
    for index, kind in enumerate(kinds):
        node_id = f"{kind}-{index}"
        by_kind.setdefault(kind, []).append(node_id)
        items.append(
            {
                "id": node_id,
                "kind": kind,
                "label": f"{kind.title()} {index}",
                "x": rng.randrange(0, 6000),
                "y": rng.randrange(0, 4000),
                "config": {},
            }
        )
    legal = [
        ("producer", "queue"),
        ("queue", "function"),
        ("function", "function"),
        ("function", "log"),
        ("function", "queue"),
    ]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < edges:
        source_kind, target_kind = rng.choice(legal)
        source = rng.choice(by_kind[source_kind])
        target = rng.choice(by_kind[target_kind])
        if source != target:
            pairs.add((source, target))
    links = [
        {"id": f"e{index}", "source": source, "target": target, "config": {}}
        for index, (source, target) in enumerate(sorted(pairs))
    ]
    return {
        "schema": "flowyard.topology/1",
        "name": "Canvas bench",
        "description": "",
        "nodes": items,
        "edges": links,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not listen on port {port} within {timeout} s")


def prepare(env: dict[str, str], nodes: int, edges: int) -> tuple[int, str]:
    """Migrates the throwaway DB, stores the topology and returns (its id, a session cookie)."""
    python = sys.executable
    subprocess.run(
        [python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from designer.models import Topology

    user = get_user_model().objects.create_user("bench")
    topology = Topology.create_from_document(user, big_document(nodes, edges))
    client = Client()
    client.force_login(user)
    return topology.pk, client.cookies[settings.SESSION_COOKIE_NAME].value


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def measure(base: str, pk: int, session: str, runs: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    results: dict[str, list[float]] = {
        "render": [],
        "rerender": [],
        "save": [],
        "layout": [],
        "drag": [],
        "frame": [],
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
        page = context.new_page()
        for _ in range(runs):
            page.goto(f"{base}/topologies/{pk}/")
            page.wait_for_function("window.flowyard && window.flowyard.performance.firstRender")
            results["render"].append(page.evaluate("window.flowyard.performance.firstRender"))
        count = page.locator("g.node").count()
        edges = page.locator(".edge[data-edge-id]").count()
        print(f"drawn: {count} nodes, {edges} edges", flush=True)

        for _ in range(runs):
            results["rerender"].append(
                page.evaluate(
                    """async () => {
                        const c = window.flowyard.canvas;
                        c.layers.nodes.replaceChildren(); c.layers.edges.replaceChildren();
                        c.nodeEls.clear(); c.edgeEls.clear();
                        const t0 = performance.now();
                        c.render();
                        const t1 = performance.now();
                        c.svg.getBoundingClientRect(); c.layers.nodes.getBBox();
                        const t2 = performance.now();
                        const frame = () => new Promise(r => requestAnimationFrame(r));
                        await frame(); await frame();
                        return performance.now() - t0;
                    }"""
                )
            )

        for index in range(runs):
            results["save"].append(
                page.evaluate(
                    """async (index) => {
                        const f = window.flowyard;
                        f.store.edit("bench", (doc) => { doc.nodes[0].x += 20; });
                        const t0 = performance.now();
                        await f.save();
                        if (f.state.version < 2) throw new Error("save failed");
                        return performance.now() - t0;
                    }""",
                    index,
                )
            )

        for _ in range(runs):
            results["layout"].append(
                page.evaluate(
                    """async () => {
                        const t0 = performance.now();
                        await window.flowyard.autoLayout();
                        await new Promise(r => requestAnimationFrame(r));
                        return performance.now() - t0;
                    }"""
                )
            )
        dragged = page.evaluate(
            "window.flowyard.store.doc.nodes.find((n) => n.kind === 'function').id"
        )
        page.evaluate("(id) => window.flowyard.canvas.fit([id], 1)", dragged)

        # Drag one node: time each pointermove handler, and the interval between frames.
        page.evaluate(
            """() => {
                const c = window.flowyard.canvas;
                window.benchMoves = []; window.benchFrames = [];
                const original = c.pointerMove.bind(c);
                c.pointerMove = (event) => {
                    // The handler plus the style and layout it causes (forced): a frame's work.
                    const t0 = performance.now(); original(event);
                    c.svg.getBoundingClientRect(); c.layers.nodes.getBBox();
                    window.benchMoves.push(performance.now() - t0);
                };
                let last = performance.now();
                const tick = (now) => {
                    window.benchFrames.push(now - last); last = now;
                    if (!window.benchStop) requestAnimationFrame(tick);
                };
                requestAnimationFrame(tick);
            }"""
        )
        box = page.locator(f'g.node[data-node-id="{dragged}"] .node-body').bounding_box()
        assert box
        x, y = box["x"] + 40, box["y"] + 20
        page.mouse.move(x, y)
        page.mouse.down()
        for step in range(120):
            page.mouse.move(x + step * 3, y + (step % 20) * 2)
        page.mouse.up()
        page.evaluate("window.benchStop = true")
        results["drag"] = page.evaluate("window.benchMoves")
        results["frame"] = page.evaluate("window.benchFrames.slice(2)")
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--edges", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="flowyard-bench-") as folder:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{folder}/bench.sqlite3",
            "DJANGO_DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        pk, session = prepare(env, args.nodes, args.edges)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(port)
            results = measure(f"http://127.0.0.1:{port}", pk, session, args.runs)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()

    figures = {
        "render": median(results["render"]),
        "re-render": median(results["rerender"]),
        "save": median(results["save"]),
        "layout": median(results["layout"]),
        "drag": median(results["drag"]),
        "frame": median(results["frame"]),
    }
    print(f"{args.nodes} nodes / {args.edges} edges, median of {args.runs} runs")
    rows = [
        ("first full render", figures["render"], "render"),
        ("re-render from scratch", figures["re-render"], "render"),
        ("save (POST → revision stored)", figures["save"], "save"),
        ("auto-layout (server + redraw)", figures["layout"], "layout"),
        ("drag: work per move (JS+layout)", figures["drag"], "drag"),
    ]
    for name, value, target in rows:
        verdict = "ok" if value < TARGETS[target] else "OVER"
        print(f"  {name:32} {value:8.1f} ms   (target < {TARGETS[target]} ms: {verdict})")
    p95 = sorted(results["drag"])[int(len(results["drag"]) * 0.95) - 1] if results["drag"] else 0
    print(f"  {'drag: work per move, p95':32} {p95:8.1f} ms   over {len(results['drag'])} moves")
    frames = results["frame"]
    late = sum(1 for interval in frames if interval > 20) / max(1, len(frames))
    print(
        f"  {'drag: frame interval':32} {figures['frame']:8.1f} ms   "
        f"({late:.0%} of {len(frames)} frames later than 20 ms)"
    )
    print(f"  (load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
