"""`manage.py login_link`: ensure a local account exists and print a one-time login link."""

from __future__ import annotations

import getpass
from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from designer.models import LoginToken


def local_username() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = ""
    return "".join(ch for ch in name if ch.isalnum() or ch in "_.-") or "flowyard"


class Command(BaseCommand):
    help = "Create the local account on first use and print a one-time login link."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", help="Account to log in as (default: the first admin).")
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--no-link", action="store_true", help="Only create the account.")

    def handle(self, *args: Any, **options: Any) -> None:
        user = self.ensure_user(options.get("username"))
        if options["no_link"]:
            return
        token = LoginToken.issue(user)
        url = options["base_url"].rstrip("/") + reverse("token-login", args=[token])
        self.stdout.write("")
        self.stdout.write(f"  Log in to Flowyard as {user.get_username()} (one-time link):")
        self.stdout.write(f"    {url}")
        self.stdout.write("  Run `make run` or `python manage.py login_link` for a new link.")
        self.stdout.write("")

    def ensure_user(self, username: str | None) -> Any:
        users = get_user_model().objects
        if username:
            user, created = users.get_or_create(username=username)
        else:
            user = users.filter(is_superuser=True).order_by("pk").first()
            created = user is None
            if user is None:
                name = local_username()
                if users.filter(username=name).exists():
                    raise CommandError(
                        f"No admin account exists, and {name!r} is an ordinary account: pass "
                        f"--username {name} to log in as it, or create an admin with "
                        "`manage.py createsuperuser`."
                    )
                user = users.create(username=name)
        if created:
            # No password at all: the account is reached through one-time links until its owner
            # sets one with `manage.py changepassword`.
            user.set_unusable_password()
            user.is_staff = user.is_superuser = True
            user.save()
            self.stdout.write(f"Created the local account {user.get_username()!r}.")
        return user
