//! Conditions and joins along relationships: `any` on collections, `has` on
//! scalars (correlated EXISTS subqueries), and the ON condition of a join by
//! relationship name.

use crate::error::Result;
use crate::query::{Expr, Select, TableRef};

use super::model::Model;
use super::relationship::{RelationshipDef, RelationshipKind, rel_error};

/// Column `i` of model `m`, on table `t` (the model's table or an alias).
pub(crate) fn col(t: &TableRef, m: &Model, i: usize) -> Result<Expr> {
    t.col(m.columns()[i].name().as_str())
}

/// `a.ac = b.bc` for each pair of key columns, ANDed: the ON condition of a
/// join along a relationship (its keys on either side).
pub(crate) fn join_on(
    a: &TableRef,
    am: &Model,
    ac: &[usize],
    b: &TableRef,
    bm: &Model,
    bc: &[usize],
) -> Result<Expr> {
    Ok(all(and_eq(a, am, ac, b, bm, bc)?))
}

fn and_eq(
    a: &TableRef,
    am: &Model,
    ac: &[usize],
    b: &TableRef,
    bm: &Model,
    bc: &[usize],
) -> Result<Vec<Expr>> {
    ac.iter()
        .zip(bc)
        .map(|(&x, &y)| Ok(col(a, am, x)?.eq(col(b, bm, y)?)))
        .collect()
}

fn all(mut conds: Vec<Expr>) -> Expr {
    if conds.len() == 1 {
        conds.remove(0)
    } else {
        Expr::And(conds)
    }
}

impl RelationshipDef {
    /// The target's table in a subquery: aliased `<table>_related` when the
    /// relationship joins a model to itself (write conditions on
    /// `model.alias("<table>_related")` then).
    fn inner_table(&self) -> Result<TableRef> {
        if self.target.ptr_eq(&self.owner) {
            self.target
                .alias(&format!("{}_related", self.target.table()))
        } else {
            Ok(self.target.table_ref())
        }
    }

    /// `EXISTS (SELECT 1 FROM target WHERE <joined to the owner row> AND cond)`.
    ///
    /// # Errors
    /// Identifier errors for the alias.
    pub fn exists(&self, cond: Option<Expr>) -> Result<Expr> {
        let owner = self.owner.table_ref();
        let t = self.inner_table()?;
        let mut select = Select::from(t.clone()).column(Expr::val(1));
        let mut conds = match &self.secondary {
            Some(sec) => {
                let s = sec.model.table_ref();
                let on = all(and_eq(
                    &s,
                    &sec.model,
                    &sec.to_target,
                    &t,
                    &self.target,
                    &self.remote,
                )?);
                select = select.join(s.clone(), on);
                and_eq(
                    &s,
                    &sec.model,
                    &sec.to_owner,
                    &owner,
                    &self.owner,
                    &self.local,
                )?
            }
            None => and_eq(
                &t,
                &self.target,
                &self.remote,
                &owner,
                &self.owner,
                &self.local,
            )?,
        };
        conds.extend(cond);
        Ok(Expr::exists(select.filter(all(conds))))
    }

    /// The join from the owner's table to the target's: the tables to join
    /// with their ON conditions (two for a many-to-many).
    ///
    /// # Errors
    /// Unknown columns (never for a resolved relationship).
    pub fn join_path(&self) -> Result<Vec<(TableRef, Expr)>> {
        let owner = self.owner.table_ref();
        let t = self.target.table_ref();
        Ok(match &self.secondary {
            Some(sec) => {
                let s = sec.model.table_ref();
                vec![
                    (
                        s.clone(),
                        all(and_eq(
                            &owner,
                            &self.owner,
                            &self.local,
                            &s,
                            &sec.model,
                            &sec.to_owner,
                        )?),
                    ),
                    (
                        t.clone(),
                        all(and_eq(
                            &s,
                            &sec.model,
                            &sec.to_target,
                            &t,
                            &self.target,
                            &self.remote,
                        )?),
                    ),
                ]
            }
            None => vec![(
                t.clone(),
                all(and_eq(
                    &owner,
                    &self.owner,
                    &self.local,
                    &t,
                    &self.target,
                    &self.remote,
                )?),
            )],
        })
    }
}

impl Model {
    /// `EXISTS` a related row of the collection `name` (matching `cond`, if
    /// given): `user.any("posts", Some(post.col("title")?.like("A%")))`.
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for an unknown relationship, or one that is not a collection.
    pub fn any(&self, name: &str, cond: Option<Expr>) -> Result<Expr> {
        let rel = self.relationship(name)?;
        if !rel.kind.is_collection() {
            return Err(rel_error(
                self,
                format!("{} is not a collection: use `has`", rel.describe()),
            ));
        }
        rel.exists(cond)
    }

    /// `EXISTS` the related row of the scalar relationship `name` (matching `cond`).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for an unknown relationship, or a collection.
    pub fn has(&self, name: &str, cond: Option<Expr>) -> Result<Expr> {
        let rel = self.relationship(name)?;
        if rel.kind.is_collection() || rel.kind == RelationshipKind::ManyToMany {
            return Err(rel_error(
                self,
                format!("{} is a collection: use `any`", rel.describe()),
            ));
        }
        rel.exists(cond)
    }
}
