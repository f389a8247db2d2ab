//! Connects (SQLite in memory unless `DATABASE_URL` is set), creates two related
//! tables, writes in a transaction with a savepoint, queries, and prints a table.
//!
//! ```text
//! cargo run --example quickstart
//! DATABASE_URL=postgres://postgres@127.0.0.1/test cargo run --example quickstart
//! ```

use dbridge::engine::{Database, ErrorKind, Result, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let db = Database::connect(&url).await?;
    println!("connected to {} ({})", db.url(), db.backend());

    db.execute("DROP TABLE IF EXISTS quickstart_posts", &[])
        .await?;
    db.execute("DROP TABLE IF EXISTS quickstart_users", &[])
        .await?;
    db.execute(
        "CREATE TABLE quickstart_users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, email TEXT UNIQUE)",
        &[],
    )
    .await?;
    db.execute(
        "CREATE TABLE quickstart_posts (id BIGINT PRIMARY KEY,
            author_id BIGINT NOT NULL REFERENCES quickstart_users (id), title TEXT NOT NULL)",
        &[],
    )
    .await?;

    let mut tx = db.begin().await?;
    for (id, name, email) in [
        (1, "Ada", "ada@example.com"),
        (2, "Grace", "grace@example.com"),
    ] {
        tx.execute(
            "INSERT INTO quickstart_users (id, name, email) VALUES ($1, $2, $3)",
            &[Value::Int8(id), name.into(), email.into()],
        )
        .await?;
    }
    let posts = [
        (1, 1, "Notes on the engine"),
        (2, 1, "Bernoulli numbers"),
        (3, 2, "Compilers"),
    ];
    for (id, author, title) in posts {
        tx.execute(
            "INSERT INTO quickstart_posts (id, author_id, title) VALUES ($1, $2, $3)",
            &[Value::Int8(id), Value::Int8(author), title.into()],
        )
        .await?;
    }
    // A duplicate email is a typed error; rolling back to the savepoint keeps
    // the transaction usable (PostgreSQL aborts it otherwise) and the posts in it.
    tx.savepoint("before_duplicate").await?;
    let dup = tx
        .execute(
            "INSERT INTO quickstart_users (id, name, email) VALUES ($1, $2, $3)",
            &[Value::Int8(3), "Ada again".into(), "ada@example.com".into()],
        )
        .await;
    match dup {
        Err(e) if e.kind() == ErrorKind::UniqueViolation => println!("refused duplicate: {e}"),
        other => panic!("expected a unique violation, got {other:?}"),
    }
    tx.rollback_to_savepoint("before_duplicate").await?;
    tx.commit().await?;

    let rows = db
        .fetch_all(
            "SELECT u.name AS author, count(p.id) AS posts
             FROM quickstart_users u LEFT JOIN quickstart_posts p ON p.author_id = u.id
             GROUP BY u.name ORDER BY u.name",
            &[],
        )
        .await?;
    println!("{:<8} | posts", "author");
    println!("---------+------");
    for row in &rows {
        println!("{:<8} | {}", row.get("author")?, row.get("posts")?);
    }
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].get("posts")?.as_i64(), Some(2));

    db.execute("DROP TABLE quickstart_posts", &[]).await?;
    db.execute("DROP TABLE quickstart_users", &[]).await?;
    Ok(())
}
