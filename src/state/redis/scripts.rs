//! The Lua scripts of [`super::RedisStore`]: one per state operation that must be
//! atomic. Each checks its preconditions inside Redis and answers a small tagged array
//! (`{'done', fields…}`, `{'conflict', offset}`, …) that the Rust side decodes.
//!
//! Conventions: `KEYS[1]` is the upload hash, lease and index keys follow; numbers
//! travel as decimal strings; the lease value is `"<fence> <holder>"`.

/// Grants the lease when free (or held by the same holder: a retried request), the
/// upload is open and the offset matches. KEYS: rec, lease. ARGV: holder, expected
/// offset (`""`: any), ttl in ms, owner check (`""`: none, `user`: partner and user,
/// `admin`: partner only), partner, user, required attribute (`""`: none). An upload
/// of another owner or kind is `missing`, checked before anything else can tell it
/// exists.
pub const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if ARGV[7] ~= '' and redis.call('HEXISTS', KEYS[1], 'a:' .. ARGV[7]) == 0 then return {'missing'} end
if ARGV[4] ~= '' then
  local o = cjson.decode(redis.call('HGET', KEYS[1], 'static'))['owner']
  if type(o) ~= 'table' then
    if ARGV[4] ~= 'admin' then return {'missing'} end
  elseif o['partner'] ~= tonumber(ARGV[5]) or (ARGV[4] == 'user' and o['user'] ~= ARGV[6]) then
    return {'missing'}
  end
end
local cur = redis.call('GET', KEYS[2])
if cur then
  local holder = string.sub(cur, string.find(cur, ' ', 1, true) + 1)
  if holder ~= ARGV[1] then return {'held', holder} end
end
if redis.call('HGET', KEYS[1], 'status') == 'complete' then return {'complete'} end
local off = redis.call('HGET', KEYS[1], 'offset')
if ARGV[2] ~= '' and ARGV[2] ~= off then return {'conflict', off} end
local fence = redis.call('HINCRBY', KEYS[1], 'fence', 1)
redis.call('SET', KEYS[2], fence .. ' ' .. ARGV[1], 'PX', ARGV[3])
local out = {'granted', tostring(fence)}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, v) end
return out
";

/// Deletes the lease if it still carries this fence. KEYS: lease. ARGV: fence.
pub const RELEASE: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
";

/// Extends the lease if it still carries this fence. KEYS: lease. ARGV: fence, ttl ms.
pub const RENEW: &str = r"
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// The offset compare-and-set. KEYS: rec, lease, expiry index. ARGV: fence, expected,
/// new offset, ttl ms, assembly given ('0'|'1'), assembly, expires_at (`""`: keep),
/// complete ('0'|'1'), id, retry ('0'|'1'), declare length ('0'|'1'), release
/// ('0'|'1'), N attribute pairs, then 2N attribute names and
/// values, then staged-range keys to drop. A retry (after a lost reply) of a commit
/// that already applied (offset == new) succeeds again: the fence proves it was ours
/// (for a releasing commit, the record's last granted fence does). A first attempt is
/// strict.
pub const COMMIT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local cur = redis.call('GET', KEYS[2])
local off = redis.call('HGET', KEYS[1], 'offset')
local mine = cur and string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1) == ARGV[1]
if not mine then
  local replayed = ARGV[10] == '1' and ARGV[12] == '1' and not cur
    and redis.call('HGET', KEYS[1], 'fence') == ARGV[1] and off == ARGV[3]
  if not replayed then return {'fenced'} end
end
if off ~= ARGV[2] and not (ARGV[10] == '1' and off == ARGV[3]) then
  return {'conflict', off}
end
if ARGV[12] == '1' then
  if mine then redis.call('DEL', KEYS[2]) end
else
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
redis.call('HSET', KEYS[1], 'offset', ARGV[3])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'assembly', ARGV[6]) end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'expires', ARGV[7]) end
local pairs_n = tonumber(ARGV[13])
for i = 14, 13 + 2 * pairs_n, 2 do redis.call('HSET', KEYS[1], 'a:' .. ARGV[i], ARGV[i + 1]) end
for i = 14 + 2 * pairs_n, #ARGV do redis.call('HDEL', KEYS[1], 'r:' .. ARGV[i]) end
if ARGV[11] == '1' and redis.call('HGET', KEYS[1], 'length') == '' then
  local want = tonumber(ARGV[3])
  local ok = true
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'r:' then
      local e = tonumber(string.sub(all[i + 1], string.find(all[i + 1], ' ', 1, true) + 1))
      if e > want then ok = false end
    end
  end
  if ok then redis.call('HSET', KEYS[1], 'length', ARGV[3]) end
end
if ARGV[8] == '1' and redis.call('HGET', KEYS[1], 'length') == ARGV[3] then
  redis.call('HSET', KEYS[1], 'status', 'complete')
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'r:' then redis.call('HDEL', KEYS[1], f) end
  end
  redis.call('ZREM', KEYS[3], ARGV[9])
else
  local exp = redis.call('HGET', KEYS[1], 'expires')
  if exp ~= '0' then redis.call('ZADD', KEYS[3], exp, ARGV[9]) end
end
local out = {'done'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, v) end
return out
";

/// Creates the record unless the id exists. KEYS: rec, expiry index, all-uploads index.
/// ARGV: id, created_at, expires_at for the index (`""`: not indexed), then field/value pairs.
pub const INSERT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return {'exists'} end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1]) end
return {'done'}
";

/// Records a staged range. KEYS: rec. ARGV: key, start, end.
pub const ADD_RANGE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if redis.call('HGET', KEYS[1], 'status') == 'complete' then return {'refused', 'upload is complete'} end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[1], ARGV[2] .. ' ' .. ARGV[3])
local out = {'done'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, v) end
return out
";

/// Declares a deferred length (same rules as the embedded store). KEYS: rec. ARGV: length.
pub const SET_LENGTH: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local len = redis.call('HGET', KEYS[1], 'length')
local want = tonumber(ARGV[1])
if len ~= '' then
  if len ~= ARGV[1] then return {'refused', 'length already declared as ' .. len} end
else
  local off = redis.call('HGET', KEYS[1], 'offset')
  if want < tonumber(off) then return {'refused', 'length ' .. ARGV[1] .. ' is below the stored ' .. off} end
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'r:' then
      local e = tonumber(string.sub(all[i + 1], string.find(all[i + 1], ' ', 1, true) + 1))
      if e > want then return {'refused', 'length is below a stored range'} end
    end
  end
  redis.call('HSET', KEYS[1], 'length', ARGV[1])
end
local out = {'done'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, v) end
return out
";

/// Sets adapter attributes, optionally only if one attribute has an expected value.
/// KEYS: rec. ARGV: mode ('0' no check, '1' must be absent, '2' must equal), attribute,
/// expected value, then name/value pairs.
pub const UPDATE_ATTRS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
if ARGV[1] ~= '0' then
  local cur = redis.call('HGET', KEYS[1], 'a:' .. ARGV[2])
  local ok = (ARGV[1] == '1' and not cur) or (ARGV[1] == '2' and cur == ARGV[3])
  if not ok then return {'refused', 'attribute ' .. ARGV[2] .. ' changed'} end
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], 'a:' .. ARGV[i], ARGV[i + 1]) end
local out = {'done'}
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(out, v) end
return out
";

/// Removes the record, its lease and its index entries. KEYS: rec, lease, expiry index,
/// all-uploads index. ARGV: id.
pub const DELETE: &str = r"
local all = redis.call('HGETALL', KEYS[1])
if #all == 0 then return {'missing'} end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
local out = {'done'}
for _, v in ipairs(all) do table.insert(out, v) end
return out
";

/// Document compare-and-set. KEYS: the kind's hash. ARGV: id, expected version (`""`:
/// must not exist), body. Returns the new version, or false.
pub const DOC_PUT: &str = r"
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local curv = cur and string.sub(cur, 1, string.find(cur, ' ', 1, true) - 1)
if ARGV[2] == '' then
  if cur then return false end
elseif curv ~= ARGV[2] then
  return false
end
local v = (tonumber(ARGV[2]) or 0) + 1
redis.call('HSET', KEYS[1], ARGV[1], v .. ' ' .. ARGV[3])
return v
";
