//! Issue #19, 4: completion and highlighting that know the objects.

use rexpect::session::PtySession;

use crate::both;
use crate::pty::{Start, fixture, leave, prompt, run, spawn, temp_dir, type_in};

/// Types `text`, presses Tab, types `rest` and Enter; returns the output.
fn complete_and_run(p: &mut PtySession, text: &str, rest: &str) -> String {
    type_in(p, text);
    type_in(p, "\t");
    type_in(p, rest);
    run(p, "")
}

both!(lua_completion_follows_types_through_calls, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::default());
    // After a call: a query builder offers its methods.
    let out = complete_and_run(
        &mut p,
        "return 'n=' .. db:query(track):wh",
        "(track.id:eq(7)):count()",
    );
    assert!(out.contains("n=1"), "{out}");
    // After calls that are not evaluated (they would touch the database):
    // the methods of what they return.
    let out = complete_and_run(&mut p, "return db:session():in_tr", "() == false");
    assert!(out.contains("true"), "{out}");
    let out = complete_and_run(
        &mut p,
        "return 'm=' .. db:primary():query(track):wh",
        "(track.id:eq(7)):count()",
    );
    assert!(out.contains("m=1"), "{out}");
    // A model's columns after `.`...
    let out = complete_and_run(&mut p, "return track.millisec", " ~= nil");
    assert!(out.contains("true"), "{out}");
    // ... and an instance's columns after a call that loads one.
    let out = complete_and_run(&mut p, "return track:get(7).millisec", "");
    assert!(out.contains("7000"), "{out}");
    // List mode: a second Tab lists every candidate.
    type_in(&mut p, "db:fetch_");
    type_in(&mut p, "\t");
    type_in(&mut p, "\t");
    p.exp_string("fetch_optional").unwrap();
    p.send_control('u').unwrap();
    run(&mut p, "");
    // `track:` offers methods, not columns.
    type_in(&mut p, "track:");
    type_in(&mut p, "\t");
    type_in(&mut p, "\t");
    let listed = p.exp_string("describe").unwrap();
    assert!(!listed.contains("composer"), "{listed}");
    p.send_control('u').unwrap();
    run(&mut p, "");
    // File names after `.read`.
    let dir = temp_dir("files");
    std::fs::write(
        dir.join("script_to_read.lua"),
        "print('from ' .. 'the file')",
    )
    .unwrap();
    let out = complete_and_run(&mut p, &format!(".read {}/script_to_", dir.display()), "");
    assert!(out.contains("from the file"), "{out}");
    leave(p);
});

both!(rhai_completion_follows_types_through_calls, |backend| {
    let f = fixture(backend);
    let mut p = spawn(&f.db.url, Start::rhai());
    let out = complete_and_run(
        &mut p,
        "\"n=\" + db.query(track).wh",
        "(track.id.eq(7)).count()",
    );
    assert!(out.contains("n=1"), "{out}");
    let out = complete_and_run(&mut p, "`c=${db.session().has_ch", "()}`");
    assert!(out.contains("c=false"), "{out}");
    let out = complete_and_run(&mut p, "db.fetch_a", "(\"SELECT 'x' || 'y' AS s\")");
    assert!(out.contains("xy"), "{out}");
    leave(p);
});

both!(highlighting_and_hints_from_history, |backend| {
    let f = fixture(backend);
    let mut p = spawn(
        &f.db.url,
        Start {
            env: vec![("NO_COLOR", String::new())],
            ..Start::default()
        },
    );
    // Keywords and strings are coloured as they are typed.
    type_in(&mut p, "local s = 'abc'");
    p.exp_string("\x1b[1;34mlocal\x1b[0m").unwrap();
    p.exp_string("\x1b[32m'abc'\x1b[0m").unwrap();
    p.send_line("").unwrap();
    prompt(&mut p);
    // A line typed before is offered as a (dim) hint.
    p.send_line("print('remembered ' .. 1)").unwrap();
    p.exp_string("remembered 1").unwrap();
    type_in(&mut p, "print('remem");
    p.exp_string("\x1b[2mbered ' .. 1)\x1b[0m").unwrap();
    p.send_control('u').unwrap();
    p.send_line("").unwrap();
    prompt(&mut p);
    leave(p);
});
