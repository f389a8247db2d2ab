//! Issue #19, 3: a display that fits the terminal.

use crate::both;
use crate::pty::{Start, fixture, leave, run, spawn};

both!(wide_rows_turn_vertical_in_a_narrow_terminal, |backend| {
    let f = fixture(backend);
    // The real width (no $COLUMNS): 40 columns cannot hold the table.
    let mut p = spawn(
        &f.db.url,
        Start {
            cols: 40,
            ..Start::default()
        },
    );
    let out = run(&mut p, ".sql SELECT * FROM track WHERE id <= 2");
    assert!(out.contains("-[ RECORD 1 ]"), "{out}");
    assert!(out.contains("milliseconds | 2000"), "{out}");
    assert!(
        out.lines().skip(1).all(|l| l.chars().count() <= 40),
        "a line is wider than the terminal: {out}"
    );
    // A narrow table still prints as a table.
    let out = run(&mut p, ".sql SELECT id FROM track WHERE id = 1");
    assert!(out.contains("│ id │"), "{out}");
    leave(p);
});

both!(columns_overrides_the_width_without_slivers, |backend| {
    let f = fixture(backend);
    let mut p = spawn(
        &f.db.url,
        Start {
            env: vec![("COLUMNS", "40".into())],
            ..Start::default()
        },
    );
    let out = run(
        &mut p,
        "return db:fetch_all('SELECT * FROM track WHERE id = 2')",
    );
    assert!(out.contains("composer     | Composer 2"), "{out}");
    leave(p);
});

both!(tall_results_go_through_the_pager_whole, |backend| {
    let f = fixture(backend);
    let mut p = spawn(
        &f.db.url,
        Start {
            rows: 20,
            env: vec![("PAGER", "sed s/^/PAGED:/".into())],
            ..Start::default()
        },
    );
    let out = run(&mut p, ".sql SELECT id, name FROM track ORDER BY id");
    assert!(out.contains("PAGED:│ 250 ┆ Track 250"), "{out}");
    assert!(out.contains("PAGED:(250 rows)"), "{out}");
    // A short result is not paged.
    let out = run(&mut p, ".sql SELECT id FROM track WHERE id = 1");
    assert!(!out.contains("PAGED:"), "{out}");
    // `.pager off`: at most 200 rows, and a note.
    run(&mut p, ".pager off");
    let out = run(&mut p, ".sql SELECT id, name FROM track ORDER BY id");
    assert!(!out.contains("PAGED:"), "{out}");
    assert!(out.contains("(250 rows, 50 not shown"), "{out}");
    leave(p);
});

both!(nested_values_empty_results_and_json, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::default());
    // Nested tables print as values, not `table: 0x...`.
    let out = run(&mut p, "return { tags = { 'a', 'b' }, meta = { n = 1 } }");
    assert!(out.contains(r#"tags = ["a","b"]"#), "{out}");
    assert!(out.contains(r#"meta = {"n":1}"#), "{out}");
    assert!(!out.contains("table: 0x"), "{out}");
    // An empty result keeps its header.
    let out = run(&mut p, ".sql SELECT id, name FROM track WHERE id < 0");
    assert!(out.contains("│ id ┆ name │"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    // From a script too: raw SQL, a column query and a model query.
    let out = run(
        &mut p,
        "return db:fetch_all('SELECT name, id FROM track WHERE id < 0')",
    );
    assert!(out.contains("│ name ┆ id │"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    let out = run(
        &mut p,
        "return db:query(track.id, track.name):where(track.id:lt(0)):all()",
    );
    assert!(out.contains("│ id ┆ name │"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    let out = run(&mut p, "return db:query(track):where(track.id:lt(0)):all()");
    assert!(out.contains("│ id ┆ name ┆"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    // JSON keeps the column order; one record is one object.
    run(&mut p, ".mode json");
    let out = run(
        &mut p,
        ".sql SELECT name, id, composer FROM track WHERE id = 2",
    );
    let (name, id) = (out.find("\"name\"").unwrap(), out.find("\"id\"").unwrap());
    let composer = out.find("\"composer\"").unwrap();
    assert!(name < id && id < composer, "{out}");
    let out = run(&mut p, "return track:get(2)");
    // What was printed after the input was accepted.
    let printed = out.rsplit("\x1b[?2004l").next().unwrap_or_default();
    assert!(
        printed.trim_start().starts_with('{'),
        "one record is an object: {out}"
    );
    assert!(printed.contains("\"composer\": \"Composer 2\""), "{out}");
    leave(p);
});

both!(rhai_empty_results_keep_their_header, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::rhai());
    let out = run(
        &mut p,
        "db.fetch_all(\"SELECT name, id FROM track WHERE id < 0\")",
    );
    assert!(out.contains("│ name ┆ id │"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    let out = run(&mut p, "db.query(track).where(track.id.lt(0)).all()");
    assert!(out.contains("│ id ┆ name ┆"), "{out}");
    assert!(out.contains("(0 rows)"), "{out}");
    // An empty array the script makes itself is just that.
    let out = run(&mut p, "[]");
    assert!(out.contains("[]") && !out.contains("rows)"), "{out}");
    leave(p);
});
