//! # dbridge-repl
//!
//! The library behind the `dbridge-repl` binary: the session loop ([`repl`]),
//! the languages it speaks ([`lang`]), the line-editor helper ([`helper`]),
//! dot-commands ([`commands`], [`meta`], [`import`]), result rendering ([`render`]) and
//! the `migrate` subcommands ([`migrate_cmd`]).
//! The pure parts (rendering, command parsing, input completeness) are tested
//! on their own; the binary is tested by running it.
#![warn(missing_docs)]

pub mod commands;
pub mod helper;
pub mod import;
pub mod lang;
pub mod meta;
pub mod migrate_cmd;
pub mod render;
pub mod repl;
