"""Execution history in the shape of GetExecutionHistory (spec §6.9).

Events are plain dicts: `id` counts from 1, `previousEventId` points at the event that led to this
one on the same branch of execution, `timestamp` is a UTC datetime and each type carries its own
`<camelCaseType>EventDetails` object (absent for types AWS records without details).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from runtime.asl.errors import RUNTIME, ExecutionFailure

DEFAULT_MAX_EVENTS = 25_000

# AWS names the details key after the type, except for a few families that share one shape.
_SHARED_DETAILS = {
    "Entered": "stateEnteredEventDetails",
    "Exited": "stateExitedEventDetails",
}
_WITHOUT_DETAILS = frozenset(
    {
        "LambdaFunctionStarted",
        "MapStateSucceeded",
        "MapStateFailed",
        "MapStateAborted",
        "ParallelStateStarted",
        "ParallelStateSucceeded",
        "ParallelStateFailed",
        "ParallelStateAborted",
        "PassStateAborted",
        "TaskStateAborted",
        "ChoiceStateAborted",
        "WaitStateAborted",
        "SucceedStateAborted",
        "FailStateAborted",
    }
)


class HistoryLimitExceeded(ExecutionFailure):
    """The execution tried to record more events than the history allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            RUNTIME,
            f"The execution reached the maximum number of history events ({limit}).",
        )


@lru_cache(maxsize=256)
def details_key(event_type: str) -> str:
    for suffix, key in _SHARED_DETAILS.items():
        if event_type.endswith("State" + suffix):
            return key
    return event_type[0].lower() + event_type[1:] + "EventDetails"


class History:
    """Append-only event list with AWS numbering and a hard size limit."""

    def __init__(
        self,
        now: Callable[[], float],
        max_events: int = DEFAULT_MAX_EVENTS,
        listener: Callable[[dict[str, Any]], None] | None = None,
        events: list[dict[str, Any]] | None = None,
    ) -> None:
        # ``events``: what an execution resumed after a restart had recorded (kept, not copied,
        # and not told to the listener again); numbering continues after them.
        self.events: list[dict[str, Any]] = [] if events is None else events
        self._now = now
        self.max_events = max_events
        # Told about each event as it is recorded: how a live view follows a running execution.
        self.listener = listener

    @property
    def last_id(self) -> int:
        return len(self.events)

    def add(
        self,
        event_type: str,
        previous: int,
        details: dict[str, Any] | None = None,
        *,
        final: bool = False,
    ) -> int:
        """Record one event and return its id; only the closing event may pass the limit."""
        if not final and len(self.events) >= self.max_events:
            raise HistoryLimitExceeded(self.max_events)
        event_id = len(self.events) + 1
        event: dict[str, Any] = {
            "id": event_id,
            "previousEventId": previous,
            "timestamp": datetime.fromtimestamp(self._now(), tz=UTC),
            "type": event_type,
        }
        if event_type not in _WITHOUT_DETAILS:
            event[details_key(event_type)] = {
                key: value for key, value in (details or {}).items() if value is not None
            }
        self.events.append(event)
        if self.listener is not None:
            self.listener(event)
        return event_id

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]
