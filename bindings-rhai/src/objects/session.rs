//! [`Sess`]: an ORM session as a script sees it (Rhai type `Session`), from
//! `db.session()` or as the argument of `db.transaction(|s| ...)`.
//!
//! It tracks instances (`add`, `delete`, `get`, `merge`, `expunge`, `refresh`,
//! `expire`), loads relationships (`load`, lazy loads of the instances it
//! holds, `strict_loading`), writes them at `flush` / `commit` (`autoflush`,
//! `no_autoflush(fn)`; `stats()`, `has_changes()` and `in_transaction()`
//! tell what it holds), and keeps the raw-SQL methods
//! of a transaction (`execute`, `fetch_*`, `stream`, savepoints), which run in
//! the session's transaction. A session the script drops without committing
//! rolls back.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Weak};
use std::time::Duration;

use dbridge_engine::session::{Instance, KeyValues, Load, Session, SessionOptions};
use dbridge_engine::{Error, Row, Statement, TransactionOptions};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use parking_lot::{Mutex, MutexGuard};
use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, ImmutableString, NativeCallContext};

use crate::convert::error::{db_error, to_rhai};
use crate::convert::value::from_dynamic;
use crate::objects::context;
use crate::objects::database::Db;
use crate::objects::instance::Obj;
use crate::objects::model::ModelV;
use crate::objects::raw_sql::Executor;
use crate::objects::statements;
use crate::runtime::blocker::Blocker;

type Res<T> = Result<T, Box<EvalAltResult>>;

struct Inner {
    session: Mutex<Session>,
    db: Db,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let blocker = self.db.blocker_ref();
        let session = self.session.get_mut();
        // A migration's session has nothing of its own to roll back.
        if !session.in_transaction() || session.is_borrowing() {
            return;
        }
        if blocker.can_block() {
            // Roll back now, so that locks are released before the host goes on.
            let _ = blocker.block_on(session.rollback());
        } else {
            let session = std::mem::replace(session, Session::new(self.db.database()));
            blocker.drop_in_runtime(session);
        }
    }
}

/// A session (Rhai type `Session`). Clones share it.
#[derive(Clone)]
pub struct Sess {
    inner: Arc<Inner>,
}

impl fmt::Debug for Sess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sess").finish_non_exhaustive()
    }
}

fn busy() -> Error {
    Error::InvalidState(
        "the session is busy: it is flushing or running a query (a listener or validator \
         cannot use its session)"
            .into(),
    )
}

/// The live sessions by the engine's session id: an instance names its
/// session by that id ([`Instance::session_id`]), and a relationship that is
/// not loaded is loaded through it.
///
/// [`Instance::session_id`]: dbridge_engine::session::Instance::session_id
static SESSIONS: Mutex<Option<HashMap<u64, Weak<Inner>>>> = Mutex::new(None);

impl Sess {
    /// A new session of `db` with its registry and these transaction options;
    /// on a migration's `db`, one that borrows the migration's transaction
    /// for each call (its commit flushes, its rollback fails).
    pub(crate) fn new(db: &Db, tx: TransactionOptions) -> Self {
        Self::with_options(db, SessionOptions::new().transaction(tx))
    }

    /// A new session of `db` with its registry and these options (borrowing
    /// the transaction on a migration's `db`, as [`Sess::new`]).
    pub(crate) fn with_options(db: &Db, opts: SessionOptions) -> Self {
        let opts = opts.registry(&db.orm().registry);
        let session = match db.slot() {
            Some(_) => Session::borrowing(db.database(), opts),
            None => Session::with_options(db.database(), opts),
        };
        let id = session.id();
        let inner = Arc::new(Inner {
            session: Mutex::new(session),
            db: db.clone(),
        });
        let mut all = SESSIONS.lock();
        let all = all.get_or_insert_with(HashMap::new);
        all.retain(|_, w| w.strong_count() > 0);
        all.insert(id, Arc::downgrade(&inner));
        Self { inner }
    }

    /// The live session with the engine's id `id`.
    pub(crate) fn find(id: u64) -> Option<Self> {
        let inner = SESSIONS.lock().as_ref()?.get(&id)?.upgrade()?;
        Some(Self { inner })
    }

    /// The database handle.
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    fn lock(&self) -> Result<MutexGuard<'_, Session>, Error> {
        self.inner.session.try_lock().ok_or_else(busy)
    }

    /// Runs `f` on the session, blocking until its future completes, without
    /// callbacks (raw SQL).
    /// In a migration, the migration's transaction is lent to the session
    /// for the call and taken back after it.
    fn with<T>(&self, f: impl AsyncFnOnce(&mut Session) -> Result<T, Error>) -> Result<T, Error> {
        let mut guard = self.lock()?;
        let blocker = self.inner.db.blocker_ref();
        let Some(slot) = self.inner.db.slot() else {
            return blocker.block_on(f(&mut guard))?;
        };
        let mut tx = slot.try_lock().map_err(|_| {
            Error::InvalidState(
                "the migration's transaction is busy: a row stream over it is still open".into(),
            )
        })?;
        if let Some(t) = tx.take() {
            guard.lend_transaction(t);
        }
        let r = blocker.block_on(f(&mut guard));
        *tx = guard.return_transaction();
        r?
    }

    /// Runs `f` on the session within the script call `ctx`, so that
    /// listeners and validators can run.
    pub(crate) fn run<T>(
        &self,
        ctx: &NativeCallContext,
        f: impl AsyncFnOnce(&mut Session) -> Result<T, Error>,
    ) -> Res<T> {
        let r = context::enter(ctx, Some(Dynamic::from(self.clone())), || {
            self.with(f).map_err(context::script_error)
        });
        statements::then(ctx, r)
    }

    /// Runs a synchronous call on the session within `ctx`.
    fn run_sync<T>(
        &self,
        ctx: &NativeCallContext,
        f: impl FnOnce(&mut Session) -> Result<T, Error>,
    ) -> Res<T> {
        let r = context::enter(ctx, Some(Dynamic::from(self.clone())), || {
            let mut guard = self.lock().map_err(to_rhai)?;
            f(&mut guard).map_err(context::script_error)
        });
        statements::then(ctx, r)
    }

    fn get(
        &self,
        ctx: &NativeCallContext,
        model: &ModelV,
        pk: Dynamic,
        options: Vec<Load>,
        lock: Option<dbridge_engine::query::Lock>,
    ) -> Res<Dynamic> {
        let values = if pk.is_array() {
            let items = pk.into_array().unwrap_or_default();
            items
                .into_iter()
                .map(|d| from_dynamic(d, "a primary key value"))
                .collect::<Res<Vec<_>>>()?
        } else {
            vec![from_dynamic(pk, "the primary key")?]
        };
        let m = model.model.clone();
        let found = self.run(ctx, async move |s| {
            let found = match lock {
                Some(lock) => s.get_locked(&m, KeyValues(values), lock).await?,
                None => s.get(&m, KeyValues(values)).await?,
            };
            if let Some(inst) = &found
                && !options.is_empty()
            {
                s.load(std::slice::from_ref(inst), &options).await?;
            }
            Ok(found)
        })?;
        Ok(found.map_or(Dynamic::UNIT, |i| Dynamic::from(Obj(i))))
    }

    /// `s.load(instances, options)`: loader options applied to instances
    /// already at hand (of one model).
    fn load(&self, ctx: &NativeCallContext, items: Dynamic, options: Dynamic) -> Res<()> {
        let items: Vec<Instance> = if items.is::<Obj>() {
            vec![items.cast::<Obj>().0]
        } else if let Some(c) = items.read_lock::<crate::objects::collection::Collection>() {
            c.members()?
        } else if items.is_array() {
            let list = items.into_array().unwrap_or_default();
            instances(list, "load")?.into_iter().map(|o| o.0).collect()
        } else {
            return Err(to_rhai(Error::InvalidValue {
                target: "load".into(),
                reason: format!(
                    "expected an instance, a collection or an array of instances, got {}",
                    items.type_name()
                ),
            }));
        };
        let options = crate::objects::loader::list(vec![options], "load")?;
        self.run(ctx, async move |s| s.load(&items, &options).await)
    }

    /// `s.no_autoflush(|s| ...)`: the closure with autoflush off (queries do
    /// not flush first); the setting before is restored when it returns or
    /// throws (the error is thrown on).
    fn no_autoflush(&self, ctx: &NativeCallContext, body: &FnPtr) -> Res<Dynamic> {
        let before = self.lock().map_err(to_rhai)?.set_autoflush(false);
        let out = body.call_within_context::<Dynamic>(ctx, (self.clone(),));
        if let Ok(mut g) = self.lock() {
            g.set_autoflush(before);
        }
        out
    }

    /// `s.stats()`: `#{ pending, dirty, identity_map }`, the instances added
    /// and not yet inserted, the persistent ones with unflushed changes, and
    /// the instances in the identity map.
    fn stats(&self, ctx: &NativeCallContext) -> Res<rhai::Map> {
        fn count(n: impl TryInto<i64>) -> Dynamic {
            Dynamic::from(n.try_into().unwrap_or(i64::MAX))
        }
        self.run_sync(ctx, |s| {
            let mut m = rhai::Map::new();
            m.insert("pending".into(), count(s.pending().len()));
            m.insert("dirty".into(), count(s.dirty().len()));
            m.insert("identity_map".into(), count(s.identity_map_len()));
            Ok(m)
        })
    }

    /// `s.begin_nested(|s| ...)`: the closure in a savepoint, released when it
    /// returns, rolled back to when it throws (the error is thrown on).
    fn nested(&self, ctx: &NativeCallContext, body: &FnPtr) -> Res<Dynamic> {
        self.run(ctx, async |s| s.begin_nested().await)?;
        match body.call_within_context::<Dynamic>(ctx, (self.clone(),)) {
            Ok(v) => {
                self.run(ctx, async |s| s.commit_nested().await)?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.run(ctx, async |s| s.rollback_nested().await);
                Err(e)
            }
        }
    }
}

impl Executor for Sess {
    fn blocker(&self) -> &Blocker {
        self.inner.db.blocker_ref()
    }

    fn execute(&self, stmt: Statement) -> Result<u64, Error> {
        self.with(async move |s| s.transaction().await?.execute_statement(&stmt).await)
    }

    fn execute_script(&self, sql: &str) -> Result<u64, Error> {
        self.with(async move |s| s.transaction().await?.execute_script(sql).await)
    }

    fn fetch_all(&self, stmt: Statement) -> Result<Vec<Row>, Error> {
        self.with(async move |s| s.transaction().await?.fetch_all_statement(stmt).await)
    }

    fn fetch_optional(&self, stmt: Statement) -> Result<Option<Row>, Error> {
        self.with(async move |s| {
            let tx = s.transaction().await?;
            tx.fetch_statement(stmt).next().await.transpose()
        })
    }

    fn describe_columns(&self, sql: &str) -> Result<Vec<String>, Error> {
        self.with(async move |s| s.transaction().await?.describe_columns(sql).await)
    }

    /// The rows are read at once (the session keeps its transaction for
    /// its other calls), then handed out one by one.
    fn stream(&self, stmt: Statement) -> Result<BoxStream<'static, Result<Row, Error>>, Error> {
        let rows = self.fetch_all(stmt)?;
        Ok(futures_util::stream::iter(rows.into_iter().map(Ok)).boxed())
    }
}

/// `db.transaction([opts,] |s| { ... })`: runs the closure with a new session;
/// commits when it returns (its value is the result), rolls back and raises
/// its error when it fails. After a retryable error (serialization failure,
/// deadlock, busy database, stale data: `ErrorKind::is_retryable`) it runs
/// the closure again, up to `retries` times.
pub(crate) fn run_transaction(
    ctx: &NativeCallContext,
    db: &Db,
    options: TransactionOptions,
    body: &FnPtr,
) -> Res<Dynamic> {
    let mut attempt = 0;
    loop {
        let s = Sess::new(db, options);
        let outcome = match body.call_within_context::<Dynamic>(ctx, (s.clone(),)) {
            Ok(v) => s.run(ctx, async |s| s.commit().await).map(|()| v),
            Err(e) => {
                // The closure's error is what matters; a failed rollback leaves
                // nothing committed either way.
                let _ = s.run(ctx, async |s| s.rollback().await);
                Err(e)
            }
        };
        match outcome {
            Err(e)
                if attempt < options.get_max_retries()
                    && db_error(&e).is_some_and(|d| d.is_retryable()) =>
            {
                attempt += 1;
                tracing::debug!(attempt, "retrying transaction");
                let kind = db_error(&e).and_then(|d| d.error_kind());
                let delay = kind.map_or(Duration::ZERO, |k| k.retry_delay(attempt));
                db.blocker_ref().sleep(delay).map_err(to_rhai)?;
            }
            other => return other,
        }
    }
}

fn instances(items: Array, func: &str) -> Res<Vec<Obj>> {
    items
        .into_iter()
        .map(|d| {
            d.try_cast::<Obj>().ok_or_else(|| {
                to_rhai(Error::InvalidValue {
                    target: func.into(),
                    reason: "expected an array of instances".into(),
                })
            })
        })
        .collect()
}

/// Registers one session call taking an instance.
macro_rules! on_instance {
    ($engine:ident, $($name:literal => $call:expr),*) => {$(
        $engine.register_fn($name, |ctx: NativeCallContext, s: &mut Sess, o: Obj| -> Res<()> {
            s.run_sync(&ctx, |sess| $call(sess, &o.0))
        });
    )*};
}

/// Registers the savepoint calls of a transaction on the session.
fn savepoints(engine: &mut Engine) {
    engine
        .register_fn(
            "savepoint",
            |s: &mut Sess, name: ImmutableString| -> Res<()> {
                s.with(async move |s| s.transaction().await?.savepoint(&name).await)
                    .map_err(to_rhai)
            },
        )
        .register_fn(
            "rollback_to",
            |s: &mut Sess, name: ImmutableString| -> Res<()> {
                s.with(async move |s| s.transaction().await?.rollback_to_savepoint(&name).await)
                    .map_err(to_rhai)
            },
        )
        .register_fn(
            "release",
            |s: &mut Sess, name: ImmutableString| -> Res<()> {
                s.with(async move |s| s.transaction().await?.release_savepoint(&name).await)
                    .map_err(to_rhai)
            },
        )
        .register_fn(
            "rollback_to_savepoint",
            |s: &mut Sess, name: ImmutableString| -> Res<()> {
                s.with(async move |s| s.transaction().await?.rollback_to_savepoint(&name).await)
                    .map_err(to_rhai)
            },
        )
        .register_fn(
            "release_savepoint",
            |s: &mut Sess, name: ImmutableString| -> Res<()> {
                s.with(async move |s| s.transaction().await?.release_savepoint(&name).await)
                    .map_err(to_rhai)
            },
        );
}

/// Registers `Session`, `db.session()` and `db.transaction(...)`.
pub(crate) fn register(engine: &mut Engine) {
    use crate::convert::script_options::{session_options, transaction_options};
    engine
        .register_type_with_name::<Sess>("Session")
        .register_fn("session", |db: &mut Db| {
            Sess::new(db, TransactionOptions::new())
        })
        .register_fn("session", |db: &mut Db, opts: rhai::Map| -> Res<Sess> {
            Ok(Sess::with_options(db, session_options(&opts)?))
        })
        .register_fn(
            "transaction",
            |ctx: NativeCallContext, d: &mut Db, body: FnPtr| -> Res<Dynamic> {
                run_transaction(&ctx, d, TransactionOptions::new(), &body)
            },
        )
        .register_fn(
            "transaction",
            |ctx: NativeCallContext, d: &mut Db, body: FnPtr, opts: rhai::Map| -> Res<Dynamic> {
                run_transaction(&ctx, d, transaction_options(&opts)?, &body)
            },
        )
        .register_fn(
            "transaction",
            |ctx: NativeCallContext, d: &mut Db, opts: rhai::Map, body: FnPtr| -> Res<Dynamic> {
                run_transaction(&ctx, d, transaction_options(&opts)?, &body)
            },
        )
        .register_fn(
            "add",
            |ctx: NativeCallContext, s: &mut Sess, o: Obj| -> Res<Obj> {
                s.run_sync(&ctx, |sess| sess.add(o.0.clone()))?;
                Ok(o)
            },
        )
        .register_fn(
            "add_all",
            |ctx: NativeCallContext, s: &mut Sess, items: Array| -> Res<()> {
                let items = instances(items, "add_all")?;
                s.run_sync(&ctx, |sess| sess.add_all(items.into_iter().map(|o| o.0)))
            },
        )
        .register_fn(
            "get",
            |ctx: NativeCallContext, s: &mut Sess, m: ModelV, pk: Dynamic| {
                s.get(&ctx, &m, pk, Vec::new(), None)
            },
        )
        .register_fn(
            "get",
            |ctx: NativeCallContext, s: &mut Sess, m: ModelV, pk: Dynamic, opts: Dynamic| {
                // A map is a row lock (`#{ for_update: true, nowait: true }`),
                // anything else loader options.
                if let Some(map) = opts.clone().try_cast::<rhai::Map>() {
                    let lock = get_lock(map)?;
                    return s.get(&ctx, &m, pk, Vec::new(), lock);
                }
                let opts = crate::objects::loader::list(vec![opts], "get")?;
                s.get(&ctx, &m, pk, opts, None)
            },
        )
        .register_fn(
            "load",
            |ctx: NativeCallContext, s: &mut Sess, items: Dynamic, opts: Dynamic| {
                s.load(&ctx, items, opts)
            },
        )
        .register_get_set(
            "strict_loading",
            |s: &mut Sess| s.lock().is_ok_and(|g| g.strict_loading()),
            |s: &mut Sess, on: bool| -> Res<()> {
                s.lock().map_err(to_rhai)?.set_strict_loading(on);
                Ok(())
            },
        )
        .register_fn("flush", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.flush().await)
        })
        .register_fn("commit", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.commit().await)
        })
        .register_fn("rollback", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.rollback().await)
        })
        .register_fn("close", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.close().await)
        })
        .register_fn("refresh", |ctx: NativeCallContext, s: &mut Sess, o: Obj| {
            s.run(&ctx, async move |s| s.refresh(&o.0).await)
        })
        .register_fn(
            "merge",
            |ctx: NativeCallContext, s: &mut Sess, o: Obj| -> Res<Obj> {
                s.run(&ctx, async move |s| s.merge(&o.0).await).map(Obj)
            },
        )
        .register_fn(
            "begin_nested",
            |ctx: NativeCallContext, s: &mut Sess, body: FnPtr| s.nested(&ctx, &body),
        )
        .register_fn("begin_nested", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.begin_nested().await)
        })
        .register_fn("commit_nested", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.commit_nested().await)
        })
        .register_fn("rollback_nested", |ctx: NativeCallContext, s: &mut Sess| {
            s.run(&ctx, async |s| s.rollback_nested().await)
        })
        .register_fn("expire_all", |ctx: NativeCallContext, s: &mut Sess| {
            s.run_sync(&ctx, |s| {
                s.expire_all();
                Ok(())
            })
        })
        .register_fn("expunge_all", |ctx: NativeCallContext, s: &mut Sess| {
            s.run_sync(&ctx, |s| {
                s.expunge_all();
                Ok(())
            })
        })
        .register_get("is_open", |s: &mut Sess| {
            s.lock().map_or(true, |g| g.in_transaction())
        })
        .register_get_set(
            "autoflush",
            |s: &mut Sess| s.lock().map_or(true, |g| g.autoflush()),
            |s: &mut Sess, on: bool| -> Res<()> {
                s.lock().map_err(to_rhai)?.set_autoflush(on);
                Ok(())
            },
        )
        .register_fn("has_changes", |s: &mut Sess| {
            s.lock().map_or(true, |g| g.has_changes())
        })
        .register_fn(
            "in_transaction",
            |ctx: NativeCallContext, s: &mut Sess| -> Res<bool> {
                s.run_sync(&ctx, |s| Ok(s.in_transaction()))
            },
        )
        .register_fn("stats", |ctx: NativeCallContext, s: &mut Sess| {
            s.stats(&ctx)
        })
        .register_fn(
            "no_autoflush",
            |ctx: NativeCallContext, s: &mut Sess, body: FnPtr| s.no_autoflush(&ctx, &body),
        )
        .register_fn("backend", |s: &mut Sess| {
            s.inner.db.database().backend().name().to_string()
        })
        .register_fn("to_string", |s: &mut Sess| {
            let open = s.lock().map_or(true, |g| g.in_transaction());
            format!("Session({})", if open { "in transaction" } else { "idle" })
        });
    on_instance!(engine,
        "delete" => |s: &mut Session, i| s.delete(i),
        "expire" => |s: &mut Session, i| { s.expire(i); Ok(()) },
        "expunge" => |s: &mut Session, i| { s.expunge(i); Ok(()) }
    );
    savepoints(engine);
    crate::objects::raw_sql::register::<Sess>(engine);
}

/// The row lock of `s.get(Model, pk, #{ for_update: true [, nowait | skip_locked] })`
/// (`for_share: true` for a shared lock).
fn get_lock(mut map: rhai::Map) -> Res<Option<dbridge_engine::query::Lock>> {
    use dbridge_engine::query::LockStrength;
    let mut flag = |k: &str| -> Res<bool> {
        match map.remove(k) {
            None => Ok(false),
            Some(v) => v.as_bool().map_err(|t| {
                crate::convert::error::configuration(format!(
                    "get: `{k}` is true or false, got {t}"
                ))
            }),
        }
    };
    let strength = match (flag("for_update")?, flag("for_share")?) {
        (true, _) => LockStrength::Update,
        (false, true) => LockStrength::Share,
        (false, false) if map.is_empty() => return Ok(None),
        (false, false) => {
            return Err(crate::convert::error::configuration(
                "get: options are `for_update` or `for_share` with `nowait` or `skip_locked`",
            ));
        }
    };
    crate::objects::lock::lock_options(strength, map, "get").map(Some)
}
