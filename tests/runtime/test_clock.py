"""The injectable clock: real time from the loop, virtual time that moves only when told to."""

from __future__ import annotations

import asyncio

from runtime.clock import DEFAULT_MANUAL_START, ManualClock, RealClock


async def test_a_manual_clock_starts_at_its_start_and_moves_only_when_advanced() -> None:
    clock = ManualClock(auto_advance=False)
    assert clock.now() == DEFAULT_MANUAL_START
    clock.advance(5)
    assert clock.now() == DEFAULT_MANUAL_START + 5


async def test_sleepers_wake_when_their_deadline_is_reached() -> None:
    clock = ManualClock(auto_advance=False)
    woke: list[float] = []

    async def sleeper(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(seconds)

    async with asyncio.TaskGroup() as group:
        group.create_task(sleeper(2))
        group.create_task(sleeper(1))
        await asyncio.sleep(0)
        clock.advance(1)
        await asyncio.sleep(0)
        assert woke == [1]
        clock.advance(1)
    assert woke == [1, 2]


async def test_call_later_runs_a_callback_at_its_deadline_and_cancel_prevents_it() -> None:
    clock = ManualClock(auto_advance=False)
    fired: list[str] = []
    clock.call_later(10, lambda: fired.append("ten"))
    cancelled = clock.call_later(5, lambda: fired.append("five"))
    cancelled.cancel()
    assert clock.next_deadline == DEFAULT_MANUAL_START + 10
    clock.advance(9)
    assert fired == []
    clock.advance(1)
    assert fired == ["ten"] and clock.next_deadline is None


async def test_timers_do_not_count_as_sleepers() -> None:
    clock = ManualClock(auto_advance=False)
    clock.call_later(1, lambda: None)
    assert clock.pending_sleepers == 0


async def test_auto_advance_jumps_to_the_earliest_deadline_when_the_loop_is_idle() -> None:
    clock = ManualClock()
    fired: list[float] = []
    clock.call_later(3600, lambda: fired.append(clock.now()))
    await clock.sleep(7200)
    assert fired == [DEFAULT_MANUAL_START + 3600]
    assert clock.now() == DEFAULT_MANUAL_START + 7200


async def test_a_clock_cannot_go_backwards() -> None:
    clock = ManualClock(auto_advance=False)
    try:
        clock.advance(-1)
    except ValueError:
        return
    raise AssertionError("advance(-1) was accepted")


async def test_the_real_clock_reads_epoch_time_and_fires_callbacks() -> None:
    clock = RealClock()
    import time

    assert abs(clock.now() - time.time()) < 1
    done = asyncio.get_running_loop().create_future()
    clock.call_later(0.001, lambda: done.set_result(True))
    assert await asyncio.wait_for(done, 1)
    handle = clock.call_later(0.001, lambda: done.set_result(False))
    handle.cancel()
    await asyncio.sleep(0.005)
