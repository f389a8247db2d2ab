//! [`SchemaSnapshot`]: a database schema as data, the common form of what
//! models declare ([`SchemaSnapshot::from_metadata`]) and what a live database
//! holds ([`super::introspect`]), so that the two can be compared.
//!
//! Names are [`Ident`]s, types are the backend's DDL spelling (with the
//! [`SqlType`] when dbridge knows it), referential actions and identities are
//! the [`crate::schema`] types. Expressions (defaults, CHECK conditions,
//! partial-index conditions, generation expressions) are SQL text as the
//! database would store it: a model's expressions are compiled to DDL text, a
//! live database's are read back from its catalog.

use crate::error::{Backend, Result};
use crate::ident::Ident;
use crate::schema::{Identity, ReferentialAction};
use crate::value::{EnumType, SqlType};

/// A whole schema: its tables and (PostgreSQL) enum types, sorted by name.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaSnapshot {
    /// The backend the snapshot is written for.
    pub backend: Backend,
    /// The tables, by name.
    pub tables: Vec<TableSnapshot>,
    /// The enum types (PostgreSQL; empty on SQLite), by name.
    pub enums: Vec<EnumType>,
    /// Tables of the live database left out because dbridge cannot name them
    /// safely (an identifier [`Ident`] refuses). A diff never touches them.
    pub skipped: Vec<String>,
}

impl SchemaSnapshot {
    /// An empty schema on `backend`.
    pub fn empty(backend: Backend) -> Self {
        Self {
            backend,
            tables: Vec::new(),
            enums: Vec::new(),
            skipped: Vec::new(),
        }
    }

    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableSnapshot> {
        self.tables
            .binary_search_by(|t| t.name.as_str().cmp(name))
            .ok()
            .map(|i| &self.tables[i])
    }

    /// The enum type named `name`.
    pub fn enum_type(&self, name: &str) -> Option<&EnumType> {
        self.enums.iter().find(|e| e.name == name)
    }

    /// Sorts tables and enums by name (the order [`SchemaSnapshot::table`] relies on).
    pub(crate) fn sort(&mut self) {
        self.tables.sort_by(|a, b| a.name.cmp(&b.name));
        self.enums.sort_by(|a, b| a.name.cmp(&b.name));
    }

    /// Builds a snapshot from declared models, as the database would show them
    /// once created on `backend`.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] for a declaration the backend cannot hold.
    pub fn from_metadata(meta: &crate::schema::Metadata, backend: Backend) -> Result<Self> {
        super::declared::snapshot(meta, backend)
    }
}

/// A table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableSnapshot {
    /// Its name.
    pub name: Ident,
    /// Its columns in order.
    pub columns: Vec<ColumnSnapshot>,
    /// Its primary key (the constraint's name is not compared).
    pub primary_key: Option<PrimaryKeySnapshot>,
    /// UNIQUE constraints.
    pub uniques: Vec<UniqueSnapshot>,
    /// Indexes that back no constraint.
    pub indexes: Vec<IndexSnapshot>,
    /// CHECK constraints.
    pub checks: Vec<CheckSnapshot>,
    /// Foreign keys.
    pub foreign_keys: Vec<ForeignKeySnapshot>,
}

impl TableSnapshot {
    /// A table named `name` with nothing in it yet (introspection fills it).
    pub(crate) fn empty(name: Ident) -> Self {
        Self {
            name,
            columns: Vec::new(),
            primary_key: None,
            uniques: Vec::new(),
            indexes: Vec::new(),
            checks: Vec::new(),
            foreign_keys: Vec::new(),
        }
    }

    /// The column named `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnSnapshot> {
        self.columns.iter().find(|c| c.name.as_str() == name)
    }

    /// Whether `column` is part of the primary key.
    pub fn is_primary_key(&self, column: &str) -> bool {
        self.primary_key
            .as_ref()
            .is_some_and(|pk| pk.columns.iter().any(|c| c.as_str() == column))
    }
}

/// A column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnSnapshot {
    /// Its name.
    pub name: Ident,
    /// Its type as the backend declares it (`varchar(100)`, `TEXT`...).
    pub ty: String,
    /// The type dbridge reads it as, when it knows it.
    pub sql_type: Option<SqlType>,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// The server default, as SQL text.
    pub default: Option<String>,
    /// How the database generates its values, if it does (an SQLite rowid
    /// alias and a PostgreSQL `serial` read as [`Identity::ByDefault`]).
    pub identity: Option<Identity>,
    /// The expression of a stored generated column, as SQL text.
    pub generated: Option<String>,
}

/// A primary key.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryKeySnapshot {
    /// The constraint's name, when the database keeps one.
    pub name: Option<Ident>,
    /// Its columns in order.
    pub columns: Vec<Ident>,
}

/// A UNIQUE constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueSnapshot {
    /// Its name.
    pub name: Ident,
    /// Its columns in order.
    pub columns: Vec<Ident>,
}

/// One key of an index: a column or an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexPart {
    /// A column.
    Column(Ident),
    /// An expression, as SQL text.
    Expression(String),
}

/// An index.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexSnapshot {
    /// Its name.
    pub name: Ident,
    /// Its keys in order.
    pub parts: Vec<IndexPart>,
    /// Whether it is unique.
    pub unique: bool,
    /// The condition of a partial index, as SQL text.
    pub filter: Option<String>,
    /// The access method when not the default (`gin`, `gist`...; PostgreSQL).
    pub method: Option<String>,
}

/// A CHECK constraint.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckSnapshot {
    /// Its name.
    pub name: Ident,
    /// Its condition, as SQL text.
    pub expr: String,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKeySnapshot {
    /// Its name.
    pub name: Ident,
    /// The referencing columns.
    pub columns: Vec<Ident>,
    /// The referenced table.
    pub ref_table: Ident,
    /// The referenced columns.
    pub ref_columns: Vec<Ident>,
    /// ON DELETE.
    pub on_delete: ReferentialAction,
    /// ON UPDATE.
    pub on_update: ReferentialAction,
}
