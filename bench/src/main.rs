//! dbridge's side of the comparison with SQLAlchemy, psycopg, raw sqlx and
//! SeaORM (`bench/compare` runs them all in one run). Same workloads, row
//! shape and sizes as `../shared/bench/sqla_bench.py`; one JSON line per metric
//! on stdout: `{"source", "workload", "metric", "value" (median), "samples", "n"}`.
//!
//! ```text
//! dbridge-bench [--url URL] [--quick] [--reps N] [--only W1,W3]
//! dbridge-bench --url URL child w7-rust|w7-lua     (one W7 sample, own process)
//! dbridge-bench --url URL [--quick] [--reps N] rhai  (the Rhai column: W1, W3, W5)
//! dbridge-bench --url URL child first-query-lua    (start-up: fresh Lua state to first row)
//! ```
//!
//! Each workload runs through the Core API and through the session (`orm.rs`);
//! the workload names say which path ran; W6 (relationships) is `rel.rs`,
//! W8 (polymorphic loading of joined inheritance) `poly.rs`.

use std::time::Instant;

use chrono::{TimeZone, Utc};
use dbridge_engine::query::{Insert, Run, Select};
use dbridge_engine::schema::{Column, LoadStrategy, Metadata, Model};
use dbridge_engine::{Database, Result, SqlType, Value};
use dbridge_lua::InstallOptions;
use futures_util::TryStreamExt;

mod orm;
mod poly;
mod rel;
mod rhai;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

struct Opts {
    url: String,
    scale: usize,
    reps: usize,
    only: Vec<String>,
}

impl Opts {
    fn want(&self, w: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o.eq_ignore_ascii_case(w))
    }
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    if s.is_empty() { 0.0 } else { s[s.len() / 2] }
}

fn emit(source: &str, workload: &str, metric: &str, samples: &[f64], n: usize) {
    let rec = serde_json::json!({
        "source": source, "workload": workload, "metric": metric,
        "value": (median(samples) * 1000.0).round() / 1000.0,
        "samples": samples.iter().map(|x| (x * 1000.0).round() / 1000.0).collect::<Vec<_>>(),
        "n": n,
    });
    println!("{rec}");
}

fn user_model(table: &str) -> Result<Model> {
    Model::builder(table)
        .table(table)
        .column(Column::new("id", SqlType::Int8).primary_key())
        .column(Column::new("name", "text").not_null())
        .column(Column::new("email", "text").not_null())
        .column(Column::new("age", "integer").not_null())
        .column(Column::new("created_at", "timestamptz").not_null())
        .build()
}

fn make_rows(n: usize) -> Vec<Vec<Value>> {
    let base = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default();
    (0..n)
        .map(|i| {
            vec![
                Value::Text(format!("user{i}")),
                Value::Text(format!("user{i}@example.com")),
                Value::Int4((i % 90) as i32),
                Value::Timestamptz((base + chrono::Duration::seconds(i as i64)).into()),
            ]
        })
        .collect()
}

const COLS: [&str; 4] = ["name", "email", "age", "created_at"];

/// The statement that empties `table` and restarts its ids.
fn reset_sql(backend: dbridge_engine::Backend, table: &str) -> String {
    match backend {
        dbridge_engine::Backend::Postgres => format!("TRUNCATE {table} RESTART IDENTITY"),
        // Without AUTOINCREMENT an emptied table's ids start again at 1.
        dbridge_engine::Backend::Sqlite => format!("DELETE FROM {table}"),
    }
}

async fn reset(db: &Database, table: &str) -> Result<()> {
    db.execute_script(&reset_sql(db.backend(), table))
        .await
        .map(drop)
}

/// Fills the bench table with `n` rows unless it has them (not timed).
async fn refill(db: &Database, n: usize) -> Result<()> {
    let have = db
        .fetch_one("SELECT count(*) AS n FROM dbridge_user", &[])
        .await?
        .get(0)?
        .as_i64();
    if have != Some(n as i64) {
        let meta = Metadata::new();
        let user = meta.add(user_model("dbridge_user")?)?;
        reset(db, "dbridge_user").await?;
        bulk_load(db, &user, n).await?;
    }
    Ok(())
}

async fn bulk_load(db: &Database, model: &Model, n: usize) -> Result<f64> {
    let rows = make_rows(n);
    let started = Instant::now();
    let mut tx = db.begin().await?;
    Insert::into(model)
        .columns(COLS)?
        .rows(rows)?
        .execute(&mut tx)
        .await?;
    tx.commit().await?;
    Ok(started.elapsed().as_secs_f64())
}

async fn w1_rust(db: &Database, model: &Model, n: usize) -> Result<f64> {
    let rows = make_rows(n);
    let started = Instant::now();
    for row in rows {
        let mut tx = db.begin().await?;
        Insert::into(model)
            .columns(COLS)?
            .values(row)?
            .returning([model.col("id")?])
            .fetch_one(&mut tx)
            .await?;
        tx.commit().await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// A Lua state with dbridge, the URL, and `bench_clock()` (monotonic seconds).
fn lua_state(url: &str) -> mlua_result::Result<dbridge_lua::mlua::Lua> {
    let lua = dbridge_lua::new_lua(InstallOptions::new().instruction_budget(None))?;
    lua.globals().set("URL", url)?;
    let origin = Instant::now();
    let clock = lua.create_function(move |_, ()| Ok(origin.elapsed().as_secs_f64()))?;
    lua.globals().set("bench_clock", clock)?;
    Ok(lua)
}

mod mlua_result {
    pub type Result<T> = std::result::Result<T, dbridge_lua::mlua::Error>;
}

async fn lua_timed(lua: &dbridge_lua::mlua::Lua, chunk: &str) -> mlua_result::Result<f64> {
    dbridge_lua::eval::<f64>(lua, chunk, "=bench").await
}

async fn run(opts: &Opts) -> Result<()> {
    let db = Database::connect(&with_sync_off(&opts.url)).await?;
    let meta = Metadata::new();
    let user = meta.add(user_model("dbridge_user")?)?;
    let stream = meta.add(user_model("dbridge_stream")?)?;
    let w6_models = rel::add_models(&meta)?;
    meta.drop_all(&db).await?;
    meta.create_all(&db).await?;
    let n1 = 2000 / opts.scale;
    let n2 = 100_000 / opts.scale;
    let n4 = 10_000 / opts.scale;
    let n7 = 1_000_000 / opts.scale;

    if opts.want("W1") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            reset(&db, "dbridge_user").await?;
            s.push(w1_rust(&db, &user, n1).await? / n1 as f64 * 1e6);
        }
        emit(
            "dbridge-rust",
            "W1_single_insert_sync_commit_off",
            "us_per_row",
            &s,
            n1,
        );
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            reset(&db, "dbridge_user").await?;
            s.push(orm::w1_session(&db, &user, n1).await? / n1 as f64 * 1e6);
        }
        emit(
            "dbridge-rust",
            "W1_session_insert_commit",
            "us_per_row",
            &s,
            n1,
        );
    }
    if opts.want("W2") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            reset(&db, "dbridge_user").await?;
            s.push(n2 as f64 / bulk_load(&db, &user, n2).await?);
        }
        emit(
            "dbridge-rust",
            "W2_bulk_insert_core_insert",
            "rows_per_s",
            &s,
            n2,
        );
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            reset(&db, "dbridge_user").await?;
            s.push(n2 as f64 / orm::w2_add_all(&db, &user, n2).await?);
        }
        emit(
            "dbridge-rust",
            "W2_bulk_insert_session_add_all",
            "rows_per_s",
            &s,
            n2,
        );
    }
    if opts.want("W3") || opts.want("W4") || opts.want("W5") {
        reset(&db, "dbridge_user").await?;
        bulk_load(&db, &user, n2).await?;
        db.execute("VACUUM ANALYZE dbridge_user", &[]).await?;
    }
    if opts.want("W3") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let started = Instant::now();
            let rows = Select::from(&user).fetch_all(&db).await?;
            s.push(rows.len() as f64 / started.elapsed().as_secs_f64());
        }
        emit("dbridge-rust", "W3_select_core_rows", "rows_per_s", &s, n2);
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let (secs, n) = orm::w3_query(&db, &user).await?;
            s.push(n as f64 / secs);
        }
        emit("dbridge-rust", "W3_session_instances", "rows_per_s", &s, n2);
    }
    if opts.want("W4") {
        let mut s = Vec::new();
        for rep in 0..opts.reps {
            let ids = random_ids(n4, n2 as i64, rep as u64 + 1);
            let started = Instant::now();
            for id in ids {
                let q = Select::from(&user).filter(user.col("id")?.eq(id));
                q.fetch_one(&db).await?;
            }
            s.push(started.elapsed().as_secs_f64() / n4 as f64 * 1e6);
        }
        emit("dbridge-rust", "W4_point_select_core", "us_per_op", &s, n4);
        let mut s = Vec::new();
        for rep in 0..opts.reps {
            let ids = random_ids(n4, n2 as i64, rep as u64 + 1);
            s.push(orm::w4_get(&db, &user, &ids).await? / n4 as f64 * 1e6);
        }
        emit(
            "dbridge-rust",
            "W4_session_get_identity_map",
            "us_per_op",
            &s,
            n4,
        );
    }
    if opts.want("W5") {
        let (mut total, mut flush) = (Vec::new(), Vec::new());
        for _ in 0..opts.reps {
            let (t, f) = orm::w5_update(&db, &user, n4).await?;
            total.push(n4 as f64 / t);
            flush.push(n4 as f64 / f);
        }
        emit(
            "dbridge-rust",
            "W5_session_update",
            "rows_per_s",
            &total,
            n4,
        );
        emit(
            "dbridge-rust",
            "W5_session_update_flush_only",
            "rows_per_s",
            &flush,
            n4,
        );
    }
    if opts.want("W6") {
        w6(opts, &db, &w6_models).await?;
    }
    if opts.want("W8") {
        w8(opts, &db).await?;
    }
    if opts.want("W7") {
        let count = db
            .fetch_one("SELECT count(*) AS n FROM dbridge_stream", &[])
            .await?;
        if count.get("n")?.as_i64() != Some(n7 as i64) {
            reset(&db, "dbridge_stream").await?;
            bulk_load(&db, &stream, n7).await?;
            db.execute("VACUUM ANALYZE dbridge_stream", &[]).await?;
        }
    }
    lua_workloads(opts, n1, n2).await?;
    Ok(())
}

/// W6: 1,000 authors x 10 posts (a tenth with `--quick`), by selectin and by joined.
async fn w6(opts: &Opts, db: &Database, models: &(Model, Model)) -> Result<()> {
    let (authors, each) = (1000 / opts.scale, 10);
    rel::setup(db, models, authors, each).await?;
    for (name, strategy) in [
        ("W6_eager_selectin", LoadStrategy::Selectin),
        ("W6_eager_joined", LoadStrategy::Joined),
    ] {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            s.push(rel::eager(db, &models.0, strategy, authors, each).await? * 1e3);
        }
        emit("dbridge-rust", name, "ms", &s, authors * each);
    }
    Ok(())
}

/// W8: 100,000 joined-inheritance employees (a tenth with `--quick`), loaded
/// by the base's query inline (one joined SELECT) and by selectin.
async fn w8(opts: &Opts, db: &Database) -> Result<()> {
    let n = 100_000 / opts.scale;
    let h = poly::models()?;
    poly::setup(db, &h, n).await?;
    for (name, selectin) in [
        ("W8_polymorphic_inline", false),
        ("W8_polymorphic_selectin", true),
    ] {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            s.push(n as f64 / poly::load(db, &h, selectin, n).await?);
        }
        emit("dbridge-rust", name, "rows_per_s", &s, n);
    }
    Ok(())
}

async fn lua_workloads(opts: &Opts, n1: usize, n2: usize) -> Result<()> {
    let lua = lua_state(&with_sync_off(&opts.url)).map_err(lua_err)?;
    lua.globals().set("N1", n1).map_err(lua_err)?;
    if opts.want("W1") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(&lua, r#"
                local db = dbridge.connect(URL)
                db:execute("TRUNCATE dbridge_user RESTART IDENTITY")
                local started = bench_clock()
                for i = 1, N1 do
                  db:transaction(function(tx)
                    tx:fetch_one("INSERT INTO dbridge_user (name, email, age, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                                 { "user" .. i, "user" .. i .. "@example.com", i % 90, "2024-01-01 00:00:00+00:00" })
                  end)
                end
                local elapsed = bench_clock() - started
                db:close()
                return elapsed
            "#).await.map_err(lua_err)?;
            s.push(secs / n1 as f64 * 1e6);
        }
        emit(
            "dbridge-lua",
            "W1_single_insert_sync_commit_off",
            "us_per_row",
            &s,
            n1,
        );
    }
    if opts.want("W3") {
        // W1 above left N1 rows: load N2 again, as the Rust side had them.
        lua.globals().set("N2", n2).map_err(lua_err)?;
        lua_timed(&lua, REFILL).await.map_err(lua_err)?;
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(&lua, r#"
                local db = dbridge.connect(URL)
                local started = bench_clock()
                local rows = db:fetch_all("SELECT id, name, email, age, created_at FROM dbridge_user")
                local elapsed = bench_clock() - started
                assert(#rows > 0)
                db:close()
                return elapsed
            "#).await.map_err(lua_err)?;
            s.push(n2 as f64 / secs);
        }
        emit("dbridge-lua", "W3_select_core_rows", "rows_per_s", &s, n2);
    }
    lua_orm_workloads(&lua, opts, n1, n2).await
}

/// Fills the bench table with `N2` rows (PostgreSQL's generate_series) unless
/// it has them; returns 0 (the time is not measured).
const REFILL: &str = r#"
    local db = dbridge.connect(URL)
    if db:fetch_one("SELECT count(*) AS n FROM dbridge_user").n ~= N2 then
      db:execute("TRUNCATE dbridge_user RESTART IDENTITY")
      db:execute([[INSERT INTO dbridge_user (name, email, age, created_at)
                   SELECT 'user' || g, 'user' || g || '@example.com', g % 90,
                          timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
                   FROM generate_series(1, $1::int) AS g]], { N2 })
    end
    db:close()
    return 0.0
"#;

/// The model of the bench table, declared in the Lua state (`User`).
const LUA_MODEL: &str = r#"
    local db = dbridge.connect(URL)
    User = db:model { name = "User", table = "dbridge_user", columns = {
      { "id", "bigint", primary_key = true },
      { "name", "text", nullable = false }, { "email", "text", nullable = false },
      { "age", "integer", nullable = false }, { "created_at", "timestamptz", nullable = false },
    } }
    return db
"#;

/// The ORM workloads from Lua: W1 session add + commit, W3 instances, W5
/// load-change-commit (the same operations as `orm.rs` from Rust).
async fn lua_orm_workloads(
    lua: &dbridge_lua::mlua::Lua,
    opts: &Opts,
    n1: usize,
    n2: usize,
) -> Result<()> {
    let db: dbridge_lua::mlua::Value = dbridge_lua::eval(lua, LUA_MODEL, "=bench-model")
        .await
        .map_err(lua_err)?;
    lua.globals().set("DB", db).map_err(lua_err)?;
    if opts.want("W1") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(
                lua,
                r#"
                DB:execute("TRUNCATE dbridge_user RESTART IDENTITY")
                local s = DB:session()
                local started = bench_clock()
                for i = 1, N1 do
                  s:add(User { name = "user" .. i, email = "user" .. i .. "@example.com",
                               age = i % 90, created_at = "2024-01-01 00:00:00+00:00" })
                  s:commit()
                end
                local elapsed = bench_clock() - started
                s:close()
                return elapsed
            "#,
            )
            .await
            .map_err(lua_err)?;
            s.push(secs / n1 as f64 * 1e6);
        }
        emit(
            "dbridge-lua",
            "W1_session_insert_commit",
            "us_per_row",
            &s,
            n1,
        );
    }
    if opts.want("W3") || opts.want("W5") {
        lua.globals().set("N2", n2).map_err(lua_err)?;
        lua_timed(lua, REFILL).await.map_err(lua_err)?;
    }
    if opts.want("W3") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(
                lua,
                r#"
                local started = bench_clock()
                local users = DB:query(User):all()
                local elapsed = bench_clock() - started
                assert(#users > 0)
                return elapsed
            "#,
            )
            .await
            .map_err(lua_err)?;
            s.push(n2 as f64 / secs);
        }
        emit("dbridge-lua", "W3_session_instances", "rows_per_s", &s, n2);
    }
    if opts.want("W5") {
        lua.globals().set("N5", n2 / 10).map_err(lua_err)?;
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(
                lua,
                r#"
                local started = bench_clock()
                DB:transaction(function(s)
                  for _, u in ipairs(s:query(User):order_by(User.id):limit(N5):all()) do
                    u.age = u.age + 1
                  end
                end)
                return bench_clock() - started
            "#,
            )
            .await
            .map_err(lua_err)?;
            s.push((n2 / 10) as f64 / secs);
        }
        emit(
            "dbridge-lua",
            "W5_session_update",
            "rows_per_s",
            &s,
            n2 / 10,
        );
    }
    if opts.want("W6") {
        lua_w6(lua, opts).await?;
    }
    Ok(())
}

/// The W6 models in the Lua state (`Author`, `Post`), over the tables the
/// Rust W6 filled.
const LUA_W6_MODELS: &str = r#"
Author = DB:model { name = "BenchAuthor", table = "dbridge_author",
  columns = { { "id", "integer", primary_key = true }, { "name", "text", nullable = false } },
  relations = { posts = dbridge.has_many("BenchPost", { back_populates = "author" }) } }
Post = DB:model { name = "BenchPost", table = "dbridge_post",
  columns = { { "id", "integer", primary_key = true },
    { "author_id", "integer", nullable = false, references = "dbridge_author.id" },
    { "title", "text", nullable = false }, { "body", "text", nullable = false } },
  relations = { author = dbridge.belongs_to("BenchAuthor", { back_populates = "posts" }) } }
"#;

/// W6 from Lua: every author with its posts through a session, by
/// `selectinload` and by `joinedload` (the session opened and closed outside
/// the timing, as in Rust and sqla_bench).
async fn lua_w6(lua: &dbridge_lua::mlua::Lua, opts: &Opts) -> Result<()> {
    let authors = 1000 / opts.scale;
    lua.globals().set("W6_AUTHORS", authors).map_err(lua_err)?;
    dbridge_lua::exec(lua, LUA_W6_MODELS, "=bench-w6-models")
        .await
        .map_err(lua_err)?;
    for (name, loader) in [
        ("W6_eager_selectin", "selectinload"),
        ("W6_eager_joined", "joinedload"),
    ] {
        lua.globals().set("LOADER", loader).map_err(lua_err)?;
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs = lua_timed(
                lua,
                r#"
                local s = DB:session()
                local started = bench_clock()
                local authors = s:query(Author):options(dbridge[LOADER]("posts")):all()
                local elapsed = bench_clock() - started
                local posts = 0
                for _, a in ipairs(authors) do posts = posts + #a.posts end
                assert(#authors == W6_AUTHORS and posts == W6_AUTHORS * 10)
                s:close()
                return elapsed
            "#,
            )
            .await
            .map_err(lua_err)?;
            s.push(secs * 1e3);
        }
        emit("dbridge-lua", name, "ms", &s, authors * 10);
    }
    Ok(())
}

fn lua_err(e: dbridge_lua::mlua::Error) -> dbridge_engine::Error {
    dbridge_engine::Error::InvalidState(format!("lua: {e}"))
}

fn random_ids(n: usize, max: i64, mut seed: u64) -> Vec<i64> {
    // Half the ids repeat (as sqla_bench's W4): 50 distinct ids per 100 gets.
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let mut batch = Vec::with_capacity(100);
        for _ in 0..50 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            batch.push((seed % max as u64) as i64 + 1);
        }
        let again = batch.clone();
        batch.extend(again);
        out.extend(batch);
    }
    out.truncate(n);
    out
}

fn with_sync_off(url: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20synchronous_commit%3Doff")
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn child(url: &str, which: &str) -> Result<()> {
    let started = Instant::now();
    let n = match which {
        "w7-rust" => {
            let db = Database::connect(url).await?;
            let meta = Metadata::new();
            let stream = meta.add(user_model("dbridge_stream")?)?;
            let stmt = dbridge_engine::dialect::compile(&Select::from(&stream), db.backend())?;
            let mut rows = db.fetch_statement(stmt);
            let mut n = 0_u64;
            while let Some(row) = rows.try_next().await? {
                n += u64::from(!row.is_empty());
            }
            n
        }
        "w7-lua" => {
            let lua = lua_state(url).map_err(lua_err)?;
            let n: u64 = dbridge_lua::eval(&lua, r#"
                local db = dbridge.connect(URL)
                local n = 0
                for row in db:stream("SELECT id, name, email, age, created_at FROM dbridge_stream") do
                  if row.id then n = n + 1 end
                end
                return n
            "#, "=w7").await.map_err(lua_err)?;
            n
        }
        // Start-up: a fresh Lua state, dbridge installed, a connection and
        // its first query, timed from the child's first instruction.
        "first-query-lua" => {
            let lua = lua_state(url).map_err(lua_err)?;
            let one: u64 = dbridge_lua::eval(
                &lua,
                "local db = dbridge.connect(URL) return db:fetch_one('SELECT 1 AS one').one",
                "=first-query",
            )
            .await
            .map_err(lua_err)?;
            one
        }
        other => {
            return Err(dbridge_engine::Error::InvalidState(format!(
                "unknown child {other}"
            )));
        }
    };
    let rec = serde_json::json!({"rows": n, "seconds": started.elapsed().as_secs_f64(), "peak_rss_mib": peak_rss_mib()});
    println!("{rec}");
    Ok(())
}

fn w7_parent(opts: &Opts) {
    let n7 = 1_000_000 / opts.scale;
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for (source, which) in [("dbridge-rust", "w7-rust"), ("dbridge-lua", "w7-lua")] {
        let (mut secs, mut rss) = (Vec::new(), Vec::new());
        for _ in 0..opts.reps {
            let out = std::process::Command::new(&exe)
                .args(["--url", &opts.url, "child", which])
                .output();
            let Ok(out) = out else { continue };
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&out.stdout) else {
                eprintln!("{which}: {}", String::from_utf8_lossy(&out.stderr));
                continue;
            };
            secs.push(v["seconds"].as_f64().unwrap_or(0.0));
            rss.push(v["peak_rss_mib"].as_f64().unwrap_or(0.0));
        }
        emit(source, "W7_stream", "seconds", &secs, n7);
        emit(source, "W7_stream", "peak_rss_mib", &rss, n7);
    }
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let mut opts = Opts {
        url: DEFAULT_URL.into(),
        scale: 1,
        reps: 3,
        only: Vec::new(),
    };
    let mut child_of = None;
    let mut rhai_column = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--url" => opts.url = args.next().unwrap_or_default(),
            "--quick" => opts.scale = 10,
            "--reps" => opts.reps = args.next().and_then(|n| n.parse().ok()).unwrap_or(3),
            "--only" => {
                opts.only = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "child" => child_of = args.next(),
            "rhai" => rhai_column = true,
            other => {
                eprintln!("unknown argument {other}");
                return std::process::ExitCode::from(2);
            }
        }
    }
    if rhai_column {
        return match rhai::run(&opts) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error[{}]: {e}", e.kind());
                std::process::ExitCode::from(1)
            }
        };
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = match &child_of {
        Some(which) => rt.block_on(child(&opts.url, which)),
        None => rt.block_on(run(&opts)),
    };
    if let Err(e) = result {
        eprintln!("error[{}]: {e}", e.kind());
        return std::process::ExitCode::from(1);
    }
    if child_of.is_none() && opts.want("W7") {
        w7_parent(&opts);
    }
    std::process::ExitCode::SUCCESS
}
