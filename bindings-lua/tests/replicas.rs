//! Read replicas and PgBouncer from Lua, on the local cluster of
//! `scripts/cluster/up` (a primary, a hot standby, PgBouncer): where reads,
//! writes, transactions and `on_primary` run, told by `pg_is_in_recovery()`
//! (true only on the standby) and by the statement events' `server`.

use dbridge_lua::InstallOptions;
use dbridge_testkit::cluster;

async fn run(script: &str, primary: &str, standby: &str, bouncer: &str) {
    let lua = dbridge_lua::new_lua(InstallOptions::new()).expect("lua");
    let g = lua.globals();
    g.set("PRIMARY", primary).unwrap();
    g.set("STANDBY", standby).unwrap();
    g.set("BOUNCER", bouncer).unwrap();
    if let Err(e) = dbridge_lua::exec(&lua, script, "replicas").await {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_the_rest_to_the_primary() {
    let Some(c) = cluster() else { return };
    run(
        r#"
        local db = dbridge.connect{ primary = PRIMARY, replicas = { STANDBY }, max_connections = 4 }
        local function standby(row) return row.r == true end
        local q = "SELECT pg_is_in_recovery() AS r"
        assert(standby(db:fetch_one(q)), "a plain read should run on the standby")
        assert(not standby(db:primary():fetch_one(q)), "db:primary() reads the primary")
        local in_tx = db:transaction(function(s) return s:fetch_one(q) end)
        assert(not standby(in_tx), "a transaction runs on the primary")
        local r = dbridge.func.pg_is_in_recovery():label("r")
        assert(db:query(r):first().r == true, "a Core query reads the standby")
        assert(db:query(r):on_primary():first().r == false, "on_primary() reads the primary")
        local servers = {}
        local off = db:on_statement(function(ev) servers[#servers + 1] = ev.server end)
        db:fetch_one(q)
        db:execute("SELECT 1")
        off()
        assert(servers[1] == "replica 1" and servers[2] == "primary",
          tostring(servers[1]) .. ", " .. tostring(servers[2]))
        "#,
        &c.primary,
        &c.standby,
        &c.pgbouncer,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_mode_from_lua() {
    let Some(c) = cluster() else { return };
    run(
        r#"
        local db = dbridge.connect(BOUNCER, { pgbouncer = true, max_connections = 4 })
        local t = "lua_bouncer_" .. tostring(math.random(1, 1e9))
        db:execute("CREATE TABLE " .. t .. " (id integer PRIMARY KEY, n integer)")
        for i = 1, 50 do
          db:execute("INSERT INTO " .. t .. " VALUES ($1, $2)", { i, i * 2 })
          assert(db:fetch_one("SELECT n FROM " .. t .. " WHERE id = $1", { i }).n == i * 2)
        end
        db:transaction(function(s) s:execute("UPDATE " .. t .. " SET n = 0 WHERE id = $1", { 1 }) end)
        local ok, err = pcall(db.execute, db, "LISTEN jobs")
        assert(not ok and err.kind == "unsupported", tostring(err))
        db:execute("DROP TABLE " .. t)
        "#,
        &c.primary,
        &c.standby,
        &c.pgbouncer,
    )
    .await;
}
