"""Benchmark of runtime.patterns: 100 compiled rules against a stream of realistic events.

Run with `.venv/bin/python bench/patterns.py [--events N] [--runs R]`. It prints events per
second (every event checked against all 100 rules, median of the runs) and the rule evaluations
and positive matches per second behind that figure.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.patterns import Pattern, compile_pattern  # noqa: E402

RULE_COUNT = 100
SOURCES = ["shop.orders", "shop.payments", "aws.ec2", "aws.s3", "shop.inventory"]
STATES = ["pending", "running", "stopping", "stopped", "terminated"]
REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"]


def rule_templates(n: int) -> list[dict[str, Any]]:
    """Rule shapes seen in real buses, each parameterised by n so all 100 rules differ."""
    source = SOURCES[n % len(SOURCES)]
    state = STATES[n % len(STATES)]
    return [
        {"source": [source]},
        {"source": [source], "detail-type": ["Order Placed", "Order Updated"]},
        {"source": [source], "detail": {"total": [{"numeric": [">", n * 10, "<=", n * 10 + 500]}]}},
        {"detail": {"state": [state], "instance-id": [{"prefix": f"i-{n % 10}"}]}},
        {"detail": {"state": [{"anything-but": ["terminated", "stopped"]}]}, "region": REGIONS},
        {"detail": {"customer": {"tier": [{"equals-ignore-case": "GOLD"}]}}},
        {"detail": {"object": {"key": [{"suffix": f".{['png', 'jpg', 'csv'][n % 3]}"}]}}},
        {"detail": {"object": {"key": [{"wildcard": f"uploads/*/{n % 7}/*.csv"}]}}},
        {"detail": {"sourceIPAddress": [{"cidr": f"10.{n % 4}.0.0/16"}]}},
        {"detail": {"coupon": [{"exists": False}], "total": [{"numeric": [">=", 100]}]}},
        {
            "source": [source],
            "$or": [
                {"detail": {"priority": ["high"]}},
                {"detail": {"total": [{"numeric": [">", 1000]}]}},
            ],
        },
        {"detail": {"items": {"sku": [f"sku-{n % 20}"], "quantity": [{"numeric": [">", 1]}]}}},
        {"resources": [{"prefix": "arn:aws:ec2:"}], "detail": {"state": ["running", "pending"]}},
    ]


def build_rules() -> list[Pattern]:
    rules = []
    n = 0
    while len(rules) < RULE_COUNT:
        templates = rule_templates(n)
        rules.append(compile_pattern(templates[n % len(templates)]))
        n += 1
    return rules


def make_event(rng: random.Random, index: int) -> dict[str, Any]:
    source = rng.choice(SOURCES)
    extension = rng.choice(["csv", "png"])
    items = [
        {"sku": f"sku-{rng.randrange(30)}", "quantity": rng.randrange(1, 5)}
        for _ in range(rng.randrange(0, 4))
    ]
    detail: dict[str, Any] = {
        "state": rng.choice(STATES),
        "instance-id": f"i-{rng.randrange(10**8):08x}",
        "total": round(rng.uniform(0, 2000), 2),
        "priority": rng.choice(["low", "normal", "high"]),
        "customer": {"id": f"c-{rng.randrange(1000)}", "tier": rng.choice(["gold", "Silver"])},
        "object": {"key": f"uploads/{rng.randrange(100)}/{rng.randrange(9)}/file.{extension}"},
        "sourceIPAddress": f"10.{rng.randrange(6)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "items": items,
    }
    if rng.random() < 0.3:
        detail["coupon"] = "SAVE10"
    return {
        "version": "0",
        "id": f"00000000-0000-4000-8000-{index:012d}",
        "detail-type": rng.choice(["Order Placed", "Order Updated", "EC2 Instance State-change"]),
        "source": source,
        "account": "123456789012",
        "time": "2026-01-01T12:00:00Z",
        "region": rng.choice(REGIONS),
        "resources": [f"arn:aws:ec2:us-east-1:123456789012:instance/i-{index:08x}"],
        "detail": detail,
    }


def run_once(rules: list[Pattern], events: list[dict[str, Any]]) -> tuple[float, int]:
    matched = 0
    started = time.perf_counter()
    for event in events:
        for rule in rules:
            if rule.matches(event):
                matched += 1
    return time.perf_counter() - started, matched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    rng = random.Random(42)
    compile_started = time.perf_counter()
    rules = build_rules()
    compile_seconds = time.perf_counter() - compile_started
    events = [make_event(rng, index) for index in range(args.events)]

    timings = [run_once(rules, events) for _ in range(args.runs)]
    seconds = statistics.median(elapsed for elapsed, _ in timings)
    matched = timings[0][1]
    evaluations = len(events) * len(rules)

    print(f"rules compiled:        {len(rules)} in {compile_seconds * 1000:.1f} ms")
    print(f"events per run:        {len(events)} (median of {args.runs} runs: {seconds:.3f} s)")
    print(f"events/second:         {len(events) / seconds:,.0f} (each against all {len(rules)})")
    print(f"rule evaluations/s:    {evaluations / seconds:,.0f}")
    print(f"positive matches/s:    {matched / seconds:,.0f} ({matched} matches per run)")


if __name__ == "__main__":
    main()
