//! `--budget`, `--memory-limit` and `--timeout` on the real binary: runaway
//! scripts (`run`, `-e`, the prompt) stop with an error naming the limit and
//! exit status 1 (the prompt goes on); bad values are usage errors (status 2).
//!
//! No timing assertions: a test passes when the process exits with the error.
//! A generous guard kills a process that does not exit, so a limit that fails
//! to stop a script fails the test instead of hanging it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rexpect::session::{PtySession, spawn_command};

/// The guard: far above what any limit below takes to fire.
const GUARD: Duration = Duration::from_secs(120);

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the binary on a scratch SQLite file with `args`, killing it after
/// [`GUARD`].
fn repl(args: &[&str]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .arg("--db")
        .arg(scratch_dir().join("t.db"))
        .args(args)
        .env_remove("DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dbridge-repl");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > GUARD {
            let _ = child.kill();
            panic!("dbridge-repl {args:?} did not stop within the guard of {GUARD:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut stdout)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    Run {
        code: status.code(),
        stdout,
        stderr,
    }
}

fn scratch_dir() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("dbridge-limits-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Asserts that `args` (ending with `-e CODE`, or `run FILE`) stops with
/// `error[kind]` on stderr and exit status 1.
fn stops(args: &[&str], kind: &str) {
    let out = repl(args);
    assert_eq!(out.code, Some(1), "{args:?}: stderr:\n{}", out.stderr);
    let want = format!("error[{kind}]: ");
    assert!(
        out.stderr.contains(&want),
        "{args:?}: want {want:?} on stderr:\n{}",
        out.stderr
    );
}

/// Writes `src` to a script file named `name` and returns its path.
fn script(name: &str, src: &str) -> String {
    let path = scratch_dir().join(name);
    std::fs::write(&path, src).expect("write script");
    path.display().to_string()
}

const LUA_SPINS: &[&str] = &[
    "while true do end",
    "while true do pcall(function() while true do end end) end",
];

const LUA_HOGS: &[&str] = &[
    "local s = 'x' while true do s = s .. s end",
    "local t = {} while true do t[#t+1] = ('x'):rep(1000) end",
];

const RHAI_SPINS: &[&str] = &["loop {}", "loop { try { loop {} } catch {} }"];

const RHAI_HOGS: &[&str] = &[
    r#"let s = "x"; loop { s += s; }"#,
    // Items of 1 MiB: Rhai re-measures the whole array at each push.
    r#"let s = "x"; for i in 0..20 { s += s; } let t = []; loop { t.push(s); }"#,
];

/// Waits for the prompt drawn on an empty line: the input before it has
/// ended. (Input is highlighted as it is typed, so the prompt is drawn again
/// on every key: a plain match may find a redraw while the input still runs,
/// and what is typed then is dropped when the editor takes the terminal back.)
fn empty_prompt(p: &mut PtySession) {
    p.exp_regex(r"(dbridge> |^)\r\x1b\[9C")
        .expect("an empty prompt");
}

#[test]
fn the_budget_stops_runaway_lua() {
    for src in LUA_SPINS {
        stops(&["--budget", "1000000", "-e", src], "budget_exceeded");
        let file = script("spin.lua", src);
        stops(&["--budget", "1000000", "run", &file], "budget_exceeded");
        // Given after the subcommand too.
        stops(&["run", "--budget", "1000000", &file], "budget_exceeded");
    }
}

#[test]
fn the_budget_stops_runaway_rhai() {
    for src in RHAI_SPINS {
        stops(
            &["--lang", "rhai", "--budget", "1000000", "-e", src],
            "budget_exceeded",
        );
        let file = script("spin.rhai", src);
        stops(&["--budget", "1000000", "run", &file], "budget_exceeded");
    }
}

#[test]
fn the_timeout_stops_runaway_lua() {
    for src in LUA_SPINS {
        stops(&["--timeout", "0.5", "-e", src], "timeout");
        let file = script("spin.lua", src);
        stops(&["--timeout", "1", "run", &file], "timeout");
    }
    // A script that keeps waiting.
    stops(
        &[
            "--timeout",
            "0.5",
            "-e",
            "while true do pcall(dbridge.sleep, 0.01) end",
        ],
        "timeout",
    );
}

#[test]
fn the_timeout_stops_runaway_rhai() {
    for src in RHAI_SPINS {
        stops(
            &["--lang", "rhai", "--timeout", "0.5", "-e", src],
            "timeout",
        );
        let file = script("spin.rhai", src);
        stops(&["--timeout", "1", "run", &file], "timeout");
    }
}

#[test]
fn the_memory_limit_stops_runaway_lua() {
    for src in LUA_HOGS {
        stops(&["--memory-limit", "64M", "-e", src], "out_of_memory");
        let file = script("hog.lua", src);
        stops(&["--memory-limit", "65536K", "run", &file], "out_of_memory");
    }
}

#[test]
fn the_memory_limit_stops_runaway_rhai() {
    for src in RHAI_HOGS {
        stops(
            &["--lang", "rhai", "--memory-limit", "64M", "-e", src],
            "out_of_memory",
        );
        let file = script("hog.rhai", src);
        stops(
            &["--memory-limit", "67108864", "run", &file],
            "out_of_memory",
        );
    }
}

#[test]
fn without_flags_there_is_no_limit() {
    // 3 million instructions: past a small budget, fine by default.
    let src = "local n = 0 for i = 1, 1000000 do n = n + 1 end print(n)";
    let out = repl(&["-e", src]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "1000000\n");
    stops(&["--budget", "1000", "-e", src], "budget_exceeded");
}

#[test]
fn bad_limit_values_are_usage_errors() {
    for (flag, value) in [
        ("--budget", "0"),
        ("--budget", "many"),
        ("--budget", "1.5"),
        ("--memory-limit", "64X"),
        ("--memory-limit", "1.5M"),
        ("--memory-limit", "64MB"),
        ("--memory-limit", "0"),
        ("--memory-limit", ""),
        ("--timeout", "0"),
        ("--timeout", "soon"),
        ("--timeout", "5s"),
        ("--timeout=-1", ""),
    ] {
        let args: Vec<&str> = if value.is_empty() && flag.contains('=') {
            vec![flag, "-e", "1"]
        } else {
            vec![flag, value, "-e", "1"]
        };
        let out = repl(&args);
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains(flag.trim_end_matches("=-1")),
            "{args:?}: the error names the flag:\n{}",
            out.stderr
        );
    }
}

/// At the prompt a stopped input prints the error and the session goes on.
fn prompt_goes_on(lang: &str, flags: &[&str], runaway: &str, kind: &str) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--db")
        .arg(scratch_dir().join("t.db"))
        .arg("--lang")
        .arg(lang)
        .args(flags)
        .env_remove("DATABASE_URL")
        .env(
            "DBRIDGE_HISTORY",
            std::env::temp_dir().join("dbridge-limits-history"),
        )
        .env("TERM", "xterm");
    let guard = u64::try_from(GUARD.as_millis()).unwrap_or(u64::MAX);
    let mut p = spawn_command(cmd, Some(guard)).expect("spawn dbridge-repl in a pty");
    p.exp_string("dbridge> ").expect("first prompt");
    p.send_line(runaway).expect("send");
    p.exp_string(&format!("error[{kind}]")).expect("stopped");
    empty_prompt(&mut p);
    p.send_line("6 * 7").expect("send");
    p.exp_string("42").expect("the session goes on");
    p.send_control('d').expect("ctrl-d");
    p.exp_eof().expect("eof");
}

#[test]
fn at_the_prompt_a_limit_stops_the_input_and_the_session_goes_on() {
    prompt_goes_on(
        "lua",
        &["--budget", "1000000"],
        LUA_SPINS[1],
        "budget_exceeded",
    );
    prompt_goes_on("lua", &["--timeout", "0.5"], LUA_SPINS[1], "timeout");
    prompt_goes_on(
        "lua",
        &["--memory-limit", "64M"],
        LUA_HOGS[1],
        "out_of_memory",
    );
    prompt_goes_on(
        "rhai",
        &["--budget", "1000000"],
        RHAI_SPINS[1],
        "budget_exceeded",
    );
    prompt_goes_on("rhai", &["--timeout", "0.5"], RHAI_SPINS[1], "timeout");
    prompt_goes_on(
        "rhai",
        &["--memory-limit", "64M"],
        RHAI_HOGS[0],
        "out_of_memory",
    );
}

#[test]
fn a_rhai_input_stopped_by_a_limit_rolls_back_the_transaction_it_began() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dbridge-repl"));
    cmd.arg("--db")
        .arg(scratch_dir().join("t.db"))
        .args(["--lang", "rhai", "--timeout", "0.5"])
        .env_remove("DATABASE_URL")
        .env(
            "DBRIDGE_HISTORY",
            std::env::temp_dir().join("dbridge-limits-history"),
        )
        .env("TERM", "xterm");
    let guard = u64::try_from(GUARD.as_millis()).unwrap_or(u64::MAX);
    let mut p = spawn_command(cmd, Some(guard)).expect("spawn dbridge-repl in a pty");
    p.exp_string("dbridge> ").expect("first prompt");
    p.send_line(
        r#"db.execute("CREATE TABLE c (n INTEGER)"); db.execute("INSERT INTO c VALUES (1)");"#,
    )
    .expect("send");
    empty_prompt(&mut p);
    p.send_line(r#"let tx = db.begin(); tx.execute("UPDATE c SET n = n + 100"); loop {}"#)
        .expect("send");
    p.exp_string("error[timeout]").expect("stopped");
    empty_prompt(&mut p);
    // SQLite's busy timeout (5 s) makes a still-open transaction an error, not a hang.
    p.send_line(r#"db.execute("UPDATE c SET n = n + 1"); print("n=" + db.fetch_one("SELECT n FROM c").n + "/" + tx.is_open);"#)
        .expect("send");
    p.exp_string("n=2/false").expect("rolled back and released");
    p.send_control('d').expect("ctrl-d");
    p.exp_eof().expect("eof");
}
