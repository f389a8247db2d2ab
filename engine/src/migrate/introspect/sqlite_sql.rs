//! What SQLite's pragmas do not say, read from the `CREATE TABLE` and
//! `CREATE INDEX` text kept in `sqlite_master`: constraint names, CHECK
//! conditions, generation expressions, index expressions and conditions.
//!
//! A small tokenizer (strings, quoted names, comments, parentheses) and a scan
//! of the top-level items; anything it does not recognise is skipped.

use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Word,
    Quoted,
    Str,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Tok {
    kind: Kind,
    start: usize,
    end: usize,
    text: String,
}

impl Tok {
    fn is_word(&self, w: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(w)
    }

    fn is(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    fn name(&self) -> Option<String> {
        matches!(self.kind, Kind::Word | Kind::Quoted | Kind::Str).then(|| self.text.clone())
    }
}

fn lex(sql: &str) -> Vec<Tok> {
    let b: Vec<(usize, char)> = sql.char_indices().collect();
    let at = |i: usize| b.get(i).map(|&(_, c)| c);
    let pos = |i: usize| b.get(i).map_or(sql.len(), |&(p, _)| p);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i].1;
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && at(i + 1) == Some('-') {
            while i < b.len() && b[i].1 != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            i += 2;
            while i < b.len() && !(b[i].1 == '*' && at(i + 1) == Some('/')) {
                i += 1;
            }
            i += 2;
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            let close = match c {
                '[' => ']',
                other => other,
            };
            let start = i;
            let mut text = String::new();
            i += 1;
            while i < b.len() {
                if b[i].1 == close {
                    if close != ']' && at(i + 1) == Some(close) {
                        text.push(close);
                        i += 2;
                        continue;
                    }
                    break;
                }
                text.push(b[i].1);
                i += 1;
            }
            i += 1;
            out.push(Tok {
                kind: if c == '\'' { Kind::Str } else { Kind::Quoted },
                start: pos(start),
                end: pos(i),
                text,
            });
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < b.len() && (b[i].1.is_alphanumeric() || b[i].1 == '_' || b[i].1 == '$') {
                i += 1;
            }
            out.push(Tok {
                kind: Kind::Word,
                start: pos(start),
                end: pos(i),
                text: sql[pos(start)..pos(i)].to_owned(),
            });
        } else {
            out.push(Tok {
                kind: Kind::Punct(c),
                start: pos(i),
                end: pos(i + 1),
                text: c.to_string(),
            });
            i += 1;
        }
    }
    out
}

/// The index just past the `)` matching the `(` at `open`.
fn close(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t.is('(') {
            depth += 1;
        } else if t.is(')') {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return k + 1;
            }
        }
    }
    toks.len()
}

/// Top-level comma-separated items between the `(` at `open` and its `)`.
fn items(toks: &[Tok], open: usize) -> Vec<&[Tok]> {
    let end = close(toks, open).saturating_sub(1);
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = open + 1;
    for k in open + 1..end {
        let t = &toks[k];
        if t.is('(') {
            depth += 1;
        } else if t.is(')') {
            depth = depth.saturating_sub(1);
        } else if t.is(',') && depth == 0 {
            out.push(&toks[start..k]);
            start = k + 1;
        }
    }
    if start < end {
        out.push(&toks[start..end]);
    }
    out
}

/// The source text inside the parentheses opening at `toks[open]`.
fn inner<'a>(sql: &'a str, toks: &[Tok], open: usize) -> &'a str {
    let end = close(toks, open);
    match (toks.get(open), end.checked_sub(1).and_then(|e| toks.get(e))) {
        (Some(o), Some(c)) if c.start >= o.end => sql[o.end..c.start].trim(),
        _ => "",
    }
}

fn column_names(toks: &[Tok], open: usize) -> Vec<String> {
    items(toks, open)
        .into_iter()
        .filter_map(|it| it.first().and_then(Tok::name))
        .collect()
}

/// What a `CREATE TABLE` text declares beyond the pragmas.
#[derive(Debug, Default)]
pub(super) struct TableSql {
    /// CHECK constraints: name (if any) and condition.
    pub(super) checks: Vec<(Option<String>, String)>,
    /// UNIQUE constraints: name (if any) and columns.
    pub(super) uniques: Vec<(Option<String>, Vec<String>)>,
    /// Foreign keys: name (if any), columns and referenced table.
    pub(super) foreign_keys: Vec<(Option<String>, Vec<String>, String)>,
    /// Generation expressions by column name.
    pub(super) generated: HashMap<String, String>,
    /// The primary key constraint's name.
    pub(super) primary_key_name: Option<String>,
}

pub(super) fn parse_table(sql: &str) -> TableSql {
    let toks = lex(sql);
    let mut out = TableSql::default();
    let Some(open) = toks.iter().position(|t| t.is('(')) else {
        return out;
    };
    let base = open; // offsets below are relative to the whole token list
    let list = items(&toks, open);
    for item in list {
        // Positions of this item's tokens in `toks` (for `inner`).
        let Some(first) = item.first() else { continue };
        let off = toks[base..]
            .iter()
            .position(|t| t.start == first.start)
            .map_or(0, |p| p + base);
        let at = |k: usize| off + k;
        let mut k = 0;
        let mut pending: Option<String> = None;
        let head = ["CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"];
        let column = if head.iter().any(|h| first.is_word(h)) {
            None
        } else {
            k = 1;
            first.name()
        };
        while k < item.len() {
            let t = &item[k];
            if t.is_word("CONSTRAINT") {
                pending = item.get(k + 1).and_then(Tok::name);
                k += 2;
            } else if t.is_word("CHECK") && item.get(k + 1).is_some_and(|n| n.is('(')) {
                out.checks
                    .push((pending.take(), inner(sql, &toks, at(k + 1)).to_owned()));
                k = close(&toks, at(k + 1)) - off;
            } else if t.is_word("UNIQUE") {
                if let Some(c) = &column {
                    out.uniques.push((pending.take(), vec![c.clone()]));
                    k += 1;
                } else if item.get(k + 1).is_some_and(|n| n.is('(')) {
                    out.uniques
                        .push((pending.take(), column_names(&toks, at(k + 1))));
                    k = close(&toks, at(k + 1)) - off;
                } else {
                    k += 1;
                }
            } else if t.is_word("PRIMARY") {
                out.primary_key_name = pending.take();
                k += 1;
            } else if t.is_word("FOREIGN") {
                // FOREIGN KEY (cols) REFERENCES t ...
                let Some(p) = item.iter().skip(k).position(|x| x.is('(')).map(|p| p + k) else {
                    break;
                };
                let cols = column_names(&toks, at(p));
                let after = close(&toks, at(p)) - off;
                if item.get(after).is_some_and(|x| x.is_word("REFERENCES"))
                    && let Some(table) = item.get(after + 1).and_then(Tok::name)
                {
                    out.foreign_keys.push((pending.take(), cols, table));
                }
                k = after + 2;
            } else if t.is_word("REFERENCES") {
                if let (Some(c), Some(table)) = (&column, item.get(k + 1).and_then(Tok::name)) {
                    out.foreign_keys
                        .push((pending.take(), vec![c.clone()], table));
                }
                k += 2;
            } else if t.is_word("AS") && item.get(k + 1).is_some_and(|n| n.is('(')) {
                if let Some(c) = &column {
                    out.generated
                        .insert(c.clone(), inner(sql, &toks, at(k + 1)).to_owned());
                }
                pending = None;
                k = close(&toks, at(k + 1)) - off;
            } else if t.is('(') {
                k = close(&toks, at(k)) - off;
            } else {
                k += 1;
            }
        }
    }
    out
}

/// The keys (source text of each) and the WHERE condition of a `CREATE INDEX`.
pub(super) fn parse_index(sql: &str) -> (Vec<String>, Option<String>) {
    let toks = lex(sql);
    let Some(on) = toks.iter().position(|t| t.is_word("ON")) else {
        return (Vec::new(), None);
    };
    let Some(open) = toks.iter().skip(on).position(|t| t.is('(')).map(|p| p + on) else {
        return (Vec::new(), None);
    };
    let keys = items(&toks, open)
        .into_iter()
        .filter_map(|it| {
            let (a, b) = (it.first()?, it.last()?);
            Some(sql[a.start..b.end].to_owned())
        })
        .collect();
    let after = close(&toks, open);
    let filter = toks
        .get(after)
        .filter(|t| t.is_word("WHERE"))
        .map(|t| sql[t.end..].trim().to_owned());
    (keys, filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_names_checks_and_generated_columns() {
        let t = parse_table(
            r#"CREATE TABLE "posts" ("id" INTEGER PRIMARY KEY, "n" INTEGER CHECK (n > 0),
               "slug" TEXT CONSTRAINT "uq_slug" UNIQUE, "twice" INTEGER GENERATED ALWAYS AS ("n" * 2) STORED,
               "author_id" BIGINT REFERENCES users(id), -- a comment, with (parens
               CONSTRAINT "ck_posts_x" CHECK ("n" < (10 + 1)),
               CONSTRAINT fk_a FOREIGN KEY ("author_id") REFERENCES "users" ("id") ON DELETE CASCADE,
               UNIQUE ("n", slug))"#,
        );
        assert_eq!(
            t.checks,
            vec![
                (None, "n > 0".to_owned()),
                (Some("ck_posts_x".into()), "\"n\" < (10 + 1)".to_owned())
            ]
        );
        assert_eq!(
            t.uniques,
            vec![
                (Some("uq_slug".into()), vec!["slug".to_owned()]),
                (None, vec!["n".to_owned(), "slug".to_owned()])
            ]
        );
        assert_eq!(t.generated["twice"], "\"n\" * 2");
        assert_eq!(t.foreign_keys.len(), 2);
        assert_eq!(t.foreign_keys[1].0.as_deref(), Some("fk_a"));
        assert_eq!(t.foreign_keys[0].2, "users");
    }

    #[test]
    fn reads_index_keys_and_condition() {
        let (keys, filter) =
            parse_index(r#"CREATE INDEX "ix" ON "t" ("a", lower("b")) WHERE "a" > 100"#);
        assert_eq!(keys, vec!["\"a\"".to_owned(), "lower(\"b\")".to_owned()]);
        assert_eq!(filter.as_deref(), Some("\"a\" > 100"));
    }
}
