"""Fixtures: ``namespace`` (one per store kind, reopenable) and ``store`` (opened on it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.store import Store
from tests.runtime.store.stores import KINDS, Namespace


@pytest.fixture(params=KINDS)
async def namespace(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Namespace]:
    made = Namespace(request.param, tmp_path)
    await made.check()
    try:
        yield made
    finally:
        await made.cleanup()


@pytest.fixture
async def store(namespace: Namespace) -> Store:
    return namespace.open()
