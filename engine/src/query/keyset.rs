//! Keyset (cursor) pagination of an ordered [`Select`], as plain data: the
//! page's select and the opaque cursors of its first and last rows. Nothing
//! here runs SQL; the caller fetches [`Keyset::select`] and hands the rows'
//! key values to [`Keyset::finish`].
//!
//! The key is the query's ORDER BY terms followed by the primary key of its
//! first FROM model (the tiebreaker that makes the order total), each term
//! with an explicit NULLS placement: NULLS LAST ascending and NULLS FIRST
//! descending unless the term says otherwise (PostgreSQL's default, applied
//! on SQLite too). A page after a cursor keeps the rows that sort strictly
//! after the cursor's row, so pages neither skip nor repeat rows when rows
//! are inserted between two requests.
//!
//! A cursor is URL-safe base64 of its key values (each with its type),
//! a fingerprint of the order (terms, directions, NULLS placement, the model)
//! and an HMAC-SHA-256 tag under the database's cursor key: a cursor edited
//! by hand, or made by another query, is refused with
//! [`Error::InvalidValue`].

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::value::{SqlType, Value};

use super::expr::Expr;
use super::select::{OrderBy, Select};

/// Bytes of the HMAC tag a cursor carries (truncated SHA-256).
const TAG_LEN: usize = 16;
/// Format version, the first byte of a cursor.
const VERSION: u8 = 1;

/// The secret that signs cursors: 32 bytes. Made from any secret with
/// [`CursorKey::from_secret`], or random for this process with
/// [`CursorKey::process`].
#[derive(Clone)]
pub struct CursorKey([u8; 32]);

impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey(<secret>)")
    }
}

impl CursorKey {
    /// A key derived from `secret` (its SHA-256): processes given the same
    /// secret accept each other's cursors.
    pub fn from_secret(secret: impl AsRef<[u8]>) -> Self {
        Self(Sha256::digest(secret.as_ref()).into())
    }

    /// A random key made once per process: cursors stay valid while the
    /// process runs and are refused by other processes.
    pub fn process() -> Self {
        static KEY: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
        Self(*KEY.get_or_init(|| {
            let mut k = [0u8; 32];
            k[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            k[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            k
        }))
    }

    /// The key a database signs its cursors with: the digest of its
    /// [`cursor_key`](crate::ConnectOptions::cursor_key) option, else the
    /// process's random key.
    pub fn of(db: &crate::Database) -> Self {
        db.options()
            .cursor_secret()
            .map_or_else(Self::process, Self)
    }

    /// HMAC-SHA-256 (RFC 2104) of `msg`, truncated to [`TAG_LEN`] bytes.
    fn tag(&self, msg: &[u8]) -> [u8; TAG_LEN] {
        let mut ipad = [0x36u8; 64];
        let mut opad = [0x5cu8; 64];
        for (i, b) in self.0.iter().enumerate() {
            ipad[i] ^= b;
            opad[i] ^= b;
        }
        let inner = Sha256::new()
            .chain_update(ipad)
            .chain_update(msg)
            .finalize();
        let outer = Sha256::new()
            .chain_update(opad)
            .chain_update(inner)
            .finalize();
        let mut out = [0u8; TAG_LEN];
        out.copy_from_slice(&outer[..TAG_LEN]);
        out
    }
}

/// Which page to fetch: the first (neither cursor), the one after a cursor,
/// or the one before it.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Rows after this cursor (a page's `next`).
    pub after: Option<String>,
    /// Rows before this cursor (a page's `prev`).
    pub before: Option<String>,
    /// Rows per page (at least 1).
    pub limit: u64,
}

/// One term of the key: an expression and its effective placement.
#[derive(Debug, Clone)]
pub struct KeyTerm {
    /// The ordered expression (a column of the first model for the tiebreaker).
    pub expr: Expr,
    /// Descending.
    pub desc: bool,
    /// NULLs sort before the other values.
    pub nulls_first: bool,
    /// Whether the expression can be NULL (false for a NOT NULL or key
    /// column: its comparisons then leave out the `IS NULL` branches that
    /// would keep an index from bounding the scan).
    pub nullable: bool,
}

/// Whether `e` can be NULL: false only for a model column declared NOT NULL
/// (or in the primary key).
fn nullable(e: &Expr) -> bool {
    e.as_column()
        .and_then(|c| c.origin.as_ref())
        .is_none_or(|o| {
            let c = &o.model.columns()[o.index];
            c.is_nullable() && !c.is_primary_key()
        })
}

/// A page request planned against a query: the select to run and how to turn
/// its rows into a page.
#[derive(Debug, Clone)]
pub struct Keyset {
    select: Select,
    terms: Vec<KeyTerm>,
    fingerprint: [u8; 8],
    key: CursorKey,
    limit: u64,
    backwards: bool,
    from_cursor: bool,
}

/// A page: its items in the query's order and the cursors around them.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The rows or instances of this page.
    pub items: Vec<T>,
    /// The cursor of the page after this one (`None` on the last page).
    pub next: Option<String>,
    /// The cursor of the page before this one (`None` on the first page).
    pub prev: Option<String>,
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidValue {
        target: "a pagination cursor".into(),
        reason: reason.into(),
    }
}

impl Keyset {
    /// Plans `req` against `select`, whose ORDER BY (plus the primary key of
    /// its first FROM model, unless already there) is the key. The select's
    /// own LIMIT and OFFSET are replaced.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] for a malformed, tampered or foreign cursor,
    /// both `after` and `before`, a zero limit, or a query without an order
    /// nor a model to order by.
    pub fn plan(select: &Select, req: &PageRequest, key: &CursorKey) -> Result<Self> {
        if req.limit == 0 {
            return Err(Error::InvalidValue {
                target: "paginate".into(),
                reason: "`limit` must be at least 1".into(),
            });
        }
        if req.after.is_some() && req.before.is_some() {
            return Err(Error::InvalidValue {
                target: "paginate".into(),
                reason: "give `after` or `before`, not both".into(),
            });
        }
        let terms = key_terms(select)?;
        let fingerprint = fingerprint(select, &terms);
        let backwards = req.before.is_some();
        let mut page = select.clone();
        page.limit = Some(req.limit.saturating_add(1));
        page.offset = None;
        page.order_by = terms
            .iter()
            .map(|t| {
                let o = OrderBy::new(t.expr.clone(), t.desc != backwards);
                if !t.nullable {
                    o
                } else if t.nulls_first != backwards {
                    o.nulls_first()
                } else {
                    o.nulls_last()
                }
            })
            .collect();
        let cursor = req.after.as_deref().or(req.before.as_deref());
        if let Some(c) = cursor {
            let values = decode(c, &fingerprint, key, terms.len())?;
            page = page.filter(beyond(&terms, &values, backwards));
        }
        Ok(Self {
            select: page,
            terms,
            fingerprint,
            key: key.clone(),
            limit: req.limit,
            backwards,
            from_cursor: cursor.is_some(),
        })
    }

    /// The select to run: the query ordered by the key, past the cursor, with
    /// a LIMIT one over the page size (the extra row tells whether there is
    /// a page beyond).
    pub fn select(&self) -> &Select {
        &self.select
    }

    /// The key's terms, in order: the values [`Keyset::finish`] asks of each
    /// row are these expressions' values.
    pub fn terms(&self) -> &[KeyTerm] {
        &self.terms
    }

    /// The columns of `model` whose values are the key, in key order, for a
    /// query whose rows are instances of `model`.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when a key term is not a column of `model`
    /// (an order by another table's column or an expression: paginate a
    /// query of columns instead).
    pub fn instance_columns(&self, model: &crate::schema::Model) -> Result<Vec<String>> {
        self.terms
            .iter()
            .map(|t| {
                t.expr
                    .as_column()
                    .and_then(|c| c.origin.as_ref())
                    .filter(|o| o.model == *model)
                    .map(|o| model.columns()[o.index].name().to_string())
                    .ok_or_else(|| Error::InvalidValue {
                        target: "paginate".into(),
                        reason: format!(
                            "a query of model `{}` pages by its own columns; an order by another                              table's column or an expression needs a query of columns that selects it",
                            model.name()
                        ),
                    })
            })
            .collect()
    }

    /// The positions of the key's values among the select's output columns,
    /// for a query whose rows are returned as rows.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] when a key term (the tiebreaking primary key
    /// included) is not an output column.
    pub fn row_positions(&self) -> Result<Vec<usize>> {
        let items = self.select.effective_items();
        let shown: Vec<String> = items.iter().map(|i| format!("{:?}", i.expr)).collect();
        self.terms
            .iter()
            .map(|t| {
                let want = format!("{:?}", t.expr);
                shown.iter().position(|s| *s == want).ok_or_else(|| Error::InvalidValue {
                    target: "paginate".into(),
                    reason: "a query of columns must select every column it is ordered by,                              and the primary key of its first model (the tiebreaker)"
                        .into(),
                })
            })
            .collect()
    }

    /// The page from the fetched rows (in the select's order), given each
    /// row's key values (one per [`Keyset::terms`]).
    ///
    /// # Errors
    /// What `key_of` returns.
    pub fn finish<T>(
        &self,
        mut items: Vec<T>,
        key_of: impl Fn(&T) -> Result<Vec<Value>>,
    ) -> Result<Page<T>> {
        let more = items.len() as u64 > self.limit;
        items.truncate(usize::try_from(self.limit).unwrap_or(usize::MAX));
        if self.backwards {
            items.reverse();
        }
        let cursor = |item: Option<&T>| -> Result<Option<String>> {
            item.map(|i| key_of(i).map(|v| self.encode(&v))).transpose()
        };
        let (has_next, has_prev) = if self.backwards {
            (self.from_cursor, more)
        } else {
            (more, self.from_cursor)
        };
        let next = if has_next {
            cursor(items.last())?
        } else {
            None
        };
        let prev = if has_prev {
            cursor(items.first())?
        } else {
            None
        };
        Ok(Page { items, next, prev })
    }

    /// The cursor of a row with these key values.
    fn encode(&self, values: &[Value]) -> String {
        let mut msg = vec![VERSION];
        msg.extend_from_slice(&self.fingerprint);
        for v in values {
            match (v.sql_type(), v.to_text()) {
                (Some(ty), Some(text)) => {
                    msg.push(1);
                    push_str(&mut msg, &ty.to_string());
                    push_str(&mut msg, &text);
                }
                _ => msg.push(0),
            }
        }
        let tag = self.key.tag(&msg);
        msg.extend_from_slice(&tag);
        base64url(&msg)
    }
}

/// The ORDER BY terms with their effective NULLS placement, and the first
/// model's primary key columns not among them.
fn key_terms(select: &Select) -> Result<Vec<KeyTerm>> {
    let mut terms: Vec<KeyTerm> = select
        .order_by
        .iter()
        .map(|o| KeyTerm {
            expr: o.expr.clone(),
            desc: o.desc,
            nulls_first: o.nulls_first.unwrap_or(o.desc),
            nullable: nullable(&o.expr),
        })
        .collect();
    let first = select.from.first();
    if let Some(table) = first
        && let Some(model) = table.as_model()
    {
        for &i in model.primary_key() {
            let name = model.columns()[i].name().as_str();
            let present = terms.iter().any(|t| {
                t.expr
                    .as_column()
                    .and_then(|c| c.origin.as_ref())
                    .is_some_and(|o| o.model == *model && o.index == i)
            });
            if !present {
                terms.push(KeyTerm {
                    expr: table.col(name)?,
                    desc: false,
                    nulls_first: false,
                    nullable: false,
                });
            }
        }
    }
    if terms.is_empty() {
        return Err(Error::InvalidValue {
            target: "paginate".into(),
            reason: "the query needs an order_by (or a model with a primary key) to paginate by"
                .into(),
        });
    }
    Ok(terms)
}

/// The order's fingerprint: the terms and the first FROM table.
fn fingerprint(select: &Select, terms: &[KeyTerm]) -> [u8; 8] {
    let mut h = Sha256::new();
    h.update(format!("{:?}", select.from.first()).as_bytes());
    for t in terms {
        h.update(format!("{:?}|{}|{};", t.expr, t.desc, t.nulls_first).as_bytes());
    }
    let mut out = [0u8; 8];
    out.copy_from_slice(&h.finalize()[..8]);
    out
}

/// Rows strictly beyond `values` in the key order (before them when
/// `backwards`): `k1 > v1 OR (k1 = v1 AND k2 > v2) OR ...`, with NULLs
/// placed as the terms say. When the first value is not NULL, a leading
/// `k1 >= v1` (or its NULL-aware form) lets an index on `k1` bound the scan.
fn beyond(terms: &[KeyTerm], values: &[Value], backwards: bool) -> Expr {
    let mut any = Vec::with_capacity(terms.len());
    for i in 0..terms.len() {
        let mut all: Vec<Expr> = (0..i).map(|j| same(&terms[j], &values[j])).collect();
        match after(&terms[i], &values[i], backwards) {
            Some(e) => all.push(e),
            None => continue,
        }
        any.push(Expr::all(all));
    }
    if any.is_empty() {
        return Expr::val(false);
    }
    let rest = Expr::any(any);
    match bound(&terms[0], &values[0], backwards) {
        Some(b) => b.and(rest),
        None => rest,
    }
}

/// `k = v`, or `k IS NULL` for a NULL value.
fn same(t: &KeyTerm, v: &Value) -> Expr {
    if v.is_null() {
        t.expr.clone().is_null()
    } else {
        t.expr.clone().eq(v.clone())
    }
}

/// The rows whose `t` sorts strictly after `v` (before when `backwards`);
/// `None` when none can.
fn after(t: &KeyTerm, v: &Value, backwards: bool) -> Option<Expr> {
    let desc = t.desc != backwards;
    let nulls_first = t.nulls_first != backwards;
    let k = t.expr.clone();
    match (v.is_null(), nulls_first) {
        // After the NULLs come the values; after the last NULL, nothing.
        (true, true) => Some(k.is_not_null()),
        (true, false) => None,
        (false, nulls_first) => {
            let cmp = if desc {
                k.clone().lt(v.clone())
            } else {
                k.clone().gt(v.clone())
            };
            Some(if nulls_first || !t.nullable {
                cmp
            } else {
                cmp.or(k.is_null())
            })
        }
    }
}

/// `k >= v` (or `<=`), NULL-aware, for a non-NULL first value.
fn bound(t: &KeyTerm, v: &Value, backwards: bool) -> Option<Expr> {
    if v.is_null() {
        return None;
    }
    let desc = t.desc != backwards;
    let nulls_first = t.nulls_first != backwards;
    let k = t.expr.clone();
    let cmp = if desc {
        k.clone().le(v.clone())
    } else {
        k.clone().ge(v.clone())
    };
    Some(if nulls_first || !t.nullable {
        cmp
    } else {
        cmp.or(k.is_null())
    })
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// Reads a cursor: checks its tag and fingerprint, returns its values.
fn decode(cursor: &str, fingerprint: &[u8; 8], key: &CursorKey, n: usize) -> Result<Vec<Value>> {
    let bytes = unbase64url(cursor).ok_or_else(|| invalid("it is not a cursor of dbridge"))?;
    if bytes.len() < 1 + 8 + TAG_LEN || bytes[0] != VERSION {
        return Err(invalid("it is not a cursor of dbridge"));
    }
    let (msg, tag) = bytes.split_at(bytes.len() - TAG_LEN);
    if !constant_time_eq(&key.tag(msg), tag) {
        return Err(invalid(
            "it was altered, or made with another cursor key (another process, or a changed `cursor_key`)",
        ));
    }
    if msg[1..9] != fingerprint[..] {
        return Err(invalid(
            "it was made by a query with another order; pass a cursor only to the query that made it",
        ));
    }
    let mut at = 9;
    let mut values = Vec::with_capacity(n);
    let short = || invalid("it is truncated");
    while at < msg.len() {
        let flag = msg[at];
        at += 1;
        if flag == 0 {
            values.push(Value::Null);
            continue;
        }
        let ty = read_str(msg, &mut at).ok_or_else(short)?;
        let text = read_str(msg, &mut at).ok_or_else(short)?;
        let ty: SqlType = ty.parse().map_err(|_| short())?;
        values.push(Value::Text(text.into()).coerce(&ty, "a pagination cursor")?);
    }
    if values.len() != n {
        return Err(invalid("it was made by a query with another order"));
    }
    Ok(values)
}

fn read_str<'a>(msg: &'a [u8], at: &mut usize) -> Option<&'a str> {
    let len = u32::from_be_bytes(msg.get(*at..*at + 4)?.try_into().ok()?) as usize;
    *at += 4;
    let s = std::str::from_utf8(msg.get(*at..*at + len)?).ok()?;
    *at += len;
    Some(s)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// URL-safe base64 without padding.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

fn unbase64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{Column, Model};
    use crate::{Backend, dialect::compile};

    fn user() -> Model {
        Model::builder("User")
            .table("users")
            .column(Column::new("id", SqlType::Int8).primary_key())
            .column(Column::new("name", "text"))
            .build()
            .unwrap()
    }

    #[test]
    fn base64url_round_trips() {
        for n in 0..40u8 {
            let bytes: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            let s = base64url(&bytes);
            assert!(
                s.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            );
            assert_eq!(unbase64url(&s).unwrap(), bytes);
        }
    }

    #[test]
    fn first_page_orders_by_the_key_with_the_tiebreaker() {
        let u = user();
        let q = Select::from(&u)
            .column(u.col("name").unwrap())
            .order_by(u.col("name").unwrap().desc());
        let req = PageRequest {
            limit: 10,
            ..Default::default()
        };
        let k = Keyset::plan(&q, &req, &CursorKey::from_secret("s")).unwrap();
        assert_eq!(
            compile(k.select(), Backend::Sqlite).unwrap().sql(),
            r#"SELECT "users"."name" FROM "users" ORDER BY "users"."name" DESC NULLS FIRST, "users"."id" LIMIT $1"#
        );
    }

    #[test]
    fn cursors_are_signed_and_bound_to_the_order() {
        let u = user();
        let q = Select::from(&u).order_by(u.col("name").unwrap());
        let key = CursorKey::from_secret("s");
        let req = PageRequest {
            limit: 1,
            ..Default::default()
        };
        let k = Keyset::plan(&q, &req, &key).unwrap();
        let page = k
            .finish(vec![1, 2], |_| Ok(vec![Value::from("Ada"), Value::Int8(7)]))
            .unwrap();
        let next = page.next.unwrap();
        assert!(page.prev.is_none());
        let after = PageRequest {
            after: Some(next.clone()),
            limit: 1,
            ..Default::default()
        };
        let k2 = Keyset::plan(&q, &after, &key).unwrap();
        let sql = compile(k2.select(), Backend::Postgres).unwrap();
        assert!(
            sql.sql()
                .contains(r#"WHERE ("users"."name" >= $1 OR "users"."name" IS NULL)"#),
            "{}",
            sql.sql()
        );
        // Another key, another order, a flipped character: refused.
        let other = Keyset::plan(&q, &after, &CursorKey::from_secret("t")).unwrap_err();
        assert!(other.to_string().contains("altered"), "{other}");
        let desc = Select::from(&u).order_by(u.col("name").unwrap().desc());
        let e = Keyset::plan(&desc, &after, &key).unwrap_err();
        assert!(e.to_string().contains("another order"), "{e}");
        let mut bad = next.into_bytes();
        bad[5] = if bad[5] == b'A' { b'B' } else { b'A' };
        let tampered = PageRequest {
            after: Some(String::from_utf8(bad).unwrap()),
            limit: 1,
            ..Default::default()
        };
        let e = Keyset::plan(&q, &tampered, &key).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::InvalidValue);
        let junk = PageRequest {
            after: Some("not a cursor!".into()),
            limit: 1,
            ..Default::default()
        };
        assert!(Keyset::plan(&q, &junk, &key).is_err());
    }
}
