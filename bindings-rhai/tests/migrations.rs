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

/// A data migration with a model of its own: backfilled through a session
/// and through the query builder and `Model.update`; then a table it makes
/// is reflected and filled through `db.transaction`.
const MODEL_BACKFILL: &str = r#"
fn up(db) {
    db.execute("ALTER TABLE people ADD COLUMN full_name TEXT");
    db.execute("ALTER TABLE people ADD COLUMN initials TEXT");
    let Person = db.model(#{ name: "Person", table: "people", columns: [
        ["id", "bigint", #{ primary_key: true }],
        ["first", "text", #{ nullable: false }],
        ["last", "text", #{ nullable: false }],
        ["full_name", "text"],
        ["initials", "text"],
    ] });
    let s = db.session();
    for p in s.query(Person).order_by(Person.id).all() {
        p.full_name = p.first + " " + p.last;
    }
    s.commit(); // a flush: the migration's transaction stays open
    let kind = "";
    try { s.rollback(); } catch (e) { kind = e.kind; }
    if kind != "invalid_state" { throw "a migration's session cannot roll it back"; }
    for p in db.query(Person).where(Person.initials.is_null()).all() {
        let initials = p.first.sub_string(0, 1) + p.last.sub_string(0, 1);
        Person.update(#{ initials: initials }).where(Person.id.eq(p.id)).execute();
    }
    Person.insert([#{ id: 3, first: "Grace", last: "Hopper" }]);
    db.savepoint("before_4");
    Person.insert([#{ id: 4, first: "Undone", last: "Row" }]);
    db.rollback_to("before_4");
    db.release("before_4");
    if db.query(Person).where(Person.full_name.is_null()).count() != 1 { throw "backfill"; }

    db.execute("CREATE TABLE badges (id BIGINT PRIMARY KEY, label TEXT NOT NULL)");
    // `people` has a model here: reflect leaves it to `Person`.
    let t = db.reflect();
    if "people" in t { throw "people reflected"; }
    db.transaction(|s| {
        for p in s.query(Person).where(Person.initials.is_not_null()).all() {
            s.add(t.badges.build(#{ id: p.id, label: p.initials }));
        }
    });
}

fn down(db) {
    db.execute("DROP TABLE badges");
    db.execute("DELETE FROM people WHERE id = 3");
    db.execute("ALTER TABLE people DROP COLUMN initials");
    db.execute("ALTER TABLE people DROP COLUMN full_name");
}
"#;

dbridge_testkit::each_backend!(
    rhai_data_migration_with_a_local_model_and_a_session,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write("0002_backfill.rhai", MODEL_BACKFILL);
        let script = format!(
            r#"let ran = db.migrator("{}").up().len();
            [ran, db.models().len()]"#,
            dir.0.display()
        );
        let got = common::ok(&t, &script).await.into_array().unwrap();
        assert_eq!(got[0].as_int().unwrap(), 2);
        assert_eq!(
            got[1].as_int().unwrap(),
            0,
            "a migration's models stay out of the application's"
        );
        let rows =
            t.db.fetch_all("SELECT full_name, initials FROM people ORDER BY id", &[])
                .await
                .unwrap();
        let text = |i: usize, c: &str| rows[i].get(c).unwrap().as_str().map(str::to_owned);
        assert_eq!(text(0, "full_name").as_deref(), Some("Ada Lovelace"));
        assert_eq!(text(1, "initials").as_deref(), Some("AT"));
        assert_eq!(text(2, "full_name"), None);
        assert_eq!(text(2, "initials"), None);
        assert_eq!(rows.len(), 3, "the row rolled back to a savepoint is gone");
        let badges =
            t.db.fetch_all("SELECT label FROM badges ORDER BY id", &[])
                .await
                .unwrap();
        assert_eq!(badges.len(), 2);
        assert_eq!(badges[0].get("label").unwrap().as_str(), Some("AL"));

        migrator(&t.db, &dir).down(1).await.unwrap();
        assert!(t.db.fetch_all("SELECT * FROM badges", &[]).await.is_err());
    }
);

dbridge_testkit::each_backend!(
    a_rhai_data_migration_failing_midway_leaves_no_trace,
    |t| async move {
        let dir = Dir::new();
        dir.write("0001_people.sql", PEOPLE);
        dir.write(
            "0002_audit.rhai",
            r#"fn up(db) {
    db.execute("CREATE TABLE audit (id BIGINT PRIMARY KEY, note TEXT)");
    let Audit = db.model(#{ name: "Audit", table: "audit", columns: [
        ["id", "bigint", #{ primary_key: true }], ["note", "text"]] });
    Audit.insert([#{ id: 1, note: "inserted" }]);
    let s = db.session();
    s.add(Audit.build(#{ id: 2, note: "added" }));
    s.commit();
    let People = db.reflect().people;
    People.update(#{ first: "X" }).execute();
    if db.query(Audit).count() != 2 { throw "audit"; }
    if db.query(People).where(People.first.eq("X")).count() != 2 { throw "people"; }
    throw "boom midway";
}
fn down(db) { db.execute("DROP TABLE audit"); }
"#,
        );
        let m = migrator(&t.db, &dir);
        let err = m.up(None).await.unwrap_err();
        let (_, file, message) = migration_error(&err);
        assert_eq!(file.as_deref(), Some("0002_audit.rhai"));
        assert!(message.contains("boom midway"), "{message}");
        let status = m.status().await.unwrap();
        assert!(matches!(status[0].state, MigrationState::Applied(_)));
        assert!(matches!(status[1].state, MigrationState::Pending));
        assert!(t.db.fetch_all("SELECT * FROM audit", &[]).await.is_err());
        let firsts =
            t.db.fetch_all("SELECT first FROM people ORDER BY id", &[])
                .await
                .unwrap();
        assert_eq!(firsts[0].get("first").unwrap().as_str(), Some("Ada"));
        assert_eq!(firsts[1].get("first").unwrap().as_str(), Some("Alan"));

        // What a migration's db refuses, with what to do instead.
        for (body, expected) in [
            ("db.begin();", "use db.session()"),
            ("db.create_all();", "own statements"),
            ("db.close();", "runner owns the connection"),
        ] {
            dir.write("0002_audit.rhai", &format!("fn up(db) {{ {body} }}"));
            let (_, _, message) = migration_error(&m.up(None).await.unwrap_err());
            assert!(message.contains(expected), "{body}: {message}");
        }
    }
);

dbridge_testkit::each_backend!(autogenerate_refuses_drops_unless_allowed, |t| async move {
    let dir = Dir::new();
    t.db.execute("CREATE TABLE old_notes (id BIGINT PRIMARY KEY)", &[])
        .await
        .unwrap();
    let script = format!(
        r#"db.model(#{{ name: "Tag", table: "tags", columns: [["id", "bigint", #{{ primary_key: true }}]] }});
        let err = "";
        try {{ db.migrator("{0}").autogenerate("tags"); }} catch (e) {{ err = e.message; }}
        let file = db.migrator("{0}", #{{ allow_drops: true }}).autogenerate("tags");
        [err, file]"#,
        dir.0.display()
    );
    let got = common::ok(&t, &script).await.into_array().unwrap();
    let err = got[0].to_string();
    assert!(err.contains("drop table `old_notes`"), "{err}");
    let text = std::fs::read_to_string(got[1].to_string()).unwrap();
    assert!(text.contains("THIS MIGRATION DROPS DATA"), "{text}");
});
