//! Inheritance: a model declared as a subclass of another
//! ([`ModelBuilder::inherits`](super::ModelBuilder::inherits)), with the three
//! mappings SQLAlchemy offers.
//!
//! # Design
//!
//! - **Columns.** A subclass's columns are its parent's columns, in the
//!   parent's order, followed by its own. Position `i` of a parent's column is
//!   position `i` in every subclass, so a value read for the parent serves the
//!   subclass as it is, and validators, custom types and version columns
//!   declared on a parent's column apply to the subclasses (they look the
//!   column up along the lineage, [`Model::lineage`]).
//! - **Kinds** ([`InheritanceKind`]). *Single table*: the subclass declares no
//!   table of its own (or its parent's); its own columns live in the parent's
//!   table, must be nullable (other classes' rows leave them NULL) and cannot
//!   be part of the key. `create_all`, `drop_all` and the migrations'
//!   declared snapshot see one table per hierarchy, with every subclass's
//!   columns and constraints ([`Metadata::table_models`](super::Metadata::table_models)),
//!   so autogenerate sees no spurious change. A subclass's foreign keys
//!   start with its parent's (same columns, same positions): the flush order
//!   and relationships see them. *Joined table*: the subclass has a table of
//!   its own holding its own columns and a primary key named and typed as the
//!   parent's, which is also a foreign key to the parent's key (ON DELETE
//!   CASCADE). *Concrete table*: the subclass's table holds every column,
//!   inherited ones included; nothing is shared at the database level.
//! - **The discriminator.** The root of a hierarchy names a column with
//!   `polymorphic_on`; each class names its value with `polymorphic_identity`
//!   (coerced to the column's type when the model is built). A new instance
//!   gets its class's identity in that column, and so does a row inserted
//!   without a session that leaves the column out (the identity is the
//!   column's client-side default factory in each class). Every class that takes part in
//!   polymorphic loading needs an identity, and two classes of one hierarchy
//!   cannot share one (refused when the second is registered).
//! - **Identity map.** Instances are keyed by the root of their hierarchy (or
//!   the nearest concrete class) and their primary key: a `Manager` with id 1 is the `Employee` with id 1.
//!   `session.get(Manager, 1)` gives `None` when row 1 is an employee of
//!   another class.
//! - **Loading.** A query of a class whose hierarchy has a discriminator is
//!   polymorphic: each row becomes an instance of the class its discriminator
//!   names (a row whose identity no class declares is an error naming it).
//!   Single table: the query selects the subclasses' columns too, from the
//!   same table; a query of a subclass adds `discriminator IN (identities of
//!   the class and its subclasses)`. Joined: in a SELECT a joined class
//!   reads as one table, `(SELECT <its columns> FROM <root table> JOIN
//!   <each joined table> ON <keys>) AS <its table>` (`dialect/select.rs`),
//!   so a query of a subclass joins parent and child and needs no identity
//!   filter; a query of a base LEFT OUTER JOINs each joined subclass
//!   (`with_polymorphic`), or reads its own columns by a second SELECT by
//!   key ([`PolymorphicLoad::Selectin`], `Load::selectin_polymorphic`;
//!   `session::polymorphic`). Concrete: a class's rows are in its table
//!   only, with keys of their own ([`Model::identity_root`] keys the
//!   identity map); a query of the base reads the base's table
//!   (SQLAlchemy's default for concrete classes), or, for a base declared
//!   [`polymorphic_union`](super::ModelBuilder::polymorphic_union), the
//!   UNION ALL of its table and its concrete subclasses'
//!   ([`Model::query_table`], `schema/concrete.rs`). Relationship loaders
//!   read a polymorphic target as a query of it does (its table or union,
//!   its subclasses' columns).
//! - **Writes.** Single table: a subclass's row is its table's row; the unit
//!   of work needs nothing more. Joined ([`Model::table_parts`]): the parent's
//!   row is inserted first and its key (returned by the database when it
//!   makes it) copied to the child's; an update writes each table whose
//!   columns changed (the version check on the table holding the version
//!   column); a delete removes the child's row first. A one-table statement
//!   (`Insert`, `Update`, `Delete`) of a joined class is refused.
//! - **Events, validators.** A listener registered for a model hears its
//!   subclasses' instances too; a validator of a parent's column checks the
//!   subclasses' values.
//! - **Relationships.** A subclass has its parent's relationships (looked up
//!   along the lineage) besides its own; a relationship may target a base
//!   (polymorphic) or a subclass (filtered by its identity).
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::schema::{Column, InheritanceKind, Metadata, Model};
//!
//! let meta = Metadata::new();
//! let employee = meta.add(Model::builder("Employee").table("employees")
//!     .column(Column::new("id", "bigint").primary_key())
//!     .column(Column::new("name", "text"))
//!     .column(Column::new("kind", "text"))
//!     .polymorphic_on("kind")
//!     .polymorphic_identity("employee")
//!     .build()?)?;
//! let manager = meta.add(Model::builder("Manager")
//!     .inherits(&employee)
//!     .polymorphic_identity("manager")
//!     .column(Column::new("budget", "integer"))
//!     .build()?)?;
//! assert_eq!(manager.table(), employee.table());
//! assert_eq!(manager.inheritance_kind(), Some(InheritanceKind::Single));
//! assert_eq!(manager.columns().len(), 4);                 // id, name, kind, budget
//! assert!(manager.is_a(&employee) && !employee.is_a(&manager));
//! assert_eq!(meta.table_models().len(), 1);               // one table, four columns
//! assert_eq!(meta.table_models()[0].columns().len(), 4);
//! # Ok::<(), dbridge_engine::Error>(())
//! ```

use std::sync::{Arc, Weak};

use crate::error::Result;
use crate::value::Value;

use super::column::{Column, ColumnDef};
use super::model::{Model, ModelInner};
use super::schema_error;

/// How a subclass maps to tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InheritanceKind {
    /// One table for the hierarchy, rows told apart by a discriminator column.
    Single,
    /// A table per subclass holding its own columns, keyed by a foreign key
    /// to its parent's key.
    Joined,
    /// A table per class holding every column of the class.
    Concrete,
}

impl InheritanceKind {
    /// The kind's name as declarations spell it (`single`, `joined`, `concrete`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Single => "single",
            Self::Joined => "joined",
            Self::Concrete => "concrete",
        }
    }
}

/// How a query of a base reads a joined-table subclass's own columns
/// (SQLAlchemy's `polymorphic_load`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PolymorphicLoad {
    /// In the query of the base, by a LEFT OUTER JOIN of the subclass's
    /// table (`with_polymorphic`; the default).
    #[default]
    Inline,
    /// By a second SELECT of the subclass's columns for the rows of its
    /// class, `WHERE key IN (...)` (`selectin_polymorphic`).
    Selectin,
}

impl PolymorphicLoad {
    /// The name as declarations spell it (`inline`, `selectin`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Selectin => "selectin",
        }
    }
}

impl std::str::FromStr for PolymorphicLoad {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "inline" => Ok(Self::Inline),
            "selectin" => Ok(Self::Selectin),
            other => Err(crate::Error::InvalidState(format!(
                "unknown polymorphic_load `{other}` (expected `inline` or `selectin`)"
            ))),
        }
    }
}

/// What a subclass keeps of its declaration.
#[derive(Debug, Clone)]
pub(crate) struct Inherit {
    pub(crate) parent: Model,
    pub(crate) kind: InheritanceKind,
}

/// The inheritance parts of a declaration.
#[derive(Debug, Clone, Default)]
pub(crate) struct InheritDecl {
    pub(crate) parent: Option<Model>,
    pub(crate) concrete: bool,
    pub(crate) polymorphic_on: Option<String>,
    pub(crate) identity: Option<Value>,
    pub(crate) load: PolymorphicLoad,
    pub(crate) union: bool,
}

/// The state of a model that concerns inheritance.
#[derive(Debug, Default)]
pub(crate) struct InheritState {
    pub(crate) inherit: Option<Inherit>,
    /// The discriminator's position (set on the root; subclasses share it).
    pub(crate) polymorphic_on: Option<usize>,
    /// This class's discriminator value.
    pub(crate) identity: Option<Value>,
    /// How queries of a base read this class's own columns (joined table).
    pub(crate) load: PolymorphicLoad,
    /// Whether queries of this class read the UNION ALL of its table and its
    /// concrete subclasses' (`polymorphic_union`, see `concrete.rs`).
    pub(crate) union: bool,
    /// The position of the first foreign key declared by this model (those
    /// before are its parent's).
    pub(crate) own_fks_from: usize,
    /// The registered direct subclasses (weak: the registry holds them).
    pub(crate) children: parking_lot::RwLock<Vec<Weak<ModelInner>>>,
}

impl InheritState {
    /// The same declaration, with no registered subclass yet.
    pub(crate) fn unregistered_copy(&self) -> Self {
        Self {
            inherit: self.inherit.clone(),
            polymorphic_on: self.polymorphic_on,
            identity: self.identity.clone(),
            load: self.load,
            union: self.union,
            own_fks_from: self.own_fks_from,
            children: parking_lot::RwLock::default(),
        }
    }
}

/// A parent's columns as declarations for a subclass: the same names, types,
/// key, defaults and nullability, without the table constraints (those stay
/// the parent table's).
pub(crate) fn inherited_columns(parent: &Model) -> Vec<Column> {
    parent.columns().iter().map(column_of).collect()
}

fn column_of(c: &ColumnDef) -> Column {
    let mut col = Column::new(c.name().as_str(), c.sql_type().clone());
    col.primary_key = c.primary_key;
    col.nullable = Some(c.nullable);
    col.default = c.default.clone();
    col.default_factory = c.default_factory.clone();
    col.generated = c.generated.clone();
    col.identity = Some(c.identity);
    col.deferred = c.deferred;
    col.group = c.group.clone();
    col
}

/// The kind a declaration asks for: concrete when said, single when the
/// subclass has no table of its own, joined otherwise.
pub(crate) fn kind_of(parent: &Model, table: Option<&str>, concrete: bool) -> InheritanceKind {
    if concrete {
        InheritanceKind::Concrete
    } else if table.is_none_or(|t| t == parent.table().as_str()) {
        InheritanceKind::Single
    } else {
        InheritanceKind::Joined
    }
}

impl Model {
    /// The model this one inherits from, if any.
    pub fn parent(&self) -> Option<&Model> {
        self.0.inherit.inherit.as_ref().map(|i| &i.parent)
    }

    /// How this subclass maps to tables (`None` for a model that inherits nothing).
    pub fn inheritance_kind(&self) -> Option<InheritanceKind> {
        self.0.inherit.inherit.as_ref().map(|i| i.kind)
    }

    /// The root of the model's hierarchy (itself when it inherits nothing).
    pub fn root(&self) -> &Model {
        let mut m = self;
        while let Some(p) = m.parent() {
            m = p;
        }
        m
    }

    /// The model whose identity space this one shares: the root of its
    /// hierarchy, or the nearest concrete-table class on the way (a
    /// concrete class's rows live in a table of their own, so its keys may
    /// repeat its parent's).
    pub fn identity_root(&self) -> &Model {
        let mut m = self;
        while let Some(p) = m.parent() {
            if m.inheritance_kind() == Some(InheritanceKind::Concrete) {
                break;
            }
            m = p;
        }
        m
    }

    /// The model and its ancestors, nearest first.
    pub fn lineage(&self) -> impl Iterator<Item = &Model> {
        std::iter::successors(Some(self), |m| m.parent())
    }

    /// Whether this model is `other` or one of its subclasses.
    pub fn is_a(&self, other: &Model) -> bool {
        self.lineage().any(|m| m.ptr_eq(other))
    }

    /// The class's discriminator value (`polymorphic_identity`).
    pub fn polymorphic_identity(&self) -> Option<&Value> {
        self.0.inherit.identity.as_ref()
    }

    /// The position of the hierarchy's discriminator column (`polymorphic_on`).
    pub fn discriminator(&self) -> Option<usize> {
        self.root().0.inherit.polymorphic_on
    }

    /// The registered direct subclasses, in registration order.
    pub fn subclasses(&self) -> Vec<Model> {
        self.0
            .inherit
            .children
            .read()
            .iter()
            .filter_map(|w| w.upgrade().map(Model))
            .collect()
    }

    /// Every registered subclass, at any depth (depth first).
    pub fn descendants(&self) -> Vec<Model> {
        let mut out = Vec::new();
        for c in self.subclasses() {
            out.push(c.clone());
            out.extend(c.descendants());
        }
        out
    }

    /// Whether queries of this model load instances of its subclasses: its
    /// hierarchy has a discriminator.
    pub fn is_polymorphic(&self) -> bool {
        self.discriminator().is_some()
    }

    /// The class among this model and its subclasses whose identity is
    /// `value` (`None` when none declares it).
    pub fn class_for(&self, value: &Value) -> Option<Model> {
        let same = |m: &Model| m.polymorphic_identity().is_some_and(|v| v.same_as(value));
        if same(self) {
            return Some(self.clone());
        }
        self.descendants().into_iter().find(same)
    }

    /// The position of this model's first own column (its parent's column
    /// count; 0 for a model that inherits nothing).
    pub fn own_columns_from(&self) -> usize {
        self.parent().map_or(0, |p| p.columns().len())
    }

    /// The identities of this class and its subclasses (what a query of a
    /// single-table subclass filters on).
    pub fn identities(&self) -> Vec<Value> {
        std::iter::once(self.clone())
            .chain(self.descendants())
            .filter_map(|m| m.polymorphic_identity().cloned())
            .collect()
    }

    /// The model whose table this one maps: the nearest ancestor (or
    /// itself) that is no single-table subclass.
    pub fn table_owner(&self) -> &Model {
        let mut m = self;
        while m.shares_parent_table() {
            match m.parent() {
                Some(p) => m = p,
                None => break,
            }
        }
        m
    }

    /// `discriminator IN (identities of the class and its subclasses)` for
    /// a query of a single-table subclass (whose table holds other classes'
    /// rows); `None` for other models. Every query of a model adds it where
    /// it is made ([`crate::session::Session::query`], the bindings' queries).
    ///
    /// # Errors
    /// None in practice (the discriminator is a column of the model).
    pub fn identity_filter(&self) -> Result<Option<crate::query::Expr>> {
        let Some(d) = self.discriminator() else {
            return Ok(None);
        };
        if !self.shares_parent_table() {
            return Ok(None);
        }
        let col = self.col(self.columns()[d].name().as_str())?;
        let mut ids = self.identities();
        Ok(Some(if ids.len() == 1 {
            col.eq(ids.remove(0))
        } else {
            col.in_list(ids)
        }))
    }

    /// How queries of a base read this class's own columns.
    pub fn polymorphic_load(&self) -> PolymorphicLoad {
        self.0.inherit.load
    }

    /// Whether queries of a base read this joined-table class's own
    /// columns by a second SELECT ([`PolymorphicLoad::Selectin`]).
    pub fn loads_by_selectin(&self) -> bool {
        self.polymorphic_load() == PolymorphicLoad::Selectin
    }

    /// Whether the model shares its table with its parent (single table).
    pub fn shares_parent_table(&self) -> bool {
        self.inheritance_kind() == Some(InheritanceKind::Single)
    }
}

/// Checks a subclass's declaration once built, and records the discriminator
/// and identity on `inner`.
pub(crate) fn settle(inner: &mut ModelInner, decl: InheritDecl) -> Result<()> {
    let name = inner.name.as_str().to_owned();
    let err = |msg: String| schema_error(&name, None, msg);
    if let Some(p) = &decl.parent {
        if decl.polymorphic_on.is_some() {
            return Err(err(format!(
                "model `{name}` inherits from `{}`: `polymorphic_on` belongs to the root of the hierarchy (`{}`)",
                p.name(),
                p.root().name()
            )));
        }
        let kind = kind_of(p, Some(inner.table.as_str()), decl.concrete);
        check_own_columns(inner, p, kind)?;
        inner.inherit.inherit = Some(Inherit {
            parent: p.clone(),
            kind,
        });
    } else if decl.concrete {
        return Err(err(format!(
            "model `{name}` is declared concrete but inherits from no model"
        )));
    }
    let disc = match (&decl.polymorphic_on, &decl.parent) {
        (Some(col), _) => Some(inner.column_position(col).ok_or_else(|| {
            schema_error(
                &name,
                Some(col),
                format!("`polymorphic_on` names no column `{col}` on model `{name}`"),
            )
        })?),
        (None, Some(p)) => p.discriminator(),
        (None, None) => None,
    };
    inner.inherit.polymorphic_on = decl.polymorphic_on.as_ref().and(disc);
    inner.inherit.load = decl.load;
    if decl.union && disc.is_none() {
        return Err(err(format!(
            "model `{name}` is declared polymorphic over its concrete subclasses (a UNION ALL of their \
             tables) but its hierarchy has no `polymorphic_on` column to tell their rows apart"
        )));
    }
    inner.inherit.union = decl.union;
    if let Some(v) = decl.identity {
        let Some(d) = disc else {
            return Err(err(format!(
                "model `{name}` has a polymorphic_identity but its hierarchy has no `polymorphic_on` column"
            )));
        };
        let c = &inner.columns[d];
        let v = v.coerce(c.sql_type(), "").map_err(|e| {
            err(format!(
                "the polymorphic_identity of model `{name}` does not fit column `{}`: {e}",
                c.name()
            ))
        })?;
        // Inserts that leave the discriminator out write the class's identity.
        let c = &mut inner.columns[d];
        if decl.parent.is_some() || c.default_factory.is_none() {
            let id = v.clone();
            c.default_factory = Some(Arc::new(move || id.clone()));
        }
        inner.inherit.identity = Some(v);
    } else if disc.is_some() && decl.parent.is_some() {
        return Err(err(format!(
            "model `{name}` inherits from a polymorphic hierarchy: it needs a `polymorphic_identity`"
        )));
    }
    Ok(())
}

/// The own columns of a single-table subclass are nullable and outside the key.
fn check_own_columns(inner: &ModelInner, parent: &Model, kind: InheritanceKind) -> Result<()> {
    if kind != InheritanceKind::Single {
        return Ok(());
    }
    for c in &inner.columns[parent.columns().len()..] {
        if c.primary_key || !c.nullable {
            return Err(schema_error(
                inner.name.as_str(),
                Some(c.name().as_str()),
                format!(
                    "column `{}` of single-table subclass `{}` must be nullable and outside the primary key \
                     (rows of the other classes of table `{}` leave it NULL)",
                    c.name(),
                    inner.name,
                    inner.table
                ),
            ));
        }
    }
    Ok(())
}

/// Records newly registered subclasses with their parents, after checking
/// that no two classes of a hierarchy share an identity.
pub(crate) fn register_children(new: &[Model]) -> Result<()> {
    for m in new {
        let (Some(p), Some(id)) = (m.parent(), m.polymorphic_identity()) else {
            continue;
        };
        let root = p.root();
        let taken = std::iter::once(root.clone())
            .chain(root.descendants())
            .chain(
                new.iter()
                    .filter(|o| !o.ptr_eq(m) && o.root().ptr_eq(root))
                    .cloned(),
            )
            .find(|o| !o.ptr_eq(m) && o.polymorphic_identity().is_some_and(|v| v.same_as(id)));
        if let Some(o) = taken {
            return Err(schema_error(
                m.name().as_str(),
                None,
                format!(
                    "models `{}` and `{}` both have the polymorphic_identity {id}",
                    o.name(),
                    m.name()
                ),
            ));
        }
    }
    for m in new {
        if let Some(p) = m.parent() {
            p.0.inherit.children.write().push(Arc::downgrade(&m.0));
        }
    }
    Ok(())
}

/// The subclasses sharing `owner`'s table (single table, at any depth).
fn table_sharers(owner: &Model) -> Vec<Model> {
    owner.table_sharers()
}

impl Model {
    /// The subclasses whose rows and own columns are in this model's table
    /// (single-table subclasses at any depth below it, not below another
    /// kind of subclass).
    pub(crate) fn table_sharers(&self) -> Vec<Model> {
        let mut out = Vec::new();
        for c in self.subclasses() {
            if c.shares_parent_table() {
                out.push(c.clone());
                out.extend(c.table_sharers());
            }
        }
        out
    }
}

/// Whether the model owns its table (it is no single-table subclass).
pub(crate) fn owns_table(m: &Model) -> bool {
    !m.shares_parent_table()
}

/// The table of `owner` as a model: its columns and constraints followed by
/// those of the subclasses sharing its table (`owner` itself when none does).
pub(crate) fn table_model(owner: &Model) -> Result<Model> {
    let sharers = table_sharers(owner);
    let joined = owner.inheritance_kind() == Some(InheritanceKind::Joined);
    if sharers.is_empty() && !joined {
        return Ok(owner.clone());
    }
    let mut columns: Vec<ColumnDef> = Vec::new();
    let mut fks = Vec::new();
    let mut indexes = Vec::new();
    let mut uniques = Vec::new();
    let mut checks = Vec::new();
    let primary_key;
    let mut members = sharers;
    if joined {
        primary_key = (0..owner.primary_key().len()).collect();
        fks.push(joined_key_fk(owner)?);
        members.insert(0, owner.clone());
    } else {
        columns = owner.columns().to_vec();
        fks = owner.foreign_keys().to_vec();
        indexes = owner.indexes().to_vec();
        uniques = owner.uniques().to_vec();
        checks = owner.checks().to_vec();
        primary_key = owner.primary_key().to_vec();
    }
    for s in &members {
        if joined && s.ptr_eq(owner) {
            // The key first, as the parent's, but never generated here:
            // the parent's row gives it.
            for &k in owner.primary_key() {
                let mut c = owner.columns()[k].clone();
                c.identity = None;
                c.default = None;
                c.default_factory = None;
                c.generated = None;
                columns.push(c);
            }
        }
        for c in &s.columns()[s.own_columns_from()..] {
            if !columns.iter().any(|x| x.name == c.name) {
                columns.push(c.clone());
            }
        }
        let at = |i: usize| {
            let name = &s.columns()[i].name;
            columns.iter().position(|x| &x.name == name).unwrap_or(i)
        };
        let here = |i: usize| columns.iter().any(|x| x.name == s.columns()[i].name);
        let remap = |cols: &[usize]| cols.iter().map(|&i| at(i)).collect::<Vec<_>>();
        for fk in &s.foreign_keys()[s.0.inherit.own_fks_from..] {
            let mut fk = fk.clone();
            fk.columns = remap(&fk.columns);
            fks.push(fk);
        }
        for ix in s.indexes() {
            if ix.columns.iter().all(|&i| here(i)) {
                let mut ix = ix.clone();
                ix.columns = remap(&ix.columns);
                indexes.push(ix);
            }
        }
        for u in s.uniques() {
            if u.columns.iter().all(|&i| here(i)) {
                let mut u = u.clone();
                u.columns = remap(&u.columns);
                uniques.push(u);
            }
        }
        checks.extend(s.checks().iter().cloned());
    }
    let inner = ModelInner::new(
        owner.name().clone(),
        owner.table().clone(),
        columns,
        primary_key,
        fks,
        indexes,
        uniques,
        checks,
    )?;
    Ok(Model(Arc::new(inner)))
}

/// The foreign key of a joined-table subclass's key to its parent's table
/// (ON DELETE CASCADE), in the subclass's table.
fn joined_key_fk(owner: &Model) -> Result<super::ForeignKeyDef> {
    let parent = owner.parent().map_or(owner, |p| p.table_owner());
    let names: Vec<&str> = owner
        .primary_key()
        .iter()
        .map(|&k| owner.columns()[k].name().as_str())
        .collect();
    let mut parts = vec![owner.table().as_str()];
    parts.extend(names.iter().copied());
    parts.push(parent.table().as_str());
    Ok(super::ForeignKeyDef {
        name: super::constraint_name("fk", &parts)?,
        columns: (0..names.len()).collect(),
        table: parent.table().clone(),
        ref_columns: owner
            .primary_key()
            .iter()
            .map(|&k| owner.columns()[k].name().clone())
            .collect(),
        on_delete: super::ReferentialAction::Cascade,
        on_update: super::ReferentialAction::NoAction,
    })
}

/// One table of a class whose columns span several tables (joined table):
/// the table as a model, and the positions of the class's columns it holds
/// (the key in every part).
#[derive(Debug, Clone)]
pub struct TablePart {
    /// The table, as the model `create_all` creates.
    pub table: Model,
    /// The class's column positions stored in this table, in table order.
    pub columns: Vec<usize>,
}

impl Model {
    /// Whether the class's columns span several tables: it is a joined-table
    /// subclass, or a single-table subclass of one.
    pub fn is_joined(&self) -> bool {
        self.table_owner().inheritance_kind() == Some(InheritanceKind::Joined)
    }

    /// The tables of a class, the root's first and the class's own last:
    /// one part for a model that is no joined-table subclass.
    ///
    /// # Errors
    /// None in practice (the tables were checked when the models were built).
    pub fn table_parts(&self) -> Result<Vec<TablePart>> {
        let mut owners = Vec::new();
        let mut o = self.table_owner();
        loop {
            owners.push(o);
            match o.parent() {
                Some(p) if o.inheritance_kind() == Some(InheritanceKind::Joined) => {
                    o = p.table_owner();
                }
                _ => break,
            }
        }
        owners.reverse();
        let mut taken = vec![false; self.columns().len()];
        let mut parts = Vec::with_capacity(owners.len());
        for o in owners {
            let table = table_model(o)?;
            let mut cols = Vec::new();
            for c in table.columns() {
                if let Some(i) = self.0.column_position(c.name().as_str())
                    && (!taken[i] || c.is_primary_key())
                {
                    taken[i] = true;
                    cols.push(i);
                }
            }
            parts.push(TablePart {
                table,
                columns: cols,
            });
        }
        Ok(parts)
    }
}
