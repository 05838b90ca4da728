"""`manage.py topology list|export|import`: topologies in every format from the command line."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from designer.management import user_named
from designer.models import Topology
from runtime import spec as topology_spec
from runtime.formats import (
    EXPORT_FORMATS,
    IMPORT_FORMATS,
    FormatError,
    UnsupportedResources,
    export,
    import_document,
)
from runtime.spec import SpecError


class Command(BaseCommand):
    help = "List, export and import topologies as flowyard.topology/1 documents."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        listing = actions.add_parser("list", help="List every topology.")
        listing.add_argument("--json", action="store_true", help="Print JSON instead of a table.")
        export = actions.add_parser("export", help="Print a topology in a format.")
        export.add_argument("id", help="Topology id or slug.")
        export.add_argument(
            "--format", default="json", choices=list(EXPORT_FORMATS), help="Output format."
        )
        export.add_argument("--node", help="asl: the state machine node to export.")
        export.add_argument(
            "--scale", type=int, default=1, choices=[1, 2], help="png: 1x or 2x pixels."
        )
        export.add_argument("--output", "-o", help="Write to this file instead of stdout.")
        imported = actions.add_parser(
            "import", help="Create a topology from a JSON document, ASL or CloudFormation file."
        )
        imported.add_argument("file", help="Path to the file, or - for stdin.")
        imported.add_argument(
            "--format",
            choices=list(IMPORT_FORMATS),
            help="The file's format (default: detected from its content and name).",
        )
        imported.add_argument(
            "--skip-unsupported",
            action="store_true",
            help="CloudFormation: import the rest when some resources are not supported.",
        )
        imported.add_argument(
            "--into", help="ASL: add the state machine to this topology (id or slug) instead."
        )
        imported.add_argument("--owner", help="Username of the owner (default: the only user).")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "list":
            self.list_topologies(as_json=options["json"])
        elif action == "export":
            self.export(options)
        else:
            self.import_file(options)

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

    def export(self, options: dict[str, Any]) -> None:
        topology = find_topology(options["id"])
        fmt, output = options["format"], options.get("output")
        if fmt == "json":
            # The stored document as is, byte for byte what the JSON download gives.
            text = json.dumps(topology.document, indent=2, ensure_ascii=False) + "\n"
            return self.emit(text, output)
        try:
            exported = export(
                topology.to_spec(), fmt, node=options.get("node"), scale=options["scale"]
            )
        except FormatError as error:
            raise CommandError(f"cannot export {fmt}: {error}") from None
        for warning in exported.warnings:
            self.stderr.write(f"warning: {warning}")
        if isinstance(exported.content, bytes) and not output:
            raise CommandError(f"{fmt} is binary: pass -o FILE (e.g. -o {exported.filename})")
        self.emit(exported.content, output)

    def emit(self, content: str | bytes, output: str | None) -> None:
        if output and isinstance(content, bytes):
            Path(output).write_bytes(content)
        elif output:
            Path(output).write_text(content, encoding="utf-8")
        else:
            self.stdout.write(content, ending="")
            return
        self.stderr.write(f"Wrote {output}")

    def import_file(self, options: dict[str, Any]) -> None:
        path = options["file"]
        owner = find_owner(options.get("owner"))
        raw = read_input(path)
        into = find_topology(options["into"]) if options.get("into") else None
        try:
            imported = import_document(
                raw,
                fmt=options.get("format"),
                filename="" if path == "-" else path,
                skip_unsupported=options["skip_unsupported"],
                into=into.document if into else None,
            )
            parsed = topology_spec.load(imported.document)
        except UnsupportedResources as error:
            names = "\n".join(f"  {name} ({kind})" for name, kind in error.resources)
            raise CommandError(
                f"{path}: {len(error.resources)} unsupported resource(s):\n{names}\n"
                "Pass --skip-unsupported to import the rest without them."
            ) from None
        except FormatError as error:
            raise CommandError(f"{path}: not a valid topology:\n  /: {error}") from None
        except SpecError as error:
            details = "\n".join(
                f"  {pointer or '/'}: {message}" for pointer, message in error.errors
            )
            raise CommandError(f"{path}: not a valid topology:\n{details}") from None
        for skipped in imported.skipped:
            self.stderr.write(f"skipped unsupported resource {skipped}")
        if into is not None:
            into.save_document(
                parsed.to_dict(),
                base_version=into.version,
                author=owner,
                message=f"Imported {Path(path).name}",
            )
            self.stdout.write(f"Added a state machine to topology {into.pk} ({into.slug})")
            return
        topology = Topology.create_from_document(owner, parsed.to_dict())
        self.stdout.write(f"Imported topology {topology.pk} ({topology.slug}) for {owner}")


def read_input(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(topology_spec.MAX_DOCUMENT_BYTES + 1)
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path}: no such file")
    if file.stat().st_size > topology_spec.MAX_DOCUMENT_BYTES:
        raise CommandError(
            f"{path}: {file.stat().st_size:,} bytes; the limit is "
            f"{topology_spec.MAX_DOCUMENT_BYTES:,}"
        )
    return file.read_bytes()


def find_topology(key: str) -> Topology:
    found = Topology.objects.filter(pk=int(key)) if key.isdigit() else Topology.objects.none()
    topology = found.first() or Topology.objects.filter(slug=key).first()
    if topology is None:
        raise CommandError(f"no topology with id or slug {key!r} (see `topology list`)")
    return topology


def find_owner(username: str | None) -> Any:
    if username:
        return user_named(username)
    users = get_user_model().objects
    if users.count() != 1:
        raise CommandError("several users exist (or none): pass --owner USERNAME")
    return users.get()
