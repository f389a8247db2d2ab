//! Errors as script values: kind, message without values, traceback, pcall.

mod common;

use common::{fails, lua_for, run};

const SETUP: &str =
    "db:execute('CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE NOT NULL)')
    db:execute('INSERT INTO u (id, email) VALUES ($1, $2)', { 1, 'secret@example.com' })";

dbridge_testkit::each_backend!(
    constraint_errors_have_a_kind_and_no_values,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, SETUP).await;
        let (kind, msg, text, tb, retryable): (String, String, String, String, bool) = run(
            &lua,
            "local ok, err = pcall(function()
             db:execute('INSERT INTO u (id, email) VALUES ($1, $2)', { 2, 'secret@example.com' })
         end)
         assert(not ok)
         return err.kind, err.message, tostring(err), err.traceback, err.retryable",
        )
        .await;
        assert_eq!(kind, "unique_violation");
        assert!(
            !msg.contains("secret"),
            "the message quotes a bound value: {msg}"
        );
        assert!(text.starts_with("unique_violation: "), "{text}");
        assert!(
            tb.contains("test:"),
            "traceback should point into the script: {tb}"
        );
        assert!(!retryable);
        let (nn, fk): (String, String) = run(
        &lua,
        "local _, a = pcall(db.execute, db, 'INSERT INTO u (id, email) VALUES ($1, $2)', { 3, dbridge.null })
         local _, b = pcall(db.execute, db, 'SELEC 1')
         return a.kind, b.kind",
    )
    .await;
        assert_eq!((nn.as_str(), fk.as_str()), ("not_null_violation", "syntax"));
    }
);

dbridge_testkit::each_backend!(bad_arguments_are_type_mismatches, |t| async move {
    let lua = lua_for(&t);
    let (a, am, b, bm): (String, String, String, String) = run(
        &lua,
        "local _, a = pcall(db.execute, db, 42)
         local _, b = pcall(db.execute, 'SELECT 1')
         return a.kind, a.message, b.kind, b.message",
    )
    .await;
    assert_eq!(a, "type_mismatch");
    assert!(am.contains("bad argument #2 to `execute`"), "{am}");
    assert_eq!(b, "type_mismatch");
    assert!(bm.contains("call it with `:`"), "{bm}");
});

dbridge_testkit::each_backend!(uncaught_errors_reach_the_host_readably, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let msg = fails(
        &lua,
        "db:execute('INSERT INTO u (id, email) VALUES ($1, $2)', { 1, 'x@example.com' })",
    )
    .await;
    assert!(msg.contains("unique_violation: "), "{msg}");
    assert!(msg.contains("stack traceback"), "{msg}");
    assert!(!msg.contains("x@example.com"), "{msg}");
});

dbridge_testkit::each_backend!(scripts_raise_typed_errors, |t| async move {
    let lua = lua_for(&t);
    let (kind, msg, handled, bad): (String, String, String, String) = run(
        &lua,
        "local ok, err = pcall(error, dbridge.error { kind = 'validation', message = 'name is required' })
         local _, h = xpcall(function() error(dbridge.error { kind = 'not_found' }) end,
             function(e) return 'handled ' .. e.kind end)
         local _, b = pcall(dbridge.error, { kind = 'oops' })
         return err.kind, err.message, h, b.kind",
    )
    .await;
    assert_eq!(
        (kind.as_str(), msg.as_str(), handled.as_str(), bad.as_str()),
        (
            "validation",
            "name is required",
            "handled not_found",
            "invalid_value"
        )
    );
});

dbridge_testkit::each_backend!(connect_errors_hide_the_password, |t| async move {
    let lua = lua_for(&t);
    let _ = &t;
    let (kind, msg): (String, String) = run(
        &lua,
        "local _, e = pcall(dbridge.connect, 'postgres://u:hunter2@127.0.0.1:1/x', { acquire_timeout = 2 })
         local _, c = pcall(dbridge.connect, 'mysql://x')
         return e.kind .. ' ' .. c.kind, e.message",
    )
    .await;
    assert!(
        kind == "connection configuration" || kind == "timeout configuration",
        "{kind}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");
});
