//! Loader options from Lua: `dbridge.selectinload("posts")`,
//! `dbridge.joinedload("posts.comments")`, `dbridge.defer("body")`,
//! `dbridge.undefer_group("texts")`,
//! `dbridge.load_only("id", "name"):under("posts")`..., wrapping the engine's
//! [`Load`], for `q:options(...)` and `s:get(Model, pk, { ... })`.

use dbridge_engine::session::Load;
use mlua::{Lua, MetaMethod, UserData, UserDataMethods, Value as LuaValue, Variadic};

use crate::convert::error::{LuaDbError, Raw, raw};

/// Registry key of the loader option class's `__index` table (set by orm.lua).
pub(crate) const LOAD_CLASS: &str = "dbridge.Load";

/// A loader option as a script holds it.
#[derive(Debug, Clone)]
pub(crate) struct LuaLoad {
    pub(crate) load: Load,
    /// How it was made, for `tostring`.
    label: String,
}

impl UserData for LuaLoad {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        crate::runtime::class::add_class_fields(fields, LOAD_CLASS, "dbridge.load");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("dbridge.{}", this.label))
        });
    }
}

/// A relationship path or column name argument: a string, or a relationship
/// attribute (`User.posts` is `"posts"`).
fn path(v: &LuaValue, func: &str, n: usize) -> Result<String, LuaDbError> {
    match v {
        LuaValue::String(s) => Ok(s.to_string_lossy()),
        other => crate::objects::relation::attr_of(other)
            .map(|a| a.name)
            .ok_or_else(|| LuaDbError::argument(func, n, "a relationship path (a string)", other)),
    }
}

/// `raw.load(name, args...)`: the loader option constructors.
pub(crate) fn new(lua: &Lua, (name, args): (String, Variadic<LuaValue>)) -> Raw {
    let r = (|| {
        let first = || path(args.first().unwrap_or(&LuaValue::Nil), &name, 1);
        let load = match name.as_str() {
            "load_only" => {
                let cols = args
                    .iter()
                    .enumerate()
                    .map(|(i, v)| path(v, &name, i + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                Load::load_only(cols)
            }
            "selectinload" => Load::selectin(first()?),
            "selectin_polymorphic" => Load::selectin_polymorphic(),
            "joinedload" => Load::joined(first()?),
            "subqueryload" => Load::subquery(first()?),
            "lazyload" => Load::lazy(first()?),
            "noload" => Load::noload(first()?),
            "raiseload" => Load::raise(first()?),
            "contains_eager" => Load::contains_eager(first()?),
            "defer" => Load::defer(first()?),
            "undefer" => Load::undefer(first()?),
            "undefer_group" => Load::undefer_group(first()?),
            other => {
                return Err(LuaDbError::new(
                    dbridge_engine::ErrorKind::InvalidState,
                    format!("unknown loader option `{other}`"),
                ));
            }
        };
        let shown: Vec<String> = args
            .iter()
            .map(|v| match v {
                LuaValue::String(s) => format!("{:?}", s.to_string_lossy()),
                other => crate::objects::relation::attr_of(other)
                    .map(|a| format!("{:?}", a.name))
                    .unwrap_or_default(),
            })
            .collect();
        Ok(LuaLoad {
            load,
            label: format!("{name}({})", shown.join(", ")),
        })
    })();
    raw(lua, r)
}

/// `opt:under(path)`: the same option for a related model's columns or
/// relationships (`dbridge.load_only("title"):under("posts")`).
pub(crate) fn under(lua: &Lua, (this, p): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let o = load_of(&this, "under", 1)?;
        let p = path(&p, "under", 2)?;
        Ok(LuaLoad {
            load: o.load.under(&p),
            label: format!("{}:under({p:?})", o.label),
        })
    })();
    raw(lua, r)
}

fn load_of(v: &LuaValue, func: &str, n: usize) -> Result<LuaLoad, LuaDbError> {
    match v {
        LuaValue::UserData(ud) => ud.borrow::<LuaLoad>().ok().map(|l| l.clone()),
        _ => None,
    }
    .ok_or_else(|| {
        LuaDbError::argument(
            func,
            n,
            "a loader option (dbridge.selectinload(...), dbridge.defer(...)...)",
            v,
        )
    })
}

/// Loader options given one by one (`q:options(a, b)`), or as an array
/// (`s:get(Model, pk, { a, b })`).
pub(crate) fn list(args: &[LuaValue], func: &str) -> Result<Vec<Load>, LuaDbError> {
    let mut out = Vec::with_capacity(args.len());
    for (i, v) in args.iter().enumerate() {
        match v {
            LuaValue::Table(t) => {
                for (j, x) in t.sequence_values::<LuaValue>().enumerate() {
                    let x = x.map_err(crate::convert::error::lua_err)?;
                    out.push(load_of(&x, func, j + 1)?.load);
                }
            }
            other => out.push(load_of(other, func, i + 1)?.load),
        }
    }
    Ok(out)
}
