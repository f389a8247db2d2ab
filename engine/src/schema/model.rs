//! [`Model`]: a table declared at run time, and [`ModelBuilder`], which validates it.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::error::Result;
use crate::ident::Ident;
use crate::query::{Expr, TableRef};

use super::column::{Column, ColumnDef};
use super::constraint::{CheckDef, ForeignKey, ForeignKeyDef, Index, IndexDef, UniqueDef};
use super::naming::constraint_name;
use super::schema_error;

pub(crate) struct ModelInner {
    pub(crate) name: Ident,
    pub(crate) table: Ident,
    pub(crate) columns: Vec<ColumnDef>,
    by_name: HashMap<Arc<str>, usize>,
    pub(crate) primary_key: Vec<usize>,
    pub(crate) primary_key_name: Ident,
    pub(crate) foreign_keys: Vec<ForeignKeyDef>,
    pub(crate) indexes: Vec<IndexDef>,
    pub(crate) uniques: Vec<UniqueDef>,
    pub(crate) checks: Vec<CheckDef>,
    /// Relationships as declared (resolved on first use, see `resolve.rs`).
    pub(crate) relationships: super::relationship::Declared,
    /// The registry the model belongs to (weak: the registry holds the model).
    pub(crate) metadata: std::sync::OnceLock<super::resolve::MetaRef>,
    /// Relationships resolved so far, by name.
    pub(crate) resolved: parking_lot::RwLock<HashMap<String, super::relationship::Resolved>>,
    /// Parent, discriminator, identity and subclasses (see `inheritance.rs`).
    pub(crate) inherit: super::inheritance::InheritState,
}

/// A model: a named table with ordered columns and constraints, declared at run
/// time. Cheap to clone (an `Arc` inside); two clones are the same model.
///
/// # Examples
///
/// ```
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::SqlType;
/// let user = Model::builder("User")
///     .table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("email", "text").not_null().unique())
///     .build()
///     .unwrap();
/// assert_eq!(user.columns().len(), 2);
/// let err = user.col("emial").unwrap_err();
/// assert_eq!(err.to_string(), "no column `emial` on model `User`");
/// ```
#[derive(Clone)]
pub struct Model(pub(crate) Arc<ModelInner>);

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Model({} -> {})", self.0.name, self.0.table)
    }
}

impl PartialEq for Model {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Model {}

impl Model {
    /// A new model with the same definition, in no registry yet: a model
    /// keeps the first registry it is added to, so one that moves to another
    /// registry (reflected models merged into a database's) is copied.
    pub(crate) fn unregistered_copy(&self) -> Model {
        let m = &self.0;
        Model(Arc::new(ModelInner {
            name: m.name.clone(),
            table: m.table.clone(),
            columns: m.columns.clone(),
            by_name: m.by_name.clone(),
            primary_key: m.primary_key.clone(),
            primary_key_name: m.primary_key_name.clone(),
            foreign_keys: m.foreign_keys.clone(),
            indexes: m.indexes.clone(),
            uniques: m.uniques.clone(),
            checks: m.checks.clone(),
            relationships: m.relationships.clone(),
            metadata: std::sync::OnceLock::new(),
            resolved: parking_lot::RwLock::default(),
            inherit: m.inherit.unregistered_copy(),
        }))
    }

    /// Starts declaring a model named `name` (its table defaults to the same name).
    pub fn builder(name: impl Into<String>) -> ModelBuilder {
        ModelBuilder {
            name: name.into(),
            table: None,
            columns: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            uniques: Vec::new(),
            checks: Vec::new(),
            relationships: Vec::new(),
            inherit: super::inheritance::InheritDecl::default(),
        }
    }

    /// The model's name.
    pub fn name(&self) -> &Ident {
        &self.0.name
    }

    /// The table's name.
    pub fn table(&self) -> &Ident {
        &self.0.table
    }

    /// The columns in declaration order.
    pub fn columns(&self) -> &[ColumnDef] {
        &self.0.columns
    }

    /// The error for an attribute `name` that is neither a column nor a
    /// relationship of the model: "no column or relationship `x` on model `M`"
    /// (what `inst.x` and `Model.x` give in the bindings).
    pub fn unknown_attribute(&self, name: &str) -> crate::Error {
        schema_error(
            self.0.name.as_str(),
            None,
            format!(
                "no column or relationship `{}` on model `{}`",
                printable(name),
                self.0.name
            ),
        )
    }

    /// The position of a column.
    ///
    /// # Errors
    /// [`Error::Schema`](crate::Error::Schema): "no column `x` on model `M`".
    pub fn column_index(&self, name: &str) -> Result<usize> {
        if let Some(&i) = self.0.by_name.get(name) {
            return Ok(i);
        }
        // Try the normalised form (full-width letters and the like).
        Ident::new(name)
            .ok()
            .and_then(|id| self.0.by_name.get(id.as_str()).copied())
            .ok_or_else(|| {
                schema_error(
                    self.0.name.as_str(),
                    Some(name),
                    format!("no column `{}` on model `{}`", printable(name), self.0.name),
                )
            })
    }

    /// A column by name.
    ///
    /// # Errors
    /// [`Error::Schema`](crate::Error::Schema) when the model has no such column.
    pub fn column(&self, name: &str) -> Result<&ColumnDef> {
        let i = self.column_index(name)?;
        Ok(&self.0.columns[i])
    }

    /// Positions of the primary key columns (empty when the model has none).
    pub fn primary_key(&self) -> &[usize] {
        &self.0.primary_key
    }

    /// The foreign keys.
    pub fn foreign_keys(&self) -> &[ForeignKeyDef] {
        &self.0.foreign_keys
    }

    /// The indexes (column-level `index` / table-level [`Index`]).
    pub fn indexes(&self) -> &[IndexDef] {
        &self.0.indexes
    }

    /// The UNIQUE constraints.
    pub fn uniques(&self) -> &[UniqueDef] {
        &self.0.uniques
    }

    /// The CHECK constraints.
    pub fn checks(&self) -> &[CheckDef] {
        &self.0.checks
    }

    /// The primary key constraint's name (`pk_<table>`).
    pub fn primary_key_name(&self) -> &Ident {
        &self.0.primary_key_name
    }

    /// The model's table, for FROM and JOIN.
    pub fn table_ref(&self) -> TableRef {
        TableRef::model(self.clone(), None)
    }

    /// The model's table under an alias (for self-joins).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`](crate::Error::InvalidIdentifier) for an invalid alias.
    pub fn alias(&self, alias: &str) -> Result<TableRef> {
        Ok(TableRef::model(self.clone(), Some(Ident::new(alias)?)))
    }

    /// A column as an expression, qualified by the table name.
    ///
    /// # Errors
    /// [`Error::Schema`](crate::Error::Schema) when the model has no such column.
    pub fn col(&self, name: &str) -> Result<Expr> {
        self.table_ref().col(name)
    }

    /// `pk1 = $1 AND pk2 = $2 ...` for the primary key values in key order
    /// (for a get, update or delete by key).
    ///
    /// # Errors
    /// [`Error::Schema`](crate::Error::Schema) when the model has no primary key
    /// or the number of values is not the key's width.
    pub fn pk_eq(&self, values: &[crate::Value]) -> Result<Expr> {
        let pk = self.primary_key();
        if pk.is_empty() || pk.len() != values.len() {
            return Err(schema_error(
                self.0.name.as_str(),
                None,
                format!(
                    "model `{}` has a primary key of {} column(s); {} value(s) given",
                    self.0.name,
                    pk.len(),
                    values.len()
                ),
            ));
        }
        let t = self.table_ref();
        let mut conds = Vec::with_capacity(pk.len());
        for (&i, v) in pk.iter().zip(values) {
            conds.push(t.col(self.0.columns[i].name.as_str())?.eq(v.clone()));
        }
        Ok(if conds.len() == 1 {
            conds.remove(0)
        } else {
            Expr::And(conds)
        })
    }

    /// Every column as an expression, in order.
    pub fn all_columns(&self) -> Vec<Expr> {
        self.table_ref().all_columns()
    }

    /// Whether both handles are the same model.
    pub fn ptr_eq(&self, other: &Model) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<&Model> for TableRef {
    fn from(m: &Model) -> Self {
        m.table_ref()
    }
}

impl From<Model> for TableRef {
    fn from(m: Model) -> Self {
        m.table_ref()
    }
}

pub(crate) fn printable(s: &str) -> String {
    let t: String = s.chars().take(80).collect();
    if t.chars()
        .all(|c| !c.is_control() && c != '`' && !c.is_whitespace())
    {
        t
    } else {
        format!("{t:?}")
    }
}

/// Declares a [`Model`]; [`ModelBuilder::build`] validates every name and reference.
#[derive(Debug, Clone)]
pub struct ModelBuilder {
    name: String,
    table: Option<String>,
    columns: Vec<Column>,
    foreign_keys: Vec<ForeignKey>,
    indexes: Vec<Index>,
    uniques: Vec<(Option<String>, Vec<String>)>,
    checks: Vec<(String, Expr)>,
    relationships: Vec<(String, super::Relationship)>,
    inherit: super::inheritance::InheritDecl,
}

impl ModelBuilder {
    /// Declares the model a subclass of `parent` (see [`super::InheritanceKind`]):
    /// single table when the model names no table of its own (or its
    /// parent's), joined table when it names another, concrete with
    /// [`ModelBuilder::concrete`]. Its columns are the parent's followed by its own.
    pub fn inherits(mut self, parent: &Model) -> Self {
        self.inherit.parent = Some(parent.clone());
        self
    }

    /// Concrete-table inheritance: the subclass's table holds every column.
    pub fn concrete(mut self) -> Self {
        self.inherit.concrete = true;
        self
    }

    /// The discriminator column of a hierarchy (declared on its root): the
    /// column whose value names each row's class.
    pub fn polymorphic_on(mut self, column: impl Into<String>) -> Self {
        self.inherit.polymorphic_on = Some(column.into());
        self
    }

    /// How a query of a base reads this joined-table subclass's own columns:
    /// joined in (the default) or by a second SELECT
    /// ([`super::PolymorphicLoad`]). A query can ask for the second SELECT
    /// for every subclass with [`crate::session::Load::selectin_polymorphic`].
    pub fn polymorphic_load(mut self, how: super::PolymorphicLoad) -> Self {
        self.inherit.load = how;
        self
    }

    /// Queries of this model (through a session, or the bindings' queries of
    /// a model) read the UNION ALL of its table and the tables of its
    /// concrete subclasses, and return each row as its class (SQLAlchemy's
    /// `polymorphic_union`; see [`Model::query_table`]). The hierarchy needs a
    /// discriminator ([`ModelBuilder::polymorphic_on`]).
    pub fn polymorphic_union(mut self) -> Self {
        self.inherit.union = true;
        self
    }

    /// This class's value of the discriminator column.
    pub fn polymorphic_identity(mut self, value: impl Into<crate::Value>) -> Self {
        self.inherit.identity = Some(value.into());
        self
    }

    /// Declares a relationship named `name` (see [`super::Relationship`]); its
    /// target is resolved by name through the model's [`super::Metadata`].
    pub fn relationship(mut self, name: impl Into<String>, rel: super::Relationship) -> Self {
        self.relationships.push((name.into(), rel));
        self
    }

    /// The table's name.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = Some(table.into());
        self
    }

    /// Adds a column (order is kept).
    pub fn column(mut self, column: Column) -> Self {
        self.columns.push(column);
        self
    }

    /// Adds columns.
    pub fn columns(mut self, columns: impl IntoIterator<Item = Column>) -> Self {
        self.columns.extend(columns);
        self
    }

    /// A multi-column UNIQUE constraint (named `uq_<table>_<columns>`).
    pub fn unique<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.uniques
            .push((None, columns.into_iter().map(Into::into).collect()));
        self
    }

    /// A named multi-column UNIQUE constraint.
    pub fn unique_named<S: Into<String>>(
        mut self,
        name: impl Into<String>,
        columns: impl IntoIterator<Item = S>,
    ) -> Self {
        self.uniques.push((
            Some(name.into()),
            columns.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// An index (possibly unique, possibly partial).
    pub fn index(mut self, index: Index) -> Self {
        self.indexes.push(index);
        self
    }

    /// A named CHECK constraint on the table (columns unqualified, [`Expr::col`]).
    pub fn check(mut self, name: impl Into<String>, expr: Expr) -> Self {
        self.checks.push((name.into(), expr));
        self
    }

    /// A (possibly composite) foreign key.
    pub fn foreign_key(mut self, fk: ForeignKey) -> Self {
        self.foreign_keys.push(fk);
        self
    }

    /// Validates the declaration and builds the model.
    ///
    /// Foreign keys to other tables are checked when the model is added to a
    /// [`Metadata`](super::Metadata); those to the model's own table here.
    ///
    /// # Errors
    /// [`Error::Schema`](crate::Error::Schema) naming the model and the column: an invalid name, an
    /// unknown type, a duplicate column, an unknown column in a constraint or
    /// expression, an identity on a non-integer column...
    pub fn build(self) -> Result<Model> {
        super::build::build(self)
    }
}

pub(crate) struct Parts {
    pub(crate) name: String,
    pub(crate) table: Option<String>,
    pub(crate) columns: Vec<Column>,
    pub(crate) foreign_keys: Vec<ForeignKey>,
    pub(crate) indexes: Vec<Index>,
    pub(crate) uniques: Vec<(Option<String>, Vec<String>)>,
    pub(crate) checks: Vec<(String, Expr)>,
    pub(crate) relationships: Vec<(String, super::Relationship)>,
    pub(crate) inherit: super::inheritance::InheritDecl,
}

impl From<ModelBuilder> for Parts {
    fn from(b: ModelBuilder) -> Self {
        Parts {
            name: b.name,
            table: b.table,
            columns: b.columns,
            foreign_keys: b.foreign_keys,
            indexes: b.indexes,
            uniques: b.uniques,
            checks: b.checks,
            relationships: b.relationships,
            inherit: b.inherit,
        }
    }
}

impl ModelInner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        name: Ident,
        table: Ident,
        columns: Vec<ColumnDef>,
        primary_key: Vec<usize>,
        foreign_keys: Vec<ForeignKeyDef>,
        indexes: Vec<IndexDef>,
        uniques: Vec<UniqueDef>,
        checks: Vec<CheckDef>,
    ) -> Result<Self> {
        let by_name = columns
            .iter()
            .enumerate()
            .map(|(i, c)| (Arc::from(c.name.as_str()), i))
            .collect();
        let primary_key_name = constraint_name("pk", &[table.as_str()])?;
        Ok(Self {
            name,
            table,
            columns,
            by_name,
            primary_key,
            primary_key_name,
            foreign_keys,
            indexes,
            uniques,
            checks,
            relationships: Vec::new(),
            metadata: std::sync::OnceLock::new(),
            resolved: parking_lot::RwLock::default(),
            inherit: super::inheritance::InheritState::default(),
        })
    }

    /// The position of a column by its exact or normalised name.
    pub(crate) fn column_position(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied().or_else(|| {
            Ident::new(name)
                .ok()
                .and_then(|id| self.by_name.get(id.as_str()).copied())
        })
    }
}
