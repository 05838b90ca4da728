"""The supervisor of a web process that runs no engines (the install is scaled out).

It offers the supervisor's API to views, consumers and the gateway, and carries every call to
the runtime workers: commands (deploy, stop, pause, reset...) as RunCommands that the owning
worker (or any, for a run nobody owns) carries out; status from the RunStatus rows workers
publish; and what needs the live engine (Send, the live snapshot, gateway requests, inspector
reads) as named operations on the owner's channel (hosting.rpc, hosting.operations).
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.sync import async_to_sync

from hosting import commands, rpc
from hosting.host import LIVE, is_fresh
from hosting.leases import Leases
from hosting.supervisor import AlreadyRunning, DeployRefused, NotRunning

SNAPSHOT_TIMEOUT = 3.0


class RemoteSupervisor:
    """See the module docstring. Raises the supervisor's own exceptions, so callers need not
    know where runs live."""

    alive = True
    remote = True

    def __init__(self, leases: Leases | None = None) -> None:
        self._leases = leases
        self.runs: dict[int, Any] = {}  # none here: the gateway asks workers (see registry)
        self.on_state = None

    @property
    def leases(self) -> Leases:
        if self._leases is None:
            self._leases = Leases.from_settings()
        return self._leases

    # --- commands -------------------------------------------------------------------------------
    def _command(self, topology_id: int, action: str) -> dict[str, Any]:
        try:
            return commands.send_command(topology_id, action)
        except commands.NoHost as error:
            raise NotRunning(str(error)) from None
        except commands.CommandFailed as error:
            text = str(error)
            if "already" in text:
                raise AlreadyRunning(text) from None
            if action in ("deploy", "redeploy"):
                raise DeployRefused([{"message": text}]) from None
            raise NotRunning(text) from None

    def deploy(self, topology_id: int, spec: Any = None, *, revision: int = 0) -> dict[str, Any]:
        return self._command(topology_id, "deploy")

    def redeploy(self, topology_id: int, spec: Any = None, *, revision: int = 0) -> dict[str, Any]:
        return self._command(topology_id, "redeploy")

    def stop(self, topology_id: int) -> dict[str, Any]:
        return self._command(topology_id, "stop")

    def pause(self, topology_id: int) -> dict[str, Any]:
        return self._command(topology_id, "pause")

    def resume(self, topology_id: int) -> dict[str, Any]:
        return self._command(topology_id, "resume")

    def reset_state(self, topology_id: int) -> dict[str, Any]:
        return self._command(topology_id, "reset")

    def shutdown(self, timeout: float = 0) -> None:
        return None  # nothing runs here

    # --- status ---------------------------------------------------------------------------------
    def info(self, topology_id: int) -> dict[str, Any] | None:
        from hosting.models import RunStatus

        row = RunStatus.objects.filter(topology_id=topology_id).first()
        if row is None or not is_fresh(row.heartbeat):
            return None
        details = json.loads(row.details or "{}")
        return {
            "topology": topology_id,
            "revision": row.revision,
            "run": row.run or None,
            "state": row.state,
            "error": details.get("error", ""),
            "store": details.get("store"),
            "recovered": details.get("recovered", ""),
            "dropped": details.get("dropped", ""),
            "worker": row.host,
        }

    def states(self) -> dict[int, str]:
        from hosting.models import RunStatus

        return {
            row.topology_id: row.state
            for row in RunStatus.objects.filter(state__in=LIVE)
            if is_fresh(row.heartbeat)
        }

    # --- the live engine, on its owner ------------------------------------------------------------
    def channel_of(self, topology_id: int) -> str:
        holder = self.leases.holder(topology_id)
        if not holder or not holder.get("channel"):
            raise NotRunning(f"topology {topology_id} has no run; deploy it first")
        return holder["channel"]

    async def aoperate(
        self, topology_id: int, op: str, *, timeout: float = rpc.CALL_TIMEOUT, **args: Any
    ) -> Any:
        channel = self.channel_of(topology_id)
        try:
            return await rpc.call(channel, op, {"topology_id": topology_id, **args}, timeout)
        except rpc.RemoteError as error:
            if error.code == "NotRunning":
                raise NotRunning(str(error)) from None
            raise

    def operate(self, topology_id: int, op: str, **args: Any) -> Any:
        return async_to_sync(self.aoperate)(topology_id, op, **args)

    def send(
        self,
        topology_id: int,
        node_id: str,
        body: Any,
        attributes: dict[str, Any] | None = None,
        *,
        count: int = 1,
    ) -> list[str]:
        return self.operate(
            topology_id, "send", node_id=node_id, body=body, attributes=attributes, count=count
        )

    def stored(self, topology_id: int) -> dict[str, int]:
        try:
            return self.operate(topology_id, "stored")
        except NotRunning:
            from hosting import stores

            return stores.stored_totals(topology_id)

    async def alive_snapshot(self, topology_id: int, timeout: float = SNAPSHOT_TIMEOUT) -> Any:
        try:
            return await self.aoperate(topology_id, "snapshot", timeout=timeout)
        except (NotRunning, rpc.WorkerGone):
            return None

    def with_run(self, topology_id: int, action: Any) -> Any:
        """A closure cannot cross processes: what needs the live engine is a named operation
        (hosting.operations), called through ``operate``."""
        raise NotRunning(
            "the run lives on a runtime worker: read it through a named operation (operate)"
        )
