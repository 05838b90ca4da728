"""Resuming runs after a restart: what the database says should run, runs again.

A server that stops (SIGTERM, SIGKILL, a crash) leaves each topology's recorded run state and
revision as they were. The next server process calls ``resume_recorded_runs`` once it is up:
every topology recorded as running (or paused) is deployed again on its recorded revision, and
its store gives back what it kept, which the run reports ("recovered 150 messages in 3 queues").
"""

from __future__ import annotations

import json
import logging
from typing import Any

from hosting.supervisor import DeployRefused, Supervisor, get_supervisor, topology_model

log = logging.getLogger(__name__)

RESUMABLE = ("running", "paused", "starting")


def resume_recorded_runs(supervisor: Supervisor | None = None) -> list[dict[str, Any]]:
    """Deploy every topology whose recorded run should be live; returns each run's info
    (or its error). Runs already live in this process are left alone."""
    chief = supervisor or get_supervisor()
    resumed: list[dict[str, Any]] = []
    for topology in topology_model().objects.filter(run_state__in=RESUMABLE):
        if chief.info(topology.pk) is None or chief.info(topology.pk)["state"] == "stopped":
            resumed.append(resume_topology(chief, topology))
    return resumed


def resume_topology(chief: Supervisor, topology: Any) -> dict[str, Any]:
    """Deploy the topology's recorded revision (paused again if it was paused)."""
    from runtime import spec as topology_spec

    number = topology.run_revision or topology.version
    revision = topology.revisions.filter(number=number).first()
    document = revision.document if revision is not None else topology.document
    lost = ephemeral_losses(topology.pk)
    try:
        paused = topology.run_state == "paused"
        info = chief.deploy(
            topology.pk, topology_spec.load(document), revision=number, paused=paused
        )
        if lost and info.get("store", {}).get("store") == "memory":
            run = chief.runs.get(topology.pk)
            if run is not None:
                run.discarded = lost
                info = run.info()
    except DeployRefused as refused:
        log.error("topology %s could not resume: %s", topology.pk, refused)
        if chief.on_state is not None:
            chief.on_state(topology.pk, "failed")
        return {"topology": topology.pk, "error": str(refused)}
    except Exception as error:  # noqa: BLE001 - one topology must not keep the rest down
        log.exception("topology %s could not resume", topology.pk)
        return {"topology": topology.pk, "error": f"{type(error).__name__}: {error}"}
    log.info(
        "resumed topology %s revision %s%s",
        topology.pk,
        number,
        f": recovered {info['recovered']}" if info.get("recovered") else "",
    )
    return info


def ephemeral_losses(topology_id: int) -> str:
    """What the queues of an ephemeral (memory) run held when its last host published its
    status: gone with that process, and said so when the run resumes (reliability R2)."""
    from hosting import stores
    from hosting.models import RunStatus

    if stores.store_kind() != "memory":
        return ""
    row = RunStatus.objects.filter(topology_id=topology_id).first()
    if row is None:
        return ""
    nodes = json.loads(row.details or "{}").get("nodes") or {}
    queues = {
        node_id: sum(int(data.get(name) or 0) for name in ("depth", "in_flight", "delayed"))
        for node_id, data in nodes.items()
        if data.get("kind") == "queue"
    }
    held = sum(queues.values())
    if not held:
        return ""
    count = sum(1 for value in queues.values() if value)
    return stores.describe({"messages": held, "queues": count, "records": 0, "logs": 0})
