from __future__ import annotations

from typing import Any

from runtime.graph import build_graph, errors, lint, wiring_problem
from runtime.spec import SCHEMA, EdgeSpec, NodeSpec, TopologySpec, load


def node(node_id: str, kind: str, **config: Any) -> dict[str, Any]:
    return {"id": node_id, "kind": kind, "label": node_id.title(), "x": 0, "y": 0, "config": config}


def edge(source: str, target: str, edge_id: str = "", **config: Any) -> dict[str, Any]:
    return {
        "id": edge_id or f"{source}-{target}",
        "source": source,
        "target": target,
        "config": config,
    }


def topology(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> TopologySpec:
    return load({"schema": SCHEMA, "name": "t", "nodes": nodes, "edges": edges})


def codes(spec: TopologySpec) -> set[tuple[str, str]]:
    return {(finding.code, finding.severity) for finding in lint(spec)}


def finding_for(spec: TopologySpec, code: str) -> Any:
    return next(finding for finding in lint(spec) if finding.code == code)


def pipeline(**queue_config: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    nodes = [node("p", "producer"), node("q", "queue", **queue_config), node("f", "function")]
    return nodes, [edge("p", "q"), edge("q", "f")]


def test_a_clean_pipeline_has_no_findings() -> None:
    assert lint(topology(*pipeline())) == []


def test_build_graph_keys_edges_by_id() -> None:
    graph = build_graph(topology(*pipeline()))
    assert set(graph.nodes) == {"p", "q", "f"}
    assert graph.has_edge("p", "q", key="p-q")


def test_a_target_cannot_have_outgoing_edges() -> None:
    spec = topology([node("l", "log"), node("q", "queue")], [edge("l", "q")])
    found = finding_for(spec, "edge-not-allowed")
    assert found.edge == "l-q" and "is a target" in found.message


def test_an_entry_point_cannot_receive() -> None:
    assert "nothing can send to it" in wiring_problem("function", "producer")


def test_an_event_bus_sends_only_to_rules() -> None:
    message = wiring_problem("event_bus", "queue")
    assert message is not None and "can send to: rule" in message
    assert wiring_problem("event_bus", "rule") is None


def test_a_self_loop_is_an_error() -> None:
    spec = topology(
        [node("p", "producer"), node("f", "function")], [edge("p", "f"), edge("f", "f")]
    )
    assert ("self-loop", "error") in codes(spec)


def test_a_rule_with_six_targets_is_refused() -> None:
    queues = [node(f"q{i}", "queue") for i in range(6)]
    nodes = [node("p", "producer"), node("bus", "event_bus"), node("r", "rule"), *queues]
    edges = [edge("p", "bus"), edge("bus", "r")] + [edge("r", f"q{i}") for i in range(6)]
    found = finding_for(topology(nodes, edges), "too-many-targets")
    assert found.node == "r" and "at most 5" in found.message


def test_unreachable_nodes_are_warned_about() -> None:
    spec = topology([node("q", "queue"), node("f", "function")], [edge("q", "f")])
    assert {f.node for f in lint(spec) if f.code == "unreachable"} == {"q", "f"}


def test_a_scheduled_rule_is_an_entry_point() -> None:
    nodes = [
        node("bus", "event_bus"),
        node("r", "rule", schedule_expression="rate(5 minutes)", event_pattern=None),
        node("l", "log"),
    ]
    spec = topology(nodes, [edge("r", "l")])
    assert "l" not in {f.node for f in lint(spec) if f.code == "unreachable"}


def test_a_queue_nobody_consumes_is_warned_about() -> None:
    spec = topology([node("p", "producer"), node("q", "queue")], [edge("p", "q")])
    assert ("unconsumed", "warning") in codes(spec)


def test_a_dlq_is_neither_unreachable_nor_unconsumed() -> None:
    nodes, edges = pipeline(dead_letter_queue="dlq")
    spec = topology([*nodes, node("dlq", "queue")], edges)
    assert lint(spec) == []


def test_a_dlq_must_exist() -> None:
    spec = topology(*pipeline(dead_letter_queue="ghost"))
    assert finding_for(spec, "unknown-reference").node == "q"


def test_a_dlq_must_be_a_queue() -> None:
    nodes, edges = pipeline(dead_letter_queue="f")
    assert "must be a queue" in finding_for(topology(nodes, edges), "dlq-type").message


def test_a_fifo_queue_needs_a_fifo_dlq() -> None:
    nodes, edges = pipeline(fifo=True, dead_letter_queue="dlq")
    spec = topology([*nodes, node("dlq", "queue")], edges)
    assert "FIFO queue must also be a FIFO queue" in finding_for(spec, "dlq-type").message


def test_a_rule_dlq_must_be_standard() -> None:
    nodes = [
        node("p", "producer"),
        node("bus", "event_bus"),
        node("r", "rule", dead_letter_queue="dlq"),
        node("dlq", "queue", fifo=True),
        node("l", "log"),
    ]
    spec = topology(nodes, [edge("p", "bus"), edge("bus", "r"), edge("r", "l")])
    assert finding_for(spec, "dlq-type").node == "r"


def test_a_fifo_topic_cannot_feed_a_standard_queue() -> None:
    nodes = [
        node("p", "producer"),
        node("t", "topic", fifo=True),
        node("q", "queue"),
        node("f", "function"),
    ]
    spec = topology(nodes, [edge("p", "t"), edge("t", "q"), edge("q", "f")])
    found = finding_for(spec, "fifo-mismatch")
    assert found.severity == "error" and found.edge == "t-q"


def test_a_rule_republishing_to_its_own_bus_loops() -> None:
    nodes = [node("p", "producer"), node("bus", "event_bus"), node("r", "rule")]
    spec = topology(nodes, [edge("p", "bus"), edge("bus", "r"), edge("r", "bus")])
    found = finding_for(spec, "rule-loop")
    assert found.severity == "error" and "loop forever" in found.message


def test_a_rule_sending_a_constant_to_its_own_bus_is_only_a_warning() -> None:
    nodes = [node("p", "producer"), node("bus", "event_bus"), node("r", "rule")]
    edges = [
        edge("p", "bus"),
        edge("bus", "r"),
        edge("r", "bus", input_mode="constant", input={"done": True}),
    ]
    assert ("rule-loop", "warning") in codes(topology(nodes, edges))


def test_a_consumer_timeout_longer_than_the_visibility_timeout_is_an_error() -> None:
    nodes = [
        node("p", "producer"),
        node("q", "queue", visibility_timeout=30),
        node("f", "function", timeout=60),
    ]
    found = finding_for(
        topology(nodes, [edge("p", "q"), edge("q", "f")]), "timeout-exceeds-visibility"
    )
    assert "60 s" in found.message and "30 s" in found.message


def test_an_api_route_must_integrate_with_an_existing_node() -> None:
    routes = [
        {
            "method": "POST",
            "path": "/orders",
            "integration": {"action": "PutEvents", "target": "ghost"},
        }
    ]
    spec = topology([node("api", "http_api", routes=routes)], [])
    assert finding_for(spec, "unknown-reference").node == "api"


def test_errors_filters_out_warnings() -> None:
    spec = topology([node("q", "queue")], [])
    assert lint(spec) and errors(lint(spec)) == []


def test_lint_survives_a_hand_built_spec_with_duplicates_and_dangling_edges() -> None:
    spec = TopologySpec(
        name="t",
        nodes=(NodeSpec("a", "log", "A", 0, 0), NodeSpec("a", "log", "A", 0, 0)),
        edges=(EdgeSpec("e", "a", "ghost"),),
    )
    found = codes(spec)
    assert ("duplicate-id", "error") in found and ("dangling-edge", "error") in found


def test_findings_serialise_for_the_browser() -> None:
    found = lint(topology([node("q", "queue")], []))[0].to_dict()
    assert set(found) == {"code", "severity", "message", "node", "edge"}
