"""EventBridge buses and rules: PutEvents, routing, inputs, retries, archive and replay (§3.12)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from runtime.events import MessageRefused
from runtime.outbound import Response
from tests.runtime.engine_helpers import edge, engine_for, node

ENTRY = {
    "Source": "my.app",
    "DetailType": "Order Placed",
    "Detail": json.dumps({"state": "RUNNING"}),
}


def bus_topology(
    rules: dict[str, dict[str, Any]], targets: list[tuple[str, str, dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A custom bus "b" with the given rules; targets are (rule, queue, edge config)."""
    nodes = [node("b", "event_bus", bus_name="orders")]
    edges = []
    for rule_id, config in rules.items():
        nodes.append(node(rule_id, "rule", **config))
        edges.append(edge(f"b-{rule_id}", "b", rule_id))
    for rule_id, queue_id, config in targets:
        if queue_id not in {n["id"] for n in nodes}:
            nodes.append(node(queue_id, "queue"))
        edges.append(edge(f"{rule_id}-{queue_id}", rule_id, queue_id, **config))
    return nodes, edges


async def received(engine: Any, queue: str) -> list[Any]:
    return [item.message for item in await engine.node(queue).receive(10, wait=0)]


async def test_eventbridge_case_1_the_target_gets_the_full_envelope_and_other_buses_do_not() -> (
    None
):
    nodes, edges = bus_topology({"r": {"event_pattern": {"source": ["my.app"]}}}, [("r", "q", {})])
    nodes.append(node("default-bus", "event_bus"))
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    await engine.send("default-bus", ENTRY)
    (message,) = await received(engine, "q")
    event = message.body
    assert list(event) == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"
    ]  # fmt: skip
    assert event["detail"] == {"state": "RUNNING"} and event["detail-type"] == "Order Placed"
    assert event["time"].endswith("Z") and len(event["time"]) == 20
    assert event["account"] == "123456789012" and event["resources"] == []
    await engine.stop()


async def test_eventbridge_case_2_each_matching_rule_delivers_and_a_disabled_one_does_not() -> None:
    pattern = {"event_pattern": {"source": ["my.app"]}}
    nodes, edges = bus_topology(
        {"r1": pattern, "r2": {**pattern, "state": "DISABLED"}, "r3": pattern},
        [("r1", "q", {}), ("r2", "q", {}), ("r3", "q", {})],
    )
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    assert len(await received(engine, "q")) == 2
    await engine.stop()


async def test_eventbridge_case_3_put_events_validates_per_entry_and_per_request() -> None:
    nodes, edges = bus_topology({"r": {}}, [("r", "q", {})])
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", {"Entries": [ENTRY] * 11})
    assert observer.of(MessageRefused)[-1].error_code == "ValidationException"
    second = {key: value for key, value in ENTRY.items() if key != "DetailType"}
    await engine.send("b", {"Entries": [ENTRY, second, {**ENTRY, "Source": "third"}]})
    assert [m.body["source"] for m in await received(engine, "q")] == ["my.app", "third"]
    assert observer.of(MessageRefused)[-1].error_message == (
        "Parameter DetailType is not valid. Reason: DetailType is a required argument."
    )
    await engine.stop()


async def test_eventbridge_case_4_a_detail_that_is_not_json_is_malformed() -> None:
    nodes, edges = bus_topology({"r": {}}, [("r", "q", {})])
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", {**ENTRY, "Detail": "not json"})
    assert observer.of(MessageRefused)[-1].error_message == "Detail is malformed."
    assert engine.snapshot()["nodes"]["b"]["refused"] == 1
    await engine.stop()


async def test_eventbridge_entries_over_the_size_limit_and_aws_sources_are_refused() -> None:
    nodes, edges = bus_topology({"r": {}}, [("r", "q", {})])
    nodes[0]["config"]["max_event_size"] = 1024
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", {**ENTRY, "Detail": json.dumps({"x": "y" * 1024})})
    assert observer.of(MessageRefused)[-1].error_message == (
        "Total size of the entries in the request is over the limit."
    )
    await engine.send("b", {**ENTRY, "Source": "aws.ec2"})
    assert observer.of(MessageRefused)[-1].error_code == "NotAuthorizedForSourceException"
    await engine.stop()


async def test_eventbridge_case_5_a_sixth_target_is_a_lint_error() -> None:
    from runtime import graph
    from runtime.spec import load
    from tests.builders import make_document

    nodes, edges = bus_topology({"r": {}}, [("r", f"q{i}", {}) for i in range(6)])
    findings = graph.errors(graph.lint(load(make_document(nodes=nodes, edges=edges))))
    assert "too-many-targets" in {finding.code for finding in findings}


async def test_eventbridge_case_6_a_cron_rule_fires_daily_at_noon_with_a_scheduled_event() -> None:
    nodes = [
        node("timer", "rule", event_pattern=None, schedule_expression="cron(0 12 * * ? *)"),
        node("q", "queue"),
    ]
    engine, clock, _ = engine_for(nodes, [edge("e", "timer", "q")])
    await engine.start()
    await engine.advance(12 * 3600 - 1)
    assert await received(engine, "q") == []
    await engine.advance(1)
    (message,) = await received(engine, "q")
    event = message.body
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-01-01T12:00:00Z"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/timer"]
    await engine.advance(86400)
    times = sorted(m.body["time"] for m in await received(engine, "q"))
    assert times[-1] == "2026-01-02T12:00:00Z"
    await engine.stop()


@pytest.mark.parametrize(
    ("expression", "valid"),
    [("rate(5 minutes)", True), ("rate(1 minutes)", False), ("cron(0 12 * * * *)", False)],
)
def test_eventbridge_case_6_schedule_expressions_are_validated(
    expression: str, valid: bool
) -> None:
    from runtime.nodes.rule import schedule_problem

    assert (schedule_problem(expression) is None) is valid


async def test_eventbridge_case_7_an_input_path_sends_only_the_detail() -> None:
    nodes, edges = bus_topology(
        {"r": {}}, [("r", "q", {"input_mode": "input_path", "input_path": "$.detail"})]
    )
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    assert [m.body for m in await received(engine, "q")] == [{"state": "RUNNING"}]
    await engine.stop()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{"state": <s>}', {"state": "RUNNING"}),
        ('"state is <s>"', '"state is RUNNING"'),
        (
            '{"text": "state is <s>", "rule": "<aws.events.rule-name>"}',
            {"text": "state is RUNNING", "rule": "r"},
        ),
        ('{"missing": "<nope>x"}', {"missing": "x"}),
    ],
)
async def test_eventbridge_case_8_an_input_transformer_follows_aws_substitution_rules(
    template: str, expected: Any
) -> None:
    paths = {"s": "$.detail.state", "nope": "$.detail.absent"}
    config = {
        "input_mode": "input_transformer",
        "input_paths_map": paths,
        "input_template": template,
    }
    nodes, edges = bus_topology({"r": {}}, [("r", "q", config)])
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    assert [m.body for m in await received(engine, "q")] == [expected]
    await engine.stop()


def test_eventbridge_case_8_an_unknown_placeholder_is_a_lint_error() -> None:
    from runtime.nodes.rule import Rule

    config = {
        **Rule.edge_defaults(),
        "input_mode": "input_transformer",
        "input_paths_map": {"s": "$.detail.state"},
        "input_template": '{"x": <nope>}',
    }
    (problem,) = Rule.semantic_edge_checks(config)
    assert problem[1] == "InputTemplate contains invalid placeholder nope."


def test_eventbridge_case_9_only_one_kind_of_input_per_target() -> None:
    from runtime.nodes.rule import Rule

    problems = Rule.check_edge_config(
        {"input_mode": "constant", "input": {"a": 1}, "input_path": "$.x"}
    )
    assert problems == [("/input_path", "applies only when input_mode is input_path")]


async def test_eventbridge_case_10_a_failing_target_retries_then_dead_letters_with_attributes() -> (
    None
):
    nodes, edges = bus_topology({"r": {"max_retry_attempts": 2, "dead_letter_queue": "dlq"}}, [])
    nodes += [node("hook", "webhook", url="https://api.example.com/in"), node("dlq", "queue")]
    edges.append(edge("r-hook", "r", "hook"))
    attempts = []

    async def failing(url: str, **_: Any) -> Response:
        attempts.append(url)
        return Response(503, {}, b"", url)

    engine, _, _ = engine_for(nodes, edges, http_post=failing)
    await engine.start()
    await engine.send("b", ENTRY)
    await engine.advance(600)
    assert len(attempts) == 3
    (letter,) = await received(engine, "dlq")
    assert letter.body["detail"] == {"state": "RUNNING"}
    assert letter.attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert letter.attributes["RETRY_ATTEMPTS"] == 2
    assert letter.attributes["RULE_ARN"] == "arn:aws:events:us-east-1:123456789012:rule/r"
    assert letter.attributes["ERROR_CODE"] == "SDK_CLIENT_ERROR"
    assert "TARGET_ARN" in letter.attributes and "ERROR_MESSAGE" in letter.attributes
    await engine.stop()


async def test_eventbridge_a_forbidden_webhook_is_not_retried_and_goes_to_the_dlq() -> None:
    nodes, edges = bus_topology({"r": {"dead_letter_queue": "dlq"}}, [])
    nodes += [node("hook", "webhook", url="http://127.0.0.1:9/x"), node("dlq", "queue")]
    edges.append(edge("r-hook", "r", "hook"))
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    await engine.advance(1)
    (letter,) = await received(engine, "dlq")
    assert letter.attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert "loopback" in letter.attributes["ERROR_MESSAGE"]
    assert "EXHAUSTED_RETRY_CONDITION" not in letter.attributes
    assert engine.snapshot()["nodes"]["hook"]["refused"] == 1
    await engine.stop()


async def test_eventbridge_case_11_replay_resends_archived_matches_with_a_replay_name() -> None:
    nodes, edges = bus_topology({"r": {}}, [("r", "q", {})])
    nodes[0]["config"].update(archive_enabled=True, archive_pattern={"source": ["a"]})
    engine, clock, _ = engine_for(nodes, edges)
    await engine.start()
    start = clock.now()
    await engine.send("b", {**ENTRY, "Source": "a"})
    await engine.send("b", {**ENTRY, "Source": "b"})
    assert len(await received(engine, "q")) == 2
    bus = engine.node("b")
    assert await bus.replay("again", start - 1, start + 1) == 1
    (replayed,) = await received(engine, "q")
    assert replayed.body["source"] == "a" and replayed.body["replay-name"] == "again"
    assert len(bus.archive) == 1  # replayed events are not archived again
    from runtime.nodes.event_bus import EntryError

    with pytest.raises(EntryError, match="Cross event bus replay is not permitted"):
        await bus.replay("elsewhere", start - 1, start + 1, destination="other-bus")
    with pytest.raises(EntryError, match="EventStartTime must be before EventEndTime"):
        await bus.replay("backwards", start + 1, start - 1)
    await engine.stop()


async def test_eventbridge_case_12_rules_match_type_strictly() -> None:
    pattern = {"detail": {"x": [{"numeric": [">", 1]}]}}
    nodes, edges = bus_topology({"r": {"event_pattern": pattern}}, [("r", "q", {})])
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", {**ENTRY, "Detail": json.dumps({"x": 2})})
    await engine.send("b", {**ENTRY, "Detail": json.dumps({"x": "2"})})
    assert len(await received(engine, "q")) == 1
    assert engine.snapshot()["nodes"]["r"]["dropped"] == 1
    await engine.stop()


async def test_eventbridge_a_bus_target_reinjects_the_same_event() -> None:
    nodes, edges = bus_topology({"r": {}}, [("r", "q0", {})])
    nodes += [node("b2", "event_bus", bus_name="second"), node("r2", "rule"), node("q", "queue")]
    edges += [edge("r-b2", "r", "b2"), edge("b2-r2", "b2", "r2"), edge("r2-q", "r2", "q")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.send("b", ENTRY)
    (original,) = await received(engine, "q0")
    (relayed,) = await received(engine, "q")
    assert relayed.body["id"] == original.body["id"]
    assert relayed.hops[:4] == ("b", "b", "r", "b2")
    await engine.stop()


async def test_a_producer_sends_its_source_and_detail_type_to_a_bus() -> None:
    nodes, edges = bus_topology(
        {"r": {"event_pattern": {"detail-type": ["Order Placed"]}}}, [("r", "q", {})]
    )
    nodes.append(node("p", "producer", detail_type="Order Placed", body={"n": "{{n}}"}))
    edges.append(edge("p-b", "p", "b"))
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    await engine.node("p").emit(3)
    assert [m.body["detail"] for m in await received(engine, "q")] == [{"n": 1}, {"n": 2}, {"n": 3}]
    await engine.stop()


async def test_eventbridge_case_6_a_schedule_on_a_custom_bus_is_refused() -> None:
    nodes, edges = bus_topology({"r": {"schedule_expression": "rate(5 minutes)"}}, [("r", "q", {})])
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    (refused,) = observer.of(MessageRefused)
    assert refused.error_message == "ScheduleExpression is supported only on the default event bus."
    await engine.advance(600)
    assert await received(engine, "q") == []
    await engine.stop()


def event_with(**fields: Any) -> dict[str, Any]:
    """A full event (as a rule or another bus relays it) with the given top-level fields."""
    base = {
        "version": "0",
        "id": "e-1",
        "detail-type": "T",
        "source": "my.app",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("case", "pattern", "event", "delivered"),
    [
        (13, {"resources": ["arn:i-1", "arn:i-2"]}, event_with(resources=["arn:asg"]), False),
        (13, {"resources": ["arn:i-1", "arn:i-2"]}, event_with(resources=["arn:i-2", "x"]), True),
        (14, {"detail": {"r": [None]}}, event_with(detail={"r": None}), True),
        (14, {"detail": {"r": [None]}}, event_with(detail={"r": "null"}), False),
        (15, {"detail": {"v": [""]}}, event_with(detail={"v": None}), False),
        (16, {"source": [{"prefix": ""}]}, event_with(), True),
        (17, {"detail": {"s": [{"anything-but": "init"}]}}, event_with(detail={}), False),
        (17, {"detail": {"s": [{"anything-but": "init"}]}}, event_with(detail={"s": None}), True),
        (18, {"detail": {"n": [{"numeric": [">", 100]}]}}, event_with(detail={"n": "300"}), False),
        (19, {"detail": {"c": [{"exists": True}]}}, event_with(detail={"c": {"d": 1}}), False),
        (
            20,
            {"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}},
            event_with(detail={"ip": "10.0.0.255"}),
            True,
        ),
        (22, {"detail": {"a.b": ["x"]}}, event_with(detail={"a": {"b": "x"}}), True),
        (
            23,
            {"source": ["my.app"], "$or": [{"detail": {"m": ["CPU"]}}, {"region": ["eu-west-1"]}]},
            event_with(detail={"m": "CPU"}),
            True,
        ),
        (
            24,
            {"detail": {"d": {"name": ["alice"], "status": ["active"]}}},
            event_with(detail={"d": [{"name": "alice"}, {"status": "active"}]}),
            False,
        ),
    ],
)
async def test_eventbridge_cases_13_to_24_rules_route_with_the_shared_matcher(
    case: int, pattern: dict[str, Any], event: dict[str, Any], delivered: bool
) -> None:
    nodes = [node("r0", "rule"), node("b2", "event_bus", bus_name="relay"), node("r", "rule")]
    nodes += [node("q", "queue"), node("p", "producer")]
    nodes[2]["config"]["event_pattern"] = pattern
    edges = [edge("p-b2", "p", "b2"), edge("b2-r", "b2", "r"), edge("r-q", "r", "q")]
    engine, _, _ = engine_for(nodes, edges)
    await engine.start()
    # Relayed as a whole event, the way a rule or another bus hands it over.
    link = engine.links["b2-r"]
    from runtime.events import Message

    await engine.node("r").accept([Message.new(event, now=0.0, node="b2")], link)
    assert (len(await received(engine, "q")) == 1) is delivered, f"case {case}"
    await engine.stop()


@pytest.mark.parametrize(
    "pattern",
    [
        {"int": 42},
        {"a": []},
        {"a": [{"NUMERIC": ["=", 5]}]},
        {"a": [{"numeric": [">", 0, ">", 0]}]},
        {"a": [{"prefix": ["x"]}]},
        {"a": [{"anything-but": {"prefix": ""}}]},
        {"a": [{"wildcard": "a**b"}]},
        {"x": [{"cidr": "bad-filter"}]},
    ],
)
async def test_eventbridge_cases_20_and_21_an_invalid_pattern_is_refused_and_matches_nothing(
    pattern: dict[str, Any],
) -> None:
    nodes, edges = bus_topology({"r": {"event_pattern": pattern}}, [("r", "q", {})])
    from runtime.spec import load
    from tests.builders import make_document

    try:
        load(make_document(nodes=nodes, edges=edges))
    except Exception:  # noqa: BLE001 - some shapes are already refused by the document loader
        return
    engine, _, observer = engine_for(nodes, edges)
    await engine.start()
    (refused,) = observer.of(MessageRefused)
    assert refused.error_code == "InvalidEventPatternException"
    assert refused.error_message.startswith("Event pattern is not valid. Reason: ")
    await engine.send("b", ENTRY)
    assert await received(engine, "q") == []
    await engine.stop()
