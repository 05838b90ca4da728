"""The shared store: queues and logs in Redis, so several worker processes see one state.

Every queue operation is one Lua script (atomic across workers, one round trip per batch).
Times are passed in, never read from Redis, so the semantics are those of ``MemoryStore`` on
the run's clock (virtual time included). Layout under the key prefix (Redis 6.2 or later):

* ``q:<queue>:avail`` sorted set of the records waiting (visible or delayed), 12-digit record
  numbers scored by the time each becomes receivable;
* ``q:<queue>:flight`` sorted set of the records received and not deleted, scored by the end of
  their visibility window (records held for a move to another queue are there too);
* ``q:<queue>:exp`` sorted set of every record, scored by the end of its retention: a record
  is in ``exp`` and in exactly one of ``avail`` and ``flight``, so counting is ``ZCOUNT``s;
* ``q:<queue>:m``, ``:v`` and ``:g`` hashes keyed by record number: what never changes (send
  time, dead-letter source, message), what receives change (receive count, first receive,
  state, receipt handle) and the FIFO group, so a batch costs a few calls whatever its size
  (see ``_COMMON``); ``:receipts`` receipt → number; ``:locks`` FIFO group → messages in
  flight; ``:dedup`` dedup key → first accepted time; ``:meta`` counters;
* ``l:<log>:<partition>`` list of JSON records and ``l:<log>:<partition>:start`` (log start);
* ``o:<log>:<group>`` hash partition → committed offset.

The queue's own pollers use ``queue_take`` (through a ``Taker``): no receipt handles, and the
acknowledgement of a batch rides on the take of a later one, so a batch costs one round trip,
pipelined. Large sends go in pipelined chunks.

Moves between queues (to a dead-letter queue, a redrive back to the source) are two steps
that never lose a message: the records are first held in their queue (hidden, as in flight,
for ``HOLD`` seconds), then one script stores the copies in the other queue and deletes the
originals together. A mover that dies in between leaves them held; they come back when the
hold ends, to be moved again.

Nothing lives outside the prefix, so one Redis serves many installs and topologies
(``flowyard:<install>:t<id>:``), and ``inventory``/``drop``/``clear`` find everything with SCAN.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.events import Message, freeze
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

FIFO_WINDOW = 1000  # records a FIFO receive looks at for unlocked groups (AWS: 120,000)
FIFO_PAGE = 100  # ... a page at a time
SWEEP = 1000  # records past their retention dropped per call (the rest by the next calls)
LAND = 1000  # records whose visibility ended made visible again per call
HOLD = 30.0  # seconds a record held for a move stays hidden if its mover dies
CHUNK = 1000  # records per call when a whole queue is taken or held
SEND_CHUNK = 250  # messages per script call of a large send (pipelined)
PIN_LENGTH = 100  # beyond zset-max-listpack-value (64 by default): see _COMMON

# Helpers shared by the queue scripts. A record lives in hashes keyed by its number (a batch
# reads or writes each for all its records in one call): m its send time, dead-letter source
# and body (never changed); g its FIFO group (FIFO queues only); v its receive count, first
# receive time, state (1 in flight, 2 held for a move, empty: waiting) and receipt handle, take
# tag or hold token (no v: never received). The parts are joined by newlines: JSON text, times,
# group ids and ARNs have none.
_COMMON = (
    """
-- Each sorted set holds a pin at +inf, a member too long for Redis's compact encoding: small
-- sorted sets would otherwise be listpacks, where every insert or removal moves the whole set
-- (a poller's in-flight set churns by a batch per take). Ranges up to "now" never reach it;
-- counts and "next" stop short of +inf.
local PIN = string.rep('~', """
    + str(PIN_LENGTH)
    + """)
local function bulk(command, key, items)
  -- one call per 4,000 arguments (Lua's unpack has a stack limit)
  for i = 1, #items, 4000 do
    local last = math.min(i + 3999, #items)
    if key then redis.call(command, key, unpack(items, i, last))
    else redis.call(command, unpack(items, i, last)) end
  end
end
-- ZADD with the pin
local function place(key, items)
  items[#items + 1] = '+inf'
  items[#items + 1] = PIN
  bulk('ZADD', key, items)
end
local function fetch(p, field, members)
  if #members == 0 then return {} end
  return redis.call('HMGET', p .. field, unpack(members))
end
local function parse(v)
  if not v then return 0, false, '', '' end
  local count, first, state, receipt = string.match(v, '^(%d*)\\n([^\\n]*)\\n([^\\n]*)\\n(.*)$')
  if first == '' then first = false end
  return tonumber(count) or 0, first, state, receipt
end
local function pack(count, first, state, receipt)
  return count .. '\\n' .. (first or '') .. '\\n' .. state .. '\\n' .. receipt
end
-- a record's m: send time, dead-letter source, body
local function split(m)
  local sent, dls, rest = string.match(m, '^([^\\n]*)\\n([^\\n]*)\\n()')
  return sent, dls, string.sub(m, rest)
end
local function unlock(p, group)
  if group and group ~= '' then
    local left = redis.call('HINCRBY', p .. 'locks', group, -1)
    if left <= 0 then redis.call('HDEL', p .. 'locks', group) end
  end
end
-- records gone for good (their groups unlocked by the caller where they were in flight)
local function drop(p, members)
  if #members == 0 then return end
  bulk('HDEL', p .. 'm', members)
  bulk('HDEL', p .. 'v', members)
  bulk('HDEL', p .. 'g', members)
  bulk('ZREM', p .. 'avail', members)
  bulk('ZREM', p .. 'flight', members)
  bulk('ZREM', p .. 'exp', members)
end
-- unlock the groups of those of ``members`` in flight (state 1), given their v
local function release(p, members, dynamic)
  local flying = {}
  for i, member in ipairs(members) do
    local _, _, state = parse(dynamic[i])
    if state == '1' then flying[#flying + 1] = member end
  end
  local groups = fetch(p, 'g', flying)
  for i = 1, #flying do unlock(p, groups[i]) end
end
-- records past their retention go, waiting or in flight; returns how many
local function sweep(p, now)
  local gone = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, """
    + str(SWEEP)
    + """)
  release(p, gone, fetch(p, 'v', gone))
  drop(p, gone)
  return #gone
end
-- a new record in queue p: its number, or 0 when FIFO deduplication drops it
local function add(p, seq, now, window, at, expires, body, group, dedup, sent, count, dls)
  if dedup ~= '' then
    local first = redis.call('HGET', p .. 'dedup', dedup)
    if first and now - tonumber(first) < window then return 0 end
    redis.call('HSET', p .. 'dedup', dedup, now)
  end
  local member = string.format('%012d', seq)
  redis.call('HSET', p .. 'm', member, sent .. '\\n' .. dls .. '\\n' .. body)
  if group ~= '' then redis.call('HSET', p .. 'g', member, group) end
  if count ~= '0' then redis.call('HSET', p .. 'v', member, pack(count, false, '', '')) end
  place(p .. 'avail', {at, member})
  place(p .. 'exp', {expires, member})
  return seq
end
"""
)

# ARGV: now, retention, dedup window, then either 'plain', the delay and the bodies joined by
# newlines (JSON text has none), for messages sent now that carry nothing over (the hot path:
# a few calls per batch), or 'full' and per message: body, delay, group, dedup key, send time,
# receive count, dead-letter source. Returns the last record number (plain), or per message its
# number or 0 for a duplicate (full).
_SEND = (
    _COMMON
    + """
local p = KEYS[1]
local now, retention, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local seq = tonumber(redis.call('HGET', p .. 'meta', 'seq') or '0')
local out = {}
if ARGV[4] == 'plain' then
  local at, ends, text = now + tonumber(ARGV[5]), now + retention, ARGV[6]
  local prefix = ARGV[1] .. '\\n\\n'
  local bodies, avail, exp = {}, {}, {}
  local position, length, i = 1, #text, 0
  while position <= length do
    local stop = string.find(text, '\\n', position, true) or length + 1
    seq = seq + 1
    local member = string.format('%012d', seq)
    bodies[i + 1] = member
    bodies[i + 2] = prefix .. string.sub(text, position, stop - 1)
    avail[i + 1] = at
    avail[i + 2] = member
    exp[i + 1] = ends
    exp[i + 2] = member
    i = i + 2
    position = stop + 1
  end
  bulk('HSET', p .. 'm', bodies)
  place(p .. 'avail', avail)
  place(p .. 'exp', exp)
  out = seq
else
  for i = 5, #ARGV, 7 do
    local sent = ARGV[i + 4]
    local stored = add(p, seq + 1, now, window, now + tonumber(ARGV[i + 1]),
      tonumber(sent) + retention, ARGV[i], ARGV[i + 2], ARGV[i + 3], sent, ARGV[i + 5],
      ARGV[i + 6])
    if stored > 0 then seq = stored end
    out[#out + 1] = stored
  end
end
redis.call('HSET', p .. 'meta', 'seq', seq)
return out
"""
)

# Moves held records (see _TAKE's hold) from KEYS[1] to the queue KEYS[2]: each copy is stored
# and its original deleted in this one script, so a record is never in both queues nor in
# neither. (Redis keeps what a script wrote before an error: the copies are written before the
# originals go, so a script failing part way could leave a duplicate, never a loss.) ARGV: now,
# the target's retention, dedup window and delay, then per record: number, hold token, body,
# group, dedup key, send time, receive count, dead-letter source. Returns per record 1 (moved),
# 2 (moved, and the copy dropped by FIFO deduplication) or 0 (not held by this token any more:
# its hold ended and it was taken again, or it expired).
_MOVE = (
    _COMMON
    + """
local source, p = KEYS[1], KEYS[2]
local now, retention, window, delay = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]),
  tonumber(ARGV[4])
local seq = tonumber(redis.call('HGET', p .. 'meta', 'seq') or '0')
local out, moved = {}, {}
for i = 5, #ARGV, 8 do
  local member = ARGV[i]
  local _, _, state, token = parse(redis.call('HGET', source .. 'v', member))
  if token == ARGV[i + 1] and state == '2' then
    local sent = ARGV[i + 5]
    local stored = add(p, seq + 1, now, window, now + delay, tonumber(sent) + retention,
      ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], sent, ARGV[i + 6], ARGV[i + 7])
    if stored > 0 then
      seq = stored
      out[#out + 1] = 1
    else
      out[#out + 1] = 2
    end
    moved[#moved + 1] = member
  else
    out[#out + 1] = 0
  end
end
drop(source, moved)
redis.call('HSET', p .. 'meta', 'seq', seq)
return out
"""
)

# Receives, in one of four modes:
# * 'take': the queue's own pollers, without receipt handles. The records taken by one call
#   share a tag; ARGV[4] acknowledges records taken earlier and handled since, as groups
#   "tag number number ...;tag number ...", deleted first unless received again since (as
#   MemoryStore's queue_ack_now), so a poller's delete rides on its next receive;
# * 'receive': ReceiveMessage, with receipt handles;
# * 'all': remove and return every visible record; 'hold': hold every visible record for a move.
# ARGV: now, wanted, "visibility-timeout fifo maxReceiveCount mode hold", acks. Records past
# maxReceiveCount (0: none) are held for a move to the DLQ when hold > 0, else deleted; both are
# returned. Reply: acked, expired, next change ('' when something was taken), the taken count and
# their fields (take: the tag, the records' m joined by newlines and their numbers joined by
# spaces), the dead letters' count and theirs.
_TAKE = (
    _COMMON
    + """
local p = KEYS[1]
local now_text = ARGV[1]
local now, wanted = tonumber(ARGV[1]), tonumber(ARGV[2])
local timeout, fifo, limit, mode, hold = string.match(ARGV[3], '(%S+) (%S+) (%S+) (%S+) (%S+)')
timeout, fifo, limit, hold = tonumber(timeout), fifo == '1', tonumber(limit), tonumber(hold)
local whole = mode == 'all' or mode == 'hold'

local acked = 0
for group in string.gmatch(ARGV[4], '[^;]+') do
  local members, tag = {}, nil
  for word in string.gmatch(group, '%S+') do
    if tag then members[#members + 1] = word else tag = word end
  end
  local dynamic, deadlines, groups = fetch(p, 'v', members), {}, {}
  if fifo then
    deadlines = redis.call('ZMSCORE', p .. 'flight', unpack(members))
    groups = fetch(p, 'g', members)
  end
  local gone, suffix = {}, '\\n' .. tag
  local width = #suffix
  for i, member in ipairs(members) do
    -- still under this take's tag (not received again since, nor held for a move); visible
    -- again but not received since: deleted all the same, except from a FIFO queue
    local v = dynamic[i]
    if v and string.sub(v, -width) == suffix then
      if not fifo then
        gone[#gone + 1] = member
      elseif deadlines[i] and tonumber(deadlines[i]) > now then
        unlock(p, groups[i])
        gone[#gone + 1] = member
      end
    end
  end
  drop(p, gone)
  acked = acked + #gone
end
if wanted == 0 then return {acked, 0, '', 0, '', '', '', 0} end

local expired = sweep(p, now)
local unswept = expired >= """
    + str(SWEEP)
    + """
local pending = redis.call('HGET', p .. 'meta', 'expired')
if pending then
  expired = expired + tonumber(pending)
  redis.call('HDEL', p .. 'meta', 'expired')
end

-- records whose visibility ended are visible again: a standard queue's at the back (scored by
-- the end of their window), a FIFO queue's ahead of the rest of their group (by send time)
local due = redis.call('ZRANGEBYSCORE', p .. 'flight', '-inf', now, 'WITHSCORES', 'LIMIT', 0, """
    + str(LAND)
    + """)
if #due > 0 then
  local landed = {}
  for i = 1, #due, 2 do landed[#landed + 1] = due[i] end
  local dynamic = fetch(p, 'v', landed)
  release(p, landed, dynamic)
  local records = {}
  if fifo then records = fetch(p, 'm', landed) end
  local back, waiting = {}, {}
  for i, member in ipairs(landed) do
    if dynamic[i] then
      local count, first, _, receipt = parse(dynamic[i])
      waiting[#waiting + 1] = member
      waiting[#waiting + 1] = pack(count, first, '', receipt)
      local score = tonumber(due[2 * i])
      if fifo and records[i] then score = tonumber((split(records[i]))) end
      back[#back + 1] = score
      back[#back + 1] = member
    end
  end
  bulk('ZREM', p .. 'flight', landed)
  if #back > 0 then
    bulk('HSET', p .. 'v', waiting)
    place(p .. 'avail', back)
  end
end

local out, numbers, letters = {}, {}, {}
local n, lettered, serial, token, tag = 0, 0, nil, nil, ''
local deadline = now + timeout
local picked = {}
local fresh = ''  -- v of a record taken for the first time
if mode == 'take' then
  tag = 't' .. redis.call('HINCRBY', p .. 'meta', 'receipts', 1)
  fresh = '1\\n' .. now_text .. '\\n1\\n' .. tag
end
-- a batch of candidates, in order, already chosen (FIFO: unlocked groups): each is taken,
-- held or deleted as a dead letter, or dropped as expired; all of them leave avail
local function handle(members)
  if #members == 0 then return end
  local records, dynamic, groups, ends = fetch(p, 'm', members), fetch(p, 'v', members), {}, {}
  if fifo then groups = fetch(p, 'g', members) end
  if unswept then ends = redis.call('ZMSCORE', p .. 'exp', unpack(members)) end
  local gone, flying, changed, receipts = {}, {}, {}, {}
  for i, member in ipairs(members) do
    local v, group = dynamic[i], groups[i] or ''
    if not records[i] then
      gone[#gone + 1] = member
    elseif unswept and ends[i] and tonumber(ends[i]) <= now then
      gone[#gone + 1] = member
      expired = expired + 1
    elseif mode == 'take' and not v then
      -- the hot path: received for the first time
      changed[#changed + 1] = member
      changed[#changed + 1] = fresh
      flying[#flying + 1] = deadline
      flying[#flying + 1] = member
      out[#out + 1] = records[i]
      numbers[#numbers + 1] = member
      if group ~= '' then
        redis.call('HINCRBY', p .. 'locks', group, 1)
        picked[group] = true
      end
      n = n + 1
    else
      local count, first, _, receipt = parse(v)
      if whole or (limit > 0 and count >= limit) then
        local t = ''
        if mode == 'hold' or (not whole and hold > 0) then
          if not token then
            token = 'hold:' .. redis.call('HINCRBY', p .. 'meta', 'receipts', 1)
          end
          t = token
          changed[#changed + 1] = member
          changed[#changed + 1] = pack(count, first, '2', t)
          flying[#flying + 1] = now + hold
          flying[#flying + 1] = member
        else
          gone[#gone + 1] = member
        end
        local into = letters
        if whole then into = out; n = n + 1 else lettered = lettered + 1 end
        local sent, dls, body = split(records[i])
        for _, value in ipairs({body, member, t, count, sent, group, dls}) do
          into[#into + 1] = value
        end
      else
        count = count + 1
        first = first or now_text
        if mode == 'receive' then
          if not serial then serial = redis.call('HINCRBY', p .. 'meta', 'receipts', 1) end
          receipt = KEYS[2] .. ':' .. member .. ':' .. serial
          receipts[#receipts + 1] = receipt
          receipts[#receipts + 1] = member
          local sent, dls, body = split(records[i])
          for _, value in ipairs({body, receipt, count, sent, first, member, group, dls}) do
            out[#out + 1] = value
          end
        else
          receipt = tag  -- an earlier receipt handle deletes nothing now
          out[#out + 1] = records[i]
          numbers[#numbers + 1] = member
        end
        changed[#changed + 1] = member
        changed[#changed + 1] = pack(count, first, '1', receipt)
        flying[#flying + 1] = deadline
        flying[#flying + 1] = member
        if group ~= '' then
          redis.call('HINCRBY', p .. 'locks', group, 1)
          picked[group] = true
        end
        n = n + 1
      end
    end
  end
  bulk('ZREM', p .. 'avail', members)
  drop(p, gone)
  if #changed > 0 then bulk('HSET', p .. 'v', changed) end
  if #receipts > 0 then bulk('HSET', p .. 'receipts', receipts) end
  if #flying > 0 then place(p .. 'flight', flying) end
end

if not fifo then
  -- every waiting record is a candidate: read only as many as still wanted
  local looked = 0
  while n < wanted and looked < wanted + """
    + str(SWEEP)
    + """ do
    local members = redis.call('ZRANGEBYSCORE', p .. 'avail', '-inf', now, 'LIMIT', 0,
      wanted - n)
    if #members == 0 then break end
    handle(members)
    looked = looked + #members
  end
else
  -- as SQS does: as many messages of one group as possible, each group in order, skipping
  -- groups with messages in flight; a page of candidates at a time
  local offset, looked = 0, 0
  while n < wanted and looked < """
    + str(FIFO_WINDOW)
    + """ do
    local page = redis.call('ZRANGEBYSCORE', p .. 'avail', '-inf', now, 'LIMIT', offset, """
    + str(FIFO_PAGE)
    + """)
    if #page == 0 then break end
    looked = looked + #page
    table.sort(page)
    local groups = fetch(p, 'g', page)
    local order, by_group = {}, {}
    for i, member in ipairs(page) do
      local group = groups[i] or ''
      if not by_group[group] then
        by_group[group] = {}
        order[#order + 1] = group
      end
      table.insert(by_group[group], member)
    end
    -- the next page starts after the groups skipped here (the others' records either leave
    -- avail now or were left for want of room, and come first again)
    local chosen, room, skipped = {}, wanted - n, 0
    for _, group in ipairs(order) do
      if #chosen >= room then break end
      if whole or group == '' or picked[group]
          or redis.call('HEXISTS', p .. 'locks', group) == 0 then
        for _, member in ipairs(by_group[group]) do
          if #chosen >= room then break end
          chosen[#chosen + 1] = member
        end
      else
        skipped = skipped + #by_group[group]
      end
    end
    if #chosen == 0 and skipped == 0 then break end
    handle(chosen)
    offset = offset + skipped
  end
end

-- nothing to take: when something next becomes visible, seen at this same moment
local next_change = ''
if n == 0 then
  if #due == """
    + str(2 * LAND)
    + """ then next_change = now_text else
    for _, name in ipairs({'avail', 'flight'}) do
      local found = redis.call('ZRANGEBYSCORE', p .. name, '(' .. now_text, '(+inf', 'WITHSCORES',
        'LIMIT', 0, 1)
      if found[2] and (next_change == '' or tonumber(found[2]) < tonumber(next_change)) then
        next_change = found[2]
      end
    end
  end
end
local reply = {acked, expired, next_change, n}
if mode == 'take' then
  reply[5] = tag
  reply[6] = table.concat(out, '\\n')
  reply[7] = table.concat(numbers, ' ')
else
  for _, value in ipairs(out) do reply[#reply + 1] = value end
end
reply[#reply + 1] = lettered
for _, value in ipairs(letters) do reply[#reply + 1] = value end
return reply
"""
)

_DELETE = (
    _COMMON
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
  local _, _, state, current = parse(redis.call('HGET', p .. 'v', member))
  if redis.call('HEXISTS', p .. 'm', member) == 0 then
    redis.call('HDEL', p .. 'receipts', receipt)
  elseif current == receipt then
    local live = false
    if state == '1' then
      local deadline = redis.call('ZSCORE', p .. 'flight', member)
      live = deadline and tonumber(deadline) > now
    end
    if not live and fifo then
      return redis.error_reply('InvalidParameterValue|Value ' .. receipt
        .. ' for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.')
    end
    if state == '1' then unlock(p, redis.call('HGET', p .. 'g', member)) end
    drop(p, {member})
    redis.call('HDEL', p .. 'receipts', receipt)
    deleted = deleted + 1
  end
end
return deleted
"""
)

_VISIBILITY = (
    _COMMON
    + """
local p = KEYS[1]
local now, receipt, timeout = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local member = redis.call('HGET', p .. 'receipts', receipt)
local record = member and redis.call('HGET', p .. 'm', member)
if not record then
  return redis.error_reply('InvalidParameterValue|Value ' .. receipt .. ' for parameter '
    .. 'ReceiptHandle is invalid. Reason: Message does not exist or is not available for '
    .. 'visibility timeout change.')
end
local count, first, state, current = parse(redis.call('HGET', p .. 'v', member))
if current ~= receipt or state ~= '1' then return 0 end
local deadline = redis.call('ZSCORE', p .. 'flight', member)
if not deadline or tonumber(deadline) <= now then return 0 end
if timeout == 0 then
  -- visible again at once, ahead of the others (MemoryStore: the front of the queue)
  unlock(p, redis.call('HGET', p .. 'g', member))
  redis.call('HSET', p .. 'v', member, pack(count, first, '', current))
  redis.call('ZREM', p .. 'flight', member)
  place(p .. 'avail', {tonumber((split(record))), member})
else
  place(p .. 'flight', {now + timeout, member})
end
return 1
"""
)

# Visible, in flight, delayed: counted from the sorted sets, after dropping what expired (told
# to the next receive, which reports it).
_COUNTS = (
    _COMMON
    + """
local p = KEYS[1]
local now = tonumber(ARGV[1])
local swept = sweep(p, now)
if swept > 0 then redis.call('HINCRBY', p .. 'meta', 'expired', swept) end
local due = redis.call('ZCOUNT', p .. 'flight', '-inf', now)
local waiting = redis.call('ZCOUNT', p .. 'avail', '-inf', now)
return {waiting + due, redis.call('ZCOUNT', p .. 'flight', '(' .. ARGV[1], '(+inf'),
  redis.call('ZCOUNT', p .. 'avail', '(' .. ARGV[1], '(+inf')}
"""
)

# Messages held (visible, in flight and delayed), without those past their retention.
_SIZE = """
return redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '(+inf')
"""

_NEXT = """
local best = false
for _, key in ipairs(KEYS) do
  local found = redis.call('ZRANGEBYSCORE', key, '(' .. ARGV[1], '(+inf', 'WITHSCORES', 'LIMIT', 0,
    1)
  if found[2] and (not best or tonumber(found[2]) < tonumber(best)) then best = found[2] end
end
return best
"""

# The visible records: waiting, then those whose visibility ended (not made visible yet).
_PEEK = (
    _COMMON
    + """
local p, limit = KEYS[1], tonumber(ARGV[2])
local out, seen = {}, 0
for _, name in ipairs({'avail', 'flight'}) do
  if seen >= limit then break end
  local members = redis.call('ZRANGEBYSCORE', p .. name, '-inf', ARGV[1], 'LIMIT', 0,
    limit - seen)
  local records, groups, dynamic = fetch(p, 'm', members), fetch(p, 'g', members),
    fetch(p, 'v', members)
  for i = 1, #members do
    local count, _, state = parse(dynamic[i])
    if records[i] and state ~= '2' then
      local sent, dls, body = split(records[i])
      for _, value in ipairs({body, sent, count, groups[i] or '', dls}) do
        out[#out + 1] = value
      end
      seen = seen + 1
    end
  end
end
return out
"""
)

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


@dataclass(slots=True)
class Taken:
    """What ``queue_take`` did: the messages taken (``numbers``: their record numbers, which
    with the take's ``tag`` acknowledge them), the dead letters held for the caller to move,
    and what the call acknowledged and dropped; ``next_change`` when nothing was taken."""

    messages: list[Message] = field(default_factory=list)
    tag: bytes = b""
    numbers: list[bytes] = field(default_factory=list)
    letters: list[QueueRecord] = field(default_factory=list)
    acked: int = 0
    expired: int = 0
    next_change: float | None = None

    def acks(self, numbers: Sequence[bytes] | None = None) -> bytes:
        """``queue_take``'s ``acks`` for every message taken, or for those ``numbers``;
        acknowledgements of several takes are joined by ``b";"``."""
        chosen = self.numbers if numbers is None else numbers
        return self.tag + b" " + b" ".join(chosen) if chosen else b""


def _taken(reply: list[Any]) -> Taken:
    """A take's reply: the records' m (send time, dead-letter source, body) joined by
    newlines, decoded with one parse for the batch."""
    acked, expired, next_change, count, tag, joined, numbers = reply[:7]
    letters = [RedisStore._held(reply, at) for at in range(8, len(reply), 7)]
    taken = Taken([], tag, numbers.split() if count else [], letters, int(acked), int(expired))
    if next_change:
        taken.next_change = float(next_change)
    if count:
        new = tuple.__new__
        bodies = b",".join(joined.split(b"\n")[2::3])
        taken.messages = [
            new(
                Message,
                (
                    identifier,
                    trace,
                    body,
                    freeze(attributes),
                    created,
                    tuple(hops),
                    freeze(system),
                    traced,
                    -1,
                ),
            )
            for identifier, trace, body, attributes, created, hops, system, traced in json.loads(
                b"[" + bodies + b"]"
            )
        ]
    return taken


class RedisStore(Store):
    """Queues and logs in Redis (``redis.asyncio``); the same contract as MemoryStore.

    Every call has been applied by Redis when it returns, so ``sync()`` has nothing to wait
    for; how much survives a Redis restart is the server's persistence setting. Beyond the
    contract: ``queue_take`` (a poller's receive that also acknowledges its previous batch),
    ``queue_hold`` and ``queue_move`` (moves between queues that never lose a message).
    """

    name = "redis"
    durable = True

    def __init__(self, client: Any, prefix: str = "flowyard:") -> None:
        self.client = client
        self.prefix = prefix
        self.options: dict[str, QueueOptions] = {}
        self._settings: dict[tuple[Any, ...], bytes] = {}
        self.busy = 0
        self._scripts = {
            name: client.register_script(source)
            for name, source in {
                "send": _SEND,
                "take": _TAKE,
                "move": _MOVE,
                "delete": _DELETE,
                "visibility": _VISIBILITY,
                "counts": _COUNTS,
                "size": _SIZE,
                "next": _NEXT,
                "peek": _PEEK,
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

    def _entry(self, options: QueueOptions, message: Message, now: float) -> list[Any]:
        """A message's script arguments: body, group, dedup key, send time, receive count,
        dead-letter source (the last three carried over when it was moved from a queue)."""
        group = dedup = ""
        if options.fifo:
            group, dedup = self._fifo_ids(options, message)
            if options.deduplication_scope == "messageGroup":
                dedup = f"{group}\x00{dedup}"
        system = message.system
        if not system:
            return [encode(message), group, dedup, now, 0, ""]
        return [
            encode(message),
            group,
            dedup,
            system.get("_sent_at", now),
            system.get("ApproximateReceiveCount", 0),
            system.get("DeadLetterQueueSourceArn") or "",
        ]

    async def queue_send(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        *,
        delays: Sequence[float] | None = None,
    ) -> list[SendOutcome]:
        options = self._options(queue)
        if self._plain(options, messages, delays):
            outcomes: list[SendOutcome] = []
            lasts = await self._send_plain(queue, options, messages, now)
            for start, last in zip(range(0, len(messages), SEND_CHUNK), lasts, strict=True):
                chunk = messages[start : start + SEND_CHUNK]
                first = int(last) - len(chunk) + 1
                outcomes += [SendOutcome(m.id, first + i) for i, m in enumerate(chunk)]
            return outcomes
        numbers = await self._send_full(queue, options, messages, now, delays)
        return [
            SendOutcome(message.id, int(number), int(number) == 0)
            for message, number in zip(messages, numbers, strict=True)
        ]

    async def queue_store(
        self,
        queue: str,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None = None,
    ) -> int:
        """``queue_send`` without per-message outcomes, for the engine: returns how many were
        duplicates (as MemoryStore's queue_store_now)."""
        options = self._options(queue)
        if self._plain(options, messages, delays):
            await self._send_plain(queue, options, messages, now)
            return 0
        numbers = await self._send_full(queue, options, messages, now, delays)
        return sum(1 for number in numbers if not int(number))

    @staticmethod
    def _plain(
        options: QueueOptions, messages: Sequence[Message], delays: Sequence[float] | None
    ) -> bool:
        """Sent now into a standard queue, carrying nothing over from another queue."""
        if options.fifo or delays is not None or not messages:
            return False
        for message in messages:
            system = message.system
            if system and (
                "_sent_at" in system
                or "ApproximateReceiveCount" in system
                or "DeadLetterQueueSourceArn" in system
            ):
                return False
        return True

    async def _send_plain(
        self, queue: str, options: QueueOptions, messages: Sequence[Message], now: float
    ) -> list[Any]:
        """Chunks of ``SEND_CHUNK`` messages, each written to Redis as soon as it is encoded
        (Redis stores one while the next is encoded; a receive can run in between); returns
        each chunk's last record number."""
        head = [now, options.retention_period, options.dedup_window, b"plain"]
        head.append(options.delay_seconds)

        def chunks() -> Iterator[list[Any]]:
            for start in range(0, len(messages), SEND_CHUNK):
                chunk = messages[start : start + SEND_CHUNK]
                yield [*head, "\n".join([encode(message) for message in chunk]).encode()]

        if len(messages) <= SEND_CHUNK:
            return [await self._run("send", [self._q(queue)], next(chunks()))]
        return await self._pipelined("send", [self._q(queue)], chunks())

    async def _pipelined(self, name: str, keys: list[str], calls: Iterator[list[Any]]) -> list[Any]:
        """Run script ``name`` once per argument list of ``calls`` on one connection of its
        own: each call is written as soon as it is built, the replies read in order after."""
        from redis.exceptions import NoScriptError, ResponseError

        pool = self.client.connection_pool
        sha = self._scripts[name].sha
        sent: list[list[Any]] = []
        replies: list[Any] = []
        errors: list[ResponseError] = []
        connection = await _connection(pool)
        self.busy += 1
        clean = False
        try:
            for args in calls:
                sent.append(args)
                await connection.send_packed_command(
                    _resp(b"EVALSHA", sha, len(keys), *keys, *args), check_health=False
                )
            for _ in sent:
                try:
                    replies.append(await connection.read_response())
                except ResponseError as error:
                    errors.append(error)
            clean = True
        finally:
            self.busy -= 1
            if not clean:
                await connection.disconnect()
            await pool.release(connection)
        if errors:
            if isinstance(errors[0], NoScriptError):
                # Redis restarted or flushed its scripts: nothing ran; load it and run again.
                await self.client.script_load(self._scripts[name].script)
                return await self._pipelined(name, keys, iter(sent))
            raise _store_error(errors[0])
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # see _do
            raise asyncio.CancelledError
        return replies

    async def _send_full(
        self,
        queue: str,
        options: QueueOptions,
        messages: Sequence[Message],
        now: float,
        delays: Sequence[float] | None,
    ) -> list[Any]:
        args: list[Any] = [now, options.retention_period, options.dedup_window, b"full"]
        for index, message in enumerate(messages):
            body, group, dedup, sent, count, dls = self._entry(options, message, now)
            delay = options.delay_seconds if delays is None else delays[index]
            args += (body, delay, group, dedup, sent, count, dls)
        return list(await self._run("send", [self._q(queue)], args))

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

    async def _take(
        self,
        queue: str,
        now: float,
        wanted: int,
        mode: str,
        *,
        timeout: float | None = None,
        hold: float = 0.0,
        acks: bytes = b"",
    ) -> tuple[int, int, float | None, list[Any], list[QueueRecord]]:
        """The take script: (acked, expired, next change, the taken records' flat fields,
        the dead letters)."""
        keys, args = self._take_call(queue, now, wanted, mode, timeout, hold, acks)
        return self._reply(mode, await self._run("take", keys, args))

    def _take_call(
        self,
        queue: str,
        now: float,
        wanted: int,
        mode: str,
        timeout: float | None,
        hold: float,
        acks: bytes,
    ) -> tuple[list[Any], list[Any]]:
        options = self._options(queue)
        if timeout is None:
            timeout = options.visibility_timeout
        key = (queue, mode, timeout, hold, options)
        settings = self._settings.get(key)
        if settings is None:
            if len(self._settings) > 1000:  # receives with many visibility timeouts
                self._settings.clear()
            settings = self._settings[key] = (
                f"{timeout!r} {int(options.fifo)} {options.max_receive_count} {mode} {hold!r}"
            ).encode()
        return [self._q(queue), queue], [now, wanted, settings, acks]

    def _reply(
        self, mode: str, reply: list[Any]
    ) -> tuple[int, int, float | None, list[Any], list[QueueRecord]]:
        acked, expired, next_change, taken = reply[0], reply[1], reply[2], reply[3]
        end = 4 + taken * (8 if mode == "receive" else 7)
        letters = [self._held(reply, i) for i in range(end + 1, len(reply), 7)]
        return (
            int(acked),
            int(expired),
            float(next_change) if next_change else None,
            reply[4:end],
            letters,
        )

    @staticmethod
    def _held(fields: list[Any], at: int) -> QueueRecord:
        """A record returned as (body, number, hold token, receive count, send time, group,
        dead-letter source): ``sequence`` is its number and ``receipt`` the token it is held
        by (empty when it was deleted instead)."""
        body, member, token, count, sent, group, dls = fields[at : at + 7]
        record = QueueRecord(decode(body), float(sent), 0.0, 0.0, int(member), _text(group) or None)
        record.receive_count = int(count)
        record.receipt = _text(token)
        record.dead_letter_source = _text(dls) or None
        return record

    async def queue_receive(
        self,
        queue: str,
        now: float,
        *,
        max_messages: int = 1,
        visibility_timeout: float | None = None,
        hold_letters: bool = False,
    ) -> ReceiveResult:
        """ReceiveMessage. Records past maxReceiveCount come back in ``dead_lettered``:
        deleted (the contract), or with ``hold_letters`` held for ``queue_move``."""
        _, expired, _, fields, letters = await self._take(
            queue,
            now,
            max_messages,
            "receive",
            timeout=visibility_timeout,
            hold=HOLD if hold_letters else 0.0,
        )
        result = ReceiveResult(expired=expired, dead_lettered=letters)
        for at in range(0, len(fields), 8):
            body, receipt, count, sent, first, member, group, dls = fields[at : at + 8]
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
        return result

    async def queue_take(
        self, queue: str, now: float, max_messages: int, *, acks: bytes = b""
    ) -> Taken:
        """The queue's own pollers' receive, as MemoryStore's queue_take_now: no receipt
        handles, the records past maxReceiveCount held for ``queue_move`` (when the queue has a
        redrive policy). ``acks`` (``Taken.acks()`` of an earlier call) are deleted first, in
        the same script: one round trip per batch. ``max_messages`` 0 only acknowledges."""
        keys, args = self._take_call(queue, now, max_messages, "take", None, HOLD, acks)
        return _taken(await self._run("take", keys, args))

    def taker(self, queue: str) -> Taker:
        """A pipelined ``queue_take`` for one poller (see ``Taker``)."""
        self._options(queue)
        return Taker(self, queue)

    async def queue_hold(self, queue: str, now: float, limit: int = CHUNK) -> list[QueueRecord]:
        """Hold up to ``limit`` visible records for a move (a redrive): hidden for ``HOLD``
        seconds, until ``queue_move`` moves them or the hold ends."""
        _, _, _, fields, _ = await self._take(queue, now, limit, "hold", hold=HOLD)
        return [self._held(fields, at) for at in range(0, len(fields), 7)]

    async def queue_move(
        self,
        source: str,
        target: str,
        records: Sequence[QueueRecord],
        messages: Sequence[Message],
        now: float,
    ) -> list[int]:
        """Store ``messages`` in ``target`` and delete the held ``records`` they copy from
        ``source``, atomically. Per record: 1 moved, 2 moved but dropped by the target's FIFO
        deduplication, 0 not held any more (nothing done). A message the target refuses (a
        FIFO queue's missing group) raises ``StoreError`` before anything moves."""
        options = self._options(target)
        self._options(source)
        args: list[Any] = [
            now,
            options.retention_period,
            options.dedup_window,
            options.delay_seconds,
        ]
        for record, message in zip(records, messages, strict=True):
            body, group, dedup, sent, count, dls = self._entry(options, message, now)
            member = f"{record.sequence:012d}"
            args += (member, record.receipt, body, group, dedup, sent, count, dls)
        if not records:
            return []
        return [
            int(flag) for flag in await self._run("move", [self._q(source), self._q(target)], args)
        ]

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
        prefix = self._q(queue)
        found = await self._run("next", [f"{prefix}avail", f"{prefix}flight"], [now])
        return float(found) if found else None

    async def queue_purge(self, queue: str) -> int:
        size = await self._queue_size(queue, EVERYTHING)
        await self._delete_prefix(self._q(queue))
        return size

    async def queue_take_all(self, queue: str, now: float) -> list[QueueRecord]:
        records: list[QueueRecord] = []
        while True:
            _, _, _, fields, _ = await self._take(queue, now, CHUNK, "all")
            records += [self._held(fields, at) for at in range(0, len(fields), 7)]
            if len(fields) < CHUNK * 7:
                return records

    async def queue_peek(self, queue: str, now: float, limit: int = 10) -> list[QueueRecord]:
        fields = await self._run("peek", [self._q(queue)], [now, limit])
        return [self._record(*fields[at : at + 5]) for at in range(0, len(fields), 5)]

    @staticmethod
    def _record(body: Any, sent: Any, count: Any, group: Any, dls: Any) -> QueueRecord:
        record = QueueRecord(decode(body), float(sent), 0.0, 0.0, 0, _text(group) or None)
        record.receive_count = int(count)
        record.dead_letter_source = _text(dls) or None
        return record

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
        return int(await self._run("size", [f"{self._q(queue)}exp"], [now]))

    async def inventory(self, now: float) -> dict[str, dict[str, int]]:
        queues: dict[str, int] = {}
        start = len(self.prefix) + 2
        for key in await self._keys("q:*:exp"):  # every record of a queue is in its exp
            name = key[start : -len(":exp")]
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
        batch: list[Any] = []
        async for key in self.client.scan_iter(match=f"{_glob(prefix)}*", count=1000):
            batch.append(key)
            if len(batch) >= 500:
                await self._do(self.client.unlink(*batch))
                batch = []
        if batch:
            await self._do(self.client.unlink(*batch))

    async def clear(self) -> int:
        """Remove every key under this store's prefix (tests, or resetting a topology)."""
        found = await self.inventory(EVERYTHING)
        await self._delete_prefix(self.prefix)
        return sum(found["queues"].values()) + sum(found["logs"].values())

    async def close(self) -> None:
        await self.client.aclose()


class Taker:
    """A poller's ``queue_take`` on a connection of its own, pipelined: ``send`` writes a take
    and ``read`` reads its reply later, so the next batch is on its way while the consumer
    handles this one (one round trip per batch, its latency hidden). One take outstanding at a
    time; a take whose reply is never read (the poller stopped) was still applied by Redis, its
    messages in flight until their visibility ends."""

    def __init__(self, store: RedisStore, queue: str) -> None:
        self.store = store
        self.queue = queue
        self.connection: Any = None
        self.outstanding = False
        self._sent: list[Any] = []

    async def send(self, now: float, wanted: int, acks: bytes = b"") -> None:
        assert not self.outstanding
        store = self.store
        keys, args = store._take_call(self.queue, now, wanted, "take", None, HOLD, acks)
        self._sent = [store._scripts["take"].sha, 2, *keys, *args]
        if self.connection is None:
            self.connection = await _connection(store.client.connection_pool)
        await self._write()
        self.outstanding = True

    async def _write(self) -> None:
        connection = self.connection
        try:
            await connection.send_packed_command(_resp(b"EVALSHA", *self._sent), check_health=False)
        except BaseException:
            await self._drop()
            raise

    async def read(self) -> Taken:
        from redis.exceptions import NoScriptError, ResponseError

        assert self.outstanding
        store = self.store
        store.busy += 1
        try:
            try:
                reply = await self.connection.read_response()
            except NoScriptError:
                # Redis restarted (or flushed its scripts): load it and send again.
                await store.client.script_load(_TAKE)
                await self._write()
                reply = await self.connection.read_response()
        except ResponseError as error:
            raise _store_error(error) from None
        except BaseException:
            # A connection whose reply was not read is of no further use.
            await self._drop()
            raise
        finally:
            store.busy -= 1
            self.outstanding = False
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # see RedisStore._do
            raise asyncio.CancelledError
        return _taken(reply)

    async def _drop(self) -> None:
        connection, self.connection = self.connection, None
        self.outstanding = False
        if connection is not None:
            await connection.disconnect()
            await self.store.client.connection_pool.release(connection)

    async def close(self) -> None:
        """Give the connection back (or drop it, with a reply still in the air)."""
        if self.outstanding:
            await self._drop()
        elif self.connection is not None:
            connection, self.connection = self.connection, None
            await self.store.client.connection_pool.release(connection)


def _resp(*args: Any) -> bytes:
    """A command in the Redis protocol (what redis-py's packer makes, without its per-argument
    checks)."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        if isinstance(arg, str):
            arg = arg.encode()
        elif not isinstance(arg, bytes):
            arg = repr(arg).encode()
        parts += (b"$%d\r\n" % len(arg), arg, b"\r\n")
    return b"".join(parts)


async def _connection(pool: Any) -> Any:
    try:
        return await pool.get_connection()
    except TypeError:  # redis-py before 5.3 names the command
        return await pool.get_connection("EVALSHA")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _glob(text: str) -> str:
    """``text`` matched literally in a SCAN pattern."""
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)
