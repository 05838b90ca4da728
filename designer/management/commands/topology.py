"""`manage.py topology list|export|import`: topologies as documents from the command line."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from designer.models import Topology
from runtime import spec as topology_spec
from runtime.spec import SpecError


class Command(BaseCommand):
    help = "List, export and import topologies as flowyard.topology/1 documents."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List every topology.")
        listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        export = actions.add_parser("export", help="Print a topology's document.")
        export.add_argument("id", help="Topology id or slug.")
        export.add_argument("--format", default="json", choices=["json"], help="Output format.")
        export.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        imported = actions.add_parser("import", help="Create a topology from a document file.")
        imported.add_argument("file", help="Path to the JSON document, or - for stdin.")
        imported.add_argument("--owner", help="Username of the owner (default: the only user).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self.list_topologies(as_json=options["json"])
        elif action == "export":
            self.export(options["id"], options.get("output"))
        else:
            self.import_file(options["file"], options.get("owner"))

    def list_topologies(self, *, as_json: bool) -> None:
        rows = [
            {
                "id": t.pk,
                "slug": t.slug,
                "name": t.name,
                "owner": t.owner.get_username(),
                "version": t.version,
                "nodes": len(t.document.get("nodes", [])),
            }
            for t in Topology.objects.select_related("owner").order_by("pk")
        ]
        if as_json:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not rows:
            self.stdout.write("No topologies.")
            return
        self.stdout.write(f"{'ID':>4}  {'SLUG':<28} {'OWNER':<14} NAME")
        for row in rows:
            self.stdout.write(f"{row['id']:>4}  {row['slug']:<28} {row['owner']:<14} {row['name']}")

    def export(self, key: str, output: str | None) -> None:
        topology = find_topology(key)
        text = json.dumps(topology.document, indent=2, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {output}")
        else:
            self.stdout.write(text, ending="")

    def import_file(self, path: str, owner_name: str | None) -> None:
        owner = find_owner(owner_name)
        if path == "-":
            raw = sys.stdin.buffer.read(topology_spec.MAX_DOCUMENT_BYTES + 1)
        else:
            file = Path(path)
            if not file.is_file():
                raise CommandError(f"{path}: no such file")
            if file.stat().st_size > topology_spec.MAX_DOCUMENT_BYTES:
                raise CommandError(
                    f"{path}: {file.stat().st_size:,} bytes; the limit is "
                    f"{topology_spec.MAX_DOCUMENT_BYTES:,}"
                )
            raw = file.read_bytes()
        try:
            parsed = topology_spec.loads(raw)
        except SpecError as error:
            details = "\n".join(
                f"  {pointer or '/'}: {message}" for pointer, message in error.errors
            )
            raise CommandError(f"{path}: not a valid topology:\n{details}") from None
        topology = Topology.create_from_document(owner, parsed.to_dict())
        self.stdout.write(f"Imported topology {topology.pk} ({topology.slug}) for {owner}")


def find_topology(key: str) -> Topology:
    found = Topology.objects.filter(pk=int(key)) if key.isdigit() else Topology.objects.none()
    topology = found.first() or Topology.objects.filter(slug=key).first()
    if topology is None:
        raise CommandError(f"no topology with id or slug {key!r} (see `topology list`)")
    return topology


def find_owner(username: str | None) -> Any:
    users = get_user_model().objects
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user
    if users.count() != 1:
        raise CommandError("several users exist (or none): pass --owner USERNAME")
    return users.get()
