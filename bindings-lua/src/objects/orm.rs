//! The ORM state of one database handle: its models ([`Metadata`]) and the
//! session [`Registry`] of listeners and validators that every session and
//! instance made through the handle shares.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use dbridge_engine::events::ListenerId;
use dbridge_engine::schema::Metadata;
use dbridge_engine::session::Registry;
use parking_lot::Mutex;

/// Models and the session registry of a `LuaDb`.
#[derive(Debug, Default)]
pub(crate) struct Orm {
    /// The models declared with `db:model` (what `create_all`, `drop_all` and
    /// the migrator's `check` work on).
    pub(crate) meta: Metadata,
    /// The models `db:reflect()` made of existing tables: usable like
    /// declared ones, never created or dropped by `create_all` / `drop_all`.
    pub(crate) reflected: Metadata,
    pub(crate) registry: Registry,
    /// Engine ids of the listeners added by `db:on`, by the script-side key.
    listeners: Mutex<HashMap<i64, ListenerId>>,
}

/// Callback keys are unique in the process: several databases may share a state.
static NEXT: AtomicU64 = AtomicU64::new(1);

impl Orm {
    /// A fresh key for a script-side callback (listener, validator, factory).
    pub(crate) fn next_key(&self) -> i64 {
        i64::try_from(NEXT.fetch_add(1, Ordering::Relaxed)).unwrap_or(i64::MAX)
    }

    pub(crate) fn remember(&self, key: i64, id: ListenerId) {
        self.listeners.lock().insert(key, id);
    }

    /// Removes the listener added under `key`; whether it was there.
    pub(crate) fn forget(&self, key: i64) -> bool {
        match self.listeners.lock().remove(&key) {
            Some(id) => self.registry.events().off(id),
            None => false,
        }
    }
}
