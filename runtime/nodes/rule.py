"""EventBridge rule: an event pattern and/or a schedule, up to 5 targets, retry policy and DLQ."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime.events import Message, NodeState
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime, TaskFactory
from runtime.templates import iso_time

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
    icon = "⎇"
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


def schedule_period(expression: str) -> float | None:
    """Seconds between runs of a rate() expression, or None for cron."""
    rate = _RATE.fullmatch(expression)
    if not rate:
        return None
    unit = rate.group(2).rstrip("s")
    return int(rate.group(1)) * {"minute": 60, "hour": 3600, "day": 86400}[unit]


def _cron_set(part: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    values: set[int] = set()
    for item in part.split(","):
        base, _, step = item.partition("/")
        if base in ("*", "?"):
            first, last = low, high
        else:
            start, _, end = base.partition("-")
            first = _cron_value(start, low, high, names) or low
            last = (
                (_cron_value(end, low, high, names) or high)
                if end
                else (first if not step else high)
            )
        values.update(range(first, last + 1, int(step) if step else 1))
    return values


def _day_matches(day: datetime, dom: str, dow: str) -> bool:
    last_day = calendar.monthrange(day.year, day.month)[1]
    weekday = (day.weekday() + 1) % 7 + 1  # cron: 1 = Sunday
    if dom != "?":
        for item in dom.split(","):
            if item == "L" and day.day == last_day:
                return True
            if item.endswith("W"):
                target = last_day if item == "LW" else int(item[:-1])
                if day.day == _nearest_weekday(day, min(target, last_day)):
                    return True
            elif item != "L" and day.day in _cron_set(item, 1, 31, ()):
                return True
        return False
    for item in dow.upper().split(","):
        for number, name in enumerate(_DAYS, start=1):
            item = item.replace(name, str(number))
        if item == "L" and weekday == 7:
            return True
        if item.endswith("L") and len(item) > 1:
            if weekday == int(item[:-1]) and day.day + 7 > last_day:
                return True
        elif "#" in item:
            wanted, nth = (int(x) for x in item.split("#"))
            if weekday == wanted and (day.day - 1) // 7 + 1 == nth:
                return True
        elif item != "L" and weekday in _cron_set(item, 1, 7, ()):
            return True
    return False


def _nearest_weekday(day: datetime, target: int) -> int:
    moment = day.replace(day=target)
    if moment.weekday() == 5:  # Saturday: Friday, or Monday when the 1st
        return target - 1 if target > 1 else target + 2
    if moment.weekday() == 6:
        last = calendar.monthrange(day.year, day.month)[1]
        return target + 1 if target < last else target - 2
    return target


async def run_schedule(
    node: NodeRuntime, expression: str, fire: Callable[[float], Awaitable[object]]
) -> None:
    """Calls ``fire(when)`` each time the schedule comes due on the node's clock, once the engine
    lets work through; returns when the schedule will never fire again."""
    created = node.clock.now()
    while True:
        when = next_run(expression, node.clock.now(), created)
        if when is None:
            return
        await node.clock.sleep(when - node.clock.now())
        await node.engine.gate()
        await fire(when)


def next_run(expression: str, after: float, created: float | None = None) -> float | None:
    """The next time a schedule fires strictly after ``after`` (epoch seconds, UTC)."""
    period = schedule_period(expression)
    if period is not None:
        origin = after if created is None else created
        steps = int((after - origin) // period) + 1
        return origin + steps * period
    cron = _CRON.fullmatch(expression)
    if not cron:
        return None
    minutes_, hours_, dom, month_, dow, year_ = cron.group(1).split()
    minutes = sorted(_cron_set(minutes_, 0, 59, ()))
    hours = sorted(_cron_set(hours_, 0, 23, ()))
    months = _cron_set(month_, 1, 12, _MONTHS)
    years = _cron_set(year_, 1970, 2199, ())
    start = datetime.fromtimestamp(after, UTC).replace(second=0, microsecond=0)
    day = start.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        if day.year in years and day.month in months and _day_matches(day, dom, dow):
            for hour in hours:
                for minute in minutes:
                    moment = day.replace(hour=hour, minute=minute)
                    if moment.timestamp() > after:
                        return moment.timestamp()
        day += timedelta(days=1)
    return None


_PATH_TOKEN = re.compile(r"\.([A-Za-z0-9_\-]+)|\[(\d+)\]|\['([^']+)'\]")
_PLACEHOLDER = re.compile(r"<([^<>\s]+)>")
MISSING = object()
MEMO_FIELDS = frozenset({"source", "detail-type", "detail"})


def json_path_get(document: Any, path: str) -> Any:
    """Follow a simple JSONPath ($.a.b, $.a[0], $['a']); MISSING when it selects nothing."""
    if not path.startswith("$"):
        return MISSING
    value = document
    for match in _PATH_TOKEN.finditer(path, 1):
        name, index, quoted = match.groups()
        key: Any = int(index) if index is not None else (name or quoted)
        if isinstance(key, int):
            if not isinstance(value, list) or key >= len(value):
                return MISSING
        elif not isinstance(value, dict) or key not in value:
            return MISSING
        value = value[key]
    return value


def _unquoted(value: Any) -> str:
    # String-mode templates render objects without quotes: {acc_id:0a78,sf_id:baz}, [HIGH].
    if isinstance(value, dict):
        return "{" + ",".join(f"{key}:{_unquoted(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_unquoted(item) for item in value) + "]"
    if isinstance(value, str):
        return value
    return json.dumps(value)


class InputTransformer:
    """An EventBridge InputTransformer compiled once: <name> placeholders, AWS's rules."""

    def __init__(self, template: str, paths: dict[str, str], rule: RuleNode) -> None:
        self.paths = paths
        self.rule = rule
        stripped = template.strip()
        self.string_mode = len(stripped) >= 2 and stripped[0] == '"' and stripped[-1] == '"'
        self.parts: list[str | tuple[str, bool]] = []
        position = 0
        in_string = escaped = False
        for match in _PLACEHOLDER.finditer(template):
            literal = template[position : match.start()]
            for char in literal:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = not in_string
            self.parts.append(literal)
            self.parts.append((match.group(1), in_string))
            position = match.end()
        self.parts.append(template[position:])

    def value(self, name: str, event: dict[str, Any]) -> Any:
        if name == "aws.events.rule-arn":
            return self.rule.arn
        if name == "aws.events.rule-name":
            return self.rule.id
        if name == "aws.events.event.ingestion-time":
            return event.get("time", "")
        if name == "aws.events.event":
            return {key: item for key, item in event.items() if key != "detail"}
        if name == "aws.events.event.json":
            return event
        path = self.paths.get(name)
        return MISSING if path is None else json_path_get(event, path)

    def render(self, event: dict[str, Any]) -> Any:
        """The target input, or MISSING when the output is not valid (nothing is delivered)."""
        pieces: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            name, quoted = part
            value = self.value(name, event)
            if value is MISSING:
                continue
            if self.string_mode or (quoted and isinstance(value, str)):
                pieces.append(_unquoted(value))
            elif quoted:
                if isinstance(value, dict | list):
                    return MISSING
                pieces.append(json.dumps(value))
            else:
                pieces.append(json.dumps(value, separators=(",", ":")))
        text = "".join(pieces)
        if self.string_mode:
            return text
        try:
            return json.loads(text)
        except ValueError:
            return MISSING


class RuleNode(NodeRuntime):
    """Matches events with its compiled pattern and delivers each target's input, retrying
    failures with exponential back-off and jitter, then dead-lettering with the AWS attributes."""

    kind = "rule"

    def setup(self) -> None:
        settings = self.settings
        self.arn = self.engine.arn("events", f"rule/{self.id}")
        self.enabled = settings["state"] == "ENABLED"
        self.pattern: Any = None
        self.setup_error = ""
        if settings["event_pattern"] is not None:
            from runtime.patterns import PatternError, compile_pattern

            try:
                self.pattern = compile_pattern(settings["event_pattern"])
            except PatternError as error:
                self.state = NodeState.NOT_RUNNABLE
                self.setup_error = error.message
                self.refuse(error.code, error.message)
        pattern = settings["event_pattern"]
        # A pattern that reads only source, detail-type and detail gives the same answer for
        # events sharing those three (bodies are immutable), so the last answer is reused.
        self.memo = isinstance(pattern, dict) and set(pattern) <= MEMO_FIELDS
        self._memo_key: tuple[Any, Any, Any] = (None, None, None)
        self._memo_result = False
        self.inputs = {link.id: self._input_builder(link) for link in self.links}
        dlq = self.engine.nodes.get(settings["dead_letter_queue"] or "")
        self.dead_letter_queue = dlq if dlq is not None and dlq.kind == "queue" else None

    def matches(self, event: Any) -> bool:
        if self.memo and type(event) is dict:
            detail = event.get("detail")
            key = self._memo_key
            if (
                key[2] is detail
                and key[0] == event.get("source")
                and key[1] == event.get("detail-type")
            ):
                return self._memo_result
            result = self.pattern.matches(event)
            self._memo_key = (event.get("source"), event.get("detail-type"), detail)
            self._memo_result = result
            return result
        return self.pattern.matches(event)

    def _input_builder(self, link: Link) -> Callable[[dict[str, Any]], Any]:
        config = link.config
        mode = config["input_mode"]
        if mode == "constant":
            constant = config["input"]
            return lambda event: constant
        if mode == "input_path":
            path = config["input_path"]
            return lambda event: json_path_get(event, path)
        if mode == "input_transformer":
            transformer = InputTransformer(
                config["input_template"], config["input_paths_map"], self
            )
            return transformer.render
        return lambda event: event

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        if not (self.settings["schedule_expression"] and self.enabled):
            return []
        custom = [
            link.source.id
            for link in self.inbound
            if link.source.kind == "event_bus" and link.source.settings["bus_name"] != "default"
        ]
        if custom:
            # PutRule refuses this; a topology can still say it, so the run says why it's off.
            self.refuse(
                "ValidationException",
                "ScheduleExpression is supported only on the default event bus.",
            )
            return []
        return [("schedule", self._schedule)]

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        if not self.enabled or self.pattern is None:
            self.stats.dropped += len(messages)
            return
        matches = self.matches
        matched = [message for message in messages if matches(message.body)]
        if len(matched) < len(messages):
            self.stats.dropped += len(messages) - len(matched)
            if self.engine.message_events or any(m.traced for m in messages):
                kept = {id(message) for message in matched}
                self.note("dropped", [m for m in messages if id(m) not in kept], self.id)
        if matched:
            self.note_received(matched)
            await self.route(matched)

    async def route(self, events: list[Message]) -> None:
        for link in self.links:
            build = self.inputs[link.id]
            system = self._target_system(link)
            inputs: list[Message] = []
            for event in events:
                body = build(event.body)
                if body is MISSING:
                    self.fail(
                        "SDK_CLIENT_ERROR", "the input transformer made no valid output", [event]
                    )
                    continue
                extra = system
                key_path = link.config["partition_key_path"]
                if link.target.kind == "stream":
                    key = json_path_get(event.body, key_path) if key_path else event.body["id"]
                    extra = {**system, "PartitionKey": str(key)}
                inputs.append(event.derive(self.id, body=body, system=extra or None))
            if inputs:
                await self.deliver(link, inputs)

    def _target_system(self, link: Link) -> dict[str, Any]:
        group = link.config["message_group_id"]
        return {"MessageGroupId": group} if group else {}

    def delivery_failed(
        self, link: Link, messages: list[Message], error: DeliveryFailed, attempt: int
    ) -> None:
        failed = error.failed if error.failed is not None else messages
        retries = attempt - 1
        limit, max_age = self.settings["max_retry_attempts"], self.settings["max_event_age"]
        now = self.clock.now()
        age = now - min(message.created_at for message in failed)
        if error.retriable and retries < limit and age < max_age:
            self.stats.retries += len(failed)
            delay = min(2.0**retries, 300.0) * (0.5 + self.engine.rng.random() / 2)
            self.engine.later(delay, self.deliver, link, failed, attempt + 1)
            return
        condition = "MaximumRetryAttempts" if retries >= limit else "MaximumEventAgeInSeconds"
        self.stats.dead_lettered += len(failed)
        attributes = {
            "RULE_ARN": self.arn,
            "TARGET_ARN": getattr(
                link.target, "arn", self.engine.arn(link.target.kind, link.target.id)
            ),
            "ERROR_CODE": error.code,
            "ERROR_MESSAGE": error.message[:256],
            "RETRY_ATTEMPTS": retries,
        }
        if error.retriable:
            attributes["EXHAUSTED_RETRY_CONDITION"] = condition
        dlq = self.dead_letter_queue
        for message in failed:
            self.engine.dead_lettered(
                self, message, dlq.id if dlq else "", error.code, error.message
            )
        if dlq is not None:
            letters = [m.derive(self.id, attributes=attributes, system={}) for m in failed]
            self.engine.later(0, dlq.accept, letters, None)

    async def _schedule(self) -> None:
        await run_schedule(self, self.settings["schedule_expression"], self._scheduled_event)

    async def _scheduled_event(self, when: float) -> None:
        event = {
            "version": "0",
            "id": self.engine.new_id(),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.engine.settings.account,
            "time": iso_time(when),
            "region": self.engine.settings.region,
            "resources": [self.arn],
            "detail": {},
        }
        message = Message.new(event, now=self.clock.now(), node=self.id, message_id=event["id"])
        self.note_received([message])
        await self.route([message])
