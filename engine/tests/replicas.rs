//! Read replicas on a real hot standby (the local cluster of
//! `scripts/cluster/up`), and replicas that die.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dbridge_engine::{ConnectOptions, Database, Value};
use dbridge_testkit::{PgServer, cluster, count_rows};

/// Where each statement ran, by its observer's `server` label.
fn servers(db: &Database) -> Arc<Mutex<Vec<(String, String)>>> {
    let log = Arc::new(Mutex::new(Vec::new()));
    let sink = log.clone();
    db.on_statement(Arc::new(move |ev| {
        let server = ev.server.unwrap_or("-").to_owned();
        sink.lock().unwrap().push((server, ev.sql.to_owned()));
    }));
    log
}

fn ran_on(log: &Mutex<Vec<(String, String)>>, sql_part: &str) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .filter(|(_, sql)| sql.contains(sql_part))
        .map(|(s, _)| s.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_go_to_the_standby_and_writes_to_the_primary() {
    let Some(c) = cluster() else { return };
    let t = format!("replicated_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect_replicated(&c.primary, &[&c.standby], ConnectOptions::new())
        .await
        .expect("connect with a replica");
    assert_eq!(db.replica_count(), 1);
    let log = servers(&db);
    db.execute(&format!("CREATE TABLE {t} (n integer)"), &[])
        .await
        .unwrap();
    db.execute(&format!("INSERT INTO {t} VALUES ($1)"), &[Value::from(7)])
        .await
        .unwrap();
    // The primary sees the write at once.
    assert_eq!(count_rows(&db.primary(), &t).await, 1);
    // The standby sees it once it has replayed it: wait for that, bounded.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match db
            .fetch_one(&format!("SELECT count(*) AS n FROM {t}"), &[])
            .await
        {
            Ok(row) if row.get("n").unwrap().as_i64() == Some(1) => break,
            _ if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(20)).await,
            other => panic!("the standby never replayed the write: {other:?}"),
        }
    }
    assert!(ran_on(&log, "INSERT").iter().all(|s| s == "primary"));
    assert!(ran_on(&log, "CREATE TABLE").iter().all(|s| s == "primary"));
    let counts = ran_on(&log, "SELECT count(*)");
    assert_eq!(
        counts.first().map(String::as_str),
        Some("primary"),
        "db.primary() read"
    );
    assert!(counts[1..].iter().all(|s| s == "replica 1"), "{counts:?}");
    // In a transaction everything runs on the primary, reads included.
    let mut tx = db.begin().await.unwrap();
    tx.fetch_one(
        &format!("SELECT n FROM {t} WHERE n = $1"),
        &[Value::from(7)],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(ran_on(&log, "WHERE n = $1").iter().all(|s| s == "primary"));
    db.execute(&format!("DROP TABLE {t}"), &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_dies_does_not_fail_reads() {
    let Some(c) = cluster() else { return };
    let replica = PgServer::start().expect("a throwaway server as the replica");
    let db = Database::connect_replicated(&c.primary, &[&replica.url()], ConnectOptions::new())
        .await
        .unwrap();
    let log = servers(&db);
    db.fetch_one("SELECT 1 AS one", &[]).await.unwrap();
    assert_eq!(ran_on(&log, "SELECT 1"), ["replica 1"]);
    replica.stop().expect("stop the replica");
    for i in 0..10 {
        let r = db.fetch_one("SELECT 2 AS two", &[]).await;
        assert!(r.is_ok(), "read {i} with the replica down: {r:?}");
    }
    // After the first failure every read went to the primary.
    let two = ran_on(&log, "SELECT 2");
    assert!(two.iter().skip(1).all(|s| s == "primary"), "{two:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_replica_at_connect_time_is_skipped() {
    let Some(c) = cluster() else { return };
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres",
            l.local_addr().unwrap().port()
        )
    };
    let db = Database::connect_replicated(
        &c.primary,
        &[&dead],
        ConnectOptions::new().acquire_timeout(Duration::from_secs(2)),
    )
    .await
    .expect("connect although the replica is down");
    let log = servers(&db);
    db.fetch_one("SELECT 3 AS three", &[]).await.unwrap();
    assert_eq!(ran_on(&log, "SELECT 3"), ["primary"]);
}

#[tokio::test]
async fn replicas_are_refused_on_sqlite_and_for_other_backends() {
    let err = Database::connect_replicated("sqlite::memory:", &[], ConnectOptions::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), dbridge_engine::ErrorKind::Unsupported, "{err}");
    assert!(err.to_string().contains("sqlite"), "{err}");
}

/// Whether the database's next plain read ran on a standby.
async fn read_on_standby(db: &Database) -> bool {
    db.fetch_one("SELECT pg_is_in_recovery() AS r", &[])
        .await
        .expect("a read")
        .get("r")
        .unwrap()
        == &Value::Bool(true)
}

/// Polls `cond` (each poll a read) until it holds, within a generous bound.
async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_behind_the_lag_bound_is_skipped_until_it_catches_up() {
    let Some(c) = cluster() else { return };
    let t = format!("lagged_{}", uuid::Uuid::new_v4().simple());
    let db = Database::connect_replicated(
        &c.primary,
        &[&c.standby2],
        ConnectOptions::new().max_replica_lag(Some(Duration::from_millis(200))),
    )
    .await
    .unwrap();
    let standby = Database::connect(&c.standby2).await.unwrap();
    let resume = async || {
        standby
            .fetch_one("SELECT pg_wal_replay_resume()::text AS p", &[])
            .await
            .unwrap();
    };
    // A run that failed half-way may have left replay paused.
    resume().await;
    db.execute(&format!("CREATE TABLE {t} (n integer)"), &[])
        .await
        .unwrap();
    eventually("a caught-up replica takes reads", async || {
        read_on_standby(&db).await
    })
    .await;
    // Stop replay on the standby and write on the primary: it falls behind.
    standby
        .fetch_one("SELECT pg_wal_replay_pause()::text AS p", &[])
        .await
        .unwrap();
    for i in 0..3 {
        db.execute(&format!("INSERT INTO {t} VALUES ($1)"), &[Value::from(i)])
            .await
            .unwrap();
    }
    eventually("reads leave the lagging replica", async || {
        // Keep the primary writing so the replica has WAL it has not replayed.
        db.execute(&format!("INSERT INTO {t} VALUES (0)"), &[])
            .await
            .unwrap();
        !read_on_standby(&db).await
    })
    .await;
    resume().await;
    eventually("reads come back once it has caught up", async || {
        read_on_standby(&db).await
    })
    .await;
    db.execute(&format!("DROP TABLE {t}"), &[]).await.unwrap();
}
