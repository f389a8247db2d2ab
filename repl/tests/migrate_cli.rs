//! `dbridge-repl migrate ...` through the real binary, on SQLite and
//! PostgreSQL: new, up (with --to and --dry-run), status, down, autogenerate
//! and check, with their output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dbridge_engine::Database;
use dbridge_testkit::{TestDb, each_backend};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("dbridge-mcli-{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The URL the child uses (the test database's: a file on SQLite, the test
/// schema on PostgreSQL), and a connection of the test's own to it.
async fn url(t: &TestDb) -> (String, Database) {
    let db = Database::connect(&t.url).await.unwrap();
    (t.url.clone(), db)
}

fn migrate(url: &str, dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .arg("--url")
        .arg(url)
        .arg("migrate")
        .arg("--dir")
        .arg(dir.join("migrations"))
        .args(args)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run dbridge-repl")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

const USERS: &str = "-- up
CREATE TABLE users (id BIGINT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL);
INSERT INTO users (id, first, last) VALUES (1, 'Ada', 'Lovelace'), (2, 'Alan', 'Turing');
-- down
DROP TABLE users;
";

const FULL_NAME: &str = r#"function up(db)
  db:execute("ALTER TABLE users ADD COLUMN full_name TEXT")
  for _, u in ipairs(db:fetch_all("SELECT id, first, last FROM users")) do
    db:execute("UPDATE users SET full_name = $1 WHERE id = $2", { u.first .. " " .. u.last, u.id })
  end
end

function down(db)
  db:execute("ALTER TABLE users DROP COLUMN full_name")
end
"#;

const MODELS: &str = r#"db:execute("CREATE TABLE users (id BIGINT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL, full_name TEXT)")
db:execute("CREATE TABLE tags (id BIGINT PRIMARY KEY, label TEXT NOT NULL UNIQUE)")
"#;

each_backend!(migrate_new_up_status_down, |t| async move {
    let dir = temp_dir("flow");
    let (url, db) = url(&t).await;

    let out = ok(&migrate(&url, &dir, &["new", "create users"]));
    let sql = PathBuf::from(out.trim());
    assert!(sql.ends_with("0001_create_users.sql"), "{out}");
    std::fs::write(&sql, USERS).unwrap();
    let out = ok(&migrate(&url, &dir, &["new", "full name", "--kind", "lua"]));
    let lua = PathBuf::from(out.trim());
    assert!(lua.ends_with("0002_full_name.lua"), "{out}");
    assert!(
        std::fs::read_to_string(&lua)
            .unwrap()
            .contains("function up(db)")
    );
    std::fs::write(&lua, FULL_NAME).unwrap();

    // A dry run prints the SQL and changes nothing.
    let out = ok(&migrate(&url, &dir, &["up", "--dry-run"]));
    assert!(out.contains("-- 0001_create_users.sql (up)"), "{out}");
    assert!(
        out.contains("CREATE TABLE users (id BIGINT PRIMARY KEY"),
        "{out}"
    );
    assert!(out.contains("-- 0002_full_name.lua (up)"), "{out}");
    let out = ok(&migrate(&url, &dir, &["status"]));
    assert!(out.contains("2 migrations, 2 pending"), "{out}");

    let out = ok(&migrate(&url, &dir, &["up", "--to", "1"]));
    assert!(out.contains("applied 0001_create_users.sql"), "{out}");
    assert!(!out.contains("0002"), "{out}");
    let out = ok(&migrate(&url, &dir, &["up"]));
    assert!(out.contains("applied 0002_full_name.lua"), "{out}");
    let rows = db
        .fetch_all("SELECT full_name FROM users ORDER BY id", &[])
        .await
        .unwrap();
    assert_eq!(
        rows[1].get("full_name").unwrap().as_str(),
        Some("Alan Turing")
    );
    let out = ok(&migrate(&url, &dir, &["status"]));
    for want in [
        "version",
        "0001_create_users.sql",
        "0002_full_name.lua",
        "applied",
        "2 migrations, 0 pending",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    let out = ok(&migrate(&url, &dir, &["up"]));
    assert!(out.contains("nothing to apply"), "{out}");

    let out = ok(&migrate(&url, &dir, &["down", "--dry-run"]));
    assert!(out.contains("-- 0002_full_name.lua (down)"), "{out}");
    let out = ok(&migrate(&url, &dir, &["down", "2"]));
    assert!(out.contains("reverted 0002_full_name.lua"), "{out}");
    assert!(out.contains("reverted 0001_create_users.sql"), "{out}");
    assert!(db.fetch_all("SELECT * FROM users", &[]).await.is_err());

    // Dry run of a down prints the SQL of the down section.
    ok(&migrate(&url, &dir, &["up"]));
    let out = ok(&migrate(&url, &dir, &["down", "2", "--dry-run"]));
    assert!(out.contains("DROP TABLE users;"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
});

each_backend!(migrate_failures_and_exit_codes, |t| async move {
    let dir = temp_dir("fail");
    let (url, db) = url(&t).await;
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("migrations/0001_users.sql"), USERS).unwrap();
    std::fs::write(
        dir.join("migrations/0002_broken.lua"),
        "function up(db)\n  db:execute('CREATE TABLE audit (id BIGINT)')\n  error('no backfill today')\nend\n",
    )
    .unwrap();
    let out = migrate(&url, &dir, &["up"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("applied 0001_users.sql"));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error[migration]: migration 0002_broken.lua failed"),
        "{err}"
    );
    assert!(
        err.contains("0002_broken.lua:3: no backfill today"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(db.fetch_all("SELECT * FROM audit", &[]).await.is_err());
    let out = ok(&migrate(&url, &dir, &["status"]));
    assert!(out.contains("2 migrations, 1 pending"), "{out}");

    let out = migrate(&url, &dir, &["up", "--to", "42"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no migration has version 42"));
    let out = migrate(
        &url,
        &dir,
        &["check", "--models", "/nonexistent/models.lua"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("cannot read it"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
});

each_backend!(migrate_autogenerate_and_check, |t| async move {
    let dir = temp_dir("gen");
    let (url, db) = url(&t).await;
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("migrations/0001_users.sql"), USERS).unwrap();
    std::fs::write(dir.join("migrations/0002_full_name.lua"), FULL_NAME).unwrap();
    let models = dir.join("models.lua");
    std::fs::write(&models, MODELS).unwrap();
    let models = models.to_str().unwrap();
    ok(&migrate(&url, &dir, &["up"]));

    let out = migrate(&url, &dir, &["check", "--models", models]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("create table `tags`"),
        "{}",
        text(&out.stdout)
    );

    let out = ok(&migrate(
        &url,
        &dir,
        &["autogenerate", "add tags", "--models", models],
    ));
    assert!(out.trim().ends_with("0003_add_tags.sql"), "{out}");
    ok(&migrate(&url, &dir, &["up"]));
    db.execute("INSERT INTO tags (id, label) VALUES (1, 'x')", &[])
        .await
        .unwrap();
    let out = ok(&migrate(&url, &dir, &["check", "--models", models]));
    assert!(out.contains("the database matches the models"), "{out}");
    let out = ok(&migrate(
        &url,
        &dir,
        &["autogenerate", "again", "--models", models],
    ));
    assert!(out.contains("no change"), "{out}");

    // Models from a Rhai script.
    let rhai = dir.join("models.rhai");
    std::fs::write(
        &rhai,
        "db.execute(\"CREATE TABLE users (id BIGINT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL, full_name TEXT)\");",
    )
    .unwrap();
    let out = migrate(&url, &dir, &["check", "--models", rhai.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("drop table `tags`"),
        "{}",
        text(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(dir);
});

/// On a terminal `up` and `down` draw a progress bar (on stderr) and still
/// print what they ran.
#[test]
fn up_and_down_on_a_terminal() {
    let dir = temp_dir("tty");
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    std::fs::write(dir.join("migrations/0001_users.sql"), USERS).unwrap();
    std::fs::write(dir.join("migrations/0002_full_name.lua"), FULL_NAME).unwrap();
    let url = format!("sqlite://{}", dir.join("app.db").display());
    let run = |action: &str, want: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
        cmd.arg("--url")
            .arg(&url)
            .arg("migrate")
            .arg("--dir")
            .arg(dir.join("migrations"))
            .arg(action)
            .env_remove("DATABASE_URL")
            .env("TERM", "xterm");
        let mut p = rexpect::session::spawn_command(cmd, Some(20_000)).expect("spawn in a pty");
        for w in want {
            p.exp_string(w).unwrap();
        }
        p.exp_eof().unwrap();
    };
    run(
        "up",
        &["applied 0001_users.sql", "applied 0002_full_name.lua"],
    );
    run("down", &["reverted 0002_full_name.lua"]);
    let _ = std::fs::remove_dir_all(dir);
}

each_backend!(a_missing_migrations_directory_is_an_error, |t| async move {
    let dir = temp_dir("nodir");
    let (url, _db) = url(&t).await;
    // `migrate()` points --dir at DIR/migrations, which does not exist.
    for args in [&["up"][..], &["status"], &["down"], &["up", "--dry-run"]] {
        let out = migrate(&url, &dir, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stdout)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&dir.join("migrations").display().to_string()) && err.contains("not"),
            "{args:?}: {err}"
        );
        assert!(!text(&out.stdout).contains("nothing to"), "{args:?}");
    }
    let _ = std::fs::remove_dir_all(dir);
});

// A table of the models script that cannot be a model is an error naming it,
// not a table left out of the models (which a diff would then drop).
each_backend!(
    models_script_with_an_unmappable_table_fails,
    |t| async move {
        let dir = temp_dir("unmapped");
        let (url, _db) = url(&t).await;
        std::fs::create_dir_all(dir.join("migrations")).unwrap();
        let models = dir.join("models.lua");
        std::fs::write(
            &models,
            "db:execute('CREATE TABLE users (id BIGINT PRIMARY KEY)')\n\
         db:execute('CREATE TABLE \"order lines\" (id BIGINT PRIMARY KEY)')\n",
        )
        .unwrap();
        let models = models.to_str().unwrap();
        for cmd in ["check", "autogenerate"] {
            let mut args = vec![cmd, "--models", models];
            if cmd == "autogenerate" {
                args.insert(1, "init");
            }
            let out = migrate(&url, &dir, &args);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd}: {err}");
            assert!(
                err.contains("table `order lines` cannot be a model") && err.contains("whitespace"),
                "{cmd}: {err}"
            );
            assert_eq!(text(&out.stdout), "", "{cmd}");
        }
        assert!(!dir.join("migrations").read_dir().unwrap().any(|_| true));
        let _ = std::fs::remove_dir_all(dir);
    }
);
