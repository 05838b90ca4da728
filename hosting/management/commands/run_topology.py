"""``manage.py run_topology FILE``: run a topology document headless and print per-node stats."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runtime import graph
from runtime.engine import HEADLESS_GC_THRESHOLD, Engine
from runtime.events import Event, MessageDeadLettered, MessageFailed, MessageRefused
from runtime.spec import SpecError, loads

COLUMNS = ("in", "out", "acked", "errors", "dropped", "dead_lettered", "refused", "depth")


class Problems:
    """An observer that keeps refusals, failures and dead letters for the report."""

    wants_messages = False

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        if isinstance(event, MessageRefused | MessageFailed | MessageDeadLettered):
            self.events.append(event)


class Command(BaseCommand):
    help = "Run a topology document headless for a while and print per-node stats."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="a flowyard.topology/1 JSON document")
        parser.add_argument(
            "--send",
            nargs=2,
            action="append",
            default=[],
            metavar=("NODE_ID", "JSON"),
            help="inject a message into a node once the run has started (repeatable)",
        )
        parser.add_argument(
            "--for", dest="seconds", type=float, default=1.0, help="how long to run (seconds)"
        )
        parser.add_argument("--json", action="store_true", help="print the stats as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            spec = loads(path.read_bytes())
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error}") from None
        except SpecError as error:
            listed = "\n".join(
                f"  {pointer or '/'}: {message}" for pointer, message in error.errors
            )
            raise CommandError(f"{path} is not a valid topology:\n{listed}") from None
        problems = graph.errors(graph.lint(spec))
        if problems:
            listed = "\n".join(
                f"  [{finding.code}] {finding.node or finding.edge or ''}: {finding.message}"
                for finding in problems
            )
            raise CommandError(f"{path} has lint errors; fix them before running:\n{listed}")
        sends = []
        for node_id, text in options["send"]:
            if node_id not in {node.id for node in spec.nodes}:
                raise CommandError(f"--send names {node_id!r}, which is not a node of {path}")
            try:
                sends.append((node_id, json.loads(text)))
            except ValueError as error:
                raise CommandError(f"--send {node_id}: the body is not JSON: {error}") from None
        observer = Problems()
        snapshot = asyncio.run(self._run(spec, sends, options["seconds"], observer))
        if options["json"]:
            report = {**snapshot, "problems": [_problem(event) for event in observer.events]}
            self.stdout.write(json.dumps(report, indent=2, default=str))
        else:
            self._table(snapshot, observer.events)

    async def _run(
        self, spec: Any, sends: list[tuple[str, Any]], seconds: float, observer: Problems
    ) -> dict[str, Any]:
        from hosting.supervisor import engine_settings

        settings = replace(engine_settings(), gc_threshold=HEADLESS_GC_THRESHOLD)
        engine = Engine(spec, observer=observer, settings=settings)
        await engine.start()
        try:
            for node_id, body in sends:
                await engine.send(node_id, body)
            await asyncio.sleep(seconds)
        finally:
            await engine.stop()
        return engine.snapshot()

    def _table(self, snapshot: dict[str, Any], events: list[Event]) -> None:
        width = max((len(node_id) for node_id in snapshot["nodes"]), default=4)
        header = f"{'node':<{width}}  {'kind':<14}" + "".join(f"{c:>14}" for c in COLUMNS)
        self.stdout.write(header)
        for node_id, stats in snapshot["nodes"].items():
            cells = "".join(f"{stats.get(column, ''):>14}" for column in COLUMNS)
            self.stdout.write(f"{node_id:<{width}}  {stats['kind']:<14}{cells}")
        for event in events[:20]:
            problem = _problem(event)
            self.stdout.write(f"! {problem['node']}: {problem['code']} {problem['message']}")
        if len(events) > 20:
            self.stdout.write(f"! … and {len(events) - 20} more")


def _problem(event: Event) -> dict[str, Any]:
    return {
        "event": type(event).__name__,
        "node": getattr(event, "node", ""),
        "code": getattr(event, "error_code", ""),
        "message": getattr(event, "error_message", ""),
        "message_id": getattr(event, "message_id", ""),
    }
