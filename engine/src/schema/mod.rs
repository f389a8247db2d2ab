//! Models declared at run time: [`Model`] and its [`Column`]s, constraints and
//! indexes, and the [`Metadata`] registry that creates and drops their tables.
//!
//! This module holds definitions as data. It writes no SQL itself: the DDL for a
//! model comes from [`crate::dialect`], and queries over models from [`crate::query`].
//! Every name is validated through [`crate::Ident`] when a model is built, and a
//! bad declaration fails there with an [`Error::Schema`](crate::Error::Schema)
//! that names the model and the column.
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::schema::{Column, Index, Model};
//! use dbridge_engine::query::Expr;
//! use dbridge_engine::SqlType;
//!
//! let user = Model::builder("User")
//!     .table("users")
//!     .column(Column::new("id", SqlType::Int8).primary_key())
//!     .column(Column::new("email", "text").not_null().unique())
//!     .column(Column::new("karma", "integer").default(0).check(Expr::col("karma")?.ge(0)))
//!     .column(Column::new("created_at", "timestamptz").default_expr(Expr::now()))
//!     .index(Index::new(["karma"]).filter(Expr::col("karma")?.gt(100)))
//!     .build()?;
//! assert_eq!(user.primary_key(), &[0]);
//!
//! let err = Model::builder("User").column(Column::new("id", "intger")).build().unwrap_err();
//! assert_eq!(err.to_string(), "unknown type `intger` for column `id` on model `User`");
//! # Ok::<(), dbridge_engine::Error>(())
//! ```

mod build;
mod column;
mod concrete;
mod constraint;
mod inheritance;
mod metadata;
mod model;
mod naming;
mod pending;
mod relationship;
pub(crate) mod relationship_expr;
mod resolve;
mod summary;

pub use column::{Column, ColumnDef, DefaultFactory, Identity, ServerDefault, TypeSpec};
pub use constraint::{
    CheckDef, ForeignKey, ForeignKeyDef, Index, IndexDef, ReferentialAction, UniqueDef,
};
pub use inheritance::{InheritanceKind, PolymorphicLoad, TablePart};
pub use metadata::Metadata;
pub use model::{Model, ModelBuilder};
pub use relationship::{
    Cascade, LoadStrategy, Relationship, RelationshipDef, RelationshipKind, Secondary,
};
pub use summary::{ColumnSummary, RelationshipSummary};

pub(crate) use naming::constraint_name;

pub(crate) fn schema_error(
    model: &str,
    column: Option<&str>,
    message: impl Into<String>,
) -> crate::Error {
    crate::Error::Schema {
        model: model.to_owned(),
        column: column.map(str::to_owned),
        message: message.into(),
    }
}

/// The name of the CHECK that keeps an enum column to its labels on SQLite.
pub(crate) fn naming_enum_check(model: &Model, col: &ColumnDef) -> crate::Result<crate::Ident> {
    naming::constraint_name("ck", &[model.table().as_str(), col.name().as_str(), "enum"])
}
