//! Option maps written by scripts (`#{ max_connections: 5 }`) read into the
//! engine's option types. Every key is checked: an unknown or misspelt one is a
//! `configuration` error naming it, never silently ignored.

use std::time::Duration;

use dbridge_engine::session::SessionOptions;
use dbridge_engine::{ConnectOptions, IsolationLevel, SqlType, SslMode, TransactionOptions};
use rhai::{Dynamic, EvalAltResult, Map};

use crate::convert::error::configuration;

type Res<T> = Result<T, Box<EvalAltResult>>;

fn int(key: &str, v: &Dynamic) -> Res<i64> {
    v.as_int()
        .map_err(|t| configuration(format!("option `{key}` must be an integer, got {t}")))
}

fn count<T: TryFrom<i64>>(key: &str, v: &Dynamic) -> Res<T> {
    let i = int(key, v)?;
    T::try_from(i).map_err(|_| configuration(format!("option `{key}` is out of range")))
}

fn boolean(key: &str, v: &Dynamic) -> Res<bool> {
    v.as_bool()
        .map_err(|t| configuration(format!("option `{key}` must be a bool, got {t}")))
}

fn string(key: &str, v: &Dynamic) -> Res<String> {
    v.clone()
        .into_string()
        .map_err(|t| configuration(format!("option `{key}` must be a string, got {t}")))
}

/// Seconds, as an integer or a float (`acquire_timeout: 2.5`).
pub(crate) fn seconds(key: &str, v: &Dynamic) -> Res<Duration> {
    let secs = match (v.as_int(), v.as_float()) {
        (Ok(i), _) => i as f64,
        (_, Ok(f)) => f,
        _ => {
            return Err(configuration(format!(
                "option `{key}` must be a number of seconds, got {}",
                v.type_name()
            )));
        }
    };
    Duration::try_from_secs_f64(secs)
        .map_err(|_| configuration(format!("option `{key}` must be a non-negative duration")))
}

/// Seconds, or `()` for "never".
fn optional_seconds(key: &str, v: &Dynamic) -> Res<Option<Duration>> {
    if v.is_unit() {
        Ok(None)
    } else {
        seconds(key, v).map(Some)
    }
}

/// `dbridge::connect(url, #{ ... })` options.
pub(crate) fn connect_options(map: &Map) -> Res<ConnectOptions> {
    let mut o = ConnectOptions::new();
    for (key, v) in map {
        let k = key.as_str();
        o = match k {
            "max_connections" => o.max_connections(count(k, v)?),
            "min_connections" => o.min_connections(count(k, v)?),
            "acquire_timeout" => o.acquire_timeout(seconds(k, v)?),
            "idle_timeout" => o.idle_timeout(optional_seconds(k, v)?),
            "max_lifetime" => o.max_lifetime(optional_seconds(k, v)?),
            "statement_cache_capacity" => o.statement_cache_capacity(count(k, v)?),
            "test_before_acquire" => o.test_before_acquire(boolean(k, v)?),
            "busy_timeout" => o.busy_timeout(seconds(k, v)?),
            "ssl_mode" => o.ssl_mode(
                string(k, v)?
                    .parse::<SslMode>()
                    .map_err(crate::convert::error::to_rhai)?,
            ),
            "ssl_root_cert" => o.ssl_root_cert(string(k, v)?),
            "ssl_client_cert" => o.ssl_client_cert(string(k, v)?),
            "ssl_client_key" => o.ssl_client_key(string(k, v)?),
            "application_name" => o.application_name(string(k, v)?),
            "cursor_key" => o.cursor_key(string(k, v)?),
            "pgbouncer" => o.pgbouncer(boolean(k, v)?),
            "ping_idle_after" => o.ping_idle_after(optional_seconds(k, v)?),
            "replica_retry_after" => o.replica_retry_after(seconds(k, v)?),
            "max_replica_lag" => o.max_replica_lag(optional_seconds(k, v)?),
            _ => return Err(configuration(format!("unknown connect option `{k}`"))),
        };
    }
    Ok(o)
}

fn isolation(v: &Dynamic) -> Res<IsolationLevel> {
    Ok(match string("isolation", v)?.as_str() {
        "read_uncommitted" => IsolationLevel::ReadUncommitted,
        "read_committed" => IsolationLevel::ReadCommitted,
        "repeatable_read" => IsolationLevel::RepeatableRead,
        "serializable" => IsolationLevel::Serializable,
        other => {
            return Err(configuration(format!(
                "unknown isolation level `{other}` (expected read_uncommitted, \
                 read_committed, repeatable_read or serializable)"
            )));
        }
    })
}

/// `db.begin(#{ ... })` / `db.transaction(#{ ... }, |tx| ...)` options.
pub(crate) fn transaction_options(map: &Map) -> Res<TransactionOptions> {
    let mut o = TransactionOptions::new();
    for (key, v) in map {
        let k = key.as_str();
        o = match k {
            "isolation" => o.isolation(isolation(v)?),
            "read_only" => o.read_only(boolean(k, v)?),
            "retries" => o.max_retries(count(k, v)?),
            _ => return Err(configuration(format!("unknown transaction option `{k}`"))),
        };
    }
    Ok(o)
}

/// `db.session(#{ ... })` options: `autoflush`, `expire_on_commit`,
/// `strict_loading` (a lazy load that would run SQL is an error), and the
/// transaction options of `db.begin` (`isolation`, `read_only`, `retries`).
pub(crate) fn session_options(map: &Map) -> Res<SessionOptions> {
    let mut o = SessionOptions::new();
    let mut tx = Map::new();
    for (key, v) in map {
        let k = key.as_str();
        o = match k {
            "autoflush" => o.autoflush(boolean(k, v)?),
            "expire_on_commit" => o.expire_on_commit(boolean(k, v)?),
            "strict_loading" => o.strict_loading(boolean(k, v)?),
            "isolation" | "read_only" | "retries" => {
                tx.insert(key.clone(), v.clone());
                o
            }
            _ => {
                return Err(configuration(format!(
                    "unknown session option `{k}` (expected autoflush, expire_on_commit, \
                     strict_loading, isolation, read_only or retries)"
                )));
            }
        };
    }
    Ok(o.transaction(transaction_options(&tx)?))
}

/// Options of the query functions: `#{ types: #{ column: "type name" } }`,
/// the types to read the named result columns as.
pub(crate) fn result_types(map: &Map) -> Res<Vec<(String, SqlType)>> {
    let mut wanted = Vec::new();
    for (key, v) in map {
        match key.as_str() {
            "types" => {
                let types = v.as_map_ref().map_err(|t| {
                    configuration(format!(
                        "option `types` must map column names to type names, got {t}"
                    ))
                })?;
                for (col, ty) in types.iter() {
                    let ty = string("types", ty)?
                        .parse::<SqlType>()
                        .map_err(crate::convert::error::to_rhai)?;
                    wanted.push((col.to_string(), ty));
                }
            }
            other => return Err(configuration(format!("unknown query option `{other}`"))),
        }
    }
    Ok(wanted)
}
