//! [`SchemaDiff`]: what changes turn one [`SchemaSnapshot`] into another,
//! typically the live database into what the models declare.
//!
//! Objects are matched by name: tables, columns, indexes and constraints. A
//! primary key is compared by its columns (its name is not kept by every
//! backend). Expressions are compared after normalisation (see `normalize.rs`).
//! Renames are never guessed: a column dropped and another of the same type
//! added in the same table are reported as a [`PossibleRename`], and stay a
//! drop and an add until [`SchemaDiff::rename_column`] confirms the rename.

use std::fmt;

use crate::db::Statement;
use crate::error::{Error, Result};
use crate::ident::Ident;

pub use super::change::Change;
use super::normalize::{normalize, same};
use super::snapshot::{
    ColumnSnapshot, ForeignKeySnapshot, IndexPart, IndexSnapshot, SchemaSnapshot, TableSnapshot,
};

/// A column dropped and another of the same type added in one table: perhaps
/// a rename. Confirm it with [`SchemaDiff::rename_column`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PossibleRename {
    /// The table.
    pub table: Ident,
    /// The dropped column.
    pub from: Ident,
    /// The added column.
    pub to: Ident,
}

impl fmt::Display for PossibleRename {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`{}`.`{}` dropped and `{}` added with the same type: a rename?",
            self.table, self.from, self.to
        )
    }
}

/// The changes from one schema to another, with the DDL for both directions.
///
/// # Examples
///
/// ```
/// use dbridge_engine::migrate::{SchemaDiff, SchemaSnapshot};
/// use dbridge_engine::schema::{Column, Metadata, Model};
/// use dbridge_engine::{Backend, SqlType};
/// let meta = Metadata::new();
/// meta.add(Model::builder("User").table("users")
///     .column(Column::new("id", SqlType::Int8).primary_key())
///     .build()?)?;
/// let live = SchemaSnapshot::empty(Backend::Sqlite);
/// let wanted = SchemaSnapshot::from_metadata(&meta, Backend::Sqlite)?;
/// let diff = SchemaDiff::between(&live, &wanted);
/// assert_eq!(diff.changes()[0].to_string(), "create table `users`");
/// assert_eq!(diff.up()?[0].sql(), r#"CREATE TABLE "users" ("id" INTEGER PRIMARY KEY)"#);
/// assert_eq!(diff.down()?[0].sql(), r#"DROP TABLE "users""#);
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct SchemaDiff {
    from: SchemaSnapshot,
    to: SchemaSnapshot,
    /// `from` with the confirmed renames applied (none: `from` itself): what
    /// the DDL after the renames works on.
    renamed: Option<SchemaSnapshot>,
    renames: Vec<PossibleRename>,
    changes: Vec<Change>,
    possible_renames: Vec<PossibleRename>,
}

impl SchemaDiff {
    /// The changes that turn `from` (usually the live database) into `to`
    /// (usually the declared models), for `to`'s backend.
    pub fn between(from: &SchemaSnapshot, to: &SchemaSnapshot) -> Self {
        Self::compute(from.clone(), to.clone(), Vec::new())
    }

    fn compute(from: SchemaSnapshot, to: SchemaSnapshot, renames: Vec<PossibleRename>) -> Self {
        let renamed = (!renames.is_empty()).then(|| apply_renames(&from, &renames));
        let base = renamed.as_ref().unwrap_or(&from);
        let mut changes: Vec<Change> = renames
            .iter()
            .map(|r| Change::RenameColumn {
                table: r.table.clone(),
                from: r.from.clone(),
                to: r.to.clone(),
            })
            .collect();
        let mut possible_renames = Vec::new();
        diff_enums(base, &to, &mut changes);
        for t in &to.tables {
            match base.table(t.name.as_str()) {
                None => changes.push(Change::CreateTable(t.clone())),
                Some(old) => diff_table(old, t, &mut changes, &mut possible_renames),
            }
        }
        for old in &base.tables {
            if to.table(old.name.as_str()).is_none() {
                changes.push(Change::DropTable(old.clone()));
            }
        }
        for e in &base.enums {
            if to.enum_type(&e.name).is_none() {
                changes.push(Change::DropEnum(e.clone()));
            }
        }
        Self {
            from,
            to,
            renamed,
            renames,
            changes,
            possible_renames,
        }
    }

    /// The changes, in a readable order (the DDL orders its statements itself).
    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// The changes that lose data: tables and columns dropped.
    pub fn drops(&self) -> Vec<&Change> {
        self.changes.iter().filter(|c| c.drops_data()).collect()
    }

    /// Whether the two schemas are the same.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Column drop + add pairs that may be renames.
    pub fn possible_renames(&self) -> &[PossibleRename] {
        &self.possible_renames
    }

    /// The schema the changes start from.
    pub fn from_schema(&self) -> &SchemaSnapshot {
        &self.from
    }

    /// The schema the changes lead to.
    pub fn to_schema(&self) -> &SchemaSnapshot {
        &self.to
    }

    pub(crate) fn renamed(&self) -> &SchemaSnapshot {
        self.renamed.as_ref().unwrap_or(&self.from)
    }

    /// Confirms that column `from` of `table` is renamed to `to` (instead of
    /// being dropped while `to` is added): the data is kept.
    ///
    /// # Errors
    /// [`Error::InvalidState`] when `from` is not a column of `table` as it is,
    /// or `to` not a column of `table` as wanted.
    pub fn rename_column(self, table: &str, from: &str, to: &str) -> Result<Self> {
        let found = |s: &SchemaSnapshot, c: &str| {
            s.table(table)
                .and_then(|t| t.column(c))
                .map(|c| c.name.clone())
        };
        let (Some(f), Some(t)) = (found(&self.from, from), found(&self.to, to)) else {
            return Err(Error::InvalidState(format!(
                "cannot rename `{table}`.`{from}` to `{to}`: no such columns on both sides"
            )));
        };
        let mut renames = self.renames;
        renames.push(PossibleRename {
            table: self
                .to
                .table(table)
                .map(|x| x.name.clone())
                .ok_or_else(|| Error::InvalidState(format!("no table `{table}`")))?,
            from: f,
            to: t,
        });
        Ok(Self::compute(self.from, self.to, renames))
    }

    /// The diff of the way back (from `to` to `from`, renames reversed).
    pub fn reverse(&self) -> SchemaDiff {
        let renames = self
            .renames
            .iter()
            .map(|r| PossibleRename {
                table: r.table.clone(),
                from: r.to.clone(),
                to: r.from.clone(),
            })
            .collect();
        Self::compute(self.to.clone(), self.from.clone(), renames)
    }

    /// The statements that apply the changes, in order, for the backend of the
    /// target schema. On SQLite, a table whose change ALTER TABLE cannot make
    /// is rebuilt (new table, copy, drop, rename); run them as the migration
    /// runner does, with foreign keys off and checked before commit.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a change the backend cannot make (enum labels
    /// removed or reordered).
    pub fn up(&self) -> Result<Vec<Statement>> {
        super::ddl::statements(self)
    }

    /// The statements that undo [`SchemaDiff::up`].
    ///
    /// # Errors
    /// As [`SchemaDiff::up`].
    pub fn down(&self) -> Result<Vec<Statement>> {
        self.reverse().up()
    }
}

fn apply_renames(from: &SchemaSnapshot, renames: &[PossibleRename]) -> SchemaSnapshot {
    let mut s = from.clone();
    for r in renames {
        let swap = |c: &mut Ident| {
            if *c == r.from {
                *c = r.to.clone();
            }
        };
        for t in &mut s.tables {
            if t.name == r.table {
                for c in &mut t.columns {
                    swap(&mut c.name);
                }
                if let Some(pk) = &mut t.primary_key {
                    pk.columns.iter_mut().for_each(swap);
                }
                for u in &mut t.uniques {
                    u.columns.iter_mut().for_each(swap);
                }
                for ix in &mut t.indexes {
                    for p in &mut ix.parts {
                        if let IndexPart::Column(c) = p {
                            swap(c);
                        }
                    }
                }
                for fk in &mut t.foreign_keys {
                    fk.columns.iter_mut().for_each(swap);
                }
            }
            for fk in &mut t.foreign_keys {
                if fk.ref_table == r.table {
                    fk.ref_columns.iter_mut().for_each(swap);
                }
            }
        }
    }
    s
}

fn diff_enums(from: &SchemaSnapshot, to: &SchemaSnapshot, out: &mut Vec<Change>) {
    for e in &to.enums {
        match from.enum_type(&e.name) {
            None => out.push(Change::CreateEnum(e.clone())),
            Some(old) if old.labels == e.labels => {}
            Some(old) if e.labels.starts_with(&old.labels) => out.push(Change::AddEnumLabels {
                name: e.name.clone(),
                labels: e.labels[old.labels.len()..].to_vec(),
            }),
            Some(old) => out.push(Change::ChangeEnumLabels {
                from: old.clone(),
                to: e.clone(),
            }),
        }
    }
}

pub(crate) fn column_differs(a: &ColumnSnapshot, b: &ColumnSnapshot) -> bool {
    !a.ty.eq_ignore_ascii_case(&b.ty)
        || a.nullable != b.nullable
        || !same(a.default.as_deref(), b.default.as_deref())
        || a.identity != b.identity
        || !same(a.generated.as_deref(), b.generated.as_deref())
}

fn part_eq(a: &IndexPart, b: &IndexPart) -> bool {
    match (a, b) {
        (IndexPart::Column(x), IndexPart::Column(y)) => x == y,
        (IndexPart::Expression(x), IndexPart::Expression(y)) => normalize(x) == normalize(y),
        (IndexPart::Column(c), IndexPart::Expression(e))
        | (IndexPart::Expression(e), IndexPart::Column(c)) => {
            normalize(e) == c.as_str().to_lowercase()
        }
    }
}

fn index_eq(a: &IndexSnapshot, b: &IndexSnapshot) -> bool {
    a.unique == b.unique
        && a.method == b.method
        && a.parts.len() == b.parts.len()
        && a.parts.iter().zip(&b.parts).all(|(x, y)| part_eq(x, y))
        && same(a.filter.as_deref(), b.filter.as_deref())
}

fn fk_eq(a: &ForeignKeySnapshot, b: &ForeignKeySnapshot) -> bool {
    a.columns == b.columns
        && a.ref_table == b.ref_table
        && a.ref_columns == b.ref_columns
        && a.on_delete == b.on_delete
        && a.on_update == b.on_update
}

/// The objects of one kind to drop and to add, matched by name.
fn named<T: Clone>(
    old: &[T],
    new: &[T],
    name: impl Fn(&T) -> &Ident,
    eq: impl Fn(&T, &T) -> bool,
) -> (Vec<T>, Vec<T>) {
    let drops = old
        .iter()
        .filter(|o| !new.iter().any(|n| name(n) == name(o) && eq(o, n)))
        .cloned()
        .collect();
    let adds = new
        .iter()
        .filter(|n| !old.iter().any(|o| name(o) == name(n) && eq(o, n)))
        .cloned()
        .collect();
    (drops, adds)
}

fn diff_table(
    old: &TableSnapshot,
    new: &TableSnapshot,
    out: &mut Vec<Change>,
    possible: &mut Vec<PossibleRename>,
) {
    let table = new.name.clone();
    let mut dropped = Vec::new();
    let mut added = Vec::new();
    for c in &new.columns {
        match old.column(c.name.as_str()) {
            None => added.push(c.clone()),
            Some(o) if column_differs(o, c) => out.push(Change::AlterColumn {
                table: table.clone(),
                from: o.clone(),
                to: c.clone(),
            }),
            Some(_) => {}
        }
    }
    for o in &old.columns {
        if new.column(o.name.as_str()).is_none() {
            dropped.push(o.clone());
        }
    }
    for d in &dropped {
        for a in &added {
            if d.ty.eq_ignore_ascii_case(&a.ty) {
                possible.push(PossibleRename {
                    table: table.clone(),
                    from: d.name.clone(),
                    to: a.name.clone(),
                });
            }
        }
    }
    out.extend(added.into_iter().map(|column| Change::AddColumn {
        table: table.clone(),
        column,
    }));
    out.extend(dropped.into_iter().map(|column| Change::DropColumn {
        table: table.clone(),
        column,
    }));
    let pk_cols = |t: &TableSnapshot| t.primary_key.as_ref().map(|p| p.columns.clone());
    if pk_cols(old) != pk_cols(new) {
        out.push(Change::AlterPrimaryKey {
            table: table.clone(),
            from: old.primary_key.clone(),
            to: new.primary_key.clone(),
        });
    }
    let t = &table;
    let (drops, adds) = named(&old.indexes, &new.indexes, |i| &i.name, index_eq);
    out.extend(drops.into_iter().map(|index| Change::DropIndex {
        table: t.clone(),
        index,
    }));
    out.extend(adds.into_iter().map(|index| Change::AddIndex {
        table: t.clone(),
        index,
    }));
    let (drops, adds) = named(
        &old.uniques,
        &new.uniques,
        |u| &u.name,
        |a, b| a.columns == b.columns,
    );
    out.extend(drops.into_iter().map(|unique| Change::DropUnique {
        table: t.clone(),
        unique,
    }));
    out.extend(adds.into_iter().map(|unique| Change::AddUnique {
        table: t.clone(),
        unique,
    }));
    let (drops, adds) = named(
        &old.checks,
        &new.checks,
        |c| &c.name,
        |a, b| same(Some(&a.expr), Some(&b.expr)),
    );
    out.extend(drops.into_iter().map(|check| Change::DropCheck {
        table: t.clone(),
        check,
    }));
    out.extend(adds.into_iter().map(|check| Change::AddCheck {
        table: t.clone(),
        check,
    }));
    let (drops, adds) = named(&old.foreign_keys, &new.foreign_keys, |f| &f.name, fk_eq);
    out.extend(drops.into_iter().map(|foreign_key| Change::DropForeignKey {
        table: t.clone(),
        foreign_key,
    }));
    out.extend(adds.into_iter().map(|foreign_key| Change::AddForeignKey {
        table: t.clone(),
        foreign_key,
    }));
}
