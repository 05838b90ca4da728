"""Behaviour of each state type (spec §6.2-6.8, conformance list §6.13)."""

from runtime.asl import (
    ExecutionStatus,
    ManualClock,
)
from runtime.asl.errors import (
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RUNTIME,
)
from runtime.clock import DEFAULT_MANUAL_START
from tests.runtime.asl.mocks import MockResources, one, returns, run, task_machine, throws, types

LAMBDA = "arn:aws:states:::lambda:invoke"
QUEUE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


# --- Pass --------------------------------------------------------------------------------


def test_pass_result_goes_where_result_path_says():
    assert run(one({"Type": "Pass", "Result": {"x": 1}}), {"a": 1}).output == {"x": 1}
    at_r = one({"Type": "Pass", "Result": {"x": 1}, "ResultPath": "$.r"})
    assert run(at_r, {"a": 1}).output == {"a": 1, "r": {"x": 1}}
    dropped = one({"Type": "Pass", "Result": {"x": 1}, "ResultPath": None})
    assert run(dropped, {"a": 1}).output == {"a": 1}


def test_result_path_merges_into_the_raw_input_not_the_input_path_result():
    state = {
        "Type": "Pass",
        "InputPath": "$.a",
        "Parameters": {"v.$": "$"},
        "ResultPath": "$.out",
    }
    assert run(one(state), {"a": 5, "b": 6}).output == {"a": 5, "b": 6, "out": {"v": 5}}


def test_null_input_and_output_paths_give_empty_objects():
    assert run(one({"Type": "Pass", "InputPath": None}), {"a": 1}).output == {}
    assert run(one({"Type": "Pass", "OutputPath": None}), {"a": 1}).output == {}


def test_a_missing_output_path_is_a_runtime_error():
    execution = run(one({"Type": "Pass", "OutputPath": "$.missing"}), {"a": 1})
    assert (execution.status, execution.error) == ("FAILED", RUNTIME)


def test_a_result_literal_is_never_evaluated():
    state = {"Type": "Pass", "Result": {"TestResult.$": "ConditionTrue"}}
    assert run(one(state)).output == {"TestResult.$": "ConditionTrue"}


def test_parameters_collect_indefinite_paths_as_lists():
    state = {"Type": "Pass", "Parameters": {"ids.$": "$.items[*].id", "none.$": "$.nope[*]"}}
    data = {"items": [{"id": 1}, {"id": 2}]}
    assert run(one(state), data).output == {"ids": [1, 2], "none": []}


def test_a_missing_parameter_path_fails_with_the_aws_cause():
    execution = run(one({"Type": "Pass", "Parameters": {"value.$": "$.nope"}}), {"a": 0})
    assert execution.error == RUNTIME
    assert execution.cause.endswith(
        "The JSONPath '$.nope' specified for the field 'value.$' could not be found in the "
        "input '{\"a\":0}'"
    )


# --- Choice --------------------------------------------------------------------------------


def choice(rules: list, default: str | None = "Other") -> dict:
    state = {"Type": "Choice", "Choices": rules}
    if default:
        state["Default"] = default
    return {
        "StartAt": "C",
        "States": {
            "C": state,
            "Match": {"Type": "Pass", "Result": "match", "End": True},
            "Other": {"Type": "Pass", "Result": "other", "End": True},
        },
    }


def test_a_type_mismatch_falls_through_to_default():
    rules = [{"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Match"}]
    assert run(choice(rules), {"n": "11"}).output == "other"
    assert run(choice(rules), {"n": 11}).output == "match"


def test_no_match_without_default_fails_no_choice_matched():
    rules = [
        {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Match"},
        {"Variable": "$.n", "NumericLessThan": 0, "Next": "Other"},
    ]
    execution = run(choice(rules, default=None), {"n": 1})
    assert execution.error == NO_CHOICE_MATCHED


def test_the_first_matching_rule_wins_and_brings_its_assign():
    rules = [
        {"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Match", "Assign": {"r": 1}},
        {"Variable": "$.n", "NumericGreaterThan": 0, "Next": "Other", "Assign": {"r": 2}},
    ]
    definition = choice(rules)
    definition["States"]["Match"] = {"Type": "Pass", "Parameters": {"r.$": "$r"}, "End": True}
    assert run(definition, {"n": 5}).output == {"r": 1}


def test_choice_output_is_its_input_after_input_and_output_paths():
    definition = choice([{"Variable": "$.n", "IsPresent": True, "Next": "Match"}])
    definition["States"]["C"].update({"InputPath": "$.in", "OutputPath": "$.n"})
    definition["States"]["Match"] = {"Type": "Succeed"}
    assert run(definition, {"in": {"n": 3}}).output == 3


# --- Wait ----------------------------------------------------------------------------------


def test_wait_seconds_advances_the_clock():
    clock = ManualClock()
    execution = run(one({"Type": "Wait", "Seconds": 5}), {"a": 1}, clock=clock)
    assert execution.output == {"a": 1}
    assert clock.now() - DEFAULT_MANUAL_START == 5
    assert types(execution)[1:3] == ["WaitStateEntered", "WaitStateExited"]
    assert (execution.history[2]["timestamp"] - execution.history[1]["timestamp"]).seconds == 5


def test_wait_until_a_timestamp_in_the_future_or_past():
    clock = ManualClock()
    run(one({"Type": "Wait", "Timestamp": "2026-01-01T01:00:00Z"}), clock=clock)
    assert clock.now() - DEFAULT_MANUAL_START == 3600
    past = one({"Type": "Wait", "TimestampPath": "$.t"})
    assert run(past, {"t": "2016-03-14T01:59:00Z"}, clock=clock).status == "SUCCEEDED"
    assert clock.now() - DEFAULT_MANUAL_START == 3600


def test_bad_wait_paths_fail_with_the_aws_causes():
    seconds = one({"Type": "Wait", "SecondsPath": "$.x"})
    assert run(seconds, {"x": -1}).cause.endswith(
        "The SecondsPath parameter references a negative value: $.x == -1"
    )
    assert run(seconds, {"x": 1.5}).cause.endswith(
        "The SecondsPath parameter cannot be parsed as a long value: $.x == 1.5"
    )
    assert run(seconds, {}).cause.endswith(
        "The SecondsPath parameter does not reference an input value: $.x"
    )
    stamp = one({"Type": "Wait", "TimestampPath": "$.t"})
    assert run(stamp, {"t": "2016-12-05T21:29:29"}).cause.endswith(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset "
        "date-time format string: $.t == 2016-12-05T21:29:29"
    )


# --- Succeed and Fail ----------------------------------------------------------------------


def test_fail_reports_its_error_and_cause():
    execution = run(one({"Type": "Fail", "Error": "E", "Cause": "C"}))
    assert (execution.status, execution.error, execution.cause) == ("FAILED", "E", "C")
    assert types(execution)[-2:] == ["FailStateEntered", "ExecutionFailed"]


def test_fail_paths_and_intrinsics():
    state = {
        "Type": "Fail",
        "ErrorPath": "$.e",
        "CausePath": "States.Format('because {}', $.why)",
    }
    execution = run({"StartAt": "F", "States": {"F": state}}, {"e": "Bad", "why": "x"})
    assert (execution.error, execution.cause) == ("Bad", "because x")
    missing = run({"StartAt": "F", "States": {"F": state}}, {"why": 1})
    assert missing.error == RUNTIME
    assert "The JSONPath '$.e' specified for the field 'ErrorPath' could not be found" in (
        missing.cause
    )


def test_succeed_ends_the_execution_with_its_filtered_input():
    definition = {"StartAt": "S", "States": {"S": {"Type": "Succeed", "OutputPath": "$.k"}}}
    assert run(definition, {"k": [1]}).output == [1]


# --- Parallel ------------------------------------------------------------------------------


def branch(*states: tuple[str, dict]) -> dict:
    names = [name for name, _ in states]
    built = {}
    for index, (name, state) in enumerate(states):
        step = {"Next": names[index + 1]} if index + 1 < len(names) else {"End": True}
        if state["Type"] in ("Succeed", "Fail"):
            step = {}
        built[name] = {**state, **step}
    return {"StartAt": names[0], "States": built}


def test_parallel_outputs_follow_branch_order_not_completion_order():
    definition = one(
        {
            "Type": "Parallel",
            "Branches": [
                branch(
                    ("W1", {"Type": "Wait", "Seconds": 5}), ("R1", {"Type": "Pass", "Result": 1})
                ),
                branch(
                    ("W2", {"Type": "Wait", "Seconds": 1}), ("R2", {"Type": "Pass", "Result": 2})
                ),
            ],
        }
    )
    execution = run(definition)
    assert execution.output == [1, 2]
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in execution.history
        if "stateEnteredEventDetails" in e
    ]
    assert entered.index("R2") < entered.index("R1")


def test_a_failing_branch_stops_the_others_and_is_caught_by_name():
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    branch(("Slow", {"Type": "Wait", "Seconds": 60}), ("Late", {"Type": "Pass"})),
                    branch(("Boom", {"Type": "Fail", "Error": "MyErr", "Cause": "c"})),
                ],
                "Catch": [{"ErrorEquals": ["MyErr"], "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    clock = ManualClock()
    execution = run(definition, clock=clock)
    assert execution.output == {"Error": "MyErr", "Cause": "c"}
    assert "ParallelStateFailed" in types(execution)
    assert clock.now() == DEFAULT_MANUAL_START
    assert all(
        e.get("stateEnteredEventDetails", {}).get("name") != "Late" for e in execution.history
    )


# --- JSONata -------------------------------------------------------------------------------


def test_jsonata_output_and_variables():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Assign": {"x": "{% $states.input.a %}"}, "Next": "B"},
            "B": {"Type": "Pass", "Output": "{% $x + 1 %}", "End": True},
        },
    }
    assert run(definition, {"a": 1}).output == 2


def test_jsonata_tasks_take_arguments_and_shape_results():
    resources = MockResources({LAMBDA: [returns({"Payload": 4})]})
    definition = task_machine(
        {
            "QueryLanguage": "JSONata",
            "Arguments": {"n": "{% $states.input.n * 2 %}"},
            "Output": "{% $states.result.Payload + $states.input.n %}",
        }
    )
    assert run(definition, {"n": 3}, resources=resources).output == 7
    assert resources.payloads(LAMBDA) == [{"n": 6}]


def test_jsonata_catchers_see_the_error_output():
    definition = task_machine(
        {
            "QueryLanguage": "JSONata",
            "Catch": [
                {
                    "ErrorEquals": ["States.ALL"],
                    "Output": {"why": "{% $states.errorOutput.Cause %}"},
                    "Next": "Done",
                }
            ],
        },
        Done={"Type": "Succeed"},
    )
    resources = MockResources({LAMBDA: [throws("E", "broken")]})
    assert run(definition, resources=resources).output == {"why": "broken"}


def test_jsonata_undefined_results_are_query_evaluation_errors():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "S",
        "States": {"S": {"Type": "Pass", "Output": {"r": "{% $nothing %}"}, "End": True}},
    }
    execution = run(definition)
    assert execution.error == QUERY_EVALUATION_ERROR
    assert execution.cause.endswith(
        "The JSONata expression '$nothing' specified for the field 'Output/r' returned nothing "
        "(undefined)."
    )
    assert types(execution)[-2:] == ["EvaluationFailed", "ExecutionFailed"]


def test_jsonata_map_items_and_choice_conditions():
    definition = {
        "QueryLanguage": "JSONata",
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "Items": "{% $states.input.xs %}",
                "ItemSelector": {"v": "{% $states.context.Map.Item.Value * 10 %}"},
                "ItemProcessor": {
                    "StartAt": "C",
                    "States": {
                        "C": {
                            "Type": "Choice",
                            "Choices": [{"Condition": "{% $states.input.v > 15 %}", "Next": "Big"}],
                            "Default": "Small",
                        },
                        "Big": {"Type": "Pass", "Output": "big", "End": True},
                        "Small": {"Type": "Pass", "Output": "small", "End": True},
                    },
                },
                "End": True,
            }
        },
    }
    assert run(definition, {"xs": [1, 2]}).output == ["small", "big"]


def test_aws_jsonata_functions_are_available():
    output = {
        "parts": "{% $partition([1,2,3], 2) %}",
        "range": "{% $range(0, 4, 2) %}",
        "hash": "{% $hash('input data', 'MD5') %}",
        "parsed": "{% $parse('{\"a\": 1}') %}",
        "now": "{% $now() %}",
    }
    definition = one({"Type": "Pass", "QueryLanguage": "JSONata", "Output": output})
    assert run(definition).output == {
        "parts": [[1, 2], [3]],
        "range": [0, 2, 4],
        "hash": "812f45842bc6d66ee14572ce20db8e86",
        "parsed": {"a": 1},
        "now": "2026-01-01T00:00:00.000Z",
    }


def test_a_jsonata_state_can_follow_a_jsonpath_state():
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Pass", "Parameters": {"v.$": "$.v"}, "Next": "B"},
            "B": {
                "Type": "Pass",
                "QueryLanguage": "JSONata",
                "Output": "{% $states.input.v %}",
                "End": True,
            },
        },
    }
    assert run(definition, {"v": "x"}).output == "x"


def test_executions_succeed_status_enum_compares_to_strings():
    assert ExecutionStatus.SUCCEEDED == "SUCCEEDED"
