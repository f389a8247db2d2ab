//! [`Load`] options and the loading plan they make with the relationships'
//! default strategies: a tree of relationship paths, each with a strategy
//! and the columns to select.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::schema::{LoadStrategy, Model, RelationshipDef, schema_error};

/// A loader option for a query (`session.query(&m).options([...])`) or for
/// [`Session::load`](crate::session::Session::load): a strategy for a relationship path (`"posts.comments"`,
/// each segment loaded with it unless another option names it), or a choice
/// of columns (`"body"`, or `"posts.body"` for a related model's).
///
/// # Examples
///
/// ```
/// use dbridge_engine::session::Load;
/// let opts = [Load::selectin("posts.comments"), Load::joined("profile"), Load::defer("bio")];
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct Load {
    path: String,
    what: What,
}

#[derive(Debug, Clone)]
enum What {
    Strategy(LoadStrategy),
    ContainsEager,
    Defer,
    Undefer,
    UndeferGroup,
    LoadOnly(Vec<String>),
    SelectinPolymorphic,
}

impl Load {
    /// Loads `path` with `strategy`.
    pub fn strategy(path: impl Into<String>, strategy: LoadStrategy) -> Self {
        Self {
            path: path.into(),
            what: What::Strategy(strategy),
        }
    }

    /// On first access (the default).
    pub fn lazy(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::Lazy)
    }

    /// In the query's statement, by LEFT OUTER JOIN.
    pub fn joined(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::Joined)
    }

    /// By `WHERE key IN (...)` after the query.
    pub fn selectin(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::Selectin)
    }

    /// By `WHERE key IN (SELECT ... <the query>)` after the query.
    pub fn subquery(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::Subquery)
    }

    /// Never loaded: reads as empty or `None`.
    pub fn noload(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::NoLoad)
    }

    /// Never loaded: reading it is an error.
    pub fn raise(path: impl Into<String>) -> Self {
        Self::strategy(path, LoadStrategy::Raise)
    }

    /// Fills the relationship from a join the query already has (`join_related`
    /// or `join` to the target model).
    pub fn contains_eager(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            what: What::ContainsEager,
        }
    }

    /// Leaves a column out of the SELECT (`"body"`, `"posts.body"`).
    pub fn defer(column: impl Into<String>) -> Self {
        Self {
            path: column.into(),
            what: What::Defer,
        }
    }

    /// Loads a deferred-by-default column.
    pub fn undefer(column: impl Into<String>) -> Self {
        Self {
            path: column.into(),
            what: What::Undefer,
        }
    }

    /// Loads every column of a deferred group
    /// ([`Column::deferred_group`](crate::schema::Column::deferred_group))
    /// with the query: `"texts"`, or `"posts.texts"` for a related model's.
    pub fn undefer_group(group: impl Into<String>) -> Self {
        Self {
            path: group.into(),
            what: What::UndeferGroup,
        }
    }

    /// Loads only these columns (and the primary key) of the query's model.
    pub fn load_only<S: Into<String>>(columns: impl IntoIterator<Item = S>) -> Self {
        Self {
            path: String::new(),
            what: What::LoadOnly(columns.into_iter().map(Into::into).collect()),
        }
    }

    /// A query of a base with joined-table subclasses reads the subclasses'
    /// own columns by a second SELECT per subclass (`WHERE key IN (...)`,
    /// for the rows of that class) instead of LEFT OUTER JOINs of their
    /// tables in the query (`with_polymorphic`, the default).
    pub fn selectin_polymorphic() -> Self {
        Self {
            path: String::new(),
            what: What::SelectinPolymorphic,
        }
    }

    /// Whether this is [`Load::selectin_polymorphic`].
    pub(crate) fn is_selectin_polymorphic(&self) -> bool {
        matches!(self.what, What::SelectinPolymorphic)
    }

    /// The same option for a related model: `Load::load_only(["title"]).under("posts")`.
    pub fn under(mut self, path: &str) -> Self {
        self.path = if self.path.is_empty() {
            path.to_owned()
        } else {
            format!("{path}.{}", self.path)
        };
        self
    }
}

/// One relationship to load and what to load below it.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) rel: Arc<RelationshipDef>,
    pub(crate) strategy: LoadStrategy,
    explicit: bool,
    pub(crate) eager: bool,
    pub(crate) cols: Vec<usize>,
    pub(crate) children: Vec<Node>,
}

/// What a query loads: the root's columns (when an option chose them) and the
/// relationships.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub(crate) root_cols: Option<Vec<usize>>,
    pub(crate) nodes: Vec<Node>,
}

impl Plan {
    pub(crate) fn is_empty(&self) -> bool {
        self.root_cols.is_none() && self.nodes.is_empty()
    }
}

pub(crate) fn default_cols(m: &Model) -> Vec<usize> {
    (0..m.columns().len())
        .filter(|&i| !m.columns()[i].is_deferred())
        .collect()
}

/// The plan for a query of `model` with `options`, with the relationships'
/// default eager strategies (three levels at most, no relationship twice on a path).
pub(crate) fn plan(model: &Model, options: &[Load]) -> Result<Plan> {
    let mut p = Plan::default();
    for o in options {
        let strategy = match &o.what {
            What::Strategy(s) => Some((*s, false)),
            What::ContainsEager => Some((LoadStrategy::Joined, true)),
            _ => None,
        };
        if let Some((s, eager)) = strategy {
            let segs: Vec<&str> = o.path.split('.').collect();
            insert(&mut p.nodes, model, &segs, s, eager)?;
        }
    }
    let mut path = Vec::new();
    defaults(&mut p.nodes, model, &mut path)?;
    for o in options {
        let (rel_path, col) = match &o.what {
            What::Strategy(_) | What::ContainsEager | What::SelectinPolymorphic => continue,
            What::LoadOnly(_) => (o.path.as_str(), None),
            _ => match o.path.rsplit_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => ("", Some(o.path.as_str())),
            },
        };
        let (target, cols) = if rel_path.is_empty() {
            (
                model.clone(),
                p.root_cols.get_or_insert_with(|| default_cols(model)),
            )
        } else {
            let segs: Vec<&str> = rel_path.split('.').collect();
            let node = find(&mut p.nodes, model, &segs)?;
            (node.rel.target.clone(), &mut node.cols)
        };
        match (&o.what, col) {
            (What::Defer, Some(c)) => {
                let i = target.column_index(c)?;
                if target.primary_key().contains(&i) {
                    return Err(schema_error(
                        target.name().as_str(),
                        Some(c),
                        format!(
                            "the primary key column `{c}` of model `{}` cannot be deferred",
                            target.name()
                        ),
                    ));
                }
                cols.retain(|&k| k != i);
            }
            (What::Undefer, Some(c)) => {
                let i = target.column_index(c)?;
                if !cols.contains(&i) {
                    cols.push(i);
                    cols.sort_unstable();
                }
            }
            (What::UndeferGroup, Some(g)) => {
                let members: Vec<usize> = (0..target.columns().len())
                    .filter(|&i| target.columns()[i].in_group(g))
                    .collect();
                if members.is_empty() {
                    return Err(schema_error(
                        target.name().as_str(),
                        None,
                        format!("no deferred group `{g}` on model `{}`", target.name()),
                    ));
                }
                for i in members {
                    if !cols.contains(&i) {
                        cols.push(i);
                    }
                }
                cols.sort_unstable();
            }
            (What::LoadOnly(names), _) => {
                let mut keep: Vec<usize> = target.primary_key().to_vec();
                for n in names {
                    keep.push(target.column_index(n)?);
                }
                keep.sort_unstable();
                keep.dedup();
                *cols = keep;
            }
            _ => {}
        }
    }
    Ok(p)
}

fn insert(
    nodes: &mut Vec<Node>,
    model: &Model,
    segs: &[&str],
    strategy: LoadStrategy,
    eager: bool,
) -> Result<()> {
    let Some((first, rest)) = segs.split_first() else {
        return Ok(());
    };
    let rel = model.relationship(first)?;
    let last = rest.is_empty();
    let k = match nodes.iter().position(|n| n.rel.name.as_str() == *first) {
        Some(k) => k,
        None => {
            nodes.push(Node {
                cols: default_cols(&rel.target),
                rel: rel.clone(),
                strategy,
                explicit: last,
                eager,
                children: Vec::new(),
            });
            nodes.len() - 1
        }
    };
    let node = &mut nodes[k];
    if last {
        node.strategy = strategy;
        node.explicit = true;
        node.eager = eager;
        return Ok(());
    }
    if !node.explicit {
        node.strategy = strategy;
        node.eager = eager;
    }
    insert(&mut node.children, &rel.target, rest, strategy, eager)
}

fn find<'a>(nodes: &'a mut [Node], model: &Model, segs: &[&str]) -> Result<&'a mut Node> {
    let (first, rest) = segs
        .split_first()
        .ok_or_else(|| Error::InvalidState("empty path".into()))?;
    let rel = model.relationship(first)?;
    let node = nodes
        .iter_mut()
        .find(|n| n.rel.name.as_str() == *first)
        .ok_or_else(|| {
            Error::InvalidState(format!(
                "a column option names {}, which this query does not load",
                rel.describe()
            ))
        })?;
    if rest.is_empty() {
        Ok(node)
    } else {
        let target = node.rel.target.clone();
        find(&mut node.children, &target, rest)
    }
}

fn defaults(nodes: &mut Vec<Node>, model: &Model, path: &mut Vec<(usize, String)>) -> Result<()> {
    if path.len() < 3 {
        for name in model.relationship_names() {
            let rel = model.relationship(&name)?;
            let id = (Arc::as_ptr(&model.0) as usize, name.clone());
            if rel.strategy == LoadStrategy::Lazy
                || path.contains(&id)
                || nodes.iter().any(|n| n.rel.name.as_str() == name)
            {
                continue;
            }
            nodes.push(Node {
                cols: default_cols(&rel.target),
                strategy: rel.strategy,
                rel,
                explicit: false,
                eager: false,
                children: Vec::new(),
            });
        }
    }
    for n in nodes.iter_mut() {
        let id = (
            Arc::as_ptr(&model.0) as usize,
            n.rel.name.as_str().to_owned(),
        );
        path.push(id);
        let target = n.rel.target.clone();
        defaults(&mut n.children, &target, path)?;
        path.pop();
    }
    Ok(())
}
