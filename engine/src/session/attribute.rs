//! Loading a column on access: a deferred column, or one expired by commit,
//! rollback or [`Session::expire`], read from its row in one SELECT through
//! the instance's session, as SQLAlchemy does. Reading an instance stays
//! synchronous ([`Instance::get`]); the bindings call
//! [`Session::load_attribute`] when a read finds the column unloaded.

use super::load::column_map;
use super::{Instance, InstanceState, Session};
use crate::dialect::Compile;
use crate::error::{Error, Result};
use crate::query::Select;
use crate::value::Value;

impl Session {
    /// The value of column `name` of `inst`, loaded from its row when it is
    /// not loaded: one SELECT of the asked column and of every other
    /// unloaded column that is not deferred (an expired instance reloads
    /// whole; a deferred column comes alone, or with the unloaded columns of
    /// its deferred group, [`Column::deferred_group`](crate::schema::Column::deferred_group)).
    /// Unflushed changes are kept; a loaded column costs no SQL.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown column; [`Error::InvalidState`] when
    /// the instance is not persistent in this session (detached: merge it
    /// first) or when strict loading is on and SQL would run;
    /// [`Error::NotFound`] when the row is gone; database errors.
    pub async fn load_attribute(&mut self, inst: &Instance, name: &str) -> Result<Value> {
        let model = inst.model();
        let col = match model.column_index(name) {
            Ok(col) => col,
            Err(e) => return self.load_property(inst, name, e).await,
        };
        let (loaded, owned, state, pk) = {
            let d = inst.read();
            (
                d.values[col].is_some(),
                self.owned(&d),
                d.state,
                d.pk_values(),
            )
        };
        if loaded || matches!(state, InstanceState::Transient | InstanceState::Pending) {
            return inst.get(name);
        }
        self.check_loadable(inst, name, owned, state)?;
        let what = format!("attribute `{name}` of {}", inst.describe());
        let pk = pk.ok_or_else(|| Error::InvalidState(format!("{what}: no primary key")))?;
        let group = model.columns()[col].deferred_group().map(str::to_owned);
        let wanted: Vec<usize> = {
            let d = inst.read();
            model
                .columns()
                .iter()
                .enumerate()
                .filter(|(i, c)| {
                    d.values[*i].is_none()
                        && (*i == col
                            || !c.is_deferred()
                            || group.as_deref().is_some_and(|g| c.in_group(g)))
                })
                .map(|(i, _)| i)
                .collect()
        };
        let mut select = Select::from(&model);
        for &i in &wanted {
            select = select.column(model.col(model.columns()[i].name().as_str())?);
        }
        for (&i, v) in model.primary_key().iter().zip(pk) {
            select = select.filter(model.col(model.columns()[i].name().as_str())?.eq(v));
        }
        let compiled = select.compile_for(self.db.backend())?;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(compiled.statement).await;
        self.tx = Some(tx);
        let row = rows?.into_iter().next().ok_or(Error::NotFound)?;
        let cols = column_map(&model, &compiled.columns);
        // The row has the key's values too (as filters, not columns): the
        // instance is found by its own handle, not by key.
        let validators = self.opts.registry.validators().clone();
        let mut d = inst.write();
        for (k, v) in row.into_values().into_iter().enumerate() {
            if let Some(Some(i)) = cols.get(k)
                && d.values[*i].is_none()
            {
                let v = validators.loaded_value(&model, *i, v)?;
                d.set_committed_value(*i, Some(v));
            }
        }
        drop(d);
        inst.get(name)
    }

    /// Refuses a load that cannot or may not run SQL.
    fn check_loadable(
        &self,
        inst: &Instance,
        name: &str,
        owned: bool,
        state: InstanceState,
    ) -> Result<()> {
        let what = format!("attribute `{name}` of {}", inst.describe());
        if !owned || state != InstanceState::Persistent {
            return Err(Error::InvalidState(format!(
                "{what} is not loaded and the instance is not persistent in this session; \
                 merge it into a session (s:merge) or load the column with the query \
                 (undefer / refresh before it is detached)"
            )));
        }
        if self.opts.strict_loading {
            return Err(Error::InvalidState(format!(
                "strict loading: {what} is not loaded and loading it would run SQL; \
                 load it with the query (undefer(\"{name}\")) or turn strict loading off"
            )));
        }
        Ok(())
    }

    /// A column property not loaded with the row (deferred, or declared
    /// after the instance was loaded): one SELECT of its expression.
    async fn load_property(
        &mut self,
        inst: &Instance,
        name: &str,
        unknown: Error,
    ) -> Result<Value> {
        if let Some(v) = inst.expression(name) {
            return Ok(v);
        }
        let model = inst.model();
        let Some(p) = self
            .opts
            .registry
            .properties_of(&model)
            .into_iter()
            .find(|p| p.name == name)
        else {
            return Err(unknown);
        };
        let (owned, state, pk) = {
            let d = inst.read();
            (self.owned(&d), d.state, d.pk_values())
        };
        self.check_loadable(inst, name, owned, state)?;
        let pk =
            pk.ok_or_else(|| Error::InvalidState(format!("{}: no primary key", inst.describe())))?;
        let mut select = Select::from(&model).column(p.expr.label(name)?);
        for (&i, v) in model.primary_key().iter().zip(pk) {
            select = select.filter(model.col(model.columns()[i].name().as_str())?.eq(v));
        }
        let compiled = select.compile_for(self.db.backend())?;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(compiled.statement).await;
        self.tx = Some(tx);
        let row = rows?.into_iter().next().ok_or(Error::NotFound)?;
        let v = row.into_values().into_iter().next().unwrap_or(Value::Null);
        inst.set_expression(name, v.clone());
        Ok(v)
    }
}
