"""AsyncAPI: the export validates against the AsyncAPI 3.0.0 JSON schema from @asyncapi/specs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from runtime.formats.asyncapi import build, render, schema_of
from tests.runtime.formats.samples import demo, every_kind


@pytest.fixture(scope="module")
def validator(asyncapi_schema_dir: Path) -> Any:
    schema = json.loads((asyncapi_schema_dir / "3.0.0-without-$id.json").read_text())
    return jsonschema.validators.validator_for(schema)(schema)


@pytest.mark.parametrize("sample", [demo, every_kind], ids=["demo", "every-kind"])
def test_the_export_validates_against_the_asyncapi_3_schema(validator: Any, sample: Any) -> None:
    document = yaml.safe_load(render(sample())[0])
    errors = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)
    ]
    assert errors == []


def test_the_schema_is_a_real_check(validator: Any) -> None:
    document = build(demo())
    document["operations"]["api-to-bus"]["action"] = "publish"  # AsyncAPI 2 wording
    assert list(validator.iter_errors(document))


def test_buses_topics_queues_and_streams_are_channels() -> None:
    document = build(demo())
    assert {"orders-bus", "orders-queue", "notifications", "clickstream"} <= set(
        document["channels"]
    )
    assert document["channels"]["orders-bus"]["address"] == "orders"
    assert "fulfil-order" not in document["channels"]


def test_producers_send_and_consumers_receive() -> None:
    operations = build(demo())["operations"]
    assert operations["checkout-to-bus"]["action"] == "send"
    assert operations["queue-fulfil"]["action"] == "receive"
    assert operations["queue-fulfil"]["channel"] == {"$ref": "#/channels/orders-queue"}


def test_message_examples_come_from_the_producers() -> None:
    messages = build(demo())["components"]["messages"]
    (example,) = messages["orders-bus-message"]["examples"]
    assert example["payload"]["detail-type"] == "OrderPlaced"
    assert example["payload"]["detail"]["total"] == 120
    (clicks,) = messages["clickstream-message"]["examples"]
    assert clicks["payload"]["page"] == "/p/{{n}}"


def test_payload_schemas_follow_the_producers_samples() -> None:
    messages = build(demo())["components"]["messages"]
    clicks = messages["clickstream-message"]["payload"]
    assert clicks == {
        "type": "object",
        "properties": {"user": {"type": "string"}, "page": {"type": "string"}},
    }
    bus = messages["orders-bus-message"]["payload"]
    assert bus["properties"]["detail"]["properties"]["total"] == {"type": "integer"}
    assert messages["orders-queue-message"]["payload"]["type"][0] == "object"  # no producer


def test_numeric_placeholders_are_integers() -> None:
    assert schema_of({"seq": "{{n}}", "dice": "{{int 1 6}}", "id": "{{uuid}}"})["properties"] == {
        "seq": {"type": "integer"},
        "dice": {"type": "integer"},
        "id": {"type": "string"},
    }
