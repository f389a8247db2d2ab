//! The ORM session: an identity-map hit, one insert + commit against raw sqlx's
//! BEGIN / INSERT RETURNING / COMMIT, and a flush of 10k new instances.
//!
//! `cargo bench --bench session` (PostgreSQL at `DBRIDGE_TEST_PG_URL`, default
//! the local server's `test` database, with `synchronous_commit=off` as in the
//! reference workloads W1 / W2). Anchors measured on this machine (see
//! ../shared/NOTES.md): raw sqlx W1 267 µs, SeaORM 462 µs, SQLAlchemy 737 µs;
//! W2 SeaORM insert_many 225k rows/s, SQLAlchemy add_all + commit 10.9k rows/s.

use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::schema::{Column, Metadata, Model};
use dbridge::engine::session::{Instance, Session};
use dbridge::engine::{Database, SqlType, Value};

fn pg_url() -> String {
    let url = std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20synchronous_commit%3Doff")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
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

fn identity_map(c: &mut Criterion) {
    let rt = runtime();
    let user = model("bench_users");
    let meta = Metadata::new();
    meta.add(user.clone()).expect("register");
    let (db, mut s, id) = rt.block_on(async {
        let db = Database::connect("sqlite::memory:").await.expect("connect");
        meta.create_all(&db).await.expect("create");
        let mut s = Session::new(&db);
        let u = s
            .add(
                Instance::with_values(&user, [("name", Value::from("ada")), ("n", Value::Int8(1))])
                    .expect("instance"),
            )
            .expect("add");
        s.commit().await.expect("commit");
        let id = u.get("id").expect("id");
        (db, s, id)
    });
    let mut g = c.benchmark_group("identity_map");
    g.bench_function("hit/identity", |b| {
        b.iter(|| s.identity(&user, id.clone()).expect("lookup").expect("hit"))
    });
    g.bench_function("session_new", |b| b.iter(|| Session::new(&db)));
    g.bench_function("hit/get", |b| {
        b.iter(|| {
            // A hit never waits: one poll completes it (no runtime overhead timed).
            futures_util::FutureExt::now_or_never(s.get(&user, id.clone()))
                .expect("a hit completes at once")
                .expect("get")
                .expect("hit")
        })
    });
    g.finish();
    drop(db);
}

fn postgres(c: &mut Criterion) {
    let rt = runtime();
    let table = format!("bench_session_{}", std::process::id());
    let user = model(&table);
    let meta = Metadata::new();
    meta.add(user.clone()).expect("register");
    let insert =
        format!("INSERT INTO \"{table}\" (\"name\", \"n\") VALUES ($1, $2) RETURNING \"id\"");
    let (db, pool) = rt.block_on(async {
        let db = Database::connect(&pg_url()).await.expect("connect engine");
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(10)
            .test_before_acquire(false)
            .connect(&pg_url())
            .await
            .expect("connect sqlx");
        meta.create_all(&db).await.expect("create");
        (db, pool)
    });
    let session_insert = || async {
        let mut s = Session::new(&db);
        s.add(Instance::with_values(
            &user,
            [("name", Value::from("ada")), ("n", Value::Int8(42))],
        )?)?;
        s.commit().await
    };
    let sqlx_insert = || async {
        let mut tx = pool.begin().await?;
        let row: (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(insert.as_str()))
            .bind("ada")
            .bind(42_i64)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<_, sqlx::Error>(row)
    };
    let engine_tx = || async {
        let mut tx = db.begin().await?;
        let rows = tx
            .fetch_all(&insert, &[Value::from("ada"), Value::Int8(42)])
            .await?;
        tx.commit().await?;
        Ok::<_, dbridge::engine::Error>(rows)
    };
    let mut g = c.benchmark_group("postgres");
    g.sample_size(30).measurement_time(Duration::from_secs(5));
    // Interleaved: each side timed while the other runs between its iterations.
    g.bench_function("insert_commit/session", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    session_insert().await.expect("session");
                    total += t.elapsed();
                    sqlx_insert().await.expect("sqlx");
                }
                total
            })
        })
    });
    g.bench_function("insert_commit/engine_tx", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    engine_tx().await.expect("engine");
                    total += t.elapsed();
                    sqlx_insert().await.expect("sqlx");
                }
                total
            })
        })
    });
    g.bench_function("insert_commit/sqlx", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    sqlx_insert().await.expect("sqlx");
                    total += t.elapsed();
                    session_insert().await.expect("session");
                }
                total
            })
        })
    });
    g.finish();

    const ROWS: usize = 10_000;
    let mut g = c.benchmark_group("flush_10k");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(ROWS as u64));
    g.bench_function("session_add_all_commit", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let mut s = Session::new(&db);
                    let rows = (0..ROWS).map(|i| {
                        Instance::with_values(
                            &user,
                            [
                                ("name", Value::from(format!("user {i}"))),
                                ("n", Value::Int8(i as i64)),
                            ],
                        )
                        .expect("instance")
                    });
                    s.add_all(rows).expect("add");
                    s.commit().await.expect("commit");
                    total += t.elapsed();
                }
                total
            })
        })
    });
    g.bench_function("core_insert_returning", |b| {
        // The Core insert the session emits, without instances: the engine's share.
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let ins =
                        dbridge::engine::query::Insert::into(&user)
                            .columns(["name", "n"])
                            .expect("columns")
                            .rows((0..ROWS).map(|i| {
                                vec![Value::from(format!("user {i}")), Value::Int8(i as i64)]
                            }))
                            .expect("rows")
                            .returning([user.col("id").expect("id")]);
                    let mut tx = db.begin().await.expect("begin");
                    let ids = dbridge::engine::query::Run::fetch_all(&ins, &mut tx)
                        .await
                        .expect("insert");
                    tx.commit().await.expect("commit");
                    assert_eq!(ids.len(), ROWS);
                    total += t.elapsed();
                }
                total
            })
        })
    });
    g.bench_function("sqlx_unnest_returning", |b| {
        let sql = format!(
            "INSERT INTO \"{table}\" (\"name\", \"n\") SELECT * FROM UNNEST($1::text[], $2::int8[]) RETURNING \"id\""
        );
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let names: Vec<String> = (0..ROWS).map(|i| format!("user {i}")).collect();
                    let ns: Vec<i64> = (0..ROWS as i64).collect();
                    let mut tx = pool.begin().await.expect("begin");
                    let ids: Vec<(i64,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                        .bind(names)
                        .bind(ns)
                        .fetch_all(&mut *tx)
                        .await
                        .expect("insert");
                    tx.commit().await.expect("commit");
                    assert_eq!(ids.len(), ROWS);
                    total += t.elapsed();
                }
                total
            })
        })
    });
    g.finish();
    rt.block_on(async {
        let _ = meta.drop_all(&db).await;
    });
}

criterion_group!(benches, identity_map, postgres);
criterion_main!(benches);
