"""EventBridge rule: an event pattern and/or a schedule, up to 5 targets, retry policy and DLQ."""

from __future__ import annotations

import json
import re
from typing import Any

from runtime.nodes.base import Field, Kind, Problem

MAX_TARGETS = 5
MAX_PATTERN_CHARS = 2048  # AWS default quota, adjustable to 4,096
MAX_INPUT_PATHS = 100
PREDEFINED_PLACEHOLDERS = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    }
)
INPUT_MODES = ("matched_event", "constant", "input_path", "input_transformer")

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_CRON_ORDER = "minutes hours day-of-month month day-of-week year"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# name, low, high, names for values, extra single-token forms
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minutes", 0, 59, ()),
    ("hours", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day-of-week", 1, 7, _DAYS),
    ("year", 1970, 2199, ()),
)


def schedule_problem(expression: str) -> str | None:
    """Why an EventBridge schedule expression (rate or cron, semantics §3.6) is invalid, or None."""
    rate = _RATE.fullmatch(expression)
    if rate:
        count, unit = int(rate.group(1)), rate.group(2)
        if count < 1:
            return "rate(N unit) needs a positive N"
        if (count == 1) != (not unit.endswith("s")):
            singular = unit.rstrip("s")
            return f"use '{singular}' when N is 1 and '{singular}s' otherwise"
        return None
    if expression.startswith("rate("):
        return "rate expressions look like rate(5 minutes): a positive integer and a unit"
    cron = _CRON.fullmatch(expression)
    if not cron:
        return f"must be rate(N unit) or cron({_CRON_ORDER})"
    parts = cron.group(1).split()
    if len(parts) != 6:
        return f"cron needs 6 fields ({_CRON_ORDER}), not {len(parts)}"
    for part, spec in zip(parts, _CRON_FIELDS, strict=True):
        message = _cron_field_problem(part, *spec)
        if message:
            return message
    if (parts[2] == "?") == (parts[4] == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    if parts[4].count("#") > 1:
        return "only one '#' expression is allowed in day-of-week"
    return None


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    upper = text.upper()
    if upper in names:
        return names.index(upper) + low
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def _cron_field_problem(
    part: str, name: str, low: int, high: int, names: tuple[str, ...]
) -> str | None:
    bad = f"{name} field {part!r} is not valid ({low}-{high}"
    bad += f" or {names[0]}-{names[-1]})" if names else ")"
    if part == "?":
        return None if name in ("day-of-month", "day-of-week") else f"'?' is not allowed in {name}"
    for item in part.split(","):
        if name == "day-of-month" and re.fullmatch(r"L|LW|([1-9]|[12]\d|3[01])W", item):
            continue
        if name == "day-of-week" and re.fullmatch(r"L|[1-7]L|[1-7]#[1-5]", item.upper()):
            continue
        named = re.fullmatch(r"[A-Z]{3}(L|#[1-5])", item.upper())
        if name == "day-of-week" and named and _cron_value(item[:3], low, high, names):
            continue
        base, _, step = item.partition("/")
        if step and (not step.isdigit() or int(step) < 1 or name == "day-of-week"):
            return bad
        if base == "*":
            continue
        first, _, last = base.partition("-")
        if _cron_value(first, low, high, names) is None:
            return bad
        if last and _cron_value(last, low, high, names) is None:
            return bad
    return None


def pattern_problems(pattern: Any, pointer: str) -> list[Problem]:
    """An event pattern's problems: the shared matcher when available, else a shallow check."""
    if not isinstance(pattern, dict):
        return [(pointer, "Event pattern is not valid. Reason: Filter is not an object")]
    size = len(json.dumps(pattern, separators=(",", ":"), ensure_ascii=False))
    if size > MAX_PATTERN_CHARS:
        return [(pointer, f"must be at most {MAX_PATTERN_CHARS} characters, is {size}")]
    try:
        from runtime.patterns import PatternError, compile_pattern
    except ImportError:
        return _shallow_pattern_problems(pattern, pointer)
    try:
        compile_pattern(pattern)
    except PatternError as error:
        return [(pointer, str(error))]
    return []


def _shallow_pattern_problems(pattern: dict[str, Any], pointer: str) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in pattern.items():
        where = f"{pointer}/{key}"
        if isinstance(value, dict):
            problems.extend(_shallow_pattern_problems(value, where))
        elif key == "$or" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for index, branch in enumerate(value):
                problems.extend(_shallow_pattern_problems(branch, f"{where}/{index}"))
        elif not isinstance(value, list):
            problems.append(
                (
                    where,
                    f'Event pattern is not valid. Reason: "{key}" must be an object or an array',
                )
            )
        elif not value:
            problems.append(
                (where, "Event pattern is not valid. Reason: Empty arrays are not allowed")
            )
    return problems


class Rule(Kind):
    name = "rule"
    label = "Rule"
    group = "Routing"
    icon = "⑂"
    description = (
        "EventBridge rule: matches events on its bus (or fires on a schedule) and sends them "
        "to up to 5 targets."
    )
    models = "Amazon EventBridge rule"
    feeds = frozenset(
        {"queue", "topic", "function", "state_machine", "event_bus", "stream", "webhook", "log"}
    )
    max_out_edges = MAX_TARGETS
    fields = (
        Field(
            "event_pattern",
            "json",
            {"source": [{"prefix": ""}]},
            "Which events the rule matches, as an EventBridge pattern: the object mirrors the "
            "event, every leaf is an array of allowed values or operators (prefix, suffix, "
            "anything-but, numeric, exists, cidr, wildcard, equals-ignore-case, $or). "
            'Values are type-strict: "5" does not match 5. The default matches every event. '
            "null: no pattern (schedule only). At most 2,048 characters.",
            editor="pattern",
        ),
        Field(
            "schedule_expression",
            "str",
            "",
            "Fire on a schedule instead of (or as well as) on events: rate(5 minutes), "
            "rate(1 hour) (singular when N is 1) or cron(0 12 * * ? *) with six fields in UTC, "
            "exactly one of day-of-month and day-of-week being '?'. Only rules on the default "
            "bus may have a schedule. Empty: no schedule.",
            max_length=256,
        ),
        Field(
            "state",
            "choice",
            "ENABLED",
            "A DISABLED rule matches nothing and sends nothing.",
            choices=("ENABLED", "DISABLED"),
        ),
        Field(
            "description",
            "str",
            "",
            "What the rule is for; shown in the inspector.",
            max_length=512,
        ),
        Field(
            "max_retry_attempts",
            "int",
            185,
            "Retry policy: how many times a failed delivery to a target is retried (with "
            "exponential back-off) before the event goes to the DLQ or is dropped.",
            label="Maximum retry attempts",
            minimum=0,
            maximum=185,
        ),
        Field(
            "max_event_age",
            "int",
            86400,
            "Retry policy: an event older than this is no longer retried.",
            label="Maximum event age",
            minimum=60,
            maximum=86400,
            unit="s",
        ),
        Field(
            "dead_letter_queue",
            "node",
            "",
            "Standard (not FIFO) queue that receives events whose delivery failed after the "
            "retry policy, with RULE_ARN, TARGET_ARN, ERROR_CODE and ERROR_MESSAGE attributes. "
            "Empty: such events are dropped.",
            label="DLQ",
        ),
    )
    edge_fields = (
        Field(
            "input_mode",
            "choice",
            "matched_event",
            "What the target receives: the whole matched event, a constant JSON value, the "
            "part of the event selected by an input path, or the output of an input transformer.",
            choices=INPUT_MODES,
        ),
        Field(
            "input",
            "json",
            None,
            "Constant input: this JSON is sent instead of the event.",
            label="Constant input",
        ),
        Field(
            "input_path",
            "str",
            "",
            "Input path: a JSONPath into the event, e.g. $.detail or $.detail.items[0].",
            max_length=256,
        ),
        Field(
            "input_paths_map",
            "json",
            {},
            "Input transformer: names mapped to JSONPaths into the event, e.g. "
            '{"state": "$.detail.state"}; at most 100. Names starting with aws.events. are '
            "reserved.",
        ),
        Field(
            "input_template",
            "text",
            "",
            "Input transformer: the text sent, with <name> placeholders from the paths map or "
            "the predefined <aws.events.rule-name>, <aws.events.rule-arn>, "
            "<aws.events.event.ingestion-time>, <aws.events.event> and <aws.events.event.json>. "
            'A bare <name> becomes JSON (strings quoted); "<name>" inside quotes inserts the text.',
            editor="template",
            max_length=8192,
        ),
        Field(
            "message_group_id",
            "str",
            "",
            "FIFO queue targets: the message group id (required by FIFO queues, which must "
            "also have content-based deduplication).",
            max_length=128,
        ),
        Field(
            "partition_key_path",
            "str",
            "",
            "Stream targets: a JSONPath into the event for the partition key. Empty: the event id.",
            max_length=256,
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        pattern, schedule = config["event_pattern"], config["schedule_expression"]
        if pattern is None and not schedule:
            problems.append(("/event_pattern", "a rule needs an event pattern or a schedule"))
        if schedule:
            message = schedule_problem(schedule)
            if message:
                problems.append(("/schedule_expression", message))
        return problems

    @classmethod
    def semantic_checks(cls, config: dict[str, Any]) -> list[Problem]:
        pattern = config["event_pattern"]
        return [] if pattern is None else pattern_problems(pattern, "/event_pattern")

    @classmethod
    def extra_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        mode = config["input_mode"]
        owners = {
            "input": ("constant", None),
            "input_path": ("input_path", ""),
            "input_paths_map": ("input_transformer", {}),
            "input_template": ("input_transformer", ""),
        }
        for name, (owner, empty) in owners.items():
            if mode != owner and config[name] != empty:
                problems.append((f"/{name}", f"applies only when input_mode is {owner}"))
        if problems:
            return problems
        if mode == "constant" and config["input"] is None:
            problems.append(("/input", "constant input needs a JSON value"))
        if mode == "input_path":
            problems.extend(_json_path_problems(config["input_path"], "/input_path"))
        if mode == "input_transformer":
            problems.extend(_paths_map_problems(config["input_paths_map"]))
        if config["partition_key_path"]:
            problems.extend(
                _json_path_problems(config["partition_key_path"], "/partition_key_path")
            )
        return problems

    @classmethod
    def semantic_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        if config["input_mode"] != "input_transformer":
            return []
        template, paths = config["input_template"], config["input_paths_map"]
        if not template:
            return [("/input_template", "an input transformer needs a template")]
        names = set(paths) if isinstance(paths, dict) else set()
        return [
            ("/input_template", f"InputTemplate contains invalid placeholder {placeholder}.")
            for placeholder in re.findall(r"<([^<>\s]+)>", template)
            if placeholder not in names and placeholder not in PREDEFINED_PLACEHOLDERS
        ]


def _json_path_problems(path: str, pointer: str) -> list[Problem]:
    if not path:
        return [(pointer, "is required")]
    if not re.fullmatch(r"\$(\.[A-Za-z0-9_\-]+|\[\d+\]|\['[^']+'\])*", path):
        return [(pointer, "must be a JSONPath such as $.detail or $.detail.items[0]")]
    return []


def _paths_map_problems(paths: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(paths, dict):
        return [("/input_paths_map", "must be an object of name → JSONPath")]
    if len(paths) > MAX_INPUT_PATHS:
        problems.append(("/input_paths_map", f"must have at most {MAX_INPUT_PATHS} entries"))
    for name, path in paths.items():
        where = f"/input_paths_map/{name}"
        if name.startswith("aws.events."):
            problems.append((where, "names starting with aws.events. are reserved"))
        elif not isinstance(path, str):
            problems.append((where, "must be a JSONPath string"))
        else:
            problems.extend(_json_path_problems(path, where))
    return problems
