"""SNS topic: standard or FIFO fan-out to subscribers, with a filter policy per subscription."""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
from typing import Any

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem, non_default
from runtime.nodes.behaviour import (
    DeliveryFailed,
    Link,
    NodeRuntime,
    message_bytes,
    sns_attributes,
)
from runtime.templates import iso_time

FIFO_SUBSCRIBERS = frozenset({"queue"})  # FIFO topics accept only SQS subscriptions
MAX_FILTER_KEYS = 5
MAX_FILTER_COMBINATIONS = 150
MAX_FILTER_BYTES = 262144
MAX_RETRY_SECONDS = 3600
NESTED_IN_ATTRIBUTES = "Filter policy scope MessageAttributes does not support nested filter policy"
FIFO_ONLY = ("content_based_deduplication", "fifo_throughput_scope")


class Topic(Kind):
    name = "topic"
    label = "Topic"
    group = "Routing"
    icon = "◎"
    description = (
        "SNS topic: fans every message out to each subscriber whose filter policy matches."
    )
    models = "Amazon SNS"
    feeds = frozenset({"queue", "function", "webhook", "email", "sms", "log"})
    fields = (
        Field(
            "fifo",
            "bool",
            False,
            "FIFO topic: strict order per message group and 5-minute deduplication. Only queues "
            "may subscribe. Fixed when the topic is created.",
            label="FIFO",
        ),
        Field(
            "content_based_deduplication",
            "bool",
            False,
            "FIFO only: use a SHA-256 of the body as the deduplication id when none is given.",
        ),
        Field(
            "fifo_throughput_scope",
            "choice",
            "Topic",
            "FIFO only: deduplicate and count throughput across the topic or per message group.",
            choices=("Topic", "MessageGroup"),
        ),
        Field(
            "display_name",
            "str",
            "",
            "Sender name shown on SMS and email deliveries.",
            max_length=100,
        ),
        Field(
            "max_message_size",
            "int",
            262144,
            "Largest accepted message, body and attributes, in UTF-8 bytes (SNS stays at 256 KiB).",
            minimum=1,
            maximum=262144,
            unit="bytes",
        ),
        Field(
            "num_retries",
            "int",
            3,
            "HTTP/S delivery policy: retries after a failed delivery to a webhook, in total "
            "over all phases (immediate, minimum-delay, back-off, maximum-delay). Queues and "
            "functions use SNS's fixed policy; email and SMS theirs.",
            label="Retries",
            minimum=0,
            maximum=100,
        ),
        Field(
            "num_no_delay_retries",
            "int",
            0,
            "HTTP/S delivery policy: retries made at once, before any delay.",
            label="Immediate retries",
            minimum=0,
            maximum=100,
        ),
        Field(
            "num_min_delay_retries",
            "int",
            0,
            "HTTP/S delivery policy: retries made min delay apart, before back-off starts.",
            label="Retries at minimum delay",
            minimum=0,
            maximum=100,
        ),
        Field(
            "num_max_delay_retries",
            "int",
            0,
            "HTTP/S delivery policy: retries made max delay apart, after back-off.",
            label="Retries at maximum delay",
            minimum=0,
            maximum=100,
        ),
        Field(
            "min_delay_target",
            "int",
            20,
            "HTTP/S delivery policy: the shortest delay between retries.",
            label="Minimum delay",
            minimum=1,
            maximum=MAX_RETRY_SECONDS,
            unit="s",
        ),
        Field(
            "max_delay_target",
            "int",
            20,
            "HTTP/S delivery policy: the longest delay between retries.",
            label="Maximum delay",
            minimum=1,
            maximum=MAX_RETRY_SECONDS,
            unit="s",
        ),
        Field(
            "backoff_function",
            "choice",
            "linear",
            "HTTP/S delivery policy: how delays grow from minimum to maximum during back-off.",
            choices=("linear", "arithmetic", "geometric", "exponential"),
        ),
        Field(
            "max_receives_per_second",
            "int",
            0,
            "HTTP/S throttle policy: most deliveries per second to one webhook. 0: no limit.",
            minimum=0,
            unit="msg/s",
        ),
    )
    edge_fields = (
        Field(
            "filter_policy",
            "json",
            None,
            'Which messages this subscriber receives, e.g. {"event": ["order_placed"]} or '
            '{"price": [{"numeric": [">", 0, "<=", 100]}]}. Every key must match (AND), '
            "any value in a key's array may match (OR); a message lacking a key does not match. "
            "Operators: prefix, suffix, equals-ignore-case, anything-but, numeric, exists, cidr, "
            "$or. At most 5 keys and 150 combinations. null: receive everything.",
            editor="filter_policy",
        ),
        Field(
            "filter_policy_scope",
            "choice",
            "MessageAttributes",
            "MessageAttributes: the policy matches attribute names (no nesting). MessageBody: "
            "it matches the JSON body, nested like the body; non-JSON bodies never match.",
            choices=("MessageAttributes", "MessageBody"),
        ),
        Field(
            "raw_message_delivery",
            "bool",
            False,
            "Queues and webhooks: deliver the published message as is instead of the SNS JSON "
            "envelope (whose Message field is a string, so JSON arrives double-encoded).",
        ),
        Field(
            "dead_letter_queue",
            "node",
            "",
            "Queue that receives messages this subscription could not deliver after its "
            "retries. Empty: they are dropped.",
            label="DLQ",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        if not config["fifo"]:
            for name in non_default(config, cls.fields, FIFO_ONLY):
                problems.append((f"/{name}", "applies only when fifo is true"))
        phases = (
            config["num_no_delay_retries"]
            + config["num_min_delay_retries"]
            + config["num_max_delay_retries"]
        )
        if phases > config["num_retries"]:
            problems.append(
                ("/num_retries", f"must be at least the retries of the phases ({phases})")
            )
        low, high = config["min_delay_target"], config["max_delay_target"]
        if low > high:
            problems.append(("/max_delay_target", "must be at least the minimum delay"))
        elif phases <= config["num_retries"]:
            seconds = retry_seconds(config)
            if seconds > MAX_RETRY_SECONDS:
                problems.append(
                    (
                        "/num_retries",
                        f"the retries last about {seconds:.0f} s; SNS allows at most "
                        f"{MAX_RETRY_SECONDS} s in total",
                    )
                )
        return problems

    @classmethod
    def semantic_edge_checks(cls, config: dict[str, Any]) -> list[Problem]:
        policy = config["filter_policy"]
        if policy is None:
            return []
        return filter_policy_problems(policy, config["filter_policy_scope"])


def retry_seconds(config: dict[str, Any]) -> float:
    """Total time of an HTTP/S retry schedule, back-off delays spread evenly (an estimate)."""
    low, high = config["min_delay_target"], config["max_delay_target"]
    backoff = config["num_retries"] - (
        config["num_no_delay_retries"]
        + config["num_min_delay_retries"]
        + config["num_max_delay_retries"]
    )
    total = config["num_min_delay_retries"] * low + config["num_max_delay_retries"] * high
    if backoff > 0:
        total += sum(low + (high - low) * step / backoff for step in range(1, backoff + 1))
    return total


def filter_policy_problems(policy: Any, scope: str) -> list[Problem]:
    """A filter policy's problems: the shared matcher when available, else a shallow check."""
    pointer = "/filter_policy"
    if not isinstance(policy, dict):
        return [(pointer, "must be a JSON object")]
    if len(json.dumps(policy).encode()) > MAX_FILTER_BYTES:
        return [(pointer, "must be at most 256 KiB")]
    try:
        from runtime.patterns import FilterPolicyError, compile_filter_policy
    except ImportError:
        return _shallow_filter_problems(policy, scope)
    try:
        if "scope" in inspect.signature(compile_filter_policy).parameters:
            compile_filter_policy(policy, scope=scope)
        else:
            compile_filter_policy(policy)
    except FilterPolicyError as error:
        return [(pointer, str(error))]
    return []


def _shallow_filter_problems(policy: dict[str, Any], scope: str) -> list[Problem]:
    pointer = "/filter_policy"
    keys = [key for key in policy if key != "$or"]
    if len(keys) > MAX_FILTER_KEYS:
        return [(pointer, "Filter policy can not have more than 5 keys")]
    problems: list[Problem] = []
    combinations = 1

    def walk(node: dict[str, Any], where: str, depth: int) -> None:
        nonlocal combinations
        for key, value in node.items():
            here = f"{where}/{key}"
            if isinstance(value, dict):
                if scope == "MessageAttributes":
                    problems.append(
                        (
                            here,
                            NESTED_IN_ATTRIBUTES,
                        )
                    )
                else:
                    walk(value, here, depth + 1)
            elif isinstance(value, list):
                if not value:
                    problems.append((here, "Empty arrays are not allowed"))
                elif key != "$or":
                    combinations *= len(value) * depth
            else:
                problems.append((here, f'"{key}" must be an object or an array'))

    walk(policy, pointer, 1)
    if not problems and combinations > MAX_FILTER_COMBINATIONS:
        problems.append((pointer, "Filter policy is too complex"))
    return problems


DEDUP_WINDOW = 300.0
MAX_BATCH = 10  # PublishBatch entries
SIGNING_CERT = "https://sns.{region}.amazonaws.com/SimpleNotificationService-flowyard.pem"
UNSUBSCRIBE = "https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={arn}"
# AWS-managed endpoints (queues, functions): 3 immediate, 2 at 1 s, 10 backing off 1→20 s,
# then every 20 s (100,000 of them in AWS; bounded here).
MANAGED_DELAYS = (0.0,) * 3 + (1.0,) * 2 + tuple(min(20.0, 2.0**i) for i in range(10))
MANAGED_TAIL, MANAGED_TAIL_DELAY = 1000, 20.0


def http_retry_delays(settings: dict[str, Any]) -> list[float]:
    """The delay before each retry of an HTTP/S delivery policy, phase by phase."""
    low, high = float(settings["min_delay_target"]), float(settings["max_delay_target"])
    immediate, minimum = settings["num_no_delay_retries"], settings["num_min_delay_retries"]
    maximum = settings["num_max_delay_retries"]
    backoff = max(0, settings["num_retries"] - immediate - minimum - maximum)
    delays = [0.0] * immediate + [low] * minimum
    function = settings["backoff_function"]
    for step in range(1, backoff + 1):
        share = step / backoff
        if function == "linear":
            delay = low + (high - low) * share
        elif function == "arithmetic":
            delay = low + (high - low) * share * share
        elif function == "geometric":
            delay = low * (high / low) ** share
        else:
            delay = min(high, low * 2 ** (step - 1))
        delays.append(delay)
    return delays + [high] * maximum


def dedup_key(message: Message, content_based: bool) -> str | None:
    explicit = message.system.get("MessageDeduplicationId")
    if explicit:
        return str(explicit)
    if not content_based:
        return None
    body = message.body if isinstance(message.body, str) else json.dumps(message.body)
    return hashlib.sha256(body.encode()).hexdigest()


class TopicNode(NodeRuntime):
    """SNS Publish and fan-out: each subscription (out-link) has its filter policy, delivery
    format (envelope or raw, Lambda records for functions) and its retry policy and DLQ."""

    kind = "topic"

    def setup(self) -> None:
        from runtime.patterns import FilterPolicyError, compile_filter_policy

        self.arn = self.engine.arn("sns", self.id)
        self.fifo = self.settings["fifo"]
        self.policies: dict[str, Any] = {}
        for link in self.links:
            policy = link.config["filter_policy"]
            if policy is None or policy == "":
                continue
            try:
                self.policies[link.id] = compile_filter_policy(
                    policy, link.config["filter_policy_scope"]
                )
            except FilterPolicyError as error:
                self.refuse(error.code, error.message)
                self.policies[link.id] = None  # an invalid policy delivers nothing
        self.http_delays = http_retry_delays(self.settings)
        self.dedup: dict[str, float] = {}
        self.sequence = 10000000000000000000
        region = self.engine.settings.region
        self.signing_cert = SIGNING_CERT.format(region=region)
        self.pending: dict[str, str] = {}  # edge id → confirmation token
        self.subscription_arns: dict[str, str] = {}

    # --- Publish --------------------------------------------------------------------------------
    def _problem(self, message: Message) -> tuple[str, str] | None:
        if message.body is None or message.body == "":
            return "InvalidParameter", "Invalid parameter: Empty message"
        limit = self.settings["max_message_size"]
        if message_bytes(message, limit) > limit:
            return "InvalidParameter", "Invalid parameter: Message too long"
        if self.fifo and not message.system.get("MessageGroupId"):
            return (
                "InvalidParameter",
                "Invalid parameter: The MessageGroupId parameter is required for FIFO topics",
            )
        if message.system.get("MessageStructure") == "json":
            structure = message.body if isinstance(message.body, dict) else None
            if structure is None or not isinstance(structure.get("default"), str):
                return (
                    "InvalidParameter",
                    "Invalid parameter: Message Structure - No default entry in JSON message body",
                )
        return None

    async def publish_batch(self, entries: list[dict[str, Any]]) -> dict[str, Any]:
        """PublishBatch: at most 10 entries {Id, Message, MessageAttributes?, MessageGroupId?,
        MessageDeduplicationId?, Subject?} totalling at most 256 KiB; per-entry results."""
        if len(entries) > MAX_BATCH:
            raise DeliveryFailed(
                "TooManyEntriesInBatchRequest",
                "The batch request contains more entries than permissible.",
                retriable=False,
            )
        ids = [entry.get("Id") for entry in entries]
        if len(set(ids)) != len(ids):
            raise DeliveryFailed(
                "BatchEntryIdsNotDistinct",
                "Two or more batch entries in the request have the same Id.",
                retriable=False,
            )
        total = sum(len(str(entry.get("Message", "")).encode()) for entry in entries)
        if total > self.settings["max_message_size"]:
            raise DeliveryFailed(
                "BatchRequestTooLong",
                "The length of all the messages put together is more than the limit.",
                retriable=False,
            )
        successful, failed = [], []
        for entry in entries:
            system = {
                name: entry[name]
                for name in ("MessageGroupId", "MessageDeduplicationId", "Subject")
                if name in entry
            }
            message = Message.new(
                entry.get("Message", ""),
                now=self.clock.now(),
                attributes=entry.get("MessageAttributes"),
                system=system,
                node=self.id,
            )
            refused = self.stats.refused
            await self.accept([message], None)
            if self.stats.refused > refused:
                failed.append({"Id": entry["Id"], "Code": "InvalidParameter", "SenderFault": True})
            else:
                successful.append({"Id": entry["Id"], "MessageId": message.id})
        return {"Successful": successful, "Failed": failed}

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        published: list[Message] = []
        now = self.clock.now()
        for message in messages:
            problem = self._problem(message)
            if problem is not None:
                self.refuse(*problem, message)
                continue
            system: dict[str, Any] | None = None
            if self.fifo:
                key = dedup_key(message, self.settings["content_based_deduplication"])
                if key is None:
                    self.refuse(
                        "InvalidParameter",
                        "Invalid parameter: The topic should either have ContentBasedDeduplication "
                        "enabled or MessageDeduplicationId provided explicitly",
                        message,
                    )
                    continue
                if self.settings["fifo_throughput_scope"] == "MessageGroup":
                    key = f"{message.system['MessageGroupId']}/{key}"
                first = self.dedup.get(key)
                if first is not None and now - first < DEDUP_WINDOW:
                    self.stats.duplicates += 1
                    continue
                self.dedup[key] = now
                self.sequence += 1
                system = {
                    **message.system,
                    "MessageDeduplicationId": key.rsplit("/", 1)[-1],
                    "SequenceNumber": str(self.sequence),
                }
            published.append(
                message.derive(self.id, message_id=self.engine.new_id(), system=system)
            )
        if not published:
            return
        self.note_received(published)
        if len(self.dedup) > 10000:
            self.dedup = {k: at for k, at in self.dedup.items() if now - at < DEDUP_WINDOW}
        for out in self.links:
            await self._fan_out(out, published)

    async def request_confirmation(self, edge_id: str) -> str:
        """Turn auto-confirm off for an HTTP/S subscription: it becomes PendingConfirmation and
        gets a SubscriptionConfirmation POST with a token; nothing else is sent until
        ``confirm_subscription(token)`` (semantics §2.1). Returns the token."""
        link = next(link for link in self.links if link.id == edge_id)
        token = f"{self.engine.new_id()}{self.engine.new_id()}".replace("-", "")
        self.pending[edge_id] = token
        subscription = f"{self.arn}:{edge_id}"
        region = self.engine.settings.region
        confirmation = {
            "Type": "SubscriptionConfirmation",
            "MessageId": self.engine.new_id(),
            "Token": token,
            "TopicArn": self.arn,
            "Message": f"You have chosen to subscribe to the topic {self.arn}.\nTo confirm the "
            "subscription, visit the SubscribeURL included in this message.",
            "SubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription"
            f"&TopicArn={self.arn}&Token={token}",
            "Timestamp": iso_time(self.clock.now(), millis=True),
            "SignatureVersion": "1",
            "SigningCertURL": self.signing_cert,
        }
        message = Message.new(confirmation, now=self.clock.now(), node=self.id)
        self.subscription_arns[edge_id] = subscription
        await self.deliver(link, [message])
        return token

    def confirm_subscription(self, token: str) -> str:
        """ConfirmSubscription: the matching pending subscription starts receiving."""
        for edge_id, pending in list(self.pending.items()):
            if pending == token:
                del self.pending[edge_id]
                return self.subscription_arns[edge_id]
        raise DeliveryFailed("InvalidParameter", "Invalid token", retriable=False)

    async def _fan_out(self, link: Link, published: list[Message]) -> None:
        if link.id in self.pending:
            return  # PendingConfirmation: not yet a subscriber
        policy = self.policies.get(link.id, False)
        chosen = published
        if policy is not False:
            chosen = [m for m in published if policy is not None and self._matches(policy, m)]
            dropped = len(published) - len(chosen)
            if dropped:
                self.stats.dropped += dropped
                if self.engine.message_events or any(m.traced for m in published):
                    kept = {id(m) for m in chosen}
                    self.note("dropped", [m for m in published if id(m) not in kept], link.id)
        if chosen:
            await self.deliver(link, [self._format(link, message) for message in chosen])

    def _matches(self, policy: Any, message: Message) -> bool:
        if policy.scope == "MessageAttributes":
            return policy.matches(sns_attributes(message.attributes))
        return policy.matches(message.body)

    # --- delivery formats (semantics §2.3) -------------------------------------------------------
    def _text(self, message: Message, protocol: str) -> str:
        body = message.body
        if message.system.get("MessageStructure") == "json" and isinstance(body, dict):
            chosen = body.get(protocol, body["default"])
            return chosen if isinstance(chosen, str) else json.dumps(chosen)
        return body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))

    def _format(self, link: Link, message: Message) -> Message:
        target = link.target.kind
        protocol = {"queue": "sqs", "function": "lambda", "webhook": "https"}.get(target, target)
        text = self._text(message, protocol)
        raw = link.config["raw_message_delivery"] and target in ("queue", "webhook")
        if target in ("email", "sms"):
            return message.derive(self.id, body=text)
        if raw:
            return message.derive(self.id, body=text)
        subscription = f"{self.arn}:{link.id}"
        envelope = self.envelope(message, text, subscription)
        if target == "function":
            record = {
                key.replace("SigningCertURL", "SigningCertUrl").replace(
                    "UnsubscribeURL", "UnsubscribeUrl"
                ): value
                for key, value in envelope.items()
            }
            body = {
                "Records": [
                    {
                        "EventSource": "aws:sns",
                        "EventVersion": "1.0",
                        "EventSubscriptionArn": subscription,
                        "Sns": record,
                    }
                ]
            }
            return message.derive(self.id, body=body, attributes={})
        return message.derive(self.id, body=envelope, attributes={})

    def envelope(self, message: Message, text: str, subscription: str) -> dict[str, Any]:
        envelope: dict[str, Any] = {"Type": "Notification", "MessageId": message.id}
        if self.fifo:
            envelope["SequenceNumber"] = message.system.get("SequenceNumber", "")
        envelope["TopicArn"] = self.arn
        subject = message.system.get("Subject")
        if subject:
            envelope["Subject"] = subject
        envelope["Message"] = text
        envelope["Timestamp"] = iso_time(self.clock.now(), millis=True)
        region = self.engine.settings.region
        if not self.fifo:
            envelope["SignatureVersion"] = "1"
            digest = hashlib.sha256(f"{message.id}{text}".encode()).digest()
            envelope["Signature"] = base64.b64encode(digest).decode()
            envelope["SigningCertURL"] = self.signing_cert
        envelope["UnsubscribeURL"] = UNSUBSCRIBE.format(region=region, arn=subscription)
        if message.attributes:
            envelope["MessageAttributes"] = {
                name: {"Type": value["DataType"], "Value": value["StringValue"]}
                for name, value in sns_attributes(message.attributes).items()
            }
        return envelope

    # --- retries --------------------------------------------------------------------------------
    def delivery_failed(
        self, link: Link, messages: list[Message], error: DeliveryFailed, attempt: int
    ) -> None:
        failed = error.failed if error.failed is not None else messages
        retries = attempt - 1
        if link.target.kind == "webhook":
            delays = self.http_delays
        elif link.target.kind in ("email", "sms"):
            delays = [10.0, 10.0] + [min(600.0, 10.0 * 2**i) for i in range(10)] + [600.0] * 38
        else:
            delays = list(MANAGED_DELAYS) + [MANAGED_TAIL_DELAY] * MANAGED_TAIL
        if error.retriable and retries < len(delays):
            self.stats.retries += len(failed)
            self.engine.later(delays[retries], self.deliver, link, failed, attempt + 1)
            return
        self.stats.dead_lettered += len(failed)
        dlq = self.engine.nodes.get(link.config["dead_letter_queue"] or "")
        for message in failed:
            self.engine.dead_lettered(
                self, message, dlq.id if dlq else "", error.code, error.message
            )
        if dlq is not None:
            self.engine.later(0, dlq.accept, [m.derive(self.id) for m in failed], None)
