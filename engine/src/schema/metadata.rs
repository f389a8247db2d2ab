//! [`Metadata`]: the registry of models, checked as a whole, created and dropped
//! in foreign-key order.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::db::{Database, Statement};
use crate::dialect::ddl;
use crate::error::{Backend, Result};
use crate::value::{SqlType, Value};

use super::constraint::ForeignKeyDef;
use super::model::Model;
use super::schema_error;

/// The models of one application, by name and by table. Cheap to clone: clones
/// share the registry.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> dbridge_engine::Result<()> {
/// use dbridge_engine::schema::{Column, Metadata, Model, ReferentialAction};
/// use dbridge_engine::{Database, SqlType};
///
/// let meta = Metadata::new();
/// meta.add(Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .build()?)?;
/// meta.add(Model::builder("Post").table("posts")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .column(Column::new("author_id", SqlType::Int8).references("users", "id")
///         .on_delete(ReferentialAction::Cascade))
///     .build()?)?;
///
/// let db = Database::connect("sqlite::memory:").await?;
/// meta.create_all(&db).await?;
/// meta.create_all(&db).await?; // IF NOT EXISTS: runs again harmlessly
/// meta.drop_all(&db).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Metadata {
    pub(super) inner: Arc<RwLock<Vec<Model>>>,
    /// Models waiting for a model of a table their foreign keys reference
    /// (see [`Metadata::add_or_defer`]).
    pub(super) waiting: Arc<parking_lot::Mutex<Vec<Model>>>,
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.inner.read().iter()).finish()
    }
}

impl Metadata {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a model and returns it.
    ///
    /// # Errors
    /// [`crate::Error::Schema`] when a model of that name or table exists, or a
    /// foreign key references an unknown table or column, or columns that are
    /// neither its primary key nor unique. Models that reference each other are
    /// added together with [`Metadata::add_all`].
    pub fn add(&self, model: Model) -> Result<Model> {
        self.add_all([model.clone()])?;
        Ok(model)
    }

    /// Registers several models at once (their foreign keys may reference each other).
    ///
    /// # Errors
    /// As [`Metadata::add`]; nothing is registered on error.
    pub fn add_all(&self, models: impl IntoIterator<Item = Model>) -> Result<()> {
        let new: Vec<Model> = models.into_iter().collect();
        let mut guard = self.inner.write();
        let mut all: Vec<Model> = guard.clone();
        for m in &new {
            duplicate(&all, m)?;
            all.push(m.clone());
        }
        let mut new = new;
        let assoc = super::resolve::association_models(&all)?;
        all.extend(assoc.iter().cloned());
        new.extend(assoc);
        let by_table: HashMap<&str, &Model> = all.iter().map(|m| (m.table().as_str(), m)).collect();
        for m in &new {
            for fk in m.foreign_keys() {
                let Some(target) = by_table.get(fk.table.as_str()) else {
                    let col = fk.columns.first().map(|&i| m.columns()[i].name().as_str());
                    return Err(schema_error(
                        m.name().as_str(),
                        col,
                        format!(
                            "foreign key `{}` on model `{}` references unknown table `{}`",
                            fk.name,
                            m.name(),
                            fk.table
                        ),
                    ));
                };
                check_fk_target(m, fk, target)?;
            }
        }
        super::inheritance::register_children(&new)?;
        for m in &new {
            // A model registered twice keeps its first registry.
            let _ = m.0.metadata.set(Arc::downgrade(&self.inner));
        }
        *guard = all;
        Ok(())
    }

    /// The model named `name`.
    pub fn get(&self, name: &str) -> Option<Model> {
        self.inner
            .read()
            .iter()
            .find(|m| m.name().as_str() == name)
            .cloned()
    }

    /// The model of table `table`.
    pub fn by_table(&self, table: &str) -> Option<Model> {
        self.inner
            .read()
            .iter()
            .find(|m| m.table().as_str() == table)
            .cloned()
    }

    /// Every registered model, in registration order (not those still
    /// waiting, see [`Metadata::pending`]).
    pub fn models(&self) -> Vec<Model> {
        self.inner.read().clone()
    }

    /// Every model with referenced tables before referencing ones; the second
    /// list holds the foreign keys that close a cycle (added after the tables).
    /// Subclasses that share their parent's table are left out: see
    /// [`Metadata::table_models`].
    pub fn sorted(&self) -> (Vec<Model>, Vec<(Model, ForeignKeyDef)>) {
        sort(&self.table_models())
    }

    /// One model per table, in registration order: a model that shares its
    /// table with subclasses (single-table inheritance) comes with their
    /// columns and constraints, as the table holds them; the subclasses
    /// themselves are left out.
    pub fn table_models(&self) -> Vec<Model> {
        self.models()
            .iter()
            .filter(|m| super::inheritance::owns_table(m))
            .map(|m| super::inheritance::table_model(m).unwrap_or_else(|_| m.clone()))
            .collect()
    }

    /// The statements `create_all` runs on `backend`, in order: tables (with
    /// their constraints) and indexes, then, on PostgreSQL, the foreign keys that
    /// close a cycle as `ALTER TABLE .. ADD CONSTRAINT` (`create_all` skips those
    /// that exist). Enum types on PostgreSQL are created by `create_all` when missing.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] for what the backend cannot declare;
    /// [`crate::Error::Configuration`] while a model waits (see
    /// [`Metadata::check_complete`]).
    pub fn create_statements(&self, backend: Backend) -> Result<Vec<Statement>> {
        let (tables, deferred) = self.create_parts(backend)?;
        let mut out = tables;
        out.extend(deferred.into_iter().map(|(_, _, s)| s));
        Ok(out)
    }

    #[allow(clippy::type_complexity)]
    fn create_parts(
        &self,
        backend: Backend,
    ) -> Result<(Vec<Statement>, Vec<(Model, ForeignKeyDef, Statement)>)> {
        self.check_complete()?;
        let (models, mut deferred) = self.sorted();
        if backend == Backend::Sqlite {
            // SQLite checks foreign keys only when rows change: declare them inline.
            deferred.clear();
        }
        let mut tables = Vec::new();
        for m in &models {
            let skip: Vec<&ForeignKeyDef> = deferred
                .iter()
                .filter(|(d, _)| d == m)
                .map(|(_, fk)| fk)
                .collect();
            tables.extend(ddl::create_table(m, backend, &skip)?);
        }
        let alters = deferred
            .into_iter()
            .map(|(m, fk)| {
                let s = ddl::add_foreign_key(&m, &fk, backend)?;
                Ok((m, fk, s))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((tables, alters))
    }

    /// The statements `drop_all` runs on `backend`, in order.
    ///
    /// # Errors
    /// None today; kept fallible for dialects to come.
    pub fn drop_statements(&self, backend: Backend) -> Result<Vec<Statement>> {
        let (mut models, deferred) = self.sorted();
        models.reverse();
        ddl::drop_tables(&models, backend, !deferred.is_empty())
    }

    /// Creates every table, index and (PostgreSQL) enum type that does not exist.
    ///
    /// # Errors
    /// Database errors; [`crate::Error::Unsupported`] for declarations the backend
    /// lacks; [`crate::Error::Configuration`] while a model waits for the model of
    /// a table it references (see [`Metadata::add_or_defer`]).
    pub async fn create_all(&self, db: &Database) -> Result<()> {
        let backend = db.backend();
        let (stmts, alters) = self.create_parts(backend)?;
        let mut tx = db.begin().await?;
        if backend == Backend::Postgres {
            for e in self.enum_types() {
                let exists = tx
                    .fetch_optional(
                        "SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
                         WHERE t.typname = $1 AND n.nspname = current_schema()",
                        &[Value::from(e.name.as_str())],
                    )
                    .await?;
                if exists.is_none() {
                    tx.execute_statement(&ddl::create_enum(&e)?).await?;
                }
            }
        }
        for s in &stmts {
            tx.execute_statement(s).await?;
        }
        for (m, fk, s) in &alters {
            let exists = tx
                .fetch_optional(
                    "SELECT 1 FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
                     JOIN pg_namespace n ON n.oid = t.relnamespace \
                     WHERE c.conname = $1 AND t.relname = $2 AND n.nspname = current_schema()",
                    &[
                        Value::from(fk.name.as_str()),
                        Value::from(m.table().as_str()),
                    ],
                )
                .await?;
            if exists.is_none() {
                tx.execute_statement(s).await?;
            }
        }
        tx.commit().await
    }

    /// Drops every table (and, on PostgreSQL, enum type) that exists.
    ///
    /// # Errors
    /// Database errors.
    pub async fn drop_all(&self, db: &Database) -> Result<()> {
        let backend = db.backend();
        let stmts = self.drop_statements(backend)?;
        let mut tx = db.begin().await?;
        for s in &stmts {
            tx.execute_statement(s).await?;
        }
        if backend == Backend::Postgres {
            for e in self.enum_types() {
                tx.execute_statement(&ddl::drop_enum(&e)?).await?;
            }
        }
        tx.commit().await
    }

    fn enum_types(&self) -> Vec<Arc<crate::value::EnumType>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for m in self.models() {
            for c in m.columns() {
                let ty = c.sql_type().element().unwrap_or(c.sql_type());
                if let SqlType::Enum(e) = ty
                    && seen.insert(e.name.clone())
                {
                    out.push(e.clone());
                }
            }
        }
        out
    }
}

/// The error for `m` when a model of `existing` has its name or table.
pub(super) fn duplicate(existing: &[Model], m: &Model) -> Result<()> {
    let Some(old) = existing.iter().find(|o| {
        o.name() == m.name() || (o.table() == m.table() && !o.table_owner().ptr_eq(m.table_owner()))
    }) else {
        return Ok(());
    };
    let what = if old.name() == m.name() {
        format!("a model named `{}` is already registered", m.name())
    } else {
        format!(
            "table `{}` of model `{}` already belongs to model `{}`",
            m.table(),
            m.name(),
            old.name()
        )
    };
    Err(schema_error(m.name().as_str(), None, what))
}

/// Checks that `fk` of `model` references existing columns of `target` that
/// are its primary key or unique.
pub(crate) fn check_fk_target(model: &Model, fk: &ForeignKeyDef, target: &Model) -> Result<()> {
    let col_name = |i: usize| model.columns()[i].name().as_str().to_owned();
    let mut positions = Vec::new();
    for (k, rc) in fk.ref_columns.iter().enumerate() {
        let Ok(p) = target.column_index(rc.as_str()) else {
            let col = fk.columns.get(k).map(|&i| col_name(i));
            return Err(schema_error(
                model.name().as_str(),
                col.as_deref(),
                format!(
                    "foreign key `{}` on model `{}` references unknown column `{}` of table `{}`",
                    fk.name,
                    model.name(),
                    rc,
                    target.table()
                ),
            ));
        };
        positions.push(p);
    }
    let mut wanted = positions.clone();
    wanted.sort_unstable();
    let same = |cols: &[usize]| {
        let mut c = cols.to_vec();
        c.sort_unstable();
        c == wanted
    };
    let keyed = same(target.primary_key())
        || target.uniques().iter().any(|u| same(&u.columns))
        || target
            .indexes()
            .iter()
            .any(|i| i.unique && i.filter.is_none() && same(&i.columns));
    if !keyed {
        return Err(schema_error(
            model.name().as_str(),
            fk.columns.first().map(|&i| col_name(i)).as_deref(),
            format!(
                "foreign key `{}` on model `{}` references columns of table `{}` that are neither its primary key nor unique",
                fk.name,
                model.name(),
                target.table()
            ),
        ));
    }
    Ok(())
}

/// Topological order (referenced first); foreign keys closing a cycle are split off.
fn sort(models: &[Model]) -> (Vec<Model>, Vec<(Model, ForeignKeyDef)>) {
    let index: HashMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.table().as_str(), i))
        .collect();
    // 0 = unvisited, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; models.len()];
    let mut order = Vec::with_capacity(models.len());
    let mut deferred = Vec::new();
    fn visit(
        i: usize,
        models: &[Model],
        index: &HashMap<&str, usize>,
        state: &mut [u8],
        order: &mut Vec<Model>,
        deferred: &mut Vec<(Model, ForeignKeyDef)>,
    ) {
        state[i] = 1;
        for fk in models[i].foreign_keys() {
            let Some(&j) = index.get(fk.table.as_str()) else {
                continue;
            };
            if j == i {
                continue; // self-reference: inline is fine
            }
            match state[j] {
                0 => visit(j, models, index, state, order, deferred),
                1 => deferred.push((models[i].clone(), fk.clone())),
                _ => {}
            }
        }
        state[i] = 2;
        order.push(models[i].clone());
    }
    for i in 0..models.len() {
        if state[i] == 0 {
            visit(i, models, &index, &mut state, &mut order, &mut deferred);
        }
    }
    (order, deferred)
}
