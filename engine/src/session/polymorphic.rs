//! Polymorphic loading: rows of a hierarchy (see `schema/inheritance.rs`)
//! become instances of the class each row's discriminator names.
//!
//! A query of a polymorphic model is adapted before it runs
//! ([`adapt`]): single-table subclasses' own columns are selected from the
//! shared table (a query of a subclass keeps to the identities of the class
//! and its subclasses by its own filter, [`Model::identity_filter`]). Each row is then read with [`PolyColumns`]: the
//! discriminator picks the class, and the values of the result columns read
//! from that class or its ancestors fill the instance.

use super::{Instance, Session};
use crate::dialect::Compile;
use crate::error::{Error, Result};
use crate::query::{Expr, OutputColumn, Select};
use crate::schema::{InheritanceKind, Model};
use crate::value::Value;

/// The columns of single-table subclasses of `model` that its own
/// columns do not include (not deferred), as expressions of their classes.
fn subclass_columns(model: &Model) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = model
        .columns()
        .iter()
        .map(|c| c.name().as_str().to_owned())
        .collect();
    for d in model.descendants() {
        if !d.shares_parent_table() {
            continue;
        }
        for c in &d.columns()[d.own_columns_from()..] {
            if c.is_deferred() || seen.iter().any(|s| s == c.name().as_str()) {
                continue;
            }
            seen.push(c.name().as_str().to_owned());
            out.push(d.col(c.name().as_str())?);
        }
    }
    Ok(out)
}

/// A query of `model` ready for polymorphic loading: with the columns of
/// single-table subclasses. Other models' queries are returned as they are.
/// (The identity filter of a subclass is the query's own, added where the
/// query of a model is made: [`Model::identity_filter`].)
pub(crate) fn adapt(model: &Model, mut select: Select, selectin: bool) -> Result<Select> {
    if !model.is_polymorphic() {
        return Ok(select);
    }
    for e in subclass_columns(model)? {
        select = select.column(e);
    }
    // Joined-table subclasses: a LEFT OUTER JOIN of each, by key, and its
    // own columns (NULL on the rows of other classes).
    for d in joined_descendants(model) {
        if selectin || d.loads_by_selectin() {
            continue;
        }
        let mut on: Option<Expr> = None;
        for &k in model.primary_key() {
            let name = model.columns()[k].name().as_str();
            let eq = d.col(name)?.eq(model.col(name)?);
            on = Some(match on {
                Some(o) => o.and(eq),
                None => eq,
            });
        }
        let Some(on) = on else { continue };
        select = select.left_join(d.table_ref(), on);
        for c in &d.columns()[d.own_columns_from()..] {
            if !c.is_deferred() {
                select = select.column(d.col(c.name().as_str())?);
            }
        }
    }
    Ok(select)
}

/// The joined-table subclasses of `model`, at any depth.
fn joined_descendants(model: &Model) -> Vec<Model> {
    model
        .descendants()
        .into_iter()
        .filter(|d| d.inheritance_kind() == Some(InheritanceKind::Joined))
        .collect()
}

impl Session {
    /// Reads the own columns of joined-table subclasses for `found`
    /// (instances of a query of `model`) by a SELECT per subclass, `WHERE
    /// key IN (...)`: the subclasses that load by selectin, or all of them
    /// with `all` (the query joined none). Only unloaded columns are filled.
    pub(crate) async fn load_subclass_columns(
        &mut self,
        model: &Model,
        found: &[Instance],
        all: bool,
    ) -> Result<()> {
        if !model.is_polymorphic() || found.is_empty() {
            return Ok(());
        }
        for d in joined_descendants(model) {
            if !(all || d.loads_by_selectin()) {
                continue;
            }
            let own: Vec<usize> = (d.own_columns_from()..d.columns().len())
                .filter(|&i| !d.columns()[i].is_deferred())
                .collect();
            let keys: Vec<Vec<Value>> = found
                .iter()
                .filter_map(|inst| {
                    let r = inst.read();
                    let unloaded = own
                        .iter()
                        .any(|&i| r.values.get(i).is_none_or(Option::is_none));
                    (r.model.is_a(&d) && unloaded)
                        .then(|| r.pk_values())
                        .flatten()
                })
                .collect();
            if keys.is_empty() || own.is_empty() {
                continue;
            }
            let cols: Vec<usize> = d.primary_key().iter().copied().chain(own).collect();
            for chunk in keys.chunks(500) {
                self.load_columns_by_key(&d, &cols, chunk).await?;
            }
        }
        Ok(())
    }

    /// `SELECT cols FROM class WHERE key IN (keys)`, the values merged into
    /// the instances in the identity map.
    async fn load_columns_by_key(
        &mut self,
        class: &Model,
        cols: &[usize],
        keys: &[Vec<Value>],
    ) -> Result<()> {
        let name = |i: usize| class.columns()[i].name().as_str();
        let mut select = Select::from(class);
        for &i in cols {
            select = select.column(class.col(name(i))?);
        }
        let mut cond: Option<Expr> = None;
        for k in keys {
            let eq = class.pk_eq(k)?;
            cond = Some(match cond {
                Some(c) => c.or(eq),
                None => eq,
            });
        }
        let pk = class.primary_key();
        if pk.len() == 1 {
            cond = Some(
                class
                    .col(name(pk[0]))?
                    .in_list(keys.iter().map(|k| k[0].clone())),
            );
        }
        if let Some(c) = cond {
            select = select.filter(c);
        }
        let stmt = select.compile_for(self.db.backend())?.statement;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(stmt).await;
        self.tx = Some(tx);
        let validators = self.opts.registry.validators().clone();
        for row in rows? {
            let mut values = vec![None; class.columns().len()];
            for (&i, v) in cols.iter().zip(row.into_values()) {
                values[i] = Some(validators.loaded_value(class, i, v)?);
            }
            self.load_values(class, values, false)?;
        }
        Ok(())
    }
}

/// How the result columns of a polymorphic query map to classes' columns.
pub(crate) struct PolyColumns {
    /// Per result column: the model it was read from and its position there.
    origins: Vec<Option<(Model, usize)>>,
    /// The result column holding the discriminator.
    disc: Option<usize>,
    queried: Model,
}

impl PolyColumns {
    pub(crate) fn new(model: &Model, columns: &[OutputColumn]) -> Self {
        let origins: Vec<Option<(Model, usize)>> = columns
            .iter()
            .map(|c| {
                c.origin
                    .as_ref()
                    .filter(|o| o.model.root().ptr_eq(model.root()))
                    .map(|o| (o.model.clone(), o.index))
            })
            .collect();
        let d = model.discriminator();
        let disc = origins
            .iter()
            .position(|o| matches!((o, d), (Some((_, i)), Some(d)) if *i == d));
        Self {
            origins,
            disc,
            queried: model.clone(),
        }
    }

    /// The class of a row, and the row's values as that class's columns
    /// (unconverted; `None` where the row has no column of the class).
    pub(crate) fn split(&self, row: Vec<Value>) -> Result<(Model, Vec<Option<Value>>)> {
        let class = match self.disc.and_then(|k| row.get(k)) {
            Some(v) => class_of(&self.queried, v)?,
            None => self.queried.clone(),
        };
        let mut values = vec![None; class.columns().len()];
        for (v, o) in row.into_iter().zip(&self.origins) {
            if let Some((m, i)) = o
                && class.is_a(m)
                && *i < values.len()
            {
                values[*i] = Some(v);
            }
        }
        Ok((class, values))
    }
}

/// The class among `model` and its subclasses a discriminator value names.
///
/// # Errors
/// [`Error::InvalidState`] naming the model when no class declares it.
pub(crate) fn class_of(model: &Model, value: &Value) -> Result<Model> {
    if value.is_null() {
        return Ok(model.clone());
    }
    model.class_for(value).ok_or_else(|| {
        Error::InvalidState(format!(
            "a row of model `{}` has a discriminator ({}) that no class of its hierarchy \
             declares as its polymorphic_identity",
            model.name(),
            value.type_name()
        ))
    })
}
