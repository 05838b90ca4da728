from __future__ import annotations

import math

from hosting.gateway.throttle import Quota, TokenBucket, period_start, retry_after

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a Thursday


def test_a_bucket_allows_the_burst_at_once_then_refills_at_the_rate() -> None:
    bucket = TokenBucket(rate=2, burst=3, now=T0)
    assert [bucket.take(T0) for _ in range(4)] == [True, True, True, False]
    assert bucket.wait(T0) == 0.5
    assert bucket.take(T0 + 0.5) and not bucket.take(T0 + 0.5)


def test_a_bucket_never_holds_more_than_its_burst() -> None:
    bucket = TokenBucket(rate=100, burst=2, now=T0)
    assert sum(bucket.take(T0 + 60) for _ in range(5)) == 2


def test_an_empty_bucket_with_no_rate_never_refills() -> None:
    bucket = TokenBucket(rate=0, burst=0, now=T0)
    assert math.isinf(bucket.wait(T0)) and retry_after(bucket.wait(T0)) == 60


def test_retry_after_is_whole_seconds_and_at_least_one() -> None:
    assert retry_after(0.01) == 1 and retry_after(1.2) == 2


def test_quota_periods_start_at_utc_day_monday_and_month_boundaries() -> None:
    noon = T0 + 5 * 86400 + 43200  # Tuesday 2026-01-06 12:00
    assert period_start(noon, "DAY").isoformat() == "2026-01-06T00:00:00+00:00"
    assert period_start(noon, "WEEK").isoformat() == "2026-01-05T00:00:00+00:00"
    assert period_start(noon, "MONTH").isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_quota_counts_per_key_and_resets_with_the_period() -> None:
    quota = Quota(limit=2, period="DAY")
    for _ in range(2):
        quota.count("a", T0)
    assert quota.exhausted("a", T0) and not quota.exhausted("b", T0)
    assert quota.remaining("a", T0 + 86400) == 2
