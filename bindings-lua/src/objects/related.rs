//! Relationships of instances from Lua: `post.author`, `user.posts` (a
//! [`LuaCollection`]), `post.author = ada`, `user.posts = { ... }`, and the
//! collection's methods.
//!
//! Reading and assigning are synchronous when the relationship is loaded.
//! When it is not, and the instance belongs to a session, the raw functions
//! answer `(UNLOADED, session id)` and orm.lua loads the relationship through
//! that session (an async call, `s_async(s, "related", inst, name)`), then
//! asks again. An instance loaded without a session (`db:query`,
//! `Model:get`) is bound to its database: the answer is `(UNLOADED, false)`
//! and orm.lua loads through [`load_bound`]. An instance that left a session
//! has neither: the engine's `invalid_state` error says what is not loaded.

use std::sync::Arc;

use dbridge_engine::Database;
use dbridge_engine::ErrorKind;
use dbridge_engine::schema::{Model, RelationshipDef, RelationshipKind};
use dbridge_engine::session::{Instance, Related};
use mlua::{Lua, MetaMethod, Table, UserData, UserDataMethods, Value as LuaValue};

use crate::convert::error::lua_err;
use crate::convert::error::{LuaDbError, Raw, raw};
use crate::objects::database::LuaDb;
use crate::objects::events::{StatementEvents, raw_ev};
use crate::objects::instance::{instance_of, unloaded, wrap};

/// Registry key of the collection class's `__index` function (set by orm.lua).
pub(crate) const COLLECTION_INDEX: &str = "dbridge.Collection.__index";
/// Registry key of the collection class's `__len` function.
pub(crate) const COLLECTION_LEN: &str = "dbridge.Collection.__len";
/// Registry key of the collection class's `__pairs` function.
pub(crate) const COLLECTION_PAIRS: &str = "dbridge.Collection.__pairs";

/// `(UNLOADED, session id)`, `(value, nil)`, or what a raw function returns.
type Answer = (LuaValue, LuaValue);

/// The relationship `name` of `model`; `None` when it has no such relationship.
pub(crate) fn resolve(
    model: &Model,
    name: &str,
) -> Result<Option<Arc<RelationshipDef>>, LuaDbError> {
    match model.relationship(name) {
        Ok(r) => Ok(Some(r)),
        // A relationship that exists but does not resolve (an unknown target...) says why.
        Err(e) if model.relationship_names().iter().any(|n| n == name) => Err(e.into()),
        Err(_) => Ok(None),
    }
}

/// A loaded relationship as a script sees it: an instance or nil, or the
/// collection object.
pub(crate) fn to_lua(lua: &Lua, inst: &Instance, name: &str, r: Related) -> mlua::Result<LuaValue> {
    Ok(match r {
        Related::One(Some(i)) => LuaValue::UserData(wrap(lua, i)?),
        Related::One(None) => LuaValue::Nil,
        Related::Many(_) => LuaValue::UserData(lua.create_userdata(LuaCollection {
            inst: inst.clone(),
            name: name.into(),
        })?),
    })
}

/// `inst.<relationship>`: `None` when `name` is no relationship.
pub(crate) fn read(lua: &Lua, inst: &Instance, name: &str) -> Result<Option<Answer>, LuaDbError> {
    let model = inst.model();
    if resolve(&model, name)?.is_none() {
        return Ok(None);
    }
    match inst.related(name) {
        Ok(r) => Ok(Some((
            to_lua(lua, inst, name, r).map_err(lua_err)?,
            LuaValue::Nil,
        ))),
        Err(e) if e.kind() == ErrorKind::InvalidState => unloaded(inst).map(Some).ok_or(e.into()),
        Err(e) => Err(e.into()),
    }
}

/// `inst.<relationship> = value`: `None` when `name` is no relationship.
/// A has-one or a collection is loaded first (the old value is what the
/// change releases: its key cleared, or deleted as an orphan).
pub(crate) fn assign(
    inst: &Instance,
    name: &str,
    value: &LuaValue,
) -> Result<Option<Answer>, LuaDbError> {
    let Some(rel) = resolve(&inst.model(), name)? else {
        return Ok(None);
    };
    if rel.kind != RelationshipKind::BelongsTo && !inst.is_related_loaded(name)? {
        if let Some(a) = unloaded(inst) {
            return Ok(Some(a));
        }
        inst.related(name)?;
    }
    if rel.kind.is_collection() {
        let items = members(value, &rel)?;
        inst.clear_related(name)?;
        for i in &items {
            inst.add_related(name, i)?;
        }
    } else {
        let target = match value {
            LuaValue::Nil => None,
            v => Some(member(v, &rel)?),
        };
        inst.set_related(name, target.as_ref())?;
    }
    Ok(Some((LuaValue::Nil, LuaValue::Nil)))
}

/// "relationship `author` of model `Post` takes a `User` instance or nil".
fn takes(rel: &RelationshipDef) -> String {
    let target = rel.target.name();
    if rel.kind.is_collection() {
        format!("{} takes an array of `{target}` instances", rel.describe())
    } else {
        format!("{} takes a `{target}` instance or nil", rel.describe())
    }
}

/// An instance of the relationship's target.
fn member(v: &LuaValue, rel: &RelationshipDef) -> Result<Instance, LuaDbError> {
    let bad = |got: &str| {
        LuaDbError::new(
            ErrorKind::TypeMismatch,
            format!("{}, got {got}", takes(rel)),
        )
    };
    let i = instance_of(v, "", 0).map_err(|_| bad(v.type_name()))?;
    let m = i.model();
    if !m.ptr_eq(&rel.target) {
        return Err(bad(&format!("a `{}` instance", m.name())));
    }
    Ok(i)
}

/// The new members of a collection: an array, another collection, or nil (none).
fn members(v: &LuaValue, rel: &RelationshipDef) -> Result<Vec<Instance>, LuaDbError> {
    match v {
        LuaValue::Nil => Ok(Vec::new()),
        LuaValue::Table(t) => t
            .sequence_values::<LuaValue>()
            .map(|x| x.map_err(lua_err).and_then(|x| member(&x, rel)))
            .collect(),
        LuaValue::UserData(ud) if ud.is::<LuaCollection>() => {
            let c = ud.borrow::<LuaCollection>().map_err(lua_err)?;
            let list = c.inst.related_many(&c.name)?;
            match list.iter().find(|i| !i.model().ptr_eq(&rel.target)) {
                Some(i) => Err(LuaDbError::new(
                    ErrorKind::TypeMismatch,
                    format!("{}, got `{}` instances", takes(rel), i.model().name()),
                )),
                None => Ok(list),
            }
        }
        other => Err(LuaDbError::new(
            ErrorKind::TypeMismatch,
            format!("{}, got {}", takes(rel), other.type_name()),
        )),
    }
}

/// A loaded collection of an instance (`user.posts`): a live view of it.
#[derive(Debug, Clone)]
pub(crate) struct LuaCollection {
    inst: Instance,
    name: Arc<str>,
}

impl LuaCollection {
    /// The instances the collection holds now.
    pub(crate) fn members(&self) -> Result<Vec<Instance>, LuaDbError> {
        Ok(self.inst.related_many(&self.name)?)
    }
}

impl UserData for LuaCollection {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with("__index", |lua| {
            lua.named_registry_value::<LuaValue>(COLLECTION_INDEX)
        });
        fields.add_meta_field_with("__len", |lua| {
            lua.named_registry_value::<LuaValue>(COLLECTION_LEN)
        });
        fields.add_meta_field_with("__pairs", |lua| {
            lua.named_registry_value::<LuaValue>(COLLECTION_PAIRS)
        });
        fields.add_meta_field("__name", "dbridge.collection");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        // Two reads of `user.posts` are two views of one collection.
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: LuaValue| {
            Ok(match &other {
                LuaValue::UserData(ud) => ud
                    .borrow::<LuaCollection>()
                    .is_ok_and(|o| o.inst.ptr_eq(&this.inst) && o.name == this.name),
                _ => false,
            })
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            let n = this
                .inst
                .related_many(&this.name)
                .map(|v| v.len().to_string())
                .unwrap_or_else(|_| "not loaded".into());
            Ok(format!(
                "dbridge.collection({}.{}, {n})",
                this.inst.model().name(),
                this.name
            ))
        });
    }
}

/// `raw.coll(c, op, x)`: `len`, `at` (1-based), `all`, `add`, `remove`,
/// `clear`, `contains`.
pub(crate) fn call(lua: &Lua, (this, op, x): (LuaValue, String, LuaValue)) -> Raw {
    let r = (|| {
        let c = match &this {
            LuaValue::UserData(ud) => ud.borrow::<LuaCollection>().ok().map(|c| c.clone()),
            _ => None,
        }
        .ok_or_else(|| LuaDbError::argument(&op, 1, "a collection (call it with `:`)", &this))?;
        let (inst, name) = (&c.inst, &*c.name);
        let other = || instance_of(&x, &op, 1);
        Ok(match op.as_str() {
            "len" => LuaValue::Integer(inst.related_many(name)?.len() as i64),
            "at" => {
                let i = match x {
                    LuaValue::Integer(i) => i,
                    LuaValue::Number(f) if f.fract() == 0.0 => f as i64,
                    _ => return Ok(LuaValue::Nil),
                };
                let list = inst.related_many(name)?;
                match usize::try_from(i - 1).ok().and_then(|i| list.get(i)) {
                    Some(m) => LuaValue::UserData(wrap(lua, m.clone()).map_err(lua_err)?),
                    None => LuaValue::Nil,
                }
            }
            "all" => {
                let list = inst.related_many(name)?;
                let t = lua
                    .create_table_with_capacity(list.len(), 0)
                    .map_err(lua_err)?;
                for (i, m) in list.into_iter().enumerate() {
                    t.raw_set(i + 1, wrap(lua, m).map_err(lua_err)?)
                        .map_err(lua_err)?;
                }
                LuaValue::Table(t)
            }
            "add" => {
                inst.add_related(name, &other()?)?;
                LuaValue::Nil
            }
            "remove" => {
                inst.remove_related(name, &other()?)?;
                LuaValue::Nil
            }
            "clear" => {
                inst.clear_related(name)?;
                LuaValue::Nil
            }
            "contains" => LuaValue::Boolean(inst.contains_related(name, &other()?)?),
            other => {
                return Err(LuaDbError::new(
                    ErrorKind::InvalidState,
                    format!("unknown collection call `{other}`"),
                ));
            }
        })
    })();
    raw(lua, r)
}

/// `raw.bound_load(inst, name, handlers)`: reads the relationship, or the
/// deferred or expired column, `name` of an instance bound to its database
/// (see [`dbridge_engine::session::Instance::bind_database`]) through a
/// short-lived session, keeps it on the instance and returns it:
/// `(value, nil, events, db)`, where `db` is the key of `handlers` (the
/// prelude's databases with statement listeners) on the instance's
/// database, whose listeners see the load's statements.
pub(crate) async fn load_bound(
    lua: Lua,
    (this, name, handlers): (LuaValue, String, Option<Table>),
) -> Raw {
    let inst = match instance_of(&this, "get", 1) {
        Ok(i) => i,
        Err(e) => return with_owner(raw(&lua, Err::<(), _>(e)), LuaValue::Nil),
    };
    let (owner, ev) = match (inst.bound_database(), handlers) {
        (Some(db), Some(h)) => listening(&h, &db),
        _ => (LuaValue::Nil, None),
    };
    let r = async {
        let model = inst.model();
        if model.column_index(&name).is_ok() || resolve(&model, &name)?.is_none() {
            let v = inst.load_attribute_bound(&name).await?;
            let v = v.ok_or_else(|| not_bound(&inst, &name))?;
            return crate::convert::value::to_lua(&lua, &v, LuaValue::Nil).map_err(lua_err);
        }
        let found = inst.load_related_bound(&name).await?;
        let found = found.ok_or_else(|| not_bound(&inst, &name))?;
        to_lua(&lua, &inst, &name, found).map_err(lua_err)
    }
    .await;
    with_owner(raw_ev(&lua, r, ev.as_deref()), owner)
}

/// The database handle among `handlers`' keys on `db`, and its event queue.
fn listening(handlers: &Table, db: &Database) -> (LuaValue, Option<Arc<StatementEvents>>) {
    for (k, _) in handlers.pairs::<LuaValue, LuaValue>().flatten() {
        if let LuaValue::UserData(ud) = &k
            && let Ok(d) = ud.borrow::<LuaDb>()
            && d.database().is_ok_and(|x| x.same_database(db))
        {
            let events = d.events.clone();
            drop(d);
            return (k, Some(events));
        }
    }
    (LuaValue::Nil, None)
}

/// `r`'s `(value, err, events)` followed by `owner`.
fn with_owner(r: Raw, owner: LuaValue) -> Raw {
    let mut values = r?;
    values.resize(3, LuaValue::Nil);
    values.push_back(owner);
    Ok(values)
}

/// The error for an attribute of an instance that lost its binding between
/// the question and the load (a session took it meanwhile).
fn not_bound(inst: &Instance, name: &str) -> LuaDbError {
    LuaDbError::new(
        ErrorKind::InvalidState,
        format!(
            "`{name}` of {} is not loaded and the instance is bound to no database",
            inst.describe()
        ),
    )
}

/// `raw.rel_gone(inst, name)`: the error for a relationship that is not
/// loaded when the session the instance belongs to is no longer there.
pub(crate) fn gone(lua: &Lua, (this, name): (LuaValue, String)) -> Raw {
    let r = instance_of(&this, "get", 1).and_then(|inst| {
        Err::<(), _>(LuaDbError::new(
            ErrorKind::InvalidState,
            format!(
                "relationship `{name}` of {} is not loaded and the session it belongs to is gone",
                inst.describe()
            ),
        ))
    });
    raw(lua, r)
}
