//! Storing what a loader found: the parent's relationship and, for a
//! one-to-many or one-to-one with a mirror, each child's weak link back.

use std::sync::Arc;

use super::super::Instance;
use super::super::instance::InstanceData;
use super::super::related::{Related, Slot, put_loaded};
use crate::schema::{RelationshipDef, RelationshipKind};

/// One relationship's names, resolved once per load (not once per instance).
pub(crate) struct Filler<'r> {
    pub(crate) rel: &'r RelationshipDef,
    name: Arc<str>,
    /// The mirror each child points back through (has_many / has_one only).
    back: Option<Arc<str>>,
}

impl<'r> Filler<'r> {
    pub(crate) fn new(rel: &'r RelationshipDef) -> Self {
        let back = match rel.kind {
            RelationshipKind::HasMany | RelationshipKind::HasOne => {
                rel.back_populates.as_deref().map(|b| {
                    rel.target
                        .relationship(b)
                        .map_or_else(|_| Arc::from(b), |r| r.name.shared())
                })
            }
            _ => None,
        };
        Self {
            rel,
            name: rel.name.shared(),
            back,
        }
    }

    /// Stores what was found for one parent, and the mirror of each child.
    pub(crate) fn fill(&self, parent: &Instance, list: Vec<Instance>) {
        if let Some(b) = &self.back {
            for c in &list {
                // The parent holds the child: the child holds it weakly.
                let mut d = c.write();
                if points_back_free(&d, b, parent) {
                    d.rels.slots.insert(b.clone(), Slot::back(parent));
                }
            }
        }
        let value = if self.rel.kind.is_collection() {
            Related::Many(list)
        } else {
            Related::One(list.into_iter().next())
        };
        put_loaded(parent, self.name.clone(), value);
    }
}

/// Whether a child's many-to-one `b` may be set to `parent`: it is not
/// loaded, or already is `parent` (never a different loaded parent, nor a
/// value set on a new instance).
fn points_back_free(d: &InstanceData, b: &str, parent: &Instance) -> bool {
    let new = matches!(
        d.state,
        super::super::InstanceState::Transient | super::super::InstanceState::Pending
    );
    match d.rels.slots.get(b) {
        Some(Slot::Loaded(Related::One(Some(p)))) => p.ptr_eq(parent),
        Some(Slot::Loaded(_)) => false,
        Some(Slot::Back(w)) => w.strong_count() == 0 || w.as_ptr() == Arc::as_ptr(&parent.0),
        Some(Slot::Unloaded(_)) | None => !new,
        Some(Slot::Raise) => true,
    }
}
