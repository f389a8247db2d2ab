//! The Lua binding's costs: rows converted to Lua tables, and what a database
//! call from Lua adds over the same call through the engine.
//!
//! `cargo bench --bench lua_rows` (PostgreSQL parts use DBRIDGE_TEST_PG_URL,
//! default postgres://postgres@127.0.0.1:5432/test, and are skipped when it is
//! unreachable).
//!
//! Each benchmark runs twice: in wall time, and in CPU time of the benchmark's
//! own thread (`cpu/...`, Linux). Everything runs on a current-thread runtime,
//! so the CPU figures hold the binding's and the engine's work but neither the
//! database server's nor SQLite's worker thread: the difference between the
//! `engine` and `lua` lines is what the binding adds, and it stays readable on a
//! busy machine where wall times swing.

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::{Database, Row, Value};
use dbridge::lua::{InstallOptions, LuaDb, mlua::Function};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::ThreadCpu;

const ROWS: usize = 10_000;
const QUERIES: i64 = 100;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

async fn sample_rows(db: &Database) -> Vec<Row> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS lua_rows (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         email TEXT NOT NULL, score DOUBLE PRECISION NOT NULL, karma BIGINT, active BOOLEAN NOT NULL)",
        &[],
    )
    .await
    .expect("create");
    db.execute("DELETE FROM lua_rows", &[])
        .await
        .expect("clear");
    let mut tx = db.begin().await.expect("begin");
    for i in 0..ROWS as i64 {
        tx.execute(
            "INSERT INTO lua_rows VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                Value::Int8(i),
                format!("user {i}").into(),
                format!("user{i}@example.com").into(),
                Value::Float8(i as f64 / 3.0),
                if i % 5 == 0 {
                    Value::Null
                } else {
                    Value::Int8(i % 100)
                },
                Value::Bool(i % 2 == 0),
            ],
        )
        .await
        .expect("insert");
    }
    tx.commit().await.expect("commit");
    db.fetch_all("SELECT * FROM lua_rows ORDER BY id", &[])
        .await
        .expect("fetch")
}

fn rows_to_tables<M: Measurement>(c: &mut Criterion<M>, label: &str) {
    let rt = runtime();
    let rows = rt.block_on(async {
        let db = Database::connect("sqlite::memory:").await.expect("sqlite");
        sample_rows(&db).await
    });
    let lua = dbridge::lua::new_lua(InstallOptions::new()).expect("lua");
    let mut g = c.benchmark_group(format!("{label}lua_rows"));
    g.throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("rows_to_lua_6_columns", |b| {
        b.iter(|| {
            let t = dbridge::lua::rows_to_lua(&lua, &rows).expect("convert");
            drop(t);
        });
    });
    g.finish();
}

async fn point_query_setup(
    url: &str,
) -> Option<(Database, dbridge::lua::mlua::Lua, Function, Function)> {
    let db = Database::connect(url).await.ok()?;
    sample_rows(&db).await;
    let lua = dbridge::lua::new_lua(InstallOptions::new()).expect("lua");
    lua.globals().set("db", LuaDb::new(db.clone())).expect("db");
    let one: Function = lua
        .load("return function(id) return db:fetch_one('SELECT id, name FROM lua_rows WHERE id = $1', { id }) end")
        .eval()
        .expect("one");
    let many: Function = lua
        .load(
            "return function(n)
                 for id = 1, n do db:fetch_one('SELECT id, name FROM lua_rows WHERE id = $1', { id }) end
             end",
        )
        .eval()
        .expect("many");
    Some((db, lua, one, many))
}

fn point_queries<M: Measurement>(c: &mut Criterion<M>, label: &str) {
    let rt = runtime();
    let pg = std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    for (backend, url) in [("sqlite", "sqlite::memory:".to_string()), ("postgres", pg)] {
        let Some((db, lua, one, many)) = rt.block_on(point_query_setup(&url)) else {
            eprintln!("lua_rows: {backend} unreachable, point-query benchmarks skipped");
            continue;
        };
        let mut g = c.benchmark_group(format!("{label}point_query_{backend}"));
        g.bench_function(BenchmarkId::new("engine", 1), |b| {
            b.to_async(&rt).iter(|| async {
                db.fetch_one(
                    "SELECT id, name FROM lua_rows WHERE id = $1",
                    &[Value::Int8(7)],
                )
                .await
                .expect("query")
            });
        });
        g.bench_function(BenchmarkId::new("lua_call", 1), |b| {
            b.to_async(&rt).iter(|| async {
                dbridge::lua::call::<dbridge::lua::mlua::Table>(&lua, &one, 7)
                    .await
                    .expect("query")
            });
        });
        g.throughput(Throughput::Elements(QUERIES as u64));
        g.bench_function(BenchmarkId::new("engine", QUERIES), |b| {
            b.to_async(&rt).iter(|| async {
                for id in 1..=QUERIES {
                    db.fetch_one(
                        "SELECT id, name FROM lua_rows WHERE id = $1",
                        &[Value::Int8(id)],
                    )
                    .await
                    .expect("query");
                }
            });
        });
        g.bench_function(BenchmarkId::new("lua_loop", QUERIES), |b| {
            b.to_async(&rt).iter(|| async {
                dbridge::lua::call::<()>(&lua, &many, QUERIES)
                    .await
                    .expect("queries")
            });
        });
        g.finish();
        rt.block_on(async {
            let _ = db.execute("DROP TABLE lua_rows", &[]).await;
            db.close().await;
        });
    }
}

fn wall(c: &mut Criterion) {
    rows_to_tables(c, "");
    point_queries(c, "");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    rows_to_tables(c, "cpu/");
    point_queries(c, "cpu/");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
