"""Websocket routes (edge): one live socket per open topology."""

from __future__ import annotations

from typing import Any

from django.urls import path

from hosting.appsync.routing import websocket_urlpatterns as appsync_routes
from hosting.consumers import TopologyConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/topologies/<int:topology_id>/", TopologyConsumer.as_asgi()),
    *appsync_routes,  # GraphQL subscriptions: ws/gw/<slug>/graphql
]
