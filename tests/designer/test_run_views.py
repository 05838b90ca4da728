"""Running from the browser: run commands, Send, samples, the rate slider, the inspector's panels
and the metrics page, each with its permission and CSRF check."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from designer.models import Access, SampleEvent, Share, Topology
from hosting import supervisor as supervision
from hosting.supervisor import Supervisor, record_state
from tests.builders import (
    edge,
    log_node,
    logged_in,
    make_document,
    node,
    pipeline_document,
    producer_node,
)
from tests.runtime.livefakes import drop_frames

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def chief() -> Iterator[Supervisor]:
    """A supervisor of this test's own, running the real engine."""
    chief = Supervisor(on_state=record_state, send=drop_frames, tick=0.02)
    previous = supervision.set_supervisor(chief)
    yield chief
    chief.shutdown()
    supervision.set_supervisor(previous)


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


def url(name: str, *args: Any) -> str:
    return reverse(f"designer:{name}", args=args)


def deployed(client: Client, topology: Topology) -> None:
    response = client.post(url("run-deploy", topology.pk), **HTMX)
    assert response.status_code == 200, response.content


def wait_for(check: Any, seconds: float = 3.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    return check()


# --- run commands ---------------------------------------------------------------------------------


def test_deploy_starts_the_saved_version_and_shows_it_running(
    alice_client: Client, topology: Topology
) -> None:
    response = alice_client.post(url("run-deploy", topology.pk), **HTMX)

    assert response.status_code == 200
    assert b'data-run-state="running"' in response.content
    assert b"Deployed version 1." in response.content
    topology.refresh_from_db()
    assert topology.run_state == "running"


def test_deploy_refuses_a_topology_with_lint_errors_and_lists_them(
    alice_client: Client, alice: Any
) -> None:
    broken = Topology.create_from_document(
        alice,
        make_document(nodes=[producer_node(), log_node()], edges=[edge("a", "orders-in", "sink")]),
    )

    response = alice_client.post(url("run-deploy", broken.pk), **HTMX)

    assert response.status_code == 409
    assert b"Deploy refused" in response.content
    assert b"A producer cannot send to a log" in response.content
    broken.refresh_from_db()
    assert broken.run_state == "stopped"


def test_deploy_refused_answers_scripts_with_the_problems_as_json(
    alice_client: Client, alice: Any
) -> None:
    broken = Topology.create_from_document(
        alice,
        make_document(nodes=[producer_node(), log_node()], edges=[edge("a", "orders-in", "sink")]),
    )
    response = alice_client.post(url("run-deploy", broken.pk), HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response.json()["problems"][0]["code"] == "edge-not-allowed"


def test_pause_resume_stop_and_redeploy_move_the_stored_state(
    alice_client: Client, topology: Topology
) -> None:
    deployed(alice_client, topology)
    for action, state in [
        ("run-pause", "paused"),
        ("run-resume", "running"),
        ("run-redeploy", "running"),
        ("run-stop", "stopped"),
    ]:
        response = alice_client.post(url(action, topology.pk), **HTMX)
        assert response.status_code == 200, (action, response.content)
        assert f'data-run-state="{state}"'.encode() in response.content
        topology.refresh_from_db()
        assert topology.run_state == state


def test_a_second_deploy_of_a_running_topology_is_refused(
    alice_client: Client, topology: Topology
) -> None:
    deployed(alice_client, topology)
    response = alice_client.post(url("run-deploy", topology.pk), **HTMX)
    assert response.status_code == 409
    assert b"already running" in response.content


def test_pausing_a_stopped_topology_says_to_deploy_first(
    alice_client: Client, topology: Topology
) -> None:
    response = alice_client.post(url("run-pause", topology.pk), **HTMX)
    assert response.status_code == 409
    assert b"deploy it first" in response.content


def test_a_plain_form_post_redirects_back_to_the_editor(
    alice_client: Client, topology: Topology
) -> None:
    response = alice_client.post(url("run-deploy", topology.pk))
    assert response.status_code == 302
    assert response["Location"] == url("editor", topology.pk)


@pytest.mark.parametrize("action", ["run-deploy", "run-redeploy", "run-stop", "run-pause"])
def test_a_reader_cannot_run_commands(topology: Topology, bob: Any, action: str) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    response = logged_in(bob).post(url(action, topology.pk), **HTMX)
    assert response.status_code == 403


def test_an_editor_the_topology_is_shared_with_can_deploy(topology: Topology, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.EDIT)
    response = logged_in(bob).post(url("run-deploy", topology.pk), **HTMX)
    assert response.status_code == 200


def test_a_stranger_gets_not_found(topology: Topology, carol: Any) -> None:
    client = logged_in(carol)
    assert client.post(url("run-deploy", topology.pk), **HTMX).status_code == 404
    assert client.get(url("run-inspect", topology.pk, "orders")).status_code == 404
    assert client.get(url("run-metrics", topology.pk)).status_code == 404


@pytest.mark.parametrize(
    "name, args",
    [
        ("run-deploy", ()),
        ("run-stop", ()),
        ("run-send", ()),
        ("run-rate", ()),
        ("run-pattern-test", ()),
        ("run-sample-save", ("orders-in",)),
        ("run-messages-clear", ("orders",)),
        ("run-redrive", ("orders",)),
    ],
)
def test_every_command_needs_the_csrf_token(
    topology: Topology, alice: Any, name: str, args: tuple[str, ...]
) -> None:
    client = logged_in(alice, csrf=True)
    assert client.post(url(name, topology.pk, *args)).status_code == 403
    token_client = logged_in(alice, csrf=True)
    token_client.get(url("editor", topology.pk))
    token = token_client.cookies["csrftoken"].value
    response = token_client.post(url(name, topology.pk, *args), HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code != 403


def test_commands_refuse_get(alice_client: Client, topology: Topology) -> None:
    assert alice_client.get(url("run-deploy", topology.pk)).status_code == 405


# --- sending ------------------------------------------------------------------------------------


def test_send_a_json_body_with_attributes_reaches_the_end_of_the_pipeline(
    alice_client: Client, topology: Topology, chief: Supervisor
) -> None:
    deployed(alice_client, topology)
    response = alice_client.post(
        url("run-send", topology.pk),
        {"node": "orders-in", "body": '{"order": 1}', "attributes": '{"tier": "gold"}'},
        **HTMX,
    )
    assert response.status_code == 200
    assert b"Sent 1 to" in response.content and b"data-trace=" in response.content

    async def sink(run: Any) -> list[Any]:
        return run.recorder.recent("sink")

    seen = wait_for(lambda: chief.with_run(topology.pk, sink))
    assert seen[0].message.body == {"order": 1}
    assert dict(seen[0].message.attributes) == {"tier": "gold"}


def test_send_100_sends_a_burst_of_traced_events(alice_client: Client, topology: Topology) -> None:
    deployed(alice_client, topology)
    response = alice_client.post(
        url("run-send", topology.pk),
        {"node": "orders-in", "count": "100"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200
    assert len(response.json()["traces"]) == 100


def test_send_refuses_invalid_json_and_bad_attributes(
    alice_client: Client, topology: Topology
) -> None:
    deployed(alice_client, topology)
    response = alice_client.post(
        url("run-send", topology.pk), {"node": "orders-in", "body": "{oops"}, **HTMX
    )
    assert response.status_code == 400 and b"not valid JSON" in response.content
    response = alice_client.post(
        url("run-send", topology.pk),
        {"node": "orders-in", "body": "{}", "attributes": '{"AWS.x": "1"}'},
        **HTMX,
    )
    assert response.status_code == 400 and b"must not start with AWS" in response.content


def test_send_to_a_stopped_topology_says_to_deploy(
    alice_client: Client, topology: Topology
) -> None:
    response = alice_client.post(url("run-send", topology.pk), {"node": "orders-in"}, **HTMX)
    assert response.status_code == 400 and b"deploy it first" in response.content


def test_a_reader_cannot_send(topology: Topology, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    response = logged_in(bob).post(url("run-send", topology.pk), {"node": "orders-in"}, **HTMX)
    assert response.status_code == 403


def test_samples_are_saved_listed_and_deleted_per_producer(
    alice_client: Client, topology: Topology
) -> None:
    response = alice_client.post(
        url("run-sample-save", topology.pk, "orders-in"),
        {"name": "Gold order", "body": '{"tier": "gold"}', "attributes": "{}"},
        **HTMX,
    )
    assert response.status_code == 200 and b"Gold order" in response.content
    sample = SampleEvent.objects.get(topology=topology, node_id="orders-in")
    assert sample.body == {"tier": "gold"}
    listed = alice_client.get(url("run-samples", topology.pk, "orders-in"))
    assert b"Gold order" in listed.content and b"&quot;tier&quot;" in listed.content
    topology.refresh_from_db()
    assert topology.version == 1  # samples are not part of the design
    alice_client.post(url("run-sample-delete", topology.pk, "orders-in", sample.pk), **HTMX)
    assert not SampleEvent.objects.exists()


def test_a_sample_needs_a_name_and_valid_json(alice_client: Client, topology: Topology) -> None:
    response = alice_client.post(
        url("run-sample-save", topology.pk, "orders-in"), {"name": "", "body": "{"}, **HTMX
    )
    assert response.status_code == 400
    assert b"Name the sample" in response.content and b"not valid JSON" in response.content


def test_a_reader_sees_samples_but_cannot_save_them(topology: Topology, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    client = logged_in(bob)
    assert client.get(url("run-samples", topology.pk, "orders-in")).status_code == 200
    response = client.post(
        url("run-sample-save", topology.pk, "orders-in"), {"name": "x", "body": "{}"}
    )
    assert response.status_code == 403


def test_the_rate_slider_changes_a_running_load_producer(alice: Any, alice_client: Client) -> None:
    document = pipeline_document()
    document["nodes"][0]["config"].update(mode="load", rate=5.0, duration=60)
    topology = Topology.create_from_document(alice, document)
    deployed(alice_client, topology)
    response = alice_client.post(url("run-rate", topology.pk), {"node": "orders-in", "rate": "400"})
    assert response.status_code == 200 and response.content == b"400/s"
    before = wait_for(lambda: inbound(alice_client, topology))
    time.sleep(0.5)
    after = inbound(alice_client, topology)
    assert after - before > 100  # 400/s for half a second, not 5/s


def inbound(client: Client, topology: Topology) -> int:
    chief = supervision.get_supervisor()

    async def count(run: Any) -> int:
        return run.engine.snapshot()["nodes"]["orders"]["in"]

    return chief.with_run(topology.pk, count)


def test_the_rate_slider_refuses_nonsense(alice_client: Client, topology: Topology) -> None:
    response = alice_client.post(url("run-rate", topology.pk), {"node": "orders-in", "rate": "-1"})
    assert response.status_code == 400


# --- panels ---------------------------------------------------------------------------------------


def test_the_inspector_lists_a_nodes_last_messages_with_bodies_and_filters_them(
    alice_client: Client, topology: Topology
) -> None:
    deployed(alice_client, topology)
    for tier in ("gold", "silver"):
        alice_client.post(
            url("run-send", topology.pk), {"node": "orders-in", "body": json.dumps({"t": tier})}
        )
    panel = alice_client.get(url("run-inspect", topology.pk, "sink"))
    assert panel.status_code == 200 and b"Last 100 messages" in panel.content
    listing = wait_for(
        lambda: b"silver" in alice_client.get(url("run-messages", topology.pk, "sink")).content
    )
    assert listing
    filtered = alice_client.get(url("run-messages", topology.pk, "sink"), {"q": "gold"})
    assert b"gold" in filtered.content and b"silver" not in filtered.content
    assert b'hx-trigger="every 2s"' in filtered.content
    paused = alice_client.get(url("run-messages", topology.pk, "sink"), {"paused": "1"})
    assert b"every 2s" not in paused.content and b"Resume" in paused.content
    cleared = alice_client.post(url("run-messages-clear", topology.pk, "sink"), **HTMX)
    assert b"No messages yet" in cleared.content


def test_the_trace_shows_every_hop_with_timings(alice_client: Client, topology: Topology) -> None:
    deployed(alice_client, topology)
    response = alice_client.post(
        url("run-send", topology.pk),
        {"node": "orders-in", "body": '{"n": 1}'},
        HTTP_ACCEPT="application/json",
    )
    trace_id = response.json()["traces"][0]

    def full_trace() -> bytes | None:
        content = alice_client.get(url("run-trace", topology.pk, trace_id)).content
        return content if b"sink" in content else None

    content = wait_for(full_trace)
    assert content is not None
    for node_id in (b"orders-in", b"orders", b"worker", b"sink"):
        assert node_id in content
    assert b"+0.0 ms" in content and b"hop" in content


def test_panels_of_a_stopped_topology_ask_for_a_deploy(
    alice_client: Client, topology: Topology
) -> None:
    for name in ("run-messages", "run-queue"):
        response = alice_client.get(url(name, topology.pk, "orders"))
        assert b"deploy it to see" in response.content


def dlq_document() -> dict[str, Any]:
    return make_document(
        nodes=[
            producer_node(),
            node("orders", "queue", dead_letter_queue="orders-dlq", max_receive_count=2),
            node("orders-dlq", "queue"),
            node("worker", "function"),
            log_node(),
        ],
        edges=[
            edge("in-queue", "orders-in", "orders"),
            edge("queue-worker", "orders", "worker"),
            edge("worker-sink", "worker", "sink"),
        ],
    )


def test_a_dlq_shows_its_messages_and_redrives_them_to_the_source(
    alice: Any, alice_client: Client
) -> None:
    topology = Topology.create_from_document(alice, dlq_document())
    deployed(alice_client, topology)
    supervision.get_supervisor().send(topology.pk, "orders-dlq", {"stuck": True})
    panel = alice_client.get(url("run-queue", topology.pk, "orders-dlq"))
    assert b"stuck" in panel.content and b"Redrive all 1 to source" in panel.content
    assert b"Dead-letter queue of" in panel.content

    response = alice_client.post(url("run-redrive", topology.pk, "orders-dlq"), **HTMX)

    assert b"Redrove 1 message to the source queue." in response.content
    assert b"stuck" not in response.content
    source = alice_client.get(url("run-inspect", topology.pk, "orders"))
    assert b"Open its DLQ" in alice_client.get(url("run-queue", topology.pk, "orders")).content
    assert source.status_code == 200


def test_a_reader_cannot_redrive(alice: Any, alice_client: Client, bob: Any) -> None:
    topology = Topology.create_from_document(alice, dlq_document())
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    deployed(alice_client, topology)
    response = logged_in(bob).post(url("run-redrive", topology.pk, "orders-dlq"))
    assert response.status_code == 403


def test_a_streams_records_show_by_shard_and_sequence_number(
    alice: Any, alice_client: Client
) -> None:
    document = make_document(
        nodes=[
            producer_node(partition_key="k-{{n}}"),
            node("clicks", "stream", shard_count=2),
            log_node(),
        ],
        edges=[edge("in-stream", "orders-in", "clicks"), edge("stream-sink", "clicks", "sink")],
    )
    topology = Topology.create_from_document(alice, document)
    deployed(alice_client, topology)
    alice_client.post(url("run-send", topology.pk), {"node": "orders-in", "count": "10"})
    response = alice_client.get(url("run-stream", topology.pk, "clicks"))
    assert response.status_code == 200
    assert (
        b"shardId-000000000000" in response.content and b"shardId-000000000001" in response.content
    )
    assert response.content.count(b"<tr><td><code") == 10


def test_the_pattern_sandbox_says_which_rules_match_and_why_not(
    alice: Any, alice_client: Client
) -> None:
    document = make_document(
        nodes=[
            producer_node(),
            node("bus", "event_bus"),
            node("paid", "rule", label="Paid", event_pattern={"detail": {"status": ["paid"]}}),
            node(
                "big",
                "rule",
                label="Big",
                event_pattern={"detail": {"total": [{"numeric": [">", 100]}]}},
            ),
            node("q", "queue"),
            node("w", "function"),
        ],
        edges=[
            edge("a", "orders-in", "bus"),
            edge("b", "bus", "paid"),
            edge("c", "bus", "big"),
            edge("d", "paid", "q"),
            edge("e", "big", "q"),
            edge("f", "q", "w"),
        ],
    )
    topology = Topology.create_from_document(alice, document)
    event = {"source": "shop", "detail-type": "Order", "detail": {"status": "paid", "total": 5}}
    response = alice_client.post(
        url("run-pattern-test", topology.pk), {"event": json.dumps(event)}, **HTMX
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-rule="paid"' in content and "matches" in content
    assert "does not match" in content and "total" in content
    bad = alice_client.post(url("run-pattern-test", topology.pk), {"event": "[1]"}, **HTMX)
    assert b"must be a JSON object" in bad.content


def test_a_reader_may_use_the_pattern_sandbox(topology: Topology, bob: Any) -> None:
    Share.objects.create(topology=topology, user=bob, access=Access.READ)
    response = logged_in(bob).post(url("run-pattern-test", topology.pk), {"event": "{}"})
    assert response.status_code == 200


def test_a_state_machines_executions_are_listed_newest_first(
    alice: Any, alice_client: Client
) -> None:
    definition = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "End": True}}}
    document = make_document(
        nodes=[producer_node(), node("flow", "state_machine", definition=definition), log_node()],
        edges=[edge("a", "orders-in", "flow"), edge("b", "flow", "sink")],
    )
    topology = Topology.create_from_document(alice, document)
    deployed(alice_client, topology)
    alice_client.post(url("run-send", topology.pk), {"node": "orders-in", "count": "2"})

    def listed() -> bytes | None:
        content = alice_client.get(url("run-executions", topology.pk, "flow")).content
        return content if content.count(b"SUCCEEDED") == 2 else None

    content = wait_for(listed)
    assert content is not None and b"Hello" in content


# --- state for the list, the toolbar and the metrics page ----------------------------------------


def test_the_list_learns_every_visible_run_state_and_keeps_what_a_restart_resumes(
    alice: Any, alice_client: Client, topology: Topology
) -> None:
    stale = Topology.create_from_document(alice, pipeline_document("Stale"))
    Topology.objects.filter(pk=stale.pk).update(run_state="running")  # the server restarted
    deployed(alice_client, topology)

    response = alice_client.get(url("run-states"))

    assert response.json()["states"] == {str(topology.pk): "running", str(stale.pk): "stopped"}
    assert set(response.json()["editable"]) == {topology.pk, stale.pk}
    stale.refresh_from_db()
    assert stale.run_state == "running"  # recorded: the next server process resumes it


def test_the_list_shows_others_nothing(topology: Topology, carol: Any) -> None:
    assert logged_in(carol).get(url("run-states")).json()["states"] == {}


def test_the_editor_page_carries_the_run_toolbar_drawer_and_script(
    alice_client: Client, topology: Topology
) -> None:
    content = alice_client.get(url("editor", topology.pk)).content
    assert b'id="run-toolbar"' in content and b'id="live-drawer"' in content
    assert b"designer/live.js" in content and b'id="send-dialog"' in content


def test_the_toolbar_reports_its_state_as_json(alice_client: Client, topology: Topology) -> None:
    deployed(alice_client, topology)
    response = alice_client.get(url("run-toolbar", topology.pk), HTTP_ACCEPT="application/json")
    assert response.json()["state"] == "running" and response.json()["revision"] == 1


def test_the_metrics_page_renders_its_charts(alice_client: Client, topology: Topology) -> None:
    response = alice_client.get(url("run-metrics", topology.pk))
    assert response.status_code == 200
    content = response.content.decode()
    for chart in ("throughput", "latency", "depth", "errors"):
        assert f'data-chart="{chart}"' in content
    assert "designer/metrics.js" in content and 'id="metrics-boot"' in content


def test_after_a_save_the_toolbar_says_the_run_is_an_older_version(
    alice: Any, alice_client: Client, topology: Topology
) -> None:
    deployed(alice_client, topology)
    topology.save_document(pipeline_document("Orders v2"), base_version=1, author=alice)
    response = alice_client.get(url("run-toolbar", topology.pk), **HTMX)
    assert b"Running v1; the saved version is v2: redeploy to run it." in response.content


# --- the run's store, what it recovered, Reset state ---------------------------------------------


def holding_document(*extra_nodes: dict[str, Any]) -> dict[str, Any]:
    """producer → queue with nobody consuming it: what is sent stays in the queue."""
    return make_document(
        nodes=[producer_node(), node("orders", "queue"), *extra_nodes],
        edges=[edge("in-queue", "orders-in", "orders")],
    )


def queue_depth(chief: Supervisor, topology: Topology, node_id: str = "orders") -> int:
    async def read(run: Any) -> int:
        return int(run.engine.nodes[node_id].gauges()["depth"])

    return chief.with_run(topology.pk, read)


def confirm_button(content: str) -> str:
    """The confirmation's "Delete them" button tag."""
    at = content.index("data-reset-confirm")
    return content[content.rindex("<button", 0, at) : content.index(">", at) + 1]


@pytest.fixture
def holding(alice: Any) -> Topology:
    return Topology.create_from_document(alice, holding_document(node("old-queue", "queue")))


def test_the_toolbar_says_the_run_keeps_its_state_in_sqlite(
    alice_client: Client, topology: Topology, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "sqlite"
    stopped = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    assert 'data-run-store="sqlite"' in stopped
    assert "SQLite · survives a process crash</span>" in stopped

    deployed(alice_client, topology)
    running = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    assert "SQLite · survives a process crash</span>" in running
    assert "Ephemeral" not in running and 'data-run-state="running"' in running
    store = alice_client.get(url("run-toolbar", topology.pk), HTTP_ACCEPT="application/json")
    assert store.json()["store"]["store"] == "sqlite" and store.json()["store"]["durable"]
    assert "path" not in store.json()["store"]  # no place on the server for the browser


def test_with_full_synchronous_sqlite_also_survives_a_power_loss(
    alice_client: Client, topology: Topology, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "sqlite"
    settings.FLOWYARD_SQLITE_SYNCHRONOUS = "FULL"
    deployed(alice_client, topology)
    content = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content
    assert "SQLite · survives a process crash and a power loss".encode() in content


def test_a_memory_run_is_shown_as_ephemeral(
    alice_client: Client, topology: Topology, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "memory"
    stopped = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    assert '<strong class="ephemeral-badge">Ephemeral</strong>' in stopped

    deployed(alice_client, topology)
    content = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    assert 'data-run-store="memory"' in content
    assert '<strong class="ephemeral-badge">Ephemeral</strong> · lost when' in content
    assert "survives" not in content


def test_a_configured_redis_store_is_named_for_a_stopped_topology(
    alice_client: Client, topology: Topology, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "redis"
    content = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    assert 'data-run-store="redis"' in content and ">Redis · survives a worker crash<" in content


def test_a_run_deployed_again_says_what_it_recovered(
    alice_client: Client, holding: Topology, chief: Supervisor, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "sqlite"
    deployed(alice_client, holding)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=5)
    assert wait_for(lambda: queue_depth(chief, holding) == 5)
    assert b"Recovered" not in alice_client.get(url("run-toolbar", holding.pk), **HTMX).content
    assert alice_client.post(url("run-stop", holding.pk), **HTMX).status_code == 200

    response = alice_client.post(url("run-deploy", holding.pk), **HTMX)

    content = response.content.decode()
    assert 'role="status">Recovered 5 messages in 1 queue.</span>' in content
    assert content.count("Recovered 5 messages") == 1
    assert queue_depth(chief, holding) == 5
    scripts = alice_client.get(url("run-toolbar", holding.pk), HTTP_ACCEPT="application/json")
    assert scripts.json()["recovered"] == "5 messages in 1 queue"
    stopped = alice_client.post(url("run-stop", holding.pk), **HTMX).content
    assert b"Recovered" not in stopped  # said of the run that found them, while it lives


def test_a_redeploy_without_a_queue_that_held_messages_says_it_dropped_them(
    alice: Any, alice_client: Client, holding: Topology, chief: Supervisor
) -> None:
    deployed(alice_client, holding)
    chief.send(holding.pk, "old-queue", {"stale": True}, count=3)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=2)
    assert wait_for(lambda: queue_depth(chief, holding, "old-queue") == 3)
    holding.save_document(holding_document(), base_version=1, author=alice)

    response = alice_client.post(url("run-redeploy", holding.pk), **HTMX)

    content = response.content.decode()
    assert response.status_code == 200 and "Deployed version 2." in content
    assert "Dropped 3 messages in 1 queue of removed nodes (old-queue)." in content
    assert "Recovered 2 messages in 1 queue." in content
    assert queue_depth(chief, holding) == 2


def test_reset_state_confirmation_says_exactly_what_will_go(
    alice_client: Client, holding: Topology, chief: Supervisor
) -> None:
    toolbar = alice_client.get(url("run-toolbar", holding.pk), **HTMX).content.decode()
    confirm_url = url("run-reset-confirm", holding.pk)
    assert f'hx-get="{confirm_url}"' in toolbar and 'aria-label="Reset state"' in toolbar
    empty = alice_client.get(confirm_url, **HTMX).content.decode()
    assert "Nothing is stored." in empty
    assert " disabled>" in confirm_button(empty)

    deployed(alice_client, holding)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=4)
    chief.send(holding.pk, "old-queue", {"order": 2}, count=1)
    assert wait_for(lambda: queue_depth(chief, holding) == 4)

    response = alice_client.get(confirm_url, **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Reset state deletes 5 messages in 2 queues. This cannot be undone." in content
    assert "Delete them" in content and "Cancel" in content
    assert "disabled" not in confirm_button(content)
    assert f'hx-post="{url("run-reset", holding.pk)}"' in content
    scripts = alice_client.get(confirm_url, HTTP_ACCEPT="application/json").json()
    assert scripts["stored"]["messages"] == 5 and scripts["held"] == "5 messages in 2 queues"


def test_reset_state_empties_the_store_and_keeps_the_run_running(
    alice_client: Client, holding: Topology, chief: Supervisor
) -> None:
    deployed(alice_client, holding)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=6)
    assert wait_for(lambda: queue_depth(chief, holding) == 6)

    response = alice_client.post(url("run-reset", holding.pk), **HTMX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Reset: deleted 6 messages in 1 queue." in content
    assert 'data-run-state="running"' in content and "Recovered" not in content
    assert queue_depth(chief, holding) == 0
    assert chief.stored(holding.pk)["messages"] == 0
    holding.refresh_from_db()
    assert holding.run_state == "running"
    again = alice_client.post(url("run-reset", holding.pk), HTTP_ACCEPT="application/json")
    assert again.json()["notice"] == "Reset: nothing was stored."
    assert again.json()["purged"]["messages"] == 0 and again.json()["state"] == "running"


def test_reset_state_of_a_stopped_topology_purges_what_a_deploy_would_recover(
    alice_client: Client, holding: Topology, chief: Supervisor
) -> None:
    deployed(alice_client, holding)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=2)
    assert wait_for(lambda: queue_depth(chief, holding) == 2)
    alice_client.post(url("run-stop", holding.pk), **HTMX)

    response = alice_client.post(url("run-reset", holding.pk), **HTMX)

    assert b"Reset: deleted 2 messages in 1 queue." in response.content
    assert b'data-run-state="stopped"' in response.content
    redeployed = alice_client.post(url("run-deploy", holding.pk), **HTMX)
    assert b"Recovered" not in redeployed.content
    assert queue_depth(chief, holding) == 0


def test_a_reader_cannot_reset_state_nor_see_the_button(
    alice_client: Client, holding: Topology, bob: Any, chief: Supervisor
) -> None:
    Share.objects.create(topology=holding, user=bob, access=Access.READ)
    deployed(alice_client, holding)
    chief.send(holding.pk, "orders-in", {"order": 1}, count=3)
    assert wait_for(lambda: queue_depth(chief, holding) == 3)
    reader = logged_in(bob)

    assert b"Reset state" not in reader.get(url("run-toolbar", holding.pk), **HTMX).content
    assert reader.get(url("run-reset-confirm", holding.pk), **HTMX).status_code == 403
    assert reader.post(url("run-reset", holding.pk), **HTMX).status_code == 403
    assert queue_depth(chief, holding) == 3


def test_a_stranger_cannot_reset_state(holding: Topology, carol: Any) -> None:
    stranger = logged_in(carol)
    assert stranger.get(url("run-reset-confirm", holding.pk)).status_code == 404
    assert stranger.post(url("run-reset", holding.pk)).status_code == 404


def test_reset_state_needs_the_csrf_token_and_a_post(
    alice: Any, holding: Topology, chief: Supervisor
) -> None:
    client = logged_in(alice, csrf=True)
    assert client.post(url("run-reset", holding.pk), **HTMX).status_code == 403
    assert client.get(url("run-reset", holding.pk)).status_code == 405
    client.get(url("editor", holding.pk))
    token = client.cookies["csrftoken"].value
    response = client.post(url("run-reset", holding.pk), HTTP_X_CSRFTOKEN=token, **HTMX)
    assert response.status_code == 200 and b"Reset: nothing was stored." in response.content


# --- the panels read the run by named operations --------------------------------------------------


def every_panel_document() -> dict[str, Any]:
    """A load producer, a queue with its DLQ, a stream and a state machine: every panel."""
    document = dlq_document()
    document["nodes"] += [
        producer_node("load", mode="load", rate=5.0, duration=60),
        node("load-q", "queue"),
        producer_node("clicks-in", partition_key="k-{{n}}"),
        node("clicks", "stream", shard_count=1),
        log_node("clicks-sink"),
        node(
            "flow",
            "state_machine",
            definition={"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        ),
        log_node("flow-sink"),
    ]
    document["edges"] += [
        edge("load-queue", "load", "load-q"),
        edge("in-stream", "clicks-in", "clicks"),
        edge("stream-sink", "clicks", "clicks-sink"),
        edge("flow-sink", "flow", "flow-sink"),
    ]
    return document


def test_the_panels_read_the_run_through_named_operations_only(
    alice: Any, alice_client: Client, chief: Supervisor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closure cannot reach a runtime worker: every panel asks the supervisor for a named
    operation (hosting.operations), so it renders the same on the embedded host and on workers."""
    topology = Topology.create_from_document(alice, every_panel_document())
    deployed(alice_client, topology)
    assert wait_for(lambda: chief.runs[topology.pk].group is not None)
    performed: list[str] = []
    operate = chief.operate

    def by_name(topology_id: int, op: str, **args: Any) -> Any:
        performed.append(op)
        return operate(topology_id, op, **args)

    def no_closures(*args: Any) -> Any:
        raise AssertionError("a view passed a closure to the supervisor")

    monkeypatch.setattr(chief, "operate", by_name)
    monkeypatch.setattr(chief, "with_run", no_closures)
    trace_id = chief.send(topology.pk, "orders-in", {"n": 1})[0]
    chief.send(topology.pk, "orders-dlq", {"stuck": True})
    chief.send(topology.pk, "clicks-in", None)
    chief.send(topology.pk, "flow", {})

    rate = alice_client.post(url("run-rate", topology.pk), {"node": "load", "rate": "20"})
    assert rate.content == b"20/s"

    def sink_messages() -> bytes | None:
        page = alice_client.get(url("run-messages", topology.pk, "sink")).content
        return page if b"No messages yet" not in page else None

    assert wait_for(sink_messages)
    assert (
        b"No messages yet"
        in alice_client.post(url("run-messages-clear", topology.pk, "sink"), **HTMX).content
    )
    assert trace_id.encode() in alice_client.get(url("run-trace", topology.pk, trace_id)).content
    assert b"stuck" in alice_client.get(url("run-queue", topology.pk, "orders-dlq")).content
    redriven = alice_client.post(url("run-redrive", topology.pk, "orders-dlq"), **HTMX)
    assert b"Redrove 1 message" in redriven.content
    assert (
        b"shardId-000000000000"
        in alice_client.get(url("run-stream", topology.pk, "clicks")).content
    )
    assert wait_for(
        lambda: b"SUCCEEDED" in alice_client.get(url("run-executions", topology.pk, "flow")).content
    )
    assert {
        "producer.rate",
        "node.messages",
        "node.clear_messages",
        "trace",
        "queue.view",
        "queue.redrive",
        "stream.records",
        "sm.overview",
    } <= set(performed)


def test_an_ephemeral_run_that_lost_messages_says_so_in_the_toolbar(
    alice_client: Client, chief: Supervisor, topology: Topology, settings: Any
) -> None:
    settings.FLOWYARD_RUN_STORE = "memory"
    deployed(alice_client, topology)
    chief.runs[topology.pk].discarded = "150 messages in 1 queue"

    page = alice_client.get(url("run-toolbar", topology.pk), **HTMX).content.decode()
    answer = alice_client.get(url("run-toolbar", topology.pk), HTTP_ACCEPT="application/json")

    assert "Discarded 150 messages in 1 queue: the run is ephemeral" in page
    assert "Ephemeral" in page
    assert answer.json()["discarded"] == "150 messages in 1 queue"
