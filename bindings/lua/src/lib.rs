//! # capgc-lua — Lua 5.4 on CapGC
//!
//! Two binaries from one front end (`src/front.c`, a `lua.c`-style
//! command written for this project): `lua-capgc`, Lua 5.4.9 (from the
//! `lua-src` crate, unmodified) with CapGC's binding profile as its whole
//! collector (`src/lgc_capgc.c` replaces `lgc.c`), and `lua-stock`, the
//! same on Lua's own collector. The static libraries behind them,
//! `liblua-capgc.a` and `liblua-stock.a`, are drop-in `liblua`s: `make -C
//! bindings/lua lib` puts them, with `lua.h`, `lauxlib.h`, `lualib.h`,
//! `luaconf.h` and `libcapgc.a`, in `target/release/lua/`.
//!
//! Environment of `lua-capgc`: `CAPGC_LUA_LIMIT` (bytes of cells, default
//! 16 GiB of address space), `CAPGC_LUA_CHECKED=1` (every reported pointer checked and the
//! heap verified after every collection), `CAPGC_LOG=gc` (a line per
//! collection; at `lua_close`, the longest and p99 `luaC_step` in thread
//! CPU time). Of both: `LUA_GC_MODE=incremental` (default generational,
//! as Lua's `lua.c`). In incremental mode `lua-capgc` collects in steps
//! paced as stock Lua's (stepped marking on Lua's own barriers, a lazy
//! sweep); in generational mode it makes whole collections.

use std::ffi::{c_char, c_int, CString};

/// Runs a C `main(argc, argv)` with this process's arguments and returns
/// its exit status.
pub fn run(main: impl FnOnce(c_int, *mut *mut c_char) -> c_int) -> i32 {
    use std::os::unix::ffi::OsStringExt;
    let args: Vec<CString> = std::env::args_os()
        .map(|a| CString::new(a.into_vec()).unwrap_or_default())
        .collect();
    let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    let argc = c_int::try_from(args.len()).unwrap_or(c_int::MAX);
    argv.push(std::ptr::null_mut());
    main(argc, argv.as_mut_ptr())
}

/// The libcapgc functions `lgc_capgc.c` calls, referenced from Rust so
/// the linker takes them from the `capgc` crate before it reads the Lua
/// archive.
pub fn capgc_functions() -> [usize; 22] {
    [
        capgc::capgc_cells_new as *const () as usize,
        capgc::capgc_cells_free as *const () as usize,
        capgc::capgc_cell_type as *const () as usize,
        capgc::capgc_cell_alloc as *const () as usize,
        capgc::capgc_cell_visit as *const () as usize,
        capgc::capgc_cell_visit_shallow as *const () as usize,
        capgc::capgc_cell_visitor_is_marked as *const () as usize,
        capgc::capgc_cells_mark as *const () as usize,
        capgc::capgc_cells_is_marked as *const () as usize,
        capgc::capgc_cells_begin as *const () as usize,
        capgc::capgc_cells_drain as *const () as usize,
        capgc::capgc_cells_finish as *const () as usize,
        capgc::capgc_cells_start as *const () as usize,
        capgc::capgc_cells_step as *const () as usize,
        capgc::capgc_cells_begin_sweep as *const () as usize,
        capgc::capgc_cells_sweep as *const () as usize,
        capgc::capgc_cells_sweep_some as *const () as usize,
        capgc::capgc_cells_release_all as *const () as usize,
        capgc::capgc_cells_stats as *const () as usize,
        capgc::capgc_status_name as *const () as usize,
        capgc::capgc_last_error as *const () as usize,
        capgc::capgc_config_default as *const () as usize,
    ]
}
