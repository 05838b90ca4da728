"""`manage.py runs`: commands reach the host through the database, status comes back from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from designer.models import Topology
from hosting import commands
from hosting import supervisor as supervision
from hosting.host import Host
from hosting.models import RunCommand, RunStatus
from hosting.stores import store_kind
from hosting.supervisor import Supervisor, record_deployed, record_state
from tests.builders import make_document, pipeline_document
from tests.runtime.livefakes import drop_frames

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def chief() -> Iterator[Supervisor]:
    chief = Supervisor(on_state=record_state, on_deployed=record_deployed, send=drop_frames)
    previous = supervision.set_supervisor(chief)
    yield chief
    chief.shutdown()
    supervision.set_supervisor(previous)


@pytest.fixture
def host(chief: Supervisor) -> Iterator[Host]:
    """The host loop in a thread of its own, as in the server process."""
    host = Host(chief, interval=0.05)
    host.start(resume=False)
    yield host
    host.stop()


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


def run_cli(*args: str) -> str:
    out = StringIO()
    call_command("runs", *args, stdout=out)
    return out.getvalue()


def status(reference: str) -> dict[str, Any]:
    return json.loads(run_cli("status", reference, "--json"))


def test_deploy_status_and_stop_through_the_host(host: Host, topology: Topology) -> None:
    line = run_cli("deploy", topology.slug)
    assert "running revision 1" in line

    report = status(str(topology.pk))
    assert report["state"] == "running" and report["revision"] == 1
    # The configured store: SQLite embedded, Redis in the scaled pass.
    assert report["store"] == store_kind() and report["durability"]["durable"] is True
    assert report["worker"] == host.name
    queue = report["nodes"]["orders"]
    assert queue["kind"] == "queue" and {"depth", "in_flight", "in"} <= set(queue)

    assert "stopped" in run_cli("stop", topology.slug)
    topology.refresh_from_db()
    assert topology.run_state == "stopped" and topology.run_revision == 1


def test_a_second_deploy_of_a_live_run_is_refused(host: Host, topology: Topology) -> None:
    run_cli("deploy", topology.slug)
    with pytest.raises(CommandError, match="already running; use redeploy"):
        run_cli("deploy", topology.slug)
    assert "running revision 1" in run_cli("redeploy", topology.slug)


def test_an_empty_topology_can_be_deployed(host: Host, alice: Any) -> None:
    empty = Topology.create_from_document(alice, make_document(name="Empty", nodes=[], edges=[]))
    report = json.loads(run_cli("deploy", empty.slug, "--json"))
    assert report["state"] == "running"
    assert status(empty.slug)["nodes"] == {}


def test_redeploy_with_reset_purges_what_the_store_held(
    host: Host, chief: Supervisor, topology: Topology
) -> None:
    run_cli("deploy", topology.slug)
    chief.send(topology.pk, "orders-in", {"n": 1}, count=5)
    chief.call(chief.runs[topology.pk].engine.settle())
    # The pipeline's consumer drains the queue; what is left or consumed is in the store.
    assert "purged" in run_cli("redeploy", topology.slug, "--reset")
    assert chief.stored(topology.pk)["messages"] == 0


def test_status_without_a_host_reads_the_store(chief: Supervisor, topology: Topology) -> None:
    report = status(topology.slug)
    assert report["state"] == "stopped" and report["worker"] is None
    assert report["store"] == store_kind() and "no process is hosting" in report["note"]
    assert report["nodes"]["orders"]["depth"] == 0


def test_a_command_nobody_takes_fails_clearly_and_is_withdrawn(
    topology: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(commands, "CLAIM_TIMEOUT", 0.3)
    with pytest.raises(CommandError, match="no process is hosting runs"):
        run_cli("deploy", topology.slug)
    assert not RunCommand.objects.exists()


def test_unknown_topologies_and_misplaced_reset_are_refused(topology: Topology) -> None:
    with pytest.raises(CommandError, match="no topology"):
        run_cli("status", "nope")
    with pytest.raises(CommandError, match="--reset goes with deploy"):
        run_cli("stop", topology.slug, "--reset")


def test_the_host_publishes_a_status_row_per_run(
    host: Host, chief: Supervisor, topology: Topology
) -> None:
    run_cli("deploy", topology.slug)
    row = RunStatus.objects.get(topology_id=topology.pk)
    details = json.loads(row.details)
    assert row.state == "running" and row.host == host.name
    assert details["store"]["store"] == store_kind() and "orders" in details["nodes"]


def test_an_ephemeral_run_resumed_after_its_server_stopped_says_what_it_lost(
    settings: Any, chief: Supervisor, topology: Topology
) -> None:
    """Reliability R2: a memory run comes back empty, and says how much went with its server."""
    from hosting.resume import resume_recorded_runs

    settings.FLOWYARD_RUN_STORE = "memory"
    topology.run_state, topology.run_revision = "running", 1
    topology.save(update_fields=["run_state", "run_revision"])
    held = {"kind": "queue", "depth": 140, "in_flight": 10, "delayed": 0}
    RunStatus.objects.create(
        topology_id=topology.pk,
        state="running",
        heartbeat=timezone.now(),
        details=json.dumps({"nodes": {"orders": held}}),
    )

    [info] = resume_recorded_runs(chief)

    assert info["state"] == "running" and info["store"]["store"] == "memory"
    assert info["discarded"] == "150 messages in 1 queue"
    assert chief.stored(topology.pk)["messages"] == 0
