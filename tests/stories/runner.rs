//! Runs one story script on a fresh database and checks that it ran to its
//! last line.

use std::path::PathBuf;

use dbridge::lua::mlua::{self, Function, Lua};
use dbridge::lua::{InstallOptions, LuaDb};
use dbridge::rhai::rhai::{Dynamic, Engine, EvalAltResult, Scope};
use dbridge_engine::Backend;
use dbridge_testkit::TestDb;
use futures_util::future::try_join_all;

/// What every story returns from its last line.
const THE_END: &str = "the end";

fn story_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/stories")
}

fn source(name: &str, ext: &str) -> String {
    let path = story_dir().join(format!("{name}.{ext}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The migration files a story in one language sees: the shared `.sql`
/// files of `migrations/` and that language's scripts, copied into a
/// directory of its own (removed on drop).
struct Migrations(PathBuf);

impl Migrations {
    fn for_language(ext: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "dbridge-story-migrations-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(story_dir().join("migrations")).unwrap() {
            let path = entry.unwrap().path();
            let file_ext = path.extension().and_then(|e| e.to_str());
            if matches!(file_ext, Some(e) if e == "sql" || e == ext) {
                std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
            }
        }
        Self(dir)
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Migrations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `concurrently(n, fn)`: `fn(1)` .. `fn(n)` as coroutines of this state, all
/// at once; their first results in order.
fn concurrently(lua: &Lua) -> mlua::Result<Function> {
    lua.create_async_function(|lua, (n, f): (usize, Function)| async move {
        let calls = (1..=n).map(|i| f.call_async::<mlua::Value>(i));
        let results = try_join_all(calls).await?;
        lua.create_sequence_from(results)
    })
}

/// Runs `<name>.lua` on a fresh database of `backend`.
pub async fn lua(name: &str, backend: Backend) {
    let t = TestDb::new(backend).await;
    let lua = dbridge::lua::new_lua(InstallOptions::new()).unwrap();
    let g = lua.globals();
    g.set("db", LuaDb::new(t.db.clone())).unwrap();
    g.set("BACKEND", backend.name()).unwrap();
    let migrations = Migrations::for_language("lua");
    g.set("MIGRATIONS", migrations.path()).unwrap();
    g.set("concurrently", concurrently(&lua).unwrap()).unwrap();
    let chunk = format!("@tests/stories/{name}.lua");
    let out: String = dbridge::lua::eval(&lua, &source(name, "lua"), &chunk)
        .await
        .unwrap_or_else(|e| panic!("{name}.lua on {}: {e}", backend.name()));
    assert_eq!(out, THE_END, "{name}.lua on {}", backend.name());
}

/// `assert(ok)`, `assert(ok, message)` and `assert_eq(a, b)` for Rhai stories
/// (Rhai has no assert of its own; `throw` works as well).
fn rhai_asserts(engine: &mut Engine) {
    fn check(ok: bool, message: &str) -> Result<(), Box<EvalAltResult>> {
        if ok {
            Ok(())
        } else {
            Err(format!("assertion failed: {message}").into())
        }
    }
    engine
        .register_fn("assert", |ok: bool| check(ok, "assert(false)"))
        .register_fn("assert", |ok: bool, message: &str| check(ok, message))
        .register_fn("assert_eq", |a: Dynamic, b: Dynamic| {
            let (sa, sb) = (format!("{a:?}"), format!("{b:?}"));
            check(
                a.type_name() == b.type_name() && sa == sb,
                &format!("{sa} ({}) != {sb} ({})", a.type_name(), b.type_name()),
            )
        });
}

/// Runs `<name>.rhai` on a fresh database of `backend`.
pub async fn rhai(name: &str, backend: Backend) {
    let t = TestDb::new(backend).await;
    let mut engine = Engine::new();
    let dbridge = dbridge::rhai::register(&mut engine, dbridge::rhai::Options::new()).unwrap();
    rhai_asserts(&mut engine);
    let mut scope = Scope::new();
    scope.push("db", dbridge.database(t.db.clone()));
    scope.push_constant("BACKEND", backend.name().to_string());
    let migrations = Migrations::for_language("rhai");
    scope.push_constant("MIGRATIONS", migrations.path());
    let script = source(name, "rhai");
    let out = dbridge::rhai::spawn_blocking(move || {
        engine.eval_with_scope::<Dynamic>(&mut scope, &script)
    })
    .await
    .unwrap()
    .unwrap_or_else(|e| panic!("{name}.rhai on {}: {e}", backend.name()));
    assert_eq!(
        out.to_string(),
        THE_END,
        "{name}.rhai on {}",
        backend.name()
    );
}
