"""The one registry of node kinds. Each kind lives in its own module; this dict lists them all."""

from __future__ import annotations

from runtime.nodes.base import GROUPS, Field, Kind
from runtime.nodes.broker import Broker
from runtime.nodes.email import Email
from runtime.nodes.event_bus import EventBus
from runtime.nodes.function import Function
from runtime.nodes.graphql_api import GraphqlApi
from runtime.nodes.http_api import HttpApi
from runtime.nodes.kafka_topic import KafkaTopic
from runtime.nodes.log import Log
from runtime.nodes.partner_source import PartnerSource
from runtime.nodes.producer import Producer
from runtime.nodes.queue import Queue
from runtime.nodes.rule import Rule
from runtime.nodes.sms import Sms
from runtime.nodes.state_machine import StateMachine
from runtime.nodes.stream import Stream
from runtime.nodes.topic import Topic
from runtime.nodes.webhook import Webhook

KINDS: dict[str, type[Kind]] = {
    kind.name: kind
    for kind in (
        Producer,
        PartnerSource,
        HttpApi,
        GraphqlApi,
        EventBus,
        Rule,
        Topic,
        Queue,
        Stream,
        KafkaTopic,
        Broker,
        Function,
        StateMachine,
        Webhook,
        Email,
        Sms,
        Log,
    )
}

__all__ = ["GROUPS", "KINDS", "Field", "Kind"]
