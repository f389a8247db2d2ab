//! Transactions from Lua: begin / commit / rollback, savepoints,
//! db:transaction(fn) with its error and retry rules, and rollback of
//! transactions a script drops, closes or abandons.

mod common;

use common::{fails, lua_for, run};

const SETUP: &str = "db:execute('CREATE TABLE t (n INTEGER PRIMARY KEY)')
    function count() return db:fetch_one('SELECT count(*) AS c FROM t').c end";

dbridge_testkit::each_backend!(commit_and_rollback, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (a, b, kind): (i64, i64, String) = run(
        &lua,
        "local tx = db:begin()
         tx:execute('INSERT INTO t VALUES ($1)', { 1 })
         local inside = tx:fetch_one('SELECT count(*) AS c FROM t').c
         tx:commit()
         local tx2 = db:begin()
         tx2:execute('INSERT INTO t VALUES ($1)', { 2 })
         tx2:rollback()
         local ok, err = pcall(tx2.execute, tx2, 'SELECT 1')
         return inside, count(), err.kind",
    )
    .await;
    assert_eq!((a, b, kind.as_str()), (1, 1, "invalid_state"));
});

dbridge_testkit::each_backend!(savepoints, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let got: String = run(
        &lua,
        "local tx = db:begin()
         tx:execute('INSERT INTO t VALUES (1)')
         tx:savepoint('two')
         tx:execute('INSERT INTO t VALUES (2)')
         tx:rollback_to('two')
         tx:savepoint('three')
         tx:execute('INSERT INTO t VALUES (3)')
         tx:release('three')
         local ok, err = pcall(tx.savepoint, tx, 'bad name; DROP TABLE t')
         tx:commit()
         local ns = {}
         for r in db:stream('SELECT n FROM t ORDER BY n') do ns[#ns + 1] = r.n end
         return table.concat(ns, ',') .. ' ' .. err.kind",
    )
    .await;
    assert_eq!(got, "1,3 invalid_identifier");
});

dbridge_testkit::each_backend!(transaction_fn_commits_and_returns, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (a, b, c): (i64, String, i64) = run(
        &lua,
        "local x, y = db:transaction(function(tx)
             tx:execute('INSERT INTO t VALUES (1), (2)')
             return 42, 'done'
         end)
         return x, y, count()",
    )
    .await;
    assert_eq!((a, b.as_str(), c), (42, "done", 2));
});

dbridge_testkit::each_backend!(
    transaction_fn_rolls_back_and_reraises_the_same_error,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, SETUP).await;
        let (same, n, kind, c): (bool, i64, String, i64) = run(
            &lua,
            "local mine = { reason = 'nope' }
         local ok, err = pcall(db.transaction, db, function(tx)
             tx:execute('INSERT INTO t VALUES (1)')
             error(mine)
         end)
         local ok2, dberr = pcall(db.transaction, db, function(tx)
             tx:execute('INSERT INTO t VALUES (5)')
             tx:execute('INSERT INTO t VALUES (5)')
         end)
         return rawequal(err, mine), count(), dberr.kind, dberr.retryable and 1 or 0",
        )
        .await;
        assert!(same, "the body's error value must come out unchanged");
        assert_eq!((n, kind.as_str(), c), (0, "unique_violation", 0));
    }
);

dbridge_testkit::each_backend!(transaction_fn_retries_retryable_errors, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (attempts, n, gave_up): (i64, i64, String) = run(
        &lua,
        "local attempts = 0
         db:transaction(function(tx)
             attempts = attempts + 1
             tx:execute('INSERT INTO t VALUES ($1)', { attempts })
             if attempts < 3 then
                 error(dbridge.error { kind = 'serialization_failure', message = 'try again' })
             end
         end, { retries = 5, isolation = 'serializable' })
         local tries = 0
         local ok, err = pcall(db.transaction, db, function()
             tries = tries + 1
             error(dbridge.error { kind = 'deadlock', message = 'again' })
         end, { retries = 2 })
         return attempts, count(), err.kind .. ' after ' .. tries",
    )
    .await;
    // Only the third attempt's row was committed.
    assert_eq!((attempts, n, gave_up.as_str()), (3, 1, "deadlock after 3"));
});

dbridge_testkit::each_backend!(read_only_transactions_refuse_writes, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let refused: String = run(
        &lua,
        "local ok, e = pcall(db.transaction, db, function(tx)
             tx:execute('INSERT INTO t VALUES (1)')
         end, { read_only = true })
         assert(not ok, 'a write in a read-only transaction went through')
         return e.kind .. ' ' .. count()",
    )
    .await;
    assert_eq!(refused, "invalid_state 0");
    let msg = fails(&lua, "db:begin({ isolation = 'sometimes' })").await;
    assert!(msg.contains("configuration"), "{msg}");
});

dbridge_testkit::each_backend!(dropped_transactions_roll_back, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let n: i64 = run(
        &lua,
        "do
             local tx = db:begin()
             tx:execute('INSERT INTO t VALUES (1)')
         end
         collectgarbage(); collectgarbage()
         do
             local tx <close> = db:begin()
             tx:execute('INSERT INTO t VALUES (2)')
         end
         -- both were rolled back, so their locks are gone and a new writer can
         -- insert the same keys (it would wait for the lock, then fail, if not)
         db:transaction(function(tx)
             if BACKEND == 'postgresql' then tx:execute(\"SET LOCAL lock_timeout = '5s'\") end
             tx:execute('INSERT INTO t VALUES (1), (2)')
         end)
         return count()",
    )
    .await;
    assert_eq!(n, 2);
});

dbridge_testkit::each_backend!(a_failed_call_rolls_back_what_it_left_open, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let msg = fails(
        &lua,
        "held = db:begin()
         held:execute('INSERT INTO t VALUES (1)')
         error('boom')",
    )
    .await;
    assert!(msg.contains("boom"), "{msg}");
    let (n, kind): (i64, String) = run(
        &lua,
        "local ok, err = pcall(held.execute, held, 'SELECT 1')
         return count(), err.kind",
    )
    .await;
    assert_eq!((n, kind.as_str()), (0, "invalid_state"));
    // A call that succeeds may keep its transaction open for the next one.
    run::<()>(
        &lua,
        "kept = db:begin(); kept:execute('INSERT INTO t VALUES (9)')",
    )
    .await;
    let n: i64 = run(&lua, "kept:commit(); return count()").await;
    assert_eq!(n, 1);
});

dbridge_testkit::each_backend!(a_transaction_streams_its_own_rows, |t| async move {
    let lua = lua_for(&t);
    run::<()>(&lua, SETUP).await;
    let (sum, busy): (i64, String) = run(
        &lua,
        "local tx = db:begin()
         tx:execute('INSERT INTO t VALUES (1), (2), (3)')
         local sum, busy = 0, nil
         for r in tx:stream('SELECT n FROM t') do
             sum = sum + r.n
             if not busy then
                 local ok, err = pcall(tx.execute, tx, 'SELECT 1')
                 busy = err.kind
             end
         end
         tx:rollback()
         return sum, busy",
    )
    .await;
    assert_eq!((sum, busy.as_str()), (6, "invalid_state"));
});

dbridge_testkit::each_backend!(
    a_cancelled_call_rolls_back_what_it_left_open,
    |t| async move {
        let lua = lua_for(&t);
        run::<()>(&lua, SETUP).await;
        let f: dbridge_lua::mlua::Function = run(
            &lua,
            "return function()
             local tx = db:begin()
             tx:execute('INSERT INTO t VALUES (1)')
             dbridge.sleep(30)
             tx:commit()
         end",
        )
        .await;
        // The host gives up on the call (drops its future) while the script waits.
        let r = tokio::time::timeout(
            std::time::Duration::from_millis(300),
            dbridge_lua::call::<()>(&lua, &f, ()),
        )
        .await;
        assert!(r.is_err(), "the call should still have been waiting");
        let n: i64 = run(
            &lua,
            "db:transaction(function(tx)
             if BACKEND == 'postgresql' then tx:execute(\"SET LOCAL lock_timeout = '5s'\") end
             tx:execute('INSERT INTO t VALUES (1)')
         end)
         return count()",
        )
        .await;
        assert_eq!(n, 1);
    }
);
