"""API Gateway: HTTP routes served by the app; throttling, API keys, validation, integrations."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from runtime.events import Message
from runtime.nodes.base import Field, Kind, Problem
from runtime.nodes.behaviour import Link, NodeRuntime

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
# Integration action → the kinds it can target (graph.py checks the wired node's kind).
ACTIONS: dict[str, frozenset[str]] = {
    "PutEvents": frozenset({"event_bus"}),
    "SendMessage": frozenset({"queue"}),
    "Publish": frozenset({"topic"}),
    "PutRecord": frozenset({"stream"}),
    "StartExecution": frozenset({"state_machine"}),
    "StartSyncExecution": frozenset({"state_machine"}),
    "Invoke": frozenset({"function"}),
}
ROUTE_KEYS = frozenset(
    {
        "method",
        "path",
        "integration",
        "request_schema",
        "api_key_required",
        "required_parameters",
        "throttle",
    }
)
PARAMETER_LOCATIONS = ("querystring", "header", "path")
MAX_REQUIRED_PARAMETERS = 50
MAX_ROUTES = 300  # resources per REST API
ACCOUNT_RATE, ACCOUNT_BURST = 10000, 5000
REST_MAX_TIMEOUT_MS, HTTP_MAX_TIMEOUT_MS = 29000, 30000

_LITERAL = re.compile(r"[A-Za-z0-9._~:@!$&'()*+,;=-]+")
_PARAM = re.compile(r"\{([A-Za-z0-9._-]+)\}")
_GREEDY = re.compile(r"\{([A-Za-z0-9._-]+)\+\}")
_HEADER = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_API_KEY = re.compile(r"[\x21-\x7e]{20,128}")
_STAGE_VARIABLE = re.compile(r"[A-Za-z0-9_]{1,64}")


def path_problem(path: str, *, api_type: str) -> str | None:
    """Why a route path is malformed, or None: /literal, /{param}, a final /{proxy+}."""
    if path == "$default":
        return None if api_type == "HTTP" else "$default routes exist only on HTTP APIs"
    if not path.startswith("/"):
        return "must start with /"
    if path == "/":
        return None
    segments = path[1:].split("/")
    names: set[str] = set()
    for index, segment in enumerate(segments):
        if not segment:
            return "must not have empty segments or a trailing /"
        greedy = _GREEDY.fullmatch(segment)
        if greedy and index != len(segments) - 1:
            return f"{segment} must be the last segment"
        param = greedy or _PARAM.fullmatch(segment)
        if param:
            if param.group(1) in names:
                return f"parameter {{{param.group(1)}}} appears twice"
            names.add(param.group(1))
        elif not _LITERAL.fullmatch(segment) or "{" in segment or "}" in segment:
            return f"segment {segment!r} must be a literal, a {{param}} or a final {{proxy+}}"
    return None


def _shape(path: str) -> tuple[str, ...]:
    # Segments with parameter names erased: /pets/{id} and /pets/{petId} are the same route.
    return tuple(
        "{+}" if _GREEDY.fullmatch(s) else "{}" if _PARAM.fullmatch(s) else s
        for s in path.split("/")
    )


class HttpApi(Kind):
    name = "http_api"
    label = "HTTP API"
    group = "Producers"
    icon = "⇄"
    description = "API Gateway: serves real HTTP routes and hands each request to a node."
    models = "Amazon API Gateway"
    has_input = False
    feeds = frozenset({"event_bus", "queue", "topic", "stream", "state_machine", "function"})
    fields = (
        Field(
            "api_type",
            "choice",
            "REST",
            "REST (v1): API keys, usage plans and request validation; unknown routes answer "
            "403 Missing Authentication Token. HTTP (v2): lighter, a $default catch-all route, "
            "no keys or validation; unknown routes answer 404.",
            label="API type",
            choices=("REST", "HTTP"),
        ),
        Field(
            "stage",
            "str",
            "prod",
            "Stage name; routes are served under /gw/<topology>/<stage>/. Letters, digits, "
            "- and _ (HTTP APIs may also use $default).",
            max_length=128,
            pattern=r"[A-Za-z0-9_-]+|\$default",
        ),
        Field(
            "routes",
            "list",
            [],
            'One entry per route: {"method": "POST", "path": "/orders/{id}", '
            '"integration": {"action": "PutEvents", "target": "<node id>"}}, '
            'optionally "request_schema" (JSON Schema draft-04 the body must satisfy, else '
            '400), "required_parameters" (REST: e.g. ["querystring.page", "header.x-tenant", '
            '"path.id"], at most 50; a request lacking one gets 400 Missing required request '
            'parameters), "throttle": {"rate": 5, "burst": 10} (method-level throttling, '
            "checked after the stage limit; 429 Too Many Requests) and "
            '"api_key_required": true (REST). Methods: '
            + ", ".join(METHODS)
            + ". Actions: PutEvents (bus), SendMessage (queue), Publish (topic), PutRecord "
            "(stream), StartExecution / StartSyncExecution (state machine), Invoke (function). "
            "A literal segment beats {param}, which beats a final {proxy+}.",
            maximum=MAX_ROUTES,
        ),
        Field(
            "throttle_rate",
            "float",
            ACCOUNT_RATE,
            "Stage throttling: steady requests per second (token bucket refill). Above it "
            "callers get 429 Too Many Requests. Cannot exceed the account's 10,000.",
            minimum=0,
            maximum=ACCOUNT_RATE,
            unit="req/s",
        ),
        Field(
            "throttle_burst",
            "int",
            ACCOUNT_BURST,
            "Stage throttling: bucket capacity, the requests allowed at once before the rate "
            "applies. Cannot exceed the account's 5,000.",
            minimum=0,
            maximum=ACCOUNT_BURST,
            unit="requests",
        ),
        Field(
            "timeout_ms",
            "int",
            REST_MAX_TIMEOUT_MS,
            "Integration timeout: after it the caller gets 504 Endpoint request timed out "
            "(the target still finishes). REST 50-29,000 ms, HTTP up to 30,000 ms.",
            label="Integration timeout",
            minimum=50,
            maximum=HTTP_MAX_TIMEOUT_MS,
            unit="ms",
        ),
        Field(
            "api_keys",
            "list",
            [],
            "REST: API key values accepted in the x-api-key header (20-128 printable "
            "characters each). Routes with api_key_required refuse other requests with 403.",
            label="API keys",
            maximum=10000,
        ),
        Field(
            "usage_plan_rate",
            "float",
            0,
            "REST usage plan: requests per second allowed per API key. 0: no per-key throttle.",
            minimum=0,
            maximum=ACCOUNT_RATE,
            unit="req/s",
        ),
        Field(
            "usage_plan_burst",
            "int",
            0,
            "REST usage plan: burst allowed per API key (needed when a rate is set).",
            minimum=0,
            maximum=ACCOUNT_BURST,
            unit="requests",
        ),
        Field(
            "quota_limit",
            "int",
            0,
            "REST usage plan: requests per key per period; past it callers get 429 Limit "
            "Exceeded until the period restarts (UTC). 0: no quota.",
            minimum=0,
            unit="requests",
        ),
        Field(
            "quota_period",
            "choice",
            "DAY",
            "REST usage plan: the period the quota counts over.",
            choices=("DAY", "WEEK", "MONTH"),
        ),
        Field(
            "cors_allow_origins",
            "list",
            [],
            "CORS: origins allowed to call the API from a browser, e.g. https://app.example.com, "
            "or * for any. Empty: no CORS headers. Errors made by the gateway itself (403, 429, "
            "504) carry no CORS headers, as on AWS.",
            label="CORS allowed origins",
        ),
        Field(
            "cors_allow_methods",
            "list",
            [],
            "CORS: methods allowed in preflight answers, e.g. GET, POST, or *.",
            label="CORS allowed methods",
        ),
        Field(
            "cors_allow_headers",
            "list",
            [],
            "CORS: request headers allowed in preflight answers, e.g. content-type, x-api-key.",
            label="CORS allowed headers",
        ),
        Field(
            "stage_variables",
            "json",
            {},
            "Stage variables as an object of name → string ($stageVariables.name in mapping "
            "templates): at most 100, names up to 64 letters, digits or _, values up to 512 "
            "characters.",
        ),
    )

    @classmethod
    def extra_checks(cls, config: dict[str, Any]) -> list[Problem]:
        problems: list[Problem] = []
        rest = config["api_type"] == "REST"
        if not config["stage"]:
            problems.append(("/stage", "is required"))
        elif config["stage"] == "$default" and rest:
            problems.append(("/stage", "$default stages exist only on HTTP APIs"))
        if rest and config["timeout_ms"] > REST_MAX_TIMEOUT_MS:
            problems.append(("/timeout_ms", "must be 50..29000 ms on a REST API"))
        problems.extend(_route_problems(config["routes"], config["api_type"], config["api_keys"]))
        problems.extend(_key_problems(config))
        problems.extend(_cors_problems(config))
        problems.extend(_stage_variable_problems(config["stage_variables"]))
        return problems


def _route_problems(routes: list[Any], api_type: str, api_keys: list[Any]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[tuple[str, tuple[str, ...]], int] = {}
    variables: dict[tuple[str, ...], tuple[str, int]] = {}
    for index, route in enumerate(routes):
        where = f"/routes/{index}"
        if not isinstance(route, dict):
            problems.append((where, "must be an object with method, path and integration"))
            continue
        for key in route:
            if key not in ROUTE_KEYS:
                problems.append((f"{where}/{key}", f"unknown route setting {key!r}"))
        method, path = route.get("method"), route.get("path")
        if method not in METHODS:
            problems.append((f"{where}/method", "must be one of " + ", ".join(METHODS)))
        if not isinstance(path, str):
            problems.append((f"{where}/path", "is required, e.g. /orders/{id}"))
        else:
            message = path_problem(path, api_type=api_type)
            if message:
                problems.append((f"{where}/path", message))
            elif method in METHODS:
                key = (method, _shape(path))
                if key in seen:
                    problems.append((where, f"{method} {path} duplicates route {seen[key]}"))
                seen.setdefault(key, index)
                problems.extend(_sibling_problems(path, index, variables))
        problems.extend(_integration_problems(route.get("integration"), f"{where}/integration"))
        schema = route.get("request_schema")
        if schema is not None:
            if api_type != "REST":
                problems.append((f"{where}/request_schema", "request validation is REST only"))
            elif not isinstance(schema, dict):
                problems.append((f"{where}/request_schema", "must be a JSON Schema object"))
        problems.extend(_required_parameter_problems(route, api_type, where))
        problems.extend(_route_throttle_problems(route.get("throttle"), f"{where}/throttle"))
        required = route.get("api_key_required", False)
        if not isinstance(required, bool):
            problems.append((f"{where}/api_key_required", "must be true or false"))
        elif required and api_type != "REST":
            problems.append((f"{where}/api_key_required", "API keys are REST only"))
        elif required and not api_keys:
            problems.append((f"{where}/api_key_required", "needs at least one key in api_keys"))
    return problems


def _required_parameter_problems(route: dict[str, Any], api_type: str, where: str) -> list[Problem]:
    declared = route.get("required_parameters")
    where = f"{where}/required_parameters"
    if declared is None:
        return []
    if api_type != "REST":
        return [(where, "request validation is REST only")]
    if not isinstance(declared, list):
        return [(where, 'must be a list like ["querystring.page", "header.x-tenant"]')]
    if len(declared) > MAX_REQUIRED_PARAMETERS:
        return [(where, f"must have at most {MAX_REQUIRED_PARAMETERS} parameters")]
    problems: list[Problem] = []
    for index, item in enumerate(declared):
        location, _, name = item.partition(".") if isinstance(item, str) else ("", "", "")
        if location not in PARAMETER_LOCATIONS:
            message = "must be querystring.<name>, header.<name> or path.<name>"
        elif not name:
            message = f"needs a name after {location}."
        elif location == "header" and not _HEADER.fullmatch(name):
            message = f"{name!r} is not a header name"
        elif location == "path" and name not in _path_names(route.get("path")):
            message = f"the route path has no {{{name}}}"
        else:
            continue
        problems.append((f"{where}/{index}", message))
    return problems


def _path_names(path: Any) -> set[str]:
    if not isinstance(path, str):
        return set()
    found = (_PARAM.fullmatch(part) or _GREEDY.fullmatch(part) for part in path.split("/"))
    return {match.group(1) for match in found if match}


def _route_throttle_problems(throttle: Any, where: str) -> list[Problem]:
    if throttle is None:
        return []
    if not isinstance(throttle, dict):
        return [(where, 'must be an object {"rate": <req/s>, "burst": <requests>}')]
    problems: list[Problem] = []
    for key in throttle:
        if key not in ("rate", "burst"):
            problems.append((f"{where}/{key}", f"unknown throttle setting {key!r}"))
    rate, burst = throttle.get("rate"), throttle.get("burst")
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= ACCOUNT_RATE:
        problems.append((f"{where}/rate", f"must be a number above 0, at most {ACCOUNT_RATE}"))
    if isinstance(burst, bool) or not isinstance(burst, int) or not 0 <= burst <= ACCOUNT_BURST:
        problems.append((f"{where}/burst", f"must be a whole number 0..{ACCOUNT_BURST}"))
    return problems


def _sibling_problems(
    path: str, index: int, variables: dict[tuple[str, ...], tuple[str, int]]
) -> list[Problem]:
    # REST resources: siblings may not use different variable names at the same position.
    problems: list[Problem] = []
    parts = path.split("/")
    for depth, segment in enumerate(parts):
        param = _PARAM.fullmatch(segment) or _GREEDY.fullmatch(segment)
        if not param:
            continue
        parent = _shape("/".join(parts[:depth]))
        previous = variables.setdefault(parent, (segment, index))
        if previous[0] != segment:
            problems.append(
                (
                    f"/routes/{index}/path",
                    f"{segment} conflicts with {previous[0]} at the same place in route "
                    f"{previous[1]}",
                )
            )
    return problems


def _integration_problems(integration: Any, where: str) -> list[Problem]:
    if not isinstance(integration, dict):
        return [(where, "must be an object {action, target}")]
    problems: list[Problem] = []
    for key in integration:
        if key not in ("action", "target"):
            problems.append((f"{where}/{key}", f"unknown integration setting {key!r}"))
    action = integration.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        problems.append((f"{where}/action", "must be one of " + ", ".join(ACTIONS)))
    target = integration.get("target")
    if not isinstance(target, str) or not target:
        problems.append((f"{where}/target", "must be the id of the node that receives requests"))
    return problems


def _key_problems(config: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    rest = config["api_type"] == "REST"
    keys = config["api_keys"]
    if keys and not rest:
        problems.append(("/api_keys", "API keys are REST only"))
    seen: set[str] = set()
    for index, key in enumerate(keys):
        if not isinstance(key, str) or not _API_KEY.fullmatch(key):
            problems.append(
                (f"/api_keys/{index}", "must be 20-128 printable characters, no spaces")
            )
        elif key in seen:
            problems.append((f"/api_keys/{index}", "is listed twice"))
        else:
            seen.add(key)
    plan = ("usage_plan_rate", "usage_plan_burst", "quota_limit")
    if not rest:
        problems.extend((f"/{name}", "usage plans are REST only") for name in plan if config[name])
    elif config["usage_plan_rate"] and not config["usage_plan_burst"]:
        problems.append(("/usage_plan_burst", "must be at least 1 when a usage plan rate is set"))
    return problems


def _cors_problems(config: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for index, origin in enumerate(config["cors_allow_origins"]):
        if origin == "*":
            continue
        parts = urlsplit(origin) if isinstance(origin, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path
            or parts.query
        ):
            problems.append(
                (f"/cors_allow_origins/{index}", "must be * or scheme://host[:port], no path")
            )
    for index, method in enumerate(config["cors_allow_methods"]):
        if method != "*" and method not in METHODS[:-1]:
            problems.append((f"/cors_allow_methods/{index}", "must be * or an HTTP method"))
    for index, header in enumerate(config["cors_allow_headers"]):
        if not isinstance(header, str) or not (header == "*" or _HEADER.fullmatch(header)):
            problems.append((f"/cors_allow_headers/{index}", "must be * or a header name"))
    return problems


def _stage_variable_problems(variables: Any) -> list[Problem]:
    if not isinstance(variables, dict):
        return [("/stage_variables", "must be an object of name → string")]
    problems: list[Problem] = []
    if len(variables) > 100:
        problems.append(("/stage_variables", "must have at most 100 variables"))
    for name, value in variables.items():
        where = f"/stage_variables/{name}"
        if not _STAGE_VARIABLE.fullmatch(name):
            problems.append((where, "names are 1-64 letters, digits or _"))
        elif not isinstance(value, str) or len(value) > 512:
            problems.append((where, "must be a string of at most 512 characters"))
    return problems


class HttpApiNode(NodeRuntime):
    """The runtime side of an API: the gateway views (edge) call ``inject`` per request; each
    request body goes to the integrations wired from this node. Event buses get a Source and
    DetailType naming the API and route, as a PutEvents mapping template would set."""

    kind = "http_api"

    def route_system(self) -> dict[str, str]:
        routes = self.settings.get("routes") or [{}]
        route = routes[0] if isinstance(routes[0], dict) else {}
        return {
            "Source": f"flowyard.{self.id}",
            "DetailType": f"{route.get('method', 'POST')} {route.get('path', '/')}",
        }

    async def inject(
        self,
        body: Any,
        attributes: Mapping[str, Any] | None = None,
        system: Mapping[str, Any] | None = None,
    ) -> Message:
        merged = {**self.route_system(), **(system or {})}
        return await super().inject(body, attributes, merged)

    async def accept(self, messages: list[Message], link: Link | None) -> None:
        self.note_received(messages)
        await self.send_on(messages)
