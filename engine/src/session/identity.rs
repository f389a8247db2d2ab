//! The identity map: one instance per (model, primary key) within a session;
//! the model of a subclass is the root of its hierarchy.
//!
//! Without a capacity, a plain hash map holds the instances (the fastest hit,
//! and a session costs nothing to create). With a capacity, a [`moka`] cache
//! holds them and evicts the least useful ones past it; an evicted instance is
//! remembered weakly, so
//! that an instance still held elsewhere (by a script, or by the session
//! itself because it has changes to flush) is found again and stays the one
//! instance of its key. Instances with pending changes are never lost: the
//! session holds them strongly until they are flushed.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::{Arc, Weak};

use moka::notification::RemovalCause;
use moka::sync::Cache;
use parking_lot::{Mutex, RwLock};

use super::instance::{Instance, InstanceData};
use crate::schema::Model;
use crate::value::Value;

/// One part of a primary key, in a hashable form.
#[derive(Clone, PartialEq, Eq, Hash)]
enum KeyPart {
    Int(i64),
    Text(Box<str>),
    Uuid(u128),
    Bytes(Box<[u8]>),
    Bool(bool),
    /// Any other type, by its type and text form.
    Other(Box<str>),
}

impl KeyPart {
    fn of(v: &Value) -> Option<Self> {
        if let Some(i) = v.as_i64() {
            return Some(Self::Int(i));
        }
        Some(match v {
            Value::Null => return None,
            Value::Text(s) => Self::Text(s.as_str().into()),
            Value::Uuid(u) => Self::Uuid(u.as_u128()),
            Value::Bytes(b) => Self::Bytes(b.as_slice().into()),
            Value::Bool(b) => Self::Bool(*b),
            other => Self::Other(format!("{}:{other}", other.type_name()).into()),
        })
    }
}

/// The parts of a key: one inline (most keys), or several.
#[derive(Clone, PartialEq, Eq, Hash)]
enum Parts {
    One(KeyPart),
    Many(Box<[KeyPart]>),
}

/// A model and a primary key: what identifies an instance in a session.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct IdentityKey {
    model: usize,
    pk: Parts,
}

impl fmt::Debug for IdentityKey {
    /// Never shows the key's values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match &self.pk {
            Parts::One(_) => 1,
            Parts::Many(p) => p.len(),
        };
        write!(f, "IdentityKey({n} part(s))")
    }
}

impl IdentityKey {
    /// The key of `values` (the primary key columns in order, coerced to their
    /// types); `None` when one is NULL.
    pub(crate) fn new(model: &Model, values: &[Value]) -> Option<Self> {
        Self::of_values(model, values.len(), values.iter().map(Some))
    }

    /// The key of a model's row from its column values (by model column),
    /// without copying them; `None` when a key column is missing or NULL.
    pub(crate) fn of_row(model: &Model, values: &[Option<Value>]) -> Option<Self> {
        let pk = model.primary_key();
        Self::of_values(
            model,
            pk.len(),
            pk.iter().map(|&i| values.get(i).and_then(Option::as_ref)),
        )
    }

    /// The key of `n` values in primary key order; `None` when one is
    /// missing or NULL.
    pub(crate) fn of_values<'v>(
        model: &Model,
        n: usize,
        mut values: impl Iterator<Item = Option<&'v Value>>,
    ) -> Option<Self> {
        let pk = if n == 1 {
            Parts::One(KeyPart::of(values.next()??)?)
        } else {
            Parts::Many(values.map(|v| KeyPart::of(v?)).collect::<Option<_>>()?)
        };
        Some(Self {
            // Keyed by the hierarchy's root: a subclass's instance is its base's.
            model: Arc::as_ptr(&model.root().0) as usize,
            pk,
        })
    }
}

/// The hasher of the session's maps: fast, seeded per process.
pub(crate) type FastHash = foldhash::fast::RandomState;

/// A hash map with [`FastHash`].
pub(crate) type FastMap<K, V> = HashMap<K, V, FastHash>;

/// A hash set with [`FastHash`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, FastHash>;

/// What [`IdentityMap::find_or_make`] did.
pub(crate) enum Lookup<T> {
    /// The session had an instance of the key; the data is given back.
    Found(Instance, T),
    /// A new instance, now in the map.
    Made(Instance),
}

type Evicted = Arc<Mutex<FastMap<IdentityKey, Weak<RwLock<InstanceData>>>>>;

/// The identity map of one session: a plain map without a capacity, a moka
/// cache (with the weak memory of evicted instances) with one.
pub(crate) enum IdentityMap {
    Unbounded(Mutex<FastMap<IdentityKey, Instance>>),
    Bounded {
        cache: Cache<IdentityKey, Instance>,
        evicted: Evicted,
        capacity: u64,
    },
}

impl fmt::Debug for IdentityMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unbounded(m) => write!(f, "IdentityMap({} entries)", m.lock().len()),
            Self::Bounded {
                cache, capacity, ..
            } => write!(
                f,
                "IdentityMap({} entries, capacity {capacity})",
                cache.entry_count()
            ),
        }
    }
}

impl IdentityMap {
    /// A map holding at most `capacity` instances strongly (`None`: no limit).
    pub(crate) fn new(capacity: Option<u64>) -> Self {
        let Some(capacity) = capacity else {
            return Self::Unbounded(Mutex::default());
        };
        let evicted: Evicted = Arc::default();
        let sink = evicted.clone();
        let cache = Cache::builder()
            .max_capacity(capacity)
            .eviction_listener(
                move |k: Arc<IdentityKey>, v: Instance, cause: RemovalCause| {
                    if cause.was_evicted() {
                        let mut ev = sink.lock();
                        if ev.len() >= 4096 && ev.len().is_power_of_two() {
                            ev.retain(|_, w| w.strong_count() > 0);
                        }
                        ev.insert((*k).clone(), Arc::downgrade(&v.0));
                    }
                },
            )
            .build();
        Self::Bounded {
            cache,
            evicted,
            capacity,
        }
    }

    /// The instance of `key`, if the session has it.
    pub(crate) fn get(&self, key: &IdentityKey) -> Option<Instance> {
        match self {
            Self::Unbounded(m) => m.lock().get(key).cloned(),
            Self::Bounded { cache, evicted, .. } => {
                if let Some(i) = cache.get(key) {
                    return Some(i);
                }
                let weak = evicted.lock().remove(key)?;
                let inst = Instance(weak.upgrade()?);
                cache.insert(key.clone(), inst.clone());
                Some(inst)
            }
        }
    }

    /// The instance of `key` (with `data` given back), or the one `make`
    /// builds from `data` (then stored): one lookup for a loader's row.
    pub(crate) fn find_or_make<T>(
        &self,
        key: IdentityKey,
        data: T,
        make: impl FnOnce(&IdentityKey, T) -> Instance,
    ) -> Lookup<T> {
        match self {
            Self::Unbounded(m) => match m.lock().entry(key) {
                Entry::Occupied(e) => Lookup::Found(e.get().clone(), data),
                Entry::Vacant(e) => {
                    let inst = make(e.key(), data);
                    e.insert(inst.clone());
                    Lookup::Made(inst)
                }
            },
            Self::Bounded { .. } => {
                if let Some(found) = self.get(&key) {
                    return Lookup::Found(found, data);
                }
                let inst = make(&key, data);
                self.insert(key, inst.clone());
                Lookup::Made(inst)
            }
        }
    }

    pub(crate) fn insert(&self, key: IdentityKey, inst: Instance) {
        match self {
            Self::Unbounded(m) => {
                m.lock().insert(key, inst);
            }
            Self::Bounded { cache, evicted, .. } => {
                evicted.lock().remove(&key);
                cache.insert(key, inst);
            }
        }
    }

    pub(crate) fn remove(&self, key: &IdentityKey) {
        match self {
            Self::Unbounded(m) => {
                m.lock().remove(key);
            }
            Self::Bounded { cache, evicted, .. } => {
                cache.invalidate(key);
                evicted.lock().remove(key);
            }
        }
    }

    /// Every instance of the map that is still alive.
    pub(crate) fn instances(&self) -> Vec<Instance> {
        match self {
            Self::Unbounded(m) => m.lock().values().cloned().collect(),
            Self::Bounded { cache, evicted, .. } => {
                let mut out: Vec<Instance> = cache.iter().map(|(_, v)| v).collect();
                out.extend(
                    evicted
                        .lock()
                        .values()
                        .filter_map(|w| w.upgrade().map(Instance)),
                );
                out
            }
        }
    }

    /// Empties the map, giving back every instance that was still alive.
    pub(crate) fn take_all(&self) -> Vec<Instance> {
        match self {
            Self::Unbounded(m) => std::mem::take(&mut *m.lock()).into_values().collect(),
            Self::Bounded { .. } => {
                let out = self.instances();
                self.clear();
                out
            }
        }
    }

    pub(crate) fn clear(&self) {
        match self {
            Self::Unbounded(m) => m.lock().clear(),
            Self::Bounded { cache, evicted, .. } => {
                cache.invalidate_all();
                cache.run_pending_tasks();
                evicted.lock().clear();
            }
        }
    }

    /// Instances held strongly, after pending evictions have run.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Self::Unbounded(m) => m.lock().len() as u64,
            Self::Bounded { cache, .. } => {
                cache.run_pending_tasks();
                cache.entry_count()
            }
        }
    }
}
