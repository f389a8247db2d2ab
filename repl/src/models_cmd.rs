//! `dbridge-repl models dump`: writes the `db:model{...}` declarations of
//! the database's tables (relationships included) on standard output.
//!
//! ```text
//! dbridge-repl --db app.db models dump --lang lua > models.lua
//! dbridge-repl --url "$DATABASE_URL" models dump --lang rhai > models.rhai
//! dbridge-repl --url "$DATABASE_URL" migrate check --models models.lua   # no drift
//! ```

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use dbridge_engine::Database;
use dbridge_engine::migrate::{DEFAULT_HISTORY_TABLE, IntrospectOptions, introspect};
use tokio::runtime::Runtime;

use crate::dump::{Lua, Rhai, Syntax, dump};

/// `dbridge-repl models`: what to do.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: ModelsAction,
}

/// A `models` subcommand.
#[derive(Debug, Subcommand)]
pub enum ModelsAction {
    /// Write the db:model declarations of the database's tables (ordered by
    /// dependency, relationships from the foreign keys) on standard output.
    Dump {
        /// The language of the declarations.
        #[arg(long, value_enum, default_value_t = DumpLang::Lua)]
        lang: DumpLang,
        /// The PostgreSQL schema to read (default: the current one).
        #[arg(long, value_name = "NAME")]
        schema: Option<String>,
    },
}

/// The language `models dump` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DumpLang {
    /// `db:model { ... }`.
    Lua,
    /// `db.model(#{ ... });`.
    Rhai,
}

/// Runs `args` on `db`; the process's exit status.
pub fn run(runtime: &Runtime, db: &Database, args: ModelsArgs) -> ExitCode {
    match args.action {
        ModelsAction::Dump { lang, schema } => {
            let mut options = IntrospectOptions::default().exclude(DEFAULT_HISTORY_TABLE);
            options.schema = schema;
            match runtime.block_on(introspect(db, &options)) {
                Ok(snapshot) => {
                    let syntax: &dyn Syntax = match lang {
                        DumpLang::Lua => &Lua,
                        DumpLang::Rhai => &Rhai,
                    };
                    print!("{}", dump(&snapshot, syntax));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error[{}]: {e}", e.kind());
                    ExitCode::from(1)
                }
            }
        }
    }
}
