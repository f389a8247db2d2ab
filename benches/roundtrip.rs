//! Round trip of `SELECT 1` and of a single-row insert through the engine,
//! beside the same done with bare sqlx, on SQLite and PostgreSQL.
//!
//! `cargo bench --bench roundtrip` (PostgreSQL at `DBRIDGE_TEST_PG_URL`, default
//! the local server's `test` database). The engine should add under 10% on
//! PostgreSQL. Each side is timed while the other runs between its iterations,
//! so both see the same load.

use criterion::{Criterion, criterion_group, criterion_main};
use dbridge::engine::{Database, Value};
use sqlx::Executor;

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Times `timed` while running `other` between its iterations, untimed, so that
/// both sides of a comparison run under the same load on a noisy machine.
fn interleaved<T, O, FT, FO, ET, EO>(
    b: &mut criterion::Bencher<'_>,
    rt: &tokio::runtime::Runtime,
    timed: T,
    other: O,
) where
    T: Fn() -> FT,
    O: Fn() -> FO,
    FT: std::future::Future<Output = Result<(), ET>>,
    FO: std::future::Future<Output = Result<(), EO>>,
    ET: std::fmt::Debug,
    EO: std::fmt::Debug,
{
    b.iter_custom(|iters| {
        rt.block_on(async {
            let mut total = std::time::Duration::ZERO;
            for _ in 0..iters {
                let started = std::time::Instant::now();
                timed().await.expect("timed call");
                total += started.elapsed();
                other().await.expect("interleaved call");
            }
            total
        })
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn postgres(c: &mut Criterion) {
    let rt = runtime();
    // A table of this process's own, so that runs never collide.
    let table = format!("bench_rt_{}", std::process::id());
    let insert = format!("INSERT INTO {table} (name, n) VALUES ($1, $2)");
    let (db, pool) = rt.block_on(async {
        let db = Database::connect(&pg_url()).await.expect("connect engine");
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .test_before_acquire(false)
            .connect(&pg_url())
            .await
            .expect("connect sqlx");
        db.execute(&format!("DROP TABLE IF EXISTS {table}"), &[]).await.expect("drop");
        db.execute(&format!("CREATE UNLOGGED TABLE {table} (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, n INT8 NOT NULL)"), &[])
            .await
            .expect("create");
        (db, pool)
    });
    let mut g = c.benchmark_group("postgres");
    let engine_select = || async { db.fetch_one("SELECT 1", &[]).await.map(drop) };
    let sqlx_select = || async { pool.fetch_one("SELECT 1").await.map(drop) };
    let engine_insert = || async {
        db.execute(&insert, &[Value::from("ada"), Value::Int8(42)])
            .await
            .map(drop)
    };
    let sqlx_insert = || async {
        sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
            .bind("ada")
            .bind(42_i64)
            .execute(&pool)
            .await
            .map(drop)
    };
    g.bench_function("select_1/engine", |b| {
        interleaved(b, &rt, engine_select, sqlx_select)
    });
    g.bench_function("select_1/sqlx", |b| {
        interleaved(b, &rt, sqlx_select, engine_select)
    });
    g.bench_function("insert/engine", |b| {
        interleaved(b, &rt, engine_insert, sqlx_insert)
    });
    g.bench_function("insert/sqlx", |b| {
        interleaved(b, &rt, sqlx_insert, engine_insert)
    });
    g.finish();
    rt.block_on(async {
        let _ = db
            .execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
            .await;
    });
}

fn sqlite(c: &mut Criterion) {
    let rt = runtime();
    let table = "bench_rt";
    let insert = format!("INSERT INTO {table} (name, n) VALUES ($1, $2)");
    let dir = std::env::temp_dir().join(format!("dbridge-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let engine_url = format!("sqlite://{}", dir.join("engine.db").display());
    let sqlx_url = format!("sqlite://{}?mode=rwc", dir.join("sqlx.db").display());
    let (db, pool) = rt.block_on(async {
        let db = Database::connect(&engine_url).await.expect("connect engine");
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .connect_with(
                sqlx_url.parse::<sqlx::sqlite::SqliteConnectOptions>().expect("url")
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal),
            )
            .await
            .expect("connect sqlx");
        let ddl = format!("CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n BIGINT NOT NULL)");
        db.execute(&ddl, &[]).await.expect("create");
        pool.execute(sqlx::AssertSqlSafe(ddl)).await.expect("create");
        (db, pool)
    });
    let mut g = c.benchmark_group("sqlite");
    let engine_select = || async { db.fetch_one("SELECT 1", &[]).await.map(drop) };
    let sqlx_select = || async { pool.fetch_one("SELECT 1").await.map(drop) };
    let engine_insert = || async {
        db.execute(&insert, &[Value::from("ada"), Value::Int8(42)])
            .await
            .map(drop)
    };
    let sqlx_insert = || async {
        sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
            .bind("ada")
            .bind(42_i64)
            .execute(&pool)
            .await
            .map(drop)
    };
    g.bench_function("select_1/engine", |b| {
        interleaved(b, &rt, engine_select, sqlx_select)
    });
    g.bench_function("select_1/sqlx", |b| {
        interleaved(b, &rt, sqlx_select, engine_select)
    });
    g.bench_function("insert/engine", |b| {
        interleaved(b, &rt, engine_insert, sqlx_insert)
    });
    g.bench_function("insert/sqlx", |b| {
        interleaved(b, &rt, sqlx_insert, engine_insert)
    });
    g.finish();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group!(benches, postgres, sqlite);
criterion_main!(benches);
