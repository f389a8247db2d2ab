//! The ORM workloads through the Rust session API: the same operations as
//! `sqla_bench.py`'s session workloads (W1 add + commit per row, W2 add_all,
//! W3 query as instances, W4 get with identity-map hits, W5 load-change-commit).

use std::time::Instant;

use dbridge_engine::schema::Model;
use dbridge_engine::session::{Instance, Session};
use dbridge_engine::{Database, Result, Value};

use crate::{COLS, make_rows};

fn instance(model: &Model, row: Vec<Value>) -> Result<Instance> {
    Instance::with_values(model, COLS.iter().copied().zip(row))
}

/// W1: one session; add one user and commit, `n` times. Seconds.
pub(crate) async fn w1_session(db: &Database, model: &Model, n: usize) -> Result<f64> {
    let rows = make_rows(n);
    let mut s = Session::new(db);
    let started = Instant::now();
    for row in rows {
        s.add(instance(model, row)?)?;
        s.commit().await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// W2: `add_all` of `n` new users and one commit. Seconds.
pub(crate) async fn w2_add_all(db: &Database, model: &Model, n: usize) -> Result<f64> {
    let rows = make_rows(n);
    let mut s = Session::new(db);
    let started = Instant::now();
    let instances = rows
        .into_iter()
        .map(|r| instance(model, r))
        .collect::<Result<Vec<_>>>()?;
    s.add_all(instances)?;
    s.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}

/// W3: every user as an instance. (seconds, instances loaded)
pub(crate) async fn w3_query(db: &Database, model: &Model) -> Result<(f64, usize)> {
    let mut s = Session::new(db);
    let started = Instant::now();
    let users = s.query(model).all().await?;
    Ok((started.elapsed().as_secs_f64(), users.len()))
}

/// W4: gets by primary key in batches of 100 (50 ids, each got twice), a
/// fresh session per batch as in sqla_bench. Seconds.
pub(crate) async fn w4_get(db: &Database, model: &Model, ids: &[i64]) -> Result<f64> {
    let started = Instant::now();
    for batch in ids.chunks(100) {
        let mut s = Session::new(db);
        let mut held = Vec::with_capacity(batch.len());
        for &id in batch {
            held.push(s.get(model, id).await?);
        }
        s.commit().await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// W5: load `n` users, add one to each one's age, commit. (total seconds,
/// flush + commit seconds)
pub(crate) async fn w5_update(db: &Database, model: &Model, n: usize) -> Result<(f64, f64)> {
    let mut s = Session::new(db);
    let started = Instant::now();
    let users = s
        .query(model)
        .order_by(model.col("id")?)
        .limit(n as u64)
        .all()
        .await?;
    for u in &users {
        let age = u.get("age")?.as_i64().unwrap_or(0);
        u.set("age", age + 1)?;
    }
    let changed = Instant::now();
    s.commit().await?;
    Ok((
        started.elapsed().as_secs_f64(),
        changed.elapsed().as_secs_f64(),
    ))
}
