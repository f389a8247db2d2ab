//! `q.paginate(#{ ... })`: a page of a query. Keyset pagination (`after` /
//! `before` cursors, the engine's [`Keyset`]) by default; offset pagination
//! with a total count beside it when the options give a `page` number.

use dbridge_engine::Error;
use dbridge_engine::query::{CursorKey, Keyset, PageRequest};
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, NativeCallContext};

use crate::convert::error::to_rhai;
use crate::convert::value::row_to_map;
use crate::objects::query::Query;

type Res<T> = Result<T, Box<EvalAltResult>>;

fn bad(reason: impl Into<String>) -> Box<EvalAltResult> {
    to_rhai(Error::InvalidValue {
        target: "paginate".into(),
        reason: reason.into(),
    })
}

/// The options: the page request and, for offset pages, the page number.
fn options(map: &Map) -> Res<(PageRequest, Option<u64>)> {
    let mut req = PageRequest {
        limit: 50,
        ..PageRequest::default()
    };
    let mut page = None;
    for (k, v) in map {
        let cursor = || -> Res<Option<String>> {
            if v.is_unit() {
                return Ok(None);
            }
            v.clone()
                .into_string()
                .map(Some)
                .map_err(|_| bad(format!("`{k}` must be a cursor string")))
        };
        let count = || -> Res<u64> {
            v.as_int()
                .ok()
                .and_then(|i| u64::try_from(i).ok())
                .filter(|&i| i >= 1)
                .ok_or_else(|| bad(format!("`{k}` must be an integer of at least 1")))
        };
        match k.as_str() {
            "after" => req.after = cursor()?,
            "before" => req.before = cursor()?,
            "limit" => req.limit = count()?,
            "page" => page = Some(count()?),
            other => return Err(bad(format!("unknown option `{other}`"))),
        }
    }
    if page.is_some() && (req.after.is_some() || req.before.is_some()) {
        return Err(bad("give a `page` number or a cursor, not both"));
    }
    Ok((req, page))
}

fn cursor(c: Option<String>) -> Dynamic {
    c.map_or(Dynamic::UNIT, Dynamic::from)
}

fn keyset(ctx: &NativeCallContext, q: &Query, req: PageRequest) -> Res<Map> {
    let key = CursorKey::of(q.db().database());
    let plan = Keyset::plan(&q.select, &req, &key).map_err(to_rhai)?;
    let mut out = Map::new();
    let (items, next, prev): (Array, _, _) = match &q.model {
        Some(m) => {
            let cols = plan.instance_columns(m).map_err(to_rhai)?;
            let found = q.instances(ctx, m, plan.select().clone())?;
            let page = plan
                .finish(found, |o| cols.iter().map(|c| o.0.get(c)).collect())
                .map_err(to_rhai)?;
            let items = page.items.into_iter().map(Dynamic::from).collect();
            (items, page.next, page.prev)
        }
        None => {
            let pos = plan.row_positions().map_err(to_rhai)?;
            let rows = q.rows(ctx, plan.select().clone())?;
            let page = plan
                .finish(rows, |r| {
                    Ok(pos.iter().map(|&p| r.values()[p].clone()).collect())
                })
                .map_err(to_rhai)?;
            let items = page
                .items
                .into_iter()
                .map(|r| row_to_map(r, &[]).map(Dynamic::from_map))
                .collect::<Res<_>>()?;
            (items, page.next, page.prev)
        }
    };
    out.insert("items".into(), Dynamic::from_array(items));
    out.insert("next".into(), cursor(next));
    out.insert("prev".into(), cursor(prev));
    Ok(out)
}

fn offset(ctx: &NativeCallContext, q: &Query, page: u64, limit: u64) -> Res<Map> {
    let total = q.count(ctx)?;
    let select = q
        .select
        .clone()
        .limit(limit)
        .offset((page - 1).saturating_mul(limit));
    let items: Array = match &q.model {
        Some(m) => q
            .instances(ctx, m, select)?
            .into_iter()
            .map(Dynamic::from)
            .collect(),
        None => q
            .rows(ctx, select)?
            .into_iter()
            .map(|r| row_to_map(r, &[]).map(Dynamic::from_map))
            .collect::<Res<_>>()?,
    };
    let pages = (total.max(0) as u64).div_ceil(limit);
    let mut out = Map::new();
    out.insert("items".into(), Dynamic::from_array(items));
    out.insert("total".into(), Dynamic::from(total));
    out.insert("page".into(), Dynamic::from(page as rhai::INT));
    out.insert("pages".into(), Dynamic::from(pages as rhai::INT));
    Ok(out)
}

/// `q.paginate(#{ after: cursor, limit: n })` or `#{ page: n, limit: n }`.
fn paginate(ctx: NativeCallContext, q: &mut Query, opts: Map) -> Res<Map> {
    let (req, page) = options(&opts)?;
    match page {
        Some(p) => offset(&ctx, q, p, req.limit),
        None => keyset(&ctx, q, req),
    }
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("paginate", paginate);
}
