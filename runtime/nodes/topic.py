"""SNS topic: standard or FIFO fan-out to subscribers, with a filter policy per subscription."""

from __future__ import annotations

import inspect
import json
from typing import Any

from runtime.nodes.base import Field, Kind, Problem, non_default

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
