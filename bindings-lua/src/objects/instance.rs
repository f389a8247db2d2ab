//! [`LuaInstance`]: an object of a model as a script sees it (`user.name`,
//! `user.karma = 1`, `user:state()`), and the cache that gives one engine
//! instance one userdata, so that `rawequal(s:get(User, 1), s:get(User, 1))`.

use std::sync::OnceLock;

use dbridge_engine::schema::Model;
use dbridge_engine::session::Instance;
use dbridge_engine::{ErrorKind, Value};
use mlua::{AnyUserData, Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, Raw3, raw};
use crate::convert::value::{from_lua, to_lua};
use crate::objects::events::raw_ev3;
use crate::objects::model::LuaModel;

/// A relationship read or assigned: `(value, nil)`, or `(UNLOADED, session id)`.
type Answer = (LuaValue, LuaValue);

/// Reading and assigning relationships of instances (`related.rs`). That file
/// lies above this one (it hands related instances to scripts through
/// [`wrap`]), so its functions are handed down at install.
pub(crate) struct Relationships {
    /// `related::read`.
    pub(crate) read: fn(&Lua, &Instance, &str) -> Result<Option<Answer>, LuaDbError>,
    /// `related::assign`.
    pub(crate) assign: fn(&Instance, &str, &LuaValue) -> Result<Option<Answer>, LuaDbError>,
}

static RELATIONSHIPS: OnceLock<Relationships> = OnceLock::new();

/// Called once `related.rs`'s functions are installed.
pub(crate) fn provide_relationships(r: Relationships) {
    let _ = RELATIONSHIPS.set(r);
}

/// The relationship calls of the instance functions below.
mod related {
    use dbridge_engine::session::Instance;
    use mlua::{Lua, Value as LuaValue};

    pub(super) use super::unknown;
    use super::{Answer, RELATIONSHIPS, Relationships};
    use crate::convert::error::LuaDbError;

    fn provided() -> Result<&'static Relationships, LuaDbError> {
        RELATIONSHIPS.get().ok_or_else(|| {
            dbridge_engine::Error::InvalidState(
                "relationships of instances are not installed".into(),
            )
            .into()
        })
    }

    pub(super) fn read(
        lua: &Lua,
        inst: &Instance,
        name: &str,
    ) -> Result<Option<Answer>, LuaDbError> {
        (provided()?.read)(lua, inst, name)
    }

    pub(super) fn assign(
        inst: &Instance,
        name: &str,
        value: &LuaValue,
    ) -> Result<Option<Answer>, LuaDbError> {
        (provided()?.assign)(inst, name, value)
    }
}

/// `(UNLOADED, session id)`: the attribute is loaded through the session;
/// `(UNLOADED, false)`: through the database the instance is bound to (one
/// loaded by `db:query` or `Model:get`); `None` when there is neither.
pub(crate) fn unloaded(inst: &Instance) -> Option<Answer> {
    let through = match inst.session_id() {
        Some(id) => LuaValue::Integer(i64::try_from(id).unwrap_or(i64::MAX)),
        None if inst.bound_database().is_some() => LuaValue::Boolean(false),
        None => return None,
    };
    Some((LuaValue::LightUserData(unloaded_marker()), through))
}

/// "no column or relationship `x` on model `User`".
pub(crate) fn unknown(model: &Model, name: &str) -> LuaDbError {
    model.unknown_attribute(name).into()
}

/// Registry key of the instance class's `__index` function (set by orm.lua).
pub(crate) const INSTANCE_INDEX: &str = "dbridge.Instance.__index";
/// Registry key of the instance class's `__newindex` function.
pub(crate) const INSTANCE_NEWINDEX: &str = "dbridge.Instance.__newindex";
/// The weak-valued table of instance userdata by instance id (app data: no
/// registry lookup by name on the hot path).
struct Cache(Table);

/// An instance held by a script.
#[derive(Debug, Clone)]
pub(crate) struct LuaInstance(pub(crate) Instance);

impl UserData for LuaInstance {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(INSTANCE_INDEX)
        });
        fields.add_meta_field_with("__newindex", |lua| {
            lua.named_registry_value::<LuaValue>(INSTANCE_NEWINDEX)
        });
        fields.add_meta_field("__name", "dbridge.instance");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| Ok(describe(&this.0)));
    }
}

/// `User(id=1, name="Ada")`: the loaded columns (unloaded ones are left out).
fn describe(inst: &Instance) -> String {
    let model = inst.model();
    let parts: Vec<String> = model
        .columns()
        .iter()
        .filter_map(|c| {
            let name = c.name().as_str();
            match inst.get(name) {
                Ok(Value::Text(s)) => Some(format!("{name}={s:?}")),
                Ok(v) => Some(format!("{name}={v}")),
                Err(_) => None,
            }
        })
        .collect();
    format!("{}({})", model.name(), parts.join(", "))
}

/// The instance cache of the state (made on first use).
fn cache(lua: &Lua) -> mlua::Result<Table> {
    if let Some(c) = lua.app_data_ref::<Cache>() {
        return Ok(c.0.clone());
    }
    let t = lua.create_table()?;
    let mt = lua.create_table()?;
    mt.raw_set("__mode", "v")?;
    t.set_metatable(Some(mt))?;
    lua.set_app_data(Cache(t.clone()));
    Ok(t)
}

/// The cache's key of an instance: its address, as a light userdata. The
/// userdata holds the instance, so the address stays its own for as long as
/// the cache can hold the entry (Lua clears weak values before finalizing).
fn cache_key(inst: &Instance) -> mlua::LightUserData {
    mlua::LightUserData(inst.handle_key() as *mut std::ffi::c_void)
}

/// The userdata of `inst`: the same one for as long as the script holds it.
pub(crate) fn wrap(lua: &Lua, inst: Instance) -> mlua::Result<AnyUserData> {
    let cache = cache(lua)?;
    let id = cache_key(&inst);
    if let Some(ud) = cache.raw_get::<Option<AnyUserData>>(id)? {
        return Ok(ud);
    }
    let ud = lua.create_userdata(LuaInstance(inst))?;
    cache.raw_set(id, &ud)?;
    Ok(ud)
}

/// The userdata of an instance made just now, which no script has seen yet
/// (so there is nothing to look up in the cache).
fn wrap_new(lua: &Lua, inst: Instance) -> mlua::Result<AnyUserData> {
    let cache = cache(lua)?;
    let id = cache_key(&inst);
    let ud = lua.create_userdata(LuaInstance(inst))?;
    cache.raw_set(id, &ud)?;
    Ok(ud)
}

/// The instance behind a script value.
pub(crate) fn instance_of(v: &LuaValue, func: &str, n: usize) -> Result<Instance, LuaDbError> {
    if let LuaValue::UserData(ud) = v
        && let Ok(i) = ud.borrow::<LuaInstance>()
    {
        return Ok(i.0.clone());
    }
    Err(LuaDbError::argument(func, n, "a model instance", v))
}

/// `Model{...}` / `Model.build{...}`: a transient instance, assigned in
/// column order: `(instance, nil, nil)` or `(FAIL, err, nil)`.
pub(crate) fn new(lua: &Lua, (model, values): (LuaValue, LuaValue)) -> Raw3 {
    let r = (|| {
        let (inst, model) = {
            let m = match &model {
                LuaValue::UserData(ud) => ud.borrow::<LuaModel>().ok(),
                _ => None,
            }
            .ok_or_else(|| LuaDbError::argument("build", 1, "a model", &model))?;
            (
                Instance::with_registry(&m.model, &m.orm.registry),
                m.model.clone(),
            )
        };
        match &values {
            LuaValue::Nil => {}
            LuaValue::Table(t) => {
                match crate::convert::ctor_scan::scan(lua, &model, t).map_err(lua_err)? {
                    Some(given) => assign_columns(&inst, &model, given)?,
                    None => assign_any(lua, &inst, &model, t)?,
                }
            }
            other => {
                return Err(LuaDbError::argument(
                    "build",
                    2,
                    "a table of column values",
                    other,
                ));
            }
        }
        wrap_new(lua, inst).map_err(lua_err).map(LuaValue::UserData)
    })();
    raw_ev3(lua, r, None)
}

/// Assigns column values in column order.
fn assign_columns(
    inst: &Instance,
    model: &Model,
    mut given: Vec<(usize, Value)>,
) -> Result<(), LuaDbError> {
    given.sort_unstable_by_key(|(i, _)| *i);
    for (i, v) in given {
        inst.set(model.columns()[i].name().as_str(), v)?;
    }
    Ok(())
}

/// The general path of the constructor: one pass over the table, then the
/// assignments in column order, then the relationships (`Post { author = ada }`).
fn assign_any(lua: &Lua, inst: &Instance, model: &Model, t: &Table) -> Result<(), LuaDbError> {
    let mut given: Vec<(usize, LuaValue)> = Vec::with_capacity(model.columns().len());
    let mut related: Vec<(String, LuaValue)> = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair.map_err(lua_err)?;
        let key = match &k {
            LuaValue::String(s) => s.to_str().ok().map(|s| s.to_owned()),
            _ => None,
        };
        let Some(key) = key else {
            return Err(unknown_column(&k, model));
        };
        match model.column_index(&key) {
            Ok(i) => given.push((i, v)),
            Err(_) => related.push((key, v)),
        }
    }
    given.sort_unstable_by_key(|(i, _)| *i);
    for (i, v) in given {
        inst.set(model.columns()[i].name().as_str(), from_lua(lua, v, 1)?)?;
    }
    related.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in related {
        if related::assign(inst, &k, &v)?.is_none() {
            return Err(related::unknown(model, &k));
        }
    }
    Ok(())
}

fn unknown_column(k: &LuaValue, model: &Model) -> LuaDbError {
    let k = match k {
        LuaValue::String(s) => s.to_string_lossy(),
        other => format!("a {} key", other.type_name()),
    };
    LuaDbError::new(
        ErrorKind::Schema,
        format!("no column `{k}` on model `{}`", model.name()),
    )
}

/// `inst.<column>` (NULL is nil) or `inst.<relationship>` (see
/// [`crate::related`]): `(value, nil)`, or `(UNLOADED, session id or false)`
/// for an attribute to load first (see [`unloaded`]).
pub(crate) fn get(lua: &Lua, (this, key): (LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let inst = instance_of(&this, "get", 1)?;
        let key = crate::convert::error::name_arg("get", 2, &key)?;
        match inst.get(&key) {
            Ok(v) => Ok((
                to_lua(lua, &v, LuaValue::Nil).map_err(lua_err)?,
                LuaValue::Nil,
            )),
            // An unloaded column of an instance in a session (or bound to a
            // database): loaded on access (orm.lua calls it, as for a relationship).
            Err(e)
                if e.kind() == ErrorKind::InvalidState
                    && inst.model().column_index(&key).is_ok() =>
            {
                unloaded(&inst).ok_or_else(|| e.into())
            }
            Err(e) => match related::read(lua, &inst, &key)? {
                Some(answer) => Ok(answer),
                // Maybe a column property not loaded yet: the session knows.
                None if e.kind() == ErrorKind::Schema => match unloaded(&inst) {
                    Some(a) if may_be_property(&inst, &key) => Ok(a),
                    _ => Err(related::unknown(&inst.model(), &key)),
                },
                None => Err(e.into()),
            },
        }
    })();
    raw(lua, r)
}

/// `inst.<column> = value` (coerced; validators and `set` listeners run), or
/// `inst.<relationship> = value`: nothing, or `(UNLOADED, session id)` for a
/// relationship to load through the session first.
pub(crate) fn set(lua: &Lua, (this, key, value): (LuaValue, LuaValue, LuaValue)) -> Raw {
    let r = (|| {
        let inst = instance_of(&this, "set", 1)?;
        let key = crate::convert::error::name_arg("set", 2, &key)?;
        let model = inst.model();
        if model.column_index(&key).is_err() {
            return related::assign(&inst, &key, &value)?
                .ok_or_else(|| related::unknown(&model, &key));
        }
        let v = from_lua(lua, value, 1)?;
        inst.set(&key, v)?;
        Ok((LuaValue::Nil, LuaValue::Nil))
    })();
    raw(lua, r)
}

/// `inst:state()`: `"transient"`, `"pending"`, `"persistent"`, `"deleted"` or `"detached"`.
pub(crate) fn state(lua: &Lua, this: LuaValue) -> Raw {
    raw(
        lua,
        instance_of(&this, "state", 1).map(|i| i.state().as_str()),
    )
}

/// `inst:model_name()`: the name of the instance's model (for a hierarchy,
/// the class its row's discriminator named).
pub(crate) fn model_name(lua: &Lua, this: LuaValue) -> Raw {
    raw(
        lua,
        instance_of(&this, "model_name", 1).map(|i| i.model().name().to_string()),
    )
}

/// `inst:changed()`: the names of the columns changed since load or flush.
pub(crate) fn changed(lua: &Lua, this: LuaValue) -> Raw {
    let r = instance_of(&this, "changed", 1).and_then(|i| {
        let t = lua.create_sequence_from(i.changed()).map_err(lua_err)?;
        Ok(t)
    });
    raw(lua, r)
}

/// `inst:pk()`: the primary key, `nil` until it is known (every column of
/// it set); an array for a composite key.
pub(crate) fn pk(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let inst = instance_of(&this, "pk", 1)?;
        Ok(match inst.primary_key() {
            Some(mut key) if key.len() == 1 => match key.pop() {
                Some(v) => to_lua(lua, &v, LuaValue::Nil).map_err(lua_err)?,
                None => LuaValue::Nil,
            },
            Some(key) => {
                let t = lua
                    .create_table_with_capacity(key.len(), 0)
                    .map_err(lua_err)?;
                for v in &key {
                    t.raw_push(to_lua(lua, v, LuaValue::Nil).map_err(lua_err)?)
                        .map_err(lua_err)?;
                }
                LuaValue::Table(t)
            }
            None => LuaValue::Nil,
        })
    })();
    raw(lua, r)
}

/// `inst:set_reference(column, other)`: points the foreign key that
/// `column` is part of at `other`, now if its key is known, else when the
/// session flushes `other` (which then goes first).
pub(crate) fn set_reference(
    lua: &Lua,
    (this, column, target): (LuaValue, LuaValue, LuaValue),
) -> Raw {
    let r = (|| {
        let inst = instance_of(&this, "set_reference", 1)?;
        let column = crate::convert::error::name_arg("set_reference", 2, &column)?;
        let target = instance_of(&target, "set_reference", 3)?;
        inst.set_reference(&column, &target)?;
        Ok(())
    })();
    raw(lua, r)
}

/// `inst:to_table()`: the loaded columns as a plain table (NULL as nil).
pub(crate) fn to_table(lua: &Lua, this: LuaValue) -> Raw {
    let r = (|| {
        let inst = instance_of(&this, "to_table", 1)?;
        let fields = loaded_fields(lua, &inst).map_err(lua_err)?;
        let t = lua
            .create_table_with_capacity(0, fields.len())
            .map_err(lua_err)?;
        for (name, v) in fields {
            t.raw_set(name, v).map_err(lua_err)?;
        }
        Ok(t)
    })();
    raw(lua, r)
}

/// The loaded columns of `inst` in its model's column order, NULL as `nil`
/// (what `inst:to_table()` holds, and what a host prints).
pub(crate) fn loaded_fields(lua: &Lua, inst: &Instance) -> mlua::Result<Vec<(String, LuaValue)>> {
    let model = inst.model();
    let mut fields = Vec::with_capacity(model.columns().len());
    for c in model.columns() {
        let name = c.name().as_str();
        if let Ok(v) = inst.get(name) {
            fields.push((name.to_owned(), to_lua(lua, &v, LuaValue::Nil)?));
        }
    }
    Ok(fields)
}

/// `inst:model()`: the instance's model object (nil if the database handle is gone).
pub(crate) fn is_instance(_: &Lua, v: LuaValue) -> mlua::Result<bool> {
    Ok(matches!(&v, LuaValue::UserData(ud) if ud.is::<LuaInstance>()))
}

/// The loaded columns of an instance in its model's column order (NULL as
/// `nil`); `None` when `value` is not an instance.
pub fn instance_fields(lua: &Lua, value: &mlua::Value) -> Option<Vec<(String, mlua::Value)>> {
    let mlua::Value::UserData(ud) = value else {
        return None;
    };
    let inst = ud.borrow::<LuaInstance>().ok()?.0.clone();
    loaded_fields(lua, &inst).ok()
}

/// The marker a raw function returns first when a relationship must be
/// loaded through the instance's session before it can answer.
pub(crate) fn unloaded_marker() -> mlua::LightUserData {
    static MARKER: u8 = 0;
    mlua::LightUserData(std::ptr::addr_of!(MARKER).cast_mut().cast())
}

/// Whether `name` may be a column property of the instance's model (declared
/// in its session's registry): then a read asks the session to load it.
pub(crate) fn may_be_property(inst: &dbridge_engine::session::Instance, name: &str) -> bool {
    inst.registry().is_some_and(|r| {
        r.properties_of(&inst.model())
            .iter()
            .any(|p| p.name == name)
    })
}
