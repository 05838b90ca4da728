"""The topology as a networkx graph, and the lint rules a person needs before deploying.

``lint(spec)`` returns ``Finding``s: a stable code, a severity (``error`` blocks a deploy,
``warning`` does not), the node or edge concerned and a message written for a person.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from runtime.nodes import KINDS
from runtime.spec import EdgeSpec, NodeSpec, TopologySpec

Severity = Literal["error", "warning"]

MAX_RULES_PER_BUS = 300  # EventBridge quota per bus (semantics §3.11)
# Nodes that start traffic by themselves or by a person's hand.
ENTRY_KINDS = frozenset({"producer", "partner_source", "http_api", "graphql_api", "state_machine"})
BUFFER_KINDS = frozenset({"queue", "stream", "kafka_topic", "broker"})
# What each kind's node-reference fields may point to, by field name.
REFERENCE_KINDS: dict[str, frozenset[str]] = {
    "dead_letter_queue": frozenset({"queue"}),
    "on_failure": frozenset({"queue", "topic", "event_bus", "function"}),
}


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    message: str
    node: str | None = None
    edge: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "node": self.node,
            "edge": self.edge,
        }


def build_graph(spec: TopologySpec) -> nx.MultiDiGraph:
    """Nodes keyed by id with their NodeSpec; edges keyed by edge id with their EdgeSpec."""
    graph = nx.MultiDiGraph()
    for node in spec.nodes:
        graph.add_node(node.id, spec=node)
    for edge in spec.edges:
        graph.add_edge(edge.source, edge.target, key=edge.id, spec=edge)
    return graph


def article(kind_name: str) -> str:
    label = KINDS[kind_name].label.lower() if kind_name in KINDS else kind_name
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"


def wiring_problem(source_kind: str, target_kind: str) -> str | None:
    """Why an edge between these kinds is not allowed, or None. The designer uses it too."""
    source = KINDS[source_kind]
    if not source.feeds:
        return f"{article(source_kind).capitalize()} is a target: it has no outgoing connections."
    if not KINDS[target_kind].has_input:
        return f"{article(target_kind).capitalize()} is an entry point: nothing can send to it."
    if target_kind not in source.feeds:
        allowed = ", ".join(KINDS[name].label.lower() for name in sorted(source.feeds))
        return (
            f"{article(source_kind).capitalize()} cannot send to {article(target_kind)}; "
            f"it can send to: {allowed}."
        )
    return None


def lint(spec: TopologySpec) -> list[Finding]:
    """Every finding of every rule, errors first, in a stable order."""
    context = LintContext(spec)
    findings = [finding for rule in RULES for finding in rule(context)]
    return sorted(
        findings, key=lambda f: (f.severity != "error", f.code, f.node or "", f.edge or "")
    )


def errors(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == "error"]


class LintContext:
    """The spec plus lookups the rules share, computed once."""

    def __init__(self, spec: TopologySpec) -> None:
        self.spec = spec
        self.graph = build_graph(spec)
        self.nodes: dict[str, NodeSpec] = {}
        for node in spec.nodes:
            self.nodes.setdefault(node.id, node)
        self.settings = {node.id: node.settings() for node in self.nodes.values()}
        # Rules after illegal_edges only see edges whose two ends exist.
        self.edges = [e for e in spec.edges if e.source in self.nodes and e.target in self.nodes]
        # Adjacency built once: rules ask for a node's edges per node, and lint runs on every save.
        self._out: dict[str, list[EdgeSpec]] = defaultdict(list)
        self._in: dict[str, list[EdgeSpec]] = defaultdict(list)
        for edge in self.edges:
            self._out[edge.source].append(edge)
            self._in[edge.target].append(edge)

    def kind(self, node_id: str) -> str:
        return self.nodes[node_id].kind

    def of_kind(self, kind: str) -> Iterator[NodeSpec]:
        return (node for node in self.nodes.values() if node.kind == kind)

    def out_edges(self, node_id: str) -> list[EdgeSpec]:
        return list(self._out.get(node_id, ()))

    def in_edges(self, node_id: str) -> list[EdgeSpec]:
        return list(self._in.get(node_id, ()))


Rule = Callable[[LintContext], Iterator[Finding]]


def duplicate_ids(context: LintContext) -> Iterator[Finding]:
    for node_id, count in Counter(node.id for node in context.spec.nodes).items():
        if count > 1:
            yield Finding(
                "duplicate-id", "error", f"{count} nodes share the id {node_id!r}.", node_id
            )
    for edge_id, count in Counter(edge.id for edge in context.spec.edges).items():
        if count > 1:
            message = f"{count} edges share the id {edge_id!r}."
            yield Finding("duplicate-id", "error", message, edge=edge_id)


def illegal_edges(context: LintContext) -> Iterator[Finding]:
    for edge in context.spec.edges:
        if edge.source not in context.nodes or edge.target not in context.nodes:
            yield Finding(
                "dangling-edge", "error", "This edge connects a missing node.", edge=edge.id
            )
            continue
        if edge.source == edge.target:
            label = context.nodes[edge.source].label
            message = f"“{label}” is wired to itself, which would loop every message forever."
            yield Finding("self-loop", "error", message, edge.source, edge.id)
            continue
        problem = wiring_problem(context.kind(edge.source), context.kind(edge.target))
        if problem:
            yield Finding("edge-not-allowed", "error", problem, edge.source, edge.id)


def parallel_edges(context: LintContext) -> Iterator[Finding]:
    seen: set[tuple[str, str]] = set()
    for edge in context.edges:
        pair = (edge.source, edge.target)
        if pair in seen and context.kind(edge.source) != "topic":
            message = "This pair of nodes is already connected; the second edge doubles deliveries."
            yield Finding("duplicate-edge", "warning", message, edge.source, edge.id)
        seen.add(pair)


def fan_out_limits(context: LintContext) -> Iterator[Finding]:
    for node in context.nodes.values():
        limit = KINDS[node.kind].max_out_edges
        count = len(context.out_edges(node.id))
        if limit is not None and count > limit:
            message = (
                f"{article(node.kind).capitalize()} may have at most {limit} targets; "
                f"“{node.label}” has {count}."
            )
            yield Finding("too-many-targets", "error", message, node.id)
    for bus in context.of_kind("event_bus"):
        rules = [e for e in context.out_edges(bus.id) if context.kind(e.target) == "rule"]
        if len(rules) > MAX_RULES_PER_BUS:
            message = (
                f"An event bus holds at most {MAX_RULES_PER_BUS} rules; this one has {len(rules)}."
            )
            yield Finding("too-many-rules", "error", message, bus.id)


def is_entry(context: LintContext, node: NodeSpec) -> bool:
    if node.kind in ENTRY_KINDS:
        return True
    return node.kind == "rule" and bool(context.settings[node.id].get("schedule_expression"))


def unreachable_nodes(context: LintContext) -> Iterator[Finding]:
    entries = [node.id for node in context.nodes.values() if is_entry(context, node)]
    reached: set[str] = set(entries)
    for entry in entries:
        reached |= nx.descendants(context.graph, entry)
    # A DLQ is reached through its source's redrive, not through an edge.
    for node_id, settings in context.settings.items():
        if node_id in reached:
            for field in REFERENCE_KINDS:
                if settings.get(field):
                    reached.add(settings[field])
    for node in context.nodes.values():
        if node.id not in reached:
            message = f"Nothing sends to “{node.label}”: no producer, API or schedule reaches it."
            yield Finding("unreachable", "warning", message, node.id)


def dead_letter_targets(context: LintContext) -> set[str]:
    targets: set[str] = set()
    for settings in context.settings.values():
        targets |= {settings[field] for field in REFERENCE_KINDS if settings.get(field)}
    for edge in context.edges:
        if edge.config.get("dead_letter_queue"):
            targets.add(edge.config["dead_letter_queue"])
    return targets


def unconsumed_buffers(context: LintContext) -> Iterator[Finding]:
    dead_letters = dead_letter_targets(context)
    for node in context.nodes.values():
        if node.kind not in BUFFER_KINDS or context.out_edges(node.id) or node.id in dead_letters:
            continue
        message = f"Nobody consumes “{node.label}”: messages will pile up until they expire."
        yield Finding("unconsumed", "warning", message, node.id)


def references(context: LintContext) -> Iterator[Finding]:
    """Node-reference settings (DLQs, failure destinations) must name a node of a fitting kind."""
    for node in context.nodes.values():
        settings = context.settings[node.id]
        for field, kinds in REFERENCE_KINDS.items():
            yield from _check_reference(context, node.id, None, field, settings.get(field), kinds)
    for edge in context.edges:
        value = edge.config.get("dead_letter_queue")
        yield from _check_reference(
            context, edge.source, edge.id, "dead_letter_queue", value, frozenset({"queue"})
        )


def _check_reference(
    context: LintContext,
    node_id: str,
    edge_id: str | None,
    field: str,
    target: Any,
    kinds: frozenset[str],
) -> Iterator[Finding]:
    if not target:
        return
    name = field.replace("_", " ")
    if target not in context.nodes:
        message = f"The {name} {target!r} does not exist."
        yield Finding("unknown-reference", "error", message, node_id, edge_id)
    elif target == node_id:
        message = f"A node cannot be its own {name}."
        yield Finding("dlq-type", "error", message, node_id, edge_id)
    elif context.kind(target) not in kinds:
        allowed = " or ".join(sorted(kinds))
        message = f"The {name} must be a {allowed}, not {article(context.kind(target))}."
        yield Finding("dlq-type", "error", message, node_id, edge_id)


def is_fifo(context: LintContext, node_id: str) -> bool:
    return bool(context.settings[node_id].get("fifo"))


def dead_letter_types(context: LintContext) -> Iterator[Finding]:
    """A DLQ must be of the same type as its source (SQS), and standard for rules (EventBridge)."""
    for queue in context.of_kind("queue"):
        target = context.settings[queue.id].get("dead_letter_queue")
        if not _is_queue(context, target) or target == queue.id:
            continue
        if is_fifo(context, queue.id) != is_fifo(context, target):
            kind = "FIFO" if is_fifo(context, queue.id) else "standard"
            message = f"The DLQ of a {kind} queue must also be a {kind} queue."
            yield Finding("dlq-type", "error", message, queue.id)
    for rule in context.of_kind("rule"):
        target = context.settings[rule.id].get("dead_letter_queue")
        if _is_queue(context, target) and is_fifo(context, target):
            message = "A rule's dead-letter queue must be a standard SQS queue, not FIFO."
            yield Finding("dlq-type", "error", message, rule.id)
    for edge in context.edges:
        target = edge.config.get("dead_letter_queue")
        if context.kind(edge.source) != "topic" or not _is_queue(context, target):
            continue
        if is_fifo(context, edge.source) != is_fifo(context, target):
            message = (
                "A subscription's DLQ must match its topic: FIFO for FIFO, standard otherwise."
            )
            yield Finding("dlq-type", "error", message, edge.source, edge.id)


def _is_queue(context: LintContext, node_id: Any) -> bool:
    return (
        isinstance(node_id, str) and node_id in context.nodes and context.kind(node_id) == "queue"
    )


def fifo_subscriptions(context: LintContext) -> Iterator[Finding]:
    for edge in context.edges:
        if context.kind(edge.source) != "topic" or context.kind(edge.target) != "queue":
            continue
        topic_fifo, queue_fifo = is_fifo(context, edge.source), is_fifo(context, edge.target)
        if topic_fifo and not queue_fifo:
            message = "A FIFO topic can deliver only to FIFO queues; this queue is standard."
            yield Finding("fifo-mismatch", "error", message, edge.source, edge.id)
        elif queue_fifo and not topic_fifo:
            message = "A FIFO queue can subscribe only to a FIFO topic; this topic is standard."
            yield Finding("fifo-mismatch", "error", message, edge.source, edge.id)


def rule_loops(context: LintContext) -> Iterator[Finding]:
    """A rule sending to the bus it listens on sees its own output again."""
    for rule in context.of_kind("rule"):
        buses = {edge.source for edge in context.in_edges(rule.id)}
        for edge in context.out_edges(rule.id):
            if edge.target not in buses:
                continue
            if edge.config.get("input_mode", "matched_event") == "matched_event":
                message = (
                    "This rule re-publishes matched events to the bus it listens on; they match "
                    "the rule again and loop forever."
                )
                yield Finding("rule-loop", "error", message, rule.id, edge.id)
            else:
                message = (
                    "This rule sends to its own bus; make sure its pattern cannot match what it "
                    "sends, or events will loop."
                )
                yield Finding("rule-loop", "warning", message, rule.id, edge.id)


def consumer_timeouts(context: LintContext) -> Iterator[Finding]:
    for edge in context.edges:
        if context.kind(edge.source) != "queue" or context.kind(edge.target) != "function":
            continue
        visibility = context.settings[edge.source].get("visibility_timeout", 30)
        timeout = context.settings[edge.target].get("timeout", 3)
        if timeout > visibility:
            message = (
                f"The function's timeout ({timeout} s) is longer than the queue's visibility "
                f"timeout ({visibility} s): messages would reappear while still being processed."
            )
            yield Finding("timeout-exceeds-visibility", "error", message, edge.target, edge.id)


def kind_checks(context: LintContext) -> Iterator[Finding]:
    """Each kind's deep checks: rule patterns compile, ASL validates, routes point somewhere."""
    for node in context.nodes.values():
        kind = KINDS[node.kind]
        for pointer, message in kind.semantic_checks(context.settings[node.id]):
            yield Finding(
                f"invalid-{node.kind.replace('_', '-')}",
                "error",
                f"{pointer.lstrip('/') or 'config'}: {message}",
                node.id,
            )
    for edge in context.edges:
        kind = KINDS[context.kind(edge.source)]
        settings = {**kind.edge_defaults(), **edge.config}
        for pointer, message in kind.semantic_edge_checks(settings):
            yield Finding(
                "invalid-edge-config",
                "error",
                f"{pointer.lstrip('/') or 'config'}: {message}",
                edge.source,
                edge.id,
            )


def integration_targets(context: LintContext) -> Iterator[Finding]:
    """API routes must integrate with a node that the API is wired to."""
    for api in (*context.of_kind("http_api"), *context.of_kind("graphql_api")):
        wired = {edge.target for edge in context.out_edges(api.id)}
        for target in sorted(integration_target_ids(context.settings[api.id])):
            if target not in context.nodes:
                message = f"A route integrates with {target!r}, which does not exist."
                yield Finding("unknown-reference", "error", message, api.id)
            elif target not in wired:
                message = f"A route integrates with “{context.nodes[target].label}”; wire it."
                yield Finding("unwired-integration", "warning", message, api.id)


def integration_target_ids(settings: dict[str, Any]) -> set[str]:
    targets: set[str] = set()
    for route in settings.get("routes") or []:
        integration = route.get("integration") if isinstance(route, dict) else None
        if isinstance(integration, dict) and isinstance(integration.get("target"), str):
            targets.add(integration["target"])
    for mutation in settings.get("mutations") or []:
        if isinstance(mutation, dict) and isinstance(mutation.get("target"), str):
            targets.add(mutation["target"])
    return {target for target in targets if target}


RULES: tuple[Rule, ...] = (
    duplicate_ids,
    illegal_edges,
    parallel_edges,
    fan_out_limits,
    unreachable_nodes,
    unconsumed_buffers,
    references,
    dead_letter_types,
    fifo_subscriptions,
    rule_loops,
    consumer_timeouts,
    kind_checks,
    integration_targets,
)
