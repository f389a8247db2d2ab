//! # dbridge-rhai
//!
//! The dbridge engine from [Rhai](https://rhai.rs) scripts: the surface of the
//! Lua binding, spelt the Rhai way (`db.fetch_all(...)`, `#{...}` option maps,
//! `()` for NULL), with the ORM layer: models, instances, the query builder,
//! sessions, writes, and listeners and validators as Rhai closures. The
//! script reference is `docs/rhai.md`.
//!
//! One call, [`register`], installs dbridge into a host's [`rhai::Engine`]
//! with the limits the host chooses; [`sandboxed_engine`] makes a fresh engine
//! with safe defaults. [`RhaiScriptRunner`] runs `.rhai` migration files for
//! the engine's `Migrator`; scripts get `db.migrator(dir)`.
//!
//! ## Blocking
//!
//! Rhai has no coroutines: a database call blocks the thread running the
//! script until it completes on a tokio runtime (the one given in
//! [`Options::runtime`], else the one current at registration, else a small
//! runtime the binding starts). This is correct
//!
//! - on a plain thread (no runtime entered): the simplest host;
//! - on a multi-thread runtime's worker (via `tokio::task::block_in_place`),
//!   though a long script then holds a worker: prefer [`spawn_blocking`];
//! - under [`spawn_blocking`], on any runtime flavor: the recommended way to
//!   run scripts from async code, and the only one on a current-thread runtime.
//!
//! On a current-thread runtime's own thread a database call fails with an
//! `invalid_state` error instead of stalling (or panicking) the runtime.
//!
//! # Examples
//!
//! ```
//! let engine = dbridge_rhai::sandboxed_engine()?;
//! let n: i64 = engine.eval(r#"
//!     let db = dbridge::connect("sqlite::memory:");
//!     db.execute("CREATE TABLE t (n INTEGER)");
//!     db.transaction(|tx| {
//!         tx.execute("INSERT INTO t VALUES ($1), ($2)", [1, 2]);
//!     });
//!     db.fetch_one("SELECT sum(n) AS s FROM t").s
//! "#)?;
//! assert_eq!(n, 3);
//! # Ok::<_, Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

mod convert;
mod install;
mod objects;
mod runtime;

use dbridge_engine::{Database, Error};
use rhai::{Engine, Module};

/// The Rhai crate this binding is built with, for hosts to use the same version.
pub use rhai;

pub use convert::error::{DbError, db_error};
pub use convert::value::Json;
pub use install::migrate::RhaiScriptRunner;
pub use objects::collection::Collection;
pub use objects::database::Db;
pub use objects::expr::{ExprV, Label, Order};
pub use objects::instance::Obj;
pub use objects::loader::LoadV;
pub use objects::model::{ModelV, Now};
pub use objects::query::{Query, Table};
pub use objects::relation::{RelAttr, RelationV};
pub use objects::session::Sess;
pub use objects::stream::{RowIter, RowStream};
pub use objects::transaction::Tx;
pub use objects::write::Write;
pub use runtime::blocker::{allow_blocking, spawn_blocking};
pub use runtime::options::{Options, Progress};

use runtime::blocker::Blocker;

/// What [`register`] returns: the binding's tie to its runtime, used to hand
/// scripts a database the host opened itself.
#[derive(Debug, Clone)]
pub struct Dbridge {
    blocker: Blocker,
}

impl Dbridge {
    /// A database the host opened, as a script value (push it into a
    /// `rhai::Scope` to give scripts a global `db`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let rt = tokio::runtime::Runtime::new().unwrap();
    /// let db = rt.block_on(dbridge_engine::Database::connect("sqlite::memory:")).unwrap();
    /// let mut engine = rhai::Engine::new();
    /// let dbridge = dbridge_rhai::register(
    ///     &mut engine,
    ///     dbridge_rhai::Options::new().runtime(rt.handle().clone()),
    /// ).unwrap();
    /// let mut scope = rhai::Scope::new();
    /// scope.push("db", dbridge.database(db));
    /// let one: i64 = engine.eval_with_scope(&mut scope, "db.fetch_one(\"SELECT 1 AS one\").one").unwrap();
    /// assert_eq!(one, 1);
    /// ```
    pub fn database(&self, db: Database) -> Db {
        Db::new(db, self.blocker.clone())
    }

    /// The runtime database calls run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.blocker.handle()
    }

    /// Keeps the header of each empty result scripts fetch from now on
    /// (`db.fetch_all(...)`, `db.query(...).all()`), for a host that prints
    /// results: an empty Rhai array says nothing of its columns. Each empty
    /// result then costs a description of its statement (prepared, not
    /// run); read the header with [`Self::take_empty_header`].
    pub fn keep_empty_headers(&self, on: bool) {
        self.blocker.headers().keep(on);
    }

    /// The column names of the last empty result fetched since the previous
    /// call (see [`Self::keep_empty_headers`]), in the statement's order.
    pub fn take_empty_header(&self) -> Option<Vec<String>> {
        self.blocker.headers().take()
    }

    /// Starts recording the transactions scripts begin (`db.begin()`, also
    /// on databases from `dbridge::connect`) until [`Self::end_call`]: a host
    /// calls it before running a script. Forgets an earlier record.
    pub fn begin_call(&self) {
        self.blocker.tracker().start();
    }

    /// Stops recording. With `roll_back` (the host does so when a limit or
    /// an interrupt stopped the script, which cannot clean up after itself),
    /// rolls back the transactions begun since [`Self::begin_call`] that are
    /// still open, even those a variable of the host's scope still holds,
    /// and returns how many. One that a row stream still holds is rolled back
    /// when the stream goes.
    pub fn end_call(&self, roll_back: bool) -> usize {
        self.blocker.tracker().finish(roll_back)
    }
}

/// Installs dbridge into `engine`: the `dbridge::` module (`connect`, `json`,
/// `error`, `is_retryable`, `sleep`, `version`, the expression helpers and
/// `now`, the relationship declarations and loader options), the `Database`,
/// `Transaction`, `RowStream` and `Json` types, the ORM types (`Model`,
/// `Instance`, `Expr`, `OrderBy`, `Label`, `Query`, `Table`, `Session`,
/// `Write`, `Migrator`, `Relationship`, `RelationshipAttribute`,
/// `Collection`, `LoadOption`) with their methods, and the limits set in
/// `options`. The script API is documented in `docs/rhai.md`.
///
/// # Errors
/// [`Error::Configuration`] when no runtime was given, none is current, and
/// one cannot be started.
pub fn register(engine: &mut Engine, options: Options) -> Result<Dbridge, Error> {
    register_with(engine, options, true)
}

/// As [`register`]; `dbridge::connect` refuses unless `connect` (migrations).
pub(crate) fn register_with(
    engine: &mut Engine,
    options: Options,
    connect: bool,
) -> Result<Dbridge, Error> {
    let blocker = Blocker::new(options.runtime.clone(), options.cancel.clone())?;
    options.apply(engine);
    let mut module = Module::new();
    convert::error::register(&mut module);
    module.set_var("version", env!("CARGO_PKG_VERSION"));
    convert::value::register(engine, &mut module);
    objects::database::register(engine, &mut module, &blocker, connect);
    objects::transaction::register(engine);
    objects::stream::register(engine);
    objects::expr::register(engine, &mut module);
    objects::window::register(engine);
    objects::model::register(engine, &mut module);
    objects::instance::register(engine);
    objects::relation::register(engine, &mut module);
    objects::loader::register(engine, &mut module);
    objects::related::register(engine);
    objects::session::register(engine);
    objects::query::register(engine);
    objects::cte::register(engine);
    objects::query::register_in_expr(engine, &mut module);
    objects::paginate::register(engine);
    objects::computed::register(engine);
    objects::write::register(engine);
    objects::events::register(engine);
    install::migrator::register(engine);
    engine.register_static_module("dbridge", module.into());
    Ok(Dbridge { blocker })
}

/// A new engine for untrusted scripts: Rhai's standard library without
/// `eval`, the limits of [`Options::sandboxed`], and dbridge registered.
///
/// # Errors
/// As [`register`].
pub fn sandboxed_engine() -> Result<Engine, Error> {
    sandboxed_engine_with(Options::sandboxed())
}

/// As [`sandboxed_engine`], with the host's options (start from
/// [`Options::sandboxed`] to keep its limits).
///
/// # Errors
/// As [`register`].
pub fn sandboxed_engine_with(options: Options) -> Result<Engine, Error> {
    let mut engine = Engine::new();
    engine.disable_symbol("eval");
    register(&mut engine, options)?;
    Ok(engine)
}
