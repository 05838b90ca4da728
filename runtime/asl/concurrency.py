"""Small asyncio helpers shared by the interpreter and the task seam."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


async def race(*contenders: Callable[[], Awaitable[Any]]) -> tuple[int, Any]:
    """Run the contenders concurrently; the first to finish wins and the rest are cancelled.

    Returns (index of the winner, its result). A failing winner's exception propagates
    unchanged (not wrapped in an ExceptionGroup). Contenders are factories so that losers
    cancelled before they start leave no un-awaited coroutine behind.
    """
    outcome: list[tuple[int, Any, BaseException | None]] = []
    tasks: list[asyncio.Task[None]] = []

    async def contend(index: int, start: Callable[[], Awaitable[Any]]) -> None:
        try:
            value = await start()
        except Exception as error:
            outcome.append((index, None, error))
        else:
            outcome.append((index, value, None))
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()

    async with asyncio.TaskGroup() as group:
        for index, start in enumerate(contenders):
            tasks.append(group.create_task(contend(index, start)))
    index, value, error = outcome[0]
    if error is not None:
        raise error
    return index, value
