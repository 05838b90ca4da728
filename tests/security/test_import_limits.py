"""S6: import bombs (size, depth, count, huge numbers) are refused fast, in the UI and the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client

from designer.models import Topology
from runtime import spec
from runtime.spec import SpecError
from tests.builders import make_document, node


def oversized() -> bytes:
    document = make_document(description="x" * 10)
    text = json.dumps(document)
    return text[:-1].encode() + b', "meta": {"pad": "' + b"x" * (spec.MAX_DOCUMENT_BYTES) + b'"}}'


def deep() -> bytes:
    return b'{"schema": "flowyard.topology/1", "meta": ' + b"[" * 1000 + b"]" * 1000 + b"}"


def crowded() -> bytes:
    nodes = [node(f"n{i}", "log") for i in range(spec.MAX_NODES + 1000)]
    return json.dumps(make_document(nodes=nodes)).encode()


def huge_number() -> bytes:
    return b'{"schema": "flowyard.topology/1", "name": "n", "meta": {"n": ' + b"9" * 10**6 + b"}}"


def huge_float() -> bytes:
    return b'{"schema": "flowyard.topology/1", "name": "n", "meta": {"n": 1e999}}'


BOMBS = {
    "size": oversized,
    "depth": deep,
    "count": crowded,
    "huge integer": huge_number,
    "huge float": huge_float,
}


@pytest.mark.parametrize("kind", BOMBS)
def test_the_document_loader_refuses_each_bomb_fast(kind: str) -> None:
    data = BOMBS[kind]()
    started = time.perf_counter()
    with pytest.raises(SpecError):
        spec.loads(data)
    assert time.perf_counter() - started < 1.0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", BOMBS)
def test_the_import_page_refuses_each_bomb_and_creates_nothing(kind: str, alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    upload = SimpleUploadedFile("bomb.json", BOMBS[kind](), content_type="application/json")
    response = client.post("/topologies/import/", {"file": upload})
    assert response.status_code in (302, 400, 413)
    assert Topology.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("kind", BOMBS)
def test_the_import_command_refuses_each_bomb_and_creates_nothing(
    kind: str, alice: Any, tmp_path: Path
) -> None:
    path = tmp_path / "bomb.json"
    path.write_bytes(BOMBS[kind]())
    with pytest.raises(CommandError):
        call_command("topology", "import", str(path), "--owner", "alice")
    assert Topology.objects.count() == 0
