"""`topology export --format F` and `topology import` of ASL and CloudFormation files."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from designer.demo import demo_document
from designer.models import Topology
from runtime.formats import export, png
from runtime.formats.cloudformation import build
from runtime.formats.reading import dumps_yaml
from runtime.spec import load

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("topology", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def demo(alice: Any) -> Topology:
    return Topology.create_from_document(alice, demo_document())


@pytest.mark.parametrize("fmt", ["svg", "mermaid", "dot", "drawio", "cloudformation", "asyncapi"])
def test_export_prints_each_format(demo: Topology, fmt: str) -> None:
    printed, _ = run("export", demo.slug, "--format", fmt)
    assert printed == export(demo.to_spec(), fmt, stem=demo.slug).content


def test_export_asl_of_a_named_node_to_a_file(demo: Topology, tmp_path: Path) -> None:
    target = tmp_path / "flow.json"
    _, said = run(
        "export", str(demo.pk), "--format", "asl", "--node", "payment-workflow", "-o", str(target)
    )
    assert json.loads(target.read_text())["StartAt"] == "ChargeCard"
    assert said.strip() == f"Wrote {target}"


def test_export_errors_are_clear(demo: Topology) -> None:
    with pytest.raises(CommandError, match="cannot export asl: 'checkout' is not a state machine"):
        run("export", demo.slug, "--format", "asl", "--node", "checkout")


def test_png_needs_a_file_and_a_rasteriser(
    demo: Topology, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if png.available():
        with pytest.raises(CommandError, match="png is binary: pass -o FILE"):
            run("export", demo.slug, "--format", "png")
        target = tmp_path / "demo.png"
        run("export", demo.slug, "--format", "png", "--scale", "2", "-o", str(target))
        width, _height = struct.unpack(">II", target.read_bytes()[16:24])
        assert width == pytest.approx(2 * 1448, abs=4)
    monkeypatch.setattr(png, "available", lambda: None)
    with pytest.raises(CommandError, match="no PNG rasteriser is installed"):
        run("export", demo.slug, "--format", "png", "-o", str(tmp_path / "x.png"))


def test_import_of_an_exported_template_round_trips(demo: Topology, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    run("export", demo.slug, "--format", "cloudformation", "-o", str(path))
    printed, _ = run("import", str(path), "--owner", "alice")
    imported = Topology.objects.exclude(pk=demo.pk).get()
    assert printed.startswith(f"Imported topology {imported.pk} ")
    assert export(imported.to_spec(), "cloudformation").content == path.read_text()


def test_unsupported_resources_are_listed_until_skipped(demo: Topology, tmp_path: Path) -> None:
    template, _ = build(demo.to_spec())
    template["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket"}
    template["Resources"]["Table"] = {"Type": "AWS::DynamoDB::Table"}
    path = tmp_path / "stack.yaml"
    path.write_text(dumps_yaml(template))
    with pytest.raises(CommandError) as refused:
        run("import", str(path), "--owner", "alice")
    assert "  Bucket (AWS::S3::Bucket)\n  Table (AWS::DynamoDB::Table)\n" in str(refused.value)
    assert "--skip-unsupported" in str(refused.value)
    _, said = run("import", str(path), "--owner", "alice", "--skip-unsupported")
    assert "skipped unsupported resource Bucket (AWS::S3::Bucket)" in said
    assert Topology.objects.count() == 2


def test_malformed_yaml_gives_line_and_column(alice: Any, tmp_path: Path) -> None:
    path = tmp_path / "stack.yaml"
    path.write_text("Resources:\n  Queue: {Type: AWS::SQS::Queue\n")
    with pytest.raises(CommandError, match=r"not YAML: .*line \d+, column \d+"):
        run("import", str(path), "--owner", "alice")


def test_an_asl_file_becomes_a_topology_or_joins_one(demo: Topology, tmp_path: Path) -> None:
    path = tmp_path / "refunds.asl.json"
    path.write_text(json.dumps({"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}))
    run("import", str(path), "--owner", "alice")
    created = Topology.objects.exclude(pk=demo.pk).get()
    assert [node.kind for node in created.to_spec().nodes] == ["state_machine"]
    printed, _ = run(
        "import", str(path), "--format", "asl", "--into", demo.slug, "--owner", "alice"
    )
    demo.refresh_from_db()
    assert printed.startswith(f"Added a state machine to topology {demo.pk}")
    assert load(demo.document).node("refunds").kind == "state_machine"


def test_export_warnings_go_to_stderr(alice: Any) -> None:
    from tests.runtime.formats.samples import every_kind_document

    topology = Topology.create_from_document(alice, every_kind_document())
    printed, said = run("export", topology.slug, "--format", "cloudformation")
    assert printed.startswith("AWSTemplateFormatVersion:")
    assert "warning: e-alerts-sink: SNS cannot deliver to a log" in said
