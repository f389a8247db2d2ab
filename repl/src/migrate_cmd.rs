//! `dbridge-repl migrate ...`: the migration runner from the command line.
//!
//! ```text
//! dbridge-repl --db app.db migrate status
//! dbridge-repl migrate new add_tags [--kind lua]
//! dbridge-repl migrate autogenerate create_tags --models models.lua [--allow-drops]
//! dbridge-repl migrate up [--to VERSION] [--dry-run]
//! dbridge-repl migrate down [N] [--dry-run]
//! dbridge-repl migrate check --models models.lua   # exit status 1 when they differ
//! ```
//!
//! `.lua` and `.rhai` migrations run through the bindings' script runners.
//! Models for `autogenerate` and `check` come from a script ([`load_models`]):
//! the models it declares. `autogenerate` refuses a migration that drops
//! tables or columns unless `--allow-drops` is given.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use clap::{Args, Subcommand, ValueEnum};
use comfy_table::{Table as Grid, presets::UTF8_FULL_CONDENSED};
use dbridge_engine::migrate::DEFAULT_HISTORY_TABLE;
use dbridge_engine::migrate::{
    IntrospectOptions, MigrationKind, MigrationRun, MigrationState, MigrationStatus, Migrator,
    PlannedMigration, SchemaSnapshot, introspect,
};
use dbridge_engine::schema::Metadata;
use dbridge_engine::{Database, Error, Ident};
use indicatif::{ProgressBar, ProgressStyle};
use tokio::runtime::Runtime;

use crate::lang::Interpreter;
use crate::lang::lua::LuaSession;
use crate::lang::rhai::RhaiSession;

/// `dbridge-repl migrate`: its directory and what to do.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The migrations directory.
    #[arg(long, value_name = "DIR", default_value = "migrations", global = true)]
    pub dir: PathBuf,

    /// What to do.
    #[command(subcommand)]
    pub action: Action,
}

/// A `migrate` subcommand.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// List the migrations and whether each is applied.
    Status,
    /// Write an empty migration NNNN_NAME.sql (or .lua / .rhai) and print its path.
    New {
        /// The migration's name.
        name: String,
        /// The file's language.
        #[arg(long, value_enum, default_value_t = Kind::Sql)]
        kind: Kind,
    },
    /// Write a migration with the DDL that brings the database to the models.
    Autogenerate {
        /// The migration's name.
        name: String,
        /// A Lua or Rhai script that declares the models (see docs/repl.md).
        #[arg(long, value_name = "FILE")]
        models: PathBuf,
        /// Write it even when it drops tables or columns (refused otherwise).
        #[arg(long)]
        allow_drops: bool,
    },
    /// Apply the pending migrations (up to --to VERSION).
    Up {
        /// The last version to apply.
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        /// Print the SQL that would run; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the last N applied migrations (default 1).
    Down {
        /// How many.
        #[arg(default_value_t = 1)]
        n: usize,
        /// Print the SQL that would run; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Compare the models with the database; exit status 1 when they differ.
    Check {
        /// A Lua or Rhai script that declares the models (see docs/repl.md).
        #[arg(long, value_name = "FILE")]
        models: PathBuf,
    },
}

/// The language of a new migration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// `-- up` / `-- down` SQL sections.
    Sql,
    /// `up(db)` / `down(db)` Lua functions.
    Lua,
    /// `fn up(db)` / `fn down(db)` Rhai functions.
    Rhai,
}

impl From<Kind> for MigrationKind {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Sql => Self::Sql,
            Kind::Lua => Self::Lua,
            Kind::Rhai => Self::Rhai,
        }
    }
}

/// What a command failed with: printed on stderr, exit status 1.
#[derive(Debug)]
pub struct Failure(String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self(format!("error[{}]: {e}", e.kind()))
    }
}

/// Runs `args` on `db`; the process's exit status (2 for a migrations
/// directory that does not exist).
pub fn run(runtime: &Runtime, db: Database, args: MigrateArgs) -> ExitCode {
    if let Err(Failure(message)) = check_dir(&args) {
        eprintln!("{message}");
        return ExitCode::from(2);
    }
    match execute(runtime, db, args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(Failure(message)) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

/// Fails when the action reads the migrations directory and it is not one:
/// a mistyped `--dir` must not read as "nothing to apply". (`new` and
/// `autogenerate` create it.)
fn check_dir(args: &MigrateArgs) -> Result<(), Failure> {
    let reads = !matches!(
        args.action,
        Action::New { .. } | Action::Autogenerate { .. }
    );
    if !reads || args.dir.is_dir() {
        return Ok(());
    }
    let why = if args.dir.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    Err(Failure(format!(
        "error[migration]: the migrations directory {} {why} (set it with --dir)",
        args.dir.display()
    )))
}

/// A migrator for `dir` that runs SQL, Lua and Rhai migrations.
pub fn migrator(db: Database, dir: &Path) -> Migrator {
    Migrator::new(db, dir)
        .script_runner(Arc::new(dbridge_lua::LuaScriptRunner::new()))
        .script_runner(Arc::new(dbridge_rhai::RhaiScriptRunner::new()))
}

/// Runs the command; `Ok(false)` when `check` found differences.
fn execute(runtime: &Runtime, db: Database, args: MigrateArgs) -> Result<bool, Failure> {
    let m = migrator(db.clone(), &args.dir);
    match args.action {
        Action::Status => {
            let status = runtime.block_on(m.status())?;
            print!("{}", status_table(&status, &args.dir));
        }
        Action::New { name, kind } => {
            let path = m.new_migration_of(&name, kind.into())?;
            println!("{}", path.display());
        }
        Action::Autogenerate {
            name,
            models,
            allow_drops,
        } => {
            let models = load_models(runtime, &models)?;
            let m = m.models(models).allow_drops(allow_drops);
            match runtime.block_on(m.autogenerate(&name))? {
                Some(path) => println!("{}", path.display()),
                None => println!("no change: the database matches the models"),
            }
        }
        Action::Up { to, dry_run: true } => {
            print!("{}", plan_text(&runtime.block_on(m.plan_up(to))?));
        }
        Action::Down { n, dry_run: true } => {
            print!("{}", plan_text(&runtime.block_on(m.plan_down(n))?));
        }
        Action::Up { to, dry_run: false } => {
            let plan = runtime.block_on(m.plan_up(to))?;
            let runs = step_through(&plan, |p| {
                cancellable(runtime, &db, m.up(Some(p.file.version)))
            })?;
            print!(
                "{}",
                runs_text(
                    &runs,
                    "applied",
                    "nothing to apply: the database is up to date"
                )
            );
        }
        Action::Down { n, dry_run: false } => {
            let plan = runtime.block_on(m.plan_down(n))?;
            let runs = step_through(&plan, |_| cancellable(runtime, &db, m.down(1)))?;
            print!("{}", runs_text(&runs, "reverted", "nothing to revert"));
        }
        Action::Check { models } => {
            let models = load_models(runtime, &models)?;
            let diff = runtime.block_on(m.models(models).check())?;
            if diff.is_empty() {
                println!("the database matches the models");
                return Ok(true);
            }
            println!(
                "the database differs from the models ({} changes):",
                diff.changes().len()
            );
            for c in diff.changes() {
                println!("  {c}");
            }
            for r in diff.possible_renames() {
                println!("  possible rename: {r}");
            }
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs the planned migrations one `step` at a time, with a progress bar on
/// a terminal.
/// Runs one migration step; Ctrl-C cancels it: its statement is stopped on
/// the server, its transaction rolled back, and the error is `cancelled`
/// (the cancel is delivered before the process goes on to exit).
fn cancellable<T>(
    runtime: &Runtime,
    db: &Database,
    step: impl std::future::Future<Output = dbridge_engine::Result<T>>,
) -> dbridge_engine::Result<T> {
    let out = runtime.block_on(async {
        tokio::select! {
            r = step => r,
            _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
        }
    });
    if matches!(out, Err(Error::Cancelled)) {
        runtime.block_on(db.close());
    }
    out
}

fn step_through(
    plan: &[PlannedMigration],
    mut step: impl FnMut(&PlannedMigration) -> dbridge_engine::Result<Vec<MigrationRun>>,
) -> Result<Vec<MigrationRun>, Failure> {
    let bar = if std::io::stdout().is_terminal() && !plan.is_empty() {
        let bar = ProgressBar::new(plan.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}") {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut runs = Vec::new();
    for p in plan {
        bar.set_message(p.file.file_name());
        match step(p) {
            Ok(done) => runs.extend(done),
            Err(e) => {
                bar.abandon();
                print!("{}", runs_text(&runs, "applied", ""));
                return Err(e.into());
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(runs)
}

fn state_name(s: &MigrationState) -> &'static str {
    match s {
        MigrationState::Applied(_) => "applied",
        MigrationState::Pending => "pending",
        MigrationState::Changed(_) => "CHANGED since applied",
        MigrationState::Missing(_) => "MISSING file",
    }
}

/// The status as a table (or a line saying there are no migrations).
pub fn status_table(status: &[MigrationStatus], dir: &Path) -> String {
    if status.is_empty() {
        return format!("no migrations in {}\n", dir.display());
    }
    let mut grid = Grid::new();
    grid.load_preset(UTF8_FULL_CONDENSED);
    grid.set_header(["version", "name", "file", "state", "applied at"]);
    for s in status {
        let applied_at = match &s.state {
            MigrationState::Applied(a)
            | MigrationState::Changed(a)
            | MigrationState::Missing(a) => a.applied_at.clone(),
            MigrationState::Pending => String::new(),
        };
        grid.add_row([
            s.version.to_string(),
            s.name.clone(),
            s.file.as_ref().map(|f| f.file_name()).unwrap_or_default(),
            state_name(&s.state).to_owned(),
            applied_at,
        ]);
    }
    let pending = status
        .iter()
        .filter(|s| matches!(s.state, MigrationState::Pending))
        .count();
    format!("{grid}\n{} migrations, {pending} pending\n", status.len())
}

/// A dry run: each migration's file and the SQL it would run.
pub fn plan_text(plan: &[PlannedMigration]) -> String {
    if plan.is_empty() {
        return "-- nothing to run\n".into();
    }
    let mut out = String::new();
    for p in plan {
        out.push_str(&format!(
            "-- {} ({})\n",
            p.file.file_name(),
            p.direction.as_str()
        ));
        if p.file.kind != MigrationKind::Sql {
            out.push_str(&format!(
                "-- a {} script: its statements are known only when it runs\n",
                p.file.kind.extension()
            ));
        }
        for s in &p.statements {
            out.push_str(s.sql());
            out.push_str(";\n");
        }
        out.push('\n');
    }
    out
}

fn runs_text(runs: &[MigrationRun], verb: &str, none: &str) -> String {
    if runs.is_empty() {
        return if none.is_empty() {
            String::new()
        } else {
            format!("{none}\n")
        };
    }
    let mut out = String::new();
    for r in runs {
        let verb = match r.direction {
            dbridge_engine::migrate::Direction::Up => "applied",
            dbridge_engine::migrate::Direction::Down => verb,
        };
        out.push_str(&format!(
            "{verb} {} ({} ms)\n",
            r.file.file_name(),
            r.duration.as_millis()
        ));
    }
    out
}

/// The models a `--models` script makes.
///
/// The script (Lua, or Rhai for `.rhai`) runs with `db` bound to a scratch
/// in-memory SQLite database. The models it declares (`db:model{...}`) are
/// the target, as declared (types, enum types, defaults and names as
/// written: nothing is lost on the way through SQLite); tables it creates
/// there that no declared model maps (raw SQL) are reflected and added.
///
/// # Errors
/// The script's error; a model that waits for a table nothing declares; a
/// table that cannot be a model; a script that gives no models at all (a
/// comparison with nothing would drop every table).
pub fn load_models(runtime: &Runtime, path: &Path) -> Result<Metadata, Failure> {
    let fail = |what: String| {
        Failure(format!(
            "error[migration]: models script {}: {what}",
            path.display()
        ))
    };
    let src = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let scratch = runtime.block_on(Database::connect("sqlite::memory:"))?;
    let handle = runtime.handle().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let name = path.display().to_string();
    let script_failure = |e: crate::lang::ScriptError| {
        Failure(format!(
            "error[{}]: models script {}: {}",
            e.kind,
            path.display(),
            e.message
        ))
    };
    let declared = if path.extension().is_some_and(|e| e == "rhai") {
        let mut s = RhaiSession::new(scratch.clone(), handle, stop)?;
        s.run_script(&src, &name, &[]).map_err(script_failure)?;
        s.models().map_err(script_failure)?
    } else {
        let mut s = LuaSession::new(scratch.clone(), handle, stop)
            .map_err(|e| fail(format!("cannot start Lua: {e}")))?;
        s.run_script(&src, &name, &[]).map_err(script_failure)?;
        s.models().map_err(script_failure)?
    };
    let snapshot = runtime.block_on(introspect(&scratch, &IntrospectOptions::default()))?;
    let reflected = snapshot.to_metadata();
    let mut unmapped = unmapped_in(&snapshot, &reflected.left_out);
    unmapped.retain(|(t, _)| !declared.iter().any(|m| m.table().as_str() == t));
    if !unmapped.is_empty() {
        let (table, why) = unmapped.remove(0);
        return Err(fail(format!("table `{table}` cannot be a model: {why}")));
    }
    let extra = reflected
        .metadata
        .models()
        .into_iter()
        .filter(|r| !declared.iter().any(|m| m.table() == r.table()));
    let all: Vec<_> = declared.iter().cloned().chain(extra).collect();
    if all.is_empty() {
        return Err(fail(
            "it declares no models and creates no tables: refusing to compare the database \
             with nothing (every table would be dropped)"
                .into(),
        ));
    }
    let models = Metadata::new();
    models
        .add_all(all)
        .map_err(|e| fail(format!("its models do not fit together: {e}")))?;
    Ok(models)
}

/// The tables of `snapshot` that are not models, with the reason: those whose
/// names dbridge cannot quote (introspection skips them) and those
/// `to_metadata` left out (`left_out`).
fn unmapped_in(snapshot: &SchemaSnapshot, left_out: &[(String, String)]) -> Vec<(String, String)> {
    let skipped = snapshot.skipped.iter().map(|name| {
        let why = match Ident::for_backend(name, snapshot.backend) {
            Err(Error::InvalidIdentifier { reason, .. }) => {
                format!("its name is not an identifier dbridge can quote ({reason})")
            }
            _ => "one of its columns or constraints has a name dbridge cannot quote".into(),
        };
        (name.clone(), why)
    });
    skipped.chain(left_out.iter().cloned()).collect()
}

/// The tables of `db` that cannot be models (see [`load_models`]), with the
/// reason; the migration history table is not one of them.
///
/// # Errors
/// Database errors while reading the catalog.
pub fn unmapped_tables(runtime: &Runtime, db: &Database) -> Result<Vec<(String, String)>, Error> {
    let options = IntrospectOptions::default().exclude(DEFAULT_HISTORY_TABLE);
    let snapshot = runtime.block_on(introspect(db, &options))?;
    let reflected = snapshot.to_metadata();
    Ok(unmapped_in(&snapshot, &reflected.left_out))
}

/// Warns on stderr about each table of `db` that the prompt cannot offer as
/// a model (`warning: table `x` is not a model: why`).
pub fn warn_unmapped(runtime: &Runtime, db: &Database) {
    match unmapped_tables(runtime, db) {
        Ok(tables) => {
            for (table, why) in tables {
                eprintln!("warning: table `{table}` is not a model: {why}");
            }
        }
        Err(e) => eprintln!("warning: the tables could not be read: {e}"),
    }
}
