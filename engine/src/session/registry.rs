//! [`Registry`]: what an application declares about its models beyond their
//! tables: event listeners, validators and custom types, version columns.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::error::Result;
use crate::events::{Event, EventKind, Events, ListenerId, Target};
use crate::schema::{Model, schema_error};
use crate::validate::{CustomType, Validators};
use crate::value::Value;

#[derive(Default)]
struct Inner {
    events: Events,
    validators: Validators,
    versions: RwLock<HashMap<String, usize>>,
    properties: RwLock<HashMap<String, Vec<ColumnProperty>>>,
}

/// A column property: a SQL expression loaded with a model's rows (say a
/// correlated count of posts), read-only on its instances.
#[derive(Debug, Clone)]
pub struct ColumnProperty {
    /// The attribute name.
    pub name: String,
    /// The expression (may refer to the model's columns: a correlated subquery).
    pub expr: crate::query::Expr,
    /// Left out of queries and loaded when first read, as a deferred column.
    pub deferred: bool,
}

/// Listeners, validators, custom types and version columns, shared by the
/// sessions (and instances) created with it. Cheap to clone: clones share it.
///
/// # Examples
///
/// ```
/// use dbridge_engine::events::EventKind;
/// use dbridge_engine::schema::{Column, Model};
/// use dbridge_engine::session::Registry;
/// let user = Model::builder("User")
///     .column(Column::new("id", "bigint").primary_key())
///     .column(Column::new("email", "text"))
///     .column(Column::new("version", "integer").not_null())
///     .build()?;
/// let registry = Registry::new();
/// registry.version_column(&user, "version")?;
/// registry.validate(&user, "email", "has an at", |v| match v.as_str() {
///     Some(s) if !s.contains('@') => Err("must contain @".into()),
///     _ => Ok(()),
/// })?;
/// registry.on(&user, EventKind::BeforeInsert, |_ev| Ok(()));
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("events", &self.inner.events)
            .field("validators", &self.inner.validators)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// The event listeners.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// The validators and custom types.
    pub fn validators(&self) -> &Validators {
        &self.inner.validators
    }

    /// Adds a listener (see [`Events::on`]).
    pub fn on(
        &self,
        target: impl Into<Target>,
        kind: EventKind,
        f: impl Fn(&Event<'_>) -> Result<()> + Send + Sync + 'static,
    ) -> ListenerId {
        self.inner.events.on(target, kind, f)
    }

    /// Adds a validator to a column (see [`Validators::add`]).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when the model has no such column.
    pub fn validate(
        &self,
        model: &Model,
        column: &str,
        name: impl Into<String>,
        f: impl Fn(&Value) -> std::result::Result<(), String> + Send + Sync + 'static,
    ) -> Result<()> {
        self.inner.validators.add(model, column, name, f)
    }

    /// Makes a column a custom type (see [`CustomType`]).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when the model has no such column.
    pub fn custom_type(&self, model: &Model, column: &str, ty: CustomType) -> Result<()> {
        self.inner.validators.custom_type(model, column, ty)
    }

    /// Declares an integer column as the model's version counter: inserts
    /// start it at 1, every UPDATE increments it and, like every DELETE,
    /// requires the version last read; a statement that matches no row
    /// raises [`crate::Error::StaleData`].
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when the column does not exist or is not an integer.
    pub fn version_column(&self, model: &Model, column: &str) -> Result<()> {
        let i = model.column_index(column)?;
        let c = &model.columns()[i];
        if !c.sql_type().is_integer() || c.is_primary_key() {
            return Err(schema_error(
                model.name().as_str(),
                Some(column),
                format!(
                    "version column `{}` of model `{}` must be an integer column outside the primary key",
                    c.name(),
                    model.name()
                ),
            ));
        }
        self.inner
            .versions
            .write()
            .insert(model.name().as_str().to_owned(), i);
        Ok(())
    }

    /// Declares a column property of `model`: `expr`, loaded with its rows
    /// as the read-only attribute `name` (or, `deferred`, when first read
    /// through a session). A later declaration of the same name replaces it.
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when `name` is a column or a relationship of
    /// the model; [`crate::Error::InvalidIdentifier`] for a bad name.
    pub fn column_property(
        &self,
        model: &Model,
        name: &str,
        expr: crate::query::Expr,
        deferred: bool,
    ) -> Result<()> {
        crate::ident::Ident::new(name)?;
        if model.column_index(name).is_ok() || model.relationship_names().iter().any(|r| r == name)
        {
            return Err(schema_error(
                model.name().as_str(),
                Some(name),
                format!(
                    "column property `{name}` of model `{}` has the name of a column or relationship",
                    model.name()
                ),
            ));
        }
        let mut all = self.inner.properties.write();
        let list = all.entry(model.name().as_str().to_owned()).or_default();
        list.retain(|p| p.name != name);
        list.push(ColumnProperty {
            name: name.to_owned(),
            expr,
            deferred,
        });
        Ok(())
    }

    /// The column properties of a model, in declaration order.
    pub fn properties_of(&self, model: &Model) -> Vec<ColumnProperty> {
        let all = self.inner.properties.read();
        all.get(model.name().as_str()).cloned().unwrap_or_default()
    }

    /// The version column of a model, if it has one.
    pub(crate) fn version_of(&self, model: &Model) -> Option<usize> {
        let v = self.inner.versions.read();
        if v.is_empty() {
            return None;
        }
        model
            .lineage()
            .find_map(|m| v.get(m.name().as_str()).copied())
    }
}
