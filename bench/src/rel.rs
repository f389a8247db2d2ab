//! W6: eager loading of relationships through the Rust session, the same
//! workload as `sqla_bench.py`'s W6: 1,000 authors with 10 posts each (the
//! same tables, rows and index), every author loaded as an instance with its
//! posts, by selectin (2 statements) and by joined (1 statement).

use std::time::Instant;

use dbridge_engine::query::{Insert, Run};
use dbridge_engine::schema::{Column, LoadStrategy, Metadata, Model, Relationship};
use dbridge_engine::session::{Load, Session};
use dbridge_engine::{Database, Error, Result, Value};

/// The author and post models (tables `dbridge_author`, `dbridge_post`), as
/// sqla_bench's `Author` and `Post`: integer keys, an index on `author_id`.
pub(crate) fn add_models(meta: &Metadata) -> Result<(Model, Model)> {
    let author = Model::builder("BenchAuthor")
        .table("dbridge_author")
        .column(Column::new("id", "integer").primary_key())
        .column(Column::new("name", "text").not_null())
        .relationship(
            "posts",
            Relationship::has_many("BenchPost").back_populates("author"),
        )
        .build()?;
    let post = Model::builder("BenchPost")
        .table("dbridge_post")
        .column(Column::new("id", "integer").primary_key())
        .column(
            Column::new("author_id", "integer")
                .not_null()
                .index()
                .references("dbridge_author", "id"),
        )
        .column(Column::new("title", "text").not_null())
        .column(Column::new("body", "text").not_null())
        .relationship(
            "author",
            Relationship::belongs_to("BenchAuthor").back_populates("posts"),
        )
        .build()?;
    meta.add_all([author.clone(), post.clone()])?;
    Ok((author, post))
}

/// Fills the tables as sqla_bench's `w6_setup` does (not timed).
pub(crate) async fn setup(
    db: &Database,
    (author, post): &(Model, Model),
    authors: usize,
    each: usize,
) -> Result<()> {
    db.execute("TRUNCATE dbridge_post, dbridge_author", &[])
        .await?;
    let rows =
        (0..authors).map(|i| vec![Value::from(i as i64 + 1), Value::from(format!("author{i}"))]);
    Insert::into(author)
        .columns(["id", "name"])?
        .rows(rows)?
        .execute(db)
        .await?;
    let body = "lorem ipsum ".repeat(8);
    let rows = (0..authors).flat_map(|a| {
        let body = body.clone();
        (0..each).map(move |p| {
            vec![
                Value::from((a * each + p) as i64 + 1),
                Value::from(a as i64 + 1),
                Value::from(format!("post {a}-{p}")),
                Value::from(body.clone()),
            ]
        })
    });
    Insert::into(post)
        .columns(["id", "author_id", "title", "body"])?
        .rows(rows)?
        .execute(db)
        .await?;
    db.execute("VACUUM ANALYZE dbridge_author", &[]).await?;
    db.execute("VACUUM ANALYZE dbridge_post", &[]).await?;
    Ok(())
}

/// One load of every author with its posts: the query's seconds (the session
/// opened and closed outside the timing, as sqla_bench's `with Session`).
pub(crate) async fn eager(
    db: &Database,
    author: &Model,
    strategy: LoadStrategy,
    authors: usize,
    each: usize,
) -> Result<f64> {
    let mut s = Session::new(db);
    let started = Instant::now();
    let loaded = s
        .query(author)
        .options([Load::strategy("posts", strategy)])
        .all()
        .await?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut posts = 0;
    for a in &loaded {
        posts += a.related_many("posts")?.len();
    }
    s.close().await?;
    if loaded.len() != authors || posts != authors * each {
        return Err(Error::InvalidState(format!(
            "W6 loaded {} authors and {posts} posts",
            loaded.len()
        )));
    }
    Ok(elapsed)
}
