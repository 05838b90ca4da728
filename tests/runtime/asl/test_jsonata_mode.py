import random

import pytest

from runtime.asl.errors import QUERY_EVALUATION_ERROR, ExecutionFailure
from runtime.asl.jsonata_mode import (
    Evaluator,
    UndefinedResult,
    check_syntax,
    is_expression,
    json_type_name,
)


@pytest.fixture
def evaluator() -> Evaluator:
    return Evaluator(lambda: 1_767_225_600_000, random.Random(3))


def test_only_strings_wrapped_in_percent_braces_are_expressions():
    assert is_expression("{% 1 %}")
    assert not is_expression("{% 1")
    assert not is_expression("$.a")
    assert not is_expression(1)


def test_states_and_variables_are_bound(evaluator):
    states = {"input": {"a": 2}, "context": {}}
    assert evaluator.evaluate("{% $states.input.a * $k %}", states, {"k": 3}) == 6


def test_null_variables_stay_null_and_missing_ones_are_undefined(evaluator):
    assert evaluator.evaluate("{% $v = null %}", {}, {"v": None}) is True
    with pytest.raises(UndefinedResult):
        evaluator.evaluate("{% $missing %}", {}, {})


def test_resolve_walks_objects_and_arrays(evaluator):
    value = {"a": ["{% 1 + 1 %}", "plain"], "b": {"c": "{% 'x' %}"}}
    assert evaluator.resolve(value, {}, {}, "Output") == {"a": [2, "plain"], "b": {"c": "x"}}


def test_failures_name_the_field(evaluator):
    with pytest.raises(ExecutionFailure) as failure:
        evaluator.resolve({"r": "{% $nope %}"}, {}, {}, "Output")
    assert failure.value.error == QUERY_EVALUATION_ERROR
    assert "for the field 'Output/r' returned nothing (undefined)" in failure.value.cause
    with pytest.raises(ExecutionFailure) as failure:
        evaluator.resolve("{% $number('x') + 1 %}", {}, {}, "Arguments")
    assert "threw an error during evaluation" in failure.value.cause


def test_functions_are_not_json_results(evaluator):
    with pytest.raises(ExecutionFailure) as failure:
        evaluator.resolve("{% function($x){$x} %}", {}, {}, "Items")
    assert failure.value.cause.endswith("returned an unsupported result type.")


def test_aws_extra_functions(evaluator):
    assert evaluator.evaluate("{% $range(1, 9, 9) %}", {}, {}) == 1
    assert evaluator.evaluate("{% $partition([0], 5) %}", {}, {}) == [[0]]
    assert evaluator.evaluate("{% $parse('[1, 2]') %}", {}, {}) == [1, 2]
    assert len(evaluator.evaluate("{% $uuid() %}", {}, {})) == 36
    assert 0 <= evaluator.evaluate("{% $random() %}", {}, {}) < 1
    assert evaluator.evaluate("{% $millis() %}", {}, {}) == 1_767_225_600_000


def test_eval_is_not_available(evaluator):
    with pytest.raises(ExecutionFailure):
        evaluator.resolve("{% $eval('1') %}", {}, {}, "Output")


def test_syntax_errors_are_found_before_running():
    assert check_syntax("{% 1 + %}")
    assert check_syntax("{% $states.input %}") is None


def test_type_names_match_aws_wording():
    assert [json_type_name(v) for v in (None, True, 1, "s", [], {})] == [
        "null",
        "boolean",
        "number",
        "string",
        "array",
        "object",
    ]
