//! Campaign: the server fails under a script. Each case runs a throwaway
//! PostgreSQL server of its own (`PgServer`, never the shared one) and
//! restarts it or kills backends while a Lua script works, as a game server
//! embedding dbridge would meet it. (SQLite has no server to lose.)

use dbridge::lua::InstallOptions;
use dbridge::lua::mlua;
use dbridge_engine::{ConnectOptions, Database};
use dbridge_testkit::PgServer;

fn server() -> PgServer {
    PgServer::start().expect("start a throwaway PostgreSQL server")
}

/// A Lua state whose global `dbridge` is installed and `URL` is the server's.
fn lua(server: &PgServer) -> mlua::Lua {
    let lua = dbridge::lua::new_lua(InstallOptions::new()).expect("a Lua state");
    lua.globals().set("URL", server.url()).expect("set URL");
    lua
}

async fn run(lua: &mlua::Lua, script: &str) {
    if let Err(e) = dbridge::lua::exec(lua, script, "fault").await {
        panic!("the script failed: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifteen_reads_after_a_restart_all_succeed() {
    let server = server();
    let lua = lua(&server);
    run(&lua, "d = dbridge.connect(URL, { min_connections = 5 })").await;
    server.restart().expect("restart");
    run(
        &lua,
        r#"
        for i = 1, 15 do
          local ok, err = pcall(d.fetch_one, d, "SELECT 1 AS one")
          assert(ok, "read " .. i .. " after the restart failed: " .. tostring(err))
        end
        "#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_transaction_fails_once_and_the_next_call_succeeds() {
    let server = server();
    let lua = lua(&server);
    run(
        &lua,
        r#"
        d = dbridge.connect(URL, { min_connections = 3 })
        d:execute("CREATE TABLE t (n integer)")
        tx = d:begin()
        tx:execute("INSERT INTO t VALUES (1)")
        "#,
    )
    .await;
    server.terminate_backends(None).await;
    run(
        &lua,
        r#"
        local ok, err = pcall(tx.commit, tx)
        assert(not ok, "COMMIT on a killed backend succeeded")
        assert(err.kind == "ambiguous_commit", err.kind .. ": " .. tostring(err))
        assert(err.retryable == false)
        local row = d:fetch_one("SELECT count(*) AS n FROM t")
        assert(row.n == 0, "the killed transaction left rows: " .. tostring(row.n))
        d:execute("INSERT INTO t VALUES (2)")
        assert(d:fetch_one("SELECT count(*) AS n FROM t").n == 1)
        "#,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_backend_is_killed_fails_cleanly() {
    let server = server();
    let lua = lua(&server);
    let admin = Database::connect_with(&server.url(), ConnectOptions::new())
        .await
        .unwrap();
    run(
        &lua,
        r#"
        d = dbridge.connect(URL)
        d:execute("CREATE TABLE big AS SELECT g AS n FROM generate_series(1, 200000) g")
        "#,
    )
    .await;
    // The script kills its own backend from outside after the first rows.
    // Each row carries 300 bytes so that the whole result (60 MB) is far larger
    // than the socket buffers: the server cannot have sent every row before the
    // kill lands (with 4-byte rows it could, and the stream then ended cleanly).
    let url = server.url();
    let lua_kill = lua.create_async_function(move |_, ()| {
        let url = url.clone();
        async move {
            let admin = Database::connect(&url)
                .await
                .map_err(mlua::Error::external)?;
            admin
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \
                     AND query LIKE '%FROM big%'",
                    &[],
                )
                .await
                .map_err(mlua::Error::external)?;
            admin.close().await;
            Ok(())
        }
    });
    lua.globals().set("kill_stream", lua_kill.unwrap()).unwrap();
    run(
        &lua,
        r#"
        local seen = 0
        local ok, err = pcall(function()
          for row in d:stream("SELECT n, repeat('x', 300) AS pad FROM big ORDER BY n") do
            seen = seen + 1
            if seen == 10 then kill_stream() end
          end
        end)
        assert(not ok, "the stream outlived its backend (" .. seen .. " rows)")
        assert(err.kind == "connection", err.kind .. ": " .. tostring(err))
        assert(seen >= 10 and seen < 200000, "rows seen: " .. seen)
        -- The pool has recovered: the next calls succeed.
        assert(d:fetch_one("SELECT count(*) AS n FROM big").n == 200000)
        "#,
    )
    .await;
    admin.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_with_retries_survives_a_server_restart() {
    let server = std::sync::Arc::new(server());
    let lua = lua(&server);
    run(
        &lua,
        r#"d = dbridge.connect(URL); d:execute("CREATE TABLE t (n integer)")"#,
    )
    .await;
    // The first attempt restarts the server from inside the transaction.
    let s = server.clone();
    let restart = lua
        .create_async_function(move |_, ()| {
            let s = s.clone();
            async move {
                tokio::task::spawn_blocking(move || s.restart())
                    .await
                    .map_err(mlua::Error::external)?
                    .map_err(mlua::Error::external)
            }
        })
        .unwrap();
    lua.globals().set("restart_server", restart).unwrap();
    run(
        &lua,
        r#"
        local attempts = 0
        d:transaction(function(s)
          attempts = attempts + 1
          s:execute("INSERT INTO t VALUES (1)")
          if attempts == 1 then restart_server() end
          s:execute("INSERT INTO t VALUES (2)")
        end, { retries = 10 })
        assert(attempts == 2, "attempts: " .. attempts)
        assert(d:fetch_one("SELECT count(*) AS n FROM t").n == 2)
        "#,
    )
    .await;
}
