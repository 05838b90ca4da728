"""Browser tests run last: Playwright's sync API keeps an event loop running in the main thread
for the rest of the session, and an asyncio test collected after it could not start its own."""

from __future__ import annotations

from typing import Any


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
