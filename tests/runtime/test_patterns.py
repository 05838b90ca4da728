"""Behaviour of runtime.patterns, operator by operator, plus SNS filter policies."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import Any

import pytest

from runtime.patterns import (
    EventValidationError,
    FilterPolicyError,
    PatternError,
    compile_filter_policy,
    compile_pattern,
    validate_event,
)


def matches(pattern: dict[str, Any] | str, event: dict[str, Any]) -> bool:
    return compile_pattern(pattern).matches(event)


def reason_for(pattern: dict[str, Any] | str) -> str:
    with pytest.raises(PatternError) as raised:
        compile_pattern(pattern)
    assert raised.value.code == "InvalidEventPatternException"
    assert raised.value.message == "Event pattern is not valid. Reason: " + raised.value.reason
    return raised.value.reason


def envelope(**fields: Any) -> dict[str, Any]:
    event = {
        "version": "0",
        "id": "1",
        "detail-type": "Order Placed",
        "source": "shop.orders",
        "account": "123456789012",
        "time": "2026-01-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    return {**event, **fields}


def attributes(**values: tuple[str, str]) -> dict[str, dict[str, str]]:
    return {name: {"DataType": kind, "StringValue": raw} for name, (kind, raw) in values.items()}


# --- structure ----------------------------------------------------------------------------------


def test_fields_are_anded_and_values_are_ored() -> None:
    pattern = {"source": ["shop.orders", "shop.payments"], "detail-type": ["Order Placed"]}
    assert matches(pattern, envelope())
    assert matches(pattern, envelope(source="shop.payments"))
    assert not matches(pattern, envelope(source="shop.returns"))
    assert not matches(pattern, envelope(**{"detail-type": "Order Shipped"}))


def test_fields_the_pattern_does_not_name_are_ignored() -> None:
    assert matches({"source": ["shop.orders"]}, envelope(detail={"anything": [1, 2]}))


def test_nested_objects_descend_into_the_event() -> None:
    pattern = {"detail": {"order": {"status": ["paid"]}}}
    assert matches(pattern, envelope(detail={"order": {"status": "paid"}}))
    assert not matches(pattern, envelope(detail={"status": "paid"}))


def test_a_dotted_pattern_key_matches_nested_event_objects() -> None:
    pattern = {"detail": {"state.status": ["running"]}}
    assert matches(pattern, envelope(detail={"state": {"status": "running"}}))


def test_a_dotted_event_key_matches_a_nested_pattern() -> None:
    pattern = {"detail": {"state": {"status": ["running"]}}}
    assert matches(pattern, envelope(detail={"state.status": "running"}))


def test_keys_are_case_sensitive() -> None:
    assert not matches({"MY_KEY": ["v"]}, {"my_key": "v"})


def test_an_event_array_matches_when_any_element_matches() -> None:
    pattern = {"resources": ["arn:aws:ec2:i-2", "arn:aws:ec2:i-3"]}
    assert matches(pattern, envelope(resources=["arn:aws:asg", "arn:aws:ec2:i-2"]))
    assert not matches(pattern, envelope(resources=["arn:aws:asg"]))


def test_arrays_of_objects_are_seen_through() -> None:
    pattern = {"employees": {"firstName": ["Anna"]}}
    assert matches(pattern, {"employees": [{"firstName": "John"}, {"firstName": "Anna"}]})


def test_fields_inside_one_event_array_must_match_the_same_element() -> None:
    pattern = {"d": {"name": ["alice"], "status": ["active"]}}
    assert not matches(pattern, {"d": [{"name": "alice"}, {"status": "active"}]})
    assert matches(pattern, {"d": [{"name": "alice", "status": "active"}]})


def test_exists_false_only_looks_inside_the_array_element_already_matched() -> None:
    event = {"employees": [[{"firstName": "John", "ids": [1]}, {"firstName": "Anna"}]]}
    assert matches({"employees": {"firstName": ["Anna"], "ids": [{"exists": False}]}}, event)
    assert not matches({"employees": {"firstName": ["John"], "ids": [{"exists": False}]}}, event)


def test_only_leaf_values_match() -> None:
    assert not matches({"detail": {"c": ["x"]}}, envelope(detail={"c": {"c1": "x"}}))


def test_a_json_string_holding_json_is_not_parsed() -> None:
    assert not matches({"detail": {"k": ["v"]}}, envelope(detail='{"k": "v"}'))


def test_the_last_of_a_repeated_key_wins() -> None:
    text = (
        '{"detail": {"location": [{"prefix": "us-"}], "location": [{"anything-but": "us-east"}]}}'
    )
    assert matches(text, envelope(detail={"location": "eu-central-1"}))


def test_a_repeated_parent_key_keeps_fields_from_both_occurrences() -> None:
    text = '{"detail": {"a": ["1"]}, "detail": {"b": ["2"]}}'
    assert matches(text, {"detail": {"a": "1", "b": "2"}})
    assert not matches(text, {"detail": {"b": "2"}})


# --- exact values -------------------------------------------------------------------------------


def test_exact_strings_are_case_and_type_sensitive() -> None:
    assert matches({"x": ["5"]}, {"x": "5"})
    assert not matches({"x": ["5"]}, {"x": 5})
    assert not matches({"x": ["abc"]}, {"x": "ABC"})


def test_exact_numbers_compare_numerically() -> None:
    assert matches({"x": [300]}, {"x": 300.0})
    assert matches({"x": [3.0e2]}, {"x": 300})
    assert not matches({"x": [300]}, {"x": "300"})


def test_empty_string_matches_only_the_empty_string() -> None:
    assert matches({"x": [""]}, {"x": ""})
    assert not matches({"x": [""]}, {"x": None})


def test_null_matches_json_null_but_not_the_string_or_a_missing_field() -> None:
    assert matches({"x": [None]}, {"x": None})
    assert not matches({"x": [None]}, {"x": "null"})
    assert not matches({"x": [None]}, {})
    assert not matches({"x": [None]}, {"x": []})


def test_booleans_match_booleans_only() -> None:
    assert matches({"x": [False]}, {"x": False})
    assert not matches({"x": [False]}, {"x": True})
    assert not matches({"x": [True]}, {"x": 1})
    assert not matches({"x": ["true"]}, {"x": True})


def test_an_ip_address_value_matches_other_spellings_of_the_same_address() -> None:
    assert matches({"ip": ["2001:db8::1"]}, {"ip": "2001:0DB8:0:0:0:0:0:1"})


# --- prefix, suffix, equals-ignore-case, wildcard ------------------------------------------------


def test_prefix_matches_strings_that_start_with_it() -> None:
    assert matches({"time": [{"prefix": "2022-07-13"}]}, {"time": "2022-07-13T13:48:01Z"})
    assert not matches({"time": [{"prefix": "2022-07-99"}]}, {"time": "2022-07-13T13:48:01Z"})
    assert not matches({"n": [{"prefix": "12"}]}, {"n": 123})


def test_empty_prefix_matches_every_string() -> None:
    assert matches({"source": [{"prefix": ""}]}, {"source": "anything"})


def test_prefix_equals_ignore_case_ignores_case() -> None:
    pattern = {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}
    assert matches(pattern, {"service": "eventbridge"})
    assert not matches(pattern, {"service": "sns"})


def test_suffix_matches_strings_that_end_with_it() -> None:
    assert matches({"f": [{"suffix": ".png"}]}, {"f": "image.png"})
    assert not matches({"f": [{"suffix": ".PNG"}]}, {"f": "image.png"})


def test_suffix_equals_ignore_case_ignores_case() -> None:
    assert matches({"f": [{"suffix": {"equals-ignore-case": ".png"}}]}, {"f": "image.PNG"})


def test_equals_ignore_case_compares_whole_strings() -> None:
    assert matches({"a": [{"equals-ignore-case": "aBc"}]}, {"a": "AbC"})
    assert not matches({"a": [{"equals-ignore-case": "aBc"}]}, {"a": "aabc"})
    assert not matches({"a": [{"equals-ignore-case": ""}]}, {"a": "x"})


def test_wildcard_star_matches_any_run_of_characters_including_none() -> None:
    pattern = {"key": [{"wildcard": "dir/*/file.*"}]}
    assert matches(pattern, {"key": "dir/a/b/file.txt"})
    assert matches(pattern, {"key": "dir//file."})
    assert not matches(pattern, {"key": "dir/a/other.txt"})


def test_empty_wildcard_matches_only_the_empty_string() -> None:
    assert matches({"x": [{"wildcard": ""}]}, {"x": ""})
    assert not matches({"x": [{"wildcard": ""}]}, {"x": "abc"})


def test_escaped_star_and_backslash_in_a_wildcard_are_literal() -> None:
    pattern = {"x": [{"wildcard": "a\\*b\\\\c"}]}
    assert matches(pattern, {"x": "a*b\\c"})
    assert not matches(pattern, {"x": "aXb\\c"})


# --- anything-but -------------------------------------------------------------------------------


def test_anything_but_matches_other_values_and_null_but_not_a_missing_field() -> None:
    pattern = {"state": [{"anything-but": "initializing"}]}
    assert matches(pattern, {"state": "running"})
    assert matches(pattern, {"state": None})
    assert not matches(pattern, {"state": "initializing"})
    assert not matches(pattern, {})


def test_anything_but_a_number_list_compares_numerically() -> None:
    pattern = {"x": [{"anything-but": [100, 200]}]}
    assert not matches(pattern, {"x": 100.0})
    assert matches(pattern, {"x": "100"})
    assert matches(pattern, {"x": 300})


def test_anything_but_on_an_array_needs_one_element_outside_the_list() -> None:
    pattern = {"interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert matches(pattern, {"interests": ["rugby", "baseball"]})
    assert not matches(pattern, {"interests": ["rugby"]})


def test_anything_but_prefix_excludes_matching_strings() -> None:
    pattern = {"state": [{"anything-but": {"prefix": ["init", "test"]}}]}
    assert matches(pattern, {"state": "post-init"})
    assert not matches(pattern, {"state": "init-prefix"})
    assert matches(pattern, {"state": 12})


def test_anything_but_suffix_excludes_matching_strings() -> None:
    pattern = {"f": [{"anything-but": {"suffix": ".txt"}}]}
    assert matches(pattern, {"f": "file.txt.bak"})
    assert not matches(pattern, {"f": "file.txt"})


def test_anything_but_equals_ignore_case_excludes_any_casing() -> None:
    pattern = {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "OverLoaded"]}}]}
    assert not matches(pattern, {"state": "STOPPED"})
    assert matches(pattern, {"state": "running"})


def test_anything_but_wildcard_excludes_matching_strings_but_not_numbers() -> None:
    pattern = {"path": [{"anything-but": {"wildcard": "*/lib/*"}}]}
    assert not matches(pattern, {"path": "/usr/lib/x"})
    assert matches(pattern, {"path": "/usr/bin/x"})
    assert matches(pattern, {"path": 123})


def test_anything_but_or_exists_false_matches_absent_fields_too() -> None:
    pattern = {"s": [{"anything-but": ["roses"]}, {"exists": False}]}
    assert matches(pattern, {})
    assert matches(pattern, {"s": "tulips"})
    assert not matches(pattern, {"s": "roses"})


# --- numeric ------------------------------------------------------------------------------------


def test_numeric_ranges_include_and_exclude_their_bounds() -> None:
    pattern = {"x": [{"numeric": [">", 0, "<=", 5]}]}
    assert matches(pattern, {"x": 5})
    assert matches(pattern, {"x": 0.001})
    assert not matches(pattern, {"x": 0})
    assert not matches(pattern, {"x": 5.0001})


def test_numeric_equals_matches_integers_and_floats_alike() -> None:
    assert matches({"x": [{"numeric": ["=", 301.8]}]}, {"x": 301.8})
    assert matches({"x": [{"numeric": ["=", 3]}]}, {"x": 3.0})


def test_numeric_never_matches_strings_null_or_booleans() -> None:
    pattern = {"x": [{"numeric": [">", 0]}]}
    assert not matches(pattern, {"x": "300"})
    assert not matches(pattern, {"x": None})
    assert not matches(pattern, {"x": True})


def test_several_numeric_ranges_in_one_field_are_alternatives() -> None:
    pattern = {"x": [{"numeric": [">", 0, "<", 30]}, {"numeric": [">", 100, "<", 120]}]}
    assert matches(pattern, {"x": 110})
    assert not matches(pattern, {"x": 50})


# --- exists -------------------------------------------------------------------------------------


def test_exists_true_needs_a_leaf_value() -> None:
    pattern = {"c": [{"exists": True}]}
    assert matches(pattern, {"c": None})
    assert not matches(pattern, {"c": {"c1": 1}})
    assert not matches(pattern, {"c": []})
    assert not matches(pattern, {})


def test_exists_false_matches_missing_fields_objects_and_missing_parents() -> None:
    pattern = {"a": {"b": {"c": [{"exists": False}]}}}
    assert matches(pattern, {})
    assert matches(pattern, {"a": {"b": {"c": {"d": 1}}}})
    assert not matches(pattern, {"a": {"b": {"c": "x"}}})


# --- cidr ---------------------------------------------------------------------------------------


def test_cidr_matches_addresses_inside_the_block() -> None:
    pattern = {"ip": [{"cidr": "10.0.0.0/24"}]}
    assert matches(pattern, {"ip": "10.0.0.255"})
    assert not matches(pattern, {"ip": "10.0.1.0"})
    assert not matches(pattern, {"ip": "10.0.0.256"})
    assert not matches(pattern, {"ip": 123})


def test_cidr_supports_ipv6() -> None:
    pattern = {"ip": [{"cidr": "2001:db8:1234:1a00::/64"}]}
    assert matches(pattern, {"ip": "2001:0db8:1234:1a00:0000:0000:0000:0001"})
    assert not matches(pattern, {"ip": "2001:db8:123f:1a01::"})
    assert not matches(pattern, {"ip": "10.0.0.1"})


# --- $or ----------------------------------------------------------------------------------------


def test_or_needs_the_base_fields_and_one_alternative() -> None:
    pattern = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPU"]}, {"namespace": ["AWS/EC2"]}],
    }
    assert compile_pattern(pattern).alternatives == 2
    assert matches(pattern, {"source": "aws.cloudwatch", "namespace": "AWS/EC2"})
    assert matches(pattern, {"source": "aws.cloudwatch", "metricName": "CPU"})
    assert not matches(pattern, {"source": "aws.cloudwatch", "metricName": "RAM"})
    assert not matches(pattern, {"source": "other", "metricName": "CPU"})


def test_or_nests_inside_objects_and_other_ors() -> None:
    pattern = {
        "detail": {
            "$or": [
                {"a": ["1"]},
                {"$or": [{"b": ["2"]}, {"c": ["3"]}]},
            ]
        }
    }
    assert compile_pattern(pattern).alternatives == 3
    assert matches(pattern, {"detail": {"c": "3"}})
    assert not matches(pattern, {"detail": {"d": "4"}})


def test_or_with_match_expressions_inside_is_an_ordinary_field() -> None:
    pattern = {"$or": [{"prefix": "a"}]}
    assert matches(pattern, {"$or": "abc"})


def test_too_many_or_combinations_are_rejected() -> None:
    branches = [{f"k{i}": ["v"]} for i in range(11)]
    pattern = {"$or": branches, "detail": {"$or": branches, "x": {"$or": branches}}}
    assert "$or" in reason_for(pattern)


# --- validation messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ({"int": 42}, '"int" must be an object or an array'),
        ({"a": []}, "Empty arrays are not allowed"),
        ({"a": {}}, "Empty objects are not allowed"),
        ({"a": [["x"]]}, "Match value must be String, number, true, false, or null"),
        ({"a": [{}]}, "Match expression name not found"),
        ({"a": [{"NUMERIC": ["=", 5]}]}, "Unrecognized match type NUMERIC"),
        ({"a": [{"prefix": "x", "suffix": "y"}]}, "Only one key allowed in match expression"),
        ({"a": [{"prefix": ["x"]}]}, "prefix match pattern must be a string"),
        ({"a": [{"suffix": 1}]}, "suffix match pattern must be a string"),
        ({"a": [{"prefix": {"nope": "x"}}]}, "Unsupported prefix pattern: nope"),
        (
            {"a": [{"equals-ignore-case": ["x"]}]},
            "equals-ignore-case match pattern must be a string",
        ),
        ({"a": [{"wildcard": 1}]}, "wildcard match pattern must be a string"),
        ({"a": [{"exists": "yes"}]}, "exists match pattern must be either true or false."),
    ],
)
def test_invalid_operands_are_rejected_with_the_aws_reason(
    pattern: dict[str, Any], reason: str
) -> None:
    assert reason_for(pattern) == reason


@pytest.mark.parametrize(
    ("numeric", "reason"),
    [
        (10, "Value of numeric must be an array."),
        ([], "Invalid member in numeric match: ]"),
        ([1, "<="], "Invalid member in numeric match: 1"),
        (["~", 1], "Unrecognized numeric range operator: ~"),
        (["=", "5"], "Value of equals must be numeric"),
        ([">", 0, "<"], "Value of < must be numeric"),
        ([">", 0, ">", 0], "Bad numeric range operator: >"),
        ([">", 0, 5], "Bad value in numeric range: 5"),
        ([">", 5, "<", 1], "Bottom must be less than top"),
        ([">", 0, "<", 5, "<", 9], "Too many terms in numeric range expression"),
        (["<", 5, ">", 1], "Too many elements in numeric expression"),
    ],
)
def test_malformed_numeric_expressions_are_rejected(numeric: Any, reason: str) -> None:
    assert reason_for({"a": [{"numeric": numeric}]}) == reason


@pytest.mark.parametrize(
    ("operand", "reason"),
    [
        (None, "Value of anything-but must be an array or single string/number value."),
        (["a", None], "Inside anything but list, start|null|boolean is not supported."),
        (
            ["a", 1],
            "Inside anything but list, either all values are number or string, "
            "mixed type is not supported",
        ),
        ({"prefix": ""}, "Null prefix/suffix not allowed"),
        ({"suffix": [1]}, "prefix/suffix match pattern must be a string"),
        (
            {"equals-ignore-case": 1},
            "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not "
            "supported.",
        ),
        ({"wildcard": [1]}, "wildcard match pattern must be a string"),
        ({"exists": False}, "Unsupported anything-but pattern: exists"),
        (
            {"prefix": {"equals-ignore-case": "x"}},
            "Value of anything-but must be an array or single string/number value.",
        ),
    ],
)
def test_malformed_anything_but_expressions_are_rejected(operand: Any, reason: str) -> None:
    assert reason_for({"a": [{"anything-but": operand}]}) == reason


@pytest.mark.parametrize(
    ("cidr", "reason"),
    [
        ("bad-filter", "Malformed CIDR, one '/' required"),
        ("10.0.0.0/x", "Malformed CIDR, mask bits must be an integer"),
        ("xx.11.xx/8", "Nonstandard IP address: xx.11.xx"),
        ("10.0.0.256/8", "Invalid IP address: 10.0.0.256"),
        ("10.0.0.0/32", "IPv4 mask bits must be < 32"),
    ],
)
def test_malformed_cidr_blocks_are_rejected(cidr: str, reason: str) -> None:
    assert reason_for({"ip": [{"cidr": cidr}]}) == reason


def test_consecutive_wildcards_are_rejected_at_their_byte_position() -> None:
    reason = reason_for({"a": [{"wildcard": "arn:aws:events:us-east-1:**:event-bus/*"}]})
    assert reason == "Consecutive wildcard characters at pos 26"


def test_an_unknown_escape_in_a_wildcard_is_rejected() -> None:
    assert reason_for({"a": [{"wildcard": "a\\b"}]}) == "Invalid escape character at pos 2"


def test_wildcards_that_keep_too_many_prefixes_alive_are_too_complex() -> None:
    assert reason_for({"a": [{"wildcard": "*:*:*:*:*:event-bus/*"}]}).startswith(
        "Rule is too complex"
    )
    assert matches(
        {"a": [{"wildcard": "/Users/*/dir/dir/doc.txt"}]}, {"a": "/Users/x/dir/dir/doc.txt"}
    )


def test_a_pattern_that_is_not_an_object_is_rejected() -> None:
    assert reason_for('["a", "b"]') == "Filter is not an object"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "this is not json",
            "Unrecognized token 'this': was expecting (JSON String, Number, Array, Object or "
            "token 'null', 'true' or 'false')",
        ),
        (
            "{'bad': 'quotes'}",
            "Unexpected character (''' (code 39)): was expecting double-quote to start field name",
        ),
        (
            '{"a": [1 2]}',
            "Unexpected character ('2' (code 50)): was expecting comma to separate Array entries",
        ),
        ('{"a": [01]}', "Invalid numeric value: Leading zeroes not allowed"),
    ],
)
def test_invalid_json_text_is_reported_in_jacksons_words(text: str, reason: str) -> None:
    assert reason_for(text) == reason


# --- compiled form ------------------------------------------------------------------------------


def test_a_compiled_pattern_ignores_later_changes_to_its_source() -> None:
    source = {"source": ["a"]}
    pattern = compile_pattern(source)
    source["source"] = ["b"]
    assert pattern.matches({"source": "a"})


def test_a_compiled_pattern_is_immutable() -> None:
    pattern = compile_pattern({"source": ["a"]})
    with pytest.raises(dataclasses.FrozenInstanceError):
        pattern.source = {}  # type: ignore[misc]


def test_a_pattern_matches_event_json_text() -> None:
    assert compile_pattern({"source": ["a"]}).matches('{"source": "a"}')


def test_the_patterns_module_imports_no_django() -> None:
    code = "import sys, runtime.patterns; print('django' in sys.modules, 'channels' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"


# --- explain ------------------------------------------------------------------------------------


def test_explain_is_empty_for_a_matching_event() -> None:
    assert compile_pattern({"source": ["a"]}).explain({"source": "a"}) == []


def test_explain_names_the_field_its_value_and_the_allowed_values() -> None:
    pattern = compile_pattern({"detail": {"state": ["running"]}})
    assert pattern.explain({"detail": {"state": "stopped"}}) == [
        "detail.state: 'stopped' is not one of ['running']"
    ]


def test_explain_lists_every_failing_field() -> None:
    pattern = compile_pattern(
        {"source": ["a"], "detail": {"n": [{"numeric": [">", 5]}], "x": [{"exists": False}]}}
    )
    assert pattern.explain({"source": "b", "detail": {"n": 3, "x": 1}}) == [
        "source: 'b' is not one of ['a']",
        "detail.n: 3 does not match any of [numeric > 5]",
        "detail.x: 1 is present but must not exist",
    ]


def test_explain_reports_missing_fields() -> None:
    reasons = compile_pattern({"detail": {"n": [{"prefix": "a"}]}}).explain({"detail": {}})
    assert reasons == ["detail.n: no leaf value here, but the pattern requires [prefix 'a']"]


def test_explain_reports_each_or_alternative() -> None:
    pattern = compile_pattern({"$or": [{"a": ["1"]}, {"b": ["2"]}]})
    assert pattern.explain({"a": "0", "b": "0"}) == [
        "$or alternative 1: a: '0' is not one of ['1']",
        "$or alternative 2: b: '0' is not one of ['2']",
    ]


def test_explain_reports_fields_split_across_array_elements() -> None:
    pattern = compile_pattern({"d": {"name": ["alice"], "status": ["active"]}})
    reasons = pattern.explain({"d": [{"name": "alice"}, {"status": "active"}]})
    assert len(reasons) == 1
    assert "same element" in reasons[0]


# --- TestEventPattern event validation ------------------------------------------------------------


def test_a_full_envelope_is_a_valid_event() -> None:
    validate_event(envelope())


@pytest.mark.parametrize(
    "event",
    ["plain string", '["plain string"]', '{"testEvent": "value"}', {"id": "1"}],
)
def test_events_without_the_envelope_are_rejected(event: Any) -> None:
    with pytest.raises(EventValidationError) as raised:
        validate_event(event)
    assert raised.value.code == "ValidationException"
    assert raised.value.message == "Parameter Event is not valid."


# --- SNS filter policies ------------------------------------------------------------------------


def test_attribute_policies_match_string_attributes() -> None:
    policy = compile_filter_policy({"event": ["order_placed"]})
    assert policy.matches(attributes(event=("String", "order_placed")))
    assert not policy.matches(attributes(event=("String", "order_cancelled")))
    assert not policy.matches({})


def test_attribute_policies_accept_the_delivered_type_and_value_shape() -> None:
    policy = compile_filter_policy({"store": ["s1"]})
    assert policy.matches({"store": {"Type": "String", "Value": "s1"}})


def test_number_attributes_match_numerically() -> None:
    policy = compile_filter_policy({"price": [{"numeric": [">", 0, "<=", 100]}]})
    assert policy.matches(attributes(price=("Number", "99")))
    assert not policy.matches(attributes(price=("Number", "111")))
    assert not policy.matches(attributes(price=("String", "99")))
    assert compile_filter_policy({"n": [100]}).matches(attributes(n=("Number", "1.0e2")))


def test_string_array_attributes_match_if_any_element_matches() -> None:
    policy = compile_filter_policy({"interests": [{"anything-but": ["rugby", "tennis"]}]})
    assert policy.matches(attributes(interests=("String.Array", '["rugby", "baseball"]')))
    assert not policy.matches(attributes(interests=("String.Array", '["rugby"]')))
    assert not policy.matches({})


def test_binary_attributes_take_no_part_in_filtering() -> None:
    policy = compile_filter_policy({"blob": [{"exists": False}]})
    assert policy.matches({"blob": {"DataType": "Binary", "BinaryValue": b"x"}})


def test_exists_false_in_an_attribute_policy_matches_absent_attributes() -> None:
    policy = compile_filter_policy({"store": [{"exists": False}]})
    assert policy.matches({})
    assert not policy.matches(attributes(store=("String", "s1")))


def test_attribute_policies_support_or_across_keys() -> None:
    policy = compile_filter_policy({"$or": [{"a": ["x"]}, {"b": ["y"]}]})
    assert policy.matches(attributes(b=("String", "y")))
    assert not policy.matches(attributes(a=("String", "y")))


def test_body_policies_match_nested_json_bodies() -> None:
    policy = compile_filter_policy({"order": {"status": ["paid"]}}, "MessageBody")
    assert policy.matches('{"order": {"status": "paid"}}')
    assert not policy.matches('{"order": {"status": "open"}}')


def test_a_body_that_is_not_a_json_object_never_matches() -> None:
    policy = compile_filter_policy({"test": [{"exists": False}]}, "MessageBody")
    assert not policy.matches("not json")
    assert not policy.matches('"a json string"')
    assert policy.matches("{}")


def test_sns_rejects_nested_policies_under_attribute_scope() -> None:
    with pytest.raises(FilterPolicyError) as raised:
        compile_filter_policy({"a": {"b": ["x"]}})
    assert raised.value.code == "InvalidParameter"
    assert raised.value.message_for("SetSubscriptionAttributes") == (
        "Invalid parameter: Filter policy scope MessageAttributes does not support nested "
        "filter policy"
    )


def test_sns_error_wording_depends_on_the_api() -> None:
    with pytest.raises(FilterPolicyError) as raised:
        compile_filter_policy({"key": []})
    error = raised.value
    assert error.message == (
        "Invalid parameter: Attributes Reason: FilterPolicy: Empty arrays are not allowed"
    )
    assert error.message_for("SetSubscriptionAttributes") == (
        "Invalid parameter: FilterPolicy: Empty arrays are not allowed"
    )


def test_sns_allows_at_most_five_keys() -> None:
    with pytest.raises(FilterPolicyError, match="can not have more than 5 keys"):
        compile_filter_policy({f"k{i}": ["v"] for i in range(6)})


def test_sns_limits_combinations_to_150() -> None:
    accepted = {"a": list(range(10)), "b": list(range(15))}
    compile_filter_policy(accepted)
    with pytest.raises(FilterPolicyError, match="Filter policy is too complex"):
        compile_filter_policy({"a": list(range(10)), "b": list(range(16))})


def test_sns_counts_nesting_depth_in_body_policy_combinations() -> None:
    policy = {"a": {"b": {"c": ["1", "2", "3", "4"]}}, "d": {"e": ["1", "2", "3"]}}
    compile_filter_policy(policy, "MessageBody")  # 4*3 * 3*2 = 72
    with pytest.raises(FilterPolicyError, match="too complex"):
        compile_filter_policy({**policy, "f": ["1", "2", "3"]}, "MessageBody")  # 216


def test_sns_rejects_anything_but_suffix_and_wildcards() -> None:
    with pytest.raises(FilterPolicyError, match="Unsupported anything-but pattern: suffix"):
        compile_filter_policy({"k": [{"anything-but": {"suffix": "x"}}]})
    with pytest.raises(FilterPolicyError, match="Unrecognized match type wildcard"):
        compile_filter_policy({"k": [{"wildcard": "*x"}]})


def test_sns_anything_but_prefix_needs_a_single_string() -> None:
    policy = compile_filter_policy({"k": [{"anything-but": {"prefix": "order-"}}]})
    assert policy.matches(attributes(k=("String", "invoice-1")))
    assert not policy.matches(attributes(k=("String", "order-1")))
    with pytest.raises(FilterPolicyError, match="prefix match pattern must be a string"):
        compile_filter_policy({"k": [{"anything-but": {"prefix": ["a"]}}]})


def test_sns_limits_numeric_operands() -> None:
    with pytest.raises(FilterPolicyError, match="Value must be between"):
        compile_filter_policy({"k": [{"numeric": [">", 1e10]}]})
    with pytest.raises(FilterPolicyError, match="decimals"):
        compile_filter_policy({"k": [{"numeric": [">", 0.123456]}]})


def test_filter_policy_explain_says_why_a_message_is_filtered_out() -> None:
    policy = compile_filter_policy({"event": ["order_placed"]})
    assert policy.explain(attributes(event=("String", "x"))) == [
        "event: 'x' is not one of ['order_placed']"
    ]
