from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from designer.models import Topology
from runtime import spec
from tests.builders import edge, log_node, make_document, node, pipeline_document, to_json_bytes

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("topology", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def orders(alice: Any) -> Topology:
    return Topology.create_from_document(alice, pipeline_document("Orders"))


@pytest.fixture
def payments(bob: Any) -> Topology:
    return Topology.create_from_document(bob, make_document(name="Payments"))


def write(tmp_path: Path, content: bytes, name: str = "topology.json") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


# --- list ----------------------------------------------------------------------------------------


def test_list_prints_a_table_of_every_topology(orders: Topology, payments: Topology) -> None:
    lines = run("list").splitlines()

    assert lines[0].split() == ["ID", "SLUG", "OWNER", "NAME"]
    assert lines[1].split() == [str(orders.pk), "orders", "alice", "Orders"]
    assert lines[2].split() == [str(payments.pk), "payments", "bob", "Payments"]
    assert len(lines) == 3


def test_list_as_json_gives_id_slug_name_and_owner(orders: Topology, payments: Topology) -> None:
    rows = json.loads(run("list", "--json"))

    assert [{key: row[key] for key in ("id", "slug", "name", "owner")} for row in rows] == [
        {"id": orders.pk, "slug": "orders", "name": "Orders", "owner": "alice"},
        {"id": payments.pk, "slug": "payments", "name": "Payments", "owner": "bob"},
    ]
    assert (rows[0]["version"], rows[0]["nodes"]) == (1, 4)


def test_list_says_when_there_is_nothing() -> None:
    assert run("list") == "No topologies.\n"
    assert json.loads(run("list", "--json")) == []


# --- export --------------------------------------------------------------------------------------


def test_export_by_id_prints_the_document(orders: Topology) -> None:
    assert json.loads(run("export", str(orders.pk))) == orders.document


def test_export_by_slug_prints_the_document(orders: Topology, payments: Topology) -> None:
    assert json.loads(run("export", "payments")) == payments.document


def test_export_keeps_non_ascii_text_readable(alice: Any) -> None:
    topology = Topology.create_from_document(alice, make_document(name="Bestellungen für Köln"))

    assert "Bestellungen für Köln" in run("export", topology.slug)


def test_export_writes_a_file_with_output(orders: Topology, tmp_path: Path) -> None:
    target = tmp_path / "orders.json"

    printed = run("export", "orders", "--output", str(target))

    assert printed == ""
    assert json.loads(target.read_text(encoding="utf-8")) == orders.document


def test_export_of_an_unknown_topology_is_an_error(orders: Topology) -> None:
    with pytest.raises(CommandError, match="no topology with id or slug 'nope'"):
        run("export", "nope")
    with pytest.raises(CommandError, match="no topology with id or slug '999'"):
        run("export", "999")


def test_an_exported_document_imports_again(orders: Topology, tmp_path: Path) -> None:
    path = tmp_path / "orders.json"
    run("export", str(orders.pk), "-o", str(path))

    run("import", str(path), "--owner", "alice")

    copy = Topology.objects.exclude(pk=orders.pk).get()
    assert copy.document == orders.document
    assert copy.slug == "orders-2"


# --- import --------------------------------------------------------------------------------------


def test_import_creates_a_topology_for_the_owner(alice: Any, bob: Any, tmp_path: Path) -> None:
    path = write(tmp_path, to_json_bytes(pipeline_document("Imported")))

    printed = run("import", path, "--owner", "alice")

    topology = Topology.objects.get()
    assert printed == f"Imported topology {topology.pk} (imported) for alice\n"
    assert (topology.owner, topology.version) == (alice, 1)
    assert topology.document == pipeline_document("Imported")
    assert topology.revisions.count() == 1


def test_import_uses_the_only_user_without_owner(alice: Any, tmp_path: Path) -> None:
    run("import", write(tmp_path, to_json_bytes(pipeline_document())))

    assert Topology.objects.get().owner == alice


def test_import_reads_stdin_with_a_dash(alice: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(to_json_bytes(pipeline_document("From stdin"))))
    monkeypatch.setattr("sys.stdin", stdin)

    run("import", "-", "--owner", "alice")

    assert Topology.objects.get().name == "From stdin"


def test_import_needs_an_owner_when_several_users_exist(
    alice: Any, bob: Any, tmp_path: Path
) -> None:
    path = write(tmp_path, to_json_bytes(pipeline_document()))

    with pytest.raises(CommandError, match="several users exist .* pass --owner USERNAME"):
        run("import", path)
    assert not Topology.objects.exists()


def test_import_needs_an_owner_when_no_user_exists(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="pass --owner USERNAME"):
        run("import", write(tmp_path, to_json_bytes(pipeline_document())))


def test_import_refuses_an_unknown_owner(alice: Any, tmp_path: Path) -> None:
    path = write(tmp_path, to_json_bytes(pipeline_document()))

    with pytest.raises(CommandError, match="no user 'dave'"):
        run("import", path, "--owner", "dave")
    assert not Topology.objects.exists()


def test_import_of_a_missing_file_is_an_error(alice: Any, tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")

    with pytest.raises(CommandError, match="missing.json: no such file"):
        run("import", missing, "--owner", "alice")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"{not json", "  /: not JSON: Expecting property name enclosed in double quotes"),
        (
            to_json_bytes({**pipeline_document(), "schema": "flowyard.topology/2"}),
            "  /schema: unsupported schema version 'flowyard.topology/2'",
        ),
        (
            to_json_bytes(make_document(nodes=[node("x", "teleporter")])),
            "  /nodes/0/kind: unknown kind 'teleporter'",
        ),
        (
            to_json_bytes(make_document(nodes=[log_node("a")], edges=[edge("e", "a", "ghost")])),
            "  /edges/0/target: dangling edge: no node 'ghost'",
        ),
    ],
    ids=["not-json", "wrong-schema", "unknown-kind", "dangling-edge"],
)
def test_import_refuses_a_bad_document_and_names_the_place(
    alice: Any, tmp_path: Path, content: bytes, expected: str
) -> None:
    path = write(tmp_path, content)

    with pytest.raises(CommandError) as caught:
        run("import", path, "--owner", "alice")

    message = str(caught.value)
    assert message.startswith(f"{path}: not a valid topology:\n")
    assert expected in message
    assert not Topology.objects.exists()


def test_import_lists_every_problem(alice: Any, tmp_path: Path) -> None:
    document = make_document(name="", nodes=[node("x", "teleporter"), node("x", "log")])

    with pytest.raises(CommandError) as caught:
        run("import", write(tmp_path, to_json_bytes(document)), "--owner", "alice")

    lines = str(caught.value).splitlines()[1:]
    assert [line.split(":")[0].strip() for line in lines] == ["/name", "/nodes/0/kind"]


def test_import_refuses_a_file_over_the_size_limit(alice: Any, tmp_path: Path) -> None:
    path = write(tmp_path, b" " * (spec.MAX_DOCUMENT_BYTES + 1))

    with pytest.raises(CommandError, match="5,242,881 bytes; the limit is 5,242,880"):
        run("import", path, "--owner", "alice")


def test_import_from_stdin_refuses_too_much_input(
    alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b" " * (spec.MAX_DOCUMENT_BYTES + 10)))
    monkeypatch.setattr("sys.stdin", stdin)

    with pytest.raises(CommandError, match="the limit is 5,242,880"):
        run("import", "-", "--owner", "alice")


def test_a_subcommand_is_required() -> None:
    with pytest.raises(CommandError):
        run()
