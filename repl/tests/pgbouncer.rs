//! The Lua acceptance path through PgBouncer in transaction pooling mode,
//! several processes at once: each `dbridge-repl` runs the quickstart script
//! and the example migrations up and down through the local cluster's
//! PgBouncer (`scripts/cluster/up`), in a database of its own.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

use dbridge_engine::Database;
use dbridge_testkit::cluster;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root")
        .to_path_buf()
}

fn repl(url: &str, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dbridge-repl"))
        .current_dir(root())
        .arg("--url")
        .arg(url)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dbridge-repl")
}

fn check(what: &str, out: Output) {
    assert!(
        out.status.success(),
        "{what} failed through PgBouncer:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `url` with its database replaced by `name`, in PgBouncer mode.
fn with_database(url: &str, name: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("a URL with a database");
    format!("{base}/{name}?pgbouncer=true")
}

fn run_all(urls: &[String], args: &[&str], what: &str) {
    let children: Vec<Child> = urls.iter().map(|u| repl(u, args)).collect();
    for child in children {
        check(
            what,
            child.wait_with_output().expect("wait for dbridge-repl"),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_processes_run_the_quickstart_and_migrations_through_pgbouncer() {
    let Some(c) = cluster() else { return };
    let admin = Database::connect(&c.primary).await.expect("the primary");
    let names: Vec<String> = (0..4)
        .map(|i| format!("bouncer_{i}_{}", uuid::Uuid::new_v4().simple()))
        .collect();
    for n in &names {
        admin
            .execute(&format!("CREATE DATABASE {n}"), &[])
            .await
            .unwrap();
    }
    let urls: Vec<String> = names
        .iter()
        .map(|n| with_database(&c.pgbouncer, n))
        .collect();
    // All four at once: the quickstart (models, sessions, relationships, the
    // query builder), then the example migrations up, a query, and down.
    run_all(&urls, &["run", "scripts/quickstart.lua"], "the quickstart");
    run_all(
        &urls,
        &["migrate", "--dir", "scripts/migrations", "up"],
        "migrate up",
    );
    run_all(
        &urls,
        &[
            "-e",
            "assert(db:fetch_one('SELECT slug FROM authors WHERE id = 3').slug == 'grace-hopper')",
        ],
        "a query of the migrated data",
    );
    run_all(
        &urls,
        &["migrate", "--dir", "scripts/migrations", "down", "2"],
        "migrate down",
    );
    for n in &names {
        admin
            .execute(&format!("DROP DATABASE {n} WITH (FORCE)"), &[])
            .await
            .unwrap();
    }
}
