//! The ORM session: instances tracked in an identity map, their changes written
//! by a unit of work in foreign-key order, in one transaction.
//!
//! - [`Instance`]: a dynamic object of a runtime [`Model`], a shared handle;
//!   its [`InstanceState`] is transient, pending, persistent, deleted or detached.
//! - [`Session`]: `add` / `delete` / `get` / `merge` / `expunge` / `refresh` /
//!   `expire`, queries that return instances ([`Session::query`]), `flush`,
//!   `commit`, `rollback`, `close`, nested transactions (savepoints).
//! - The identity map (`identity.rs`, moka) keeps one instance per primary key;
//!   dirty tracking compares values with the snapshot last loaded or flushed,
//!   so an UPDATE sets only the changed columns and no change means no statement.
//! - `unit_of_work.rs` plans a flush (pure); `persist.rs` runs the plan:
//!   multi-row `INSERT ... RETURNING` per model, keys and server defaults read
//!   back into the instances, events fired for every instance.
//! - [`Registry`]: listeners ([`crate::events`]), validators and custom types
//!   ([`crate::validate`]) and version columns shared by sessions.
//!
//! A flush is all or nothing: on error the transaction is rolled back, new
//! instances become transient again and persistent ones are expired, and the
//! error names the instance.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> dbridge_engine::Result<()> {
//! use dbridge_engine::schema::{Column, Metadata, Model};
//! use dbridge_engine::session::{Instance, Session};
//! use dbridge_engine::{Database, Value};
//!
//! let meta = Metadata::new();
//! let user = meta.add(Model::builder("User").table("users")
//!     .column(Column::new("id", "bigint").primary_key())
//!     .column(Column::new("name", "text").not_null())
//!     .column(Column::new("karma", "integer").default(0))
//!     .build()?)?;
//! let db = Database::connect("sqlite::memory:").await?;
//! meta.create_all(&db).await?;
//!
//! let mut s = Session::new(&db);
//! let ada = s.add(Instance::with_values(&user, [("name", "Ada")])?)?;
//! s.flush().await?;                      // INSERT ... RETURNING "id", "karma"
//! let id = ada.get("id")?;
//! assert_eq!(ada.get("karma")?, Value::Int4(0));
//! ada.set("karma", 1)?;                  // tracked
//! s.commit().await?;                     // UPDATE "users" SET "karma" = $1 WHERE ...
//!
//! let again = s.get(&user, id).await?.expect("the row exists");
//! assert!(again.ptr_eq(&ada));           // one instance per primary key
//! # Ok(()) }
//! ```

mod attribute;
mod bound;
mod cascade;
mod flush;
mod identity;
mod instance;
mod load;
mod loading;
mod persist;
mod polymorphic;
mod query;
mod registry;
mod related;
mod state;
mod transaction;
mod unit_of_work;

pub use bound::BindingContext;
pub use instance::Instance;
pub use loading::Load;
pub use query::SessionQuery;
pub use registry::{ColumnProperty, Registry};
pub use related::Related;
pub use state::InstanceState;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures_util::future::BoxFuture;

use crate::db::{Database, Transaction, TransactionOptions};
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Events};
use crate::schema::{Model, schema_error};
use crate::value::Value;

use identity::{IdentityKey, IdentityMap};
use instance::{Attachment, Tracker};
use transaction::Frame;

static SESSIONS: AtomicU64 = AtomicU64::new(1);

/// How a session behaves.
///
/// # Examples
///
/// ```
/// use dbridge_engine::session::SessionOptions;
/// let opts = SessionOptions::new().autoflush(false).identity_map_capacity(Some(10_000));
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct SessionOptions {
    autoflush: bool,
    expire_on_commit: bool,
    capacity: Option<u64>,
    transaction: TransactionOptions,
    registry: Registry,
    strict_loading: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            autoflush: true,
            expire_on_commit: false,
            capacity: None,
            transaction: TransactionOptions::default(),
            registry: Registry::default(),
            strict_loading: false,
        }
    }
}

impl SessionOptions {
    /// Autoflush on, no expiry on commit, no identity-map limit, default transactions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Flush pending changes before queries and `get` loads (default: on).
    pub fn autoflush(mut self, on: bool) -> Self {
        self.autoflush = on;
        self
    }

    /// Expire every instance after a commit, so that the next read reloads it
    /// (SQLAlchemy's default; off here, since reads are synchronous).
    pub fn expire_on_commit(mut self, on: bool) -> Self {
        self.expire_on_commit = on;
        self
    }

    /// The most instances the identity map holds strongly (`None`: no limit).
    /// Past it, clean instances may be evicted, never ones with pending changes.
    pub fn identity_map_capacity(mut self, capacity: Option<u64>) -> Self {
        self.capacity = capacity;
        self
    }

    /// How the session's transactions begin.
    pub fn transaction(mut self, options: TransactionOptions) -> Self {
        self.transaction = options;
        self
    }

    /// Strict loading: a lazy load that would run SQL is an error (an N+1
    /// guard); load relationships with [`Load`] options instead.
    pub fn strict_loading(mut self, on: bool) -> Self {
        self.strict_loading = on;
        self
    }

    /// The registry of listeners, validators and version columns.
    pub fn registry(mut self, registry: &Registry) -> Self {
        self.registry = registry.clone();
        self
    }
}

/// The values of a primary key: one value, or several for a composite key.
#[derive(Debug, Clone)]
pub struct KeyValues(pub Vec<Value>);

impl<T: Into<Value>> From<T> for KeyValues {
    fn from(v: T) -> Self {
        Self(vec![v.into()])
    }
}

impl From<Vec<Value>> for KeyValues {
    fn from(v: Vec<Value>) -> Self {
        Self(v)
    }
}

impl<const N: usize> From<[Value; N]> for KeyValues {
    fn from(v: [Value; N]) -> Self {
        Self(v.into())
    }
}

/// A unit of work over a [`Database`]: tracks instances, writes their changes
/// in one transaction (begun lazily, at the first statement), and keeps one
/// instance per primary key.
///
/// A session is `Send` and used by one task at a time (`&mut self`).
/// Dropping it rolls back what was not committed.
pub struct Session {
    db: Database,
    id: u64,
    opts: SessionOptions,
    events: Events,
    tx: Option<Transaction>,
    frames: Vec<Frame>,
    map: IdentityMap,
    tracker: Arc<Tracker>,
    new: Vec<Instance>,
    deleted: Vec<Instance>,
    savepoints: u64,
    /// Works in a transaction its host lends it call by call
    /// ([`Session::borrowing`]).
    borrowed: bool,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("backend", &self.db.backend())
            .field("in_transaction", &self.tx.is_some())
            .field("pending", &self.new.len())
            .field("nested", &self.frames.len().saturating_sub(1))
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with default options.
    pub fn new(db: &Database) -> Self {
        Self::with_options(db, SessionOptions::default())
    }

    /// A session with the given options.
    pub fn with_options(db: &Database, opts: SessionOptions) -> Self {
        Self {
            db: db.clone(),
            id: SESSIONS.fetch_add(1, Ordering::Relaxed),
            map: IdentityMap::new(opts.capacity),
            opts,
            events: Events::new(),
            tx: None,
            frames: Vec::new(),
            tracker: Arc::default(),
            new: Vec::new(),
            deleted: Vec::new(),
            savepoints: 0,
            borrowed: false,
        }
    }

    /// A session working in a transaction someone else began (a migration's,
    /// a host's): its flushes run there, and [`Session::into_transaction`]
    /// gives the transaction back uncommitted. `commit` and `rollback` end it
    /// as they would the session's own.
    pub fn from_transaction(tx: Transaction, opts: SessionOptions) -> Self {
        let mut s = Self::with_options(tx.database(), opts);
        s.tx = Some(tx);
        s.frames.push(transaction::Frame::default());
        s
    }

    /// A number unique to this session for the life of the process (what
    /// [`Instance::session_id`] gives for the instances it holds).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The registry of listeners, validators and version columns.
    pub fn registry(&self) -> &Registry {
        &self.opts.registry
    }

    /// This session's own listeners (run after the registry's).
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// Whether autoflush is on.
    pub fn autoflush(&self) -> bool {
        self.opts.autoflush
    }

    /// Turns autoflush on or off; returns the previous setting.
    pub fn set_autoflush(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.opts.autoflush, on)
    }

    /// Runs `body` with autoflush off, then restores the setting.
    ///
    /// # Errors
    /// The body's.
    pub async fn no_autoflush<T, F>(&mut self, body: F) -> Result<T>
    where
        F: for<'s> FnOnce(&'s mut Session) -> BoxFuture<'s, Result<T>>,
    {
        let before = self.set_autoflush(false);
        let out = body(self).await;
        self.opts.autoflush = before;
        out
    }

    /// Whether a transaction is open.
    pub fn in_transaction(&self) -> bool {
        self.tx.is_some() || self.borrowed
    }

    /// The number of instances the identity map holds strongly.
    pub fn identity_map_len(&self) -> u64 {
        self.map.len()
    }

    /// The instances added and not yet inserted.
    pub fn pending(&self) -> Vec<Instance> {
        self.new.clone()
    }

    /// The persistent instances with unflushed changes.
    pub fn dirty(&self) -> Vec<Instance> {
        let modified = self.tracker.modified.lock().clone();
        modified
            .into_iter()
            .filter(|i| i.state() == InstanceState::Persistent && i.is_modified())
            .collect()
    }

    /// Whether a flush has anything to do.
    pub fn has_changes(&self) -> bool {
        !self.new.is_empty()
            || !self.deleted.is_empty()
            || !self.tracker.modified.lock().is_empty()
            || !self.tracker.orphans.lock().is_empty()
    }

    /// Whether strict loading is on (see [`SessionOptions::strict_loading`]).
    pub fn strict_loading(&self) -> bool {
        self.opts.strict_loading
    }

    /// Turns strict loading on or off (see [`SessionOptions::strict_loading`]);
    /// returns the previous setting.
    pub fn set_strict_loading(&mut self, on: bool) -> bool {
        std::mem::replace(&mut self.opts.strict_loading, on)
    }

    fn attachment(&self) -> Attachment {
        Attachment {
            session: self.id,
            tracker: Arc::downgrade(&self.tracker),
            events: self.events.clone(),
        }
    }

    pub(crate) fn attach(&self, d: &mut instance::InstanceData) {
        d.attach = Some(self.attachment());
        d.bound = None;
        if d.registry.is_none() {
            d.registry = Some(self.opts.registry.clone());
        }
    }

    fn owned(&self, d: &instance::InstanceData) -> bool {
        d.attach.as_ref().is_some_and(|a| a.session == self.id)
    }

    /// Adds an instance: a transient one becomes pending (inserted at the next
    /// flush), a detached one persistent again. Returns it, for chaining.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when it belongs to another session, or was deleted,
    /// or another instance of this session has its primary key.
    pub fn add(&mut self, inst: Instance) -> Result<Instance> {
        self.add_ref(&inst)?;
        self.cascade_add(&inst)?;
        Ok(inst)
    }

    fn add_ref(&mut self, inst: &Instance) -> Result<()> {
        let mut d = inst.write();
        if d.attach.is_some() && !self.owned(&d) {
            return Err(Error::InvalidState(format!(
                "{} belongs to another session",
                d.describe()
            )));
        }
        match d.state {
            InstanceState::Transient => {
                self.attach(&mut d);
                d.state = InstanceState::Pending;
                drop(d);
                if let Some(f) = self.frames.last_mut() {
                    f.added.push(inst.clone());
                }
                self.new.push(inst.clone());
            }
            InstanceState::Pending | InstanceState::Persistent => {}
            InstanceState::Deleted => {
                return Err(Error::InvalidState(format!(
                    "{} was deleted; it cannot be added again",
                    d.describe()
                )));
            }
            InstanceState::Detached => {
                let key = d.key.clone().ok_or_else(|| {
                    Error::InvalidState(format!("{} has no identity", d.describe()))
                })?;
                if let Some(other) = self.map.get(&key)
                    && !other.ptr_eq(inst)
                {
                    return Err(Error::InvalidState(format!(
                        "{} has the primary key of {}, already in the session",
                        d.describe(),
                        other.describe()
                    )));
                }
                self.attach(&mut d);
                d.state = InstanceState::Persistent;
                let modified = (0..d.values.len()).any(|i| d.is_changed(i));
                d.modified = false;
                if modified {
                    inst.mark_modified(&mut d);
                }
                drop(d);
                self.map.insert(key, inst.clone());
            }
        }
        Ok(())
    }

    /// Adds several instances (see [`Session::add`]).
    ///
    /// # Errors
    /// As [`Session::add`]; the instances before the failing one stay added.
    pub fn add_all(&mut self, instances: impl IntoIterator<Item = Instance>) -> Result<()> {
        for i in instances {
            self.add(i)?;
        }
        Ok(())
    }

    /// Marks an instance for deletion at the next flush (a pending one is
    /// simply expunged).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when it is not in this session.
    pub fn delete(&mut self, inst: &Instance) -> Result<()> {
        let mut d = inst.write();
        if !self.owned(&d) {
            return Err(Error::InvalidState(format!(
                "{} is not in this session",
                d.describe()
            )));
        }
        match d.state {
            InstanceState::Pending => {
                drop(d);
                self.expunge(inst);
            }
            InstanceState::Persistent if !d.marked_deleted => {
                d.marked_deleted = true;
                drop(d);
                self.deleted.push(inst.clone());
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes an instance from the session: a pending one becomes transient,
    /// a persistent one detached. Its unflushed changes stay in it.
    pub fn expunge(&mut self, inst: &Instance) {
        if !self.detach(inst) {
            return;
        }
        if let Some(k) = &inst.read().key {
            self.map.remove(k);
        }
        self.new.retain(|i| !i.ptr_eq(inst));
        self.deleted.retain(|i| !i.ptr_eq(inst));
        self.tracker.modified.lock().retain(|i| !i.ptr_eq(inst));
    }

    /// Detaches every instance.
    pub fn expunge_all(&mut self) {
        // One pass over everything the session holds, then its lists emptied
        // at once: expunging one by one would search every list for each.
        let modified = std::mem::take(&mut *self.tracker.modified.lock());
        let new = std::mem::take(&mut self.new);
        let deleted = std::mem::take(&mut self.deleted);
        for inst in self
            .map
            .take_all()
            .iter()
            .chain(&new)
            .chain(&deleted)
            .chain(&modified)
        {
            self.detach(inst);
        }
    }

    /// Ends an instance's membership of this session (a pending one becomes
    /// transient, any other detached); false when it was not this session's.
    fn detach(&self, inst: &Instance) -> bool {
        let mut d = inst.write();
        if !self.owned(&d) {
            return false;
        }
        d.attach = None;
        d.modified = false;
        d.marked_deleted = false;
        d.state = match d.state {
            InstanceState::Pending | InstanceState::Transient => InstanceState::Transient,
            _ => InstanceState::Detached,
        };
        true
    }

    /// Every instance the session holds (pending, and alive in the map).
    fn all_instances(&self) -> Vec<Instance> {
        let mut out = self.new.clone();
        out.extend(self.map.instances());
        out.extend(self.deleted.iter().cloned());
        out.extend(self.tracker.modified.lock().iter().cloned());
        out.sort_by_key(|i| Arc::as_ptr(&i.0) as usize);
        out.dedup_by(|a, b| a.ptr_eq(b));
        out
    }

    /// Forgets an instance's loaded values and unflushed changes (not its key):
    /// the next [`Session::get`], query or [`Session::refresh`] reloads them.
    pub fn expire(&mut self, inst: &Instance) {
        let mut d = inst.write();
        if self.owned(&d) && d.state == InstanceState::Persistent {
            d.expire();
        }
    }

    /// Expires every persistent instance.
    pub fn expire_all(&mut self) {
        for inst in self.all_instances() {
            self.expire(&inst);
        }
        self.tracker.modified.lock().clear();
    }

    /// The instance with this primary key in the identity map, without SQL
    /// (`None` when it is not there).
    ///
    /// # Errors
    /// As [`Session::get`], for a key of the wrong width or type.
    pub fn identity(&self, model: &Model, pk: impl Into<KeyValues>) -> Result<Option<Instance>> {
        let key = key_of(model, pk.into().0)?;
        Ok(self.map.get(&key))
    }

    /// The instance of `model` with this primary key: from the identity map
    /// when it is there (no SQL), else loaded (autoflushing first). A row
    /// deleted in this session gives `None`. For a model declared
    /// [`polymorphic_union`](crate::schema::ModelBuilder::polymorphic_union),
    /// whose concrete subclasses' keys may repeat its own, the row of its
    /// own table comes first, then those of the subclasses in union order.
    ///
    /// # Errors
    /// [`Error::Schema`] when the number of values is not the key's width;
    /// coercion errors for values of the wrong type; database errors.
    pub async fn get(
        &mut self,
        model: &Model,
        pk: impl Into<KeyValues>,
    ) -> Result<Option<Instance>> {
        let values = pk_values(model, pk.into().0)?;
        let key = IdentityKey::new(model, &values).ok_or_else(|| Error::InvalidValue {
            target: format!("primary key of model `{}`", model.name()),
            reason: "a primary key cannot be NULL".into(),
        })?;
        if let Some(found) = self.map.get(&key) {
            if !found.read().model.is_a(model) {
                return Ok(None); // the key's row is of another class
            }
            let (state, expired) = {
                let d = found.read();
                (d.state, d.values.iter().any(Option::is_none))
            };
            if state != InstanceState::Persistent || found.is_marked_deleted() {
                return Ok(None);
            }
            if expired {
                let unloaded = found
                    .read()
                    .values
                    .iter()
                    .zip(model.columns())
                    .any(|(v, c)| v.is_none() && !c.is_deferred());
                if unloaded {
                    self.reload(&found, false).await?;
                }
            }
            return Ok(Some(found));
        }
        if self.opts.autoflush && self.has_changes() {
            self.flush().await?;
            if let Some(found) = self.map.get(&key) {
                let same = found.read().model.is_a(model);
                return Ok(same.then_some(found));
            }
        }
        let mut q = self.query(model);
        for (&i, v) in model.primary_key().iter().zip(values) {
            q = q.filter(model.col(model.columns()[i].name().as_str())?.eq(v));
        }
        let mut rows = q.no_autoflush().all().await?;
        if rows.len() > 1 {
            // A polymorphic union: the key may repeat in concrete tables;
            // the model's own identity space first, then the union's order.
            rows.sort_by_key(|r| model.union_position(&r.model()).unwrap_or(usize::MAX));
            return Ok(rows.into_iter().next());
        }
        Ok(rows.pop())
    }

    /// Reloads every column of a persistent instance from its row (deferred
    /// columns too), discarding its unflushed changes.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the row is gone; [`Error::InvalidState`] when
    /// the instance is not persistent in this session.
    pub async fn refresh(&mut self, inst: &Instance) -> Result<()> {
        self.reload(inst, true).await
    }

    /// Copies the state of `inst` (say, a detached or deserialized copy) onto
    /// the session's instance with the same primary key, loading it if needed,
    /// and returns that instance; without a match, adds a new pending copy.
    /// Only the columns `inst` has loaded or set are copied.
    ///
    /// # Errors
    /// Database errors; assignment errors of the copied values.
    pub async fn merge(&mut self, inst: &Instance) -> Result<Instance> {
        let (model, values, pk) = {
            let d = inst.read();
            (d.model.clone(), d.values.clone(), d.pk_values())
        };
        if self.owned(&inst.read()) {
            return Ok(inst.clone());
        }
        let target = match pk {
            Some(pk) => self.get(&model, pk).await?,
            None => None,
        };
        let target = match target {
            Some(t) => t,
            None => self.add(Instance::new(&model))?,
        };
        for (i, v) in values.into_iter().enumerate() {
            if let Some(v) = v
                && model.columns()[i].generated().is_none()
            {
                let unchanged = target.read().values[i]
                    .as_ref()
                    .is_some_and(|c| c.same_as(&v));
                if !unchanged {
                    target.set(model.columns()[i].name().as_str(), v)?;
                }
            }
        }
        Ok(target)
    }

    /// Runs the listeners for a session event (registry first, then the session's).
    pub(crate) fn fire(&self, kind: EventKind) -> Result<()> {
        let ev = Event::session(kind);
        self.opts.registry.events().dispatch(&ev, String::new)?;
        self.events.dispatch(&ev, String::new)
    }

    /// Runs the listeners for an instance event.
    pub(crate) fn fire_for(&self, kind: EventKind, inst: &Instance, model: &Model) -> Result<()> {
        let global = self.opts.registry.events();
        if !global.has(kind) && !self.events.has(kind) {
            return Ok(());
        }
        let ev = Event::instance(kind, inst, model);
        global.dispatch(&ev, || inst.describe())?;
        self.events.dispatch(&ev, || inst.describe())
    }
}

/// Coerces primary key values to their columns' types.
pub(crate) fn pk_values(model: &Model, values: Vec<Value>) -> Result<Vec<Value>> {
    let pk = model.primary_key();
    if pk.is_empty() || values.len() != pk.len() {
        return Err(schema_error(
            model.name().as_str(),
            None,
            format!(
                "model `{}` has a primary key of {} column(s); {} value(s) given",
                model.name(),
                pk.len(),
                values.len()
            ),
        ));
    }
    pk.iter()
        .zip(values)
        .map(|(&i, v)| crate::validate::coerce(model, i, v))
        .collect()
}

fn key_of(model: &Model, values: Vec<Value>) -> Result<IdentityKey> {
    let values = pk_values(model, values)?;
    IdentityKey::new(model, &values).ok_or_else(|| Error::InvalidValue {
        target: format!("primary key of model `{}`", model.name()),
        reason: "a primary key cannot be NULL".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The session and its futures can move between threads (tokio::spawn, Lua
    /// coroutines on a multi-threaded runtime).
    #[allow(dead_code)]
    fn futures_are_send(s: &mut Session, m: &Model, i: &Instance) {
        fn send<T: Send>(_: T) {}
        send(s.flush());
        send(s.commit());
        send(s.rollback());
        send(s.get(m, 1));
        send(s.refresh(i));
        send(s.merge(i));
        send(s.begin_nested());
        send(s.query(m).all());
    }

    #[test]
    fn session_and_instances_are_send_and_sync() {
        fn send<T: Send>() {}
        fn sync<T: Send + Sync>() {}
        send::<Session>();
        sync::<Instance>();
        sync::<Registry>();
    }
}
