"""CloudFormation: cfn-lint (the AWS linter) finds no error in the demo or in every kind."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint

from runtime.formats import export
from runtime.formats.cloudformation import build, camel, render
from runtime.spec import SCHEMA, load
from tests.runtime.formats.samples import demo, every_kind, every_kind_document


def lint_errors(text: str) -> list[str]:
    matches = lint(text, config=ManualArgs(regions=["us-east-1"]))
    return [f"{m.rule.id} {m.message} (line {m.linenumber})" for m in matches]


def resources_of(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


@pytest.mark.parametrize("sample", [demo, every_kind], ids=["demo", "every-kind"])
def test_cfn_lint_reports_nothing(sample: Any) -> None:
    text, _ = render(sample())
    assert lint_errors(text) == []


def test_cfn_lint_is_a_real_check_that_catches_a_broken_template() -> None:
    template, _ = build(demo())
    template["Resources"]["OrdersQueue"]["Properties"]["VisibilityTimeout"] = 99999
    assert any(error.startswith("E3034") for error in lint_errors(yaml.safe_dump(template)))


def test_queues_carry_fifo_settings_and_redrive() -> None:
    template, _ = build(every_kind())
    ordered = template["Resources"]["Ordered"]["Properties"]
    assert ordered["FifoQueue"] is True
    assert ordered["DeduplicationScope"] == "messageGroup"
    jobs = template["Resources"]["Jobs"]["Properties"]
    assert jobs["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["JobsDlq", "Arn"]},
        "maxReceiveCount": 4,
    }
    assert "FifoQueue" not in jobs  # CloudFormation refuses FifoQueue: false


def test_subscriptions_carry_filter_policies_raw_delivery_and_dlq() -> None:
    template, _ = build(every_kind())
    subs = resources_of(template, "AWS::SNS::Subscription")
    hook = next(s["Properties"] for s in subs.values() if s["Properties"]["Protocol"] == "https")
    assert hook["FilterPolicyScope"] == "MessageBody"
    assert hook["RawMessageDelivery"] is True
    assert hook["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["RuleDlq", "Arn"]}}
    assert hook["DeliveryPolicy"]["healthyRetryPolicy"]["numRetries"] == 5
    emails = [s for s in subs.values() if s["Properties"]["Protocol"] == "email"]
    assert [s["Properties"]["Endpoint"] for s in emails] == ["a@example.com", "b@example.com"]


def test_rule_targets_carry_inputs_retry_policy_and_dlq() -> None:
    template, _ = build(every_kind())
    targets = {t["Id"]: t for t in template["Resources"]["AllOrders"]["Properties"]["Targets"]}
    assert targets["e-all-jobs"]["InputPath"] == "$.detail"
    assert targets["e-all-alerts"]["InputTransformer"]["InputTemplate"] == '{"total": <total>}'
    assert targets["e-all-flow"]["Input"] == '{"go": true}'
    assert targets["e-all-fifo"]["SqsParameters"] == {"MessageGroupId": "orders"}
    assert targets["e-all-flow"]["RetryPolicy"]["MaximumRetryAttempts"] == 3
    assert "RoleArn" in targets["e-all-flow"] and "RoleArn" not in targets["e-all-jobs"]


def test_queue_and_topic_policies_let_sns_and_eventbridge_send() -> None:
    template, _ = build(every_kind())
    policy = template["Resources"]["JobsPolicy"]["Properties"]["PolicyDocument"]
    services = {s["Principal"]["Service"] for s in policy["Statement"]}
    assert services == {"sns.amazonaws.com", "events.amazonaws.com"}
    assert "AlertsPolicy" in resources_of(template, "AWS::SNS::TopicPolicy")


def test_functions_get_roles_event_sources_and_a_stub() -> None:
    template, _ = build(every_kind())
    worker = template["Resources"]["Worker"]["Properties"]
    assert "def handler" in worker["Code"]["ZipFile"]
    assert template["Resources"]["JavaWorker"]["Properties"]["Code"]["S3Key"] == "java-worker.zip"
    mappings = resources_of(template, "AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 7  # queues, streams (one by fan-out), Kafka, both brokers
    assert "CodeBucket" in template["Parameters"]


def test_big_batches_from_standard_queues_get_a_batching_window() -> None:
    document = every_kind_document()
    for entry in document["nodes"]:
        if entry["id"] == "worker":
            entry["config"]["batch_size"] = 100
    template, _ = build(load(document))
    mapping = template["Resources"]["WorkerSourceEJobsWorker"]["Properties"]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (100, 1)
    assert lint_errors(render(load(document))[0]) == []


def test_msk_gets_network_parameters_and_a_topic_note() -> None:
    template, _ = build(every_kind())
    cluster = template["Resources"]["MskCluster"]
    assert cluster["Metadata"]["Flowyard"]["topics"][0]["partitions"] == 6
    assert {"MskSubnetIds", "MskSecurityGroupIds"} <= set(template["Parameters"])


def test_apis_of_both_types_get_routes_integrations_and_endpoints() -> None:
    template, warnings = build(every_kind())
    methods = resources_of(template, "AWS::ApiGateway::Method")
    assert len(methods) == 6
    routes = resources_of(template, "AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} >= {"ANY /{proxy+}"}
    assert {"RestApiEndpoint", "HttpApiEndpoint", "WorkflowArn", "JobsUrl"} <= set(
        template["Outputs"]
    )
    assert any("SNS cannot deliver to a log" in warning for warning in warnings)


def test_webhook_targets_become_api_destinations() -> None:
    template, _ = build(every_kind())
    targets = {t["Id"]: t for t in template["Resources"]["Nightly"]["Properties"]["Targets"]}
    assert targets["e-nightly-hook"]["Arn"] == {"Fn::GetAtt": ["HookDestination", "Arn"]}
    destination = template["Resources"]["HookDestination"]["Properties"]
    assert destination["InvocationEndpoint"] == "https://hooks.example.com/x"
    assert template["Parameters"]["WebhookApiKey"]["NoEcho"] is True


def test_graphql_apis_become_appsync_apis_with_their_schema() -> None:
    template, warnings = build(every_kind())
    api = template["Resources"]["GraphqlOidc"]["Properties"]
    assert api["AuthenticationType"] == "OPENID_CONNECT"
    assert api["OpenIDConnectConfig"] == {"Issuer": {"Ref": "OidcIssuer"}}
    schema = template["Resources"]["GraphqlSchema"]["Properties"]
    assert "type Mutation" in schema["Definition"]
    assert "GraphqlKey" in template["Resources"]
    assert any("graphql-oidc: mutation targets" in warning for warning in warnings)


def test_state_machines_carry_their_asl_with_the_nodes_they_call_substituted() -> None:
    template, _ = build(demo())
    machine = template["Resources"]["PaymentWorkflow"]["Properties"]
    assert machine["Definition"]["StartAt"] == "ChargeCard"
    assert machine["Definition"]["States"]["ChargeCard"]["Resource"] == "${ChargeCardArn}"
    assert machine["DefinitionSubstitutions"] == {
        "ChargeCardArn": {"Fn::GetAtt": ["ChargeCard", "Arn"]}
    }
    workflow = build(every_kind())[0]["Resources"]["Workflow"]["Properties"]
    states = workflow["Definition"]["States"]
    assert states["Work"]["Parameters"] == {"FunctionName": "${WorkerArn}", "Payload.$": "$"}
    assert states["Enqueue"]["Parameters"]["QueueUrl"] == "${JobsUrl}"
    assert workflow["DefinitionSubstitutions"]["JobsUrl"] == {"Ref": "Jobs"}


def test_logical_ids_are_derived_from_node_ids_and_unique() -> None:
    assert camel("orders-queue") == "OrdersQueue"
    assert camel("2fa") == "N2fa"
    nodes = [
        {"id": "a-b", "kind": "queue", "x": 0, "y": 0},
        {"id": "a_b", "kind": "queue", "x": 0, "y": 100},
    ]
    template, _ = build(load({"schema": SCHEMA, "name": "Twins", "nodes": nodes}))
    assert [r["Metadata"]["Flowyard"]["id"] for r in template["Resources"].values()] == [
        "a-b",
        "a_b",
    ]
    assert list(template["Resources"]) == ["AB", "AB2"]


def test_the_same_topology_gives_the_same_template() -> None:
    assert export(every_kind(), "cloudformation") == export(every_kind(), "cloudformation")


def test_put_events_integrations_name_events_as_the_gateway_does() -> None:
    document = every_kind_document()
    rest = next(entry for entry in document["nodes"] if entry["id"] == "rest-api")
    rest["config"]["stage_variables"] = {"source": "shop", "detail_type": "Order Placed"}
    template, _ = build(load(document))
    method = template["Resources"]["RestApiPostOrders"]["Properties"]["Integration"]
    entry = json.loads(method["RequestTemplates"]["application/json"])["Entries"][0]
    assert (entry["Source"], entry["DetailType"]) == ("shop", "Order Placed")
    routes = resources_of(template, "AWS::ApiGatewayV2::Integration")
    events = next(
        r["Properties"]
        for r in routes.values()
        if r["Properties"].get("IntegrationSubtype") == "EventBridge-PutEvents"
    )
    assert events["RequestParameters"]["Source"] == "flowyard.http-api"


def test_a_rest_route_exports_its_required_parameters_and_method_level_throttle() -> None:
    template, _ = build(every_kind())
    methods = resources_of(template, "AWS::ApiGateway::Method")
    items = next(
        m["Properties"] for m in methods.values() if "RequestParameters" in m["Properties"]
    )
    assert items["RequestParameters"] == {
        "method.request.path.id": True,
        "method.request.header.x-tenant": True,
        "method.request.querystring.page": True,
    }
    stages = resources_of(template, "AWS::ApiGateway::Stage")
    settings = next(iter(stages.values()))["Properties"]["MethodSettings"]
    assert settings[0]["ResourcePath"] == "/*"  # the stage default stays first
    assert settings[1] == {
        "ResourcePath": "/~1orders~1{id}~1items",
        "HttpMethod": "POST",
        "ThrottlingRateLimit": 5.0,
        "ThrottlingBurstLimit": 2,
    }
