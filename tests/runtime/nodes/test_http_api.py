from __future__ import annotations

from typing import Any

import pytest

from runtime.nodes.http_api import HttpApi, path_problem
from tests.runtime.nodes import problems


def route(method: str = "POST", path: str = "/orders", **extra: Any) -> dict[str, Any]:
    integration = {"action": "PutEvents", "target": "orders-bus"}
    return {"method": method, "path": path, "integration": integration, **extra}


def test_defaults_are_a_rest_api_throttled_at_the_account_limit() -> None:
    assert HttpApi.check_config({}) == []
    assert HttpApi.defaults()["throttle_rate"] == 10000
    assert HttpApi.defaults()["throttle_burst"] == 5000
    assert HttpApi.defaults()["timeout_ms"] == 29000


def test_an_http_api_has_no_input_and_feeds_integrations() -> None:
    assert not HttpApi.has_input
    assert HttpApi.feeds == {"event_bus", "queue", "topic", "stream", "state_machine", "function"}


def test_the_design_documents_example_route_is_valid() -> None:
    assert problems(HttpApi, stage="prod", routes=[route()]) == {}


@pytest.mark.parametrize("path", ["/", "/orders", "/pets/{id}", "/pets/{id}/toys", "/{proxy+}"])
def test_valid_paths_are_accepted(path: str) -> None:
    assert path_problem(path, api_type="REST") is None


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("orders", "must start with /"),
        ("/orders/", "must not have empty segments or a trailing /"),
        ("/{proxy+}/x", "{proxy+} must be the last segment"),
        ("/a/{id}/{id}", "parameter {id} appears twice"),
        ("/a{b", "segment 'a{b' must be a literal, a {param} or a final {proxy+}"),
        ("$default", "$default routes exist only on HTTP APIs"),
    ],
)
def test_malformed_paths_are_refused(path: str, message: str) -> None:
    assert path_problem(path, api_type="REST") == message
    assert problems(HttpApi, routes=[route(path=path)]) == {"/routes/0/path": message}


def test_the_default_route_is_allowed_on_http_apis() -> None:
    assert problems(HttpApi, api_type="HTTP", routes=[route("ANY", "$default")]) == {}


def test_routes_need_a_known_method_action_and_target() -> None:
    bad = {"method": "FETCH", "path": "/x", "integration": {"action": "Send", "target": ""}}
    found = problems(HttpApi, routes=[bad])
    assert found["/routes/0/method"].startswith("must be one of GET, POST")
    assert found["/routes/0/integration/action"].startswith("must be one of PutEvents")
    assert (
        found["/routes/0/integration/target"] == "must be the id of the node that receives requests"
    )
    assert problems(HttpApi, routes=["GET /x"]) == {
        "/routes/0": "must be an object with method, path and integration"
    }
    assert problems(HttpApi, routes=[route(extra=1)]) == {
        "/routes/0/extra": "unknown route setting 'extra'"
    }


def test_duplicate_method_and_path_are_refused() -> None:
    found = problems(HttpApi, routes=[route(path="/pets/{id}"), route(path="/pets/{id}")])
    assert found == {"/routes/1": "POST /pets/{id} duplicates route 0"}
    assert problems(HttpApi, routes=[route("GET"), route("POST")]) == {}


def test_sibling_parameters_must_share_a_name() -> None:
    found = problems(HttpApi, routes=[route("GET", "/pets/{id}"), route("PUT", "/pets/{petId}")])
    assert found == {"/routes/1/path": "{petId} conflicts with {id} at the same place in route 0"}


def test_api_keys_and_validation_are_rest_only() -> None:
    found = problems(
        HttpApi,
        api_type="HTTP",
        routes=[route(request_schema={"type": "object"}, api_key_required=True)],
    )
    assert found == {
        "/routes/0/request_schema": "request validation is REST only",
        "/routes/0/api_key_required": "API keys are REST only",
    }


def test_a_route_requiring_a_key_needs_keys() -> None:
    assert problems(HttpApi, routes=[route(api_key_required=True)]) == {
        "/routes/0/api_key_required": "needs at least one key in api_keys"
    }
    key = "k" * 20
    assert problems(HttpApi, api_keys=[key], routes=[route(api_key_required=True)]) == {}
    assert problems(HttpApi, api_keys=["short"]) == {
        "/api_keys/0": "must be 20-128 printable characters, no spaces"
    }


def test_throttling_cannot_exceed_the_account_limits() -> None:
    assert problems(HttpApi, throttle_rate=10001) == {"/throttle_rate": "must be 0..10000 req/s"}
    assert problems(HttpApi, throttle_burst=5001) == {"/throttle_burst": "must be 0..5000 requests"}


def test_the_integration_timeout_depends_on_the_api_type() -> None:
    assert problems(HttpApi, timeout_ms=49) == {"/timeout_ms": "must be 50..30000 ms"}
    assert problems(HttpApi, timeout_ms=30000) == {
        "/timeout_ms": "must be 50..29000 ms on a REST API"
    }
    assert problems(HttpApi, api_type="HTTP", timeout_ms=30000) == {}


def test_usage_plans_need_a_burst_and_a_rest_api() -> None:
    assert problems(HttpApi, usage_plan_rate=5) == {
        "/usage_plan_burst": "must be at least 1 when a usage plan rate is set"
    }
    assert problems(HttpApi, usage_plan_rate=5, usage_plan_burst=10, quota_limit=3) == {}
    assert problems(HttpApi, api_type="HTTP", quota_limit=3) == {
        "/quota_limit": "usage plans are REST only"
    }
    assert problems(HttpApi, quota_period="YEAR") == {
        "/quota_period": "must be one of 'DAY', 'WEEK', 'MONTH'"
    }


def test_cors_entries_are_checked() -> None:
    assert (
        problems(
            HttpApi,
            cors_allow_origins=["*", "https://app.example.com:8443"],
            cors_allow_methods=["GET", "*"],
            cors_allow_headers=["content-type", "x-api-key"],
        )
        == {}
    )
    found = problems(
        HttpApi,
        cors_allow_origins=["app.example.com", "https://a.com/path"],
        cors_allow_methods=["FETCH"],
        cors_allow_headers=["bad header"],
    )
    assert found == {
        "/cors_allow_origins/0": "must be * or scheme://host[:port], no path",
        "/cors_allow_origins/1": "must be * or scheme://host[:port], no path",
        "/cors_allow_methods/0": "must be * or an HTTP method",
        "/cors_allow_headers/0": "must be * or a header name",
    }


def test_stage_names_and_variables_follow_api_gateway() -> None:
    assert problems(HttpApi, stage="my stage") == {"/stage": "must match [A-Za-z0-9_-]+|\\$default"}
    assert problems(HttpApi, stage="") == {"/stage": "is required"}
    assert problems(HttpApi, stage="$default") == {
        "/stage": "$default stages exist only on HTTP APIs"
    }
    assert problems(HttpApi, stage_variables={"env": "prod"}) == {}
    assert problems(HttpApi, stage_variables={"bad-name": "x"}) == {
        "/stage_variables/bad-name": "names are 1-64 letters, digits or _"
    }
    assert problems(HttpApi, stage_variables={"v": "x" * 513}) == {
        "/stage_variables/v": "must be a string of at most 512 characters"
    }
    many = {f"v{i}": "x" for i in range(101)}
    assert problems(HttpApi, stage_variables=many) == {
        "/stage_variables": "must have at most 100 variables"
    }


def test_an_integration_action_that_is_not_a_string_is_an_error_not_a_crash() -> None:
    from runtime.nodes.http_api import HttpApi

    routes = [
        {"method": "POST", "path": "/x", "integration": {"action": ["Invoke"], "target": "f"}}
    ]
    problems = HttpApi.check_config({"routes": routes})
    assert any(pointer.endswith("/action") for pointer, _ in problems)


def test_required_parameters_name_a_query_string_header_or_path_parameter() -> None:
    declared = ["querystring.page", "header.X-Tenant", "path.id"]
    assert (
        problems(HttpApi, routes=[route(path="/orders/{id}", required_parameters=declared)]) == {}
    )


def test_required_parameters_with_an_unknown_location_or_no_name_are_refused() -> None:
    declared = ["body.page", "querystring.", "header.bad header", "path.id", 7]
    found = problems(HttpApi, routes=[route(required_parameters=declared)])
    where = "/routes/0/required_parameters"
    assert found == {
        f"{where}/0": "must be querystring.<name>, header.<name> or path.<name>",
        f"{where}/1": "needs a name after querystring.",
        f"{where}/2": "'bad header' is not a header name",
        f"{where}/3": "the route path has no {id}",
        f"{where}/4": "must be querystring.<name>, header.<name> or path.<name>",
    }


def test_required_parameters_are_a_list_of_at_most_50_on_a_rest_api() -> None:
    where = "/routes/0/required_parameters"
    many = [f"querystring.q{i}" for i in range(51)]
    assert problems(HttpApi, routes=[route(required_parameters=many)]) == {
        where: "must have at most 50 parameters"
    }
    assert problems(HttpApi, routes=[route(required_parameters="querystring.page")]) == {
        where: 'must be a list like ["querystring.page", "header.x-tenant"]'
    }
    http = problems(HttpApi, api_type="HTTP", routes=[route(required_parameters=["header.a"])])
    assert http == {where: "request validation is REST only"}


def test_a_route_throttle_needs_a_positive_rate_and_a_burst_within_the_account_limits() -> None:
    assert problems(HttpApi, routes=[route(throttle={"rate": 0.5, "burst": 0})]) == {}
    assert (
        problems(HttpApi, api_type="HTTP", routes=[route(throttle={"rate": 5, "burst": 1})]) == {}
    )
    found = problems(HttpApi, routes=[route(throttle={"rate": 0, "burst": 5001, "period": 1})])
    assert found == {
        "/routes/0/throttle/period": "unknown throttle setting 'period'",
        "/routes/0/throttle/rate": "must be a number above 0, at most 10000",
        "/routes/0/throttle/burst": "must be a whole number 0..5000",
    }
    assert problems(HttpApi, routes=[route(throttle={"rate": True, "burst": 1.5})]) == {
        "/routes/0/throttle/rate": "must be a number above 0, at most 10000",
        "/routes/0/throttle/burst": "must be a whole number 0..5000",
    }
    assert problems(HttpApi, routes=[route(throttle=5)]) == {
        "/routes/0/throttle": 'must be an object {"rate": <req/s>, "burst": <requests>}'
    }
