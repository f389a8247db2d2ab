//! Relationships between models, declared by the target model's NAME on a
//! [`ModelBuilder`](super::ModelBuilder) and resolved through the
//! [`Metadata`](super::Metadata) the model is registered in, when first used
//! (models may be declared before their targets).
//!
//! [`Relationship`] is the declaration; [`RelationshipDef`] the resolved form:
//! the target model, the columns that join the two, the association table of a
//! many-to-many, the cascades and the default [`LoadStrategy`].

use std::sync::Arc;

use crate::error::Result;
use crate::ident::Ident;

use super::model::Model;
use super::schema_error;

/// The kind of a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RelationshipKind {
    /// Many-to-one: this model holds the foreign key (`post.author`).
    BelongsTo,
    /// One-to-many, as a list: the target holds the foreign key (`user.posts`).
    HasMany,
    /// One-to-one: the target holds the foreign key (`user.profile`).
    HasOne,
    /// Many-to-many through an association table (`post.tags`).
    ManyToMany,
}

impl RelationshipKind {
    /// Whether the relationship holds a list.
    pub fn is_collection(self) -> bool {
        matches!(self, Self::HasMany | Self::ManyToMany)
    }

    /// The snake_case name (`"belongs_to"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BelongsTo => "belongs_to",
            Self::HasMany => "has_many",
            Self::HasOne => "has_one",
            Self::ManyToMany => "many_to_many",
        }
    }
}

/// How a relationship is loaded when nothing else is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum LoadStrategy {
    /// On first access through the session (`session.related(&inst, "posts")`).
    #[default]
    Lazy,
    /// In the same statement, by a LEFT OUTER JOIN.
    Joined,
    /// By a second statement: `WHERE fk IN (the parents' keys)`, in batches.
    Selectin,
    /// By a second statement: `WHERE fk IN (SELECT key FROM <the first query>)`.
    Subquery,
    /// Never: the relationship reads as empty (or `None`).
    NoLoad,
    /// Never: reading it unloaded is an error (an N+1 guard).
    Raise,
}

impl LoadStrategy {
    /// The strategy's name, as `lazy = "..."` spells it (`lazy`, `joined`,
    /// `selectin`, `subquery`, `noload`, `raise`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lazy => "lazy",
            Self::Joined => "joined",
            Self::Selectin => "selectin",
            Self::Subquery => "subquery",
            Self::NoLoad => "noload",
            Self::Raise => "raise",
        }
    }
}

impl std::str::FromStr for LoadStrategy {
    type Err = crate::Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "lazy" | "select" => Self::Lazy,
            "joined" => Self::Joined,
            "selectin" => Self::Selectin,
            "subquery" => Self::Subquery,
            "noload" => Self::NoLoad,
            "raise" => Self::Raise,
            _ => {
                return Err(crate::Error::InvalidValue {
                    target: "loading strategy".into(),
                    reason: "expected lazy, joined, selectin, subquery, noload or raise".into(),
                });
            }
        })
    }
}

/// Which session operations follow a relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cascade {
    /// `save-update`: adding an instance adds the new instances it relates to.
    pub save_update: bool,
    /// `delete`: deleting an instance deletes its related instances.
    pub delete: bool,
    /// `delete-orphan`: an instance removed from the collection is deleted.
    pub delete_orphan: bool,
}

impl Default for Cascade {
    fn default() -> Self {
        Self {
            save_update: true,
            delete: false,
            delete_orphan: false,
        }
    }
}

impl std::str::FromStr for Cascade {
    type Err = crate::Error;

    /// `"save-update, delete, delete-orphan"`, `"all"` (save-update and
    /// delete), `"all, delete-orphan"`, `"none"`.
    fn from_str(s: &str) -> Result<Self> {
        let mut c = Cascade {
            save_update: false,
            delete: false,
            delete_orphan: false,
        };
        for part in s
            .split(',')
            .map(|p| p.trim().to_ascii_lowercase().replace('_', "-"))
        {
            match part.as_str() {
                "" | "none" => {}
                "all" => {
                    c.save_update = true;
                    c.delete = true;
                }
                "save-update" => c.save_update = true,
                "delete" => c.delete = true,
                "delete-orphan" => c.delete_orphan = true,
                "merge" | "expunge" | "refresh-expire" => {}
                _ => {
                    return Err(crate::Error::InvalidValue {
                        target: "cascade".into(),
                        reason: "expected all, save-update, delete, delete-orphan or none".into(),
                    });
                }
            }
        }
        Ok(c)
    }
}

/// A relationship as declared: the target model by name and options.
///
/// # Examples
///
/// ```
/// use dbridge_engine::schema::{Column, Model, Relationship, LoadStrategy};
/// let post = Model::builder("Post").table("posts")
///     .column(Column::new("id", "bigint").primary_key())
///     .column(Column::new("author_id", "bigint").references("users", "id"))
///     .relationship("author", Relationship::belongs_to("User").back_populates("posts"))
///     .relationship("tags", Relationship::many_to_many("Tag").secondary("post_tags")
///         .lazy(LoadStrategy::Selectin))
///     .build()?;
/// assert_eq!(post.relationship_names(), vec!["author", "tags"]);
/// # Ok::<(), dbridge_engine::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Relationship {
    pub(crate) kind: RelationshipKind,
    pub(crate) target: String,
    pub(crate) back_populates: Option<String>,
    pub(crate) foreign_key: Option<String>,
    pub(crate) secondary: Option<String>,
    /// `secondary` names a table dbridge declares (not a registered model).
    pub(crate) auto_secondary: bool,
    pub(crate) secondary_columns: Option<(String, String)>,
    pub(crate) cascade: Cascade,
    pub(crate) passive_deletes: bool,
    pub(crate) strategy: LoadStrategy,
    pub(crate) order_by: Option<String>,
}

impl Relationship {
    fn new(kind: RelationshipKind, target: impl Into<String>) -> Self {
        Self {
            kind,
            target: target.into(),
            back_populates: None,
            foreign_key: None,
            secondary: None,
            auto_secondary: false,
            secondary_columns: None,
            cascade: Cascade::default(),
            passive_deletes: false,
            strategy: LoadStrategy::Lazy,
            order_by: None,
        }
    }

    /// Many-to-one: this model holds the foreign key to `target`.
    pub fn belongs_to(target: impl Into<String>) -> Self {
        Self::new(RelationshipKind::BelongsTo, target)
    }

    /// One-to-many: `target` holds a foreign key to this model.
    pub fn has_many(target: impl Into<String>) -> Self {
        Self::new(RelationshipKind::HasMany, target)
    }

    /// One-to-one: `target` holds a foreign key to this model.
    pub fn has_one(target: impl Into<String>) -> Self {
        Self::new(RelationshipKind::HasOne, target)
    }

    /// Many-to-many through an association table: one that dbridge declares
    /// ([`Relationship::secondary`], created by `create_all`) or a registered
    /// association model with extra columns ([`Relationship::through`]).
    pub fn many_to_many(target: impl Into<String>) -> Self {
        Self::new(RelationshipKind::ManyToMany, target)
    }

    /// The relationship on the target that mirrors this one: setting one side
    /// updates the other in memory. When the target declares no relationship
    /// of that name, the mirror is implied (a `belongs_to` mirrors as
    /// `has_many`, the others as `belongs_to` or `many_to_many`).
    pub fn back_populates(mut self, name: impl Into<String>) -> Self {
        self.back_populates = Some(name.into());
        self
    }

    /// The foreign key column to join on (on this model for `belongs_to`, on
    /// the target otherwise), when there are several to the same table.
    pub fn foreign_key(mut self, column: impl Into<String>) -> Self {
        self.foreign_key = Some(column.into());
        self
    }

    /// The association table dbridge declares for a many-to-many (a model of
    /// that name and table is registered: two foreign keys with ON DELETE
    /// CASCADE forming the primary key).
    pub fn secondary(mut self, table: impl Into<String>) -> Self {
        self.secondary = Some(table.into());
        self.auto_secondary = true;
        self
    }

    /// The names of the association table's two columns (to this model, to
    /// the target); by default `<model>_<key>` in snake case. Needed when a
    /// model relates to itself.
    pub fn secondary_columns(
        mut self,
        to_self: impl Into<String>,
        to_target: impl Into<String>,
    ) -> Self {
        self.secondary_columns = Some((to_self.into(), to_target.into()));
        self
    }

    /// A registered association model (it may have extra columns) as the
    /// association table of a many-to-many.
    pub fn through(mut self, model: impl Into<String>) -> Self {
        self.secondary = Some(model.into());
        self.auto_secondary = false;
        self
    }

    /// The cascades (default: save-update).
    pub fn cascade(mut self, cascade: Cascade) -> Self {
        self.cascade = cascade;
        self
    }

    /// Cascades from a string: `"all, delete-orphan"`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidValue`] for an unknown cascade.
    pub fn cascade_str(self, cascade: &str) -> Result<Self> {
        Ok(self.cascade(cascade.parse()?))
    }

    /// Leave deletes of the related rows to the database's ON DELETE
    /// (CASCADE or SET NULL): deleting a parent does not load its children;
    /// those already in the session are updated to match after the flush.
    pub fn passive_deletes(mut self, on: bool) -> Self {
        self.passive_deletes = on;
        self
    }

    /// The default loading strategy.
    pub fn lazy(mut self, strategy: LoadStrategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// Orders a collection by a column of the target.
    pub fn order_by(mut self, column: impl Into<String>) -> Self {
        self.order_by = Some(column.into());
        self
    }

    /// The kind.
    pub fn kind(&self) -> RelationshipKind {
        self.kind
    }

    /// The target model's name.
    pub fn target(&self) -> &str {
        &self.target
    }
}

/// The association table of a many-to-many.
#[derive(Debug, Clone)]
pub struct Secondary {
    /// The association model (declared by dbridge or by the application).
    pub model: Model,
    /// Its columns referencing the owner (positions in `model`).
    pub to_owner: Vec<usize>,
    /// Its columns referencing the target.
    pub to_target: Vec<usize>,
}

/// A resolved relationship: models and joining columns.
///
/// Joins: `owner.local[i] = target.remote[i]` for the direct kinds; for a
/// many-to-many, `owner.local[i] = secondary.to_owner[i]` and
/// `secondary.to_target[i] = target.remote[i]`.
#[derive(Debug, Clone)]
pub struct RelationshipDef {
    /// The relationship's name on its owner.
    pub name: Ident,
    /// The kind.
    pub kind: RelationshipKind,
    /// The model it is declared on (or implied for).
    pub owner: Model,
    /// The related model.
    pub target: Model,
    /// Joining columns of the owner.
    pub local: Vec<usize>,
    /// Joining columns of the target.
    pub remote: Vec<usize>,
    /// The association table of a many-to-many.
    pub secondary: Option<Secondary>,
    /// The mirror relationship on the target.
    pub back_populates: Option<String>,
    /// The cascades.
    pub cascade: Cascade,
    /// Whether deletes are left to the database's ON DELETE.
    pub passive_deletes: bool,
    /// The default loading strategy.
    pub strategy: LoadStrategy,
    /// The target column a collection is ordered by.
    pub order_by: Option<usize>,
}

impl RelationshipDef {
    /// `"relationship `posts` of model `User`"`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "relationship `{}` of model `{}`",
            self.name,
            self.owner.name()
        )
    }

    /// The single joining column pair, for loaders that need one.
    ///
    /// # Errors
    /// [`crate::Error::Unsupported`] for a composite key.
    pub(crate) fn single(&self) -> Result<(usize, usize)> {
        match (self.local.as_slice(), self.remote.as_slice()) {
            ([l], [r]) => Ok((*l, *r)),
            _ => Err(rel_error(
                &self.owner,
                format!(
                    "{} joins on a composite key, which loaders do not support yet",
                    self.describe()
                ),
            )),
        }
    }
}

pub(crate) fn rel_error(model: &Model, msg: String) -> crate::Error {
    schema_error(model.name().as_str(), None, msg)
}

/// Snake case of a model name (`PostTag` -> `post_tag`).
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) type Declared = Vec<(Ident, Relationship)>;
pub(crate) type Resolved = Arc<RelationshipDef>;
