//! Core layer benchmarks:
//! - compiling a typical select (3 joins, 5 predicates, ORDER BY, LIMIT);
//! - inserting 100k rows x 5 columns on PostgreSQL through dbridge (UNNEST bulk
//!   path) against `COPY FROM STDIN` of the same rows through sqlx.
//!
//! `cargo bench --bench compile -- --quick`; PostgreSQL at `DBRIDGE_TEST_PG_URL`
//! (default `postgres://postgres@127.0.0.1:5432/test`). The insert benchmarks are
//! skipped with a message when the server cannot be reached.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::dialect::Compile;
use dbridge::engine::query::{Expr, Insert, Run, Select, func};
use dbridge::engine::schema::{Column, Metadata, Model};
use dbridge::engine::{Backend, Database, SqlType, Value};
use sqlx::Connection;

const ROWS: usize = 100_000;

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

fn schema() -> (Model, Model, Model, Model) {
    let meta = Metadata::new();
    let user = meta
        .add(
            Model::builder("User")
                .table("users")
                .column(Column::new("id", SqlType::Int8).primary_key())
                .column(Column::new("name", "text"))
                .column(Column::new("karma", "integer"))
                .column(Column::new("active", "boolean"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let post = meta
        .add(
            Model::builder("Post")
                .table("posts")
                .column(Column::new("id", SqlType::Int8).primary_key())
                .column(Column::new("author_id", SqlType::Int8).references("users", "id"))
                .column(Column::new("title", "text"))
                .column(Column::new("created_at", "timestamptz"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let comment = meta
        .add(
            Model::builder("Comment")
                .table("comments")
                .column(Column::new("id", SqlType::Int8).primary_key())
                .column(Column::new("post_id", SqlType::Int8).references("posts", "id"))
                .column(Column::new("body", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    let tag = meta
        .add(
            Model::builder("Tag")
                .table("tags")
                .column(Column::new("id", SqlType::Int8).primary_key())
                .column(Column::new("post_id", SqlType::Int8).references("posts", "id"))
                .column(Column::new("name", "text"))
                .build()
                .unwrap(),
        )
        .unwrap();
    (user, post, comment, tag)
}

fn typical_select((u, p, c, t): &(Model, Model, Model, Model)) -> Select {
    Select::from(u)
        .column(u.col("id").unwrap())
        .column(u.col("name").unwrap())
        .column(p.col("title").unwrap())
        .column(func::count(c.col("id").unwrap()).label("comments").unwrap())
        .join(p, p.col("author_id").unwrap().eq(u.col("id").unwrap()))
        .left_join(c, c.col("post_id").unwrap().eq(p.col("id").unwrap()))
        .join(t, t.col("post_id").unwrap().eq(p.col("id").unwrap()))
        .filter(u.col("karma").unwrap().gt(10))
        .filter(u.col("active").unwrap().eq(true))
        .filter(u.col("name").unwrap().like("A%"))
        .filter(t.col("name").unwrap().in_list(["rust", "sql", "lua"]))
        .filter(p.col("created_at").unwrap().is_not_null())
        .group_by([
            u.col("id").unwrap(),
            u.col("name").unwrap(),
            p.col("title").unwrap(),
        ])
        .order_by(u.col("karma").unwrap().desc())
        .limit(20)
}

fn bench_compile(c: &mut Criterion) {
    let models = schema();
    let q = typical_select(&models);
    let mut g = c.benchmark_group("compile");
    g.bench_function("select_3_joins_5_predicates/postgres", |b| {
        b.iter(|| black_box(q.compile_for(Backend::Postgres).unwrap()))
    });
    g.bench_function("select_3_joins_5_predicates/sqlite", |b| {
        b.iter(|| black_box(q.compile_for(Backend::Sqlite).unwrap()))
    });
    g.bench_function("select_3_joins_5_predicates/build_and_compile", |b| {
        b.iter(|| {
            black_box(
                typical_select(&models)
                    .compile_for(Backend::Postgres)
                    .unwrap(),
            )
        })
    });
    g.finish();
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    db: Database,
    table: String,
    model: Model,
    rows: Vec<(i64, String, f64, bool, chrono::DateTime<chrono::Utc>)>,
}

fn fixture() -> Option<Fixture> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let db = match rt.block_on(Database::connect(&pg_url())) {
        Ok(db) => db,
        Err(e) => {
            eprintln!("skipping the bulk insert benchmarks: {e}");
            return None;
        }
    };
    let table = format!("bench_bulk_{}", std::process::id());
    let meta = Metadata::new();
    let model = meta
        .add(
            Model::builder("Bulk")
                .table(table.as_str())
                .column(Column::new("id", SqlType::Int8))
                .column(Column::new("name", "text"))
                .column(Column::new("score", "double precision"))
                .column(Column::new("active", "boolean"))
                .column(Column::new("created_at", "timestamptz"))
                .build()
                .unwrap(),
        )
        .unwrap();
    rt.block_on(meta.create_all(&db)).unwrap();
    let base = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
    let rows = (0..ROWS as i64)
        .map(|i| {
            (
                i,
                format!("name {i}"),
                i as f64 * 0.5,
                i % 3 == 0,
                base + chrono::Duration::seconds(i),
            )
        })
        .collect();
    Some(Fixture {
        rt,
        db,
        table,
        model,
        rows,
    })
}

fn bench_bulk(c: &mut Criterion) {
    let Some(f) = fixture() else { return };
    let mut g = c.benchmark_group("insert_100k_rows_5_columns_postgres");
    g.throughput(Throughput::Elements(ROWS as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));
    let truncate = format!("TRUNCATE \"{}\"", f.table);

    // dbridge: values -> Insert, through binary COPY (the default past the
    // bulk threshold), UNNEST of one array per column (COPY off) and multi-row
    // VALUES batches under the parameter limit (both off).
    type Configure = fn(Insert) -> Insert;
    let variants: [(&str, Configure); 3] = [
        ("dbridge_insert_copy", |i| i),
        ("dbridge_insert_unnest", |i| i.copy(false)),
        ("dbridge_insert_values_batches", |i| {
            i.copy(false).bulk_threshold(usize::MAX)
        }),
    ];
    for (name, configure) in variants {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    f.rt.block_on(f.db.execute(&truncate, &[])).unwrap();
                    let start = Instant::now();
                    let rows = f.rows.iter().map(|(i, n, s, a, t)| {
                        vec![
                            Value::Int8(*i),
                            Value::Text(n.clone()),
                            Value::Float8(*s),
                            Value::Bool(*a),
                            Value::from(*t),
                        ]
                    });
                    let ins = Insert::into(&f.model)
                        .columns(["id", "name", "score", "active", "created_at"])
                        .unwrap()
                        .rows(rows)
                        .unwrap();
                    let n = f.rt.block_on(configure(ins).execute(&f.db)).unwrap();
                    total += start.elapsed();
                    assert_eq!(n, ROWS as u64);
                }
                total
            })
        });
    }

    // The floor: COPY FROM STDIN (text format) of the same rows through sqlx.
    let copy = format!(
        "COPY \"{}\" (id, name, score, active, created_at) FROM STDIN",
        f.table
    );
    let mut conn =
        f.rt.block_on(sqlx::PgConnection::connect(&pg_url()))
            .unwrap();
    g.bench_function("copy_from_stdin", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                f.rt.block_on(f.db.execute(&truncate, &[])).unwrap();
                let start = Instant::now();
                let n = f.rt.block_on(async {
                    use std::fmt::Write as _;
                    let mut buf = String::with_capacity(ROWS * 64);
                    for (i, n, s, a, t) in &f.rows {
                        let _ = writeln!(
                            buf,
                            "{i}\t{n}\t{s}\t{}\t{}",
                            if *a { 't' } else { 'f' },
                            t.format("%Y-%m-%d %H:%M:%S%.f+00")
                        );
                    }
                    let mut copy_in = conn.copy_in_raw(&copy).await.unwrap();
                    copy_in.send(buf.into_bytes()).await.unwrap();
                    copy_in.finish().await.unwrap()
                });
                total += start.elapsed();
                assert_eq!(n, ROWS as u64);
            }
            total
        })
    });
    g.finish();
    let _ =
        f.rt.block_on(f.db.execute(&format!("DROP TABLE IF EXISTS \"{}\"", f.table), &[]));
    let _ = Expr::null();
}

criterion_group!(benches, bench_compile, bench_bulk);
criterion_main!(benches);
