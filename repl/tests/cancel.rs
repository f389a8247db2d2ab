//! Ctrl-C stops the database work, not only the prompt; and every way out of
//! the REPL rolls back what is open and leaves. Each case runs through a
//! pseudo-terminal on both backends.
//!
//! No sleeps on guesses. Ctrl-C is pressed once the statement is seen
//! running: in `pg_stat_activity` on PostgreSQL; on SQLite, by the write-ahead
//! log growing under an endless `INSERT ... WITH RECURSIVE`. The outcomes
//! checked are the server's: the statement no longer runs, the table holds
//! what it held before.

mod pty;

use std::path::Path;
use std::time::{Duration, Instant};

use dbridge_engine::{Database, Value};
use pty::{SANDBOX_PROMPT, spawn, sqlite_path, start};
use rexpect::session::PtySession;

/// An endless insert (SQLite and PostgreSQL alike): rows of a recursive CTE
/// that never ends.
fn endless_insert(table: &str) -> String {
    format!(
        "INSERT INTO {table} (n) WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT n FROM c"
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A backend under test: where the REPL connects and how a test sees that
/// its statement runs.
enum Target {
    Sqlite(std::path::PathBuf),
    Postgres,
}

impl Target {
    fn sqlite(name: &str) -> Self {
        let path = sqlite_path(name).expect("temp dir");
        let _ = std::fs::remove_file(&path);
        Self::Sqlite(path)
    }

    fn url(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite://{}", p.display()),
            Self::Postgres => dbridge_testkit::pg_url(),
        }
    }

    fn wal(path: &Path) -> u64 {
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        std::fs::metadata(wal).map_or(0, |m| m.len())
    }

    /// The size of the SQLite write-ahead log now (0 on PostgreSQL).
    fn mark(&self) -> u64 {
        match self {
            Self::Sqlite(p) => Self::wal(p),
            Self::Postgres => 0,
        }
    }

    /// Waits until a statement containing `tag` runs: on SQLite, until the
    /// write-ahead log has grown by a megabyte since `mark`.
    fn wait_running(&self, tag: &str, mark: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.is_running(tag, mark) {
            assert!(Instant::now() < deadline, "the statement never started");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn is_running(&self, tag: &str, mark: u64) -> bool {
        match self {
            Self::Sqlite(p) => Self::wal(p) > mark + (1 << 20),
            Self::Postgres => pg_running(tag) > 0,
        }
    }

    /// Waits until no statement containing `tag` runs on the server (the
    /// cancel was delivered: without it the statement runs for ever).
    fn wait_stopped(&self, tag: &str) {
        if let Self::Postgres = self {
            let deadline = Instant::now() + Duration::from_secs(20);
            while pg_running(tag) > 0 {
                assert!(Instant::now() < deadline, "the statement still runs");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// How many server sessions run a statement containing `tag`.
fn pg_running(tag: &str) -> i64 {
    runtime().block_on(async {
        let admin = Database::connect(&dbridge_testkit::pg_url())
            .await
            .expect("admin");
        let n = admin
            .fetch_one(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE state = 'active' AND query LIKE $1 AND pid <> pg_backend_pid()",
                &[Value::from(format!("%{tag}%"))],
            )
            .await
            .expect("pg_stat_activity")
            .get("n")
            .expect("n")
            .as_i64()
            .expect("count");
        admin.close().await;
        n
    })
}

fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// Runs `line`, presses Ctrl-C once its statement runs, and expects
/// `cancelled` and the prompt.
fn cancel(p: &mut PtySession, target: &Target, line: &str, tag: &str) {
    let mark = target.mark();
    p.send_line(line).expect("send");
    target.wait_running(tag, mark);
    p.send_control('c').expect("ctrl-c");
    p.exp_string("cancelled").expect("cancelled");
    pty::empty_prompt(p);
    target.wait_stopped(tag);
}

/// The table's row count, printed by the REPL (proof the next command runs).
fn expect_count(p: &mut PtySession, table: &str, n: u64) {
    p.send_line(&format!(
        "print('rows=' .. db:fetch_one('SELECT count(*) AS n FROM {table}').n .. '!')"
    ))
    .expect("send");
    p.exp_string(&format!("rows={n}!")).expect("row count");
    pty::empty_prompt(p);
}

fn lua(p: &mut PtySession, line: &str) {
    p.send_line(line).expect("send");
    pty::empty_prompt(p);
}

/// Ctrl-C during a script's `db:fetch_all`/`db:execute`, `.sql` and `.import`.
fn ctrl_c_cancels(target: Target) {
    let table = unique("cancel_t");
    let mut p = start(&target.url(), "lua");
    lua(
        &mut p,
        &format!(
            "db:execute('CREATE TABLE {table} (n BIGINT)') db:execute('INSERT INTO {table} VALUES (1)')"
        ),
    );
    // A script call waiting on the statement.
    let insert = endless_insert(&table);
    let call = match target {
        Target::Postgres => format!("db:fetch_all(\"SELECT pg_sleep(600) /* {table} */\")"),
        Target::Sqlite(_) => format!("db:execute(\"{insert}\")"),
    };
    cancel(&mut p, &target, &call, &table);
    expect_count(&mut p, &table, 1);
    // `.sql`: the endless insert is rolled back.
    cancel(&mut p, &target, &format!(".sql {insert}"), &table);
    expect_count(&mut p, &table, 1);
    // `.import`: a file big enough to be cancelled half way; the table is
    // left as it was.
    let csv = std::env::temp_dir().join(format!("{table}.csv"));
    let mut text = String::from("n\n");
    for i in 0..3_000_000 {
        text.push_str(&format!("{i}\n"));
    }
    std::fs::write(&csv, text).expect("write csv");
    cancel(
        &mut p,
        &target,
        &format!(".import {} {table}", csv.display()),
        &table,
    );
    let _ = std::fs::remove_file(&csv);
    expect_count(&mut p, &table, 1);
    p.send_line(&format!("db:execute('DROP TABLE {table}')"))
        .expect("send");
    pty::leave(&mut p);
}

#[test]
fn ctrl_c_cancels_the_statement_on_sqlite() {
    ctrl_c_cancels(Target::sqlite("cancel"));
}

#[test]
fn ctrl_c_cancels_the_statement_on_postgres() {
    ctrl_c_cancels(Target::Postgres);
}

/// Rhai: Ctrl-C while a script waits for the database.
fn rhai_ctrl_c_cancels(target: Target) {
    let table = unique("cancel_r");
    let mut p = start(&target.url(), "rhai");
    p.send_line(&format!(
        r#"db.execute("CREATE TABLE {table} (n BIGINT)"); db.execute("INSERT INTO {table} VALUES (1)");"#
    ))
    .expect("send");
    pty::empty_prompt(&mut p);
    let call = match target {
        Target::Postgres => format!(r#"db.fetch_all("SELECT pg_sleep(600) /* {table} */");"#),
        Target::Sqlite(_) => format!(r#"db.execute("{}");"#, endless_insert(&table)),
    };
    cancel(&mut p, &target, &call, &table);
    p.send_line(&format!(
        r#"print("rows=" + db.fetch_one("SELECT count(*) AS n FROM {table}").n + "!");"#
    ))
    .expect("send");
    p.exp_string("rows=1!").expect("row count");
    pty::empty_prompt(&mut p);
    p.send_line(&format!(r#"db.execute("DROP TABLE {table}");"#))
        .expect("send");
    pty::leave(&mut p);
}

#[test]
fn ctrl_c_cancels_a_rhai_statement_on_sqlite() {
    rhai_ctrl_c_cancels(Target::sqlite("cancel-rhai"));
}

#[test]
fn ctrl_c_cancels_a_rhai_statement_on_postgres() {
    rhai_ctrl_c_cancels(Target::Postgres);
}

/// How a sandbox session with an open transaction is left.
#[derive(Clone, Copy)]
enum Exit {
    CtrlD,
    Quit,
    /// `db:close()`, then Ctrl-D.
    Close,
}

/// `--sandbox`, `tx = db:begin()`, then a way out: the process says what it
/// rolled back and ends.
fn sandbox_exit(target: Target, exit: Exit) {
    let mut p = spawn(&target.url(), "lua", &["--sandbox"]);
    p.exp_string(SANDBOX_PROMPT).expect("first prompt");
    p.send_line("tx = db:begin() tx:execute('SELECT 1') print('be' .. 'gun')")
        .expect("send");
    p.exp_string("begun").expect("begun");
    p.exp_string(SANDBOX_PROMPT).expect("prompt");
    match exit {
        Exit::CtrlD => p.send_control('d').expect("ctrl-d"),
        Exit::Quit => {
            p.send_line(".quit").expect("quit");
        }
        Exit::Close => {
            p.send_line("db:close() print('clo' .. 'sed')")
                .expect("send");
            p.exp_string("closed").expect("db:close() returns");
            p.exp_string(SANDBOX_PROMPT).expect("prompt");
            p.send_control('d').expect("ctrl-d");
        }
    }
    p.exp_string("rolled back 1 open transaction")
        .expect("says it rolled back");
    p.exp_string("sandbox rolled back").expect("sandbox");
    p.exp_eof().expect("exits");
}

#[test]
fn ctrl_d_in_a_sandbox_with_an_open_transaction_exits_on_sqlite() {
    sandbox_exit(Target::sqlite("exit-d"), Exit::CtrlD);
}

#[test]
fn ctrl_d_in_a_sandbox_with_an_open_transaction_exits_on_postgres() {
    sandbox_exit(Target::Postgres, Exit::CtrlD);
}

#[test]
fn quit_in_a_sandbox_with_an_open_transaction_exits_on_sqlite() {
    sandbox_exit(Target::sqlite("exit-q"), Exit::Quit);
}

#[test]
fn quit_in_a_sandbox_with_an_open_transaction_exits_on_postgres() {
    sandbox_exit(Target::Postgres, Exit::Quit);
}

#[test]
fn db_close_with_an_open_transaction_returns_and_exits_on_sqlite() {
    sandbox_exit(Target::sqlite("exit-c"), Exit::Close);
}

#[test]
fn db_close_with_an_open_transaction_returns_and_exits_on_postgres() {
    sandbox_exit(Target::Postgres, Exit::Close);
}

/// `run` of a script that leaves a transaction open, in a sandbox.
fn run_exit(target: Target) {
    let script = std::env::temp_dir().join(format!("{}.lua", unique("open_tx")));
    std::fs::write(&script, "tx = db:begin()\ntx:execute('SELECT 1')\n").expect("script");
    let path = script.display().to_string();
    let mut p = spawn(&target.url(), "lua", &["--sandbox", "run", &path]);
    p.exp_string("rolled back 1 open transaction")
        .expect("says it rolled back");
    p.exp_string("sandbox rolled back").expect("sandbox");
    p.exp_eof().expect("exits");
    let _ = std::fs::remove_file(&script);
}

#[test]
fn the_end_of_run_with_an_open_transaction_exits_on_sqlite() {
    run_exit(Target::sqlite("exit-run"));
}

#[test]
fn the_end_of_run_with_an_open_transaction_exits_on_postgres() {
    run_exit(Target::Postgres);
}

/// `migrate up` of a migration whose statement runs for ever: Ctrl-C stops
/// it on the server, the migration is rolled back (its table is not there,
/// it is not recorded), and the process exits with `cancelled`.
fn migrate_cancel(target: Target) {
    let table = unique("mig");
    let dir = std::env::temp_dir().join(unique("migrations"));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("0001_slow.sql"),
        format!(
            "-- up\nCREATE TABLE {table} (n BIGINT);\n{};\n-- down\nDROP TABLE {table};\n",
            endless_insert(&table)
        ),
    )
    .expect("migration");
    let dir_arg = dir.display().to_string();
    let mark = target.mark();
    let mut p = spawn(&target.url(), "lua", &["migrate", "--dir", &dir_arg, "up"]);
    target.wait_running(&table, mark);
    p.send_control('c').expect("ctrl-c");
    p.exp_string("cancelled").expect("cancelled");
    p.exp_eof().expect("exits");
    target.wait_stopped(&table);
    // Nothing of the migration is left: its table is not there.
    let mut q = start(&target.url(), "lua");
    q.send_line(&format!(
        "local ok = pcall(function() return db:fetch_all('SELECT n FROM {table}') end) print('exists=' .. tostring(ok) .. '!')"
    ))
    .expect("send");
    q.exp_string("exists=false!").expect("rolled back");
    pty::leave(&mut q);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_cancels_a_migration_on_sqlite() {
    migrate_cancel(Target::sqlite("cancel-migrate"));
}

#[test]
fn ctrl_c_cancels_a_migration_on_postgres() {
    migrate_cancel(Target::Postgres);
}

/// Waits for the sandbox prompt on an empty line: the command before it has
/// ended (a prompt matched during the redraws of typing would not say so,
/// and what is typed meanwhile is dropped; see `pty::leave`).
fn sandbox_prompt(p: &mut PtySession) {
    p.exp_regex(r"(dbridge\(sandbox\)> |^)\r\x1b\[18C")
        .expect("an empty sandbox prompt");
}

/// Runs `line` at the sandbox prompt and waits for `expect`, then the prompt.
fn in_sandbox(p: &mut PtySession, line: &str, expect: &str) {
    p.send_line(line).expect("send");
    p.exp_string(expect).expect(expect);
    sandbox_prompt(p);
}

/// In `--sandbox`, each input is a step: a failed (or cancelled) one leaves
/// nothing of what it did, and the sandbox goes on (on PostgreSQL the
/// failure would otherwise abort the sandbox's transaction).
fn sandbox_steps(target: Target) {
    let table = unique("sandbox_t");
    let mut p = spawn(&target.url(), "lua", &["--sandbox"]);
    sandbox_prompt(&mut p);
    let create = format!(
        "db:execute('CREATE TABLE {table} (n INTEGER PRIMARY KEY)') print('cre' .. 'ated')"
    );
    in_sandbox(&mut p, &create, "created");
    let insert = format!("db:execute('INSERT INTO {table} VALUES (1)') print('ins' .. 'erted')");
    in_sandbox(&mut p, &insert, "inserted");
    // Fails half-way: the insert of 2 is undone with it.
    let twice = format!(
        "db:execute('INSERT INTO {table} VALUES (2)') db:execute('INSERT INTO {table} VALUES (1)')"
    );
    in_sandbox(&mut p, &twice, "unique_violation");
    // `.sql` too, and the next commands run (with their hints).
    in_sandbox(
        &mut p,
        &format!(".sql SELECT nope FROM {table}"),
        "undefined_column",
    );
    let count =
        format!("print('rows=' .. db:fetch_one('SELECT count(*) AS n FROM {table}').n .. '!')");
    in_sandbox(&mut p, &count, "rows=1!");
    if matches!(target, Target::Postgres) {
        // A cancelled statement is undone the same way.
        let endless = format!("{table}_e");
        let create =
            format!("db:execute('CREATE TABLE {endless} (n BIGINT)') print('cre' .. 'ated')");
        in_sandbox(&mut p, &create, "created");
        let tag = unique("sandbox_cancel");
        let line = format!("db:execute(\"{} -- {tag}\")", endless_insert(&endless));
        p.send_line(&line).expect("send");
        target.wait_running(&tag, 0);
        p.send_control('c').expect("ctrl-c");
        p.exp_string("cancelled").expect("cancelled");
        sandbox_prompt(&mut p);
        in_sandbox(&mut p, &count, "rows=1!");
    }
    p.send_line(".quit").expect("quit");
    p.exp_string("sandbox rolled back").expect("sandbox");
    p.exp_eof().expect("exits");
}

#[test]
fn a_failed_command_in_a_sandbox_is_undone_and_the_sandbox_goes_on_on_sqlite() {
    sandbox_steps(Target::sqlite("steps"));
}

#[test]
fn a_failed_or_cancelled_command_in_a_sandbox_is_undone_and_the_sandbox_goes_on_on_postgres() {
    sandbox_steps(Target::Postgres);
}
