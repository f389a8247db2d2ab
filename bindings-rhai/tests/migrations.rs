//! `.rhai` migrations run by `RhaiScriptRunner` (data migrations in the
//! migration's transaction, failures rolled back and reported with the file),
//! and `db.migrator(dir)` from scripts, on SQLite and PostgreSQL.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use dbridge_engine::migrate::{MigrationState, Migrator};
use dbridge_engine::{Database, Error, MigrationFailure};
use dbridge_rhai::RhaiScriptRunner;

struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "dbridge-rhai-mig-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
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

fn migrator(db: &Database, dir: &Dir) -> Migrator {
    Migrator::new(db.clone(), &dir.0).script_runner(Arc::new(RhaiScriptRunner::new()))
}

const PEOPLE: &str = "-- up
CREATE TABLE people (id BIGINT PRIMARY KEY, first TEXT NOT NULL, last TEXT NOT NULL);
INSERT INTO people (id, first, last) VALUES (1, 'Ada', 'Lovelace'), (2, 'Alan', 'Turing');
-- down
DROP TABLE people;
";

const FULL_NAME: &str = r#"
fn up(db) {
    db.execute("ALTER TABLE people ADD COLUMN full_name TEXT");
    for p in db.fetch_all("SELECT id, first, last FROM people ORDER BY id") {
        db.execute("UPDATE people SET full_name = $1 WHERE id = $2", [p.first + " " + p.last, p.id]);
    }
    let left = db.fetch_one("SELECT count(*) AS n FROM people WHERE full_name IS NULL").n;
    if left != 0 { throw "rows left without a full name"; }
}

fn down(db) {
    db.execute("ALTER TABLE people DROP COLUMN full_name");
}
"#;

async fn full_names(db: &Database) -> Vec<String> {
    db.fetch_all("SELECT full_name FROM people ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("full_name").unwrap().as_str().unwrap().to_owned())
        .collect()
}

fn migration_error(e: &Error) -> (MigrationFailure, Option<String>, String) {
    match e {
        Error::Migration {
            reason,
            file,
            message,
            ..
        } => (*reason, file.clone(), message.clone()),
        other => panic!("not a migration error: {other}"),
    }
}

dbridge_testkit::each_backend!(
    rhai_data_migration_adds_and_backfills_a_column,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write("0002_full_name.rhai", FULL_NAME);
        let m = migrator(&t.db, &dir);
        assert_eq!(m.up(None).await.unwrap().len(), 2);
        assert_eq!(full_names(&t.db).await, ["Ada Lovelace", "Alan Turing"]);
        m.down(1).await.unwrap();
        assert!(
            t.db.fetch_all("SELECT full_name FROM people", &[])
                .await
                .is_err()
        );
        m.up(None).await.unwrap();
        assert_eq!(full_names(&t.db).await, ["Ada Lovelace", "Alan Turing"]);
    }
);

dbridge_testkit::each_backend!(a_failing_rhai_migration_leaves_no_trace, |t| async move {
    let dir = Dir::new();
    dir.write("0001_people.sql", PEOPLE);
    dir.write(
        "0002_broken.rhai",
        r#"fn up(db) {
    db.execute("CREATE TABLE audit (id BIGINT PRIMARY KEY)");
    db.execute("UPDATE people SET first = 'X'");
    throw "boom in the backfill";
}
fn down(db) {}
"#,
    );
    let m = migrator(&t.db, &dir);
    let (reason, file, message) = migration_error(&m.up(None).await.unwrap_err());
    assert_eq!(reason, MigrationFailure::Failed);
    assert_eq!(file.as_deref(), Some("0002_broken.rhai"));
    assert!(message.contains("boom in the backfill"), "{message}");
    assert!(message.contains("line 4"), "{message}");
    let status = m.status().await.unwrap();
    assert!(matches!(status[0].state, MigrationState::Applied(_)));
    assert!(matches!(status[1].state, MigrationState::Pending));
    assert!(t.db.fetch_all("SELECT * FROM audit", &[]).await.is_err());
    let first =
        t.db.fetch_one("SELECT first FROM people WHERE id = 1", &[])
            .await
            .unwrap();
    assert_eq!(first.get("first").unwrap().as_str(), Some("Ada"));

    dir.write(
        "0002_broken.rhai",
        "fn up(db) { db.execute(\"INSERT INTO people (id) VALUES (9)\"); }",
    );
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("not_null_violation"), "{message}");
    dir.write("0002_broken.rhai", "fn down(db) {}");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("defines no `up` function"), "{message}");
    dir.write("0002_broken.rhai", "fn up(db) { db.commit(); }");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(message.contains("commit"), "{message}");
    dir.write("0002_broken.rhai", "fn up(db) { loop {} }");
    let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
    assert!(
        message.to_lowercase().contains("too many operations"),
        "{message}"
    );
    assert!(matches!(
        m.status().await.unwrap()[1].state,
        MigrationState::Pending
    ));
});

dbridge_testkit::each_backend!(migrator_from_rhai, |t| async move {
    let dir = Dir::new();
    dir.write("0001_people.sql", PEOPLE);
    dir.write("0002_full_name.rhai", FULL_NAME);
    let script = format!(
        r#"let m = db.migrator("{}");
        let before = m.status();
        let plan = m.plan_up(1);
        let ran = m.up();
        let after = m.status();
        let undone = m.down();
        let path = m.new_migration("add tags", "rhai");
        let e = "";
        try {{ m.up(99); }} catch (err) {{ e = err.kind + ": " + err.message; }}
        let c = "";
        try {{ m.check(); }} catch (err) {{ c = err.message; }}
        [before[0].state, before[1].state, plan.len(), plan[0].sql[0].sub_string(0, 12),
         ran.len(), ran[1].file, after[1].state, undone[0].name, m.status()[1].state,
         path, e, c]"#,
        dir.0.display()
    );
    let got: Vec<String> = common::ok(&t, &script)
        .await
        .into_array()
        .unwrap()
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    assert_eq!(
        got[..9],
        [
            "pending",
            "pending",
            "1",
            "CREATE TABLE",
            "2",
            "0002_full_name.rhai",
            "applied",
            "full_name",
            "pending"
        ]
    );
    assert!(got[9].ends_with("0003_add_tags.rhai"), "{}", got[9]);
    assert!(
        std::fs::read_to_string(&got[9])
            .unwrap()
            .contains("fn up(db)")
    );
    assert!(
        got[10].starts_with("migration: no migration has version 99"),
        "{}",
        got[10]
    );
    assert!(got[11].contains("no models to compare with"), "{}", got[11]);
});

dbridge_testkit::each_backend!(
    check_and_autogenerate_against_reflected_models,
    |t| async move {
        let dir = Dir::new();
        let script = format!(
            r#"let models = dbridge::connect("sqlite::memory:");
        models.execute("CREATE TABLE tags (id BIGINT PRIMARY KEY, label TEXT NOT NULL UNIQUE)");
        let m = db.migrator("{}", #{{ models: models }});
        let changes = m.check();
        let file = m.autogenerate("create tags");
        m.up();
        [changes.len(), file, m.check().len(), m.autogenerate("nothing") == ()]"#,
            dir.0.display()
        );
        let got = common::ok(&t, &script).await.into_array().unwrap();
        assert_eq!(got[0].as_int().unwrap(), 1);
        assert!(
            got[1].to_string().ends_with("0001_create_tags.sql"),
            "{}",
            got[1]
        );
        assert_eq!(got[2].as_int().unwrap(), 0);
        assert!(got[3].as_bool().unwrap());
    }
);
