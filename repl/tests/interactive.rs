//! The interactive prompt through a pseudo-terminal: a multi-line statement,
//! completion, Ctrl-C cancelling input and a running statement, Ctrl-D leaving.

use rexpect::session::{PtySession, spawn_command};

fn start(url: &str) -> PtySession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--url")
        .arg(url)
        .env_remove("DATABASE_URL")
        .env("DBRIDGE_HISTORY", history_file())
        .env("TERM", "xterm");
    let mut p = spawn_command(cmd, Some(20_000)).expect("spawn dbridge-repl in a pty");
    p.exp_string("dbridge> ").expect("first prompt");
    p
}

fn history_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("dbridge-history-{}", std::process::id()))
}

fn sqlite_url(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("dbridge-pty-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("t.db").display())
}

fn session(url: &str) {
    let mut p = start(url);
    // A statement over several lines runs once it is complete.
    p.send_line("total = 0").unwrap();
    p.exp_string("dbridge> ").unwrap();
    p.send_line("for i = 1, 3 do").unwrap();
    p.send_line("  total = total + i").unwrap();
    p.send_line("end print('sum=' .. total)").unwrap();
    p.exp_string("sum=6").unwrap();
    p.exp_string("dbridge> ").unwrap();

    // Completion of a global's method.
    p.send("db:fetch_a").unwrap();
    p.send("\t").unwrap();
    p.flush().unwrap();
    p.exp_string("db:fetch_all").unwrap();
    p.send_control('u').unwrap();
    p.send_line("").unwrap();
    p.exp_string("dbridge> ").unwrap();

    // Ctrl-C drops the current input, not the REPL.
    p.send("this is not lua").unwrap();
    p.flush().unwrap();
    p.send_control('c').unwrap();
    p.exp_string("^C").unwrap();
    p.exp_string("dbridge> ").unwrap();

    // Ctrl-C stops a running statement; the session goes on. The marker is
    // spelled in two halves so that the echo of the typed line cannot match.
    p.send_line("print('loop' .. 'ing') while true do end")
        .unwrap();
    p.exp_string("looping").unwrap();
    p.send_control('c').unwrap();
    p.exp_string("interrupted").unwrap();
    p.exp_string("dbridge> ").unwrap();
    p.send_line("return 6 * 7").unwrap();
    p.exp_string("42").unwrap();

    // Ctrl-D leaves. Typed input is highlighted, so each keystroke redraws
    // the prompt: wait for the prompt drawn on an empty line (the cursor just
    // past it), not a redraw while a command still runs.
    wait_for_empty_prompt(&mut p);
    p.send_control('d').unwrap();
    p.exp_eof().unwrap();
}

/// Waits for the prompt drawn on an empty line, ready for input.
fn wait_for_empty_prompt(p: &mut PtySession) {
    p.exp_regex(r"(dbridge> |^)\r\x1b\[9C")
        .expect("an empty prompt");
}

#[test]
fn interactive_session_on_sqlite() {
    session(&sqlite_url("session"));
}

#[test]
fn interactive_session_on_postgres() {
    session(&dbridge_testkit::pg_url());
}

#[test]
fn sandbox_says_so_in_the_prompt() {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--url")
        .arg(sqlite_url("sandbox"))
        .arg("--sandbox")
        .env_remove("DATABASE_URL")
        .env("DBRIDGE_HISTORY", history_file());
    let mut p = spawn_command(cmd, Some(20_000)).expect("spawn");
    p.exp_string("dbridge(sandbox)> ").unwrap();
    p.send_control('d').unwrap();
    p.exp_string("sandbox rolled back").unwrap();
    p.exp_eof().unwrap();
}
