//! # dbridge-repl
//!
//! The library behind the `dbridge-repl` binary: the session loop ([`repl`]),
//! the languages it speaks ([`lang`]), the bounds of each call ([`limits`]), the line-editor helper ([`helper`]),
//! dot-commands ([`commands`], [`meta`], [`import`]), result rendering ([`render`]) on
//! the terminal ([`terminal`]: its size, the pager), completion that follows
//! types ([`complete`]), errors that suggest the fix ([`diagnose`], [`suggest`]) and
//! the `migrate` subcommands ([`migrate_cmd`]).
//! The pure parts (rendering, command parsing, input completeness) are tested
//! on their own; the binary is tested by running it.
#![warn(missing_docs)]

pub mod commands;
pub mod complete;
pub mod diagnose;
pub mod dump;
pub mod helper;
pub mod hints;
pub mod import;
pub mod lang;
pub mod limits;
pub mod meta;
pub mod migrate_cmd;
pub mod models_cmd;
pub mod render;
pub mod repl;
pub mod suggest;
pub mod terminal;

/// Where the history is kept: `$DBRIDGE_HISTORY`, else
/// `$XDG_DATA_HOME/dbridge/history`, else `~/.local/share/dbridge/history`
/// (the XDG default); `None` without any of these variables.
pub fn history_path() -> Option<std::path::PathBuf> {
    use std::path::PathBuf;
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    if let Some(p) = var("DBRIDGE_HISTORY") {
        return Some(PathBuf::from(p));
    }
    if let Some(data) = var("XDG_DATA_HOME") {
        return Some(PathBuf::from(data).join("dbridge/history"));
    }
    let home = var("HOME")?;
    Some(PathBuf::from(home).join(".local/share/dbridge/history"))
}

/// Logs to stderr as `RUST_LOG` says (`RUST_LOG=dbridge=debug`,
/// `RUST_LOG=trace`...); nothing when it is unset or invalid. The engine's
/// statement spans carry SQL text, never bound values, and sqlx's statement
/// log prints SQL only.
pub fn init_logging() {
    let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
