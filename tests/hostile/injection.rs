//! Campaign: injection payloads at every script entry point that takes a
//! value or a name, from Lua and Rhai, on SQLite and PostgreSQL.
//!
//! The corpus ([`corpus`]) holds SQL breaks (quotes, comments, semicolons,
//! `$1`, dollar quotes, backslashes, `E'..'`, `U&".."`, `[x]`, backticks),
//! NUL and control bytes, Unicode oddities (bidi overrides, zero-width and
//! compatibility characters), a 64 KiB string, invalid UTF-8 (a Lua string of
//! raw bytes, a Rhai `Blob`), identifiers with quotes, dots and spaces,
//! reserved words, numbers as strings, NaN and infinities, extreme integers,
//! and a nested table / map where a scalar is expected. The entry points are
//! in `injection_lua.lua` and `injection_rhai.rhai`, one function each.
//!
//! A case holds when the call either succeeds and stores the payload as given
//! (read back and compared byte for byte; a name as its NFKC form, which is
//! the documented normalisation of identifiers) or fails with a dbridge error
//! of a kind that says the input was refused; and, after it, the `victims`
//! table still has exactly its rows and the schema holds exactly the
//! relations it held before (no table, index or view created or dropped).
//! A crash, a panic, an error that is not a dbridge error, an error of a kind
//! that means the payload reached the server as SQL (`syntax`, `database`),
//! or a changed catalog is a break. Counts per entry point are printed; the
//! test fails listing every case that did not hold, except those listed in
//! [`KNOWN_BREAKS`], which must still break.
//!
//! The REPL is not driven here: its `.describe` takes the name of a model
//! global, `.import` and `.schema` look their table up in the introspected
//! catalog or bind it as a parameter (`repl/src/import.rs`, `repl/src/meta.rs`),
//! and `repl/tests/cli.rs` covers the commands.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use dbridge::lua::mlua::{self, Lua};
use dbridge::lua::{InstallOptions, LuaDb};
use dbridge::rhai::rhai::{self, Dynamic, Engine, EvalAltResult, Map, Scope};
use dbridge_engine::{Backend, Database, Ident, Value};
use dbridge_testkit::TestDb;

use crate::support::BACKENDS;

/// One payload.
#[derive(Clone, Debug)]
enum P {
    /// A UTF-8 string.
    Str(String),
    /// Bytes that are not UTF-8 (a Lua string, a Rhai `Blob`).
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    /// A nested table / map where a scalar is expected.
    Nested,
}

struct Payload {
    label: String,
    p: P,
}

fn corpus() -> Vec<Payload> {
    let mut out = Vec::new();
    let mut s = |label: &str, v: &str| {
        out.push(Payload {
            label: label.to_owned(),
            p: P::Str(v.to_owned()),
        })
    };
    s("quote-drop", "'; DROP TABLE victims; --");
    s("dquote-or", "\" OR 1=1 --");
    s("quote-or", "' OR '1'='1");
    s("semicolon", "victims; DROP TABLE victims");
    s("dquote-drop", "x\"; DROP TABLE victims; --");
    s(
        "ident-injection",
        "name\" FROM victims; DROP TABLE victims; --",
    );
    s("placeholder", "$1");
    s("placeholder-2", "$2; DROP TABLE victims");
    s("dollar-dollar", "$$");
    s("dollar-body", "$$; DROP TABLE victims; $$");
    s("dollar-tag", "$tag$ DROP TABLE victims $tag$");
    s("backslash", "\\");
    s("backslash-quote", "\\'; DROP TABLE victims; --");
    s("pg-escape", "E'\\\\''; DROP TABLE victims; --");
    s("pg-unicode-ident", "U&\"d\\0061t\" ; DROP TABLE victims");
    s("pg-unicode-str", "U&'\\0027'; DROP TABLE victims; --");
    s("sqlite-brackets", "[victims]; DROP TABLE [victims]");
    s("backticks", "`victims`; DROP TABLE `victims`");
    s("comment-block", "x /* */ ; DROP TABLE victims /*");
    s("comment-line", "x -- ");
    s("nul", "a\0b'; DROP TABLE victims; --");
    s("nul-only", "\0");
    s("newline", "a\nb\r\n; DROP TABLE victims");
    s("bidi-override", "\u{202e}smitciv\u{202c}");
    s("zero-width", "vic\u{200b}tims");
    s("bom", "\u{feff}name");
    s("fullwidth", "ｕｓｅｒｓ");
    s("ligature", "ﬁle");
    s("combining", "e\u{301}te\u{301}");
    s("emoji", "😀'; --");
    s("dotless-i", "ıd");
    s("dot", "victims.name");
    s("space", "a b");
    s("empty", "");
    s("dash", "-");
    s("reserved-select", "select");
    s("reserved-order", "order");
    s("reserved-table", "table");
    s("plain-ident", "_ok_name$1");
    s("leading-digit", "1abc");
    s("ident-63", &"a".repeat(63));
    s("ident-64", &"b".repeat(64));
    s("like-wildcards", "%' OR 1=1 --");
    s("like-all", "%");
    s("num-str", "42");
    s("neg-zero-str", "-0");
    s("huge-num-str", "99999999999999999999999999999");
    s("float-str", "1e308");
    s("nan-str", "NaN");
    s("inf-str", "-Infinity");
    s("hex-str", "0x10");
    s(
        "long-64k",
        &format!("{}'; DROP TABLE victims; --", "A".repeat(64 * 1024)),
    );
    for (label, b) in [
        (
            "invalid-utf8",
            b"\xff\xfe'; DROP TABLE victims; --".to_vec(),
        ),
        ("overlong-quote", b"\xc0\xa7 OR 1=1 --".to_vec()),
    ] {
        out.push(Payload {
            label: label.into(),
            p: P::Bytes(b),
        });
    }
    for (label, i) in [
        ("i64-max", i64::MAX),
        ("i64-min", i64::MIN),
        ("minus-one", -1),
    ] {
        out.push(Payload {
            label: label.into(),
            p: P::Int(i),
        });
    }
    for (label, f) in [
        ("nan", f64::NAN),
        ("inf", f64::INFINITY),
        ("neg-inf", f64::NEG_INFINITY),
        ("neg-zero", -0.0),
    ] {
        out.push(Payload {
            label: label.into(),
            p: P::Float(f),
        });
    }
    out.push(Payload {
        label: "nested".into(),
        p: P::Nested,
    });
    out
}

/// What a successful call must have returned.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// The payload itself, read back from the database (or the error value).
    Echo,
    /// Zero rows matched: the payload was compared as a value.
    Zero,
    /// The name as the catalog (or the row) holds it: the payload's NFKC form.
    Name,
    /// Nothing to compare: the victims and catalog checks say it all.
    Any,
    /// A path to a file the migrator wrote: inside its directory.
    Path,
}

/// (entry, expectation, in Lua, in Rhai).
const ENTRIES: &[(&str, Expect, bool, bool)] = &[
    ("sql.execute", Expect::Echo, true, true),
    ("sql.fetch_all", Expect::Echo, true, true),
    ("sql.fetch_one", Expect::Zero, true, true),
    ("sql.fetch_optional", Expect::Echo, true, true),
    ("sql.stream", Expect::Echo, true, true),
    ("tx.execute", Expect::Echo, true, true),
    ("orm.insert", Expect::Echo, true, true),
    ("orm.upsert", Expect::Echo, true, true),
    ("orm.update", Expect::Echo, true, true),
    ("orm.delete", Expect::Zero, true, true),
    ("orm.insert_key", Expect::Any, true, true),
    ("orm.update_key", Expect::Any, true, true),
    ("orm.upsert_conflict", Expect::Any, true, true),
    ("orm.returning", Expect::Any, true, true),
    ("session.add", Expect::Echo, true, true),
    ("inst.assign", Expect::Echo, true, true),
    ("inst.ctor_key", Expect::Any, true, true),
    ("inst.set_name", Expect::Any, true, true),
    ("inst.get_name", Expect::Any, true, true),
    ("session.get", Expect::Any, true, true),
    ("query.where", Expect::Zero, true, true),
    ("query.filter_by", Expect::Zero, true, true),
    ("query.in_", Expect::Zero, true, true),
    ("query.like", Expect::Any, true, true),
    ("query.limit", Expect::Any, true, true),
    ("query.offset", Expect::Any, true, true),
    ("query.order_by", Expect::Any, true, true),
    ("query.join", Expect::Any, true, true),
    ("query.c", Expect::Any, true, true),
    ("query.index", Expect::Any, true, true),
    ("query.col", Expect::Any, false, true),
    ("query.func", Expect::Any, true, true),
    ("query.label", Expect::Name, true, true),
    ("query.cast", Expect::Any, false, true),
    ("query.selectinload", Expect::Any, true, true),
    ("model.table", Expect::Name, true, true),
    ("model.name", Expect::Any, true, true),
    ("model.column", Expect::Name, true, true),
    ("model.type", Expect::Any, true, true),
    ("model.default", Expect::Echo, true, true),
    ("model.check", Expect::Any, false, true),
    ("model.check_column", Expect::Any, false, true),
    ("model.index_name", Expect::Name, true, false),
    ("model.uniques", Expect::Any, true, false),
    ("model.references", Expect::Any, true, true),
    ("model.version", Expect::Any, true, false),
    ("tx.savepoint", Expect::Any, true, true),
    ("tx.options", Expect::Any, true, true),
    ("connect.options", Expect::Any, true, true),
    ("error.kind", Expect::Echo, true, true),
    ("error.message", Expect::Echo, true, true),
    ("migrator.history_table", Expect::Any, true, true),
    ("migrator.schema", Expect::Any, true, true),
    ("migrator.new", Expect::Path, true, false),
];

/// Error kinds that mean the payload reached the server as SQL text or broke
/// the connection: never a sensible answer to a hostile value or name.
const BAD_KINDS: &[&str] = &[
    "syntax",
    "database",
    "connection",
    "connection_lost",
    "ambiguous_commit",
    "timeout",
    "busy",
    "deadlock",
];

/// Rhai entry points whose only overload takes an integer.
const RHAI_TYPED: &[&str] = &["query.limit", "query.offset"];

/// Entry points being changed elsewhere: only the victims, the catalog and
/// "a dbridge error, not a crash" are checked (`q:order_by("name")` bound
/// the string as a value; issue 16).
const ANY_KIND: &[&str] = &["query.order_by"];

/// Cases that break today: (language, backend or `*`, entry, payload label).
/// The test checks that each still breaks, so that a fix makes it fail and
/// the line is removed. None changes the catalog or the victims.
const KNOWN_BREAKS: &[(&str, &str, &str, &str)] = &[
    // None today. An entry is (language, backend or "*", entry point,
    // payload), for a case that does not hold yet; the test checks it still
    // breaks, so that a fix is noticed and the entry removed.
];

fn known(k: &(&str, &str, &str, &str), lang: &str, backend: Backend) -> bool {
    k.0 == lang && (k.1 == "*" || k.1 == backend.name())
}

/// The outcome of one call, in terms both languages share.
enum Outcome {
    Ok(Back),
    /// A dbridge error of this kind (or Rhai refusing the argument's type
    /// before dbridge saw it: `rhai_type`).
    Refused(String),
    /// Anything else: a crash, a panic, a script error that is not dbridge's.
    Broken(String),
}

/// What a successful call returned.
#[derive(Debug)]
enum Back {
    Nil,
    Bytes(Vec<u8>),
    Int(i64),
    Float(f64),
    #[allow(dead_code)] // shown through Debug
    Other(String),
}

fn num_text_eq(s: &str, x: f64) -> bool {
    let t = s.trim().to_ascii_lowercase();
    let parsed = match t.as_str() {
        "nan" => Some(f64::NAN),
        "inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => t.parse::<f64>().ok(),
    };
    parsed.is_some_and(|y| (x.is_nan() && y.is_nan()) || x == y)
}

/// Whether `back` is `p`, stored verbatim.
fn echoes(p: &P, back: &Back) -> bool {
    match (p, back) {
        (P::Str(s), Back::Bytes(b)) => s.as_bytes() == b.as_slice(),
        (P::Bytes(s), Back::Bytes(b)) => s == b,
        (P::Int(i), Back::Int(j)) => i == j,
        (P::Int(i), Back::Float(f)) => *i as f64 == *f,
        (P::Int(i), Back::Bytes(b)) => b == i.to_string().as_bytes(),
        (P::Float(x), Back::Float(y)) => (x.is_nan() && y.is_nan()) || x == y,
        (P::Float(x), Back::Int(i)) => *x == *i as f64,
        (P::Float(x), Back::Bytes(b)) => std::str::from_utf8(b).is_ok_and(|s| num_text_eq(s, *x)),
        (P::Nested, _) => true,
        _ => false,
    }
}

/// The name dbridge should have given `p`: its validated, NFKC form. Lua
/// turns a number into a string where one is expected (NaN is `nan`, an
/// infinity `inf` or `-inf`), so those two are names too.
fn expected_name(p: &P, backend: Backend) -> Option<String> {
    let text = match p {
        P::Str(s) => s.clone(),
        P::Float(f) if f.is_nan() => "nan".to_owned(),
        P::Float(f) if *f == f64::INFINITY => "inf".to_owned(),
        _ => return None,
    };
    Ident::for_backend(&text, backend)
        .ok()
        .map(|i| i.as_str().to_owned())
}

/// Whether an error of `kind` is a sensible refusal of `p` at `entry`.
fn sensible(entry: &str, kind: &str, p: &P, backend: Backend) -> bool {
    match kind {
        // Rhai dispatches on argument types: a value of a type no overload
        // takes never reaches dbridge. A string where only an integer is
        // taken (`limit`, `offset`) is that too.
        "rhai_type" => !matches!(p, P::Str(_)) || RHAI_TYPED.contains(&entry),
        // A valid name that names nothing: the server says so (42703, "no
        // such function"). An invalid one must never get that far.
        "syntax" | "undefined_table" | "undefined_column" => expected_name(p, backend).is_some(),
        // The server refusing the startup packet (a NUL byte, 64 KiB):
        // nothing ran.
        "connection" => entry == "connect.options",
        // SQLite's "LIKE or GLOB pattern too complex" for a bound pattern.
        "database" => entry == "query.like",
        other => !BAD_KINDS.contains(&other),
    }
}

/// The relations of the test schema and the victims' rows.
async fn snapshot(db: &Database) -> (Vec<String>, String) {
    let catalog = match db.backend() {
        Backend::Sqlite => "SELECT type || ' ' || name AS n FROM sqlite_master ORDER BY 1",
        Backend::Postgres => {
            "SELECT c.relkind::text || ' ' || c.relname::text AS n FROM pg_class c \
             JOIN pg_namespace s ON s.oid = c.relnamespace \
             WHERE s.nspname = current_schema() ORDER BY 1"
        }
    };
    let rows = db.fetch_all(catalog, &[]).await.expect("read the catalog");
    let names = rows
        .iter()
        .map(|r| format!("{:?}", r.values()[0]))
        .collect();
    let victims = match db
        .fetch_all("SELECT id, name FROM victims ORDER BY id", &[])
        .await
    {
        Ok(rows) => rows
            .iter()
            .map(|r| format!("{:?}", r.values()))
            .collect::<Vec<_>>()
            .join(";"),
        Err(e) => format!("victims unreadable: {e}"),
    };
    (names, victims)
}

const VICTIMS: &[(i64, &str)] = &[
    (1, "alice"),
    (2, "bob'); --"),
    (3, "robert\"; DROP TABLE victims"),
];

/// Catalog look-ups the entries use: a table by name, a column by table and
/// name, the (one, not primary key) index of a table.
fn catalog_sql(backend: Backend) -> (&'static str, &'static str, &'static str) {
    match backend {
        Backend::Sqlite => (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = $1",
            "SELECT name FROM pragma_table_info($1) WHERE name = $2",
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1 \
             AND sql IS NOT NULL",
        ),
        Backend::Postgres => (
            "SELECT tablename::text AS name FROM pg_tables \
             WHERE schemaname = current_schema() AND tablename = $1",
            "SELECT column_name::text AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
            "SELECT i.relname::text AS name FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND t.relname = $1 AND NOT x.indisprimary",
        ),
    }
}

/// The database of one run: victims with their rows, loot for stored values,
/// and a migrations directory (empty) inside a directory of its own.
struct Fixture {
    t: TestDb,
    root: PathBuf,
    migdir: PathBuf,
    before: (Vec<String>, String),
}

async fn fixture(backend: Backend, lang: &str) -> Fixture {
    let t = TestDb::new(backend).await;
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "bytea",
    };
    for sql in [
        "CREATE TABLE victims (id integer PRIMARY KEY, name text NOT NULL)".to_owned(),
        format!("CREATE TABLE loot (id bigint PRIMARY KEY, v text, b {blob})"),
    ] {
        t.db.execute(&sql, &[]).await.unwrap();
    }
    for (id, name) in VICTIMS {
        t.db.execute(
            "INSERT INTO victims (id, name) VALUES ($1, $2)",
            &[Value::Int8(*id), Value::Text((*name).to_owned())],
        )
        .await
        .unwrap();
    }
    let root = std::env::temp_dir().join(format!(
        "dbridge-inject-{lang}-{}-{}",
        backend.name(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&root);
    let migdir = root.join("migrations");
    std::fs::create_dir_all(&migdir).unwrap();
    let before = snapshot(&t.db).await;
    assert!(before.1.contains("alice"), "{}", before.1);
    Fixture {
        t,
        root,
        migdir,
        before,
    }
}

/// The tally of one language on one backend.
#[derive(Default)]
struct Tally {
    /// entry -> (tried, held)
    counts: BTreeMap<&'static str, (usize, usize)>,
    /// (entry, payload label, what went wrong)
    breaks: Vec<(&'static str, String, String)>,
}

impl Fixture {
    /// Judges one case: the outcome, then the victims and the catalog (after
    /// the cleanup some entries need). Returns what went wrong, if anything.
    async fn judge(
        &self,
        entry: &'static str,
        expect: Expect,
        payload: &Payload,
        outcome: Outcome,
    ) -> Option<String> {
        let backend = self.t.backend();
        let mut wrong = match outcome {
            Outcome::Broken(e) => Some(format!("broke: {}", clip(&e))),
            Outcome::Refused(kind) => {
                if ANY_KIND.contains(&entry) || sensible(entry, &kind, &payload.p, backend) {
                    None
                } else {
                    Some(format!("refused with kind `{kind}`"))
                }
            }
            Outcome::Ok(back) => self.check_back(entry, expect, payload, &back, backend),
        };
        if entry == "migrator.history_table" {
            // The history table dbridge made, under the name it was given.
            if let Some(name) = expected_name(&payload.p, Backend::Postgres) {
                let quoted = Ident::new(&name).unwrap().quoted();
                let _ = self
                    .t
                    .db
                    .execute(&format!("DROP TABLE IF EXISTS {quoted}"), &[])
                    .await;
            }
        }
        let after = snapshot(&self.t.db).await;
        if after.1 != self.before.1 {
            wrong = Some(format!("victims changed: {}", clip(&after.1)));
        } else if after.0 != self.before.0 {
            let added: Vec<_> = after
                .0
                .iter()
                .filter(|n| !self.before.0.contains(n))
                .collect();
            let gone: Vec<_> = self
                .before
                .0
                .iter()
                .filter(|n| !after.0.contains(n))
                .collect();
            wrong = Some(format!("catalog changed: added {added:?}, gone {gone:?}"));
        }
        if let Ok(stray) = std::fs::read_dir(&self.root) {
            let stray: Vec<_> = stray
                .flatten()
                .map(|e| e.file_name())
                .filter(|n| n != "migrations")
                .collect();
            if !stray.is_empty() {
                wrong = Some(format!(
                    "files written outside the migrations directory: {stray:?}"
                ));
            }
        }
        for f in std::fs::read_dir(&self.migdir)
            .into_iter()
            .flatten()
            .flatten()
        {
            let _ = std::fs::remove_file(f.path());
        }
        for f in std::fs::read_dir(&self.root)
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.file_name() != "migrations" {
                let _ = std::fs::remove_dir_all(f.path());
                let _ = std::fs::remove_file(f.path());
            }
        }
        wrong
    }

    fn check_back(
        &self,
        entry: &str,
        expect: Expect,
        payload: &Payload,
        back: &Back,
        backend: Backend,
    ) -> Option<String> {
        let shown = || clip(&format!("{back:?}"));
        match expect {
            Expect::Any => None,
            Expect::Echo => {
                (!echoes(&payload.p, back)).then(|| format!("stored differently: got {}", shown()))
            }
            Expect::Zero => match back {
                Back::Int(0) => None,
                _ => Some(format!("matched rows: {}", shown())),
            },
            Expect::Name => {
                let want = expected_name(&payload.p, backend);
                match (want, back) {
                    (Some(w), Back::Bytes(b)) if w.as_bytes() == b.as_slice() => None,
                    (None, _) => Some(format!("accepted a name it should refuse: {}", shown())),
                    _ => Some(format!("{entry}: the name became {}", shown())),
                }
            }
            Expect::Path => match back {
                Back::Bytes(b) => {
                    let path = PathBuf::from(String::from_utf8_lossy(b).into_owned());
                    let inside = path.parent() == Some(self.migdir.as_path())
                        && path.is_file()
                        && !path
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
                    (!inside).then(|| format!("wrote {}", path.display()))
                }
                _ => Some(format!("returned {}", shown())),
            },
        }
    }
}

fn clip(s: &str) -> String {
    if s.len() <= 200 {
        return s.to_owned();
    }
    let mut end = 200;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

fn tally_line(lang: &str, backend: Backend, tally: &Tally) -> String {
    let (tried, held) = tally
        .counts
        .values()
        .fold((0, 0), |(t, h), (a, b)| (t + a, h + b));
    let mut line = format!(
        "injection {lang} on {}: {tried} tried, {held} held, {} entry points\n",
        backend.name(),
        tally.counts.len()
    );
    for (entry, (t, h)) in &tally.counts {
        let _ = writeln!(line, "  {entry:<24} {t:>3} tried {h:>3} held");
    }
    line
}

/// Fails with every break not in [`KNOWN_BREAKS`], and every known break
/// that no longer breaks.
fn verdict(lang: &str, backend: Backend, tally: &Tally) -> Vec<String> {
    let mut problems = Vec::new();
    for (entry, label, what) in &tally.breaks {
        let known = KNOWN_BREAKS
            .iter()
            .any(|k| known(k, lang, backend) && k.2 == *entry && k.3 == label.as_str());
        if !known {
            problems.push(format!(
                "{lang} on {}: {entry} <- {label}: {what}",
                backend.name()
            ));
        }
    }
    for k in KNOWN_BREAKS {
        if known(k, lang, backend) {
            let still = tally
                .breaks
                .iter()
                .any(|(e, l, _)| *e == k.2 && l.as_str() == k.3);
            if !still {
                problems.push(format!(
                    "{lang} on {}: {} <- {} holds now: remove it from KNOWN_BREAKS",
                    backend.name(),
                    k.2,
                    k.3
                ));
            }
        }
    }
    problems
}

// ---------------------------------------------------------------- Lua

fn lua_payload(lua: &Lua, p: &P) -> mlua::Value {
    match p {
        P::Str(s) => mlua::Value::String(lua.create_string(s).unwrap()),
        P::Bytes(b) => mlua::Value::String(lua.create_string(b).unwrap()),
        P::Int(i) => mlua::Value::Integer(*i),
        P::Float(f) => mlua::Value::Number(*f),
        P::Nested => lua
            .load(
                "return { a = { b = { 1, 2, \"'; DROP TABLE victims; --\" } }, [\"x'; --\"] = 1 }",
            )
            .eval()
            .unwrap(),
    }
}

fn lua_back(v: &mlua::Value) -> Back {
    match v {
        mlua::Value::Nil => Back::Nil,
        mlua::Value::String(s) => Back::Bytes(s.as_bytes().to_vec()),
        mlua::Value::Integer(i) => Back::Int(*i),
        mlua::Value::Number(f) => Back::Float(*f),
        other => Back::Other(format!("{other:?}")),
    }
}

async fn lua_campaign(backend: Backend) -> Tally {
    let fx = fixture(backend, "lua").await;
    let lua = dbridge::lua::new_lua(InstallOptions::new()).unwrap();
    let g = lua.globals();
    g.set("db", LuaDb::new(fx.t.db.clone())).unwrap();
    g.set("URL", fx.t.url.as_str()).unwrap();
    g.set("MIGDIR", fx.migdir.to_string_lossy().into_owned())
        .unwrap();
    let (name, cols, index) = catalog_sql(backend);
    g.set("CATNAME", name).unwrap();
    g.set("CATCOLS", cols).unwrap();
    g.set("CATINDEX", index).unwrap();
    dbridge::lua::exec(
        &lua,
        r#"
        Victim = db:model { name = "Victim", table = "victims", columns = {
            { "id", "integer", primary_key = true }, { "name", "text", nullable = false } } }
        Loot = db:model { name = "Loot", table = "loot", columns = {
            { "id", "bigint", primary_key = true }, { "v", "text" }, { "b", "bytea" } } }
        "#,
        "=models",
    )
    .await
    .unwrap();
    dbridge::lua::exec(&lua, include_str!("injection_lua.lua"), "=injection_lua")
        .await
        .unwrap();
    let run: mlua::Function = g.get("RUN").unwrap();
    let mut tally = Tally::default();
    for payload in corpus() {
        for &(entry, expect, in_lua, _) in ENTRIES {
            if !in_lua {
                continue;
            }
            let fresh = LuaDb::new(fx.t.db.clone());
            let args = (entry, fresh, lua_payload(&lua, &payload.p));
            type Ran = (bool, mlua::Value, Option<String>, Option<String>, bool);
            let result = dbridge::lua::call::<Ran>(&lua, &run, args).await;
            let outcome = match result {
                Ok((true, _, _, _, true)) => continue, // not expressible in Lua
                Ok((true, v, _, _, _)) => Outcome::Ok(lua_back(&v)),
                Ok((false, _, Some(kind), _, _)) => Outcome::Refused(kind),
                Ok((false, _, None, msg, _)) => Outcome::Broken(msg.unwrap_or_default()),
                Err(e) => Outcome::Broken(format!("the call failed: {e}")),
            };
            record(
                &mut tally,
                entry,
                &payload,
                fx.judge(entry, expect, &payload, outcome).await,
            );
        }
    }
    let _ = std::fs::remove_dir_all(&fx.root);
    tally
}

fn record(tally: &mut Tally, entry: &'static str, payload: &Payload, wrong: Option<String>) {
    let c = tally.counts.entry(entry).or_default();
    c.0 += 1;
    match wrong {
        None => c.1 += 1,
        Some(w) => tally.breaks.push((entry, payload.label.clone(), w)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lua_injection_campaign() {
    let mut problems = Vec::new();
    for backend in BACKENDS {
        let tally = lua_campaign(backend).await;
        println!("{}", tally_line("lua", backend, &tally));
        problems.extend(verdict("lua", backend, &tally));
    }
    assert!(
        problems.is_empty(),
        "{} cases did not hold:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------- Rhai

fn rhai_payload(p: &P) -> Dynamic {
    match p {
        P::Str(s) => Dynamic::from(s.clone()),
        P::Bytes(b) => Dynamic::from_blob(b.clone()),
        P::Int(i) => Dynamic::from_int(*i),
        P::Float(f) => Dynamic::from_float(*f),
        P::Nested => {
            let mut inner = Map::new();
            inner.insert(
                "b".into(),
                Dynamic::from_array(vec![
                    Dynamic::from_int(1),
                    Dynamic::from("'; DROP TABLE victims; --".to_string()),
                ]),
            );
            let mut m = Map::new();
            m.insert("a".into(), Dynamic::from_map(inner));
            m.insert("x'; --".into(), Dynamic::from_int(1));
            Dynamic::from_map(m)
        }
    }
}

fn rhai_back(v: Dynamic) -> Back {
    if v.is_unit() {
        Back::Nil
    } else if v.is_string() {
        Back::Bytes(v.into_immutable_string().unwrap().as_bytes().to_vec())
    } else if v.is_blob() {
        Back::Bytes(v.cast::<rhai::Blob>())
    } else if v.is_int() {
        Back::Int(v.as_int().unwrap())
    } else if v.is_float() {
        Back::Float(v.as_float().unwrap())
    } else {
        Back::Other(format!("{v:?}"))
    }
}

/// A dbridge error's kind, through the function calls that carried it.
fn rhai_outcome(e: &EvalAltResult) -> Outcome {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => rhai_outcome(inner),
        EvalAltResult::ErrorRuntime(v, _) => {
            let kind = v
                .read_lock::<Map>()
                .and_then(|m| m.get("kind").and_then(|k| k.clone().into_string().ok()));
            match kind {
                Some(k) => Outcome::Refused(k),
                None => Outcome::Broken(format!("thrown: {v}")),
            }
        }
        EvalAltResult::ErrorFunctionNotFound(..) | EvalAltResult::ErrorMismatchDataType(..) => {
            Outcome::Refused("rhai_type".into())
        }
        other => Outcome::Broken(other.to_string()),
    }
}

async fn rhai_campaign(backend: Backend) -> Tally {
    let fx = fixture(backend, "rhai").await;
    let mut engine = Engine::new();
    let dbridge =
        dbridge::rhai::register(&mut engine, dbridge::rhai::Options::sandboxed()).unwrap();
    let ast = engine.compile(include_str!("injection_rhai.rhai")).unwrap();
    let db = Dynamic::from(dbridge.database(fx.t.db.clone()));
    let mut scope = Scope::new();
    scope.push("db", db.clone());
    let models: Map = engine
        .eval_with_scope(
            &mut scope,
            r#"
            #{
                Victim: db.model(#{ name: "Victim", table: "victims", columns: [
                    ["id", "integer", #{ primary_key: true }], ["name", "text", #{ nullable: false }]] }),
                Loot: db.model(#{ name: "Loot", table: "loot", columns: [
                    ["id", "bigint", #{ primary_key: true }], ["v", "text"], ["b", "bytea"]] }),
            }
            "#,
        )
        .unwrap();
    let (name, cols, index) = catalog_sql(backend);
    let mut ctx = models;
    ctx.insert("db".into(), db.clone());
    ctx.insert("url".into(), Dynamic::from(fx.t.url.clone()));
    ctx.insert(
        "migdir".into(),
        Dynamic::from(fx.migdir.to_string_lossy().into_owned()),
    );
    ctx.insert("catname".into(), Dynamic::from(name.to_owned()));
    ctx.insert("catcols".into(), Dynamic::from(cols.to_owned()));
    ctx.insert("catindex".into(), Dynamic::from(index.to_owned()));
    let handle = tokio::runtime::Handle::current();
    let fx = std::sync::Arc::new(fx);
    let fx2 = fx.clone();
    let tally = dbridge::rhai::spawn_blocking(move || {
        let fx = fx2;
        let mut tally = Tally::default();
        let mut n: i64 = 1000;
        for payload in corpus() {
            for &(entry, expect, _, in_rhai) in ENTRIES {
                if !in_rhai {
                    continue;
                }
                n += 1;
                let p = rhai_payload(&payload.p);
                let mut c = ctx.clone();
                c.insert("p".into(), p.clone());
                let fresh = Dynamic::from(dbridge.database(fx.t.db.clone()));
                let func = format!("e_{}", entry.replace('.', "_"));
                let mut scope = Scope::new();
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    engine.call_fn::<Dynamic>(
                        &mut scope,
                        &ast,
                        &func,
                        (db.clone(), fresh, p, n, Dynamic::from_map(c)),
                    )
                }));
                let outcome = match result {
                    Ok(Ok(v)) => Outcome::Ok(rhai_back(v)),
                    Ok(Err(e)) => rhai_outcome(&e),
                    Err(_) => Outcome::Broken("a Rust panic".into()),
                };
                let wrong = handle.block_on(fx.judge(entry, expect, &payload, outcome));
                record(&mut tally, entry, &payload, wrong);
            }
        }
        tally
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&fx.root);
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rhai_injection_campaign() {
    let mut problems = Vec::new();
    for backend in BACKENDS {
        let tally = rhai_campaign(backend).await;
        println!("{}", tally_line("rhai", backend, &tally));
        problems.extend(verdict("rhai", backend, &tally));
    }
    assert!(
        problems.is_empty(),
        "{} cases did not hold:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// One statement per call: a second statement after a `;` never runs from
/// Lua's `execute`, `fetch_all` or `fetch_optional` (before the escape merge,
/// SQLite ran `SELECT 1; DROP TABLE victims` whole).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_statement_per_call() {
    for backend in BACKENDS {
        let fx = fixture(backend, "one-statement").await;
        let lua = dbridge::lua::new_lua(InstallOptions::new()).unwrap();
        lua.globals()
            .set("db", LuaDb::new(fx.t.db.clone()))
            .unwrap();
        let kinds: String = dbridge::lua::eval(
            &lua,
            r#"
            local out = {}
            for _, sql in ipairs({ "SELECT 1 AS one; DROP TABLE victims",
                                   "DELETE FROM loot; DROP TABLE victims" }) do
              for _, f in ipairs({ db.execute, db.fetch_all, db.fetch_optional }) do
                local ok, e = pcall(f, db, sql)
                out[#out + 1] = ok and "ran" or tostring(e.kind)
              end
            end
            return table.concat(out, " ")
            "#,
            "=one_statement",
        )
        .await
        .unwrap();
        let after = snapshot(&fx.t.db).await;
        assert_eq!(after, fx.before, "{}: {kinds}", backend.name());
        assert!(!kinds.contains("ran"), "{}: {kinds}", backend.name());
        let _ = std::fs::remove_dir_all(&fx.root);
    }
}
