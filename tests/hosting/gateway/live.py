"""Deploying a topology on the live ASGI server the way a person does: log in, take the CSRF
token from the editor, press Deploy. The gateway is then called with real HTTP clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from designer.models import Topology
from tests.conftest import SESSION_REDIS_PREFIX, SESSION_RUNS_DIR
from tests.hosting.gateway.live_topology import live_document

ROOT = Path(__file__).resolve().parents[3]


def database_url() -> str:
    """The test database as a DATABASE_URL, for a server process started from scratch."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if "sqlite" in db["ENGINE"]:
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture(scope="session")
def gateway_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """daphne in a fresh process (not forked from pytest) serving the test database.

    A forked server inherits this process's channel layers, executors and live-update loop,
    which break its websockets once an in-process websocket test has run; a clean process
    cannot inherit anything.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        # The test session's run state, and no resuming of runs recorded by other tests.
        "FLOWYARD_RUNS_DIR": str(SESSION_RUNS_DIR),
        "FLOWYARD_REDIS_PREFIX": SESSION_REDIS_PREFIX,
        "FLOWYARD_RESUME_RUNS": "0",
        "FLOWYARD_HOSTING": "web",
    }
    daphne = Path(sys.executable).with_name("daphne")
    server = subprocess.Popen(
        [str(daphne), "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("daphne did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


@dataclass(frozen=True)
class Deployed:
    base_url: str
    topology: Topology
    session: str  # the owner's designer session cookie

    @property
    def gateway(self) -> str:
        return f"{self.base_url}/gw/{self.topology.slug}"

    @property
    def websocket(self) -> str:
        return self.base_url.replace("http://", "ws://") + f"/ws/gw/{self.topology.slug}/graphql"

    @property
    def origin(self) -> str:
        return self.base_url


def designer(base_url: str, session: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, cookies={"sessionid": session}, timeout=30)


def run_command(base_url: str, session: str, topology: Topology, action: str) -> httpx.Response:
    with designer(base_url, session) as client:
        client.get(f"/topologies/{topology.pk}/")
        token = client.cookies.get("csrftoken", "")
        return client.post(
            f"/topologies/{topology.pk}/run/{action}/", headers={"X-CSRFToken": token}
        )


@contextmanager
def deployed(base_url: str, document: dict[str, Any] | None = None) -> Iterator[Deployed]:
    owner = get_user_model().objects.create_user("gateway-owner", password="unused-pass-1")
    topology = Topology.create_from_document(owner, document or live_document())
    login = Client()
    login.force_login(owner)
    session = login.cookies["sessionid"].value
    answer = run_command(base_url, session, topology, "deploy")
    assert answer.status_code in (200, 302), answer.text[:500]
    try:
        yield Deployed(base_url, topology, session)
    finally:
        run_command(base_url, session, topology, "stop")
