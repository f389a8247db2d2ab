//! The local deployment of `scripts/cluster/up`: a primary, two hot standbys and
//! PgBouncer in transaction pooling mode, on the loopback.
//!
//! Tests that need it call [`cluster`]: it takes the URLs from the
//! environment (`DBRIDGE_PRIMARY_URL`, `DBRIDGE_STANDBY_URL`, `DBRIDGE_STANDBY2_URL`,
//! `DBRIDGE_PGBOUNCER_URL`, as `.ci/run` exports them) or runs the script
//! (idempotent) once per test binary. When the script cannot run, the test
//! prints why and returns: skipped loudly, never silently.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The URLs of the local deployment.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// The primary.
    pub primary: String,
    /// A hot standby streaming from the primary.
    pub standby: String,
    /// A second hot standby, for tests that pause its replay.
    pub standby2: String,
    /// PgBouncer (transaction pooling) in front of the primary.
    pub pgbouncer: String,
}

/// The local deployment, started if need be; `None` (with the reason printed
/// to stderr) when it cannot be had on this machine.
pub fn cluster() -> Option<Cluster> {
    static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
    match CLUSTER.get_or_init(start) {
        Ok(c) => Some(c.clone()),
        Err(why) => {
            eprintln!("SKIPPED: the local cluster (scripts/cluster/up) cannot run here: {why}");
            None
        }
    }
}

fn start() -> Result<Cluster, String> {
    let from_env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(primary), Some(standby), Some(standby2), Some(pgbouncer)) = (
        from_env("DBRIDGE_PRIMARY_URL"),
        from_env("DBRIDGE_STANDBY_URL"),
        from_env("DBRIDGE_STANDBY2_URL"),
        from_env("DBRIDGE_PGBOUNCER_URL"),
    ) {
        return Ok(Cluster {
            primary,
            standby,
            standby2,
            pgbouncer,
        });
    }
    let script = workspace_root().join("scripts/cluster/up");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let var = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix('='))
            .map(str::to_owned)
            .ok_or_else(|| format!("{} printed no {k}", script.display()))
    };
    Ok(Cluster {
        primary: var("DBRIDGE_PRIMARY_URL")?,
        standby: var("DBRIDGE_STANDBY_URL")?,
        standby2: var("DBRIDGE_STANDBY2_URL")?,
        pgbouncer: var("DBRIDGE_PGBOUNCER_URL")?,
    })
}

/// The workspace root: the nearest ancestor of this crate with `scripts/cluster`.
fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|p| p.join("scripts/cluster/up").is_file())
        .map_or(here.clone(), PathBuf::from)
}
