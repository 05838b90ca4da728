import pytest

from runtime.asl.choice import evaluate_rule
from runtime.asl.errors import RUNTIME, ExecutionFailure
from runtime.asl.intrinsics import Scope


def matches(rule: dict, data: dict, **kwargs) -> bool:
    return evaluate_rule(rule, Scope(data, **kwargs))


@pytest.mark.parametrize(
    ("operator", "operand", "value", "expected"),
    [
        ("StringEquals", "a", "a", True),
        ("StringEquals", " ", "     ", False),
        ("StringLessThan", "AB", "A", True),
        ("StringGreaterThanEquals", "b", "b", True),
        ("NumericEquals", 0, 0.0, True),
        ("NumericGreaterThan", 10, 11, True),
        ("NumericLessThanEquals", 1.5, 2, False),
        ("BooleanEquals", True, True, True),
        ("TimestampLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
        ("TimestampEquals", "2026-01-01T01:00:00+01:00", "2026-01-01T00:00:00Z", True),
    ],
)
def test_comparisons(operator, operand, value, expected):
    assert matches({"Variable": "$.v", operator: operand}, {"v": value}) is expected


@pytest.mark.parametrize(
    ("operator", "operand", "value"),
    [
        ("NumericGreaterThan", 10, "11"),
        ("NumericEquals", 1, True),
        ("StringEquals", "1", 1),
        ("StringEquals", "x", None),
        ("BooleanEquals", True, 1),
        ("TimestampLessThan", "2026-01-01T00:00:00Z", "2025-12-31"),
        ("TimestampEquals", "2023-02-24T12:15:56Z", "2023-02-24 12:15:56.832957"),
        ("NumericEquals", 1, [1]),
    ],
)
def test_a_type_mismatch_is_false_not_an_error(operator, operand, value):
    assert matches({"Variable": "$.v", operator: operand}, {"v": value}) is False


def test_path_operators_compare_against_another_node():
    data = {"a": 3, "b": 5, "s": "x", "t": "x"}
    assert matches({"Variable": "$.a", "NumericLessThanPath": "$.b"}, data)
    assert matches({"Variable": "$.s", "StringEqualsPath": "$.t"}, data)
    assert (
        matches({"Variable": "$g", "StringEqualsPath": "$a"}, {}, variables={"g": 1, "a": 1})
        is False
    )


def test_string_matches_supports_wildcards_and_escapes():
    rule = {"Variable": "$.v", "StringMatches": "log-*.txt"}
    assert matches(rule, {"v": "log-2026.txt"})
    assert not matches(rule, {"v": "log.txt"})
    assert matches({"Variable": "$.v", "StringMatches": "a\\*b"}, {"v": "a*b"})
    assert not matches({"Variable": "$.v", "StringMatches": "a\\*b"}, {"v": "axxb"})


def test_type_tests_and_their_negation():
    data = {"n": None, "i": 1, "f": 1.5, "s": "x", "b": False, "t": "2020-01-01T00:00:00Z"}
    assert matches({"Variable": "$.n", "IsNull": True}, data)
    assert matches({"Variable": "$.f", "IsNumeric": True}, data)
    assert matches({"Variable": "$.b", "IsNumeric": False}, data)
    assert matches({"Variable": "$.s", "IsString": True}, data)
    assert matches({"Variable": "$.b", "IsBoolean": True}, data)
    assert matches({"Variable": "$.t", "IsTimestamp": True}, data)
    assert matches({"Variable": "$.s", "IsTimestamp": False}, data)


def test_is_present_tolerates_missing_variables_and_sees_nulls():
    assert matches({"Variable": "$.missing", "IsPresent": False}, {})
    assert matches({"Variable": "$.n", "IsPresent": True}, {"n": None})


def test_a_missing_variable_is_a_runtime_error():
    with pytest.raises(ExecutionFailure) as failure:
        matches({"Variable": "$.x", "StringEquals": "a"}, {})
    assert failure.value.error == RUNTIME
    assert failure.value.cause == (
        "Invalid path '$.x': The choice state's condition path references an invalid value."
    )


def test_and_or_not_nest():
    rule = {
        "And": [
            {"Variable": "$.v", "IsPresent": True},
            {
                "Or": [
                    {"Variable": "$.v", "NumericEquals": 3},
                    {"Not": {"Variable": "$.v", "NumericLessThan": 10}},
                ]
            },
        ]
    }
    assert matches(rule, {"v": 3})
    assert matches(rule, {"v": 12})
    assert not matches(rule, {"v": 5})


def test_context_object_variables_work():
    rule = {"Variable": "$$.Execution.Input.n", "NumericLessThanEquals": 0}
    assert matches(rule, {}, context={"Execution": {"Input": {"n": 0}}})
