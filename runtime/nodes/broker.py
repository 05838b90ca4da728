"""Amazon MQ broker destination: a JMS queue (competing consumers) or topic (broadcast)."""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime


class Broker(Kind):
    name = "broker"
    label = "Broker"
    group = "Buffers"
    icon = "⌸"
    description = (
        "Message broker destination: a queue for competing consumers or a topic for broadcast."
    )
    models = "Amazon MQ (ActiveMQ, RabbitMQ)"
    feeds = frozenset({"function", "state_machine", "log"})
    fields = (
        Field(
            "engine",
            "choice",
            "ActiveMQ",
            "The broker engine. Both behave the same here; the engine sets the names and "
            "defaults shown and exported.",
            choices=("ActiveMQ", "RabbitMQ"),
        ),
        Field(
            "destination_type",
            "choice",
            "queue",
            "queue: each message goes to exactly one consumer (they compete). topic: each "
            "message goes to every subscriber connected when it is published.",
            choices=("queue", "topic"),
        ),
        Field(
            "durable_subscriptions",
            "bool",
            False,
            "Topics only: keep messages for subscribers while they are disconnected instead of "
            "letting them miss what was published meanwhile.",
        ),
        Field(
            "ack_mode",
            "choice",
            "AUTO_ACKNOWLEDGE",
            "How consumers acknowledge: AUTO after each message, CLIENT explicitly (an "
            "unacknowledged message is redelivered), DUPS_OK lazily (duplicates possible), "
            "SESSION_TRANSACTED by commit or rollback.",
            label="Acknowledgement mode",
            choices=(
                "AUTO_ACKNOWLEDGE",
                "CLIENT_ACKNOWLEDGE",
                "DUPS_OK_ACKNOWLEDGE",
                "SESSION_TRANSACTED",
            ),
        ),
        Field(
            "maximum_redeliveries",
            "int",
            6,
            "Redeliveries of a failed message before it moves to the dead-letter queue "
            "(ActiveMQ's default is 6). -1: redeliver forever.",
            minimum=-1,
        ),
        Field(
            "initial_redelivery_delay",
            "int",
            1000,
            "Wait before the first redelivery.",
            minimum=0,
            unit="ms",
        ),
        Field(
            "redelivery_delay",
            "int",
            1000,
            "Wait between later redeliveries (without back-off).",
            minimum=0,
            unit="ms",
        ),
        Field(
            "use_exponential_backoff",
            "bool",
            False,
            "Multiply the delay by the back-off multiplier after each redelivery.",
        ),
        Field(
            "backoff_multiplier",
            "float",
            5.0,
            "Back-off: factor applied to the delay after each redelivery.",
            minimum=1,
        ),
        Field(
            "dlq_name",
            "str",
            "ActiveMQ.DLQ",
            "Dead-letter queue for messages past their redeliveries (or expired). "
            "ActiveMQ.DLQ is ActiveMQ's shared default; DLQ.<destination> gives one per "
            "destination.",
            label="DLQ name",
            max_length=255,
            pattern=r"[A-Za-z0-9._:/-]+",
        ),
        Field(
            "message_ttl",
            "int",
            0,
            "Time to live of a message; expired messages go to the DLQ. 0: never expires.",
            label="Message TTL",
            minimum=0,
            unit="ms",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if config["durable_subscriptions"] and config["destination_type"] != "topic":
            problems.append(
                ("/durable_subscriptions", "applies only when destination_type is topic")
            )
        if not config["dlq_name"]:
            problems.append(("/dlq_name", "is required"))
        return problems


MAX_DEAD_LETTERS = 10000


class BrokerNode(NodeRuntime):
    """An ActiveMQ destination with JMS semantics.

    A queue hands each message to exactly one consumer (out-links compete round-robin; a
    JMSXGroupID sticks to one consumer); a topic hands it to every subscriber. A failed delivery
    is redelivered after the redelivery delay with JMSRedelivered and JMSXDeliveryCount, and
    after ``maximum_redeliveries`` moves to the DLQ, as do messages past their TTL.
    """

    kind = "broker"

    def setup(self) -> None:
        self.is_queue = self.settings["destination_type"] == "queue"
        self.arn = self.engine.arn("mq", f"destination/{self.id}")
        self._next = itertools.cycle(range(max(1, len(self.links))))
        self.groups: dict[str, Link] = {}
        self.pending: deque[Message] = deque()  # queue messages waiting for a consumer
        self.dead_letters: deque[Message] = deque(maxlen=MAX_DEAD_LETTERS)
        self.offline: dict[str, deque[Message]] = {}  # topic subscribers not connected
        self.selectors: dict[str, Any] = {}  # edge id → compiled message selector
        self.virtual_queues: dict[str, str] = {}  # edge id → Consumer.<name>.VirtualTopic.X
        self.turns: dict[str, int] = {}

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        now = self.clock.now()
        ttl = self.settings["message_ttl"] / 1000
        stored = [
            message.derive(
                self.id, system={**message.system, "JMSExpiration": now + ttl if ttl else 0}
            )
            for message in messages
        ]
        if not self.links:
            if self.is_queue:
                self.pending.extend(stored)
            return  # a topic without subscribers: nobody was active at publish time
        for message in stored:
            if self.is_queue:
                consumer = self._consumer(message)
                if consumer is None:
                    self.pending.append(message)  # no consumer's selector takes it: it waits
                else:
                    await self._dispatch(consumer, message, 1)
                continue
            for target in self._subscribers(message):
                if target.target.id not in self.offline:
                    await self._dispatch(target, message, 1)
                elif self.settings["durable_subscriptions"]:
                    self.offline[target.target.id].append(message)
                else:
                    self.stats.dropped += 1  # a non-durable subscriber misses what it did not see

    def set_virtual_queue(self, edge_id: str, queue_name: str) -> None:
        """ActiveMQ virtual topics: consumers reading the same Consumer.<name>.VirtualTopic.X
        queue share one copy of each message (they compete); each queue gets every message."""
        self.virtual_queues[edge_id] = queue_name

    def _subscribers(self, message: Message) -> list[Link]:
        chosen: list[Link] = []
        shared: dict[str, list[Link]] = {}
        for link in self.links:
            if not self._selected(link, message):
                continue
            queue = self.virtual_queues.get(link.id)
            if queue is None:
                chosen.append(link)
            else:
                shared.setdefault(queue, []).append(link)
        for queue, members in shared.items():
            turn = self.turns.get(queue, 0)
            self.turns[queue] = turn + 1
            chosen.append(members[turn % len(members)])
        return chosen

    def set_selector(self, edge_id: str, selector: str) -> None:
        """Subscribe with a message selector: that consumer sees only matching messages."""
        self.selectors[edge_id] = compile_selector(selector)

    def _selected(self, link: Link, message: Message) -> bool:
        selector = self.selectors.get(link.id)
        if selector is None:
            return True
        return bool(selector({**message.system, **message.attributes}))

    def disconnect(self, consumer: str) -> None:
        """A subscriber goes away: a durable subscription keeps its messages meanwhile."""
        self.offline.setdefault(consumer, deque())

    async def reconnect(self, consumer: str) -> int:
        """The subscriber is back: a durable subscription delivers what it kept."""
        kept = self.offline.pop(consumer, deque())
        link = next(link for link in self.links if link.target.id == consumer)
        for message in kept:
            await self._dispatch(link, message, 1)
        return len(kept)

    def _consumer(self, message: Message) -> Link | None:
        candidates = [link for link in self.links if self._selected(link, message)]
        if not candidates:
            return None
        group = message.system.get("JMSXGroupID") or message.attributes.get("JMSXGroupID")
        if group:
            chosen = self.groups.get(group)
            if chosen is None or chosen not in candidates:
                chosen = self.groups[group] = candidates[next(self._next) % len(candidates)]
            return chosen
        return candidates[next(self._next) % len(candidates)]

    async def _dispatch(self, link: Link, message: Message, delivery: int) -> None:
        expires = message.system.get("JMSExpiration", 0)
        if expires and self.clock.now() >= expires:
            self._to_dead_letters(message, "Expired", "the message's time to live passed")
            return
        system = {**message.system, "JMSXDeliveryCount": delivery, "JMSRedelivered": delivery > 1}
        outgoing = message.derive(self.id, system=system) if delivery > 1 else message
        link.count += 1
        self.stats.sent += 1
        try:
            await link.target.accept([outgoing], link)
        except DeliveryFailed as error:
            self._redeliver(link, message, delivery, error)
            return
        self.stats.acked += 1

    def _redeliver(
        self, link: Link, message: Message, delivery: int, error: DeliveryFailed
    ) -> None:
        limit = self.settings["maximum_redeliveries"]
        redeliveries = delivery - 1
        if limit != -1 and redeliveries >= limit:
            self._to_dead_letters(message, error.code, error.message)
            return
        self.stats.retries += 1
        delay = (
            self.settings["initial_redelivery_delay"]
            if redeliveries == 0
            else self.settings["redelivery_delay"]
        )
        if self.settings["use_exponential_backoff"] and redeliveries:
            delay = (
                self.settings["initial_redelivery_delay"]
                * self.settings["backoff_multiplier"] ** redeliveries
            )
        self.engine.later(delay / 1000, self._dispatch, link, message, delivery + 1)

    def _to_dead_letters(self, message: Message, code: str, text: str) -> None:
        self.stats.dead_lettered += 1
        self.dead_letters.append(message)
        self.engine.dead_lettered(self, message, self.settings["dlq_name"], code, text)

    def gauges(self) -> dict[str, Any]:
        return {"depth": len(self.pending), "dlq_depth": len(self.dead_letters)}


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')|(?P<op><>|<=|>=|=|<|>|\(|\)|,)"
    r"|(?P<word>[A-Za-z_$][A-Za-z0-9_$.]*))"
)
Predicate = Callable[[dict[str, Any]], Any]


class SelectorError(ValueError):
    """A JMS message selector that does not parse (InvalidSelectorException)."""


def compile_selector(text: str) -> Predicate:
    """A JMS message selector (the SQL-92 subset: = <> < > <= >=, AND, OR, NOT, parentheses,
    IS [NOT] NULL, [NOT] IN, [NOT] BETWEEN) compiled to a predicate over message properties.
    It is parsed here, never evaluated as code; unknown properties are NULL (never match)."""
    tokens: list[tuple[str, Any]] = []
    position = 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if not match or match.end() == position:
            raise SelectorError(f"cannot read the selector at {text[position:]!r}")
        kind = match.lastgroup or ""
        value: Any = match.group(kind)
        if kind == "num":
            value = float(value) if "." in value else int(value)
        elif kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "word" and value.upper() in _KEYWORDS:
            kind, value = "kw", value.upper()
        tokens.append((kind, value))
        position = match.end()
    parser = _Selector(tokens)
    predicate = parser.disjunction()
    if parser.index != len(tokens):
        raise SelectorError(f"unexpected {tokens[parser.index][1]!r} in the selector")
    return predicate


_KEYWORDS = {"AND", "OR", "NOT", "IS", "NULL", "IN", "BETWEEN", "TRUE", "FALSE"}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "<>": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    ">=": lambda a, b: a >= b,
}


class _Selector:
    def __init__(self, tokens: list[tuple[str, Any]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, Any]:
        return self.tokens[self.index] if self.index < len(self.tokens) else ("end", None)

    def take(self, kind: str, value: Any = None) -> Any:
        found = self.peek()
        if found[0] != kind or (value is not None and found[1] != value):
            raise SelectorError(f"expected {value or kind}, found {found[1]!r}")
        self.index += 1
        return found[1]

    def disjunction(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == ("kw", "OR"):
            self.index += 1
            right, first = self.conjunction(), left
            left = lambda p, a=first, b=right: bool(a(p)) or bool(b(p))  # noqa: E731
        return left

    def conjunction(self) -> Predicate:
        left = self.negation()
        while self.peek() == ("kw", "AND"):
            self.index += 1
            right, first = self.negation(), left
            left = lambda p, a=first, b=right: bool(a(p)) and bool(b(p))  # noqa: E731
        return left

    def negation(self) -> Predicate:
        if self.peek() == ("kw", "NOT"):
            self.index += 1
            inner = self.negation()
            return lambda p: not inner(p)
        return self.comparison()

    def operand(self) -> Predicate:
        kind, value = self.peek()
        self.index += 1
        if kind in ("num", "str"):
            return lambda p: value
        if kind == "kw" and value in ("TRUE", "FALSE"):
            return lambda p: value == "TRUE"
        if kind == "word":
            return lambda p: p.get(value)
        if (kind, value) == ("op", "("):
            inner = self.disjunction()
            self.take("op", ")")
            return inner
        raise SelectorError(f"unexpected {value!r} in the selector")

    def comparison(self) -> Predicate:
        left = self.operand()
        kind, value = self.peek()
        negated = False
        if (kind, value) == ("kw", "NOT"):
            self.index += 1
            negated = True
            kind, value = self.peek()
        if (kind, value) == ("kw", "IS"):
            self.index += 1
            wanted_null = not (self.peek() == ("kw", "NOT") and self.take("kw", "NOT"))
            self.take("kw", "NULL")
            return lambda p: (left(p) is None) == wanted_null
        if (kind, value) == ("kw", "IN"):
            self.index += 1
            self.take("op", "(")
            options = [self.operand()]
            while self.peek() == ("op", ","):
                self.index += 1
                options.append(self.operand())
            self.take("op", ")")
            return lambda p: (
                left(p) is not None and ((left(p) in [o(p) for o in options]) != negated)
            )
        if (kind, value) == ("kw", "BETWEEN"):
            self.index += 1
            low = self.operand()
            self.take("kw", "AND")
            high = self.operand()
            return lambda p: _safe(lambda: low(p) <= left(p) <= high(p)) != negated
        if kind == "op" and value in _COMPARE:
            self.index += 1
            right, compare = self.operand(), _COMPARE[value]
            return lambda p: _safe(lambda: compare(left(p), right(p)))
        return left


def _safe(check: Callable[[], bool]) -> bool:
    # SQL's unknown: a comparison with NULL or of mismatched types selects nothing.
    try:
        return bool(check())
    except TypeError:
        return False
