"""R1 on the SQLite store: SIGKILL the real server while publishing, while consuming and while
messages move to the DLQ; restart; drain; no acknowledged message is lost (reliability §4).

Each seed runs one history: clients POST unique ids through the gateway (200 = acknowledged,
which the queue answers only after the store committed the message), the server is killed at
a seeded point in each phase and restarted (it resumes the run recorded as running), the rest
is published, and once ``inbox`` is empty the server is stopped and ``done`` and ``dlq`` are
read from the store file. The checker is Jepsen's total-queue.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from tests.hosting.crash.conftest import crash_messages, crash_seeds
from tests.hosting.crash.harness import (
    IN_FLIGHT_WINDOW,
    R1_FIGURES,
    READY_LIMIT,
    READY_TARGET,
    SUMMARY,
    Publisher,
    Server,
    Workspace,
    drain,
    total_queue,
    wait_for,
)

TOTAL = crash_messages(2000)
PATIENCE = max(60.0, TOTAL / 40)  # seconds a phase may take (10,000 messages: 250 s)


@pytest.mark.parametrize("seed", crash_seeds())
async def test_r1_sigkill_in_every_phase_loses_no_acknowledged_message(
    crash_template: Workspace, tmp_path: Path, seed: int
) -> None:
    print(f"\nR1 seed {seed}: {TOTAL} messages")
    rng = random.Random(seed)
    workspace = crash_template.copy(tmp_path / "workspace")
    server = Server(workspace)
    publisher = Publisher(TOTAL)
    ledger = publisher.ledger
    kills: list[tuple[str, dict[str, int]]] = []
    began = time.monotonic()
    marks: list[str] = []

    def kill(phase: str) -> None:
        kills.append((phase, workspace.depths()))
        server.kill()
        marks.append(f"{phase} {time.monotonic() - began:.1f}")

    try:
        await server.start()

        # 1. While publishing (and consuming): after a seeded number of acknowledgements.
        threshold = rng.randint(TOTAL // 10, TOTAL // 2)

        async def kill_while_publishing() -> None:
            await wait_for(lambda: len(ledger.acked) >= threshold or publisher.finished, PATIENCE)
            await asyncio.sleep(rng.uniform(0, 0.05))
            kill("publishing")

        await asyncio.gather(publisher.publish(server.url), kill_while_publishing())
        assert not publisher.finished, "the publishing phase ended before its kill"

        # 2. While consuming: the rest is published, then the kill comes once the worker has
        # consumed a seeded share of the backlog (so inbox still holds the rest).
        await server.start()
        await publisher.publish(server.url)
        assert publisher.finished, f"publishing stopped early: {ledger.statuses}"
        backlog = workspace.depths()
        share = rng.uniform(0.05, 0.6)
        consumed = backlog.get("done", 0) + max(1, int(share * backlog.get("inbox", 0)))
        reached = await wait_for(lambda: workspace.depths().get("done", 0) >= consumed, PATIENCE)
        assert reached, f"done stuck below {consumed}: {workspace.depths()}\n{server.log_tail()}"
        kill("consuming")
        assert kills[-1][1]["inbox"] > 0, f"nothing left to consume at the kill: {kills[-1]}"

        # 3. While messages move to the DLQ: right after a move is seen committed.
        await server.start()
        moved = workspace.depths().get("dlq", 0)
        seen = await wait_for(lambda: workspace.depths().get("dlq", 0) > moved, PATIENCE)
        await asyncio.sleep(rng.uniform(0, 0.03))
        kill("dlq moves" if seen else "dlq (no move seen)")

        # Restart, drain, stop cleanly, read the store.
        await server.start()
        await drain(workspace, server, PATIENCE)
        marks.append(f"drained {time.monotonic() - began:.1f}")
        await server.terminate()
        contents = await workspace.contents()
    finally:
        server.stop_quietly()

    verdict = total_queue(ledger, contents)
    ready = ", ".join(
        f"{t:.2f}" + (" (over the 10 s target)" if t >= READY_TARGET else "")
        for t in server.ready_times
    )
    line = (
        f"R1 sqlite seed {seed}: acked {verdict.acked}/{verdict.attempted}, lost "
        f"{len(verdict.lost)}, unexpected {len(verdict.unexpected)}, duplicated "
        f"{verdict.duplicated} (in done and dlq {len(verdict.in_both)}), recovered "
        f"{verdict.recovered}, done {verdict.done}, dlq {verdict.dlq}, restart-to-ready "
        f"{ready} s; kills: "
        + "; ".join(f"{phase} {depths}" for phase, depths in kills)
        + f"; timeline {marks}"
    )
    print(line)
    SUMMARY.append(line)
    R1_FIGURES.append(
        {
            "seed": seed,
            "kills": len(kills),
            "acked": verdict.acked,
            "lost": len(verdict.lost),
            "unexpected": len(verdict.unexpected),
            "duplicated": verdict.duplicated,
            "in_both": len(verdict.in_both),
            "dlq": verdict.dlq,
            "ready": server.ready_times,
        }
    )

    context = f"seed {seed}; server log {server.log_path}"
    assert not verdict.lost, f"{context}: acknowledged and lost: {verdict.lost[:20]}"
    assert not verdict.unexpected, f"{context}: never sent: {verdict.unexpected[:20]}"
    assert verdict.left == 0
    # A kill can duplicate at most what the worker finished (its output committed to done)
    # and inbox had not deleted yet: the batch in hand-over, one per poller (prefetch ×
    # consumers = 10) per kill. A DLQ move journals the copy and the source's removal back to
    # back; should they ever land in two commits with the kill in between, the moved records
    # come back too (every move of one receive) and this bound says so.
    bound = IN_FLIGHT_WINDOW * len(kills)
    assert verdict.duplicated <= bound, (
        f"{context}: {verdict.duplicated} duplicates over the in-flight bound {bound}: "
        f"{verdict.duplicated_ids[:20]}"
    )
    assert max(server.ready_times) < READY_LIMIT, f"restart-to-ready: {ready} s"
