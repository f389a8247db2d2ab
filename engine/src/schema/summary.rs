//! [`ColumnSummary`] and [`RelationshipSummary`]: a model's columns and
//! relationships described for people (what the bindings' `Model:describe()`
//! returns and the REPL's `.describe` prints).

use super::{ColumnDef, LoadStrategy, Model, ServerDefault};
use crate::error::Result;

/// One column of a model, described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSummary {
    /// The column name.
    pub name: String,
    /// Its SQL type as declared (`integer`, `varchar(80)`...).
    pub sql_type: String,
    /// Whether it may be NULL.
    pub nullable: bool,
    /// Whether it is part of the primary key.
    pub primary_key: bool,
    /// Its default: the value, `(SQL expression)` or `(client factory)`.
    pub default: Option<String>,
    /// The table and columns it references (`users(id)`).
    pub references: Option<String>,
}

/// One relationship of a model, described in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationshipSummary {
    /// The relationship's name.
    pub name: String,
    /// `belongs_to`, `has_many`, `has_one` or `many_to_many`.
    pub kind: &'static str,
    /// The target model's name.
    pub target: String,
    /// The mirror relationship on the target, when there is one.
    pub back_populates: Option<String>,
    /// The declared loading strategy, when it is not `lazy`.
    pub lazy: Option<&'static str>,
}

impl Model {
    /// The model's relationships described for people, in the order of
    /// [`Model::relationship_names`] (declared, then implied by another
    /// model's `back_populates`).
    ///
    /// # Errors
    /// [`crate::Error::Schema`] for a relationship that does not resolve (its
    /// target model is not registered, ...).
    ///
    /// # Examples
    ///
    /// ```
    /// use dbridge_engine::schema::{Column, LoadStrategy, Metadata, Model, Relationship};
    /// let meta = Metadata::new();
    /// let user = meta.add(Model::builder("User").table("users")
    ///     .column(Column::new("id", "integer").primary_key())
    ///     .relationship("posts", Relationship::has_many("Post").back_populates("author"))
    ///     .build()?)?;
    /// let post = meta.add(Model::builder("Post").table("posts")
    ///     .column(Column::new("id", "integer").primary_key())
    ///     .column(Column::new("author_id", "integer").references("users", "id"))
    ///     .relationship("author", Relationship::belongs_to("User").lazy(LoadStrategy::Joined))
    ///     .build()?)?;
    /// let rows = user.relationship_summaries()?;
    /// assert_eq!((rows[0].name.as_str(), rows[0].kind, rows[0].target.as_str()), ("posts", "has_many", "Post"));
    /// assert_eq!(rows[0].back_populates.as_deref(), Some("author"));
    /// assert_eq!(post.relationship_summaries()?[0].lazy, Some("joined"));
    /// # Ok::<(), dbridge_engine::Error>(())
    /// ```
    pub fn relationship_summaries(&self) -> Result<Vec<RelationshipSummary>> {
        self.relationship_names()
            .into_iter()
            .map(|name| {
                let rel = self.relationship(&name)?;
                Ok(RelationshipSummary {
                    kind: rel.kind.as_str(),
                    target: rel.target.name().to_string(),
                    back_populates: rel.back_populates.clone(),
                    lazy: (rel.strategy != LoadStrategy::Lazy).then(|| rel.strategy.as_str()),
                    name,
                })
            })
            .collect()
    }

    /// The model's columns described for people, in column order.
    ///
    /// # Examples
    ///
    /// ```
    /// use dbridge_engine::schema::{Column, Model};
    /// let m = Model::builder("User")
    ///     .column(Column::new("id", "integer").primary_key())
    ///     .column(Column::new("karma", "integer").default(0))
    ///     .build()?;
    /// let cols = m.column_summaries();
    /// assert!(cols[0].primary_key);
    /// assert_eq!(cols[1].default.as_deref(), Some("0"));
    /// # Ok::<(), dbridge_engine::Error>(())
    /// ```
    pub fn column_summaries(&self) -> Vec<ColumnSummary> {
        self.columns()
            .iter()
            .enumerate()
            .map(|(i, c)| self.summary(i, c))
            .collect()
    }

    fn summary(&self, i: usize, c: &ColumnDef) -> ColumnSummary {
        let references = self
            .foreign_keys()
            .iter()
            .find(|fk| fk.columns.contains(&i))
            .map(|fk| {
                let cols: Vec<&str> = fk.ref_columns.iter().map(|c| c.as_str()).collect();
                format!("{}({})", fk.table, cols.join(", "))
            });
        let default = match (c.server_default(), c.default_factory()) {
            (Some(ServerDefault::Value(v)), _) => Some(v.to_string()),
            (Some(ServerDefault::Expr(_)), _) => Some("(SQL expression)".to_owned()),
            (None, Some(_)) => Some("(client factory)".to_owned()),
            (None, None) => None,
        };
        ColumnSummary {
            name: c.name().as_str().to_owned(),
            sql_type: c.sql_type().to_string(),
            nullable: c.is_nullable(),
            primary_key: c.is_primary_key(),
            default,
            references,
        }
    }
}
