"""The AppSync websocket routes, appended to ``hosting.routing``."""

from __future__ import annotations

from typing import Any

from django.urls import path

from hosting.appsync.consumers import GraphqlConsumer

websocket_urlpatterns: list[Any] = [
    path("ws/gw/<slug:slug>/graphql", GraphqlConsumer.as_asgi()),
    path("ws/gw/<slug:slug>/graphql/<str:node_id>", GraphqlConsumer.as_asgi()),
]
