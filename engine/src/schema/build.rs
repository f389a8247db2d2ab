//! Validation of a [`ModelBuilder`](super::ModelBuilder) into a [`Model`]: every
//! name through [`Ident`], every type parsed, every reference resolved.

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::query::Expr;
use crate::query::visit::walk;
use crate::value::{SqlType, Value};

use super::column::{Column, ColumnDef, Identity, ServerDefault, TypeSpec};
use super::constraint::{CheckDef, ForeignKeyDef, IndexDef, UniqueDef};
use super::model::{Model, ModelInner, Parts, printable};
use super::naming::constraint_name;
use super::schema_error;

struct Ctx<'a> {
    model: &'a str,
}

impl Ctx<'_> {
    fn err(&self, column: Option<&str>, msg: impl Into<String>) -> Error {
        schema_error(self.model, column, msg)
    }

    fn ident(&self, what: &str, column: Option<&str>, name: &str) -> Result<Ident> {
        Ident::new(name).map_err(|e| match e {
            Error::InvalidIdentifier { reason, .. } => self.err(
                column,
                format!(
                    "invalid {what} name {:?} on model `{}`: {reason}",
                    name.chars().take(80).collect::<String>(),
                    printable(self.model)
                ),
            ),
            other => other,
        })
    }
}

pub(super) fn build(b: impl Into<Parts>) -> Result<Model> {
    let mut b: Parts = b.into();
    let decl = std::mem::take(&mut b.inherit);
    if let Some(parent) = &decl.parent {
        let kind = super::inheritance::kind_of(parent, b.table.as_deref(), decl.concrete);
        if kind == super::InheritanceKind::Single {
            b.table = Some(parent.table().as_str().to_owned());
        }
        let mut columns = super::inheritance::inherited_columns(parent);
        columns.append(&mut b.columns);
        b.columns = columns;
    }
    let ctx = Ctx { model: &b.name };
    let name = Ident::new(&b.name).map_err(|e| match e {
        Error::InvalidIdentifier { reason, .. } => ctx.err(
            None,
            format!(
                "invalid model name {:?}: {reason}",
                b.name.chars().take(80).collect::<String>()
            ),
        ),
        other => other,
    })?;
    let ctx = Ctx {
        model: name.as_str(),
    };
    let table = ctx.ident("table", None, b.table.as_deref().unwrap_or(&b.name))?;
    if b.columns.is_empty() {
        return Err(ctx.err(None, format!("model `{name}` has no columns")));
    }

    let mut columns = Vec::with_capacity(b.columns.len());
    let mut seen = HashSet::new();
    for c in &b.columns {
        let col = column_def(&ctx, c)?;
        if !seen.insert(col.name.clone()) {
            return Err(ctx.err(
                Some(&c.name),
                format!("duplicate column `{}` on model `{name}`", col.name),
            ));
        }
        columns.push(col);
    }
    // Primary key and identity.
    let primary_key: Vec<usize> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| c.primary_key)
        .map(|(i, _)| i)
        .collect();
    for (decl, col) in b.columns.iter().zip(columns.iter_mut()) {
        col.identity = match decl.identity {
            Some(explicit) => explicit,
            None if primary_key.len() == 1
                && col.primary_key
                && col.ty.is_integer()
                && col.default.is_none()
                && col.generated.is_none() =>
            {
                Some(Identity::ByDefault)
            }
            None => None,
        };
        if col.identity.is_some() && !col.ty.is_integer() {
            return Err(ctx.err(
                Some(&decl.name),
                format!(
                    "column `{}` on model `{name}` is an identity but its type {} is not an integer type",
                    col.name, col.ty
                ),
            ));
        }
    }
    let position = |column: &str| -> Result<usize> {
        let id = ctx.ident("column", Some(column), column)?;
        columns
            .iter()
            .position(|c| c.name == id)
            .ok_or_else(|| ctx.err(Some(column), format!("no column `{id}` on model `{name}`")))
    };
    let check_expr = |what: &str, column: Option<&str>, e: &Expr| -> Result<()> {
        let mut result = Ok(());
        walk(e, &mut |node| {
            if let Expr::Column(c) = node
                && result.is_ok()
            {
                if c.qualifier.is_some() {
                    result = Err(ctx.err(
                        column,
                        format!(
                            "{what} on model `{name}` must use unqualified columns (Expr::col)"
                        ),
                    ));
                } else if !columns.iter().any(|d| d.name == c.name) {
                    result = Err(ctx.err(
                        column,
                        format!("{what} on model `{name}` names no column `{}`", c.name),
                    ));
                }
            }
        });
        result
    };

    for (decl, col) in b.columns.iter().zip(columns.iter()) {
        if col.generated.is_some() && (col.primary_key || col.default.is_some()) {
            return Err(ctx.err(
                Some(&decl.name),
                format!(
                    "generated column `{}` on model `{name}` cannot be a primary key or have a default",
                    col.name
                ),
            ));
        }
        if let Some(g) = &col.generated {
            check_expr("the generation expression", Some(&decl.name), g)?;
        }
        if let Some(super::ServerDefault::Expr(e)) = &col.default {
            check_expr("the default", Some(&decl.name), e)?;
        }
    }

    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    let mut checks = Vec::new();
    let mut foreign_keys = Vec::new();
    for c in &b.columns {
        let cname = columns[position(&c.name)?].name.clone();
        if c.unique {
            uniques.push(UniqueDef {
                name: constraint_name("uq", &[table.as_str(), cname.as_str()])?,
                columns: vec![position(&c.name)?],
            });
        }
        if c.index {
            indexes.push(IndexDef {
                name: constraint_name("ix", &[table.as_str(), cname.as_str()])?,
                columns: vec![position(&c.name)?],
                unique: false,
                filter: None,
            });
        }
        if let Some(e) = &c.check {
            check_expr("the check", Some(&c.name), e)?;
            checks.push(CheckDef {
                name: constraint_name("ck", &[table.as_str(), cname.as_str()])?,
                expr: e.clone(),
            });
        }
        if let Some((t, rc)) = &c.references {
            let rt = ctx.ident("referenced table", Some(&c.name), t)?;
            let rcol = ctx.ident("referenced column", Some(&c.name), rc)?;
            foreign_keys.push(ForeignKeyDef {
                name: constraint_name("fk", &[table.as_str(), cname.as_str(), rt.as_str()])?,
                columns: vec![position(&c.name)?],
                table: rt,
                ref_columns: vec![rcol],
                on_delete: c.on_delete,
                on_update: c.on_update,
            });
        }
    }
    for (cname, cols) in &b.uniques {
        let positions = cols
            .iter()
            .map(|c| position(c))
            .collect::<Result<Vec<_>>>()?;
        let name = match cname {
            Some(n) => ctx.ident("constraint", None, n)?,
            None => named("uq", &table, &columns, &positions)?,
        };
        uniques.push(UniqueDef {
            name,
            columns: positions,
        });
    }
    for ix in &b.indexes {
        if ix.columns.is_empty() {
            return Err(ctx.err(None, format!("an index on model `{name}` has no columns")));
        }
        let positions = ix
            .columns
            .iter()
            .map(|c| position(c))
            .collect::<Result<Vec<_>>>()?;
        if let Some(f) = &ix.filter {
            check_expr("the index condition", None, f)?;
        }
        let iname = match &ix.name {
            Some(n) => ctx.ident("index", None, n)?,
            None => named(
                if ix.unique { "ux" } else { "ix" },
                &table,
                &columns,
                &positions,
            )?,
        };
        indexes.push(IndexDef {
            name: iname,
            columns: positions,
            unique: ix.unique,
            filter: ix.filter.clone(),
        });
    }
    for (cname, e) in &b.checks {
        check_expr("the check", None, e)?;
        checks.push(CheckDef {
            name: ctx.ident("constraint", None, cname)?,
            expr: e.clone(),
        });
    }
    for fk in &b.foreign_keys {
        let positions = fk
            .columns
            .iter()
            .map(|c| position(c))
            .collect::<Result<Vec<_>>>()?;
        let rt = ctx.ident("referenced table", None, &fk.table)?;
        let rcols = fk
            .ref_columns
            .iter()
            .map(|c| ctx.ident("referenced column", None, c))
            .collect::<Result<Vec<_>>>()?;
        if rcols.len() != positions.len() || positions.is_empty() {
            return Err(ctx.err(
                None,
                format!(
                    "a foreign key on model `{name}` has {} column(s) but references {}",
                    positions.len(),
                    rcols.len()
                ),
            ));
        }
        let fname = match &fk.name {
            Some(n) => ctx.ident("constraint", None, n)?,
            None => {
                let mut parts = vec![table.as_str()];
                parts.extend(positions.iter().map(|&i| columns[i].name.as_str()));
                parts.push(rt.as_str());
                constraint_name("fk", &parts)?
            }
        };
        foreign_keys.push(ForeignKeyDef {
            name: fname,
            columns: positions,
            table: rt,
            ref_columns: rcols,
            on_delete: fk.on_delete,
            on_update: fk.on_update,
        });
    }

    let mut names = HashSet::new();
    for n in uniques
        .iter()
        .map(|u| &u.name)
        .chain(indexes.iter().map(|i| &i.name))
        .chain(checks.iter().map(|c| &c.name))
        .chain(foreign_keys.iter().map(|f| &f.name))
    {
        if !names.insert(n.clone()) {
            return Err(ctx.err(
                None,
                format!("two constraints or indexes on model `{name}` are named `{n}`"),
            ));
        }
    }

    let relationships = relationships(&ctx, &b.relationships)?;
    // A subclass has its parent's foreign keys first (the columns are at the
    // same positions), so that flush order and relationships see them.
    let own_fks_from = match &decl.parent {
        Some(p) => {
            let mut all = p.foreign_keys().to_vec();
            all.append(&mut foreign_keys);
            foreign_keys = all;
            p.foreign_keys().len()
        }
        None => 0,
    };
    let mut inner = ModelInner::new(
        name,
        table,
        columns,
        primary_key,
        foreign_keys,
        indexes,
        uniques,
        checks,
    )?;
    inner.relationships = relationships;
    inner.inherit.own_fks_from = own_fks_from;
    super::inheritance::settle(&mut inner, decl)?;
    let model = Model(Arc::new(inner));
    // Foreign keys to the model's own table can be checked now.
    for fk in model.foreign_keys() {
        if &fk.table == model.table() {
            super::metadata::check_fk_target(&model, fk, &model)?;
        }
    }
    Ok(model)
}

fn named(prefix: &str, table: &Ident, columns: &[ColumnDef], positions: &[usize]) -> Result<Ident> {
    let mut parts = vec![table.as_str()];
    parts.extend(positions.iter().map(|&i| columns[i].name.as_str()));
    constraint_name(prefix, &parts)
}

fn column_def(ctx: &Ctx<'_>, c: &Column) -> Result<ColumnDef> {
    let name = ctx.ident("column", Some(&c.name), &c.name)?;
    let ty = match &c.ty {
        TypeSpec::Type(t) => t.clone(),
        TypeSpec::Name(n) => n.parse::<SqlType>().map_err(|_| {
            ctx.err(
                Some(&c.name),
                format!(
                    "unknown type `{}` for column `{name}` on model `{}`",
                    printable(n.trim()),
                    ctx.model
                ),
            )
        })?,
    };
    if let SqlType::Enum(e) = &ty {
        ctx.ident("enum type", Some(&c.name), &e.name)?;
        if e.labels.is_empty() {
            return Err(ctx.err(
                Some(&c.name),
                format!(
                    "enum type `{}` of column `{name}` on model `{}` has no labels",
                    e.name, ctx.model
                ),
            ));
        }
    }
    if let Some(g) = &c.group {
        // Named in loader options and error messages: a plain name.
        ctx.ident("deferred group", Some(&c.name), g)?;
    }
    if let Some(ServerDefault::Value(Value::Bytes(_))) = &c.default
        && ty != SqlType::Bytea
    {
        // Bytes (a script string that is not UTF-8) would be written as a
        // bytea literal and stored as its hex text form.
        return Err(ctx.err(
            Some(&c.name),
            format!(
                "the default of column `{name}` on model `{}` is bytes, not text: \
                 only a bytea column takes a bytes default",
                ctx.model
            ),
        ));
    }
    Ok(ColumnDef {
        name,
        ty,
        primary_key: c.primary_key,
        nullable: c.nullable.unwrap_or(!c.primary_key) && !c.primary_key,
        default: c.default.clone(),
        default_factory: c.default_factory.clone(),
        generated: c.generated.clone(),
        identity: None,
        deferred: c.deferred,
        group: c.group.clone(),
    })
}

fn relationships(
    ctx: &Ctx<'_>,
    rels: &[(String, super::Relationship)],
) -> Result<super::relationship::Declared> {
    let mut out: super::relationship::Declared = Vec::with_capacity(rels.len());
    for (name, rel) in rels {
        let id = ctx.ident("relationship", None, name)?;
        if out.iter().any(|(n, _)| n == &id) {
            return Err(ctx.err(
                None,
                format!(
                    "two relationships on model `{}` are named `{id}`",
                    ctx.model
                ),
            ));
        }
        out.push((id, rel.clone()));
    }
    Ok(out)
}
