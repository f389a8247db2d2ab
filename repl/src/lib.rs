//! # dbridge-repl
//!
//! The library behind the `dbridge-repl` binary: the session loop ([`repl`]),
//! the languages it speaks ([`lang`]), the line-editor helper ([`helper`]),
//! dot-commands ([`commands`], [`meta`]) and result rendering ([`render`]).
//! The pure parts (rendering, command parsing, input completeness) are tested
//! on their own; the binary is tested by running it.
#![warn(missing_docs)]

pub mod commands;
pub mod helper;
pub mod lang;
pub mod meta;
pub mod render;
pub mod repl;
