//! Limits on both backends: a runaway script is stopped (also inside
//! try/catch), the host goes on, and the transaction it held is rolled back.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::{check, ok, run, run_with};
use dbridge_rhai::Options;
use dbridge_testkit::{TestDb, each_backend};
use rhai::EvalAltResult;

const SETUP: &str = "db.execute(\"CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY)\");";

async fn ids(t: &TestDb) -> String {
    ok(
        t,
        "db.fetch_all(\"SELECT id FROM jobs ORDER BY id\").map(|r| r.id)",
    )
    .await
    .to_string()
}

/// After a stopped script: nothing it wrote is there, and the table is
/// writable at once (on SQLite that needs its write lock released).
async fn host_goes_on(t: &TestDb) {
    assert_eq!(ids(t).await, "[]");
    check(t, "db.execute(\"INSERT INTO jobs VALUES (100)\")").await;
    assert_eq!(ids(t).await, "[100]");
}

fn too_many_operations(err: &EvalAltResult) -> bool {
    matches!(err, EvalAltResult::ErrorTooManyOperations(..))
}

each_backend!(endless_loop_in_an_open_transaction, |t| async move {
    check(&t, SETUP).await;
    let err = run_with(
        &t,
        Options::sandboxed().max_operations(50_000),
        r#"
        let tx = db.begin();
        tx.execute("INSERT INTO jobs VALUES (1)");
        loop { try { loop { } } catch (e) { } }
    "#,
    )
    .await
    .unwrap_err();
    assert!(too_many_operations(&err), "{err}");
    host_goes_on(&t).await;
});

each_backend!(endless_loop_in_a_transaction_closure, |t| async move {
    check(&t, SETUP).await;
    let err = run_with(
        &t,
        Options::sandboxed().max_operations(50_000),
        r#"
        db.transaction(|tx| {
            tx.execute("INSERT INTO jobs VALUES (1)");
            while true { }
        });
    "#,
    )
    .await
    .unwrap_err();
    assert!(too_many_operations(&err), "{err}");
    host_goes_on(&t).await;
});

each_backend!(progress_callback_stops_a_script, |t| async move {
    check(&t, SETUP).await;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let options = Options::new().on_progress(move |_| {
        flag.load(Ordering::Relaxed)
            .then(|| "stopped by host".into())
    });
    // The host raises the flag once the script has written (seen through the
    // statement observer), so the script is stopped holding its transaction.
    let observer = {
        let stop = stop.clone();
        t.db.on_statement(Arc::new(move |e| {
            if e.sql.starts_with("INSERT INTO jobs") {
                stop.store(true, Ordering::Relaxed);
            }
        }))
    };
    let err = run_with(
        &t,
        options,
        r#"
        let tx = db.begin();
        tx.execute("INSERT INTO jobs VALUES (1)");
        loop { }
    "#,
    )
    .await
    .unwrap_err();
    t.db.remove_statement_observer(observer);
    match *err {
        EvalAltResult::ErrorTerminated(ref v, _) => assert_eq!(v.to_string(), "stopped by host"),
        ref other => panic!("not terminated: {other}"),
    }
    host_goes_on(&t).await;
});

each_backend!(deep_recursion_and_big_values_are_refused, |t| async move {
    check(&t, SETUP).await;
    let err = run(&t, "fn f(n) { f(n + 1) } f(0)").await.unwrap_err();
    assert!(
        matches!(*err.unwrap_inner(), EvalAltResult::ErrorStackOverflow(..)),
        "{err}"
    );
    let err = run_with(
        &t,
        Options::sandboxed().max_string_size(100),
        r#"
        let s = "x"; for i in 0..10 { s += s; } s
    "#,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(*err, EvalAltResult::ErrorDataTooLarge(..)),
        "{err}"
    );
    // A result bigger than the array limit fails instead of filling memory.
    let err = run_with(
        &t,
        Options::sandboxed().max_array_size(10),
        r#"
        for i in 0..20 { db.execute("INSERT INTO jobs VALUES ($1)", [i]); }
        let n = 0;
        for row in db.stream("SELECT id FROM jobs") { n += 1; }
        if n != 20 { throw "stream saw " + n; }
        db.fetch_all("SELECT id FROM jobs")
    "#,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(*err.unwrap_inner(), EvalAltResult::ErrorDataTooLarge(..)),
        "{err}"
    );
});

each_backend!(sandboxed_engine_has_no_eval, |t| async move {
    let _ = &t;
    let engine = dbridge_rhai::sandboxed_engine().unwrap();
    assert_eq!(engine.max_operations(), 10_000_000);
    let err = dbridge_rhai::spawn_blocking(move || engine.run("eval(\"1\")"))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("eval"), "{err}");
});

each_backend!(
    a_30000_step_expression_chain_is_a_clear_error,
    |t| async move {
        // Built with shared subtrees (fast, little memory); compiling it (or
        // dropping it) must not overflow the stack.
        let err = run_with(
            &t,
            Options::sandboxed().max_operations(10_000_000),
            r#"
        let e = dbridge::literal(0);
        for i in 0..30000 { e = e + 1; }
        db.query([e.label("v")]).all()
    "#,
        )
        .await
        .unwrap_err();
        assert!(err.to_string().contains("nested deeper than"), "{err}");
        check(&t, "db.fetch_all(\"SELECT 1 AS n\")").await;
    }
);

each_backend!(
    end_call_rolls_back_what_a_stopped_call_began_even_in_scope,
    |t| async move {
        check(&t, SETUP).await;
        let (engine, dbridge) = common::engine(Options::sandboxed().max_operations(50_000));
        let db = dbridge.database(t.db.clone());
        // SQLite has one writer: only PostgreSQL can hold a second transaction.
        let with_old = t.backend().name() == "postgres";
        let out = dbridge_rhai::spawn_blocking(move || {
            let mut scope = rhai::Scope::new();
            scope.push("db", db);
            scope.push("with_old", with_old);
            // Begun before the tracked call: left alone.
            engine
                .run_with_scope(
                    &mut scope,
                    "let old = if with_old { db.begin() } else { () };",
                )
                .map_err(|e| e.to_string())?;
            dbridge.begin_call();
            let stopped = engine
                .run_with_scope(
                    &mut scope,
                    r#"let tx = db.begin(); tx.execute("INSERT INTO jobs VALUES (1)"); loop {}"#,
                )
                .is_err_and(|e| matches!(*e, EvalAltResult::ErrorTooManyOperations(..)));
            let rolled_back = dbridge.end_call(true);
            let open: bool = engine
                .eval_with_scope(&mut scope, "tx.is_open")
                .map_err(|e| e.to_string())?;
            let old_open: bool = engine
                .eval_with_scope(
                    &mut scope,
                    "if with_old { let o = old.is_open; old.rollback(); o } else { true }",
                )
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((stopped, rolled_back, open, old_open))
        })
        .await
        .expect("script thread");
        assert_eq!(out, Ok((true, 1, false, true)));
        host_goes_on(&t).await;
    }
);

/// How many server sessions run a statement containing `tag` (PostgreSQL).
async fn pg_running(tag: &str) -> i64 {
    let admin = dbridge_engine::Database::connect(&dbridge_testkit::pg_url())
        .await
        .expect("admin");
    let n = admin
        .fetch_one(
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
            &[dbridge_engine::Value::from(format!("%{tag}%"))],
        )
        .await
        .expect("pg_stat_activity")
        .get("n")
        .expect("n")
        .as_i64()
        .expect("count");
    admin.close().await;
    n
}

/// Whether the endless insert into `table` runs: seen in `pg_stat_activity`,
/// or (SQLite) by the write-ahead log growing past `mark`.
async fn insert_runs(t: &TestDb, table: &str, mark: u64) -> bool {
    match t.backend() {
        dbridge_engine::Backend::Sqlite => wal_size(t) > mark + (1 << 20),
        dbridge_engine::Backend::Postgres => pg_running(table).await > 0,
    }
}

fn wal_size(t: &TestDb) -> u64 {
    let path = t.url.trim_start_matches("sqlite://");
    std::fs::metadata(format!("{path}-wal")).map_or(0, |m| m.len())
}

dbridge_testkit::each_backend!(
    a_cancel_handle_stops_the_statement_a_script_waits_for,
    |t| async move {
        let table = format!("cancel_{}_{}", std::process::id(), t.backend().name());
        t.db.execute(&format!("CREATE TABLE {table} (n BIGINT)"), &[])
            .await
            .expect("create");
        let handle = dbridge_engine::CancelHandle::new();
        let script = format!(
            r#"db.execute("INSERT INTO {table} (n) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c");"#
        );
        let mark = wal_size(&t);
        let options = Options::sandboxed().cancel_handle(handle.clone());
        let run = tokio::spawn({
            let t_db = t.db.clone();
            let url = t.url.clone();
            async move {
                let (engine, dbridge) = common::engine(options);
                let mut scope = rhai::Scope::new();
                scope.push("db", dbridge.database(t_db));
                scope.push("url", url);
                dbridge_rhai::spawn_blocking(move || {
                    engine.eval_with_scope::<rhai::Dynamic>(&mut scope, &script)
                })
                .await
                .expect("script thread")
            }
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !insert_runs(&t, &table, mark).await {
            assert!(std::time::Instant::now() < deadline, "never started");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        handle.cancel();
        let err = run.await.expect("task").expect_err("cancelled");
        assert_eq!(common::kind(&err), "cancelled");
        let n =
            t.db.fetch_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
                .await
                .expect("count")
                .get("n")
                .expect("n")
                .as_i64();
        assert_eq!(n, Some(0), "the insert was rolled back");
        // The table can be written at once: nothing holds its lock.
        t.db.execute(&format!("INSERT INTO {table} VALUES (1)"), &[])
            .await
            .expect("write");
    }
);
