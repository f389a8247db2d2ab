//! 10,000 new instances added to one session and committed: from Lua
//! (`s:add(User{...})` in a loop, then `s:commit()`) against the same through
//! the engine's Rust API. The difference is what the Lua binding adds per
//! instance (the target is Lua within 1.5x of Rust).
//!
//! `cargo bench --bench lua_session` (SQLite in memory; PostgreSQL at
//! DBRIDGE_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test,
//! skipped when unreachable).

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::schema::{Column, Model};
use dbridge::engine::session::{Instance, Session};
use dbridge::engine::{Database, SqlType, Value};
use dbridge::lua::mlua::{Function, Lua};
use dbridge::lua::{InstallOptions, LuaDb};

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

fn insert_10k(c: &mut Criterion) {
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
        let mut g = c.benchmark_group(format!("session_insert_10k_{backend}"));
        g.sample_size(10)
            .measurement_time(Duration::from_secs(10))
            .throughput(Throughput::Elements(ROWS as u64));
        g.bench_function("rust", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        rust_batch(&db, &user).await;
                        total += t.elapsed();
                        db.execute(&clear, &[]).await.expect("clear");
                    }
                    total
                })
            })
        });
        g.bench_function("lua", |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        dbridge::lua::call::<()>(&lua, &batch, ROWS as i64)
                            .await
                            .expect("lua batch");
                        total += t.elapsed();
                        db.execute(&clear, &[]).await.expect("clear");
                    }
                    total
                })
            })
        });
        g.finish();
        rt.block_on(async {
            let _ = db.execute(&format!("DROP TABLE \"{table}\""), &[]).await;
            db.close().await;
        });
    }
}

criterion_group!(benches, insert_10k);
criterion_main!(benches);
