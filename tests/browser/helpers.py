"""Helpers for the designer's browser tests: logging in by cookie."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.test import Client
from playwright.sync_api import Page


def log_in(page: Page, base_url: str, user: Any) -> None:
    """Gives the browser a session for this user, as the login form would."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}]
    )
