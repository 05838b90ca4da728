"""ISO-8601 extended offset date-times, the only timestamp form Step Functions accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2})(?::(\d{2}))?)"
)


def parse_timestamp(text: object) -> int | None:
    """Nanoseconds since the epoch, or None when `text` is not an offset date-time.

    Like Java's ISO_OFFSET_DATE_TIME: seconds and fractions are optional, the offset is not.
    """
    if not isinstance(text, str):
        return None
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zulu, sign, off_h, off_m, off_s = (
        match.groups()
    )
    try:
        offset = timedelta(0)
        if not zulu:
            offset = timedelta(hours=int(off_h), minutes=int(off_m), seconds=int(off_s or 0))
            if offset > timedelta(hours=18):
                return None
            offset = -offset if sign == "-" else offset
        moment = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            tzinfo=timezone(offset),
        )
    except ValueError:
        return None
    nanos = int((fraction or "").ljust(9, "0"))
    whole = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (whole.days * 86_400 + whole.seconds) * 1_000_000_000 + nanos


def format_timestamp(epoch_seconds: float) -> str:
    """The form AWS uses in the context object, e.g. 2026-01-01T00:00:00.000Z."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
