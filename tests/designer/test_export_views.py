"""Export downloads need a login and read access; imports of ASL and CloudFormation files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from designer.demo import demo_document
from designer.models import Access, Share, Topology
from runtime.formats import EXPORT_FORMATS, export
from runtime.formats.cloudformation import build
from runtime.formats.reading import dumps_yaml
from runtime.spec import load

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(alice: Any) -> Topology:
    return Topology.create_from_document(alice, demo_document())


def url(topology: Topology, fmt: str) -> str:
    return reverse(f"designer:export-as-{fmt}", args=[topology.pk])


def upload(name: str, content: str | bytes) -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data)


def shown(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


@pytest.mark.parametrize("fmt", [name for name in EXPORT_FORMATS if name not in ("png", "asl")])
def test_each_format_downloads_as_an_attachment(
    alice_client: Client, demo: Topology, fmt: str
) -> None:
    response = alice_client.get(url(demo, fmt))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="orders-demo.')
    assert response["Content-Type"] == EXPORT_FORMATS[fmt].content_type


def test_the_download_is_the_export_of_the_saved_document(
    alice_client: Client, demo: Topology
) -> None:
    response = alice_client.get(url(demo, "cloudformation"))
    assert response.content.decode() == export(demo.to_spec(), "cloudformation").content


def test_asl_needs_a_state_machine_node(alice_client: Client, demo: Topology) -> None:
    response = alice_client.get(url(demo, "asl") + "?node=payment-workflow")
    assert response["Content-Disposition"] == 'attachment; filename="payment-workflow.asl.json"'
    bad = alice_client.get(url(demo, "asl") + "?node=orders-queue")
    assert bad.status_code == 400
    assert b"not a state machine" in bad.content


def test_the_svg_can_be_fetched_inline_and_never_runs_scripts(
    alice_client: Client, demo: Topology
) -> None:
    response = alice_client.get(url(demo, "svg") + "?inline=1")
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_png_without_a_rasteriser_points_to_the_browser_button(
    alice_client: Client, demo: Topology, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.formats import png

    monkeypatch.setattr(png, "available", lambda: None)
    response = alice_client.get(url(demo, "png"))
    assert response.status_code == 501
    assert b"Export PNG button" in response.content


def test_an_unknown_format_is_not_found(alice_client: Client, demo: Topology) -> None:
    assert alice_client.get(f"/topologies/{demo.pk}/export/pdf/").status_code == 404


def test_exports_need_a_login(client: Client, demo: Topology) -> None:
    response = client.get(url(demo, "svg"))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_strangers_cannot_export_and_readers_can(demo: Topology, bob: Any, carol: Any) -> None:
    stranger = Client()
    stranger.force_login(carol)
    assert stranger.get(url(demo, "json")).status_code == 404
    Share.objects.create(topology=demo, user=bob, access=Access.READ)
    reader = Client()
    reader.force_login(bob)
    assert reader.get(url(demo, "json")).status_code == 200


def test_a_cloudformation_file_imports_as_a_new_topology(
    alice_client: Client, demo: Topology
) -> None:
    text = export(demo.to_spec(), "cloudformation").content
    response = alice_client.post(
        reverse("designer:import-file"), {"file": upload("stack.yaml", text)}
    )
    imported = Topology.objects.exclude(pk=demo.pk).get()
    assert response["Location"] == reverse("designer:editor", args=[imported.pk])
    assert export(imported.to_spec(), "cloudformation").content == text


def test_unsupported_resources_are_named_and_the_box_imports_the_rest(
    alice_client: Client, demo: Topology
) -> None:
    template, _ = build(demo.to_spec())
    template["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket"}
    text = dumps_yaml(template)
    refused = alice_client.post(
        reverse("designer:import-file"), {"file": upload("stack.yaml", text)}, follow=True
    )
    assert "Unsupported resource: Bucket (AWS::S3::Bucket)." in shown(refused)
    assert Topology.objects.count() == 1
    agreed = alice_client.post(
        reverse("designer:import-file"),
        {"file": upload("stack.yaml", text), "skip_unsupported": "on"},
        follow=True,
    )
    assert "Left out unsupported resource Bucket (AWS::S3::Bucket)." in shown(agreed)
    assert Topology.objects.count() == 2


def test_malformed_yaml_is_refused_with_its_line_and_column(alice_client: Client) -> None:
    response = alice_client.post(
        reverse("designer:import-file"),
        {"file": upload("stack.yaml", "Resources:\n  A: [\n"), "format": "cloudformation"},
        follow=True,
    )
    (message,) = shown(response)
    assert message.startswith("Import refused: not YAML:")
    assert "line 3, column 1" in message


def test_an_asl_file_is_added_to_the_open_topology(alice_client: Client, demo: Topology) -> None:
    definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
    response = alice_client.post(
        reverse("designer:import-file"),
        {
            "file": upload("refunds.asl.json", json.dumps(definition)),
            "format": "asl",
            "into": str(demo.pk),
            "version": str(demo.version),
        },
    )
    assert response["Location"] == reverse("designer:editor", args=[demo.pk])
    demo.refresh_from_db()
    added = load(demo.document).node("refunds")
    assert added.config["definition"] == definition
    assert demo.version == 2


def test_readers_cannot_add_to_a_topology(demo: Topology, bob: Any) -> None:
    Share.objects.create(topology=demo, user=bob, access=Access.READ)
    reader = Client()
    reader.force_login(bob)
    response = reader.post(
        reverse("designer:import-file"),
        {"file": upload("x.asl.json", '{"StartAt": "A", "States": {}}'), "into": str(demo.pk)},
    )
    assert response.status_code == 403


def test_the_editor_offers_the_export_menu(alice_client: Client, demo: Topology) -> None:
    page = alice_client.get(reverse("designer:editor", args=[demo.pk])).content.decode()
    assert 'aria-label="Export PNG 2x"' in page
    assert url(demo, "cloudformation") in page
    assert "?node=payment-workflow" in page


def test_only_asl_can_be_added_to_an_open_topology(alice_client: Client, demo: Topology) -> None:
    text = export(demo.to_spec(), "cloudformation").content
    response = alice_client.post(
        reverse("designer:import-file"),
        {"file": upload("stack.yaml", text), "into": str(demo.pk)},
        follow=True,
    )
    assert shown(response) == ["Only an ASL state machine can be added to an open topology."]
    demo.refresh_from_db()
    assert demo.version == 1


def test_the_menu_offers_imports_with_the_skip_box(alice_client: Client, demo: Topology) -> None:
    page = alice_client.get(reverse("designer:editor", args=[demo.pk])).content.decode()
    assert reverse("designer:import-file") in page
    assert "Import the rest, leaving unsupported resources out" in page
    assert "Add an ASL state machine to this topology" in page


def test_more_than_500_edges_warn_in_a_header(alice_client: Client, alice: Any) -> None:
    nodes = [{"id": "p", "kind": "producer", "x": 0, "y": 0}] + [
        {"id": f"q{i}", "kind": "queue", "x": 200, "y": 80 * i} for i in range(501)
    ]
    edges = [{"id": f"e{i}", "source": "p", "target": f"q{i}"} for i in range(501)]
    document = {"schema": "flowyard.topology/1", "name": "Wide", "nodes": nodes, "edges": edges}
    wide = Topology.create_from_document(alice, document)
    response = alice_client.get(url(wide, "mermaid"))
    assert response.status_code == 200
    assert "501 edges" in response["X-Flowyard-Warnings"]
    assert "X-Flowyard-Warnings" not in alice_client.get(url(wide, "dot"))


def test_a_json_document_imports_through_the_same_form(
    alice_client: Client, demo: Topology
) -> None:
    text = export(demo.to_spec(), "json").content
    alice_client.post(reverse("designer:import-file"), {"file": upload("orders.json", text)})
    imported = Topology.objects.exclude(pk=demo.pk).get()
    assert imported.to_spec() == demo.to_spec()
