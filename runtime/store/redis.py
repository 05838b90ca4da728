"""The shared store: queues and logs in Redis, so several worker processes see one state.

Every queue operation is one Lua script (atomic across workers, one round trip per batch).
Times are passed in, never read from Redis, so the semantics are those of ``MemoryStore`` on
the run's clock (virtual time included). Layout under the key prefix:

* ``q:<queue>:avail`` sorted set of record numbers (12-digit members) scored by the time each
  becomes receivable: visible_at while waiting or delayed, the visibility deadline in flight;
* ``q:<queue>:r:<n>`` hash per record; ``:receipts`` receipt → number; ``:locks`` FIFO group →
  messages in flight; ``:dedup`` dedup key → first accepted time; ``:meta`` counters;
* ``l:<log>:<partition>`` list of JSON records and ``l:<log>:<partition>:start`` (log start);
* ``o:<log>:<group>`` hash partition → committed offset.

Nothing lives outside the prefix, so one Redis serves many installs and topologies
(``flowyard:<install>:t<id>:``), and ``inventory``/``drop``/``clear`` find everything with SCAN.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Sequence
from typing import Any

from runtime.events import Message
from runtime.store.base import (
    LogRecord,
    QueueCounts,
    QueueOptions,
    QueueRecord,
    Received,
    ReceiveResult,
    SendOutcome,
    Store,
    StoreError,
    decode_message,
    encode_message,
)
from runtime.store.memory import body_text

CANDIDATES = 1000  # records a receive looks at (AWS scans the first 120,000)

_SEND = """
local p = KEYS[1]
local now, retention, fifo, window = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1',
  tonumber(ARGV[4])
local out = {}
for i = 5, #ARGV, 5 do
  local body, delay, group, dedup, sent = ARGV[i], tonumber(ARGV[i+1]), ARGV[i+2], ARGV[i+3],
    tonumber(ARGV[i+4])
  local duplicate = false
  if dedup ~= '' then
    local first = redis.call('HGET', p .. 'dedup', dedup)
    if first and now - tonumber(first) < window then duplicate = true
    else redis.call('HSET', p .. 'dedup', dedup, now) end
  end
  if duplicate then table.insert(out, 0) else
    local n = redis.call('HINCRBY', p .. 'meta', 'seq', 1)
    local member = string.format('%012d', n)
    local carried = cjson.decode(body)
    local count = 0
    if carried[7] and carried[7]['ApproximateReceiveCount'] then
      count = carried[7]['ApproximateReceiveCount'] end
    local dls = ''
    if carried[7] and carried[7]['DeadLetterQueueSourceArn'] then
      dls = carried[7]['DeadLetterQueueSourceArn'] end
    redis.call('HSET', p .. 'r:' .. member, 'msg', body, 'sent', sent, 'expires',
      sent + retention, 'count', count, 'group', group, 'dedup', dedup, 'flight', 0,
      'deadline', 0, 'receipt', '', 'first', '', 'dls', dls)
    redis.call('ZADD', p .. 'avail', now + delay, member)
    table.insert(out, n)
  end
end
return out
"""

_LAND = """
local function unlock(p, group)
  if group ~= '' then
    local left = redis.call('HINCRBY', p .. 'locks', group, -1)
    if left <= 0 then redis.call('HDEL', p .. 'locks', group) end
  end
end
local function forget(p, member, receipt)
  redis.call('DEL', p .. 'r:' .. member)
  redis.call('ZREM', p .. 'avail', member)
end
"""

_RECEIVE = (
    _LAND
    + """
local p = KEYS[1]
local now, wanted, timeout, fifo, limit, take_all = tonumber(ARGV[1]), tonumber(ARGV[2]),
  tonumber(ARGV[3]), ARGV[4] == '1', tonumber(ARGV[5]), ARGV[6] == '1'
local members = redis.call('ZRANGEBYSCORE', p .. 'avail', '-inf', now, 'LIMIT', 0, """
    + str(CANDIDATES)
    + """)
if fifo then
  -- as SQS does: as many messages of one group as possible, each group in order
  table.sort(members)
  local order, by_group = {}, {}
  for _, member in ipairs(members) do
    local found = redis.call('HMGET', p .. 'r:' .. member, 'group', 'flight')
    local group = found[1] or ''
    if found[2] == '1' then
      -- its visibility ended: land it first, so the whole batch it was part of unlocks
      redis.call('HSET', p .. 'r:' .. member, 'flight', 0)
      unlock(p, group)
    end
    if not by_group[group] then
      by_group[group] = {}
      table.insert(order, group)
    end
    table.insert(by_group[group], member)
  end
  members = {}
  for _, group in ipairs(order) do
    for _, member in ipairs(by_group[group]) do table.insert(members, member) end
  end
end
local taken, letters, expired, picked = {}, {}, 0, {}
for _, member in ipairs(members) do
  if #taken >= wanted then break end
  local key = p .. 'r:' .. member
  local r = redis.call('HMGET', key, 'msg', 'sent', 'expires', 'count', 'group', 'flight',
    'first', 'dls')
  if r[1] then
    local group, count = r[5], tonumber(r[4])
    if r[6] == '1' then
      redis.call('HSET', key, 'flight', 0)
      unlock(p, group)
    end
    if tonumber(r[3]) <= now then
      forget(p, member)
      expired = expired + 1
    elseif fifo and group ~= '' and redis.call('HEXISTS', p .. 'locks', group) == 1
        and not picked[group] then
      -- the group's head is in flight: skip the whole group
    elseif limit > 0 and count >= limit and not take_all then
      table.insert(letters, {r[1], r[2], count, group, r[8]})
      forget(p, member)
    else
      count = count + 1
      local first = r[7]
      if first == '' then first = tostring(now) end
      local receipt = ''
      if take_all then
        forget(p, member)
      else
        local serial = redis.call('HINCRBY', p .. 'meta', 'receipts', 1)
        receipt = KEYS[2] .. ':' .. member .. ':' .. serial
        redis.call('HSET', key, 'count', count, 'first', first, 'flight', 1,
          'deadline', now + timeout, 'receipt', receipt)
        redis.call('HSET', p .. 'receipts', receipt, member)
        redis.call('ZADD', p .. 'avail', now + timeout, member)
        if group ~= '' then
          redis.call('HINCRBY', p .. 'locks', group, 1)
          picked[group] = true
        end
      end
      table.insert(taken, {r[1], receipt, count, r[2], first, member, group, r[8]})
    end
  end
end
-- one JSON text: a reply of nested arrays costs a parser call per element on the client
return cjson.encode({taken, letters, expired})
"""
)

_DELETE = (
    _LAND
    + """
local p = KEYS[1]
local now, fifo = tonumber(ARGV[1]), ARGV[2] == '1'
local deleted = 0
for i = 3, #ARGV do
  local receipt = ARGV[i]
  local member = redis.call('HGET', p .. 'receipts', receipt)
  if not member then
    return redis.error_reply('ReceiptHandleIsInvalid|The input receipt handle "' .. receipt
      .. '" is not valid.')
  end
  local key = p .. 'r:' .. member
  local r = redis.call('HMGET', key, 'receipt', 'flight', 'deadline', 'group')
  if not r[1] then
    redis.call('HDEL', p .. 'receipts', receipt)
  elseif r[1] == receipt then
    local live = r[2] == '1' and tonumber(r[3]) > now
    if not live and fifo then
      return redis.error_reply('InvalidParameterValue|Value ' .. receipt
        .. ' for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.')
    end
    if r[2] == '1' then unlock(p, r[4]) end
    forget(p, member)
    redis.call('HDEL', p .. 'receipts', receipt)
    deleted = deleted + 1
  end
end
return deleted
"""
)

_VISIBILITY = (
    _LAND
    + """
local p = KEYS[1]
local now, receipt, timeout = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local member = redis.call('HGET', p .. 'receipts', receipt)
local r = {}
if member then
  r = redis.call('HMGET', p .. 'r:' .. member, 'receipt', 'flight', 'deadline', 'group')
end
if not member or not r[1] then
  return redis.error_reply('InvalidParameterValue|Value ' .. receipt .. ' for parameter '
    .. 'ReceiptHandle is invalid. Reason: Message does not exist or is not available for '
    .. 'visibility timeout change.')
end
if r[1] ~= receipt or r[2] ~= '1' or tonumber(r[3]) <= now then return 0 end
if timeout == 0 then
  redis.call('HSET', p .. 'r:' .. member, 'flight', 0)
  unlock(p, r[4])
  redis.call('ZADD', p .. 'avail', now, member)
else
  redis.call('HSET', p .. 'r:' .. member, 'deadline', now + timeout)
  redis.call('ZADD', p .. 'avail', now + timeout, member)
end
return 1
"""
)

_COUNTS = """
local p = KEYS[1]
local now = tonumber(ARGV[1])
local visible, flight, delayed = 0, 0, 0
local members = redis.call('ZRANGE', p .. 'avail', 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local r = redis.call('HMGET', p .. 'r:' .. members[i], 'flight', 'expires')
  local score = tonumber(members[i + 1])
  if r[2] and tonumber(r[2]) > now then
    if r[1] == '1' and score > now then flight = flight + 1
    elseif r[1] == '1' or score <= now then visible = visible + 1
    else delayed = delayed + 1 end
  end
end
return {visible, flight, delayed}
"""

_APPEND = """
local start = tonumber(redis.call('GET', KEYS[2]) or '0')
local length = redis.call('RPUSH', KEYS[1], unpack(ARGV))
return start + length - #ARGV
"""

_TRIM = """
local dropped = 0
local before = tonumber(ARGV[1])
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head or tonumber(cjson.decode(head)[4]) >= before then break end
  redis.call('LPOP', KEYS[1])
  dropped = dropped + 1
end
if dropped > 0 then redis.call('INCRBY', KEYS[2], dropped) end
return dropped
"""


encode = encode_message
decode = decode_message
EVERYTHING = -1e18  # a "now" before every expiry: counts every record a queue holds


def _store_error(error: Exception) -> StoreError:
    code, _, message = str(error).partition("|")
    return StoreError(code.strip(), message)


class RedisStore(Store):
    """Queues and logs in Redis (``redis.asyncio``); the same contract as MemoryStore.

    Every call has been applied by Redis when it returns, so ``sync()`` has nothing to wait
    for; how much survives a Redis restart is the server's persistence setting.
    """

    name = "redis"
    durable = True

    def __init__(self, client: Any, prefix: str = "flowyard:") -> None:
        self.client = client
        self.prefix = prefix
        self.options: dict[str, QueueOptions] = {}
        self.busy = 0
        self._scripts = {
            name: client.register_script(source)
            for name, source in {
                "send": _SEND,
                "receive": _RECEIVE,
                "delete": _DELETE,
                "visibility": _VISIBILITY,
                "counts": _COUNTS,
                "append": _APPEND,
                "trim": _TRIM,
            }.items()
        }

    @classmethod
    def from_url(cls, url: str, prefix: str = "flowyard:") -> RedisStore:
        from redis import asyncio as redis_asyncio

        return cls(redis_asyncio.from_url(url), prefix)

    def _q(self, queue: str) -> str:
        return f"{self.prefix}q:{queue}:"

    def _options(self, queue: str) -> QueueOptions:
        try:
            return self.options[queue]
        except KeyError:
            raise StoreError(
                "AWS.SimpleQueueService.NonExistentQueue", f"No queue {queue}"
            ) from None

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import ResponseError

        try:
            return await self._do(self._scripts[name](keys=keys, args=args))
        except ResponseError as error:
            raise _store_error(error) from None

    async def _do(self, call: Awaitable[Any]) -> Any:
        # ``busy`` lets a test's settle() tell "waiting on Redis" from "idle".
        self.busy += 1
        try:
            result = await call
        finally:
            self.busy -= 1
        # redis-py wraps socket I/O in asyncio.wait_for, which on Python 3.11 swallows a
        # cancellation that lands as the call completes (CPython gh-86296): without this, a
        # stopping run's poller would carry on and the stop would never end.
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        return result

    # --- queues ---------------------------------------------------------------------------------
    async def queue_declare(self, queue: str, options: QueueOptions) -> None:
        self.options[queue] = options

    async def queue_send(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        *,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        options = self._options(queue)
        args: list[Any] = [now, options.retention_period, int(options.fifo), options.dedup_window]
        for index, message in enumerate(messages):
            group = dedup = ""
            if options.fifo:
                group, dedup = self._fifo_ids(options, message)
                if options.deduplication_scope == "messageGroup":
                    dedup = f"{group}\x00{dedup}"
            delay = options.delay_seconds if delays is None else delays[index]
            sent = message.system.get("_sent_at", now) if message.system else now
            args += [encode(message), delay, group, dedup, sent]
        numbers = await self._run("send", [self._q(queue)], args)
        return [
            SendOutcome(message.id, int(number), int(number) == 0)
            for message, number in zip(messages, numbers, strict=True)
        ]

    @staticmethod
    def _fifo_ids(options: QueueOptions, message: Message) -> tuple[str, str]:
        import hashlib

        group = message.system.get("MessageGroupId")
        if not group:
            raise StoreError(
                "MissingParameter", "The request must contain the parameter MessageGroupId."
            )
        dedup = message.system.get("MessageDeduplicationId")
        if not dedup:
            if not options.content_based_deduplication:
                raise StoreError(
                    "InvalidParameterValue",
                    "The queue should either have ContentBasedDeduplication enabled or "
                    "MessageDeduplicationId provided explicitly",
                )
            dedup = hashlib.sha256(body_text(message.body).encode()).hexdigest()
        return str(group), str(dedup)

    async def _receive(
        self, queue: str, now: float, wanted: int, timeout: float, *, take_all: bool = False
    ) -> list[Any]:
        options = self._options(queue)
        reply = await self._run(
            "receive",
            [self._q(queue), queue],
            [now, wanted, timeout, int(options.fifo), options.max_receive_count, int(take_all)],
        )
        taken, letters, expired = json.loads(reply)
        # cjson writes an empty Lua table as {}.
        return [taken or [], letters or [], expired]

    async def queue_receive(
        self,
        queue: str,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
    ) -> ReceiveResult:
        options = self._options(queue)
        timeout = options.visibility_timeout if visibility_timeout is None else visibility_timeout
        taken, letters, expired = await self._receive(queue, now, max_messages, timeout)
        result = ReceiveResult(expired=int(expired))
        for body, receipt, count, sent, first, member, group, dls in taken:
            result.messages.append(
                Received(
                    decode(body),
                    _text(receipt),
                    int(count),
                    float(sent),
                    float(first),
                    int(member),
                    _text(group) or None,
                    _text(dls) or None,
                )
            )
        for body, sent, count, group, dls in letters:
            result.dead_lettered.append(self._record(body, sent, count, group, dls))
        return result

    @staticmethod
    def _record(body: Any, sent: Any, count: Any, group: Any, dls: Any) -> QueueRecord:
        record = QueueRecord(decode(body), float(sent), 0.0, 0.0, 0, _text(group) or None)
        record.receive_count = int(count)
        record.dead_letter_source = _text(dls) or None
        return record

    async def queue_delete(self, queue: str, receipts: Sequence[str], now: float) -> int:
        options = self._options(queue)
        return int(await self._run("delete", [self._q(queue)], [now, int(options.fifo), *receipts]))

    async def queue_change_visibility(
        self, queue: str, receipt: str, timeout: float, now: float
    ) -> None:
        self._options(queue)
        await self._run("visibility", [self._q(queue)], [now, receipt, timeout])

    async def queue_counts(self, queue: str, now: float) -> QueueCounts:
        self._options(queue)
        visible, flight, delayed = await self._run("counts", [self._q(queue)], [now])
        return QueueCounts(int(visible), int(flight), int(delayed))

    async def queue_next_change(self, queue: str, now: float) -> float | None:
        found = await self._do(
            self.client.zrangebyscore(
                f"{self._q(queue)}avail", f"({now}", "+inf", start=0, num=1, withscores=True
            )
        )
        return float(found[0][1]) if found else None

    async def queue_purge(self, queue: str) -> int:
        counts = await self.queue_counts(queue, EVERYTHING)
        await self._delete_prefix(self._q(queue))
        return counts.visible + counts.in_flight + counts.delayed

    async def queue_take_all(self, queue: str, now: float) -> list[QueueRecord]:
        taken, _, _ = await self._receive(queue, now, 1_000_000, 0, take_all=True)
        return [
            self._record(body, sent, count, group, dls)
            for body, _receipt, count, sent, _first, _member, group, dls in taken
        ]

    async def queue_peek(self, queue: str, now: float, limit: int = 10) -> list[QueueRecord]:
        members = await self._do(
            self.client.zrangebyscore(f"{self._q(queue)}avail", "-inf", now, start=0, num=limit)
        )
        records = []
        for member in members:
            fields = await self._do(
                self.client.hmget(
                    f"{self._q(queue)}r:{_text(member)}", "msg", "sent", "count", "group", "dls"
                )
            )
            if fields[0] is not None:
                records.append(self._record(*fields))
        return records

    # --- logs -----------------------------------------------------------------------------------
    def _log(self, log: str, partition: int) -> list[str]:
        key = f"{self.prefix}l:{log}:{partition}"
        return [key, f"{key}:start"]

    async def log_append(self, log: str, partition: int, records: Sequence[LogRecord]) -> list[int]:
        if not records:
            return []
        encoded = [
            json.dumps(
                [
                    record.key,
                    record.value,
                    [list(pair) for pair in record.headers],
                    record.timestamp,
                    encode(record.message) if record.message is not None else None,
                ],
                separators=(",", ":"),
            )
            for record in records
        ]
        first = int(await self._run("append", self._log(log, partition), encoded))
        return list(range(first, first + len(records)))

    async def log_read(self, log: str, partition: int, offset: int, limit: int) -> list[LogRecord]:
        start, _ = await self.log_bounds(log, partition)
        index = max(0, offset - start)
        key = self._log(log, partition)[0]
        raw = await self._do(self.client.lrange(key, index, index + limit - 1))
        records = []
        for position, text in enumerate(raw):
            key, value, headers, timestamp, message = json.loads(text)
            records.append(
                LogRecord(
                    start + index + position,
                    key,
                    value,
                    timestamp,
                    tuple(tuple(pair) for pair in headers),
                    decode(message) if message is not None else None,
                )
            )
        return records

    async def log_bounds(self, log: str, partition: int) -> tuple[int, int]:
        key, start_key = self._log(log, partition)
        start = int(await self._do(self.client.get(start_key)) or 0)
        return start, start + int(await self._do(self.client.llen(key)))

    async def log_trim(self, log: str, partition: int, before: float) -> int:
        return int(await self._run("trim", self._log(log, partition), [before]))

    async def offset_commit(self, log: str, group: str, partition: int, offset: int) -> None:
        await self._do(self.client.hset(f"{self.prefix}o:{log}:{group}", str(partition), offset))

    async def offset_get(self, log: str, group: str, partition: int) -> int | None:
        found = await self._do(self.client.hget(f"{self.prefix}o:{log}:{group}", str(partition)))
        return None if found is None else int(found)

    # --- the whole namespace --------------------------------------------------------------------
    @property
    def durability(self) -> dict[str, Any]:
        return {"store": self.name, "prefix": self.prefix, "survives": "worker crash"}

    async def _keys(self, pattern: str) -> list[str]:
        """Keys under the prefix matching ``pattern`` (glob, after the escaped prefix)."""
        found = []
        async for key in self.client.scan_iter(match=f"{_glob(self.prefix)}{pattern}", count=500):
            found.append(_text(key))
        return found

    async def _queue_size(self, queue: str, now: float) -> int:
        visible, flight, delayed = await self._run("counts", [self._q(queue)], [now])
        return int(visible) + int(flight) + int(delayed)

    async def inventory(self, now: float) -> dict[str, dict[str, int]]:
        queues: dict[str, int] = {}
        start = len(self.prefix) + 2
        for key in await self._keys("q:*:avail"):
            name = key[start : -len(":avail")]
            size = await self._queue_size(name, now)
            if size:
                queues[name] = size
        logs: dict[str, int] = {}
        for key in await self._keys("l:*"):
            if key.endswith(":start"):
                continue
            name = key[start : key.rfind(":")]
            length = int(await self._do(self.client.llen(key)))
            if length:
                logs[name] = logs.get(name, 0) + length
        return {"queues": queues, "logs": logs}

    async def drop(self, names: Sequence[str]) -> int:
        dropped = 0
        for name in set(names):
            dropped += await self._queue_size(name, EVERYTHING)
            for key in await self._keys(f"l:{_glob(name)}:*"):
                if not key.endswith(":start"):
                    dropped += int(await self._do(self.client.llen(key)))
            for kind in ("q", "l", "o"):
                await self._delete_prefix(f"{self.prefix}{kind}:{name}:")
        return dropped

    async def _delete_prefix(self, prefix: str) -> None:
        async for key in self.client.scan_iter(match=f"{_glob(prefix)}*", count=500):
            await self.client.delete(key)

    async def clear(self) -> int:
        """Remove every key under this store's prefix (tests, or resetting a topology)."""
        found = await self.inventory(EVERYTHING)
        await self._delete_prefix(self.prefix)
        return sum(found["queues"].values()) + sum(found["logs"].values())

    async def close(self) -> None:
        await self.client.aclose()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
