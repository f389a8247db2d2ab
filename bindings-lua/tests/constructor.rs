//! `Model { ... }`: the constructor reads plain values through a fast path
//! and everything else (JSON, bytes parameters, relationships, unknown keys)
//! through the general one; both must give what assigning the same values one
//! by one gives, errors included.

mod common;

use common::{lua_for, run};

const MODEL: &str = r#"
Thing = db:model {
  name = "Thing", table = "things",
  columns = {
    { "id", "bigint", primary_key = true },
    { "n", "bigint" },
    { "f", "double precision" },
    { "t", "text" },
    { "flag", "boolean" },
    { "by", "bytea" },
    { "doc", "jsonb" },
  },
}
db:create_all()

-- What the constructor gives, and what assigning one by one gives: the
-- instance's columns as text, or the error.
local function quote(s)
  return '"' .. s:gsub("[\128-\255%c]", function(c) return "\\" .. c:byte() end) .. '"'
end
local function describe(ok, v)
  if not ok then return "error " .. tostring(v) end
  local parts = {}
  for _, k in ipairs({ "id", "n", "f", "t", "flag", "by", "doc" }) do
    local x = v[k]
    if type(x) == "table" then x = "{a=" .. tostring(x.a) .. "}" end
    parts[#parts + 1] = k .. "=" .. (type(x) == "string" and quote(x) or tostring(x))
  end
  return table.concat(parts, " ") .. " changed=" .. table.concat(v:changed(), ",")
end
function both(values, keys)
  local made = describe(pcall(Thing, values))
  local assigned = describe(pcall(function()
    local x = Thing {}
    for _, k in ipairs(keys) do
      if values[k] ~= nil then x[k] = values[k] end
    end
    return x
  end))
  assert(made == assigned, "constructor: " .. made .. "\nassigned: " .. assigned)
  return made
end
"#;

dbridge_testkit::each_backend!(
    constructor_reads_values_as_assignment_does,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, MODEL).await;
        let got: String = run(
            &lua,
            r#"
local keys = { "n", "f", "t", "flag", "by", "doc" }
return table.concat({
  both({ n = 7, f = 2.5, t = "héllo", flag = true, by = "\255\0", doc = dbridge.null }, keys),
  both({ n = 3.0, f = 4, t = "x", flag = false }, keys),
  both({ n = "42" }, keys),
  both({ n = 2.5 }, keys),
  both({ n = {} }, keys),
  both({ t = dbridge.bytes("ab") }, keys),
  both({ doc = dbridge.json({ a = 1 }), n = 1 }, keys),
}, "\n")
"#,
        )
        .await;
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 7, "{got}");
        assert_eq!(
            lines[0],
            "id=nil n=7 f=2.5 t=\"h\\195\\169llo\" flag=true by=\"\\255\\0\" doc=nil changed=n,f,t,flag,by,doc"
        );
        assert_eq!(
            lines[1],
            "id=nil n=3 f=4.0 t=\"x\" flag=false by=nil doc=nil changed=n,f,t,flag"
        );
        assert_eq!(
            lines[2],
            "id=nil n=42 f=nil t=nil flag=nil by=nil doc=nil changed=n"
        );
        assert!(lines[3].starts_with("error "), "{}", lines[3]);
        assert!(lines[4].starts_with("error "), "{}", lines[4]);
        assert_eq!(
            lines[6],
            "id=nil n=1 f=nil t=nil flag=nil by=nil doc=\"{a=1}\" changed=n,doc"
        );
    }
);

dbridge_testkit::each_backend!(constructor_reports_unknown_keys, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODEL).await;
    let got: String = run(
        &lua,
        r#"
local function err(values)
  local ok, e = pcall(Thing, values)
  assert(not ok, "should fail")
  return e.kind .. ": " .. e.message
end
return table.concat({
  err { n = 1, nme = "x" },
  err { n = 1, [1] = "x" },
  err { n = 1, [true] = "x" },
}, "\n")
"#,
    )
    .await;
    assert_eq!(
        got,
        "schema: no column or relationship `nme` on model `Thing`\n\
         schema: no column `a integer key` on model `Thing`\n\
         schema: no column `a boolean key` on model `Thing`"
    );
});

dbridge_testkit::each_backend!(constructed_values_reach_the_database, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, MODEL).await;
    let got: String = run(
        &lua,
        r#"
db:transaction(function(s)
  s:add(Thing { id = 1, n = 7, f = 2.5, t = "héllo", flag = true, by = "\255\0" })
  s:add(Thing { id = 2, n = dbridge.null, doc = dbridge.json({ a = 1 }) })
end)
local a, b = db:query(Thing):order_by(Thing.id):all()[1], db:query(Thing):order_by(Thing.id):all()[2]
return table.concat({ a.n, a.f, a.t, tostring(a.flag), tostring(a.by == "\255\0"),
  tostring(b.n), tostring(b.doc.a) }, " ")
"#,
    )
    .await;
    assert_eq!(got, "7 2.5 héllo true true nil 1");
});
