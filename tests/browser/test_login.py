"""In Chromium: a new user follows the one-time link that `make run` prints and sees the demo."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def login_link(base_url: str) -> str:
    output = StringIO()
    call_command("seed_demo", stdout=StringIO())
    call_command("login_link", "--base-url", base_url, stdout=output)
    match = re.search(r"(http://\S+/accounts/token/\S+/)", output.getvalue())
    assert match, output.getvalue()
    return match.group(1)


def test_the_one_time_link_logs_in_and_shows_the_demo(page: Page, asgi_live_server: str) -> None:
    link = login_link(asgi_live_server)
    page.goto(link)
    expect(page).to_have_url(f"{asgi_live_server}/")
    expect(page.get_by_role("link", name="Orders demo", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Topologies")).to_be_visible()

    page.get_by_role("link", name="Orders demo", exact=True).click()
    expect(page).to_have_url(re.compile(r"/topologies/\d+/$"))
    expect(page).to_have_title(re.compile("Orders demo"))


def test_a_used_link_is_refused(page: Page, asgi_live_server: str) -> None:
    link = login_link(asgi_live_server)
    page.goto(link)
    page.get_by_role("button", name="Log out").click()
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_text("That login link is invalid, used or expired")).to_be_visible()


def test_pages_need_a_login(page: Page, asgi_live_server: str) -> None:
    page.goto(f"{asgi_live_server}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Log in to Flowyard")).to_be_visible()
