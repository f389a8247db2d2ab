//! Many processes, one database: the load harness of docs/performance.md
//! ("Many processes").
//!
//! ```sh
//! cargo run --release --example load -- --url postgres://postgres@127.0.0.1:5432/test \
//!     [--processes 8] [--coroutines 100] [--seconds 30] [--pool 10] [--label direct] \
//!     [--admin-url URL]   # the server itself, when --url goes through PgBouncer
//! ```
//!
//! The parent creates a `load_players` table (1,000 rows), starts
//! `--processes` copies of itself, and each runs `--coroutines` Lua coroutines
//! on one Lua state for `--seconds`: 80% point reads, 20% small write
//! transactions (`UPDATE ... SET gold = gold + 1` in `db:transaction` with
//! retries). It prints one line: operations per second, p50/p99 latency,
//! errors, and the most server connections seen in `pg_stat_activity`. The
//! loops stop by themselves at the deadline; the URL should be on the
//! loopback. Add `?pgbouncer=true` to go through PgBouncer.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use dbridge::engine::{Database, Value};
use dbridge::lua::InstallOptions;
use dbridge::lua::mlua::Function;

#[derive(Debug, Clone)]
struct Args {
    url: String,
    processes: u32,
    coroutines: u32,
    seconds: u64,
    pool: u32,
    label: String,
    /// The server itself (setup and the connection count), when `url` goes
    /// through PgBouncer.
    admin_url: Option<String>,
    worker: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        url: "postgres://postgres@127.0.0.1:5432/test".into(),
        processes: 8,
        coroutines: 100,
        seconds: 30,
        pool: 10,
        label: "run".into(),
        admin_url: None,
        worker: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => a.url = value()?,
            "--processes" => a.processes = number(value()?)? as u32,
            "--coroutines" => a.coroutines = number(value()?)? as u32,
            "--seconds" => a.seconds = number(value()?)?,
            "--pool" => a.pool = number(value()?)? as u32,
            "--label" => a.label = value()?,
            "--admin-url" => a.admin_url = Some(value()?),
            "--worker" => a.worker = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

const SCRIPT: &str = r#"
db = dbridge.connect(URL, { max_connections = POOL })
function work(seed, deadline_us)
  math.randomseed(seed)
  local ops, errors, lat = 0, 0, {}
  while now_us() < deadline_us do
    local id = math.random(1, 1000)
    local t0 = now_us()
    local ok
    if math.random() < 0.8 then
      ok = pcall(db.fetch_one, db, "SELECT gold FROM load_players WHERE id = $1", { id })
    else
      ok = pcall(db.transaction, db, function(s)
        s:execute("UPDATE load_players SET gold = gold + 1 WHERE id = $1", { id })
      end, { retries = 5 })
    end
    lat[#lat + 1] = now_us() - t0
    if ok then ops = ops + 1 else errors = errors + 1 end
  end
  return ops, errors, table.concat(lat, ",")
end
"#;

/// One worker process: `coroutines` coroutines on one Lua state.
async fn worker(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let lua = dbridge::lua::new_lua(InstallOptions::new())?;
    let epoch = Instant::now();
    lua.globals().set("URL", args.url.clone())?;
    lua.globals().set("POOL", args.pool)?;
    lua.globals().set(
        "now_us",
        lua.create_function(move |_, ()| Ok(epoch.elapsed().as_micros() as i64))?,
    )?;
    dbridge::lua::exec(&lua, SCRIPT, "load").await?;
    let work: Function = lua.globals().get("work")?;
    let deadline =
        Duration::from_secs(args.seconds).as_micros() as i64 + epoch.elapsed().as_micros() as i64;
    let tasks: Vec<_> = (0..args.coroutines)
        .map(|i| {
            let call =
                dbridge::lua::call::<(i64, i64, String)>(&lua, &work, (i64::from(i) + 1, deadline));
            tokio::spawn(call)
        })
        .collect();
    let (mut ops, mut errors, mut lat) = (0, 0, Vec::new());
    for t in tasks {
        let (o, e, l) = t.await??;
        ops += o;
        errors += e;
        lat.extend(l.split(',').filter_map(|x| x.parse::<i64>().ok()));
    }
    let lat: Vec<String> = lat.iter().map(i64::to_string).collect();
    println!("{ops} {errors} {}", lat.join(","));
    Ok(())
}

async fn setup(url: &str) -> dbridge::engine::Result<Database> {
    let db = Database::connect(url).await?;
    db.execute("DROP TABLE IF EXISTS load_players", &[]).await?;
    db.execute(
        "CREATE TABLE load_players (id integer PRIMARY KEY, gold integer NOT NULL)",
        &[],
    )
    .await?;
    db.execute(
        "INSERT INTO load_players SELECT g, 0 FROM generate_series(1, 1000) g",
        &[],
    )
    .await?;
    Ok(db)
}

/// The most client backends seen on the server, sampled until `stop`.
async fn watch_connections(db: Database, stop: Arc<AtomicI64>) -> i64 {
    let mut most = 0;
    while stop.load(Ordering::Relaxed) == 0 {
        let row = db
            .fetch_one(
                "SELECT count(*) AS n FROM pg_stat_activity \
                 WHERE backend_type = 'client backend' AND datname = current_database()",
                &[],
            )
            .await;
        match row.map(|r| r.get("n").ok().and_then(Value::as_i64)) {
            // Less the watcher's own connection.
            Ok(Some(n)) => most = most.max(n - 1),
            Ok(None) => {}
            Err(e) => eprintln!("counting connections: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    most
}

async fn parent(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let db = setup(args.admin_url.as_deref().unwrap_or(&args.url)).await?;
    let stop = Arc::new(AtomicI64::new(0));
    let watcher = tokio::spawn(watch_connections(db.clone(), stop.clone()));
    let exe = std::env::current_exe()?;
    let started = Instant::now();
    let children: Vec<std::process::Child> = (0..args.processes)
        .map(|_| {
            Command::new(&exe)
                .args(["--worker", "--url", &args.url])
                .args(["--coroutines", &args.coroutines.to_string()])
                .args(["--seconds", &args.seconds.to_string()])
                .args(["--pool", &args.pool.to_string()])
                .stdout(Stdio::piped())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    // Wait off the runtime's thread, so that the connection watcher runs.
    let outputs = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(std::process::Child::wait_with_output)
            .collect::<std::io::Result<Vec<_>>>()
    })
    .await??;
    let (mut ops, mut errors, mut lat) = (0_i64, 0_i64, Vec::<i64>::new());
    for out in outputs {
        let text = String::from_utf8_lossy(&out.stdout);
        let mut parts = text.trim().splitn(3, ' ');
        ops += parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        errors += parts.next().and_then(|x| x.parse().ok()).unwrap_or(0);
        lat.extend(
            parts
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|x| x.parse::<i64>().ok()),
        );
        if !out.status.success() {
            errors += 1;
            eprintln!("a worker failed: {}", out.status);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(1, Ordering::Relaxed);
    let most = watcher.await?;
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    println!(
        "{}: {} processes x {} coroutines, {} s: {:.0} ops/s, p50 {:.2} ms, p99 {:.2} ms, {} errors, at most {} server connections",
        args.label,
        args.processes,
        args.coroutines,
        args.seconds,
        ops as f64 / elapsed,
        pct(0.5),
        pct(0.99),
        errors,
        most
    );
    db.execute("DROP TABLE load_players", &[]).await?;
    if errors > 0 {
        return Err(format!("{errors} operations failed").into());
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let result = if args.worker {
        runtime.block_on(worker(&args))
    } else {
        runtime.block_on(parent(&args))
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
