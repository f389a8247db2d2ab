//! ORM cascades around a flush: save-update (new related instances are
//! added), delete-orphan, delete (children loaded and deleted, unless the
//! database's ON DELETE does it: `passive_deletes`), the association rows of
//! many-to-many collections, and afterwards the identity map brought in line
//! with what the database's ON DELETE CASCADE / SET NULL did.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::identity::IdentityKey;
use super::related::{AssocOp, mem_remove};
use super::{Instance, InstanceState, Session};
use crate::db::Transaction;
use crate::dialect::param_limit;
use crate::error::Result;
use crate::query::{Delete, Expr, Insert, Run};
use crate::schema::{Model, ReferentialAction, RelationshipDef, RelationshipKind};
use crate::value::Value;

fn ptr(i: &Instance) -> usize {
    Arc::as_ptr(&i.0) as usize
}

impl Session {
    /// save-update: adds the transient instances `inst` relates to (and theirs).
    pub(crate) fn cascade_add(&mut self, inst: &Instance) -> Result<()> {
        let mut stack = vec![inst.clone()];
        let mut seen = HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(ptr(&i)) {
                continue;
            }
            let held = i.held();
            if held.is_empty() {
                continue;
            }
            let model = i.model();
            for (name, other) in held {
                if !model.relationship(&name)?.cascade.save_update {
                    continue;
                }
                if other.state() == InstanceState::Transient {
                    self.add_ref(&other)?;
                    stack.push(other);
                }
            }
        }
        Ok(())
    }

    /// Before a flush: save-update from new and changed instances, orphans
    /// deleted, delete cascades followed.
    pub(crate) async fn cascade_before_flush(&mut self) -> Result<()> {
        let mut roots = self.new.clone();
        roots.extend(self.tracker.modified.lock().iter().cloned());
        for r in &roots {
            self.cascade_add(r)?;
        }
        let orphans = std::mem::take(&mut *self.tracker.orphans.lock());
        for (o, _) in orphans {
            match o.state() {
                InstanceState::Pending => self.expunge(&o),
                InstanceState::Persistent if self.owned(&o.read()) => self.delete(&o)?,
                _ => {}
            }
        }
        let mut queue = self.deleted.clone();
        let mut k = 0;
        while k < queue.len() {
            let inst = queue[k].clone();
            k += 1;
            let model = inst.model();
            for name in model.relationship_names() {
                let rel = model.relationship(&name)?;
                if !matches!(
                    rel.kind,
                    RelationshipKind::HasMany | RelationshipKind::HasOne
                ) {
                    continue;
                }
                let is_loaded = inst.is_related_loaded(&name)?;
                if rel.passive_deletes && !is_loaded {
                    continue; // the database's ON DELETE does it
                }
                if rel.cascade.delete {
                    if !is_loaded {
                        let cols = super::loading::default_cols(&rel.target);
                        self.selectin(&rel, std::slice::from_ref(&inst), &cols)
                            .await?;
                    }
                    for child in inst.related(&name)?.into_vec() {
                        match child.state() {
                            InstanceState::Pending => self.expunge(&child),
                            InstanceState::Persistent if !child.is_marked_deleted() => {
                                self.delete(&child)?;
                                queue.push(child);
                            }
                            _ => {}
                        }
                    }
                } else if is_loaded && !rel.passive_deletes {
                    let nullable = rel
                        .remote
                        .iter()
                        .all(|&c| rel.target.columns()[c].is_nullable());
                    for child in inst.related(&name)?.into_vec() {
                        if nullable && !child.is_marked_deleted() {
                            child.clear_key(&rel.target, &rel.remote)?;
                            let mut d = child.write();
                            if d.state == InstanceState::Persistent && !d.modified {
                                child.mark_modified(&mut d);
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Association rows to delete before the flush's statements: removed
    /// from collections, or of deleted owners.
    pub(crate) async fn delete_associations(
        &self,
        tx: &mut Transaction,
        changed: &[Instance],
        deleted: &[Instance],
    ) -> Result<()> {
        for (rel, owner, other) in ops(changed, false) {
            let (Some(a), Some(b)) = (key_of(&owner, &rel.local), key_of(&other, &rel.remote))
            else {
                continue;
            };
            let Some(sec) = &rel.secondary else { continue };
            let mut conds = eq_all(&sec.model, &sec.to_owner, a)?;
            conds.extend(eq_all(&sec.model, &sec.to_target, b)?);
            run(tx, &Delete::from(&sec.model).filter(Expr::And(conds))).await?;
        }
        let mut by_rel: HashMap<(usize, String), (Arc<RelationshipDef>, Vec<Value>)> =
            HashMap::new();
        for inst in deleted {
            let model = inst.model();
            for name in model.relationship_names() {
                let rel = model.relationship(&name)?;
                if rel.kind != RelationshipKind::ManyToMany || rel.local.len() != 1 {
                    continue;
                }
                if let Some(mut k) = key_of(inst, &rel.local) {
                    let sec = rel
                        .secondary
                        .as_ref()
                        .map(|s| Arc::as_ptr(&s.model.0) as usize);
                    let entry = by_rel
                        .entry((
                            sec.unwrap_or(0),
                            rel.owner.columns()[rel.local[0]].name().to_string(),
                        ))
                        .or_insert_with(|| (rel.clone(), Vec::new()));
                    entry.1.append(&mut k);
                }
            }
        }
        let chunk = param_limit(tx.backend()) - 16;
        for (rel, keys) in by_rel.into_values() {
            let Some(sec) = &rel.secondary else { continue };
            let col = sec
                .model
                .col(sec.model.columns()[sec.to_owner[0]].name().as_str())?;
            for batch in keys.chunks(chunk) {
                let del =
                    Delete::from(&sec.model).filter(col.clone().in_list(batch.iter().cloned()));
                run(tx, &del).await?;
            }
        }
        Ok(())
    }

    /// Association rows to insert once every row has its key.
    pub(crate) async fn insert_associations(
        &self,
        tx: &mut Transaction,
        changed: &[Instance],
    ) -> Result<()> {
        for (rel, owner, other) in ops(changed, true) {
            let (Some(a), Some(b)) = (key_of(&owner, &rel.local), key_of(&other, &rel.remote))
            else {
                continue;
            };
            let Some(sec) = &rel.secondary else { continue };
            let names: Vec<&str> = sec
                .to_owner
                .iter()
                .chain(&sec.to_target)
                .map(|&c| sec.model.columns()[c].name().as_str())
                .collect();
            let mut row = a;
            row.extend(b);
            let ins = Insert::into(&sec.model).columns(names)?.values(row)?;
            run(tx, &ins).await?;
        }
        for inst in changed {
            inst.write().rels.assoc.clear();
        }
        Ok(())
    }

    /// After the flush's deletes: the instances in the identity map that the
    /// database's ON DELETE CASCADE deleted become deleted, those it SET NULL
    /// get NULL; deleted instances leave the collections of the parents that
    /// stay.
    pub(crate) fn mirror_deletes(&mut self, deleted: &[Instance]) {
        if deleted.is_empty() {
            return;
        }
        let mut gone: HashSet<IdentityKey> = HashSet::new();
        let mut models: HashMap<String, Model> = HashMap::new();
        let mut queue: Vec<Instance> = deleted.to_vec();
        for i in deleted {
            let d = i.read();
            if let Some(k) = &d.key {
                gone.insert(k.clone());
                models.insert(d.model.table().to_string(), d.model.clone());
            }
        }
        let mut all = self.map.instances();
        loop {
            let mut more = Vec::new();
            for inst in &all {
                if inst.state() != InstanceState::Persistent || inst.is_marked_deleted() {
                    continue;
                }
                if self.apply_db_action(inst, &gone, &models) {
                    more.push(inst.clone());
                }
            }
            if more.is_empty() {
                break;
            }
            for inst in &more {
                let mut d = inst.write();
                d.state = InstanceState::Deleted;
                if let Some(k) = d.key.clone() {
                    self.map.remove(&k);
                    gone.insert(k);
                    models.insert(d.model.table().to_string(), d.model.clone());
                }
                drop(d);
                if let Some(f) = self.frames.last_mut() {
                    f.deleted.push(inst.clone());
                }
            }
            all.retain(|i| i.state() == InstanceState::Persistent);
            queue.extend(more);
        }
        for inst in &queue {
            let model = inst.model();
            for (name, parent) in inst.held() {
                if let Ok(rel) = model.relationship(&name)
                    && rel.kind == RelationshipKind::BelongsTo
                    && let Some(b) = &rel.back_populates
                    && parent.state() == InstanceState::Persistent
                    && !parent.is_marked_deleted()
                {
                    mem_remove(&parent, b, inst);
                }
            }
        }
    }

    /// Applies the ON DELETE of `inst`'s foreign keys to deleted rows;
    /// returns whether `inst` itself was deleted (CASCADE).
    fn apply_db_action(
        &self,
        inst: &Instance,
        gone: &HashSet<IdentityKey>,
        models: &HashMap<String, Model>,
    ) -> bool {
        let model = inst.model();
        for fk in model.foreign_keys() {
            if !matches!(
                fk.on_delete,
                ReferentialAction::Cascade | ReferentialAction::SetNull
            ) {
                continue;
            }
            let Some(parent) = models.get(fk.table.as_str()) else {
                continue;
            };
            let values: Option<Vec<Value>> = {
                let d = inst.read();
                fk.columns
                    .iter()
                    .map(|&c| d.committed_value(c).cloned())
                    .collect()
            };
            let hit = values
                .and_then(|v| IdentityKey::new(parent, &v))
                .is_some_and(|k| gone.contains(&k));
            if !hit {
                continue;
            }
            if fk.on_delete == ReferentialAction::Cascade {
                return true;
            }
            let mut d = inst.write();
            for &c in &fk.columns {
                d.set_committed_value(c, Some(Value::Null));
            }
        }
        false
    }
}

/// The pending association changes of `instances` (adds or removes).
fn ops(instances: &[Instance], add: bool) -> Vec<(Arc<RelationshipDef>, Instance, Instance)> {
    let mut out = Vec::new();
    for inst in instances {
        let d = inst.read();
        for AssocOp { rel, other, add: a } in &d.rels.assoc {
            if *a == add {
                out.push((rel.clone(), inst.clone(), other.clone()));
            }
        }
    }
    out
}

fn key_of(inst: &Instance, cols: &[usize]) -> Option<Vec<Value>> {
    let d = inst.read();
    cols.iter()
        .map(|&c| d.values[c].clone().filter(|v| !v.is_null()))
        .collect()
}

fn eq_all(m: &Model, cols: &[usize], values: Vec<Value>) -> Result<Vec<Expr>> {
    cols.iter()
        .zip(values)
        .map(|(&c, v)| Ok(m.col(m.columns()[c].name().as_str())?.eq(v)))
        .collect()
}

async fn run<S: Run + Sync>(tx: &mut Transaction, stmt: &S) -> Result<()> {
    for c in stmt.statements(tx.backend())? {
        tx.execute_statement(&c.statement).await?;
    }
    Ok(())
}
