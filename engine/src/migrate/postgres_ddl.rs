//! PostgreSQL: every change in place with ALTER TABLE / CREATE / DROP, in an
//! order that keeps references valid (foreign keys dropped first and added
//! last, tables created before their indexes and keys).

use crate::db::Statement;
use crate::error::{Backend, Error, Result};
use crate::ident::Ident;
use crate::schema::{Identity, constraint_name};

use super::ddl::{
    column_def, create_index, create_table, drop_index, foreign_key_def, list, rename_column, stmt,
};
use super::diff::{Change, SchemaDiff};
use super::snapshot::ColumnSnapshot;

fn alter(table: &Ident, action: String) -> Statement {
    stmt(format!("ALTER TABLE {} {action}", table.quoted()))
}

fn enum_type_name(name: &str) -> Result<String> {
    Ok(Ident::new(name)?.quoted())
}

fn literal(s: &str) -> Result<String> {
    crate::dialect::literal(Backend::Postgres, &crate::Value::from(s))
}

/// PostgreSQL: everything in place, in an order that keeps references valid.
pub(super) fn postgres(diff: &SchemaDiff) -> Result<Vec<Statement>> {
    let changes = diff.changes();
    let mut out = Vec::new();
    let each = |f: &mut dyn FnMut(&Change) -> Result<()>| -> Result<()> {
        for c in changes {
            f(c)?;
        }
        Ok(())
    };
    each(&mut |c| {
        match c {
            Change::RenameColumn { table, from, to } => out.push(rename_column(table, from, to)),
            Change::CreateEnum(e) => {
                let labels = e
                    .labels
                    .iter()
                    .map(|l| literal(l))
                    .collect::<Result<Vec<_>>>()?;
                out.push(stmt(format!(
                    "CREATE TYPE {} AS ENUM ({})",
                    enum_type_name(&e.name)?,
                    labels.join(", ")
                )));
            }
            Change::AddEnumLabels { name, labels } => {
                for l in labels {
                    out.push(stmt(format!(
                        "ALTER TYPE {} ADD VALUE {}",
                        enum_type_name(name)?,
                        literal(l)?
                    )));
                }
            }
            Change::ChangeEnumLabels { from, .. } => {
                return Err(Error::Unsupported {
                    backend: Backend::Postgres,
                    feature: format!(
                        "removing or reordering the labels of enum type `{}` (write this migration by hand)",
                        from.name
                    ),
                });
            }
            Change::DropForeignKey { table, foreign_key } => out.push(alter(
                table,
                format!("DROP CONSTRAINT {}", foreign_key.name.quoted()),
            )),
            _ => {}
        }
        Ok(())
    })?;
    each(&mut |c| {
        match c {
            Change::DropIndex { index, .. } => out.push(drop_index(index)),
            Change::DropUnique { table, unique } => out.push(alter(
                table,
                format!("DROP CONSTRAINT {}", unique.name.quoted()),
            )),
            Change::DropCheck { table, check } => out.push(alter(
                table,
                format!("DROP CONSTRAINT {}", check.name.quoted()),
            )),
            Change::AlterPrimaryKey {
                table,
                from: Some(pk),
                ..
            } => {
                let name = match &pk.name {
                    Some(n) => n.clone(),
                    None => constraint_name("pk", &[table.as_str()])?,
                };
                out.push(alter(table, format!("DROP CONSTRAINT {}", name.quoted())));
            }
            _ => {}
        }
        Ok(())
    })?;
    let dropped: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::DropTable(t) => Some(t.name.quoted()),
            _ => None,
        })
        .collect();
    if !dropped.is_empty() {
        out.push(stmt(format!("DROP TABLE {}", dropped.join(", "))));
    }
    each(&mut |c| {
        match c {
            Change::CreateTable(t) => out.push(create_table(t, &t.name, false, Backend::Postgres)?),
            Change::AddColumn { table, column } => out.push(alter(
                table,
                format!(
                    "ADD COLUMN {}",
                    column_def(column, false, Backend::Postgres)?
                ),
            )),
            Change::DropColumn { table, column } => out.push(alter(
                table,
                format!("DROP COLUMN {}", column.name.quoted()),
            )),
            Change::AlterColumn { table, from, to } => alter_column(table, from, to, &mut out)?,
            _ => {}
        }
        Ok(())
    })?;
    each(&mut |c| {
        match c {
            Change::AlterPrimaryKey {
                table,
                to: Some(pk),
                ..
            } => {
                let name = match &pk.name {
                    Some(n) => n.clone(),
                    None => constraint_name("pk", &[table.as_str()])?,
                };
                out.push(alter(
                    table,
                    format!(
                        "ADD CONSTRAINT {} PRIMARY KEY {}",
                        name.quoted(),
                        list(&pk.columns)
                    ),
                ));
            }
            Change::AddUnique { table, unique } => out.push(alter(
                table,
                format!(
                    "ADD CONSTRAINT {} UNIQUE {}",
                    unique.name.quoted(),
                    list(&unique.columns)
                ),
            )),
            Change::AddCheck { table, check } => out.push(alter(
                table,
                format!(
                    "ADD CONSTRAINT {} CHECK ({})",
                    check.name.quoted(),
                    check.expr
                ),
            )),
            Change::AddIndex { table, index } => out.push(create_index(table, index)),
            Change::CreateTable(t) => {
                out.extend(t.indexes.iter().map(|ix| create_index(&t.name, ix)));
            }
            _ => {}
        }
        Ok(())
    })?;
    each(&mut |c| {
        match c {
            Change::AddForeignKey { table, foreign_key } => {
                out.push(alter(
                    table,
                    format!("ADD {}", foreign_key_def(foreign_key)),
                ));
            }
            Change::CreateTable(t) => {
                for fk in &t.foreign_keys {
                    out.push(alter(&t.name, format!("ADD {}", foreign_key_def(fk))));
                }
            }
            _ => {}
        }
        Ok(())
    })?;
    each(&mut |c| {
        if let Change::DropEnum(e) = c {
            out.push(stmt(format!("DROP TYPE {}", enum_type_name(&e.name)?)));
        }
        Ok(())
    })?;
    Ok(out)
}

fn alter_column(
    table: &Ident,
    from: &ColumnSnapshot,
    to: &ColumnSnapshot,
    out: &mut Vec<Statement>,
) -> Result<()> {
    let pg = Backend::Postgres;
    let col = to.name.quoted();
    if !super::normalize::same(from.generated.as_deref(), to.generated.as_deref()) {
        // A generation expression cannot be altered: the column is made anew
        // (its values are computed again).
        out.push(alter(table, format!("DROP COLUMN {col}")));
        out.push(alter(
            table,
            format!("ADD COLUMN {}", column_def(to, false, pg)?),
        ));
        return Ok(());
    }
    let type_changed = !from.ty.eq_ignore_ascii_case(&to.ty);
    let default_changed = !super::normalize::same(from.default.as_deref(), to.default.as_deref());
    if from.identity.is_some() && to.identity.is_none() {
        out.push(alter(table, format!("ALTER COLUMN {col} DROP IDENTITY")));
    }
    if from.default.is_some() && (default_changed || type_changed) {
        out.push(alter(table, format!("ALTER COLUMN {col} DROP DEFAULT")));
    }
    if type_changed {
        out.push(alter(
            table,
            format!("ALTER COLUMN {col} TYPE {ty} USING {col}::{ty}", ty = to.ty),
        ));
    }
    if let Some(d) = &to.default
        && (default_changed || type_changed)
    {
        out.push(alter(table, format!("ALTER COLUMN {col} SET DEFAULT {d}")));
    }
    if from.nullable != to.nullable {
        let what = if to.nullable { "DROP" } else { "SET" };
        out.push(alter(table, format!("ALTER COLUMN {col} {what} NOT NULL")));
    }
    match (from.identity, to.identity) {
        (None, Some(id)) | (Some(_), Some(id)) if from.identity != Some(id) => {
            let kind = match id {
                Identity::Always => "ALWAYS",
                Identity::ByDefault => "BY DEFAULT",
            };
            if from.identity.is_none() {
                out.push(alter(
                    table,
                    format!("ALTER COLUMN {col} ADD GENERATED {kind} AS IDENTITY"),
                ));
            } else {
                out.push(alter(
                    table,
                    format!("ALTER COLUMN {col} SET GENERATED {kind}"),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
