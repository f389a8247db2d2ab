//! `db:reflect()` on a database nobody declared models for: the reflected
//! models navigate through the relationships their foreign keys give
//! (`track.album.title`, `album.tracks`), load with `selectinload` and
//! `joinedload`, and join by relationship name, on both backends.

mod common;

use common::{lua_for, run};

/// Artists, albums and tracks made with raw SQL, and `db:reflect()`.
pub const SCHEMA: &str = r#"
for _, sql in ipairs({
  "CREATE TABLE artists (id BIGINT PRIMARY KEY, name TEXT NOT NULL)",
  "CREATE TABLE albums (id BIGINT PRIMARY KEY, title TEXT NOT NULL, artist_id BIGINT REFERENCES artists (id))",
  "CREATE TABLE tracks (id BIGINT PRIMARY KEY, name TEXT NOT NULL, album_id BIGINT REFERENCES albums (id))",
  "INSERT INTO artists VALUES (1, 'Miles')",
  "INSERT INTO albums VALUES (1, 'Kind of Blue', 1), (2, 'Sketches', 1)",
  "INSERT INTO tracks VALUES (1, 'So What', 1), (2, 'Freddie', 1), (3, 'Solea', 2)",
}) do db:execute(sql) end
local t = db:reflect()
tracks, albums, artists = t.tracks, t.albums, t.artists
"#;

dbridge_testkit::each_backend!(reflected_models_navigate, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SCHEMA).await;
    let got: String = run(
        &lua,
        r#"
assert(table.concat(albums:relationship_names(), " ") == "artist tracks")
assert(table.concat(tracks:relationship_names(), " ") == "album")
local s = db:session()
local track = s:get(tracks, 1)
local title = track.album.title                       -- a lazy load, through the session
assert(track.album.artist.name == "Miles")
local names = {}
for _, x in ipairs(track.album.tracks) do names[#names + 1] = x.name end
s:close()
return title .. ": " .. table.concat(names, ", ")
"#,
    )
    .await;
    assert_eq!(got, "Kind of Blue: So What, Freddie");
});

dbridge_testkit::each_backend!(reflected_models_load_and_join, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SCHEMA).await;
    let got: String = run(
        &lua,
        r#"
local out = {}
for _, opt in ipairs({ dbridge.selectinload("tracks"), dbridge.joinedload("tracks") }) do
  local all = db:query(albums):order_by(albums.id):options(opt, dbridge.selectinload("artist")):all()
  out[#out + 1] = #all[1].tracks .. "+" .. #all[2].tracks .. " " .. all[2].artist.name
end
local joined = db:query(tracks):join("album"):where(albums.title:eq("Sketches")):all()
out[#out + 1] = joined[1].name
local through = db:query(tracks):join(albums):where(albums.title:eq("Kind of Blue")):count()
out[#out + 1] = tostring(through)
return table.concat(out, "; ")
"#,
    )
    .await;
    assert_eq!(got, "2+1 Miles; 2+1 Miles; Solea; 2");
});

dbridge_testkit::each_backend!(instances_without_a_session_navigate, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SCHEMA).await;
    // `db:query` and `Model:get` give detached instances bound to the
    // database: a relationship loads on access (as in the REPL:
    // `tracks:get(1).album.title`), or comes with a loader option.
    let got: String = run(
        &lua,
        r#"
local one = db:query(tracks):where(tracks.id:eq(1)):options(dbridge.joinedload("album")):one()
return one.album.title .. "; " .. tracks:get(1).album.title .. "; " .. #tracks:get(1).album.tracks
"#,
    )
    .await;
    assert_eq!(got, "Kind of Blue; Kind of Blue; 2");
});
