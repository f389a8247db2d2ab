//! [`SessionCell`]: the shared cell that owns a script's engine session
//! (`Arc<tokio::sync::Mutex<Option<Session>>>`), and [`SessionGuard`], the
//! session taken for one call. In a migration the cell also lends the
//! session the migration's transaction for the call (the engine's
//! `Session::borrowing`) and takes it back when the guard drops, so that the
//! migration's raw SQL, queries and other sessions find it between calls.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use dbridge_engine::session::Session;
use dbridge_engine::{ErrorKind, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::convert::error::LuaDbError;
use crate::objects::transaction::TxSlot;
use crate::runtime::context;
use crate::runtime::runtime_drop::drop_in;

/// The cell that owns a script's session.
#[derive(Debug)]
pub(crate) struct SessionCell {
    pub(crate) s: Arc<Mutex<Option<Session>>>,
    handle: Option<tokio::runtime::Handle>,
    /// A migration's transaction, lent to the (borrowing) session for each
    /// call and taken back after it.
    lend: Option<Arc<TxSlot>>,
}

/// A session taken for one call; in a migration it holds the migration's
/// transaction for as long, and gives it back when dropped.
#[derive(Debug)]
pub(crate) struct SessionGuard {
    session: OwnedMutexGuard<Option<Session>>,
    tx: Option<OwnedMutexGuard<Option<Transaction>>>,
}

impl Deref for SessionGuard {
    type Target = Option<Session>;
    fn deref(&self) -> &Option<Session> {
        &self.session
    }
}

impl DerefMut for SessionGuard {
    fn deref_mut(&mut self) -> &mut Option<Session> {
        &mut self.session
    }
}

impl SessionGuard {
    /// Gives the lent transaction back (a no-op for a session of its own).
    fn give_back(&mut self) {
        if let (Some(tx), Some(s)) = (self.tx.as_mut(), self.session.as_mut())
            && let Some(t) = s.return_transaction()
        {
            **tx = Some(t);
        }
    }

    /// Ends the session: later calls fail with `invalid_state`.
    pub(crate) fn end(&mut self) {
        self.give_back();
        *self.session = None;
    }
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.give_back();
    }
}

impl SessionCell {
    pub(crate) fn new(
        s: Session,
        lend: Option<Arc<TxSlot>>,
        fallback: Option<&tokio::runtime::Handle>,
    ) -> Self {
        let handle = tokio::runtime::Handle::try_current()
            .ok()
            .or_else(|| fallback.cloned());
        Self {
            s: Arc::new(Mutex::new(Some(s))),
            handle,
            lend,
        }
    }

    /// Takes the session for one call (in a migration, with the migration's
    /// transaction lent to it).
    pub(crate) fn lock(&self) -> Result<SessionGuard, LuaDbError> {
        let mut session = self.s.clone().try_lock_owned().map_err(|_| {
            LuaDbError::new(
                ErrorKind::InvalidState,
                "the session is busy (a listener cannot use the session that is flushing, \
                 a row stream over it is still open, or another coroutine is using it)",
            )
        })?;
        let tx = match &self.lend {
            None => None,
            Some(slot) => {
                let mut t = slot.lock()?;
                if let (Some(s), Some(tx)) = (session.as_mut(), t.take()) {
                    s.lend_transaction(tx);
                }
                Some(t)
            }
        };
        Ok(SessionGuard { session, tx })
    }
}

impl context::Abandon for SessionCell {
    /// Rolls back (by dropping) the session if it is open and idle.
    fn abandon(&self) {
        if let Ok(mut g) = self.s.try_lock()
            && let Some(s) = g.take()
        {
            drop_in(s, self.handle.as_ref());
        }
    }
}

impl Drop for SessionCell {
    fn drop(&mut self) {
        context::Abandon::abandon(self);
    }
}
