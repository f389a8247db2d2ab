//! The session: evaluates input (code or dot-commands), prints results in the
//! current mode, and drives the interactive loop.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use dbridge_engine::db::Statement;
use dbridge_engine::{CancelHandle, Database};
use indicatif::{ProgressBar, ProgressStyle};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{Config, Editor};
use tokio::runtime::Handle;

use crate::commands::{self, Command};
use crate::helper::{ReplHelper, Shared};
use crate::hints;
use crate::import;
use crate::lang::{Output, ScriptError};
use crate::meta;
use crate::render::{self, Limits, Mode};
use crate::terminal::{self, Pager};

/// What the loop should do after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Read the next line.
    Continue,
    /// Leave.
    Quit,
}

/// A REPL session.
pub struct Repl {
    db: Database,
    interp: Shared,
    runtime: Handle,
    interrupted: Arc<AtomicBool>,
    /// Ctrl-C cancels the database work of a dot-command through it.
    cancel: CancelHandle,
    mode: Mode,
    pager: Pager,
    timing: bool,
    /// `Time: ...` of the input being handled, printed after its result.
    time_note: std::cell::RefCell<Option<String>>,
    /// The servers the statements of the input being timed ran on.
    servers: Arc<std::sync::Mutex<Vec<String>>>,
    traceback: bool,
    /// Whether the last input failed (for exit codes of `-e` and piped input).
    pub failed: bool,
    /// Whether the input being handled runs in a sandbox step of its own.
    step_open: bool,
    prompt: String,
}

impl Repl {
    /// A session over `db` evaluating with `interp`.
    pub fn new(
        db: Database,
        interp: Shared,
        runtime: Handle,
        interrupted: Arc<AtomicBool>,
        prompt: String,
    ) -> Self {
        let servers = Arc::new(std::sync::Mutex::new(Vec::new()));
        if db.replica_count() > 0 {
            // `.timing` says where the statements ran (primary, replica N).
            let sink = servers.clone();
            db.on_statement(Arc::new(move |ev| {
                if let Some(s) = ev.server {
                    let mut seen = lock(&sink);
                    if !seen.iter().any(|x: &String| x == s) {
                        seen.push(s.to_owned());
                    }
                }
            }));
        }
        Self {
            servers,
            db,
            interp,
            runtime,
            interrupted,
            cancel: CancelHandle::new(),
            mode: Mode::Table,
            pager: Pager::Default,
            timing: false,
            time_note: std::cell::RefCell::new(None),
            traceback: false,
            failed: false,
            step_open: false,
            prompt,
        }
    }

    /// The text of `outputs` in the current mode, at most `max_rows` rows
    /// a table.
    fn render(&self, outputs: &[Output], limits: Limits) -> String {
        let mut text = String::new();
        for o in outputs {
            match o {
                Output::Text(t) => {
                    text.push_str(t);
                    text.push('\n');
                }
                Output::Table(t) => text.push_str(&render::render(t, self.mode, limits)),
                Output::Record(t) => text.push_str(&render::render_record(t, self.mode, limits)),
            }
        }
        text
    }

    /// Prints results: through the pager when they are taller than the
    /// screen (then every row: the pager scrolls), else at most 200 rows a
    /// table.
    fn print(&self, outputs: &[Output]) {
        let size = terminal::size();
        let limits = Limits {
            width: size.width,
            ..Limits::default()
        };
        let paged = self.pager.command().is_some() && terminal::is_terminal();
        let all = Limits {
            max_rows: None,
            ..limits
        };
        let text = self.render(outputs, if paged { all } else { limits });
        if paged && self.pager.wanted(&text, size) && self.pager.show(&text) {
            return;
        }
        let text = if paged && text.lines().count() > 1000 {
            // The pager could not start: do not flood the screen.
            self.render(outputs, limits)
        } else {
            text
        };
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Prints the `Time: ...` line of the input just handled, if `.timing`.
    fn print_time(&self) {
        if let Some(note) = self.time_note.borrow_mut().take() {
            println!("{note}");
        }
    }

    fn report(&mut self, e: &ScriptError) {
        self.failed = true;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{e}");
        for note in &e.notes {
            let _ = writeln!(err, "{note}");
        }
        if self.traceback
            && let Some(tb) = &e.traceback
        {
            let _ = writeln!(err, "{tb}");
        }
    }

    fn timed<T>(&self, f: impl FnOnce() -> T) -> T {
        lock(&self.servers).clear();
        let started = Instant::now();
        let out = f();
        if self.timing {
            let elapsed = started.elapsed().as_secs_f64() * 1000.0;
            let servers = lock(&self.servers);
            let note = if servers.is_empty() {
                format!("Time: {elapsed:.3} ms")
            } else {
                format!("Time: {elapsed:.3} ms (on {})", servers.join(", "))
            };
            *self.time_note.borrow_mut() = Some(note);
        }
        out
    }

    /// Handles one complete input: a dot-command or code. In a sandbox the
    /// input is one step: if it fails (or is cancelled) what it did is
    /// undone and the sandbox goes on, as psql's `ON_ERROR_ROLLBACK`
    /// (on PostgreSQL the failure would otherwise abort the sandbox).
    pub fn handle(&mut self, input: &str) -> Flow {
        self.step_open = self.begin_step();
        let flow = self.handle_input(input);
        self.end_step(!self.failed);
        self.print_time();
        flow
    }

    /// Begins a sandbox step for the next input; `false` outside a sandbox,
    /// or while a transaction of it is open (see
    /// [`Database::begin_sandbox_step`]).
    fn begin_step(&self) -> bool {
        self.db.is_sandbox()
            && self
                .runtime
                .block_on(self.db.begin_sandbox_step())
                .unwrap_or(false)
    }

    /// Ends the input's sandbox step, if one is open: `keep` what it did,
    /// or undo it.
    fn end_step(&mut self, keep: bool) {
        if !std::mem::take(&mut self.step_open) {
            return;
        }
        if let Err(e) = self.runtime.block_on(self.db.end_sandbox_step(keep)) {
            self.report(&ScriptError::from(e));
        }
    }

    fn handle_input(&mut self, input: &str) -> Flow {
        self.failed = false;
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Flow::Continue;
        }
        if trimmed.starts_with('.') {
            return match commands::parse(trimmed) {
                Ok(cmd) => self.command(cmd),
                Err(msg) => {
                    self.report(&ScriptError::usage(msg));
                    Flow::Continue
                }
            };
        }
        // `help`, `exit`, `quit`, `tables`: what the person means, unless the
        // session has a global of that name.
        if let Some(cmd) = commands::bare_word(trimmed)
            && !self
                .interp
                .borrow()
                .defines(trimmed.trim_end_matches(';').trim())
        {
            return self.command(cmd);
        }
        let cancelled_before = self.db.cancelled_statements();
        let result = self.timed(|| self.interp.borrow_mut().eval(input));
        match result {
            Ok(outputs) => self.print(&outputs),
            Err(e) => {
                let mut e = self.name_cancel(e, cancelled_before);
                self.explain_error(&mut e, input);
                self.report(&e);
            }
        }
        Flow::Continue
    }

    /// A call that Ctrl-C stopped while it waited for a statement is reported
    /// as `cancelled` (the statement was stopped on the server), not as an
    /// interrupted computation.
    fn name_cancel(&self, e: ScriptError, cancelled_before: u64) -> ScriptError {
        if e.kind == "interrupted" && self.db.cancelled_statements() > cancelled_before {
            return ScriptError::from(dbridge_engine::Error::Cancelled);
        }
        e
    }

    /// Adds the hints that say how to fix `e`, raised by `input`
    /// ([`hints::add`]).
    fn explain_error(&mut self, e: &mut ScriptError, input: &str) {
        // The failed input's step is undone first: on PostgreSQL the
        // failure aborted the sandbox's transaction, and the hints read
        // the catalog through it.
        self.end_step(false);
        hints::add(e, input, &self.interp, &self.db, &self.runtime);
    }

    /// Runs a command against the database and prints its result; `false`
    /// when it failed (the error reported, with hints; `input` is what the
    /// hints read). Ctrl-C cancels its database work ([`Runner`]).
    fn db_command(
        &mut self,
        input: &str,
        f: impl FnOnce(&Database, &Runner<'_>) -> Result<Output, ScriptError>,
    ) -> bool {
        let runner = Runner {
            runtime: &self.runtime,
            cancel: &self.cancel,
        };
        let result = self.timed(|| f(&self.db, &runner));
        match result {
            Ok(o) => {
                self.print(&[o]);
                true
            }
            Err(mut e) => {
                self.explain_error(&mut e, input);
                self.report(&e);
                false
            }
        }
    }

    /// `.sql`: each statement of the text in turn, each result shown (and
    /// timed), stopping at the first that fails. A text with transaction
    /// control (`BEGIN; ...; COMMIT`) runs whole on one connection instead
    /// (as `execute_script`), and may then hold no query.
    fn sql(&mut self, text: &str) {
        let statements: Vec<String> = dbridge_engine::db::split_statements(text, self.db.backend())
            .into_iter()
            .map(str::to_owned)
            .collect();
        if statements.len() > 1 && statements.iter().any(|s| meta::is_transaction_control(s)) {
            if statements.iter().any(|s| meta::returns_rows(s)) {
                self.report(&ScriptError::usage(
                    "`.sql` runs a text with BEGIN/COMMIT as one script, which cannot show rows: \
                     run the queries on their own, or use a script transaction (`db:transaction`)",
                ));
                return;
            }
            self.db_command(text, |db, rt| rt.block_on(meta::sql_script(db, text)));
            return;
        }
        for stmt in &statements {
            if !self.db_command(stmt, |db, rt| rt.block_on(meta::sql(db, stmt))) {
                break;
            }
            self.print_time();
        }
    }

    fn command(&mut self, cmd: Command) -> Flow {
        match cmd {
            Command::Help => print!("{}", commands::help()),
            Command::Quit => return Flow::Quit,
            Command::Mode(None) => println!("{}", self.mode.name()),
            Command::Mode(Some(m)) => self.mode = m,
            Command::Timing(on) => self.timing = on,
            Command::Pager(None) => match self.pager.command() {
                Some(cmd) => println!("{cmd}"),
                None => println!("off"),
            },
            Command::Pager(Some(p)) => self.pager = p,
            Command::Traceback(on) => self.traceback = on,
            Command::Sql(sql) => self.sql(&sql),
            Command::Tables => {
                self.db_command("", |db, rt| rt.block_on(meta::tables(db)));
            }
            Command::Schema(name) => {
                self.db_command("", |db, rt| rt.block_on(meta::schema(db, name.as_deref())));
            }
            Command::Explain(expr) => self.explain(&expr),
            Command::Models => {
                let models = self.interp.borrow_mut().models();
                self.show(models.map(|m| meta::models(&m)));
            }
            Command::Describe(expr) => {
                let model = self.interp.borrow_mut().model(&expr);
                let mut shown = model.map(|m| meta::describe(&m));
                if let Err(e) = &mut shown {
                    self.explain_error(e, &expr);
                }
                self.show(shown);
            }
            Command::Import { file, table } => self.import(&file, &table),
            Command::Read(path) if path.ends_with(".sql") => {
                self.db_command("", |db, rt| {
                    let sql = std::fs::read_to_string(&path)
                        .map_err(|e| ScriptError::new("io", format!("cannot read {path}: {e}")))?;
                    rt.block_on(meta::sql_script(db, &sql))
                });
            }
            Command::Read(path) => {
                if let Err(e) = self.run_file(Path::new(&path), &[]) {
                    self.report(&e);
                }
            }
        }
        Flow::Continue
    }

    fn import(&mut self, file: &str, table: &str) {
        self.db_command("", |db, rt| {
            // The file and the table are checked before the bar shows.
            let plan = rt.block_on(import::plan(db, Path::new(file), table))?;
            let bar = progress_bar();
            let loaded = rt.block_on(import::load(db, plan, &bar));
            bar.finish_and_clear();
            let n = loaded?;
            Ok(Output::Text(format!(
                "imported {n} row{} into {table}",
                if n == 1 { "" } else { "s" }
            )))
        });
    }

    fn show(&mut self, result: Result<Output, ScriptError>) {
        match result {
            Ok(o) => self.print(&[o]),
            Err(e) => self.report(&e),
        }
    }

    fn explain(&mut self, expr: &str) {
        let (options, body) = if meta::is_sql(expr) {
            meta::explain_options(expr)
        } else {
            (String::new(), expr)
        };
        let stmt = if meta::is_sql(body) {
            Statement::new(body, Vec::new())
        } else {
            // A query object: print the SQL it would run, then the server's plan.
            let stmt = self.interp.borrow_mut().query_statement(body);
            match stmt {
                Ok(stmt) => {
                    println!("{}", stmt.sql());
                    stmt
                }
                Err(e) => return self.report(&e),
            }
        };
        self.db_command(body, |db, rt| {
            rt.block_on(meta::explain(db, &stmt, &options))
        });
    }

    /// Runs a script file in this session.
    ///
    /// # Errors
    /// The script's error, or a file that cannot be read.
    pub fn run_file(&mut self, path: &Path, args: &[String]) -> Result<(), ScriptError> {
        let src = std::fs::read_to_string(path).map_err(|e| ScriptError {
            kind: "io".into(),
            message: format!("cannot read {}: {e}", path.display()),
            traceback: None,
            notes: Vec::new(),
        })?;
        let name = path.display().to_string();
        let cancelled_before = self.db.cancelled_statements();
        self.timed(|| self.interp.borrow_mut().run_script(&src, &name, args))
            .map_err(|e| self.name_cancel(e, cancelled_before))
    }

    /// Runs text (piped input, `-e`) as a script: on error, reports it and
    /// returns false.
    pub fn run_text(&mut self, src: &str, name: &str) -> bool {
        let result = self.interp.borrow_mut().run_script(src, name, &[]);
        match result {
            Ok(()) => true,
            Err(e) => {
                self.report(&e);
                false
            }
        }
    }

    /// The interactive loop, until `.quit` or Ctrl-D.
    ///
    /// # Errors
    /// If the terminal cannot be read.
    pub fn interactive(&mut self, history: Option<PathBuf>) -> rustyline::Result<()> {
        let config = Config::builder()
            .completion_type(rustyline::CompletionType::List)
            .auto_add_history(true)
            .max_history_size(5000)?
            .build();
        let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
        editor.set_helper(Some(ReplHelper::new(self.interp.clone())));
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        self.spawn_interrupt_listener();
        println!(
            "dbridge {} on {} - .help for commands, Ctrl-D to leave",
            env!("CARGO_PKG_VERSION"),
            self.db.url()
        );
        loop {
            match editor.readline(&self.prompt) {
                Ok(line) => {
                    if self.handle(&line) == Flow::Quit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => println!("^C"),
                Err(ReadlineError::Eof) => break,
                Err(e) => return Err(e),
            }
        }
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = editor.save_history(h);
        }
        Ok(())
    }

    /// Ctrl-C while a statement runs raises the interrupt flag instead of
    /// ending the process (while reading a line, rustyline gets it as a key).
    fn spawn_interrupt_listener(&self) {
        let flag = self.interrupted.clone();
        let stop = self.interp.borrow().interrupter();
        let cancel = self.cancel.clone();
        self.runtime.spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                flag.store(true, Ordering::SeqCst);
                cancel.cancel();
                if let Some(stop) = &stop {
                    stop();
                }
            }
        });
    }
}

/// Runs a dot-command's database work on the runtime, cancelled by Ctrl-C:
/// the statement is stopped on the server, what the command began (an
/// `.import`'s transaction) is rolled back, and the error is `cancelled`.
pub(crate) struct Runner<'a> {
    runtime: &'a Handle,
    cancel: &'a CancelHandle,
}

impl Runner<'_> {
    /// Blocks on `work` until it ends or Ctrl-C cancels it.
    pub(crate) fn block_on<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, ScriptError>>,
    ) -> Result<T, ScriptError> {
        self.runtime
            .block_on(self.cancel.run(work))
            .unwrap_or_else(|e| Err(ScriptError::from(e)))
    }
}

/// A byte-count progress bar on a terminal; a hidden one when stdout is piped.
fn progress_bar() -> ProgressBar {
    if !std::io::stdout().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
    {
        bar.set_style(style);
    }
    bar
}

/// Locks `m`, going on with its data if a holder panicked (a list of names
/// cannot be left half-changed).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
