from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from designer.models import LoginToken

pytestmark = pytest.mark.django_db

LINK = re.compile(r"(https?://\S+)/accounts/token/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def local_user(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("designer.management.commands.login_link.getpass.getuser", lambda: "dev")
    return "dev"


def login_link(*args: str) -> str:
    out = io.StringIO()
    call_command("login_link", *args, stdout=out)
    return out.getvalue()


def token_in(printed: str) -> str:
    match = LINK.search(printed)
    assert match, printed
    return match.group(2)


def test_it_prints_a_link_with_a_working_one_time_token() -> None:
    printed = login_link()

    match = LINK.search(printed)
    assert match
    assert match.group(1) == "http://127.0.0.1:8000"
    path = f"/accounts/token/{match.group(2)}/"
    client = Client()
    response = client.get(path)
    assert response["Location"] == "/"
    assert client.get("/").context["user"].username == "dev"
    assert Client().get(path)["Location"] == "/accounts/login/"


def test_the_link_uses_the_base_url() -> None:
    printed = login_link("--base-url", "http://studio.local:9000/")

    assert "http://studio.local:9000/accounts/token/" in printed


def test_it_creates_the_local_account_only_once() -> None:
    first = login_link()
    second = login_link()

    user = get_user_model().objects.get()
    assert (user.username, user.is_superuser, user.is_staff) == ("dev", True, True)
    assert not user.has_usable_password()
    assert "Created the local account 'dev'." in first
    assert "Created the local account" not in second
    assert "Log in to Flowyard as dev (one-time link):" in second
    assert token_in(first) != token_in(second)
    assert LoginToken.objects.filter(user=user).count() == 2


def test_it_logs_in_the_first_admin_when_there_is_one(admin_user: Any) -> None:
    printed = login_link()

    assert "Log in to Flowyard as admin" in printed
    assert LoginToken.redeem(token_in(printed)) == admin_user
    assert get_user_model().objects.count() == 1


def test_it_logs_in_a_named_account_without_changing_it(alice: Any) -> None:
    printed = login_link("--username", "alice")

    assert LoginToken.redeem(token_in(printed)) == alice
    alice.refresh_from_db()
    assert not alice.is_superuser
    assert alice.has_usable_password()
    assert "Created" not in printed


def test_no_link_only_creates_the_account() -> None:
    printed = login_link("--no-link")

    assert get_user_model().objects.filter(username="dev").exists()
    assert "/accounts/token/" not in printed
    assert not LoginToken.objects.exists()


def test_the_token_itself_is_never_stored() -> None:
    token = token_in(login_link())

    stored = LoginToken.objects.get()
    assert stored.token_hash == LoginToken.hash(token)
    assert token not in stored.token_hash


def test_it_refuses_to_take_over_an_ordinary_account_with_the_local_name(
    django_user_model: Any,
) -> None:
    django_user_model.objects.create_user("dev", password="dev-password-1")

    with pytest.raises(CommandError, match="pass --username dev"):
        login_link()
    user = django_user_model.objects.get()
    assert not user.is_superuser
    assert user.has_usable_password()
    assert not LoginToken.objects.exists()


def test_an_unusable_login_name_falls_back_to_flowyard(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_user() -> str:
        raise KeyError("uid not found")

    monkeypatch.setattr("designer.management.commands.login_link.getpass.getuser", no_user)

    login_link("--no-link")

    assert get_user_model().objects.get().username == "flowyard"


def test_odd_characters_are_dropped_from_the_login_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "designer.management.commands.login_link.getpass.getuser", lambda: "Jane Doe/étè"
    )

    login_link("--no-link")

    assert get_user_model().objects.get().username == "JaneDoeétè"
