//! Driving the REPL through a pseudo-terminal: shared by the tests of Ctrl-C
//! and of the ways out. Every wait is for output (a prompt, a marker), never
//! for a length of time.

#![allow(dead_code)]

use rexpect::session::{PtySession, spawn_command};

/// The REPL's prompt.
pub const PROMPT: &str = "dbridge> ";
/// The prompt of a `--sandbox` session.
pub const SANDBOX_PROMPT: &str = "dbridge(sandbox)> ";

/// The REPL binary on `url` in `lang`, with `extra` arguments, in a pty.
pub fn spawn(url: &str, lang: &str, extra: &[&str]) -> PtySession {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--url")
        .arg(url)
        .arg("--lang")
        .arg(lang)
        .args(extra)
        .env_remove("DATABASE_URL")
        .env(
            "DBRIDGE_HISTORY",
            std::env::temp_dir().join("dbridge-int-history"),
        )
        .env("TERM", "xterm");
    // A generous bound: the assertion is that the output comes at all.
    spawn_command(cmd, Some(30_000)).expect("spawn dbridge-repl in a pty")
}

/// An interactive session, waited for until its first prompt.
pub fn start(url: &str, lang: &str) -> PtySession {
    let mut p = spawn(url, lang, &[]);
    empty_prompt(&mut p);
    p
}

/// A SQLite database file of its own for test `name`.
pub fn sqlite_url(name: &str) -> String {
    sqlite_path(name).map_or_else(String::new, |p| format!("sqlite://{}", p.display()))
}

/// The path of test `name`'s SQLite file (its directory is created).
pub fn sqlite_path(name: &str) -> Option<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("dbridge-int-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("t.db"))
}

/// Waits for the prompt drawn on an empty line (see [`leave`]): the input
/// before it has ended, and what is typed next is read.
pub fn empty_prompt(p: &mut PtySession) {
    p.exp_regex(r"(dbridge(\(sandbox\))?> |^)\r\x1b\[(9|18)C")
        .expect("an empty prompt");
}

/// Leaves with `.quit` and waits for the process to end.
///
/// Input is highlighted as it is typed, so every redraw of a line prints the
/// prompt again: a test that waited for the prompt may have matched a
/// redraw while the command still runs, and what is typed then is dropped
/// when the editor takes the terminal back. So this first waits for the
/// prompt drawn on an empty line (the cursor moved just past it:
/// `ESC[9C`, or `ESC[18C` in a sandbox), possibly already half read.
pub fn leave(p: &mut PtySession) {
    empty_prompt(p);
    p.send_line(".quit").expect("quit");
    p.exp_eof().expect("eof");
}
