"""Resuming after a restart: what was running runs again, with what its store kept."""

from __future__ import annotations

from typing import Any

import pytest

from designer.models import Topology
from hosting.resume import resume_recorded_runs
from hosting.supervisor import Supervisor, record_deployed, record_state
from tests.builders import pipeline_document
from tests.runtime.livefakes import drop_frames

pytestmark = pytest.mark.django_db(transaction=True)


def supervisor() -> Supervisor:
    return Supervisor(on_state=record_state, on_deployed=record_deployed, send=drop_frames)


def depth(chief: Supervisor, topology: Topology, node_id: str) -> dict[str, Any]:
    return chief.operate(topology.pk, "queue.view", node_id=node_id)["gauges"]


def test_a_paused_run_comes_back_paused_with_its_messages_and_nothing_consumed(
    alice: Any,
) -> None:
    topology = Topology.create_from_document(alice, pipeline_document("Orders"))
    first = supervisor()
    first.deploy(topology.pk, topology.to_spec(), revision=1)
    first.pause(topology.pk)
    first.send(topology.pk, "orders-in", {"n": 1}, count=5)
    first.shutdown()  # the server stops: the run stays recorded as paused

    second = supervisor()
    try:
        [info] = resume_recorded_runs(second)
        assert info["state"] == "paused" and info["recovered"] == "5 messages in 1 queue"
        run = second.runs[topology.pk]
        assert run.engine.nodes["worker"].stats.received == 0
        assert depth(second, topology, "orders")["depth"] == 5
        second.resume(topology.pk)
    finally:
        second.shutdown()


def test_a_stopped_run_is_not_resumed_and_a_running_one_is(alice: Any) -> None:
    running = Topology.create_from_document(alice, pipeline_document("Running"))
    stopped = Topology.create_from_document(alice, pipeline_document("Stopped"))
    first = supervisor()
    for topology in (running, stopped):
        first.deploy(topology.pk, topology.to_spec(), revision=1)
    first.stop(stopped.pk)
    first.shutdown()

    second = supervisor()
    try:
        resumed = resume_recorded_runs(second)
        assert [info["topology"] for info in resumed] == [running.pk]
        assert second.info(running.pk)["state"] == "running"
        assert second.info(stopped.pk) is None
    finally:
        second.shutdown()
