//! Table-level constraints and indexes, as declared ([`ForeignKey`], [`Index`])
//! and as validated into a model ([`ForeignKeyDef`], [`IndexDef`], [`UniqueDef`], [`CheckDef`]).

use crate::ident::Ident;
use crate::query::Expr;

/// What a foreign key does when the referenced row is deleted or its key updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ReferentialAction {
    /// `NO ACTION` (the default): fail at the end of the statement.
    #[default]
    NoAction,
    /// `RESTRICT`: fail at once.
    Restrict,
    /// `CASCADE`: delete or update the referencing rows too.
    Cascade,
    /// `SET NULL`
    SetNull,
    /// `SET DEFAULT`
    SetDefault,
}

impl ReferentialAction {
    /// The SQL words.
    pub fn as_sql(self) -> &'static str {
        match self {
            Self::NoAction => "NO ACTION",
            Self::Restrict => "RESTRICT",
            Self::Cascade => "CASCADE",
            Self::SetNull => "SET NULL",
            Self::SetDefault => "SET DEFAULT",
        }
    }
}

impl std::str::FromStr for ReferentialAction {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        Ok(
            match s.to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
                "no action" => Self::NoAction,
                "restrict" => Self::Restrict,
                "cascade" => Self::Cascade,
                "set null" => Self::SetNull,
                "set default" => Self::SetDefault,
                _ => {
                    return Err(crate::Error::InvalidValue {
                        target: "referential action".into(),
                        reason: "expected cascade, restrict, set null, set default or no action"
                            .into(),
                    });
                }
            },
        )
    }
}

/// A (possibly composite) foreign key declared on a model.
#[derive(Debug, Clone)]
pub struct ForeignKey {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) table: String,
    pub(crate) ref_columns: Vec<String>,
    pub(crate) on_delete: ReferentialAction,
    pub(crate) on_update: ReferentialAction,
}

impl ForeignKey {
    /// `FOREIGN KEY (columns) REFERENCES table (ref_columns)`.
    pub fn new<A: Into<String>, B: Into<String>>(
        columns: impl IntoIterator<Item = A>,
        table: impl Into<String>,
        ref_columns: impl IntoIterator<Item = B>,
    ) -> Self {
        Self {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            table: table.into(),
            ref_columns: ref_columns.into_iter().map(Into::into).collect(),
            on_delete: ReferentialAction::NoAction,
            on_update: ReferentialAction::NoAction,
        }
    }

    /// Names the constraint (default `fk_<table>_<columns>_<ref table>`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The action on delete of the referenced row.
    pub fn on_delete(mut self, a: ReferentialAction) -> Self {
        self.on_delete = a;
        self
    }

    /// The action on update of the referenced key.
    pub fn on_update(mut self, a: ReferentialAction) -> Self {
        self.on_update = a;
        self
    }
}

/// An index declared on a model, optionally unique and partial.
#[derive(Debug, Clone)]
pub struct Index {
    pub(crate) name: Option<String>,
    pub(crate) columns: Vec<String>,
    pub(crate) unique: bool,
    pub(crate) filter: Option<Expr>,
}

impl Index {
    /// An index on `columns` (default name `ix_<table>_<columns>`).
    pub fn new<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            name: None,
            columns: columns.into_iter().map(Into::into).collect(),
            unique: false,
            filter: None,
        }
    }

    /// Names the index.
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// A unique index.
    pub fn unique(mut self) -> Self {
        self.unique = true;
        self
    }

    /// A partial index: only rows where `cond` holds (columns unqualified, [`Expr::col`]).
    pub fn filter(mut self, cond: Expr) -> Self {
        self.filter = Some(cond);
        self
    }
}

/// A validated foreign key.
#[derive(Debug, Clone)]
pub struct ForeignKeyDef {
    /// The constraint's name.
    pub name: Ident,
    /// Positions of the referencing columns in the model.
    pub columns: Vec<usize>,
    /// The referenced table.
    pub table: Ident,
    /// The referenced columns.
    pub ref_columns: Vec<Ident>,
    /// ON DELETE.
    pub on_delete: ReferentialAction,
    /// ON UPDATE.
    pub on_update: ReferentialAction,
}

/// A validated index.
#[derive(Debug, Clone)]
pub struct IndexDef {
    /// The index's name.
    pub name: Ident,
    /// Positions of its columns in the model.
    pub columns: Vec<usize>,
    /// Whether it is unique.
    pub unique: bool,
    /// The WHERE of a partial index.
    pub filter: Option<Expr>,
}

/// A validated UNIQUE constraint.
#[derive(Debug, Clone)]
pub struct UniqueDef {
    /// The constraint's name.
    pub name: Ident,
    /// Positions of its columns in the model.
    pub columns: Vec<usize>,
}

/// A validated CHECK constraint.
#[derive(Debug, Clone)]
pub struct CheckDef {
    /// The constraint's name.
    pub name: Ident,
    /// The condition (unqualified columns).
    pub expr: Expr,
}
