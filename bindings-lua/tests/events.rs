//! Statement events: db:on_statement(fn).

mod common;

use common::{lua_for, run};

dbridge_testkit::each_backend!(
    handlers_see_every_statement_without_values,
    |t| async move {
        let lua = lua_for(&t);
        let seen: String = run(
        &lua,
        "local seen = {}
         local off = db:on_statement(function(ev)
             assert(type(ev.elapsed) == 'number' and ev.backend == BACKEND)
             seen[#seen + 1] = ev.sql .. (ev.ok and '' or ' (failed)') .. (ev.rows and (' ' .. ev.rows) or '')
         end)
         db:execute('CREATE TABLE t (n INTEGER PRIMARY KEY)')
         db:execute('INSERT INTO t VALUES ($1), ($2)', { 1, 2 })
         db:transaction(function(tx)
             tx:fetch_all('SELECT n FROM t')
         end)
         pcall(db.execute, db, 'INSERT INTO t VALUES ($1)', { 1 })
         for _ in db:stream('SELECT n FROM t') do end
         off()
         db:execute('SELECT 1')
         return table.concat(seen, '|')",
    )
    .await;
        let got: Vec<&str> = seen.split('|').collect();
        assert_eq!(got[0], "CREATE TABLE t (n INTEGER PRIMARY KEY) 0");
        assert_eq!(got[1], "INSERT INTO t VALUES ($1), ($2) 2");
        // The transaction's own BEGIN and COMMIT are statements too.
        assert!(got[2].starts_with("BEGIN"), "{got:?}");
        assert_eq!(got[3], "SELECT n FROM t 2");
        assert!(got[4].starts_with("COMMIT"), "{got:?}");
        assert_eq!(got[5], "INSERT INTO t VALUES ($1) (failed)");
        assert_eq!(got[6], "SELECT n FROM t 2");
        assert_eq!(got.len(), 7, "{got:?}");
    }
);
