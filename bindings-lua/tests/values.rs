//! Values both ways: every column type bound from Lua and read back.

mod common;

use common::{lua_for, run};
use dbridge_engine::{SqlType, dialect::column_type};

const COLUMNS: &[(&str, &str)] = &[
    ("i2", "smallint"),
    ("i4", "integer"),
    ("i8", "bigint"),
    ("f4", "real"),
    ("f8", "double precision"),
    ("num", "numeric(20,4)"),
    ("b", "boolean"),
    ("t", "text"),
    ("by", "bytea"),
    ("u", "uuid"),
    ("j", "json"),
    ("jb", "jsonb"),
    ("d", "date"),
    ("ts", "timestamp"),
    ("tz", "timestamptz"),
    ("arr", "integer[]"),
    ("tarr", "text[]"),
];

const CHECK: &str = r#"
    local n = 0
    local function is(name, got, want)
        n = n + 1
        if got ~= want then
            error(string.format("%s: got %s (%s), want %s", name, tostring(got), type(got), tostring(want)), 2)
        end
    end
    db:execute(INSERT, {
        7, 70000, 9007199254740993, 1.5, 0.1, '12345678901234.5678', true, 'héllo',
        dbridge.bytes('\0\1\255'), 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
        { a = 1, list = { 1, 2, dbridge.null } }, dbridge.array(),
        '2024-02-29', '2024-02-29 12:34:56.5', '2024-02-29T12:34:56Z',
        { 1, dbridge.null, 3 }, { 'x', 'y' },
    })
    local r = db:fetch_one('SELECT * FROM v', nil, { types = TYPES })
    is('i2', r.i2, 7); is('i2 type', math.type(r.i2), 'integer')
    is('i4', r.i4, 70000)
    is('i8', r.i8, 9007199254740993); is('i8 type', math.type(r.i8), 'integer')
    is('f4', r.f4, 1.5); is('f4 type', math.type(r.f4), 'float')
    is('f8', r.f8, 0.1)
    is('num', r.num, '12345678901234.5678')
    is('b', r.b, true)
    is('t', r.t, 'héllo')
    is('by', r.by, '\0\1\255')
    is('u', r.u, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')
    is('j.a', r.j.a, 1); is('j.list len', #r.j.list, 3); is('j.list[3]', r.j.list[3], dbridge.null)
    is('j.list is array', dbridge.is_array(r.j.list), true); is('j is object', dbridge.is_array(r.j), false)
    is('jb empty array', dbridge.is_array(r.jb), true); is('jb len', #r.jb, 0)
    is('d', r.d, '2024-02-29')
    is('ts', r.ts:sub(1, 21), '2024-02-29 12:34:56.5')
    is('tz', r.tz, '2024-02-29 12:34:56+00:00')
    is('arr len', #r.arr, 3); is('arr[1]', r.arr[1], 1); is('arr[2]', r.arr[2], dbridge.null)
    is('tarr', r.tarr[2], 'y')
    return n
"#;

fn setup(lua: &dbridge_lua::mlua::Lua, backend: dbridge_engine::Backend) {
    let cols: Vec<String> = COLUMNS
        .iter()
        .map(|(n, t)| {
            format!(
                "{n} {}",
                column_type(backend, &t.parse::<SqlType>().unwrap())
            )
        })
        .collect();
    let placeholders: Vec<String> = (1..=COLUMNS.len()).map(|i| format!("${i}")).collect();
    let types = lua.create_table().unwrap();
    for (n, t) in COLUMNS {
        types.set(*n, *t).unwrap();
    }
    let g = lua.globals();
    g.set("DDL", format!("CREATE TABLE v ({})", cols.join(", ")))
        .unwrap();
    g.set(
        "INSERT",
        format!("INSERT INTO v VALUES ({})", placeholders.join(", ")),
    )
    .unwrap();
    g.set("TYPES", types).unwrap();
}

dbridge_testkit::each_backend!(every_type_round_trips, |t| async move {
    let lua = lua_for(&t);
    setup(&lua, t.backend());
    run::<()>(&lua, "db:execute(DDL)").await;
    let checks: i64 = run(&lua, CHECK).await;
    assert_eq!(checks, 27);
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_needs_no_type_hints() {
    // PostgreSQL reports every column's type: the same checks pass untyped.
    let t = dbridge_testkit::TestDb::postgres().await;
    let lua = lua_for(&t);
    setup(&lua, t.backend());
    run::<()>(&lua, "db:execute(DDL); TYPES = nil").await;
    let checks: i64 = run(&lua, CHECK).await;
    assert_eq!(checks, 27);
}

dbridge_testkit::each_backend!(lists_bind_to_arrays_and_to_json, |t| async move {
    let lua = lua_for(&t);
    let jtype = column_type(t.backend(), &SqlType::Jsonb);
    let atype = column_type(t.backend(), &"text[]".parse::<SqlType>().unwrap());
    lua.globals()
        .set("DDL", format!("CREATE TABLE l (doc {jtype}, tags {atype})"))
        .unwrap();
    let ok: bool = run(
        &lua,
        "db:execute(DDL)
         db:execute('INSERT INTO l (doc, tags) VALUES ($1, $2)', { { 1, 'two', 3.5 }, { 'a', 'b' } })
         db:execute('INSERT INTO l (doc, tags) VALUES ($1, $2)', { dbridge.json({ 1, 2 }), dbridge.array() })
         local rows = db:fetch_all('SELECT doc, tags FROM l', nil, { types = { doc = 'jsonb', tags = 'text[]' } })
         local a, b = rows[1], rows[2]
         return a.doc[2] == 'two' and a.doc[3] == 3.5 and a.tags[2] == 'b'
            and b.doc[2] == 2 and #b.tags == 0",
    )
    .await;
    assert!(ok);
});

dbridge_testkit::each_backend!(unbindable_values_are_refused, |t| async move {
    let lua = lua_for(&t);
    let (k1, k2): (String, String) = run(
        &lua,
        "local _, e1 = pcall(db.execute, db, 'SELECT $1', { print })
         local _, e2 = pcall(db.execute, db, 'SELECT $1', { x = 1 })
         return e1.kind, e2.kind",
    )
    .await;
    assert_eq!(
        (k1.as_str(), k2.as_str()),
        ("type_mismatch", "type_mismatch")
    );
});

dbridge_testkit::each_backend!(text_form_cells_read_alike_by_every_path, |t| async move {
    // numeric, uuid, dates and times go to Lua as text: a whole result
    // (`fetch_all`, built in one call), one row (`fetch_one`), a stream
    // (batches) and row by row (a `types` option) give the same strings.
    let lua = lua_for(&t);
    let (ddl, select) = match t.backend() {
        dbridge_engine::Backend::Postgres => (
            "CREATE TABLE tf (id integer PRIMARY KEY, num numeric(20,4), u uuid, d date, tz timestamptz, iv interval)",
            "SELECT id, num, u, d, tz, iv FROM tf ORDER BY id",
        ),
        dbridge_engine::Backend::Sqlite => (
            "CREATE TABLE tf (id integer PRIMARY KEY, num text, u text, d text, tz text, iv text)",
            "SELECT id, num, u, d, tz, iv FROM tf ORDER BY id",
        ),
    };
    lua.globals().set("DDL", ddl).unwrap();
    lua.globals().set("SQL", select).unwrap();
    let same: bool = run(
            &lua,
            "db:execute(DDL)
             db:execute([[INSERT INTO tf VALUES (1, '12345678901234.5678', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                 '2024-02-29', '2024-02-29 12:34:56+00', '1 day 02:03:04'), (2, NULL, NULL, NULL, NULL, NULL)]])
             local all = db:fetch_all(SQL)
             local one = db:fetch_one(SQL)
             local streamed = {}
             for r in db:stream(SQL) do streamed[#streamed + 1] = r end
             local typed = db:fetch_all(SQL, {}, { types = { id = 'integer' } })
             local cols = { 'id', 'num', 'u', 'd', 'tz', 'iv' }
             for _, c in ipairs(cols) do
                 local want = all[1][c]
                 assert(want ~= nil, c .. ' missing')
                 assert(one[c] == want, c .. ': fetch_one ' .. tostring(one[c]) .. ' vs ' .. tostring(want))
                 assert(streamed[1][c] == want, c .. ': stream')
                 assert(typed[1][c] == want, c .. ': typed ' .. tostring(typed[1][c]) .. ' vs ' .. tostring(want))
                 if c ~= 'id' then assert(all[2][c] == nil and streamed[2][c] == nil, c .. ': NULL') end
             end
             return type(all[1].num) == 'string' and #streamed == 2",
        )
        .await;
    assert!(same);
});
