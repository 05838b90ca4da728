"""Shared fixtures: personas (alice owns, bob is shared with, carol is a stranger), builders,
and the live ASGI server plus system Chromium for browser tests."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

# Playwright's sync API runs an event loop in the main thread; Django must still allow ORM calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Run state never lands in the checkout's .flowyard/ nor meets another test session's: a session
# keeps runs in a temporary folder and under a Redis prefix of its own (a forked live server
# inherits both), and each test gets its own below (see isolated_run_state).
SESSION_RUNS_DIR = Path(tempfile.mkdtemp(prefix="flowyard-test-runs-"))
SESSION_REDIS_PREFIX = f"flowyard-test:{uuid.uuid4().hex[:12]}:"
settings.FLOWYARD_RUNS_DIR = SESSION_RUNS_DIR
settings.FLOWYARD_REDIS_PREFIX = SESSION_REDIS_PREFIX
settings.FLOWYARD_RESUME_RUNS = False
# Tests host runs in their own process (tests of runtime workers start workers themselves).
settings.FLOWYARD_HOSTING = "web"

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str:
    """The system Chromium; a browser test without one fails rather than skips."""
    configured = os.environ.get("CHROMIUM_PATH")
    found = configured or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(found):
        pytest.fail(
            f"Chromium not found at {found}: install the Debian package `chromium` "
            "(.ci/run does) or set CHROMIUM_PATH"
        )
    return found


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": chromium_path(), "args": CHROMIUM_ARGS}


def prepare_forked_server(set_database_connection: Any) -> None:
    """Runs in the forked server process: point it at the test database and drop what the fork
    copied from the test process but cannot use there (channel layers bound to the parent's
    event loops, asgiref's executor whose thread did not survive the fork)."""
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers

    set_database_connection()
    channel_layers.backends = {}
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor.clear()


@pytest.fixture(scope="session")
def asgi_live_server(django_db_setup: Any, django_db_blocker: Any) -> Iterator[str]:
    """daphne serving the project's ASGI app in a child process (pytest-django's is WSGI-only)."""
    from channels.testing.live import make_application, set_database_connection
    from daphne.testing import DaphneProcess
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    process = DaphneProcess(
        "127.0.0.1",
        partial(make_application, static_wrapper=ASGIStaticFilesHandler),
        setup=partial(prepare_forked_server, set_database_connection),
    )
    with django_db_blocker.unblock():
        process.start()
    if not process.ready.wait(timeout=20):
        process.terminate()
        raise RuntimeError("daphne did not start")
    yield f"http://127.0.0.1:{process.port.value}"
    process.terminate()
    process.join(timeout=10)


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def carol(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("carol", password="carol-password-1")


@pytest.fixture(autouse=True)
def isolated_run_state(settings: Any, tmp_path: Path) -> None:
    """A topology id may be reused by the next test (transactions roll back): its run state
    must not be."""
    settings.FLOWYARD_RUNS_DIR = tmp_path / "runs"
    settings.FLOWYARD_REDIS_PREFIX = f"{SESSION_REDIS_PREFIX}{uuid.uuid4().hex[:8]}:"


def pytest_sessionfinish(session: Any) -> None:
    """Remove the session's run state: its folder and its keys in Redis."""
    shutil.rmtree(SESSION_RUNS_DIR, ignore_errors=True)
    url = getattr(settings, "REDIS_URL", "")
    if not url:
        return
    try:
        import redis

        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{SESSION_REDIS_PREFIX}*", count=1000):
            client.delete(key)
        client.close()
    except Exception:  # noqa: BLE001 - cleanup only; a missing Redis fails the tests that need it
        pass
