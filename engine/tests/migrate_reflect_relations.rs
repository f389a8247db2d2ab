//! Reflection turns foreign keys into relationships: models of a database
//! nobody declared navigate (many-to-one, the reverse one-to-many and
//! one-to-one, composite keys, two keys to one table), load by each strategy
//! and join, on both backends.

use dbridge_engine::migrate::{DEFAULT_HISTORY_TABLE, Reflected};
use dbridge_engine::schema::RelationshipKind;
use dbridge_engine::session::{Load, Session};
use dbridge_engine::{Database, Value};
use dbridge_testkit::each_backend;

const SCHEMA: &[&str] = &[
    "CREATE TABLE artists (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE albums (id BIGINT PRIMARY KEY, title TEXT NOT NULL, \
     artist_id BIGINT REFERENCES artists (id))",
    "CREATE TABLE tracks (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
     album_id BIGINT REFERENCES albums (id))",
    "CREATE TABLE album_notes (album_id BIGINT PRIMARY KEY REFERENCES albums (id), body TEXT)",
    "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, manager_id BIGINT REFERENCES users (id))",
    "CREATE TABLE messages (id BIGINT PRIMARY KEY, \
     sender_id BIGINT REFERENCES users (id), recipient_id BIGINT REFERENCES users (id))",
    "CREATE TABLE accounts (org TEXT, num INTEGER, label TEXT, PRIMARY KEY (org, num))",
    "CREATE TABLE entries (id BIGINT PRIMARY KEY, org TEXT, num INTEGER, amount INTEGER, \
     FOREIGN KEY (org, num) REFERENCES accounts (org, num))",
    "INSERT INTO artists VALUES (1, 'Miles')",
    "INSERT INTO albums VALUES (1, 'Kind of Blue', 1), (2, 'Sketches', 1)",
    "INSERT INTO tracks VALUES (1, 'So What', 1), (2, 'Freddie', 1), (3, 'Solea', 2)",
    "INSERT INTO album_notes VALUES (1, 'modal')",
    "INSERT INTO users VALUES (1, 'boss', NULL), (2, 'ann', 1)",
    "INSERT INTO messages VALUES (1, 2, 1)",
    "INSERT INTO accounts VALUES ('a', 1, 'a1'), ('b', 1, 'b1')",
    "INSERT INTO entries VALUES (1, 'a', 1, 10), (2, 'b', 1, 20), (3, 'b', 1, 30)",
];

async fn reflected(db: &Database) -> Reflected {
    for sql in SCHEMA {
        db.execute(sql, &[]).await.unwrap();
    }
    Reflected::from_database(db, DEFAULT_HISTORY_TABLE)
        .await
        .unwrap()
}

fn kinds(r: &Reflected, table: &str) -> Vec<(String, RelationshipKind)> {
    let m = r.metadata.get(table).unwrap();
    m.relationship_names()
        .into_iter()
        .map(|n| {
            let kind = m.relationship(&n).unwrap().kind;
            (n, kind)
        })
        .collect()
}

each_backend!(foreign_keys_become_named_relationships, |t| async move {
    let r = reflected(&t.db).await;
    use RelationshipKind::*;
    let k = |table| kinds(&r, table);
    assert_eq!(k("tracks"), [("album".to_owned(), BelongsTo)]);
    assert_eq!(
        k("albums"),
        [
            ("album_notes".to_owned(), HasOne), // its key is album_notes' primary key
            ("artist".to_owned(), BelongsTo),
            ("tracks".to_owned(), HasMany),
        ]
    );
    let mut users = k("users");
    users.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        users,
        [
            ("manager".to_owned(), BelongsTo),
            ("messages_by_recipient_id".to_owned(), HasMany),
            ("messages_by_sender_id".to_owned(), HasMany),
            ("users_by_manager_id".to_owned(), HasMany),
        ]
    );
    assert_eq!(k("entries"), [("accounts".to_owned(), BelongsTo)]);
    assert_eq!(k("accounts"), [("entries".to_owned(), HasMany)]);
    assert!(r.relationships_left_out.is_empty());
});

each_backend!(reflected_models_navigate_and_load, |t| async move {
    let r = reflected(&t.db).await;
    let tracks = r.metadata.get("tracks").unwrap();
    let albums = r.metadata.get("albums").unwrap();
    let mut s = Session::new(&t.db);
    // Lazy, through the session.
    let track = s.get(&tracks, 1i64).await.unwrap().unwrap();
    let album = s.related(&track, "album").await.unwrap();
    let album = album.one().unwrap().clone();
    assert_eq!(album.get("title").unwrap(), Value::from("Kind of Blue"));
    // The mirror: the album's tracks hold the same instance.
    let list = s.related(&album, "tracks").await.unwrap();
    assert!(list.into_vec().iter().any(|x| x.ptr_eq(&track)));
    s.close().await.unwrap();
    // Selectin and joined, both directions.
    for load in [
        [Load::selectin("tracks"), Load::selectin("artist")],
        [Load::joined("tracks"), Load::joined("artist")],
    ] {
        let mut s = Session::new(&t.db);
        let all = s
            .query(&albums)
            .order_by(albums.col("id").unwrap())
            .options(load.clone())
            .all()
            .await
            .unwrap();
        let counts: Vec<usize> = all
            .iter()
            .map(|a| a.related_many("tracks").unwrap().len())
            .collect();
        assert_eq!(counts, [2, 1], "{load:?}");
        let first = &all[0].related_many("tracks").unwrap()[0];
        assert!(first.related_one("album").unwrap().unwrap().ptr_eq(&all[0]));
        let artist = all[0].related_one("artist").unwrap().unwrap();
        assert_eq!(artist.get("name").unwrap(), Value::from("Miles"));
        s.close().await.unwrap();
    }
    // A join through the relationship.
    let mut s = Session::new(&t.db);
    let joined = s
        .query(&tracks)
        .join_related("album")
        .unwrap()
        .filter(albums.col("title").unwrap().eq("Sketches"))
        .all()
        .await
        .unwrap();
    assert_eq!(joined.len(), 1);
    assert_eq!(joined[0].get("name").unwrap(), Value::from("Solea"));
    // A composite key, and one of two keys to the same table.
    let accounts = r.metadata.get("accounts").unwrap();
    let b = s
        .get(&accounts, [Value::from("b"), Value::from(1i64)])
        .await
        .unwrap()
        .unwrap();
    let entries = s.related(&b, "entries").await.unwrap();
    assert_eq!(entries.into_vec().len(), 2);
    let messages = r.metadata.get("messages").unwrap();
    let m = s.get(&messages, 1i64).await.unwrap().unwrap();
    let sender = s.related(&m, "sender").await.unwrap();
    assert_eq!(
        sender.one().unwrap().get("name").unwrap(),
        Value::from("ann")
    );
    s.close().await.unwrap();
});
