-- dbridge's Lua side: method tables, error raising, db:transaction, row
-- iterators and (under an instruction budget) the catching functions that
-- must not swallow the budget's error. Loaded once per Lua state by
-- dbridge_lua::install with the raw Rust functions.
local raw, FAIL, null, budgeted, array_mt = ...

local error, select, setmetatable = error, select, setmetatable
local raw_pcall, raw_xpcall = pcall, xpcall
local attach, exhausted, is_retryable = raw.attach_traceback, raw.budget_exhausted, raw.is_retryable

-- Statement handlers per database (weak keys: they never keep a database
-- alive), and the database of each transaction, for delivering its events.
local handlers = setmetatable({}, { __mode = "k" })
local tx_db = setmetatable({}, { __mode = "k" })

local function deliver(db, events)
  local hs = db and handlers[db]
  if not hs then return end
  for i = 1, #events do
    for j = 1, #hs do hs[j](events[i]) end
  end
end

-- A raw function returns its value, or FAIL and an error userdata to raise here
-- (so that scripts catch the error object itself, with kind and message), then
-- the statement events queued meanwhile, if any.
local function check(owner, r, e, events)
  if events then deliver(tx_db[owner] or owner, events) end
  if r == FAIL then error(attach(e), 0) end
  return r
end

local Db, Tx = {}, {}

local execute, fetch_all, fetch_one, fetch_optional =
  raw.execute, raw.fetch_all, raw.fetch_one, raw.fetch_optional
local stream, stream_batch, begin, finish, savepoint =
  raw.stream, raw.stream_batch, raw.begin, raw.finish, raw.savepoint

function Db:execute(sql, params) return check(self, execute(self, sql, params)) end
local execute_script = raw.execute_script
function Db:execute_script(sql) return check(self, execute_script(self, sql)) end
function Db:fetch_all(sql, params, opts) return check(self, fetch_all(self, sql, params, opts)) end
function Db:fetch_one(sql, params, opts) return check(self, fetch_one(self, sql, params, opts)) end
function Db:fetch_optional(sql, params, opts)
  return check(self, fetch_optional(self, sql, params, opts))
end

-- The generic `for` of a row stream: rows come from Rust a batch at a time
-- (those already received) and are handed out one by one; the stream is the
-- loop's to-be-closed value, so `break` releases its connection.
local function stream_loop(owner, s)
  local buf, i, n = nil, 0, 0
  return function()
    if i < n then
      i = i + 1
      return buf[i]
    end
    buf = check(owner, stream_batch(s))
    if buf == nil then
      n = 0
      return nil
    end
    i, n = 1, #buf
    return buf[1]
  end, nil, nil, s
end

-- for row in db:stream(sql, params) do ... end
function Db:stream(sql, params, opts)
  return stream_loop(self, check(self, stream(self, sql, params, opts)))
end

function Db:begin(opts)
  local tx = check(self, begin(self, opts))
  tx_db[tx] = self
  return tx
end
function Db:close() return check(self, raw.close(self)) end
function Db:backend() return check(self, raw.backend(self)) end
function Db:url() return check(self, raw.url(self)) end
function Db:primary() return check(self, raw.primary(self)) end

-- db:on_statement(fn): fn(event) after every statement run through db or its
-- transactions, with event.sql, .elapsed (seconds), .rows, .ok, .backend, .server (primary, replica N; nil without replicas).
-- Returns a function that removes the handler.
function Db:on_statement(fn)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'on_statement' (function expected, got " .. type(fn) .. ")", 2)
  end
  check(self, raw.events(self, true))
  local hs = handlers[self]
  if not hs then hs = {}; handlers[self] = hs end
  hs[#hs + 1] = fn
  local db = self
  return function()
    for i = #hs, 1, -1 do
      if hs[i] == fn then
        for j = i, #hs do hs[j] = hs[j + 1] end
      end
    end
    if #hs == 0 then handlers[db] = nil; check(db, raw.events(db, false)) end
  end
end

for _, name in ipairs({ "execute", "execute_script", "fetch_all", "fetch_one", "fetch_optional",
  "stream" }) do
  Tx[name] = Db[name]
end
function Tx:commit() return check(self, finish(self, true)) end
function Tx:rollback() return check(self, finish(self, false)) end
function Tx:backend() return check(self, raw.tx_info(self, "backend")) end
function Tx:is_open() return check(self, raw.tx_info(self, "is_open")) end
function Tx:savepoint(name) return check(self, savepoint(self, name, 0)) end
function Tx:rollback_to(name) return check(self, savepoint(self, name, 1)) end
function Tx:release(name) return check(self, savepoint(self, name, 2)) end
-- A migration's db runs in the migration's transaction: savepoints there too
-- (on any other database they raise).
Db.savepoint, Db.rollback_to, Db.release = Tx.savepoint, Tx.rollback_to, Tx.release

-- db:transaction(fn [, opts]): runs fn(s) with a new session (see orm.lua);
-- commits when it returns (passing its results on), rolls back and re-raises
-- the very error value when it fails. With opts.retries = n, a retryable
-- error (serialization failure, deadlock, busy database, stale data, a
-- connection lost before COMMIT: see ErrorKind::is_retryable) rolls back and runs fn again,
-- up to n times.
local attempt

local function settle(db, fn, opts, n, ok, ...)
  if ok then return ... end
  local err = ...
  local retries = type(opts) == "table" and opts.retries or 0
  if n < retries and is_retryable(err) and not exhausted() then
    raw.sleep(raw.backoff(n + 1, err))
    return attempt(db, fn, opts, n + 1)
  end
  error(err, 0)
end

local function after(s, ok, ...)
  if ok then
    local cok, cerr = raw_pcall(s.commit, s)
    if cok then
      raw_pcall(s.expunge_all, s) -- detached, values kept (close would expire them)
      return true, ...
    end
    raw_pcall(s.close, s)
    return false, cerr
  end
  raw_pcall(s.rollback, s) -- already finished by the body is fine
  raw_pcall(s.close, s)
  return false, (...)
end

-- Instances stay readable after the block: its session does not expire them
-- at commit unless opts.expire_on_commit says so.
local function session_opts(opts)
  local o = { expire_on_commit = false }
  if type(opts) == "table" then for k, v in pairs(opts) do o[k] = v end end
  return o
end

attempt = function(db, fn, opts, n)
  local s = db:session(session_opts(opts))
  return settle(db, fn, opts, n, after(s, raw_pcall(fn, s)))
end

function Db:transaction(fn, opts)
  if type(fn) ~= "function" then
    error("bad argument #1 to 'transaction' (function expected, got " .. type(fn) .. ")", 2)
  end
  return attempt(self, fn, opts, 0)
end

local dbridge = {
  null = null,
  version = raw.version,
}

function dbridge.connect(url, opts) return check(nil, raw.connect(url, opts)) end
function dbridge.error(t) return check(nil, raw.error(t)) end
function dbridge.json(v) return check(nil, raw.json(v)) end
function dbridge.bytes(s) return check(nil, raw.bytes(s)) end
function dbridge.array(t) return setmetatable(t or {}, array_mt) end
dbridge.is_array = raw.is_array
function dbridge.sleep(seconds) return check(nil, raw.sleep(seconds)) end

-- Under an instruction budget, a script's own pcall must not swallow the
-- budget's error: once the running call's budget is spent, every catching
-- function re-raises whatever it caught.
if budgeted then
  local function pass(ok, ...)
    if not ok and exhausted() then error((...), 0) end
    return ok, ...
  end
  pcall = function(f, ...) return pass(raw_pcall(f, ...)) end
  xpcall = function(f, handler, ...)
    return pass(raw_xpcall(f, function(e)
      if exhausted() then return e end
      return handler(e)
    end, ...))
  end
  if type(coroutine) == "table" then
    local resume, close = coroutine.resume, coroutine.close
    coroutine.resume = function(co, ...) return pass(resume(co, ...)) end
    if close then coroutine.close = function(co) return pass(close(co)) end end
  end
end

-- Binary chunks can crash the VM: `load` takes source text only.
local raw_load = load
load = function(chunk, name, _, ...)
  if select("#", ...) > 0 then return raw_load(chunk, name, "t", ...) end
  return raw_load(chunk, name, "t")
end

-- What orm.lua builds on.
local internal = {
  check = check, owner = tx_db, Db = Db, Tx = Tx, dbridge = dbridge, FAIL = FAIL,
  attach = attach, raw_pcall = raw_pcall, stream_loop = stream_loop, handlers = handlers,
}

return dbridge, Db, Tx, internal
