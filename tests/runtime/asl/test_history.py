import pytest

from runtime.asl.history import History, HistoryLimitExceeded, details_key


def test_events_are_numbered_from_one_with_their_details():
    history = History(lambda: 0.0)
    first = history.add("ExecutionStarted", 0, {"input": "{}", "roleArn": None})
    second = history.add("PassStateEntered", first, {"name": "P"})
    assert (first, second) == (1, 2)
    assert history.events[0]["executionStartedEventDetails"] == {"input": "{}"}
    assert history.events[1]["stateEnteredEventDetails"] == {"name": "P"}
    assert history.events[1]["previousEventId"] == 1
    assert history.events[0]["timestamp"].year == 1970


def test_details_keys_follow_aws_naming():
    assert details_key("ChoiceStateExited") == "stateExitedEventDetails"
    assert details_key("TaskScheduled") == "taskScheduledEventDetails"
    assert details_key("MapIterationStarted") == "mapIterationStartedEventDetails"


def test_some_events_carry_no_details():
    history = History(lambda: 0.0)
    history.add("ParallelStateStarted", 0)
    assert set(history.events[0]) == {"id", "previousEventId", "timestamp", "type"}


def test_the_limit_stops_recording_except_for_the_closing_event():
    history = History(lambda: 0.0, max_events=1)
    history.add("ExecutionStarted", 0)
    with pytest.raises(HistoryLimitExceeded):
        history.add("PassStateEntered", 1)
    history.add("ExecutionFailed", 1, final=True)
    assert history.types() == ["ExecutionStarted", "ExecutionFailed"]
