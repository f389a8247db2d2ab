//! What the REPL refuses: a sandbox escaped with `COMMIT`, `--sandbox migrate`,
//! and several statements smuggled into `.explain`, on SQLite and PostgreSQL.

use std::process::{Command, Output, Stdio};

use dbridge_testkit::{VICTIMS, create_victims, each_backend, fetch_ints};

fn repl(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run dbridge-repl")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

each_backend!(sandbox_refuses_commit_and_keeps_nothing, |t| async move {
    create_victims(&t.db).await;
    let code = "db:execute('INSERT INTO victims VALUES (2)'); db:execute('COMMIT'); \
                db:execute('INSERT INTO victims VALUES (3)')";
    let out = repl(&t.url, &["--sandbox", "-e", code]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("invalid_state"), "{err}");
    assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1]);
});

each_backend!(sandbox_refuses_migrate, |t| async move {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let name = format!("dbridge-repl-esc-{}-{nanos}", std::process::id());
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("0001_a.sql"),
        "-- up\nCREATE TABLE a (n INTEGER);\n",
    )
    .unwrap();
    let d = dir.display().to_string();
    let out = repl(&t.url, &["--sandbox", "migrate", "--dir", &d, "up"]);
    let _ = std::fs::remove_dir_all(&dir);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("--sandbox"), "{err}");
    let exists = t.db.fetch_optional("SELECT 1 FROM a", &[]).await.is_ok();
    assert!(!exists, "the migration ran");
});

each_backend!(explain_runs_one_statement, |t| async move {
    create_victims(&t.db).await;
    let out = repl(&t.url, &["-e", ".explain SELECT 1; DELETE FROM victims"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(err.contains("invalid_value"), "{err}");
    assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1]);
});

each_backend!(dot_sql_runs_a_script, |t| async move {
    create_victims(&t.db).await;
    let out = repl(
        &t.url,
        &[
            "-e",
            ".sql INSERT INTO victims VALUES (2); INSERT INTO victims VALUES (3)",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(fetch_ints(&t.db, VICTIMS).await, [1, 2, 3]);
});
