//! The C programs of `benches/c` against `capgc.h`, linked into this
//! crate (`build.rs` compiles them with their `main` renamed): the third
//! C peer of the harness, the same binary-trees and GCBench that run on
//! glibc malloc and bdwgc, here on CapGC through its C ABI — what a VM
//! written in C gets. The Scheme interpreter of `bindings/scheme` (a
//! whole VM in C on `capgc.h`) is linked in the same way ([`scheme`]).

use std::ffi::{c_char, c_int, CString};

extern "C" {
    fn capgc_peer_binary_trees(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn capgc_peer_gcbench(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn capgc_peer_binary_trees_fast(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn capgc_peer_gcbench_fast(argc: c_int, argv: *mut *mut c_char) -> c_int;
    fn capgc_scheme_main(argc: c_int, argv: *mut *mut c_char) -> c_int;
}

/// The Scheme program the harness times: binary-trees, printing what the
/// other binary-trees print (`-- DEPTH` after it on the command line).
pub const SCHEME_BINARY_TREES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../bindings/scheme/tests/bench/binary-trees.scm"
);

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

/// The interpreter's flags for mode `mode` (a harness mode name), if it
/// runs in it: `--mode native|p128|morello|cheri-v9|riscv-std`, and
/// `--scan tags` for scanning by tag.
pub fn scheme_mode(mode: &str) -> Option<Vec<&'static str>> {
    let (base, tags) = match mode.strip_suffix("/tags") {
        Some(base) => (base, true),
        None => (mode, false),
    };
    let mut flags = vec!["--mode", c_mode(base)?];
    if tags {
        flags.extend(["--scan", "tags"]);
    }
    Some(flags)
}

/// Runs peer `stem` (or `STEM_fast`, the same program on
/// `capgc_fast.h`) with `args` (what its command line would be, after
/// the program name): its exit status, or `None` for an unknown stem or
/// an argument with a NUL in it. It prints on this process's stdout and
/// may `exit` the process itself (on a failed check).
pub fn run(stem: &str, args: &[String]) -> Option<i32> {
    let main = match stem {
        "binary_trees" => capgc_peer_binary_trees,
        "gcbench" => capgc_peer_gcbench,
        "binary_trees_fast" => capgc_peer_binary_trees_fast,
        "gcbench_fast" => capgc_peer_gcbench_fast,
        _ => return None,
    };
    call_main(main, &format!("{stem}-capgc"), args)
}

/// Runs the Scheme interpreter with `args` (its command line after the
/// program name: `--mode M --plan P FILE -- ARGS`): its exit status, or
/// `None` for an argument with a NUL in it. As [`run`], it prints on this
/// process's stdout and may `exit` the process.
pub fn scheme(args: &[String]) -> Option<i32> {
    call_main(capgc_scheme_main, "scheme", args)
}

/// Calls a C `main` with `name` and `args` as its `argv`.
fn call_main(
    main: unsafe extern "C" fn(c_int, *mut *mut c_char) -> c_int,
    name: &str,
    args: &[String],
) -> Option<i32> {
    let args: Vec<CString> = std::iter::once(name.to_string())
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
