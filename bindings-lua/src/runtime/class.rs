//! The metatable fields every userdata class shares: its methods and its name.

use mlua::{UserDataFields, Value as LuaValue};

/// Gives a userdata type its class: `__index` is the method table the prelude
/// keeps in the Lua registry under `class`, and `__name` is `name` (what
/// `tostring` and error messages show).
pub(crate) fn add_class_fields<T, F: UserDataFields<T>>(
    fields: &mut F,
    class: &'static str,
    name: &'static str,
) {
    fields.add_meta_field_with("__index", move |lua| {
        lua.named_registry_value::<LuaValue>(class)
    });
    fields.add_meta_field("__name", name);
}
