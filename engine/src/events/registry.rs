//! [`Events`]: the listener registry, and [`Event`]: what a listener is told.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::RwLock;

use super::EventKind;
use crate::error::{Error, Result};
use crate::schema::Model;
use crate::session::Instance;
use crate::value::Value;

/// What a listener receives. Fields that do not apply to the event are `None`.
#[derive(Debug, Clone, Copy)]
pub struct Event<'a> {
    /// The event.
    pub kind: EventKind,
    /// The instance, for instance events (inserts, updates, deletes, `set`).
    pub instance: Option<&'a Instance>,
    /// The instance's model, for instance events.
    pub model: Option<&'a Model>,
    /// The assigned column, for `set`.
    pub attribute: Option<&'a str>,
    /// The value before the assignment, for `set` (`None` when it was not loaded).
    pub old: Option<&'a Value>,
    /// The value being assigned (after coercion), for `set`.
    pub new: Option<&'a Value>,
}

impl<'a> Event<'a> {
    /// An event of a session or transaction (no instance).
    pub(crate) fn session(kind: EventKind) -> Self {
        Self {
            kind,
            instance: None,
            model: None,
            attribute: None,
            old: None,
            new: None,
        }
    }

    /// An event of one instance.
    pub(crate) fn instance(kind: EventKind, instance: &'a Instance, model: &'a Model) -> Self {
        Self {
            kind,
            instance: Some(instance),
            model: Some(model),
            attribute: None,
            old: None,
            new: None,
        }
    }
}

/// A listener: an error aborts (and, for `set`, vetoes) what was going on.
pub type Listener = Arc<dyn Fn(&Event<'_>) -> Result<()> + Send + Sync>;

/// Which models a listener hears about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every model (and every session event).
    All,
    /// The model of this name only.
    Model(String),
}

impl Target {
    /// The model named `name` (`"*"` means every model).
    pub fn model(name: impl Into<String>) -> Self {
        let name = name.into();
        if name == "*" {
            Self::All
        } else {
            Self::Model(name)
        }
    }

    fn matches(&self, model: Option<&Model>) -> bool {
        match (self, model) {
            (Self::All, _) => true,
            // A model's listeners hear its subclasses' instances too.
            (Self::Model(n), Some(m)) => m.lineage().any(|a| a.name().as_str() == n),
            (Self::Model(_), None) => false,
        }
    }
}

impl From<&Model> for Target {
    fn from(m: &Model) -> Self {
        Self::Model(m.name().as_str().to_owned())
    }
}

/// Identifies a listener so that it can be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ListenerId(u64);

struct Entry {
    id: ListenerId,
    name: Arc<str>,
    target: Target,
    kind: EventKind,
    f: Listener,
}

#[derive(Default)]
struct Inner {
    entries: RwLock<Vec<Entry>>,
    /// One bit per [`EventKind`] with at least one listener: the fast path.
    kinds: AtomicU32,
    next: AtomicU64,
}

/// A registry of listeners. Cheap to clone: clones share the registry.
#[derive(Clone, Default)]
pub struct Events {
    inner: Arc<Inner>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.inner.entries.read();
        f.debug_list()
            .entries(
                entries
                    .iter()
                    .map(|e| format!("{} on {:?}: {}", e.kind, e.target, e.name)),
            )
            .finish()
    }
}

impl Events {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a listener for `kind` on `target`, named `listener #<n>` in errors.
    pub fn on(
        &self,
        target: impl Into<Target>,
        kind: EventKind,
        f: impl Fn(&Event<'_>) -> Result<()> + Send + Sync + 'static,
    ) -> ListenerId {
        self.add(None, target.into(), kind, Arc::new(f))
    }

    /// Adds a named listener (the name appears in its errors).
    pub fn on_named(
        &self,
        name: impl Into<String>,
        target: impl Into<Target>,
        kind: EventKind,
        f: Listener,
    ) -> ListenerId {
        self.add(Some(name.into()), target.into(), kind, f)
    }

    fn add(
        &self,
        name: Option<String>,
        target: Target,
        kind: EventKind,
        f: Listener,
    ) -> ListenerId {
        let n = self.inner.next.fetch_add(1, Ordering::Relaxed);
        let id = ListenerId(n);
        let name: Arc<str> = name
            .unwrap_or_else(|| format!("listener #{}", n + 1))
            .into();
        let mut entries = self.inner.entries.write();
        entries.push(Entry {
            id,
            name,
            target,
            kind,
            f,
        });
        self.inner.kinds.fetch_or(kind.bit(), Ordering::Release);
        id
    }

    /// Removes a listener; returns whether it was registered.
    pub fn off(&self, id: ListenerId) -> bool {
        let mut entries = self.inner.entries.write();
        let before = entries.len();
        entries.retain(|e| e.id != id);
        let bits = entries.iter().fold(0, |b, e| b | e.kind.bit());
        self.inner.kinds.store(bits, Ordering::Release);
        entries.len() != before
    }

    /// Whether any listener is registered for `kind`.
    pub fn has(&self, kind: EventKind) -> bool {
        self.inner.kinds.load(Ordering::Acquire) & kind.bit() != 0
    }

    /// Calls every listener for the event, in registration order; the first
    /// error stops and is returned as [`Error::Listener`] (a `set` veto as is).
    ///
    /// No lock is held while a listener runs, so listeners may add or remove
    /// listeners and use the instance.
    pub(crate) fn dispatch(
        &self,
        ev: &Event<'_>,
        instance_label: impl Fn() -> String,
    ) -> Result<()> {
        if !self.has(ev.kind) {
            return Ok(());
        }
        let matching: Vec<(Arc<str>, Listener)> = self
            .inner
            .entries
            .read()
            .iter()
            .filter(|e| e.kind == ev.kind && e.target.matches(ev.model))
            .map(|e| (e.name.clone(), e.f.clone()))
            .collect();
        for (name, f) in matching {
            if let Err(e) = f(ev) {
                return Err(match e {
                    // A veto of an assignment is the validation error itself.
                    e @ Error::Validation { .. } if ev.kind == EventKind::Set => e,
                    e => Error::Listener {
                        event: ev.kind.as_str(),
                        listener: name.to_string(),
                        instance: ev.instance.map(|_| instance_label()),
                        source: Box::new(e),
                    },
                });
            }
        }
        Ok(())
    }
}
