"""Engine throughput: producer → bus → rule → queue → function → log, against a bare asyncio chain.

Run: ``.venv/bin/python bench/engine.py [--messages 100000] [--repeat 3]``. Prints the median
messages per second of each scenario, peak memory, and the ratio to a bare asyncio.Queue chain of
the same length (six stages, five hand-offs). The memory store is used and an observer is
attached that reads ``snapshot()`` every 50 ms, as the live publisher does.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.engine import HEADLESS_GC_THRESHOLD, Engine  # noqa: E402
from runtime.events import Event  # noqa: E402
from runtime.spec import load  # noqa: E402

BATCH = 1000


class TickingObserver:
    """Counts rare events and reads a snapshot per tick, like the live publisher."""

    wants_messages = False

    def __init__(self) -> None:
        self.events = 0
        self.snapshots = 0

    def emit(self, event: Event) -> None:
        self.events += 1


def chain_document(rules: int) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = [
        {"id": "producer", "kind": "producer", "config": {"body": {"order": 1, "total": 12.5}}},
        {"id": "bus", "kind": "event_bus", "config": {"bus_name": "orders"}},
        {"id": "fn", "kind": "function", "config": {"batch_size": 10, "timeout": 3}},
        {"id": "log", "kind": "log", "config": {"keep_last": 100}},
    ]
    edges: list[dict[str, Any]] = [
        {"id": "p-bus", "source": "producer", "target": "bus"},
        {"id": "fn-log", "source": "fn", "target": "log"},
    ]
    for index in range(rules):
        pattern = {"source": ["flowyard.producer"], "detail": {"total": [{"numeric": [">", 0]}]}}
        nodes.append({"id": f"rule{index}", "kind": "rule", "config": {"event_pattern": pattern}})
        nodes.append({"id": f"queue{index}", "kind": "queue", "config": {}})
        edges.append({"id": f"bus-r{index}", "source": "bus", "target": f"rule{index}"})
        edges.append({"id": f"r{index}-q", "source": f"rule{index}", "target": f"queue{index}"})
        edges.append({"id": f"q{index}-fn", "source": f"queue{index}", "target": "fn"})
    return {"schema": "flowyard.topology/1", "name": "bench", "nodes": nodes, "edges": edges}


Rate = tuple[float, float]  # (messages per wall-clock second, per CPU second)


async def run_engine(messages: int, rules: int, gc_threshold: Any = None) -> Rate:
    observer = TickingObserver()
    engine = Engine(load(chain_document(rules)), observer=observer, gc_threshold=gc_threshold)
    await engine.start()
    producer = engine.node("producer")
    log = engine.node("log")
    expected = messages * rules
    start, cpu = time.perf_counter(), time.process_time()
    sent = 0
    next_tick = start + 0.05
    while log.stats.received < expected:
        if sent < messages:
            await producer.emit(min(BATCH, messages - sent))  # type: ignore[attr-defined]
            sent += BATCH
        await asyncio.sleep(0)
        if time.perf_counter() >= next_tick:
            engine.snapshot()
            observer.snapshots += 1
            next_tick += 0.05
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    await engine.stop()
    return messages / elapsed, messages / used


async def run_bare(messages: int, stages: int = 6, gc_threshold: Any = None) -> Rate:
    before = gc.get_threshold()
    if gc_threshold:
        gc.set_threshold(*gc_threshold)
    try:
        return await _bare(messages, stages)
    finally:
        gc.set_threshold(*before)


async def _bare(messages: int, stages: int) -> Rate:
    queues: list[asyncio.Queue[Any]] = [asyncio.Queue() for _ in range(stages - 1)]
    done = asyncio.get_running_loop().create_future()

    async def relay(inbox: asyncio.Queue[Any], outbox: asyncio.Queue[Any]) -> None:
        while True:
            await outbox.put(await inbox.get())

    async def sink(inbox: asyncio.Queue[Any]) -> None:
        for _ in range(messages):
            await inbox.get()
        done.set_result(None)

    async def produce() -> None:
        for number in range(messages):
            await queues[0].put({"order": number})

    start, cpu = time.perf_counter(), time.process_time()
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(relay(queues[i], queues[i + 1])) for i in range(stages - 2)]
        tasks.append(group.create_task(sink(queues[-1])))
        group.create_task(produce())
        await done
        for task in tasks:
            task.cancel()
    return messages / (time.perf_counter() - start), messages / (time.process_time() - cpu)


def peak_memory(messages: int) -> float:
    """Peak traced Python memory (MiB) of one chain run (separate run: tracing slows it)."""
    gc.collect()
    tracemalloc.start()
    asyncio.run(run_engine(messages, 1))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def median(runs: int, factory: Any) -> Rate:
    rates = [asyncio.run(factory()) for _ in range(runs)]
    return statistics.median(r[0] for r in rates), statistics.median(r[1] for r in rates)


def line(name: str, rate: Rate, bare: Rate, unit: str = "msg/s", factor: int = 1) -> str:
    wall, cpu = rate[0] * factor, rate[1] * factor
    return (
        f"{name:<34}: {wall:>10,.0f} {unit} wall ({wall / bare[0]:.2f} of bare), "
        f"{cpu:>10,.0f} per CPU-second ({cpu / bare[1]:.2f} of bare)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n, repeat = args.messages, args.repeat
    load = os.getloadavg()[0]
    print(f"{n:,} messages per run (fan-out: {n // 10:,} events x 10 queues), median of {repeat}")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs: CPU-second rates are the fair ratio")
    rss = 0.0
    for label, threshold in (("default GC", None), ("tuned GC", HEADLESS_GC_THRESHOLD)):
        bare = median(repeat, lambda t=threshold: run_bare(n, gc_threshold=t))
        chain = median(repeat, lambda t=threshold: run_engine(n, 1, t))
        fan_out = median(repeat, lambda t=threshold: run_engine(n // 10, 10, t))
        print(f"-- {label} (gc threshold {threshold or gc.get_threshold()}) --")
        print(line("bare asyncio.Queue chain, 6 stages", bare, bare))
        print(line("engine chain (1 rule, 1 queue)", chain, bare))
        print(line("engine fan-out, deliveries", fan_out, bare, "dlv/s", 10))
        met = chain[1] >= bare[1] / 3
        print(f"target >= 1/3 of bare per CPU-second: {'met' if met else 'NOT met'}")
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak = peak_memory(n)
    print(f"{'peak traced memory, chain run':<34}: {peak:,.1f} MiB; peak RSS {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
