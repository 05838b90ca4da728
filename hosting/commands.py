"""Run commands left in the database for whichever process hosts runs, and their answers.

The ``runs`` CLI and, when the install is scaled out, the web processes command runs this way;
the host (the server process embedded, or the worker owning the run) carries the command out
(hosting.host) and writes its answer on the same row.
"""

from __future__ import annotations

import json
import time
from typing import Any

CLAIM_TIMEOUT = 10.0  # a host checks for commands every second (at once when woken)
POLL = 0.05


class NoHost(Exception):
    """Nothing took the command: no process hosts runs."""


class CommandFailed(Exception):
    """The host refused or failed the command; the message says why."""


def wake_hosts() -> None:
    """Tell the runtime workers a command is waiting, so they need not wait for their next
    round (best effort: they look every second anyway)."""
    from django.conf import settings

    if not getattr(settings, "REDIS_URL", ""):
        return
    try:
        from asgiref.sync import async_to_sync

        from hosting.rpc import WAKE_GROUP, layer

        async_to_sync(layer().group_send)(WAKE_GROUP, {"type": "flowyard.wake"})
    except Exception:  # noqa: BLE001 - waking is an optimisation
        pass


def send_command(
    topology_id: int, action: str, *, reset: bool = False, timeout: float = 60.0
) -> dict[str, Any]:
    """Leave the command for the host and wait for its answer."""
    from hosting.models import RunCommand

    command = RunCommand.objects.create(topology_id=topology_id, action=action, reset=reset)
    wake_hosts()
    started = time.monotonic()
    while True:
        command.refresh_from_db()
        if command.done_at is not None:
            break
        waited = time.monotonic() - started
        if not command.host and waited > CLAIM_TIMEOUT:
            RunCommand.objects.filter(pk=command.pk, host="").delete()
            raise NoHost("no process is hosting runs: start the server (`make run`) or a worker")
        if waited > timeout:
            raise CommandFailed(f"{command.host} did not finish {action} within {timeout:.0f} s")
        time.sleep(POLL)
    if command.error:
        raise CommandFailed(command.error)
    return json.loads(command.result or "{}")
