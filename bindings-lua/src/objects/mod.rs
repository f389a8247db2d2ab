//! The objects scripts see: database, transaction, row stream, models,
//! instances, queries, sessions, writes, relationships and listeners. Imports
//! `convert`, `runtime` and `objects`; never `install` or the crate root.

pub(crate) mod builder;
pub(crate) mod computed;
pub(crate) mod conn;
pub(crate) mod cte;
pub(crate) mod database;
pub(crate) mod events;
pub(crate) mod expr;
pub(crate) mod hooks;
pub(crate) mod instance;
pub(crate) mod loader;
pub(crate) mod lock;
pub(crate) mod model;
pub(crate) mod orm;
pub(crate) mod paginate;
pub(crate) mod query;
pub(crate) mod related;
pub(crate) mod relation;
pub(crate) mod session;
pub(crate) mod session_cell;
pub(crate) mod stream;
pub(crate) mod transaction;
pub(crate) mod validators;
pub(crate) mod window;
pub(crate) mod write;
