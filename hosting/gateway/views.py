"""Gateway views (edge): Django requests in, pipeline responses out.

These views are the designer's only anonymous, CSRF-exempt endpoints. They never read the session
or the user, strip the designer's session and CSRF cookies before the request reaches a topology,
and never set a cookie, so a logged-in browser gains nothing by calling them.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from hosting.gateway import registry
from hosting.gateway.exchange import GatewayRequest, GatewayResponse, drop_cookies


def designer_cookies() -> frozenset[str]:
    return frozenset({settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME})


def forwarded_headers(request: HttpRequest) -> dict[str, str]:
    """Request headers, lower-cased, with the designer's own cookies removed."""
    headers = {name.lower(): value for name, value in request.headers.items()}
    drop_cookies(headers, designer_cookies())
    return headers


def keep_designer_cookies_out(request: HttpRequest) -> None:
    """A malformed csrftoken cookie makes CsrfViewMiddleware issue a new one on the way out;
    gateway answers never set designer cookies, so that renewal is switched off here."""
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = False


def to_django(response: GatewayResponse) -> HttpResponse:
    answer = HttpResponse(response.body, status=response.status)
    if "content-type" not in response.headers:
        del answer["Content-Type"]
    for name, value in response.headers.items():
        answer[name] = value
    return answer


def not_running(slug: str) -> HttpResponse:
    # Unknown and stopped topologies answer alike, so the gateway does not reveal which exist.
    body = {"message": "Not Found", "reason": f"no running topology is served at /gw/{slug}/"}
    answer = HttpResponse(json.dumps(body), status=404, content_type="application/json")
    answer["x-amzn-errortype"] = "NotFoundException"
    return answer


def gateway_request(request: HttpRequest, stage: str, rest: str) -> GatewayRequest:
    return GatewayRequest(
        method=request.method or "GET",
        path="/" + rest,
        query_string=request.META.get("QUERY_STRING", ""),
        headers=forwarded_headers(request),
        body=request.body,
        source_ip=request.META.get("REMOTE_ADDR", ""),
        stage=stage,
    )


@login_not_required
@csrf_exempt
async def gateway(request: HttpRequest, slug: str, stage: str, rest: str = "") -> HttpResponse:
    keep_designer_cookies_out(request)
    try:
        incoming = gateway_request(request, stage, rest)
    except RequestDataTooBig:
        return to_django(GatewayResponse.gateway_error("REQUEST_TOO_LARGE"))
    running = await registry.find(slug)
    if running is None:
        return not_running(slug)
    response = await registry.serve(running, stage, incoming)
    return to_django(response)
