//! 10,000 new instances added to one session and committed, from Rhai and
//! through the engine's Rust API, on SQLite (in memory).
//!
//! `cargo bench --bench rhai_session`. Each iteration inserts 10k rows in one
//! session and commits (one multi-row INSERT ... RETURNING); the table is
//! emptied between iterations, untimed. The ratio `rhai / rust` is what the
//! binding costs for this workload: building each instance from a Rhai map
//! (`User.build(#{...})`), `s.add`, and the Rhai loop itself.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::schema::{Column, Model};
use dbridge::engine::session::{Instance, Session};
use dbridge::engine::{Database, SqlType, Value};
use dbridge_rhai::rhai::{AST, Dynamic, Engine, Scope};

const N: i64 = 10_000;

const DECLARE: &str = r#"
    let User = db.model(#{ name: "BenchUser", table: "bench_rhai_session", columns: [
        ["id", "bigint", #{ primary_key: true }],
        ["name", "text", #{ nullable: false }],
        ["n", "bigint", #{ nullable: false }],
    ] });
    db.create_all();
    User
"#;

const INSERT: &str = r#"
    let s = db.session();
    for i in 0..n {
        s.add(User.build(#{ name: "user", n: i }));
    }
    s.commit();
"#;

fn model() -> Model {
    Model::builder("BenchUser")
        .table("bench_rhai_session")
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("name", "text").not_null())
        .column(Column::new("n", SqlType::Int8).not_null())
        .build()
        .expect("model")
}

fn empty(rt: &tokio::runtime::Runtime, db: &Database) {
    rt.block_on(db.execute("DELETE FROM bench_rhai_session", &[]))
        .expect("empty the table");
}

fn insert_10k(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt
        .block_on(Database::connect("sqlite::memory:"))
        .expect("connect");
    let mut engine = Engine::new();
    let dbridge = dbridge_rhai::register(
        &mut engine,
        dbridge_rhai::Options::new().runtime(rt.handle().clone()),
    )
    .expect("register");
    let script_db = dbridge.database(db.clone());
    let mut scope = Scope::new();
    scope.push("db", script_db.clone());
    scope.push("n", N);
    let user_model: Dynamic = engine
        .eval_with_scope(&mut scope, DECLARE)
        .expect("declare");
    scope.push("User", user_model);
    let ast: AST = engine.compile(INSERT).expect("compile");
    let user = model();

    let mut group = c.benchmark_group("session_insert_10k/sqlite");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("rust", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                rt.block_on(async {
                    let mut s = Session::new(&db);
                    for i in 0..N {
                        s.add(Instance::with_values(
                            &user,
                            [("name", Value::from("user")), ("n", Value::Int8(i))],
                        )?)?;
                    }
                    s.commit().await
                })
                .expect("insert");
                total += started.elapsed();
                empty(&rt, &db);
            }
            total
        })
    });
    group.bench_function("rhai", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let started = Instant::now();
                engine.run_ast_with_scope(&mut scope, &ast).expect("script");
                total += started.elapsed();
                empty(&rt, &db);
            }
            total
        })
    });
    group.finish();
    drop(scope);
    drop(script_db);
    rt.block_on(db.close());
}

criterion_group!(benches, insert_10k);
criterion_main!(benches);
