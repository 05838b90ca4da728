"""GraphQL over HTTP (edge): POST ``/gw/<slug>/graphql`` with ``x-api-key``, as AppSync serves it.

Like the HTTP gateway, this view is anonymous and CSRF-exempt, never reads the session, and
answers callers by API key only.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from runtime.appsync import api as appsync
from runtime.appsync.schema import SchemaProblem
from runtime.gateway import registry
from runtime.gateway.views import keep_designer_cookies_out, not_running

UNAUTHORIZED = {
    "errors": [
        {
            "errorType": "UnauthorizedException",
            "message": "Valid authorization header not provided.",
        }
    ]
}


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse(appsync.error_result(message), status=400)


def _payload(request: HttpRequest) -> dict[str, Any] | str:
    try:
        data = json.loads(request.body or b"")
    except RequestDataTooBig:
        return "the request is too large"
    except ValueError:
        return "the body must be JSON: {query, variables, operationName}"
    if not isinstance(data, dict):
        return "the body must be a JSON object"
    return data


async def _execute(running: Any, node_id: str | None, data: dict[str, Any], key: str) -> Any:
    try:
        api = appsync.api_for(running.engine, node_id)
    except SchemaProblem as error:
        return JsonResponse(appsync.error_result(f"invalid schema: {error}"), status=500)
    if api is None:
        return JsonResponse({"message": "Not Found"}, status=404)
    try:
        api.authorize(key)
    except appsync.Unauthorized:
        return JsonResponse(UNAUTHORIZED, status=401)
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return _bad_request("variables must be an object")
    return await api.execute(data.get("query"), variables, data.get("operationName"))


@login_not_required
@csrf_exempt
async def graphql(request: HttpRequest, slug: str, node_id: str | None = None) -> HttpResponse:
    keep_designer_cookies_out(request)
    if request.method != "POST":
        return JsonResponse({"message": "GraphQL requests are POSTed as JSON"}, status=405)
    data = _payload(request)
    if isinstance(data, str):
        return _bad_request(data)
    running = await registry.find(slug)
    if running is None:
        return not_running(slug)
    key = request.headers.get("x-api-key", "")
    answer = await running.run(_execute(running, node_id, data, key))
    if isinstance(answer, HttpResponse):
        return answer
    return JsonResponse(answer)
