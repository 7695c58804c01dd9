//! `lua-capgc`: Lua 5.4 with CapGC as its whole collector.

use std::ffi::{c_char, c_int};

extern "C" {
    fn capgc_lua_main(argc: c_int, argv: *mut *mut c_char) -> c_int;
}

fn main() {
    std::hint::black_box(capgc_lua::capgc_functions());
    std::process::exit(capgc_lua::run(|argc, argv| {
        // SAFETY: argv is a null-terminated array of argc C strings that
        // outlives the call.
        unsafe { capgc_lua_main(argc, argv) }
    }));
}
