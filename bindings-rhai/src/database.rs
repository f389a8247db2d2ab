//! [`Db`]: the `Database` a script gets from `dbridge::connect(url [, opts])`
//! (or that a host hands it), with raw SQL, `begin` and `transaction`.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::schema::Metadata;
use dbridge_engine::session::Registry;
use dbridge_engine::{Database, Error, Row, Statement, TransactionOptions};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map};

use crate::error::to_rhai;
use crate::raw_sql::Executor;
use crate::runtime::Blocker;
use crate::script_options::{connect_options, transaction_options};
use crate::transaction::Tx;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A database as a script sees it (Rhai type name `Database`). Clones share
/// one pool.
#[derive(Clone)]
pub struct Db {
    db: Database,
    blocker: Blocker,
    orm: Arc<Orm>,
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
    /// Declared models waiting for a table their foreign keys reference.
    pub(crate) pending: parking_lot::Mutex<Vec<dbridge_engine::schema::Model>>,
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

    fn connect(blocker: &Blocker, url: &str, opts: Option<&Map>) -> Res<Self> {
        let options = opts.map(connect_options).transpose()?.unwrap_or_default();
        let db = blocker
            .block_on(Database::connect_with(url, options))
            .and_then(|r| r)
            .map_err(to_rhai)?;
        Ok(Self::new(db, blocker.clone()))
    }

    pub(crate) fn begin(&mut self, options: TransactionOptions) -> Res<Tx> {
        let tx = self
            .blocker
            .block_on(self.db.begin_with(options))
            .and_then(|r| r)
            .map_err(to_rhai)?;
        Ok(Tx::new(tx, self.blocker.clone()))
    }
}

impl Executor for Db {
    fn blocker(&self) -> &Blocker {
        &self.blocker
    }

    fn execute(&self, stmt: Statement) -> Result<u64, Error> {
        self.blocker.block_on(self.db.execute_statement(&stmt))?
    }

    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error> {
        self.blocker.block_on(self.db.fetch_all_statement(stmt))?
    }

    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error> {
        let db = &self.db;
        self.blocker.block_on(async move {
            let mut rows = db.fetch_statement(stmt);
            rows.next().await.transpose()
        })?
    }

    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error> {
        Ok(self.db.fetch_statement(stmt))
    }
}

/// Registers `Database`, its methods, and `dbridge::connect` in `module`.
pub(crate) fn register(engine: &mut Engine, module: &mut rhai::Module, blocker: &Blocker) {
    let b = blocker.clone();
    module.set_native_fn("connect", move |url: ImmutableString| {
        Db::connect(&b, &url, None)
    });
    let b = blocker.clone();
    module.set_native_fn("connect", move |url: ImmutableString, opts: Map| {
        Db::connect(&b, &url, Some(&opts))
    });

    let b = blocker.clone();
    module.set_native_fn("sleep", move |seconds: Dynamic| -> Res<()> {
        let d = crate::script_options::seconds("seconds", &seconds)?;
        b.sleep(d).map_err(to_rhai)
    });

    engine
        .register_type_with_name::<Db>("Database")
        .register_fn("backend", |d: &mut Db| d.db.backend().name().to_string())
        .register_fn("url", |d: &mut Db| d.db.url().to_string())
        .register_fn("begin", |d: &mut Db| d.begin(TransactionOptions::new()))
        .register_fn("begin", |d: &mut Db, opts: Map| {
            d.begin(transaction_options(&opts)?)
        })
        .register_fn("close", |d: &mut Db| -> Res<()> {
            d.blocker.block_on(d.db.close()).map_err(to_rhai)
        })
        .register_fn("to_string", |d: &mut Db| {
            format!("Database({})", d.db.url())
        })
        .register_fn("to_debug", |d: &mut Db| format!("Database({})", d.db.url()));
    crate::raw_sql::register::<Db>(engine);
}
