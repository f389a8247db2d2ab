//! `db.reflect()` on a database nobody declared models for: the reflected
//! models navigate through the relationships their foreign keys give
//! (`track.album.title`, `album.tracks`), load with `selectinload` and
//! `joinedload`, and join by relationship name, on both backends.

mod common;

use common::check;
use dbridge_testkit::each_backend;

/// Artists, albums and tracks made with raw SQL, then `db.reflect()`.
const SCHEMA: &str = r#"
    for sql in [
        "CREATE TABLE artists (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE albums (id BIGINT PRIMARY KEY, title TEXT NOT NULL, artist_id BIGINT REFERENCES artists (id))",
        "CREATE TABLE tracks (id BIGINT PRIMARY KEY, name TEXT NOT NULL, album_id BIGINT REFERENCES albums (id))",
        "INSERT INTO artists VALUES (1, 'Miles')",
        "INSERT INTO albums VALUES (1, 'Kind of Blue', 1), (2, 'Sketches', 1)",
        "INSERT INTO tracks VALUES (1, 'So What', 1), (2, 'Freddie', 1), (3, 'Solea', 2)",
    ] { db.execute(sql); }
    let t = db.reflect();
    let tracks = t.tracks;
    let albums = t.albums;
"#;

each_backend!(reflected_models_navigate, |t| async move {
    check(
        &t,
        &format!(
            r#"{SCHEMA}
        assert_eq(albums.relationship_names(), ["artist", "tracks"]);
        assert_eq(tracks.relationship_names(), ["album"]);
        let s = db.session();
        let track = s.get(tracks, 1);
        assert_eq(track.album.title, "Kind of Blue");        // a lazy load, through the session
        assert_eq(track.album.artist.name, "Miles");
        assert_eq(track.album.tracks.all().map(|x| x.name), ["So What", "Freddie"]);
        s.close();
    "#
        ),
    )
    .await;
});

each_backend!(reflected_models_load_and_join, |t| async move {
    check(
        &t,
        &format!(
            r#"{SCHEMA}
        for opt in [dbridge::selectinload("tracks"), dbridge::joinedload("tracks")] {{
            let all = db.query(albums).order_by(albums.id).options(opt).all();
            assert_eq(all[0].tracks.len(), 2);
            assert_eq(all[1].tracks.len(), 1);
        }}
        let joined = db.query(tracks).join("album").where(albums.title.eq("Sketches")).all();
        assert_eq(joined.len(), 1);
        assert_eq(joined[0].name, "Solea");
        let one = db.query(tracks).where(tracks.id.eq(1)).options(dbridge::joinedload("album")).one();
        assert_eq(one.album.title, "Kind of Blue");
        // Without a loader option, loaded on access through the database.
        assert_eq(tracks.get(1).album.title, "Kind of Blue");
        assert_eq(tracks.get(1).album.tracks.len(), 2);
    "#
        ),
    )
    .await;
});
