"""Amazon MQ broker destination: a JMS queue (competing consumers) or topic (broadcast)."""

from __future__ import annotations

import itertools
import re
from collections import deque
from collections.abc import Callable
from typing import Any

from runtime.events import Message, freeze
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import DeliveryFailed, Link, NodeRuntime, TaskFactory
from runtime.store import QueueOptions, StoreError


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


MAX_DEAD_LETTERS = 10000  # the DLQ's latest messages kept at hand (the store keeps them all)
HAND_OFF = 10.0  # seconds a message taken from the store stays hidden while it is delivered
FOREVER = 100 * 365 * 86400.0  # store retention: the broker, not the store, expires (TTL → DLQ)
STORED = QueueOptions(visibility_timeout=HAND_OFF, retention_period=FOREVER)
TAKE = 100  # messages taken from the store at a time
RETRY = 1.0  # seconds before a delivery pass the store failed is tried again
# Private system fields of a stored redelivery, never shown to consumers: the delivery it is
# for (JMSXDeliveryCount) and the link it goes back to (the consumer that rolled it back).
DELIVERY = "_mq_delivery"
CONSUMER = "_mq_consumer"
PRIVATE = (DELIVERY, CONSUMER)


class _Taken:
    """A message taken from one of the broker's store queues to be delivered, with the receipt
    that removes it (the newest one, if its hand-off outlasted HAND_OFF and it was taken again)."""

    __slots__ = ("message", "key", "receipt", "done")

    def __init__(self, message: Message, key: tuple[str, int], receipt: str) -> None:
        self.message = message
        self.key = key  # (store queue, sequence)
        self.receipt = receipt
        self.done = False  # delivered, but a receive under way holds its newest receipt


class BrokerNode(NodeRuntime):
    """An ActiveMQ destination with JMS semantics.

    A queue hands each message to exactly one consumer (out-links compete round-robin; a
    JMSXGroupID sticks to one consumer); a topic hands it to every subscriber. A failed delivery
    is redelivered after the redelivery delay with JMSRedelivered and JMSXDeliveryCount, and
    after ``maximum_redeliveries`` moves to the DLQ, as do messages past their TTL.

    What the broker holds lives in the run's store, so it outlives the process (the store's
    durability): a queue destination's messages in the store queue ``<id>`` (sent there, and
    synced on a durable store, before ``accept`` returns; removed once a consumer took them), a
    durable subscriber's backlog in ``<id>#sub:<consumer>``, the dead letters in ``<id>#dlq``. A
    redelivery waits in the store as a copy sent with the redelivery delay and its delivery
    count, and replaces the message it repeats. Messages for connected subscribers of a topic
    without durable subscriptions stay in memory, as on ActiveMQ.
    """

    kind = "broker"

    def setup(self) -> None:
        self.is_queue = self.settings["destination_type"] == "queue"
        self.durable = not self.is_queue and self.settings["durable_subscriptions"]
        self.arn = self.engine.arn("mq", f"destination/{self.id}")
        self._next = itertools.cycle(range(max(1, len(self.links))))
        self.groups: dict[str, Link] = {}
        self.dlq = f"{self.id}#dlq"
        self.dead_letters: deque[Message] = deque(maxlen=MAX_DEAD_LETTERS)
        self.offline: set[str] = set()  # topic subscribers not connected
        self.selectors: dict[str, Any] = {}  # edge id → compiled message selector
        self.virtual_queues: dict[str, str] = {}  # edge id → Consumer.<name>.VirtualTopic.X
        self.turns: dict[str, int] = {}
        self.held: dict[str, int] = {}  # store queue → messages it holds
        # Durable subscriptions: store queue → subscriber.
        self.subscriptions: dict[str, str] = {}
        if self.durable:
            for link in self.links:
                self.subscriptions[self.subscription(link.target.id)] = link.target.id
        self._links = {link.id: link for link in self.links}
        self._taken: dict[tuple[str, int], _Taken] = {}
        self._receiving: dict[str, int] = {}
        self._planned: dict[str, float] = {}
        self._recover: list[str] = []

    def subscription(self, consumer: str) -> str:
        """The store queue of a durable subscriber's backlog (it belongs to this node's id)."""
        return f"{self.id}#sub:{consumer}"

    def buffers(self) -> list[str]:
        """The store queues this destination keeps its messages in."""
        names = [self.id] if self.is_queue else list(self.subscriptions)
        return [*names, self.dlq]

    async def start(self) -> None:
        """Declare the store queues and take stock of what they kept: a new Engine on the same
        store delivers it again; a durable subscriber with a backlog is offline until it
        reconnects. Store queues under this node's id that it no longer uses are dropped and
        counted (``dropped``)."""
        store = self.engine.store
        now = self.clock.now()
        mine = self.buffers()
        # What a redeploy left under this node's names that it no longer reads (a durable
        # subscriber's edge removed, the destination type changed) has nobody to go to.
        stale = [
            name
            for name in (await store.inventory(now))["queues"]
            if name.split("#", 1)[0] == self.id and name not in mine
        ]
        if stale:
            self.stats.dropped += await store.drop(stale)
        for name in mine:
            await store.queue_declare(name, STORED)
            counts = await store.queue_counts(name, now)
            self.held[name] = counts.visible + counts.in_flight + counts.delayed
            if not self.held[name] or name == self.dlq:
                continue
            consumer = self.subscriptions.get(name)
            if consumer is not None and counts.visible:
                self.offline.add(consumer)
            elif self.links:
                self._recover.append(name)
        if self.held[self.dlq]:
            kept = await store.queue_peek(self.dlq, now, MAX_DEAD_LETTERS)
            self.dead_letters.extend(record.message for record in kept)

    def tasks(self) -> list[tuple[str, TaskFactory]]:
        if not self._recover:
            return []

        async def recover() -> None:
            for name in self._recover:
                await self._pump(name, plan=True)

        return [("recover", recover)]

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        now = self.clock.now()
        ttl = self.settings["message_ttl"] / 1000
        stored = [
            message.derive(
                self.id, system={**message.system, "JMSExpiration": now + ttl if ttl else 0}
            )
            for message in messages
        ]
        if self.is_queue:
            await self._keep(self.id, stored)  # acknowledged only once the store has them
            self.note_received(messages)
            if self.links:
                await self._pump(self.id)
            return
        plan: list[tuple[Link, Message]] = []
        backlogs: dict[str, list[Message]] = {}
        missed = 0
        for message in stored if self.links else ():
            for target in self._subscribers(message):
                consumer = target.target.id
                if consumer not in self.offline:
                    plan.append((target, message))
                elif self.durable:
                    backlogs.setdefault(consumer, []).append(message)
                else:
                    missed += 1  # a non-durable subscriber misses what it did not see
        for consumer, kept in backlogs.items():
            await self._keep(self.subscription(consumer), kept)
        self.note_received(messages)
        self.stats.dropped += missed
        # A topic without subscribers: nobody was active at publish time.
        for target, message in plan:
            await self._dispatch(target, message, 1)

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
        self.offline.add(consumer)

    async def reconnect(self, consumer: str) -> int:
        """The subscriber is back: a durable subscription delivers what it kept (returns how
        many messages it took from the backlog)."""
        self.offline.discard(consumer)
        name = self.subscription(consumer)
        if name not in self.subscriptions:
            return 0
        return await self._pump(name, plan=True)

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

    # --- delivering ---------------------------------------------------------------------------
    async def _attempt(self, link: Link, message: Message, delivery: int) -> DeliveryFailed | None:
        """One delivery to one consumer; the failure, if it failed."""
        if delivery > 1:
            system = {name: v for name, v in message.system.items() if name not in PRIVATE}
            system.update(JMSXDeliveryCount=delivery, JMSRedelivered=True)
            message = message.derive(self.id, system=system)
        link.count += 1
        self.stats.sent += 1
        try:
            await link.target.accept([message], link)
        except DeliveryFailed as error:
            return error
        self.stats.acked += 1
        return None

    def _expired(self, message: Message) -> bool:
        expires = message.system.get("JMSExpiration", 0)
        return bool(expires) and self.clock.now() >= expires

    def _exhausted(self, delivery: int) -> bool:
        limit = self.settings["maximum_redeliveries"]
        return limit != -1 and delivery - 1 >= limit

    def _delay(self, delivery: int) -> float:
        """Seconds before the redelivery that follows failed delivery number ``delivery``."""
        redeliveries = delivery - 1
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
        return delay / 1000

    async def _dispatch(self, link: Link, message: Message, delivery: int) -> None:
        """A topic delivery to a connected subscriber, from memory."""
        if self._expired(message):
            await self._to_dead_letters(message, "Expired", "the message's time to live passed")
            return
        error = await self._attempt(link, message, delivery)
        if error is None:
            return
        if self._exhausted(delivery):
            await self._to_dead_letters(message, error.code, error.message)
            return
        self.stats.retries += 1
        delay = self._delay(delivery)
        if self.durable:
            # A durable subscription keeps its redelivery in the store, with its count.
            name = self.subscription(link.target.id)
            try:
                await self._put(name, [self._redelivery(message, delivery + 1, link)], delay)
            except StoreError:
                pass  # the store failed: the redelivery waits in memory instead
            else:
                self.engine.later(delay, self._pump, name)
                return
        self.engine.later(delay, self._dispatch, link, message, delivery + 1)

    def _redelivery(self, message: Message, delivery: int, link: Link) -> Message:
        """The stored form of a message waiting for redelivery number ``delivery``."""
        system = {**message.system, DELIVERY: delivery, CONSUMER: link.id}
        return message._replace(system=freeze(system))

    async def _to_dead_letters(self, message: Message, code: str, text: str) -> bool:
        """Store the message in the DLQ; False (and counted as an error) if the store failed."""
        if any(name in message.system for name in PRIVATE):
            system = {name: v for name, v in message.system.items() if name not in PRIVATE}
            message = message._replace(system=freeze(system))
        try:
            await self._put(self.dlq, [message])
        except StoreError as error:
            self.fail(error.code, error.message, [message])
            return False
        self.stats.dead_lettered += 1
        self.dead_letters.append(message)
        self.engine.dead_lettered(self, message, self.settings["dlq_name"], code, text)
        return True

    # --- the store ----------------------------------------------------------------------------
    async def _keep(self, name: str, messages: list[Message]) -> None:
        """Store messages being accepted. If the store fails, the messages are refused (counted
        as such: a gateway then never answers 200) and the delivery fails (the sender's retry
        policy applies; a direct send raises); none of them is delivered."""
        try:
            await self._put(name, messages)
        except StoreError as error:
            for message in messages:
                self.refuse(error.code, error.message, message)
            raise DeliveryFailed(
                error.code, f"the broker could not store the message: {error.message}"
            ) from error

    async def _put(self, name: str, messages: list[Message], delay: float = 0.0) -> None:
        """Send to one of the broker's store queues; returns once the store has them."""
        store = self.engine.store
        delays = [delay] * len(messages) if delay else None
        await store.queue_send(name, messages, self.clock.now(), delays=delays)
        self.held[name] = self.held.get(name, 0) + len(messages)
        if store.durable:
            await store.sync()

    async def _take(self, name: str) -> list[_Taken]:
        """Take what is visible in a store queue, hidden for HAND_OFF while it is delivered."""
        self._receiving[name] = self._receiving.get(name, 0) + 1
        try:
            result = await self.engine.store.queue_receive(
                name, self.clock.now(), max_messages=TAKE, visibility_timeout=HAND_OFF
            )
        finally:
            self._receiving[name] -= 1
        taken: list[_Taken] = []
        for item in result.messages:
            key = (name, item.sequence)
            known = self._taken.get(key)
            if known is None:
                fresh = self._taken[key] = _Taken(item.message, key, item.receipt)
                taken.append(fresh)
                continue
            # A delivery under way outlasted HAND_OFF: it keeps the message, with this receipt.
            known.receipt = item.receipt
            if known.done:
                await self._remove(known)
        return taken

    async def _remove(self, taken: _Taken) -> None:
        """A delivered (or moved) message leaves its store queue."""
        name = taken.key[0]
        while True:
            receipt = taken.receipt
            try:
                deleted = await self.engine.store.queue_delete(name, [receipt], self.clock.now())
            except StoreError:
                deleted = 1  # gone with its queue, or deleted here but not synced: at least once
            if deleted:
                self.held[name] = max(0, self.held.get(name, 0) - 1)
                break
            if taken.receipt != receipt:
                continue  # taken again meanwhile: remove it with the newer receipt
            if self._receiving.get(name):
                taken.done = True  # a receive under way may hold it: it removes it
                return
            break
        self._taken.pop(taken.key, None)

    def _release(self, taken: _Taken) -> None:
        """Leave a taken message in its store queue: it is visible again after HAND_OFF."""
        self._taken.pop(taken.key, None)

    async def _pump(self, name: str, *, plan: bool = False) -> int:
        """Deliver what a store queue holds (the queue destination's messages, or a connected
        durable subscriber's backlog); returns how many messages it took. With ``plan``, a
        delivery pass is planned for when the next held message becomes visible."""
        consumer = self.subscriptions.get(name)
        if not self.links or (consumer is not None and consumer in self.offline):
            return 0
        taken = 0
        waiting = plan
        try:
            # Bounded: what the queue held when the pass began (later sends have passes of
            # their own), so redeliveries due at once never keep a pass going.
            for _ in range(self.held.get(name, 0) // TAKE + 1):
                batch = await self._take(name)
                for index, item in enumerate(batch):
                    try:
                        waiting = not await self._deliver(name, item) or waiting
                    except BaseException:
                        # A consumer's crash or the run stopping: what was not delivered
                        # stays in the store and is taken again once its hand-off ends.
                        for rest in batch[index:]:
                            self._release(rest)
                        self._plan_at(name, self.clock.now() + HAND_OFF)
                        raise
                taken += len(batch)
                if len(batch) < TAKE:
                    break
            if waiting:
                await self._plan(name)
        except StoreError:
            # What the store holds stays there: the pass is tried again shortly.
            self.stats.errors += 1
            self._plan_at(name, self.clock.now() + RETRY)
        return taken

    async def _deliver(self, name: str, taken: _Taken) -> bool:
        """Deliver one message taken from a store queue; False if it was left there to wait
        (no consumer takes it now, or the store failed)."""
        message = taken.message
        if self._expired(message):
            return await self._move_to_dead_letters(
                taken, "Expired", "the message's time to live passed"
            )
        link = self._target(name, message)
        if link is None:
            self._release(taken)  # no consumer's selector takes it: it waits
            return False
        delivery = message.system.get(DELIVERY, 1)
        error = await self._attempt(link, message, delivery)
        if error is None:
            await self._remove(taken)
            return True
        if self._exhausted(delivery):
            return await self._move_to_dead_letters(taken, error.code, error.message)
        self.stats.retries += 1
        delay = self._delay(delivery)
        try:
            # The redelivery, with its count, is stored before the message it repeats goes.
            await self._put(name, [self._redelivery(message, delivery + 1, link)], delay)
        except StoreError as problem:
            self.fail(problem.code, problem.message, [message])
            self._release(taken)  # delivered again once its hand-off ends
            return False
        await self._remove(taken)
        self.engine.later(delay, self._pump, name)
        return True

    async def _move_to_dead_letters(self, taken: _Taken, code: str, text: str) -> bool:
        # Stored in the DLQ before it leaves its queue: a crash in between keeps both copies.
        if not await self._to_dead_letters(taken.message, code, text):
            self._release(taken)
            return False
        await self._remove(taken)
        return True

    def _target(self, name: str, message: Message) -> Link | None:
        consumer = self.subscriptions.get(name)
        if consumer is not None:
            if consumer in self.offline:
                return None
            return next((link for link in self.links if link.target.id == consumer), None)
        pinned = self._links.get(message.system.get(CONSUMER, ""))
        if pinned is not None and self._selected(pinned, message):
            return pinned  # a redelivery goes back to the consumer that rolled it back
        return self._consumer(message)

    async def _plan(self, name: str) -> None:
        """A delivery pass when the next held message becomes visible (a redelivery's delay
        or a hand-off ends)."""
        when = await self.engine.store.queue_next_change(name, self.clock.now())
        if when is not None:
            self._plan_at(name, when)

    def _plan_at(self, name: str, when: float) -> None:
        now = self.clock.now()
        planned = self._planned.get(name)
        if planned is not None and now < planned <= when:
            return  # an earlier pass is planned already
        self._planned[name] = when
        self.engine.later(max(0.0, when - now), self._planned_pump, name, when)

    async def _planned_pump(self, name: str, when: float) -> None:
        if self._planned.get(name) == when:
            del self._planned[name]
        await self._pump(name, plan=True)

    def gauges(self) -> dict[str, Any]:
        if self.is_queue:
            depth = self.held.get(self.id, 0)
        else:
            depth = sum(self.held.get(name, 0) for name in self.subscriptions)
        return {"depth": depth, "dlq_depth": self.held.get(self.dlq, 0)}


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
