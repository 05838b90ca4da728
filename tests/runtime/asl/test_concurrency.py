import asyncio

import pytest

from runtime.asl import ManualClock
from runtime.asl.concurrency import race


async def test_the_first_contender_to_finish_wins_and_the_rest_are_cancelled():
    clock = ManualClock()
    cancelled = []

    async def slow() -> str:
        try:
            await clock.sleep(10)
        except asyncio.CancelledError:
            cancelled.append("slow")
            raise
        return "slow"

    async def fast() -> str:
        await clock.sleep(1)
        return "fast"

    assert await race(slow, fast) == (1, "fast")
    assert cancelled == ["slow"]


async def test_a_failing_winner_raises_its_own_exception():
    async def boom() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await race(boom, asyncio.Event().wait)
