"""``manage.py runs deploy|redeploy|stop|status TOPOLOGY [--reset] [--json]``.

Commands go to the process hosting runs (the server started by ``make run``) through the
database and wait for its answer; ``status`` reads what that host last published, or, with no
live host, what the topology's store holds. TOPOLOGY is an id or a slug.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from hosting import commands, stores
from hosting.host import is_fresh
from hosting.models import RunStatus
from hosting.supervisor import topology_model

ACTIONS = ("deploy", "redeploy", "stop", "status")


class Command(BaseCommand):
    help = "Deploy, redeploy, stop or show a topology's run (on the process that hosts runs)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=ACTIONS)
        parser.add_argument("topology", help="the topology's id or slug")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="deploy/redeploy: purge what the run's store holds first (queues, DLQs, streams)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")
        parser.add_argument(
            "--timeout", type=float, default=60.0, help="seconds to wait for the host to finish"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        topology = find_topology(options["topology"])
        action = options["action"]
        if options["reset"] and action not in ("deploy", "redeploy"):
            raise CommandError("--reset goes with deploy or redeploy")
        if action == "status":
            result = status(topology)
        else:
            result = send_command(topology.pk, action, options["reset"], options["timeout"])
        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2, default=str))
        else:
            self.stdout.write(summary_line(topology, action, result))


def find_topology(reference: str) -> Any:
    model = topology_model()
    found = model.objects.filter(slug=reference).first()
    if found is None and reference.isdigit():
        found = model.objects.filter(pk=int(reference)).first()
    if found is None:
        raise CommandError(f"no topology with id or slug {reference!r}")
    return found


def send_command(topology_id: int, action: str, reset: bool, timeout: float) -> dict[str, Any]:
    try:
        return commands.send_command(topology_id, action, reset=reset, timeout=timeout)
    except commands.NoHost as error:
        raise CommandError(str(error)) from None
    except commands.CommandFailed as error:
        raise CommandError(f"{action} refused: {error}") from None


def status(topology: Any) -> dict[str, Any]:
    """The run as its host last published it; with no live host, the stored contents."""
    row = RunStatus.objects.filter(topology_id=topology.pk).first()
    document_nodes = {node["id"]: node for node in topology.document.get("nodes", [])}
    if row is not None and is_fresh(row.heartbeat):
        details = json.loads(row.details or "{}")
        store = details.get("store") or {}
        nodes = details.get("nodes") or {}
        result = {
            "topology": topology.pk,
            "slug": topology.slug,
            "state": row.state,
            "revision": row.revision,
            "run": row.run or None,
            "store": store.get("store"),
            "durability": store,
            "worker": row.host,
            "recovered": details.get("recovered", ""),
            "dropped": details.get("dropped", ""),
            "error": details.get("error", ""),
        }
    else:
        nodes = stored_depths(topology.pk)
        kind = stores.store_kind()
        result = {
            "topology": topology.pk,
            "slug": topology.slug,
            "state": "failed" if topology.run_state == "failed" else "stopped",
            "revision": None,
            "run": None,
            "store": kind,
            "durability": None,
            "worker": None,
            "recorded": topology.run_state,
            "note": "no process is hosting this run now"
            + (" (it resumes when the server starts)" if topology.run_state == "running" else ""),
        }
    result["nodes"] = node_report(document_nodes, nodes)
    return result


def stored_depths(topology_id: int) -> dict[str, dict[str, Any]]:
    """What the store holds per buffer, for a topology no process is running."""
    inventory = stores.stored_inventory(topology_id)
    held: dict[str, dict[str, Any]] = {}
    for name, count in inventory.get("queues", {}).items():
        held[name] = {"depth": count, "in_flight": 0}
    for name, count in inventory.get("logs", {}).items():
        held[name] = {"records": count}
    return held


def node_report(
    document_nodes: dict[str, Any], nodes: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Per node: its counters and gauges, and for a queue with a DLQ the DLQ's depth."""
    report: dict[str, dict[str, Any]] = {}
    for node_id, node in document_nodes.items():
        data = {"kind": node.get("kind"), **nodes.get(node_id, {})}
        if node.get("kind") == "queue":
            data.setdefault("depth", 0)
            data.setdefault("in_flight", 0)
            dlq = (node.get("config") or {}).get("dead_letter_queue")
            if dlq:
                data["dlq_depth"] = (nodes.get(dlq) or {}).get("depth", 0)
        report[node_id] = data
    return report


def summary_line(topology: Any, action: str, result: dict[str, Any]) -> str:
    name = f"{topology.slug} (id {topology.pk})"
    if action == "status":
        where = f" on {result['worker']}" if result.get("worker") else ""
        held = sum(node.get("depth", 0) for node in result["nodes"].values())
        line = f"{name}: {result['state']}{where}, store {result['store']}, {held} queued"
        return line + (f"; {result['note']}" if result.get("note") else "")
    line = f"{name}: {result.get('state', 'stopped')}"
    if result.get("revision"):
        line += f" revision {result['revision']}"
    if result.get("purged"):
        line += f"; purged {stores.describe(result['purged']) or 'nothing'}"
    if result.get("recovered"):
        line += f"; recovered {result['recovered']}"
    if result.get("dropped"):
        line += f"; dropped {result['dropped']}"
    return line
