//! Polymorphic loading across concrete tables: a query of a model declared
//! [`ModelBuilder::polymorphic_union`](super::ModelBuilder::polymorphic_union)
//! reads the UNION ALL of its table and its concrete subclasses' tables
//! (SQLAlchemy's `polymorphic_union`).
//!
//! # Design
//!
//! - **Members.** The base's table (its rows, and those of its single-table
//!   and joined subclasses), then the table of each concrete descendant,
//!   depth first in registration order.
//! - **Columns.** The base's columns in its order, then every column a
//!   member's table holds that is not there yet (the subclasses' own
//!   columns, one per name), in member order. A member whose table has no
//!   such column reads `CAST(NULL AS <type>)`. Each union column's origin is
//!   the class that declares it, so a row's values fill the instance of its
//!   class as a query of a table does.
//! - **The discriminator.** A member whose table holds the rows of its class
//!   only (a class whose subclasses, if any, are concrete) gives its
//!   identity as a literal, as SQLAlchemy's synthesized `type` column: a
//!   row of table `contractors` is a `Contractor` whatever its column says.
//!   A member whose table is shared by subclasses reads its column.
//! - **Naming.** The union is a derived table named after the base's table,
//!   so that the base's columns (`employee.col("name")`) in filters, ORDER
//!   BY and joins read it as they read the table.
//! - **Scope.** [`Model::query_table`] is what queries of a model read
//!   (`Session::query`, the bindings' queries, relationship loaders of a
//!   target model). Writes, refreshes, row locks and the loading of a
//!   column go to the table of the instance's class.

use crate::ident::Ident;
use crate::query::{
    ColumnOrigin, ColumnRef, Compound, Expr, OutputColumn, Query, Select, SelectItem, SubExpr,
    TableRef,
};
use crate::value::{SqlType, Value};

use super::{InheritanceKind, Model};

/// One column of a polymorphic union.
#[derive(Debug, Clone)]
pub(crate) struct UnionColumn {
    /// The name of the column in the tables.
    pub(crate) name: Ident,
    /// Its label in the union: the name, or `<name>_<n>` for a second
    /// column of that name with another type.
    pub(crate) label: Ident,
    /// Its type.
    pub(crate) ty: SqlType,
    /// The class declaring it, and its position there.
    pub(crate) model: Model,
    /// The column's position in `model`.
    pub(crate) index: usize,
}

impl UnionColumn {
    /// The column read from the union (or an alias of it) named `qualifier`.
    pub(crate) fn expr(&self, qualifier: &Ident) -> Expr {
        Expr::Column(Box::new(ColumnRef {
            qualifier: Some(qualifier.clone()),
            name: self.label.clone(),
            ty: Some(self.ty.clone()),
            origin: Some(ColumnOrigin {
                model: self.model.clone(),
                index: self.index,
            }),
            derived: None,
        }))
    }

    /// Whether the column is deferred in the class declaring it.
    pub(crate) fn is_deferred(&self) -> bool {
        self.model
            .columns()
            .get(self.index)
            .is_some_and(|c| c.is_deferred())
    }
}

/// A member of a union: a class owning a table, and the columns its table
/// holds (the class's, then those of the subclasses sharing the table).
struct Member {
    class: Model,
    columns: Vec<(Ident, Model, usize)>,
}

impl Member {
    fn new(class: &Model) -> Self {
        let mut columns: Vec<(Ident, Model, usize)> = Vec::new();
        let classes = std::iter::once(class.clone()).chain(class.table_sharers());
        for (k, x) in classes.enumerate() {
            let from = if k == 0 { 0 } else { x.own_columns_from() };
            for (i, c) in x.columns().iter().enumerate().skip(from) {
                if !columns.iter().any(|(n, _, _)| n == c.name()) {
                    columns.push((c.name().clone(), x.clone(), i));
                }
            }
        }
        Self {
            class: class.clone(),
            columns,
        }
    }

    /// Whether the member's table holds the rows of its class only.
    fn pure(&self) -> bool {
        self.class
            .subclasses()
            .iter()
            .all(|c| c.inheritance_kind() == Some(InheritanceKind::Concrete))
    }
}

impl Model {
    /// Whether queries of this model read the UNION ALL of its table and its
    /// concrete subclasses' ([`super::ModelBuilder::polymorphic_union`]).
    pub fn is_polymorphic_union(&self) -> bool {
        self.0.inherit.union
    }

    /// The concrete-table subclasses of this model, at any depth (depth first).
    pub fn concrete_descendants(&self) -> Vec<Model> {
        self.descendants()
            .into_iter()
            .filter(|d| d.inheritance_kind() == Some(InheritanceKind::Concrete))
            .collect()
    }

    /// The table a query of this model reads: for a model declared
    /// [`polymorphic_union`](super::ModelBuilder::polymorphic_union) with
    /// concrete subclasses, `(SELECT ... FROM <its table> UNION ALL SELECT
    /// ... FROM <each concrete subclass's table>) AS <its table>`, whose
    /// columns are the model's followed by the subclasses' own (see
    /// `schema/concrete.rs`); its table otherwise ([`Model::table_ref`]).
    pub fn query_table(&self) -> TableRef {
        let members = self.union_members();
        if members.len() < 2 {
            return self.table_ref();
        }
        let columns = union_columns_of(self, &members);
        let disc = self.discriminator();
        let selects: Vec<Select> = members
            .iter()
            .map(|m| member_select(m, &columns, disc))
            .collect();
        let mut it = selects.into_iter();
        let (Some(first), Some(second)) = (it.next(), it.next()) else {
            return self.table_ref();
        };
        let compound = it.fold(first.union_all(second), Compound::union_all);
        let alias = self.table().clone();
        let outputs = columns
            .into_iter()
            .map(|c| OutputColumn {
                label: c.label,
                ty: Some(c.ty),
                origin: Some(ColumnOrigin {
                    model: c.model,
                    index: c.index,
                }),
                qualifier: Some(alias.clone()),
            })
            .collect();
        TableRef::query(Query::from(compound), outputs, alias)
    }

    /// The columns of this model's union beyond the model's own (the
    /// subclasses' own columns); empty when queries read its table only.
    pub(crate) fn union_extra_columns(&self) -> Vec<UnionColumn> {
        let members = self.union_members();
        if members.len() < 2 {
            return Vec::new();
        }
        let n = self.columns().len();
        union_columns_of(self, &members).split_off(n)
    }

    /// Whether every row a query of this model reads is of its class: its
    /// subclasses, if any, are concrete (their rows are in tables of their
    /// own) and it reads no union of their tables. Such a row's
    /// discriminator is not read (as the union gives a concrete table's
    /// rows their class's identity).
    pub(crate) fn holds_only_its_class(&self) -> bool {
        // (per row read: no list of the subclasses is made)
        let children = self.0.inherit.children.read();
        let concrete = |w: &std::sync::Weak<super::model::ModelInner>| {
            w.upgrade().is_none_or(|c| {
                c.inherit.inherit.as_ref().map(|i| i.kind) == Some(InheritanceKind::Concrete)
            })
        };
        children.iter().all(concrete) && (children.is_empty() || !self.is_polymorphic_union())
    }

    /// The union's members: the model, then its concrete descendants (only
    /// the model when it is not declared polymorphic over them).
    fn union_members(&self) -> Vec<Member> {
        if !self.is_polymorphic_union() {
            return Vec::new();
        }
        std::iter::once(self.clone())
            .chain(self.concrete_descendants())
            .map(|m| Member::new(&m))
            .collect()
    }

    /// Where the rows of `class` are among those a query of this model
    /// reads: 0 for the model's own table (its identity space: the model,
    /// its single-table and joined subclasses), `n` for the table of the
    /// `n`th of its [`Model::concrete_descendants`] when it is declared
    /// [`polymorphic_union`](super::ModelBuilder::polymorphic_union);
    /// `None` when a query of the model does not read them. A key may
    /// repeat across a union's tables: a lookup by key (`Session::get`, the
    /// bindings' `Model:get`) takes the lowest position.
    pub fn union_position(&self, class: &Model) -> Option<usize> {
        let root = class.identity_root();
        if root.ptr_eq(self.identity_root()) {
            return Some(0);
        }
        if !self.is_polymorphic_union() {
            return None;
        }
        self.concrete_descendants()
            .iter()
            .position(|c| c.ptr_eq(root))
            .map(|p| p + 1)
    }
}

/// The union's columns: `model`'s, then each member's others, one per name
/// and type (a name met again with another type gets a label of its own).
fn union_columns_of(model: &Model, members: &[Member]) -> Vec<UnionColumn> {
    let mut out: Vec<UnionColumn> = model
        .columns()
        .iter()
        .enumerate()
        .map(|(i, c)| UnionColumn {
            name: c.name().clone(),
            label: c.name().clone(),
            ty: c.sql_type().clone(),
            model: model.clone(),
            index: i,
        })
        .collect();
    let taken: Vec<&Ident> = members
        .iter()
        .flat_map(|m| m.columns.iter().map(|(n, _, _)| n))
        .collect();
    for m in members {
        for (name, x, i) in &m.columns {
            let ty = x.columns()[*i].sql_type();
            if out.iter().any(|c| &c.name == name && &c.ty == ty) {
                continue;
            }
            let label = if out.iter().any(|c| &c.label == name) {
                fresh_label(name, &out, &taken)
            } else {
                name.clone()
            };
            out.push(UnionColumn {
                name: name.clone(),
                label,
                ty: ty.clone(),
                model: x.clone(),
                index: *i,
            });
        }
    }
    out
}

/// `<name>_<n>` for the first `n` that names no column.
fn fresh_label(name: &Ident, out: &[UnionColumn], taken: &[&Ident]) -> Ident {
    (1..)
        .filter_map(|n| Ident::new(&format!("{name}_{n}")).ok())
        .find(|l| !out.iter().any(|c| &c.label == l) && !taken.contains(&l))
        .unwrap_or_else(|| name.clone())
}

/// One member's SELECT: every union column, from its table or NULL, the
/// discriminator as the class's identity when the table is the class's own.
fn member_select(m: &Member, columns: &[UnionColumn], disc: Option<usize>) -> Select {
    let table = m.class.table().clone();
    let disc_name = disc
        .and_then(|d| m.class.columns().get(d))
        .map(|c| c.name());
    let literal = m
        .pure()
        .then(|| m.class.polymorphic_identity().cloned())
        .flatten();
    let mut select = Select::from(m.class.table_ref());
    select.items = columns
        .iter()
        .map(|u| {
            let read = m
                .columns
                .iter()
                .find(|(n, x, i)| n == &u.name && x.columns()[*i].sql_type() == &u.ty);
            let expr = match (&literal, read) {
                (Some(v), _) if disc_name == Some(&u.name) => cast(Expr::Value(v.clone()), &u.ty),
                (_, Some((name, x, i))) => Expr::Column(Box::new(ColumnRef {
                    qualifier: Some(table.clone()),
                    name: name.clone(),
                    ty: Some(u.ty.clone()),
                    origin: Some(ColumnOrigin {
                        model: x.clone(),
                        index: *i,
                    }),
                    derived: None,
                })),
                (_, None) => cast(Expr::Value(Value::Null), &u.ty),
            };
            SelectItem {
                expr,
                label: Some(u.label.clone()),
            }
        })
        .collect();
    if let Ok(Some(f)) = m.class.identity_filter() {
        select = select.filter(f);
    }
    select
}

fn cast(e: Expr, ty: &SqlType) -> Expr {
    Expr::Cast(SubExpr::new(e), ty.clone())
}
