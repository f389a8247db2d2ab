//! Raw SQL from Lua: execute, fetch_all / fetch_one / fetch_optional, stream.

mod common;

use common::{lua_for, run};

const SETUP: &str = "
    db:execute('CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, karma INTEGER)')
    db:execute('INSERT INTO users (id, name, karma) VALUES ($1, $2, $3), ($4, $5, $6), ($7, $8, $9)',
        { 1, 'Ada', 10, 2, 'Bob', 20, 3, 'Cy', dbridge.null })
";

dbridge_testkit::each_backend!(execute_returns_the_affected_count, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let n: i64 = run(
        &lua,
        "return db:execute('UPDATE users SET karma = karma + 1 WHERE karma >= $1', { 10 })",
    )
    .await;
    assert_eq!(n, 2);
    let n: i64 = run(
        &lua,
        "return db:execute('DELETE FROM users WHERE id = $1', { 99 })",
    )
    .await;
    assert_eq!(n, 0);
});

dbridge_testkit::each_backend!(fetch_all_gives_rows_keyed_by_column, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (n, first, ok): (i64, String, bool) = run(
        &lua,
        "local rows = db:fetch_all('SELECT id, name, karma FROM users ORDER BY id')
         local cy = rows[3]
         -- NULL is an absent key
         local absent = cy.karma == nil
         local keys = 0
         for _ in pairs(cy) do keys = keys + 1 end
         return #rows, rows[1].name, absent and keys == 2 and math.type(rows[1].id) == 'integer'",
    )
    .await;
    assert_eq!((n, first.as_str(), ok), (3, "Ada", true));
});

dbridge_testkit::each_backend!(fetch_one_and_fetch_optional, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (name, none, kind): (String, bool, String) = run(
        &lua,
        "local bob = db:fetch_one('SELECT name FROM users WHERE id = $1', { 2 })
         local none = db:fetch_optional('SELECT name FROM users WHERE id = $1', { 42 })
         local ok, err = pcall(db.fetch_one, db, 'SELECT name FROM users WHERE id = $1', { 42 })
         return bob.name, none == nil and not ok, err.kind",
    )
    .await;
    assert_eq!(
        (name.as_str(), none, kind.as_str()),
        ("Bob", true, "not_found")
    );
});

dbridge_testkit::each_backend!(parameters_are_coerced_and_may_hold_nil, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    // "42" binds to an integer column; dbridge.null, a nil hole, or a trailing
    // nil counted by `n` are NULL.
    let (count, nulls): (i64, i64) = run(
        &lua,
        "db:execute('INSERT INTO users (id, name, karma) VALUES ($1, $2, $3)', { '42', 'Dee', dbridge.null })
         db:execute('INSERT INTO users (id, name, karma) VALUES ($1, $2, $3)', { n = 3, 43, 'Eve', nil })
         db:execute('INSERT INTO users (id, karma, name) VALUES ($1, $2, $3)', { 44, nil, 'Fay' })
         local c = db:fetch_one('SELECT count(*) AS c FROM users WHERE id IN ($1, $2, $3)', { 42, 43, 44 }).c
         local n = db:fetch_one('SELECT count(*) AS c FROM users WHERE karma IS NULL').c
         return c, n",
    )
    .await;
    assert_eq!((count, nulls), (3, 4));
});

dbridge_testkit::each_backend!(stream_yields_rows_one_by_one, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let names: String = run(
        &lua,
        "local out = {}
         for row in db:stream('SELECT name FROM users WHERE id > $1 ORDER BY id', { 1 }) do
             out[#out + 1] = row.name
         end
         return table.concat(out, ',')",
    )
    .await;
    assert_eq!(names, "Bob,Cy");
});

dbridge_testkit::each_backend!(rows_arrive_before_the_query_ends, |t| async move {
    // Row 3 fails on the server: a stream hands over rows 1 and 2 first (a
    // collected result would fail before the script saw any row).
    let lua = lua_for(&t);
    let sql = match t.backend() {
        dbridge_engine::Backend::Postgres => {
            "SELECT 10 / (3 - n) AS v FROM generate_series(1, 5) AS n"
        }
        dbridge_engine::Backend::Sqlite => {
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 5)
             SELECT CASE WHEN n = 3 THEN abs(-9223372036854775805 - n) ELSE n END AS v FROM s"
        }
    };
    lua.globals().set("SQL", sql).unwrap();
    let (seen, kind): (i64, String) = run(
        &lua,
        "local seen = 0
         local ok, err = pcall(function()
             for _ in db:stream(SQL) do seen = seen + 1 end
         end)
         assert(not ok, 'the query should fail at row 3')
         return seen, err.kind",
    )
    .await;
    assert_eq!(seen, 2);
    assert!(!kind.is_empty());
});

dbridge_testkit::each_backend!(
    breaking_out_of_a_stream_releases_its_connection,
    |t| async move {
        let lua = lua_for(&t);
        lua.globals().set("URL", t.url.as_str()).unwrap();
        let n: i64 = run(
            &lua,
            "local one = dbridge.connect(URL, { max_connections = 1, acquire_timeout = 5 })
         for _ = 1, 3 do
             for row in one:stream('SELECT 1 AS a UNION ALL SELECT 2') do break end
         end
         -- the only connection is free again
         local n = one:fetch_one('SELECT 7 AS n').n
         one:close()
         return n",
        )
        .await;
        assert_eq!(n, 7);
    }
);

dbridge_testkit::each_backend!(result_types_option_reads_columns_as_types, |t| async move {
    let lua = lua_for(&t);
    let ok: bool = run(
        &lua,
        "db:execute('CREATE TABLE docs (flag BOOLEAN, doc TEXT)')
         db:execute('INSERT INTO docs (flag, doc) VALUES ($1, $2)', { true, '{\"a\": [1, 2]}' })
         local row = db:fetch_one('SELECT flag, doc FROM docs', nil,
             { types = { flag = 'boolean', doc = 'jsonb' } })
         return row.flag == true and row.doc.a[2] == 2",
    )
    .await;
    assert!(ok);
});

dbridge_testkit::each_backend!(close_makes_later_calls_fail, |t| async move {
    let lua = lua_for(&t);
    lua.globals().set("URL", t.url.as_str()).unwrap();
    let kind: String = run(
        &lua,
        "local d = dbridge.connect(URL)
         d:close()
         local ok, err = pcall(d.execute, d, 'SELECT 1')
         return err.kind",
    )
    .await;
    assert_eq!(kind, "invalid_state");
});
