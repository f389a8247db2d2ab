//! Instances loaded without a session (a binding's `Model:get`,
//! `db:query(...)`) remember their [`Database`], and reading a relationship
//! or a column they have not loaded reads it through a fresh, short-lived
//! session on that database (as ActiveRecord does); what it loads is bound
//! to the database too. An instance a session takes loses the binding, so an
//! instance expunged from a session, or left by a closed one, is not bound:
//! reading what it has not loaded stays an `invalid_state` error.

use std::any::Any;
use std::sync::Arc;

use super::related::{Slot, put_loaded};
use super::{Instance, Related, Session, SessionOptions};
use crate::db::Database;
use crate::{Error, Result, Value};

/// What a binding's host keeps beside the database of a bound instance (a
/// Rhai binding, its database handle with the runtime to block on); the
/// engine only hands it on to what the instance loads.
pub type BindingContext = Arc<dyn Any + Send + Sync>;

/// The database an instance loaded without a session reads through.
#[derive(Clone)]
pub(crate) struct Binding {
    db: Database,
    context: Option<BindingContext>,
}

impl Instance {
    /// Binds an instance that belongs to no session to `db`: reading what it
    /// has not loaded then loads it through `db`
    /// ([`Instance::load_related_bound`], [`Instance::load_attribute_bound`]).
    /// Does nothing to an instance of a session.
    pub fn bind_database(&self, db: &Database) {
        self.bind(Binding {
            db: db.clone(),
            context: None,
        });
    }

    /// As [`Instance::bind_database`], keeping `context` with the binding
    /// ([`Instance::binding_context`]); what the instance loads is bound
    /// with it too.
    pub fn bind_database_with(&self, db: &Database, context: BindingContext) {
        self.bind(Binding {
            db: db.clone(),
            context: Some(context),
        });
    }

    fn bind(&self, b: Binding) {
        let mut d = self.write();
        if d.attach.is_none() {
            d.bound = Some(b);
        }
    }

    fn binding(&self) -> Option<Binding> {
        let d = self.read();
        if d.attach.is_some() {
            return None;
        }
        d.bound.clone()
    }

    /// The database the instance reads its unloaded attributes through, if
    /// it was loaded without a session ([`Instance::bind_database`]).
    pub fn bound_database(&self) -> Option<Database> {
        self.binding().map(|b| b.db)
    }

    /// The context given to [`Instance::bind_database_with`], while the
    /// instance is bound.
    pub fn binding_context(&self) -> Option<BindingContext> {
        self.binding().and_then(|b| b.context)
    }

    /// Loads the relationship `name` through the bound database and keeps
    /// it on the instance; `None` when the instance is not bound.
    ///
    /// # Errors
    /// Database errors; those of [`Session::related`].
    pub async fn load_related_bound(&self, name: &str) -> Result<Option<Related>> {
        let Some(binding) = self.binding() else {
            return Ok(None);
        };
        // Loaded already, or marked `raiseload` by the query that loaded it:
        // the instance's own answer (the raise error), no SQL.
        let raise = matches!(self.read().rels.slots.get(name), Some(Slot::Raise));
        if raise || self.is_related_loaded(name)? {
            return self.related(name).map(Some);
        }
        let mut s = self.fresh_session(&binding.db);
        let found = match self.copy_into(&mut s).await {
            Ok(copy) => s.related(&copy, name).await,
            Err(e) => Err(e),
        };
        finish(s).await?;
        let found = found?;
        match &found {
            Related::One(Some(i)) => i.bind(binding),
            Related::One(None) => {}
            Related::Many(list) => list.iter().for_each(|i| i.bind(binding.clone())),
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
        let Some(binding) = self.binding() else {
            return Ok(None);
        };
        let mut s = self.fresh_session(&binding.db);
        let loaded = match self.copy_into(&mut s).await {
            Ok(copy) => s.load_attribute(&copy, name).await.map(|v| (copy, v)),
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

    /// A persistent copy of the instance in `s`, made from its committed
    /// values without SQL (as SQLAlchemy's `merge(load=False)`), so that
    /// the load runs only the statement it needs and the instance's
    /// unflushed changes stay its own. Columns expired on the instance (by
    /// the commit or rollback of the session it left) are read first.
    async fn copy_into(&self, s: &mut Session) -> Result<Instance> {
        let model = self.model();
        let (values, expired) = {
            let d = self.read();
            let values: Vec<Option<Value>> = (0..d.values.len())
                .map(|i| d.committed_value(i).cloned())
                .collect();
            let expired = model
                .columns()
                .iter()
                .zip(&values)
                .find(|(c, v)| v.is_none() && !c.is_deferred())
                .map(|(c, _)| c.name().to_string());
            (values, expired)
        };
        let copy = s
            .load_values(&model, values, false)?
            .ok_or_else(|| Error::InvalidState(format!("{}: no primary key", self.describe())))?;
        if let Some(column) = expired {
            s.load_attribute(&copy, &column).await?;
        }
        Ok(copy)
    }

    /// A session for one read, with the instance's registry.
    fn fresh_session(&self, db: &Database) -> Session {
        let mut opts = SessionOptions::new().autoflush(false);
        if let Some(r) = self.registry() {
            opts = opts.registry(&r);
        }
        Session::with_options(db, opts)
    }
}

impl Session {
    /// Detaches everything the session holds, as [`Session::expunge_all`],
    /// and binds each instance that had a row to the session's database
    /// ([`Instance::bind_database`]): what a binding's `db:query(Model)` and
    /// `Model:get` hand back, so that `track.album` loads on access. The
    /// instances an eager loader brought in are bound too.
    pub fn expunge_all_bound(&mut self) {
        self.expunge_and_bind(None);
    }

    /// As [`Session::expunge_all_bound`], with `context` kept beside the
    /// database ([`Instance::bind_database_with`]).
    pub fn expunge_all_bound_with(&mut self, context: BindingContext) {
        self.expunge_and_bind(Some(context));
    }

    fn expunge_and_bind(&mut self, context: Option<BindingContext>) {
        let held = self.all_instances();
        self.expunge_all();
        let binding = Binding {
            db: self.database().clone(),
            context,
        };
        for inst in held
            .iter()
            .filter(|i| i.state() == super::InstanceState::Detached)
        {
            inst.bind(binding.clone());
        }
    }
}

/// Ends a read-only session, keeping what it loaded: commit (it wrote
/// nothing; a rollback would expire the loaded values), then detach all.
async fn finish(mut s: Session) -> Result<()> {
    let r = s.commit().await;
    s.expunge_all();
    r
}
