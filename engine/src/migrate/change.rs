//! [`Change`]: one change to a schema, as [`super::SchemaDiff`] lists them.

use std::fmt;

use crate::ident::Ident;
use crate::value::EnumType;

use super::normalize::same;
use super::snapshot::{
    CheckSnapshot, ColumnSnapshot, ForeignKeySnapshot, IndexSnapshot, PrimaryKeySnapshot,
    TableSnapshot, UniqueSnapshot,
};

/// One change to a schema.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// A new enum type (PostgreSQL).
    CreateEnum(EnumType),
    /// An enum type no longer used (PostgreSQL).
    DropEnum(EnumType),
    /// Labels appended to an enum type (PostgreSQL).
    AddEnumLabels {
        /// The type.
        name: String,
        /// The labels appended, in order.
        labels: Vec<String>,
    },
    /// Labels removed or reordered: no DDL can do it in place.
    ChangeEnumLabels {
        /// The type as it is.
        from: EnumType,
        /// The type as wanted.
        to: EnumType,
    },
    /// A new table.
    CreateTable(TableSnapshot),
    /// A table to drop (its definition kept for the way back).
    DropTable(TableSnapshot),
    /// A confirmed column rename.
    RenameColumn {
        /// The table.
        table: Ident,
        /// The old name.
        from: Ident,
        /// The new name.
        to: Ident,
    },
    /// A new column.
    AddColumn {
        /// The table.
        table: Ident,
        /// The column.
        column: ColumnSnapshot,
    },
    /// A column to drop.
    DropColumn {
        /// The table.
        table: Ident,
        /// The column as it is.
        column: ColumnSnapshot,
    },
    /// A column whose type, nullability, default, identity or generation changes.
    AlterColumn {
        /// The table.
        table: Ident,
        /// The column as it is.
        from: ColumnSnapshot,
        /// The column as wanted.
        to: ColumnSnapshot,
    },
    /// The primary key changes.
    AlterPrimaryKey {
        /// The table.
        table: Ident,
        /// The key as it is.
        from: Option<PrimaryKeySnapshot>,
        /// The key as wanted.
        to: Option<PrimaryKeySnapshot>,
    },
    /// A new index.
    AddIndex {
        /// The table.
        table: Ident,
        /// The index.
        index: IndexSnapshot,
    },
    /// An index to drop.
    DropIndex {
        /// The table.
        table: Ident,
        /// The index.
        index: IndexSnapshot,
    },
    /// A new UNIQUE constraint.
    AddUnique {
        /// The table.
        table: Ident,
        /// The constraint.
        unique: UniqueSnapshot,
    },
    /// A UNIQUE constraint to drop.
    DropUnique {
        /// The table.
        table: Ident,
        /// The constraint.
        unique: UniqueSnapshot,
    },
    /// A new CHECK constraint.
    AddCheck {
        /// The table.
        table: Ident,
        /// The constraint.
        check: CheckSnapshot,
    },
    /// A CHECK constraint to drop.
    DropCheck {
        /// The table.
        table: Ident,
        /// The constraint.
        check: CheckSnapshot,
    },
    /// A new foreign key.
    AddForeignKey {
        /// The table.
        table: Ident,
        /// The foreign key.
        foreign_key: ForeignKeySnapshot,
    },
    /// A foreign key to drop.
    DropForeignKey {
        /// The table.
        table: Ident,
        /// The foreign key.
        foreign_key: ForeignKeySnapshot,
    },
}

impl Change {
    /// The table the change is on (none for enum types).
    pub fn table(&self) -> Option<&Ident> {
        match self {
            Self::CreateEnum(_)
            | Self::DropEnum(_)
            | Self::AddEnumLabels { .. }
            | Self::ChangeEnumLabels { .. } => None,
            Self::CreateTable(t) | Self::DropTable(t) => Some(&t.name),
            Self::RenameColumn { table, .. }
            | Self::AddColumn { table, .. }
            | Self::DropColumn { table, .. }
            | Self::AlterColumn { table, .. }
            | Self::AlterPrimaryKey { table, .. }
            | Self::AddIndex { table, .. }
            | Self::DropIndex { table, .. }
            | Self::AddUnique { table, .. }
            | Self::DropUnique { table, .. }
            | Self::AddCheck { table, .. }
            | Self::DropCheck { table, .. }
            | Self::AddForeignKey { table, .. }
            | Self::DropForeignKey { table, .. } => Some(table),
        }
    }
}

impl Change {
    /// Whether the change loses data: a table or a column dropped.
    pub fn drops_data(&self) -> bool {
        matches!(self, Self::DropTable(_) | Self::DropColumn { .. })
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateEnum(e) => write!(f, "create enum type `{}`", e.name),
            Self::DropEnum(e) => write!(f, "drop enum type `{}`", e.name),
            Self::AddEnumLabels { name, labels } => {
                write!(f, "add labels {labels:?} to enum type `{name}`")
            }
            Self::ChangeEnumLabels { from, .. } => {
                write!(f, "change the labels of enum type `{}`", from.name)
            }
            Self::CreateTable(t) => write!(f, "create table `{}`", t.name),
            Self::DropTable(t) => write!(f, "drop table `{}`", t.name),
            Self::RenameColumn { table, from, to } => {
                write!(f, "rename column `{table}`.`{from}` to `{to}`")
            }
            Self::AddColumn { table, column } => {
                write!(f, "add column `{table}`.`{}`", column.name)
            }
            Self::DropColumn { table, column } => {
                write!(f, "drop column `{table}`.`{}`", column.name)
            }
            Self::AlterColumn { table, from, to } => {
                write!(f, "alter column `{table}`.`{}`:", from.name)?;
                if !from.ty.eq_ignore_ascii_case(&to.ty) {
                    write!(f, " type {} -> {}", from.ty, to.ty)?;
                }
                if from.nullable != to.nullable {
                    f.write_str(if to.nullable {
                        " drop not null"
                    } else {
                        " set not null"
                    })?;
                }
                if !same(from.default.as_deref(), to.default.as_deref()) {
                    f.write_str(" default")?;
                }
                if from.identity != to.identity {
                    f.write_str(" identity")?;
                }
                if !same(from.generated.as_deref(), to.generated.as_deref()) {
                    f.write_str(" generated")?;
                }
                Ok(())
            }
            Self::AlterPrimaryKey { table, .. } => write!(f, "change the primary key of `{table}`"),
            Self::AddIndex { table, index } => write!(f, "add index `{}` on `{table}`", index.name),
            Self::DropIndex { table, index } => {
                write!(f, "drop index `{}` on `{table}`", index.name)
            }
            Self::AddUnique { table, unique } => {
                write!(f, "add unique constraint `{}` on `{table}`", unique.name)
            }
            Self::DropUnique { table, unique } => {
                write!(f, "drop unique constraint `{}` on `{table}`", unique.name)
            }
            Self::AddCheck { table, check } => {
                write!(f, "add check constraint `{}` on `{table}`", check.name)
            }
            Self::DropCheck { table, check } => {
                write!(f, "drop check constraint `{}` on `{table}`", check.name)
            }
            Self::AddForeignKey { table, foreign_key } => {
                write!(f, "add foreign key `{}` on `{table}`", foreign_key.name)
            }
            Self::DropForeignKey { table, foreign_key } => {
                write!(f, "drop foreign key `{}` on `{table}`", foreign_key.name)
            }
        }
    }
}
