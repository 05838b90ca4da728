"""The Map state: items, selectors, concurrency, tolerance, readers and batchers."""

from runtime.asl import (
    ManualClock,
)
from runtime.asl.errors import (
    EXCEED_TOLERATED_FAILURE_THRESHOLD,
    RUNTIME,
)
from runtime.clock import DEFAULT_MANUAL_START
from tests.runtime.asl.mocks import MockResources, one, returns, run, types

LAMBDA = "arn:aws:states:::lambda:invoke"
QUEUE = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


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
