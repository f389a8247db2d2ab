//! Loader options from Rhai: `dbridge::selectinload("posts")`,
//! `dbridge::joinedload("posts.comments")`, `dbridge::defer("body")`,
//! `dbridge::undefer_group("texts")`,
//! `dbridge::load_only(["id", "name"]).under("posts")`..., wrapping the
//! engine's [`Load`], for `q.options(...)`, `s.get(Model, pk, [...])` and
//! `s.load(instances, [...])`.

use dbridge_engine::session::Load;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Module};

use crate::convert::error::configuration;
use crate::objects::relation::path_of;

type Res<T> = Result<T, Box<EvalAltResult>>;

/// A loader option (Rhai type `LoadOption`).
#[derive(Debug, Clone)]
pub struct LoadV {
    pub(crate) load: Load,
    /// How it was made, for `to_string`.
    label: String,
}

/// The constructors taking one path (or column name).
const ONE_PATH: [&str; 10] = [
    "selectinload",
    "joinedload",
    "subqueryload",
    "lazyload",
    "noload",
    "raiseload",
    "contains_eager",
    "defer",
    "undefer",
    "undefer_group",
];

fn one(name: &str, path: String) -> Load {
    match name {
        "selectinload" => Load::selectin(path),
        "joinedload" => Load::joined(path),
        "subqueryload" => Load::subquery(path),
        "lazyload" => Load::lazy(path),
        "noload" => Load::noload(path),
        "raiseload" => Load::raise(path),
        "contains_eager" => Load::contains_eager(path),
        "defer" => Load::defer(path),
        "undefer_group" => Load::undefer_group(path),
        _ => Load::undefer(path),
    }
}

/// `dbridge::load_only(["id", "name"])` or `dbridge::load_only("id", "name")`.
fn load_only(args: Vec<Dynamic>) -> Res<LoadV> {
    let mut cols = Vec::new();
    for a in args {
        if a.is_array() {
            for c in a.into_array().unwrap_or_default() {
                cols.push(path_of(&c, "load_only")?);
            }
        } else {
            cols.push(path_of(&a, "load_only")?);
        }
    }
    let label = format!("load_only({cols:?})");
    Ok(LoadV {
        load: Load::load_only(cols),
        label,
    })
}

/// Loader options given one by one or as arrays (`q.options(a, [b, c])`).
pub(crate) fn list(args: Vec<Dynamic>, func: &str) -> Res<Vec<Load>> {
    let mut out = Vec::with_capacity(args.len());
    for a in args {
        let items: Array = if a.is_array() {
            a.into_array().unwrap_or_default()
        } else {
            vec![a]
        };
        for x in items {
            let t = x.type_name();
            let o = x.try_cast::<LoadV>().ok_or_else(|| {
                configuration(format!(
                    "{func}: expected loader options (dbridge::selectinload(...), \
                     dbridge::defer(...)...), got {t}"
                ))
            })?;
            out.push(o.load);
        }
    }
    Ok(out)
}

/// Registers the constructors in `module` and the `LoadOption` type.
pub(crate) fn register(engine: &mut Engine, module: &mut Module) {
    for name in ONE_PATH {
        module.set_native_fn(name, move |path: Dynamic| -> Res<LoadV> {
            let path = path_of(&path, name)?;
            Ok(LoadV {
                label: format!("{name}({path:?})"),
                load: one(name, path),
            })
        });
    }
    module.set_native_fn("selectin_polymorphic", || -> Res<LoadV> {
        Ok(LoadV {
            label: "selectin_polymorphic()".into(),
            load: Load::selectin_polymorphic(),
        })
    });
    module.set_native_fn("load_only", |a: Dynamic| load_only(vec![a]));
    module.set_native_fn("load_only", |a: Dynamic, b: Dynamic| load_only(vec![a, b]));
    module.set_native_fn("load_only", |a: Dynamic, b: Dynamic, c: Dynamic| {
        load_only(vec![a, b, c])
    });
    engine
        .register_type_with_name::<LoadV>("LoadOption")
        .register_fn("under", |o: &mut LoadV, path: Dynamic| -> Res<LoadV> {
            let p = path_of(&path, "under")?;
            Ok(LoadV {
                load: o.load.clone().under(&p),
                label: format!("{}.under({p:?})", o.label),
            })
        })
        .register_fn("to_string", |o: &mut LoadV| format!("dbridge::{}", o.label))
        .register_fn("to_debug", |o: &mut LoadV| format!("dbridge::{}", o.label));
}
