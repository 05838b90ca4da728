from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from designer import urls as designer_urls
from designer.models import (
    Access,
    LoginToken,
    Share,
    StaleVersion,
    Topology,
    TopologyRevision,
)
from runtime import spec
from tests.builders import (
    edge,
    log_node,
    make_document,
    nested,
    node,
    pipeline_document,
    queue_node,
    to_json_bytes,
)

pytestmark = pytest.mark.django_db


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def topology(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


@pytest.fixture
def read_share(topology: Topology, bob: Any) -> Share:
    return Share.objects.create(topology=topology, user=bob, access=Access.READ)


@pytest.fixture
def edit_share(topology: Topology, bob: Any) -> Share:
    return Share.objects.create(topology=topology, user=bob, access=Access.EDIT)


def url(name: str, *args: Any) -> str:
    return reverse(f"designer:{name}", args=args)


def shown_messages(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def post_json(client: Client, path: str, payload: Any) -> Any:
    return client.post(path, json.dumps(payload), content_type="application/json")


def save_payload(version: int, document: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"version": version, "document": document, **extra}


def with_audit_log(document: dict[str, Any]) -> dict[str, Any]:
    return {
        **document,
        "nodes": [*document["nodes"], log_node("audit")],
        "edges": [*document["edges"], edge("worker-audit", "worker", "audit")],
    }


def reload(topology: Topology) -> Topology:
    return Topology.objects.get(pk=topology.pk)


# --- login required everywhere -------------------------------------------------------------------


def designer_paths(topology: Topology) -> list[str]:
    """Every address of the designer app, with this topology and its first revision."""
    values = {"pk": topology.pk, "number": 1, "user_id": topology.owner_id, "fmt": "json"}
    values |= {"node_id": "orders", "trace_id": "t-1", "sample_id": 1, "name": "e-1"}
    paths = []
    for pattern in designer_urls.urlpatterns:
        kwargs = {name: values[name] for name in pattern.pattern.converters}
        paths.append(reverse(f"designer:{pattern.name}", kwargs=kwargs))
    return paths


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_designer_address_sends_an_anonymous_visitor_to_the_login_page(
    client: Client, topology: Topology, method: str
) -> None:
    paths = designer_paths(topology)

    for path in paths:
        response = getattr(client, method)(path)
        assert response.status_code == 302, path
        assert response["Location"] == f"/accounts/login/?next={quote(path)}", path
    assert len(paths) >= 14
    assert reload(topology).version == 1
    assert Topology.objects.count() == 1


def test_the_login_page_itself_is_open(client: Client) -> None:
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    assert b"Log in to Flowyard" in response.content


# --- the topology list ---------------------------------------------------------------------------


def test_the_index_lists_only_the_topologies_a_user_may_see(
    alice: Any, bob: Any, carol: Any, alice_client: Client
) -> None:
    mine = Topology.create_from_document(alice, make_document(name="Mine"))
    shared = Topology.create_from_document(bob, make_document(name="Shared with alice"))
    Share.objects.create(topology=shared, user=alice, access=Access.READ)
    Topology.create_from_document(carol, make_document(name="Carol's secret"))

    response = alice_client.get(url("index"))

    assert response.status_code == 200
    assert {t.name for t in response.context["topologies"]} == {mine.name, shared.name}
    assert b"Carol&#x27;s secret" not in response.content
    assert f'data-topology-id="{mine.pk}"'.encode() in response.content
    assert f'data-topology-id="{shared.pk}"'.encode() in response.content


def test_only_the_owner_is_offered_the_delete_button(
    topology: Topology, read_share: Share, bob_client: Client, alice_client: Client
) -> None:
    delete_path = url("delete", topology.pk).encode()

    assert delete_path in alice_client.get(url("index")).content
    assert delete_path not in bob_client.get(url("index")).content


def test_a_stranger_sees_an_empty_list(topology: Topology, carol_client: Client) -> None:
    response = carol_client.get(url("index"))

    assert list(response.context["topologies"]) == []
    assert b"No topologies yet" in response.content


def test_search_filters_by_name_description_and_slug(alice: Any, alice_client: Client) -> None:
    Topology.create_from_document(alice, make_document(name="Orders"))
    Topology.create_from_document(alice, make_document(name="Payments", description="Card flow"))
    Topology.create_from_document(alice, make_document(name="Clicks"))

    def names(query: str) -> set[str]:
        response = alice_client.get(url("index"), {"q": query})
        return {t.name for t in response.context["topologies"]}

    assert names("ORD") == {"Orders"}
    assert names("card") == {"Payments"}
    assert names("clicks") == {"Clicks"}
    assert names("  ") == {"Orders", "Payments", "Clicks"}
    assert names("nothing like it") == set()


def test_a_search_without_results_says_so(alice: Any, alice_client: Client) -> None:
    Topology.create_from_document(alice, make_document(name="Orders"))

    response = alice_client.get(url("index"), {"q": "zebra"})

    assert "No topology matches “zebra”.".encode() in response.content


def test_search_does_not_reveal_other_peoples_topologies(carol: Any, alice_client: Client) -> None:
    Topology.create_from_document(carol, make_document(name="Orders of carol"))

    response = alice_client.get(url("index"), {"q": "orders"})

    assert list(response.context["topologies"]) == []


def test_an_htmx_search_gets_only_the_rows(alice: Any, alice_client: Client) -> None:
    Topology.create_from_document(alice, make_document(name="Orders"))
    Topology.create_from_document(alice, make_document(name="Payments"))

    response = alice_client.get(url("index"), {"q": "pay"}, headers={"HX-Request": "true"})

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<table id="topology-rows"')
    assert "<html" not in content
    assert "Payments" in content
    assert "Orders" not in content


def test_an_htmx_history_restore_gets_the_whole_page(alice: Any, alice_client: Client) -> None:
    Topology.create_from_document(alice, make_document(name="Payments"))

    response = alice_client.get(
        url("index"),
        {"q": "pay"},
        headers={"HX-Request": "true", "HX-History-Restore-Request": "true"},
    )

    content = response.content.decode()
    assert "<html" in content
    assert 'id="topology-search"' in content
    assert "Payments" in content


def test_the_list_varies_with_the_htmx_headers(alice_client: Client) -> None:
    response = alice_client.get(url("index"))

    vary = {value.strip() for value in response["Vary"].split(",")}
    assert {"HX-Request", "HX-History-Restore-Request"} <= vary


def test_the_full_page_has_the_search_form_and_the_rows(alice_client: Client) -> None:
    content = alice_client.get(url("index")).content.decode()

    assert "<html" in content
    assert 'id="topology-search"' in content
    assert 'id="topology-rows"' in content


# --- create, rename, duplicate, delete -----------------------------------------------------------


def test_create_makes_an_empty_topology_and_opens_it(alice: Any, alice_client: Client) -> None:
    response = alice_client.post(url("create"), {"name": "  Payments  "})

    topology = Topology.objects.get()
    assert response.status_code == 302
    assert response["Location"] == url("editor", topology.pk)
    assert (topology.name, topology.owner, topology.version) == ("Payments", alice, 1)
    assert topology.document["nodes"] == []
    assert topology.document["schema"] == spec.SCHEMA
    assert topology.revisions.count() == 1


def test_create_without_a_name_uses_a_placeholder(alice_client: Client) -> None:
    alice_client.post(url("create"), {"name": ""})

    assert Topology.objects.get().name == "Untitled topology"


def test_create_with_a_too_long_name_says_why(alice_client: Client) -> None:
    response = alice_client.post(url("create"), {"name": "n" * 201}, follow=True)

    assert response.redirect_chain == [(url("index"), 302)]
    [message] = shown_messages(response)
    assert message.startswith("Could not create the topology:")
    assert "/name: must be at most 200 characters" in message
    assert not Topology.objects.exists()


def test_create_needs_a_post(alice_client: Client) -> None:
    assert alice_client.get(url("create")).status_code == 405


def test_rename_stores_a_new_revision(topology: Topology, alice_client: Client) -> None:
    response = alice_client.post(url("rename", topology.pk), {"name": "Orders v2"})

    assert response.status_code == 302
    assert response["Location"] == url("index")
    topology = reload(topology)
    assert (topology.name, topology.version) == ("Orders v2", 2)
    assert topology.document["name"] == "Orders v2"
    assert topology.revisions.first().message == "Renamed to Orders v2"


def test_rename_returns_to_a_local_next_address(topology: Topology, alice_client: Client) -> None:
    editor = url("editor", topology.pk)

    response = alice_client.post(url("rename", topology.pk), {"name": "New", "next": editor})

    assert response["Location"] == editor


@pytest.mark.parametrize(
    "target", ["https://evil.example/phish", "//evil.example/phish", "javascript:alert(1)"]
)
def test_rename_never_redirects_off_site(
    topology: Topology, alice_client: Client, target: str
) -> None:
    response = alice_client.post(url("rename", topology.pk), {"name": "New", "next": target})

    assert response["Location"] == url("index")


def test_rename_to_an_empty_name_is_refused(topology: Topology, alice_client: Client) -> None:
    response = alice_client.post(url("rename", topology.pk), {"name": "   "}, follow=True)

    assert shown_messages(response) == ["Could not rename: must be a non-empty string"]
    assert reload(topology).version == 1


def test_a_rename_that_loses_a_race_reports_the_conflict(
    topology: Topology, alice_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def saved_meanwhile(*args: Any, **kwargs: Any) -> None:
        raise StaleVersion(current=2, given=1)

    monkeypatch.setattr(Topology, "save_document", saved_meanwhile)

    response = alice_client.post(url("rename", topology.pk), {"name": "Late"}, follow=True)

    [message] = shown_messages(response)
    assert "you edited version 1, the latest is 2" in message
    assert reload(topology).name == "Orders"


def test_an_edit_share_may_rename(
    topology: Topology, edit_share: Share, bob: Any, bob_client: Client
) -> None:
    bob_client.post(url("rename", topology.pk), {"name": "Bob's name"})

    assert reload(topology).name == "Bob's name"
    assert topology.revisions.first().author == bob


def test_a_read_share_may_not_rename(
    topology: Topology, read_share: Share, bob_client: Client
) -> None:
    response = bob_client.post(url("rename", topology.pk), {"name": "Mine now"})

    assert response.status_code == 403
    assert reload(topology).name == "Orders"


def test_a_stranger_cannot_rename(topology: Topology, carol_client: Client) -> None:
    response = carol_client.post(url("rename", topology.pk), {"name": "Mine now"})

    assert response.status_code == 404
    assert reload(topology).name == "Orders"


def test_duplicate_makes_a_copy_owned_by_the_user(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    response = alice_client.post(url("duplicate", topology.pk), follow=True)

    copy = Topology.objects.exclude(pk=topology.pk).get()
    assert response.redirect_chain == [(url("index"), 302)]
    assert shown_messages(response) == ["Created “Orders (copy)”."]
    assert (copy.name, copy.owner, copy.version) == ("Orders (copy)", alice, 1)
    assert copy.document["nodes"] == topology.document["nodes"]


def test_a_read_share_may_duplicate_into_its_own_topology(
    topology: Topology, read_share: Share, bob: Any, bob_client: Client
) -> None:
    bob_client.post(url("duplicate", topology.pk))

    copy = Topology.objects.exclude(pk=topology.pk).get()
    assert copy.owner == bob
    assert copy.can_edit(bob)


def test_a_stranger_cannot_duplicate(topology: Topology, carol_client: Client) -> None:
    response = carol_client.post(url("duplicate", topology.pk))

    assert response.status_code == 404
    assert Topology.objects.count() == 1


def test_the_owner_deletes_a_topology_with_its_revisions(
    topology: Topology, alice_client: Client
) -> None:
    topology.save_document(topology.document, base_version=1, author=topology.owner)

    response = alice_client.post(url("delete", topology.pk), follow=True)

    assert response.redirect_chain == [(url("index"), 302)]
    assert shown_messages(response) == ["Deleted “Orders”."]
    assert not Topology.objects.exists()
    assert not TopologyRevision.objects.exists()


def test_an_edit_share_may_not_delete(
    topology: Topology, edit_share: Share, bob_client: Client
) -> None:
    response = bob_client.post(url("delete", topology.pk))

    assert response.status_code == 403
    assert Topology.objects.filter(pk=topology.pk).exists()


def test_a_stranger_cannot_delete(topology: Topology, carol_client: Client) -> None:
    response = carol_client.post(url("delete", topology.pk))

    assert response.status_code == 404
    assert Topology.objects.filter(pk=topology.pk).exists()


def test_deleting_needs_a_post(topology: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("delete", topology.pk))

    assert response.status_code == 405
    assert Topology.objects.filter(pk=topology.pk).exists()


def test_an_unknown_topology_is_not_found(alice_client: Client) -> None:
    assert alice_client.get(url("editor", 999)).status_code == 404
    assert alice_client.post(url("delete", 999)).status_code == 404


# --- the editor ----------------------------------------------------------------------------------


def editor_boot(response: Any) -> dict[str, Any]:
    """The data the editor page hands its canvas script: the document, lint, rights."""
    match = re.search(
        r'<script id="editor-boot" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.DOTALL,
    )
    assert match, "the editor page has no editor-boot data"
    return json.loads(match.group(1))


def test_the_editor_renders_the_nodes_and_a_clean_lint(
    topology: Topology, alice_client: Client
) -> None:
    response = alice_client.get(url("editor", topology.pk))

    assert response.status_code == 200
    assert b"<svg data-canvas" in response.content
    boot = editor_boot(response)
    assert boot["document"] == topology.document
    assert [(n["id"], n["kind"]) for n in boot["document"]["nodes"]] == [
        ("orders-in", "producer"),
        ("orders", "queue"),
        ("worker", "function"),
        ("sink", "log"),
    ]
    assert boot["topology"] == {"id": topology.pk, "version": 1}
    assert boot["lint"] == []
    assert boot["can_edit"] is True


def test_the_editor_delivers_lint_findings(alice: Any, alice_client: Client) -> None:
    document = make_document(
        nodes=[node("in", "producer"), queue_node("stuck")], edges=[edge("e1", "in", "stuck")]
    )
    topology = Topology.create_from_document(alice, document)

    boot = editor_boot(alice_client.get(url("editor", topology.pk)))

    [finding] = boot["lint"]
    assert (finding["code"], finding["severity"], finding["node"]) == (
        "unconsumed",
        "warning",
        "stuck",
    )
    assert "Nobody consumes “stuck”" in finding["message"]


def test_the_editor_escapes_labels(alice: Any, alice_client: Client) -> None:
    label = "</script><script>alert(1)</script>"
    document = make_document(name="<b>Orders</b>", nodes=[log_node("sink", label=label)])
    topology = Topology.create_from_document(alice, document)

    response = alice_client.get(url("editor", topology.pk))

    content = response.content.decode()
    assert "<script>alert(1)</script>" not in content
    assert "<b>Orders</b>" not in content
    assert "&lt;b&gt;Orders&lt;/b&gt;" in content
    assert editor_boot(response)["document"]["nodes"][0]["label"] == label


def test_a_read_share_sees_the_editor_without_edit_rights(
    topology: Topology, read_share: Share, bob_client: Client
) -> None:
    response = bob_client.get(url("editor", topology.pk))

    assert response.status_code == 200
    assert editor_boot(response)["can_edit"] is False


def test_a_stranger_cannot_open_the_editor(topology: Topology, carol_client: Client) -> None:
    assert carol_client.get(url("editor", topology.pk)).status_code == 404


def test_the_lint_endpoint_returns_the_findings(alice: Any, alice_client: Client) -> None:
    document = make_document(nodes=[node("in", "producer"), queue_node("stuck")])
    topology = Topology.create_from_document(alice, document)

    response = alice_client.get(url("lint", topology.pk))

    codes = {(f["code"], f["node"]) for f in response.json()["lint"]}
    assert ("unconsumed", "stuck") in codes
    assert ("unreachable", "stuck") in codes


# --- the document endpoint -----------------------------------------------------------------------


def test_get_document_returns_the_version_and_the_document(
    topology: Topology, alice_client: Client
) -> None:
    response = alice_client.get(url("document", topology.pk))

    assert response.status_code == 200
    assert response.json() == {"version": 1, "document": pipeline_document("Orders")}


def test_post_document_saves_a_new_version_and_returns_its_lint(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    changed = with_audit_log(topology.document)

    response = post_json(
        alice_client, url("document", topology.pk), save_payload(1, changed, message="Audit")
    )

    assert response.status_code == 200
    assert response.json() == {"version": 2, "lint": []}
    topology = reload(topology)
    assert topology.version == 2
    assert topology.document == changed
    revision = topology.revisions.first()
    assert (revision.number, revision.author, revision.message) == (2, alice, "Audit")


def test_post_document_returns_lint_findings_of_the_saved_version(
    topology: Topology, alice_client: Client
) -> None:
    changed = {**topology.document, "nodes": [*topology.document["nodes"], queue_node("stuck")]}

    response = post_json(alice_client, url("document", topology.pk), save_payload(1, changed))

    findings = response.json()["lint"]
    assert any(f["code"] == "unconsumed" and f["node"] == "stuck" for f in findings)
    assert all(set(f) == {"code", "severity", "message", "node", "edge"} for f in findings)


def test_post_document_refuses_a_stale_version_with_409(
    topology: Topology, alice: Any, alice_client: Client
) -> None:
    topology.save_document(with_audit_log(topology.document), base_version=1, author=alice)

    response = post_json(
        alice_client, url("document", topology.pk), save_payload(1, pipeline_document("Mine"))
    )

    assert response.status_code == 409
    body = response.json()
    assert body["current_version"] == 2
    assert "changed since you loaded it" in body["error"]
    assert "you edited version 1, the latest is 2" in body["error"]
    topology = reload(topology)
    assert (topology.version, topology.name) == (2, "Orders")
    assert topology.revisions.count() == 2


def test_post_document_reports_every_error_with_its_pointer(
    topology: Topology, alice_client: Client
) -> None:
    broken = make_document(
        name="",
        nodes=[
            node("a", "teleporter"),
            queue_node("q", visibility_timeout=99999),
            log_node("sink"),
            log_node("sink"),
        ],
        edges=[edge("e1", "sink", "ghost")],
    )

    response = post_json(alice_client, url("document", topology.pk), save_payload(1, broken))

    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "The topology is not valid."
    assert all(set(error) == {"pointer", "message"} for error in body["errors"])
    by_pointer = {error["pointer"]: error["message"] for error in body["errors"]}
    assert list(by_pointer) == [
        "/name",
        "/nodes/0/kind",
        "/nodes/1/config/visibility_timeout",
        "/nodes/3/id",
        "/edges/0/target",
    ]
    assert by_pointer["/name"] == "must be a non-empty string"
    assert by_pointer["/nodes/0/kind"].startswith("unknown kind 'teleporter'")
    assert by_pointer["/nodes/1/config/visibility_timeout"] == "must be 0..43200 s"
    assert by_pointer["/nodes/3/id"] == "duplicate node id 'sink' (first at /nodes/2)"
    assert by_pointer["/edges/0/target"] == "dangling edge: no node 'ghost'"
    assert reload(topology).version == 1


def test_post_document_without_a_document_is_invalid(
    topology: Topology, alice_client: Client
) -> None:
    response = post_json(alice_client, url("document", topology.pk), {"version": 1})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"pointer": "", "message": "a topology document must be a JSON object"}
    ]


def test_post_document_refuses_a_body_that_is_not_json(
    topology: Topology, alice_client: Client
) -> None:
    response = alice_client.post(
        url("document", topology.pk), "{version: 1", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == (
        "The request body was refused: not JSON: Expecting property name enclosed in double "
        "quotes at line 1, column 2."
    )
    assert reload(topology).version == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe not utf-8", "not UTF-8 text: invalid start byte at byte 0"),
        (b"[" * 100_000 + b"]" * 100_000, "nesting is deeper than 32 levels"),
        (b'{"version": 1, "document": ' + b"9" * 5000 + b"}", "number 99999999999999999999… is"),
        (b'{"version": 1, "document": NaN}', "NaN is not valid JSON"),
        (b" " * (spec.MAX_DOCUMENT_BYTES + 1), "document is 5,242,881 bytes; the limit is"),
    ],
    ids=["not-utf8", "deep-nesting", "huge-integer", "nan", "over-5-mb"],
)
def test_post_document_refuses_hostile_bodies_with_400(
    topology: Topology, alice_client: Client, body: bytes, reason: str
) -> None:
    response = alice_client.post(url("document", topology.pk), body, content_type="text/plain")

    assert response.status_code == 400
    assert response.json()["error"].startswith(f"The request body was refused: {reason}")
    assert reload(topology).version == 1


@pytest.mark.parametrize(
    "payload",
    [[], {"document": {}}, {"version": "1", "document": {}}, {"version": True, "document": {}}],
    ids=["a-list", "no-version", "version-as-text", "version-as-bool"],
)
def test_post_document_needs_a_numeric_version(
    topology: Topology, alice_client: Client, payload: Any
) -> None:
    response = post_json(alice_client, url("document", topology.pk), payload)

    assert response.status_code == 400
    assert response.json()["error"] == 'Send {"version": N, "document": {...}}.'


def test_an_edit_share_may_save_the_document(
    topology: Topology, edit_share: Share, bob: Any, bob_client: Client
) -> None:
    response = post_json(
        bob_client, url("document", topology.pk), save_payload(1, with_audit_log(topology.document))
    )

    assert response.status_code == 200
    assert reload(topology).revisions.first().author == bob


def test_a_read_share_may_read_but_not_save_the_document(
    topology: Topology, read_share: Share, bob_client: Client
) -> None:
    assert bob_client.get(url("document", topology.pk)).status_code == 200

    response = post_json(
        bob_client, url("document", topology.pk), save_payload(1, with_audit_log(topology.document))
    )

    assert response.status_code == 403
    assert reload(topology).version == 1


def test_a_stranger_can_neither_read_nor_save_the_document(
    topology: Topology, carol_client: Client
) -> None:
    assert carol_client.get(url("document", topology.pk)).status_code == 404

    response = post_json(
        carol_client, url("document", topology.pk), save_payload(1, pipeline_document("Mine"))
    )

    assert response.status_code == 404
    assert reload(topology).version == 1


def test_the_document_endpoint_accepts_only_get_and_post(
    topology: Topology, alice_client: Client
) -> None:
    assert alice_client.put(url("document", topology.pk), "{}").status_code == 405
    assert alice_client.delete(url("document", topology.pk)).status_code == 405


# --- export and import ---------------------------------------------------------------------------


def test_export_json_downloads_the_document(topology: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("export-json", topology.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="orders.json"'
    assert json.loads(response.content) == topology.document


def test_an_exported_document_imports_again(topology: Topology, alice_client: Client) -> None:
    exported = alice_client.get(url("export-json", topology.pk)).content

    alice_client.post(url("import"), {"file": SimpleUploadedFile("orders.json", exported)})

    copy = Topology.objects.exclude(pk=topology.pk).get()
    assert copy.document == topology.document


def test_a_stranger_cannot_export(topology: Topology, carol_client: Client) -> None:
    assert carol_client.get(url("export-json", topology.pk)).status_code == 404


def import_file(client: Client, content: bytes, name: str = "topology.json") -> Any:
    upload = SimpleUploadedFile(name, content, content_type="application/json")
    return client.post(url("import"), {"file": upload}, follow=True)


def test_import_creates_a_topology_and_opens_it(alice: Any, alice_client: Client) -> None:
    response = import_file(alice_client, to_json_bytes(pipeline_document("Imported")))

    topology = Topology.objects.get()
    assert response.redirect_chain == [(url("editor", topology.pk), 302)]
    assert shown_messages(response) == ["Imported “Imported”."]
    assert (topology.owner, topology.version) == (alice, 1)
    assert topology.document == pipeline_document("Imported")


def test_import_without_a_file_asks_for_one(alice_client: Client) -> None:
    response = alice_client.post(url("import"), follow=True)

    assert response.redirect_chain == [(url("index"), 302)]
    assert shown_messages(response) == ["Choose a topology JSON file to import."]


def wrong_schema() -> bytes:
    return to_json_bytes({**pipeline_document(), "schema": "flowyard.topology/9"})


def unknown_kind() -> bytes:
    return to_json_bytes(make_document(nodes=[node("x", "teleporter")]))


def dangling_edge() -> bytes:
    return to_json_bytes(make_document(nodes=[log_node("a")], edges=[edge("e1", "ghost", "a")]))


def duplicated_ids() -> bytes:
    document = make_document(
        nodes=[queue_node("q"), log_node("sink"), log_node("q")],
        edges=[edge("e1", "q", "sink"), edge("e1", "q", "sink")],
    )
    return to_json_bytes(document)


def too_many_nodes() -> bytes:
    return to_json_bytes(make_document(nodes=[log_node(f"n{i}") for i in range(2001)]))


def too_many_edges() -> bytes:
    edges = [edge(f"e{i}", "q", "sink") for i in range(10_001)]
    return to_json_bytes(make_document(nodes=[queue_node("q"), log_node("sink")], edges=edges))


def too_deep() -> bytes:
    return to_json_bytes({**make_document(), "meta": nested(40)})


def huge_number() -> bytes:
    return to_json_bytes(make_document(nodes=[log_node("a")])).replace(
        b'"x": 0', b'"x": 1' + b"0" * 30
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", ["Import refused: /: not JSON: Expecting property name enclosed in double"]),
        (b"[1, 2]", ["Import refused: /: a topology document must be a JSON object"]),
        (
            wrong_schema(),
            [
                "Import refused: /schema: unsupported schema version 'flowyard.topology/9'; "
                "expected 'flowyard.topology/1'"
            ],
        ),
        (
            unknown_kind(),
            ["Import refused: /nodes/0/kind: unknown kind 'teleporter'; known kinds:"],
        ),
        (dangling_edge(), ["Import refused: /edges/0/source: dangling edge: no node 'ghost'"]),
        (
            duplicated_ids(),
            [
                "Import refused: /nodes/2/id: duplicate node id 'q' (first at /nodes/0)",
                "Import refused: /edges/1/id: duplicate edge id 'e1' (first at /edges/0)",
            ],
        ),
        (too_many_nodes(), ["Import refused: /nodes: has 2,001 nodes; the limit is 2,000"]),
        (too_many_edges(), ["Import refused: /edges: has 10,001 edges; the limit is 10,000"]),
        (too_deep(), ["Import refused: /: nesting is deeper than 32 levels"]),
        (huge_number(), ["Import refused: /: number 10000000000000000000… is too large"]),
    ],
    ids=[
        "not-json",
        "not-an-object",
        "wrong-schema",
        "unknown-kind",
        "dangling-edge",
        "duplicated-ids",
        "over-2000-nodes",
        "over-10000-edges",
        "nested-deeper-than-32",
        "huge-number",
    ],
)
def test_import_refuses_a_bad_document_and_names_the_place(
    alice_client: Client, content: bytes, expected: list[str]
) -> None:
    response = import_file(alice_client, content)

    assert response.redirect_chain == [(url("index"), 302)]
    shown = shown_messages(response)
    assert len(shown) == len(expected), shown
    for message, start in zip(shown, expected, strict=True):
        assert message.startswith(start), message
    assert not Topology.objects.exists()


def test_import_refuses_a_file_over_5_mb_before_reading_it(alice_client: Client) -> None:
    content = b" " * (spec.MAX_DOCUMENT_BYTES + 1)

    response = import_file(alice_client, content, name="big.json")

    assert shown_messages(response) == [
        "Import refused: big.json is 5,242,881 bytes; the limit is 5,242,880."
    ]
    assert not Topology.objects.exists()


def test_import_shows_the_first_20_problems_and_counts_the_rest(alice_client: Client) -> None:
    content = to_json_bytes(make_document(nodes=[node(f"n{i}", "teleporter") for i in range(25)]))

    response = import_file(alice_client, content)

    shown = shown_messages(response)
    assert len(shown) == 21
    assert shown[0].startswith("Import refused: /nodes/0/kind:")
    assert shown[19].startswith("Import refused: /nodes/19/kind:")
    assert shown[20] == "… and 5 more problems."


def test_import_refuses_a_non_finite_number(alice_client: Client) -> None:
    content = to_json_bytes(make_document()).replace(b'"nodes"', b'"meta": {"a": 1e400}, "nodes"')

    response = import_file(alice_client, content)

    assert response.redirect_chain == [(url("index"), 302)]
    assert not Topology.objects.exists()


# --- revisions, diff and restore -----------------------------------------------------------------


@pytest.fixture
def edited(topology: Topology, alice: Any) -> Topology:
    """Version 2 adds an audit log to version 1."""
    topology.save_document(
        with_audit_log(topology.document), base_version=1, author=alice, message="Audit"
    )
    return reload(topology)


def test_the_revisions_page_lists_every_revision(edited: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("revisions", edited.pk))

    content = response.content.decode()
    assert response.status_code == 200
    assert [r.number for r in response.context["revisions"]] == [2, 1]
    assert 'data-revision="2"' in content and 'data-revision="1"' in content
    assert 'r2 <span class="chip">current</span>' in content
    assert "Audit" in content and "Created" in content
    assert url("restore", edited.pk, 1) in content
    assert url("restore", edited.pk, 2) not in content


def test_a_stranger_cannot_see_the_revisions(edited: Topology, carol_client: Client) -> None:
    assert carol_client.get(url("revisions", edited.pk)).status_code == 404
    assert carol_client.get(url("revision", edited.pk, 1)).status_code == 404


def test_a_revision_is_served_as_json(edited: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("revision", edited.pk, 1))

    assert response.json() == {"number": 1, "document": pipeline_document("Orders")}


def test_an_unknown_revision_is_not_found(edited: Topology, alice_client: Client) -> None:
    assert alice_client.get(url("revision", edited.pk, 3)).status_code == 404


def test_the_diff_page_shows_what_changed(edited: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("revision-diff", edited.pk), {"a": 1, "b": 2})

    content = response.content.decode()
    assert response.status_code == 200
    assert "Changes from r1 to r2" in content
    assert "+ node audit (log)" in content
    assert "+ edge worker-audit (worker → audit)" in content


def test_the_diff_compares_the_latest_two_revisions_by_default(
    edited: Topology, alice_client: Client
) -> None:
    response = alice_client.get(url("revision-diff", edited.pk), HTTP_ACCEPT="application/json")

    assert response.json() == {
        "a": 1,
        "b": 2,
        "diff": {
            "nodes": {"added": ["audit"], "removed": [], "changed": {}},
            "edges": {"added": ["worker-audit"], "removed": [], "changed": {}},
            "header": [],
        },
    }


def test_the_diff_reports_changed_fields_as_json(edited: Topology, alice_client: Client) -> None:
    response = alice_client.get(
        url("revision-diff", edited.pk), {"a": 2, "b": 1}, HTTP_ACCEPT="application/json"
    )

    assert response.json()["diff"]["nodes"] == {"added": [], "removed": ["audit"], "changed": {}}


def test_an_empty_diff_says_so(topology: Topology, alice_client: Client) -> None:
    response = alice_client.get(url("revision-diff", topology.pk))

    assert b"No differences." in response.content


@pytest.mark.parametrize("query", [{"a": "one"}, {"b": "x"}, {"a": 1, "b": 9}])
def test_a_diff_of_unknown_revisions_is_not_found(
    edited: Topology, alice_client: Client, query: dict[str, Any]
) -> None:
    assert alice_client.get(url("revision-diff", edited.pk), query).status_code == 404


def test_restore_stores_the_old_document_as_a_new_version(
    edited: Topology, alice_client: Client
) -> None:
    response = alice_client.post(url("restore", edited.pk, 1), {"version": 2}, follow=True)

    assert response.redirect_chain == [(url("editor", edited.pk), 302)]
    assert shown_messages(response) == ["Restored revision 1 as version 3."]
    topology = reload(edited)
    assert topology.version == 3
    assert topology.document == pipeline_document("Orders")
    assert topology.revisions.first().message == "Restored revision 1"


def test_restore_from_a_stale_page_is_refused_and_nothing_is_lost(
    edited: Topology, alice_client: Client
) -> None:
    response = alice_client.post(url("restore", edited.pk, 1), {"version": 1}, follow=True)

    [message] = shown_messages(response)
    assert "changed since you loaded it" in message
    assert "you edited version 1, the latest is 2" in message
    topology = reload(edited)
    assert topology.version == 2
    assert topology.document == with_audit_log(pipeline_document("Orders"))
    assert topology.revisions.count() == 2


def test_restore_with_a_version_that_is_not_a_number_is_a_bad_request(
    edited: Topology, alice_client: Client
) -> None:
    response = alice_client.post(url("restore", edited.pk, 1), {"version": "two"})

    assert response.status_code == 400
    assert reload(edited).version == 2


def test_restore_of_an_unknown_revision_is_not_found(
    edited: Topology, alice_client: Client
) -> None:
    assert alice_client.post(url("restore", edited.pk, 7), {"version": 2}).status_code == 404


def test_restore_needs_a_post(edited: Topology, alice_client: Client) -> None:
    assert alice_client.get(url("restore", edited.pk, 1)).status_code == 405


def test_a_read_share_cannot_restore(
    edited: Topology, read_share: Share, bob_client: Client
) -> None:
    response = bob_client.post(url("restore", edited.pk, 1), {"version": 2})

    assert response.status_code == 403
    assert reload(edited).version == 2


def test_a_stranger_cannot_restore(edited: Topology, carol_client: Client) -> None:
    response = carol_client.post(url("restore", edited.pk, 1), {"version": 2})

    assert response.status_code == 404
    assert reload(edited).version == 2


# --- one-time login links ------------------------------------------------------------------------


def test_a_login_link_logs_in_and_opens_the_index(alice: Any, client: Client) -> None:
    token = LoginToken.issue(alice)

    response = client.get(reverse("token-login", args=[token]))

    assert response.status_code == 302
    assert response["Location"] == url("index")
    page = client.get(url("index"))
    assert page.status_code == 200
    assert page.context["user"] == alice


def test_a_used_login_link_is_refused_with_a_message(alice: Any, client: Client) -> None:
    token = LoginToken.issue(alice)
    Client().get(reverse("token-login", args=[token]))

    response = client.get(reverse("token-login", args=[token]), follow=True)

    assert response.redirect_chain == [("/accounts/login/", 302)]
    [message] = shown_messages(response)
    assert message.startswith("That login link is invalid, used or expired.")
    assert not response.context["user"].is_authenticated


def test_an_expired_login_link_is_refused(alice: Any, client: Client, settings: Any) -> None:
    settings.FLOWYARD_LOGIN_TOKEN_TTL = 0
    token = LoginToken.issue(alice)

    response = client.get(reverse("token-login", args=[token]))

    assert response["Location"] == "/accounts/login/"
    assert client.get(url("index")).status_code == 302


def test_a_login_link_of_an_inactive_account_is_refused(alice: Any, client: Client) -> None:
    token = LoginToken.issue(alice)
    alice.is_active = False
    alice.save()

    response = client.get(reverse("token-login", args=[token]))

    assert response["Location"] == "/accounts/login/"


# --- CSRF ----------------------------------------------------------------------------------------


@pytest.fixture
def csrf_client(alice: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def csrf_token(client: Client) -> str:
    client.get(url("index"))
    return client.cookies["csrftoken"].value


def test_a_post_with_the_csrf_token_is_accepted(csrf_client: Client) -> None:
    token = csrf_token(csrf_client)

    response = csrf_client.post(url("create"), {"name": "Ok", "csrfmiddlewaretoken": token})

    assert response.status_code == 302
    assert Topology.objects.filter(name="Ok").exists()


def test_a_document_save_with_the_csrf_header_is_accepted(
    topology: Topology, csrf_client: Client
) -> None:
    token = csrf_token(csrf_client)

    response = csrf_client.post(
        url("document", topology.pk),
        json.dumps(save_payload(1, topology.document)),
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 200


def test_post_endpoints_refuse_requests_without_a_csrf_token(
    topology: Topology, csrf_client: Client
) -> None:
    upload = SimpleUploadedFile("t.json", to_json_bytes(pipeline_document("Imported")))
    requests = [
        (url("create"), {"name": "Forged"}),
        (url("import"), {"file": upload}),
        (url("rename", topology.pk), {"name": "Forged"}),
        (url("duplicate", topology.pk), {}),
        (url("restore", topology.pk, 1), {"version": 1}),
        (url("delete", topology.pk), {}),
    ]
    for path, data in requests:
        assert csrf_client.post(path, data).status_code == 403, path

    response = csrf_client.post(
        url("document", topology.pk),
        json.dumps(save_payload(1, with_audit_log(topology.document))),
        content_type="application/json",
    )

    assert response.status_code == 403
    assert list(Topology.objects.values_list("name", "version")) == [("Orders", 1)]
    assert TopologyRevision.objects.count() == 1


# --- admin ---------------------------------------------------------------------------------------


def test_the_admin_index_loads_for_a_superuser(admin_client: Client) -> None:
    response = admin_client.get("/admin/")

    assert response.status_code == 200
    assert b"Flowyard designer" in response.content


@pytest.mark.parametrize("model", ["topology", "topologyrevision", "logintoken"])
def test_the_admin_lists_and_shows_designer_models(
    admin_client: Client, topology: Topology, alice: Any, model: str
) -> None:
    LoginToken.issue(alice)
    instance = {
        "topology": topology,
        "topologyrevision": topology.revisions.get(),
        "logintoken": LoginToken.objects.get(),
    }[model]

    assert admin_client.get(f"/admin/designer/{model}/").status_code == 200
    assert admin_client.get(f"/admin/designer/{model}/{instance.pk}/change/").status_code == 200


@pytest.mark.parametrize("model", ["topology", "topologyrevision", "logintoken"])
def test_the_admin_cannot_add_what_only_the_app_creates(admin_client: Client, model: str) -> None:
    assert admin_client.get(f"/admin/designer/{model}/add/").status_code == 403


def test_the_admin_cannot_edit_a_document_behind_the_revisions_back(
    admin_client: Client, topology: Topology
) -> None:
    response = admin_client.get(f"/admin/designer/topology/{topology.pk}/change/")

    form = response.context["adminform"].form
    assert "document" not in form.fields
    assert "name" not in form.fields
    assert "owner" in form.fields


def test_the_admin_is_refused_to_ordinary_users(alice_client: Client) -> None:
    response = alice_client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_admin_shares_a_topology_and_changes_its_owner(
    admin_client: Client, topology: Topology, bob: Any, carol: Any
) -> None:
    response = admin_client.post(
        f"/admin/designer/topology/{topology.pk}/change/",
        {
            "owner": carol.pk,
            "slug": topology.slug,
            "run_state": "stopped",
            "shares-TOTAL_FORMS": "1",
            "shares-INITIAL_FORMS": "0",
            "shares-0-user": bob.pk,
            "shares-0-access": "edit",
        },
    )

    assert response.status_code == 302
    topology = reload(topology)
    assert topology.owner == carol
    assert topology.access_for(bob) == "edit"
    assert (topology.version, topology.document) == (1, pipeline_document("Orders"))
