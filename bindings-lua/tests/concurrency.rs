//! The async path: many Lua coroutines on one VM running transactions at once.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{lua_for, run};
use dbridge_lua::mlua::Function;
use futures_util::future::join_all;

dbridge_testkit::each_backend!(hundred_coroutines_each_run_a_transaction, |t| async move {
    let lua = lua_for(&t);
    run::<()>(
        &lua,
        "db:execute('CREATE TABLE items (worker INTEGER NOT NULL, n INTEGER NOT NULL)')
         inflight, max_inflight = 0, 0",
    )
    .await;
    let work: Function = run(
        &lua,
        "return function(i)
            inflight = inflight + 1
            if inflight > max_inflight then max_inflight = inflight end
            local tx = db:begin()
            tx:execute('INSERT INTO items (worker, n) VALUES ($1, $2)', { i, 1 })
            dbridge.sleep(0.001)
            tx:execute('INSERT INTO items (worker, n) VALUES ($1, $2)', { i, 2 })
            tx:commit()
            inflight = inflight - 1
            return i
        end",
    )
    .await;
    let calls = (0..100).map(|i| dbridge_lua::call::<i64>(&lua, &work, i));
    let results = join_all(calls).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.expect("coroutine"), i as i64);
    }
    let (rows, max): (i64, i64) = run(
        &lua,
        "return db:fetch_one('SELECT count(*) AS c FROM items').c, max_inflight",
    )
    .await;
    assert_eq!(rows, 200);
    // The coroutines overlapped: while one waited on the database, others ran.
    assert!(
        max > 1,
        "coroutines ran one after another (max in flight {max})"
    );
});

dbridge_testkit::each_backend!(open_transactions_coexist_on_one_vm, |t| async move {
    // Five coroutines each hold an open transaction and wait at a barrier that
    // only opens when all five are there: this completes only if a waiting
    // coroutine never blocks the VM or the thread.
    const K: usize = 5;
    // In-memory SQLite is served by a single connection: open transactions side by
    // side need a database file.
    let t = if t.backend() == dbridge_engine::Backend::Sqlite {
        dbridge_testkit::TestDb::sqlite_file().await
    } else {
        t
    };
    let lua = lua_for(&t);
    let barrier = Arc::new(tokio::sync::Barrier::new(K));
    let b = barrier.clone();
    let gate = lua
        .create_async_function(move |_, ()| {
            let b = b.clone();
            async move {
                b.wait().await;
                Ok(())
            }
        })
        .unwrap();
    lua.globals().set("gate", gate).unwrap();
    run::<()>(&lua, "db:execute('CREATE TABLE g (n INTEGER)')").await;
    let work: Function = run(
        &lua,
        "return function(i)
            local tx = db:begin({ read_only = true })
            local n = tx:fetch_one('SELECT count(*) AS c FROM g').c
            gate()
            tx:commit()
            return n
        end",
    )
    .await;
    let calls = (0..K).map(|i| dbridge_lua::call::<i64>(&lua, &work, i as i64));
    let all = tokio::time::timeout(Duration::from_secs(60), join_all(calls))
        .await
        .expect("the coroutines deadlocked: a database wait blocked the VM");
    assert!(all.into_iter().all(|r| r.expect("coroutine") == 0));
});

/// The players of the "Concurrent updates" section of docs/lua.md: 500 rows
/// with a version column.
const PLAYERS: &str = r#"
Player = db:model {
    name = "Player", table = "players", version = "version",
    columns = {
        { "id", "integer", primary_key = true },
        { "gold", "integer", nullable = false, default = 0 },
        { "version", "integer", nullable = false, default = 0 },
    },
}
db:create_all()
local rows = {}
for i = 1, 500 do rows[i] = { id = i } end
Player:insert(rows)
"#;

/// 10,000 logins on one Lua state by 1,000 coroutines at once (10 each),
/// each login adding 1 gold to one of 500 players the way `login` does;
/// returns the gold counted afterwards.
async fn logins(t: &dbridge_testkit::TestDb, login: &str) -> i64 {
    let lua = lua_for(t);
    run::<()>(&lua, PLAYERS).await;
    let login: Function = run(&lua, login).await;
    lua.globals().set("login", login).unwrap();
    let work: Function = run(
        &lua,
        "return function(c) for k = 0, 9 do login((c * 10 + k) % 500 + 1) end end",
    )
    .await;
    let calls = (0..1_000).map(|c| dbridge_lua::call::<()>(&lua, &work, c));
    for r in join_all(calls).await {
        r.expect("a login failed");
    }
    run(
        &lua,
        "return db:fetch_one('SELECT sum(gold) AS g FROM players').g",
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_with_a_version_column_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let gold = logins(
        &t,
        "return function(id)
            db:transaction(function(s)
                local p = s:get(Player, id)
                p.gold = p.gold + 1
            end, { retries = 50 })
        end",
    )
    .await;
    assert_eq!(gold, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_under_a_row_lock_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let gold = logins(
        &t,
        "return function(id)
            db:transaction(function(s)
                local p = s:get(Player, id, { for_update = true })
                p.gold = p.gold + 1
            end)
        end",
    )
    .await;
    assert_eq!(gold, 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_atomic_updates_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let gold = logins(
        &t,
        "return function(id)
            Player:update{ gold = Player.gold + 1 }:where(Player.id:eq(id)):execute()
        end",
    )
    .await;
    assert_eq!(gold, 10_000);
}
