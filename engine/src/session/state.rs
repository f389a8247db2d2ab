//! [`InstanceState`]: where an instance stands with respect to a session and the database.

use std::fmt;

/// The life cycle of an [`Instance`](super::Instance), as in SQLAlchemy.
///
/// ```text
/// transient --add--> pending --flush--> persistent --delete+flush--> deleted --commit--> detached
///                                        |  ^
///                        expunge / close v  | add
///                                       detached
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InstanceState {
    /// Not in a session, no row: a new object.
    Transient,
    /// Added to a session, not yet inserted.
    Pending,
    /// In a session with a row in the database (inserted or loaded).
    Persistent,
    /// Its row was deleted by a flush; the transaction has not committed yet.
    Deleted,
    /// Had a row, no longer in a session (expunged, closed, or deleted and committed).
    Detached,
}

impl InstanceState {
    /// The lowercase name (`"pending"`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::Pending => "pending",
            Self::Persistent => "persistent",
            Self::Deleted => "deleted",
            Self::Detached => "detached",
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
