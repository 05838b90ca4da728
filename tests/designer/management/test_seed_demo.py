from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from designer.demo import DEMO_NAME, demo_document
from designer.models import Topology

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def local_user(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr("designer.management.commands.login_link.getpass.getuser", lambda: "dev")
    return "dev"


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_it_creates_the_local_account_and_its_demo_when_there_is_none() -> None:
    printed = seed()

    user = get_user_model().objects.get()
    assert (user.username, user.is_superuser, user.is_staff) == ("dev", True, True)
    assert not user.has_usable_password()
    demo = Topology.objects.get()
    assert (demo.name, demo.owner, demo.version) == (DEMO_NAME, user, 1)
    assert demo.document == demo_document()
    assert "Created the local account 'dev'." in printed
    assert f"Seeded “{DEMO_NAME}” (id {demo.pk}) for dev." in printed


def test_running_it_twice_leaves_one_demo() -> None:
    seed()

    printed = seed()

    assert Topology.objects.filter(name=DEMO_NAME).count() == 1
    assert get_user_model().objects.count() == 1
    assert printed == "The demo topology already exists for dev.\n"


def test_it_seeds_for_the_first_admin(admin_user: Any, alice: Any) -> None:
    seed()

    assert Topology.objects.get().owner == admin_user
    assert not get_user_model().objects.filter(username="dev").exists()


def test_it_seeds_for_a_named_owner(alice: Any) -> None:
    seed("--owner", "alice")
    seed("--owner", "alice")

    assert list(Topology.objects.values_list("owner__username", flat=True)) == ["alice"]


def test_each_owner_gets_a_demo_of_their_own(admin_user: Any, alice: Any) -> None:
    seed()
    seed("--owner", "alice")

    owners = Topology.objects.filter(name=DEMO_NAME).values_list("owner__username", flat=True)
    assert sorted(owners) == ["admin", "alice"]
    assert Topology.objects.values("slug").distinct().count() == 2


def test_an_unknown_owner_is_an_error() -> None:
    with pytest.raises(CommandError, match="no user 'dave'"):
        seed("--owner", "dave")
    assert not Topology.objects.exists()
