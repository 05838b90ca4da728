"""Behaviour of each state type (spec §6.2-6.8, conformance list §6.13)."""

import asyncio

from runtime.asl import (
    ExecutionRun,
    ExecutionStatus,
    ManualClock,
    ResourceMap,
    StateMachine,
    TaskError,
    TaskTokens,
    execute,
)
from runtime.asl.errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    HEARTBEAT_TIMEOUT,
    NO_CHOICE_MATCHED,
    QUERY_EVALUATION_ERROR,
    RESULT_PATH_MATCH_FAILURE,
    RUNTIME,
    TASK_FAILED,
)
from runtime.clock import DEFAULT_MANUAL_START
from tests.runtime.asl.mocks import MockResources, returns, task_machine, throws

LAMBDA = "arn:aws:states:::lambda:invoke"
QUEUE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


def one(state: dict) -> dict:
    terminal = state["Type"] in ("Choice", "Succeed", "Fail")
    return {"StartAt": "S", "States": {"S": state if terminal else {"End": True, **state}}}


def run(definition: dict, data=None, **kwargs):
    return execute(definition, {} if data is None else data, **kwargs)


def types(execution) -> list[str]:
    return [event["type"] for event in execution.history]


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


# --- Task ----------------------------------------------------------------------------------


def test_result_selector_reads_the_task_result():
    resources = MockResources({LAMBDA: [returns({"Payload": {"n": 1}, "StatusCode": 200})]})
    state = {"ResultSelector": {"p.$": "$.Payload"}, "ResultPath": "$.r"}
    execution = run(task_machine(state), {"in": 1}, resources=resources)
    assert execution.output == {"in": 1, "r": {"p": {"n": 1}}}


def test_a_result_path_through_a_string_fails_catchably():
    resources = MockResources({LAMBDA: [returns(1)]})
    state = {
        "ResultPath": "$.a.b",
        "Catch": [{"ErrorEquals": [RESULT_PATH_MATCH_FAILURE], "Next": "Caught"}],
    }
    definition = task_machine(state, Caught={"Type": "Pass", "End": True})
    execution = run(definition, {"a": "text"}, resources=resources)
    assert execution.output["Error"] == RESULT_PATH_MATCH_FAILURE


def test_a_task_without_a_resource_handler_fails_as_task_failed():
    execution = run(task_machine({}))
    assert (execution.status, execution.error) == ("FAILED", TASK_FAILED)
    assert "arn:aws:states:::lambda:invoke" in execution.cause


def test_resource_maps_accept_sync_and_async_handlers():
    async def slow(payload):
        return {"got": payload}

    resources = ResourceMap({LAMBDA: slow, "arn:other": lambda payload: 7})
    assert run(task_machine({}), {"a": 1}, resources=resources).output == {"got": {"a": 1}}
    other = task_machine({"Resource": "arn:other"})
    assert run(other, resources=resources).output == 7


def test_an_exception_in_a_handler_fails_the_task_with_its_type():
    def broken(payload):
        raise ValueError("bad input")

    execution = run(task_machine({}), resources=ResourceMap({LAMBDA: broken}))
    assert (execution.error, execution.cause) == ("ValueError", "bad input")


def test_a_lambda_function_arn_records_lambda_events():
    arn = "arn:aws:lambda:us-east-1:123456789012:function:f"
    execution = run(task_machine({"Resource": arn}), resources=ResourceMap({arn: lambda p: 1}))
    assert types(execution)[2:5] == [
        "LambdaFunctionScheduled",
        "LambdaFunctionStarted",
        "LambdaFunctionSucceeded",
    ]
    failing = ResourceMap({arn: lambda p: (_ for _ in ()).throw(TaskError("Boom", "x"))})
    assert "LambdaFunctionFailed" in types(run(task_machine({"Resource": arn}), resources=failing))


def test_an_activity_records_activity_events():
    arn = "arn:aws:states:us-east-1:123456789012:activity:work"
    execution = run(task_machine({"Resource": arn}), resources=ResourceMap({arn: lambda p: 1}))
    assert types(execution)[2:5] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]


async def test_wait_for_task_token_pauses_until_send_task_success():
    clock, tokens, sent = ManualClock(), TaskTokens(), []

    def send(payload, token):
        sent.append(payload)
        return {"MessageId": "m-1"}

    state = {
        "Resource": QUEUE,
        "Parameters": {"QueueUrl": "q", "MessageBody": {"token.$": "$$.Task.Token"}},
    }
    machine = StateMachine(task_machine(state))
    execution_run = ExecutionRun(
        machine, {}, clock=clock, tokens=tokens, resources=ResourceMap({QUEUE: send})
    )

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        await clock.sleep(30)
        tokens.send_task_success(sent[0]["MessageBody"]["token"], {"approved": True})

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert execution.output == {"approved": True}
    assert clock.now() - DEFAULT_MANUAL_START == 30
    assert types(execution)[2:6] == [
        "TaskScheduled",
        "TaskStarted",
        "TaskSubmitted",
        "TaskSucceeded",
    ]


async def test_send_task_failure_fails_the_waiting_task():
    tokens, sent = TaskTokens(), []
    machine = StateMachine(task_machine({"Resource": QUEUE}))
    resources = ResourceMap({QUEUE: lambda payload, token: sent.append(token) or {}})
    execution_run = ExecutionRun(machine, {}, tokens=tokens, resources=resources)

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        tokens.send_task_failure(sent[0], "Rejected", "not today")

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert (execution.error, execution.cause) == ("Rejected", "not today")


async def test_heartbeats_keep_a_callback_alive_and_their_absence_times_it_out():
    clock, tokens, sent = ManualClock(), TaskTokens(), []
    machine = StateMachine(task_machine({"Resource": QUEUE, "HeartbeatSeconds": 10}))
    resources = ResourceMap({QUEUE: lambda payload, token: sent.append(token) or {}})
    execution_run = ExecutionRun(machine, {}, clock=clock, tokens=tokens, resources=resources)

    async def worker() -> None:
        while not sent:
            await asyncio.sleep(0)
        for _ in range(3):
            await clock.sleep(8)
            tokens.send_task_heartbeat(sent[0])

    async with asyncio.TaskGroup() as group:
        running = group.create_task(execution_run.run())
        group.create_task(worker())
    execution = running.result()
    assert execution.error == HEARTBEAT_TIMEOUT
    assert clock.now() - DEFAULT_MANUAL_START == 34  # last heartbeat at 24, then 10 s
    assert "TaskTimedOut" in types(execution)


def test_sync_integrations_return_when_the_resource_does():
    clock = ManualClock()
    arn = "arn:aws:states:::states:startExecution.sync:2"
    resources = MockResources({arn: [returns({"Output": {"done": 1}}, delay=60)]}, clock)
    execution = run(task_machine({"Resource": arn}), clock=clock, resources=resources)
    assert execution.output == {"Output": {"done": 1}}
    assert clock.now() - DEFAULT_MANUAL_START == 60


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


# --- Map -----------------------------------------------------------------------------------


def map_state(**fields) -> dict:
    processor = {"StartAt": "Item", "States": {"Item": {"Type": "Pass", "End": True}}}
    return one({"Type": "Map", "ItemProcessor": processor, **fields})


def test_map_item_selector_sees_the_item_index_and_value():
    definition = map_state(ItemSelector={"i.$": "$$.Map.Item.Index", "v.$": "$$.Map.Item.Value"})
    assert run(definition, [1, 2, 3]).output == [
        {"i": 0, "v": 1},
        {"i": 1, "v": 2},
        {"i": 2, "v": 3},
    ]


def test_map_iterations_are_recorded():
    execution = run(map_state(), [7, 8])
    assert types(execution)[1:4] == ["MapStateEntered", "MapStateStarted", "MapIterationStarted"]
    assert types(execution).count("MapIterationSucceeded") == 2
    started = execution.history[2]["mapStateStartedEventDetails"]
    assert started == {"length": 2}


def test_max_concurrency_bounds_iterations_in_flight():
    clock = ManualClock()
    processor = {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": True}}}
    definition = one({"Type": "Map", "MaxConcurrency": 2, "ItemProcessor": processor})
    execution = run(definition, list(range(5)), clock=clock)
    assert execution.output == list(range(5))
    assert clock.now() - DEFAULT_MANUAL_START == 30


def test_max_concurrency_one_runs_items_in_order():
    definition = map_state(MaxConcurrency=1)
    execution = run(definition, ["a", "b", "c"])
    order = [
        e["mapIterationStartedEventDetails"]["index"]
        for e in execution.history
        if e["type"] == "MapIterationStarted"
    ]
    assert order == [0, 1, 2]


def test_items_path_must_select_an_array():
    execution = run(map_state(ItemsPath="$.items"), {"items": {"not": "array"}})
    assert (execution.status, execution.error) == ("FAILED", RUNTIME)


def test_a_failed_iteration_fails_the_map_with_its_error():
    processor = {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "ItemErr"}}}
    definition = one({"Type": "Map", "ItemProcessor": processor})
    execution = run(definition, [1, 2])
    assert execution.error == "ItemErr"
    assert "MapStateFailed" in types(execution)


def distributed(**fields) -> dict:
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{"Variable": "$", "NumericGreaterThan": 2, "Next": "Bad"}],
                "Default": "Good",
            },
            "Bad": {"Type": "Fail", "Error": "TooBig"},
            "Good": {"Type": "Pass", "End": True},
        },
    }
    return one({"Type": "Map", "ItemProcessor": processor, **fields})


def test_tolerated_failures_let_a_distributed_map_succeed():
    execution = run(distributed(ToleratedFailureCount=2), [1, 2, 3, 4])
    assert execution.output == [1, 2, {"Error": "TooBig"}, {"Error": "TooBig"}]


def test_too_many_failures_exceed_the_tolerated_threshold():
    execution = run(distributed(ToleratedFailurePercentage=25), [1, 2, 3, 4])
    assert execution.error == EXCEED_TOLERATED_FAILURE_THRESHOLD


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


def test_an_item_reader_gets_its_items_from_the_resources():
    reader_arn = "arn:aws:states:::s3:getObject"
    resources = MockResources({reader_arn: [returns([{"id": 1}, {"id": 2}, {"id": 3}])]})
    definition = map_state(
        ItemReader={
            "Resource": reader_arn,
            "ReaderConfig": {"InputType": "JSON", "MaxItems": 2},
            "Parameters": {"Bucket": "b", "Key.$": "$.key"},
        }
    )
    execution = run(definition, {"key": "items.json"}, resources=resources)
    assert execution.output == [{"id": 1}, {"id": 2}]
    assert resources.payloads(reader_arn) == [
        {"Bucket": "b", "Key": "items.json", "ReaderConfig": {"InputType": "JSON", "MaxItems": 2}}
    ]


def test_a_failing_item_reader_fails_the_map():
    execution = run(map_state(ItemReader={"Resource": "arn:aws:states:::s3:getObject"}))
    assert execution.error == "States.ItemReaderFailed"


def test_an_item_batcher_groups_selected_items():
    definition = map_state(
        ItemSelector={"v.$": "$$.Map.Item.Value"},
        ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"job.$": "$.job"}},
        ItemsPath="$.xs",
    )
    execution = run(definition, {"job": "j1", "xs": [1, 2, 3]})
    assert execution.output == [
        {"Items": [{"v": 1}, {"v": 2}], "BatchInput": {"job": "j1"}},
        {"Items": [{"v": 3}], "BatchInput": {"job": "j1"}},
    ]
