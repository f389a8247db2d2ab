-- dbridge's ORM API in Lua: models, instances, expressions, queries,
-- sessions, writes without a session, listeners and validators. Loaded once
-- per state after prelude.lua, with the raw Rust functions (orm.rs) and the
-- prelude's internals. Returns the values Rust looks up in the registry.
local raw, I = ...

local check, owner, Db, Tx, dbridge, FAIL = I.check, I.owner, I.Db, I.Tx, I.dbridge, I.FAIL
local attach, raw_pcall, stream_loop, handlers = I.attach, I.raw_pcall, I.stream_loop, I.handlers
local error, type, select, setmetatable, rawequal, tostring, ipairs, pairs, next =
  error, type, select, setmetatable, rawequal, tostring, ipairs, pairs, next

-- The database an object's statements belong to (for `statement` handlers).
local function adopt(parent, child)
  if child ~= nil and type(child) == "userdata" then owner[child] = owner[parent] or parent end
  return child
end

-- Script callbacks (listeners, validators) by key. Rust finds them through the
-- weak-valued `callbacks`; `keep[db]` holds them strongly for as long as the
-- database (or one of its models) is alive, without a cycle through Rust.
local callbacks = setmetatable({}, { __mode = "v" })
local keep = setmetatable({}, { __mode = "k" })

local function store(db, fn)
  local key = check(db, raw.next_key(db))
  local k = keep[db]
  if not k then k = {}; keep[db] = k end
  k[key] = fn
  callbacks[key] = fn
  return key
end

---------------------------------------------------------------- expressions
local op = raw.op
local Expr, ExprMeta = {}, {}
for _, name in ipairs({ "eq", "ne", "lt", "le", "gt", "ge", "like", "ilike", "not_like",
  "not_ilike", "in_", "not_in", "between", "not_between", "is_null", "is_not_null", "asc",
  "desc", "nulls_first", "nulls_last", "label", "concat", "over", "get", "get_text", "path",
  "path_text", "contains", "contained_by", "has_key", "has_any_key", "has_all_keys", "cast",
  "is_distinct_from", "is_not_distinct_from", "not_", "filter", "distinct" }) do
  Expr[name] = function(self, a, b) return check(nil, op(name, self, a, b)) end
end
for _, name in ipairs({ "__add", "__sub", "__mul", "__div", "__mod", "__unm", "__band", "__bor",
  "__bnot", "__concat" }) do
  ExprMeta[name] = function(a, b) return check(nil, op(name, a, b)) end
end

function dbridge.and_(...) return check(nil, raw.junction(false, ...)) end
function dbridge.or_(...) return check(nil, raw.junction(true, ...)) end
function dbridge.not_(e) return check(nil, op("not_", e)) end
function dbridge.exists(q) return check(nil, op("exists", q)) end
function dbridge.not_exists(q) return check(nil, op("not_exists", q)) end
function dbridge.literal(v) return check(nil, raw.literal(v)) end
function dbridge.col(name) return check(nil, raw.bare_col(name)) end
function dbridge.excluded(name) return check(nil, raw.excluded(name)) end
function dbridge.case(a, b, c) return check(nil, raw.case(a, b, c)) end
function dbridge.aliased(model, alias) return check(nil, raw.aliased(model, alias)) end
local function table_index(self, k) return check(nil, raw.tcol(self, k)) end
dbridge.func = setmetatable({}, {
  __index = function(_, name)
    return function(...) return check(nil, raw.func(name, ...)) end
  end,
})
dbridge.now = raw.now
dbridge.uuid4 = raw.uuid4

---------------------------------------------------------------- instances
local Instance = {}
function Instance:state() return check(nil, raw.inst_state(self)) end
function Instance:changed() return check(nil, raw.inst_changed(self)) end
function Instance:is_modified() return #self:changed() > 0 end
function Instance:model_name() return check(nil, raw.inst_model_name(self)) end
function Instance:to_table() return check(nil, raw.inst_to_table(self)) end
function Instance:pk() return check(nil, raw.inst_pk(self)) end
function Instance:set_reference(column, other) return check(nil, raw.inst_set_ref(self, column, other)) end

-- Sessions by the engine's session id: an instance names its session by id,
-- and a relationship that is not loaded is loaded through it.
local sessions = setmetatable({}, { __mode = "v" })
local UNLOADED, s_async, bound_load = raw.UNLOADED, raw.s_async, raw.bound_load

-- Loads inst.<k> through the session with id `sid`, or through the database
-- the instance is bound to when `sid` is false (an async call).
local function load_related(inst, k, sid)
  if sid == false then
    -- `handlers`: the databases with statement listeners; the one the
    -- instance is bound to gets the load's events.
    local r, e, events, db = bound_load(inst, k, handlers)
    return check(db, r, e, events)
  end
  local s = sessions[sid]
  if s == nil then return check(nil, raw.rel_gone(inst, k)) end
  return check(s, s_async(s, "related", inst, k))
end

-- Hybrid attributes by model name: { name = { get = fn, expr = fn } }
-- (Model:hybrid); looked up only once a hybrid exists.
local hybrids = {}
local inst_model = raw.inst_model

local inst_get, inst_set = raw.inst_get, raw.inst_set
local function instance_index(self, k)
  local m = Instance[k]
  if m then return m end
  if next(hybrids) ~= nil then
    local h = hybrids[check(nil, inst_model(self))]
    if h and h[k] then return h[k].get(self) end
  end
  local v, e = inst_get(self, k)
  if v == UNLOADED then return load_related(self, k, e) end
  return check(nil, v, e)
end
local function instance_newindex(self, k, v)
  local r, e = inst_set(self, k, v)
  if r == UNLOADED then
    load_related(self, k, e)
    r, e = inst_set(self, k, v)
  end
  check(nil, r, e)
end

---------------------------------------------------------------- relationships
for _, kind in ipairs({ "belongs_to", "has_many", "has_one", "many_to_many" }) do
  dbridge[kind] = function(target, opts) return check(nil, raw.relation(kind, target, opts)) end
end

-- Model.<relationship>: User.posts:any(cond), Post.author:has(cond).
local RelAttr = {}
function RelAttr:any(cond) return check(nil, raw.rel_op(self, "any", cond)) end
function RelAttr:has(cond) return check(nil, raw.rel_op(self, "has", cond)) end

-- Loader options for q:options(...) and s:get(Model, pk, { ... }).
local Load = {}
function Load:under(path) return check(nil, raw.load_under(self, path)) end
for _, name in ipairs({ "selectinload", "joinedload", "subqueryload", "lazyload", "noload",
  "raiseload", "contains_eager", "defer", "undefer", "undefer_group", "load_only",
  "selectin_polymorphic" }) do
  dbridge[name] = function(...) return check(nil, raw.load(name, ...)) end
end

-- A loaded collection (user.posts): #c, c[i], ipairs(c), pairs(c) and methods.
local Collection = {}
local coll = raw.coll
function Collection:add(x) check(nil, coll(self, "add", x)); return self end
function Collection:remove(x) check(nil, coll(self, "remove", x)); return self end
function Collection:clear() check(nil, coll(self, "clear")); return self end
function Collection:contains(x) return check(nil, coll(self, "contains", x)) end
function Collection:all() return check(nil, coll(self, "all")) end
function Collection:is_empty() return check(nil, coll(self, "len")) == 0 end
local function collection_index(self, k)
  if type(k) == "number" then return check(nil, coll(self, "at", k)) end
  local m = Collection[k]
  if m then return m end
  error("no method `" .. tostring(k) .. "` on " .. tostring(self), 2)
end
local function collection_len(self) return check(nil, coll(self, "len")) end
local function collection_pairs(self) return next, self:all(), nil end

---------------------------------------------------------------- models
local Model = {}
local col, inst_new = raw.col, raw.inst_new

local function model_call(self, values) return check(nil, inst_new(self, values)) end

-- Model:c(name): the column expression, also for a column named like a method.
function Model:c(name) return check(nil, col(self, name, true)) end
function Model:describe() return check(nil, raw.describe(self)) end
for _, name in ipairs({ "model_name", "table_name", "column_names", "relationship_names",
  "relationships" }) do
  Model[name] = function(self) return check(nil, raw.model_info(self, name)) end
end

-- Model:get(pk): the instance with that primary key (detached, as db:query
-- returns them) or nil; a composite key as an array. In a session: s:get.
function Model:get(pk)
  local db = owner[self]
  if db == nil then error("bad argument #1 to 'get' (a model of a database expected)", 2) end
  local keys = {}
  for _, c in ipairs(self:describe()) do
    if c.primary_key then keys[#keys + 1] = c.column end
  end
  local values = type(pk) == "table" and pk or { pk }
  if #values ~= #keys then
    error(("bad argument #2 to 'get' (%s has a primary key of %d column(s), %d value(s) given)")
      :format(tostring(self), #keys, #values), 2)
  end
  local q = db:query(self)
  for i, k in ipairs(keys) do q = q:where(self:c(k):eq(values[i])) end
  return check(q, raw.qrun(q, "get", nil))
end
function Model:insert(rows, opts) return check(self, raw.insert(self, rows, opts, false)) end
function Model:upsert(rows, opts) return check(self, raw.insert(self, rows, opts, true)) end
function Model:update(values) return adopt(self, check(self, raw.write(self, values, false))) end
function Model:delete() return adopt(self, check(self, raw.write(self, nil, true))) end

-- Model:hybrid(name, fn [, expr_fn]): inst.<name> is fn(inst), computed from
-- its fields; Model.<name> is expr_fn(Model) (fn(Model) without it), a SQL
-- expression built from the model's column expressions.
function Model:hybrid(name, fn, expr_fn)
  if type(name) ~= "string" then error("bad argument #1 to 'hybrid' (a name expected)", 2) end
  if type(fn) ~= "function" then error("bad argument #2 to 'hybrid' (function expected, got " .. type(fn) .. ")", 2) end
  if expr_fn ~= nil and type(expr_fn) ~= "function" then
    error("bad argument #3 to 'hybrid' (function expected, got " .. type(expr_fn) .. ")", 2)
  end
  local mn = self:model_name()
  local h = hybrids[mn]
  if not h then h = {}; hybrids[mn] = h end
  h[name] = { get = fn, expr = expr_fn or fn }
  return self
end
function Model:column_property(name, expr, opts)
  check(self, raw.column_property(self, name, expr, opts))
  return self
end

local function model_index(self, k)
  local m = Model[k]
  if m then return m end
  if next(hybrids) ~= nil and type(k) == "string" then
    local h = hybrids[self:model_name()]
    if h and h[k] then return h[k].expr(self) end
  end
  if k == "build" then
    return function(a, b)
      if rawequal(a, self) then a = b end -- Model:build{...} works too
      return model_call(self, a)
    end
  end
  if type(k) ~= "string" then return nil end
  return check(nil, col(self, k, false))
end

-- Column validators and model-wide keys are handled in Rust; `validate`
-- functions are stored here and passed on by key.
local function declaration(db, spec)
  if type(spec) ~= "table" or type(spec.columns) ~= "table" then return spec end
  local copy, cols = {}, {}
  for k, v in pairs(spec) do copy[k] = v end
  for i, c in ipairs(spec.columns) do
    if type(c) == "table" and type(c.validate) == "function" then
      local cc = {}
      for k, v in pairs(c) do cc[k] = v end
      cc.validate = store(db, c.validate)
      c = cc
    end
    cols[i] = c
  end
  copy.columns = cols
  return copy
end

function Db:model(spec)
  local m = check(self, raw.model(self, declaration(self, spec)))
  adopt(self, m)
  keep[m] = keep[self]
  return m
end
function Db:models()
  local t = check(self, raw.models(self))
  for _, m in pairs(t) do adopt(self, m); keep[m] = keep[self] end
  return t
end
function Db:reflect()
  local t = check(self, raw.reflect(self))
  for _, m in pairs(t) do adopt(self, m); keep[m] = keep[self] end
  return t
end
function Db:create_all() return check(self, raw.create_all(self, true)) end
function Db:drop_all() return check(self, raw.create_all(self, false)) end

---------------------------------------------------------------- queries
local Query = {}
local query_session = setmetatable({}, { __mode = "k" })
for _, name in ipairs({ "where", "filter", "filter_by", "join", "outerjoin", "right_join",
  "full_join", "cross_join", "union", "union_all", "intersect", "except", "group_by", "having",
  "order_by", "limit", "offset", "distinct", "distinct_on", "select_from", "for_update",
  "for_share", "options", "on_primary", "with_expression" }) do
  Query[name] = function(self, ...)
    local q = check(self, raw.qb(self, name, ...))
    owner[q] = owner[self]
    query_session[q] = query_session[self]
    return q
  end
end
for _, name in ipairs({ "all", "first", "one", "one_or_none", "count", "exists" }) do
  Query[name] = function(self) return check(self, raw.qrun(self, name, query_session[self])) end
end
function Query:sql() return check(self, raw.qsql(self)) end
-- q:subquery(alias): a derived table for db:query(t.col, ...), joins and
-- select_from; t.<column or label> is its column.
function Query:subquery(alias) return check(self, raw.qsub(self, alias)) end
-- q:cte(name): the query as a CTE (WITH name AS (...)), a table as a
-- subquery is; the query that reads it gets the WITH. q:cte(name, fn): a
-- recursive CTE, q UNION ALL fn(t), t being the CTE for the member to join.
function Query:cte(name, recursive)
  if type(recursive) ~= "function" then
    return check(self, raw.qcte(self, name, recursive))
  end
  local t = check(self, raw.qcte_self(self, name))
  return check(self, raw.qcte(self, name, recursive(t), t))
end
-- q:paginate{ after = cursor, limit = n } (keyset) or { page = n, limit = n } (offset).
function Query:paginate(opts) return check(self, raw.qpage(self, opts, query_session[self])) end

-- for row in q:stream() do ... end: rows of a column query are read as the
-- loop consumes them; a model query loads its instances first.
function Query:stream()
  if check(self, raw.q_is_entity(self)) then
    local list, i = self:all(), 0
    return function() i = i + 1; return list[i] end
  end
  return stream_loop(self, check(self, raw.qstream(self)))
end

function Db:query(...) return adopt(self, check(self, raw.query(self, ...))) end

---------------------------------------------------------------- writes
local Write = {}
for _, name in ipairs({ "where", "filter", "filter_by", "returning" }) do
  Write[name] = function(self, ...) return adopt(self, check(self, raw.wb(self, name, ...))) end
end
for _, name in ipairs({ "execute", "all", "sql" }) do
  Write[name] = function(self) return check(self, raw.wrun(self, name)) end
end

---------------------------------------------------------------- sessions
local Session = {}
for _, name in ipairs({ "execute", "execute_script", "fetch_all", "fetch_one", "fetch_optional",
  "stream" }) do
  Session[name] = Db[name]
end
Session.savepoint, Session.rollback_to, Session.release = Tx.savepoint, Tx.rollback_to, Tx.release

local s_call, s_add = raw.s_call, raw.s_add
function Session:add(a) return check(self, s_add(self, a)) end
for _, name in ipairs({ "add_all", "delete", "expunge", "expunge_all", "expire",
  "expire_all", "in_transaction", "strict_loading" }) do
  Session[name] = function(self, a) return check(self, s_call(self, name, a)) end
end
for _, name in ipairs({ "get", "load", "flush", "commit", "rollback", "refresh", "merge", "close",
  "commit_nested", "rollback_nested" }) do
  Session[name] = function(self, a, b, c) return check(self, s_async(self, name, a, b, c)) end
end
function Session:stats() return check(self, raw.s_stats(self)) end
function Session:backend() return check(self, raw.s_info(self, "backend")) end
function Session:is_open() return check(self, raw.s_info(self, "is_open")) end

function Session:query(...)
  local q = check(self, raw.query(self, ...))
  owner[q] = owner[self]
  query_session[q] = self
  return q
end

-- s:begin_nested(fn): a savepoint around fn(s); rolled back (and the error
-- re-raised) when fn fails. Without fn: end it with s:commit_nested() or
-- s:rollback_nested().
function Session:begin_nested(fn)
  check(self, s_async(self, "begin_nested"))
  if fn == nil then return end
  local s = self
  local function finish(ok, ...)
    if ok then
      check(s, s_async(s, "commit_nested"))
      return ...
    end
    s_async(s, "rollback_nested") -- a failed flush inside already rolled back
    error((...), 0)
  end
  return finish(raw_pcall(fn, s))
end

-- s:no_autoflush(fn): fn(s) with autoflush off.
function Session:no_autoflush(fn)
  local s = self
  local before = check(s, s_call(s, "autoflush", false))
  local function done(ok, ...)
    s_call(s, "autoflush", before)
    if ok then return ... end
    error((...), 0)
  end
  return done(raw_pcall(fn, s))
end

function Db:session(opts)
  local s = adopt(self, check(self, raw.session(self, opts)))
  sessions[check(s, raw.s_id(s))] = s
  return s
end

---------------------------------------------------------------- events
-- db:on(Model or "*", event, fn) -> a function that removes the listener.
function Db:on(target, event, fn)
  if type(fn) ~= "function" then
    error("bad argument #3 to 'on' (function expected, got " .. type(fn) .. ")", 2)
  end
  if event == "statement" then return self:on_statement(fn) end
  local key = store(self, fn)
  local r, e = raw.on(self, target, event, key)
  if r == FAIL then
    keep[self][key] = nil
    callbacks[key] = nil
  end
  check(self, r, e)
  local db = self
  return function()
    check(db, raw.off(db, key))
    if keep[db] then keep[db][key] = nil end
    callbacks[key] = nil
  end
end

-- db:validate(Model, column, fn): fn(value) returns true (or nothing) to accept,
-- false or nil, message to reject; an error raised in it rejects too.
function Db:validate(model, column, fn)
  if type(fn) ~= "function" then
    error("bad argument #3 to 'validate' (function expected, got " .. type(fn) .. ")", 2)
  end
  local key = store(self, fn)
  return check(self, raw.validate(self, model, column, key))
end

-- How Rust calls a listener: nothing back on success, else kind and message.
local function describe(e)
  if type(e) == "userdata" then
    local ok, kind = raw_pcall(function() return e.kind end)
    if ok and type(kind) == "string" then return kind, e.message end
  end
  return "error", tostring(e)
end

local function call_listener(f, ...)
  local ok, e = raw_pcall(f, ...)
  if ok then return nil end
  return describe(e)
end

local function call_validator(f, v)
  local ok, r, msg = raw_pcall(f, v)
  if not ok then
    local _, m = describe(r)
    return false, m
  end
  if r == false or (r == nil and msg ~= nil) then return false, msg end
  return true
end

return {
  ["dbridge.callbacks"] = callbacks,
  ["dbridge.call_listener"] = call_listener,
  ["dbridge.call_validator"] = call_validator,
  ["dbridge.Expr"] = Expr,
  ["dbridge.Model"] = Model,
  ["dbridge.Instance"] = Instance,
  ["dbridge.Collection"] = Collection,
  ["dbridge.Expr.meta"] = ExprMeta,
  ["dbridge.Instance.__index"] = instance_index,
  ["dbridge.Instance.__newindex"] = instance_newindex,
  ["dbridge.Model.__index"] = model_index,
  ["dbridge.Model.__call"] = model_call,
  ["dbridge.Query"] = Query,
  ["dbridge.Table.__index"] = table_index,
  ["dbridge.Write"] = Write,
  ["dbridge.Session"] = Session,
  ["dbridge.RelAttr"] = RelAttr,
  ["dbridge.Load"] = Load,
  ["dbridge.Collection.__index"] = collection_index,
  ["dbridge.Collection.__len"] = collection_len,
  ["dbridge.Collection.__pairs"] = collection_pairs,
}
