"""R10 with real processes: a state machine killed between transitions resumes with contiguous
history (reliability.md R10, issue 11).

A runtime-only script (no Django) runs an engine on a SqliteStore file. Each process resumes
what the store holds and starts N new executions of a STANDARD machine (Pass → Task
sqs:sendMessage → Task Lambda → Parallel of a Lambda task and another sendMessage → Wait →
Choice → Pass), writing each name to an acknowledgement file once StartExecution answered, and
is SIGKILLed at a seeded random moment; the last process starts nothing, runs everything to its
end and dumps every execution and what the target queue holds.

The first state computes an idempotency key from the execution name and its entered time
(``$$.Execution.Name``, ``$$.State.EnteredTime``); both sendMessage tasks use it as the FIFO
deduplication id of their target. A task attempt cut off by a kill runs again with the same key,
and so does a Parallel state, which a restart runs again as a whole: the target applies each key
once even when it is called twice (the raw call count is reported).

Checked per seed: every acknowledged execution exists and SUCCEEDED (so does any other that was
stored); event ids run 1..n with each previousEventId earlier; the states of the machine's own
scope are entered and exited exactly once each, in order; the top-level Tasks' events are whole
attempts, an attempt in flight at a kill being recorded as failed with
``Flowyard.RunInterrupted``; the Parallel state succeeded once, after as many starts as restarts
cut it short; the target holds exactly one message per execution and step, with its key.

``FLOWYARD_R10_SEEDS``: a count (``20``: seeds 1..20) or a list (``7,42``); 3 seeds by default.
``FLOWYARD_R10_KILLS``: kills per seed (2 by default; 3 seeds × 2 kills = 6 kill points).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXECUTIONS = 12
READY_TIMEOUT = 60.0
FINISH_TIMEOUT = 120.0
INTERRUPTED = "Flowyard.RunInterrupted"
TOP_LEVEL = ("Prepare", "Apply", "Work", "Both", "Pause", "Check", "Finish")
STEPS = ("apply", "notify")

SCRIPT = r"""
import asyncio, json, random, sys, time

from runtime.engine import Engine
from runtime.spec import SCHEMA, load
from runtime.store import SqliteStore

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/applied"


def send(step):
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::sqs:sendMessage",
        "Parameters": {
            "QueueUrl": QUEUE,
            "MessageBody": {"key.$": "$.key", "step": step},
            "MessageGroupId": "g",
            "MessageDeduplicationId.$": f"States.Format('{{}}/{step}', $.key)",
        },
        "ResultPath": None,
    }


LAMBDA = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work"}
DEFINITION = {
    "StartAt": "Prepare",
    "States": {
        "Prepare": {
            "Type": "Pass",
            "Parameters": {
                "n.$": "$.n",
                "key.$": "States.Format('{}/{}', $$.Execution.Name, $$.State.EnteredTime)",
            },
            "Next": "Apply",
        },
        "Apply": {**send("apply"), "Next": "Work"},
        "Work": {**LAMBDA, "ResultPath": "$.work", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "More", "States": {"More": {**LAMBDA, "End": True}}},
                {"StartAt": "Notify", "States": {"Notify": {**send("notify"), "End": True}}},
            ],
            "ResultPath": "$.both",
            "Next": "Pause",
        },
        "Pause": {"Type": "Wait", "Seconds": 1, "Next": "Check"},
        "Check": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 0, "Next": "Finish"}],
            "Default": "Finish",
        },
        "Finish": {"Type": "Pass", "End": True},
    },
}


def spec():
    def node(node_id, kind, **config):
        return {"id": node_id, "kind": kind, "label": node_id, "x": 0, "y": 0, "config": config}

    def edge(edge_id, source, target):
        return {"id": edge_id, "source": source, "target": target, "config": {}}

    return load({
        "schema": SCHEMA, "name": "R10", "description": "",
        "nodes": [
            node("flow", "state_machine", definition=DEFINITION),
            node("applied", "queue", fifo=True),
            node("work", "function", latency_ms=300, timeout=3),
        ],
        "edges": [edge("send", "flow", "applied"), edge("call", "flow", "work")],
    })


async def main(path, acks, dump, count, phase):
    store = SqliteStore(path)
    engine = Engine(spec(), store=store, rng=random.Random())
    await engine.start()
    flow = engine.node("flow")
    with open(acks, "a") as out:
        out.write(f"ready {len(flow.executions)} {flow.resumed}\n")
        out.flush()
        for number in range(count):
            await flow.start_execution({"n": number}, name=f"p{phase}-{number}")
            out.write(f"acked p{phase}-{number}\n")
            out.flush()
            await asyncio.sleep(0.02)
    give_up = time.monotonic() + 100
    while time.monotonic() < give_up:
        await asyncio.sleep(0.05)
        if not any(r.status == "RUNNING" for r in flow.executions.values()):
            break
    if dump:
        applied = await store.queue_peek("applied", time.time(), limit=100000)
        found = {
            "executions": [
                {
                    "name": r.name,
                    "status": r.status,
                    "error": r.error,
                    "cause": r.cause,
                    "history": [flat(event) for event in r.history],
                }
                for r in flow.executions.values()
            ],
            "applied": [record.message.body for record in applied],
            "invocations": engine.node("work").invocations,
        }
        with open(dump, "w") as out:
            json.dump(found, out)
    await engine.stop()
    await store.close()


def flat(event):
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
    return {
        "id": event["id"],
        "previous": event["previousEventId"],
        "type": event["type"],
        "name": details.get("name"),
        "error": details.get("error"),
        "parameters": details.get("parameters"),
    }


path, acks, dump, count, phase = sys.argv[1:6]
asyncio.run(main(path, acks, dump or None, int(count), phase))
"""


def r10_seeds() -> list[int]:
    value = os.environ.get("FLOWYARD_R10_SEEDS", "").strip()
    if not value:
        return [1, 2, 3]
    if "," in value:
        return [int(part) for part in value.split(",") if part.strip()]
    return list(range(1, int(value) + 1))


KILLS = int(os.environ.get("FLOWYARD_R10_KILLS", "2"))


class Phase:
    """One process of the run: started on the store file, waited for until it is ready."""

    def __init__(self, folder: Path, phase: int, count: int, dump: Path | None = None) -> None:
        self.acks = folder / "acks.txt"
        self.lines_before = self._lines()
        script = folder / "r10.py"
        script.write_text(SCRIPT)
        self.process = subprocess.Popen(
            [
                sys.executable,
                str(script),
                str(folder / "run.sqlite3"),
                str(self.acks),
                str(dump or ""),
                str(count),
                str(phase),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def _lines(self) -> list[str]:
        return self.acks.read_text().splitlines() if self.acks.exists() else []

    def ready(self) -> list[str]:
        """The phase's ready line: ``ready <executions listed> <resumed>``."""
        give_up = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < give_up:
            new = self._lines()[len(self.lines_before) :]
            if new:
                return new[0].split()
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        self.kill()
        raise AssertionError(f"the runtime never got ready: {self.errors()}")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def finish(self) -> None:
        try:
            code = self.process.wait(FINISH_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("the last run did not finish its executions") from None
        assert code == 0, self.errors()

    def errors(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read().decode(errors="replace")[-3000:]


def acknowledged(folder: Path) -> set[str]:
    lines = (folder / "acks.txt").read_text().splitlines()
    return {line.split()[1] for line in lines if line.startswith("acked ")}


def task_attempts_are_whole(events: list[dict[str, Any]]) -> int:
    """Between a Task's Entered and Exited: attempts of Scheduled, Started and an outcome, where
    an attempt a kill cut off is Scheduled (Started) then Failed with INTERRUPTED. Returns how
    many attempts were cut off."""
    cut = 0
    index = 0
    kinds = [event["type"] for event in events]
    while index < len(kinds):
        assert kinds[index].endswith("Scheduled"), kinds
        index += 1
        if index < len(kinds) and kinds[index].endswith("Started"):
            index += 1
        assert index < len(kinds), kinds
        outcome = events[index]
        if outcome["type"].endswith("Failed"):
            assert outcome["error"] == INTERRUPTED, outcome
            cut += 1
        else:
            assert outcome["type"].endswith("Succeeded"), kinds
            assert index == len(kinds) - 1, kinds
        index += 1
    return cut


def check(folder: Path, found: dict[str, Any]) -> dict[str, int]:
    executions = {found["name"]: found for found in found["executions"]}
    acked = acknowledged(folder)
    assert acked <= set(executions), f"acknowledged but missing: {acked - set(executions)}"
    cut = restarted = 0
    keys: list[str] = []
    for name, execution in executions.items():
        assert execution["status"] == "SUCCEEDED", (name, execution["error"], execution["cause"])
        history = execution["history"]
        assert [event["id"] for event in history] == list(range(1, len(history) + 1)), name
        assert all(0 <= event["previous"] < event["id"] for event in history), name
        assert history[0]["type"] == "ExecutionStarted"
        assert history[-1]["type"] == "ExecutionSucceeded"
        kinds = [event["type"] for event in history]
        assert kinds.count("ExecutionStarted") == 1
        marks = [
            (event["name"], event["type"].split("State")[-1])
            for event in history
            if event["type"].endswith(("StateEntered", "StateExited"))
            and event["name"] in TOP_LEVEL  # not the branches' More and Notify
        ]
        assert marks == [(state, side) for state in TOP_LEVEL for side in ("Entered", "Exited")]
        entered = {e["name"]: e["id"] for e in history if e["type"].endswith("StateEntered")}
        exited = {e["name"]: e["id"] for e in history if e["type"].endswith("StateExited")}
        for state in ("Apply", "Work"):
            cut += task_attempts_are_whole(history[entered[state] : exited[state] - 1])
        both = kinds[entered["Both"] : exited["Both"] - 1]
        assert both.count("ParallelStateSucceeded") == 1 and both[-1] == "ParallelStateSucceeded"
        restarted += both.count("ParallelStateStarted") - 1
        sent = [e["parameters"] for e in history if e["type"] == "TaskScheduled"]
        assert len({json.loads(text)["MessageBody"]["key"] for text in sent}) == 1, sent
        keys.extend(f"{json.loads(sent[0])['MessageBody']['key']}/{step}" for step in STEPS)
    applied = [f"{body['key']}/{body['step']}" for body in found["applied"]]
    assert sorted(applied) == sorted(keys), "each key applied exactly once"
    calls = sum(
        1 for e in found["executions"] for event in e["history"] if event["type"] == "TaskScheduled"
    )
    return {
        "executions": len(executions),
        "acked": len(acked),
        "cut": cut,
        "restarted": restarted,
        "calls": calls,
    }


@pytest.mark.parametrize("seed", r10_seeds())
def test_a_state_machine_killed_between_transitions_resumes_with_contiguous_history(
    seed: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = random.Random(seed)
    kills: list[float] = []
    resumed: list[int] = []
    for phase in range(KILLS):
        running = Phase(tmp_path, phase, EXECUTIONS)
        ready = running.ready()
        if phase:
            resumed.append(int(ready[2]))
        delay = rng.uniform(0.05, 1.4)
        time.sleep(delay)
        running.kill()
        kills.append(round(delay, 2))
    last = Phase(tmp_path, KILLS, 0, dump=tmp_path / "dump.json")
    resumed.append(int(last.ready()[2]))
    last.finish()
    found = json.loads((tmp_path / "dump.json").read_text())
    figures = check(tmp_path, found)
    with capsys.disabled():
        print(
            f"\nR10 seed {seed}: killed at {kills} s after ready; "
            f"{figures['executions']} executions ({figures['acked']} acknowledged), "
            f"resumed {resumed} per restart, all SUCCEEDED with contiguous ids and each "
            f"transition once; {figures['cut']} task attempts and {figures['restarted']} "
            f"Parallel states cut off and run again; {figures['calls']} sendMessage calls, "
            f"{len(found['applied'])} applied (the target dedups the key)"
        )
