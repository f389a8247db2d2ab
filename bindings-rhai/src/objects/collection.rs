//! [`Collection`]: a collection relationship of an instance as a script sees
//! it. The type alone, below the sessions that accept one (`s.load(user.posts)`);
//! its script methods and loading are in `related.rs`, above the sessions.

use std::fmt;
use std::sync::Arc;

use dbridge_engine::session::Instance;
use rhai::EvalAltResult;

use crate::convert::error::to_rhai;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A collection relationship of an instance (Rhai type `Collection`):
/// `user.posts`. It reads the instance's loaded list each time, so it stays
/// in step with changes made through either side.
#[derive(Clone)]
pub struct Collection {
    pub(crate) owner: Instance,
    pub(crate) name: Arc<str>,
}

impl Collection {
    /// The instances the collection holds now (as loaded: no SQL).
    pub(crate) fn members(&self) -> Res<Vec<Instance>> {
        self.owner.related_many(&self.name).map_err(to_rhai)
    }
}

impl fmt::Debug for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.owner.describe(), self.name)
    }
}
