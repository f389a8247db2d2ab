//! Where scripts may run: a plain thread, a multi-thread runtime's worker, a
//! current-thread runtime (refused with a clear error, or run through
//! `dbridge_rhai::spawn_blocking`), on both backends.

use dbridge_rhai::{Options, db_error};
use dbridge_testkit::TestDb;
use rhai::{Engine, EvalAltResult, Scope};

/// A script that exercises every kind of call that blocks, including a
/// stream and a transaction left open for the host to drop.
const SCRIPT: &str = r#"
    let db = dbridge::connect(url);
    db.execute("CREATE TABLE IF NOT EXISTS b (n INTEGER)");
    // A row 3 here is one a transaction left open by an earlier run committed.
    let leftover = db.fetch_one("SELECT count(*) AS c FROM b WHERE n = 3").c;
    db.execute("DELETE FROM b");
    // A retry waits on the runtime's timer (also from a thread with no runtime).
    let tries = 0;
    db.transaction(|tx| {
        tries += 1;
        if tries == 1 { throw dbridge::error(#{ kind: "busy", message: "again" }); }
        tx.execute("INSERT INTO b VALUES ($1), ($2)", [1, 2]);
    }, #{ retries: 1 });
    dbridge::sleep(0.001);
    let s = db.stream("SELECT n FROM b ORDER BY n");
    let first = ();
    for row in s { first = row.n; break; }
    let n = db.fetch_one("SELECT sum(n) AS s FROM b").s;
    // A listener is called back inside the flush, on whatever thread runs the script.
    let M = db.model(#{ name: "B", table: "b_orm", columns: [["id", "integer", #{ primary_key: true }], ["v", "text"]] });
    db.create_all();
    db.on(M, "before_insert", |s, m| { m.v += "!"; });
    db.transaction(|s| { s.add(M.build(#{ v: "hi" })); });
    if !db.query(M).where(M.v.eq("hi!")).exists() { throw "the listener did not run"; }
    // (On SQLite, a read outside an open write transaction would wait for it.)
    let tx = db.begin();
    tx.execute("INSERT INTO b VALUES (3)");
    [n, first, leftover, s, tx]
"#;

/// Both backends: SQLite in memory, and a PostgreSQL schema of this test's
/// own (made on a thread with its own runtime, so that any test may call this;
/// dropped with the returned `TestDb`).
fn backends() -> Vec<(String, Option<TestDb>)> {
    let pg = std::thread::spawn(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(TestDb::postgres())
    })
    .join()
    .unwrap();
    // A SQLite file rather than memory: the script keeps a stream open while it
    // runs other statements, and an in-memory database has a single connection.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let file = std::env::temp_dir().join(format!(
        "dbridge-rhai-blocking-{}-{nanos}.db",
        std::process::id()
    ));
    vec![
        (format!("sqlite://{}", file.display()), None),
        (pg.url.clone(), Some(pg)),
    ]
}

fn engine(options: Options) -> Engine {
    let mut engine = Engine::new();
    dbridge_rhai::register(&mut engine, options).unwrap();
    engine
}

/// Runs the script, checks its values, and drops what it returned (an open
/// stream and an open transaction) on the calling thread.
fn run_script(engine: &Engine, url: &str) -> Result<(), Box<EvalAltResult>> {
    let mut scope = Scope::new();
    scope.push("url", url.to_string());
    let out: rhai::Array = engine.eval_with_scope(&mut scope, SCRIPT)?;
    assert_eq!(out[0].as_int().unwrap(), 3, "{url}");
    assert_eq!(out[1].as_int().unwrap(), 1, "{url}");
    assert_eq!(
        out[2].as_int().unwrap(),
        0,
        "{url}: a dropped transaction committed"
    );
    drop(out);
    Ok(())
}

#[test]
fn plain_thread_with_the_bindings_own_runtime() {
    let engine = engine(Options::new());
    for (url, _db) in backends() {
        run_script(&engine, &url).unwrap();
        // The transaction the script left open was rolled back when dropped.
        run_script(&engine, &url).unwrap();
    }
    drop(engine);
}

#[test]
fn plain_thread_with_a_given_runtime() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let engine = engine(Options::new().runtime(rt.handle().clone()));
    for (url, _db) in backends() {
        run_script(&engine, &url).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn directly_on_a_multi_thread_worker() {
    let engine = engine(Options::new());
    for (url, _db) in backends() {
        run_script(&engine, &url).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_blocking_on_a_multi_thread_runtime() {
    for (url, _db) in backends() {
        let engine = engine(Options::new());
        dbridge_rhai::spawn_blocking(move || run_script(&engine, &url))
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_refuses_to_block_itself() {
    let engine = engine(Options::new());
    for (url, _db) in backends() {
        let err = run_script(&engine, &url).unwrap_err();
        let e = db_error(&err).expect("a dbridge error");
        assert_eq!(e.kind(), "invalid_state");
        assert!(e.message().contains("spawn_blocking"), "{}", e.message());
    }
    // The runtime is not stalled: it still runs tasks.
    assert_eq!(tokio::spawn(async { 7 }).await.unwrap(), 7);
}

#[tokio::test(flavor = "current_thread")]
async fn current_thread_runs_scripts_through_spawn_blocking() {
    for (url, _db) in backends() {
        let engine = engine(Options::new());
        dbridge_rhai::spawn_blocking(move || run_script(&engine, &url))
            .await
            .unwrap()
            .unwrap();
    }
}

#[test]
fn many_threads_share_one_engine() {
    let engine = std::sync::Arc::new(engine(Options::new()));
    let (url, _db) = backends().pop().unwrap();
    let threads: Vec<_> = (0..4)
        .map(|i| {
            let engine = engine.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let mut scope = Scope::new();
                scope.push("url", url);
                scope.push("i", i as i64);
                engine
                    .eval_with_scope::<i64>(
                        &mut scope,
                        r#"
                        let db = dbridge::connect(url);
                        db.transaction(|tx| tx.fetch_one("SELECT $1::bigint * 2 AS n", [i]).n)
                    "#,
                    )
                    .unwrap()
            })
        })
        .collect();
    let got: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(got, [0, 2, 4, 6]);
}
