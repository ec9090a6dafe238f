-- Procedures in the style of the ukt client's server script (spec/lua.md 11), written for
-- this project: every procedure works on the global `db` that _select_db picks from
-- inmap.db, keeps structured values with the module's serializers, and answers through
-- outmap. Used by tests/integration/ukt_style_test.cc.
kt = __kyototycoon__
db = kt.db

if kt.thid == 0 then
  kt.log("system", "ukt-style procedures loaded; luajit " .. jit.version)
end

-- inmap.db is a 0-based database index; without it, the first database.
function _select_db(inmap)
  local index = inmap.db
  inmap.db = nil
  if index then
    db = kt.dbs[tonumber(index) + 1]
  else
    db = kt.db
  end
  return db
end

-- Returns the code it is given, so that clients can check how each code fails.
function _error_code(inmap, outmap)
  return tonumber(inmap.code)
end

-- The last error of the selected database, as "<code>:<name>".
local function last_error()
  local err = db:error()
  return err:code() .. ":" .. err:name()
end

-- ---------------------------------------------------------------------------------------
-- Hashes: one record per hash, its fields as a mapdump.

local function read_hash(key)
  local packed = db:get(key)
  if packed then return kt.mapload(packed) end
  return {}
end

function hset(inmap, outmap)
  _select_db(inmap)
  local key, field, value = inmap.key, inmap.field, inmap.value
  if not key or not field or not value then return kt.RVEINVALID end
  local added = 0
  local ok = db:accept(key, function(k, packed)
    local fields = packed and kt.mapload(packed) or {}
    if fields[field] == nil then added = 1 end
    fields[field] = value
    return kt.mapdump(fields)
  end)
  if not ok then return kt.RVEINTERNAL end
  outmap.num = added
end

-- Every inmap entry other than key sets a field.
function hmset(inmap, outmap)
  _select_db(inmap)
  local key = inmap.key
  if not key then return kt.RVEINVALID end
  inmap.key = nil
  db:accept(key, function(k, packed)
    local fields = packed and kt.mapload(packed) or {}
    for f, v in pairs(inmap) do fields[f] = v end
    return kt.mapdump(fields)
  end)
end

function hget(inmap, outmap)
  _select_db(inmap)
  local value = read_hash(inmap.key)[inmap.field]
  if value then outmap.value = value end
end

function hgetall(inmap, outmap)
  _select_db(inmap)
  -- A read-only visit: whatever the visitor returns is ignored.
  db:accept(inmap.key, function(k, packed)
    if packed then
      for f, v in pairs(kt.mapload(packed)) do outmap[f] = v end
    end
    return "ignored"
  end, false)
end

function hdel(inmap, outmap)
  _select_db(inmap)
  local removed = 0
  db:accept(inmap.key, function(k, packed)
    if not packed then return kt.Visitor.NOP end
    local fields = kt.mapload(packed)
    if fields[inmap.field] == nil then return kt.NOP end
    removed = 1
    fields[inmap.field] = nil
    if next(fields) == nil then return kt.Visitor.REMOVE end
    return kt.mapdump(fields)
  end)
  outmap.num = removed
end

function hlen(inmap, outmap)
  _select_db(inmap)
  local n = 0
  for _ in pairs(read_hash(inmap.key)) do n = n + 1 end
  outmap.num = n
end

-- ---------------------------------------------------------------------------------------
-- Lists: one record per list, an arraydump.

local function list_change(key, change)
  local result
  local ok = db:accept(key, function(k, packed)
    local items = packed and kt.arrayload(packed) or {}
    result = change(items)
    if #items == 0 then return kt.Visitor.REMOVE end
    return kt.arraydump(items)
  end)
  if not ok then return nil end
  return result
end

function lpush(inmap, outmap)
  _select_db(inmap)
  outmap.length = list_change(inmap.key, function(items)
    table.insert(items, 1, inmap.value)
    return #items
  end)
end

function rpush(inmap, outmap)
  _select_db(inmap)
  outmap.length = list_change(inmap.key, function(items)
    items[#items + 1] = inmap.value
    return #items
  end)
end

function lpop(inmap, outmap)
  _select_db(inmap)
  outmap.value = list_change(inmap.key, function(items) return table.remove(items, 1) end)
end

function rpop(inmap, outmap)
  _select_db(inmap)
  outmap.value = list_change(inmap.key, function(items) return table.remove(items) end)
end

function llen(inmap, outmap)
  _select_db(inmap)
  local packed = db:get(inmap.key)
  outmap.num = packed and #kt.arrayload(packed) or 0
end

-- start and stop are 0-based and inclusive; negative counts from the end. Items go to
-- integer outmap keys 0, 1, ...
function lrange(inmap, outmap)
  _select_db(inmap)
  local packed = db:get(inmap.key)
  if not packed then return end
  local items = kt.arrayload(packed)
  local start, stop = tonumber(inmap.start or 0), tonumber(inmap.stop or -1)
  if start < 0 then start = #items + start end
  if stop < 0 then stop = #items + stop end
  local n = 0
  for i = start + 1, math.min(stop + 1, #items) do
    outmap[n] = items[i]
    n = n + 1
  end
end

-- Moves the last item of inmap.src to the front of inmap.dest in one atomic visit of both
-- records, in the order given.
function rpoplpush(inmap, outmap)
  _select_db(inmap)
  local moved
  db:accept_bulk({inmap.src, inmap.dest}, function(k, packed)
    local items = packed and kt.arrayload(packed) or {}
    if k == inmap.src and not moved then
      moved = table.remove(items)
    elseif k == inmap.dest and moved then
      table.insert(items, 1, moved)
    else
      return kt.NOP
    end
    if #items == 0 then return kt.Visitor.REMOVE end
    return kt.arraydump(items)
  end)
  outmap.value = moved
end

-- ---------------------------------------------------------------------------------------
-- Sets: one record per set, its members as the keys of a mapdump.

function sadd(inmap, outmap)
  _select_db(inmap)
  local added = 0
  db:accept(inmap.key, function(k, packed)
    local members = packed and kt.mapload(packed) or {}
    if members[inmap.value] == nil then
      members[inmap.value] = ""
      added = 1
    end
    return kt.mapdump(members)
  end)
  outmap.num = added
end

function srem(inmap, outmap)
  _select_db(inmap)
  local removed = 0
  db:accept(inmap.key, function(k, packed)
    if not packed then return kt.NOP end
    local members = kt.mapload(packed)
    if members[inmap.value] == nil then return kt.NOP end
    members[inmap.value] = nil
    removed = 1
    if next(members) == nil then return kt.Visitor.REMOVE end
    return kt.mapdump(members)
  end)
  outmap.num = removed
end

function sismember(inmap, outmap)
  _select_db(inmap)
  outmap.num = read_hash(inmap.key)[inmap.value] and 1 or 0
end

function scard(inmap, outmap)
  _select_db(inmap)
  local n = 0
  db:accept(inmap.key, function(k, packed)
    if packed then for _ in pairs(kt.mapload(packed)) do n = n + 1 end end
  end, false)
  outmap.num = n
end

-- Members, sorted, under integer outmap keys 0, 1, ...
function smembers(inmap, outmap)
  _select_db(inmap)
  local members = {}
  for m in pairs(read_hash(inmap.key)) do members[#members + 1] = m end
  table.sort(members)
  for i, m in ipairs(members) do outmap[i - 1] = m end
end

-- ---------------------------------------------------------------------------------------
-- Queues: a counter record `queue` (increment_double) and one record per item,
-- "<queue>\t<12-digit id>", read in key order with a cursor (needs a tree database).

local function item_key(queue, id)
  return string.format("%s\t%012d", queue, id)
end

function queue_add(inmap, outmap)
  _select_db(inmap)
  local id = db:increment_double(inmap.queue, 1)
  if not id then return kt.RVELOGIC end
  if not db:add(item_key(inmap.queue, id), inmap.data) then return kt.RVELOGIC end
  outmap.id = id
end

-- Walks the first n items (all without n): fn(cursor, id, data) -> true to go on.
local function each_item(queue, n, fn)
  local prefix = queue .. "\t"
  local cur = db:cursor()
  local count = 0
  if cur:jump(prefix) then
    while n < 0 or count < n do
      local key, data = cur:get()
      if not key or key:sub(1, #prefix) ~= prefix then break end
      count = count + 1
      if not fn(cur, tonumber(key:sub(#prefix + 1)), data) then break end
    end
  end
  cur:disable()
  return count
end

function queue_peek(inmap, outmap)
  _select_db(inmap)
  each_item(inmap.queue, tonumber(inmap.n or -1), function(cur, id, data)
    outmap[id] = data
    return cur:step()
  end)
end

-- Takes the first n items; the cursor moves on to the next record after each remove.
function queue_pop(inmap, outmap)
  _select_db(inmap)
  each_item(inmap.queue, tonumber(inmap.n or 1), function(cur, id, data)
    outmap[id] = data
    return cur:remove()
  end)
end

function queue_size(inmap, outmap)
  _select_db(inmap)
  outmap.num = #db:match_prefix(inmap.queue .. "\t")
end

function queue_clear(inmap, outmap)
  _select_db(inmap)
  local keys = db:match_prefix(inmap.queue .. "\t")
  keys[#keys + 1] = inmap.queue
  outmap.num = db:remove_bulk(keys)
end

-- ---------------------------------------------------------------------------------------
-- Sorted queues: items under "<queue>\t<20-digit score>\t<murmur hash of data>", popped
-- lowest score first (or highest with inmap.max), from the ends of the key range.

function sq_add(inmap, outmap)
  _select_db(inmap)
  local key = string.format("%s\t%020d\t%016x", inmap.queue, tonumber(inmap.score),
                            kt.hash_murmur(inmap.data))
  if not db:set(key, inmap.data) then return kt.RVEINTERNAL end
  outmap.key = key
end

function sq_pop(inmap, outmap)
  _select_db(inmap)
  local prefix = inmap.queue .. "\t"
  local cur = db:cursor()
  local found
  if inmap.max then
    -- The last key <= prefix .. "~" is the highest score of the queue ("~" > digits).
    found = cur:jump_back(prefix .. "~")
  else
    found = cur:jump(prefix)
  end
  local key, data = cur:get()
  if found and key and key:sub(1, #prefix) == prefix then
    outmap.score = tonumber(key:sub(#prefix + 1, #prefix + 20))
    outmap.data = data
    cur:remove()
  end
  cur:disable()
end

-- The whole queue from highest to lowest, walking backwards.
function sq_list_desc(inmap, outmap)
  _select_db(inmap)
  local prefix = inmap.queue .. "\t"
  local cur = db:cursor()
  local n = 0
  if cur:jump_back(prefix .. "~") then
    repeat
      local key = cur:get_key()
      if not key or key:sub(1, #prefix) ~= prefix then break end
      outmap[n] = cur:get_value()
      n = n + 1
    until not cur:step_back()
  end
  cur:disable()
end

-- ---------------------------------------------------------------------------------------
-- Schedules: items due at a time, "sched\t<12-digit time>\t<fnv hash>", read and removed
-- once due (inmap.now, or the clock).

function schedule_add(inmap, outmap)
  _select_db(inmap)
  local key = string.format("sched\t%012d\t%012x", tonumber(inmap.at),
                            kt.hash_fnv(inmap.data))
  outmap.added = db:add(key, inmap.data) and 1 or 0
end

function schedule_read(inmap, outmap)
  _select_db(inmap)
  local now = tonumber(inmap.now) or kt.time()
  local cur = db:cursor()
  local n = 0
  cur:jump("sched\t")
  while true do
    local key, data = cur:get(false)
    if not key or key:sub(1, 6) ~= "sched\t" or tonumber(key:sub(7, 18)) > now then break end
    outmap[n] = data
    n = n + 1
    cur:remove()
  end
  cur:disable()
end

-- ---------------------------------------------------------------------------------------
-- Expiry helpers.

-- Sets with a relative xt (seconds from now; negative: absolute).
function set_expire(inmap, outmap)
  _select_db(inmap)
  if not db:set(inmap.key, inmap.value, tonumber(inmap.xt)) then return kt.RVEINTERNAL end
end

function expire_time(inmap, outmap)
  _select_db(inmap)
  local value, xt = db:get(inmap.key)
  if not value then
    outmap.error = last_error()
    return kt.RVELOGIC
  end
  outmap.xt = xt
end

-- A new relative xt for one record: the visitor's second return is read as relative.
function touch(inmap, outmap)
  _select_db(inmap)
  local xt = tonumber(inmap.xt)
  local found = false
  db:accept(inmap.key, function(k, value, old_xt)
    if not value then return kt.NOP end
    found = true
    return value, xt
  end)
  outmap.found = found
end

-- Every inmap key but xt is a record key; each gets the relative xt. Keys given in one
-- arraydump under inmap.keys work too.
local function key_list(inmap)
  if inmap.keys then return kt.arrayload(inmap.keys) end
  local keys = {}
  for k in pairs(inmap) do
    if k ~= "xt" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

function touch_bulk(inmap, outmap)
  _select_db(inmap)
  local xt = tonumber(inmap.xt)
  local keys = key_list(inmap)
  db:accept_bulk(keys, function(k, value, old_xt)
    if not value then return kt.NOP end
    outmap[k] = "touched"
    return value, xt
  end)
end

-- Moves each record's expiry by inmap.xt seconds (from its current expiry, not from now).
-- The visitor returns -new_xt: a negative xt is an absolute time.
function touch_bulk_relative(inmap, outmap)
  _select_db(inmap)
  local delta = tonumber(inmap.xt)
  inmap.xt = nil
  db:accept_bulk(key_list(inmap), function(k, value, old_xt)
    if not value then return kt.NOP end
    local new_xt = old_xt + delta
    outmap[k] = new_xt
    return value, -new_xt
  end)
end

-- Keys with a prefix and their absolute expiry, read-only through iterate.
function expire_report(inmap, outmap)
  _select_db(inmap)
  local prefix = inmap.prefix or ""
  db:iterate(function(k, value, xt)
    if k:sub(1, #prefix) == prefix then outmap[k] = xt end
    return "ignored"
  end, false)
end

-- ---------------------------------------------------------------------------------------
-- Plain records, bulk calls and hashing.

function setmany(inmap, outmap)
  _select_db(inmap)
  outmap.num = db:set_bulk(inmap)
end

function removemany(inmap, outmap)
  _select_db(inmap)
  local keys = {}
  for k in pairs(inmap) do keys[#keys + 1] = k end
  outmap.num = db:remove_bulk(keys)
end

function addone(inmap, outmap)
  _select_db(inmap)
  if not db:add(inmap.key, inmap.value) then
    outmap.error = last_error()
    return kt.RVELOGIC
  end
end

function removeone(inmap, outmap)
  _select_db(inmap)
  if not db:remove(inmap.key) then
    outmap.error = last_error()
    return kt.RVELOGIC
  end
end

-- Keys with a prefix, sorted, under integer keys.
function keys(inmap, outmap)
  _select_db(inmap)
  local found = db:match_prefix(inmap.prefix or "")
  table.sort(found)
  for i, k in ipairs(found) do outmap[i - 1] = k end
end

-- The two 48-bit hashes of inmap.value.
function hash(inmap, outmap)
  outmap.murmur = kt.hash_murmur(inmap.value)
  outmap.fnv = kt.hash_fnv(inmap.value)
end

-- Every record through a cursor, step by step with get(true).
function dump_all(inmap, outmap)
  _select_db(inmap)
  local cur = db:cursor()
  if cur:jump() then
    while true do
      local k, v = cur:get(true)
      if not k then break end
      outmap[k] = v
    end
  end
  cur:disable()
end

function error_codes(inmap, outmap)
  local E = kt.Error
  outmap.codes = table.concat({E.SUCCESS, E.NOIMPL, E.INVALID, E.NOREPOS, E.NOPERM, E.BROKEN,
                               E.DUPREC, E.NOREC, E.LOGIC, E.SYSTEM, E.MISC}, ",")
  outmap.rv = table.concat({kt.RVSUCCESS, kt.RVENOIMPL, kt.RVEINVALID, kt.RVELOGIC,
                            kt.RVEINTERNAL}, ",")
  outmap.nop = tostring(kt.NOP)
  outmap.thid = kt.thid
end
