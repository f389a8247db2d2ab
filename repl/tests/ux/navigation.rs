//! Issue #19, 6: reflection that navigates. The tables of an undeclared
//! database become models with relationships from their foreign keys, and
//! an instance got without a session (`song:get(1)`) loads what it has not
//! loaded on access, through the database.

use crate::both;
use crate::pty::{Start, fixture, leave, run, spawn};

both!(reflected_tables_navigate_without_a_session, |backend| {
    let f = fixture(backend);
    f._rt.block_on(async {
        for sql in [
            "CREATE TABLE artist (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
            "CREATE TABLE album (id INTEGER PRIMARY KEY, title TEXT NOT NULL, \
             artist_id INTEGER REFERENCES artist (id))",
            "CREATE TABLE song (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
             album_id INTEGER REFERENCES album (id))",
            "INSERT INTO artist VALUES (1, 'Miles Davis')",
            "INSERT INTO album VALUES (1, 'Kind of Blue', 1)",
            "INSERT INTO song VALUES (1, 'So What', 1), (2, 'Freddie Freeloader', 1)",
        ] {
            f.db.db.execute(sql, &[]).await.expect(sql);
        }
    });
    let mut p = spawn(&f.db.url, Start::default());
    let out = run(&mut p, "return song:get(1).album.artist.name");
    assert!(out.contains("Miles Davis"), "{out}");
    let out = run(&mut p, "return #album:get(1).song");
    assert!(out.contains("\n2"), "{out}");
    let out = run(
        &mut p,
        "return db:query(song):order_by(song.id):all()[2].album.title",
    );
    assert!(out.contains("Kind of Blue"), "{out}");
    leave(p);
    let mut p = spawn(&f.db.url, Start::rhai());
    let out = run(&mut p, "song.get(1).album.artist.name");
    assert!(out.contains("Miles Davis"), "{out}");
    leave(p);
});
