//! User stories: what an application does with dbridge from start to end,
//! each told once in Lua (`<story>.lua`) and once in Rhai (`<story>.rhai`),
//! and each run here on SQLite and on PostgreSQL, in a fresh database.
//!
//! - `blog`: authors, posts and tags: relationships, sessions, loading, queries.
//! - `inventory`: a game's players trading items at the same time; no item
//!   and no coin is lost or made.
//! - `migration`: a schema change with a data backfill through the migrator,
//!   undone and done again.
//! - `reporting`: a Chinook-style music store created in SQL, reflected, and
//!   reported on with joins and groups.
//!
//! A story asserts as it goes (`assert` / `error` in Lua, `assert` / `throw`
//! in Rhai) and returns `"the end"` from its last line: the runner checks it
//! got there. Globals a story sees: `db` (the database), `BACKEND`
//! (`"sqlite"` or `"postgresql"`), `MIGRATIONS` (a directory holding the
//! `.sql` files of `migrations/` and the story language's own scripts
//! there); in Lua also `concurrently(n, fn)`, which runs `fn(i)` for
//! `i = 1..n` as that many coroutines at once and returns their results.
//! Unit and edge cases stay in each crate's own tests.

mod runner;

use dbridge_engine::Backend;

/// One test per language and backend for a story, in a module named after it.
macro_rules! story {
    ($name:ident) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lua_sqlite() {
                runner::lua(stringify!($name), Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn lua_postgres() {
                runner::lua(stringify!($name), Backend::Postgres).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rhai_sqlite() {
                runner::rhai(stringify!($name), Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rhai_postgres() {
                runner::rhai(stringify!($name), Backend::Postgres).await;
            }
        }
    };
}

story!(blog);
story!(inventory);
story!(migration);
story!(reporting);
