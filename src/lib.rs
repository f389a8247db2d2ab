//! # dbridge
//!
//! An ORM runtime whose models, sessions, queries, hooks and migrations are
//! driven from embedded Lua and Rhai scripts. This facade re-exports the parts:
//!
//! - [`engine`]: the core (`dbridge-engine`): values, identifiers, dialects, the
//!   database layer, models and the query builder.
//! - [`lua`]: the engine from Lua (`dbridge-lua`).
//! - [`rhai`]: the engine from Rhai (`dbridge-rhai`).
//!
//! See the README and `docs/` for a tour.

pub use dbridge_engine as engine;
pub use dbridge_lua as lua;
pub use dbridge_rhai as rhai;

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
#[doc = include_str!("../docs/migrations.md")]
struct MigrationsDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/session.md")]
struct SessionDoctests;

#[cfg(doctest)]
#[doc = include_str!("../docs/relationships.md")]
struct RelationshipsDoctests;
