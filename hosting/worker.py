"""A runtime worker: hosts runs outside the web processes when the install is scaled out.

Each worker runs a supervisor of its own and a host loop (hosting.host) with three more duties:
- **leases** (hosting.leases): it starts a run only once it holds the topology's lease, renews
  the leases of its runs every round, and stops a run at once if its lease was lost;
- **reconciling**: a topology recorded as running whose lease nobody holds (a new deploy, or a
  worker that died and whose lease lapsed) is taken over by the first worker that gets the
  lease, with the state the store kept (RedisStore: shared by every worker);
- **calls** (hosting.rpc): web processes reach the run's owner on the channel named in the lease
  for what needs the live engine (Send, the live snapshot, gateway requests, inspector reads).
Commands from web processes and the ``runs`` CLI arrive as RunCommands, as on the embedded host;
a worker takes only those of topologies it owns or nobody owns.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

from hosting import operations
from hosting.host import LIVE, Host
from hosting.leases import Leases
from hosting.resume import resume_topology
from hosting.rpc import serve
from hosting.supervisor import Supervisor, get_supervisor, topology_model

log = logging.getLogger(__name__)


class Worker(Host):
    """A host that owns its runs under Redis leases and answers calls; see the module doc."""

    def __init__(
        self,
        supervisor: Supervisor | None = None,
        *,
        leases: Leases | None = None,
        interval: float = 1.0,
    ) -> None:
        super().__init__(supervisor or get_supervisor(), interval)
        self.leases = leases or Leases.from_settings()
        self.channel = ""
        self._serving: concurrent.futures.Future[None] | None = None
        # Leases this worker holds, renewed by a thread of their own: a deploy that takes a
        # while (a big store to recover) must not let the lease lapse under it.
        self.held: set[int] = set()
        self.lost: set[int] = set()
        self._leases_lock = threading.Lock()
        self._renewing = threading.Event()
        self._renewer: threading.Thread | None = None

    @property
    def holder(self) -> str:
        return self.leases.value(self.name, self.channel)

    def start(self, *, resume: bool = True) -> None:
        """Listen for calls on a channel of this worker's own, then run the host loop (which
        resumes runs by reconciling, under leases, instead of all at once)."""
        chief = self.supervisor
        chief.start()
        from hosting.rpc import layer

        self.channel = chief.call(layer().new_channel("flowyard-worker"))
        assert chief._loop is not None
        self._serving = asyncio.run_coroutine_threadsafe(
            serve(self.channel, self.answer, self.wake), chief._loop
        )
        self._renewing.clear()
        self._renewer = threading.Thread(target=self._renew_leases, name="flowyard-leases")
        self._renewer.daemon = True
        self._renewer.start()
        super().start(resume=False)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the loop, the runs and the calls, and give the leases back so another worker
        takes the runs over at once instead of after the lease lapses."""
        super().stop(timeout)
        self.supervisor.shutdown()
        self._renewing.set()
        with self._leases_lock:
            held, self.held = set(self.held), set()
        for topology_id in held:
            self.leases.release(topology_id, self.holder)
        if self._serving is not None:
            self._serving.cancel()

    # --- leases -----------------------------------------------------------------------------------
    def take_lease(self, topology_id: int) -> bool:
        with self._leases_lock:
            if topology_id in self.held:
                return True
            if not self.leases.acquire(topology_id, self.holder):
                return False
            self.held.add(topology_id)
            self.lost.discard(topology_id)
            return True

    def give_lease(self, topology_id: int) -> None:
        with self._leases_lock:
            self.held.discard(topology_id)
        self.leases.release(topology_id, self.holder)

    def _renew_leases(self) -> None:
        while not self._renewing.wait(self.leases.ttl / 4):
            with self._leases_lock:
                held = set(self.held)
            for topology_id in held:
                try:
                    kept = self.leases.renew(topology_id, self.holder)
                except Exception:  # noqa: BLE001 - Redis away: try again next round
                    log.exception("could not renew the lease of topology %s", topology_id)
                    continue
                if not kept:
                    with self._leases_lock:
                        self.held.discard(topology_id)
                        self.lost.add(topology_id)
                    self.wake()

    # --- the loop ---------------------------------------------------------------------------------
    def step(self) -> None:
        self.renew()
        self.take_commands()
        self.reconcile()
        for topology_id in self.held - set(self.live_here()):  # ended here: free the lease
            self.give_lease(topology_id)
        self.publish()

    def live_here(self) -> list[int]:
        return [
            topology_id
            for topology_id, run in list(self.supervisor.runs.items())
            if run.state in LIVE and not run.finished.is_set()
        ]

    def renew(self) -> None:
        """Stop at once, without recording a state, every run whose lease was lost: its new
        owner runs it now."""
        chief = self.supervisor
        with self._leases_lock:
            lost, self.lost = set(self.lost), set()
        for topology_id in lost:
            log.warning("lost the lease of topology %s: stopping its run here", topology_id)
            try:
                chief.call(chief._stop(topology_id, "lease lost"))
            except Exception:  # noqa: BLE001
                log.exception("could not stop topology %s after losing its lease", topology_id)

    def may_take(self, topology_id: int, action: str) -> bool:
        """A command is this worker's when it owns the topology's lease, or when nobody does
        and it can take the lease (a stop of an unowned run is anyone's to record)."""
        if topology_id in self.held:
            return True
        if self.leases.holder(topology_id) is not None:
            return False
        if action == "stop":
            return True
        return self.take_lease(topology_id)

    def after_command(self, topology_id: int) -> None:
        if topology_id not in self.live_here():
            self.give_lease(topology_id)

    def reconcile(self) -> None:
        """Take over every topology recorded as running that no worker holds, and stop here
        the runs recorded as stopped or failed by another process."""
        from hosting.resume import RESUMABLE

        here = set(self.live_here())
        wanted = topology_model().objects.filter(run_state__in=RESUMABLE)
        for topology in wanted.exclude(pk__in=here):
            if self.leases.holder(topology.pk) is not None or not self.take_lease(topology.pk):
                continue
            info = resume_topology(self.supervisor, topology)
            if info.get("state") not in LIVE:  # it could not start: free it for another try
                self.give_lease(topology.pk)
        ended = topology_model().objects.filter(pk__in=here).exclude(run_state__in=RESUMABLE)
        for topology in ended:
            self.supervisor.call(self.supervisor._stop(topology.pk, "stopped elsewhere"))
            self.give_lease(topology.pk)

    # --- calls from web processes -----------------------------------------------------------------
    async def answer(self, op: str, args: dict[str, Any]) -> Any:
        """Runs on the supervisor's loop, where the engines live."""
        return await operations.perform(self.supervisor, op, args)
