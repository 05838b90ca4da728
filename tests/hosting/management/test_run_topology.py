"""``manage.py run_topology``: the demo runs headless and every node counts traffic."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from designer.demo import demo_document
from runtime.engine import EngineSettings
from runtime.outbound import Response

ORDER = {
    "Source": "com.flowyard.orders",
    "DetailType": "OrderPlaced",
    "Detail": json.dumps({"total": 900, "channel": "email", "status": "placed"}),
}


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No real HTTP or email from tests: the engine gets recording doubles."""
    posted: list[str] = []

    async def post(url: str, **_: Any) -> Response:
        posted.append(url)
        return Response(200, {}, b"", url)

    settings = EngineSettings(http_post=post, email_sender=lambda email: None)
    monkeypatch.setattr("hosting.supervisor.engine_settings", lambda: settings)
    return posted


def run(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("run_topology", str(path), *args, stdout=out)
    return out.getvalue()


def test_the_demo_runs_headless_and_every_node_counts_traffic(
    tmp_path: Path, offline: list[str]
) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_document()))
    output = run(
        path, "--for", "0.3", "--json", "--send", "checkout", "null",
        "--send", "orders-api", json.dumps(ORDER),
    )  # fmt: skip
    report = json.loads(output)
    assert report["state"] == "stopped"
    quiet = {node for node, stats in report["nodes"].items() if not stats["in"]}
    # The DLQ only fills when fulfilment fails three times, which this run never makes happen.
    assert quiet == {"orders-dlq"}
    assert report["nodes"]["sms-customer"]["in"] == 1  # only the 900 order passes >= 500
    assert offline == ["https://partner.example.com/hooks/orders"] * 2


def test_the_table_lists_every_node(tmp_path: Path, offline: list[str]) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_document()))
    output = run(path, "--for", "0.05", "--send", "checkout", "{}")
    assert output.splitlines()[0].split()[:3] == ["node", "kind", "in"]
    assert "orders-queue" in output and "clickstream" in output


def test_a_topology_with_lint_errors_is_refused_with_the_errors_listed(tmp_path: Path) -> None:
    document = demo_document()
    document["edges"].append({"id": "loop", "source": "orders-queue", "target": "orders-queue"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CommandError, match=r"lint errors[\s\S]*\[self-loop\]"):
        run(path)


def test_bad_files_and_bad_sends_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read"):
        run(tmp_path / "missing.json")
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_document()))
    with pytest.raises(CommandError, match="not a node"):
        run(path, "--send", "nope", "{}")
    with pytest.raises(CommandError, match="not JSON"):
        run(path, "--send", "checkout", "{oops")
