//! [`SessionQuery`]: a select of a model whose rows come back as instances.

use std::fmt;

use super::{Instance, Session};
use crate::error::{Error, Result};
use crate::query::{Expr, OrderBy, Select, TableRef, func};
use crate::schema::Model;

/// A query of one model through a session: the Core [`Select`] of the model's
/// (non-deferred) columns, with filters, joins, order, limits; its rows are
/// instances from the identity map. Autoflushes first unless turned off.
///
/// # Examples
///
/// ```no_run
/// # async fn demo(s: &mut dbridge_engine::session::Session, user: &dbridge_engine::schema::Model) -> dbridge_engine::Result<()> {
/// let top = s.query(user)
///     .filter(user.col("karma")?.gt(0))
///     .order_by(user.col("karma")?.desc())
///     .limit(10)
///     .all()
///     .await?;
/// # Ok(()) }
/// ```
pub struct SessionQuery<'s> {
    session: &'s mut Session,
    model: Model,
    select: Select,
    autoflush: bool,
    options: Vec<super::Load>,
    /// Labels of the select's items that are read-only attributes of the
    /// instances (`with_expression`).
    expressions: Vec<String>,
    /// The model's column properties loaded with its rows (added to the
    /// select when it runs, after any `map_select`).
    properties: Vec<super::ColumnProperty>,
}

impl fmt::Debug for SessionQuery<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionQuery")
            .field("model", &self.model)
            .field("select", &self.select)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A query of `model` returning instances.
    pub fn query(&mut self, model: &Model) -> SessionQuery<'_> {
        let columns: Vec<Expr> = model
            .all_columns()
            .into_iter()
            .zip(model.columns())
            .filter(|(_, c)| !c.is_deferred())
            .map(|(e, _)| e)
            .collect();
        let autoflush = self.opts.autoflush;
        let properties = self
            .opts
            .registry
            .properties_of(model)
            .into_iter()
            .filter(|p| !p.deferred)
            .collect();
        // A polymorphic union reads its concrete subclasses' tables too.
        let mut select = Select::from(model.query_table()).columns(columns);
        // A single-table subclass keeps to its rows.
        if let Ok(Some(f)) = model.identity_filter() {
            select = select.filter(f);
        }
        SessionQuery {
            session: self,
            model: model.clone(),
            select,
            autoflush,
            options: Vec::new(),
            expressions: Vec::new(),
            properties,
        }
    }

    /// Runs a Core select of `model`'s columns and returns its rows as
    /// instances (autoflushing first when autoflush is on). Columns of other
    /// tables are ignored; the primary key must be among the columns. A
    /// single-table subclass's identity filter is added.
    ///
    /// # Errors
    /// Compile and database errors; [`Error::InvalidState`] without the key.
    pub async fn fetch_select(&mut self, model: &Model, select: &Select) -> Result<Vec<Instance>> {
        if self.opts.autoflush {
            self.flush().await?;
        }
        match model.identity_filter()? {
            Some(f) => self.fetch_instances(model, &select.clone().filter(f)).await,
            None => self.fetch_instances(model, select).await,
        }
    }
}

impl SessionQuery<'_> {
    /// Loads `expr` with each row as the read-only attribute `name` of the
    /// instances this query returns ([`Instance::get`](super::Instance::get)
    /// or [`Instance::expression`](super::Instance::expression)), for this
    /// query only (SQLAlchemy's `with_expression`).
    ///
    /// # Errors
    /// [`Error::InvalidIdentifier`] for a bad name; [`Error::Schema`] for the
    /// name of a column.
    pub fn with_expression(mut self, name: &str, expr: Expr) -> Result<Self> {
        if self.model.column_index(name).is_ok() {
            return Err(crate::schema::schema_error(
                self.model.name().as_str(),
                Some(name),
                format!(
                    "`{name}` is a column of model `{}`; name the expression otherwise",
                    self.model.name()
                ),
            ));
        }
        self.select = self.select.column(expr.label(name)?);
        self.expressions.retain(|n| n != name);
        self.expressions.push(name.to_owned());
        Ok(self)
    }

    /// Adds a WHERE condition (several are ANDed).
    pub fn filter(mut self, cond: Expr) -> Self {
        self.select = self.select.filter(cond);
        self
    }

    /// `WHERE model.name = value`
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown column.
    pub fn filter_by(mut self, name: &str, value: impl Into<Expr>) -> Result<Self> {
        self.select = self.select.filter_by(name, value)?;
        Ok(self)
    }

    /// Adds an ORDER BY term.
    pub fn order_by(mut self, term: impl Into<OrderBy>) -> Self {
        self.select = self.select.order_by(term);
        self
    }

    /// `LIMIT n`
    pub fn limit(mut self, n: u64) -> Self {
        self.select = self.select.limit(n);
        self
    }

    /// `OFFSET n`
    pub fn offset(mut self, n: u64) -> Self {
        self.select = self.select.offset(n);
        self
    }

    /// `INNER JOIN table ON cond` (to filter by another table).
    pub fn join(mut self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.select = self.select.join(table, on);
        self
    }

    /// `LEFT OUTER JOIN table ON cond`
    pub fn left_join(mut self, table: impl Into<TableRef>, on: Expr) -> Self {
        self.select = self.select.left_join(table, on);
        self
    }

    /// Loader options: strategies for relationship paths, deferred columns
    /// (see [`super::Load`]). Relationships with a default eager strategy
    /// are loaded without one.
    pub fn options(mut self, options: impl IntoIterator<Item = super::Load>) -> Self {
        self.options.extend(options);
        self
    }

    /// `INNER JOIN` along the relationship `name` of the query's model.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship.
    pub fn join_related(mut self, name: &str) -> Result<Self> {
        for (t, on) in self.model.relationship(name)?.join_path()? {
            self.select = self.select.join(t, on);
        }
        Ok(self)
    }

    /// `LEFT OUTER JOIN` along the relationship `name` of the query's model.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship.
    pub fn left_join_related(mut self, name: &str) -> Result<Self> {
        for (t, on) in self.model.relationship(name)?.join_path()? {
            self.select = self.select.left_join(t, on);
        }
        Ok(self)
    }

    /// `DISTINCT`
    pub fn distinct(mut self) -> Self {
        self.select = self.select.distinct();
        self
    }

    /// `FOR UPDATE` (PostgreSQL).
    pub fn for_update(mut self) -> Self {
        self.select = self.select.for_update();
        self
    }

    /// Changes the Core select directly.
    pub fn map_select(mut self, f: impl FnOnce(Select) -> Select) -> Self {
        self.select = f(self.select);
        self
    }

    /// Skips the autoflush for this query.
    pub fn no_autoflush(mut self) -> Self {
        self.autoflush = false;
        self
    }

    /// The Core select this query runs.
    pub fn select(&self) -> &Select {
        &self.select
    }

    /// Runs the query; returns every instance.
    ///
    /// # Errors
    /// Flush, compile and database errors.
    pub async fn all(mut self) -> Result<Vec<Instance>> {
        if self.autoflush {
            self.session.flush().await?;
        }
        let plan = super::loading::plan(&self.model, &self.options)?;
        let selectin = self
            .options
            .iter()
            .any(super::Load::is_selectin_polymorphic);
        for p in std::mem::take(&mut self.properties) {
            let present = self
                .select
                .items
                .iter()
                .any(|i| i.label.as_ref().is_some_and(|l| l.as_str() == p.name));
            if !present {
                self.select = self.select.column(p.expr.label(&p.name)?);
            }
            if !self.expressions.contains(&p.name) {
                self.expressions.push(p.name);
            }
        }
        if !self.expressions.is_empty() {
            // Expressions come with the rows; relationships load after them
            // (a joined strategy by selectin).
            let found = self
                .session
                .fetch_instances_with(&self.model, &self.select, &self.expressions)
                .await?;
            if !plan.is_empty() {
                self.session.load(&found, &self.options).await?;
            }
            return Ok(found);
        }
        if plan.is_empty() {
            return if selectin && self.model.is_polymorphic() {
                self.session
                    .fetch_polymorphic(&self.model, &self.select, true)
                    .await
            } else {
                self.session
                    .fetch_instances(&self.model, &self.select)
                    .await
            };
        }
        self.session
            .fetch_planned(&self.model, self.select, &plan, selectin)
            .await
    }

    /// The first instance, if any (adds `LIMIT 1`, or keeps a smaller limit).
    ///
    /// # Errors
    /// As [`SessionQuery::all`].
    pub async fn first(self) -> Result<Option<Instance>> {
        let select = self.select.limit_at_most(1);
        Ok(Self { select, ..self }.all().await?.into_iter().next())
    }

    /// The only instance.
    ///
    /// # Errors
    /// [`Error::NotFound`] for none, [`Error::MultipleRows`] for several.
    pub async fn one(self) -> Result<Instance> {
        self.one_or_none().await?.ok_or(Error::NotFound)
    }

    /// The only instance, or `None`.
    ///
    /// # Errors
    /// [`Error::MultipleRows`] for several.
    pub async fn one_or_none(self) -> Result<Option<Instance>> {
        let select = self.select.limit_at_most(2);
        let mut rows = Self { select, ..self }.all().await?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(rows.pop()),
            _ => Err(Error::MultipleRows),
        }
    }

    /// The number of rows the query matches.
    ///
    /// # Errors
    /// Flush, compile and database errors.
    pub async fn count(self) -> Result<i64> {
        if self.autoflush {
            self.session.flush().await?;
        }
        let sub = self.select.subquery("counted")?;
        let q = Select::from(sub).column(func::count_star().label("n")?);
        let stmt = crate::dialect::compile(&q, self.session.db.backend())?;
        let mut tx = self.session.take_tx().await?;
        let rows = tx.fetch_all_statement(stmt).await;
        self.session.tx = Some(tx);
        let rows = rows?;
        rows.first()
            .and_then(|r| r.values().first())
            .and_then(crate::value::Value::as_i64)
            .ok_or(Error::NotFound)
    }
}
