//! The layering rule of a binding's `src` tree, checked from its text.
//!
//! A binding keeps its files in layer folders listed bottom to top (for
//! example `convert`, `runtime`, `objects`, `install`), with only `lib.rs` at
//! the top of `src`. [`check_layers`] reads every `crate::...` path in the
//! tree (grouped `use crate::{a, b::c}` too; comments skipped) and fails when
//!
//! - a file lies outside the layer folders;
//! - a file reaches a higher layer, or a layer below `install` reaches the
//!   crate root's own items (`crate::call`);
//! - the files import each other in a circle, except inside the folders the
//!   caller names in `cycles_allowed_in`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// One file of the tree: its module path (`convert::value`, `lib`) and the
/// modules it names.
#[derive(Debug)]
struct File {
    layer: Option<usize>,
    refs: BTreeSet<String>,
}

/// Checks the tree at `src` against `layers` (bottom first); the error lists
/// every breach.
///
/// # Errors
/// A description of each breach, one a line.
pub fn check_layers(src: &Path, layers: &[&str], cycles_allowed_in: &[&str]) -> Result<(), String> {
    let mut files = BTreeMap::new();
    read_tree(src, src, layers, &mut files);
    let mut errors = Vec::new();
    for (name, f) in &files {
        if f.layer.is_none() && name != "lib" {
            errors.push(format!("{name}: outside the layer folders {layers:?}"));
        }
    }
    let top = layers.len();
    for (name, f) in &files {
        let from = f.layer.unwrap_or(top);
        for r in &f.refs {
            let to = files.get(r).and_then(|t| t.layer).unwrap_or(top);
            if r == "lib" {
                if from + 1 < top {
                    errors.push(format!("{name} -> crate root: only the top layer may"));
                }
            } else if to > from {
                errors.push(format!("{name} -> {r}: a lower layer reaches a higher one"));
            }
        }
    }
    for cycle in cycles(&files) {
        let folder = |n: &String| n.split("::").next().map(str::to_owned);
        let inside = cycle.iter().all(|n| {
            folder(n).is_some_and(|d| cycles_allowed_in.contains(&d.as_str()) && n.contains("::"))
        });
        if !inside {
            errors.push(format!("import circle: {}", cycle.join(" -> ")));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("\n"))
    }
}

fn read_tree(root: &Path, dir: &Path, layers: &[&str], out: &mut BTreeMap<String, File>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            read_tree(root, &path, layers, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(root).unwrap_or(&path).with_extension("");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let in_folder = parts.len() > 1;
        if parts.last().is_some_and(|p| p == "mod") && in_folder {
            parts.pop();
        }
        let name = parts.join("::");
        let layer = in_folder
            .then(|| layers.iter().position(|l| *l == parts[0]))
            .flatten();
        let text = fs::read_to_string(&path).unwrap_or_default();
        let refs = references(&strip_comments(&text))
            .into_iter()
            .filter(|segs| !segs.is_empty())
            .map(|segs| target(&segs, layers, out_names(root, layers)))
            .filter(|t| *t != name)
            .collect();
        out.insert(name, File { layer, refs });
    }
}

/// The module names of the tree (`convert::value`), for resolving paths.
fn out_names(root: &Path, layers: &[&str]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for l in layers {
        if let Ok(entries) = fs::read_dir(root.join(l)) {
            for e in entries.flatten() {
                let p = e.path();
                let stem = p.file_stem().map(|s| s.to_string_lossy().into_owned());
                if let Some(stem) = stem.filter(|s| s != "mod") {
                    names.insert(format!("{l}::{stem}"));
                }
            }
        }
    }
    names
}

/// The module a `crate::` path names: `convert::value` for
/// `crate::convert::value::Foo`, `lib` for a root item or a top-level module.
fn target(segs: &[String], layers: &[&str], names: BTreeSet<String>) -> String {
    match segs {
        [first, second, ..] if layers.contains(&first.as_str()) => {
            let two = format!("{first}::{second}");
            if names.contains(&two) {
                two
            } else {
                first.clone()
            }
        }
        [first] if layers.contains(&first.as_str()) => first.clone(),
        [first, ..] => first_or_lib(first),
        [] => "lib".to_owned(),
    }
}

fn first_or_lib(first: &str) -> String {
    // A top-level module (today's flat layout) is a node of its own; any
    // other name is an item of the crate root.
    if first.chars().next().is_some_and(|c| c.is_lowercase()) && !is_root_fn(first) {
        first.to_owned()
    } else {
        "lib".to_owned()
    }
}

/// Root items spelt in lower case (functions and the re-exported crate).
fn is_root_fn(name: &str) -> bool {
    matches!(
        name,
        "call"
            | "eval"
            | "exec"
            | "exec_blocking"
            | "new_lua"
            | "install"
            | "interrupt_handle"
            | "installed_handle"
            | "register"
            | "register_with"
            | "sandboxed_engine"
            | "sandboxed_engine_with"
            | "db_error"
            | "mlua"
            | "rhai"
    )
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::` path in `text`, as its first two segments; a group
/// `crate::{a::B, c}` gives one path per member.
fn references(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let trimmed = rest.trim_start();
        if let Some(group) = trimmed.strip_prefix('{') {
            for member in top_level_members(group) {
                out.push(segments(&member));
            }
        } else {
            out.push(segments(trimmed));
        }
    }
    out
}

fn top_level_members(group: &str) -> Vec<String> {
    let mut depth = 0;
    let mut cur = String::new();
    let mut members = Vec::new();
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                members.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    members.push(cur);
    members
}

fn segments(path: &str) -> Vec<String> {
    let mut segs = Vec::new();
    let mut rest = path.trim_start();
    while segs.len() < 2 {
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        segs.push(rest[..end].to_owned());
        match rest[end..].strip_prefix("::") {
            Some(r) => rest = r.trim_start(),
            None => break,
        }
    }
    segs
}

/// The import circles among the files (each strongly connected set of two or
/// more, sorted), the crate root left out since it re-exports everything.
fn cycles(files: &BTreeMap<String, File>) -> Vec<Vec<String>> {
    let nodes: Vec<&String> = files.keys().filter(|n| *n != "lib").collect();
    let reach = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(n) = stack.pop() {
            for r in files.get(&n).map(|f| &f.refs).into_iter().flatten() {
                if r != "lib" && files.contains_key(r) && seen.insert(r.clone()) {
                    stack.push(r.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reaches[n].contains(*n) {
            continue;
        }
        let scc: Vec<String> = nodes
            .iter()
            .filter(|m| reaches[n].contains(**m) && reaches[*m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        done.extend(scc.iter().cloned());
        if scc.len() > 1 {
            out.push(scc);
        }
    }
    out
}
