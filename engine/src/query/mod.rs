//! Expressions and statements as plain data: [`Expr`], [`Select`] (with joins,
//! grouping, windows, CTEs, set operations, DISTINCT (ON), row locks),
//! [`Insert`] (many rows, INSERT ... SELECT, upsert), [`Update`], [`Delete`],
//! all with RETURNING.
//!
//! Nothing here writes SQL: [`crate::dialect::compile`] does, per backend. Names
//! are [`crate::Ident`]s, checked when a statement is built (a model's columns by
//! name: "no column `emial` on model `User`"); values stay values until they are
//! bound as parameters. [`Run`] executes any statement on a
//! [`crate::Database`] or a [`crate::Transaction`].
//!
//! # Examples
//!
//! ```
//! use dbridge_engine::query::{Expr, Select, func};
//! use dbridge_engine::schema::{Column, Model};
//! use dbridge_engine::{Backend, SqlType, dialect::compile};
//! let user = Model::builder("User").table("users")
//!     .column(Column::new("id", SqlType::Int8).primary_key())
//!     .column(Column::new("name", "text"))
//!     .build()?;
//! let post = Model::builder("Post").table("posts")
//!     .column(Column::new("id", SqlType::Int8).primary_key())
//!     .column(Column::new("author_id", SqlType::Int8).references("users", "id"))
//!     .build()?;
//! let q = Select::from(&user)
//!     .column(user.col("name")?)
//!     .column(func::count(post.col("id")?).label("posts")?)
//!     .left_join(&post, post.col("author_id")?.eq(user.col("id")?))
//!     .group_by([user.col("name")?])
//!     .having(func::count(post.col("id")?).gt(1));
//! assert_eq!(
//!     compile(&q, Backend::Postgres)?.sql(),
//!     "SELECT \"users\".\"name\", count(\"posts\".\"id\") AS \"posts\" FROM \"users\" \
//!      LEFT OUTER JOIN \"posts\" ON \"posts\".\"author_id\" = \"users\".\"id\" \
//!      GROUP BY \"users\".\"name\" HAVING count(\"posts\".\"id\") > $1::integer"
//! );
//! # Ok::<(), dbridge_engine::Error>(())
//! ```

/// The `RETURNING` builder methods of the write statements ([`Insert`],
/// [`Update`], [`Delete`]): one body for the three. The type needs fields
/// `model: Model` and `returning: Vec<SelectItem>`.
macro_rules! returning_methods {
    () => {
        /// `RETURNING items`
        pub fn returning<T: Into<SelectItem>>(
            mut self,
            items: impl IntoIterator<Item = T>,
        ) -> Self {
            self.returning.extend(items.into_iter().map(Into::into));
            self
        }

        /// `RETURNING` every column of the model.
        pub fn returning_all(self) -> Self {
            let all = self.model.all_columns();
            self.returning(all)
        }
    };
}

/// The WHERE builder methods of [`Update`] and [`Delete`]. The type needs
/// fields `model: Model` and `filter: Vec<Expr>`.
macro_rules! filter_methods {
    () => {
        /// Adds a WHERE condition (several are ANDed).
        pub fn filter(mut self, cond: Expr) -> Self {
            self.filter.push(cond);
            self
        }

        /// `WHERE table.name = value`
        ///
        /// # Errors
        /// [`crate::Error::Schema`] for an unknown column.
        pub fn filter_by(self, name: &str, value: impl Into<Expr>) -> Result<Self> {
            let cond = self.model.col(name)?.eq(value);
            Ok(self.filter(cond))
        }
    };
}

mod compound;
mod exec;
mod expr;
pub mod func;
pub(crate) mod insert;
mod keyset;
pub(crate) mod label;
mod name;
mod ops;
mod select;
pub(crate) mod table;
mod types;
mod update;
pub(crate) mod visit;
mod window;

pub use compound::{Compound, Cte, Query, SetOp};
pub use exec::{Executor, Run};
pub use expr::{
    BinaryOp, Case, CaseBuilder, ColumnOrigin, ColumnRef, Expr, FuncCall, JsonOp, Keyword,
    MAX_EXPR_DEPTH, SubExpr,
};
pub use insert::{DEFAULT_BULK_THRESHOLD, Insert, OnConflict};
pub use keyset::{CursorKey, KeyTerm, Keyset, Page, PageRequest};
pub use select::{
    Distinct, Join, JoinKind, Lock, LockStrength, LockWait, OrderBy, OutputColumn, Select,
    SelectItem,
};
pub use table::TableRef;
pub use update::{Delete, Update};
pub use visit::walk;
pub use window::{Frame, FrameBound, FrameUnits, Window};
