//! The C tests: each program in `tests/c/` is compiled with the system C
//! compiler against `include/capgc.h` and the static library, with every
//! warning an error, and run; it must exit 0. (`.ci/run` runs the same
//! programs under valgrind.)
//!
//! `cargo test` builds this crate as an rlib for the test and may leave
//! `libcapgc.a` from an older build, so the test builds the static library
//! itself first, in the profile it runs in: C is never tested against
//! stale code.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/<profile>`, where cargo put `libcapgc.a`.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps")
        .to_path_buf()
}

/// Builds `libcapgc.a` for this profile, once per test process.
fn static_lib() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = lib_dir();
            let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
            let target = dir.parent().expect("target dir");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "-p", "capgc", "--lib", "--target-dir"])
                .arg(target);
            if profile != "debug" {
                cmd.args(["--profile", profile]);
            }
            let status = cmd.status().expect("run cargo build");
            assert!(status.success(), "cargo build -p capgc failed");
            dir.join("libcapgc.a")
        })
        .clone()
}

/// Compiles `tests/c/<name>.c` and returns the executable.
fn build(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = static_lib();
    assert!(lib.is_file(), "{} not built", lib.display());
    let out = lib_dir().join(format!("c-test-{name}"));
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-pthread",
        ])
        .arg("-I")
        .arg(here.join("include"))
        .arg(here.join("tests/c").join(format!("{name}.c")))
        .arg(&lib)
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
            "-o",
        ])
        .arg(&out)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "{name}.c did not compile");
    out
}

fn run(name: &str, args: &[&str]) -> String {
    let exe = build(name);
    let out = Command::new(&exe)
        .args(args)
        .output()
        .expect("run the C test");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn every_function_in_every_mode_and_plan() {
    let out = run("api", &[]);
    assert!(out.contains("configurations ok"), "{out}");
}

#[test]
fn the_misuse_suite() {
    let out = run("misuse", &[]);
    assert!(out.contains("configurations ok"), "{out}");
}
