import pytest

from runtime.asl.paths import (
    PathNotFound,
    PathSyntaxError,
    ResultPathMatchFailure,
    assign_path,
    json_equal,
    parse_path,
    parse_reference_path,
)

DOC = {
    "a": {"b": [10, 20, 30], "c": "text"},
    "users": [{"name": "ann", "status": 0, "age": 31}, {"name": "bob", "status": 1, "age": 17}],
    "odd key": 1,
    "with-dash": 2,
}


def read(path: str, data=DOC, **kwargs):
    return parse_path(path).evaluate(data, **kwargs)


def test_it_reads_nested_names_and_indices():
    assert read("$.a.b[1]") == 20
    assert read("$['a']['c']") == "text"
    assert read("$.with-dash") == 2
    assert read("$['odd key']") == 1


def test_the_root_path_returns_the_whole_document():
    assert read("$") is DOC


def test_a_negative_index_counts_from_the_end():
    assert read("$.a.b[-1]") == 30


def test_a_missing_leaf_reports_no_results_in_jayway_form():
    with pytest.raises(PathNotFound) as missing:
        read("$.a.missing")
    assert missing.value.jayway == "No results for path: $['a']['missing']"


def test_a_missing_intermediate_reports_the_missing_property():
    with pytest.raises(PathNotFound) as missing:
        read("$.nope.deeper")
    assert missing.value.jayway == "Missing property in path $['nope']"


def test_an_index_out_of_range_is_missing():
    with pytest.raises(PathNotFound):
        read("$.a.b[3]")


def test_indefinite_paths_return_every_match():
    assert read("$.users[*].name") == ["ann", "bob"]
    assert read("$.a.b[0:2]") == [10, 20]
    assert read("$.a.b[::2]") == [10, 30]
    assert read("$.a.b[0,2]") == [10, 30]
    assert read("$.a['b','c']") == [[10, 20, 30], "text"]


def test_indefinite_paths_over_missing_data_return_an_empty_list():
    assert read("$.item.items[*]", {}) == []
    assert read("$.items[1:].itemValue", {}) == []


def test_filters_select_array_elements():
    assert read("$.users[?(@.status == 0)]") == [DOC["users"][0]]
    assert read("$.users[?(@.age > 18 && @.name != 'bob')].name") == ["ann"]
    assert read("$.users[?(@.age < 18 || @.status == 0)].name") == ["ann", "bob"]
    assert read("$.users[?(!(@.status == 0))].name") == ["bob"]
    assert read("$.users[?(@.name =~ /a.*/)].name") == ["ann"]
    assert read("$.users[?(@.name in ['bob', 'cy'])].name") == ["bob"]


def test_a_filter_on_a_bare_path_tests_existence():
    data = {"books": [{"isbn": "1"}, {"title": "x"}]}
    assert read("$.books[?(@.isbn)]", data) == [{"isbn": "1"}]


def test_deep_scan_finds_names_at_any_depth():
    assert read("$..name") == ["ann", "bob"]


def test_context_and_variable_roots():
    assert read("$$.Execution.Name", {}, context={"Execution": {"Name": "run"}}) == "run"
    assert read("$$", {}, context=lambda: {"x": 1}) == {"x": 1}
    assert read("$count", {}, variables={"count": 3}) == 3
    assert read("$items[1].v", {}, variables={"items": [{}, {"v": 9}]}) == 9


def test_an_unknown_variable_is_missing():
    with pytest.raises(PathNotFound):
        read("$nothing", {}, variables={})


def test_escaped_delimiters_in_bracket_names():
    assert read("$['it\\'s']", {"it's": 1}) == 1
    assert read('$[\'Test\\""Name"\']', {'Test\\""Name"': 5}) == 5


@pytest.mark.parametrize("text", ["23", "$$23", "$.", "$[", "$.a[x]", "$.a[1:2:0]", " $.a", ""])
def test_malformed_paths_are_rejected(text):
    with pytest.raises(PathSyntaxError):
        parse_path(text)


def test_reference_paths_must_address_a_single_node():
    assert parse_reference_path("$.a.b[0]").definite
    with pytest.raises(PathSyntaxError):
        parse_reference_path("$.a[*]")


def test_assigning_creates_intermediate_objects_without_mutating_the_input():
    data = {"keep": {"x": 1}}
    result = assign_path(data, parse_path("$.new.deep"), 5)
    assert result == {"keep": {"x": 1}, "new": {"deep": 5}}
    assert data == {"keep": {"x": 1}}
    assert result["keep"] is data["keep"]


def test_assigning_overwrites_existing_values_and_array_elements():
    assert assign_path({"a": 1}, parse_path("$.a"), 2) == {"a": 2}
    assert assign_path({"a": [1, 2]}, parse_path("$.a[1]"), 9) == {"a": [1, 9]}


def test_assigning_through_a_non_object_fails():
    with pytest.raises(ResultPathMatchFailure):
        assign_path({"a": "text"}, parse_path("$.a.b"), 1)


def test_json_equality_keeps_booleans_apart_from_numbers():
    assert json_equal(1, 1.0)
    assert not json_equal(True, 1)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})
    assert not json_equal([1], [1, 2])
