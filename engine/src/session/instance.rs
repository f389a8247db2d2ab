//! [`Instance`]: a dynamic object of a runtime model, behind a shared handle.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::identity::IdentityKey;
use super::registry::Registry;
use super::state::InstanceState;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, Events};
use crate::schema::{Model, schema_error};
use crate::validate;
use crate::value::Value;

static LABELS: AtomicU64 = AtomicU64::new(1);

/// The instances of a session whose persistent values changed: a strong
/// reference, so that the identity map may evict everything else.
#[derive(Default)]
pub(crate) struct Tracker {
    pub(crate) modified: Mutex<Vec<Instance>>,
    /// Instances removed from a `delete-orphan` collection (with the
    /// relationship's key columns): deleted at the next flush.
    pub(crate) orphans: Mutex<Vec<(Instance, Vec<usize>)>>,
}

/// The values as last loaded or flushed: what dirty tracking compares with.
///
/// Kept lazily, because most loaded instances are only read and most changes
/// touch a column or two: an instance as loaded or flushed holds no copy (its
/// committed values are its values), and a change keeps only the value it
/// replaced.
#[derive(Debug, Clone)]
pub(crate) enum Committed {
    /// Every column's committed value is its current value.
    Current,
    /// The committed values of the changed columns (by model column); every
    /// other column's is its current value.
    Saved(Vec<(usize, Option<Value>)>),
    /// Nothing committed (a new instance): every set column is a change.
    Nothing,
    /// Committed values of their own, by model column.
    Own(Vec<Option<Value>>),
}

impl Committed {
    fn saved(list: &[(usize, Option<Value>)], i: usize) -> Option<&Option<Value>> {
        list.iter().find(|(c, _)| *c == i).map(|(_, v)| v)
    }
}

/// What ties an instance to its session.
#[derive(Clone)]
pub(crate) struct Attachment {
    pub(crate) session: u64,
    pub(crate) tracker: Weak<Tracker>,
    pub(crate) events: Events,
}

pub(crate) struct InstanceData {
    pub(crate) model: Model,
    /// Current values; `None` = not loaded (expired, deferred) or never set.
    pub(crate) values: Vec<Option<Value>>,
    /// The values as last loaded or flushed: what dirty tracking compares with.
    /// Change `values` through [`InstanceData::set_value`] and
    /// [`InstanceData::set_committed_value`] so that it stays right.
    pub(crate) committed: Committed,
    pub(crate) state: InstanceState,
    pub(crate) key: Option<IdentityKey>,
    /// Foreign keys (by index in the model) whose value is another instance's key.
    pub(crate) links: Vec<(usize, Instance)>,
    pub(crate) registry: Option<Registry>,
    pub(crate) attach: Option<Attachment>,
    /// Already listed in the session's tracker.
    pub(crate) modified: bool,
    /// Marked for deletion at the next flush.
    pub(crate) marked_deleted: bool,
    pub(crate) label: u64,
    /// Related instances, by relationship (see `related.rs`).
    pub(crate) rels: super::related::Rels,
    /// Read-only values computed by the database: column properties and the
    /// `with_expression` values of the query that loaded the instance.
    pub(crate) exprs: Vec<(String, Value)>,
    /// The database an instance loaded without a session reads its unloaded
    /// attributes through (see `bound.rs`); cleared when a session takes it.
    pub(crate) bound: Option<super::bound::Binding>,
}

impl InstanceData {
    /// A transient instance's data: `values`, nothing else yet (no key,
    /// session, registry, relationships or binding).
    fn fresh(model: &Model, values: Vec<Option<Value>>, committed: Committed) -> Self {
        Self {
            model: model.clone(),
            values,
            committed,
            state: InstanceState::Transient,
            key: None,
            links: Vec::new(),
            registry: None,
            attach: None,
            modified: false,
            marked_deleted: false,
            label: LABELS.fetch_add(1, Ordering::Relaxed),
            rels: Default::default(),
            exprs: Vec::new(),
            bound: None,
        }
    }

    /// Whether column `i` differs from its committed value.
    pub(crate) fn is_changed(&self, i: usize) -> bool {
        let committed = match &self.committed {
            Committed::Current => return false,
            Committed::Saved(list) => match Committed::saved(list, i) {
                Some(c) => c.as_ref(),
                None => return false,
            },
            Committed::Nothing => None,
            Committed::Own(c) => c[i].as_ref(),
        };
        match (&self.values[i], committed) {
            (Some(v), Some(c)) => !v.same_as(c),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Column `i`'s value as last loaded or flushed.
    pub(crate) fn committed_value(&self, i: usize) -> Option<&Value> {
        match &self.committed {
            Committed::Current => self.values[i].as_ref(),
            Committed::Saved(list) => {
                Committed::saved(list, i).map_or(self.values[i].as_ref(), Option::as_ref)
            }
            Committed::Nothing => None,
            Committed::Own(c) => c[i].as_ref(),
        }
    }

    /// Sets column `i`'s current value (a change, once compared with the
    /// committed one), keeping the value it replaces as the committed one if
    /// that was the current one.
    pub(crate) fn set_value(&mut self, i: usize, value: Value) {
        let old = self.values[i].replace(value);
        match &mut self.committed {
            Committed::Current => self.committed = Committed::Saved(vec![(i, old)]),
            Committed::Saved(list) if Committed::saved(list, i).is_none() => list.push((i, old)),
            Committed::Saved(_) | Committed::Nothing | Committed::Own(_) => {}
        }
    }

    /// Sets column `i`'s current and committed value (loaded or written by
    /// the database); `None` forgets it.
    pub(crate) fn set_committed_value(&mut self, i: usize, value: Option<Value>) {
        match &mut self.committed {
            Committed::Current => {}
            Committed::Saved(list) => {
                list.retain(|(c, _)| *c != i);
                if list.is_empty() {
                    self.committed = Committed::Current;
                }
            }
            Committed::Nothing if value.is_none() => {}
            Committed::Nothing => {
                let mut c = vec![None; self.values.len()];
                c[i].clone_from(&value);
                self.committed = Committed::Own(c);
            }
            Committed::Own(c) => c[i].clone_from(&value),
        }
        self.values[i] = value;
    }

    /// Columns whose value differs from the committed one.
    pub(crate) fn changed_columns(&self) -> Vec<usize> {
        (0..self.values.len())
            .filter(|&i| self.is_changed(i))
            .collect()
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "`{}` instance #{} ({})",
            self.model.name(),
            self.label,
            self.state
        )
    }

    /// The primary key values, if all are known and not NULL.
    pub(crate) fn pk_values(&self) -> Option<Vec<Value>> {
        self.model
            .primary_key()
            .iter()
            .map(|&i| self.values[i].clone().filter(|v| !v.is_null()))
            .collect()
    }

    /// Forgets loaded values (not the primary key) and unflushed changes.
    pub(crate) fn expire(&mut self) {
        let model = self.model.clone();
        let pk = model.primary_key();
        for i in 0..self.values.len() {
            if !pk.contains(&i) {
                self.set_committed_value(i, None);
            }
        }
        self.links.clear();
        self.modified = false;
    }

    /// Makes the current values the committed ones.
    pub(crate) fn commit_values(&mut self) {
        self.committed = Committed::Current;
        self.modified = false;
    }
}

/// An object of a [`Model`]: its column values, its [`InstanceState`] and the
/// snapshot that dirty tracking compares with.
///
/// `Instance` is a shared handle (an `Arc` inside): clones are the same object,
/// so that the session's identity map and a script can both hold it. Reading and
/// assigning are synchronous; the session does the I/O.
///
/// # Examples
///
/// ```
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::session::{Instance, InstanceState};
/// use dbridge_engine::Value;
/// let user = Model::builder("User")
///     .column(Column::new("id", "bigint").primary_key())
///     .column(Column::new("karma", "integer"))
///     .build()?;
/// let ada = Instance::new(&user);
/// ada.set("karma", "41")?; // coerced to the column's type
/// assert_eq!(ada.get("karma")?, Value::Int4(41));
/// assert_eq!(ada.state(), InstanceState::Transient);
/// let same = ada.clone();
/// assert!(same.ptr_eq(&ada));
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Instance(pub(crate) Arc<RwLock<InstanceData>>);

impl fmt::Debug for Instance {
    /// Shows the model, the state and the label, never the values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.read();
        write!(f, "Instance({} #{}, {})", d.model.name(), d.label, d.state)
    }
}

impl Instance {
    /// A new, transient instance with every column unset.
    pub fn new(model: &Model) -> Self {
        Self::build(model, None)
    }

    /// A new, transient instance whose assignments run the validators, custom
    /// types and `set` listeners of `registry`.
    pub fn with_registry(model: &Model, registry: &Registry) -> Self {
        Self::build(model, Some(registry.clone()))
    }

    fn build(model: &Model, registry: Option<Registry>) -> Self {
        let n = model.columns().len();
        let mut values = vec![None; n];
        // A class of a hierarchy starts with its discriminator set.
        if let (Some(d), Some(id)) = (model.discriminator(), model.polymorphic_identity()) {
            values[d] = Some(id.clone());
        }
        let mut data = InstanceData::fresh(model, values, Committed::Nothing);
        data.registry = registry;
        Self(Arc::new(RwLock::new(data)))
    }

    /// A new, transient instance with values assigned in order (each through [`Instance::set`]).
    ///
    /// # Errors
    /// As [`Instance::set`].
    pub fn with_values<K: AsRef<str>, V: Into<Value>>(
        model: &Model,
        values: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self> {
        let inst = Self::new(model);
        for (k, v) in values {
            inst.set(k.as_ref(), v)?;
        }
        Ok(inst)
    }

    /// A persistent instance for a loaded row (values already converted).
    pub(crate) fn loaded(model: &Model, values: Vec<Option<Value>>, key: IdentityKey) -> Self {
        let mut data = InstanceData::fresh(model, values, Committed::Current);
        data.state = InstanceState::Persistent;
        data.key = Some(key);
        Self(Arc::new(RwLock::new(data)))
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, InstanceData> {
        self.0.read()
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, InstanceData> {
        self.0.write()
    }

    /// The model.
    pub fn model(&self) -> Model {
        self.0.read().model.clone()
    }

    /// The state.
    pub fn state(&self) -> InstanceState {
        self.0.read().state
    }

    /// A number unique to this instance for the life of the process (the `#n`
    /// of [`Instance::describe`]): bindings key their script-side objects by it.
    ///
    /// ```
    /// # use dbridge_engine::schema::{Column, Model};
    /// # use dbridge_engine::session::Instance;
    /// let m = Model::builder("T").column(Column::new("id", "bigint").primary_key()).build()?;
    /// let (a, b) = (Instance::new(&m), Instance::new(&m));
    /// assert_eq!(a.id(), a.clone().id());
    /// assert_ne!(a.id(), b.id());
    /// assert!(a.describe().contains(&format!("#{}", a.id())));
    /// # Ok::<(), dbridge_engine::Error>(())
    /// ```
    pub fn id(&self) -> u64 {
        self.0.read().label
    }

    /// A key for this object that no other live instance shares (its
    /// address), for a cache of script objects keyed by instance. Unlike
    /// [`Instance::id`] it does not read the instance, so keying thousands of
    /// freshly loaded instances touches none of them; an address can be reused
    /// once every handle to the instance is dropped.
    pub fn handle_key(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// The id of the session the instance belongs to ([`Session::id`](super::Session::id)),
    /// or `None` when it belongs to none (transient, detached): a binding
    /// finds the session that lazy-loads the instance's relationships by it.
    pub fn session_id(&self) -> Option<u64> {
        self.0.read().attach.as_ref().map(|a| a.session)
    }

    /// Whether both handles are the same instance.
    pub fn ptr_eq(&self, other: &Instance) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A label for messages: "`User` instance #3 (pending)" (never values).
    pub fn describe(&self) -> String {
        self.0.read().describe()
    }

    /// Whether it is marked for deletion at the next flush.
    pub fn is_marked_deleted(&self) -> bool {
        self.0.read().marked_deleted
    }

    /// The value of a column. An unset column of a new instance reads as NULL.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown column; [`Error::InvalidState`] when
    /// the column of a persistent instance is not loaded (expired, or
    /// deferred): [`Session::refresh`](super::Session::refresh) loads it.
    pub fn get(&self, name: &str) -> Result<Value> {
        let d = self.0.read();
        let col = match d.model.column_index(name) {
            Ok(col) => col,
            Err(e) => {
                return d
                    .exprs
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or(e);
            }
        };
        match &d.values[col] {
            Some(v) => Ok(v.clone()),
            None if matches!(d.state, InstanceState::Transient | InstanceState::Pending) => {
                Ok(Value::Null)
            }
            None if d.state == InstanceState::Detached => Err(Error::InvalidState(format!(
                "attribute `{}` of {} is not loaded (expired or deferred) and the instance is detached: \
                 merge it into a session (s:merge) and read it there, or load the column with the query \
                 (undefer)",
                d.model.columns()[col].name(),
                d.describe()
            ))),
            None => Err(Error::InvalidState(format!(
                "attribute `{}` of {} is not loaded (expired or deferred); load it through the session \
                 (Session::load_attribute, or refresh)",
                d.model.columns()[col].name(),
                d.describe()
            ))),
        }
    }

    /// The registry whose validators and column properties apply to this
    /// instance (its session's, once it has one).
    pub fn registry(&self) -> Option<Registry> {
        self.0.read().registry.clone()
    }

    /// The value of a column property or of a query's `with_expression`
    /// named `name`, when the instance has one (read-only).
    pub fn expression(&self, name: &str) -> Option<Value> {
        let d = self.0.read();
        d.exprs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Sets a computed value (loaded with a row, never written back).
    pub(crate) fn set_expression(&self, name: &str, value: Value) {
        let mut d = self.0.write();
        match d.exprs.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => d.exprs.push((name.to_owned(), value)),
        }
    }

    /// Whether the column's value is loaded (or set).
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown column.
    pub fn is_loaded(&self, name: &str) -> Result<bool> {
        let d = self.0.read();
        let col = d.model.column_index(name)?;
        Ok(d.values[col].is_some())
    }

    /// Whether any loaded column was set to a value different from the
    /// committed one (new instances: whether anything was set).
    pub fn is_modified(&self) -> bool {
        let d = self.0.read();
        !d.links.is_empty() || (0..d.values.len()).any(|i| d.is_changed(i))
    }

    /// The names of the columns whose value differs from the committed one.
    pub fn changed(&self) -> Vec<String> {
        let d = self.0.read();
        d.changed_columns()
            .into_iter()
            .map(|i| d.model.columns()[i].name().as_str().to_owned())
            .collect()
    }

    /// The primary key values, once all are known.
    pub fn primary_key(&self) -> Option<Vec<Value>> {
        self.0.read().pk_values()
    }

    /// Assigns a column: the value is coerced to the column's type (or checked
    /// by its custom type), validated, offered to the `set` listeners (which
    /// may veto it), then stored. Setting a value equal to the committed one is
    /// not a change.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown or generated column;
    /// [`Error::TypeMismatch`] / [`Error::InvalidValue`] when the value cannot
    /// be the column's type; [`Error::Validation`] when a validator or listener
    /// rejects it; [`Error::InvalidState`] when changing the primary key of a
    /// persistent instance. The instance is unchanged on error.
    pub fn set(&self, name: &str, value: impl Into<Value>) -> Result<()> {
        let (model, registry, events) = {
            let d = self.0.read();
            (
                d.model.clone(),
                d.registry.clone(),
                d.attach.as_ref().map(|a| a.events.clone()),
            )
        };
        let col = model.column_index(name)?;
        let cdef = &model.columns()[col];
        if cdef.generated().is_some() {
            return Err(schema_error(
                model.name().as_str(),
                Some(name),
                format!(
                    "column `{}` of model `{}` is generated; the database computes it",
                    cdef.name(),
                    model.name()
                ),
            ));
        }
        let value = match &registry {
            Some(r) => r.validators().assign(&model, col, value.into())?,
            None => validate::coerce(&model, col, value.into())?,
        };
        let global = registry.as_ref().map(Registry::events);
        if global.is_some_and(|e| e.has(EventKind::Set))
            || events.as_ref().is_some_and(|e| e.has(EventKind::Set))
        {
            let old = self.0.read().values[col].clone();
            let ev = Event {
                kind: EventKind::Set,
                instance: Some(self),
                model: Some(&model),
                attribute: Some(cdef.name().as_str()),
                old: old.as_ref(),
                new: Some(&value),
            };
            for e in global.into_iter().chain(events.as_ref()) {
                e.dispatch(&ev, || self.describe())?;
            }
        }
        self.store(col, value)
    }

    /// Stores a checked value and tells the session when a persistent
    /// instance becomes modified.
    pub(crate) fn store(&self, col: usize, value: Value) -> Result<()> {
        let mut d = self.0.write();
        let persistent = matches!(d.state, InstanceState::Persistent | InstanceState::Deleted);
        if persistent
            && d.model.columns()[col].is_primary_key()
            && !d.values[col].as_ref().is_some_and(|v| v.same_as(&value))
        {
            return Err(Error::InvalidState(format!(
                "the primary key of {} cannot change",
                d.describe()
            )));
        }
        d.set_value(col, value);
        if d.state == InstanceState::Persistent && !d.modified && d.is_changed(col) {
            self.mark_modified(&mut d);
        }
        Ok(())
    }

    pub(crate) fn mark_modified(&self, d: &mut InstanceData) {
        d.modified = true;
        if let Some(t) = d.attach.as_ref().and_then(|a| a.tracker.upgrade()) {
            t.modified.lock().push(self.clone());
        }
    }

    /// Makes a foreign key take the primary (or referenced) key of `target`,
    /// now if it is known, else when the session flushes `target` (which then
    /// goes first). `column` is any column of the foreign key.
    ///
    /// # Errors
    /// [`Error::Schema`] when `column` is in no foreign key to `target`'s table.
    pub fn set_reference(&self, column: &str, target: &Instance) -> Result<()> {
        let model = self.model();
        let target_model = target.model();
        let col = model.column_index(column)?;
        let fk = model
            .foreign_keys()
            .iter()
            .position(|fk| fk.columns.contains(&col) && &fk.table == target_model.table())
            .ok_or_else(|| {
                schema_error(
                    model.name().as_str(),
                    Some(column),
                    format!(
                        "column `{}` of model `{}` is in no foreign key to table `{}`",
                        model.columns()[col].name(),
                        model.name(),
                        target_model.table()
                    ),
                )
            })?;
        if let Some(values) = referenced_values(&model, fk, target)? {
            let cols = model.foreign_keys()[fk].columns.clone();
            for (c, v) in cols.into_iter().zip(values) {
                self.store(c, v)?;
            }
            self.0.write().links.retain(|(f, _)| *f != fk);
            return Ok(());
        }
        let mut d = self.0.write();
        d.links.retain(|(f, _)| *f != fk);
        d.links.push((fk, target.clone()));
        if d.state == InstanceState::Persistent && !d.modified {
            self.mark_modified(&mut d);
        }
        Ok(())
    }
}

/// The values `target` gives foreign key `fk` of `model`, if all are known.
pub(crate) fn referenced_values(
    model: &Model,
    fk: usize,
    target: &Instance,
) -> Result<Option<Vec<Value>>> {
    let fk = &model.foreign_keys()[fk];
    let t = target.read();
    if !matches!(t.state, InstanceState::Persistent) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(fk.ref_columns.len());
    for rc in &fk.ref_columns {
        let i = t.model.column_index(rc.as_str())?;
        match &t.values[i] {
            Some(v) if !v.is_null() => out.push(v.clone()),
            _ => return Ok(None),
        }
    }
    Ok(Some(out))
}
