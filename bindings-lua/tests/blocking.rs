//! Hosts that block: the same scripts through `exec_blocking`.

use dbridge_lua::InstallOptions;

const SCRIPT: &str = "local db = dbridge.connect('sqlite::memory:')
    db:execute('CREATE TABLE t (n INTEGER)')
    db:transaction(function(tx) tx:execute('INSERT INTO t VALUES (1), (2)') end)
    for row in db:stream('SELECT n FROM t') do total = (total or 0) + row.n end
    return total";

#[test]
fn from_a_plain_thread_with_the_runtime_given_at_install() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lua = dbridge_lua::new_lua(InstallOptions::new().runtime(rt.handle().clone())).unwrap();
    let n: i64 = dbridge_lua::exec_blocking(&lua, SCRIPT, "=blocking").unwrap();
    assert_eq!(n, 3);
}

#[test]
fn from_a_plain_thread_without_a_runtime_it_says_what_is_missing() {
    let lua = dbridge_lua::new_lua(InstallOptions::new()).unwrap();
    let err = dbridge_lua::exec_blocking::<i64>(&lua, SCRIPT, "=blocking").unwrap_err();
    assert!(err.to_string().contains("InstallOptions::runtime"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_threaded_runtime() {
    let lua = dbridge_lua::new_lua(InstallOptions::new()).unwrap();
    let n: i64 = dbridge_lua::exec_blocking(&lua, SCRIPT, "=blocking").unwrap();
    assert_eq!(n, 3);
}

#[tokio::test(flavor = "current_thread")]
async fn inside_a_current_thread_runtime_it_refuses_instead_of_panicking() {
    let lua = dbridge_lua::new_lua(InstallOptions::new()).unwrap();
    let err = dbridge_lua::exec_blocking::<i64>(&lua, SCRIPT, "=blocking").unwrap_err();
    assert!(err.to_string().contains(".await"), "{err}");
    let n: i64 = dbridge_lua::eval(&lua, SCRIPT, "=async").await.unwrap();
    assert_eq!(n, 3);
}

#[test]
fn plain_exec_cannot_call_database_functions() {
    // What the docs warn about: mlua's exec() is not a coroutine.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _g = rt.enter();
    let lua = dbridge_lua::new_lua(InstallOptions::new()).unwrap();
    let err = lua.load("dbridge.sleep(0.01)").exec().unwrap_err();
    assert!(err.to_string().contains("yield"), "{err}");
}
