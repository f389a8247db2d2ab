//! SQLite: the changes its ALTER TABLE can make (add a plain column, rename a
//! column, create and drop tables and indexes) in place, and the others by
//! rebuilding the table as SQLite documents it
//! (<https://www.sqlite.org/lang_altertable.html#otheralter>): create the new
//! table under a temporary name, copy the rows, drop the old table, rename the
//! new one, create its indexes again.
//!
//! The statements are meant to run in one transaction with foreign keys off
//! and a `PRAGMA foreign_key_check` before commit, as the migration runner and
//! [`super::apply`] run them; with foreign keys on, dropping the old table
//! would run its ON DELETE actions on the rows that reference it.

use std::collections::HashSet;

use crate::db::Statement;
use crate::error::{Backend, Result};
use crate::ident::Ident;

use super::ddl::{column_def, create_index, create_table, drop_index, list, rename_column, stmt};
use super::diff::{Change, SchemaDiff};
use super::snapshot::{ColumnSnapshot, TableSnapshot};

/// The name a table is rebuilt under before it takes its own.
fn temporary_name(table: &Ident) -> Result<Ident> {
    let name = format!("_dbridge_new_{}", table.as_str());
    match Ident::for_backend(&name, Backend::Sqlite) {
        Ok(id) => Ok(id),
        Err(_) => Ident::for_backend("_dbridge_new_table", Backend::Sqlite),
    }
}

/// Whether `ALTER TABLE ADD COLUMN` can add `c` (SQLite's restrictions: no
/// primary key or rowid, no expression default, NOT NULL only with a default,
/// no stored generated column).
fn can_add(c: &ColumnSnapshot) -> bool {
    c.identity.is_none()
        && c.generated.is_none()
        && c.default
            .as_deref()
            .is_none_or(|d| !d.trim_start().starts_with('('))
        && (c.nullable || c.default.is_some())
}

fn needs_rebuild(c: &Change) -> bool {
    match c {
        Change::AddColumn { column, .. } => !can_add(column),
        Change::DropColumn { .. }
        | Change::AlterColumn { .. }
        | Change::AlterPrimaryKey { .. }
        | Change::AddUnique { .. }
        | Change::DropUnique { .. }
        | Change::AddCheck { .. }
        | Change::DropCheck { .. }
        | Change::AddForeignKey { .. }
        | Change::DropForeignKey { .. } => true,
        _ => false,
    }
}

pub(super) fn sqlite(diff: &SchemaDiff) -> Result<Vec<Statement>> {
    let backend = Backend::Sqlite;
    let changes = diff.changes();
    let rebuilt: HashSet<&Ident> = changes
        .iter()
        .filter(|c| needs_rebuild(c))
        .filter_map(Change::table)
        .collect();
    let mut out = Vec::new();
    for c in changes {
        match c {
            Change::RenameColumn { table, from, to } => out.push(rename_column(table, from, to)),
            Change::DropIndex { table, index } if !rebuilt.contains(table) => {
                out.push(drop_index(index));
            }
            _ => {}
        }
    }
    for c in changes {
        if let Change::DropTable(t) = c {
            out.push(stmt(format!("DROP TABLE {}", t.name.quoted())));
        }
    }
    for c in changes {
        match c {
            Change::CreateTable(t) => {
                out.push(create_table(t, &t.name, true, backend)?);
                out.extend(t.indexes.iter().map(|ix| create_index(&t.name, ix)));
            }
            Change::AddColumn { table, column } if !rebuilt.contains(table) => {
                out.push(stmt(format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    table.quoted(),
                    column_def(column, false, backend)?
                )));
            }
            _ => {}
        }
    }
    // Rebuilds, in the order of the target schema's tables.
    for t in &diff.to_schema().tables {
        if !rebuilt.contains(&t.name) {
            continue;
        }
        let Some(old) = diff.renamed().table(t.name.as_str()) else {
            continue;
        };
        rebuild(old, t, &mut out)?;
    }
    for c in changes {
        if let Change::AddIndex { table, index } = c
            && !rebuilt.contains(table)
        {
            out.push(create_index(table, index));
        }
    }
    Ok(out)
}

/// The rebuild of `old` into `new` (same name).
fn rebuild(old: &TableSnapshot, new: &TableSnapshot, out: &mut Vec<Statement>) -> Result<()> {
    let tmp = temporary_name(&new.name)?;
    out.push(create_table(new, &tmp, true, Backend::Sqlite)?);
    let copied: Vec<Ident> = new
        .columns
        .iter()
        .filter(|c| c.generated.is_none())
        .filter(|c| {
            old.column(c.name.as_str())
                .is_some_and(|o| o.generated.is_none())
        })
        .map(|c| c.name.clone())
        .collect();
    if !copied.is_empty() {
        let cols = list(&copied);
        out.push(stmt(format!(
            "INSERT INTO {} {cols} SELECT {} FROM {}",
            tmp.quoted(),
            cols.trim_start_matches('(').trim_end_matches(')'),
            old.name.quoted()
        )));
    }
    out.push(stmt(format!("DROP TABLE {}", old.name.quoted())));
    out.push(stmt(format!(
        "ALTER TABLE {} RENAME TO {}",
        tmp.quoted(),
        new.name.quoted()
    )));
    out.extend(new.indexes.iter().map(|ix| create_index(&new.name, ix)));
    Ok(())
}
