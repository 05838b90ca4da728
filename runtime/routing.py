"""Websocket routes (edge). The live topology socket arrives with the live runtime."""

from __future__ import annotations

from typing import Any

websocket_urlpatterns: list[Any] = []
