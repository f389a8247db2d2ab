//! Starting the REPL in a pseudo-terminal of a known size, on a seeded
//! database of either backend.

use dbridge_engine::Backend;
use dbridge_testkit::TestDb;
use rexpect::session::{PtySession, spawn_command};

/// The prompt of a session.
pub const PROMPT: &str = "dbridge> ";

/// A seeded database and the runtime that keeps it (dropped at the end of
/// the test, which removes it).
pub struct Fixture {
    pub db: TestDb,
    pub _rt: tokio::runtime::Runtime,
}

/// `track` (id, name, composer, milliseconds) with 250 rows: composer NULL
/// on odd ids.
pub fn fixture(backend: Backend) -> Fixture {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt.block_on(async {
        let t = TestDb::new(backend).await;
        t.db.execute(
            "CREATE TABLE track (id INTEGER PRIMARY KEY, name TEXT NOT NULL, composer TEXT, milliseconds INTEGER)",
            &[],
        )
        .await
        .expect("create track");
        t.db.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) \
             INSERT INTO track (id, name, composer, milliseconds) \
             SELECT i, 'Track ' || i, CASE WHEN i % 2 = 0 THEN 'Composer ' || i END, i * 1000 FROM n",
            &[],
        )
        .await
        .expect("seed track");
        t
    });
    Fixture { db, _rt: rt }
}

/// How to start the REPL.
pub struct Start<'a> {
    pub lang: &'a str,
    /// The pty's size (set with `stty`, so the REPL reads the real size).
    pub rows: u16,
    pub cols: u16,
    pub env: Vec<(&'a str, String)>,
}

impl Start<'_> {
    /// A Rhai session, the rest as by default.
    pub fn rhai() -> Self {
        Self {
            lang: "rhai",
            ..Self::default()
        }
    }
}

impl Default for Start<'_> {
    fn default() -> Self {
        Self {
            lang: "lua",
            rows: 50,
            cols: 200,
            env: Vec::new(),
        }
    }
}

/// A temporary directory of this test process.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dbridge-ux-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Spawns the REPL on `url` in a terminal of `start`'s size, waiting for
/// the first prompt. `$COLUMNS` and `$LINES` are removed (a shell does not
/// export them) and the pager is `cat` unless `start.env` says otherwise.
pub fn spawn(url: &str, start: Start<'_>) -> PtySession {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!(
            "stty rows {} cols {} && exec \"$0\" --url \"$1\" --lang {}",
            start.rows, start.cols, start.lang
        ))
        .arg(env!("CARGO_BIN_EXE_dbridge-repl"))
        .arg(url)
        .env_remove("DATABASE_URL")
        .env_remove("COLUMNS")
        .env_remove("LINES")
        .env("PAGER", "cat")
        // Plain echo: each key is not followed by a coloured redraw of the line.
        .env("NO_COLOR", "1")
        .env("DBRIDGE_HISTORY", temp_dir("history").join("history"))
        .env("TERM", "xterm");
    for (k, v) in &start.env {
        cmd.env(k, v);
    }
    let mut p = spawn_command(cmd, Some(30_000)).expect("spawn dbridge-repl in a pty");
    p.exp_string(PROMPT).expect("first prompt");
    p
}

/// What the line editor writes when it starts reading a new line (it turns
/// bracketed paste on): the prompt that follows is a new one, not a redraw
/// of the line being typed.
const NEW_LINE: &str = "\x1b[?2004h";

/// The terminal's text as UTF-8 (rexpect hands over each byte as a char).
pub fn utf8(raw: &str) -> String {
    let bytes: Vec<u8> = raw.chars().map(|c| c as u32 as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Waits for the next new prompt; returns what came before it.
pub fn prompt(p: &mut PtySession) -> String {
    let out = p.exp_string(NEW_LINE).expect("a new prompt");
    p.exp_string(PROMPT).expect("prompt");
    utf8(&out)
}

/// Types `text` without Enter (sent at once).
pub fn type_in(p: &mut PtySession, text: &str) {
    p.send(text).expect("send");
    p.flush().expect("flush");
}

/// Sends a line and returns what came before the next prompt.
pub fn run(p: &mut PtySession, line: &str) -> String {
    p.send_line(line).expect("send");
    prompt(p)
}

/// Leaves with Ctrl-D.
pub fn leave(mut p: PtySession) {
    p.send_control('d').expect("ctrl-d");
    p.exp_eof().expect("eof");
}

/// Runs `body` on both backends (one `#[test]` each).
#[macro_export]
macro_rules! both {
    ($name:ident, |$b:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($b: dbridge_engine::Backend) $body

            #[test]
            fn sqlite() {
                body(dbridge_engine::Backend::Sqlite)
            }

            #[test]
            fn postgres() {
                body(dbridge_engine::Backend::Postgres)
            }
        }
    };
}
