//! The transactions a host call tracks, to roll back those a stopped script
//! left open ([`Dbridge::end_call`](crate::Dbridge::end_call)). The tracker
//! holds them weakly through [`RollBack`], so this layer knows no
//! transaction type.

use std::fmt;
use std::sync::{Arc, Weak};

/// Something the tracker can roll back: an open transaction.
pub(crate) trait RollBack: Send + Sync {
    /// Rolls back if still open; whether it was.
    fn roll_back(&self) -> bool;
}

/// The transactions scripts begin while the host tracks a call
/// ([`Dbridge::begin_call`](crate::Dbridge::begin_call)): `None` when not
/// tracking. Clones share the list.
#[derive(Clone, Default)]
pub(crate) struct Tracker(Arc<parking_lot::Mutex<Option<Tracked>>>);

/// The transactions recorded since the call began.
type Tracked = Vec<Weak<dyn RollBack>>;

impl fmt::Debug for Tracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Tracker")
            .field(&self.0.lock().as_ref().map(Vec::len))
            .finish()
    }
}

impl Tracker {
    /// Starts a new list (forgetting any earlier one).
    pub(crate) fn start(&self) {
        *self.0.lock() = Some(Vec::new());
    }

    /// Stops tracking; with `roll_back`, rolls back the listed transactions
    /// that are still open and returns how many.
    pub(crate) fn finish(&self, roll_back: bool) -> usize {
        let list = self.0.lock().take().unwrap_or_default();
        if !roll_back {
            return 0;
        }
        list.iter()
            .filter_map(Weak::upgrade)
            .filter(|tx| tx.roll_back())
            .count()
    }

    /// Records a transaction just begun, if tracking.
    pub(crate) fn record<T: RollBack + 'static>(&self, tx: &Arc<T>) {
        if let Some(list) = self.0.lock().as_mut() {
            list.retain(|w| w.strong_count() > 0);
            let weak: Weak<dyn RollBack> = Arc::<T>::downgrade(tx);
            list.push(weak);
        }
    }
}
