"""GraphQL over HTTP without a web framework: (status, JSON answer) for one POSTed request.

Used by the Django view and by the plain ASGI gateway alike.
"""

from __future__ import annotations

from typing import Any

from hosting.appsync import api as appsync
from hosting.appsync.schema import SchemaProblem
from hosting.gateway import registry

UNAUTHORIZED = {
    "errors": [
        {
            "errorType": "UnauthorizedException",
            "message": "Valid authorization header not provided.",
        }
    ]
}


def not_running(slug: str) -> dict[str, Any]:
    return {"message": "Not Found", "reason": f"no running topology is served at /gw/{slug}/"}


async def _execute(
    running: Any, node_id: str | None, data: dict[str, Any], key: str
) -> tuple[int, dict[str, Any]]:
    try:
        api = appsync.api_for(running.engine, node_id)
    except SchemaProblem as error:
        return 500, appsync.error_result(f"invalid schema: {error}")
    if api is None:
        return 404, {"message": "Not Found"}
    try:
        api.authorize(key)
    except appsync.Unauthorized:
        return 401, UNAUTHORIZED
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        return 400, appsync.error_result("variables must be an object")
    return 200, await api.execute(data.get("query"), variables, data.get("operationName"))


async def answer_graphql(
    slug: str, node_id: str | None, data: Any, api_key: str
) -> tuple[int, dict[str, Any]]:
    """Run one GraphQL request (already decoded JSON) against the topology serving ``slug``."""
    if not isinstance(data, dict):
        return 400, appsync.error_result("the body must be a JSON object {query, variables}")
    running = await registry.find(slug)
    if running is None:
        return 404, not_running(slug)
    if running.remote is not None:
        status, answer = await running.remote.aoperate(
            running.topology_id, "graphql", node_id=node_id, data=data, api_key=api_key
        )
        return int(status), answer
    result: tuple[int, dict[str, Any]] = await running.run(
        _execute(running, node_id, data, api_key)
    )
    return result
