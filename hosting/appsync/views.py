"""GraphQL over HTTP (edge): POST ``/gw/<slug>/graphql`` with ``x-api-key``, as AppSync serves it.

Like the HTTP gateway, this view is anonymous and CSRF-exempt, never reads the session, and
answers callers by API key only.
"""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from hosting.appsync import api as appsync
from hosting.appsync.http import answer_graphql
from hosting.gateway.views import keep_designer_cookies_out


@login_not_required
@csrf_exempt
async def graphql(request: HttpRequest, slug: str, node_id: str | None = None) -> HttpResponse:
    keep_designer_cookies_out(request)
    if request.method != "POST":
        return JsonResponse({"message": "GraphQL requests are POSTed as JSON"}, status=405)
    try:
        data = json.loads(request.body or b"")
    except RequestDataTooBig:
        return JsonResponse(appsync.error_result("the request is too large"), status=413)
    except ValueError:
        return JsonResponse(appsync.error_result("the body must be JSON"), status=400)
    status, answer = await answer_graphql(slug, node_id, data, request.headers.get("x-api-key", ""))
    return JsonResponse(answer, status=status)
