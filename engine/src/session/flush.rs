//! `Session::flush`: organizes the work (new, changed and deleted instances),
//! has the unit of work plan it, lets `persist` run it, and restores the
//! instances when anything fails.

use std::collections::HashMap;
use std::sync::Arc;

use super::instance::referenced_values;
use super::persist::Work;
use super::unit_of_work::{self, DeleteNode, InsertNode, Link, UpdateNode};
use super::{Instance, InstanceState, Session};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::schema::Model;

impl Session {
    /// Writes every pending change to the database, in the session's
    /// transaction (begun if needed): inserts of new instances, updates of
    /// changed ones (changed columns only), deletes, in foreign-key order.
    ///
    /// # Errors
    /// Any error rolls the whole transaction back and restores the instances
    /// (new ones transient again, persistent ones expired). Listener errors
    /// come as [`Error::Listener`], validation errors as [`Error::Validation`],
    /// others as [`Error::Flush`] naming the instance, with the kind of the cause.
    pub async fn flush(&mut self) -> Result<()> {
        if !self.has_changes() {
            return Ok(());
        }
        self.cascade_before_flush().await?;
        if let Err(e) = self.fire(EventKind::BeforeFlush) {
            return Err(self.abort(None, e).await);
        }
        let mut tx = self.take_tx().await?;
        let work = self.organize();
        let result = match self.prepare(&work) {
            Ok(plan) => self.run_work(&mut tx, &work, plan).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => {
                self.tx = Some(tx);
                self.mirror_deletes(&work.deletes);
                if let Err(e) = self.fire(EventKind::AfterFlush) {
                    return Err(self.abort(None, e).await);
                }
                Ok(())
            }
            Err(e) => Err(self.abort(Some(tx), e).await),
        }
    }

    /// The association rows removed, the plan, the association rows added.
    async fn run_work(
        &mut self,
        tx: &mut crate::db::Transaction,
        work: &Work,
        plan: unit_of_work::Plan,
    ) -> Result<()> {
        let mut changed = work.inserts.clone();
        changed.extend(work.updates.iter().cloned());
        self.delete_associations(tx, &changed, &work.deletes)
            .await?;
        super::persist::run(self, tx, work, plan).await?;
        self.insert_associations(tx, &changed).await
    }

    /// Rolls back after a failed flush and restores the instances.
    async fn abort(&mut self, tx: Option<crate::db::Transaction>, e: Error) -> Error {
        let tx = tx.or_else(|| self.tx.take());
        if let Some(tx) = tx {
            // The flush's error is what matters; a failed rollback leaves
            // nothing committed either way.
            let _ = tx.rollback().await;
        }
        self.restore_all();
        let _ = self.fire(EventKind::AfterRollback);
        e
    }

    /// Moves the session's pending work into the current frame and a [`Work`].
    fn organize(&mut self) -> Work {
        let new = std::mem::take(&mut self.new);
        let deleted = std::mem::take(&mut self.deleted);
        let modified = std::mem::take(&mut *self.tracker.modified.lock());
        let frame = self.frames.last_mut();
        let mut work = Work::default();
        if let Some(f) = frame {
            f.inserted.reserve(new.len());
            for inst in &new {
                f.inserted.push((inst.clone(), inst.read().values.clone()));
            }
            f.deleted.extend(deleted.iter().cloned());
        }
        work.inserts = new;
        work.deletes = deleted;
        let mut seen = std::collections::HashSet::new();
        work.updates = modified
            .into_iter()
            .filter(|i| {
                let d = i.read();
                d.state == InstanceState::Persistent && !d.marked_deleted
            })
            .filter(|i| seen.insert(Arc::as_ptr(&i.0) as usize))
            .collect();
        work
    }

    /// Validates, collects the dependencies and plans.
    fn prepare(&self, work: &Work) -> Result<unit_of_work::Plan> {
        let validators = self.opts.registry.validators();
        for (inst, only_changed) in work
            .inserts
            .iter()
            .map(|i| (i, false))
            .chain(work.updates.iter().map(|i| (i, true)))
        {
            let d = inst.read();
            for (i, v) in d.values.iter().enumerate() {
                if let Some(v) = v
                    && (!only_changed || d.is_changed(i))
                {
                    validators
                        .check(&d.model, i, v)
                        .map_err(|e| flush_error(&d.describe(), e))?;
                }
            }
        }
        let mut models: Vec<Model> = Vec::new();
        let mut model_index = |m: &Model| -> usize {
            match models.iter().position(|x| x.ptr_eq(m)) {
                Some(i) => i,
                None => {
                    models.push(m.clone());
                    models.len() - 1
                }
            }
        };
        let insert_index: HashMap<usize, usize> = work
            .inserts
            .iter()
            .enumerate()
            .map(|(k, i)| (Arc::as_ptr(&i.0) as usize, k))
            .collect();
        let links_of = |inst: &Instance| -> Result<Vec<Link>> {
            let d = inst.read();
            let mut out = Vec::new();
            for (fk, target) in &d.links {
                if let Some(&t) = insert_index.get(&(Arc::as_ptr(&target.0) as usize)) {
                    let nullable = d.model.foreign_keys()[*fk]
                        .columns
                        .iter()
                        .all(|&c| d.model.columns()[c].is_nullable());
                    out.push(Link {
                        fk: *fk,
                        target: t,
                        nullable,
                    });
                } else if referenced_values(&d.model, *fk, target)?.is_none() {
                    return Err(Error::Flush {
                        instance: d.describe(),
                        source: Box::new(Error::InvalidState(format!(
                            "it references {}, which is not in this session",
                            target.describe()
                        ))),
                    });
                }
            }
            Ok(out)
        };
        let mut inserts = Vec::with_capacity(work.inserts.len());
        for inst in &work.inserts {
            let model = inst.read().model.clone();
            inserts.push(InsertNode {
                model: model_index(&model),
                links: links_of(inst)?,
            });
        }
        let mut updates = Vec::with_capacity(work.updates.len());
        for inst in &work.updates {
            let model = inst.read().model.clone();
            updates.push(UpdateNode {
                model: model_index(&model),
                links: links_of(inst)?,
            });
        }
        let mut deletes = Vec::with_capacity(work.deletes.len());
        for inst in &work.deletes {
            let model = inst.read().model.clone();
            deletes.push(DeleteNode {
                model: model_index(&model),
                parents: Vec::new(),
            });
        }
        self_parents(&work.deletes, &mut deletes);
        unit_of_work::plan(&models, &inserts, &updates, &deletes)
            .map(|mut p| {
                p.models = models;
                p
            })
            .map_err(|c| {
                let d = work.inserts[c.row].read();
                Error::Flush {
                    instance: d.describe(),
                    source: Box::new(Error::InvalidState(format!(
                        "foreign key `{}` closes a cycle of new rows and is NOT NULL; make it nullable so that it can be set after the insert",
                        d.model.foreign_keys()[c.fk].name
                    ))),
                }
            })
    }
}

/// For deleted rows of self-referencing models: the deleted rows each references.
fn self_parents(instances: &[Instance], nodes: &mut [DeleteNode]) {
    let mut by_key: HashMap<(usize, Vec<String>), usize> = HashMap::new();
    for (k, inst) in instances.iter().enumerate() {
        let d = inst.read();
        if let Some(pk) = d.pk_values() {
            let key = pk.iter().map(ToString::to_string).collect();
            by_key.insert((nodes[k].model, key), k);
        }
    }
    if by_key.is_empty() {
        return;
    }
    for (k, inst) in instances.iter().enumerate() {
        let d = inst.read();
        for fk in d.model.foreign_keys() {
            if &fk.table != d.model.table() {
                continue;
            }
            let key: Option<Vec<String>> = fk
                .columns
                .iter()
                .map(|&c| {
                    d.committed_value(c)
                        .filter(|v| !v.is_null())
                        .map(ToString::to_string)
                })
                .collect();
            if let Some(key) = key
                && let Some(&p) = by_key.get(&(nodes[k].model, key))
            {
                nodes[k].parents.push(p);
            }
        }
    }
}

/// Wraps an error of a flush so that it names the instance; listener and
/// validation errors name what they need already.
pub(crate) fn flush_error(instance: &str, e: Error) -> Error {
    match e {
        e @ (Error::Listener { .. } | Error::Validation { .. } | Error::Flush { .. }) => e,
        e => Error::Flush {
            instance: instance.to_owned(),
            source: Box::new(e),
        },
    }
}
