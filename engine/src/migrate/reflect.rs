//! Live tables as [`Model`]s, for hosts that work on a database nobody
//! declared models for (the REPL reflects the tables it finds).
//!
//! A model carries what a query or a session needs: columns and their types,
//! nullability, the primary key and identity, unique constraints, plain
//! indexes and foreign keys. A default is carried when it is a constant or
//! `now()` / `CURRENT_DATE`; CHECK constraints, generation expressions,
//! partial and expression indexes are left out (the database still enforces
//! them). A table with a column of a type dbridge cannot read is left out.
//! Each foreign key also gives a pair of relationships, a many-to-one on its
//! table and the reverse on the table it references, named by the rule in
//! `reflect_relations.rs` (`tracks.album_id` -> `tracks.album` and
//! `albums.tracks`).
//!
//! The bindings' `db:reflect()` and their migrators' `models = other_db`
//! both come here: [`Reflected::from_database`] (or
//! [`Reflected::from_transaction`] in a migration), then
//! [`Reflected::merge`] or [`Reflected::complete`].

use std::collections::HashSet;

use crate::db::{Database, Transaction};
use crate::error::{Error, Result};
use crate::query::Expr;
use crate::schema::{Column, ForeignKey, Index, Metadata, Model, ServerDefault};
use crate::value::Value;

use super::introspect::{IntrospectOptions, introspect, introspect_in};
use super::normalize::normalize;
use super::reflect_relations::{Derived, derive};
use super::snapshot::{IndexPart, SchemaSnapshot, TableSnapshot};

/// Models reflected from a [`SchemaSnapshot`], and the tables left out.
#[derive(Debug, Clone)]
pub struct Reflected {
    /// One model per table, named after its table.
    pub metadata: Metadata,
    /// Tables left out, with the reason.
    pub left_out: Vec<(String, String)>,
    /// Relationships the foreign keys would give but whose names clash, as
    /// `(table, relationship, why)` (see the module notes for the rule).
    pub relationships_left_out: Vec<(String, String, String)>,
}

impl Reflected {
    /// The tables of `db` as models, the migration history table
    /// `history_table` left out.
    ///
    /// # Errors
    /// Database errors while reading the catalog.
    pub async fn from_database(db: &Database, history_table: &str) -> Result<Self> {
        let options = IntrospectOptions::default().exclude(history_table);
        Ok(introspect(db, &options).await?.to_metadata())
    }

    /// The tables as `tx` sees them (with those its own statements made) as
    /// models, the migration history table `history_table` left out.
    ///
    /// # Errors
    /// Database errors while reading the catalog.
    pub async fn from_transaction(tx: &mut Transaction, history_table: &str) -> Result<Self> {
        let options = IntrospectOptions::default().exclude(history_table);
        Ok(introspect_in(tx, &options).await?.to_metadata())
    }

    /// Every table as a model, for comparing a schema with: an error naming
    /// the first table that could not be one (a diff would drop it).
    ///
    /// # Errors
    /// [`Error::InvalidState`] when a table was left out.
    pub fn complete(self) -> Result<Metadata> {
        match self.left_out.first() {
            Some((table, why)) => Err(Error::InvalidState(format!(
                "table `{table}` of the models database cannot be a model: {why}"
            ))),
            None => Ok(self.metadata),
        }
    }

    /// What `db:reflect()` gives a script: adds to `into` the models of the
    /// tables it does not hold yet, and returns every model of `into` whose
    /// table `declared` does not map. The new models are added at once and
    /// those of declared tables too (they are not returned), so that a foreign
    /// key to any other table of the database resolves.
    ///
    /// # Errors
    /// [`Error::Schema`] when `into` refuses a model.
    pub fn merge(&self, declared: &Metadata, into: &Metadata) -> Result<Vec<Model>> {
        let new = self
            .metadata
            .models()
            .into_iter()
            .filter(|m| into.get(m.name().as_str()).is_none())
            .map(|m| m.unregistered_copy());
        into.add_all(new)?;
        Ok(into
            .models()
            .into_iter()
            .filter(|m| declared.by_table(m.table().as_str()).is_none())
            .collect())
    }
}

/// A default that a model can carry: a constant or a clock keyword.
pub(super) fn default_of(text: &str) -> Option<ServerDefault> {
    let n = normalize(text);
    match n.as_str() {
        "now" | "current_timestamp" => return Some(ServerDefault::Expr(Expr::now())),
        "current_date" => return Some(ServerDefault::Expr(Expr::current_date())),
        "true" => return Some(ServerDefault::Value(Value::Bool(true))),
        "false" => return Some(ServerDefault::Value(Value::Bool(false))),
        "null" => return None,
        "date 'now'" => return Some(ServerDefault::Expr(Expr::current_date())),
        _ => {}
    }
    // SQLite's `now()` as dbridge writes it, and its usual spellings.
    if (n.starts_with("strftime ") || n.starts_with("datetime ")) && n.ends_with(", 'now'") {
        return Some(ServerDefault::Expr(Expr::now()));
    }
    if let Some(s) = n.strip_prefix('\'').and_then(|s| s.strip_suffix('\''))
        && !s.contains('\'')
    {
        return Some(ServerDefault::Value(Value::Text(s.to_owned())));
    }
    if let Ok(i) = n.parse::<i64>() {
        return Some(ServerDefault::Value(Value::Int8(i)));
    }
    if n.contains('.')
        && let Ok(x) = n.parse::<crate::Numeric>()
    {
        return Some(ServerDefault::Value(Value::Numeric(x)));
    }
    None
}

impl TableSnapshot {
    /// A model of this table, named after it (see the module notes for what
    /// it carries).
    ///
    /// # Errors
    /// [`Error::Schema`] when a column's type is unknown to dbridge, or the
    /// model does not validate.
    pub fn to_model(&self) -> Result<Model> {
        self.model_with(None, &[])
    }

    fn model_with(&self, known: Option<&HashSet<&str>>, relations: &[Derived]) -> Result<Model> {
        let pk: Vec<&str> = self
            .primary_key
            .as_ref()
            .map(|p| p.columns.iter().map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let mut b = Model::builder(self.name.as_str()).table(self.name.as_str());
        for c in &self.columns {
            let Some(ty) = &c.sql_type else {
                return Err(Error::Schema {
                    model: self.name.as_str().to_owned(),
                    column: Some(c.name.as_str().to_owned()),
                    message: format!(
                        "column `{}` of table `{}` has type {}, which dbridge cannot read",
                        c.name, self.name, c.ty
                    ),
                });
            };
            let mut col = Column::new(c.name.as_str(), ty.clone()).identity(c.identity);
            if pk.contains(&c.name.as_str()) {
                col = col.primary_key();
            }
            if !c.nullable {
                col = col.not_null();
            }
            if let Some(d) = c.default.as_deref().and_then(default_of) {
                col = col.default(d);
            }
            b = b.column(col);
        }
        for u in &self.uniques {
            b = b.unique_named(u.name.as_str(), u.columns.iter().map(|c| c.as_str()));
        }
        for ix in self.indexes.iter().filter(|i| i.filter.is_none()) {
            let cols: Option<Vec<&str>> = ix
                .parts
                .iter()
                .map(|p| match p {
                    IndexPart::Column(c) => Some(c.as_str()),
                    IndexPart::Expression(_) => None,
                })
                .collect();
            if let Some(cols) = cols {
                let mut i = Index::new(cols).named(ix.name.as_str());
                if ix.unique {
                    i = i.unique();
                }
                b = b.index(i);
            }
        }
        for fk in &self.foreign_keys {
            if known.is_some_and(|k| !k.contains(fk.ref_table.as_str())) {
                continue;
            }
            b = b.foreign_key(
                ForeignKey::new(
                    fk.columns.iter().map(|c| c.as_str()),
                    fk.ref_table.as_str(),
                    fk.ref_columns.iter().map(|c| c.as_str()),
                )
                .named(fk.name.as_str())
                .on_delete(fk.on_delete)
                .on_update(fk.on_update),
            );
        }
        for r in relations {
            b = b.relationship(r.name.as_str(), r.relationship.clone());
        }
        b.build()
    }
}

impl SchemaSnapshot {
    /// Models for the tables of this schema (see the module notes for what
    /// they carry); tables that cannot be modelled are listed, not failed on.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// use dbridge_engine::Database;
    /// use dbridge_engine::migrate::{IntrospectOptions, introspect};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, karma INTEGER NOT NULL DEFAULT 0)", &[]).await?;
    /// let reflected = introspect(&db, &IntrospectOptions::default()).await?.to_metadata();
    /// let users = reflected.metadata.get("users").unwrap();
    /// assert!(users.column("karma")?.is_server_generated());
    /// # Ok(()) }
    /// ```
    pub fn to_metadata(&self) -> Reflected {
        let mut left_out = Vec::new();
        let typed: HashSet<&str> = self
            .tables
            .iter()
            .filter(|t| t.columns.iter().all(|c| c.sql_type.is_some()))
            .map(|t| t.name.as_str())
            .collect();
        let typed_tables: Vec<&TableSnapshot> = self
            .tables
            .iter()
            .filter(|t| typed.contains(t.name.as_str()))
            .collect();
        let (relations, relationships_left_out) = derive(&typed_tables);
        let mut models = Vec::new();
        for t in &self.tables {
            let rels = relations
                .get(t.name.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            match t.model_with(Some(&typed), rels) {
                Ok(m) => models.push(m),
                Err(e) => left_out.push((t.name.as_str().to_owned(), e.to_string())),
            }
        }
        let metadata = Metadata::new();
        if let Err(e) = metadata.add_all(models.clone()) {
            // A foreign key the registry refuses (SQLite allows some that it
            // does not): add the models one by one, those that fit.
            tracing::debug!(error = %e, "reflected models added one by one");
            for m in models {
                if let Err(e) = metadata.add(m.clone()) {
                    left_out.push((m.table().as_str().to_owned(), e.to_string()));
                }
            }
        }
        Reflected {
            metadata,
            left_out,
            relationships_left_out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<Value> {
        match default_of(text)? {
            ServerDefault::Value(v) => Some(v),
            ServerDefault::Expr(_) => None,
        }
    }

    #[test]
    fn constant_and_clock_defaults_are_carried() {
        assert_eq!(value("'-5'::integer"), Some(Value::Int8(-5)));
        assert_eq!(value("'abc'::text"), Some(Value::from("abc")));
        assert_eq!(value("true"), Some(Value::Bool(true)));
        assert!(matches!(default_of("now()"), Some(ServerDefault::Expr(_))));
        assert!(matches!(
            default_of("(strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))"),
            Some(ServerDefault::Expr(_))
        ));
        assert!(default_of("nextval('s'::regclass)").is_none());
        assert!(default_of("lower('A')").is_none());
        assert!(default_of("NULL").is_none());
    }
}
