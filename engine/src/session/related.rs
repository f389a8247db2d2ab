//! Related instances held by an instance, and the synchronous calls that read
//! and change them: `set_related`, `add_related`, `remove_related`... Every
//! change keeps the mirror relationship (`back_populates`) in step in memory
//! and sets the foreign key (through [`Instance::set_reference`] when the
//! other instance has no key yet). Loading is the session's (`loading.rs`).

use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use super::instance::InstanceData;
use super::{Instance, InstanceState};
use crate::error::{Error, Result};
use crate::schema::{RelationshipDef, RelationshipKind};
use crate::value::Value;

/// A loaded relationship: the related instance of a `belongs_to` / `has_one`
/// (`None` when there is none), or the list of a collection.
#[derive(Debug, Clone)]
pub enum Related {
    /// A many-to-one or one-to-one.
    One(Option<Instance>),
    /// A one-to-many or many-to-many.
    Many(Vec<Instance>),
}

impl Related {
    /// The related instance (`None` for a collection or no instance).
    pub fn one(&self) -> Option<&Instance> {
        match self {
            Self::One(o) => o.as_ref(),
            Self::Many(_) => None,
        }
    }

    /// The instances: the list, or zero or one for a scalar.
    pub fn into_vec(self) -> Vec<Instance> {
        match self {
            Self::One(o) => o.into_iter().collect(),
            Self::Many(v) => v,
        }
    }

    fn empty(kind: RelationshipKind) -> Self {
        if kind.is_collection() {
            Self::Many(Vec::new())
        } else {
            Self::One(None)
        }
    }
}

/// What an instance holds for one relationship.
#[derive(Clone)]
pub(crate) enum Slot {
    /// Loaded (or set).
    Loaded(Related),
    /// Not loaded; instances added to the collection meanwhile.
    Unloaded(Vec<Instance>),
    /// Not loaded, and reading it is an error (`raise` loading).
    Raise,
    /// A many-to-one to a parent whose loaded collection holds this instance:
    /// weak, so that the pair is no reference cycle. Reads as not loaded once
    /// nothing else holds the parent.
    Back(Weak<RwLock<InstanceData>>),
}

impl Slot {
    pub(crate) fn back(parent: &Instance) -> Self {
        Self::Back(Arc::downgrade(&parent.0))
    }
}

/// A change to a many-to-many collection, written at the next flush.
#[derive(Clone)]
pub(crate) struct AssocOp {
    pub(crate) rel: Arc<RelationshipDef>,
    pub(crate) other: Instance,
    pub(crate) add: bool,
}

/// The slots of one instance, by relationship name: a short list (a model
/// has a few relationships) whose first slot is stored inline, cheaper to
/// fill for thousands of loaded instances than a hash map each.
#[derive(Default, Clone)]
pub(crate) struct Slots(smallvec::SmallVec<[(Arc<str>, Slot); 1]>);

impl Slots {
    pub(crate) fn get(&self, name: &str) -> Option<&Slot> {
        self.0.iter().find(|(n, _)| &**n == name).map(|(_, s)| s)
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Slot> {
        self.0
            .iter_mut()
            .find(|(n, _)| &**n == name)
            .map(|(_, s)| s)
    }

    /// Sets the slot of `name` (the name shared when the caller has it as an `Arc`).
    pub(crate) fn insert(&mut self, name: Arc<str>, slot: Slot) {
        match self.get_mut(&name) {
            Some(s) => *s = slot,
            None => self.0.push((name, slot)),
        }
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<Slot> {
        let i = self.0.iter().position(|(n, _)| &**n == name)?;
        Some(self.0.swap_remove(i).1)
    }
}

impl<'a> IntoIterator for &'a Slots {
    type Item = (&'a Arc<str>, &'a Slot);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Arc<str>, Slot)>,
        fn(&'a (Arc<str>, Slot)) -> (&'a Arc<str>, &'a Slot),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(n, s)| (n, s))
    }
}

/// The relationships of one instance.
#[derive(Default, Clone)]
pub(crate) struct Rels {
    pub(crate) slots: Slots,
    pub(crate) assoc: Vec<AssocOp>,
}

fn is_new(d: &InstanceData) -> bool {
    matches!(d.state, InstanceState::Transient | InstanceState::Pending)
}

/// Whether `name` is loaded in `d` (as [`loaded`], without copying it).
pub(crate) fn is_loaded(d: &InstanceData, name: &str) -> bool {
    match d.rels.slots.get(name) {
        Some(Slot::Loaded(_)) => true,
        Some(Slot::Back(w)) => w.strong_count() > 0,
        Some(Slot::Unloaded(_)) | None => is_new(d),
        Some(Slot::Raise) => false,
    }
}

/// The loaded value of `name` in `d` (a new instance's unset relationship is empty).
pub(crate) fn loaded(d: &InstanceData, name: &str, kind: RelationshipKind) -> Option<Related> {
    match d.rels.slots.get(name) {
        Some(Slot::Loaded(r)) => Some(r.clone()),
        Some(Slot::Back(w)) => w.upgrade().map(|p| Related::One(Some(Instance(p)))),
        Some(Slot::Unloaded(added)) if is_new(d) => Some(Related::Many(added.clone())),
        None if is_new(d) => Some(Related::empty(kind)),
        _ => None,
    }
}

/// Stores what a loader found, keeping instances added before the load.
pub(crate) fn put_loaded(inst: &Instance, name: impl Into<Arc<str>>, value: Related) {
    let name = name.into();
    let mut d = inst.write();
    let value = match (d.rels.slots.remove(&name), value) {
        (Some(Slot::Unloaded(added)), Related::Many(mut found)) => {
            for a in added {
                if !found.iter().any(|f| f.ptr_eq(&a)) {
                    found.push(a);
                }
            }
            Related::Many(found)
        }
        (_, v) => v,
    };
    d.rels.slots.insert(name, Slot::Loaded(value));
}

/// Adds `other` to `inst`'s relationship `name` in memory only (no key, no
/// mirror): when it is loaded, or `inst` is new.
fn mem_add(inst: &Instance, name: &str, kind: RelationshipKind, other: &Instance) -> bool {
    let mut d = inst.write();
    let current = loaded(&d, name, kind);
    let next = match current {
        Some(Related::Many(mut v)) => {
            if !v.iter().any(|i| i.ptr_eq(other)) {
                v.push(other.clone());
            }
            Related::Many(v)
        }
        Some(Related::One(_)) => Related::One(Some(other.clone())),
        None => return false,
    };
    d.rels.slots.insert(name.into(), Slot::Loaded(next));
    true
}

/// Removes `other` from `inst`'s relationship `name` in memory, if loaded.
pub(crate) fn mem_remove(inst: &Instance, name: &str, other: &Instance) {
    let mut d = inst.write();
    match d.rels.slots.get_mut(name) {
        Some(Slot::Loaded(Related::Many(v))) | Some(Slot::Unloaded(v)) => {
            v.retain(|i| !i.ptr_eq(other));
        }
        Some(Slot::Loaded(Related::One(o))) if o.as_ref().is_some_and(|i| i.ptr_eq(other)) => {
            *o = None;
        }
        Some(Slot::Back(w)) if w.as_ptr() == Arc::as_ptr(&other.0) => {
            d.rels
                .slots
                .insert(name.into(), Slot::Loaded(Related::One(None)));
        }
        _ => {}
    }
}

impl Instance {
    fn rel(&self, name: &str) -> Result<Arc<RelationshipDef>> {
        self.model().relationship(name)
    }

    /// A loaded relationship, read without I/O.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship; [`Error::InvalidState`]
    /// when it is not loaded (load it with `session.related(&inst, name)` or a
    /// loader option on the query).
    pub fn related(&self, name: &str) -> Result<Related> {
        let rel = self.rel(name)?;
        let d = self.read();
        if let Some(r) = loaded(&d, name, rel.kind) {
            return Ok(r);
        }
        let raise = matches!(d.rels.slots.get(name), Some(Slot::Raise));
        Err(Error::InvalidState(format!(
            "{} of {} is not loaded{}",
            rel.describe(),
            d.describe(),
            if raise {
                " (its loading strategy is raise)"
            } else {
                "; load it through the session or with a loader option"
            }
        )))
    }

    /// The related instance of a loaded `belongs_to` / `has_one` (see [`Instance::related`]).
    ///
    /// # Errors
    /// As [`Instance::related`]; [`Error::InvalidState`] for a collection.
    pub fn related_one(&self, name: &str) -> Result<Option<Instance>> {
        match self.related(name)? {
            Related::One(o) => Ok(o),
            Related::Many(_) => Err(Error::InvalidState(format!(
                "relationship `{name}` of model `{}` is a collection",
                self.model().name()
            ))),
        }
    }

    /// The instances of a loaded collection (see [`Instance::related`]).
    ///
    /// # Errors
    /// As [`Instance::related`]; [`Error::InvalidState`] for a scalar relationship.
    pub fn related_many(&self, name: &str) -> Result<Vec<Instance>> {
        match self.related(name)? {
            Related::Many(v) => Ok(v),
            Related::One(_) => Err(Error::InvalidState(format!(
                "relationship `{name}` of model `{}` is not a collection",
                self.model().name()
            ))),
        }
    }

    /// Whether the relationship is loaded (a new instance's always is).
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship.
    pub fn is_related_loaded(&self, name: &str) -> Result<bool> {
        let rel = self.rel(name)?;
        Ok(loaded(&self.read(), name, rel.kind).is_some())
    }

    /// Sets a `belongs_to` or `has_one` relationship (`None` clears it): the
    /// foreign key follows (now, or at the flush if the other instance has no
    /// key yet) and the mirror relationship is updated in memory.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship or a wrong target model;
    /// [`Error::InvalidState`] for a collection.
    pub fn set_related(&self, name: &str, target: Option<&Instance>) -> Result<()> {
        let rel = self.rel(name)?;
        if let Some(t) = target {
            check_target(&rel, t)?;
        }
        match rel.kind {
            RelationshipKind::BelongsTo => self.set_parent(&rel, target),
            RelationshipKind::HasOne => {
                let old = self.read_one(name);
                if let Some(o) = &old
                    && target.is_none_or(|t| !t.ptr_eq(o))
                {
                    detach_child(self, &rel, o)?;
                }
                {
                    let mut d = self.write();
                    d.rels
                        .slots
                        .insert(name.into(), Slot::Loaded(Related::One(target.cloned())));
                }
                if let Some(t) = target {
                    attach_child(self, &rel, t)?;
                }
                self.touch();
                Ok(())
            }
            _ => Err(Error::InvalidState(format!(
                "{} is a collection: use add_related / remove_related",
                rel.describe()
            ))),
        }
    }

    fn read_one(&self, name: &str) -> Option<Instance> {
        match self.read().rels.slots.get(name) {
            Some(Slot::Loaded(Related::One(o))) => o.clone(),
            Some(Slot::Back(w)) => w.upgrade().map(Instance),
            _ => None,
        }
    }

    /// `belongs_to`: the key, the slot, the mirror.
    fn set_parent(&self, rel: &RelationshipDef, target: Option<&Instance>) -> Result<()> {
        let old = self.read_one(rel.name.as_str());
        match target {
            Some(t) => {
                let col = rel.owner.columns()[rel.local[0]].name().as_str().to_owned();
                self.set_reference(&col, t)?;
            }
            None => self.clear_key(&rel.owner, &rel.local)?,
        }
        self.write().rels.slots.insert(
            rel.name.as_str().into(),
            Slot::Loaded(Related::One(target.cloned())),
        );
        if let Some(b) = &rel.back_populates {
            let back = rel.target.relationship(b)?;
            if let Some(o) = old
                && target.is_none_or(|t| !t.ptr_eq(&o))
            {
                mem_remove(&o, b, self);
            }
            if let Some(t) = target
                && mem_add(t, b, back.kind, self)
                && back.kind.is_collection()
            {
                // The parent holds this instance now: hold it weakly.
                self.write()
                    .rels
                    .slots
                    .insert(rel.name.as_str().into(), Slot::back(t));
            }
        }
        Ok(())
    }

    /// Sets the foreign key columns `cols` to NULL and forgets a pending link.
    pub(crate) fn clear_key(&self, model: &crate::schema::Model, cols: &[usize]) -> Result<()> {
        let fk = model.foreign_keys().iter().position(|f| f.columns == cols);
        for &c in cols {
            let unchanged = self.read().values[c].as_ref().is_some_and(Value::is_null);
            if !unchanged {
                self.store(c, Value::Null)?;
            }
        }
        if let Some(fk) = fk {
            self.write().links.retain(|(f, _)| *f != fk);
        }
        Ok(())
    }

    /// Adds an instance to a collection (`has_many`, `many_to_many`): its
    /// foreign key (or, for a many-to-many, an association row at the next
    /// flush) follows, and the mirror is updated in memory. Adding an
    /// instance already there does nothing.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship or a wrong target model;
    /// [`Error::InvalidState`] for a scalar relationship.
    pub fn add_related(&self, name: &str, item: &Instance) -> Result<()> {
        let rel = self.rel(name)?;
        check_target(&rel, item)?;
        if !rel.kind.is_collection() {
            return Err(Error::InvalidState(format!(
                "{} is not a collection: use set_related",
                rel.describe()
            )));
        }
        {
            let mut d = self.write();
            let present = match d.rels.slots.get(name) {
                Some(Slot::Loaded(Related::Many(v))) | Some(Slot::Unloaded(v)) => {
                    v.iter().any(|i| i.ptr_eq(item))
                }
                _ => false,
            };
            if present {
                return Ok(());
            }
            let new = is_new(&d);
            match d.rels.slots.get_mut(name) {
                Some(Slot::Loaded(Related::Many(v))) | Some(Slot::Unloaded(v)) => {
                    v.push(item.clone())
                }
                _ => {
                    let slot = if new {
                        Slot::Loaded(Related::Many(vec![item.clone()]))
                    } else {
                        Slot::Unloaded(vec![item.clone()])
                    };
                    d.rels.slots.insert(name.into(), slot);
                }
            }
            if rel.kind == RelationshipKind::ManyToMany {
                let before = d.rels.assoc.len();
                d.rels
                    .assoc
                    .retain(|op| !(op.rel.name == rel.name && op.other.ptr_eq(item) && !op.add));
                if d.rels.assoc.len() == before {
                    d.rels.assoc.push(AssocOp {
                        rel: rel.clone(),
                        other: item.clone(),
                        add: true,
                    });
                }
            }
        }
        if rel.kind == RelationshipKind::ManyToMany {
            if let Some(b) = &rel.back_populates {
                mem_add(item, b, RelationshipKind::ManyToMany, self);
            }
        } else {
            attach_child(self, &rel, item)?;
        }
        self.touch();
        Ok(())
    }

    /// Removes an instance from a collection: its foreign key is set to NULL
    /// (or, with the `delete-orphan` cascade, it is deleted at the next
    /// flush); for a many-to-many the association row is deleted.
    ///
    /// # Errors
    /// As [`Instance::add_related`].
    pub fn remove_related(&self, name: &str, item: &Instance) -> Result<()> {
        let rel = self.rel(name)?;
        check_target(&rel, item)?;
        if !rel.kind.is_collection() {
            return Err(Error::InvalidState(format!(
                "{} is not a collection: use set_related(.., None)",
                rel.describe()
            )));
        }
        mem_remove(self, name, item);
        if rel.kind == RelationshipKind::ManyToMany {
            {
                let mut d = self.write();
                let before = d.rels.assoc.len();
                d.rels
                    .assoc
                    .retain(|op| !(op.rel.name == rel.name && op.other.ptr_eq(item) && op.add));
                if d.rels.assoc.len() == before {
                    d.rels.assoc.push(AssocOp {
                        rel: rel.clone(),
                        other: item.clone(),
                        add: false,
                    });
                }
            }
            if let Some(b) = &rel.back_populates {
                mem_remove(item, b, self);
            }
        } else {
            detach_child(self, &rel, item)?;
        }
        self.touch();
        Ok(())
    }

    /// Removes every instance of a loaded collection (see [`Instance::remove_related`]).
    ///
    /// # Errors
    /// As [`Instance::related_many`].
    pub fn clear_related(&self, name: &str) -> Result<()> {
        for item in self.related_many(name)? {
            self.remove_related(name, &item)?;
        }
        Ok(())
    }

    /// Whether a loaded collection holds `item`.
    ///
    /// # Errors
    /// As [`Instance::related_many`].
    pub fn contains_related(&self, name: &str, item: &Instance) -> Result<bool> {
        Ok(self.related_many(name)?.iter().any(|i| i.ptr_eq(item)))
    }

    /// Tells the session that this persistent instance has relationship work
    /// for the next flush.
    fn touch(&self) {
        let mut d = self.write();
        if d.state == InstanceState::Persistent && !d.modified {
            self.mark_modified(&mut d);
        }
    }

    /// Every related instance currently held (loaded or added), with the relationship.
    pub(crate) fn held(&self) -> Vec<(Arc<str>, Instance)> {
        let d = self.read();
        let mut out = Vec::new();
        for (name, slot) in &d.rels.slots {
            match slot {
                Slot::Loaded(Related::One(Some(i))) => out.push((name.clone(), i.clone())),
                Slot::Back(w) => {
                    if let Some(p) = w.upgrade() {
                        out.push((name.clone(), Instance(p)));
                    }
                }
                Slot::Loaded(Related::Many(v)) | Slot::Unloaded(v) => {
                    out.extend(v.iter().map(|i| (name.clone(), i.clone())));
                }
                _ => {}
            }
        }
        out
    }
}

fn check_target(rel: &RelationshipDef, t: &Instance) -> Result<()> {
    let m = t.model();
    if m.is_a(&rel.target) {
        return Ok(());
    }
    Err(crate::schema::schema_error(
        rel.owner.name().as_str(),
        None,
        format!(
            "{} holds `{}` instances, not `{}`",
            rel.describe(),
            rel.target.name(),
            m.name()
        ),
    ))
}

/// `parent.rel` (has_many / has_one) takes `child`: its key, its mirror slot,
/// and its previous parent's collection.
fn attach_child(parent: &Instance, rel: &RelationshipDef, child: &Instance) -> Result<()> {
    let tracker = child
        .read()
        .attach
        .as_ref()
        .and_then(|a| a.tracker.upgrade());
    if let Some(t) = tracker {
        t.orphans.lock().retain(|(c, _)| !c.ptr_eq(child));
    }
    let col = rel.target.columns()[rel.remote[0]]
        .name()
        .as_str()
        .to_owned();
    child.set_reference(&col, parent)?;
    if let Some(b) = &rel.back_populates {
        let old = child.read_one(b);
        if let Some(o) = old
            && !o.ptr_eq(parent)
        {
            mem_remove(&o, rel.name.as_str(), child);
        }
        child
            .write()
            .rels
            .slots
            .insert(b.as_str().into(), Slot::back(parent));
    }
    Ok(())
}

/// `parent.rel` lets `child` go: an orphan to delete, or a NULL key.
fn detach_child(parent: &Instance, rel: &RelationshipDef, child: &Instance) -> Result<()> {
    if rel.cascade.delete_orphan {
        let tracker = parent
            .read()
            .attach
            .as_ref()
            .and_then(|a| a.tracker.upgrade());
        match tracker {
            Some(t) => t.orphans.lock().push((child.clone(), rel.remote.clone())),
            None => child.clear_key(&rel.target, &rel.remote)?,
        }
    } else {
        child.clear_key(&rel.target, &rel.remote)?;
    }
    if let Some(b) = &rel.back_populates {
        mem_remove(child, b, parent);
    }
    Ok(())
}
