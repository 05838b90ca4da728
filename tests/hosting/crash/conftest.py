"""Crash-test fixtures: one migrated workspace per session, copied for every test; the figures
the tests collect are printed at the end of the run (the issue note quotes them)."""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hosting.crash.harness import SUMMARY, Workspace, crash_document, r1_total

DEFAULT_SEEDS = (1, 2, 3)


def crash_seeds() -> list[int]:
    """FLOWYARD_CRASH_SEEDS: a count (``20``: seeds 1..20) or a list (``7,42``); 3 seeds by
    default. ``FLOWYARD_CRASH_SEEDS=random`` draws 3 new ones (printed with the figures)."""
    value = os.environ.get("FLOWYARD_CRASH_SEEDS", "").strip()
    if not value:
        return list(DEFAULT_SEEDS)
    if value == "random":
        return [random.randrange(1, 10**6) for _ in range(3)]
    if "," in value:
        return [int(part) for part in value.split(",") if part.strip()]
    return list(range(1, int(value) + 1))


def crash_messages(default: int) -> int:
    """FLOWYARD_CRASH_MESSAGES: messages per R1 run (CI 2,000; the full size is 10,000)."""
    return int(os.environ.get("FLOWYARD_CRASH_MESSAGES", default))


@pytest.fixture(scope="session")
def crash_template() -> Iterator[Workspace]:
    """Migrated once: its database holds the user and the crash topology recorded as running
    (as `runs deploy` would leave it); each test copies it and starts from an empty store."""
    with tempfile.TemporaryDirectory(prefix="flowyard-crash-") as folder:
        yield Workspace.create(Path(folder) / "template", crash_document())


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SUMMARY:
        terminalreporter.section("crash tests (reliability R1, R3)")
        for line in SUMMARY:
            terminalreporter.write_line(line)
        if total := r1_total():
            terminalreporter.write_line(total)
