"""ASL interpreter throughput: `python bench/asl.py [--runs N] [--seconds S]`.

Prints executions per second for a 10-state Pass/Choice machine and for a Map over 1,000 items
(median of several runs), and the peak memory of one execution of each (tracemalloc).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from runtime.asl import ExecutionStatus, ManualClock, StateMachine, aexecute  # noqa: E402


def pass_choice_machine() -> dict[str, Any]:
    """Ten states: Pass states reshaping data, with two Choice states deciding the route."""
    return {
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Result": {"n": 7, "tags": ["a", "b"]}, "Next": "Copy"},
            "Copy": {"Type": "Pass", "Parameters": {"n.$": "$.n", "t.$": "$.tags"}, "Next": "Big"},
            "Big": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThan": 5, "Next": "Mark"}],
                "Default": "Small",
            },
            "Small": {"Type": "Pass", "Result": "small", "ResultPath": "$.size", "Next": "Join"},
            "Mark": {"Type": "Pass", "Result": "big", "ResultPath": "$.size", "Next": "Join"},
            "Join": {"Type": "Pass", "InputPath": "$", "Next": "Kind"},
            "Kind": {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": "$.size", "StringEquals": "big"},
                            {"Variable": "$.t[0]", "IsPresent": True},
                        ],
                        "Next": "Format",
                    }
                ],
                "Default": "Done",
            },
            "Format": {
                "Type": "Pass",
                "Parameters": {"label.$": "States.Format('{} is {}', $.n, $.size)"},
                "ResultPath": "$.label",
                "Next": "Trim",
            },
            "Trim": {"Type": "Pass", "OutputPath": "$.label", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
    }


def map_machine() -> dict[str, Any]:
    return {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "StartAt": "Double",
                    "States": {
                        "Double": {
                            "Type": "Pass",
                            "Parameters": {"i.$": "$.index", "v.$": "$.value"},
                            "End": True,
                        }
                    },
                },
                "End": True,
            }
        },
    }


async def _execute(machine: StateMachine, data: Any) -> None:
    execution = await aexecute(machine, data, clock=ManualClock())
    if execution.status != ExecutionStatus.SUCCEEDED:
        raise SystemExit(f"benchmark machine failed: {execution.error}: {execution.cause}")


async def _rate(machine: StateMachine, data: Any, seconds: float) -> float:
    count, started = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        await _execute(machine, data)
        count += 1
    return count / elapsed


async def _peak_memory(machine: StateMachine, data: Any) -> int:
    tracemalloc.start()
    try:
        await _execute(machine, data)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


async def _measure(name: str, machine: StateMachine, data: Any, runs: int, seconds: float) -> None:
    await _execute(machine, data)  # warm the parse caches
    rates = [await _rate(machine, data, seconds) for _ in range(runs)]
    peak = await _peak_memory(machine, data)
    print(
        f"{name:<28} {statistics.median(rates):>10.1f} executions/s "
        f"(median of {runs}; min {min(rates):.1f}, max {max(rates):.1f})   "
        f"peak memory {peak / 1024:,.0f} KiB"
    )


async def main(runs: int, seconds: float) -> None:
    pass_choice = StateMachine(pass_choice_machine(), name="PassChoice")
    mapping = StateMachine(map_machine(), name="Map1000")
    await _measure("10-state Pass/Choice", pass_choice, {}, runs, seconds)
    await _measure("Map over 1,000 items", mapping, {"items": list(range(1000))}, runs, seconds)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per benchmark")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of each timed run")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.runs, arguments.seconds))
