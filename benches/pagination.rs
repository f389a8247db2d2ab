//! Keyset against offset pagination on a 1,000,000-row table: page 1 and
//! page 1,000 (50 rows a page) ordered by an indexed `score` with the primary
//! key as the tiebreaker, on PostgreSQL and SQLite. Keyset page 1,000 should
//! cost what page 1 costs; offset page 1,000 reads and drops 49,950 rows first.
//!
//! `cargo bench --bench pagination` (PostgreSQL at `DBRIDGE_TEST_PG_URL`,
//! default the local server's `test` database; SQLite in memory). Figures in
//! docs/performance.md.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dbridge::engine::query::{CursorKey, Insert, Keyset, PageRequest, Run, Select};
use dbridge::engine::schema::{Column, Index, Metadata, Model};
use dbridge::engine::{Backend, Database, SqlType, Value};

const ROWS: i64 = 1_000_000;
const LIMIT: u64 = 50;
const PAGE: u64 = 1_000;

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn model() -> (Metadata, Model) {
    let m = Model::builder("BenchItem")
        .table(format!("bench_items_{}", std::process::id()))
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("score", SqlType::Int8).not_null())
        .column(Column::new("name", "text").not_null())
        .index(Index::new(["score", "id"]))
        .build()
        .expect("model");
    let meta = Metadata::new();
    meta.add(m.clone()).expect("register");
    (meta, m)
}

async fn seed(db: &Database, m: &Model) {
    let chunk = 100_000;
    for start in (0..ROWS).step_by(chunk) {
        let rows = (start..start + chunk as i64).map(|i| {
            // Scores repeat (ties for the tiebreaker) and do not follow ids.
            vec![
                Value::from(i + 1),
                Value::from((i * 7919) % 250_000),
                Value::from(format!("item {i}")),
            ]
        });
        Insert::into(m)
            .columns(["id", "score", "name"])
            .and_then(|i| i.rows(rows))
            .expect("rows")
            .execute(db)
            .await
            .expect("insert");
    }
    let analyze = match db.backend() {
        Backend::Postgres => format!("VACUUM ANALYZE {}", m.table()),
        Backend::Sqlite => "ANALYZE".to_string(),
    };
    db.execute(&analyze, &[]).await.expect("analyze");
}

fn query(m: &Model) -> Select {
    Select::from(m)
        .columns(m.all_columns())
        .order_by(m.col("score").expect("score"))
}

/// The cursor of the last row of page `page - 1` (what a client would hold).
async fn cursor_before(db: &Database, m: &Model, key: &CursorKey, page: u64) -> Option<String> {
    if page == 1 {
        return None;
    }
    let q = query(m).order_by(m.col("id").expect("id"));
    let row = q
        .offset((page - 1) * LIMIT - 1)
        .limit(1)
        .fetch_one(db)
        .await
        .expect("row");
    let values = vec![row.values()[1].clone(), row.values()[0].clone()];
    let one = PageRequest {
        limit: 1,
        ..Default::default()
    };
    let plan = Keyset::plan(&query(m), &one, key).expect("plan");
    plan.finish(vec![(), ()], |_| Ok(values.clone()))
        .expect("page")
        .next
}

async fn keyset_page(db: &Database, m: &Model, key: &CursorKey, after: Option<String>) -> usize {
    let req = PageRequest {
        after,
        limit: LIMIT,
        ..Default::default()
    };
    let plan = Keyset::plan(&query(m), &req, key).expect("plan");
    let at = plan.row_positions().expect("key");
    let rows = plan.select().fetch_all(db).await.expect("page");
    let page = plan
        .finish(rows, |r| {
            Ok(at.iter().map(|&i| r.values()[i].clone()).collect())
        })
        .expect("finish");
    page.items.len()
}

async fn offset_page(db: &Database, m: &Model, page: u64) -> usize {
    let q = query(m)
        .order_by(m.col("id").expect("id"))
        .limit(LIMIT)
        .offset((page - 1) * LIMIT);
    q.fetch_all(db).await.expect("page").len()
}

fn bench_backend(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, db: Database) {
    let (meta, m) = model();
    rt.block_on(async {
        meta.drop_all(&db).await.expect("drop");
        meta.create_all(&db).await.expect("create");
        seed(&db, &m).await;
    });
    let key = CursorKey::process();
    let mut g = c.benchmark_group(format!("pagination_1m_rows_{name}"));
    g.sample_size(20).measurement_time(Duration::from_secs(3));
    for page in [1, PAGE] {
        let after = rt.block_on(cursor_before(&db, &m, &key, page));
        g.bench_function(format!("keyset_page_{page}"), |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..n {
                        assert_eq!(
                            keyset_page(&db, &m, &key, after.clone()).await,
                            LIMIT as usize
                        );
                    }
                    t.elapsed()
                })
            })
        });
        g.bench_function(format!("offset_page_{page}"), |b| {
            b.iter_custom(|n| {
                rt.block_on(async {
                    let t = Instant::now();
                    for _ in 0..n {
                        assert_eq!(offset_page(&db, &m, page).await, LIMIT as usize);
                    }
                    t.elapsed()
                })
            })
        });
    }
    g.finish();
    rt.block_on(meta.drop_all(&db)).expect("drop");
}

fn pagination(c: &mut Criterion) {
    let rt = runtime();
    let pg = rt.block_on(Database::connect(&pg_url())).expect("connect");
    bench_backend(c, &rt, "postgres", pg);
    let lite = rt
        .block_on(Database::connect("sqlite::memory:"))
        .expect("sqlite");
    bench_backend(c, &rt, "sqlite", lite);
}

criterion_group!(benches, pagination);
criterion_main!(benches);
