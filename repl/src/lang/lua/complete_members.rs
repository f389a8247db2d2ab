//! Completion in a Lua session: the members a value offers after `.` or
//! `:`, found by looking at the value when that runs no statement (a name,
//! a lookup, a chain of query builders: [`crate::complete::is_pure`]), and
//! for a call that loads one instance (`track:get(1)`), from its model.

use dbridge_lua::mlua::{self, Lua, Value as LuaValue};

use super::LuaSession;
use crate::complete;

impl LuaSession {
    /// The value of `expr` when evaluating it runs no statement (a name, a
    /// lookup, a chain of query builders); `None` otherwise or on error.
    pub(super) fn peek(&self, expr: &str) -> Option<LuaValue> {
        if expr.is_empty() || !complete::is_pure(expr) {
            return None;
        }
        let f = self
            .lua
            .load(format!("return {expr}"))
            .into_function()
            .ok()?;
        let probe = self
            .lua
            .load("local f = ...; local ok, v = pcall(f); if ok then return v end")
            .into_function()
            .ok()?;
        probe.call::<LuaValue>(f).ok().filter(|v| !v.is_nil())
    }

    /// The members `receiver` offers after `sep`: for a value that can be
    /// looked at, its own; for a call that loads one instance
    /// (`track:get(1)`, `db:query(track):first()`), the model's.
    pub(super) fn members(&self, receiver: &str, sep: char) -> Vec<String> {
        if let Some(v) = self.peek(receiver) {
            return self.keys_of(&v, sep);
        }
        let Some(steps) = complete::steps(receiver) else {
            return Vec::new();
        };
        let Some(last) = steps.last() else {
            return Vec::new();
        };
        if let Some(class) = result_class(&steps) {
            return match sep {
                ':' => dbridge_lua::class_methods(&self.lua, class),
                _ => Vec::new(),
            };
        }
        if last.args.is_none() || !complete::ONE_INSTANCE.contains(&last.name) {
            return Vec::new();
        }
        let Some(model) = self.chain_model(&steps) else {
            return Vec::new();
        };
        match sep {
            '.' => model_columns(&self.lua, &model),
            _ => {
                let fields = model_columns(&self.lua, &model);
                match self.lua.load("local m = ...; return m{}").into_function() {
                    Ok(f) => match f.call::<LuaValue>(model) {
                        Ok(LuaValue::UserData(inst)) => probe(&self.lua, &inst)
                            .into_iter()
                            .filter(|k| !fields.contains(k))
                            .collect(),
                        _ => Vec::new(),
                    },
                    Err(_) => Vec::new(),
                }
            }
        }
    }

    /// The model a chain is about: its base when that is a model
    /// (`track:get`), or the argument of `query(...)` (`db:query(track)`).
    fn chain_model(&self, steps: &[complete::Step<'_>]) -> Option<mlua::AnyUserData> {
        let as_model = |expr: &str| match self.peek(expr) {
            Some(LuaValue::UserData(ud))
                if dbridge_lua::model_of_value(&LuaValue::UserData(ud.clone())).is_some() =>
            {
                Some(ud)
            }
            _ => None,
        };
        if let Some(m) = steps.first().and_then(|s| as_model(s.name)) {
            return Some(m);
        }
        let query = steps.iter().find(|s| s.name == "query")?;
        let arg = query
            .args?
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        as_model(arg)
    }

    /// What a value offers after `sep`: a model its columns and
    /// relationships after `.`, its methods after `:`; an instance likewise;
    /// a table its keys; a string the string library; other dbridge objects
    /// the methods they answer to.
    fn keys_of(&self, v: &LuaValue, sep: char) -> Vec<String> {
        match v {
            LuaValue::Table(t) => table_keys(t),
            LuaValue::String(_) if sep == ':' => self
                .lua
                .globals()
                .get::<mlua::Table>("string")
                .map(|t| table_keys(&t))
                .unwrap_or_default(),
            LuaValue::UserData(ud) => {
                let fields = if dbridge_lua::model_of_value(v).is_some() {
                    model_columns(&self.lua, ud)
                } else if let Some(f) = dbridge_lua::instance_fields(&self.lua, v) {
                    f.into_iter().map(|(k, _)| k).collect()
                } else {
                    return probe(&self.lua, ud);
                };
                if sep == '.' {
                    fields
                } else {
                    probe(&self.lua, ud)
                        .into_iter()
                        .filter(|k| !fields.contains(k))
                        .collect()
                }
            }
            _ => Vec::new(),
        }
    }
}

/// The class of a chain's value when a call of known result
/// ([`complete::RETURNS`]) is followed only by builder calls
/// ([`complete::PURE`]): `db:session():query(track):where(x)` is a `Query`.
fn result_class(steps: &[complete::Step<'_>]) -> Option<&'static str> {
    let (at, class) = steps.iter().enumerate().rev().find_map(|(i, s)| {
        let class = complete::RETURNS
            .iter()
            .find(|(name, _)| s.args.is_some() && *name == s.name)?;
        Some((i, class.1))
    })?;
    let rest_builds = steps[at + 1..]
        .iter()
        .all(|s| s.args.is_some() && complete::PURE.contains(&s.name));
    rest_builds.then_some(class)
}

pub(super) fn table_keys(t: &mlua::Table) -> Vec<String> {
    t.pairs::<LuaValue, LuaValue>()
        .filter_map(Result::ok)
        .filter_map(|(k, _)| k.as_string().map(|s| s.to_string_lossy()))
        .collect()
}

/// Names a dbridge object may answer to (DESIGN's vocabulary), besides the
/// builder methods of [`complete::PURE`]: userdata cannot list their
/// methods, so completion asks for each of these.
const VOCABULARY: &[&str] = &[
    "execute",
    "fetch_all",
    "fetch_one",
    "fetch_optional",
    "stream",
    "begin",
    "transaction",
    "close",
    "backend",
    "commit",
    "rollback",
    "savepoint",
    "rollback_to",
    "release",
    "model",
    "models",
    "session",
    "create_all",
    "drop_all",
    "on",
    "insert",
    "upsert",
    "update",
    "delete",
    "returning",
    "all",
    "first",
    "one",
    "one_or_none",
    "count",
    "exists",
    "sql",
    "add",
    "add_all",
    "get",
    "flush",
    "refresh",
    "expire",
    "begin_nested",
    "merge",
    "expunge",
    "migrator",
    "status",
    "up",
    "down",
    "autogenerate",
    "check",
    "kind",
    "message",
    "traceback",
    "columns",
    "name",
    "table",
    "build",
    "describe",
    "model_name",
    "table_name",
    "column_names",
    "relationship_names",
    "relationships",
    "on_primary",
    "state",
    "changed",
    "to_table",
    "any",
    "has",
    "remove",
    "clear",
    "contains",
    "is_empty",
    "execute_script",
    "reflect",
    "no_autoflush",
    "on_statement",
    "primary",
    "stats",
    "pk",
    "set_reference",
    "subquery",
    "cte",
    "is_open",
    "in_transaction",
];

/// The column and relationship names of a model (what `Model:describe()`
/// lists); empty for anything else.
pub(super) fn model_columns(lua: &Lua, ud: &mlua::AnyUserData) -> Vec<String> {
    const PROBE: &str = r#"local o = ...
local ok, d = pcall(function() return o:describe() end)
local names = {}
if ok and type(d) == "table" then
  for _, r in ipairs(d) do names[#names + 1] = r.column or r.relationship end
end
return names"#;
    lua.load(PROBE)
        .into_function()
        .and_then(|f| f.call::<Vec<String>>(ud.clone()))
        .unwrap_or_default()
}

/// The [`VOCABULARY`] and [`complete::PURE`] names `ud` answers to (userdata cannot list their
/// methods, so each is asked for).
fn probe(lua: &Lua, ud: &mlua::AnyUserData) -> Vec<String> {
    let Ok(probe) = lua
        .load("local o, k = ...; local ok, v = pcall(function() return o[k] end); return ok and v ~= nil")
        .into_function()
    else {
        return Vec::new();
    };
    VOCABULARY
        .iter()
        .chain(complete::PURE)
        .filter(|k| probe.call::<bool>((ud.clone(), **k)).unwrap_or(false))
        .map(|k| (*k).to_string())
        .collect()
}
