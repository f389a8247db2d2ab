//! # dbridge-repl
//!
//! The library behind the `dbridge-repl` binary: the session loop ([`repl`]),
//! the languages it speaks ([`lang`]), the bounds of each call ([`limits`]), the line-editor helper ([`helper`]),
//! dot-commands ([`commands`], [`meta`], [`import`]), result rendering ([`render`]) and
//! the `migrate` subcommands ([`migrate_cmd`]).
//! The pure parts (rendering, command parsing, input completeness) are tested
//! on their own; the binary is tested by running it.
#![warn(missing_docs)]

pub mod commands;
pub mod dump;
pub mod helper;
pub mod import;
pub mod lang;
pub mod limits;
pub mod meta;
pub mod migrate_cmd;
pub mod models_cmd;
pub mod render;
pub mod repl;

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
