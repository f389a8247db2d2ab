//! Runs every ```lua block of docs/lua.md, in order, in one Lua state (as a
//! REPL session would), so that the documentation cannot rot.

use dbridge_lua::InstallOptions;

fn lua_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```lua" => current = Some((i + 1, String::new())),
            Some(_) if line.trim_start() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed ```lua block");
    blocks
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_lua_example_in_the_docs_runs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/lua.md");
    let doc = std::fs::read_to_string(path).expect("read docs/lua.md");
    let blocks = lua_blocks(&doc);
    assert!(blocks.len() >= 20, "only {} lua blocks found", blocks.len());
    let lua = dbridge_lua::new_lua(InstallOptions::new()).expect("lua");
    for (line, src) in blocks {
        let name = format!("=docs/lua.md:{line}");
        if let Err(e) = dbridge_lua::exec(&lua, &src, &name).await {
            panic!("the example at docs/lua.md line {line} failed:\n{src}\n{e}");
        }
    }
}
