"""In Chromium: the run toolbar says where the run keeps its state, and Reset state empties it
after a confirmation that counts what will go; the queue's depth on the canvas drops to 0 and the
run keeps running."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from designer.models import Topology
from hosting.stores import store_kind
from tests.browser.helpers import log_in
from tests.builders import edge, make_document, node, producer_node

# What the toolbar says of the configured store (SQLite embedded, Redis in the scaled pass).
STORE_LINE = {
    "sqlite": "SQLite · survives a process crash",
    "redis": "Redis · survives a worker crash",
}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CANVAS = "svg[data-canvas]"
SLOW = 15_000  # ms: the shared 2-core test machine can be slow to start a page and a run
# Where the screenshots go, for a person to look at (FLOWYARD_SCREENSHOTS to keep them elsewhere).
SHOTS = Path(os.environ.get("FLOWYARD_SCREENSHOTS", "/tmp"))


def holding_document() -> dict[str, Any]:
    """A producer sending into a queue nobody consumes: what is sent stays there."""
    return make_document(
        name="Held orders",
        nodes=[
            producer_node(label="Checkout", x=80, y=120),
            node("orders", "queue", label="Orders queue", x=360, y=120),
        ],
        edges=[edge("in-queue", "orders-in", "orders")],
    )


def queue(page: Page) -> Any:
    return page.locator(f'{CANVAS} g.node[data-node-id="orders"]')


def test_reset_state_counts_what_goes_and_empties_the_queue(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    topology = Topology.create_from_document(alice, holding_document())
    log_in(page, asgi_live_server, alice)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{asgi_live_server}/topologies/{topology.pk}/")
    expect(page.locator("body[data-live=open]")).to_have_count(1, timeout=SLOW)
    toolbar = page.locator("#run-toolbar")
    store = page.locator("#run-store")
    expect(store).to_have_text(STORE_LINE[store_kind()])

    page.get_by_role("button", name="Deploy", exact=True).click()
    expect(page.locator("#run-state")).to_have_text(re.compile(r"^Running"), timeout=SLOW)
    expect(store).to_have_text(STORE_LINE[store_kind()])
    page.get_by_role("button", name="Send 100 events").click()
    expect(page.locator("#send-result")).to_contain_text("Sent 100 to", timeout=SLOW)
    expect(queue(page)).to_have_attribute("data-live-depth", "100", timeout=SLOW)
    toolbar.screenshot(path=str(SHOTS / "flowyard-run-store.png"))

    page.get_by_role("button", name="Reset state", exact=True).click()
    confirmation = page.get_by_role("group", name="Reset state")
    expect(confirmation).to_contain_text(
        "Reset state deletes 100 messages in 1 queue. This cannot be undone.", timeout=SLOW
    )
    expect(confirmation.get_by_role("button", name="Cancel")).to_be_focused()
    toolbar.screenshot(path=str(SHOTS / "flowyard-reset-confirm.png"))
    page.screenshot(path=str(SHOTS / "flowyard-reset-page.png"))

    # Cancel keeps everything; the second time, delete them.
    confirmation.get_by_role("button", name="Cancel").click()
    expect(page.get_by_role("group", name="Reset state")).to_have_count(0)
    expect(queue(page)).to_have_attribute("data-live-depth", "100")
    page.get_by_role("button", name="Reset state", exact=True).click()
    page.get_by_role("group", name="Reset state").get_by_role("button", name="Delete them").click()

    expect(page.locator("#send-result")).to_have_text(
        "Reset: deleted 100 messages in 1 queue.", timeout=SLOW
    )
    expect(page.get_by_role("group", name="Reset state")).to_have_count(0)
    expect(queue(page)).to_have_attribute("data-live-depth", "0", timeout=SLOW)
    expect(toolbar).to_have_attribute("data-run-state", "running")
    expect(page.locator("#run-state")).to_have_text(re.compile(r"^Running"))
    toolbar.screenshot(path=str(SHOTS / "flowyard-reset-done.png"))

    page.get_by_role("button", name="Reset state", exact=True).click()
    confirmation = page.get_by_role("group", name="Reset state")
    expect(confirmation).to_contain_text("Nothing is stored.", timeout=SLOW)
    expect(confirmation.get_by_role("button", name="Delete them")).to_be_disabled()

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#run-state")).to_have_text("Stopped", timeout=SLOW)
