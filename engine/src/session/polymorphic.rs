//! Polymorphic loading: rows of a hierarchy (see `schema/inheritance.rs`)
//! become instances of the class each row's discriminator names.
//!
//! A query of a polymorphic model is adapted before it runs ([`adapt`],
//! [`subclass_reads`]): single-table subclasses' own columns are selected
//! from the shared table, a polymorphic union's subclass columns from the
//! union, and joined-table subclasses' tables are LEFT OUTER JOINed (or
//! read afterwards by a SELECT per subclass,
//! [`Session::load_subclass_columns`]). A query of a subclass keeps to the
//! identities of the class and its subclasses by its own filter
//! ([`Model::identity_filter`]). Relationship loaders read their
//! polymorphic targets the same way (`loading/`). Each row is then read
//! with [`PolyColumns`]: the discriminator picks the class, and the values
//! of the result columns read from that class or its ancestors fill the
//! instance.

use super::{Instance, Session};
use crate::dialect::Compile;
use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::query::{Expr, OutputColumn, Select, TableRef};
use crate::schema::{InheritanceKind, Model};
use crate::value::Value;

/// What a select of a polymorphic model reads of its subclasses besides the
/// model's own columns: the subclasses' columns, and the LEFT OUTER JOINs
/// of the joined-table subclasses' tables that bring some of them.
#[derive(Default)]
pub(crate) struct SubclassReads {
    /// `(table, ON)` of each joined-table subclass read in the statement.
    pub(crate) joins: Vec<(TableRef, Expr)>,
    /// The subclasses' columns, each with the model declaring it.
    pub(crate) columns: Vec<Expr>,
}

/// `d`'s table under the name that `table` goes by (its alias, if any): a
/// single-table subclass's columns are read from its parent's table.
fn same_table(d: &Model, table: &TableRef) -> Result<TableRef> {
    match table.alias_name() {
        Some(a) => d.alias(a.as_str()),
        None => Ok(d.table_ref()),
    }
}

/// The reads that load the subclasses of `model` in a select of `model`
/// read as `table` (its table or union, [`Model::query_table`], or an alias
/// of it): the own columns of the subclasses sharing its table, those of
/// the concrete subclasses in its union, and, unless `selectin` (or the
/// subclass's `polymorphic_load`) says they load by a second SELECT, the
/// joined-table subclasses' tables, LEFT OUTER JOINed by key (named
/// `<alias>_<n>` under `alias`, else after their tables, or `dbr_p<n>`
/// when `select` reads a table of that name already).
pub(crate) fn subclass_reads(
    model: &Model,
    table: &TableRef,
    selectin: bool,
    alias: Option<&str>,
    select: &Select,
) -> Result<SubclassReads> {
    let mut out = SubclassReads::default();
    if !model.is_polymorphic() {
        return Ok(out);
    }
    let mut seen: Vec<Ident> = model.columns().iter().map(|c| c.name().clone()).collect();
    for d in model.table_sharers() {
        let t = same_table(&d, table)?;
        for c in &d.columns()[d.own_columns_from()..] {
            if c.is_deferred() || seen.contains(c.name()) {
                continue;
            }
            seen.push(c.name().clone());
            out.columns.push(t.col(c.name().as_str())?);
        }
    }
    for u in model.union_extra_columns() {
        if u.is_deferred() || seen.contains(&u.label) {
            continue;
        }
        seen.push(u.label.clone());
        out.columns.push(u.expr(table.qualifier()));
    }
    for (k, d) in joined_descendants(model).into_iter().enumerate() {
        if selectin || d.loads_by_selectin() {
            continue;
        }
        let taken = || {
            select
                .from
                .iter()
                .chain(select.joins.iter().map(|j| &j.table))
                .any(|t| t.qualifier() == d.table())
        };
        let dt = match alias {
            Some(a) => d.alias(&format!("{a}_{k}"))?,
            None if taken() => d.alias(&format!("dbr_p{k}"))?,
            None => d.table_ref(),
        };
        let mut on: Option<Expr> = None;
        for &i in model.primary_key() {
            let name = model.columns()[i].name().as_str();
            let eq = dt.col(name)?.eq(table.col(name)?);
            on = Some(match on {
                Some(o) => o.and(eq),
                None => eq,
            });
        }
        let Some(on) = on else { continue };
        out.joins.push((dt.clone(), on));
        let mut own: Vec<Ident> = Vec::new();
        for x in std::iter::once(d.clone()).chain(d.table_sharers()) {
            let xt = same_table(&x, &dt)?;
            for c in &x.columns()[x.own_columns_from()..] {
                if !c.is_deferred() && !own.contains(c.name()) {
                    out.columns.push(xt.col(c.name().as_str())?);
                    own.push(c.name().clone());
                }
            }
        }
    }
    Ok(out)
}

/// A query of `model` ready for polymorphic loading: with the columns and
/// joins of [`subclass_reads`]. Other models' queries are returned as they
/// are. (The identity filter of a subclass is the query's own, added where
/// the query of a model is made: [`Model::identity_filter`].)
pub(crate) fn adapt(model: &Model, mut select: Select, selectin: bool) -> Result<Select> {
    if !model.is_polymorphic() {
        return Ok(select);
    }
    let reads = subclass_reads(model, &model.table_ref(), selectin, None, &select)?;
    for e in reads.columns {
        select = select.column(e);
    }
    for (t, on) in reads.joins {
        select = select.left_join(t, on);
    }
    Ok(select)
}

/// The joined-table subclasses of `model` at any depth whose rows a query
/// of `model` reads (those of its identity space, and of the concrete
/// subclasses of its union).
fn joined_descendants(model: &Model) -> Vec<Model> {
    model
        .descendants()
        .into_iter()
        .filter(|d| {
            d.inheritance_kind() == Some(InheritanceKind::Joined)
                && model.union_position(d).is_some()
        })
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
            // The subclass's own columns, and those of the single-table
            // subclasses sharing its table, each read through its class.
            for class in std::iter::once(d.clone()).chain(d.table_sharers()) {
                let own: Vec<usize> = (class.own_columns_from()..class.columns().len())
                    .filter(|&i| !class.columns()[i].is_deferred())
                    .collect();
                let keys: Vec<Vec<Value>> = found
                    .iter()
                    .filter_map(|inst| {
                        let r = inst.read();
                        let unloaded = own
                            .iter()
                            .any(|&i| r.values.get(i).is_none_or(Option::is_none));
                        (r.model.is_a(&class) && unloaded)
                            .then(|| r.pk_values())
                            .flatten()
                    })
                    .collect();
                if keys.is_empty() || own.is_empty() {
                    continue;
                }
                let cols: Vec<usize> = class.primary_key().iter().copied().chain(own).collect();
                for chunk in keys.chunks(500) {
                    self.load_columns_by_key(&class, &cols, chunk).await?;
                }
            }
        }
        Ok(())
    }

    /// `SELECT cols FROM class WHERE key IN (keys)`, the values merged into
    /// the instances in the identity map (only their unloaded columns).
    pub(crate) async fn load_columns_by_key(
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

/// Where a result column of a polymorphic query comes from.
#[derive(Clone)]
pub(crate) struct Origin {
    /// The model declaring the column.
    pub(crate) model: Model,
    /// Its position there.
    pub(crate) index: usize,
    /// Whether it is read from the queried model's own table (or union):
    /// then a class with a column of the same name, declared by another
    /// class, reads it too (two single-table or concrete siblings sharing a
    /// column name share its column in the table or the union).
    pub(crate) main: bool,
}

/// Where the column `e` reads comes from (`None` for no model column);
/// `main` names the queried model's table (or its alias).
pub(crate) fn origin_of(e: &Expr, main: &Ident) -> Option<Origin> {
    match e {
        Expr::Column(c) => c.origin.as_ref().map(|o| Origin {
            model: o.model.clone(),
            index: o.index,
            main: c.qualifier.as_ref() == Some(main),
        }),
        _ => None,
    }
}

/// How the result columns of a polymorphic query map to classes' columns.
pub(crate) struct PolyColumns {
    /// Per result column: where it comes from.
    origins: Vec<Option<Origin>>,
    /// The result column holding the discriminator.
    disc: Option<usize>,
    queried: Model,
}

impl PolyColumns {
    /// The map of a compiled query of `model`, whose own table (or union)
    /// goes by `main`.
    pub(crate) fn new(model: &Model, columns: &[OutputColumn], main: &Ident) -> Self {
        Self::from_origins(
            model,
            columns
                .iter()
                .map(|c| {
                    c.origin.as_ref().map(|o| Origin {
                        model: o.model.clone(),
                        index: o.index,
                        main: c.qualifier.as_ref() == Some(main),
                    })
                })
                .collect(),
        )
    }

    /// The map of result columns from where each comes from.
    pub(crate) fn from_origins(model: &Model, origins: Vec<Option<Origin>>) -> Self {
        let origins: Vec<Option<Origin>> = origins
            .into_iter()
            .map(|o| o.filter(|o| o.model.root().ptr_eq(model.root())))
            .collect();
        let d = model.discriminator();
        let disc = origins
            .iter()
            .position(|o| matches!((o, d), (Some(o), Some(d)) if o.index == d));
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
        let n = class.columns().len();
        let mut values = vec![None; n];
        let mut others = Vec::new();
        for (v, o) in row.into_iter().zip(&self.origins) {
            let Some(o) = o else { continue };
            if class.is_a(&o.model) && o.index < n {
                values[o.index] = Some(v);
            } else if o.main {
                others.push((o, v));
            }
        }
        // A column of the same name declared by another class, in the same table.
        for (o, v) in others {
            let name = o.model.columns()[o.index].name().as_str();
            if let Ok(j) = class.column_index(name)
                && values[j].is_none()
            {
                values[j] = Some(v);
            }
        }
        Ok((class, values))
    }
}

/// The class among `model` and its subclasses a discriminator value names
/// (`model` itself when its table holds its class's rows only, whatever
/// their discriminator says).
///
/// # Errors
/// [`Error::InvalidState`] naming the model when no class declares it.
pub(crate) fn class_of(model: &Model, value: &Value) -> Result<Model> {
    if value.is_null() || model.holds_only_its_class() {
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
