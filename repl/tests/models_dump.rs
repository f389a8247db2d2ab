//! `dbridge-repl models dump` through the real binary on a schema with
//! foreign keys (composite and two to one table), composite keys, named
//! indexes, defaults and (PostgreSQL) an enum type and identities: the dump,
//! in Lua and in Rhai, reports no drift with `migrate check --models`, and
//! its models navigate. `migrate autogenerate --models` takes the declared
//! models, and refuses drops without `--allow-drops`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dbridge_engine::{Backend, Database};
use dbridge_testkit::{TestDb, each_backend};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dbridge-dump-{tag}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(dir.join("migrations")).unwrap();
    dir
}

fn repl(url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .arg("--url")
        .arg(url)
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

const SQLITE: &[&str] = &[
    "CREATE TABLE artists (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE albums (id INTEGER PRIMARY KEY, title TEXT NOT NULL, \
     artist_id BIGINT NOT NULL REFERENCES artists (id) ON DELETE CASCADE, \
     rating INTEGER DEFAULT 3, added TEXT DEFAULT 'new')",
    "CREATE INDEX albums_title_idx ON albums (title)",
    "CREATE TABLE tracks (id INTEGER PRIMARY KEY, name TEXT NOT NULL, \
     album_id BIGINT REFERENCES albums (id), ms INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE accounts (org TEXT NOT NULL, num INTEGER NOT NULL, label TEXT UNIQUE, \
     PRIMARY KEY (org, num))",
    "CREATE TABLE entries (id INTEGER PRIMARY KEY, org TEXT, num INTEGER, amount INTEGER, \
     CONSTRAINT entries_account_fk FOREIGN KEY (org, num) REFERENCES accounts (org, num))",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, sender_id BIGINT REFERENCES artists (id), \
     recipient_id BIGINT REFERENCES artists (id))",
    // An enum column as dbridge makes one on SQLite: TEXT kept to its labels.
    "CREATE TABLE moods (id INTEGER PRIMARY KEY, mood TEXT NOT NULL DEFAULT 'happy', \
     CONSTRAINT ck_moods_mood_enum CHECK (\"mood\" IN ('happy', 'sad')))",
];

const POSTGRES: &[&str] = &[
    "CREATE TYPE mood AS ENUM ('happy', 'sad', 'it''s')",
    "CREATE TABLE artists (id SERIAL PRIMARY KEY, name TEXT NOT NULL)",
    "CREATE TABLE albums (id INT PRIMARY KEY, title VARCHAR(160) NOT NULL, \
     artist_id INT NOT NULL REFERENCES artists (id) ON DELETE CASCADE, \
     rating INT DEFAULT 3, added TIMESTAMPTZ DEFAULT now())",
    "CREATE INDEX albums_title_idx ON albums (title)",
    "CREATE TABLE tracks (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
     name TEXT NOT NULL, album_id INT REFERENCES albums (id), ms INT NOT NULL DEFAULT 0, \
     price NUMERIC(10,2) NOT NULL DEFAULT 0.99, mood mood DEFAULT 'happy', tags TEXT[])",
    "CREATE TABLE accounts (org TEXT NOT NULL, num INT NOT NULL, label TEXT UNIQUE, \
     PRIMARY KEY (org, num))",
    "CREATE TABLE entries (id BIGINT PRIMARY KEY, org TEXT, num INT, amount INT, \
     active BOOLEAN NOT NULL DEFAULT true, FOREIGN KEY (org, num) REFERENCES accounts (org, num))",
    "CREATE UNIQUE INDEX entries_org_amount ON entries (org, amount)",
    "CREATE TABLE messages (id BIGINT PRIMARY KEY, sender_id INT REFERENCES artists (id), \
     recipient_id INT REFERENCES artists (id))",
];

const DATA: &[&str] = &[
    "INSERT INTO artists (id, name) VALUES (1, 'Miles')",
    "INSERT INTO albums (id, title, artist_id) VALUES (1, 'Kind of Blue', 1)",
    "INSERT INTO tracks (name, album_id, ms) VALUES ('So What', 1, 545000)",
];

async fn schema(t: &TestDb) -> Database {
    let db = Database::connect(&t.url).await.unwrap();
    let ddl = match t.backend() {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    for sql in ddl.iter().chain(DATA) {
        db.execute(sql, &[]).await.unwrap();
    }
    db
}

fn dump_to(url: &str, lang: &str, dir: &Path) -> (PathBuf, String) {
    let out = ok(&repl(url, &["models", "dump", "--lang", lang]));
    let path = dir.join(format!("models.{lang}"));
    std::fs::write(&path, &out).unwrap();
    (path, out)
}

fn check(url: &str, dir: &Path, models: &Path) -> Output {
    let migrations = dir.join("migrations");
    repl(
        url,
        &[
            "migrate",
            "--dir",
            migrations.to_str().unwrap(),
            "check",
            "--models",
            models.to_str().unwrap(),
        ],
    )
}

each_backend!(a_dump_round_trips_without_drift, |t| async move {
    let _db = schema(&t).await;
    let dir = temp_dir("round");
    let (lua, text) = dump_to(&t.url, "lua", &dir);
    // Ordered by dependency: artists before albums before tracks.
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s} in\n{text}"));
    assert!(at("name = \"artists\"") < at("name = \"albums\""));
    assert!(at("name = \"albums\"") < at("name = \"tracks\""));
    assert!(text.contains(
        "album = dbridge.belongs_to(\"albums\", { foreign_key = \"album_id\", back_populates = \"tracks\" })"
    ), "{text}");
    assert!(
        text.contains("messages_by_sender_id = dbridge.has_many(\"messages\""),
        "{text}"
    );
    assert!(
        text.contains("columns = { \"org\", \"num\" }, references = \"accounts\""),
        "{text}"
    );
    assert!(text.contains("name = \"albums_title_idx\""), "{text}");
    if t.backend() == Backend::Postgres {
        assert!(
            text.contains("\"enum mood('happy', 'sad', 'it''s')\", default = \"happy\""),
            "{text}"
        );
        assert!(text.contains("identity = \"always\""), "{text}");
        assert!(text.contains("server_default = \"now\""), "{text}");
    }
    let out = check(&t.url, &dir, &lua);
    assert_eq!(ok(&out), "the database matches the models\n");
    let (rhai, text) = dump_to(&t.url, "rhai", &dir);
    assert!(text.contains("db.model(#{"), "{text}");
    assert!(text.contains("dbridge::belongs_to(\"albums\""), "{text}");
    let out = check(&t.url, &dir, &rhai);
    assert_eq!(ok(&out), "the database matches the models\n");
    // The dumped models navigate, from either language.
    let got = ok(&repl(
        &t.url,
        &[
            "--models",
            lua.to_str().unwrap(),
            "-e",
            "return db:models().tracks:get(1).album.artist.name",
        ],
    ));
    assert!(got.contains("Miles"), "{got}");
    let got = ok(&repl(
        &t.url,
        &[
            "--lang",
            "rhai",
            "--models",
            rhai.to_str().unwrap(),
            "-e",
            "db.model(\"tracks\").get(1).album.artist.name",
        ],
    ));
    assert!(got.contains("Miles"), "{got}");
    std::fs::remove_dir_all(&dir).unwrap();
});

each_backend!(the_prompt_s_tables_navigate, |t| async move {
    let _db = schema(&t).await;
    // The REPL reflects on connect and binds each table to a global; an
    // instance got without a session navigates, loading on access.
    let got = ok(&repl(&t.url, &["-e", "print(tracks:get(1).album.title)"]));
    assert_eq!(got.trim(), "Kind of Blue");
    let got = ok(&repl(
        &t.url,
        &["--lang", "rhai", "-e", "print(tracks.get(1).album.title)"],
    ));
    assert_eq!(got.trim(), "Kind of Blue");
    let got = ok(&repl(
        &t.url,
        &[
            "-e",
            "local s = db:session(); return s:get(tracks, 1).album.title",
        ],
    ));
    assert!(got.contains("Kind of Blue"), "{got}");
    let got = ok(&repl(
        &t.url,
        &[
            "-e",
            "return #db:query(albums):options(dbridge.selectinload(\"tracks\")):one().tracks",
        ],
    ));
    assert_eq!(got.trim(), "1");
    let got = ok(&repl(
        &t.url,
        &[
            "--lang",
            "rhai",
            "-e",
            "db.query(tracks).join(\"album\").where(albums.title.eq(\"Kind of Blue\")).count()",
        ],
    ));
    assert_eq!(got.trim(), "1");
});

each_backend!(
    autogenerate_takes_declared_models_and_refuses_drops,
    |t| async move {
        let db = Database::connect(&t.url).await.unwrap();
        db.execute("CREATE TABLE old_notes (id BIGINT PRIMARY KEY)", &[])
            .await
            .unwrap();
        let dir = temp_dir("autogen");
        let models = dir.join("models.lua");
        // Declared, never created: the declarations are the target.
        std::fs::write(
            &models,
            r#"db:model { name = "Tag", table = "tags", columns = {
  { "id", "bigint", primary_key = true },
  { "label", "text", nullable = false },
} }
"#,
        )
        .unwrap();
        let migrations = dir.join("migrations");
        let args = |extra: &[&'static str]| -> Vec<String> {
            let mut a: Vec<String> = [
                "migrate",
                "--dir",
                migrations.to_str().unwrap(),
                "autogenerate",
                "tags",
                "--models",
                models.to_str().unwrap(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };
        let run = |a: Vec<String>| {
            let a: Vec<&str> = a.iter().map(String::as_str).collect();
            repl(&t.url, &a)
        };
        let out = run(args(&[]));
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains("drop table `old_notes`") && err.contains("--allow-drops"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&migrations).unwrap().count(), 0);
        let file = ok(&run(args(&["--allow-drops"])));
        let sql = std::fs::read_to_string(file.trim()).unwrap();
        assert!(sql.contains("--   create table `tags`"), "{sql}");
        assert!(sql.contains("THIS MIGRATION DROPS DATA"), "{sql}");
        // A script that gives no models is refused, not read as "drop everything".
        std::fs::write(&models, "-- nothing here\n").unwrap();
        let out = check(&t.url, &dir, &models);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("declares no models"),
            "{}",
            text(&out.stderr)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
);
