"""In Chromium: deploy the demo, send 100 orders and watch them arrive, follow one message end to
end, redrive a dead letter, stop the run. The push from the test process needs the Redis layer:
with REDIS_URL set the test also pushes a notice into the page through it."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from playwright.sync_api import Page, expect

from designer.demo import demo_document
from designer.models import Topology
from hosting import live
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANVAS = "svg[data-canvas]"
SLOW = 15_000  # ms: the shared 2-core test machine can be slow to start a page and a run


def node(page: Page, node_id: str) -> Any:
    return page.locator(f'{CANVAS} g.node[data-node-id="{node_id}"]')


def open_editor(
    page: Page, base_url: str, user: Any, document: dict[str, Any], frames: list[Any] | None = None
) -> Topology:
    topology = Topology.create_from_document(user, document)
    log_in(page, base_url, user)
    if frames is not None:
        # A lambda: Playwright cannot wrap a builtin such as list.append.
        page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(f)))
    page.goto(f"{base_url}/topologies/{topology.pk}/")
    expect(page.locator(f"{CANVAS} g.node").first).to_be_attached(timeout=SLOW)
    expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=SLOW)
    return topology


def deploy(page: Page) -> None:
    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator("#run-state")).to_have_text(re.compile(r"^Running"), timeout=SLOW)
    expect(page.locator("#run-toolbar")).to_have_attribute("data-run-state", "running")


def push_from_the_test_process(topology: Topology, text: str) -> None:
    """group_send from here reaches the server's consumers only through Redis."""
    publish = async_to_sync(live.publish)
    with ThreadPoolExecutor(1) as pool:  # AsyncToSync cannot run in Playwright's loop thread
        pool.submit(publish, topology.pk, {"type": "notice", "text": text}).result(10)


def test_deploy_the_demo_send_100_orders_follow_one_and_stop(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    frames: list[Any] = []
    topology = open_editor(page, asgi_live_server, alice, demo_document(), frames)
    expect(page.locator("#live-badge")).to_have_text("● live")

    deploy(page)
    page.get_by_role("button", name="Send 100 events").click()

    expect(page.locator("#send-result")).to_contain_text("Sent 100 to", timeout=SLOW)
    expect(node(page, "orders-queue")).to_have_attribute("data-live-in", "100", timeout=SLOW)
    expect(node(page, "fulfilment-log")).to_have_attribute("data-live-in", "100", timeout=SLOW)
    expect(node(page, "orders-queue").locator(".live-line-1")).to_contain_text("in 100")
    expect(page.locator(f"{CANVAS} .live-rate").first).to_be_attached()
    topology.refresh_from_db()
    assert topology.run_state == "running"

    # Follow the first order of the burst across every hop.
    page.locator("#send-result [data-trace]").click()
    drawer = page.locator("#live-drawer")
    expect(drawer).to_be_visible()
    expect(drawer.locator(".trace-hop")).not_to_have_count(0, timeout=SLOW)
    for label in ("Checkout", "Orders bus", "Orders queue", "Fulfil order", "Fulfilment log"):
        expect(drawer.locator(".hop-node", has_text=label).first).to_be_visible()

    # The queue's inspector lists its last messages with their bodies.
    node(page, "orders-queue").click()
    page.get_by_role("button", name="Inspect…").click()
    expect(drawer.locator(".message-row")).not_to_have_count(0)
    expect(drawer.locator(".message-body").first).to_contain_text("OrderPlaced")

    if settings.REDIS_URL:
        push_from_the_test_process(topology, "Hello from the test process")
        expect(page.locator("#send-result")).to_have_text("Hello from the test process")
    else:
        # The in-memory layer lives in the server process: only its own frames reach the page.
        assert any('"type":"tick"' in str(frame) for frame in frames)

    page.get_by_role("button", name="Close the inspector").click()
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#run-state")).to_have_text("Stopped", timeout=SLOW)
    expect(page.get_by_role("button", name="Deploy", exact=True)).to_be_enabled()
    topology.refresh_from_db()
    assert topology.run_state == "stopped"


def failing_demo() -> dict[str, Any]:
    """The demo with a fulfilment that always fails, so orders end in the DLQ within seconds."""
    document = demo_document()
    for item in document["nodes"]:
        if item["id"] == "fulfil-order":
            item["config"].update(failure_rate=1.0, timeout=1)
        if item["id"] == "orders-queue":
            item["config"].update(visibility_timeout=1, max_receive_count=2)
    return document


def test_a_dead_lettered_order_is_redriven_from_the_dlq(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    open_editor(page, asgi_live_server, alice, failing_demo())
    deploy(page)
    page.get_by_role("button", name="Send an event…").click()
    page.locator("#send-body").fill('{"order_id": "o-7", "total": 70, "status": "placed"}')
    expect(page.locator("#send-body-check")).to_have_text("✓ valid JSON")
    page.locator("#send-dialog").get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#send-dialog-result")).to_contain_text("Sent 1 to")
    page.locator("#send-dialog").get_by_role("button", name="Close").click()

    expect(node(page, "orders-dlq")).to_have_attribute("data-live-depth", "1", timeout=15000)
    node(page, "orders-dlq").click()
    page.get_by_role("button", name="Inspect…").click()
    drawer = page.locator("#live-drawer")
    expect(drawer.get_by_text("o-7")).to_be_visible()
    drawer.get_by_role("button", name="Redrive the messages to their source queue").click()
    expect(drawer).to_contain_text("Redrove 1 message to the source queue.", timeout=SLOW)
    expect(node(page, "orders-queue")).to_have_attribute("data-live-in", "2", timeout=SLOW)

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#run-state")).to_have_text("Stopped", timeout=SLOW)


def test_the_topology_list_shows_run_states_live(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = Topology.create_from_document(alice, demo_document())
    log_in(page, asgi_live_server, alice)
    page.goto(f"{asgi_live_server}/")
    row = page.locator(f'tr[data-topology-id="{topology.pk}"]')
    expect(row.locator(".run-state")).to_have_text("Stopped")
    row.get_by_role("button", name="Deploy Orders demo").click()
    expect(row.locator(".run-state")).to_have_text("Running", timeout=SLOW)
    row.get_by_role("button", name="Stop Orders demo").click()
    expect(row.locator(".run-state")).to_have_text("Stopped", timeout=SLOW)
