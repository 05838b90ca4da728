"""Predefined Step Functions error names (spec §6.7) and the failures the interpreter raises."""

from __future__ import annotations

from typing import Final

ALL: Final = "States.ALL"
BRANCH_FAILED: Final = "States.BranchFailed"
DATA_LIMIT_EXCEEDED: Final = "States.DataLimitExceeded"
EXCEED_TOLERATED_FAILURE_THRESHOLD: Final = "States.ExceedToleratedFailureThreshold"
HEARTBEAT_TIMEOUT: Final = "States.HeartbeatTimeout"
INTRINSIC_FAILURE: Final = "States.IntrinsicFailure"
ITEM_READER_FAILED: Final = "States.ItemReaderFailed"
NO_CHOICE_MATCHED: Final = "States.NoChoiceMatched"
PARAMETER_PATH_FAILURE: Final = "States.ParameterPathFailure"
PERMISSIONS: Final = "States.Permissions"
QUERY_EVALUATION_ERROR: Final = "States.QueryEvaluationError"
RESULT_PATH_MATCH_FAILURE: Final = "States.ResultPathMatchFailure"
RESULT_WRITER_FAILED: Final = "States.ResultWriterFailed"
RUNTIME: Final = "States.Runtime"
TASK_FAILED: Final = "States.TaskFailed"
TIMEOUT: Final = "States.Timeout"

PREDEFINED: Final = frozenset(
    {
        ALL,
        BRANCH_FAILED,
        DATA_LIMIT_EXCEEDED,
        EXCEED_TOLERATED_FAILURE_THRESHOLD,
        HEARTBEAT_TIMEOUT,
        INTRINSIC_FAILURE,
        ITEM_READER_FAILED,
        NO_CHOICE_MATCHED,
        PARAMETER_PATH_FAILURE,
        PERMISSIONS,
        QUERY_EVALUATION_ERROR,
        RESULT_PATH_MATCH_FAILURE,
        RESULT_WRITER_FAILED,
        RUNTIME,
        TASK_FAILED,
        TIMEOUT,
    }
)

# Neither Retry nor Catch ever sees these: they fail the execution outright.
UNCATCHABLE: Final = frozenset({RUNTIME, DATA_LIMIT_EXCEEDED})


class ExecutionFailure(Exception):
    """A state failed with an AWS error name and a cause.

    `in_state` marks failures whose cause AWS prefixes with the state that raised them
    ("An error occurred while executing the state 'X' (entered at the event id #2). ...");
    the interpreter adds that prefix when the failure leaves the state.
    """

    def __init__(self, error: str | None, cause: str | None = None, *, in_state: bool = False):
        super().__init__(error, cause)
        self.error = error
        self.cause = cause
        self.in_state = in_state
        self.state: str | None = None  # the state that raised it, once known

    @property
    def catchable(self) -> bool:
        return self.error not in UNCATCHABLE

    def __str__(self) -> str:
        return f"{self.error}: {self.cause}" if self.cause else str(self.error)


class TaskError(ExecutionFailure):
    """Raised by a task resource: the task failed with `error` (e.g. "Lambda.Unknown")."""

    def __init__(self, error: str, cause: str | None = None):
        super().__init__(error, cause)


def runtime_error(cause: str) -> ExecutionFailure:
    return ExecutionFailure(RUNTIME, cause, in_state=True)


def query_error(cause: str) -> ExecutionFailure:
    return ExecutionFailure(QUERY_EVALUATION_ERROR, cause, in_state=True)


def error_matches(error_equals: list[str], error: str | None) -> bool:
    """Retrier/catcher matching: exact names plus the States.ALL and States.TaskFailed wildcards."""
    for name in error_equals:
        if name == ALL:
            return error not in UNCATCHABLE
        if name == TASK_FAILED and error not in UNCATCHABLE and error != TIMEOUT:
            return True
        if name == error:
            return True
    return False


class InvalidDefinition(ValueError):
    """The state machine definition failed validation; `errors` lists every problem."""

    def __init__(self, errors: list) -> None:
        self.errors = errors
        summary = "; ".join(f"{error.message} at {error.path or '/'}" for error in errors[:5])
        super().__init__(f"Invalid State Machine Definition: {summary}")
