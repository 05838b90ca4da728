"""`manage.py seed_demo`: create the demo topology for the local account, once."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from designer.demo import DEMO_NAME, demo_document
from designer.management import user_named
from designer.models import Topology


class Command(BaseCommand):
    help = "Seed the demo topology (idempotent): creates the local account first if none exists."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--owner", help="Username of the owner (default: the first admin).")

    def handle(self, *args: Any, **options: Any) -> None:
        owner = self.owner(options.get("owner"))
        if Topology.objects.filter(owner=owner, name=DEMO_NAME).exists():
            self.stdout.write(f"The demo topology already exists for {owner.get_username()}.")
            return
        topology = Topology.create_from_document(owner, demo_document())
        self.stdout.write(f"Seeded “{topology.name}” (id {topology.pk}) for {owner}.")

    def owner(self, username: str | None) -> Any:
        if username:
            return user_named(username)
        users = get_user_model().objects
        admin = users.filter(is_superuser=True).order_by("pk").first()
        if admin is None:
            call_command("login_link", "--no-link", stdout=self.stdout)
            admin = users.filter(is_superuser=True).order_by("pk").get()
        return admin
