"""Token buckets and usage-plan quotas (spec §7.4), on the caller's clock.

Time is passed in (``now`` in epoch seconds from the engine's ``Clock``), so tests move a manual
clock instead of sleeping and the bench measures the same code the gateway runs.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta


class TokenBucket:
    """Capacity ``burst``, refilled at ``rate`` tokens per second; one token per request."""

    __slots__ = ("rate", "burst", "tokens", "updated")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = float(rate)
        self.burst = int(burst)
        self.tokens = float(burst)  # a fresh bucket starts full: the burst is available at once
        self.updated = now

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.burst), self.tokens + (now - self.updated) * self.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available: 0 when one is there now, inf when never."""
        self._refill(now)
        if self.tokens >= 1:
            return 0.0
        if self.rate <= 0 or self.burst < 1:
            return math.inf
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> bool:
        if self.wait(now) > 0:
            return False
        self.tokens -= 1
        return True


def retry_after(seconds: float) -> int:
    """The Retry-After header value: whole seconds, at least 1."""
    if math.isinf(seconds):
        return 60
    return max(1, math.ceil(seconds))


def period_start(now: float, period: str, offset_days: int = 0) -> datetime:
    """Start of the UTC quota period (DAY, WEEK from Monday, MONTH) holding ``now``."""
    moment = datetime.fromtimestamp(now, UTC) - timedelta(days=offset_days)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "WEEK":
        day -= timedelta(days=day.weekday())
    elif period == "MONTH":
        day = day.replace(day=1)
    return day + timedelta(days=offset_days)


class Quota:
    """Requests per key per period; counted only for requests that pass every throttle."""

    __slots__ = ("limit", "period", "used", "_period")

    def __init__(self, limit: int, period: str) -> None:
        self.limit = limit
        self.period = period
        self.used: dict[str, int] = {}
        self._period: datetime | None = None

    def _roll(self, now: float) -> None:
        start = period_start(now, self.period)
        if start != self._period:
            self._period = start
            self.used.clear()

    def exhausted(self, key: str, now: float) -> bool:
        self._roll(now)
        return self.limit > 0 and self.used.get(key, 0) >= self.limit

    def count(self, key: str, now: float) -> None:
        self._roll(now)
        self.used[key] = self.used.get(key, 0) + 1

    def remaining(self, key: str, now: float) -> int:
        self._roll(now)
        return max(0, self.limit - self.used.get(key, 0))
