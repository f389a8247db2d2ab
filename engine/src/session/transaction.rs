//! The session's transaction: begun lazily (or borrowed from a host, call by
//! call: [`Session::borrowing`]), committed or rolled back as a
//! whole, with nested savepoints; and what a rollback does to instances.

use futures_util::future::BoxFuture;

use super::{Instance, InstanceState, Session, SessionOptions};
use crate::db::{Database, Transaction};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::value::Value;

/// What one level of transaction (the outer one, or a savepoint) changed, to
/// undo it on rollback.
#[derive(Default)]
pub(crate) struct Frame {
    pub(crate) savepoint: Option<String>,
    /// Instances pending when a flush began, with their values then.
    pub(crate) inserted: Vec<(Instance, Vec<Option<Value>>)>,
    /// Instances deleted (or to be deleted) by a flush.
    pub(crate) deleted: Vec<Instance>,
    /// Instances added while this frame was open.
    pub(crate) added: Vec<Instance>,
}

impl Session {
    /// A session that works in a transaction its host owns and lends it
    /// for each call that may run SQL ([`Session::lend_transaction`] before,
    /// [`Session::return_transaction`] after): a migration's, shared with
    /// the migration's raw SQL and other sessions.
    ///
    /// It never begins, commits or rolls back that transaction:
    /// [`Session::commit`] flushes (and then treats instances as a commit
    /// does), [`Session::rollback`] fails with [`Error::InvalidState`] (fail
    /// the host's transaction instead, or undo a part with
    /// [`Session::begin_nested`]), and [`Session::close`] drops what was not
    /// flushed and detaches every instance. A failed flush still rolls the
    /// whole transaction back.
    ///
    /// # Examples
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> dbridge_engine::Result<()> {
    /// use dbridge_engine::Database;
    /// use dbridge_engine::session::{Session, SessionOptions};
    /// let db = Database::connect("sqlite::memory:").await?;
    /// let mut tx = db.begin().await?;
    /// let mut s = Session::borrowing(&db, SessionOptions::new());
    /// s.lend_transaction(tx);
    /// s.commit().await?; // a flush: the transaction stays open
    /// tx = s.return_transaction().expect("still open");
    /// tx.commit().await?;
    /// # Ok(()) }
    /// ```
    pub fn borrowing(db: &Database, opts: SessionOptions) -> Self {
        let mut s = Self::with_options(db, opts);
        s.borrowed = true;
        s.frames.push(Frame::default());
        s
    }

    /// Lends a [`Session::borrowing`] session the transaction for the calls
    /// that follow; returns the one it held, if any.
    pub fn lend_transaction(&mut self, tx: Transaction) -> Option<Transaction> {
        self.tx.replace(tx)
    }

    /// Takes the lent transaction back; `None` when the session no longer
    /// has it (a failed flush rolled it back).
    pub fn return_transaction(&mut self) -> Option<Transaction> {
        self.tx.take()
    }

    /// Whether the session works in a borrowed transaction.
    pub fn is_borrowing(&self) -> bool {
        self.borrowed
    }

    /// The session's transaction taken out (begun if needed); give it back
    /// with `self.tx = Some(tx)`.
    pub(crate) async fn take_tx(&mut self) -> Result<Transaction> {
        if let Some(tx) = self.tx.take() {
            return Ok(tx);
        }
        if self.borrowed {
            return Err(Error::InvalidState(
                "the session's borrowed transaction is not available (a failed flush \
                 rolled it back, or its host did not lend it)"
                    .into(),
            ));
        }
        let tx = self.db.begin_with(self.opts.transaction).await?;
        self.frames.push(Frame::default());
        Ok(tx)
    }

    /// The session's transaction, begun if needed: run Core statements and raw
    /// SQL in it (`session.transaction().await?.execute(..)`) so that they see
    /// what the session flushed and commit or roll back with it. Flush first
    /// if they must see pending changes.
    ///
    /// # Errors
    /// A connection error while beginning.
    pub async fn transaction(&mut self) -> Result<&mut Transaction> {
        let tx = self.take_tx().await?;
        Ok(self.tx.insert(tx))
    }

    /// Flushes and hands the open transaction back (uncommitted) to its
    /// owner, e.g. the migration runner of a session made with
    /// [`Session::from_transaction`]; `None` if none was begun. Instances
    /// stay in the session as they are.
    ///
    /// # Errors
    /// A flush error (the transaction is then rolled back and not returned).
    pub async fn into_transaction(mut self) -> Result<Option<Transaction>> {
        self.flush().await?;
        self.frames.clear();
        Ok(self.tx.take())
    }

    /// Flushes, then commits the transaction (savepoints included). After the
    /// commit, deleted instances are detached and the `after_commit` listeners run.
    ///
    /// A [`Session::borrowing`] session releases its open savepoints and
    /// flushes instead: its host commits the transaction.
    ///
    /// # Errors
    /// A flush error (everything rolled back); a commit error (everything
    /// rolled back, instances restored as for [`Session::rollback`]); an
    /// `after_commit` listener's error (the commit stands).
    pub async fn commit(&mut self) -> Result<()> {
        if self.borrowed {
            while self.frames.len() > 1 {
                self.commit_nested().await?;
            }
        }
        self.flush().await?;
        if !self.borrowed
            && let Some(tx) = self.tx.take()
            && let Err(e) = tx.commit().await
        {
            self.restore_all();
            let _ = self.fire(EventKind::AfterRollback);
            return Err(e);
        }
        self.committed()
    }

    /// What a commit does to instances, once the transaction committed.
    fn committed(&mut self) -> Result<()> {
        for frame in std::mem::take(&mut self.frames) {
            for inst in frame.deleted {
                let mut d = inst.write();
                if d.state == InstanceState::Deleted {
                    d.state = InstanceState::Detached;
                    d.attach = None;
                }
            }
        }
        if self.borrowed {
            self.frames.push(Frame::default());
        }
        if self.opts.expire_on_commit {
            self.expire_all();
        }
        self.fire(EventKind::AfterCommit)
    }

    /// Rolls the transaction back: instances inserted in it and pending ones
    /// become transient again (with the values they had before their flush),
    /// deleted ones persistent, and every persistent instance is expired:
    /// its columns and its relationships (in-memory changes to them
    /// included) reload on next access.
    ///
    /// # Errors
    /// A connection error while rolling back (the instances are restored
    /// anyway), or an `after_rollback` listener's error;
    /// [`Error::InvalidState`] for a [`Session::borrowing`] session, which
    /// cannot end its host's transaction.
    pub async fn rollback(&mut self) -> Result<()> {
        if self.borrowed {
            return Err(Error::InvalidState(
                "the session works in a borrowed transaction (a migration's) and cannot roll \
                 it back: raise an error to fail the migration, or undo a part with a nested \
                 transaction (begin_nested)"
                    .into(),
            ));
        }
        let result = match self.tx.take() {
            Some(tx) => tx.rollback().await,
            None => Ok(()),
        };
        self.restore_all();
        self.fire(EventKind::AfterRollback)?;
        result
    }

    /// Rolls back and detaches every instance. The session can be used again.
    /// A [`Session::borrowing`] session only drops what it did not flush.
    ///
    /// # Errors
    /// As [`Session::rollback`].
    pub async fn close(&mut self) -> Result<()> {
        if self.borrowed {
            // What was flushed stays in the host's transaction.
            for inst in std::mem::take(&mut self.new) {
                self.make_transient(&inst, None);
            }
            for inst in std::mem::take(&mut self.deleted) {
                inst.write().marked_deleted = false;
            }
            self.frames = vec![Frame::default()];
            self.expunge_all();
            return Ok(());
        }
        let result = self.rollback().await;
        self.expunge_all();
        result
    }

    /// Flushes, then opens a savepoint: [`Session::rollback_nested`] undoes
    /// only what happens after it, [`Session::commit_nested`] keeps it.
    ///
    /// # Errors
    /// Flush and database errors.
    pub async fn begin_nested(&mut self) -> Result<()> {
        self.flush().await?;
        self.savepoints += 1;
        let name = format!("dbridge_sp_{}", self.savepoints);
        let mut tx = self.take_tx().await?;
        let r = tx.savepoint(&name).await;
        self.tx = Some(tx);
        r?;
        self.frames.push(Frame {
            savepoint: Some(name),
            ..Frame::default()
        });
        Ok(())
    }

    fn top_savepoint(&self) -> Result<String> {
        self.frames
            .last()
            .and_then(|f| f.savepoint.clone())
            .ok_or_else(|| Error::InvalidState("no nested transaction is open".into()))
    }

    /// Flushes and releases the innermost savepoint, keeping its changes in
    /// the enclosing transaction.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without a nested transaction; flush and database errors.
    pub async fn commit_nested(&mut self) -> Result<()> {
        self.top_savepoint()?;
        self.flush().await?;
        let name = self.top_savepoint()?;
        let mut tx = self.take_tx().await?;
        let r = tx.release_savepoint(&name).await;
        self.tx = Some(tx);
        r?;
        if let Some(top) = self.frames.pop()
            && let Some(parent) = self.frames.last_mut()
        {
            parent.inserted.extend(top.inserted);
            parent.deleted.extend(top.deleted);
            parent.added.extend(top.added);
        }
        Ok(())
    }

    /// Rolls back to the innermost savepoint: what was inserted or added since
    /// becomes transient, what was deleted since persistent, and persistent
    /// instances are expired (columns and relationships, as
    /// [`Session::rollback`]). The enclosing transaction goes on.
    ///
    /// # Errors
    /// [`Error::InvalidState`] without a nested transaction; database errors.
    pub async fn rollback_nested(&mut self) -> Result<()> {
        let name = self.top_savepoint()?;
        let mut tx = self.take_tx().await?;
        let r = tx.rollback_to_savepoint(&name).await;
        self.tx = Some(tx);
        if let Some(frame) = self.frames.pop() {
            self.undo(frame);
        }
        for inst in std::mem::take(&mut self.new) {
            self.make_transient(&inst, None);
        }
        for inst in std::mem::take(&mut self.deleted) {
            inst.write().marked_deleted = false;
        }
        self.expire_rolled_back();
        r
    }

    /// Runs `body` in a savepoint: released when it returns `Ok`, rolled back
    /// to when it returns `Err` (the error is returned).
    ///
    /// # Errors
    /// The body's, or flush and database errors.
    pub async fn nested<T, F>(&mut self, body: F) -> Result<T>
    where
        F: for<'s> FnOnce(&'s mut Session) -> BoxFuture<'s, Result<T>>,
    {
        self.begin_nested().await?;
        let depth = self.frames.len();
        match body(self).await {
            Ok(v) => {
                self.commit_nested().await?;
                Ok(v)
            }
            Err(e) => {
                // A failed flush inside has already rolled everything back.
                if self.frames.len() == depth {
                    let _ = self.rollback_nested().await;
                }
                Err(e)
            }
        }
    }

    /// Undoes every frame after the transaction rolled back.
    pub(crate) fn restore_all(&mut self) {
        let frames = std::mem::take(&mut self.frames);
        for f in frames.into_iter().rev() {
            self.undo(f);
        }
        for inst in std::mem::take(&mut self.new) {
            self.make_transient(&inst, None);
        }
        for inst in std::mem::take(&mut self.deleted) {
            inst.write().marked_deleted = false;
        }
        self.expire_rolled_back();
    }

    /// After a rollback, every persistent instance forgets what the database
    /// may no longer hold: its loaded columns (as [`Session::expire_all`])
    /// and its relationships with their unflushed changes (loaded lists,
    /// instances added or removed in memory, pending association rows), so
    /// that both reload alike; pending orphan deletions are dropped.
    fn expire_rolled_back(&mut self) {
        for inst in self.all_instances() {
            let mut d = inst.write();
            if self.owned(&d) && d.state == InstanceState::Persistent {
                d.expire();
                d.rels = Default::default();
            }
        }
        self.tracker.modified.lock().clear();
        self.tracker.orphans.lock().clear();
    }

    fn undo(&mut self, frame: Frame) {
        for (inst, before) in frame.inserted.into_iter().rev() {
            self.make_transient(&inst, Some(before));
        }
        for inst in frame.deleted {
            let mut d = inst.write();
            if matches!(d.state, InstanceState::Deleted | InstanceState::Persistent) {
                d.state = InstanceState::Persistent;
                d.marked_deleted = false;
                if let Some(k) = d.key.clone() {
                    drop(d);
                    self.map.insert(k, inst.clone());
                }
            }
        }
        for inst in frame.added {
            if inst.state() == InstanceState::Pending {
                self.make_transient(&inst, None);
            }
        }
    }

    /// Makes an instance of this session transient (out of the session, no key).
    fn make_transient(&mut self, inst: &Instance, values: Option<Vec<Option<Value>>>) {
        let mut d = inst.write();
        if !self.owned(&d) {
            return;
        }
        if let Some(k) = d.key.take() {
            self.map.remove(&k);
        }
        if let Some(v) = values {
            d.values = v;
        }
        d.committed = super::instance::Committed::Nothing;
        d.state = InstanceState::Transient;
        d.attach = None;
        d.modified = false;
        d.marked_deleted = false;
        drop(d);
        self.new.retain(|i| !i.ptr_eq(inst));
    }
}
