import pytest

from runtime.asl.errors import RUNTIME, ExecutionFailure
from runtime.asl.intrinsics import Scope
from runtime.asl.payload import evaluate_template, select_path, to_json


def test_dollar_keys_are_evaluated_and_renamed():
    template = {
        "id.$": "$.a",
        "fixed": "$.a",
        "nested": {"n.$": "$.b[0]"},
        "list": [{"x.$": "$.a"}],
    }
    result = evaluate_template(template, Scope({"a": 1, "b": [2]}))
    assert result == {"id": 1, "fixed": "$.a", "nested": {"n": 2}, "list": [{"x": 1}]}


def test_templates_may_call_intrinsics_and_read_variables():
    scope = Scope({}, variables={"name": "x"})
    assert evaluate_template({"v.$": "States.Format('hi {}', $name)"}, scope) == {"v": "hi x"}


def test_non_object_templates_pass_through():
    assert evaluate_template("I'm a parameter!", Scope({})) == "I'm a parameter!"


def test_select_path_handles_null_and_missing_nodes():
    assert select_path(None, Scope({"a": 1})) == {}
    assert select_path("$", Scope({"a": 1})) == {"a": 1}
    with pytest.raises(ExecutionFailure) as failure:
        select_path("$.b", Scope({"a": 1}))
    assert failure.value.error == RUNTIME
    assert failure.value.cause == "Invalid path '$.b' : No results for path: $['b']"


def test_json_text_is_compact_and_keeps_unicode():
    assert to_json({"a": [1, "é"]}) == '{"a":[1,"é"]}'
