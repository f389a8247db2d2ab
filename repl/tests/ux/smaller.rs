//! Issue #19, 7: the smaller ones.

use dbridge_engine::Backend;

use crate::both;
use crate::pty::{Start, fixture, leave, prompt, run, spawn, temp_dir};

both!(explain_and_several_statements_read_as_sql, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::default());
    let out = run(&mut p, ".explain ANALYZE SELECT * FROM track WHERE id = 1");
    match backend {
        Backend::Postgres => assert!(out.contains("Execution Time"), "{out}"),
        Backend::Sqlite => assert!(
            out.contains("error[unsupported]") && out.contains("sqlite"),
            "{out}"
        ),
    }
    // `.sql` with several statements runs each and shows each result.
    let out = run(
        &mut p,
        ".sql UPDATE track SET composer = 'X' WHERE id = 1; SELECT 'first' || '!' AS a; SELECT 'second' || '!' AS b",
    );
    assert!(out.contains("OK, 1 row affected"), "{out}");
    let (a, b) = (out.find("first!").unwrap(), out.find("second!").unwrap());
    assert!(a < b, "{out}");
    // A transaction runs whole, on one connection.
    let out = run(
        &mut p,
        ".sql BEGIN; UPDATE track SET composer = 'in' || '-tx' WHERE id = 3; COMMIT",
    );
    assert!(out.contains("OK, "), "{out}");
    let out = run(&mut p, ".sql SELECT composer FROM track WHERE id = 3");
    assert!(out.contains("in-tx"), "{out}");
    // `.timing` prints after the result.
    run(&mut p, ".timing on");
    let out = run(&mut p, ".sql SELECT 'timed' || '!' AS t");
    let (result, time) = (out.find("timed!").unwrap(), out.find("Time: ").unwrap());
    assert!(result < time, "{out}");
    leave(p);
});

both!(
    import_matches_headers_loosely_and_lists_columns,
    |backend| {
        let f = fixture(backend);
        let dir = temp_dir("import");
        std::fs::write(
            dir.join("ok.csv"),
            "Id,Name, COMPOSER ,Milli Seconds\n1001,Imported,Someone,5\n",
        )
        .unwrap();
        std::fs::write(dir.join("bad.csv"), "id,title\n1002,x\n").unwrap();
        let mut p = spawn(&f.db.url, Start::default());
        let out = run(
            &mut p,
            &format!(".import {} track", dir.join("ok.csv").display()),
        );
        assert!(out.contains("imported 1 row into track"), "{out}");
        let out = run(
            &mut p,
            &format!(".import {} track", dir.join("bad.csv").display()),
        );
        assert!(
        out.contains("the CSV header `title` names no column of `track` (its columns: id, name, composer, milliseconds)"),
        "{out}"
    );
        // A table that does not exist: an error, and no progress bar first.
        p.send_line(&format!(".import {} trak", dir.join("ok.csv").display()))
            .unwrap();
        let before = p.exp_string("error[undefined_table]").unwrap();
        assert!(
            !before.contains(" B/"),
            "a progress bar was drawn: {before}"
        );
        let out = prompt(&mut p);
        assert!(out.contains("hint: did you mean `track`?"), "{out}");
        leave(p);
    }
);

both!(history_goes_under_xdg_data_home, |backend| {
    let f = fixture(backend);
    let data = temp_dir("xdg");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--url")
        .arg(&f.db.url)
        .env_remove("DATABASE_URL")
        .env_remove("DBRIDGE_HISTORY")
        .env("XDG_DATA_HOME", &data)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    let mut p = rexpect::session::spawn_command(cmd, Some(30_000)).unwrap();
    prompt(&mut p);
    run(&mut p, "return 'kept in history'");
    leave(p);
    let history = std::fs::read_to_string(data.join("dbridge/history")).unwrap();
    assert!(history.contains("return 'kept in history'"), "{history}");
});

#[test]
fn a_refused_connection_names_host_and_port() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .args([
            "--url",
            "postgres://postgres@127.0.0.1:5999/test",
            "-e",
            "1",
        ])
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("127.0.0.1:5999: connection refused"), "{err}");
}
