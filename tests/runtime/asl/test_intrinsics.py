import random
import uuid

import pytest

from runtime.asl.errors import RUNTIME, ExecutionFailure
from runtime.asl.intrinsics import (
    IntrinsicSyntaxError,
    Scope,
    evaluate_intrinsic,
    format_value,
    java_double,
    parse_intrinsic,
)


def call(text: str, data=None, **kwargs):
    return evaluate_intrinsic(text, Scope({} if data is None else data, **kwargs))


def fails(text: str, data=None) -> str:
    with pytest.raises(ExecutionFailure) as failure:
        call(text, data)
    assert failure.value.error == RUNTIME
    return failure.value.cause


def test_format_fills_placeholders_in_order():
    assert call("States.Format('Hi {}', $.n)", {"n": "Bob"}) == "Hi Bob"
    assert call("States.Format('{} and {}', 1, true)") == "1 and true"
    assert call("States.Format('x={}', $.v)", {"v": None}) == "x=null"
    assert call("States.Format('x={}', $.v)", {"v": 1.1}) == "x=1.1"


def test_format_prints_objects_and_arrays_java_style():
    data = {"v": {"Arg1": 1, "Arg2": []}}
    assert call("States.Format('{}', $.v)", data) == "{Arg1=1, Arg2=[]}"
    assert call("States.Format('{}', $.v)", {"v": [1, "a", None]}) == "[1, a, null]"


def test_format_honours_escaped_braces_and_quotes():
    assert call("States.Format('\\{{}\\} it\\'s', 'x')") == "{x} it's"


def test_format_needs_one_argument_per_placeholder():
    assert "arguments" in fails("States.Format('{} {}', 1)")
    assert "arguments" in fails("States.Format('{}', 1, 2)")


def test_format_takes_its_template_from_a_variable():
    scope = Scope({}, variables={"t": "It's {}!"})
    assert evaluate_intrinsic("States.Format($t, 'me')", scope) == "It's me!"


def test_string_to_json_and_back():
    assert call("States.StringToJson($.s)", {"s": '{"a": [1, 2.5]}'}) == {"a": [1, 2.5]}
    assert call("States.StringToJson($.s)", {"s": "  "}) is None
    assert call("States.JsonToString($.v)", {"v": {"a": [1, "x"]}}) == '{"a":[1,"x"]}'
    assert "not valid JSON" in fails("States.StringToJson('{oops')")


def test_array_functions():
    assert call("States.Array()") == []
    assert call("States.Array(1, 'a', $.x, null)", {"x": {"k": 1}}) == [1, "a", {"k": 1}, None]
    assert call("States.ArrayPartition($.a, 4)", {"a": list(range(1, 10))}) == [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9],
    ]
    assert call("States.ArrayContains($.a, $.v)", {"a": [[1, 2], 3], "v": [1, 2]}) is True
    assert call("States.ArrayContains($.a, 1)", {"a": [True]}) is False
    assert call("States.ArrayGetItem($.a, 5)", {"a": list(range(1, 10))}) == 6
    assert call("States.ArrayLength($.a)", {"a": [1, 2, 3]}) == 3
    assert call("States.ArrayUnique($.a)", {"a": [1, 1, True, {"a": 1}, {"a": 1}]}) == [
        1,
        True,
        {"a": 1},
    ]


def test_array_range_includes_the_end():
    assert call("States.ArrayRange(1, 9, 2)") == [1, 3, 5, 7, 9]
    assert call("States.ArrayRange(0, 9, 3)") == [0, 3, 6, 9]
    assert call("States.ArrayRange(5, 1, -2)") == [5, 3, 1]


def test_array_range_is_limited_to_a_thousand_items():
    assert "1000" in fails("States.ArrayRange(0, 2000, 1)")
    assert "zero" in fails("States.ArrayRange(0, 5, 0)")


def test_array_get_item_out_of_bounds_fails():
    assert "out of bounds" in fails("States.ArrayGetItem($.a, 3)", {"a": [1]})


def test_array_partition_needs_a_positive_size():
    assert "positive" in fails("States.ArrayPartition($.a, 0)", {"a": [1]})


def test_encoding_and_hashing():
    assert call("States.Base64Encode('Data to encode')") == "RGF0YSB0byBlbmNvZGU="
    assert call("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')") == "Data to encode"
    digest = call("States.Hash('input data', 'SHA-1')")
    assert digest == "aaff4a450a104cd177d28d18d74485e8cae074b7"
    assert call("States.Hash('input data', 'MD5')") == "812f45842bc6d66ee14572ce20db8e86"
    assert "algorithm" in fails("States.Hash('x', 'SHA-3')")
    assert "base64" in fails("States.Base64Decode('***')")


def test_json_merge_is_shallow_and_refuses_deep_merges():
    data = {"a": {"x": {"p": 1}, "y": 1}, "b": {"x": {"q": 2}}}
    assert call("States.JsonMerge($.a, $.b, false)", data) == {"x": {"q": 2}, "y": 1}
    assert "deep merge" in fails("States.JsonMerge($.a, $.b, true)", data)


def test_math_add_rounds_half_up_like_java():
    assert call("States.MathAdd(111, -1)") == 110
    assert call("States.MathAdd(1.49, 1.5)") == 3
    assert call("States.MathAdd(-1.5, 0)") == -1
    assert call("States.MathAdd(-2.5, 0)") == -2


def test_math_random_is_deterministic_for_a_seed_and_inclusive():
    first = call("States.MathRandom(1, 10, 42)")
    assert first == call("States.MathRandom(1, 10, 42)")
    values = {call("States.MathRandom(1, 2)", rng=random.Random(seed)) for seed in range(40)}
    assert values == {1, 2}


def test_string_split_uses_every_delimiter_character_and_drops_empty_pieces():
    assert call("States.StringSplit('1,2,3', ',')") == ["1", "2", "3"]
    assert call("States.StringSplit('This.is+a,test', '.+,')") == ["This", "is", "a", "test"]
    assert call("States.StringSplit(',,,', ',')") == []
    assert call("States.StringSplit('abc', ',')") == ["abc"]


def test_uuid_comes_from_the_injected_generator():
    value = call("States.UUID()", rng=random.Random(7))
    assert uuid.UUID(value).version == 4
    assert value == call("States.UUID()", rng=random.Random(7))


def test_calls_nest():
    data = {"s": '{"a": 1}'}
    assert call("States.JsonToString(States.StringToJson($.s))", data) == '{"a":1}'


def test_context_and_variables_are_arguments_too():
    scope = Scope({}, context={"Execution": {"Name": "e1"}}, variables={"n": 2})
    assert evaluate_intrinsic("States.Array($$.Execution.Name, $n)", scope) == ["e1", 2]


def test_a_missing_path_argument_fails():
    assert "could not be found" in fails("States.Array($.missing)")


@pytest.mark.parametrize(
    "text",
    [
        " States.Array(1)",
        "States.Xyz($.a)",
        "States.Array(1",
        "States.Array('open)",
        "States.Array(1 2)",
        "States.Array(nope)",
        "States.Array(" * 11 + ")" * 11,
    ],
)
def test_malformed_calls_are_rejected(text):
    with pytest.raises(IntrinsicSyntaxError):
        parse_intrinsic(text)


def test_java_double_formatting():
    assert java_double(1.1) == "1.1"
    assert java_double(100.0) == "100.0"
    assert java_double(1e7) == "1.0E7"
    assert java_double(1.2345e-5) == "1.2345E-5"
    assert format_value(1e10) == "1.0E10"
