"""The auto-layout: layers left to right, cycles kept together, deterministic, fast."""

from __future__ import annotations

import random
import time

from designer.layout import X_GAP, Y_GAP, layered_layout


def test_an_empty_graph_has_no_positions() -> None:
    assert layered_layout([], []) == {}


def test_a_chain_runs_left_to_right_on_one_row() -> None:
    positions = layered_layout(["a", "b", "c"], [("a", "b"), ("b", "c")])

    assert [positions[name][0] for name in "abc"] == [40, 40 + X_GAP, 40 + 2 * X_GAP]
    assert len({positions[name][1] for name in "abc"}) == 1


def test_a_fan_out_stacks_the_targets_in_the_next_layer() -> None:
    positions = layered_layout(["bus", "r1", "r2", "r3"], [("bus", f"r{i}") for i in (1, 2, 3)])

    assert {positions[f"r{i}"][0] for i in (1, 2, 3)} == {40 + X_GAP}
    ys = sorted(positions[f"r{i}"][1] for i in (1, 2, 3))
    assert ys[1] - ys[0] == Y_GAP and ys[2] - ys[1] == Y_GAP
    # The single source sits in the middle of its three targets.
    assert positions["bus"][1] == ys[1]


def test_a_cycle_is_collapsed_into_one_layer_and_does_not_break_the_order() -> None:
    positions = layered_layout(
        ["in", "fn", "queue", "out"],
        [("in", "fn"), ("fn", "queue"), ("queue", "fn"), ("queue", "out")],
    )

    assert positions["in"][0] < positions["fn"][0] == positions["queue"][0] < positions["out"][0]


def test_self_loops_and_edges_to_unknown_nodes_are_ignored() -> None:
    positions = layered_layout(["a", "b"], [("a", "a"), ("a", "ghost"), ("a", "b")])

    assert set(positions) == {"a", "b"}
    assert positions["a"][0] < positions["b"][0]


def test_barycentre_ordering_avoids_a_crossing() -> None:
    # a1→b2 and a2→b1 cross unless the second layer is reordered.
    positions = layered_layout(["a1", "a2", "b1", "b2"], [("a1", "b2"), ("a2", "b1")])

    assert positions["b2"][1] < positions["b1"][1]


def random_graph(nodes: int, edges: int, seed: int = 7) -> tuple[list[str], list[tuple[str, str]]]:
    rng = random.Random(seed)
    ids = [f"n{i}" for i in range(nodes)]
    pairs = [(rng.choice(ids), rng.choice(ids)) for _ in range(edges)]
    return ids, pairs


def test_it_is_deterministic() -> None:
    ids, pairs = random_graph(120, 240)

    assert layered_layout(ids, pairs) == layered_layout(ids, pairs)


def test_it_lays_out_500_nodes_and_1000_edges_quickly() -> None:
    ids, pairs = random_graph(500, 1000)

    started = time.perf_counter()
    positions = layered_layout(ids, pairs)
    elapsed = time.perf_counter() - started

    assert len(positions) == 500
    assert len(set(positions.values())) == 500, "two nodes share a position"
    assert elapsed < 1.0


def test_a_very_tall_layer_wraps_into_columns_that_keep_left_to_right_order() -> None:
    targets = [f"q{i}" for i in range(100)]
    positions = layered_layout(["p", *targets, "sink"], [("p", "q0"), *(("p", q) for q in targets)])

    rows = {y for name, (_, y) in positions.items() if name.startswith("q")}
    columns = {x for name, (x, _) in positions.items() if name.startswith("q")}
    assert len(rows) <= 16 and len(columns) >= 7
    assert positions["p"][0] < min(columns)
