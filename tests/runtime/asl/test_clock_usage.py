"""The ManualClock behaviours the interpreter relies on (virtual time, deadline order)."""

import asyncio

from runtime.asl import ManualClock


async def test_concurrent_sleeps_wake_in_deadline_order_without_real_time():
    clock, woke = ManualClock(start=0), []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((seconds, clock.now()))

    async with asyncio.TaskGroup() as group:
        for seconds in (30, 10, 20):
            group.create_task(sleeper(seconds))
    assert woke == [(10, 10), (20, 20), (30, 30)]


async def test_without_auto_advance_only_advance_moves_time():
    clock = ManualClock(start=0, auto_advance=False)
    done = asyncio.Event()

    async def sleeper() -> None:
        await clock.sleep(5)
        done.set()

    async with asyncio.TaskGroup() as group:
        group.create_task(sleeper())
        await asyncio.sleep(0)
        assert not done.is_set()
        clock.advance(5)
    assert done.is_set()
