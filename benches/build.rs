//! Builds the C peers of the workloads — benches/c/binary_trees.c and
//! gcbench.c (shaped like the capgc.h program, over backend.h) and
//! binary_trees_idiomatic.c and gcbench_idiomatic.c (as bdwgc's and
//! malloc's users write them) against glibc malloc/free and against bdwgc
//! (Debian's `libgc-dev`, found with pkg-config) — into `$OUT_DIR/peers`, so the
//! `workloads` binary runs them beside CapGC in the same interleaved
//! rounds. A peer that cannot be built (no C compiler, no bdwgc) is left
//! out with a warning; the harness says which are missing.
//!
//! The same two programs against `capgc.h` (`-DBACKEND_CAPGC`) are built
//! into static libraries linked into this crate, their `main` renamed
//! `capgc_peer_binary_trees` / `capgc_peer_gcbench` (`src/c_peers.rs`
//! calls them; the `capgc_*` functions they call come from the `capgc`
//! crate, the C ABI's own code): the harness runs them in a process of
//! its own like the other peers, with no libcapgc to install first.
//! The Scheme interpreter of `bindings/scheme` is linked in the same way.
//!
//! The script runs again when what pkg-config sees can change: its
//! environment (`PKG_CONFIG_PATH` and friends, `CC`), bdw-gc's `.pc` file
//! once found, and — while bdwgc is missing — the directories pkg-config
//! searches, so installing `libgc-dev` later is noticed by the next
//! `cargo build` (the README says so).

use std::path::{Path, PathBuf};
use std::process::Command;

fn pkg_config(lib: &str) -> Option<Vec<String>> {
    let out = Command::new("pkg-config")
        .args(["--cflags", "--libs", lib])
        .output()
        .ok()?;
    out.status.success().then(|| {
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect()
    })
}

/// Tells cargo to run this script again when pkg-config's answer for
/// `lib` can change: its environment, the library's `.pc` file when it is
/// found, and the search directories (those that exist: a missing path
/// would make cargo re-run every time) when it is not.
fn rerun_when_pkg_config_changes(lib: &str, found: bool) {
    for var in [
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
        "PKG_CONFIG_LIBDIR",
        "PKG_CONFIG_SYSROOT_DIR",
        "PKG_CONFIG_ALLOW_SYSTEM_CFLAGS",
        "PKG_CONFIG_ALLOW_SYSTEM_LIBS",
        "CC",
        "CFLAGS",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let var = |args: &[&str]| {
        Command::new("pkg-config")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let dirs = if found {
        var(&["--variable=pcfiledir", lib]).map(|d| {
            let pc = Path::new(&d).join(format!("{lib}.pc"));
            vec![pc.display().to_string()]
        })
    } else {
        let mut dirs: Vec<String> = ["PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"]
            .iter()
            .flat_map(|v| {
                let dirs = std::env::var(v).unwrap_or_default();
                dirs.split(':').map(str::to_string).collect::<Vec<_>>()
            })
            .collect();
        if let Some(p) = var(&["--variable", "pc_path", "pkg-config"]) {
            dirs.extend(p.split(':').map(str::to_string));
        }
        Some(dirs)
    };
    for d in dirs.unwrap_or_default() {
        if !d.is_empty() && Path::new(&d).exists() {
            println!("cargo:rerun-if-changed={d}");
        }
    }
}

fn build(cc: &cc::Tool, src: &Path, backend: &str, extra: &[String], out: &Path) -> bool {
    // The compiler alone, with exactly the flags of `make -C c-api
    // bench-programs` (cc's own defaults add frame pointers and debug
    // information, which would slow the peers down).
    let mut cmd = Command::new(cc.path());
    cmd.args(["-std=c11", "-O2", "-w"])
        .arg(format!("-DBACKEND_{backend}"))
        .arg(src)
        .args(extra)
        .arg("-o")
        .arg(out);
    match cmd.status() {
        Ok(s) if s.success() => true,
        other => {
            println!(
                "cargo:warning=C peer {} not built ({other:?})",
                out.display()
            );
            false
        }
    }
}

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("peers");
    std::fs::create_dir_all(&out).expect("peers directory");
    println!("cargo:rustc-env=CAPGC_PEERS_DIR={}", out.display());
    println!("cargo:rerun-if-changed=c");
    let cc = cc::Build::new()
        .cargo_metadata(false)
        .cargo_warnings(false)
        .get_compiler();
    let bdwgc = pkg_config("bdw-gc");
    rerun_when_pkg_config_changes("bdw-gc", bdwgc.is_some());
    if bdwgc.is_none() {
        println!(
            "cargo:warning=bdwgc (pkg-config bdw-gc) not found: the bdwgc peers are not built \
             (install libgc-dev and build again: this script re-runs when it appears)"
        );
    }
    let mut bdwgc_built = bdwgc.is_some();
    // The shaped peers (over backend.h, as the capgc.h program is
    // written) and the idiomatic ones (as bdwgc's and malloc's users
    // write them).
    for w in [
        "binary_trees",
        "gcbench",
        "binary_trees_idiomatic",
        "gcbench_idiomatic",
    ] {
        let src = Path::new("c").join(format!("{w}.c"));
        build(&cc, &src, "MALLOC", &[], &out.join(format!("{w}-malloc")));
        if let Some(flags) = &bdwgc {
            bdwgc_built &= build(&cc, &src, "BDWGC", flags, &out.join(format!("{w}-bdwgc")));
        }
    }
    for (w, lib, backend) in [
        ("binary_trees", "capgc_peer_binary_trees", "BACKEND_CAPGC"),
        ("gcbench", "capgc_peer_gcbench", "BACKEND_CAPGC"),
        // The same programs on the fast path (capgc_fast.h).
        (
            "binary_trees",
            "capgc_peer_binary_trees_fast",
            "BACKEND_CAPGC_FAST",
        ),
        ("gcbench", "capgc_peer_gcbench_fast", "BACKEND_CAPGC_FAST"),
    ] {
        // The flags of `make -C c-api bench-programs`, no debug
        // information or frame pointers (cc's defaults).
        cc::Build::new()
            .file(Path::new("c").join(format!("{w}.c")))
            .include("../c-api/include")
            .define(backend, None)
            .define("main", lib)
            .flag("-std=c11")
            .opt_level(2)
            .debug(false)
            .force_frame_pointer(false)
            .warnings(false)
            .compile(lib);
    }
    // The Scheme interpreter of bindings/scheme, whole, its `main`
    // renamed `capgc_scheme_main` (`src/scheme.rs` calls it): the
    // harness's real-VM workload, built with its Makefile's flags.
    let scheme = Path::new("../bindings/scheme/src");
    let mut sources: Vec<PathBuf> = std::fs::read_dir(scheme)
        .expect("bindings/scheme/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    cc::Build::new()
        .files(&sources)
        .include("../c-api/include")
        .define("_POSIX_C_SOURCE", "200809L")
        .define("main", "capgc_scheme_main")
        .flag("-std=c11")
        .opt_level(2)
        .debug(false)
        .force_frame_pointer(false)
        .warnings(false)
        .compile("capgc_scheme");
    println!("cargo:rerun-if-changed=../bindings/scheme/src");
    println!("cargo:rerun-if-changed=../c-api/include/capgc.h");
    println!("cargo:rerun-if-changed=../c-api/include/capgc_fast.h");
    // The tests check the bdwgc peers exactly when they were built.
    println!(
        "cargo:rustc-env=CAPGC_PEERS_BDWGC={}",
        u8::from(bdwgc_built)
    );
}
