//! The "Concurrent updates" section of docs/rhai.md: many scripts at once
//! adding gold to the same players lose no increment, in each of the three
//! ways the docs show (PostgreSQL: row locks are PostgreSQL's).

mod common;

use common::run;
use futures_util::future::join_all;

const PLAYER: &str = r#"
    let Player = db.model(#{
        name: "Player", table: "players", version: "version",
        columns: [
            ["id", "integer", #{ primary_key: true }],
            ["gold", "integer", #{ nullable: false, "default": 0 }],
            ["version", "integer", #{ nullable: false, "default": 0 }],
        ],
    });
"#;

/// 2,000 logins: 20 scripts at once (each on its own thread, as a host runs
/// them), 100 logins each, on 50 players; returns the gold counted after.
async fn logins(t: &dbridge_testkit::TestDb, login: &str) -> i64 {
    let setup = format!(
        "{PLAYER} db.create_all();
         let rows = []; for i in 1..=50 {{ rows.push(#{{ id: i }}); }} Player.insert(rows);"
    );
    let _ = run(t, &setup).await.expect("setup");
    let script = format!(
        "{PLAYER}
         let login = {login};
         for k in 0..100 {{ login.call(Player, k % 50 + 1); }}"
    );
    for r in join_all((0..20).map(|_| run(t, &script))).await {
        let _ = r.expect("a login failed");
    }
    let g = run(t, "db.fetch_one(\"SELECT sum(gold) AS g FROM players\").g")
        .await
        .expect("sum");
    g.as_int().expect("an integer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_with_a_version_column_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let login = "|Player, id| db.transaction(#{ retries: 50 }, |s| {
        let p = s.get(Player, id);
        p.gold = p.gold + 1;
    })";
    assert_eq!(logins(&t, login).await, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_increments_under_a_row_lock_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let login = "|Player, id| db.transaction(|s| {
        let p = s.get(Player, id, #{ for_update: true });
        p.gold = p.gold + 1;
    })";
    assert_eq!(logins(&t, login).await, 2_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_atomic_updates_lose_nothing() {
    let t = dbridge_testkit::TestDb::postgres().await;
    let login =
        "|Player, id| Player.update(#{ gold: Player.gold + 1 }).where(Player.id.eq(id)).execute()";
    assert_eq!(logins(&t, login).await, 2_000);
}
