//! Installing dbridge into a Lua state: the libraries scripts may reach, the
//! memory limit, the instruction hook, `require("dbridge")`.

use mlua::{HookTriggers, Lua, StdLib, Table, VmState};

use crate::install::module;
use crate::runtime::context::{self, Installed};
use crate::runtime::options::InstallOptions;

/// How often (in Lua instructions) the hook charges the running call.
const HOOK_EVERY: u32 = 1000;

pub(crate) fn install(lua: &Lua, opts: &InstallOptions) -> mlua::Result<Table> {
    if lua.globals().get::<Option<Table>>("coroutine")?.is_none() {
        return Err(mlua::Error::runtime(
            "dbridge needs the Lua coroutine library (its database functions are async): \
             load StdLib::COROUTINE before installing",
        ));
    }
    remove_libs(lua, opts.libs)?;
    if let Some(limit) = opts.memory_limit {
        lua.set_memory_limit(limit)?;
    }
    lua.set_app_data(std::sync::Arc::new(
        crate::runtime::rust_mem::RustMemory::new(opts.memory_limit),
    ));
    // The hook enforces the budget and host interrupts, so it is always set;
    // the catching functions are wrapped (`stoppable`) so that neither is swallowed.
    lua.set_global_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        |_, _| match context::charge_current(u64::from(HOOK_EVERY)) {
            Ok(()) => Ok(VmState::Continue),
            Err(e) => Err(mlua::Error::external(e)),
        },
    )?;
    let runtime = opts
        .runtime
        .clone()
        .or_else(|| tokio::runtime::Handle::try_current().ok());
    lua.set_app_data(Installed {
        runtime,
        budget: opts.instruction_budget,
        timeout: opts.call_timeout,
        interrupts: lua
            .app_data_ref::<Installed>()
            .map(|i| i.interrupts.clone())
            .unwrap_or_default(),
    });
    let module = module::load(lua, true)?;
    if opts.global {
        lua.globals().set("dbridge", &module)?;
    }
    lua.register_module("dbridge", &module)?;
    if lua.globals().get::<mlua::Value>("require")?.is_nil() {
        lua.globals()
            .set("require", lua.create_function(require)?)?;
    }
    Ok(module)
}

/// `require` for states without the `package` library: serves the modules
/// registered in the state (dbridge) and nothing from disk.
fn require(lua: &Lua, name: String) -> mlua::Result<mlua::Value> {
    let loaded: Table = lua.named_registry_value("_LOADED")?;
    match loaded.get::<mlua::Value>(name.as_str())? {
        mlua::Value::Nil => Err(mlua::Error::runtime(format!(
            "module '{name}' not found (this sandbox provides only registered modules such as 'dbridge')"
        ))),
        v => Ok(v),
    }
}

fn remove_libs(lua: &Lua, libs: StdLib) -> mlua::Result<()> {
    let g = lua.globals();
    let loaded: Option<Table> = lua.named_registry_value("_LOADED").ok();
    for (lib, name) in [
        (StdLib::IO, "io"),
        (StdLib::OS, "os"),
        (StdLib::DEBUG, "debug"),
        (StdLib::PACKAGE, "package"),
    ] {
        if !libs.contains(lib) {
            g.raw_set(name, mlua::Nil)?;
            if let Some(l) = &loaded {
                l.raw_set(name, mlua::Nil)?;
            }
        }
    }
    if !libs.contains(StdLib::PACKAGE) {
        g.raw_set("require", mlua::Nil)?;
    }
    if !libs.contains(StdLib::IO) {
        g.raw_set("dofile", mlua::Nil)?;
        g.raw_set("loadfile", mlua::Nil)?;
    }
    Ok(())
}
