"""Run ownership across runtime workers: one lease per topology in Redis.

A worker that starts a run holds the topology's lease (``SET NX PX``) and renews it about once a
second; renewing and releasing check the holder atomically (a Lua script), so a worker can never
extend or drop a lease another worker took over. A worker that dies stops renewing; its lease
lapses after ``TTL`` seconds and another worker takes the run over with the state the store kept.
The lease's value says who holds it and the channel that reaches it (see hosting.rpc).
"""

from __future__ import annotations

import json
from typing import Any

TTL = 10.0  # seconds a lease outlives its last renewal

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Leases:
    """Topology leases under ``prefix`` in one Redis (a synchronous client: the host loop is a
    plain thread)."""

    def __init__(self, client: Any, prefix: str, ttl: float = TTL) -> None:
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.ttl_ms = int(ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._release = client.register_script(_RELEASE)

    @classmethod
    def from_settings(cls) -> Leases:
        import redis
        from django.conf import settings

        from hosting.stores import install_prefix

        return cls(
            redis.Redis.from_url(settings.REDIS_URL),
            f"{install_prefix()}lease:",
            float(getattr(settings, "FLOWYARD_LEASE_TTL", TTL)),
        )

    def key(self, topology_id: int) -> str:
        return f"{self.prefix}t{topology_id}"

    @staticmethod
    def value(worker: str, channel: str) -> str:
        return json.dumps({"worker": worker, "channel": channel}, separators=(",", ":"))

    def acquire(self, topology_id: int, holder: str) -> bool:
        return bool(self.client.set(self.key(topology_id), holder, nx=True, px=self.ttl_ms))

    def renew(self, topology_id: int, holder: str) -> bool:
        return bool(self._renew(keys=[self.key(topology_id)], args=[holder, self.ttl_ms]))

    def release(self, topology_id: int, holder: str) -> bool:
        return bool(self._release(keys=[self.key(topology_id)], args=[holder]))

    def holder(self, topology_id: int) -> dict[str, str] | None:
        """Who holds the lease: ``{"worker": name, "channel": channel}``, or None."""
        raw = self.client.get(self.key(topology_id))
        if raw is None:
            return None
        try:
            found = json.loads(raw)
        except ValueError:
            return None
        return found if isinstance(found, dict) else None
