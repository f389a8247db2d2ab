-- The Lua entry points of the injection campaign (tests/hostile/injection.rs).
-- Each entry is E[name](f, p, n): `f` a fresh database handle (its own model
-- registry, for DDL), `p` the payload, `n` a number unique to the case. It
-- returns what the Rust side compares with the payload (see `Expect`).
-- Globals: db (Victim and Loot declared on it), URL, MIGDIR, CATNAME,
-- CATCOLS, CATINDEX (see catalog_sql in injection.rs).

E = {}

local function back(n)
  local r = db:fetch_optional("SELECT v FROM loot WHERE id = $1", { n })
  return r and r.v
end

-- DDL on a fresh handle: create, look the name up in the catalog, drop.
local function ddl(f, decl, lookup)
  local M = f:model(decl)
  f:create_all()
  local ok, r = pcall(lookup, M)
  f:drop_all()
  if not ok then error(r, 0) end
  return r
end

local function catalog_name(sql, name)
  local row = db:fetch_optional(sql, { name })
  return row and row.name or "(missing from the catalog)"
end

-- Raw SQL: every value a bound parameter.
E["sql.execute"] = function(f, p, n)
  db:execute("INSERT INTO loot (id, v) VALUES ($1, $2)", { n, p })
  return back(n)
end
E["sql.fetch_all"] = function(f, p)
  return db:fetch_all("SELECT CAST($1 AS TEXT) AS v", { p })[1].v
end
E["sql.fetch_one"] = function(f, p)
  return db:fetch_one("SELECT count(*) AS n FROM victims WHERE name = $1", { p }).n
end
E["sql.fetch_optional"] = function(f, p, n)
  return db:fetch_optional("INSERT INTO loot (id, v) VALUES ($1, $2) RETURNING v", { n, p }).v
end
E["sql.stream"] = function(f, p)
  local out
  for row in db:stream("SELECT CAST($1 AS TEXT) AS v", { p }) do out = row.v end
  return out
end
E["tx.execute"] = function(f, p, n)
  db:transaction(function(tx) tx:execute("INSERT INTO loot (id, v) VALUES ($1, $2)", { n, p }) end)
  return back(n)
end

-- Writes without a session.
E["orm.insert"] = function(f, p, n)
  Loot:insert({ { id = n, v = p } })
  return back(n)
end
E["orm.upsert"] = function(f, p, n)
  Loot:upsert({ { id = n, v = "before" } }, { conflict = { "id" }, update = { "v" } })
  Loot:upsert({ { id = n, v = p } }, { conflict = { "id" }, update = { "v" } })
  return back(n)
end
E["orm.update"] = function(f, p, n)
  Loot:insert({ { id = n, v = "before" } })
  assert(Loot:update({ v = p }):where(Loot.id:eq(n)):execute() == 1)
  return back(n)
end
E["orm.delete"] = function(f, p)
  return Loot:delete():where(Loot.v:eq(p) & Loot.id:lt(0)):execute()
end
-- Lua cannot make NaN a table key: such a case is not counted.
SKIP = setmetatable({}, { __tostring = function() return "skip" end })
local function key(p) if p ~= p then error(SKIP, 0) end return p end

E["orm.insert_key"] = function(f, p, n)
  Loot:insert({ { id = n, [key(p)] = "x" } })
end
E["orm.update_key"] = function(f, p)
  Loot:update({ [key(p)] = "x" }):where(Loot.id:lt(0)):execute()
end
E["orm.upsert_conflict"] = function(f, p, n)
  Loot:upsert({ { id = n, v = "x" } }, { conflict = { p }, update = { "v" } })
end
E["orm.returning"] = function(f, p, n)
  Loot:insert({ { id = n, v = "x" } }, { returning = { p } })
end

-- Sessions and instances.
E["session.add"] = function(f, p, n)
  db:transaction(function(s) s:add(Loot { id = n, v = p }) end)
  return back(n)
end
E["inst.assign"] = function(f, p, n)
  local i = Loot { id = n }
  i.v = p
  i["v"] = p
  db:transaction(function(s) s:add(i) end)
  return back(n)
end
E["inst.ctor_key"] = function(f, p) local _ = Victim { [key(p)] = 1 } end
E["inst.set_name"] = function(f, p) local v = Victim {}; v[p] = 1 end
E["inst.get_name"] = function(f, p) return Victim {}[p] end
E["session.get"] = function(f, p)
  do
    local s <close> = db:session()
    assert(s:get(Victim, p) == nil)
  end
  assert(Victim:get(p) == nil)
end

-- The query builder.
E["query.where"] = function(f, p) return db:query(Victim):where(Victim.name:eq(p)):count() end
E["query.filter_by"] = function(f, p) return db:query(Victim):filter_by({ name = p }):count() end
E["query.in_"] = function(f, p) return db:query(Victim):where(Victim.name:in_({ p, p })):count() end
E["query.like"] = function(f, p) db:query(Victim):where(Victim.name:like(p) | Victim.name:ilike(p)):count() end
E["query.limit"] = function(f, p) db:query(Victim):limit(p):all() end
E["query.offset"] = function(f, p) db:query(Victim):offset(p):all() end
E["query.order_by"] = function(f, p) db:query(Victim):order_by(p):all() end
E["query.join"] = function(f, p) db:query(Victim):join(p):all() end
E["query.c"] = function(f, p) db:query(Victim):where(Victim:c(p):eq(1)):count() end
E["query.index"] = function(f, p)
  local c = Victim[p]
  if c ~= nil then db:query(Victim):where(c:eq(1)):count() end
end
E["query.func"] = function(f, p) db:query(dbridge.func[p](Victim.id):label("x")):all() end
E["query.label"] = function(f, p)
  local row = db:query(Victim.name:label(p)):order_by(Victim.id):first()
  for k in pairs(row) do return k end
end
E["query.selectinload"] = function(f, p) db:query(Victim):options(dbridge.selectinload(p)):all() end

-- Model declarations: names validated and quoted, values as literals.
E["model.table"] = function(f, p)
  return ddl(f, { name = "M", table = p, columns = { { "id", "integer", primary_key = true } } },
    function(M) return catalog_name(CATNAME, M:table_name()) end)
end
E["model.name"] = function(f, p)
  return ddl(f, { name = p, columns = { { "id", "integer", primary_key = true } } },
    function(M)
      local found = catalog_name(CATNAME, M:table_name())
      assert(found == M:table_name(), "the table is missing")
      return M:model_name()
    end)
end
E["model.column"] = function(f, p)
  return ddl(f, { name = "M", table = "m_col", columns = { { "id", "integer", primary_key = true }, { p, "text" } } },
    function(M)
      M:insert({ { id = 1, [key(p)] = "stored" } })
      local got, by_name = M:get(1)[p], M:get(1)[M:column_names()[2]]
      assert(got == "stored", "the value did not come back: " .. tostring(got) .. ", by its normalised name " .. tostring(by_name))
      local row = db:fetch_optional(CATCOLS, { "m_col", M:column_names()[2] })
      return row and row.name or "(missing from the catalog)"
    end)
end
E["model.type"] = function(f, p)
  ddl(f, { name = "M", table = "m_type", columns = { { "id", "integer", primary_key = true }, { "c", p } } },
    function() end)
end
E["model.default"] = function(f, p)
  return ddl(f, { name = "M", table = "m_def", columns = { { "id", "integer", primary_key = true },
      { "c", "text", default = p } } },
    function(M)
      M:insert({ { id = 1 } })
      local row = db:fetch_one("SELECT c FROM m_def WHERE id = $1", { 1 })
      return row.c
    end)
end
E["model.index_name"] = function(f, p)
  return ddl(f, { name = "M", table = "m_idx", columns = { { "id", "integer", primary_key = true }, { "c", "text" } },
      indexes = { { "c", name = p } } },
    function() return catalog_name(CATINDEX, "m_idx") end)
end
E["model.uniques"] = function(f, p)
  ddl(f, { name = "M", table = "m_uq", columns = { { "id", "integer", primary_key = true }, { "c", "text" } },
      uniques = { { p } } }, function() end)
end
E["model.references"] = function(f, p)
  ddl(f, { name = "M", table = "m_ref", columns = { { "id", "integer", primary_key = true },
      { "c", "integer", references = p } } }, function() end)
end
E["model.version"] = function(f, p)
  ddl(f, { name = "M", table = "m_ver", columns = { { "id", "integer", primary_key = true }, { "c", "integer" } },
      version = p }, function() end)
end

-- Transactions, connections, errors, migrations.
E["tx.savepoint"] = function(f, p)
  local tx <close> = db:begin()
  tx:savepoint(p)
  tx:execute("INSERT INTO loot (id, v) VALUES ($1, $2)", { -1, "inside" })
  tx:rollback_to(p)
  tx:release(p)
  tx:rollback()
end
E["tx.options"] = function(f, p)
  local ok1, e1 = pcall(function() local tx <close> = db:begin({ isolation = p }); tx:rollback() end)
  local ok2, e2 = pcall(db.transaction, db, function() end, { isolation = p })
  local ok3, e3 = pcall(function() local s <close> = db:session({ isolation = p }); s:fetch_one("SELECT 1 AS one") end)
  if not ok1 then error(e1, 0) end
  if not ok2 then error(e2, 0) end
  if not ok3 then error(e3, 0) end
end
E["connect.options"] = function(f, p)
  local c = dbridge.connect(URL, { application_name = p, max_connections = 1 })
  local ok, e = pcall(c.fetch_one, c, "SELECT 1 AS one")
  c:close()
  if not ok then error(e, 0) end
end
E["error.kind"] = function(f, p) return dbridge.error { kind = p, message = "m" }.kind end
E["error.message"] = function(f, p) return dbridge.error { kind = "validation", message = p }.message end
E["migrator.history_table"] = function(f, p) f:migrator(MIGDIR, { history_table = p }):up() end
E["migrator.schema"] = function(f, p) f:migrator(MIGDIR, { schema = p }):check() end
E["migrator.new"] = function(f, p) return f:migrator(MIGDIR):new(p) end

N = 1000
function RUN(name, f, p)
  N = N + 1
  local ok, r = pcall(E[name], f, p, N)
  if ok then return true, r end
  if r == SKIP then return true, nil, nil, nil, true end
  local kok, kind = pcall(function() return r.kind end)
  if not kok or type(kind) ~= "string" then kind = nil end
  return false, nil, kind, tostring(r)
end
