"""The live topology socket (edge): ``ws/topologies/<id>/``.

Only users who may read the topology join its group ``topology-<id>``; anyone else is refused
with close code 4403 before the handshake completes. A client gets a snapshot on connect, then
the coalesced frames ``hosting.live.publish`` sends to the group. Clients say little: a
``{"type": "resync"}`` asks for a fresh snapshot (after a missed frame); anything oversized
closes the socket with 4009, and a client talking faster than a person could is closed with 4008
(the application range: autobahn refuses 1008 and 1009 from an application, and daphne would end
the socket with 1011 instead).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.apps import apps

from hosting import live
from hosting.supervisor import get_supervisor

MAX_INCOMING_BYTES = 4096  # clients send only tiny control messages (reliability S11)
MAX_INCOMING_PER_SECOND = 20
CLOSE_FORBIDDEN = 4403
CLOSE_TOO_BIG = 4009  # 1009 (message too big) in the application range
CLOSE_POLICY = 4008  # 1008 (policy violation) in the application range


@database_sync_to_async
def readable_topology(topology_id: int, user: Any) -> dict[str, Any] | None:
    """The topology's run state if ``user`` may read it (the designer's access rules)."""
    if user is None or not user.is_authenticated:
        return None
    topology_model = apps.get_model("designer", "Topology")
    topology = topology_model.objects.visible_to(user).filter(pk=topology_id).first()
    if topology is None or not topology.can_read(user):
        return None
    return {"id": topology.pk, "run_state": topology.run_state}


class TopologyConsumer(AsyncWebsocketConsumer):
    """Relays a topology's live frames; holds no state beyond its group membership."""

    group: str = ""

    async def connect(self) -> None:
        topology_id = int(self.scope["url_route"]["kwargs"]["topology_id"])
        topology = await readable_topology(topology_id, self.scope.get("user"))
        if topology is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.topology_id = topology_id
        self.stored_state = topology["run_state"]
        self.window_start = time.monotonic()
        self.window_count = 0
        live.attach_consumer_loop(asyncio.get_running_loop())
        self.group = live.group_name(topology_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        size = len(text_data.encode()) if text_data is not None else len(bytes_data or b"")
        if size > MAX_INCOMING_BYTES or bytes_data is not None:
            await self.close(code=CLOSE_TOO_BIG)
            return
        if self.flooding():
            await self.close(code=CLOSE_POLICY)
            return
        try:
            message = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(message, dict) and message.get("type") == "resync":
            await self.send_snapshot()

    def flooding(self) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 1.0:
            self.window_start, self.window_count = now, 0
        self.window_count += 1
        return self.window_count > MAX_INCOMING_PER_SECOND

    async def send_snapshot(self) -> None:
        snapshot = await get_supervisor().alive_snapshot(self.topology_id)
        if snapshot is None:
            snapshot = {
                "type": "snapshot",
                "run": None,
                "seq": 0,
                "state": "stopped",
                "nodes": {},
                "edges": {},
            }
        await self.send(text_data=live.encode(snapshot))

    async def live_frame(self, event: dict[str, Any]) -> None:
        """A frame from ``live.publish``: already JSON, relayed as is."""
        await self.send(text_data=event["text"])
