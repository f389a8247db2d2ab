//! `dbridge-repl`: interactive Lua sessions against a database, and a script
//! runner.
//!
//! ```text
//! dbridge-repl                         # Lua on an in-memory SQLite database
//! dbridge-repl --db app.db             # a SQLite file
//! dbridge-repl --url postgres://...    # any backend (or DATABASE_URL)
//! dbridge-repl run script.lua ARGS...  # run a script and exit
//! dbridge-repl -e 'return 1 + 1'       # run one snippet
//! dbridge-repl migrate up              # apply migrations (see migrate_cmd)
//! echo 'print(1)' | dbridge-repl       # piped input runs as a script
//! ```

use std::cell::RefCell;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use dbridge_engine::Database;
use dbridge_repl::helper::Shared;
use dbridge_repl::lang::lua::LuaSession;
use dbridge_repl::lang::rhai::RhaiSession;
use dbridge_repl::limits::{self, Limits};
use dbridge_repl::repl::Repl;

/// Interactive Lua sessions against a database, and a script runner.
#[derive(Debug, Parser)]
#[command(name = "dbridge-repl", version, about)]
struct Args {
    /// A SQLite database file (created if missing).
    #[arg(long, value_name = "FILE", conflicts_with = "url", global = true)]
    db: Option<PathBuf>,

    /// A database URL: sqlite::memory:, sqlite://FILE or postgres://...
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    url: Option<String>,

    /// A read replica of the PostgreSQL database (repeatable): reads run
    /// outside a transaction go to a replica, the rest to --url's primary.
    #[arg(long = "replica", value_name = "URL", global = true)]
    replicas: Vec<String>,

    /// The script language of the session (`run` picks it by the file's extension).
    #[arg(long, value_enum, default_value_t = Lang::Lua)]
    lang: Lang,

    /// A script run before anything else (e.g. one that declares models).
    #[arg(long, value_name = "FILE")]
    models: Option<PathBuf>,

    /// Run the whole session in a transaction that is rolled back on exit.
    #[arg(long)]
    sandbox: bool,

    /// Run CODE, print its value, and exit.
    #[arg(short = 'e', long = "execute", value_name = "CODE")]
    execute: Option<String>,

    /// Stop a call after N Lua instructions or Rhai operations (default: no limit).
    #[arg(long, value_name = "N", value_parser = limits::parse_budget, global = true)]
    budget: Option<u64>,

    /// Bound memory: the Lua state's, or each Rhai value's size; bytes or 512K, 64M, 1G
    /// (default: no limit).
    #[arg(long, value_name = "BYTES", value_parser = limits::parse_bytes, global = true)]
    memory_limit: Option<usize>,

    /// Stop a call after SECS seconds of wall-clock time, decimals allowed (default: no limit).
    #[arg(long, value_name = "SECS", value_parser = limits::parse_secs, global = true)]
    timeout: Option<Duration>,

    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Lang {
    Lua,
    Rhai,
}

impl Lang {
    /// The language of a script file: `.rhai` is Rhai, anything else Lua.
    fn of_file(path: &std::path::Path, default: Lang) -> Lang {
        match path.extension().and_then(|e| e.to_str()) {
            Some("rhai") => Lang::Rhai,
            Some("lua") => Lang::Lua,
            _ => default,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run a script file (Lua, or Rhai for `.rhai`) and exit with a non-zero status if it fails.
    Run {
        /// The script.
        file: PathBuf,
        /// Arguments, available to the script as `arg[1]`, `arg[2]`...
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Apply, undo, check and write migrations (see docs/migrations.md).
    Migrate(dbridge_repl::migrate_cmd::MigrateArgs),
    /// Write the models of the database's tables as declarations (see docs/repl.md).
    Models(dbridge_repl::models_cmd::ModelsArgs),
}

impl Args {
    /// The bounds of each top-level call.
    fn limits(&self) -> Limits {
        Limits {
            budget: self.budget,
            memory: self.memory_limit,
            timeout: self.timeout,
        }
    }
}

fn url_of(args: &Args) -> String {
    match (&args.db, &args.url) {
        (Some(path), _) => format!("sqlite://{}", path.display()),
        (None, Some(url)) => url.clone(),
        (None, None) => "sqlite::memory:".into(),
    }
}

fn main() -> ExitCode {
    let mut args = Args::parse();
    dbridge_repl::init_logging();
    if args.sandbox && matches!(args.command, Some(Cmd::Migrate(_))) {
        // Migrations commit what they apply: a sandbox cannot hold them.
        eprintln!(
            "error[invalid_state]: --sandbox cannot be combined with `migrate`: migrations commit; \
             use `migrate up --dry-run` to see what would run"
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let url = url_of(&args);
    let connected = if args.replicas.is_empty() {
        runtime.block_on(Database::connect(&url))
    } else {
        let replicas: Vec<&str> = args.replicas.iter().map(String::as_str).collect();
        runtime.block_on(Database::connect_replicated(
            &url,
            &replicas,
            dbridge_engine::ConnectOptions::new(),
        ))
    };
    let db = match connected {
        Ok(db) => db,
        Err(e) => {
            eprintln!("error[{}]: {e}", e.kind());
            return ExitCode::from(2);
        }
    };
    if let Some(Cmd::Migrate(_)) = args.command
        && let Some(Cmd::Migrate(m)) = args.command.take()
    {
        let code = dbridge_repl::migrate_cmd::run(&runtime, db, m);
        runtime.shutdown_background();
        return code;
    }
    if let Some(Cmd::Models(_)) = args.command
        && let Some(Cmd::Models(m)) = args.command.take()
    {
        let code = dbridge_repl::models_cmd::run(&runtime, &db, m);
        runtime.shutdown_background();
        return code;
    }
    let db = if args.sandbox {
        match runtime.block_on(db.sandbox()) {
            Ok(sb) => sb,
            Err(e) => {
                eprintln!("error[{}]: {e}", e.kind());
                return ExitCode::from(2);
            }
        }
    } else {
        db
    };
    let sandbox = db.clone();
    let prompt = if args.sandbox {
        "dbridge(sandbox)> "
    } else {
        "dbridge> "
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let lang = match &args.command {
        Some(Cmd::Run { file, .. }) => Lang::of_file(file, args.lang),
        _ => args.lang,
    };
    let handle = runtime.handle().clone();
    let limits = args.limits();
    let interp: Shared = match lang {
        Lang::Lua => match LuaSession::with_limits(db.clone(), handle, interrupted.clone(), limits)
        {
            Ok(l) => Rc::new(RefCell::new(Box::new(l))),
            Err(e) => {
                eprintln!("error: cannot start Lua (is --memory-limit too small?): {e}");
                return ExitCode::from(2);
            }
        },
        Lang::Rhai => {
            match RhaiSession::with_limits(db.clone(), handle, interrupted.clone(), limits) {
                Ok(r) => Rc::new(RefCell::new(Box::new(r))),
                Err(e) => {
                    eprintln!("error: cannot start Rhai: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    // The existing tables as ready-to-use models (`users:get(1)`, `db:query(users)`).
    if let Err(e) = interp.borrow_mut().reflect() {
        eprintln!("warning: the tables could not be reflected as models: {e}");
    } else {
        dbridge_repl::migrate_cmd::warn_unmapped(&runtime, &db);
    }
    let mut repl = Repl::new(
        db,
        interp,
        runtime.handle().clone(),
        interrupted,
        prompt.into(),
    );

    if let Some(models) = &args.models
        && let Err(e) = repl.run_file(models, &[])
    {
        eprintln!("{e}");
        return ExitCode::from(1);
    }
    let ok = match (&args.command, &args.execute) {
        (Some(Cmd::Run { file, args }), _) => match repl.run_file(file, args) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("{e}");
                if let Some(tb) = &e.traceback {
                    eprintln!("{tb}");
                }
                false
            }
        },
        // Handled above, before the session started.
        (Some(Cmd::Migrate(_) | Cmd::Models(_)), _) => true,
        (None, Some(code)) => {
            repl.handle(code);
            !repl.failed
        }
        (None, None) if !std::io::stdin().is_terminal() => {
            let mut src = String::new();
            if let Err(e) = std::io::stdin().read_to_string(&mut src) {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(2);
            }
            repl.run_text(&src, "stdin")
        }
        (None, None) => match repl.interactive(dbridge_repl::history_path()) {
            Ok(()) => true,
            Err(e) => {
                eprintln!("error: {e}");
                false
            }
        },
    };
    let mut ok = ok;
    // Every way out ends here (Ctrl-D, `.quit`, the end of `run` or `-e`):
    // dropping the session drops the transactions its scripts left open,
    // which roll back; then the sandbox, if any, is rolled back whole.
    let open = sandbox.open_transactions();
    {
        let _entered = runtime.enter();
        drop(repl);
    }
    if open > 0 {
        eprintln!(
            "rolled back {open} open transaction{}",
            if open == 1 { "" } else { "s" }
        );
    }
    if args.sandbox {
        match runtime.block_on(sandbox.rollback_sandbox()) {
            Ok(()) => eprintln!("sandbox rolled back: nothing was saved"),
            Err(e) => {
                eprintln!("error[{}]: rolling back the sandbox: {e}", e.kind());
                ok = false;
            }
        }
    }
    if !args.sandbox {
        // Cancels sent by a last Ctrl-C are delivered before leaving.
        runtime.block_on(sandbox.close());
    }
    // Leave without waiting on the pool's background tasks.
    runtime.shutdown_background();
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
