"""The request pipeline of one API node, in API Gateway's order (spec §7.3).

route match → API key → throttling and quota → request validation → integration (with the
integration timeout) → CORS on integration responses → access log entry. Every error the gateway
makes itself is a gateway response (``{"message": ...}`` with ``x-amzn-ErrorType``) without CORS
headers.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hosting.gateway import integrations
from hosting.gateway.accesslog import AccessLog
from hosting.gateway.accesslog import entry as log_entry
from hosting.gateway.cors import CorsPolicy
from hosting.gateway.exchange import GatewayRequest, GatewayResponse
from hosting.gateway.integrations import EngineLike, IntegrationError
from hosting.gateway.proxy import RequestContext
from hosting.gateway.routing import Match, Route, Router
from hosting.gateway.throttle import Quota, TokenBucket, retry_after
from hosting.gateway.validation import BodyValidator

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


@dataclass(frozen=True)
class Outcome:
    """What the access log needs to know besides the response."""

    match: Match | None = None
    api_key: str = ""
    integration_ms: float | None = None
    integration_status: int | None = None
    reason: str = ""


class ApiGateway:
    """One ``http_api`` node of one running engine: its router, buckets, quota and log."""

    def __init__(self, engine: EngineLike, node_id: str, settings: Mapping[str, Any]) -> None:
        self.engine = engine
        self.node_id = node_id
        self.settings = settings
        self.api_type = settings.get("api_type", "REST")
        self.stage = settings.get("stage", "prod")
        self.api_id = hashlib.sha256(node_id.encode()).hexdigest()[:10]
        self.router = Router(settings.get("routes", []), self.api_type)
        self.cors = CorsPolicy.from_settings(settings)
        self.keys = frozenset(settings.get("api_keys", []))
        self.stage_variables: dict[str, str] = dict(settings.get("stage_variables") or {})
        self.timeout = settings.get("timeout_ms", 29000) / 1000
        now = engine.clock.now()
        self.stage_bucket = TokenBucket(
            settings.get("throttle_rate", 10000), settings.get("throttle_burst", 5000), now
        )
        self.key_buckets: dict[str, TokenBucket] = {}
        self.route_buckets: dict[int, TokenBucket] = {}
        self.quota = Quota(settings.get("quota_limit", 0), settings.get("quota_period", "DAY"))
        self.log = AccessLog()
        self._validators: dict[int, BodyValidator | str] = {}
        # Integrations that outlived their timeout finish here (the backend keeps running).
        self._background: set[asyncio.Future[GatewayResponse]] = set()

    # --- the pipeline -------------------------------------------------------------------------
    async def handle(self, request: GatewayRequest) -> GatewayResponse:
        started = self.engine.clock.now()
        request_id = str(uuid.uuid4())
        response, outcome = await self._run(request, request_id)
        response.headers.setdefault("x-amzn-requestid", request_id)
        response.headers.setdefault("x-amz-apigw-id", request_id[:8])
        self._log(request, request_id, started, response, outcome)
        return response

    async def _run(
        self, request: GatewayRequest, request_id: str
    ) -> tuple[GatewayResponse, Outcome]:
        if self.cors.is_preflight(request.method, request.headers):
            explicit = self.router.match("OPTIONS", request.path)
            if explicit is None or explicit.route.method != "OPTIONS":
                return self._preflight(request), Outcome(explicit)
        if len(request.body) > MAX_PAYLOAD_BYTES:
            return GatewayResponse.gateway_error("REQUEST_TOO_LARGE"), Outcome()
        match = self.router.match(request.method, request.path)
        if match is None:
            unknown = (
                "MISSING_AUTHENTICATION_TOKEN"
                if self.api_type == "REST"
                else ("RESOURCE_NOT_FOUND")
            )
            return GatewayResponse.gateway_error(unknown), Outcome()
        api_key = request.header("x-api-key") if match.route.api_key_required else ""
        if match.route.api_key_required and api_key not in self.keys:
            return GatewayResponse.gateway_error("INVALID_API_KEY"), Outcome(match)
        refused = self._throttle(api_key, match.route)
        if refused is not None:
            return refused, Outcome(match, api_key)
        invalid = self._missing_parameters(match, request) or self._validate(match.route, request)
        if invalid is not None:
            return invalid, Outcome(match, api_key, reason=invalid.error_message)
        return await self._integrate(request, request_id, match, api_key)

    def _preflight(self, request: GatewayRequest) -> GatewayResponse:
        methods = self.router.methods_at(request.path) or ["ANY"]
        return GatewayResponse(204, b"", self.cors.preflight_headers(request.headers, methods))

    def _throttle(self, api_key: str, route: Route) -> GatewayResponse | None:
        now = self.engine.clock.now()
        if api_key and self.quota.exhausted(api_key, now):
            return GatewayResponse.gateway_error("QUOTA_EXCEEDED")
        buckets = [self.stage_bucket]
        if api_key and self.settings.get("usage_plan_rate"):
            buckets.insert(0, self._key_bucket(api_key, now))
        if route.throttle is not None:
            buckets.append(self._route_bucket(route, now))
        wait = max(bucket.wait(now) for bucket in buckets)
        if wait > 0:
            response = GatewayResponse.gateway_error("THROTTLED")
            response.headers["retry-after"] = str(retry_after(wait))
            return response
        for bucket in buckets:
            bucket.take(now)
        if api_key and self.quota.limit:
            self.quota.count(api_key, now)
        return None

    def _key_bucket(self, api_key: str, now: float) -> TokenBucket:
        bucket = self.key_buckets.get(api_key)
        if bucket is None:
            bucket = TokenBucket(
                self.settings.get("usage_plan_rate", 0),
                self.settings.get("usage_plan_burst", 0),
                now,
            )
            self.key_buckets[api_key] = bucket
        return bucket

    def _route_bucket(self, route: Route, now: float) -> TokenBucket:
        bucket = self.route_buckets.get(route.index)
        if bucket is None:
            rate, burst = route.throttle or (0.0, 0)
            bucket = self.route_buckets[route.index] = TokenBucket(rate, burst, now)
        return bucket

    def _missing_parameters(self, match: Match, request: GatewayRequest) -> GatewayResponse | None:
        """400 naming every required query string, header or path parameter the request lacks."""
        if not match.route.required_parameters:
            return None
        query = {name for name, _ in request.query}
        headers = {name.lower() for name in request.headers}
        present = {"querystring": query, "header": headers, "path": set(match.path_parameters)}
        missing = [
            name
            for location, name in match.route.required_parameters
            if name not in present.get(location, set())
        ]
        if not missing:
            return None
        message = f"Missing required request parameters: [{', '.join(missing)}]"
        return GatewayResponse.gateway_error("BAD_REQUEST_PARAMETERS", message=message)

    def _validate(self, route: Route, request: GatewayRequest) -> GatewayResponse | None:
        if not route.request_schema:
            return None
        validator = self._validator(route)
        if isinstance(validator, str):
            return GatewayResponse.gateway_error("API_CONFIGURATION_ERROR", {"reason": validator})
        try:
            body = request.json_body()
        except ValueError:
            reason = "[the body is not JSON]"
        else:
            reason = validator.problem(body) or ""
        if not reason:
            return None
        response = GatewayResponse.gateway_error(
            "BAD_REQUEST_BODY", {"validationErrorString": reason}
        )
        response.error_message = f"Invalid request body {reason}"
        return response

    def _validator(self, route: Route) -> BodyValidator | str:
        if route.index not in self._validators:
            try:
                self._validators[route.index] = BodyValidator(route.request_schema or {})
            except ValueError as error:
                self._validators[route.index] = str(error)
        return self._validators[route.index]

    async def _integrate(
        self, request: GatewayRequest, request_id: str, match: Match, api_key: str
    ) -> tuple[GatewayResponse, Outcome]:
        context = RequestContext(
            request_id=request_id,
            api_id=self.api_id,
            account_id=getattr(getattr(self.engine, "settings", None), "account", "123456789012"),
            stage=self.stage,
            resource=match.route.path,
            route_key=match.route.route_key,
            path_parameters=match.path_parameters,
            stage_variables=self.stage_variables,
            api_key=api_key,
            now=self.engine.clock.now(),
            domain=request.header("host", "localhost"),
        )
        started = self.engine.clock.now()
        call = self._call(match.route, request, context)
        try:
            if match.route.integration.get("action") in HAND_OFF_ACTIONS:
                response = await call  # hands a message on and returns: no deadline task needed
            else:
                response = await self._with_timeout(call)
        except IntegrationError as error:
            response = GatewayResponse.gateway_error(error.response_type)
            status = None if error.response_type == "INTEGRATION_TIMEOUT" else 500
            took = (self.engine.clock.now() - started) * 1000
            return response, Outcome(match, api_key, took, status, error.reason)
        took = (self.engine.clock.now() - started) * 1000
        response.headers.update(self.cors.response_headers(request.headers))
        return response, Outcome(match, api_key, took, response.status)

    async def _call(
        self, route: Route, request: GatewayRequest, context: RequestContext
    ) -> GatewayResponse:
        action = str(route.integration.get("action", ""))
        target = str(route.integration.get("target", ""))
        if action == "Invoke":
            version = "1.0" if self.api_type == "REST" else "2.0"
            return await integrations.invoke(
                self.engine, self.node_id, target, request, context, payload_version=version
            )
        handler = integrations.ACTIONS.get(action)
        if handler is None:
            raise IntegrationError("API_CONFIGURATION_ERROR", f"unknown action {action!r}")
        return await handler(self.engine, self.node_id, target, request, context)

    async def _with_timeout(self, call: Any) -> GatewayResponse:
        # The deadline runs on the engine's clock, so a manual clock tests the 29 s limit at once;
        # the integration is not cancelled at the deadline, just as AWS lets the backend finish.
        loop = asyncio.get_running_loop()
        task: asyncio.Future[GatewayResponse] = asyncio.ensure_future(call)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        deadline: asyncio.Future[None] = loop.create_future()
        timer = self.engine.clock.call_later(
            self.timeout, lambda: deadline.done() or deadline.set_result(None)
        )
        try:
            await asyncio.wait({task, deadline}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
        if task.done():
            return task.result()
        task.add_done_callback(_consume_result)
        raise IntegrationError(
            "INTEGRATION_TIMEOUT", f"no answer within {self.timeout * 1000:g} ms"
        )

    # --- the access log ---------------------------------------------------------------------
    def _log(
        self,
        request: GatewayRequest,
        request_id: str,
        started: float,
        response: GatewayResponse,
        outcome: Outcome,
    ) -> None:
        route = outcome.match.route if outcome.match else None
        now = self.engine.clock.now()
        self.log.write(
            log_entry(
                request_id=request_id,
                now=started,
                api_id=self.api_id,
                stage=self.stage,
                method=request.method,
                path=f"/{self.stage}{request.path}",
                resource=route.path if route else "",
                route_key=route.route_key if route else "-",
                source_ip=request.source_ip,
                user_agent=request.header("user-agent"),
                api_key=outcome.api_key,
                status=response.status,
                response_length=len(response.body),
                latency_ms=(now - started) * 1000,
                integration_latency_ms=outcome.integration_ms,
                integration_status=outcome.integration_status,
                error_message=outcome.reason or response.error_message,
                error_type=response.error_type,
            )
        )


def _consume_result(task: asyncio.Future[Any]) -> None:
    # A late integration's outcome is dropped on purpose; reading it keeps asyncio quiet.
    if not task.cancelled():
        task.exception()


# --- the gateways of running engines ------------------------------------------------------------
_gateways: weakref.WeakKeyDictionary[Any, dict[str, ApiGateway]] = weakref.WeakKeyDictionary()

# Integrations that hand a message on return at once; only these may run without a deadline task.
HAND_OFF_ACTIONS = frozenset({"PutEvents", "SendMessage", "Publish", "PutRecord", "StartExecution"})


def http_api_nodes(engine: Any) -> list[tuple[str, dict[str, Any]]]:
    """(node id, settings) of every http_api node of the engine's topology."""
    return [(node.id, node.settings()) for node in engine.spec.nodes if node.kind == "http_api"]


def gateways(engine: Any) -> dict[str, ApiGateway]:
    """Every API node's gateway, built once per engine and kept as long as the engine lives."""
    found = _gateways.get(engine)
    if found is None:
        found = {nid: ApiGateway(engine, nid, s) for nid, s in http_api_nodes(engine)}
        _gateways[engine] = found
    return found


def gateway_for(engine: Any, node_id: str) -> ApiGateway:
    return gateways(engine)[node_id]


def gateway_for_stage(engine: Any, stage: str, method: str, path: str) -> ApiGateway | None:
    """The API serving ``stage``; with several, the first whose routes match the request."""
    found = [gateway for gateway in gateways(engine).values() if gateway.stage == stage]
    if len(found) > 1:
        for gateway in found:
            if gateway.router.match(method, path) is not None:
                return gateway
    return found[0] if found else None


def access_log(engine: Any, node_id: str) -> list[dict[str, Any]]:
    """The node's recent access log entries, oldest first (for the node inspector)."""
    gateway = _gateways.get(engine, {}).get(node_id)
    return gateway.log.entries() if gateway else []


async def handle(engine: Any, stage: str, request: GatewayRequest) -> GatewayResponse:
    """Serve one request against a running engine: the whole gateway in one call."""
    gateway = gateway_for_stage(engine, stage, request.method, request.path)
    if gateway is None:
        apis = list(gateways(engine).values())
        rest = bool(apis) and all(api.api_type == "REST" for api in apis)
        return GatewayResponse.gateway_error(
            "MISSING_AUTHENTICATION_TOKEN" if rest else "RESOURCE_NOT_FOUND"
        )
    return await gateway.handle(request)
