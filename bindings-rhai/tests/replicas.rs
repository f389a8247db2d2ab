//! Read replicas and PgBouncer from Rhai, on the local cluster of
//! `scripts/cluster/up`: where reads, writes, transactions and `on_primary`
//! run, told by `pg_is_in_recovery()` (true only on the standby).

mod common;

use dbridge_testkit::cluster;
use rhai::Scope;

async fn run(script: &str, vars: [(&str, String); 3]) {
    let (engine, _dbridge) = common::engine(dbridge_rhai::Options::sandboxed());
    let mut scope = Scope::new();
    for (k, v) in vars {
        scope.push(k, v);
    }
    let script = script.to_owned();
    let r = dbridge_rhai::spawn_blocking(move || {
        engine.eval_with_scope::<rhai::Dynamic>(&mut scope, &script)
    })
    .await
    .expect("script thread");
    if let Err(e) = r {
        panic!("{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_replica_and_the_rest_to_the_primary() {
    let Some(c) = cluster() else { return };
    run(
        r#"
        let db = dbridge::connect(#{ primary: PRIMARY, replicas: [STANDBY], max_connections: 4 });
        let q = "SELECT pg_is_in_recovery() AS r";
        assert_eq(db.fetch_one(q).r, true);
        assert_eq(db.primary().fetch_one(q).r, false);
        let in_tx = db.transaction(|s| s.fetch_one(q).r);
        assert_eq(in_tx, false);
        let r = dbridge::func("pg_is_in_recovery", []).label("r");
        assert_eq(db.query([r]).first().r, true);
        assert_eq(db.query([r]).on_primary().first().r, false);
        "#,
        [
            ("PRIMARY", c.primary.clone()),
            ("STANDBY", c.standby.clone()),
            ("BOUNCER", c.pgbouncer.clone()),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbouncer_mode_from_rhai() {
    let Some(c) = cluster() else { return };
    run(
        r#"
        let db = dbridge::connect(BOUNCER, #{ pgbouncer: true, max_connections: 4 });
        let t = "rhai_bouncer_" + timestamp().elapsed.to_string().replace(".", "");
        db.execute("CREATE TABLE " + t + " (id integer PRIMARY KEY, n integer)");
        for i in 1..=50 {
            db.execute("INSERT INTO " + t + " VALUES ($1, $2)", [i, i * 2]);
            assert_eq(db.fetch_one("SELECT n FROM " + t + " WHERE id = $1", [i]).n, i * 2);
        }
        let kind = "";
        try { db.execute("LISTEN jobs"); } catch (e) { kind = e.kind; }
        assert_eq(kind, "unsupported");
        db.execute("DROP TABLE " + t);
        "#,
        [
            ("PRIMARY", c.primary.clone()),
            ("STANDBY", c.standby.clone()),
            ("BOUNCER", c.pgbouncer.clone()),
        ],
    )
    .await;
}
