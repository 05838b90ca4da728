"""The state machine page: access, validation as you type, the graph, saving with conflicts,
starting executions (headless when nothing is deployed), the executions list and execution view."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from designer import asl_views
from designer.demo import demo_document
from designer.models import Access, Share, Topology
from tests.builders import edge, make_document, node

pytestmark = pytest.mark.django_db

MACHINE = "payment-workflow"
EVIL = '<script>alert("x")</script>'


@pytest.fixture(autouse=True)
def fresh_headless_store() -> Any:
    asl_views.HEADLESS.clear()
    yield
    asl_views.HEADLESS.clear()


@pytest.fixture
def demo(alice: Any) -> Topology:
    document = demo_document()
    for each in document["nodes"]:
        if each["id"] == "charge-card":
            each["config"]["failure_rate"] = 0.0  # the demo's 10% failures would make tests flaky
    return Topology.create_from_document(alice, document)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(name: str, topology: Topology, *extra: str) -> str:
    return reverse(f"designer:{name}", args=[topology.pk, MACHINE, *extra])


def definition_of(topology: Topology, node_id: str = MACHINE) -> dict[str, Any]:
    topology.refresh_from_db()
    return next(n for n in topology.document["nodes"] if n["id"] == node_id)["config"]["definition"]


# --- access -----------------------------------------------------------------------------------


def test_the_page_needs_a_login(client: Client, demo: Topology) -> None:
    response = client.get(url("state-machine", demo))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_owner_sees_the_editor_the_graph_and_the_export_link(
    alice: Any, demo: Topology
) -> None:
    response = client_for(alice).get(url("state-machine", demo))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-state="ChargeCard"' in html and "asl-graph" in html
    assert "Valid definition" in html
    assert "Not deployed" in html
    assert f"/export/asl/?node={MACHINE}" in html
    assert 'type="module" src="/static/designer/asl.js"' in html
    assert "<script>" not in html.replace("<script type", "")  # no inline scripts (CSP)


def test_a_reader_sees_the_page_but_cannot_save_or_start(bob: Any, demo: Topology) -> None:
    Share.objects.create(topology=demo, user=bob, access=Access.READ)
    client = client_for(bob)
    html = client.get(url("state-machine", demo)).content.decode()
    assert "readonly" in html and "Start execution</button>" not in html
    body = {"definition": json.dumps(definition_of(demo)), "version": demo.version}
    assert client.post(url("asl-save", demo), body).status_code == 403
    assert client.post(url("asl-start", demo), {"input": "{}"}).status_code == 403
    assert client.post(url("asl-validate", demo), {"definition": "{}"}).status_code == 200


def test_an_editor_may_save_and_start(bob: Any, demo: Topology) -> None:
    Share.objects.create(topology=demo, user=bob, access=Access.EDIT)
    response = client_for(bob).post(url("asl-start", demo), {"input": '{"detail": {"total": 1}}'})
    assert response.status_code == 302 and "/executions/" in response["Location"]


def test_a_stranger_gets_404_everywhere(carol: Any, demo: Topology) -> None:
    client = client_for(carol)
    assert client.get(url("state-machine", demo)).status_code == 404
    assert client.post(url("asl-validate", demo), {"definition": "{}"}).status_code == 404
    assert client.post(url("asl-start", demo), {"input": "{}"}).status_code == 404
    assert client.get(url("asl-executions", demo)).status_code == 404


def test_a_node_that_is_not_a_state_machine_is_404(alice: Any, demo: Topology) -> None:
    path = reverse("designer:state-machine", args=[demo.pk, "charge-card"])
    assert client_for(alice).get(path).status_code == 404


# --- validation and the graph -----------------------------------------------------------------


def test_validation_lists_every_error_with_its_path(alice: Any, demo: Topology) -> None:
    broken = {
        "StartAt": "Nope",
        "States": {"A": {"Type": "Pass", "Next": "Missing"}, "B": {"Type": "Wait"}},
    }
    response = client_for(alice).post(url("asl-validate", demo), {"definition": json.dumps(broken)})
    html = response.content.decode()
    assert response.status_code == 200
    for path in ("/StartAt", "/States/A/Next", "/States/B"):
        assert f'data-asl-path="{path}"' in html
    assert "problems" in html and 'id="asl-graph"' in html and 'hx-swap-oob="true"' in html


def test_text_that_is_not_json_names_the_line(alice: Any, demo: Topology) -> None:
    response = client_for(alice).post(url("asl-validate", demo), {"definition": '{\n "StartAt": }'})
    html = response.content.decode()
    assert "Not JSON (line 2, column" in html and 'id="asl-graph"' not in html


def test_express_rules_apply_to_express_machines(alice: Any, demo: Topology) -> None:
    definition = {
        "StartAt": "T",
        "States": {
            "T": {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync",
                "Parameters": {"StateMachineArn": "x"},
                "End": True,
            }
        },
    }
    body = {"definition": json.dumps(definition), "type": "EXPRESS"}
    html = client_for(alice).post(url("asl-validate", demo), body).content.decode()
    assert 'data-asl-path="/States/T/Resource"' in html


def test_the_graph_escapes_every_label(alice: Any, demo: Topology) -> None:
    definition = {
        "StartAt": EVIL,
        "States": {
            EVIL: {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "StringEquals": "<b>bold</b>", "Next": "Done"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }
    html = client_for(alice).post(url("asl-validate", demo), {"definition": json.dumps(definition)})
    text = html.content.decode()
    assert "<script>alert" not in text and "<b>bold</b>" not in text
    assert "&lt;script&gt;alert" in text


# --- saving ----------------------------------------------------------------------------------


def test_saving_stores_a_new_revision_with_the_definition(alice: Any, demo: Topology) -> None:
    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}
    body = {"definition": json.dumps(definition), "version": demo.version}
    response = client_for(alice).post(url("asl-save", demo), body, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Saved as version 2" in response.content.decode()
    assert 'id="asl-version" value="2" hx-swap-oob="true"' in response.content.decode()
    assert definition_of(demo) == definition
    assert demo.revisions.count() == 2


def test_a_save_from_a_stale_version_is_a_409_and_changes_nothing(
    alice: Any, demo: Topology
) -> None:
    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}
    body = {"definition": json.dumps(definition), "version": demo.version - 1 or 99}
    response = client_for(alice).post(url("asl-save", demo), body, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "changed since you loaded it" in response.content.decode()
    assert definition_of(demo)["StartAt"] == "ChargeCard"


def test_an_invalid_definition_is_not_saved(alice: Any, demo: Topology) -> None:
    body = {"definition": '{"StartAt": "X", "States": {}}', "version": demo.version}
    response = client_for(alice).post(url("asl-save", demo), body, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "fix the problems first" in response.content.decode()
    assert demo.revisions.count() == 1


def test_a_plain_form_save_redirects_with_a_message(alice: Any, demo: Topology) -> None:
    definition = {"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}}
    client = client_for(alice)
    body = {"definition": json.dumps(definition), "version": demo.version}
    response = client.post(url("asl-save", demo), body, follow=True)
    assert "Saved as version 2" in response.content.decode()


# --- executions ------------------------------------------------------------------------------


def start(client: Client, topology: Topology, payload: Any, **extra: str) -> str:
    response = client.post(url("asl-start", topology), {"input": json.dumps(payload), **extra})
    assert response.status_code == 302, response.content
    return response["Location"]


def test_starting_without_a_deployment_runs_headless_and_shows_the_execution(
    alice: Any, demo: Topology
) -> None:
    client = client_for(alice)
    location = start(client, demo, {"detail": {"total": 120}}, name="first-run")
    assert location == url("asl-execution", demo, "first-run")
    html = client.get(location).content.decode()
    assert 'id="execution-status">SUCCEEDED' in html
    assert 'data-state="ChargeCard" data-status="succeeded"' in html
    assert 'data-state="ManualReview" data-status="not-run"' in html
    assert 'data-state="PaymentFailed" data-status="not-run"' in html
    for step in ("Input", "→ Result", "→ ResultPath", "→ OutputPath", "Output"):
        assert step in html
    for event in ("ExecutionStarted", "LambdaFunctionScheduled", "ParallelStateSucceeded"):
        assert f"<td>{event}</td>" in html
    assert "headless run (virtual time)" in html


def test_the_executions_list_shows_each_run_newest_first(alice: Any, demo: Topology) -> None:
    client = client_for(alice)
    start(client, demo, {"detail": {"total": 1}}, name="small")
    start(client, demo, {"detail": {"total": 5000}}, name="big")
    html = client.get(url("asl-executions", demo)).content.decode()
    assert html.index("big") < html.index("small")
    assert html.count("SUCCEEDED") == 2
    page = client.get(url("state-machine", demo)).content.decode()
    assert url("asl-execution", demo, "big") in page


def test_a_failing_execution_shows_its_error_and_failed_states(alice: Any, demo: Topology) -> None:
    failing = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "Bad", "Cause": EVIL}}}
    document = make_document(nodes=[node(MACHINE, "state_machine", definition=failing)])
    topology = Topology.create_from_document(alice, document)
    client = client_for(alice)
    html = client.get(start(client, topology, {})).content.decode()
    assert 'id="execution-status">FAILED' in html
    assert "<strong>Bad</strong>" in html and "&lt;script&gt;" in html and EVIL not in html
    assert 'data-state="F" data-status="failed"' in html


def test_bad_input_is_refused_with_a_message(alice: Any, demo: Topology) -> None:
    client = client_for(alice)
    response = client.post(url("asl-start", demo), {"input": "{nope"}, follow=True)
    assert "The input is not JSON" in response.content.decode()
    assert asl_views.HEADLESS == {}


def test_a_reused_name_is_refused(alice: Any, demo: Topology) -> None:
    client = client_for(alice)
    start(client, demo, {"detail": {"total": 1}}, name="once")
    response = client.post(url("asl-start", demo), {"input": "{}", "name": "once"}, follow=True)
    # Headless runs each use a fresh engine: the name check is the deployed run's; both work.
    assert response.status_code == 200


def test_an_unknown_execution_is_404(alice: Any, demo: Topology) -> None:
    assert client_for(alice).get(url("asl-execution", demo, "nope")).status_code == 404


def test_a_topology_whose_machine_calls_a_queue_runs_headless_and_stops_waiting(
    alice: Any,
) -> None:
    definition = {
        "StartAt": "Ask",
        "States": {
            "Ask": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
                "Parameters": {"QueueUrl": "jobs", "MessageBody": {"t.$": "$$.Task.Token"}},
                "End": True,
            }
        },
    }
    document = make_document(
        nodes=[node(MACHINE, "state_machine", definition=definition), node("jobs", "queue")],
        edges=[edge("e", MACHINE, "jobs")],
    )
    topology = Topology.create_from_document(alice, document)
    client = client_for(alice)
    original = asl_views.run_headless

    async def quick(*args: Any, **kwargs: Any) -> Any:
        return await original(*args, **kwargs, wall_timeout=0.05)

    asl_views.run_headless = quick  # type: ignore[assignment]
    try:
        html = client.get(start(client, topology, {})).content.decode()
    finally:
        asl_views.run_headless = original  # type: ignore[assignment]
    assert 'id="execution-status">ABORTED' in html and "Not deployed" in html


def test_the_inspector_links_state_machine_nodes_to_their_page(alice: Any, demo: Topology) -> None:
    item = json.dumps({"label": "Payment workflow", "config": {}})
    body = {"target": "node", "kind": "state_machine", "id": MACHINE, "item": item}
    response = client_for(alice).post(reverse("designer:inspector", args=[demo.pk]), body)
    assert url("state-machine", demo) in response.content.decode()


# --- a deployed topology ----------------------------------------------------------------------


@pytest.fixture
def chief() -> Any:
    """A supervisor of this test's own, running the real engine on real time."""
    from hosting import supervisor as supervision

    async def drop_frames(topology_id: Any, frame: dict[str, Any]) -> bool:
        return True

    chief = supervision.Supervisor(on_state=None, send=drop_frames, tick=0.05)
    previous = supervision.set_supervisor(chief)
    yield chief
    chief.shutdown()
    supervision.set_supervisor(previous)


CALLBACK = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
            "Parameters": {"QueueUrl": "jobs", "MessageBody": {"t.$": "$$.Task.Token"}},
            "Next": "Done",
        },
        "Done": {"Type": "Succeed"},
    },
}


@pytest.fixture
def running(alice: Any, chief: Any) -> Topology:
    document = make_document(
        nodes=[
            node(MACHINE, "state_machine", definition=CALLBACK),
            node("jobs", "queue"),
            node("sink", "log"),
        ],
        edges=[edge("e1", MACHINE, "jobs"), edge("e2", "jobs", "sink")],
    )
    topology = Topology.create_from_document(alice, document)
    chief.deploy(topology.pk, topology.to_spec())
    return topology


def wait_for_status(client: Client, location: str, status: str, *, showing: str = "") -> str:
    """The execution page once it shows ``status`` (and ``showing``, when given: a started
    execution is RUNNING, and stored, before its first task waits for a callback)."""
    import time

    deadline = time.monotonic() + 5
    html = ""
    while time.monotonic() < deadline:
        html = client.get(location).content.decode()
        if f'id="execution-status">{status}' in html and showing in html:
            return html
        time.sleep(0.05)
    raise AssertionError(html[-2000:])


def test_a_deployed_run_takes_the_execution_and_the_page_answers_its_callback(
    alice: Any, running: Topology
) -> None:
    client = client_for(alice)
    page = client.get(url("state-machine", running)).content.decode()
    assert "Deployed: executions run in the live topology" in page
    location = start(client, running, {"n": 1}, name="live-one")
    html = wait_for_status(client, location, "RUNNING", showing="Waiting for a callback")
    assert "Waiting for a callback" in html and "deployed run" in html
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    listing = client.get(url("asl-executions", running)).content.decode()
    assert "live-one" in listing and "RUNNING" in listing and 'hx-trigger="every 2s"' in listing
    body = {"token": token, "outcome": "success", "output": '{"approved": true}'}
    assert client.post(url("asl-callback", running, "live-one"), body).status_code == 302
    html = wait_for_status(client, location, "SUCCEEDED")
    assert 'data-state="Ask" data-status="succeeded"' in html
    assert "approved" in html


def test_a_deployed_execution_can_be_stopped_from_its_page(alice: Any, running: Topology) -> None:
    client = client_for(alice)
    location = start(client, running, {}, name="to-stop")
    wait_for_status(client, location, "RUNNING")
    assert client.post(url("asl-stop", running, "to-stop")).status_code == 302
    html = wait_for_status(client, location, "ABORTED")
    assert "Flowyard.Stopped" in html


def test_a_wrong_token_is_refused_with_a_message(alice: Any, running: Topology) -> None:
    client = client_for(alice)
    location = start(client, running, {}, name="tok")
    wait_for_status(client, location, "RUNNING")
    body = {"token": "nope", "outcome": "failure", "error": "E", "cause": "c"}
    response = client.post(url("asl-callback", running, "tok"), body, follow=True)
    assert "Not sent: TaskTimedOut" in response.content.decode()


def test_a_big_map_shows_its_first_visits_and_events_and_says_how_many_more(alice: Any) -> None:
    mapping = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
                "End": True,
            }
        },
    }
    document = make_document(nodes=[node(MACHINE, "state_machine", definition=mapping)])
    topology = Topology.create_from_document(alice, document)
    client = client_for(alice)
    html = client.get(start(client, topology, list(range(1000)))).content.decode()
    assert 'id="execution-status">SUCCEEDED' in html
    assert "more state visits, not shown" in html and "more are not" in html


def test_a_deployed_machines_page_asks_the_run_by_named_operations_only(
    alice: Any, running: Topology, chief: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A closure cannot reach a runtime worker: the page starts, reads, answers and stops
    executions through named operations (hosting.operations)."""
    performed: list[str] = []
    operate = chief.operate

    def by_name(topology_id: int, op: str, **args: Any) -> Any:
        performed.append(op)
        return operate(topology_id, op, **args)

    def no_closures(*args: Any) -> Any:
        raise AssertionError("a view passed a closure to the supervisor")

    monkeypatch.setattr(chief, "operate", by_name)
    monkeypatch.setattr(chief, "with_run", no_closures)
    client = client_for(alice)
    location = start(client, running, {}, name="by-name")
    html = wait_for_status(client, location, "RUNNING", showing="Waiting for a callback")
    token = html.split('name="token" value="', 1)[1].split('"', 1)[0]
    assert "by-name" in client.get(url("asl-executions", running)).content.decode()
    body = {"token": token, "outcome": "success", "output": "{}"}
    assert client.post(url("asl-callback", running, "by-name"), body).status_code == 302
    wait_for_status(client, location, "SUCCEEDED")
    assert client.post(url("asl-stop", running, "by-name")).status_code == 302
    assert {"sm.start", "sm.execution", "sm.executions", "sm.callback", "sm.stop"} <= set(performed)
