"""The state graph of an ASL definition, laid out and drawn as SVG, and state statuses from history.

`build(definition)` turns the definition into a networkx graph per scope (the machine, each
Parallel branch, each Map processor); `layout` places states in layers from StartAt downwards,
with Parallel and Map states as groups holding their nested scopes; `render_svg` draws it with
every label escaped. `StatusTracker` follows an execution's history events and says, per state,
whether it is running, succeeded, failed, was caught, or aborted.

Pure Python (networkx, no Django): the designer renders it on the server, tests read it as text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import networkx as nx

BOX_HEIGHT = 40
MIN_BOX_WIDTH = 120
MAX_BOX_WIDTH = 230
CHAR_WIDTH = 7.2
LAYER_GAP = 56
COLUMN_GAP = 36
GROUP_PAD = 16
GROUP_HEADER = 26
MARGIN = 24
MAX_LABEL_CHARS = 30
MAX_EDGE_LABEL_CHARS = 34

# --- the graph ---------------------------------------------------------------------------------


@dataclass
class Edge:
    source: str
    target: str
    kind: str  # next, choice, default, catch, retry
    label: str = ""


@dataclass
class Scope:
    """One sequence of states: the machine, a Parallel branch or a Map processor."""

    start: str
    states: dict[str, dict[str, Any]]
    edges: list[Edge]
    children: dict[str, list[Scope]]  # Parallel/Map state name → its nested scopes


def build(definition: dict[str, Any]) -> Scope:
    """The scope tree of a definition; tolerant of invalid parts (they are simply not drawn)."""
    states = definition.get("States") if isinstance(definition, dict) else None
    states = {
        name: state
        for name, state in (states or {}).items()
        if isinstance(name, str) and isinstance(state, dict)
    }
    start = definition.get("StartAt") if isinstance(definition, dict) else None
    scope = Scope(start if isinstance(start, str) else "", states, [], {})
    for name, state in states.items():
        scope.edges.extend(_edges(name, state, states))
        nested = [build(branch) for branch in _nested(state)]
        if nested:
            scope.children[name] = nested
    return scope


def _nested(state: dict[str, Any]) -> list[dict[str, Any]]:
    if state.get("Type") == "Parallel" and isinstance(state.get("Branches"), list):
        return [branch for branch in state["Branches"] if isinstance(branch, dict)]
    if state.get("Type") == "Map":
        processor = state.get("ItemProcessor", state.get("Iterator"))
        if isinstance(processor, dict):
            return [processor]
    return []


def _edges(name: str, state: dict[str, Any], states: dict[str, Any]) -> list[Edge]:
    edges: list[Edge] = []
    if isinstance(state.get("Next"), str):
        edges.append(Edge(name, state["Next"], "next"))
    if state.get("Type") == "Choice":
        for rule in state.get("Choices") or ():
            if isinstance(rule, dict) and isinstance(rule.get("Next"), str):
                edges.append(Edge(name, rule["Next"], "choice", describe_rule(rule)))
        if isinstance(state.get("Default"), str):
            edges.append(Edge(name, state["Default"], "default", "Default"))
    for retrier in state.get("Retry") or ():
        if isinstance(retrier, dict):
            attempts = retrier.get("MaxAttempts", 3)
            label = f"Retry {_errors(retrier)} ×{attempts}"
            edges.append(Edge(name, name, "retry", label))
    for catcher in state.get("Catch") or ():
        if isinstance(catcher, dict) and isinstance(catcher.get("Next"), str):
            edges.append(Edge(name, catcher["Next"], "catch", f"Catch {_errors(catcher)}"))
    return [edge for edge in edges if edge.target in states]


def _errors(handler: dict[str, Any]) -> str:
    names = handler.get("ErrorEquals")
    if not isinstance(names, list):
        return ""
    return ", ".join(str(name) for name in names)


_OPERATORS = {
    "Equals": "==",
    "LessThan": "<",
    "GreaterThan": ">",
    "LessThanEquals": "<=",
    "GreaterThanEquals": ">=",
}


def describe_rule(rule: dict[str, Any]) -> str:
    """A Choice rule as short readable text: `$.total > 1000`, `not ($.x is present)`."""
    if "Condition" in rule:
        text = str(rule["Condition"])
        return text[2:-2].strip() if text.startswith("{%") and text.endswith("%}") else text
    for joiner in ("And", "Or"):
        if isinstance(rule.get(joiner), list):
            parts = [describe_rule(part) for part in rule[joiner] if isinstance(part, dict)]
            return f" {joiner.lower()} ".join(f"({part})" for part in parts)
    if isinstance(rule.get("Not"), dict):
        return f"not ({describe_rule(rule['Not'])})"
    variable = str(rule.get("Variable", "?"))
    for key, value in rule.items():
        if key in ("Variable", "Next", "Assign", "Output", "Comment"):
            continue
        shown = str(value) if key.endswith("Path") else json.dumps(value, ensure_ascii=False)
        base = key.removesuffix("Path")
        if base.startswith("Is"):
            return f"{variable} {base[2:].lower()} is {shown}"
        if base == "StringMatches":
            return f"{variable} matches {shown}"
        for suffix, symbol in _OPERATORS.items():
            if base.endswith(suffix) and base[: -len(suffix)] in (
                "String",
                "Numeric",
                "Boolean",
                "Timestamp",
            ):
                return f"{variable} {symbol} {shown}"
    return variable


# --- layout --------------------------------------------------------------------------------------


@dataclass
class Box:
    """A placed state; `inner` holds a Parallel/Map state's nested scopes, placed inside it."""

    name: str
    type: str
    x: float = 0
    y: float = 0
    width: float = MIN_BOX_WIDTH
    height: float = BOX_HEIGHT
    inner: list[Placed] = field(default_factory=list)


@dataclass
class Placed:
    """A laid-out scope: its boxes, its edges and its size, relative to its own origin."""

    boxes: dict[str, Box]
    edges: list[Edge]
    width: float
    height: float
    x: float = 0
    y: float = 0


def layers(scope: Scope) -> list[list[str]]:
    """States in layers: breadth-first distance from StartAt; unreachable states go last."""
    graph = nx.DiGraph()
    graph.add_nodes_from(scope.states)
    graph.add_edges_from((e.source, e.target) for e in scope.edges if e.source != e.target)
    depth: dict[str, int] = {}
    # A StartAt that names nothing (a definition being typed) still gets a top: the first state.
    root = scope.start if scope.start in graph else next(iter(scope.states), None)
    while root is not None:
        base = max(depth.values(), default=-1) + 1
        for name, distance in nx.single_source_shortest_path_length(graph, root).items():
            depth.setdefault(name, base + distance)
        # Unreachable states are drawn below, each group from a state nothing else leads to.
        rest = [name for name in scope.states if name not in depth]
        entries = [name for name in rest if not any(p in rest for p in graph.predecessors(name))]
        root = (entries or rest or [None])[0]
    grouped: dict[int, list[str]] = {}
    for name in scope.states:
        grouped.setdefault(depth[name], []).append(name)
    return [grouped[level] for level in sorted(grouped)]


def layout(scope: Scope) -> Placed:
    """Positions for every state of the scope, nested scopes placed inside their group box."""
    boxes: dict[str, Box] = {}
    for name, state in scope.states.items():
        box = Box(name, str(state.get("Type", "?")))
        box.width = min(MAX_BOX_WIDTH, max(MIN_BOX_WIDTH, len(_short(name)) * CHAR_WIDTH + 28))
        nested = scope.children.get(name)
        if nested:
            _place_group(box, [layout(child) for child in nested])
        boxes[name] = box
    rows = layers(scope)
    width = max(
        (sum(boxes[n].width for n in row) + COLUMN_GAP * (len(row) - 1) for row in rows),
        default=MIN_BOX_WIDTH,
    )
    y = 0.0
    for row in rows:
        row_width = sum(boxes[n].width for n in row) + COLUMN_GAP * (len(row) - 1)
        x = (width - row_width) / 2
        for name in row:
            box = boxes[name]
            box.x, box.y = x, y
            x += box.width + COLUMN_GAP
        y += max(boxes[n].height for n in row) + LAYER_GAP
    return Placed(boxes, scope.edges, width, max(0.0, y - LAYER_GAP))


def _place_group(box: Box, inner: list[Placed]) -> None:
    x = GROUP_PAD
    for placed in inner:
        placed.x, placed.y = x, GROUP_HEADER + GROUP_PAD
        x += placed.width + GROUP_PAD * 2
    box.inner = inner
    box.width = max(box.width, x - GROUP_PAD)
    box.height = GROUP_HEADER + GROUP_PAD * 2 + max(placed.height for placed in inner)


# --- drawing -------------------------------------------------------------------------------------


def render_svg(
    definition: dict[str, Any],
    statuses: dict[str, str] | None = None,
    *,
    title: str = "State machine graph",
) -> str:
    """The definition drawn as one SVG element; `statuses` colours states (class `st-<status>`)."""
    scope = build(definition)
    placed = layout(scope)
    placed.x = placed.y = MARGIN
    # Room on the right for loop-back edges and the labels of retry loops.
    width = placed.width + MARGIN * 2 + 60 + _retry_label_room(scope)
    height = placed.height + MARGIN * 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="asl-graph" role="img" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f"aria-label={quoteattr(title)}>",
        "<defs>",
        '<marker id="asl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker>',
        "</defs>",
    ]
    _draw_scope(parts, placed, 0.0, 0.0, statuses or {})
    parts.append("</svg>")
    return "".join(parts)


def _draw_scope(
    parts: list[str], placed: Placed, ox: float, oy: float, statuses: dict[str, str]
) -> None:
    ox, oy = ox + placed.x, oy + placed.y
    right = ox + placed.width
    for index, edge in enumerate(placed.edges):
        _draw_edge(parts, edge, placed.boxes, ox, oy, right + 12 + (index % 4) * 8)
    for box in placed.boxes.values():
        _draw_box(parts, box, ox, oy, statuses)


def _draw_box(parts: list[str], box: Box, ox: float, oy: float, statuses: dict[str, str]) -> None:
    x, y = ox + box.x, oy + box.y
    status = statuses.get(box.name, "not-run" if statuses else "")
    classes = f"asl-state type-{box.type.lower()}" + (f" st-{status}" if status else "")
    parts.append(
        f'<g class="{escape(classes)}" data-state={quoteattr(box.name)} '
        f"data-status={quoteattr(status)}>"
    )
    parts.append(f"<title>{escape(box.name)} ({escape(box.type)}){_status_text(status)}</title>")
    if box.inner:
        parts.append(
            f'<rect class="asl-group" x="{x:.1f}" y="{y:.1f}" width="{box.width:.1f}" '
            f'height="{box.height:.1f}" rx="10"/>'
        )
        parts.append(
            f'<text class="asl-group-label" x="{x + 10:.1f}" y="{y + 17:.1f}">'
            f"{escape(box.type)}: {escape(_short(box.name))}</text>"
        )
        parts.append("</g>")
        for inner in box.inner:
            _draw_scope(parts, inner, x, y, statuses)
        return
    shape = 'rx="20"' if box.type in ("Succeed", "Fail") else 'rx="6"'
    parts.append(
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{box.width:.1f}" height="{box.height:.1f}" {shape}/>'
    )
    parts.append(
        f'<text class="asl-label" x="{x + box.width / 2:.1f}" y="{y + 17:.1f}" '
        f'text-anchor="middle">{escape(_short(box.name))}</text>'
    )
    parts.append(
        f'<text class="asl-type" x="{x + box.width / 2:.1f}" y="{y + 32:.1f}" '
        f'text-anchor="middle">{escape(box.type)}</text>'
    )
    parts.append("</g>")


def _status_text(status: str) -> str:
    return f": {escape(status.replace('-', ' '))}" if status else ""


def _draw_edge(
    parts: list[str], edge: Edge, boxes: dict[str, Box], ox: float, oy: float, lane: float
) -> None:
    source, target = boxes[edge.source], boxes[edge.target]
    dashed = edge.kind in ("catch", "retry")
    css = f"asl-edge edge-{edge.kind}" + (" dashed" if dashed else "")
    sx, sy = ox + source.x + source.width / 2, oy + source.y + source.height
    if edge.kind == "retry":
        # A loop on the box's right side: the state runs again.
        rx, ry = ox + source.x + source.width, oy + source.y + source.height / 2
        d = f"M{rx:.1f},{ry - 8:.1f} c28,-18 28,34 0,16"
        label_x, label_y = rx + 26, ry + 4
    elif target.y > source.y:
        tx, ty = ox + target.x + target.width / 2, oy + target.y
        d = f"M{sx:.1f},{sy:.1f} C{sx:.1f},{sy + 24:.1f} {tx:.1f},{ty - 24:.1f} {tx:.1f},{ty:.1f}"
        label_x, label_y = (sx + tx) / 2, (sy + ty) / 2
    else:
        # Loops back up (or sideways): route around the right of the scope.
        ax, ay = ox + source.x + source.width, oy + source.y + source.height / 2
        bx, by = ox + target.x + target.width, oy + target.y + target.height / 2
        d = f"M{ax:.1f},{ay:.1f} L{lane:.1f},{ay:.1f} L{lane:.1f},{by:.1f} L{bx:.1f},{by:.1f}"
        label_x, label_y = lane, (ay + by) / 2
    parts.append(
        f'<g class="{css}" data-source={quoteattr(edge.source)} '
        f"data-target={quoteattr(edge.target)}>"
        f'<path d="{d}" marker-end="url(#asl-arrow)"/>'
    )
    if edge.label:
        text = _short(edge.label, MAX_EDGE_LABEL_CHARS)
        anchor = "start" if edge.kind == "retry" else "middle"
        parts.append(
            f'<text class="asl-edge-label" x="{label_x:.1f}" y="{label_y:.1f}" '
            f'text-anchor="{anchor}"><title>{escape(edge.label)}</title>{escape(text)}</text>'
        )
    parts.append("</g>")


def _retry_label_room(scope: Scope) -> float:
    labels = [len(_short(e.label, MAX_EDGE_LABEL_CHARS)) for e in scope.edges if e.kind == "retry"]
    for nested in scope.children.values():
        labels.extend([_retry_label_room(child) / 6.2 for child in nested])
    return max(labels, default=0) * 6.2


def _short(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- statuses from history -----------------------------------------------------------------------

RUNNING, SUCCEEDED, FAILED, CAUGHT, ABORTED, RETRYING = (
    "running",
    "succeeded",
    "failed",
    "caught",
    "aborted",
    "retrying",
)
_CONTAINERS = ("Parallel", "Map")


class StatusTracker:
    """Follows history events (in order) and keeps the latest status of each state by name.

    `feed(event)` returns the (state, status) pairs that changed, so a live view can send only
    those. A state whose task failed and was retried shows `retrying`, then `succeeded`; a
    failure handled by a Catch shows `caught`.
    """

    def __init__(self) -> None:
        self.statuses: dict[str, str] = {}
        self._visit_of: dict[int, int] = {}  # event id → the Entered event of its state visit
        self._names: dict[int, str] = {}  # Entered event id → state name
        self._failed: set[int] = set()
        self._open_containers: list[tuple[int, str]] = []

    def feed(self, event: dict[str, Any]) -> list[tuple[str, str]]:
        event_id, kind = event["id"], event["type"]
        if kind.endswith("StateEntered"):
            self._visit_of[event_id] = event_id
            name = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            self._names[event_id] = name
            return self._set(event_id, FAILED if kind == "FailStateEntered" else RUNNING)
        visit = self._owner(event)
        if visit is not None:
            self._visit_of[event_id] = visit
        if kind.startswith("Execution"):
            return self._finish(kind)
        if visit is None:
            return []
        return self._visit_event(kind, visit, event_id)

    def _owner(self, event: dict[str, Any]) -> int | None:
        kind = event["type"]
        if kind in ("ParallelStateStarted", "MapStateStarted"):
            visit = self._visit_of.get(event["previousEventId"])
            if visit is not None:
                self._open_containers.append((visit, kind.removesuffix("StateStarted")))
            return visit
        family = kind.split("State", 1)[0]
        if family in _CONTAINERS and kind.startswith(f"{family}State") and "Exited" not in kind:
            # The event after the branches follows the last branch event: find the group instead.
            for index in range(len(self._open_containers) - 1, -1, -1):
                visit, container = self._open_containers[index]
                if container == family:
                    del self._open_containers[index]
                    return visit
        return self._visit_of.get(event["previousEventId"])

    def _visit_event(self, kind: str, visit: int, event_id: int) -> list[tuple[str, str]]:
        if kind.endswith("StateExited"):
            return self._set(visit, CAUGHT if visit in self._failed else SUCCEEDED)
        if kind.endswith("StateAborted"):
            return self._set(visit, ABORTED)
        if kind.endswith(("Failed", "TimedOut")) and not kind.startswith("MapIteration"):
            self._failed.add(visit)
            return self._set(visit, FAILED)
        if kind.endswith("Scheduled") and visit in self._failed:
            self._failed.discard(visit)
            return self._set(visit, RETRYING)
        return []

    def _finish(self, kind: str) -> list[tuple[str, str]]:
        final = {
            "ExecutionFailed": FAILED,
            "ExecutionTimedOut": FAILED,
            "ExecutionAborted": ABORTED,
        }.get(kind)
        if final is None:
            return []
        changed = []
        for name, status in self.statuses.items():
            if status in (RUNNING, RETRYING):
                changed.append((name, final))
        self.statuses.update(changed)
        return changed

    def _set(self, visit: int, status: str) -> list[tuple[str, str]]:
        name = self._names.get(visit, "")
        if self.statuses.get(name) == status:
            return []
        self.statuses[name] = status
        return [(name, status)]


def statuses(history: list[dict[str, Any]]) -> dict[str, str]:
    """The final status of every state that ran, from a whole history."""
    tracker = StatusTracker()
    for event in history:
        tracker.feed(event)
    return tracker.statuses
