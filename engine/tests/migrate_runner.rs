//! The migration runner on both backends: up to a target, down, status and
//! history; failures roll back; changed files are refused; script files need a
//! registered runner; dry runs; autogenerate and check; concurrent runners.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dbridge_engine::migrate::{Direction, FnScriptRunner, MigrationKind, MigrationState, Migrator};
use dbridge_engine::schema::{Column, Metadata, Model};
use dbridge_engine::{Database, Error, ErrorKind, MigrationFailure, SqlType, Value};
use dbridge_testkit::{TestDb, each_backend};

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("dbridge-mig-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }

    fn write(&self, name: &str, content: &str) {
        std::fs::write(self.0.join(name), content).unwrap();
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn reason(e: &Error) -> MigrationFailure {
    match e {
        Error::Migration { reason, .. } => *reason,
        other => panic!("not a migration error: {other}"),
    }
}

async fn tables(db: &Database) -> Vec<String> {
    let sql = match db.backend() {
        dbridge_engine::Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        }
        dbridge_engine::Backend::Postgres => {
            "SELECT tablename::text AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1"
        }
    };
    db.fetch_all(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("name").unwrap().as_str().unwrap().to_owned())
        .collect()
}

fn three(dir: &Dir) {
    dir.write(
        "0001_users.sql",
        "-- up\nCREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT);\n-- down\nDROP TABLE users;\n",
    );
    dir.write(
        "0002_seed.sql",
        "-- up\nINSERT INTO users (id, name) VALUES (1, 'a;b');\nINSERT INTO users (id, name) VALUES (2, 'c');\n\
         -- down\nDELETE FROM users;\n",
    );
    dir.write(
        "0003_posts.sql",
        "-- up\nCREATE TABLE posts (id BIGINT PRIMARY KEY, user_id BIGINT REFERENCES users (id));\n\
         -- down\nDROP TABLE posts;\n",
    );
    dir.write("README.md", "not a migration");
}

each_backend!(up_to_target_down_and_status, |t| async move {
    let dir = Dir::new();
    three(&dir);
    let m = Migrator::new(t.db.clone(), &dir.0);
    let ran = m.up(Some(2)).await.unwrap();
    assert_eq!(
        ran.iter().map(|r| r.file.version).collect::<Vec<_>>(),
        [1, 2]
    );
    let status = m.status().await.unwrap();
    assert!(
        matches!(&status[0].state, MigrationState::Applied(a) if a.name == "users" && a.checksum.len() == 64)
    );
    assert!(matches!(status[1].state, MigrationState::Applied(_)));
    assert!(matches!(status[2].state, MigrationState::Pending));
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(2));

    assert_eq!(m.up(None).await.unwrap().len(), 1);
    assert!(tables(&t.db).await.contains(&"posts".to_owned()));
    let ran = m.down(2).await.unwrap();
    assert_eq!(
        ran.iter()
            .map(|r| (r.file.version, r.direction))
            .collect::<Vec<_>>(),
        [(3, Direction::Down), (2, Direction::Down)]
    );
    assert!(!tables(&t.db).await.contains(&"posts".to_owned()));
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM users", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
    let hist =
        t.db.fetch_all("SELECT version FROM dbridge_migrations", &[])
            .await
            .unwrap();
    assert_eq!(hist.len(), 1);
    assert_eq!(m.up(None).await.unwrap().len(), 2);
    assert_eq!(m.up(None).await.unwrap().len(), 0);

    let err = m.up(Some(9)).await.unwrap_err();
    assert_eq!(reason(&err), MigrationFailure::UnknownTarget);
    assert_eq!(err.kind(), ErrorKind::Migration);
});

each_backend!(a_failing_migration_leaves_no_trace, |t| async move {
    let dir = Dir::new();
    dir.write(
        "0001_a.sql",
        "-- up\nCREATE TABLE a (id INTEGER);\n-- down\nDROP TABLE a;\n",
    );
    dir.write(
        "0002_b.sql",
        "-- up\nCREATE TABLE b (id INTEGER);\nINSERT INTO a (id) VALUES (1);\nINSERT INTO nowhere VALUES (1);\n-- down\nDROP TABLE b;\n",
    );
    let m = Migrator::new(t.db.clone(), &dir.0);
    let err = m.up(None).await.unwrap_err();
    assert_eq!(reason(&err), MigrationFailure::Failed);
    let msg = err.to_string();
    assert!(
        msg.starts_with("migration 0002_b.sql failed at statement 3 of its up section:"),
        "{msg}"
    );
    assert!(msg.ends_with("it was rolled back"), "{msg}");
    assert!(std::error::Error::source(&err).is_some());
    let names = tables(&t.db).await;
    assert!(
        names.contains(&"a".to_owned()) && !names.contains(&"b".to_owned()),
        "{names:?}"
    );
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM a", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
    let hist =
        t.db.fetch_all("SELECT version FROM dbridge_migrations", &[])
            .await
            .unwrap();
    assert_eq!(hist.len(), 1);
});

each_backend!(
    changed_or_missing_applied_files_are_refused,
    |t| async move {
        let dir = Dir::new();
        three(&dir);
        let m = Migrator::new(t.db.clone(), &dir.0);
        m.up(Some(1)).await.unwrap();
        dir.write(
        "0001_users.sql",
        "-- up\nCREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, extra TEXT);\n-- down\nDROP TABLE users;\n",
    );
        let err = m.up(None).await.unwrap_err();
        assert_eq!(reason(&err), MigrationFailure::ChecksumMismatch);
        assert!(
            err.to_string()
                .starts_with("migration 0001_users.sql changed after it was applied"),
            "{err}"
        );
        assert!(matches!(
            m.status().await.unwrap()[0].state,
            MigrationState::Changed(_)
        ));
        // Nothing else ran.
        assert!(!tables(&t.db).await.contains(&"posts".to_owned()));
        assert_eq!(
            reason(&m.down(1).await.unwrap_err()),
            MigrationFailure::ChecksumMismatch
        );
        std::fs::remove_file(dir.0.join("0001_users.sql")).unwrap();
        let err = m.up(None).await.unwrap_err();
        assert_eq!(reason(&err), MigrationFailure::MissingFile);
        assert!(matches!(
            m.status().await.unwrap()[0].state,
            MigrationState::Missing(_)
        ));
    }
);

each_backend!(
    malformed_files_are_refused_before_anything_runs,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_a.sql", "-- up\nCREATE TABLE a (id INTEGER);\n");
        dir.write("0002_b.sql", "CREATE TABLE b (id INTEGER);\n");
        let m = Migrator::new(t.db.clone(), &dir.0);
        let err = m.up(None).await.unwrap_err();
        assert_eq!(reason(&err), MigrationFailure::InvalidFile);
        assert_eq!(
            err.to_string(),
            "migration 0002_b.sql has statements before its `-- up` section"
        );
        assert!(!tables(&t.db).await.contains(&"a".to_owned()));
        std::fs::remove_file(dir.0.join("0002_b.sql")).unwrap();
        m.up(None).await.unwrap();
        let err = m.down(1).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "migration 0001_a.sql has no `-- down` section"
        );
        dir.write("0003_c.sql", "-- up\n");
        dir.write("3_c.sql", "-- up\n");
        assert_eq!(
            reason(&m.up(None).await.unwrap_err()),
            MigrationFailure::InvalidFile
        );
    }
);

each_backend!(
    script_migrations_run_through_a_registered_runner,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_users.sql", "-- up\nCREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT, upper_name TEXT);\nINSERT INTO users (id, name) VALUES (1, 'ada');\n-- down\nDROP TABLE users;\n");
        dir.write(
            "0002_backfill.lua",
            "function up(db) end\nfunction down(db) end\n",
        );
        let m = Migrator::new(t.db.clone(), &dir.0);
        let err = m.up(None).await.unwrap_err();
        assert_eq!(reason(&err), MigrationFailure::NoScriptRunner);
        assert!(
            err.to_string()
                .contains("0002_backfill.lua is a .lua script and no script runner"),
            "{err}"
        );
        // Refused before anything ran.
        assert!(!tables(&t.db).await.contains(&"users".to_owned()));

        // A stand-in for the Lua binding: backfills in the migration's transaction.
        let runner = FnScriptRunner::new(MigrationKind::Lua, |mut mig| {
            Box::pin(async move {
                assert!(mig.file.source.contains("function up"));
                let sql = match mig.direction {
                    Direction::Up => "UPDATE users SET upper_name = upper(name)",
                    Direction::Down => "UPDATE users SET upper_name = NULL",
                };
                mig.transaction.execute(sql, &[]).await?;
                Ok(mig.transaction)
            })
        });
        let m = m.script_runner(Arc::new(runner));
        m.up(None).await.unwrap();
        let row =
            t.db.fetch_one("SELECT upper_name FROM users", &[])
                .await
                .unwrap();
        assert_eq!(row.get("upper_name").unwrap(), &Value::from("ADA"));
        m.down(1).await.unwrap();
        let row =
            t.db.fetch_one("SELECT upper_name FROM users", &[])
                .await
                .unwrap();
        assert_eq!(row.get("upper_name").unwrap(), &Value::Null);

        // A script that fails is rolled back with what it did.
        let failing = FnScriptRunner::new(MigrationKind::Lua, |mut mig| {
            Box::pin(async move {
                mig.transaction
                    .execute("UPDATE users SET upper_name = 'X'", &[])
                    .await?;
                mig.transaction
                    .execute("SELECT * FROM nowhere", &[])
                    .await?;
                Ok(mig.transaction)
            })
        });
        let m = Migrator::new(t.db.clone(), &dir.0).script_runner(Arc::new(failing));
        let err = m.up(None).await.unwrap_err();
        assert!(
            err.to_string()
                .starts_with("migration 0002_backfill.lua failed in the script of its up section"),
            "{err}"
        );
        let row =
            t.db.fetch_one("SELECT upper_name FROM users", &[])
                .await
                .unwrap();
        assert_eq!(row.get("upper_name").unwrap(), &Value::Null);
        assert!(matches!(
            m.status().await.unwrap()[1].state,
            MigrationState::Pending
        ));
    }
);

each_backend!(dry_runs_return_the_sql_and_run_nothing, |t| async move {
    let dir = Dir::new();
    three(&dir);
    let m = Migrator::new(t.db.clone(), &dir.0);
    let plan = m.plan_up(None).await.unwrap();
    assert_eq!(plan.len(), 3);
    assert_eq!(plan[1].statements.len(), 2);
    assert_eq!(
        plan[1].statements[0].sql(),
        "INSERT INTO users (id, name) VALUES (1, 'a;b')"
    );
    assert!(tables(&t.db).await.is_empty());
    m.up(None).await.unwrap();
    let plan = m.plan_down(1).await.unwrap();
    assert_eq!(plan[0].statements[0].sql(), "DROP TABLE posts");
    assert!(tables(&t.db).await.contains(&"posts".to_owned()));
});

fn models(with_bio: bool) -> Metadata {
    let mut cols = vec![
        Column::new("id", SqlType::Int8).primary_key(),
        Column::new("name", "text").not_null(),
    ];
    if with_bio {
        cols.push(Column::new("bio", "text"));
    }
    let meta = Metadata::new();
    meta.add(
        Model::builder("User")
            .table("users")
            .columns(cols)
            .build()
            .unwrap(),
    )
    .unwrap();
    meta
}

each_backend!(autogenerate_new_and_check, |t| async move {
    let dir = Dir::new();
    let m = Migrator::new(t.db.clone(), &dir.0).models(models(false));
    assert!(!m.check().await.unwrap().is_empty());
    let path = m.autogenerate("Create users").await.unwrap().unwrap();
    assert_eq!(path.file_name().unwrap(), "0001_create_users.sql");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("--   create table `users`"), "{text}");
    assert!(text.contains("\n-- up\nCREATE TABLE \"users\""), "{text}");
    assert!(
        text.contains("\n-- down\nDROP TABLE \"users\";\n"),
        "{text}"
    );
    // Not applied yet: a second autogenerate would duplicate it.
    assert_eq!(
        m.autogenerate("again").await.unwrap_err().kind(),
        ErrorKind::InvalidState
    );
    m.up(None).await.unwrap();
    assert!(m.check().await.unwrap().is_empty());
    assert_eq!(m.autogenerate("nothing").await.unwrap(), None);
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 1);

    let empty = m.new_migration("by hand").unwrap();
    assert_eq!(empty.file_name().unwrap(), "0002_by_hand.sql");
    m.up(None).await.unwrap();

    let m = Migrator::new(t.db.clone(), &dir.0).models(models(true));
    let diff = m.check().await.unwrap();
    assert_eq!(diff.changes()[0].to_string(), "add column `users`.`bio`");
    let path = m.autogenerate("bio").await.unwrap().unwrap();
    assert_eq!(path.file_name().unwrap(), "0003_bio.sql");
    m.up(None).await.unwrap();
    assert!(m.check().await.unwrap().is_empty());
    m.down(1).await.unwrap();
    assert!(!m.check().await.unwrap().is_empty());
    let lua = m.new_migration_of("backfill", MigrationKind::Lua).unwrap();
    assert!(
        std::fs::read_to_string(lua)
            .unwrap()
            .contains("function up(db)")
    );
});

each_backend!(autogenerate_refuses_drops_unless_allowed, |t| async move {
    let dir = Dir::new();
    t.db.execute(
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name TEXT NOT NULL, bio TEXT)",
        &[],
    )
    .await
    .unwrap();
    t.db.execute("CREATE TABLE notes (id BIGINT PRIMARY KEY)", &[])
        .await
        .unwrap();
    let m = Migrator::new(t.db.clone(), &dir.0).models(models(false));
    let err = m.autogenerate("trim").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidState);
    let msg = err.to_string();
    assert!(
        msg.contains("drop table `notes`")
            && msg.contains("drop column `users`.`bio`")
            && msg.contains("--allow-drops"),
        "{msg}"
    );
    assert_eq!(std::fs::read_dir(&dir.0).unwrap().count(), 0);
    let m = m.allow_drops(true);
    let path = m.autogenerate("trim").await.unwrap().unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("-- WARNING: THIS MIGRATION DROPS DATA")
            && text.contains("--   drop table `notes`"),
        "{text}"
    );
    m.up(None).await.unwrap();
    assert!(m.check().await.unwrap().is_empty());
});

/// Five migrations (a table, then four that each log one row): two runners on separate pools at
/// once must apply each exactly once.
async fn race(db: Database, url: &str, dir: &Path) {
    let other = Database::connect(url).await.unwrap();
    let a = Migrator::new(db.clone(), dir);
    let b = Migrator::new(other.clone(), dir);
    let (ra, rb) = tokio::join!(
        tokio::spawn(async move { a.up(None).await }),
        tokio::spawn(async move { b.up(None).await })
    );
    let (ra, rb) = (ra.unwrap().unwrap(), rb.unwrap().unwrap());
    assert_eq!(
        ra.len() + rb.len(),
        5,
        "a ran {}, b ran {}",
        ra.len(),
        rb.len()
    );
    let n = db
        .fetch_one("SELECT count(*) AS n FROM log", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(4));
    let n = db
        .fetch_one("SELECT count(*) AS n FROM dbridge_migrations", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(5));
    other.close().await;
}

fn race_files(dir: &Dir) {
    dir.write(
        "0001_log.sql",
        "-- up\nCREATE TABLE log (n INTEGER NOT NULL);\n-- down\nDROP TABLE log;\n",
    );
    for i in 2..=5 {
        dir.write(
            &format!("{i:04}_step.sql"),
            &format!("-- up\nINSERT INTO log (n) VALUES ({i});\n-- down\nDELETE FROM log WHERE n = {i};\n"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runners_apply_each_migration_once_sqlite() {
    for _ in 0..3 {
        let t = TestDb::sqlite_file().await;
        let dir = Dir::new();
        race_files(&dir);
        race(t.db.clone(), &t.url, &dir.0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runners_apply_each_migration_once_postgres() {
    for _ in 0..3 {
        let t = TestDb::postgres().await;
        let dir = Dir::new();
        race_files(&dir);
        race(t.db.clone(), &t.url, &dir.0).await;
    }
}

/// One runner in this process. Spawned by the test below as a child process
/// with `DBRIDGE_MIGRATE_CHILD=url|dir`: it applies what it can and prints how
/// many migrations it ran. Run alone, it applies the five race migrations to
/// a fresh SQLite database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runner_process() {
    match std::env::var("DBRIDGE_MIGRATE_CHILD") {
        Ok(spec) => {
            let (url, dir) = spec.split_once('|').unwrap();
            let db = Database::connect(url).await.unwrap();
            let ran = Migrator::new(db.clone(), dir).up(None).await.unwrap();
            println!("RAN {}", ran.len());
            db.close().await;
        }
        Err(_) => {
            let t = TestDb::sqlite().await;
            let dir = Dir::new();
            race_files(&dir);
            let ran = Migrator::new(t.db.clone(), &dir.0).up(None).await.unwrap();
            assert_eq!(ran.len(), 5);
        }
    }
}

async fn race_processes(db: &Database, url: &str, dir: &Path) {
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "runner_process",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DBRIDGE_MIGRATE_CHILD", format!("{url}|{}", dir.display()))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let mut total = 0;
    for child in [a, b] {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let ran: usize = stdout
            .lines()
            .find_map(|l| l.split("RAN ").nth(1))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no count in {stdout}"));
        total += ran;
    }
    assert_eq!(total, 5);
    let n = db
        .fetch_one("SELECT count(*) AS n FROM log", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(4));
    let n = db
        .fetch_one("SELECT count(*) AS n FROM dbridge_migrations", &[])
        .await
        .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runner_processes_apply_each_migration_once() {
    let t = TestDb::sqlite_file().await;
    let dir = Dir::new();
    race_files(&dir);
    race_processes(&t.db, &t.url, &dir.0).await;
    let t = TestDb::postgres().await;
    let dir = Dir::new();
    race_files(&dir);
    race_processes(&t.db, &t.url, &dir.0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autogenerate_leaves_out_a_down_it_cannot_write() {
    let t = TestDb::postgres().await;
    let dir = Dir::new();
    let models = |labels: &[&str]| {
        let mood = SqlType::Enum(Arc::new(dbridge_engine::EnumType {
            name: "mood".into(),
            labels: labels.iter().map(|s| (*s).to_owned()).collect(),
        }));
        let meta = Metadata::new();
        meta.add(
            dbridge_testkit::keyed("U", "u")
                .column(Column::new("mood", mood))
                .build()
                .unwrap(),
        )
        .unwrap();
        meta
    };
    let m = Migrator::new(t.db.clone(), &dir.0).models(models(&["a"]));
    m.autogenerate("init").await.unwrap().unwrap();
    m.up(None).await.unwrap();
    let m = Migrator::new(t.db.clone(), &dir.0).models(models(&["a", "b"]));
    let path = m.autogenerate("more moods").await.unwrap().unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(
        text.contains("ALTER TYPE \"mood\" ADD VALUE 'b';"),
        "{text}"
    );
    assert!(
        text.contains("-- no down section: it cannot be generated"),
        "{text}"
    );
    m.up(None).await.unwrap();
    assert!(m.check().await.unwrap().is_empty());
    let err = m.down(1).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "migration 0002_more_moods.sql has no `-- down` section"
    );
}

/// SQLite runs migrations with foreign keys off: a migration that leaves a
/// row pointing nowhere is rolled back; a violation already there before the
/// migration does not block it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_foreign_keys_are_checked_before_commit() {
    use sqlx::{ConnectOptions, Connection, Executor};
    let t = TestDb::sqlite_file().await;
    // One connection, so that the last check below runs on the one the
    // migrations ran on.
    let db = Database::connect_with(
        &t.url,
        dbridge_engine::ConnectOptions::new().max_connections(1),
    )
    .await
    .unwrap();
    let dir = Dir::new();
    dir.write(
        "0001_tables.sql",
        "-- up\nCREATE TABLE p (id INTEGER PRIMARY KEY);\n\
         CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id));\n-- down\nDROP TABLE c;\nDROP TABLE p;\n",
    );
    let m = Migrator::new(db.clone(), &dir.0);
    m.up(None).await.unwrap();

    dir.write(
        "0002_orphan.sql",
        "-- up\nINSERT INTO c (id, p_id) VALUES (1, 42);\n-- down\n",
    );
    let err = m.up(None).await.unwrap_err();
    assert_eq!(reason(&err), MigrationFailure::ForeignKeyCheck);
    assert_eq!(
        err.to_string(),
        "migration 0002_orphan.sql: foreign key check failed: 1 row(s) of `c` reference missing rows of `p`; rolled back"
    );
    let n =
        t.db.fetch_one("SELECT count(*) AS n FROM c", &[])
            .await
            .unwrap();
    assert_eq!(n.get("n").unwrap().as_i64(), Some(0));
    std::fs::remove_file(dir.0.join("0002_orphan.sql")).unwrap();

    // An orphan written behind dbridge's back, with foreign keys off.
    let path = t.url.trim_start_matches("sqlite://");
    let mut raw = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .foreign_keys(false)
        .connect()
        .await
        .unwrap();
    raw.execute("INSERT INTO c (id, p_id) VALUES (7, 99)")
        .await
        .unwrap();
    raw.close().await.unwrap();
    dir.write(
        "0002_more.sql",
        "-- up\nALTER TABLE c ADD COLUMN note TEXT;\n-- down\n",
    );
    m.up(None).await.unwrap();
    // The connection went back to the pool with foreign keys on again.
    let err =
        t.db.execute("INSERT INTO c (id, p_id) VALUES (8, 100)", &[])
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ForeignKeyViolation);
}
