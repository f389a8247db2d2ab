//! # dbridge
//!
//! An ORM runtime whose models, sessions, queries, hooks and migrations are
//! driven from embedded Lua and Rhai scripts. This facade re-exports the parts:
//!
//! - [`engine`]: the core (`dbridge-engine`): values, identifiers, dialects, the
//!   database layer and, as they land, models, queries, sessions and migrations.
//!
//! See the README and `docs/` for a tour.

pub use dbridge_engine as engine;

// The README's and the docs' Rust examples compile as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/connecting.md")]
struct ConnectingDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/sql.md")]
struct SqlDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/types.md")]
struct TypesDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/session.md")]
struct SessionDoctests;
