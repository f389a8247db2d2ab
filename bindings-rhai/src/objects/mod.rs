//! The objects scripts see: database, transaction, row stream, models,
//! instances, queries, sessions, writes, relationships and listeners. Imports
//! `convert`, `runtime` and `objects`; never `install` or the crate root.

pub(crate) mod collection;
pub(crate) mod computed;
pub(crate) mod context;
pub(crate) mod cte;
pub(crate) mod database;
pub(crate) mod events;
pub(crate) mod expr;
pub(crate) mod instance;
pub(crate) mod loader;
pub(crate) mod lock;
pub(crate) mod model;
pub(crate) mod paginate;
pub(crate) mod query;
pub(crate) mod raw_sql;
pub(crate) mod related;
pub(crate) mod relation;
pub(crate) mod session;
pub(crate) mod statements;
pub(crate) mod stream;
pub(crate) mod transaction;
pub(crate) mod window;
pub(crate) mod write;
