//! Per-call overhead of a point query made from Rhai, beside the same query
//! through the engine directly, on SQLite (in memory) and PostgreSQL.
//!
//! `cargo bench --bench rhai_call` (PostgreSQL at `DBRIDGE_TEST_PG_URL`).
//! Three ways of running `SELECT id, name FROM bench_rhai_users WHERE id = $1`:
//!
//! - `engine_async`: a loop of awaits inside one `block_on` (the async floor);
//! - `engine_blocking`: one `Handle::block_on` per call from a plain thread,
//!   which is how the Rhai binding waits;
//! - `rhai`: a Rhai `for` loop calling `db.fetch_one(sql, [id])` and reading a
//!   field of the row, on the same plain thread and runtime.
//!
//! The difference `rhai - engine_blocking` is what the binding adds per call
//! (argument and row conversion, Rhai dispatch, the loop's own operations).

use criterion::{Criterion, criterion_group, criterion_main};
use dbridge::engine::{Database, Value};
use dbridge_rhai::rhai::{AST, Engine, Scope};

const SQL: &str = "SELECT id, name FROM bench_rhai_users WHERE id = $1";
const ROWS: i64 = 1000;

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn setup(rt: &tokio::runtime::Runtime, url: &str) -> Database {
    rt.block_on(async {
        let db = Database::connect(url).await.expect("connect");
        db.execute("DROP TABLE IF EXISTS bench_rhai_users", &[])
            .await
            .expect("drop");
        db.execute(
            "CREATE TABLE bench_rhai_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
            &[],
        )
        .await
        .expect("create");
        db.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000) \
             INSERT INTO bench_rhai_users SELECT i, 'user ' || i FROM s",
            &[],
        )
        .await
        .expect("fill");
        db
    })
}

fn bench_backend(c: &mut Criterion, name: &str, url: &str) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = setup(&rt, url);

    let mut engine = Engine::new();
    let dbridge = dbridge_rhai::register(
        &mut engine,
        dbridge_rhai::Options::new().runtime(rt.handle().clone()),
    )
    .expect("register");
    let ast: AST = engine
        .compile(format!(
            r#"
            let total = 0;
            for i in 0..n {{
                let row = db.fetch_one("{SQL}", [i % {ROWS} + 1]);
                total += row.id;
            }}
            total
            "#
        ))
        .expect("compile");
    let script_db = dbridge.database(db.clone());

    let mut group = c.benchmark_group(format!("point_query/{name}"));
    group.bench_function("engine_async", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let started = std::time::Instant::now();
                for i in 0..iters {
                    let id = Value::Int8(i as i64 % ROWS + 1);
                    let row = db.fetch_one(SQL, &[id]).await.expect("query");
                    std::hint::black_box(row);
                }
                started.elapsed()
            })
        })
    });
    group.bench_function("engine_blocking", |b| {
        let handle = rt.handle().clone();
        b.iter_custom(|iters| {
            let started = std::time::Instant::now();
            for i in 0..iters {
                let id = Value::Int8(i as i64 % ROWS + 1);
                let row = handle.block_on(db.fetch_one(SQL, &[id])).expect("query");
                std::hint::black_box(row);
            }
            started.elapsed()
        })
    });
    group.bench_function("rhai", |b| {
        b.iter_custom(|iters| {
            let mut scope = Scope::new();
            scope.push("db", script_db.clone());
            scope.push("n", iters as i64);
            let started = std::time::Instant::now();
            let total: i64 = engine
                .eval_ast_with_scope(&mut scope, &ast)
                .expect("script");
            let elapsed = started.elapsed();
            std::hint::black_box(total);
            elapsed
        })
    });
    group.finish();
    drop(script_db);
    drop(engine);
    rt.block_on(async {
        let _ = db
            .execute("DROP TABLE IF EXISTS bench_rhai_users", &[])
            .await;
        db.close().await;
    });
}

fn point_query(c: &mut Criterion) {
    bench_backend(c, "sqlite", "sqlite::memory:");
    bench_backend(c, "postgres", &pg_url());
}

criterion_group!(benches, point_query);
criterion_main!(benches);
