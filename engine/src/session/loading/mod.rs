//! Loading relationships: [`Load`] options, the plan they make with the
//! relationships' default strategies, and the strategies themselves.
//!
//! - joined: LEFT OUTER JOINs added to the query itself (aliased `dbr_j<n>`),
//!   the related columns read back by position; a row whose related key is
//!   NULL gives `None` or an empty list, never an object.
//! - selectin: one more statement per relationship and level,
//!   `WHERE key IN (...)` in batches under the backend's parameter limit;
//!   a `belongs_to` found in the identity map costs no SQL.
//! - subquery: `WHERE key IN (SELECT key FROM <the parent query>)`.
//! - noload / raise: nothing is loaded; raise makes reading it an error.
//!
//! Joined applies at the top of a query and below other joined
//! relationships; below a selectin or subquery level it loads by selectin, and
//! a joined collection on a query with LIMIT or OFFSET loads by selectin too
//! (the limit counts parents, not joined rows).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures_util::future::BoxFuture;

mod plan;

pub use plan::Load;
pub(crate) use plan::{Node, Plan, default_cols, plan};

use super::identity::IdentityKey;
use super::related::{Related, Slot, loaded, put_loaded};
use super::{Instance, InstanceState, Session};
use crate::dialect::{Compile, param_limit};
use crate::error::{Error, Result};
use crate::query::{Expr, Select, SelectItem, TableRef};
use crate::schema::{LoadStrategy, Model, RelationshipDef, RelationshipKind, schema_error};
use crate::value::Value;

fn col(t: &TableRef, m: &Model, i: usize) -> Result<Expr> {
    t.col(m.columns()[i].name().as_str())
}

fn join_on(
    a: &TableRef,
    am: &Model,
    ac: &[usize],
    b: &TableRef,
    bm: &Model,
    bc: &[usize],
) -> Result<Expr> {
    let mut conds = Vec::with_capacity(ac.len());
    for (&x, &y) in ac.iter().zip(bc) {
        conds.push(col(a, am, x)?.eq(col(b, bm, y)?));
    }
    Ok(if conds.len() == 1 {
        conds.remove(0)
    } else {
        Expr::And(conds)
    })
}

/// One model's columns in a joined statement.
struct Part<'n> {
    model: Model,
    /// The model column of each of its result columns.
    cols: Vec<Option<usize>>,
    parent: usize,
    node: Option<&'n Node>,
    found: Vec<Instance>,
}

/// The joins for the joined nodes of `nodes` below part `parent` (table `t`).
fn add_joins<'n>(
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
            let alias = rel.target.alias(&format!("dbr_j{n}"))?;
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
        parts.push(Part {
            model: rel.target.clone(),
            cols: node.cols.iter().map(|&c| Some(c)).collect(),
            parent,
            node: Some(node),
            found: Vec::new(),
        });
        select = add_joins(select, &node.children, n, &alias, parts, collections_ok)?;
    }
    Ok(select)
}

/// A parent and the related instances a joined statement gave it.
type Filling = (Instance, Vec<Instance>);

fn is_joined(n: &Node, collections_ok: bool) -> bool {
    n.strategy == LoadStrategy::Joined && (n.eager || collections_ok || !n.rel.kind.is_collection())
}

fn hkey(m: &Model, v: &Value) -> Option<IdentityKey> {
    IdentityKey::new(m, std::slice::from_ref(v))
}

fn ptr(i: &Instance) -> usize {
    Arc::as_ptr(&i.0) as usize
}

impl Session {
    /// Runs a query of `model` with a loading plan.
    pub(crate) async fn fetch_planned(
        &mut self,
        model: &Model,
        mut select: Select,
        plan: &Plan,
    ) -> Result<Vec<Instance>> {
        if let Some(cols) = &plan.root_cols {
            let t = model.table_ref();
            select.items = cols
                .iter()
                .map(|&c| col(&t, model, c).map(SelectItem::from))
                .collect::<Result<_>>()?;
        }
        let root_cols = super::load::column_map(model, &select.output_columns()?);
        let collections_ok = select.limit.is_none() && select.offset.is_none();
        let mut parts = vec![Part {
            model: model.clone(),
            cols: root_cols,
            parent: 0,
            node: None,
            found: Vec::new(),
        }];
        let parent_query = select.clone();
        let select = add_joins(
            select,
            &plan.nodes,
            0,
            &model.table_ref(),
            &mut parts,
            collections_ok,
        )?;
        let compiled = select.compile_for(self.db.backend())?;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(compiled.statement).await;
        self.tx = Some(tx);
        let rows = rows?;
        let root = self.read_joined(rows, &mut parts)?;
        for part in &parts {
            let (nodes, parents, q) = match part.node {
                None => (plan.nodes.as_slice(), &root, Some(&parent_query)),
                Some(n) => (n.children.as_slice(), &part.found, None),
            };
            self.run_post(nodes, parents, q, Some(collections_ok))
                .await?;
        }
        Ok(root)
    }

    /// Turns joined rows into instances and fills the joined relationships.
    fn read_joined(
        &self,
        rows: Vec<crate::db::Row>,
        parts: &mut [Part<'_>],
    ) -> Result<Vec<Instance>> {
        let validators = self.opts.registry.validators().clone();
        let mut root = Vec::with_capacity(rows.len());
        let mut seen: Vec<HashSet<usize>> = vec![HashSet::new(); parts.len()];
        // (part, parent) -> what the parent's relationship gets; None: it was loaded before.
        let mut fill: HashMap<(usize, usize), Option<Filling>> = HashMap::new();
        let mut order: Vec<(usize, usize)> = Vec::new();
        let mut row_insts: Vec<Option<Instance>> = vec![None; parts.len()];
        for row in rows {
            let mut vals = row.into_values().into_iter();
            for (k, part) in parts.iter_mut().enumerate() {
                let mut values: Vec<Option<Value>> = vec![None; part.model.columns().len()];
                for c in &part.cols {
                    let v = vals.next().unwrap_or(Value::Null);
                    if let Some(i) = c {
                        values[*i] = Some(validators.loaded_value(&part.model, *i, v)?);
                    }
                }
                let inst = self.load_values(&part.model, values, false)?;
                if k == 0 && inst.is_none() {
                    return Err(Error::InvalidState(format!(
                        "a query of model `{}` must select its primary key",
                        part.model.name()
                    )));
                }
                if let Some(i) = &inst
                    && seen[k].insert(ptr(i))
                {
                    if k == 0 {
                        root.push(i.clone());
                    } else {
                        part.found.push(i.clone());
                    }
                }
                if k > 0
                    && let (Some(node), Some(parent)) = (part.node, &row_insts[part.parent])
                {
                    let key = (k, ptr(parent));
                    let entry = fill.entry(key).or_insert_with(|| {
                        order.push(key);
                        let d = parent.read();
                        loaded(&d, node.rel.name.as_str(), node.rel.kind)
                            .is_none()
                            .then(|| (parent.clone(), Vec::new()))
                    });
                    if let (Some((_, list)), Some(i)) = (entry, &inst)
                        && !list.iter().any(|x| x.ptr_eq(i))
                    {
                        list.push(i.clone());
                    }
                }
                row_insts[k] = inst;
            }
        }
        for key in order {
            let Some(Some((parent, list))) = fill.remove(&key) else {
                continue;
            };
            let Some(node) = parts[key.0].node else {
                continue;
            };
            self.assign_one(&node.rel, &parent, list);
        }
        Ok(root)
    }

    /// Stores what was found for one parent, and the mirror of each child.
    fn assign_one(&self, rel: &RelationshipDef, parent: &Instance, list: Vec<Instance>) {
        let name = rel.name.as_str();
        if matches!(
            rel.kind,
            RelationshipKind::HasMany | RelationshipKind::HasOne
        ) && let Some(b) = &rel.back_populates
        {
            for c in &list {
                // The parent holds the child: the child holds it weakly.
                let mut d = c.write();
                let replace = match loaded(&d, b, RelationshipKind::BelongsTo) {
                    None => true,
                    Some(Related::One(Some(p))) => p.ptr_eq(parent),
                    Some(_) => false,
                };
                if replace {
                    d.rels.slots.insert(b.as_str().into(), Slot::back(parent));
                }
            }
        }
        let value = if rel.kind.is_collection() {
            Related::Many(list)
        } else {
            Related::One(list.into_iter().next())
        };
        put_loaded(parent, name, value);
    }

    /// The loaders that run after a statement, for `parents`. `joined`:
    /// whether that statement joined the joined nodes (and whether it could
    /// join collections).
    fn run_post<'a>(
        &'a mut self,
        nodes: &'a [Node],
        parents: &'a [Instance],
        parent_query: Option<&'a Select>,
        joined: Option<bool>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            for node in nodes {
                let name = node.rel.name.as_str();
                match node.strategy {
                    LoadStrategy::Joined if joined.is_some_and(|c| is_joined(node, c)) => {}
                    LoadStrategy::Lazy => {}
                    LoadStrategy::NoLoad | LoadStrategy::Raise => {
                        for p in parents {
                            let unloaded = loaded(&p.read(), name, node.rel.kind).is_none();
                            if unloaded {
                                if node.strategy == LoadStrategy::NoLoad {
                                    put_loaded(p, name, empty(node.rel.kind));
                                } else {
                                    p.write().rels.slots.insert(name.into(), Slot::Raise);
                                }
                            }
                        }
                    }
                    LoadStrategy::Subquery if parent_query.is_some() => {
                        let q = parent_query.cloned().unwrap_or_default();
                        let (children, child_q) =
                            self.subquery(&node.rel, parents, &node.cols, q).await?;
                        self.run_post(&node.children, &children, Some(&child_q), None)
                            .await?;
                    }
                    _ => {
                        let children = self.selectin(&node.rel, parents, &node.cols).await?;
                        // Joined children of a selectin level load by selectin.
                        self.run_post(&node.children, &children, None, None).await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// The select of `rel`'s targets (columns `cols`, then the key each
    /// belongs to, labelled `dbr_key`), and the key column to filter on.
    fn related_select(rel: &RelationshipDef, cols: &[usize]) -> Result<(Select, Expr)> {
        let t = rel.target.table_ref();
        let mut select = Select::from(&rel.target);
        for &c in cols {
            select = select.column(col(&t, &rel.target, c)?);
        }
        let (_, r) = rel.single()?;
        let key = match &rel.secondary {
            Some(sec) => {
                let s = sec.model.table_ref();
                let on = join_on(&s, &sec.model, &sec.to_target, &t, &rel.target, &rel.remote)?;
                select = select.join(s.clone(), on);
                col(&s, &sec.model, sec.to_owner[0])?
            }
            None => col(&t, &rel.target, r)?,
        };
        select = select.column(key.clone().label("dbr_key")?);
        if let Some(o) = rel.order_by {
            select = select.order_by(col(&t, &rel.target, o)?);
        }
        Ok((select, key))
    }

    /// Runs a related select; each instance with the key it was found for.
    async fn fetch_related(
        &mut self,
        rel: &RelationshipDef,
        cols: &[usize],
        select: &Select,
    ) -> Result<Vec<(Instance, Value)>> {
        let compiled = select.compile_for(self.db.backend())?;
        let mut tx = self.take_tx().await?;
        let rows = tx.fetch_all_statement(compiled.statement).await;
        self.tx = Some(tx);
        let rows = rows?;
        let validators = self.opts.registry.validators().clone();
        let m = &rel.target;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut vals = row.into_values();
            let key = vals.pop().unwrap_or(Value::Null);
            let mut values: Vec<Option<Value>> = vec![None; m.columns().len()];
            for (&c, v) in cols.iter().zip(vals) {
                values[c] = Some(validators.loaded_value(m, c, v)?);
            }
            if let Some(inst) = self.load_values(m, values, false)? {
                out.push((inst, key));
            }
        }
        Ok(out)
    }

    /// The parents whose relationship is not loaded yet (each once).
    fn unloaded(rel: &RelationshipDef, parents: &[Instance]) -> Vec<Instance> {
        let mut seen = HashSet::new();
        parents
            .iter()
            .filter(|p| seen.insert(ptr(p)))
            .filter(|p| loaded(&p.read(), rel.name.as_str(), rel.kind).is_none())
            .cloned()
            .collect()
    }

    /// selectin: `WHERE key IN (...)` for the parents' keys, in batches.
    pub(crate) async fn selectin(
        &mut self,
        rel: &RelationshipDef,
        parents: &[Instance],
        cols: &[usize],
    ) -> Result<Vec<Instance>> {
        let (l, r) = rel.single()?;
        let todo = Self::unloaded(rel, parents);
        let mut waiting: Vec<Instance> = Vec::with_capacity(todo.len());
        let mut keys: Vec<Value> = Vec::new();
        let mut asked: HashSet<IdentityKey> = HashSet::new();
        let by_pk = rel.kind == RelationshipKind::BelongsTo && rel.target.primary_key() == [r];
        let mut found = Vec::new();
        for p in todo {
            let v = p.read().values[l].clone().filter(|v| !v.is_null());
            let Some(v) = v else {
                put_loaded(&p, rel.name.as_str(), empty(rel.kind));
                continue;
            };
            let Some(hk) = hkey(&rel.target, &v) else {
                continue;
            };
            if by_pk
                && let Some(t) = self.map.get(&hk)
                && t.state() == InstanceState::Persistent
            {
                put_loaded(&p, rel.name.as_str(), Related::One(Some(t.clone())));
                found.push(t);
                continue;
            }
            if asked.insert(hk) {
                keys.push(v);
            }
            waiting.push(p);
        }
        if waiting.is_empty() {
            return Ok(found);
        }
        let (select, key_col) = Self::related_select(rel, cols)?;
        let chunk = param_limit(self.db.backend()) - 16;
        let mut rows = Vec::new();
        for batch in keys.chunks(chunk) {
            let q = select
                .clone()
                .filter(key_col.clone().in_list(batch.iter().cloned()));
            rows.extend(self.fetch_related(rel, cols, &q).await?);
        }
        found.extend(self.assign(rel, &waiting, rows));
        Ok(found)
    }

    /// subquery: `WHERE key IN (SELECT <parent key> FROM <parent query>)`.
    async fn subquery(
        &mut self,
        rel: &RelationshipDef,
        parents: &[Instance],
        cols: &[usize],
        parent_query: Select,
    ) -> Result<(Vec<Instance>, Select)> {
        let (l, _) = rel.single()?;
        let mut keys = parent_query;
        keys.items = vec![SelectItem::from(
            rel.owner.col(rel.owner.columns()[l].name().as_str())?,
        )];
        let (select, key_col) = Self::related_select(rel, cols)?;
        let select = select.filter(key_col.in_query(keys));
        let rows = self.fetch_related(rel, cols, &select).await?;
        let todo = Self::unloaded(rel, parents);
        let found = self.assign(rel, &todo, rows);
        // The next level's parent query: this one's rows.
        let mut next = select;
        next.items.pop();
        Ok((found, next))
    }

    /// Groups found rows by key and stores them in the parents.
    fn assign(
        &self,
        rel: &RelationshipDef,
        parents: &[Instance],
        rows: Vec<(Instance, Value)>,
    ) -> Vec<Instance> {
        let Ok((l, _)) = rel.single() else {
            return Vec::new();
        };
        let mut by_key: HashMap<IdentityKey, Vec<Instance>> = HashMap::new();
        let mut found = Vec::with_capacity(rows.len());
        let mut seen = HashSet::new();
        for (inst, key) in rows {
            if let Some(hk) = hkey(&rel.target, &key) {
                let list = by_key.entry(hk).or_default();
                if !list.iter().any(|i| i.ptr_eq(&inst)) {
                    list.push(inst.clone());
                }
            }
            if seen.insert(ptr(&inst)) {
                found.push(inst);
            }
        }
        for p in parents {
            let v = p.read().values[l].clone();
            let list = v
                .as_ref()
                .and_then(|v| hkey(&rel.target, v))
                .and_then(|hk| by_key.get(&hk).cloned())
                .unwrap_or_default();
            self.assign_one(rel, p, list);
        }
        found
    }

    /// Loads relationship paths for instances already in the session (the
    /// options of a query, applied afterwards): `session.load(&users, &[Load::selectin("posts")])`.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship; database errors.
    pub async fn load(&mut self, instances: &[Instance], options: &[Load]) -> Result<()> {
        let Some(first) = instances.first() else {
            return Ok(());
        };
        let model = first.model();
        let plan = plan(&model, options)?;
        if self.opts.autoflush {
            self.flush().await?;
        }
        self.run_post(&plan.nodes, instances, None, None).await
    }

    /// A relationship of an instance: loaded already (no SQL), or loaded now
    /// (lazy loading, autoflushing first). A `belongs_to` whose key is NULL,
    /// or whose target is in the identity map, costs no SQL.
    ///
    /// # Errors
    /// [`Error::Schema`] for an unknown relationship ("no relationship `x` on
    /// model `User`"); [`Error::InvalidState`] when the relationship's
    /// strategy is raise, when strict loading is on and SQL would run, or
    /// when the instance is not persistent in this session; database errors.
    pub async fn related(&mut self, inst: &Instance, name: &str) -> Result<Related> {
        let rel = inst.model().relationship(name)?;
        let (current, raise, owned, state) = {
            let d = inst.read();
            (
                loaded(&d, name, rel.kind),
                matches!(d.rels.slots.get(name), Some(Slot::Raise)),
                self.owned(&d),
                d.state,
            )
        };
        if let Some(r) = current {
            return Ok(r);
        }
        if raise || rel.strategy == LoadStrategy::Raise {
            return Err(Error::InvalidState(format!(
                "{} of {} is not loaded and its loading strategy is raise",
                rel.describe(),
                inst.describe()
            )));
        }
        if rel.strategy == LoadStrategy::NoLoad {
            put_loaded(inst, name, empty(rel.kind));
            return inst.related(name);
        }
        if !owned || state != InstanceState::Persistent {
            return Err(Error::InvalidState(format!(
                "{} of {} cannot be loaded: the instance is not persistent in this session",
                rel.describe(),
                inst.describe()
            )));
        }
        if rel.kind == RelationshipKind::BelongsTo && self.belongs_to_without_sql(&rel, inst)? {
            return inst.related(name);
        }
        if self.opts.strict_loading {
            return Err(Error::InvalidState(format!(
                "strict loading: {} of {} is not loaded and loading it would run SQL; load it with a loader option (Load::selectin(\"{name}\"))",
                rel.describe(),
                inst.describe()
            )));
        }
        if self.opts.autoflush && self.has_changes() {
            self.flush().await?;
        }
        let cols = default_cols(&rel.target);
        self.selectin(&rel, std::slice::from_ref(inst), &cols)
            .await?;
        inst.related(name)
    }

    /// A `belongs_to` with a NULL key, or whose target is in the identity map.
    fn belongs_to_without_sql(&self, rel: &RelationshipDef, inst: &Instance) -> Result<bool> {
        let (l, r) = rel.single()?;
        let v = inst.read().values[l].clone();
        match v {
            Some(Value::Null) => {
                put_loaded(inst, rel.name.as_str(), Related::One(None));
                Ok(true)
            }
            Some(v) if rel.target.primary_key() == [r] => {
                let hit = hkey(&rel.target, &v)
                    .and_then(|k| self.map.get(&k))
                    .filter(|t| t.state() == InstanceState::Persistent);
                if let Some(t) = hit {
                    put_loaded(inst, rel.name.as_str(), Related::One(Some(t)));
                    return Ok(true);
                }
                Ok(false)
            }
            _ => Ok(false),
        }
    }
}

fn empty(kind: RelationshipKind) -> Related {
    if kind.is_collection() {
        Related::Many(Vec::new())
    } else {
        Related::One(None)
    }
}
