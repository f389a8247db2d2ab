//! [`LuaTx`]: a transaction held by a script, and [`TxSlot`], the shared cell
//! that owns its connection.
//!
//! The engine's [`Transaction`] sits in an `Arc<tokio::sync::Mutex<Option<_>>>`
//! so that it survives across awaits and can be taken out to commit. It is
//! rolled back when the script commits or rolls back explicitly, when the
//! script leaves a `local tx <close>` scope, when the host call that opened it
//! fails or is cancelled, and at the latest when the collector drops it.

use std::sync::Arc;

use dbridge_engine::{Backend, Error, ErrorKind, IsolationLevel, Transaction, TransactionOptions};
use mlua::{MetaMethod, UserData, UserDataMethods, Value as LuaValue};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::convert::error::{LuaDbError, Raw, lua_err, raw};
use crate::runtime::runtime_drop::drop_in;

/// Registry key of the method table of transactions.
pub(crate) const TX_CLASS: &str = "dbridge.Transaction";

/// The cell holding an open transaction.
#[derive(Debug)]
pub(crate) struct TxSlot {
    tx: Arc<Mutex<Option<Transaction>>>,
    handle: Option<tokio::runtime::Handle>,
}

impl TxSlot {
    pub(crate) fn new(tx: Transaction, fallback: Option<&tokio::runtime::Handle>) -> Self {
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| fallback.cloned());
        Self {
            tx: Arc::new(Mutex::new(Some(tx))),
            handle,
        }
    }

    /// Locks the transaction for one operation; fails at once (rather than
    /// waiting forever) when a stream over it is still open.
    pub(crate) fn lock(&self) -> Result<OwnedMutexGuard<Option<Transaction>>, LuaDbError> {
        self.tx.clone().try_lock_owned().map_err(|_| {
            LuaDbError::new(
                ErrorKind::InvalidState,
                "the transaction is busy (a row stream over it is still open, or another \
                 coroutine is using it)",
            )
        })
    }

    /// Rolls back (by dropping) the transaction if it is open and idle.
    pub(crate) fn abandon(&self) {
        if let Ok(mut g) = self.tx.try_lock()
            && let Some(tx) = g.take()
        {
            drop_in(tx, self.handle.as_ref());
        }
    }
}

impl crate::runtime::context::Abandon for TxSlot {
    fn abandon(&self) {
        TxSlot::abandon(self);
    }
}

impl Drop for TxSlot {
    fn drop(&mut self) {
        self.abandon();
    }
}

pub(crate) fn finished() -> LuaDbError {
    Error::InvalidState("the transaction has already finished".into()).into()
}

/// A transaction as a script sees it (`db:begin()`).
#[derive(Debug, Clone)]
pub(crate) struct LuaTx {
    pub(crate) slot: Arc<TxSlot>,
    pub(crate) backend: Backend,
    pub(crate) events: Arc<crate::objects::events::StatementEvents>,
}

impl UserData for LuaTx {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, TX_CLASS, "dbridge.transaction");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // `local tx <close> = db:begin()`: rolled back when the scope ends uncommitted.
        methods.add_meta_method(MetaMethod::Close, |_, this, ()| {
            this.slot.abandon();
            Ok(())
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let open = this.slot.tx.try_lock().map(|g| g.is_some()).unwrap_or(true);
            Ok(format!(
                "dbridge.transaction({}, {})",
                this.backend,
                if open { "open" } else { "finished" }
            ))
        });
    }
}

/// `tx:backend()` (`"sqlite"` or `"postgresql"`) and `tx:is_open()`:
/// whether it is neither committed nor rolled back (true while a row stream
/// over it holds it).
pub(crate) fn info(lua: &mlua::Lua, (this, name): (LuaValue, mlua::LuaString)) -> Raw {
    let r = (|| {
        let name = name.to_str().map_err(lua_err)?;
        let tx = match &this {
            LuaValue::UserData(ud) => ud.borrow::<LuaTx>().ok().map(|t| t.clone()),
            _ => None,
        }
        .ok_or_else(|| LuaDbError::argument(&name, 1, "a transaction (call it with `:`)", &this))?;
        match &*name {
            "backend" => Ok(LuaValue::String(
                lua.create_string(tx.backend.name()).map_err(lua_err)?,
            )),
            "is_open" => Ok(LuaValue::Boolean(
                tx.slot.tx.try_lock().map_or(true, |g| g.is_some()),
            )),
            other => Err(LuaDbError::new(
                ErrorKind::InvalidState,
                format!("unknown transaction call `{other}`"),
            )),
        }
    })();
    raw(lua, r)
}

/// Transaction options from a script table: `isolation`, `read_only`, `retries`.
pub(crate) fn options(
    v: &LuaValue,
    func: &str,
    n: usize,
) -> Result<TransactionOptions, LuaDbError> {
    let t = match v {
        LuaValue::Nil => return Ok(TransactionOptions::new()),
        LuaValue::Table(t) => t,
        other => return Err(LuaDbError::argument(func, n, "a table of options", other)),
    };
    let bad = |what: &str| LuaDbError::new(ErrorKind::Configuration, format!("`{func}`: {what}"));
    let mut opts = TransactionOptions::new();
    for pair in t.pairs::<String, LuaValue>() {
        let (k, v) = pair.map_err(|_| bad("option names must be strings"))?;
        match (k.as_str(), v) {
            ("isolation", LuaValue::String(s)) => {
                let level = match s
                    .to_string_lossy()
                    .replace([' ', '-'], "_")
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    "repeatable_read" => IsolationLevel::RepeatableRead,
                    "serializable" => IsolationLevel::Serializable,
                    _ => {
                        return Err(bad(
                            "isolation must be read_uncommitted, read_committed, repeatable_read or serializable",
                        ));
                    }
                };
                opts = opts.isolation(level);
            }
            ("read_only", LuaValue::Boolean(b)) => opts = opts.read_only(b),
            ("retries", LuaValue::Integer(n)) if n >= 0 => {
                opts = opts.max_retries(u32::try_from(n).unwrap_or(u32::MAX));
            }
            (other, _) => {
                return Err(bad(&format!(
                    "unknown or mistyped option `{other}` (isolation = string, read_only = boolean, retries = integer)"
                )));
            }
        }
    }
    Ok(opts)
}
