//! The call runtime: the blocker that runs database futures from the script
//! thread (and the transactions a host call tracks for rollback when it is
//! stopped), and the engine options (limits). Imports only `convert` and
//! `runtime`.

pub(crate) mod blocker;
pub(crate) mod headers;
pub(crate) mod options;
pub(crate) mod tracker;
