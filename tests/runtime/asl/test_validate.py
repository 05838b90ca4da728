import json

from runtime.asl import ValidationError, validate


def machine(*states: tuple[str, dict], **top) -> dict:
    return {"StartAt": states[0][0], "States": dict(states), **top}


def problems(definition, **kwargs) -> list[str]:
    return [str(error) for error in validate(definition, **kwargs)]


def only(definition, **kwargs) -> ValidationError:
    found = validate(definition, **kwargs)
    assert len(found) == 1, found
    return found[0]


PASS_END = {"Type": "Pass", "End": True}


def test_a_minimal_machine_is_valid():
    assert validate(machine(("P", PASS_END))) == []


def test_missing_top_level_fields_are_listed_together():
    error = only({})
    assert (error.path, error.message) == ("/", "These fields are required: [States, StartAt]")
    assert only({"StartAt": "A"}).message == "These fields are required: [States]"


def test_a_definition_must_be_a_json_object():
    assert only([1, 2]).message == "Definition must be a valid JSON object"
    assert only(" ").message == "Definition must be a valid JSON object"


def test_malformed_json_text_is_one_error_at_the_empty_path():
    error = only("not a definition")
    assert error.path == ""
    assert error.code == "INVALID_JSON_DESCRIPTION"
    assert error.message.startswith("Unrecognized token 'not': was expecting")
    assert only('{"StartAt": ').path == ""


def test_json_text_is_validated_like_a_dict():
    assert validate(json.dumps(machine(("P", PASS_END)))) == []


def test_unknown_fields_are_rejected_at_every_level():
    assert problems(machine(("P", PASS_END), Extra=1)) == [
        'SCHEMA_VALIDATION_FAILED: The field "Extra" is not supported by Step Functions at /'
    ]
    error = only(machine(("P", {**PASS_END, "Colour": "red"})))
    assert error.path == "/States/P"
    assert '"Colour"' in error.message


def test_fields_are_checked_against_the_state_type():
    error = only(machine(("C", {"Type": "Wait", "Seconds": 1, "ResultPath": "$.x", "End": True})))
    assert '"ResultPath"' in error.message


def test_start_at_and_next_must_name_states():
    definition = machine(("A", {"Type": "Pass", "Next": "Nowhere"}))
    definition["StartAt"] = "Missing"
    found = validate(definition)
    assert {(error.path, error.code) for error in found} >= {
        ("/StartAt", "MISSING_TRANSITION_TARGET"),
        ("/States/A/Next", "MISSING_TRANSITION_TARGET"),
    }


def test_every_error_is_reported_at_once():
    definition = machine(
        ("A", {"Type": "Pass", "Next": "B", "End": True}),
        ("B", {"Type": "Task"}),
        ("C", {"Type": "Wait", "End": True}),
    )
    assert len(validate(definition)) >= 4


def test_unreachable_states_are_reported():
    error = only(machine(("A", PASS_END), ("Lost", PASS_END)))
    assert (error.path, error.code) == ("/States/Lost", "UNREACHABLE_STATE")


def test_state_names_are_unique_across_branches():
    definition = machine(
        (
            "A",
            {
                "Type": "Parallel",
                "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Succeed"}}}],
                "Next": "X",
            },
        ),
        ("X", {"Type": "Succeed"}),
    )
    assert "DUPLICATE_STATE_NAME" in {error.code for error in validate(definition)}


def test_state_names_are_at_most_80_characters():
    name = "n" * 81
    assert "80" in only(machine((name, PASS_END))).message


def test_a_state_needs_next_or_end_but_not_both():
    assert "either" in only(machine(("A", {"Type": "Pass"}))).message
    both = machine(("A", {"Type": "Pass", "Next": "A", "End": True}))
    assert 'only one of ["Next", "End"]' in only(both).message


def test_choice_rules_are_checked():
    definition = machine(
        (
            "C",
            {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.a", "NumericEquals": "1", "Next": "D"},
                    {"Variable": "$.a", "StringEquals": "x", "BooleanEquals": True, "Next": "D"},
                    {"And": [{"Variable": "$.a", "IsNull": True, "Next": "D"}], "Next": "D"},
                    {"Not": {"Variable": "$.a[*]", "IsPresent": True}, "Next": "D"},
                    {"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "D"},
                ],
            },
        ),
        ("D", {"Type": "Succeed"}),
    )
    messages = " | ".join(error.message for error in validate(definition))
    assert "must be a number" in messages
    assert "exactly one comparison operator" in messages
    assert "Nested choice rules cannot have" in messages
    assert "reference path" in messages
    assert "ISO-8601" in messages


def test_choices_must_not_be_empty_and_default_must_exist():
    definition = machine(("C", {"Type": "Choice", "Choices": [], "Default": "Gone"}))
    paths = {error.path for error in validate(definition)}
    assert paths == {"/States/C/Choices", "/States/C/Default"}


def test_retriers_follow_statelint_rules():
    retry = [
        {"ErrorEquals": [], "BackoffRate": 0.5},
        {"ErrorEquals": ["States.ALL", "X"], "JitterStrategy": "PARTIAL", "MaxDelaySeconds": -1},
        {"ErrorEquals": ["E"], "MaxAttempts": -1, "IntervalSeconds": 0},
    ]
    definition = machine(("T", {"Type": "Task", "Resource": "r", "Retry": retry, "End": True}))
    messages = " | ".join(error.message for error in validate(definition))
    for fragment in (
        "non-empty required",
        "allowed minimum is 1",
        'not one of the allowed values ["FULL", "NONE"]',
        "allowed floor is 0",
        "must appear alone",
    ):
        assert fragment in messages


def test_states_all_must_be_the_last_catcher():
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "E"}, {"ErrorEquals": ["X"], "Next": "E"}]
    definition = machine(
        ("T", {"Type": "Task", "Resource": "r", "Catch": catch, "End": True}),
        ("E", {"Type": "Fail"}),
    )
    assert "must appear alone" in only(definition).message


def test_payload_template_expressions_must_be_paths_or_intrinsics():
    parameters = {"good.$": "$.a", "ctx.$": "$$.Execution.Id", "bad.$": 3, "nested": {"x.$": "$$9"}}
    found = validate(machine(("P", {**PASS_END, "Parameters": parameters})))
    assert sorted(error.path for error in found) == [
        "/States/P/Parameters/bad.$",
        "/States/P/Parameters/nested/x.$",
    ]
    assert all("not a JSONPath or intrinsic function expression" in e.message for e in found)


def test_intrinsic_syntax_is_checked():
    parameters = {"a.$": "States.Format('{}', $.x)", "b.$": "States.Nope(1)"}
    error = only(machine(("P", {**PASS_END, "Parameters": parameters})))
    assert error.path == "/States/P/Parameters/b.$"


def test_input_path_cannot_be_an_intrinsic_and_result_path_cannot_use_the_context():
    state = {**PASS_END, "InputPath": "States.Array(1)", "ResultPath": "$$.x"}
    paths = {error.path for error in validate(machine(("P", state)))}
    assert paths == {"/States/P/InputPath", "/States/P/ResultPath"}


def test_static_and_dynamic_variants_are_exclusive():
    fail = {"Type": "Fail", "Error": "E", "ErrorPath": "$.e"}
    assert 'may have only one of ["Error", "ErrorPath"]' in only(machine(("F", fail))).message
    task = {"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "TimeoutSecondsPath": "$.t"}
    error = only(machine(("T", {**task, "End": True})))
    assert 'may have only one of ["TimeoutSeconds", "TimeoutSecondsPath"]' in error.message


def test_heartbeat_must_be_shorter_than_the_timeout():
    task = {"Type": "Task", "Resource": "r", "TimeoutSeconds": 5, "HeartbeatSeconds": 5}
    assert "HeartbeatSeconds" in only(machine(("T", {**task, "End": True}))).message


def test_wait_needs_exactly_one_duration():
    assert "exactly one" in only(machine(("W", {"Type": "Wait", "End": True}))).message
    both = {"Type": "Wait", "Seconds": 1, "SecondsPath": "$.s", "End": True}
    assert "exactly one" in only(machine(("W", both))).message
    assert (
        "Timestamp"
        in only(machine(("W", {"Type": "Wait", "Timestamp": "soon", "End": True}))).message
    )


def test_map_processor_and_selector_variants_are_exclusive():
    processor = {"StartAt": "I", "States": {"I": PASS_END}}
    state = {
        "Type": "Map",
        "ItemProcessor": processor,
        "Iterator": {"StartAt": "J", "States": {"J": PASS_END}},
        "End": True,
    }
    assert "only one of" in only(machine(("M", state))).message


def test_map_labels_follow_aws_rules():
    processor = {
        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "I",
        "States": {"I": PASS_END},
    }

    def label_error(label: str) -> str:
        state = {"Type": "Map", "ItemProcessor": processor, "Label": label, "End": True}
        return only(machine(("M", state))).message

    assert label_error("") == "Label cannot be empty"
    assert label_error("x" * 41) == "Label cannot exceed 40 characters"
    assert label_error("a b") == "Label contains invalid character: ' '"


def test_credentials_need_a_role_arn():
    task = {"Type": "Task", "Resource": "r", "Credentials": {}, "End": True}
    error = only(machine(("T", task)))
    assert (error.path, error.message) == (
        "/States/T/Credentials",
        "The field 'RoleArn' is required but was missing",
    )


def test_express_machines_reject_sync_and_callback_integrations():
    sync = {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync", "End": True}
    assert validate(machine(("T", sync))) == []
    error = only(machine(("T", sync)), state_machine_type="EXPRESS")
    assert str(error) == (
        "SCHEMA_VALIDATION_FAILED: Express state machine does not support '.sync' service "
        "integration at /States/T/Resource"
    )


def test_jsonata_fields_replace_jsonpath_fields():
    state = {
        "Type": "Pass",
        "QueryLanguage": "JSONata",
        "Parameters": {},
        "Output": "{% 1 %}",
        "End": True,
    }
    error = only(machine(("P", state)))
    assert error.message == 'The field "Parameters" is not supported when QueryLanguage is JSONata'


def test_jsonata_expressions_must_parse():
    state = {"Type": "Pass", "Output": {"x": "{% 1 + %}"}, "End": True}
    error = only(machine(("P", state), QueryLanguage="JSONata"))
    assert error.path == "/States/P/Output/x"


def test_a_state_cannot_downgrade_a_jsonata_machine_to_jsonpath():
    state = {"Type": "Pass", "QueryLanguage": "JSONPath", "End": True}
    error = only(machine(("P", state), QueryLanguage="JSONata"))
    assert error.message == (
        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine"
    )


def test_variable_names_in_assign_are_checked():
    state = {**PASS_END, "Assign": {"ok": 1, "not-ok": 2, "fine.$": "$.x"}}
    assert only(machine(("P", state))).path == "/States/P/Assign/not-ok"
    reserved = {**PASS_END, "Assign": {"states": 1}}
    assert only(machine(("P", reserved))).message == "The variable name 'states' is reserved"


def test_branches_and_processors_are_scopes_of_their_own():
    inner = {"StartAt": "I", "States": {"I": {"Type": "Pass", "Next": "Outer"}}}
    definition = machine(
        ("P", {"Type": "Parallel", "Branches": [inner], "Next": "Outer"}), ("Outer", PASS_END)
    )
    error = only(definition)
    assert (error.path, error.code) == (
        "/States/P/Branches/0/States/I/Next",
        "MISSING_TRANSITION_TARGET",
    )
