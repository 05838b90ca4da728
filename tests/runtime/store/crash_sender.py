"""A process for the SIGKILL test: moves unique messages through a SqliteStore and reports.

``python -m tests.runtime.store.crash_sender PATH TOTAL SEED`` prints one line per completed
call, only after it returned (so after its commit): ``sent ID...``, ``deleted ID...``,
``dead-lettered ID...`` (moved to the DLQ); and ``deleting ID...`` before a delete, whose
outcome a kill may leave unknown. The parent kills it at a random point and checks
the file against what was printed.
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

from runtime.events import Message
from runtime.store import QueueOptions, SqliteStore

SOURCE = QueueOptions(visibility_timeout=30, max_receive_count=2)
DLQ = QueueOptions()
SENDERS = 3


def poisoned(identifier: str) -> bool:
    return int(identifier[1:]) % 7 == 0


async def main(path: str, total: int, seed: int) -> None:
    store = SqliteStore(path)
    await store.queue_declare("q", SOURCE)
    await store.queue_declare("dlq", DLQ)
    rng = random.Random(seed)
    numbers = iter(range(total))
    sending = SENDERS

    def report(what: str, identifiers: list[str]) -> None:
        if identifiers:
            sys.stdout.write(f"{what} {' '.join(identifiers)}\n")
            sys.stdout.flush()

    async def send() -> None:
        nonlocal sending
        while True:
            batch = [f"m{n}" for _, n in zip(range(rng.randint(1, 10)), numbers, strict=False)]
            if not batch:
                sending -= 1
                return
            sent = [Message.new(i, now=time.time(), message_id=i) for i in batch]
            await store.queue_send("q", sent, time.time())
            report("sent", batch)

    async def consume() -> None:
        while True:
            now = time.time()
            result = await store.queue_receive("q", now, max_messages=10)
            if result.dead_lettered:
                moved = [
                    record.message.derive(
                        "dlq",
                        system={
                            "ApproximateReceiveCount": record.receive_count,
                            "_sent_at": record.sent_at,
                        },
                    )
                    for record in result.dead_lettered
                ]
                await store.queue_send("dlq", moved, now)
                report("dead-lettered", [m.id for m in moved])
            done = [item for item in result.messages if not poisoned(item.message.id)]
            for item in result.messages:
                if poisoned(item.message.id):
                    await store.queue_change_visibility("q", item.receipt, 0, now)
            if done:
                report("deleting", [item.message.id for item in done])
                await store.queue_delete("q", [item.receipt for item in done], now)
                report("deleted", [item.message.id for item in done])
            if not result.messages and not result.dead_lettered:
                if not sending:
                    report("done", ["-"])
                    await asyncio.sleep(3600)  # wait to be killed
                await asyncio.sleep(0.001)

    async with asyncio.TaskGroup() as group:
        for _ in range(SENDERS):
            group.create_task(send())
        group.create_task(consume())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
