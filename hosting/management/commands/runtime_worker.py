"""``manage.py runtime_worker``: host topology runs outside the web processes (scale-out).

Needs REDIS_URL: leases, the runs' state (RedisStore) and calls from web processes all go through
Redis. Start as many as you like, on any machine that reaches the database and Redis; each run
is owned by one worker at a time, and a dead worker's runs move to another once its leases lapse.
SIGTERM or SIGINT stops the worker's runs (their state stays in Redis) and hands them over.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from hosting import supervisor as supervision
from hosting.stores import store_kind

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Host topology runs in this process, under Redis leases (needs REDIS_URL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help="seconds between rounds (lease renewal, takeovers, status)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not getattr(settings, "REDIS_URL", ""):
            raise CommandError(
                "runtime workers need REDIS_URL (leases, run state and calls go through Redis); "
                "without it the server process hosts runs itself"
            )
        if store_kind() != "redis":
            self.stderr.write(
                f"warning: FLOWYARD_RUN_STORE={store_kind()}: runs taken over by another worker "
                "will not see this worker's state; use redis"
            )
        from hosting.worker import Worker

        supervision.become_worker()
        worker = Worker(supervision.get_supervisor(), interval=options["interval"])
        done = threading.Event()

        def finish(signum: int, frame: Any) -> None:
            done.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        worker.start()
        self.stdout.write(f"runtime worker {worker.name} listening on {worker.channel}")
        self.stdout.flush()
        while not done.wait(0.5):
            pass
        self.stdout.write(f"runtime worker {worker.name} stopping")
        worker.stop()
        self.stdout.write(f"runtime worker {worker.name} stopped")
