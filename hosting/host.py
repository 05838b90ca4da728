"""The host loop of a process that runs topologies: status out, commands in.

About once a second the host publishes a ``RunStatus`` for each of its runs (state, revision,
store, what was recovered, per-node counters and gauges) and carries out the ``RunCommand``s
other processes left for it (the ``runs`` CLI). On start it resumes the runs recorded as
running (hosting.resume). On the embedded default the web server process is the host.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from datetime import timedelta
from typing import Any

from hosting.resume import resume_recorded_runs
from hosting.supervisor import AlreadyRunning, Supervisor, get_supervisor, topology_model

log = logging.getLogger(__name__)

INTERVAL = 1.0  # seconds between status updates and command checks
STALE_AFTER = 5.0  # a status older than this has no live host behind it
SNAPSHOT_TIMEOUT = 2.0
LIVE = ("starting", "running", "paused")


def host_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Host:
    """Publishes the supervisor's runs and carries out commands; see the module docstring."""

    def __init__(self, supervisor: Supervisor | None = None, interval: float = INTERVAL) -> None:
        self.supervisor = supervisor or get_supervisor()
        self.interval = interval
        self.name = host_name()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._published: set[int] = set()

    def start(self, *, resume: bool = True) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._serve, args=(resume,), name="flowyard-host", daemon=True
        )
        self._thread.start()

    def wake(self) -> None:
        """Start the next round now (a command is waiting)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _serve(self, resume: bool) -> None:
        from django.db import close_old_connections

        try:
            if resume:
                resume_recorded_runs(self.supervisor)
            while not self._stop.is_set():
                self.step()
                close_old_connections()
                self._wake.wait(self.interval)
                self._wake.clear()
        except Exception:  # noqa: BLE001 - logged; the process keeps serving without a host loop
            log.exception("the host loop stopped")
        finally:
            close_old_connections()

    def step(self) -> None:
        """One round: carry out pending commands, then publish every run's status."""
        self.take_commands()
        self.publish()

    # --- commands ------------------------------------------------------------------------------
    def take_commands(self) -> None:
        from django.utils import timezone

        from hosting.models import RunCommand

        for command in RunCommand.objects.filter(host="").order_by("pk"):
            if not self.may_take(command.topology_id, command.action):
                continue
            claimed = RunCommand.objects.filter(pk=command.pk, host="").update(host=self.name)
            if not claimed:
                self.after_command(command.topology_id)
                continue  # another host took it
            result, error = "{}", ""
            try:
                outcome = self.carry_out(command.topology_id, command.action, reset=command.reset)
                result = json.dumps(outcome, default=str)
            except Exception as failure:  # noqa: BLE001 - reported to the command's sender
                error = describe_error(failure)
            self.publish()  # the sender reads the status once the command is done: publish first
            RunCommand.objects.filter(pk=command.pk).update(
                result=result, error=error, done_at=timezone.now()
            )
            self.after_command(command.topology_id)
        self.publish()

    def may_take(self, topology_id: int, action: str) -> bool:
        """Whether this host carries out a command for the topology (every one, embedded)."""
        return True

    def after_command(self, topology_id: int) -> None:
        """Called once a command of the topology was carried out (or taken by another)."""

    def carry_out(self, topology_id: int, action: str, *, reset: bool = False) -> dict[str, Any]:
        from runtime import spec as topology_spec

        chief = self.supervisor
        topology = topology_model().objects.get(pk=topology_id)
        purged: dict[str, int] | None = None
        if action == "stop":
            return chief.stop(topology_id)
        if action == "reset":
            return chief.reset_state(topology_id)
        if action in ("pause", "resume"):
            return chief.pause(topology_id) if action == "pause" else chief.resume(topology_id)
        spec = topology_spec.load(topology.document)
        current = chief.info(topology_id)
        if action == "deploy" and current is not None and current["state"] in LIVE:
            state = current["state"]
            raise AlreadyRunning(f"topology {topology_id} is already {state}; use redeploy")
        if reset:
            chief.stop(topology_id)
            purged = chief.reset_state(topology_id)["purged"]
        if action == "redeploy":
            info = chief.redeploy(topology_id, spec, revision=topology.version)
        else:
            info = chief.deploy(topology_id, spec, revision=topology.version)
        return {**info, "purged": purged} if purged is not None else info

    # --- status --------------------------------------------------------------------------------
    def publish(self) -> None:
        from django.utils import timezone

        from hosting.models import RunStatus

        now = timezone.now()
        live: set[int] = set()
        for topology_id, run in list(self.supervisor.runs.items()):
            info = run.info()
            details = {key: info.get(key) for key in ("store", "recovered", "dropped", "error")} | {
                "nodes": self._nodes(topology_id)
            }
            RunStatus.objects.update_or_create(
                topology_id=topology_id,
                defaults={
                    "state": info["state"],
                    "run": info["run"] or "",
                    "revision": info["revision"],
                    "host": self.name,
                    "heartbeat": now,
                    "details": json.dumps(details, default=str),
                },
            )
            live.add(topology_id)
        gone = self._published - live
        if gone:
            RunStatus.objects.filter(topology_id__in=gone, host=self.name).update(
                state="stopped", heartbeat=now
            )
        self._published = live

    def _nodes(self, topology_id: int) -> dict[str, Any]:
        async def read(run: Any) -> dict[str, Any]:
            return run.engine.snapshot().get("nodes", {})

        try:
            return self.supervisor.call(
                self.supervisor._with_run(topology_id, read), SNAPSHOT_TIMEOUT
            )
        except Exception:  # noqa: BLE001 - a busy or finished run keeps its last word
            return {}


def describe_error(error: Exception) -> str:
    problems = getattr(error, "problems", None)
    if problems:
        return "; ".join(str(problem.get("message", problem)) for problem in problems)
    return str(error) or type(error).__name__


def is_fresh(heartbeat: Any) -> bool:
    from django.utils import timezone

    return heartbeat is not None and timezone.now() - heartbeat < timedelta(seconds=STALE_AFTER)


_host: Host | None = None
_host_lock = threading.Lock()


def start_hosting() -> Host | None:
    """Make this process the host of runs (the web server on the embedded default): resume
    what was running and serve commands and status. Off when FLOWYARD_RESUME_RUNS is."""
    from django.conf import settings

    global _host
    if not getattr(settings, "FLOWYARD_RESUME_RUNS", True):
        return None
    if getattr(settings, "FLOWYARD_HOSTING", "web") != "web":
        return None  # runtime workers host the runs
    with _host_lock:
        if _host is None:
            _host = Host()
            _host.start()
        return _host
