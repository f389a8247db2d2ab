//! Issue #19, 5: errors that suggest the fix.

use crate::both;
use crate::pty::{Start, fixture, leave, run, spawn};

both!(lua_errors_suggest_the_fix, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::default());
    // SQL at the Lua prompt: the exact `.sql` line to type.
    let out = run(&mut p, "SELECT * FROM track");
    assert!(
        out.contains("hint: that is SQL, not a script; run it with:"),
        "{out}"
    );
    assert!(out.contains("  .sql SELECT * FROM track"), "{out}");
    // Bare words do what they say.
    let out = run(&mut p, "help");
    assert!(out.contains(".import FILE TABLE"), "{out}");
    assert!(!out.contains("nil"), "{out}");
    let out = run(&mut p, "tables");
    assert!(out.contains("track"), "{out}");
    // Did you mean: a global, a method.
    let out = run(&mut p, "trak:get(1)");
    assert!(out.contains("hint: did you mean `track`?"), "{out}");
    let out = run(&mut p, "db:fetchall('SELECT 1')");
    assert!(out.contains("hint: did you mean `fetch_all`?"), "{out}");
    // ... a model, a column of a model.
    let out = run(&mut p, ".describe trak");
    assert!(out.contains("hint: did you mean `track`?"), "{out}");
    let out = run(
        &mut p,
        "return db:query(track):where(track.nme:eq(1)):all()",
    );
    assert!(out.contains("hint: did you mean `name`?"), "{out}");
    // A table: the class kept, a caret under the name, and the fix.
    let out = run(&mut p, ".sql SELECT * FROM trak");
    assert!(out.contains("error[undefined_table]"), "{out}");
    assert!(out.contains("LINE 1: SELECT * FROM trak"), "{out}");
    assert!(out.contains(&format!("\n{}^", " ".repeat(22))), "{out}");
    assert!(out.contains("hint: did you mean `track`?"), "{out}");
    // A column.
    let out = run(&mut p, ".sql SELECT nme FROM track");
    assert!(out.contains("error[undefined_column]"), "{out}");
    assert!(out.contains(&format!("\n{}^", " ".repeat(15))), "{out}");
    assert!(out.contains("hint: did you mean `name`?"), "{out}");
    // `exit` leaves.
    p.send_line("exit").unwrap();
    p.exp_eof().unwrap();
});

both!(rhai_errors_suggest_the_fix, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::rhai());
    let out = run(&mut p, "SELECT * FROM track");
    assert!(out.contains("  .sql SELECT * FROM track"), "{out}");
    let out = run(&mut p, "trak.get(1)");
    assert!(out.contains("hint: did you mean `track`?"), "{out}");
    let out = run(&mut p, "db.fetchall(\"SELECT 1\")");
    assert!(out.contains("hint: did you mean `fetch_all`?"), "{out}");
    let out = run(&mut p, "tables");
    assert!(out.contains("track"), "{out}");
    let out = run(&mut p, "help");
    assert!(out.contains(".import FILE TABLE"), "{out}");
    p.send_line("quit").unwrap();
    p.exp_eof().unwrap();
    let _ = leave;
});

/// At the prompt `db:fetchall` waits for its arguments (Lua reads it as an
/// unfinished call); run whole (`-e`, a file) it is a syntax error that
/// names the method meant.
#[test]
fn a_method_named_without_a_call() {
    let run = |code: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
            .args(["-e", code])
            .env_remove("DATABASE_URL")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let err = run("db:fetchall");
    assert!(err.contains("hint: did you mean `fetch_all`?"), "{err}");
    let err = run("db:fetch_all");
    assert!(
        err.contains("hint: a method is called: `db:fetch_all(...)`"),
        "{err}"
    );
}
