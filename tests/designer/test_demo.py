from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from designer.demo import DEMO_NAME, demo_document
from runtime import graph, spec
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec


@pytest.fixture(scope="module")
def demo() -> TopologySpec:
    return spec.load(demo_document())


def of_kind(demo: TopologySpec, kind: str) -> list[NodeSpec]:
    return [node for node in demo.nodes if node.kind == kind]


def targets(demo: TopologySpec, node_id: str) -> dict[str, EdgeSpec]:
    return {edge.target: edge for edge in demo.edges_from(node_id)}


def state_types(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of an ASL definition, branches included, with its name."""
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from state_types(branch["States"])


def test_the_demo_document_loads(demo: TopologySpec) -> None:
    assert demo.name == DEMO_NAME
    assert demo.schema == spec.SCHEMA
    assert spec.load(demo.to_dict()) == demo


def test_each_call_builds_a_fresh_document() -> None:
    first = demo_document()
    first["nodes"].clear()

    assert demo_document()["nodes"]


def test_the_demo_has_no_lint_errors(demo: TopologySpec) -> None:
    findings = graph.lint(demo)

    assert graph.errors(findings) == [], [finding.message for finding in findings]


def test_an_http_api_puts_events_on_an_event_bus_with_rules(demo: TopologySpec) -> None:
    [api] = of_kind(demo, "http_api")
    [bus] = of_kind(demo, "event_bus")
    integration = api.config["routes"][0]["integration"]

    assert integration == {"action": "PutEvents", "target": bus.id}
    assert bus.id in targets(demo, api.id)
    rules = [demo.node(target) for target in targets(demo, bus.id)]
    assert len(rules) >= 2
    assert {rule.kind for rule in rules} == {"rule"}
    assert all(rule.config["event_pattern"] for rule in rules)


def test_a_queue_has_a_dead_letter_queue_and_a_consumer_function(demo: TopologySpec) -> None:
    queues = {node.id: node for node in of_kind(demo, "queue")}
    [main] = [queue for queue in queues.values() if queue.config.get("dead_letter_queue")]
    dlq = queues[main.config["dead_letter_queue"]]

    assert dlq.kind == "queue"
    assert main.config["max_receive_count"] >= 1
    consumers = [demo.node(target) for target in targets(demo, main.id)]
    assert [consumer.kind for consumer in consumers] == ["function"]
    assert any(demo.node(edge.source).kind == "rule" for edge in demo.edges_to(main.id))


def test_a_topic_fans_out_to_email_sms_and_webhook_with_filter_policies(
    demo: TopologySpec,
) -> None:
    [topic] = of_kind(demo, "topic")
    subscriptions = {
        demo.node(target).kind: edge for target, edge in targets(demo, topic.id).items()
    }

    assert set(subscriptions) == {"email", "sms", "webhook"}
    assert subscriptions["email"].config["filter_policy"]
    assert subscriptions["sms"].config["filter_policy"]
    filtered = [edge for edge in subscriptions.values() if edge.config.get("filter_policy")]
    assert len(filtered) >= 2


def test_a_stream_is_fed_by_a_load_producer_and_has_two_consumers(demo: TopologySpec) -> None:
    [stream] = of_kind(demo, "stream")
    feeders = [demo.node(edge.source) for edge in demo.edges_to(stream.id)]

    assert [(feeder.kind, feeder.config["mode"]) for feeder in feeders] == [("producer", "load")]
    assert len(targets(demo, stream.id)) == 2


def test_a_state_machine_uses_choice_parallel_and_retry(demo: TopologySpec) -> None:
    [machine] = of_kind(demo, "state_machine")
    states = dict(state_types(machine.config["definition"]["States"]))

    types = {state["Type"] for state in states.values()}
    assert {"Choice", "Parallel", "Task"} <= types
    assert any(state.get("Retry") for state in states.values())
    assert any(demo.node(edge.source).kind == "rule" for edge in demo.edges_to(machine.id))


def test_every_node_is_on_the_canvas_with_a_label(demo: TopologySpec) -> None:
    assert all(node.label for node in demo.nodes)
    positions = [(node.x, node.y) for node in demo.nodes]
    assert len(set(positions)) == len(positions)
