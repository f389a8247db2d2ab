//! [`ConnectOptions`]: pool sizing, timeouts, statement cache and TLS, and the
//! parsing of connection URLs with their passwords kept out of sight.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use sqlx::ConnectOptions as _;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgConnectOptions, PgSslMode};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};

use crate::error::{Backend, Error, Result};

/// How a PostgreSQL connection uses TLS (libpq's `sslmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SslMode {
    /// Never use TLS.
    Disable,
    /// Try without TLS first, then with.
    Allow,
    /// Try TLS first, then without (libpq's default).
    #[default]
    Prefer,
    /// Require TLS; do not check the certificate.
    Require,
    /// Require TLS and a certificate signed by a trusted CA.
    VerifyCa,
    /// Require TLS, a trusted certificate, and a host name that matches it.
    VerifyFull,
}

impl FromStr for SslMode {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            _ => {
                return Err(Error::Configuration(format!(
                    "unknown sslmode `{s}` (expected disable, allow, prefer, require, verify-ca or verify-full)"
                )));
            }
        })
    }
}

#[cfg(feature = "postgres")]
impl From<SslMode> for PgSslMode {
    fn from(m: SslMode) -> Self {
        match m {
            SslMode::Disable => Self::Disable,
            SslMode::Allow => Self::Allow,
            SslMode::Prefer => Self::Prefer,
            SslMode::Require => Self::Require,
            SslMode::VerifyCa => Self::VerifyCa,
            SslMode::VerifyFull => Self::VerifyFull,
        }
    }
}

/// Options for [`Database::connect_with`](super::Database::connect_with).
///
/// Every option has a default suited to a server process; TLS options apply to
/// PostgreSQL only and override the URL's `sslmode` / `sslrootcert` parameters.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use dbridge_engine::{ConnectOptions, SslMode};
/// let opts = ConnectOptions::new()
///     .max_connections(20)
///     .acquire_timeout(Duration::from_secs(3))
///     .ssl_mode(SslMode::VerifyFull)
///     .ssl_root_cert("/etc/ssl/certs/db-ca.pem");
/// assert_eq!(opts.get_max_connections(), 20);
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    idle_timeout: Option<Duration>,
    max_lifetime: Option<Duration>,
    statement_cache_capacity: usize,
    test_before_acquire: bool,
    ping_idle_after: Option<Duration>,
    pgbouncer: bool,
    replica_retry_after: Duration,
    max_replica_lag: Option<Duration>,
    ssl_mode: Option<SslMode>,
    ssl_root_cert: Option<PathBuf>,
    ssl_client_cert: Option<PathBuf>,
    ssl_client_key: Option<PathBuf>,
    application_name: Option<String>,
    busy_timeout: Duration,
    cursor_secret: Option<CursorSecret>,
}

/// The SHA-256 of a pagination cursor secret; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
struct CursorSecret([u8; 32]);

impl std::fmt::Debug for CursorSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(600)),
            max_lifetime: Some(Duration::from_secs(1800)),
            statement_cache_capacity: 256,
            test_before_acquire: false,
            ping_idle_after: Some(Duration::from_millis(500)),
            pgbouncer: false,
            replica_retry_after: Duration::from_secs(5),
            max_replica_lag: None,
            ssl_mode: None,
            ssl_root_cert: None,
            ssl_client_cert: None,
            ssl_client_key: None,
            application_name: None,
            busy_timeout: Duration::from_secs(5),
            cursor_secret: None,
        }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $name:ident / $getter:ident: $t:ty),* $(,)?) => {$(
        $(#[$doc])*
        pub fn $name(mut self, v: $t) -> Self {
            self.$name = v;
            self
        }

        #[doc = concat!("The value set by [`Self::", stringify!($name), "`].")]
        pub fn $getter(&self) -> $t {
            self.$name.clone()
        }
    )*};
}

impl ConnectOptions {
    /// The defaults: 10 connections at most, none kept open when idle, 10 s to
    /// get a connection (which also bounds connecting), idle connections closed
    /// after 10 minutes and every connection after 30, 256 cached prepared
    /// statements per connection, no ping before handing out a connection.
    pub fn new() -> Self {
        Self::default()
    }

    setters! {
        /// The most connections the pool opens.
        max_connections / get_max_connections: u32,
        /// The connections the pool keeps open even when idle.
        min_connections / get_min_connections: u32,
        /// How long to wait for a connection, including connecting to the server.
        acquire_timeout / get_acquire_timeout: Duration,
        /// Close connections idle for this long (`None`: never).
        idle_timeout / get_idle_timeout: Option<Duration>,
        /// Close connections older than this (`None`: never).
        max_lifetime / get_max_lifetime: Option<Duration>,
        /// Prepared statements cached per connection (0 disables the cache and
        /// costs a round trip per statement).
        statement_cache_capacity / get_statement_cache_capacity: usize,
        /// Ping each connection before handing it out (one round trip more per
        /// checkout; off by default).
        test_before_acquire / get_test_before_acquire: bool,
        /// Ping a PostgreSQL connection that has been idle for longer than this
        /// before handing it out (default 500 ms; `None`: never), so that the
        /// first statement after a server restart does not meet a dead
        /// connection. Busy connections are reused without the round trip.
        ping_idle_after / get_ping_idle_after: Option<Duration>,
        /// PostgreSQL behind PgBouncer in transaction pooling mode (also the
        /// URL's `pgbouncer=true`): every statement runs in a transaction
        /// (one of its own outside `begin`), and the statements it prepared
        /// are closed before the transaction ends, so that nothing of this
        /// client stays on a server connection that PgBouncer hands to
        /// another. Costs three round trips more per statement run outside a
        /// transaction; see docs/scaling.md.
        pgbouncer / get_pgbouncer: bool,
        /// How long a read replica that failed is skipped before it is tried
        /// again (default 5 s; see [`Database::connect_replicated`](super::Database::connect_replicated)).
        replica_retry_after / get_replica_retry_after: Duration,
        /// Reads skip a replica whose replay lag is over this (default `None`:
        /// no bound). The lag (`now() - pg_last_xact_replay_timestamp()` while
        /// the replica has received WAL it has not replayed; 0 when it is
        /// caught up) is measured on the replica at most once a second.
        max_replica_lag / get_max_replica_lag: Option<Duration>,
        /// How long SQLite waits on a locked database before failing with `busy`.
        busy_timeout / get_busy_timeout: Duration,
    }

    /// PostgreSQL TLS mode (overrides the URL's `sslmode`).
    pub fn ssl_mode(mut self, mode: SslMode) -> Self {
        self.ssl_mode = Some(mode);
        self
    }

    /// PEM file of the CA certificate(s) to trust (overrides `sslrootcert`).
    pub fn ssl_root_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_root_cert = Some(path.into());
        self
    }

    /// PEM client certificate for mutual TLS (overrides `sslcert`).
    pub fn ssl_client_cert(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_client_cert = Some(path.into());
        self
    }

    /// PEM client key for mutual TLS (overrides `sslkey`).
    pub fn ssl_client_key(mut self, path: impl Into<PathBuf>) -> Self {
        self.ssl_client_key = Some(path.into());
        self
    }

    /// The secret that signs keyset pagination cursors (see
    /// [`crate::query::Keyset`]): processes connected with the same secret
    /// accept each other's cursors, across restarts. Without it each process
    /// signs with a random key of its own, and a cursor is refused by any
    /// other process.
    pub fn cursor_key(mut self, secret: impl AsRef<[u8]>) -> Self {
        use sha2::Digest;
        self.cursor_secret = Some(CursorSecret(sha2::Sha256::digest(secret.as_ref()).into()));
        self
    }

    /// The digest of the secret given to [`Self::cursor_key`].
    pub(crate) fn cursor_secret(&self) -> Option<[u8; 32]> {
        self.cursor_secret.as_ref().map(|s| s.0)
    }

    /// The `application_name` PostgreSQL shows in `pg_stat_activity`.
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = Some(name.into());
        self
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn pg(&self, mut o: PgConnectOptions) -> PgConnectOptions {
        // Without a cache sqlx never closes the statements it prepares: behind
        // PgBouncer they must be tracked to be closed.
        let capacity = if self.pgbouncer {
            self.statement_cache_capacity.max(64)
        } else {
            self.statement_cache_capacity
        };
        o = o.statement_cache_capacity(capacity);
        if let Some(m) = self.ssl_mode {
            o = o.ssl_mode(m.into());
        }
        if let Some(p) = &self.ssl_root_cert {
            o = o.ssl_root_cert(p);
        }
        if let Some(p) = &self.ssl_client_cert {
            o = o.ssl_client_cert(p);
        }
        if let Some(p) = &self.ssl_client_key {
            o = o.ssl_client_key(p);
        }
        if let Some(n) = &self.application_name {
            o = o.application_name(n);
        }
        o.disable_statement_logging()
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite(&self, o: SqliteConnectOptions, in_memory: bool) -> SqliteConnectOptions {
        let o = o
            .statement_cache_capacity(self.statement_cache_capacity)
            .busy_timeout(self.busy_timeout)
            .foreign_keys(true)
            .create_if_missing(true);
        let o = if in_memory {
            o
        } else {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        o.disable_statement_logging()
    }

    pub(crate) fn limits(&self, in_memory: bool) -> super::pool::Limits {
        let limits = super::pool::Limits {
            max: self.max_connections.max(1),
            min: self.min_connections,
            acquire_timeout: self.acquire_timeout,
            idle_timeout: self.idle_timeout,
            max_lifetime: self.max_lifetime,
            test_before_acquire: self.test_before_acquire,
            ping_idle_after: self.ping_idle_after,
            label: None,
            cancel: !self.pgbouncer,
        };
        if in_memory {
            // An in-memory database lives as long as one connection to it: keep one
            // open for the life of the pool, and never retire it. It is also served
            // by that one connection only: SQLite's shared-cache locks between
            // connections wait without a timeout, so a read beside an open write
            // transaction would hang; one connection makes it wait for the pool
            // instead, up to the acquire timeout.
            super::pool::Limits {
                max: 1,
                ping_idle_after: None,
                min: 1,
                idle_timeout: None,
                max_lifetime: None,
                ..limits
            }
        } else {
            limits
        }
    }
}

/// A parsed connection URL. `Display` and `Debug` show it with the password masked.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // one per pool; boxing buys nothing
pub(crate) enum Target {
    #[cfg(feature = "sqlite")]
    Sqlite {
        options: Box<SqliteConnectOptions>,
        in_memory: bool,
        shown: String,
    },
    #[cfg(feature = "postgres")]
    Postgres {
        options: Box<PgConnectOptions>,
        password: Option<String>,
        shown: String,
        /// The URL's `pgbouncer=true|false`, when given.
        pgbouncer: Option<bool>,
    },
}

impl Target {
    pub(crate) fn backend(&self) -> Backend {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite { .. } => Backend::Sqlite,
            #[cfg(feature = "postgres")]
            Self::Postgres { .. } => Backend::Postgres,
        }
    }

    pub(crate) fn shown(&self) -> &str {
        match self {
            #[cfg(feature = "sqlite")]
            Self::Sqlite { shown, .. } => shown,
            #[cfg(feature = "postgres")]
            Self::Postgres { shown, .. } => shown,
        }
    }

    /// `host:port` of a PostgreSQL server (a socket directory for a Unix
    /// socket), for connection errors; `None` for SQLite.
    pub(crate) fn address(&self) -> Option<String> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres { options, .. } => {
                Some(format!("{}:{}", options.get_host(), options.get_port()))
            }
            #[cfg(feature = "sqlite")]
            Self::Sqlite { .. } => None,
        }
    }

    pub(crate) fn password(&self) -> Option<&str> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres { password, .. } => password.as_deref(),
            #[cfg(feature = "sqlite")]
            Self::Sqlite { .. } => None,
        }
    }

    pub(crate) fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        // Schemes (and SQLite's `:memory:`) are case-insensitive, as in SQLite.
        let lowered = |scheme: &str| format!("{scheme}{}", &url[scheme.len()..]);
        match scheme.as_deref() {
            #[cfg(feature = "sqlite")]
            Some(s @ "sqlite") => Self::parse_sqlite(&memory_lowered(&lowered(s))),
            #[cfg(feature = "postgres")]
            Some(s @ ("postgres" | "postgresql")) => Self::parse_postgres(&lowered(s)),
            #[cfg(not(feature = "sqlite"))]
            Some("sqlite") => Err(missing_driver(Backend::Sqlite)),
            #[cfg(not(feature = "postgres"))]
            Some("postgres" | "postgresql") => Err(missing_driver(Backend::Postgres)),
            Some(other) if !other.is_empty() && other.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) => {
                Err(Error::Configuration(format!(
                    "unsupported database URL scheme `{other}` (expected sqlite: or postgres://)"
                )))
            }
            _ => Err(Error::Configuration(
                "malformed database URL (expected sqlite::memory:, sqlite://PATH or postgres://...)".into(),
            )),
        }
    }

    #[cfg(feature = "sqlite")]
    fn parse_sqlite(url: &str) -> Result<Self> {
        let rest = &url["sqlite:".len()..];
        let in_memory =
            rest == ":memory:" || rest.starts_with(":memory:?") || rest.contains("mode=memory");
        if rest.is_empty() || rest == "//" {
            return Err(Error::Configuration(
                "sqlite URL names no file (use sqlite::memory: or sqlite://PATH)".into(),
            ));
        }
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| Error::Configuration(format!("malformed sqlite URL: {e}")))?;
        Ok(Self::Sqlite {
            options: Box::new(options),
            in_memory,
            shown: url.to_owned(),
        })
    }

    #[cfg(feature = "postgres")]
    fn parse_postgres(url: &str) -> Result<Self> {
        let mut parsed = url::Url::parse(url)
            .map_err(|e| Error::Configuration(format!("malformed postgres URL: {e}")))?;
        let pgbouncer = take_pgbouncer_param(&mut parsed)?;
        let url = parsed.as_str();
        let password = parsed
            .password()
            .map(percent_decode)
            .filter(|p| !p.is_empty());
        let mut masked = parsed.clone();
        if parsed.password().is_some() {
            // Setting a password cannot fail on a URL that already has one.
            let _ = masked.set_password(Some("********"));
        }
        let shown = masked.to_string();
        let options = PgConnectOptions::from_str(url).map_err(|e| {
            Error::Configuration(super::driver_error::scrub(
                &format!("malformed postgres URL: {e}"),
                password.as_deref(),
            ))
        })?;
        Ok(Self::Postgres {
            options: Box::new(options),
            password,
            shown,
            pgbouncer,
        })
    }
}

/// The error for a URL whose driver this build leaves out.
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
pub(crate) fn missing_driver(backend: Backend) -> Error {
    let (name, feature) = match backend {
        Backend::Sqlite => ("SQLite", "sqlite"),
        Backend::Postgres => ("PostgreSQL", "postgres"),
    };
    Error::Configuration(format!(
        "{name} support is not compiled in: build dbridge with the `{feature}` feature"
    ))
}

/// Removes dbridge's own `pgbouncer=true|false` from a PostgreSQL URL's query
/// (sqlx does not know it) and returns its value.
fn take_pgbouncer_param(url: &mut url::Url) -> Result<Option<bool>> {
    let mut value = None;
    let mut rest = Vec::new();
    for (k, v) in url.query_pairs() {
        if k == "pgbouncer" {
            value = Some(match v.as_ref() {
                "true" | "1" | "on" => true,
                "false" | "0" | "off" => false,
                other => {
                    return Err(Error::Configuration(format!(
                        "pgbouncer must be true or false, not `{other}`"
                    )));
                }
            });
        } else {
            rest.push((k.into_owned(), v.into_owned()));
        }
    }
    if value.is_some() {
        if rest.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(rest);
        }
    }
    Ok(value)
}

/// `sqlite::MEMORY:` (any case) as `sqlite::memory:`.
fn memory_lowered(url: &str) -> String {
    const MEMORY: &str = "sqlite::memory:";
    match url.get(..MEMORY.len()) {
        Some(head) if head.eq_ignore_ascii_case(MEMORY) => {
            format!("{MEMORY}{}", &url[MEMORY.len()..])
        }
        _ => url.to_owned(),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("p={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", self.shown())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

#[cfg(test)]
#[cfg(all(feature = "sqlite", feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_memory_are_case_insensitive() {
        for url in [
            "SQLITE::MEMORY:",
            "sqlite::Memory:",
            "Sqlite::memory:?cache=shared",
        ] {
            match Target::parse(url) {
                Ok(Target::Sqlite { in_memory, .. }) => assert!(in_memory, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        match Target::parse("Sqlite://file.db") {
            Ok(Target::Sqlite {
                options, in_memory, ..
            }) => {
                assert!(!in_memory);
                assert_eq!(options.get_filename(), std::path::Path::new("file.db"));
            }
            other => panic!("{other:?}"),
        }
        for url in ["POSTGRES://u@localhost/db", "PostgreSQL://u@localhost/db"] {
            assert!(
                matches!(Target::parse(url), Ok(Target::Postgres { .. })),
                "{url}"
            );
        }
    }

    #[test]
    fn password_is_masked_in_display_and_debug() {
        let t =
            Target::parse("postgres://ada:s3cr%40t@db.example:5432/app?sslmode=require").unwrap();
        assert_eq!(
            t.to_string(),
            "postgres://ada:********@db.example:5432/app?sslmode=require"
        );
        assert!(!format!("{t:?}").contains("s3cr"));
        assert_eq!(t.password(), Some("s3cr@t"));
    }

    #[test]
    fn unknown_scheme_and_garbage_are_configuration_errors() {
        let e = Target::parse("mysql://root@localhost/x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid configuration: unsupported database URL scheme `mysql` (expected sqlite: or postgres://)"
        );
        let e = Target::parse("not a url").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Configuration);
        let e = Target::parse("postgres://u:hunter22@[bad/x").unwrap_err();
        assert!(!e.to_string().contains("hunter22"), "{e}");
    }

    #[test]
    fn bad_sslmode_is_rejected_without_the_password() {
        let e = Target::parse("postgres://u:pa55word@h/d?sslmode=bogus").unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Configuration);
        assert!(!e.to_string().contains("pa55word"), "{e}");
    }

    #[test]
    fn sqlite_forms() {
        assert!(matches!(
            Target::parse("sqlite::memory:").unwrap(),
            Target::Sqlite {
                in_memory: true,
                ..
            }
        ));
        assert!(matches!(
            Target::parse("sqlite://data.db").unwrap(),
            Target::Sqlite {
                in_memory: false,
                ..
            }
        ));
        assert!(Target::parse("sqlite:").is_err());
    }

    #[test]
    fn sslmode_names() {
        assert_eq!(
            "verify-full".parse::<SslMode>().unwrap(),
            SslMode::VerifyFull
        );
        assert!("verify_full".parse::<SslMode>().is_err());
    }
}

/// A URL for a driver this build leaves out names the feature to turn on.
#[cfg(test)]
#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
mod missing_driver_tests {
    use super::*;

    fn message(url: &str) -> String {
        match Target::parse(url) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("parsed"),
        }
    }

    #[test]
    #[cfg(not(feature = "postgres"))]
    fn postgres_url_without_the_postgres_feature() {
        for url in ["postgres://u@h/db", "PostgreSQL://u@h/db"] {
            let m = message(url);
            assert!(m.contains("PostgreSQL support is not compiled in"), "{m}");
            assert!(m.contains("`postgres` feature"), "{m}");
        }
        assert_eq!(
            Target::parse("sqlite::memory:").unwrap().backend(),
            Backend::Sqlite
        );
    }

    #[test]
    #[cfg(not(feature = "sqlite"))]
    fn sqlite_url_without_the_sqlite_feature() {
        let m = message("sqlite::memory:");
        assert!(m.contains("SQLite support is not compiled in"), "{m}");
        assert!(m.contains("`sqlite` feature"), "{m}");
        assert_eq!(
            Target::parse("postgres://u@h/db").unwrap().backend(),
            Backend::Postgres
        );
    }
}
