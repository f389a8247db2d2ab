//! Loading relationships (reference workload W6): 1,000 authors with 10 posts
//! each (the rows, types and index of sqla_bench's W6), loaded as instances
//! with their posts by selectin (2 statements) and by joined (1 statement),
//! on PostgreSQL.
//!
//! `cargo bench --bench relationships` (PostgreSQL at `DBRIDGE_TEST_PG_URL`,
//! default the local server's `test` database). Anchor on this machine (see
//! ../shared/NOTES.md): SQLAlchemy 2.1 selectinload 163 ms, joinedload 125 ms.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use dbridge::engine::query::{Insert, Run};
use dbridge::engine::schema::{Column, LoadStrategy, Metadata, Model, Relationship};
use dbridge::engine::session::{Load, Session};
use dbridge::engine::{Database, SqlType, Value};

const AUTHORS: i64 = 1_000;
const PER: i64 = 10;

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

fn models(suffix: u32) -> (Metadata, Model, Model) {
    let authors = format!("bench_authors_{suffix}");
    let author = Model::builder("BenchAuthor")
        .table(authors.clone())
        .column(Column::new("id", SqlType::Int4).primary_key())
        .column(Column::new("name", "text").not_null())
        .relationship(
            "posts",
            Relationship::has_many("BenchPost").back_populates("author"),
        )
        .build()
        .expect("author");
    let post = Model::builder("BenchPost")
        .table(format!("bench_posts_{suffix}"))
        .column(Column::new("id", SqlType::Int4).primary_key())
        .column(
            Column::new("author_id", SqlType::Int4)
                .not_null()
                .index()
                .references(authors, "id"),
        )
        .column(Column::new("title", "text").not_null())
        .column(Column::new("body", "text").not_null())
        .build()
        .expect("post");
    let meta = Metadata::new();
    meta.add_all([author.clone(), post.clone()])
        .expect("register");
    (meta, author, post)
}

async fn seed(db: &Database, author: &Model, post: &Model) {
    let rows = (0..AUTHORS).map(|i| vec![Value::from(i + 1), Value::from(format!("author{i}"))]);
    Insert::into(author)
        .columns(["id", "name"])
        .and_then(|i| i.rows(rows))
        .expect("authors")
        .execute(db)
        .await
        .expect("insert authors");
    let rows = (0..AUTHORS * PER).map(|k| {
        vec![
            Value::from(k + 1),
            Value::from(k / PER + 1),
            Value::from(format!("post {}-{}", k / PER, k % PER)),
            Value::from("lorem ipsum ".repeat(8)),
        ]
    });
    Insert::into(post)
        .columns(["id", "author_id", "title", "body"])
        .and_then(|i| i.rows(rows))
        .expect("posts")
        .execute(db)
        .await
        .expect("insert posts");
    for m in [author, post] {
        db.execute(&format!("VACUUM ANALYZE {}", m.table()), &[])
            .await
            .expect("vacuum");
    }
}

/// `iters` loads of every author with its posts; only the query is timed.
fn timed(
    rt: &tokio::runtime::Runtime,
    db: &Database,
    author: &Model,
    strategy: LoadStrategy,
    iters: u64,
) -> Duration {
    rt.block_on(async {
        let mut total = Duration::ZERO;
        for _ in 0..iters {
            let mut s = Session::new(db);
            let t = Instant::now();
            let authors = s
                .query(author)
                .options([Load::strategy("posts", strategy)])
                .all()
                .await
                .expect("load");
            total += t.elapsed();
            assert_eq!(authors.len(), AUTHORS as usize);
            let posts = authors[0].related_many("posts").expect("loaded");
            assert_eq!(posts.len(), PER as usize);
            s.close().await.expect("close");
        }
        total
    })
}

fn load(c: &mut Criterion) {
    let rt = runtime();
    let (meta, author, post) = models(std::process::id());
    let db = rt.block_on(async {
        let db = Database::connect(&pg_url()).await.expect("connect");
        meta.drop_all(&db).await.expect("drop");
        meta.create_all(&db).await.expect("create");
        seed(&db, &author, &post).await;
        db
    });
    let mut g = c.benchmark_group("w6_1000_authors_x10_posts");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    g.bench_function("selectin", |b| {
        b.iter_custom(|n| timed(&rt, &db, &author, LoadStrategy::Selectin, n))
    });
    g.bench_function("joined", |b| {
        b.iter_custom(|n| timed(&rt, &db, &author, LoadStrategy::Joined, n))
    });
    // The floor: the same 11,000 rows as instances, by two plain queries.
    g.bench_function("plain_queries_no_relationships", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let mut s = Session::new(&db);
                    let t = Instant::now();
                    let a = s.query(&author).all().await.expect("authors");
                    let p = s.query(&post).all().await.expect("posts");
                    total += t.elapsed();
                    assert_eq!(a.len() + p.len(), (AUTHORS * (PER + 1)) as usize);
                    s.close().await.expect("close");
                }
                total
            })
        })
    });
    g.finish();
    rt.block_on(meta.drop_all(&db)).expect("drop");
}

criterion_group!(benches, load);
criterion_main!(benches);
