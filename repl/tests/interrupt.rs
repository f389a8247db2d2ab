//! Ctrl-C at the prompt through a pseudo-terminal: it stops a running
//! statement even when the script catches errors (`pcall`, coroutines,
//! Rhai's `try`), returns to the prompt, and releases the transaction the
//! statement opened. No sleeps: each script prints a marker once it runs (built
//! by concatenation so that the echoed input does not match it).

mod pty;

use pty::{sqlite_url, start};
use rexpect::session::PtySession;

/// Sends `line`, waits for the script's marker, presses Ctrl-C and waits for
/// the error and the prompt.
fn interrupt(p: &mut PtySession, line: &str) {
    p.send_line(line).expect("send");
    p.exp_string("spinning").expect("the script runs");
    p.send_control('c').expect("ctrl-c");
    p.exp_string("interrupted").expect("stopped");
    pty::empty_prompt(p);
}

const LUA_LOOPS: &[&str] = &[
    "print('spin' .. 'ning') while true do pcall(function() while true do end end) end",
    "print('spin' .. 'ning') while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
    "print('spin' .. 'ning') while true do pcall(dbridge.sleep, 0.05) end",
];

fn lua_session(url: &str, table: &str) {
    let mut p = start(url, "lua");
    for line in LUA_LOOPS {
        interrupt(&mut p, line);
    }
    p.send_line(&format!(
        "db:execute('DROP TABLE IF EXISTS {table}') db:execute('CREATE TABLE {table} (n INTEGER)') db:execute('INSERT INTO {table} VALUES (1)')"
    ))
    .expect("send");
    pty::empty_prompt(&mut p);
    // A transaction left open by an interrupted statement is rolled back.
    interrupt(
        &mut p,
        &format!(
            "local tx = db:begin() tx:execute('UPDATE {table} SET n = n + 100') print('spin' .. 'ning') while true do end"
        ),
    );
    // The next write does not wait for it (it would block on both backends).
    p.send_line(&format!(
        "db:execute('UPDATE {table} SET n = n + 1') print('n=' .. db:fetch_one('SELECT n FROM {table}').n .. '!')"
    ))
    .expect("send");
    p.exp_string("n=2!").expect("the transaction was released");
    p.exp_string("dbridge> ").expect("prompt");
    p.send_line(&format!("db:execute('DROP TABLE {table}')"))
        .expect("send");
    p.exp_string("dbridge> ").expect("prompt");
    pty::leave(&mut p);
    p.exp_eof().expect("eof");
}

#[test]
fn ctrl_c_stops_caught_lua_loops_and_releases_the_transaction_on_sqlite() {
    lua_session(&sqlite_url("lua"), "int_tx");
}

#[test]
fn ctrl_c_stops_caught_lua_loops_and_releases_the_transaction_on_postgres() {
    lua_session(
        &dbridge_testkit::pg_url(),
        &format!("int_tx_{}", std::process::id()),
    );
}

#[test]
fn ctrl_c_stops_a_caught_rhai_loop() {
    let mut p = start(&sqlite_url("rhai"), "rhai");
    interrupt(
        &mut p,
        r#"print("spin" + "ning"); loop { try { loop {} } catch {} }"#,
    );
    p.send_line("6 * 7").expect("send");
    p.exp_string("42").expect("the session goes on");
    pty::leave(&mut p);
    p.exp_eof().expect("eof");
}

/// A Rhai session: the statement begins a transaction (kept in a `let`
/// variable, which outlives the statement in Rhai's scope), updates the row
/// and spins; after Ctrl-C another write of that row must not wait for it.
fn rhai_session(url: &str, table: &str, postgres: bool) {
    let mut p = start(url, "rhai");
    p.send_line(&format!(
        r#"db.execute("DROP TABLE IF EXISTS {table}"); db.execute("CREATE TABLE {table} (n INTEGER)"); db.execute("INSERT INTO {table} VALUES (1)");"#
    ))
    .expect("send");
    pty::empty_prompt(&mut p);
    interrupt(
        &mut p,
        &format!(
            r#"let tx = db.begin(); tx.execute("UPDATE {table} SET n = n + 100"); print("spin" + "ning"); loop {{}}"#
        ),
    );
    // A short lock wait, so that a transaction still holding the row shows as
    // an error rather than a hang (SQLite's busy timeout is 5 s).
    let update = if postgres {
        format!(
            r#"let t2 = db.begin(); t2.execute("SET LOCAL lock_timeout = '3s'"); t2.execute("UPDATE {table} SET n = n + 1"); t2.commit();"#
        )
    } else {
        format!(r#"db.execute("UPDATE {table} SET n = n + 1");"#)
    };
    p.send_line(&format!(
        r#"{update} print("n=" + db.fetch_one("SELECT n FROM {table}").n + "!"); print("open=" + tx.is_open);"#
    ))
    .expect("send");
    p.exp_string("n=2!").expect("the transaction was released");
    p.exp_string("open=false")
        .expect("the transaction was rolled back");
    p.exp_string("dbridge> ").expect("prompt");
    p.send_line(&format!(r#"db.execute("DROP TABLE {table}");"#))
        .expect("send");
    p.exp_string("dbridge> ").expect("prompt");
    pty::leave(&mut p);
    p.exp_eof().expect("eof");
}

#[test]
fn ctrl_c_releases_the_transaction_a_rhai_statement_began_on_sqlite() {
    rhai_session(&sqlite_url("rhai-tx"), "int_rtx", false);
}

#[test]
fn ctrl_c_releases_the_transaction_a_rhai_statement_began_on_postgres() {
    rhai_session(
        &dbridge_testkit::pg_url(),
        &format!("int_rtx_{}", std::process::id()),
        true,
    );
}
