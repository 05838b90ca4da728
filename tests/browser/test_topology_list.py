"""In Chromium: the topology list — create, rename inline, duplicate, delete with confirmation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Dialog, Page, expect

from designer.models import Topology
from tests.browser.helpers import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# A busy CI machine can take a while to answer; expect() returns as soon as the page is right.
expect.set_options(timeout=15_000)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_create_rename_duplicate_search_and_delete(
    page: Page, asgi_live_server: str, alice: Any
) -> None:
    log_in(page, asgi_live_server, alice)
    page.goto(f"{asgi_live_server}/")

    page.get_by_label("New topology name").fill("Payments <draft>")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("svg[data-canvas][data-ready=true]")).to_be_attached()
    expect(page.locator("#topology-name")).to_have_text("Payments <draft>")
    page.get_by_role("link", name="Topologies").click()

    page.get_by_label("Rename Payments <draft>").click()
    page.get_by_label("New name for Payments <draft>").fill("Payments")
    page.get_by_role("button", name="Save the new name of Payments <draft>").click()
    expect(page.get_by_role("link", name="Payments", exact=True)).to_be_visible()
    assert Topology.objects.get().name == "Payments"

    page.get_by_role("button", name="Duplicate Payments").click()
    expect(page.get_by_role("link", name="Payments (copy)", exact=True)).to_be_visible()

    page.get_by_label("Search topologies").fill("copy")
    expect(page.locator("#topology-rows tbody tr")).to_have_count(1)
    page.get_by_label("Search topologies").fill("")
    expect(page.locator("#topology-rows tbody tr")).to_have_count(2)

    dialogs: list[str] = []

    def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Delete Payments (copy)").click()
    expect(page.locator("#topology-rows tbody tr")).to_have_count(2)
    assert dialogs and "Delete “Payments (copy)”" in dialogs[0]

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Payments (copy)").click()
    expect(page.get_by_text(re.compile("Deleted “Payments \\(copy\\)”"))).to_be_visible()
    expect(page.locator("#topology-rows tbody tr")).to_have_count(1)
    assert list(Topology.objects.values_list("name", flat=True)) == ["Payments"]
