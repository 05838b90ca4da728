"""The one injectable clock every timer in the runtime reads (spec §0.1).

`Clock.now()` is wall-clock-like time in seconds since the Unix epoch (so it can be shown as a
timestamp) and `await Clock.sleep(seconds)` waits on that same time line. `RealClock` follows the
event loop; `ManualClock` is virtual time for tests and time dilation: it only moves when told to
(`advance`) or, in auto-advance mode, jumps straight to the earliest pending deadline once every
task is blocked, so a Wait of an hour finishes instantly and timers still fire in deadline order.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable

DEFAULT_MANUAL_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class Clock:
    """Time source: `now()` in epoch seconds and `sleep()` measured on the same time line."""

    def now(self) -> float:
        raise NotImplementedError

    async def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        """Run a plain callback after `seconds` on this time line; the engine's timers use this
        so a retry or a visibility deadline costs no task."""
        raise NotImplementedError


class TimerHandle:
    """A pending `call_later` callback; `cancel()` makes sure it never runs."""

    __slots__ = ("_callback", "_cancelled", "_fired")

    def __init__(self, callback: Callable[[], None]) -> None:
        self._callback = callback
        self._cancelled = False
        self._fired = False

    def cancel(self) -> None:
        self._cancelled = True

    def cancelled(self) -> bool:
        return self._cancelled

    # Duck-types the future interface ManualClock's heap uses for its sleepers.
    def done(self) -> bool:
        return self._cancelled or self._fired

    def set_result(self, _: None) -> None:
        if not self.done():
            self._fired = True
            self._callback()


class _LoopTimerHandle(TimerHandle):
    __slots__ = ("_handle",)

    def __init__(self, callback: Callable[[], None], handle: asyncio.TimerHandle) -> None:
        super().__init__(callback)
        self._handle = handle

    def cancel(self) -> None:
        super().cancel()
        self._handle.cancel()


class RealClock(Clock):
    """Real time, read from the running event loop's monotonic clock and shifted to the epoch."""

    def __init__(self) -> None:
        self._epoch_offset = time.time() - time.monotonic()

    def now(self) -> float:
        try:
            monotonic = asyncio.get_running_loop().time()
        except RuntimeError:
            monotonic = time.monotonic()
        return self._epoch_offset + monotonic

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        loop = asyncio.get_running_loop()
        holder: list[TimerHandle] = []
        handle = loop.call_later(max(0.0, seconds), lambda: holder[0].set_result(None))
        timer = _LoopTimerHandle(callback, handle)
        holder.append(timer)
        return timer


class ManualClock(Clock):
    """Virtual time. Sleeps resolve when `advance()` reaches their deadline.

    With `auto_advance=True` (the default) the clock advances by itself whenever the event loop
    has nothing else to run, to the earliest pending deadline, so concurrent sleeps still wake in
    deadline order and wall-clock time is never spent.
    """

    def __init__(self, start: float = DEFAULT_MANUAL_START, *, auto_advance: bool = True) -> None:
        self._now = float(start)
        self.auto_advance = auto_advance
        self._sleepers: list[tuple[float, int, asyncio.Future[None] | TimerHandle]] = []
        self._sequence = itertools.count()
        self._driver_scheduled = False

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has been reached."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        self._wake_due()

    def set_time(self, timestamp: float) -> None:
        """Jump to an absolute time (never backwards) and wake the sleepers that are due."""
        self.advance(max(0.0, timestamp - self._now))

    @property
    def pending_sleepers(self) -> int:
        return sum(
            1
            for _, _, future in self._sleepers
            if not future.done() and not isinstance(future, TimerHandle)
        )

    def call_later(self, seconds: float, callback: Callable[[], None]) -> TimerHandle:
        timer = TimerHandle(callback)
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._sequence), timer))
        if self.auto_advance:
            # Without a running loop, advance() still fires it.
            with contextlib.suppress(RuntimeError):
                self._schedule_driver(asyncio.get_running_loop())
        return timer

    @property
    def next_deadline(self) -> float | None:
        """The earliest pending sleep or timer, so a test can step straight to it."""
        for deadline, _, waiter in sorted(self._sleepers):
            if not waiter.done():
                return deadline
        return None

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._sequence), future))
        if self.auto_advance:
            self._schedule_driver(loop)
        await future

    def _wake_due(self) -> None:
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():
                future.set_result(None)

    def _schedule_driver(self, loop: asyncio.AbstractEventLoop) -> None:
        if not self._driver_scheduled:
            self._driver_scheduled = True
            loop.call_soon(self._drive, loop, _IDLE_CHECKS)

    def _drive(self, loop: asyncio.AbstractEventLoop, checks_left: int) -> None:
        # Only jump ahead once nothing else is runnable, otherwise a sibling task that is about to
        # register an earlier deadline would wake after a later one.
        if not _loop_is_idle(loop) and checks_left > 0:
            loop.call_soon(self._drive, loop, checks_left - 1)
            return
        self._driver_scheduled = False
        while self._sleepers and self._sleepers[0][2].done():
            heapq.heappop(self._sleepers)  # cancelled sleeps
        if not self._sleepers or not self.auto_advance:
            return
        self._now = max(self._now, self._sleepers[0][0])
        self._wake_due()
        if self._sleepers:
            self._schedule_driver(loop)


_IDLE_CHECKS = 10_000


def _loop_is_idle(loop: asyncio.AbstractEventLoop) -> bool:
    # CPython's selector and proactor loops keep runnable callbacks in `_ready`; the driver itself
    # has already been popped from it when this runs. Other loops fall back to a bounded number of
    # call_soon hops, which lets every task that is runnable now reach its next suspension point.
    ready: Callable[[], int] | None = getattr(getattr(loop, "_ready", None), "__len__", None)
    return ready is not None and ready() == 0
