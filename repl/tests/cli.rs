//! The real binary: `run`, `-e`, piped scripts and dot-commands, with their
//! stdout, stderr and exit codes, on SQLite and PostgreSQL.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use dbridge_testkit::{TestDb, each_backend};

fn repl(url: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--url")
        .arg(url)
        .args(args)
        .env_remove("DATABASE_URL");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start dbridge-repl");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).expect("write stdin");
    }
    drop(pipe);
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn url(t: &TestDb) -> String {
    // An in-memory database is private to one process: give the child a file.
    if t.url == "sqlite::memory:" {
        let dir = std::env::temp_dir().join(format!("dbridge-repl-{}", uuid_like()));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}", dir.join("t.db").display())
    } else {
        t.url.clone()
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{n}", std::process::id())
}

each_backend!(execute_prints_values_and_tables, |t| async move {
    let url = url(&t);
    let out = repl(&url, &["-e", "return 40 + 2"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\n");

    let script = "db:execute('CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT, age INTEGER)')\n\
                  db:execute('INSERT INTO pets (id, name, age) VALUES ($1, $2, $3), ($4, $5, $6)', {1, 'Rex', 3, 2, 'Tom', dbridge.null})\n";
    let out = repl(&url, &[], Some(script));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = repl(
        &url,
        &[
            "-e",
            "return db:fetch_all('SELECT id, name, age FROM pets ORDER BY id')",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for want in ["id", "name", "age", "Rex", "Tom", "NULL", "(2 rows)"] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }

    let out = repl(
        &url,
        &["-e", ".sql SELECT name FROM pets WHERE age IS NULL"],
        None,
    );
    assert!(text(&out.stdout).contains("Tom"), "{}", text(&out.stdout));
    let out = repl(&url, &["-e", ".tables"], None);
    assert!(text(&out.stdout).contains("pets"), "{}", text(&out.stdout));
    let out = repl(&url, &["-e", ".schema pets"], None);
    assert!(text(&out.stdout).contains("age"), "{}", text(&out.stdout));
});

each_backend!(
    errors_are_one_line_with_a_kind_and_a_failing_status,
    |t| async move {
        let url = url(&t);
        let out = repl(&url, &["-e", "db:execute('SELEC 1')"], None);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(err.starts_with("error[syntax]: "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");

        let out = repl(&url, &[], Some("local x = 1\nerror('boom at ' .. x)\n"));
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("boom at 1"),
            "{}",
            text(&out.stderr)
        );

        let out = repl(&url, &["-e", ".nope"], None);
        assert_eq!(out.status.code(), Some(1));
        assert!(text(&out.stderr).contains("unknown command .nope"));
    }
);

each_backend!(run_passes_arguments_and_reports_failure, |t| async move {
    let url = url(&t);
    let dir = std::env::temp_dir().join(format!("dbridge-run-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let ok = dir.join("ok.lua");
    std::fs::write(
        &ok,
        "#!/usr/bin/env dbridge-repl\nprint(arg[1] .. '+' .. arg[2])\nprint(db:backend())\n",
    )
    .unwrap();
    let out = repl(&url, &["run", ok.to_str().unwrap(), "a", "--b"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("a+--b\n"), "{stdout}");

    let bad = dir.join("bad.lua");
    std::fs::write(&bad, "db:execute('CREATE TABLE u (id INTEGER PRIMARY KEY)')\ndb:execute('INSERT INTO u VALUES (1)')\ndb:execute('INSERT INTO u VALUES (1)')\n").unwrap();
    let out = repl(&url, &["run", bad.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error[unique_violation]"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
});

#[test]
fn bad_urls_fail_with_status_2_and_no_password() {
    let out = repl("postgres://u:Sup3rSecret@127.0.0.1:1/x", &["-e", "1"], None);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.starts_with("error[connection]"), "{err}");
    assert!(!err.contains("Sup3rSecret"), "{err}");
    let out = repl("mysql://x", &["-e", "1"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error[configuration]"));
}

each_backend!(sandbox_rolls_everything_back, |t| async move {
    let url = url(&t);
    let out = repl(
        &url,
        &["-e", "db:execute('CREATE TABLE kept (n INTEGER)')"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = "db:execute('INSERT INTO kept VALUES (1)')\n\
                  db:transaction(function(tx) tx:execute('INSERT INTO kept VALUES (2)') end)\n\
                  assert(db:fetch_one('SELECT count(*) AS n FROM kept').n == 2)\n";
    let out = repl(&url, &["--sandbox"], Some(script));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("sandbox rolled back"),
        "{}",
        text(&out.stderr)
    );
    let out = repl(
        &url,
        &[
            "-e",
            "return db:fetch_one('SELECT count(*) AS n FROM kept').n",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "0\n", "{}", text(&out.stderr));
});

each_backend!(rhai_sessions_and_scripts, |t| async move {
    let url = url(&t);
    let out = repl(&url, &["--lang", "rhai", "-e", "40 + 2"], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "42\n");
    let script = "db.execute(\"CREATE TABLE r (n INTEGER)\");\n\
                  db.execute(\"INSERT INTO r VALUES ($1), ($2)\", [1, 2]);\n\
                  print(db.fetch_one(\"SELECT sum(n) AS s FROM r\").s);\n";
    let out = repl(&url, &["--lang", "rhai"], Some(script));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "3\n");

    let dir = std::env::temp_dir().join(format!("dbridge-rhai-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.rhai");
    std::fs::write(
        &file,
        "print(ARGS[1]);\ndb.execute(\"INSERT INTO nowhere VALUES (1)\");\n",
    )
    .unwrap();
    let out = repl(&url, &["run", file.to_str().unwrap(), "hello"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "hello\n");
    assert!(
        text(&out.stderr).starts_with("error[undefined_table]"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
});

each_backend!(existing_tables_are_models, |t| async move {
    let url = url(&t);
    let setup = "db:execute('CREATE TABLE pets (id INTEGER PRIMARY KEY, name TEXT NOT NULL)')\n\
                 db:execute('INSERT INTO pets (id, name) VALUES ($1, $2), ($3, $4)', {1, 'Rex', 2, 'Tom'})\n";
    let out = repl(&url, &[], Some(setup));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A new session finds the table as a model named after it.
    let out = repl(
        &url,
        &[
            "-e",
            "print(pets:get(2).name, db:query(pets):where(pets.name:like('R%')):count())",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "Tom\t1\n");
    // Instances print as a table, one as a record; .describe lists columns.
    let out = repl(
        &url,
        &["-e", "return db:query(pets):order_by(pets.id):all()"],
        None,
    );
    let stdout = text(&out.stdout);
    for want in ["id", "name", "Rex", "Tom", "(2 rows)"] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }
    let out = repl(&url, &["-e", ".describe pets"], None);
    let stdout = text(&out.stdout);
    for want in ["column", "name", "text", "primary_key"] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }
    // Reflected models are not the declared schema: drop_all leaves them.
    let out = repl(&url, &["-e", "db:drop_all() print(pets:get(1).name)"], None);
    assert_eq!(text(&out.stdout), "Rex\n", "{}", text(&out.stderr));
    // Rhai sessions get them too, and print instances as a table.
    let out = repl(
        &url,
        &[
            "--lang",
            "rhai",
            "-e",
            "db.query(pets).order_by(pets.id).all()",
        ],
        None,
    );
    let stdout = text(&out.stdout);
    for want in ["id", "name", "Rex", "Tom", "(2 rows)"] {
        assert!(stdout.contains(want), "missing {want:?} in\n{stdout}");
    }
});

// A table that cannot be reflected as a model is named in a warning on
// stderr at start-up (it used to be skipped in silence); the session still runs.
each_backend!(unmappable_tables_are_named_in_a_warning, |t| async move {
    let url = url(&t);
    let setup = "db:execute('CREATE TABLE pets (id INTEGER PRIMARY KEY)')\n\
                 db:execute('CREATE TABLE \"odd name\" (id INTEGER PRIMARY KEY)')\n";
    let out = repl(&url, &[], Some(setup));
    assert!(out.status.success(), "{}", text(&out.stderr));
    for lang in ["lua", "rhai"] {
        let out = repl(&url, &["--lang", lang, "-e", "1"], None);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains("warning: table `odd name` is not a model:"),
            "{lang}: {err}"
        );
        assert!(!err.contains("`pets`"), "{lang}: {err}");
    }
});

/// The header row of a printed table, as its column names.
fn header(stdout: &str) -> Vec<String> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with('│'))
        .unwrap_or_else(|| panic!("no table in\n{stdout}"));
    line.split(['│', '┆'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

each_backend!(import_loads_csv_all_or_nothing, |t| async move {
    let url = url(&t);
    let dir = std::env::temp_dir().join(format!("dbridge-import-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = repl(
        &url,
        &[
            "-e",
            "db:execute('CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, born DATE, karma INTEGER)')",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    // A bad value on the last line: nothing is loaded, the error names the
    // line and the column but not the value.
    let bad = dir.join("bad.csv");
    std::fs::write(
        &bad,
        "id,name,karma\n1,Ada,5\n2,Grace,\n3,Linus,secret-x7\n",
    )
    .unwrap();
    let out = repl(
        &url,
        &["-e", &format!(".import {} people", bad.display())],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error[invalid_value]"), "{err}");
    assert!(err.contains("line 4") && err.contains("karma"), "{err}");
    assert!(!err.contains("secret-x7"), "the value leaked: {err}");
    let out = repl(
        &url,
        &[
            "-e",
            "return db:fetch_one('SELECT count(*) AS n FROM people').n",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "0\n");

    // Columns in any order and subset, quoted fields, empty fields as NULL,
    // more rows than one batch.
    let good = dir.join("good.csv");
    let mut csv = String::from("karma,born,name,id\n");
    csv.push_str("5,1815-12-10,\"Lovelace, Ada\",1\n,,Grace,2\n");
    for i in 3..=2_500 {
        csv.push_str(&format!("{i},,p{i},{i}\n"));
    }
    std::fs::write(&good, csv).unwrap();
    let out = repl(
        &url,
        &["-e", &format!(".import {} people", good.display())],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "imported 2500 rows into people\n");
    let out = repl(
        &url,
        &[
            "-e",
            "local r = db:fetch_one('SELECT name, karma, born FROM people WHERE id = 2') return r.name, r.karma == nil, db:fetch_one('SELECT name FROM people WHERE id = 1').name",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "Grace\ntrue\nLovelace, Ada\n");

    let out = repl(
        &url,
        &["-e", &format!(".import {} nope", good.display())],
        None,
    );
    assert!(
        text(&out.stderr).contains("no table named `nope`"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
});

each_backend!(results_keep_the_query_column_order, |t| async move {
    let url = url(&t);
    let setup = "db:execute('CREATE TABLE birds (id INTEGER PRIMARY KEY, zname TEXT, aweight INTEGER)')\n\
                 db:execute('INSERT INTO birds (id, zname) VALUES (1, $1)', {'Tweety'})\n";
    let out = repl(&url, &[], Some(setup));
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Rows from raw SQL: the SELECT's order, a column that is NULL in every
    // row included.
    let out = repl(
        &url,
        &[
            "-e",
            "return db:fetch_all('SELECT zname, aweight, id FROM birds')",
        ],
        None,
    );
    assert_eq!(header(&text(&out.stdout)), ["zname", "aweight", "id"]);
    let out = repl(
        &url,
        &["-e", "return db:fetch_one('SELECT zname, id FROM birds')"],
        None,
    );
    let stdout = text(&out.stdout);
    let fields: Vec<&str> = stdout
        .lines()
        .map(|l| l.split('=').next().unwrap().trim())
        .collect();
    assert_eq!(fields, ["zname", "id"], "{stdout}");
    // Instances (the table reflected as a model): the model's column order.
    for (lang, code) in [
        ("lua", "return db:query(birds):all()"),
        ("rhai", "db.query(birds).all()"),
    ] {
        let out = repl(&url, &["--lang", lang, "-e", code], None);
        assert_eq!(
            header(&text(&out.stdout)),
            ["id", "zname", "aweight"],
            "{lang}: {}",
            text(&out.stderr)
        );
    }
});

each_backend!(
    models_describe_and_explain_in_both_languages,
    |t| async move {
        let url = url(&t);
        let setup = "db:execute('CREATE TABLE owners (id INTEGER PRIMARY KEY, name TEXT NOT NULL)')\n\
                 db:execute('CREATE TABLE cats (id INTEGER PRIMARY KEY, owner_id INTEGER REFERENCES owners (id), lives INTEGER DEFAULT 9)')\n";
        let out = repl(&url, &[], Some(setup));
        assert!(out.status.success(), "{}", text(&out.stderr));
        for (lang, query) in [
            ("lua", "db:query(cats):where(cats.lives:gt(3))"),
            ("rhai", "db.query(cats).where(cats.lives.gt(3))"),
        ] {
            let out = repl(&url, &["--lang", lang, "-e", ".models"], None);
            let stdout = text(&out.stdout);
            assert_eq!(header(&stdout), ["model", "table", "columns"], "{lang}");
            assert!(stdout.contains("id, owner_id, lives"), "{lang}: {stdout}");
            assert!(stdout.contains("owners"), "{lang}: {stdout}");

            let out = repl(&url, &["--lang", lang, "-e", ".describe cats"], None);
            let stdout = text(&out.stdout);
            assert_eq!(
                header(&stdout),
                [
                    "column",
                    "type",
                    "nullable",
                    "primary_key",
                    "default",
                    "references"
                ],
                "{lang}: {}",
                text(&out.stderr)
            );
            assert!(stdout.contains("owners(id)"), "{lang}: {stdout}");
            assert!(stdout.contains('9'), "{lang}: {stdout}");

            let out = repl(&url, &["--lang", lang, "-e", ".describe 42"], None);
            assert!(text(&out.stderr).starts_with("error[usage]: `42` is not a model"));

            // A query with a bound value explains on the server.
            let out = repl(
                &url,
                &["--lang", lang, "-e", &format!(".explain {query}")],
                None,
            );
            let stdout = text(&out.stdout);
            assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
            assert!(stdout.starts_with("SELECT "), "{lang}: {stdout}");
            assert!(stdout.to_lowercase().contains("cats"), "{lang}: {stdout}");
            assert!(stdout.lines().count() > 3, "no plan: {stdout}");
        }
    }
);

each_backend!(
    trace_logs_show_neither_passwords_nor_values,
    |t| async move {
        const PASSWORD: &str = "Sup3rSecretPw";
        const VALUE: &str = "S3ntinelVAL";
        // Trust authentication ignores the password; it must still never be shown.
        let url = url(&t).replacen(
            "postgres://postgres@",
            &format!("postgres://postgres:{PASSWORD}@"),
            1,
        );
        let script = format!(
            "db:execute('CREATE TABLE logged (s TEXT)')\n\
         db:execute('INSERT INTO logged (s) VALUES ($1)', {{ '{VALUE}' }})\n\
         pcall(db.fetch_all, db, 'SELECT $1::int AS n', {{ '{VALUE}' }})\n\
         return #db:fetch_all('SELECT s FROM logged WHERE s = $1', {{ '{VALUE}' }})"
        );
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
        let out = cmd
            .arg("--url")
            .arg(&url)
            .args(["-e", &script])
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "trace")
            .output()
            .expect("run dbridge-repl");
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(
            stderr.contains("INSERT INTO logged (s) VALUES ($1)"),
            "no log:\n{stderr}"
        );
        for shown in [&stdout, &stderr] {
            assert!(!shown.contains(PASSWORD), "password shown:\n{shown}");
            assert!(!shown.contains(VALUE), "bound value shown:\n{shown}");
        }
        // Off without RUST_LOG.
        let quiet = repl(&url, &["-e", "return 1"], None);
        assert_eq!(text(&quiet.stderr), "");
    }
);
