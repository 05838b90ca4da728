"""Websocket routes (edge). The live topology socket arrives with the live runtime."""

from __future__ import annotations

from typing import Any

from runtime.appsync.routing import websocket_urlpatterns as appsync_routes

websocket_urlpatterns: list[Any] = [
    *appsync_routes,  # GraphQL subscriptions: ws/gw/<slug>/graphql
]
