//! [`PgServer`]: a throwaway PostgreSQL server of a test's own, for tests that
//! stop, restart or kill a server (never the shared one on 5432).
//!
//! The server is a fresh `initdb` in a temporary directory, listening on a
//! free loopback port with trust authentication, run as the `postgres` system
//! user when the test runs as root (PostgreSQL refuses to run as root). It is
//! stopped and its directory removed when the [`PgServer`] is dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A PostgreSQL server of one test's own.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

/// Why a throwaway server could not be had.
pub type ServerError = String;

impl PgServer {
    /// Creates and starts a server on a free port.
    ///
    /// # Errors
    /// When the PostgreSQL binaries are missing or `initdb`/`pg_ctl` fail; the
    /// message says which command and what it printed.
    pub fn start() -> Result<Self, ServerError> {
        let bin = pg_bin_dir().ok_or("no PostgreSQL server binaries under /usr/lib/postgresql")?;
        let dir =
            std::env::temp_dir().join(format!("dbridge-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let server = Self {
            bin,
            dir,
            port: free_port()?,
        };
        server.chown()?;
        server.run(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n",
            server.port,
            server.dir.display()
        );
        append(&Path::new(&server.data()).join("postgresql.conf"), &conf)?;
        server.pg_ctl(&["start"])?;
        Ok(server)
    }

    /// The URL of its `postgres` database as the `postgres` user.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Restarts it (a fast shutdown: every connection is terminated with 57P01).
    ///
    /// # Errors
    /// When `pg_ctl` fails.
    pub fn restart(&self) -> Result<(), ServerError> {
        self.pg_ctl(&["restart", "-m", "fast"])
    }

    /// Stops it (fast shutdown).
    ///
    /// # Errors
    /// When `pg_ctl` fails.
    pub fn stop(&self) -> Result<(), ServerError> {
        self.pg_ctl(&["stop", "-m", "fast"])
    }

    /// Starts it again after [`PgServer::stop`].
    ///
    /// # Errors
    /// When `pg_ctl` fails.
    pub fn start_again(&self) -> Result<(), ServerError> {
        self.pg_ctl(&["start"])
    }

    /// Terminates its client backends (`pg_terminate_backend`), all of them
    /// or only `only`, and waits until they are gone; returns how many.
    ///
    /// # Panics
    /// When the server cannot be reached: a test environment problem.
    pub async fn terminate_backends(&self, only: Option<i64>) -> usize {
        use dbridge_engine::{Database, Value};
        let admin = Database::connect(&self.url())
            .await
            .expect("connect to the throwaway server");
        let rows = admin
            .fetch_all(
                "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' \
                 AND pid <> pg_backend_pid() AND ($1::int IS NULL OR pid = $1::int)",
                &[only.map_or(Value::Null, Value::from)],
            )
            .await
            .expect("list backends");
        let pids: Vec<Value> = rows
            .iter()
            .filter_map(|r| r.get("pid").ok().cloned())
            .collect();
        for pid in &pids {
            admin
                .execute(
                    "SELECT pg_terminate_backend($1::int)",
                    std::slice::from_ref(pid),
                )
                .await
                .expect("terminate a backend");
        }
        // Wait for the condition, not for a guessed time.
        for pid in &pids {
            loop {
                let left = admin
                    .fetch_one(
                        "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1::int",
                        std::slice::from_ref(pid),
                    )
                    .await
                    .expect("count backends");
                if left.get("n").ok().and_then(Value::as_i64) == Some(0) {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
        admin.close().await;
        pids.len()
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), ServerError> {
        let log = self.dir.join("server.log").display().to_string();
        let mut all = vec!["-D", &self.data(), "-l", &log, "-w", "-t", "60"]
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        all.extend(args.iter().map(|s| (*s).to_owned()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run("pg_ctl", &refs)
    }

    /// Runs one of the server's programs, as `postgres` when we are root.
    fn run(&self, program: &str, args: &[&str]) -> Result<(), ServerError> {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{program} {}: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn chown(&self) -> Result<(), ServerError> {
        if !is_root() {
            return Ok(());
        }
        let ok = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&self.dir)
            .status()
            .map_err(|e| format!("chown: {e}"))?
            .success();
        if ok {
            Ok(())
        } else {
            Err(format!("chown postgres {} failed", self.dir.display()))
        }
    }
}

/// PgBouncer of a test's own, in transaction pooling mode in front of a
/// [`PgServer`]; stopped when dropped.
#[derive(Debug)]
pub struct PgBouncer {
    dir: PathBuf,
    port: u16,
}

impl PgServer {
    /// Starts PgBouncer (transaction pooling, a server pool of 20, a failed
    /// server login retried after 1 s) in front of this server.
    ///
    /// # Errors
    /// When `pgbouncer` is not installed (`scripts/cluster/up` installs it)
    /// or does not start.
    pub fn start_pgbouncer(&self) -> Result<PgBouncer, ServerError> {
        let port = free_port()?;
        let dir = self.dir.join(format!("pgbouncer-{port}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        let users = dir.join("userlist.txt");
        std::fs::write(&users, "\"postgres\" \"\"\n").map_err(|e| format!("write: {e}"))?;
        let ini = dir.join("pgbouncer.ini");
        let conf = format!(
            "[databases]\n* = host=127.0.0.1 port={server}\n\n[pgbouncer]\n\
             listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
             auth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
             default_pool_size = 20\nmax_client_conn = 500\nserver_login_retry = 1\n\
             ignore_startup_parameters = extra_float_digits,options,application_name\n\
             logfile = {dir}/pgbouncer.log\npidfile = {dir}/pgbouncer.pid\n",
            server = self.port,
            users = users.display(),
            dir = dir.display(),
        );
        std::fs::write(&ini, conf).map_err(|e| format!("write: {e}"))?;
        let bouncer = PgBouncer { dir, port };
        if is_root() {
            let _ = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&bouncer.dir)
                .status();
        }
        let mut cmd = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "pgbouncer"]);
            c
        } else {
            Command::new("pgbouncer")
        };
        let out = cmd
            .args(["-d", "-q"])
            .arg(&ini)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                format!("pgbouncer: {e} (is it installed? scripts/cluster/up installs it)")
            })?;
        if !out.status.success() {
            return Err(format!(
                "pgbouncer: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // Wait until it accepts connections: a condition, bounded.
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(bouncer);
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        Err("pgbouncer did not start listening".into())
    }
}

impl PgBouncer {
    /// Its URL (to the server's `postgres` database), in dbridge's PgBouncer mode.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?pgbouncer=true",
            self.port
        )
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["stop", "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    // `id -u` is the portable way without a libc dependency.
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn append(path: &Path, text: &str) -> Result<(), ServerError> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("open {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("write {}: {e}", path.display()))
}

/// A port nothing listens on now (the OS picks it; a race with another
/// process taking it in between is possible but rare, and fails loudly).
fn free_port() -> Result<u16, ServerError> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("local_addr: {e}"))
}

/// The newest `/usr/lib/postgresql/N/bin`.
fn pg_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    let v = versions.pop()?;
    Some(PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
}
