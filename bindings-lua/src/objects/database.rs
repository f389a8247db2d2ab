//! [`LuaDb`]: a connected database as a script sees it, and `dbridge.connect`.

use std::sync::Arc;
use std::time::Duration;

use dbridge_engine::{ConnectOptions, Database, ErrorKind};
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::conn::Conn;
use crate::objects::events::StatementEvents;
use crate::objects::transaction::TxSlot;
use crate::runtime::runtime_drop::RuntimeDrop;

/// Registry key of the method table of database handles.
pub(crate) const DB_CLASS: &str = "dbridge.Database";

/// A database handle (`dbridge.connect(url)`): a pool shared by every copy.
#[derive(Debug)]
pub struct LuaDb {
    db: RuntimeDrop<Database>,
    pub(crate) events: Arc<StatementEvents>,
    /// The models, listeners and validators declared through this handle.
    pub(crate) orm: Arc<crate::objects::orm::Orm>,
    /// The migration's transaction, for the `db` of a migration: every
    /// statement of the handle, its models, queries and sessions runs there.
    pub(crate) bound: Option<Arc<TxSlot>>,
}

impl LuaDb {
    /// Wraps an engine database (hosts use this to hand scripts a database they
    /// opened themselves, e.g. the REPL's global `db`).
    pub fn new(db: Database) -> Self {
        Self {
            db: RuntimeDrop::new(db, None),
            events: Arc::default(),
            orm: Arc::default(),
            bound: None,
        }
    }

    /// A handle whose statements run in `slot`, a migration's transaction on
    /// `db`, with models of its own.
    pub(crate) fn bound(db: Database, slot: Arc<TxSlot>) -> Self {
        Self {
            bound: Some(slot),
            ..Self::new(db)
        }
    }

    /// Where the handle's statements run.
    ///
    /// # Errors
    /// An `invalid_state` error once the handle was closed.
    pub(crate) fn conn(&self) -> Result<Conn, LuaDbError> {
        let db = self.database()?;
        Ok(match &self.bound {
            Some(slot) => Conn::Bound(db, slot.clone()),
            None => Conn::Pool(db),
        })
    }

    /// The engine database.
    ///
    /// # Errors
    /// An `invalid_state` error once the handle was closed.
    pub(crate) fn database(&self) -> Result<Database, LuaDbError> {
        self.db.get().cloned().ok_or_else(closed)
    }
}

fn closed() -> LuaDbError {
    LuaDbError::new(ErrorKind::InvalidState, "the database handle is closed")
}

impl UserData for LuaDb {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, DB_CLASS, "dbridge.database");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(match this.db.get() {
                Some(db) if this.bound.is_some() => {
                    format!("dbridge.database({}, in a migration)", db.url())
                }
                Some(db) => format!("dbridge.database({})", db.url()),
                None => "dbridge.database(closed)".to_string(),
            })
        });
    }
}

/// Set as app data in a migration's Lua state: `dbridge.connect` refuses
/// there (a migration works in its own transaction, on its own database).
pub(crate) struct NoConnect;

/// `dbridge.connect(url [, opts])`.
pub(crate) async fn connect(lua: Lua, (url, opts): (LuaValue, LuaValue)) -> Raw {
    let refused = lua.app_data_ref::<NoConnect>().is_some();
    let r = async {
        if refused {
            return Err(LuaDbError::new(
                ErrorKind::InvalidState,
                "dbridge.connect is not available in a migration: it runs on the migrated \
                 database, in the migration's transaction (use its `db`)",
            ));
        }
        let db = match &url {
            LuaValue::String(s) => {
                Database::connect_with(&s.to_string_lossy(), connect_options(&opts, 2)?).await?
            }
            // dbridge.connect{ primary = url, replicas = { url, ... }, <options> }
            LuaValue::Table(t) => {
                let (primary, replicas) = replicated_urls(t)?;
                let replicas: Vec<&str> = replicas.iter().map(String::as_str).collect();
                Database::connect_replicated(&primary, &replicas, connect_options(&url, 1)?).await?
            }
            other => {
                return Err(LuaDbError::argument(
                    "connect",
                    1,
                    "a URL string or a table { primary = url, replicas = { url, ... } }",
                    other,
                ));
            }
        };
        Ok(LuaDb::new(db))
    }
    .await;
    raw(&lua, r)
}

/// The `primary` and `replicas` of `dbridge.connect{ ... }`.
fn replicated_urls(t: &mlua::Table) -> Result<(String, Vec<String>), LuaDbError> {
    let bad = |what: &str| LuaDbError::new(ErrorKind::Configuration, what.to_owned());
    let primary = match t.raw_get::<LuaValue>("primary") {
        Ok(LuaValue::String(s)) => s.to_string_lossy(),
        _ => return Err(bad("dbridge.connect{ ... } needs `primary`, a URL string")),
    };
    let replicas = match t.raw_get::<LuaValue>("replicas") {
        Ok(LuaValue::Nil) => Vec::new(),
        Ok(LuaValue::Table(list)) => list
            .sequence_values::<LuaValue>()
            .map(|v| match v {
                Ok(LuaValue::String(s)) => Ok(s.to_string_lossy()),
                _ => Err(bad("`replicas` must be a list of URL strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("`replicas` must be a list of URL strings")),
    };
    Ok((primary, replicas))
}

/// `db:close()`: closes the pool; later calls fail with `invalid_state`.
pub(crate) async fn close(lua: Lua, this: LuaValue) -> Raw {
    let r = async {
        let LuaValue::UserData(ud) = &this else {
            return Err(LuaDbError::argument("close", 1, "a database", &this));
        };
        let db = {
            let mut d = ud
                .borrow_mut::<LuaDb>()
                .map_err(|_| LuaDbError::argument("close", 1, "a database", &this))?;
            d.conn()?
                .not_in_migration("close", "the migration runner owns the connection")?;
            d.db.take()
        };
        if let Some(db) = db {
            db.close().await;
        }
        Ok(())
    }
    .await;
    raw(&lua, r)
}

/// Connect options from the table at argument `arg` (in the replicated form,
/// the same table as `primary` and `replicas`, which are skipped).
fn connect_options(v: &LuaValue, arg: usize) -> Result<ConnectOptions, LuaDbError> {
    let t = match v {
        LuaValue::Nil => return Ok(ConnectOptions::new()),
        LuaValue::Table(t) => t,
        other => {
            return Err(LuaDbError::argument(
                "connect",
                arg,
                "a table of options",
                other,
            ));
        }
    };
    let bad = |what: String| LuaDbError::new(ErrorKind::Configuration, what);
    let secs = |k: &str, v: &LuaValue| -> Result<Duration, LuaDbError> {
        let f = match v {
            LuaValue::Integer(i) => *i as f64,
            LuaValue::Number(f) => *f,
            _ => return Err(bad(format!("`{k}` must be a number of seconds"))),
        };
        Duration::try_from_secs_f64(f)
            .map_err(|_| bad(format!("`{k}` must be a non-negative number of seconds")))
    };
    let count = |k: &str, v: &LuaValue| -> Result<u32, LuaDbError> {
        match v {
            LuaValue::Integer(i) => {
                u32::try_from(*i).map_err(|_| bad(format!("`{k}` must be a non-negative integer")))
            }
            _ => Err(bad(format!("`{k}` must be an integer"))),
        }
    };
    let mut o = ConnectOptions::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(|_| bad("connect option names must be strings".into()))?;
        o = match k.as_str() {
            "max_connections" => o.max_connections(count(&k, &v)?),
            "min_connections" => o.min_connections(count(&k, &v)?),
            "acquire_timeout" => o.acquire_timeout(secs(&k, &v)?),
            "idle_timeout" => o.idle_timeout(Some(secs(&k, &v)?)),
            "max_lifetime" => o.max_lifetime(Some(secs(&k, &v)?)),
            "busy_timeout" => o.busy_timeout(secs(&k, &v)?),
            "statement_cache_capacity" => o.statement_cache_capacity(count(&k, &v)? as usize),
            "test_before_acquire" => match v {
                LuaValue::Boolean(b) => o.test_before_acquire(b),
                _ => return Err(bad("`test_before_acquire` must be a boolean".into())),
            },
            "cursor_key" => match &v {
                LuaValue::String(s) => o.cursor_key(s.as_bytes()),
                _ => return Err(bad("`cursor_key` must be a string".into())),
            },
            "application_name" => match &v {
                LuaValue::String(s) => o.application_name(s.to_string_lossy()),
                _ => return Err(bad("`application_name` must be a string".into())),
            },
            "pgbouncer" => match v {
                LuaValue::Boolean(b) => o.pgbouncer(b),
                _ => return Err(bad("`pgbouncer` must be a boolean".into())),
            },
            "ping_idle_after" => match v {
                LuaValue::Boolean(false) => o.ping_idle_after(None),
                _ => o.ping_idle_after(Some(secs(&k, &v)?)),
            },
            "replica_retry_after" => o.replica_retry_after(secs(&k, &v)?),
            "max_replica_lag" => o.max_replica_lag(Some(secs(&k, &v)?)),
            "primary" | "replicas" if arg == 1 => o,
            other => return Err(bad(format!("unknown connect option `{other}`"))),
        };
    }
    Ok(o)
}

/// `db:primary()`: the same database with every statement on the primary
/// (reads included), sharing its models and listeners; on a database without
/// replicas, an equivalent handle.
pub(crate) fn primary(lua: &Lua, this: LuaValue) -> Raw {
    let r = match &this {
        LuaValue::UserData(ud) => ud.borrow::<LuaDb>().ok().map(|d| {
            d.database().map(|db| LuaDb {
                db: RuntimeDrop::new(db.primary(), None),
                events: d.events.clone(),
                orm: d.orm.clone(),
                bound: d.bound.clone(),
            })
        }),
        _ => None,
    }
    .unwrap_or_else(|| Err(LuaDbError::argument("primary", 1, "a database", &this)));
    raw(lua, r)
}

/// `db:backend()`: `"sqlite"` or `"postgresql"`.
pub(crate) fn backend(lua: &Lua, this: LuaValue) -> Raw {
    let r = match &this {
        LuaValue::UserData(ud) => ud.borrow::<LuaDb>().ok().map(|d| d.database()),
        _ => None,
    }
    .unwrap_or_else(|| Err(LuaDbError::argument("backend", 1, "a database", &this)))
    .map(|db| db.backend().name());
    raw(lua, r)
}

/// `db:url()`: the connection URL with the password masked.
pub(crate) fn url(lua: &Lua, this: LuaValue) -> Raw {
    let r = match &this {
        LuaValue::UserData(ud) => ud.borrow::<LuaDb>().ok().map(|d| d.database()),
        _ => None,
    }
    .unwrap_or_else(|| Err(LuaDbError::argument("url", 1, "a database", &this)))
    .map(|db| db.url().to_owned());
    raw(lua, r)
}

/// `raw.events(db, on)`: starts or stops queueing statement events for `db`.
pub(crate) fn set_events(lua: &Lua, (this, on): (LuaValue, bool)) -> Raw {
    let r = (|| {
        let LuaValue::UserData(ud) = &this else {
            return Err(LuaDbError::argument("on_statement", 1, "a database", &this));
        };
        let d = ud
            .borrow::<LuaDb>()
            .map_err(|_| LuaDbError::argument("on_statement", 1, "a database", &this))?;
        if on {
            d.events.enable(&d.database()?);
        } else {
            d.events.disable();
        }
        Ok(())
    })();
    raw(lua, r)
}
