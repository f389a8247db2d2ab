//! Instances loaded without a session (a binding's `Model:get`,
//! `db:query(...)`) remember their [`Database`], and reading a relationship
//! or a column they have not loaded reads it through a fresh, short-lived
//! session on that database (as ActiveRecord does); what it loads is bound
//! to the database too. An instance a session takes loses the binding, so an
//! instance expunged from a session, or left by a closed one, is not bound:
//! reading what it has not loaded stays an `invalid_state` error.

use super::related::put_loaded;
use super::{Instance, Related, Session, SessionOptions};
use crate::db::Database;
use crate::{Error, Result, Value};

impl Instance {
    /// Binds an instance that belongs to no session to `db`: reading what it
    /// has not loaded then loads it through `db`
    /// ([`Instance::load_related_bound`], [`Instance::load_attribute_bound`]).
    /// Does nothing to an instance of a session.
    pub fn bind_database(&self, db: &Database) {
        let mut d = self.write();
        if d.attach.is_none() {
            d.bound = Some(db.clone());
        }
    }

    /// The database the instance reads its unloaded attributes through, if
    /// it was loaded without a session ([`Instance::bind_database`]).
    pub fn bound_database(&self) -> Option<Database> {
        let d = self.read();
        if d.attach.is_some() {
            return None;
        }
        d.bound.clone()
    }

    /// Loads the relationship `name` through the bound database and keeps
    /// it on the instance; `None` when the instance is not bound.
    ///
    /// # Errors
    /// Database errors; those of [`Session::related`].
    pub async fn load_related_bound(&self, name: &str) -> Result<Option<Related>> {
        let Some(db) = self.bound_database() else {
            return Ok(None);
        };
        let mut s = self.fresh_session(&db);
        let found = match s.get(&self.model(), self.key()?).await {
            Ok(Some(copy)) => s.related(&copy, name).await,
            Ok(None) => Err(Error::NotFound),
            Err(e) => Err(e),
        };
        finish(s).await?;
        let found = found?;
        match &found {
            Related::One(Some(i)) => i.bind_database(&db),
            Related::One(None) => {}
            Related::Many(list) => list.iter().for_each(|i| i.bind_database(&db)),
        }
        put_loaded(self, name, found.clone());
        Ok(Some(found))
    }

    /// Loads the column (or column property) `name` through the bound
    /// database and keeps it on the instance; `None` when the instance is
    /// not bound.
    ///
    /// # Errors
    /// Database errors; those of [`Session::load_attribute`].
    pub async fn load_attribute_bound(&self, name: &str) -> Result<Option<Value>> {
        let Some(db) = self.bound_database() else {
            return Ok(None);
        };
        let mut s = self.fresh_session(&db);
        let loaded = match s.get(&self.model(), self.key()?).await {
            Ok(Some(copy)) => s.load_attribute(&copy, name).await.map(|v| (copy, v)),
            Ok(None) => Err(Error::NotFound),
            Err(e) => Err(e),
        };
        finish(s).await?;
        let (copy, value) = loaded?;
        let model = self.model();
        match model.column_index(name) {
            Ok(_) => {
                let loaded = copy.read().values.clone();
                let mut d = self.write();
                for (i, v) in loaded.into_iter().enumerate() {
                    if d.values[i].is_none() && v.is_some() {
                        d.set_committed_value(i, v);
                    }
                }
            }
            Err(_) => self.set_expression(name, value.clone()),
        }
        Ok(Some(value))
    }

    /// The primary key, to find the instance's row by.
    fn key(&self) -> Result<Vec<Value>> {
        self.primary_key()
            .ok_or_else(|| Error::InvalidState(format!("{}: no primary key", self.describe())))
    }

    /// A session for one read, with the instance's registry. It loads its
    /// own copy of the row, so the instance's unflushed changes stay its own.
    fn fresh_session(&self, db: &Database) -> Session {
        let mut opts = SessionOptions::new().autoflush(false);
        if let Some(r) = self.registry() {
            opts = opts.registry(&r);
        }
        Session::with_options(db, opts)
    }
}

/// Ends a read-only session, keeping what it loaded: commit (it wrote
/// nothing; a rollback would expire the loaded values), then detach all.
async fn finish(mut s: Session) -> Result<()> {
    let r = s.commit().await;
    s.expunge_all();
    r
}
