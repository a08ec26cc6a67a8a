"""The Lua scripts of the levels ledger: every change to a guild's board is one of these.

Owns the scripts' text and their reply codes. Each script that touches a board first checks
the guild's ``built`` marker and, when it is missing, changes nothing and answers
``NEEDS_REBUILD``: no grant or admin change can land on a board that is not complete, so a
rebuild (`shoal.features.levels.ledger`) sees a frozen guild. Numbers go back to Redis
through ``string.format('%d')``: Lua's own conversion may write a large number as
``1e+15``, which ``HINCRBY`` refuses. XP stays far below 2**53, where doubles are exact.

Does not own the key names (see `shoal.features.levels.keys`) nor when scripts run.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADJUST",
    "BOARD_COUNT",
    "BOARD_PAGE",
    "BOARD_RANK",
    "GRANT_HAS_LEFT",
    "GRANT_MANY",
    "GRANT_NEEDS_REBUILD",
    "JOIN",
    "LEAVE",
    "NEEDS_REBUILD",
    "NOT_RANKED",
    "OK",
    "RESET_CHUNK",
    "RESET_START",
    "SWAP_REBUILT",
]

OK: Final = 0
#: BOARD_RANK: not on the board.
NOT_RANKED: Final = 1
#: The board is not built (first use, or Redis lost it): rebuild, then run the script again.
NEEDS_REBUILD: Final = 2
#: GRANT_MANY's replies below 0: the guild's board is not built (rebuild, grant again).
GRANT_NEEDS_REBUILD: Final = -1
#: GRANT_MANY: the member left the guild (off the board): restore them, then grant again.
GRANT_HAS_LEFT: Final = -2

_BUILT: Final = """
if redis.call('EXISTS', KEYS[1]) == 0 then return {2} end
"""

#: A batch of grants in one call. Packing arguments was most of the worker's CPU per
#: message (redis-py encodes each one in Python: first one script per grant, then a key and
#: three arguments per grant), so the batch travels as one text argument and the script
#: builds each key from the levels prefix (`shoal.features.levels.keys` names them: every
#: key is under the bot's one hash tag, so in the script's slot).
#: KEYS: dirty. ARGV: amount, now_ms, until_ms (now + cooldown), cooldown_ms, the levels
#: keys' prefix (``shoal:{ns}:f:levels:``), then the batch: space-separated tokens, per guild
#: its id and number of grants, then each grant's board member and user id.
#: Reply: one integer per grant, in that order: the new XP (>= 0) granted; ``-1`` the
#: guild's board is not built; ``-2`` the member left; else ``-until_ms``: cooling.
#: The cooldown's value is its end, compared with ``now_ms`` (so a test's clock decides);
#: its PX expiry only cleans up. Two grants of one member in a batch: the second cools.
GRANT_MANY: Final = """
local amount, now, until_ms, cooldown = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local prefix = ARGV[5]
local dirty = KEYS[1]
local out = {}
local token = string.gmatch(ARGV[6], '%S+')
for guild in token do
  local n = tonumber(token())
  local board, left = prefix .. 'board:' .. guild, prefix .. 'left:' .. guild
  local is_built = redis.call('EXISTS', prefix .. 'built:' .. guild) == 1
  for _ = 1, n do
    local member, user = token(), token()
    if not is_built then
      out[#out + 1] = -1
    else
      local field = guild .. ':' .. user
      local key = prefix .. 'cooldown:' .. field
      local cooling = tonumber(redis.call('GET', key) or '0')
      if cooling > now then
        out[#out + 1] = -cooling
      elseif redis.call('HEXISTS', left, member) == 1 then
        out[#out + 1] = -2
      else
        out[#out + 1] = tonumber(redis.call('ZINCRBY', board, amount, member))
        redis.call('HINCRBY', dirty, field, amount)
        redis.call('SET', key, until_ms, 'PX', cooldown)
      end
    end
  end
end
return out
"""

#: KEYS: built, board, left, dirty. ARGV: member, dirty field, "add" | "set", value, max xp.
#: Reply ``{0, old, new}``. A member who left keeps the result in the left hash (0 too).
ADJUST: Final = (
    _BUILT
    + """
local old = redis.call('ZSCORE', KEYS[2], ARGV[1])
local has_left = false
if not old then
  old = redis.call('HGET', KEYS[3], ARGV[1])
  if old then has_left = true end
end
old = tonumber(old or '0')
local new = tonumber(ARGV[4])
if ARGV[3] == 'add' then new = old + new end
if new < 0 then new = 0 end
if new > tonumber(ARGV[5]) then new = tonumber(ARGV[5]) end
if new ~= old then
  redis.call('HINCRBY', KEYS[4], ARGV[2], string.format('%d', new - old))
end
if has_left then
  redis.call('HSET', KEYS[3], ARGV[1], string.format('%d', new))
elseif new > 0 then
  redis.call('ZADD', KEYS[2], string.format('%d', new), ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return {0, old, new}
"""
)

#: KEYS: built, board, left. ARGV: member. Reply ``{0, xp}``, xp -1 when not on the board.
LEAVE: Final = (
    _BUILT
    + """
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not score then return {0, -1} end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], score)
return {0, tonumber(score)}
"""
)

#: KEYS: built, board, left. ARGV: member. Reply ``{0, xp}``, xp -1 when not in the left hash.
JOIN: Final = (
    _BUILT
    + """
local xp = redis.call('HGET', KEYS[3], ARGV[1])
if not xp then return {0, -1} end
redis.call('HDEL', KEYS[3], ARGV[1])
if tonumber(xp) > 0 then redis.call('ZADD', KEYS[2], xp, ARGV[1]) end
return {0, tonumber(xp)}
"""
)

#: KEYS: built, board. ARGV: member. Reply ``{0, rank (0-based), xp}`` or ``{1}``.
BOARD_RANK: Final = (
    _BUILT
    + """
local rank = redis.call('ZREVRANK', KEYS[2], ARGV[1])
if not rank then return {1} end
return {0, rank, tonumber(redis.call('ZSCORE', KEYS[2], ARGV[1]))}
"""
)

#: KEYS: built, board. ARGV: start, stop. Reply ``{0, {member, score, ...}}``, best first.
BOARD_PAGE: Final = (
    _BUILT
    + """
return {0, redis.call('ZREVRANGE', KEYS[2], ARGV[1], ARGV[2], 'WITHSCORES')}
"""
)

#: KEYS: built, board. Reply ``{0, members on the board}``.
BOARD_COUNT: Final = (
    _BUILT
    + """
return {0, redis.call('ZCARD', KEYS[2])}
"""
)

#: KEYS: built, board, left, resetting. Moves every member's XP to the resetting set (a
#: reset in progress gets the new XP added), leaves members who left at 0 XP, and replies
#: ``{0, members to reset}``. Grants after this start again from 0 on an empty board.
RESET_START: Final = (
    _BUILT
    + """
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('ZUNIONSTORE', KEYS[4], 2, KEYS[4], KEYS[2])
  redis.call('DEL', KEYS[2])
elseif redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[4])
end
local left = redis.call('HGETALL', KEYS[3])
for i = 1, #left, 2 do
  if tonumber(left[i + 1]) > 0 then
    redis.call('ZINCRBY', KEYS[4], left[i + 1], left[i])
    redis.call('HSET', KEYS[3], left[i], '0')
  end
end
return {0, redis.call('ZCARD', KEYS[4])}
"""
)

#: KEYS: built, resetting, dirty. ARGV: member, dirty field, member, dirty field, ...
#: Takes each listed member's XP away (a negative delta) once. Reply ``{0, members done}``.
RESET_CHUNK: Final = (
    _BUILT
    + """
local done = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if score then
    local xp = tonumber(score)
    if xp ~= 0 then redis.call('HINCRBY', KEYS[3], ARGV[i + 1], string.format('%d', -xp)) end
    redis.call('ZREM', KEYS[2], ARGV[i])
    done = done + 1
  end
end
return {0, done}
"""
)

#: KEYS: built, board, left, staged board, staged left, resetting. Swaps a rebuilt board in,
#: unless another worker built it first. Reply 1 when swapped, 0 when it was built already.
SWAP_REBUILT: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('DEL', KEYS[4], KEYS[5])
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[6])
if redis.call('EXISTS', KEYS[4]) == 1 then
  redis.call('RENAME', KEYS[4], KEYS[2])
  redis.call('PERSIST', KEYS[2])
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('RENAME', KEYS[5], KEYS[3])
  redis.call('PERSIST', KEYS[3])
end
redis.call('SET', KEYS[1], '1')
return 1
"""
