//! The C programs of `benches/c` against `capgc.h`, linked into this
//! crate (`build.rs` compiles them with their `main` renamed): the third
//! C peer of the harness, the same binary-trees and GCBench that run on
//! glibc malloc and bdwgc, here on CapGC through its C ABI — what a VM
//! written in C gets.

use std::ffi::{c_char, c_int, CString};

extern "C" {
    fn capgc_peer_binary_trees(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn capgc_peer_gcbench(argc: c_int, argv: *mut *mut c_char) -> c_int;
}

/// The peers' names, as [`run`] takes them: the stems of the other
/// peers' executables.
pub const STEMS: [&str; 2] = ["binary_trees", "gcbench"];

/// The name the C programs give mode `mode` (a harness mode name), if
/// they run in it: `native`, `p128`, `morello`, `cheri-v9`, `riscv-std`.
pub fn c_mode(mode: &str) -> Option<&'static str> {
    Some(match mode {
        "native" => "native",
        "p128" => "p128",
        "softcheri-morello" => "morello",
        "softcheri-cheri-v9" => "cheri-v9",
        "softcheri-riscv-std" => "riscv-std",
        _ => return None,
    })
}

/// Runs peer `stem` with `args` (what its command line would be, after
/// the program name): its exit status, or `None` for an unknown stem or
/// an argument with a NUL in it. It prints on this process's stdout and
/// may `exit` the process itself (on a failed check).
pub fn run(stem: &str, args: &[String]) -> Option<i32> {
    let main = match stem {
        "binary_trees" => capgc_peer_binary_trees,
        "gcbench" => capgc_peer_gcbench,
        _ => return None,
    };
    let args: Vec<CString> = std::iter::once(format!("{stem}-capgc"))
        .chain(args.iter().cloned())
        .map(CString::new)
        .collect::<Result<_, _>>()
        .ok()?;
    let mut argv: Vec<*mut c_char> = args.iter().map(|a| a.as_ptr().cast_mut()).collect();
    argv.push(std::ptr::null_mut());
    let argc = c_int::try_from(args.len()).ok()?;
    // SAFETY: `argv` is a null-terminated array of `argc` pointers to
    // NUL-terminated strings, all alive (`args`, `argv`) for the whole
    // call; the programs only read them, as a C `main` reads its own.
    Some(unsafe { main(argc, argv.as_mut_ptr()) })
}
