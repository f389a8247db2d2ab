//! [`Options`]: what a host chooses when it registers dbridge into its
//! `rhai::Engine`: the tokio runtime, and the limits that stop runaway scripts.

use std::fmt;
use std::sync::Arc;

use rhai::{Dynamic, Engine};
use tokio::runtime::Handle;

/// A progress callback: called with the number of operations run so far;
/// returning `Some(value)` stops the script with `ErrorTerminated(value)`,
/// which a script cannot catch.
pub type Progress = Arc<dyn Fn(u64) -> Option<Dynamic> + Send + Sync>;

/// Options for [`register`](crate::register).
///
/// [`Options::new`] changes no limit of the host's engine; [`Options::sandboxed`]
/// sets the defaults listed there. Each setter overrides one limit.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let stop = Arc::new(AtomicBool::new(false));
/// let flag = stop.clone();
/// let options = dbridge_rhai::Options::sandboxed()
///     .max_operations(1_000_000)
///     .on_progress(move |_ops| flag.load(Ordering::Relaxed).then(|| "stopped by host".into()));
/// let mut engine = rhai::Engine::new();
/// dbridge_rhai::register(&mut engine, options).unwrap();
/// assert_eq!(engine.max_operations(), 1_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Options {
    pub(crate) runtime: Option<Handle>,
    max_operations: Option<u64>,
    max_call_levels: Option<usize>,
    max_expr_depths: Option<(usize, usize)>,
    max_string_size: Option<usize>,
    max_array_size: Option<usize>,
    max_map_size: Option<usize>,
    progress: Option<Progress>,
    pub(crate) cancel: Option<dbridge_engine::CancelHandle>,
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("runtime", &self.runtime.is_some())
            .field("max_operations", &self.max_operations)
            .field("max_call_levels", &self.max_call_levels)
            .field("max_expr_depths", &self.max_expr_depths)
            .field("max_string_size", &self.max_string_size)
            .field("max_array_size", &self.max_array_size)
            .field("max_map_size", &self.max_map_size)
            .field("progress", &self.progress.is_some())
            .field("cancel", &self.cancel.is_some())
            .finish()
    }
}

impl Options {
    /// The runtime current at registration (or one of the binding's own), and
    /// the host engine's limits left as they are.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits for untrusted scripts: 10 million operations per run, 64 nested
    /// calls, expressions 64 deep (32 inside functions), strings up to 10 MiB,
    /// arrays up to 100,000 items (so `fetch_all` of more rows fails: use
    /// `stream`), maps up to 10,000 entries.
    pub fn sandboxed() -> Self {
        Self::new()
            .max_operations(10_000_000)
            .max_call_levels(64)
            .max_expr_depths(64, 32)
            .max_string_size(10 << 20)
            .max_array_size(100_000)
            .max_map_size(10_000)
    }

    /// The runtime database calls run on. It should be a multi-thread runtime,
    /// or a current-thread runtime that another thread keeps driving (inside
    /// its `block_on`) while scripts wait.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// The most operations one run of a script may take (0: no limit).
    pub fn max_operations(mut self, n: u64) -> Self {
        self.max_operations = Some(n);
        self
    }

    /// The deepest nesting of function calls.
    pub fn max_call_levels(mut self, n: usize) -> Self {
        self.max_call_levels = Some(n);
        self
    }

    /// The deepest expression nesting, at top level and inside functions.
    pub fn max_expr_depths(mut self, global: usize, function: usize) -> Self {
        self.max_expr_depths = Some((global, function));
        self
    }

    /// The longest string, in bytes (0: no limit).
    pub fn max_string_size(mut self, n: usize) -> Self {
        self.max_string_size = Some(n);
        self
    }

    /// The most items in an array, including a `fetch_all` result (0: no limit).
    pub fn max_array_size(mut self, n: usize) -> Self {
        self.max_array_size = Some(n);
        self
    }

    /// The most entries in an object map, including a row (0: no limit).
    pub fn max_map_size(mut self, n: usize) -> Self {
        self.max_map_size = Some(n);
        self
    }

    /// Calls `f` as the script runs, with the operations run so far; returning
    /// `Some(value)` stops the script. It is not called while a script waits
    /// for the database: bound slow statements with a statement timeout.
    pub fn on_progress(
        mut self,
        f: impl Fn(u64) -> Option<Dynamic> + Send + Sync + 'static,
    ) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Lets the host stop a script that waits for the database: `cancel` on
    /// `handle` ([`CancelHandle::cancel`](dbridge_engine::CancelHandle::cancel))
    /// stops the statement on the server and the waiting call fails with a
    /// `cancelled` error (which `try` can catch: pair it with
    /// [`Options::on_progress`] to stop the script as well).
    pub fn cancel_handle(mut self, handle: dbridge_engine::CancelHandle) -> Self {
        self.cancel = Some(handle);
        self
    }

    /// Sets the chosen limits on `engine`.
    pub(crate) fn apply(&self, engine: &mut Engine) {
        if let Some(n) = self.max_operations {
            engine.set_max_operations(n);
        }
        if let Some(n) = self.max_call_levels {
            engine.set_max_call_levels(n);
        }
        if let Some((g, f)) = self.max_expr_depths {
            engine.set_max_expr_depths(g, f);
        }
        if let Some(n) = self.max_string_size {
            engine.set_max_string_size(n);
        }
        if let Some(n) = self.max_array_size {
            engine.set_max_array_size(n);
        }
        if let Some(n) = self.max_map_size {
            engine.set_max_map_size(n);
        }
        if let Some(p) = self.progress.clone() {
            engine.on_progress(move |ops| p(ops));
        }
    }
}
