//! Resolving relationships through the registry: target by name, joining
//! columns from the foreign keys, implied mirrors of `back_populates`, and the
//! association tables dbridge declares for many-to-many relationships.

use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use crate::error::Result;
use crate::ident::Ident;

use super::column::Column;
use super::constraint::{ForeignKeyDef, ReferentialAction};
use super::model::Model;
use super::relationship::{
    Cascade, LoadStrategy, Relationship, RelationshipDef, RelationshipKind, Resolved, Secondary,
    rel_error, snake,
};

/// A model's weak link to the registry it is in.
pub(crate) type MetaRef = Weak<RwLock<Vec<Model>>>;

impl Model {
    /// The names of the relationships declared on the model, then those
    /// implied by another model's `back_populates`.
    pub fn relationship_names(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .0
            .relationships
            .iter()
            .map(|(n, _)| n.as_str().to_owned())
            .collect();
        for m in self.registry_models() {
            for (_, r) in &m.0.relationships {
                if r.target == self.name().as_str()
                    && let Some(b) = &r.back_populates
                    && !out.contains(b)
                {
                    out.push(b.clone());
                }
            }
        }
        for n in self
            .parent()
            .map(Model::relationship_names)
            .unwrap_or_default()
        {
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }

    /// The relationship `name`, resolved through the model's registry.
    ///
    /// # Errors
    /// [`crate::Error::Schema`]: "no relationship `x` on model `User`", an
    /// unknown target model, no (or several) foreign keys to join on, a model
    /// not registered in a [`super::Metadata`].
    pub fn relationship(&self, name: &str) -> Result<Resolved> {
        if let Some(r) = self.0.resolved.read().get(name) {
            return Ok(r.clone());
        }
        let def = Arc::new(match self.resolve(name) {
            Ok(def) => def,
            Err(e) => self.inherited_relationship(name).ok_or(e)?,
        });
        self.0.resolved.write().insert(name.to_owned(), def.clone());
        Ok(def)
    }

    /// A parent's relationship `name`, owned by this subclass (its key
    /// columns sit at the same positions: see `inheritance.rs`).
    fn inherited_relationship(&self, name: &str) -> Option<RelationshipDef> {
        let r = self.parent()?.relationship(name).ok()?;
        let mut def = (*r).clone();
        def.owner = self.clone();
        Some(def)
    }

    fn registry_models(&self) -> Vec<Model> {
        self.0
            .metadata
            .get()
            .and_then(Weak::upgrade)
            .map(|m| m.read().clone())
            .unwrap_or_default()
    }

    fn resolve(&self, name: &str) -> Result<RelationshipDef> {
        let models = self.registry_models();
        if models.is_empty() {
            return Err(rel_error(
                self,
                format!(
                    "model `{}` is not registered in a Metadata; relationships resolve through it",
                    self.name()
                ),
            ));
        }
        if let Some((id, rel)) = self
            .0
            .relationships
            .iter()
            .find(|(n, _)| n.as_str() == name)
        {
            return resolve_declared(self, id, rel, &models);
        }
        for m in &models {
            for (id, r) in &m.0.relationships {
                if r.target == self.name().as_str() && r.back_populates.as_deref() == Some(name) {
                    let declared = m.relationship(id.as_str())?;
                    return Ok(mirror(&declared, Ident::new(name)?));
                }
            }
        }
        Err(rel_error(
            self,
            format!(
                "no relationship `{}` on model `{}`",
                super::model::printable(name),
                self.name()
            ),
        ))
    }
}

fn find<'a>(models: &'a [Model], name: &str) -> Option<&'a Model> {
    models.iter().find(|m| m.name().as_str() == name)
}

fn resolve_declared(
    owner: &Model,
    name: &Ident,
    rel: &Relationship,
    models: &[Model],
) -> Result<RelationshipDef> {
    let describe = || format!("relationship `{name}` of model `{}`", owner.name());
    let target = find(models, &rel.target).cloned().ok_or_else(|| {
        rel_error(
            owner,
            format!(
                "{} targets unknown model `{}`",
                describe(),
                super::model::printable(&rel.target)
            ),
        )
    })?;
    let (local, remote, secondary) = match rel.kind {
        RelationshipKind::BelongsTo => {
            let fk = pick_fk(owner, &target, rel.foreign_key.as_deref(), &describe)?;
            (fk.columns.clone(), ref_positions(&target, fk)?, None)
        }
        RelationshipKind::HasMany | RelationshipKind::HasOne => {
            let fk = pick_fk(&target, owner, rel.foreign_key.as_deref(), &describe)?;
            (ref_positions(owner, fk)?, fk.columns.clone(), None)
        }
        RelationshipKind::ManyToMany => {
            let sec_name = rel.secondary.as_deref().ok_or_else(|| {
                rel_error(
                    owner,
                    format!("{} needs `secondary` or `through`", describe()),
                )
            })?;
            let sec = models
                .iter()
                .find(|m| m.name().as_str() == sec_name || m.table().as_str() == sec_name)
                .cloned()
                .ok_or_else(|| {
                    rel_error(
                        owner,
                        format!(
                            "{} goes through unknown model or table `{}`",
                            describe(),
                            super::model::printable(sec_name)
                        ),
                    )
                })?;
            let (to_owner_col, to_target_col) = match (&rel.secondary_columns, rel.auto_secondary) {
                (Some((a, b)), _) => (Some(a.clone()), Some(b.clone())),
                (None, true) => {
                    let (a, b) = default_columns(owner, &target)?;
                    (Some(a), Some(b))
                }
                (None, false) => (None, None),
            };
            let fk_o = pick_fk(&sec, owner, to_owner_col.as_deref(), &describe)?;
            let fk_t = pick_fk(&sec, &target, to_target_col.as_deref(), &describe)?;
            let secondary = Secondary {
                model: sec.clone(),
                to_owner: fk_o.columns.clone(),
                to_target: fk_t.columns.clone(),
            };
            (
                ref_positions(owner, fk_o)?,
                ref_positions(&target, fk_t)?,
                Some(secondary),
            )
        }
    };
    let order_by = match &rel.order_by {
        Some(c) => Some(target.column_index(c)?),
        None => None,
    };
    Ok(RelationshipDef {
        name: name.clone(),
        kind: rel.kind,
        owner: owner.clone(),
        target,
        local,
        remote,
        secondary,
        back_populates: rel.back_populates.clone(),
        cascade: rel.cascade,
        passive_deletes: rel.passive_deletes,
        strategy: rel.strategy,
        order_by,
    })
}

/// The implied mirror of a declared relationship.
fn mirror(d: &RelationshipDef, name: Ident) -> RelationshipDef {
    let kind = match d.kind {
        RelationshipKind::BelongsTo => RelationshipKind::HasMany,
        RelationshipKind::HasMany | RelationshipKind::HasOne => RelationshipKind::BelongsTo,
        RelationshipKind::ManyToMany => RelationshipKind::ManyToMany,
    };
    RelationshipDef {
        name,
        kind,
        owner: d.target.clone(),
        target: d.owner.clone(),
        local: d.remote.clone(),
        remote: d.local.clone(),
        secondary: d.secondary.as_ref().map(|s| Secondary {
            model: s.model.clone(),
            to_owner: s.to_target.clone(),
            to_target: s.to_owner.clone(),
        }),
        back_populates: Some(d.name.as_str().to_owned()),
        cascade: Cascade::default(),
        passive_deletes: false,
        strategy: LoadStrategy::Lazy,
        order_by: None,
    }
}

/// The one foreign key of `holder` to `target`'s table (containing `column` if given).
fn pick_fk<'a>(
    holder: &'a Model,
    target: &Model,
    column: Option<&str>,
    describe: &dyn Fn() -> String,
) -> Result<&'a ForeignKeyDef> {
    let col = column.map(|c| holder.column_index(c)).transpose()?;
    let fks: Vec<&ForeignKeyDef> = holder
        .foreign_keys()
        .iter()
        .filter(|fk| &fk.table == target.table())
        .filter(|fk| col.is_none_or(|c| fk.columns.contains(&c)))
        .collect();
    match fks.as_slice() {
        [one] => Ok(one),
        [] => Err(rel_error(
            holder,
            format!(
                "{}: model `{}` has no foreign key to table `{}`{}",
                describe(),
                holder.name(),
                target.table(),
                column
                    .map(|c| format!(" through column `{c}`"))
                    .unwrap_or_default()
            ),
        )),
        _ => Err(rel_error(
            holder,
            format!(
                "{}: model `{}` has several foreign keys to table `{}`; name one with `foreign_key`",
                describe(),
                holder.name(),
                target.table()
            ),
        )),
    }
}

fn ref_positions(target: &Model, fk: &ForeignKeyDef) -> Result<Vec<usize>> {
    fk.ref_columns
        .iter()
        .map(|c| target.column_index(c.as_str()))
        .collect()
}

/// `<owner>_<key>` and `<target>_<key>` in snake case.
fn default_columns(owner: &Model, target: &Model) -> Result<(String, String)> {
    let key = |m: &Model| -> Result<String> {
        match m.primary_key() {
            [k] => Ok(format!(
                "{}_{}",
                snake(m.name().as_str()),
                m.columns()[*k].name()
            )),
            _ => Err(rel_error(
                m,
                format!(
                    "model `{}` needs a single-column primary key for a declared association table",
                    m.name()
                ),
            )),
        }
    };
    let (a, b) = (key(owner)?, key(target)?);
    if a == b {
        return Err(rel_error(
            owner,
            format!(
                "a many-to-many of model `{}` with itself needs `secondary_columns`",
                owner.name()
            ),
        ));
    }
    Ok((a, b))
}

/// The association models dbridge declares for the many-to-many
/// relationships of `all` whose table is not registered yet.
pub(crate) fn association_models(all: &[Model]) -> Result<Vec<Model>> {
    let mut out: Vec<Model> = Vec::new();
    for owner in all {
        for (_, rel) in &owner.0.relationships {
            let (Some(table), true) = (&rel.secondary, rel.auto_secondary) else {
                continue;
            };
            let Some(target) = find(all, &rel.target) else {
                continue; // declared once the target is registered
            };
            let exists = |m: &Model| m.table().as_str() == table || m.name().as_str() == table;
            if all.iter().any(exists) || out.iter().any(exists) {
                continue;
            }
            let (a, b) = match &rel.secondary_columns {
                Some(cols) => cols.clone(),
                None => default_columns(owner, target)?,
            };
            let column = |name: &str, m: &Model| -> Result<Column> {
                let [k] = m.primary_key() else {
                    return Err(rel_error(
                        m,
                        format!(
                            "model `{}` needs a single-column primary key for a declared association table",
                            m.name()
                        ),
                    ));
                };
                let key = &m.columns()[*k];
                Ok(Column::new(name, key.sql_type().clone())
                    .primary_key()
                    .references(m.table().as_str(), key.name().as_str())
                    .on_delete(ReferentialAction::Cascade))
            };
            out.push(
                Model::builder(table.clone())
                    .table(table.clone())
                    .column(column(&a, owner)?)
                    .column(column(&b, target)?)
                    .build()?,
            );
        }
    }
    Ok(out)
}
