"""Left-to-right layered layout for the designer's auto-layout button.

Cycles are collapsed first (the condensation of the graph is a DAG), each strongly connected
component goes into the layer given by ``topological_generations``, and nodes within a layer are
ordered by the barycentre of their neighbours in the previous (then the next) layer so edges cross
less. Pure networkx, deterministic: the same graph always gives the same positions.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from statistics import fmean

import networkx as nx

X_GAP = 240
Y_GAP = 100
ORIGIN = (40.0, 40.0)
SWEEPS = 2
MIN_COLUMN = 12  # a layer up to this many nodes is one column
COLUMN_FACTOR = 1.5  # taller layers wrap at 1.5 * sqrt(node count)


def layered_layout(
    node_ids: Sequence[str],
    edges: Iterable[tuple[str, str]],
    *,
    x_gap: float = X_GAP,
    y_gap: float = Y_GAP,
    origin: tuple[float, float] = ORIGIN,
) -> dict[str, tuple[float, float]]:
    """Positions {node id: (x, y)}: layers left to right, nodes of a layer top to bottom."""
    if not node_ids:
        return {}
    rank = {node_id: index for index, node_id in enumerate(node_ids)}
    graph = nx.DiGraph()
    graph.add_nodes_from(node_ids)
    graph.add_edges_from(
        (source, target)
        for source, target in edges
        if source != target and source in rank and target in rank
    )
    condensed = nx.condensation(graph)
    members: dict[int, list[str]] = {
        component: sorted(condensed.nodes[component]["members"], key=rank.__getitem__)
        for component in condensed.nodes
    }
    first = {component: rank[names[0]] for component, names in members.items()}
    layers = [
        sorted(generation, key=first.__getitem__)
        for generation in nx.topological_generations(condensed)
    ]
    _order_by_barycentre(condensed, layers)

    layer_members = [
        [name for component in layer for name in members[component]] for layer in layers
    ]
    # A very tall layer (hundreds of queues fed by one producer) wraps into several columns so
    # the drawing stays readable when zoomed to fit; edges still run left to right.
    height = max(MIN_COLUMN, math.ceil(math.sqrt(len(node_ids)) * COLUMN_FACTOR))
    columns = [
        names[start : start + height]
        for names in layer_members
        for start in range(0, len(names), height)
    ]
    tallest = max(len(column) for column in columns)
    positions: dict[str, tuple[float, float]] = {}
    for depth, column in enumerate(columns):
        offset = (tallest - len(column)) / 2
        for slot, name in enumerate(column):
            positions[name] = (origin[0] + depth * x_gap, origin[1] + (offset + slot) * y_gap)
    return positions


def _order_by_barycentre(graph: nx.DiGraph, layers: list[list[int]]) -> None:
    """Reorder each layer in place by the mean slot of its neighbours in the adjacent layer."""
    for _ in range(SWEEPS):
        for index in range(1, len(layers)):
            _reorder(layers[index], layers[index - 1], graph.predecessors)
        for index in range(len(layers) - 2, -1, -1):
            _reorder(layers[index], layers[index + 1], graph.successors)


def _reorder(layer: list[int], fixed: list[int], neighbours: object) -> None:
    slot = {component: position for position, component in enumerate(fixed)}
    current = {component: position for position, component in enumerate(layer)}

    def key(component: int) -> tuple[float, int]:
        near = [slot[other] for other in neighbours(component) if other in slot]  # type: ignore[operator]
        return (fmean(near) if near else float(current[component]), current[component])

    layer.sort(key=key)
