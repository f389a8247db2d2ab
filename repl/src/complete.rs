//! Reading the expression that ends the input, for completion that follows
//! types through calls (`db:query(track):wh<Tab>`).
//!
//! Pure text work: where the chain starts, its steps, and which calls are
//! safe to evaluate to see what they return. The languages
//! ([`crate::lang::lua`], [`crate::lang::rhai`]) decide what each step's
//! value offers.

/// Where the chain of names, `.`/`:` lookups and calls that ends `head`
/// starts (a byte index): `x = db:query(track):wh` gives the index of `db`.
pub fn chain_start(head: &str) -> usize {
    let mut depth = 0usize;
    for (i, c) in head.char_indices().rev() {
        match c {
            ')' | ']' | '}' => depth += 1,
            '(' | '[' | '{' => {
                if depth == 0 {
                    return i + c.len_utf8();
                }
                depth -= 1;
            }
            _ if depth > 0 => {}
            c if c.is_alphanumeric() || c == '_' || c == '.' || c == ':' => {}
            _ => return i + c.len_utf8(),
        }
    }
    0
}

/// The chain being completed: the receiver (empty for a bare name), the
/// separator before the word, and the word typed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target<'a> {
    /// The expression whose members are wanted (`db:query(track)`).
    pub receiver: &'a str,
    /// `.` or `:`; `None` for a global.
    pub sep: Option<char>,
    /// What was typed of the member's name.
    pub prefix: &'a str,
}

/// The completion target at the end of `head`.
pub fn target(head: &str) -> Target<'_> {
    let chain = &head[chain_start(head)..];
    let word_start = chain
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let prefix = &chain[word_start..];
    let before = &chain[..word_start];
    match before.chars().next_back() {
        Some(sep @ ('.' | ':')) => Target {
            receiver: &before[..before.len() - 1],
            sep: Some(sep),
            prefix,
        },
        _ => Target {
            receiver: "",
            sep: None,
            prefix,
        },
    }
}

/// One step of a chain: `.name`, `:name(args)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    /// `.` or `:` (`None` for the base name).
    pub sep: Option<char>,
    /// The name.
    pub name: &'a str,
    /// The arguments' text, for a call.
    pub args: Option<&'a str>,
}

/// The steps of a chain (`db:query(track):where(x)` gives `db`,
/// `:query(track)`, `:where(x)`); `None` if it is not a plain chain.
pub fn steps(chain: &str) -> Option<Vec<Step<'_>>> {
    let b = chain.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let sep = match b[i] {
            b'.' | b':' if !out.is_empty() => {
                i += 1;
                Some(b[i - 1] as char)
            }
            _ if out.is_empty() => None,
            _ => return None,
        };
        let start = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
            i += 1;
        }
        if i == start {
            return None;
        }
        let name = &chain[start..i];
        let mut args = None;
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && matches!(b[i], b'(' | b'{' | b'"' | b'\'') {
            let end = group_end(chain, i)?;
            args = Some(&chain[i..end]);
            i = end;
        }
        out.push(Step { sep, name, args });
    }
    (!out.is_empty()).then_some(out)
}

/// The end (exclusive) of the bracketed group or string starting at `at`.
fn group_end(s: &str, at: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut quote: Option<u8> = None;
    let mut i = at;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(_) if c == b'\\' => i += 1,
            Some(q) if c == q => {
                quote = None;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            Some(_) => {}
            None => match c {
                b'"' | b'\'' => quote = Some(c),
                b'(' | b'{' | b'[' => depth += 1,
                b')' | b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    if depth == 0 {
                        return Some(i + 1);
                    }
                }
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Methods that build a value without touching the database: a chain of
/// these (and of plain lookups) may be evaluated to see what it returns.
pub const PURE: &[&str] = &[
    "query",
    "where",
    "filter",
    "filter_by",
    "order_by",
    "limit",
    "offset",
    "join",
    "outerjoin",
    "group_by",
    "having",
    "distinct",
    "options",
    "select",
    "select_from",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "like",
    "ilike",
    "in_",
    "not_in",
    "between",
    "is_null",
    "is_not_null",
    "asc",
    "desc",
    "label",
    "c",
    "and_",
    "or_",
    "not_",
    "selectinload",
    "joinedload",
    "subqueryload",
    "lazyload",
    "raiseload",
    "noload",
    "with_for_update",
    "count_over",
];

/// Calls whose result is a script object of a known class, whatever they
/// are called on: completion offers that class's methods after them
/// (`db:session():` a session's) without running them.
pub const RETURNS: &[(&str, &str)] = &[
    ("session", "Session"),
    ("begin", "Transaction"),
    ("connect", "Database"),
    ("primary", "Database"),
    ("migrator", "Migrator"),
    ("query", "Query"),
    ("update", "Write"),
    ("delete", "Write"),
];

/// Methods whose result is one instance of the chain's model (they query,
/// so they are never evaluated for completion).
pub const ONE_INSTANCE: &[&str] = &["get", "first", "one", "one_or_none", "fetch_instance"];

/// Whether every call in `text` (any `name(` or `name{` or `name"`) is a
/// [`PURE`] method: then evaluating it runs no statement.
pub fn is_pure(text: &str) -> bool {
    let b = text.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &c) in b.iter().enumerate() {
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            b'"' | b'\'' | b'(' | b'{' => {
                let name_end = text[..i].trim_end().len();
                let name_start = text[..name_end]
                    .rfind(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                    .map_or(0, |j| j + 1);
                let name = &text[name_start..name_end];
                let called = !name.is_empty()
                    && text[..name_start]
                        .chars()
                        .next_back()
                        .is_some_and(|p| p == '.' || p == ':');
                if called && !PURE.contains(&name) {
                    return false;
                }
                if matches!(c, b'"' | b'\'') {
                    quote = Some(c);
                } else if name_start == name_end {
                    // A bare parenthesis or table constructor: fine.
                } else if !called {
                    // A global function call (`f(x)`): may do anything.
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_chain_and_the_target() {
        let head = "x = db:query(track):where(track.id:eq(1)):wh";
        assert_eq!(
            &head[chain_start(head)..],
            "db:query(track):where(track.id:eq(1)):wh"
        );
        let t = target(head);
        assert_eq!(t.receiver, "db:query(track):where(track.id:eq(1))");
        assert_eq!(t.sep, Some(':'));
        assert_eq!(t.prefix, "wh");
        assert_eq!(target("print(tr").receiver, "");
        assert_eq!(target("print(tr").prefix, "tr");
        assert_eq!(target("track.").sep, Some('.'));
    }

    #[test]
    fn splits_steps() {
        let s = steps("db:query(track):where(x.y)").unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[1].name, "query");
        assert_eq!(s[1].args, Some("(track)"));
        assert_eq!(s[2].sep, Some(':'));
        let s = steps("track:get(1).name").unwrap();
        assert_eq!(
            s[2],
            Step {
                sep: Some('.'),
                name: "name",
                args: None
            }
        );
    }

    #[test]
    fn only_builder_chains_are_pure() {
        assert!(is_pure("db:query(track):where(track.name:like('A%'))"));
        assert!(is_pure("track.name"));
        assert!(!is_pure("db:execute('DELETE FROM t')"));
        assert!(!is_pure("db:query(track):where(f(1))"));
        assert!(!is_pure("track:get(1)"));
    }
}
