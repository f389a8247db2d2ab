//! joined: the LEFT OUTER JOINs added to a query, and its rows read back
//! into instances, each model's columns by position.
//!
//! A row repeats the columns of every model above a collection (an author's
//! columns on each of its posts' rows): each model's primary key is read
//! first, and a key already met in the statement gives its instance without
//! converting the row's values again.

use super::super::identity::{FastMap, FastSet, IdentityKey};
use super::super::polymorphic::{Origin, PolyColumns, origin_of, subclass_reads};
use super::super::{Instance, Session};
use super::fill::Filler;
use super::{Node, col, is_joined, join_on, ptr};
use crate::db::Row;
use crate::error::{Error, Result};
use crate::ident::Ident;
use crate::query::{Expr, Select, TableRef};
use crate::schema::{Model, schema_error};
use crate::validate::Validators;
use crate::value::Value;

/// One model's columns in a joined statement.
pub(super) struct Part<'n> {
    pub(super) model: Model,
    /// The model column of each of its result columns.
    cols: Vec<Option<usize>>,
    /// For a polymorphic model: how its result columns (`cols`, then the
    /// subclasses' columns) map to the classes' columns.
    poly: Option<(PolyColumns, usize)>,
    /// The positions (among `cols`) of the primary key columns, when all are selected.
    key_pos: Option<Vec<usize>>,
    parent: usize,
    pub(super) node: Option<&'n Node>,
    pub(super) found: Vec<Instance>,
}

impl<'n> Part<'n> {
    pub(super) fn new(
        model: Model,
        cols: Vec<Option<usize>>,
        parent: usize,
        node: Option<&'n Node>,
    ) -> Self {
        let key_pos = model
            .primary_key()
            .iter()
            .map(|&i| cols.iter().position(|c| *c == Some(i)))
            .collect();
        Self {
            model,
            cols,
            poly: None,
            key_pos,
            parent,
            node,
            found: Vec::new(),
        }
    }

    /// Reads the part polymorphically: its `cols` are followed by
    /// `extra`, the subclasses' columns read through the table named `main`.
    pub(super) fn polymorphic(mut self, extra: &[Expr], main: &Ident) -> Self {
        let origins = self
            .cols
            .iter()
            .map(|c| {
                c.map(|index| Origin {
                    model: self.model.clone(),
                    index,
                    main: true,
                })
            })
            .chain(extra.iter().map(|e| origin_of(e, main)))
            .collect();
        self.poly = Some((PolyColumns::from_origins(&self.model, origins), extra.len()));
        self
    }

    /// The number of its result columns.
    fn width(&self) -> usize {
        self.cols.len() + self.poly.as_ref().map_or(0, |(_, n)| *n)
    }
}

/// `select` with the reads of the subclasses of the polymorphic `model`,
/// read as `t` (joined subclasses' tables aliased `<alias>_<n>`); the
/// subclasses' columns, appended to the select's items.
pub(super) fn add_subclass_reads(
    mut select: Select,
    model: &Model,
    t: &TableRef,
    selectin: bool,
    alias: Option<&str>,
) -> Result<(Select, Vec<Expr>)> {
    let reads = subclass_reads(model, t, selectin, alias, &select)?;
    for (table, on) in reads.joins {
        select = select.left_join(table, on);
    }
    for e in &reads.columns {
        select = select.column(e.clone());
    }
    Ok((select, reads.columns))
}

/// The joins for the joined nodes of `nodes` below part `parent` (table `t`).
pub(super) fn add_joins<'n>(
    mut select: Select,
    nodes: &'n [Node],
    parent: usize,
    t: &TableRef,
    parts: &mut Vec<Part<'n>>,
    collections_ok: bool,
) -> Result<Select> {
    for node in nodes.iter().filter(|n| is_joined(n, collections_ok)) {
        let rel = &node.rel;
        let n = parts.len();
        let alias = if node.eager {
            select
                .joins
                .iter()
                .map(|j| j.table.clone())
                .find(|tr| tr.as_model().is_some_and(|m| m.ptr_eq(&rel.target)))
                .ok_or_else(|| {
                    schema_error(
                        rel.owner.name().as_str(),
                        None,
                        format!(
                            "contains_eager: the query has no join to model `{}` for {}",
                            rel.target.name(),
                            rel.describe()
                        ),
                    )
                })?
        } else {
            // A polymorphic union target is joined as its union.
            let alias = rel.target.query_table().alias(&format!("dbr_j{n}"))?;
            select = match &rel.secondary {
                Some(sec) => {
                    let s = sec.model.alias(&format!("dbr_s{n}"))?;
                    let on1 = join_on(t, &rel.owner, &rel.local, &s, &sec.model, &sec.to_owner)?;
                    let on2 = join_on(
                        &s,
                        &sec.model,
                        &sec.to_target,
                        &alias,
                        &rel.target,
                        &rel.remote,
                    )?;
                    select.left_join(s, on1).left_join(alias.clone(), on2)
                }
                None => {
                    let on = join_on(t, &rel.owner, &rel.local, &alias, &rel.target, &rel.remote)?;
                    select.left_join(alias.clone(), on)
                }
            };
            alias
        };
        for &c in &node.cols {
            select = select.column(col(&alias, &rel.target, c)?);
        }
        let cols = node.cols.iter().map(|&c| Some(c)).collect();
        let mut part = Part::new(rel.target.clone(), cols, parent, Some(node));
        if rel.target.is_polymorphic() && !node.eager {
            let prefix = format!("dbr_j{n}");
            let (s, extra) = add_subclass_reads(select, &rel.target, &alias, false, Some(&prefix))?;
            select = s;
            part = part.polymorphic(&extra, alias.qualifier());
        }
        parts.push(part);
        select = add_joins(select, &node.children, n, &alias, parts, collections_ok)?;
    }
    Ok(select)
}

/// What one part read in a statement so far.
#[derive(Default)]
struct Seen {
    /// The instance of each primary key met (keys of the values as read).
    by_key: FastMap<IdentityKey, Instance>,
    /// The previous row's, which the next row usually repeats.
    last: Option<(IdentityKey, Instance)>,
}

/// A relationship list being filled: the part, the parent, the children
/// and, once a child came on more than one row, the set of those already in.
struct List {
    part: usize,
    parent: Instance,
    items: Vec<Instance>,
    index: Option<FastSet<usize>>,
}

/// The relationship lists being filled, one per (part, parent).
#[derive(Default)]
struct Fills {
    /// Per (part, parent): the index in `lists`, or `None` when the parent
    /// had it loaded already (left as it is).
    at: FastMap<(usize, usize), Option<usize>>,
    lists: Vec<List>,
}

impl Fills {
    /// Adds a row's child to its parent's list. `first`: the statement
    /// gives this child for the first time, so it cannot be on a list yet.
    fn add(
        &mut self,
        k: usize,
        node: &Node,
        parent: &Instance,
        child: Option<&Instance>,
        first: bool,
    ) {
        let lists = &mut self.lists;
        let at = *self.at.entry((k, ptr(parent))).or_insert_with(|| {
            let loaded = super::super::related::is_loaded(&parent.read(), node.rel.name.as_str());
            (!loaded).then(|| {
                lists.push(List {
                    part: k,
                    parent: parent.clone(),
                    items: Vec::new(),
                    index: None,
                });
                lists.len() - 1
            })
        });
        let (Some(list), Some(child)) = (at.and_then(|i| lists.get_mut(i)), child) else {
            return;
        };
        let fresh = if first && list.index.is_none() {
            true
        } else {
            let items = &list.items;
            list.index
                .get_or_insert_with(|| items.iter().map(ptr).collect())
                .insert(ptr(child))
        };
        if fresh {
            list.items.push(child.clone());
        }
    }
}

/// Turns a joined statement's rows into instances as they arrive, and fills
/// the joined relationships at the end.
pub(super) struct JoinedRows<'a> {
    session: &'a Session,
    validators: Validators,
    root: Vec<Instance>,
    seen: Vec<Seen>,
    fills: Fills,
    /// The current row's instance of each part.
    row_insts: Vec<Option<Instance>>,
}

impl<'a> JoinedRows<'a> {
    pub(super) fn new(session: &'a Session, parts: &[Part<'_>]) -> Self {
        Self {
            session,
            validators: session.opts.registry.validators().clone(),
            root: Vec::new(),
            seen: parts.iter().map(|_| Seen::default()).collect(),
            fills: Fills::default(),
            row_insts: vec![None; parts.len()],
        }
    }

    /// Reads one row, part after part.
    pub(super) fn row(&mut self, parts: &mut [Part<'_>], row: Row) -> Result<()> {
        let mut vals = row.into_values();
        let mut start = 0;
        for (k, part) in parts.iter_mut().enumerate() {
            let width = part.width();
            let end = (start + width).min(vals.len());
            let slice = vals.get_mut(start.min(end)..end).unwrap_or_default();
            start += width;
            let (inst, first) =
                self.session
                    .read_part(&self.validators, part, &mut self.seen[k], slice)?;
            if k == 0 && inst.is_none() {
                return Err(Error::InvalidState(format!(
                    "a query of model `{}` must select its primary key",
                    part.model.name()
                )));
            }
            if first && let Some(i) = &inst {
                if k == 0 {
                    self.root.push(i.clone());
                } else {
                    part.found.push(i.clone());
                }
            }
            if let (Some(node), Some(Some(parent))) = (part.node, self.row_insts.get(part.parent)) {
                self.fills.add(k, node, parent, inst.as_ref(), first);
            }
            self.row_insts[k] = inst;
        }
        Ok(())
    }

    /// Fills the relationships; the root instances, each once, in row order.
    pub(super) fn finish(self, parts: &[Part<'_>]) -> Vec<Instance> {
        let fillers: Vec<Option<Filler<'_>>> = parts
            .iter()
            .map(|p| p.node.map(|n| Filler::new(&n.rel)))
            .collect();
        for list in self.fills.lists {
            if let Some(Some(f)) = fillers.get(list.part) {
                f.fill(&list.parent, list.items);
            }
        }
        self.root
    }
}

impl Session {
    /// One part's instance in a row (`vals`: its columns), and whether the
    /// statement gave it for the first time.
    fn read_part(
        &self,
        validators: &Validators,
        part: &Part<'_>,
        seen: &mut Seen,
        vals: &mut [Value],
    ) -> Result<(Option<Instance>, bool)> {
        let key = match &part.key_pos {
            Some(pos) => {
                let key = IdentityKey::of_values(
                    &part.model,
                    pos.len(),
                    pos.iter().map(|&j| vals.get(j)),
                );
                // A NULL key: the empty side of an outer join.
                let Some(key) = key else {
                    return Ok((None, false));
                };
                if let Some((k, i)) = &seen.last
                    && *k == key
                {
                    return Ok((Some(i.clone()), false));
                }
                if let Some(i) = seen.by_key.get(&key) {
                    seen.last = Some((key, i.clone()));
                    return Ok((Some(i.clone()), false));
                }
                Some(key)
            }
            None => None,
        };
        let inst = if let Some((poly, _)) = &part.poly {
            let row = vals
                .iter_mut()
                .map(|v| std::mem::replace(v, Value::Null))
                .collect();
            let (class, raw) = poly.split(row)?;
            let values = raw
                .into_iter()
                .enumerate()
                .map(|(i, x)| x.map(|x| validators.loaded_value(&class, i, x)).transpose())
                .collect::<Result<Vec<_>>>()?;
            self.load_values(&class, values, false)?
        } else {
            let mut values: Vec<Option<Value>> = vec![None; part.model.columns().len()];
            for (c, v) in part.cols.iter().zip(vals.iter_mut()) {
                if let Some(i) = *c {
                    let v = std::mem::replace(v, Value::Null);
                    values[i] = Some(validators.loaded_value(&part.model, i, v)?);
                }
            }
            self.load_values(&part.model, values, false)?
        };
        if let (Some(key), Some(i)) = (key, &inst) {
            seen.by_key.insert(key.clone(), i.clone());
            seen.last = Some((key, i.clone()));
        }
        Ok((inst, true))
    }
}
