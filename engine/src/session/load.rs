//! Rows into instances: through the identity map, so that a row already
//! loaded gives back its instance, whose unflushed changes are kept.

use futures_util::StreamExt;

use super::identity::{IdentityKey, Lookup};
use super::{Instance, InstanceState, Session};
use crate::db::Row;
use crate::dialect::Compile;
use crate::error::{Error, Result};
use crate::query::{OutputColumn, Select};
use crate::schema::Model;
use crate::value::Value;

impl Session {
    /// Runs a select of `model`'s columns in the session's transaction and
    /// turns its rows into instances.
    pub(crate) async fn fetch_instances(
        &mut self,
        model: &Model,
        select: &Select,
    ) -> Result<Vec<Instance>> {
        if model.is_polymorphic() {
            return self.fetch_polymorphic(model, select, false).await;
        }
        self.fetch_rows_as(model, select, false, &[]).await
    }

    /// As `fetch_instances`; the result columns labelled as one of
    /// `expressions` become the instances' read-only computed values.
    pub(crate) async fn fetch_instances_with(
        &mut self,
        model: &Model,
        select: &Select,
        expressions: &[String],
    ) -> Result<Vec<Instance>> {
        if expressions.is_empty() {
            return self.fetch_instances(model, select).await;
        }
        self.fetch_rows_as(model, select, false, expressions).await
    }

    /// The instance of `model` with this primary key, read with a row lock
    /// (`SELECT ... FOR UPDATE`, or `lock`'s strength and wait policy) in
    /// the session's transaction, always from the database (after an
    /// autoflush): the lock is taken even when the instance is already in
    /// the identity map, and its loaded values are replaced by the row's
    /// (unflushed changes were flushed first). `None` when there is no row,
    /// or under `SKIP LOCKED` when another transaction holds it.
    ///
    /// # Errors
    /// [`Error::Unsupported`] on SQLite, which has no row locks; under
    /// `NOWAIT`, a database error of kind [`crate::ErrorKind::Busy`] when
    /// another transaction holds the row; as [`Session::get`] otherwise.
    pub async fn get_locked(
        &mut self,
        model: &Model,
        pk: impl Into<super::KeyValues>,
        lock: crate::query::Lock,
    ) -> Result<Option<Instance>> {
        let values = super::pk_values(model, pk.into().0)?;
        if self.opts.autoflush && self.has_changes() {
            self.flush().await?;
        }
        let mut select = Select::from(model).lock(Some(lock));
        for c in model.columns() {
            if !c.is_deferred() {
                select = select.column(model.col(c.name().as_str())?);
            }
        }
        for (&i, v) in model.primary_key().iter().zip(values) {
            select = select.filter(model.col(model.columns()[i].name().as_str())?.eq(v));
        }
        let mut found = self.fetch_rows_as(model, &select, true, &[]).await?;
        Ok(found.pop())
    }

    /// Runs `select` and turns its rows into instances; with `overwrite`,
    /// the rows' values replace those of instances already in the map.
    async fn fetch_rows_as(
        &mut self,
        model: &Model,
        select: &Select,
        overwrite: bool,
        expressions: &[String],
    ) -> Result<Vec<Instance>> {
        let compiled = select.compile_for(self.db.backend())?;
        let mut cols = column_map(model, &compiled.columns);
        let exprs: Vec<(usize, &str)> = compiled
            .columns
            .iter()
            .enumerate()
            .filter_map(|(k, c)| {
                expressions
                    .iter()
                    .find(|e| c.label.as_str() == e.as_str())
                    .map(|e| (k, e.as_str()))
            })
            .collect();
        for &(k, _) in &exprs {
            // An expression that reads a column is not that column.
            cols[k] = None;
        }
        let mut tx = self.take_tx().await?;
        let read = {
            // Rows become instances as they arrive, while the server sends the next.
            let mut rows = tx.fetch_statement(compiled.statement);
            let mut out = Vec::new();
            async {
                while let Some(row) = rows.next().await {
                    let row = row?;
                    let computed: Vec<(&str, Value)> = exprs
                        .iter()
                        .map(|&(k, n)| (n, row.values()[k].clone()))
                        .collect();
                    let inst = self.load_row(model, &cols, row, overwrite)?;
                    for (n, v) in computed {
                        inst.set_expression(n, v);
                    }
                    out.push(inst);
                }
                Ok(out)
            }
            .await
        };
        self.tx = Some(tx);
        read
    }

    /// Runs a query of a polymorphic model: each row becomes an instance of
    /// the class its discriminator names (see `polymorphic.rs`).
    /// With `selectin`, the joined-table subclasses' columns are read by a
    /// second SELECT per subclass rather than joined.
    pub(crate) async fn fetch_polymorphic(
        &mut self,
        model: &Model,
        select: &Select,
        selectin: bool,
    ) -> Result<Vec<Instance>> {
        let select = super::polymorphic::adapt(model, select.clone(), selectin)?;
        let compiled = select.compile_for(self.db.backend())?;
        let cols = super::polymorphic::PolyColumns::new(model, &compiled.columns, model.table());
        let mut tx = self.take_tx().await?;
        let read: Result<Vec<Instance>> = {
            let mut rows = tx.fetch_statement(compiled.statement);
            let mut out = Vec::new();
            let validators = self.opts.registry.validators();
            async {
                while let Some(row) = rows.next().await {
                    let (class, raw) = cols.split(row?.into_values())?;
                    let values = raw
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| v.map(|v| validators.loaded_value(&class, i, v)).transpose())
                        .collect::<Result<Vec<_>>>()?;
                    let inst = self.load_values(&class, values, false)?.ok_or_else(|| {
                        Error::InvalidState(format!(
                            "a query of model `{}` must select its primary key",
                            model.name()
                        ))
                    })?;
                    out.push(inst);
                }
                Ok(out)
            }
            .await
        };
        self.tx = Some(tx);
        let found = read?;
        self.load_subclass_columns(model, &found, selectin).await?;
        Ok(found)
    }

    /// The instance for a row (`cols`: the model column of each result column).
    /// With `overwrite`, loaded values replace the instance's (a refresh);
    /// otherwise only its unloaded columns are filled.
    pub(crate) fn load_row(
        &self,
        model: &Model,
        cols: &[Option<usize>],
        row: Row,
        overwrite: bool,
    ) -> Result<Instance> {
        let validators = self.opts.registry.validators();
        let n = model.columns().len();
        let values: Vec<Option<Value>> = if in_model_order(cols, n) {
            // Every column in model order (a plain query of the model): the
            // row's values become the instance's in place, without a copy.
            row.into_values()
                .into_iter()
                .enumerate()
                .map(|(i, v)| validators.loaded_value(model, i, v).map(Some))
                .collect::<Result<_>>()?
        } else {
            let mut values = vec![None; n];
            for (k, v) in row.into_values().into_iter().enumerate() {
                if let Some(Some(i)) = cols.get(k) {
                    values[*i] = Some(validators.loaded_value(model, *i, v)?);
                }
            }
            values
        };
        self.load_values(model, values, overwrite)?.ok_or_else(|| {
            Error::InvalidState(format!(
                "a query of model `{}` must select its primary key",
                model.name()
            ))
        })
    }

    /// The instance for loaded values (already converted), through the
    /// identity map; `None` when the primary key is missing or NULL (the
    /// empty side of an outer join).
    pub(crate) fn load_values(
        &self,
        model: &Model,
        values: Vec<Option<Value>>,
        overwrite: bool,
    ) -> Result<Option<Instance>> {
        let Some(key) = IdentityKey::of_row(model, &values) else {
            return Ok(None);
        };
        // A base's row may be a subclass's: its discriminator says.
        let class;
        let (model, values) = match model.discriminator().and_then(|d| values.get(d)?.as_ref()) {
            Some(v) if model.is_polymorphic() => {
                class = super::polymorphic::class_of(model, v)?;
                let mut values = values;
                values.resize(class.columns().len(), None);
                (&class, values)
            }
            _ => (model, values),
        };
        let inst = match self.map.find_or_make(key, values, |key, values| {
            let inst = Instance::loaded(model, values, key.clone());
            self.attach(&mut inst.write());
            inst
        }) {
            Lookup::Made(inst) => inst,
            Lookup::Found(inst, values) => {
                merge_loaded(&inst, values, overwrite);
                inst
            }
        };
        Ok(Some(inst))
    }

    /// Loads an instance's row again: every column (`all`) or the non-deferred ones.
    pub(crate) async fn reload(&mut self, inst: &Instance, all: bool) -> Result<()> {
        let (model, pk, owned, state) = {
            let d = inst.read();
            (d.model.clone(), d.pk_values(), self.owned(&d), d.state)
        };
        if !owned || state != InstanceState::Persistent {
            return Err(Error::InvalidState(format!(
                "{} is not persistent in this session",
                inst.describe()
            )));
        }
        let pk = pk.ok_or_else(|| {
            Error::InvalidState(format!("{} has no primary key", inst.describe()))
        })?;
        let mut select = Select::from(&model);
        for (i, c) in model.columns().iter().enumerate() {
            if all || !c.is_deferred() {
                select = select.column(model.col(c.name().as_str())?);
            }
            if model.primary_key().contains(&i) {
                let pos = model
                    .primary_key()
                    .iter()
                    .position(|&p| p == i)
                    .unwrap_or(0);
                select = select.filter(model.col(c.name().as_str())?.eq(pk[pos].clone()));
            }
        }
        let compiled = select.compile_for(self.db.backend())?;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(compiled.statement).await;
        self.tx = Some(tx);
        let row = rows?.into_iter().next().ok_or(Error::NotFound)?;
        let cols = column_map(&model, &compiled.columns);
        self.load_row(&model, &cols, row, true)?;
        Ok(())
    }
}

/// Loaded values into an instance the session had already: only its unloaded
/// columns are filled (every column with `overwrite`, a refresh), so that
/// unflushed changes are kept.
fn merge_loaded(inst: &Instance, values: Vec<Option<Value>>, overwrite: bool) {
    let mut d = inst.write();
    if !matches!(d.state, InstanceState::Persistent | InstanceState::Deleted) {
        return;
    }
    let n = d.values.len();
    for (i, v) in values.into_iter().enumerate().take(n) {
        if let Some(v) = v
            && (overwrite || d.values[i].is_none())
        {
            d.set_committed_value(i, Some(v));
        }
    }
    if overwrite {
        d.links.clear();
        d.modified = false;
    }
}

/// Whether the result columns are the model's `n` columns in order.
fn in_model_order(cols: &[Option<usize>], n: usize) -> bool {
    cols.len() == n && cols.iter().enumerate().all(|(k, c)| *c == Some(k))
}

/// The model column each result column reads, if any.
pub(crate) fn column_map(model: &Model, columns: &[OutputColumn]) -> Vec<Option<usize>> {
    columns
        .iter()
        .map(|c| {
            c.origin
                .as_ref()
                .filter(|o| o.model.ptr_eq(model))
                .map(|o| o.index)
        })
        .collect()
}
