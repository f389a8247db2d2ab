//! [`InstallOptions`]: what a host decides when it installs dbridge.

use std::time::Duration;

use mlua::StdLib;
use tokio::runtime::Handle;

/// How dbridge is installed into a Lua state.
///
/// The defaults suit untrusted scripts: the `base`, `coroutine`, `table`,
/// `string`, `utf8` and `math` libraries only (no `io`, `os`, `debug` or
/// `package`, and no `dofile` / `loadfile`), no memory limit, and a budget of
/// 100 million Lua instructions per [`call`](crate::call).
///
/// # Examples
///
/// ```
/// use dbridge_lua::{InstallOptions, StdLib};
/// let opts = InstallOptions::new()
///     .libs(StdLib::ALL_SAFE)          // trusted scripts: io and os too
///     .memory_limit(Some(64 << 20))    // 64 MiB for the whole state
///     .instruction_budget(Some(1_000_000));
/// assert_eq!(opts.get_instruction_budget(), Some(1_000_000));
/// ```
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub(crate) runtime: Option<Handle>,
    pub(crate) libs: StdLib,
    pub(crate) memory_limit: Option<usize>,
    pub(crate) instruction_budget: Option<u64>,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) global: bool,
}

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            runtime: None,
            libs: Self::sandbox_libs(),
            memory_limit: None,
            instruction_budget: Some(100_000_000),
            call_timeout: None,
            global: true,
        }
    }
}

impl InstallOptions {
    /// The libraries scripts get by default: `coroutine`, `table`, `string`,
    /// `utf8` and `math` (the base library is always there).
    pub fn sandbox_libs() -> StdLib {
        StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH
    }

    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tokio runtime that database calls and blocking helpers use when the
    /// script is not already being polled inside one (e.g. from
    /// [`exec_blocking`](crate::exec_blocking) on a plain thread, or when the
    /// collector releases a connection). Defaults to the runtime current at
    /// install time, if any.
    pub fn runtime(mut self, handle: Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// The standard libraries scripts may use (`coroutine` is always loaded:
    /// dbridge's async functions need it). [`new_lua`](crate::new_lua)
    /// loads exactly these; [`install`](crate::install) into an existing state
    /// removes the globals of `io`, `os`, `debug` and `package` (and `dofile`,
    /// `loadfile`) when their library is not in the set, and loads nothing.
    pub fn libs(mut self, libs: StdLib) -> Self {
        self.libs = libs;
        self
    }

    /// The most memory the whole Lua state may use, in bytes (`None`: no limit).
    /// An allocation past it fails with a Lua memory error.
    pub fn memory_limit(mut self, bytes: Option<usize>) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// The most Lua instructions one [`call`](crate::call) may run (`None`: no
    /// limit). Time spent waiting on the database does not count. A script over
    /// budget is stopped with a `budget_exceeded` error that its own `pcall`,
    /// `xpcall` or `coroutine.resume` cannot swallow.
    pub fn instruction_budget(mut self, instructions: Option<u64>) -> Self {
        self.instruction_budget = instructions;
        self
    }

    /// The longest one [`call`](crate::call) may take, waits included (`None`:
    /// no limit). It stops a script that keeps waiting (a loop of database
    /// calls, a sleep) and one that computes (the instruction hook checks the
    /// clock every 1000 instructions). A call over time fails with a `timeout`
    /// error that its own `pcall`, `xpcall` or `coroutine.resume` cannot
    /// swallow, and its open transactions are rolled back.
    pub fn call_timeout(mut self, limit: Option<Duration>) -> Self {
        self.call_timeout = limit;
        self
    }

    /// Whether to set the `dbridge` global (default true); `require("dbridge")`
    /// works either way.
    pub fn global(mut self, yes: bool) -> Self {
        self.global = yes;
        self
    }

    /// The budget set by [`Self::instruction_budget`].
    pub fn get_instruction_budget(&self) -> Option<u64> {
        self.instruction_budget
    }

    /// The limit set by [`Self::memory_limit`].
    pub fn get_memory_limit(&self) -> Option<usize> {
        self.memory_limit
    }
}
