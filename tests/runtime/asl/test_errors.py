from runtime.asl.errors import (
    ALL,
    DATA_LIMIT_EXCEEDED,
    RUNTIME,
    TASK_FAILED,
    TIMEOUT,
    ExecutionFailure,
    error_matches,
)


def test_states_all_matches_everything_catchable():
    assert error_matches([ALL], "Anything")
    assert error_matches([ALL], None)
    assert not error_matches([ALL], RUNTIME)
    assert not error_matches([ALL], DATA_LIMIT_EXCEEDED)


def test_task_failed_matches_everything_but_timeouts():
    assert error_matches([TASK_FAILED], "Lambda.Unknown")
    assert not error_matches([TASK_FAILED], TIMEOUT)


def test_names_match_exactly():
    assert error_matches(["A", "B"], "B")
    assert not error_matches(["State.ALL"], "X")


def test_runtime_failures_are_not_catchable():
    assert not ExecutionFailure(RUNTIME, "x").catchable
    assert ExecutionFailure("Custom", "x").catchable
