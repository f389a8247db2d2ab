//! A small tokio host running 100 Lua scripts at once on one Lua state, each
//! in its own transaction: while one waits on the database the others run, and
//! the host's own loop (a ticker here) never stops.
//!
//! ```text
//! cargo run -p dbridge-lua --example server                 # SQLite in memory
//! DATABASE_URL=postgres://127.0.0.1/test cargo run -p dbridge-lua --example server
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dbridge_lua::InstallOptions;
use dbridge_lua::mlua::Function;

const SCRIPTS: i64 = 100;

/// The application's Lua: a request handler, as a game or web server would load.
const APP: &str = r#"
local url = ...
db = dbridge.connect(url, { max_connections = 10 })
db:execute("DROP TABLE IF EXISTS example_orders")
db:execute("CREATE TABLE example_orders (id INTEGER PRIMARY KEY, player INTEGER NOT NULL, total INTEGER NOT NULL)")

-- One request: think (an external call), then a transaction of its own.
function handle(player)
    dbridge.sleep(0.05)                            -- e.g. an HTTP call: other scripts run meanwhile
    return db:transaction(function(tx)
        if db:backend() == "postgresql" then
            tx:fetch_one("SELECT 1 AS slept FROM pg_sleep(0.05)") -- a slow query: a real database wait
        end
        tx:execute("INSERT INTO example_orders (id, player, total) VALUES ($1, $2, $3)",
            { player, player, player * 10 })
        return tx:fetch_one("SELECT count(*) AS n FROM example_orders WHERE player = $1", { player }).n
    end, { retries = 5 })
end
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_string());
    let lua = dbridge_lua::new_lua(
        InstallOptions::new()
            .instruction_budget(Some(10_000_000))
            .call_timeout(Some(Duration::from_secs(30))),
    )?;
    let app = lua.load(APP).set_name("=app").into_function()?;
    dbridge_lua::call::<()>(&lua, &app, url).await?;
    let handle: Function = lua.globals().get("handle")?;

    // The host's own work: a ticker that must keep ticking while scripts wait.
    let ticks = Arc::new(AtomicU64::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_millis(5));
            loop {
                every.tick().await;
                ticks.fetch_add(1, Ordering::Relaxed);
            }
        })
    };

    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for player in 1..=SCRIPTS {
        // Each script is an ordinary tokio task: a Lua coroutine on the shared state.
        tasks.spawn(dbridge_lua::call::<i64>(&lua, &handle, player));
    }
    let mut done = 0;
    while let Some(result) = tasks.join_next().await {
        let rows = result??;
        assert_eq!(rows, 1, "each script sees its own row");
        done += 1;
    }
    let elapsed = started.elapsed();
    ticker.abort();

    let total: i64 = dbridge_lua::eval(
        &lua,
        "local n = db:fetch_one('SELECT count(*) AS n FROM example_orders').n
         db:execute('DROP TABLE example_orders')
         db:close()
         return n",
        "=check",
    )
    .await?;
    assert_eq!(total, SCRIPTS);
    println!(
        "{done} scripts, one transaction each, finished in {:.0} ms on one Lua state \
         (each waited at least 50 ms: {:.1} s if run one after another); \
         the host ticker ticked {} times meanwhile",
        elapsed.as_secs_f64() * 1000.0,
        SCRIPTS as f64 * 0.05,
        ticks.load(Ordering::Relaxed),
    );
    Ok(())
}
