-- Procedures used by tests/unit/scripting and tests/integration/play_script_test.cc.
kt = __kyototycoon__
loads = (loads or 0) + 1

-- Runs inmap.code as a chunk; result i goes to outmap[i], strings as they are, other
-- values as "<type>:<tostring>".
function eval(inmap, outmap)
  local f = assert(loadstring(inmap.code))
  local function pack(...) return { n = select("#", ...), ... } end
  local r = pack(f())
  outmap.n = r.n
  for i = 1, r.n do
    local v = r[i]
    if type(v) == "string" then
      outmap[i] = v
    else
      outmap[i] = type(v) .. ":" .. tostring(v)
    end
  end
end

function echo(inmap, outmap)
  for k, v in pairs(inmap) do outmap[k] = v end
end

-- Returns inmap.rv converted by the loader's rules (e.g. "2.7", "x", "nil").
function ret(inmap, outmap)
  outmap.touched = "yes"
  local rv = inmap.rv
  if rv == "nil" then return nil end
  if rv == "true" then return true end
  if rv == "table" then return {} end
  if rv == "number" then return tonumber(inmap.num) end
  return rv
end

function types(inmap, outmap)
  outmap[0] = "zero"
  outmap.int = 7
  outmap.big = 1e3
  outmap.frac = 2.5
  outmap.yes = true
  outmap.no = false
  outmap.tbl = {}
  outmap[1.5] = "onehalf"
  outmap.fn = print
end

function fail(inmap, outmap)
  outmap.lost = "x"
  error("broken on purpose")
end

function spin(inmap, outmap)
  while true do end
end

function spin_pcall(inmap, outmap)
  while true do pcall(function() while true do end end) end
end

function hog(inmap, outmap)
  local t = {}
  for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
end

function nap(inmap, outmap)
  kt.sleep(tonumber(inmap.sec or "100"))
end

function count(inmap, outmap)
  calls = (calls or 0) + 1
  outmap.calls = calls
  outmap.loads = loads
  outmap.thid = kt.thid
end

function set(inmap, outmap)
  local db = kt.dbs[tonumber(inmap.db or "0") + 1]
  if not db:set(inmap.key, inmap.value) then return kt.RVELOGIC end
end

function get(inmap, outmap)
  local db = kt.dbs[tonumber(inmap.db or "0") + 1]
  local v, xt = db:get(inmap.key)
  if not v then return kt.RVELOGIC end
  outmap.value = v
  outmap.xt = xt
end

-- ukt-style list push through a visitor.
function list_push(inmap, outmap)
  local n = 0
  local ok = kt.db:accept(inmap.key, function(key, value, xt)
    local arr = value and kt.arrayload(value) or {}
    table.insert(arr, inmap.value)
    n = #arr
    return kt.arraydump(arr)
  end)
  if not ok then return kt.RVEINTERNAL end
  outmap.length = n
end

function list_get(inmap, outmap)
  local value = kt.db:get(inmap.key)
  if not value then return kt.RVELOGIC end
  for i, v in ipairs(kt.arrayload(value)) do outmap[i - 1] = v end
end

-- Try to escape the time limit: the JIT on (compiled loops would never run the hook), then
-- spin.
function spin_jit(inmap, outmap)
  jit.on()
  local n = 0
  while true do n = n + 1 end
end

-- Try to escape the time limit by removing the hook, then spin.
function spin_nohook(inmap, outmap)
  pcall(debug.sethook)
  pcall(debug.sethook, function() end, "", 0)
  local n = 0
  while true do n = n + 1 end
end

-- The same, under names that HTTP accepts.
spinjit = spin_jit
spinnohook = spin_nohook

-- Groups the records of database inmap.db by value: "value=key1,key2 ..." in reduce order.
-- inmap.tmp, inmap.clim and inmap.dbnum go to mapreduce as they are; inmap.nolock sets
-- XNOLOCK.
function groupby(inmap, outmap)
  local db = kt.dbs[tonumber(inmap.db or "0") + 1]
  local out = {}
  local function map(k, v, emit) return emit(v, k) end
  local function reduce(k, iter)
    local keys = {}
    for key in iter do keys[#keys + 1] = key end
    out[#out + 1] = k .. "=" .. table.concat(keys, ",")
    return true
  end
  local opts = inmap.nolock and kt.DB.XNOLOCK or 0
  if not db:mapreduce(map, reduce, inmap.tmp, opts, tonumber(inmap.dbnum),
                      tonumber(inmap.clim)) then
    outmap.error = tostring(db:error())
    return kt.RVELOGIC
  end
  outmap.groups = table.concat(out, " ")
end
