"""Amazon States Language: a validator and an asyncio interpreter (no Django, no Channels).

`validate(definition)` lists every problem of a definition; `execute`/`aexecute` run one
execution and return its status, output or error, and an AWS-shaped history. Task states call
out through a `Resources` object; time comes from a `runtime.clock.Clock`.
"""

from runtime.asl.errors import ExecutionFailure, InvalidDefinition, TaskError
from runtime.asl.interpreter import (
    Execution,
    ExecutionRun,
    ExecutionStatus,
    InvalidExecutionInput,
    StateMachine,
    aexecute,
    execute,
)
from runtime.asl.resources import NoResources, ResourceMap, Resources, TaskTokens
from runtime.asl.validate import ValidationError, validate
from runtime.clock import Clock, ManualClock, RealClock

__all__ = [
    "Clock",
    "Execution",
    "ExecutionFailure",
    "ExecutionRun",
    "ExecutionStatus",
    "InvalidDefinition",
    "InvalidExecutionInput",
    "ManualClock",
    "NoResources",
    "RealClock",
    "ResourceMap",
    "Resources",
    "StateMachine",
    "TaskError",
    "TaskTokens",
    "ValidationError",
    "aexecute",
    "execute",
    "validate",
]
