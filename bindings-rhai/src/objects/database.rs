//! [`Db`]: the `Database` a script gets from `dbridge::connect(url [, opts])`
//! (or that a host hands it), with raw SQL, `begin` and `transaction`.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::migrate::{DEFAULT_HISTORY_TABLE, Reflected};
use dbridge_engine::query::Run;
use dbridge_engine::schema::Metadata;
use dbridge_engine::session::Registry;
use dbridge_engine::{Database, Error, Row, Statement, Transaction, TransactionOptions};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use crate::convert::error::to_rhai;
use crate::convert::script_options::{connect_options, transaction_options};
use crate::objects::raw_sql::Executor;
use crate::objects::transaction::{Tx, slot_stream};
use crate::runtime::blocker::Blocker;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A migration's transaction, shared by its `db` and the sessions made there.
pub(crate) use crate::objects::transaction::Slot;

/// A database as a script sees it (Rhai type name `Database`). Clones share
/// one pool.
#[derive(Clone)]
pub struct Db {
    db: Database,
    blocker: Blocker,
    orm: Arc<Orm>,
    /// The migration's transaction, for the `db` of a migration: every
    /// statement of the handle, its models, queries and sessions runs there.
    bound: Option<Slot>,
}

/// What a database handle declares: its models and their listeners and
/// validators, shared by every session it makes.
#[derive(Debug, Default)]
pub(crate) struct Orm {
    /// The models declared with `db.model` (what `create_all`, `drop_all`
    /// and the migrator's `check` work on).
    pub(crate) meta: Metadata,
    /// The models `db.reflect()` made of existing tables: usable like
    /// declared ones, never created or dropped by `create_all` / `drop_all`.
    pub(crate) reflected: Metadata,
    pub(crate) registry: Registry,
}

impl fmt::Display for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bound {
            Some(_) => write!(f, "Database({}, in a migration)", self.db.url()),
            None => write!(f, "Database({})", self.db.url()),
        }
    }
}

impl fmt::Debug for Db {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Db").field(&self.db).finish()
    }
}

impl Db {
    pub(crate) fn new(db: Database, blocker: Blocker) -> Self {
        Self {
            db,
            blocker,
            orm: Arc::default(),
            bound: None,
        }
    }

    /// A handle whose statements run in `slot`, a migration's transaction on
    /// `db`, with models of its own.
    pub(crate) fn bound(db: Database, blocker: Blocker, slot: Slot) -> Self {
        Self {
            bound: Some(slot),
            ..Self::new(db, blocker)
        }
    }

    /// The migration's transaction, for a migration's `db`.
    pub(crate) fn slot(&self) -> Option<&Slot> {
        self.bound.as_ref()
    }

    /// Fails for a migration's `db` with what to do instead of `what`.
    pub(crate) fn not_in_migration(&self, what: &str, instead: &str) -> Result<(), Error> {
        match self.bound {
            None => Ok(()),
            Some(_) => Err(Error::InvalidState(format!(
                "{what} is not available on a migration's db: {instead}"
            ))),
        }
    }

    /// Runs `f` in the migration's transaction (blocking).
    fn in_tx<T>(
        &self,
        slot: &Slot,
        f: impl AsyncFnOnce(&mut Transaction) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut guard = slot.try_lock().map_err(|_| tx_busy())?;
        let tx = guard.as_mut().ok_or_else(tx_finished)?;
        self.blocker.block_on(f(tx))?
    }

    /// Runs a built statement (in a migration, in its transaction); the rows
    /// affected.
    pub(crate) fn execute_built<R: Run + Sync>(&self, stmt: &R) -> Result<u64, Error> {
        match &self.bound {
            None => self.blocker.block_on(stmt.execute(&self.db))?,
            Some(slot) => self.in_tx(slot, async move |tx| stmt.execute(tx).await),
        }
    }

    /// Runs a built statement and collects its rows.
    pub(crate) fn fetch_built<R: Run + Sync>(&self, stmt: &R) -> Result<Vec<Row>, Error> {
        match &self.bound {
            None => self.blocker.block_on(stmt.fetch_all(&self.db))?,
            Some(slot) => self.in_tx(slot, async move |tx| stmt.fetch_all(tx).await),
        }
    }

    /// `db.savepoint(name)` (`op` 0), `db.rollback_to(name)` (1),
    /// `db.release(name)` (2): in a migration's transaction.
    fn savepoint(&self, name: &str, op: u8) -> Result<(), Error> {
        let Some(slot) = &self.bound else {
            return Err(Error::InvalidState(
                "savepoints need a transaction: db.savepoint(name) works on a migration's db; \
                 elsewhere use tx.savepoint(name) or a session's begin_nested"
                    .into(),
            ));
        };
        let name = name.to_owned();
        self.in_tx(slot, async move |tx| match op {
            0 => tx.savepoint(&name).await,
            1 => tx.rollback_to_savepoint(&name).await,
            _ => tx.release_savepoint(&name).await,
        })
    }

    /// The live tables as models (in a migration: as its transaction sees
    /// them), the migration history table left out.
    pub(crate) fn reflect(&self) -> Result<Reflected, Error> {
        match &self.bound {
            None => self
                .blocker
                .block_on(Reflected::from_database(&self.db, DEFAULT_HISTORY_TABLE))?,
            Some(slot) => self.in_tx(slot, async move |tx| {
                Reflected::from_transaction(tx, DEFAULT_HISTORY_TABLE).await
            }),
        }
    }

    /// How this handle waits for the database.
    pub(crate) fn blocker_ref(&self) -> &Blocker {
        &self.blocker
    }

    /// The models, listeners and validators of this handle.
    pub(crate) fn orm(&self) -> &Orm {
        &self.orm
    }

    /// The engine's database behind this script object.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// This handle with every statement on the primary (`db.primary()`),
    /// sharing its models and listeners.
    pub(crate) fn primary(&self) -> Db {
        Db {
            db: self.db.primary(),
            blocker: self.blocker.clone(),
            orm: self.orm.clone(),
            bound: self.bound.clone(),
        }
    }

    /// `dbridge::connect(#{ primary: url, replicas: [url, ...], <options> })`.
    fn connect_replicated(blocker: &Blocker, spec: &Map) -> Res<Self> {
        let bad = |what: &str| to_rhai(Error::Configuration(what.to_owned()));
        let primary = spec
            .get("primary")
            .and_then(|v| v.clone().into_immutable_string().ok())
            .ok_or_else(|| bad("dbridge::connect(#{ ... }) needs `primary`, a URL string"))?;
        let replicas: Vec<ImmutableString> = match spec.get("replicas") {
            None => Vec::new(),
            Some(v) => v
                .clone()
                .into_array()
                .map_err(|_| bad("`replicas` must be an array of URL strings"))?
                .into_iter()
                .map(|u| u.into_immutable_string())
                .collect::<Result<_, _>>()
                .map_err(|_| bad("`replicas` must be an array of URL strings"))?,
        };
        let mut opts = spec.clone();
        opts.remove("primary");
        opts.remove("replicas");
        let options = connect_options(&opts)?;
        let replicas: Vec<&str> = replicas.iter().map(ImmutableString::as_str).collect();
        let db = blocker
            .block_on(Database::connect_replicated(&primary, &replicas, options))
            .and_then(|r| r)
            .map_err(to_rhai)?;
        Ok(Self::new(db, blocker.clone()))
    }

    fn connect(blocker: &Blocker, url: &str, opts: Option<&Map>) -> Res<Self> {
        let options = opts.map(connect_options).transpose()?.unwrap_or_default();
        let db = blocker
            .block_on(Database::connect_with(url, options))
            .and_then(|r| r)
            .map_err(to_rhai)?;
        Ok(Self::new(db, blocker.clone()))
    }

    pub(crate) fn begin(&mut self, options: TransactionOptions) -> Res<Tx> {
        self.not_in_migration(
            "begin",
            "it runs in the migration's transaction (use db.session())",
        )
        .map_err(to_rhai)?;
        let tx = self
            .blocker
            .block_on(self.db.begin_with(options))
            .and_then(|r| r)
            .map_err(to_rhai)?;
        Ok(Tx::new(tx, self.blocker.clone()))
    }
}

fn tx_busy() -> Error {
    Error::InvalidState(
        "the migration's transaction is busy: a row stream over it is still open".into(),
    )
}

fn tx_finished() -> Error {
    Error::InvalidState("the migration's transaction has finished".into())
}

impl Executor for Db {
    fn blocker(&self) -> &Blocker {
        &self.blocker
    }

    fn execute(&self, stmt: Statement) -> Result<u64, Error> {
        match &self.bound {
            None => self.blocker.block_on(self.db.execute_statement(&stmt))?,
            Some(slot) => self.in_tx(slot, async move |tx| tx.execute_statement(&stmt).await),
        }
    }

    fn execute_script(&self, sql: &str) -> Result<u64, Error> {
        match &self.bound {
            None => self.blocker.block_on(self.db.execute_script(sql))?,
            Some(slot) => self.in_tx(slot, async move |tx| tx.execute_script(sql).await),
        }
    }

    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error> {
        match &self.bound {
            None => self.blocker.block_on(self.db.fetch_all_statement(stmt))?,
            Some(slot) => self.in_tx(slot, async move |tx| tx.fetch_all_statement(stmt).await),
        }
    }

    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error> {
        let db = &self.db;
        match &self.bound {
            None => self.blocker.block_on(async move {
                let mut rows = db.fetch_statement(stmt);
                rows.next().await.transpose()
            })?,
            Some(slot) => self.in_tx(slot, async move |tx| {
                tx.fetch_statement(stmt).next().await.transpose()
            }),
        }
    }

    fn describe_columns(&self, sql: &str) -> Result<Vec<String>, Error> {
        match &self.bound {
            None => self.blocker.block_on(self.db.describe_columns(sql))?,
            Some(slot) => self.in_tx(slot, async move |tx| tx.describe_columns(sql).await),
        }
    }

    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error> {
        let Some(slot) = &self.bound else {
            return Ok(self.db.fetch_statement(stmt));
        };
        slot_stream(slot, stmt, tx_busy, tx_finished)
    }
}

fn connect_allowed(allowed: bool) -> Res<()> {
    if allowed {
        return Ok(());
    }
    Err(to_rhai(Error::InvalidState(
        "dbridge::connect is not available in a migration: it runs on the migrated database, \
         in the migration's transaction (use its `db`)"
            .into(),
    )))
}

/// Registers `Database`, its methods, and `dbridge::connect` in `module`
/// (which refuses unless `connect`: a migration cannot open other databases).
pub(crate) fn register(
    engine: &mut Engine,
    module: &mut rhai::Module,
    blocker: &Blocker,
    connect: bool,
) {
    let b = blocker.clone();
    module.set_native_fn("connect", move |url: ImmutableString| {
        connect_allowed(connect)?;
        Db::connect(&b, &url, None)
    });
    let b = blocker.clone();
    module.set_native_fn("connect", move |url: ImmutableString, opts: Map| {
        connect_allowed(connect)?;
        Db::connect(&b, &url, Some(&opts))
    });
    let b = blocker.clone();
    module.set_native_fn("connect", move |spec: Map| {
        Db::connect_replicated(&b, &spec)
    });

    let b = blocker.clone();
    module.set_native_fn("sleep", move |seconds: Dynamic| -> Res<()> {
        let d = crate::convert::script_options::seconds("seconds", &seconds)?;
        b.sleep(d).map_err(to_rhai)
    });

    engine
        .register_type_with_name::<Db>("Database")
        .register_fn("backend", |d: &mut Db| d.db.backend().name().to_string())
        .register_fn("url", |d: &mut Db| d.db.url().to_string())
        .register_fn("primary", |d: &mut Db| d.primary())
        .register_fn("begin", |d: &mut Db| d.begin(TransactionOptions::new()))
        .register_fn("begin", |d: &mut Db, opts: Map| {
            d.begin(transaction_options(&opts)?)
        })
        .register_fn("close", |d: &mut Db| -> Res<()> {
            d.not_in_migration("close", "the migration runner owns the connection")
                .map_err(to_rhai)?;
            d.blocker.block_on(d.db.close()).map_err(to_rhai)
        })
        .register_fn("to_string", |d: &mut Db| d.to_string())
        .register_fn("savepoint", |d: &mut Db, name: &str| {
            d.savepoint(name, 0).map_err(to_rhai)
        })
        .register_fn("rollback_to", |d: &mut Db, name: &str| {
            d.savepoint(name, 1).map_err(to_rhai)
        })
        .register_fn("release", |d: &mut Db, name: &str| {
            d.savepoint(name, 2).map_err(to_rhai)
        })
        .register_fn("to_debug", |d: &mut Db| format!("Database({})", d.db.url()));
    crate::objects::raw_sql::register::<Db>(engine);
}
