"""CloudFormation import: the exported subset round-trips; other resources are named first."""

from __future__ import annotations

import contextlib
import json
import random
from typing import Any

import pytest
import yaml

from runtime.formats import FormatError, UnsupportedResources, export, import_document
from runtime.formats.cloudformation import build
from runtime.formats.cloudformation_import import to_document
from runtime.nodes import KINDS
from runtime.spec import TopologySpec, load
from tests.runtime.formats.samples import demo, every_kind


def round_trip(spec: TopologySpec) -> TopologySpec:
    text = export(spec, "cloudformation").content
    return load(import_document(text, filename="stack.yaml").document)


def edge_settings(spec: TopologySpec) -> dict[str, dict[str, Any]]:
    return {
        edge.id: {**KINDS[spec.node(edge.source).kind].edge_defaults(), **edge.config}
        for edge in spec.edges
    }


@pytest.mark.parametrize("sample", [demo, every_kind], ids=["demo", "every-kind"])
def test_export_import_export_gives_the_same_template(sample: Any) -> None:
    first = export(sample(), "cloudformation").content
    again = export(round_trip(sample()), "cloudformation").content
    assert again == first


@pytest.mark.parametrize("sample", [demo, every_kind], ids=["demo", "every-kind"])
def test_the_round_trip_keeps_every_setting_position_and_label(sample: Any) -> None:
    spec = sample()
    back = round_trip(spec)
    assert back.name == spec.name and back.description == spec.description
    assert [(n.id, n.kind, n.label, n.x, n.y) for n in back.nodes] == [
        (n.id, n.kind, n.label, n.x, n.y) for n in spec.nodes
    ]
    assert {n.id: n.settings() for n in back.nodes} == {n.id: n.settings() for n in spec.nodes}
    assert edge_settings(back) == edge_settings(spec)


def test_an_edited_property_imports_as_edited() -> None:
    template, _ = build(demo())
    template["Resources"]["OrdersQueue"]["Properties"]["VisibilityTimeout"] = 120
    rule = template["Resources"]["NewOrders"]["Properties"]
    rule["EventPattern"] = {"source": ["shop"]}
    document, _ = to_document(yaml.safe_load(yaml.safe_dump(template)))
    spec = load(document)
    assert spec.node("orders-queue").settings()["visibility_timeout"] == 120
    assert spec.node("new-orders").settings()["event_pattern"] == {"source": ["shop"]}


def test_edited_api_stages_usage_plans_and_cors_import_as_edited() -> None:
    template, _ = build(every_kind())
    resources = template["Resources"]
    resources["RestApiStage"]["Properties"]["StageName"] = "v2"
    resources["RestApiUsagePlan"]["Properties"]["Quota"]["Limit"] = 50
    resources["RestApiApiKey1"]["Properties"]["Value"] = "another-key-0123456789"
    resources["HttpApiStage"]["Properties"]["DefaultRouteSettings"]["ThrottlingBurstLimit"] = 7
    resources["HttpApi"]["Properties"]["CorsConfiguration"]["AllowOrigins"] = ["*"]
    spec = load(to_document(template)[0])
    rest, http = spec.node("rest-api").settings(), spec.node("http-api").settings()
    assert (rest["stage"], rest["quota_limit"], rest["api_keys"]) == (
        "v2",
        50,
        ["another-key-0123456789"],
    )
    assert (http["throttle_burst"], http["cors_allow_origins"]) == (7, ["*"])


def test_edited_event_source_mappings_import_as_edited() -> None:
    template, _ = build(every_kind())
    resources = template["Resources"]
    resources["JavaWorkerSourceEStreamJava"]["Properties"]["StartingPositionTimestamp"] = 0
    resources["WorkerSourceEKafkaWorker"]["Properties"]["StartingPosition"] = "TRIM_HORIZON"
    resources["WorkerSourceEStreamWorker"]["Properties"]["BatchSize"] = 25
    spec = load(to_document(template)[0])
    configs = {edge.id: edge.config for edge in spec.edges}
    assert configs["e-stream-java"]["starting_timestamp"] == "1970-01-01T00:00:00Z"
    assert configs["e-kafka-worker"]["auto_offset_reset"] == "earliest"
    assert configs["e-stream-worker"] == {"enhanced_fan_out": True, "batch_size": 25}


def test_edited_and_added_routes_import_as_edited() -> None:
    template, _ = build(every_kind())
    resources = template["Resources"]
    resources["RestApiPostOrdersIdItems"]["Properties"]["ApiKeyRequired"] = False
    resources["HttpApiIntegrationPostJobs"]["Properties"]["RequestParameters"]["QueueUrl"] = {
        "Ref": "Ordered"
    }
    resources["HttpApiRouteExtra"] = {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": {"Ref": "HttpApi"},
            "RouteKey": "DELETE /jobs/{id}",
            "Target": {"Fn::Sub": "integrations/${HttpApiIntegrationPostJobs}"},
        },
    }
    spec = load(to_document(template)[0])
    rest = {(r["method"], r["path"]): r for r in spec.node("rest-api").settings()["routes"]}
    http = {(r["method"], r["path"]): r for r in spec.node("http-api").settings()["routes"]}
    assert rest[("POST", "/orders/{id}/items")]["api_key_required"] is False
    assert http[("POST", "/jobs")]["integration"] == {"action": "SendMessage", "target": "ordered"}
    assert http[("DELETE", "/jobs/{id}")]["integration"]["target"] == "ordered"
    assert http[("POST", "/events")]["integration"] == {"action": "PutEvents", "target": "bus"}


def test_unsupported_resources_are_each_named_and_refused() -> None:
    template, _ = build(demo())
    template["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket"}
    template["Resources"]["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": {}}
    with pytest.raises(UnsupportedResources) as refused:
        to_document(template)
    assert refused.value.resources == [
        ("Bucket", "AWS::S3::Bucket"),
        ("Table", "AWS::DynamoDB::Table"),
    ]
    assert "Bucket (AWS::S3::Bucket)" in str(refused.value)
    assert "Table (AWS::DynamoDB::Table)" in str(refused.value)


def test_the_rest_imports_when_the_user_agrees_to_skip_them() -> None:
    template, _ = build(demo())
    template["Resources"]["Bucket"] = {"Type": "AWS::S3::Bucket"}
    document, skipped = to_document(template, skip_unsupported=True)
    assert skipped == ["Bucket (AWS::S3::Bucket)"]
    assert len(load(document).nodes) == len(demo().nodes)


def test_a_hand_written_template_becomes_nodes_and_edges() -> None:
    template = yaml.safe_load(
        """
Resources:
  Orders:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: "60"
      RedrivePolicy: '{"deadLetterTargetArn": "x", "maxReceiveCount": 2}'
  Alerts:
    Type: AWS::SNS::Topic
  AlertsToOrders:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: {Ref: Alerts}
      Protocol: sqs
      Endpoint: {"Fn::GetAtt": [Orders, Arn]}
      FilterPolicy: {level: [high]}
"""
    )
    spec = load(to_document(template)[0])
    assert [node.kind for node in spec.nodes] == ["queue", "topic"]
    assert spec.node("Orders").settings()["visibility_timeout"] == 60
    assert spec.node("Orders").settings()["max_receive_count"] == 2
    (edge,) = spec.edges
    assert (edge.source, edge.target) == ("Alerts", "Orders")
    assert edge.config["filter_policy"] == {"level": ["high"]}


def test_short_tags_are_read_as_their_long_forms() -> None:
    text = """
Resources:
  Orders: {Type: AWS::SQS::Queue}
  Worker:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.12, Role: !GetAtt Role.Arn, Timeout: 9}
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties: {EventSourceArn: !GetAtt Orders.Arn, FunctionName: !Ref Worker}
"""
    spec = load(import_document(text, fmt="cloudformation").document)
    assert spec.node("Worker").settings()["timeout"] == 9
    assert [(e.source, e.target) for e in spec.edges] == [("Orders", "Worker")]


def test_a_file_without_resources_is_not_a_template() -> None:
    with pytest.raises(FormatError, match="no Resources"):
        import_document("Description: nothing here\n", fmt="cloudformation")


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(paths_of(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(paths_of(item, (*prefix, index)))
    return found


def replaced(template: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(template))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return copy


def test_a_mangled_template_gives_a_clear_error_never_a_crash() -> None:
    template, _ = build(every_kind())
    odd_values: list[Any] = [None, [], {}, "x", 7, [["x"]], {"Ref": ["x"]}, {"a": {"b": 1}}]
    picker = random.Random(7)
    for path in picker.sample(paths_of(template), 400):
        mangled = replaced(template, path, picker.choice(odd_values))
        # Whatever the importer makes of it is then validated by runtime.spec.load.
        with contextlib.suppress(FormatError):
            to_document(mangled, skip_unsupported=True)
