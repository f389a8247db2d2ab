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

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;

mod fill;
mod joined;
mod plan;
mod selectin;

pub use plan::Load;
pub(crate) use plan::{Node, Plan, default_cols, plan};

use joined::{JoinedRows, Part, add_joins};

use super::identity::IdentityKey;
use super::related::{Related, Slot, loaded, put_loaded};
use super::{Instance, InstanceState, Session};
use crate::dialect::Compile;
use crate::error::{Error, Result};
use crate::query::{Select, SelectItem};
use crate::schema::{LoadStrategy, Model, RelationshipDef, RelationshipKind};
use crate::value::Value;

use crate::schema::relationship_expr::{col, join_on};

fn is_joined(n: &Node, collections_ok: bool) -> bool {
    n.strategy == LoadStrategy::Joined && (n.eager || collections_ok || !n.rel.kind.is_collection())
}

fn ptr(i: &Instance) -> usize {
    Arc::as_ptr(&i.0) as usize
}

impl Session {
    /// Runs a query of `model` with a loading plan. A polymorphic model's
    /// subclasses are read as [`Session::fetch_polymorphic`] reads them
    /// (`selectin`: every joined subclass by a second SELECT).
    pub(crate) async fn fetch_planned(
        &mut self,
        model: &Model,
        mut select: Select,
        plan: &Plan,
        selectin: bool,
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
        let mut root = Part::new(model.clone(), root_cols, 0, None);
        let parent_query = select.clone();
        if model.is_polymorphic() {
            let (s, extra) =
                joined::add_subclass_reads(select, model, &model.table_ref(), selectin, None)?;
            select = s;
            root = root.polymorphic(&extra, model.table());
        }
        let mut parts = vec![root];
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
        let read: Result<Vec<Instance>> = {
            // Rows become instances as they arrive, while the server sends the next.
            let mut rows = tx.fetch_statement(compiled.statement);
            let mut reader = JoinedRows::new(self, &parts);
            async {
                while let Some(row) = rows.next().await {
                    reader.row(&mut parts, row?)?;
                }
                Ok(reader.finish(&parts))
            }
            .await
        };
        self.tx = Some(tx);
        let root = read?;
        // The joined subclasses that load by a second SELECT.
        for part in &parts {
            let (found, all) = match part.node {
                None => (&root, selectin),
                Some(_) => (&part.found, false),
            };
            self.load_subclass_columns(&part.model, found, all).await?;
        }
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
                    // A composite key loads by selectin (no row-value IN here).
                    LoadStrategy::Subquery
                        if parent_query.is_some() && node.rel.local.len() == 1 =>
                    {
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

    /// Loads relationship paths for instances already in the session (the
    /// options of a query, applied afterwards): `session.load(&users, &[Load::selectin("posts")])`.
    /// Column options (`Load::undefer`, `Load::undefer_group`) load the
    /// columns they name that the instances have not loaded, by key.
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
        if let Some(cols) = &plan.root_cols {
            self.load_root_columns(&model, instances, cols).await?;
        }
        self.run_post(&plan.nodes, instances, None, None).await
    }

    /// The instances' columns that column options (`undefer`,
    /// `undefer_group`, `load_only`) ask for and that they have not loaded:
    /// read by key, 500 keys a statement; loaded columns (and unflushed
    /// changes) are kept.
    async fn load_root_columns(
        &mut self,
        model: &Model,
        instances: &[Instance],
        cols: &[usize],
    ) -> Result<()> {
        let keys: Vec<Vec<Value>> = instances
            .iter()
            .filter_map(|inst| {
                let r = inst.read();
                let missing = cols
                    .iter()
                    .any(|&i| r.values.get(i).is_none_or(Option::is_none));
                (missing && self.owned(&r)).then(|| r.pk_values()).flatten()
            })
            .collect();
        if keys.is_empty() {
            return Ok(());
        }
        let pk = model.primary_key();
        let wanted: Vec<usize> = pk
            .iter()
            .copied()
            .chain(cols.iter().copied().filter(|i| !pk.contains(i)))
            .collect();
        for chunk in keys.chunks(500) {
            self.load_columns_by_key(model, &wanted, chunk).await?;
        }
        Ok(())
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

    /// A `belongs_to` with a NULL key (any of its columns), or whose target
    /// is in the identity map.
    fn belongs_to_without_sql(&self, rel: &RelationshipDef, inst: &Instance) -> Result<bool> {
        let vals: Vec<Option<Value>> = {
            let d = inst.read();
            rel.local
                .iter()
                .map(|&c| d.values.get(c).cloned().flatten())
                .collect()
        };
        if vals.iter().any(|v| v.as_ref().is_some_and(Value::is_null)) {
            put_loaded(inst, rel.name.shared(), Related::One(None));
            return Ok(true);
        }
        let Some(vals) = vals.into_iter().collect::<Option<Vec<Value>>>() else {
            return Ok(false);
        };
        if rel.target.primary_key() != rel.remote {
            return Ok(false);
        }
        let hit = IdentityKey::new(&rel.target, &vals)
            .and_then(|k| self.map.get(&k))
            .filter(|t| t.state() == InstanceState::Persistent);
        match hit {
            Some(t) => {
                put_loaded(inst, rel.name.shared(), Related::One(Some(t)));
                Ok(true)
            }
            None => Ok(false),
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
