//! Event listeners: callbacks run by the session around inserts, updates and
//! deletes, around flushes and transactions, and on every attribute assignment.
//!
//! [`Events`] is a registry of listeners, each for one [`EventKind`] and either
//! one model or every model ([`Target`]). A session runs the listeners of its
//! [`Registry`](crate::session::Registry) and then its own. This module runs no
//! SQL: it only stores listeners and calls them.
//!
//! Listeners are `Arc<dyn Fn(&Event) -> Result<()> + Send + Sync>`, so that the
//! script bindings can wrap Lua and Rhai functions. A listener may change the
//! instance in the `before_*` hooks (the change is written); its error aborts
//! what was going on: a flush is rolled back and the error
//! ([`Error::Listener`](crate::Error::Listener)) names the listener, the event
//! and the instance. An error from a `set` listener vetoes the assignment.
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::events::{EventKind, Events, Target};
//! use dbridge_engine::Value;
//! let events = Events::new();
//! let id = events.on(Target::model("User"), EventKind::BeforeInsert, |ev| {
//!     let user = ev.instance.expect("instance events carry their instance");
//!     let email = user.get("email")?;
//!     if let Some(e) = email.as_str() {
//!         user.set("email", Value::from(e.to_lowercase()))?;
//!     }
//!     Ok(())
//! });
//! assert!(events.off(id));
//! ```

mod registry;

pub use registry::{Event, Events, Listener, ListenerId, Target};

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// The events a listener can be registered for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Before an instance's INSERT (the instance may be changed).
    BeforeInsert,
    /// After an instance's INSERT (its generated key is set).
    AfterInsert,
    /// Before an instance's UPDATE (the instance may be changed).
    BeforeUpdate,
    /// After an instance's UPDATE.
    AfterUpdate,
    /// Before an instance's DELETE.
    BeforeDelete,
    /// After an instance's DELETE.
    AfterDelete,
    /// At the start of a flush that has work to do.
    BeforeFlush,
    /// At the end of a successful flush.
    AfterFlush,
    /// After the session's transaction committed.
    AfterCommit,
    /// After the session's transaction rolled back.
    AfterRollback,
    /// An attribute is being assigned (old and new value; an error vetoes it).
    Set,
}

impl EventKind {
    /// Every kind, in order.
    pub const ALL: [EventKind; 11] = [
        Self::BeforeInsert,
        Self::AfterInsert,
        Self::BeforeUpdate,
        Self::AfterUpdate,
        Self::BeforeDelete,
        Self::AfterDelete,
        Self::BeforeFlush,
        Self::AfterFlush,
        Self::AfterCommit,
        Self::AfterRollback,
        Self::Set,
    ];

    /// The snake_case name (`"before_insert"`...), as the script bindings spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeInsert => "before_insert",
            Self::AfterInsert => "after_insert",
            Self::BeforeUpdate => "before_update",
            Self::AfterUpdate => "after_update",
            Self::BeforeDelete => "before_delete",
            Self::AfterDelete => "after_delete",
            Self::BeforeFlush => "before_flush",
            Self::AfterFlush => "after_flush",
            Self::AfterCommit => "after_commit",
            Self::AfterRollback => "after_rollback",
            Self::Set => "set",
        }
    }

    /// Whether the event concerns one instance (and so may target a model).
    pub fn is_instance_event(self) -> bool {
        !matches!(
            self,
            Self::BeforeFlush | Self::AfterFlush | Self::AfterCommit | Self::AfterRollback
        )
    }

    pub(crate) fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EventKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| Error::InvalidValue {
                target: "event name".into(),
                reason: format!(
                    "unknown event {:?}; expected one of {}",
                    s.chars().take(40).collect::<String>(),
                    Self::ALL.map(EventKind::as_str).join(", ")
                ),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(k.as_str().parse::<EventKind>().unwrap(), k);
        }
        let err = "before_insrt".parse::<EventKind>().unwrap_err();
        assert!(err.to_string().contains("unknown event \"before_insrt\""));
        assert!(!EventKind::AfterCommit.is_instance_event());
        assert!(EventKind::Set.is_instance_event());
    }
}
