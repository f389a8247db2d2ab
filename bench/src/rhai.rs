//! The comparison's Rhai column (issue 17, column 3): W1, W3, W5 and W6 from
//! Rhai, the same statements as the Lua column. Rhai calls block on the
//! runtime, so this runs on its own thread with a multi-thread runtime
//! (`dbridge-bench --url URL rhai`), after the main run made the tables.

use std::time::Instant;

use dbridge_engine::schema::Metadata;
use dbridge_engine::{Database, Result};
use dbridge_rhai::rhai::{Dynamic, Engine, Scope};

use crate::{Opts, emit, with_sync_off};

/// The bench table's model in the Rhai scope (`User`).
const RHAI_MODEL: &str = r#"
    db.model(#{ name: "User", table: "dbridge_user", columns: [
        ["id", "bigint", #{ primary_key: true }],
        ["name", "text", #{ nullable: false }], ["email", "text", #{ nullable: false }],
        ["age", "integer", #{ nullable: false }], ["created_at", "timestamptz", #{ nullable: false }],
    ] })
"#;

const W1: &str = r#"
    for i in 0..n1 {
        db.transaction(|tx| {
            tx.fetch_one("INSERT INTO dbridge_user (name, email, age, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                         ["user" + i, "user" + i + "@example.com", i % 90, "2024-01-01 00:00:00+00:00"])
        });
    }
"#;

const W3: &str = r#"
    let rows = db.fetch_all("SELECT id, name, email, age, created_at FROM dbridge_user");
    if rows.len() == 0 { throw "no rows"; }
"#;

const W5: &str = r#"
    let s = db.session();
    for u in s.query(User).order_by(User.id).limit(n5).all() {
        u.age = u.age + 1;
    }
    s.commit();
"#;

/// The W6 models (`Author`, `Post`) over the tables the Rust W6 fills.
const RHAI_W6_MODELS: &str = r#"
    let author = db.model(#{ name: "BenchAuthor", table: "dbridge_author", columns: [
        ["id", "integer", #{ primary_key: true }], ["name", "text", #{ nullable: false }],
    ], relations: #{ posts: dbridge::has_many("BenchPost", #{ back_populates: "author" }) } });
    db.model(#{ name: "BenchPost", table: "dbridge_post", columns: [
        ["id", "integer", #{ primary_key: true }],
        ["author_id", "integer", #{ nullable: false, references: "dbridge_author.id" }],
        ["title", "text", #{ nullable: false }], ["body", "text", #{ nullable: false }],
    ], relations: #{ author: dbridge::belongs_to("BenchAuthor", #{ back_populates: "posts" }) } });
    author
"#;

/// W6: every author with its posts through a session, by `loader`; the
/// query is timed inside the script (the session opened and closed outside
/// the timing, as in Rust, Lua and sqla_bench).
fn w6_script(loader: &str) -> String {
    format!(
        r#"
    let s = db.session();
    let started = bench_clock();
    let authors = s.query(Author).options(dbridge::{loader}("posts")).all();
    let elapsed = bench_clock() - started;
    let posts = 0;
    for a in authors {{ posts += a.posts.len(); }}
    if authors.len() != w6_authors || posts != w6_authors * 10 {{
        throw `W6 loaded ${{authors.len()}} authors and ${{posts}} posts`;
    }}
    s.close();
    elapsed
"#
    )
}

fn rhai_err(e: impl std::fmt::Display) -> dbridge_engine::Error {
    dbridge_engine::Error::InvalidState(format!("rhai: {e}"))
}

/// Runs the Rhai column; prints one JSON line per figure.
pub(crate) fn run(opts: &Opts) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(rhai_err)?;
    let url = match opts.url.starts_with("postgres") {
        true => with_sync_off(&opts.url),
        false => opts.url.clone(),
    };
    let db = rt.block_on(Database::connect(&url))?;
    // The table, when the main run has not made it (a Rhai-only run).
    let meta = Metadata::new();
    meta.add(crate::user_model("dbridge_user")?)?;
    rt.block_on(meta.create_all(&db))?;
    let mut engine = Engine::new();
    let origin = Instant::now();
    engine.register_fn("bench_clock", move || origin.elapsed().as_secs_f64());
    let dbridge = dbridge_rhai::register(
        &mut engine,
        dbridge_rhai::Options::new().runtime(rt.handle().clone()),
    )
    .map_err(rhai_err)?;
    let mut scope = Scope::new();
    scope.push("db", dbridge.database(db.clone()));
    let n1 = 2_000 / opts.scale;
    let n2 = 100_000 / opts.scale;
    let n5 = n2 / 10;
    scope.push("n1", n1 as i64);
    scope.push("n5", n5 as i64);
    let user: Dynamic = engine
        .eval_with_scope(&mut scope, RHAI_MODEL)
        .map_err(rhai_err)?;
    scope.push("User", user);
    let mut timed = |script: &str, rt: &tokio::runtime::Runtime, before: &str| -> Result<f64> {
        if !before.is_empty() {
            rt.block_on(db.execute_script(before))?;
        }
        let ast = engine.compile(script).map_err(rhai_err)?;
        let started = Instant::now();
        engine
            .run_ast_with_scope(&mut scope, &ast)
            .map_err(rhai_err)?;
        Ok(started.elapsed().as_secs_f64())
    };
    if opts.want("W1") {
        let truncate = crate::reset_sql(db.backend(), "dbridge_user");
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            s.push(timed(W1, &rt, &truncate)? / n1 as f64 * 1e6);
        }
        emit(
            "dbridge-rhai",
            "W1_single_insert_sync_commit_off",
            "us_per_row",
            &s,
            n1,
        );
    }
    if opts.want("W3") || opts.want("W5") {
        rt.block_on(crate::refill(&db, n2))?;
    }
    if opts.want("W3") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            s.push(n2 as f64 / timed(W3, &rt, "")?);
        }
        emit("dbridge-rhai", "W3_select_core_rows", "rows_per_s", &s, n2);
    }
    if opts.want("W5") {
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            s.push(n5 as f64 / timed(W5, &rt, "")?);
        }
        emit("dbridge-rhai", "W5_session_update", "rows_per_s", &s, n5);
    }
    if opts.want("W6") {
        w6(opts, &rt, &db, &engine, &mut scope)?;
    }
    Ok(())
}

/// W6 from Rhai, on the tables the main run filled (filled here when a
/// Rhai-only run finds them short).
fn w6(
    opts: &Opts,
    rt: &tokio::runtime::Runtime,
    db: &Database,
    engine: &Engine,
    scope: &mut Scope<'_>,
) -> Result<()> {
    let (authors, each) = (1000 / opts.scale, 10);
    let meta = Metadata::new();
    let models = crate::rel::add_models(&meta)?;
    rt.block_on(async {
        meta.create_all(db).await?;
        let n = db
            .fetch_one("SELECT count(*) AS n FROM dbridge_post", &[])
            .await?;
        if n.get("n")?.as_i64() != Some((authors * each) as i64) {
            crate::rel::setup(db, &models, authors, each).await?;
        }
        Ok::<_, dbridge_engine::Error>(())
    })?;
    scope.push("w6_authors", authors as i64);
    let author: Dynamic = engine
        .eval_with_scope(scope, RHAI_W6_MODELS)
        .map_err(rhai_err)?;
    scope.push("Author", author);
    for (name, loader) in [
        ("W6_eager_selectin", "selectinload"),
        ("W6_eager_joined", "joinedload"),
    ] {
        let script = w6_script(loader);
        let mut s = Vec::new();
        for _ in 0..opts.reps {
            let secs: f64 = engine.eval_with_scope(scope, &script).map_err(rhai_err)?;
            s.push(secs * 1e3);
        }
        emit("dbridge-rhai", name, "ms", &s, authors * each);
    }
    Ok(())
}
