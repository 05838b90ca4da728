"""In Chromium: the demo's payment workflow page draws its graph, shows errors as the definition
is typed, starts an execution and shows its states coloured with the event history."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from designer.demo import demo_document
from designer.models import Topology
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(django_user_model: Any) -> Topology:
    user = django_user_model.objects.create_user("dora", password="dora-password-1")
    document = demo_document()
    for node in document["nodes"]:
        if node["id"] == "charge-card":
            node["config"]["failure_rate"] = 0.0  # the demo's 10% failures would make this flaky
    return Topology.create_from_document(user, document)


def test_the_payment_workflow_page_validates_starts_and_shows_an_execution(
    page: Page, asgi_live_server: str, demo: Topology
) -> None:
    log_in(page, asgi_live_server, demo.owner)
    page.goto(f"{asgi_live_server}/topologies/{demo.pk}/nodes/payment-workflow/state-machine/")

    graph = page.locator("svg.asl-graph")
    expect(graph.locator('[data-state="ChargeCard"]')).to_be_visible()
    expect(graph.locator('[data-state="ShipAndNotify"]')).to_be_visible()
    expect(graph.locator(".edge-catch")).to_have_count(1)
    expect(page.get_by_text("✓ Valid definition")).to_be_visible()

    editor = page.get_by_label("ASL definition (JSON)")
    original = editor.input_value()
    broken = original.replace('"StartAt": "ChargeCard"', '"StartAt": "Missing"').replace(
        '"Next": "BigOrder?"', '"Next": "Nowhere"'
    )
    editor.fill(broken)
    editor.press("End")  # fill() sets the value; a key press is what a person types
    problems = page.locator("#asl-problems")
    expect(problems.get_by_text("2 problems")).to_be_visible()
    expect(problems.locator('[data-asl-path="/StartAt"]')).to_be_visible()
    expect(problems.locator('[data-asl-path="/States/ChargeCard/Next"]')).to_be_visible()
    problems.locator('[data-asl-path="/States/ChargeCard/Next"]').click()
    assert (
        page.evaluate(
            "() => { const t = document.querySelector('#asl-definition');"
            " return t.value.slice(t.selectionStart, t.selectionEnd); }"
        )
        == '"Next"'
    )

    editor.fill(original)
    editor.press("End")
    expect(page.get_by_text("✓ Valid definition")).to_be_visible()

    page.get_by_label("Input (JSON)").fill('{"detail": {"orderId": "o-9", "total": 120}}')
    page.get_by_role("button", name="Start execution").click()
    expect(page).to_have_url(re.compile(r"/state-machine/executions/[^/]+/$"))
    expect(page.locator("#execution-status")).to_have_text("SUCCEEDED")
    states = page.locator("svg.asl-graph")
    expect(states.locator('[data-state="ChargeCard"]')).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(states.locator('[data-state="NotifyCustomer"]')).to_have_attribute(
        "data-status", "succeeded"
    )
    expect(states.locator('[data-state="ManualReview"]')).to_have_attribute(
        "data-status", "not-run"
    )
    history = page.get_by_role("table", name="Execution event history")
    expect(history.get_by_role("cell", name="ExecutionStarted", exact=True)).to_be_visible()
    expect(history.get_by_role("cell", name="ExecutionSucceeded", exact=True)).to_be_visible()
    states.locator('[data-state="ChargeCard"]').click()
    expect(page.locator('.asl-visit.highlight[data-visit-state="ChargeCard"]')).to_be_visible()

    page.get_by_role("link", name="Back to the state machine").click()
    expect(page.locator("#asl-executions").get_by_text("SUCCEEDED")).to_be_visible()
