//! 10,000 new instances added to one session and committed: from Lua
//! (`s:add(User{...})` in a loop, then `s:commit()`) against the same through
//! the engine's Rust API. The difference is what the Lua binding adds per
//! instance (the target is Lua within 1.5x of Rust).
//!
//! `cargo bench --bench lua_session` (SQLite in memory; PostgreSQL at
//! DBRIDGE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test,
//! skipped when unreachable).
//!
//! Each benchmark runs twice: in wall time, and in CPU time of the benchmark's
//! own thread (`cpu/...`, Linux). Everything runs on a current-thread runtime,
//! so the CPU figures hold the binding's and the engine's work but neither the
//! database server's nor SQLite's worker thread: their Lua/Rust ratio stays
//! readable on a busy machine where wall times swing.

use std::time::Duration;

use criterion::measurement::{Measurement, WallTime};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::schema::{Column, Model};
use dbridge::engine::session::{Instance, Session};
use dbridge::engine::{Database, SqlType, Value};
use dbridge::lua::mlua::{Function, Lua};
use dbridge::lua::{InstallOptions, LuaDb};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::ThreadCpu;

const ROWS: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The Lua state with the model declared (and its table created) and the
/// function that runs one batch.
async fn lua_setup(db: &Database, table: &str) -> (Lua, Function) {
    let lua = dbridge::lua::new_lua(InstallOptions::new()).expect("lua");
    lua.globals().set("db", LuaDb::new(db.clone())).expect("db");
    lua.globals().set("TABLE", table).expect("table");
    dbridge::lua::exec(
        &lua,
        r#"
User = db:model {
  name = "BenchUser", table = TABLE,
  columns = {
    { "id", "bigint", primary_key = true },
    { "name", "text", nullable = false },
    { "n", "bigint", nullable = false },
  },
}
db:create_all()
"#,
        "=setup",
    )
    .await
    .expect("setup");
    let batch: Function = lua
        .load(
            r#"return function(rows)
                 local s = db:session()
                 for i = 1, rows do s:add(User { name = "user " .. i, n = i }) end
                 s:commit()
               end"#,
        )
        .eval()
        .expect("batch");
    (lua, batch)
}

fn model(table: &str) -> Model {
    Model::builder("BenchUser")
        .table(table)
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("name", "text").not_null())
        .column(Column::new("n", SqlType::Int8).not_null())
        .build()
        .expect("model")
}

async fn rust_batch(db: &Database, user: &Model) {
    let mut s = Session::new(db);
    for i in 0..ROWS {
        let inst = Instance::with_values(
            user,
            [
                ("name", Value::from(format!("user {}", i + 1))),
                ("n", Value::Int8(i as i64 + 1)),
            ],
        )
        .expect("instance");
        s.add(inst).expect("add");
    }
    s.commit().await.expect("commit");
}

/// Runs `batch` `iters` times, measured with `clock`, clearing the table
/// after each run (outside the measurement).
async fn timed<M: Measurement, F: std::future::Future<Output = ()>>(
    clock: &M,
    iters: u64,
    db: &Database,
    clear: &str,
    mut batch: impl FnMut() -> F,
) -> M::Value {
    let mut total = clock.zero();
    for _ in 0..iters {
        let t = clock.start();
        batch().await;
        total = clock.add(&total, &clock.end(t));
        db.execute(clear, &[]).await.expect("clear");
    }
    total
}

fn insert_10k<M: Measurement>(c: &mut Criterion<M>, label: &str, clock: fn() -> M) {
    let rt = runtime();
    let pg = std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let table = format!("bench_lua_session_{}", std::process::id());
    for (backend, url) in [("sqlite", "sqlite::memory:".to_string()), ("postgres", pg)] {
        let Ok(db) = rt.block_on(Database::connect(&url)) else {
            eprintln!("lua_session: {backend} unreachable, skipped");
            continue;
        };
        let (lua, batch) = rt.block_on(lua_setup(&db, &table));
        let user = model(&table);
        let clear = format!("DELETE FROM \"{table}\"");
        let m = clock();
        let mut g = c.benchmark_group(format!("{label}session_insert_10k_{backend}"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(10))
            .throughput(Throughput::Elements(ROWS as u64));
        g.bench_function("rust", |b| {
            b.iter_custom(|iters| {
                rt.block_on(timed(&m, iters, &db, &clear, || rust_batch(&db, &user)))
            })
        });
        g.bench_function("lua", |b| {
            b.iter_custom(|iters| {
                rt.block_on(timed(&m, iters, &db, &clear, || async {
                    dbridge::lua::call::<()>(&lua, &batch, ROWS as i64)
                        .await
                        .expect("lua batch")
                }))
            })
        });
        g.finish();
        rt.block_on(async {
            let _ = db.execute(&format!("DROP TABLE \"{table}\""), &[]).await;
            db.close().await;
        });
    }
}

fn wall(c: &mut Criterion) {
    insert_10k(c, "", || WallTime);
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    insert_10k(c, "cpu/", || ThreadCpu(WallTime));
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
