//! One Lua state driving 10,000 concurrent coroutines that each run a point
//! query, against the same 10,000 concurrent queries through raw sqlx and
//! through the engine (PostgreSQL; pools of 10 connections, no ping on
//! checkout on either side, everything on one current-thread runtime).
//!
//! `cargo bench --bench lua_coroutines` (DBRIDGE_TEST_PG_URL, default
//! postgres://postgres@127.0.0.1:5432/test; skipped when unreachable).
//!
//! Each batch is timed twice: in wall time, and in CPU time of the runtime's
//! thread (`cpu/...`), which holds the Lua, binding, engine and driver work but
//! not the server's. The CPU difference per query between `lua` and `sqlx` is
//! what a database call from a Lua coroutine adds. Every query runs in a task
//! of its own, as a server handles requests. Before the benchmarks it prints
//! the longest time any one coroutine held the thread between two waits: what
//! the host's other tasks wait at most (a runtime's FIFO queue of 10,000 ready
//! tasks delays a timer by the sum of their slices, not by any one of them).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, WallTime};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use dbridge::engine::{ConnectOptions, Database, Value};
use dbridge::lua::mlua::{Function, Lua};
use dbridge::lua::{InstallOptions, LuaDb};
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

#[path = "common/cpu.rs"]
mod cpu;
use cpu::ThreadCpu;

const COROUTINES: i64 = 10_000;
const ROWS: i64 = 10_000;
const POOL: u32 = 10;
const QUERY: &str = "SELECT id, name FROM bench_coroutines WHERE id = $1";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn pg_url() -> String {
    std::env::var("DBRIDGE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

struct Setup {
    pool: PgPool,
    db: Database,
    lua: Lua,
    point: Function,
}

async fn setup() -> Option<Setup> {
    let url = pg_url();
    let pool = PgPoolOptions::new()
        .max_connections(POOL)
        .test_before_acquire(false)
        .connect(&url)
        .await
        .ok()?;
    sqlx::query("DROP TABLE IF EXISTS bench_coroutines")
        .execute(&pool)
        .await
        .ok()?;
    sqlx::query("CREATE TABLE bench_coroutines (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
        .execute(&pool)
        .await
        .ok()?;
    sqlx::query(
        "INSERT INTO bench_coroutines SELECT i, 'player ' || i FROM generate_series(0, $1) i",
    )
    .bind(ROWS - 1)
    .execute(&pool)
    .await
    .ok()?;
    let db = Database::connect_with(&url, ConnectOptions::new().max_connections(POOL))
        .await
        .ok()?;
    let lua = dbridge::lua::new_lua(InstallOptions::new()).expect("lua");
    lua.globals().set("db", LuaDb::new(db.clone())).expect("db");
    let point: Function = lua
        .load(format!(
            "return function(id) local r = db:fetch_one('{QUERY}', {{ id }}) return r.name end"
        ))
        .eval()
        .expect("point query function");
    Some(Setup {
        pool,
        db,
        lua,
        point,
    })
}

/// Waits for every task (a panicking one fails the benchmark).
async fn all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) {
    for t in tasks {
        t.await.expect("task");
    }
}

/// Each query in a task of its own, as a server handles a request.
async fn sqlx_batch(pool: &PgPool) {
    let tasks = (0..COROUTINES)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let row = sqlx::query(QUERY)
                    .bind(i % ROWS)
                    .fetch_one(&pool)
                    .await
                    .expect("sqlx query");
                row.get::<String, _>(1)
            })
        })
        .collect();
    all(tasks).await;
}

async fn engine_batch(db: &Database) {
    let tasks = (0..COROUTINES)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.fetch_one(QUERY, &[Value::Int8(i % ROWS)])
                    .await
                    .expect("engine query")
            })
        })
        .collect();
    all(tasks).await;
}

/// 10,000 coroutines on one Lua state, each in a task of its own, all
/// waiting on the database at once. With `longest`, each poll of a coroutine
/// (a resume until its next wait) is timed and the longest kept, in ns.
async fn lua_batch(lua: &Lua, point: &Function, longest: Option<Arc<AtomicU64>>) {
    let tasks = (0..COROUTINES)
        .map(|i| {
            let call = dbridge::lua::call::<String>(lua, point, i % ROWS);
            let longest = longest.clone();
            tokio::spawn(async move {
                match longest {
                    Some(l) => {
                        Timed {
                            inner: call,
                            longest: l,
                        }
                        .await
                    }
                    None => call.await,
                }
                .expect("lua query")
            })
        })
        .collect();
    all(tasks).await;
}

/// A future whose longest single poll, in CPU time of the thread, is
/// recorded (wall time would count the moments the OS ran something else on
/// a busy machine).
struct Timed<F> {
    inner: F,
    longest: Arc<AtomicU64>,
}

impl<F: Future + Unpin> Future for Timed<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let started = cpu::thread_cpu_ns();
        let out = Pin::new(&mut self.inner).poll(cx);
        let took = cpu::thread_cpu_ns().saturating_sub(started);
        self.longest.fetch_max(took, Ordering::Relaxed);
        out
    }
}

/// How long one batch of Lua coroutines took, and the longest CPU time any
/// one of them held the runtime's thread (the most a host's other tasks wait
/// on it).
fn longest_poll(rt: &tokio::runtime::Runtime, s: &Setup) -> (Duration, Duration) {
    let longest = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    rt.block_on(lua_batch(&s.lua, &s.point, Some(longest.clone())));
    (
        started.elapsed(),
        Duration::from_nanos(longest.load(Ordering::Relaxed)),
    )
}

fn batches<M: Measurement>(c: &mut Criterion<M>, label: &str) {
    let rt = runtime();
    let Some(s) = rt.block_on(setup()) else {
        eprintln!("lua_coroutines: PostgreSQL unreachable, skipped");
        return;
    };
    if label.is_empty() {
        let (took, poll) = longest_poll(&rt, &s);
        eprintln!(
            "lua_coroutines: {COROUTINES} coroutines in {took:?}; the longest any one held the thread between waits: {poll:?} of CPU time"
        );
    }
    let mut g = c.benchmark_group(format!("{label}coroutines_point_query"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(COROUTINES as u64));
    g.bench_function(BenchmarkId::new("sqlx", COROUTINES), |b| {
        b.to_async(&rt).iter(|| sqlx_batch(&s.pool));
    });
    g.bench_function(BenchmarkId::new("engine", COROUTINES), |b| {
        b.to_async(&rt).iter(|| engine_batch(&s.db));
    });
    g.bench_function(BenchmarkId::new("lua", COROUTINES), |b| {
        b.to_async(&rt).iter(|| lua_batch(&s.lua, &s.point, None));
    });
    g.finish();
    rt.block_on(async {
        let _ = sqlx::query("DROP TABLE bench_coroutines")
            .execute(&s.pool)
            .await;
        s.pool.close().await;
        s.db.close().await;
    });
}

fn wall(c: &mut Criterion) {
    batches(c, "");
}

fn cpu(c: &mut Criterion<ThreadCpu>) {
    batches(c, "cpu/");
}

criterion_group!(wall_time, wall);
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpu(WallTime));
    targets = cpu
}
criterion_main!(wall_time, cpu_time);
