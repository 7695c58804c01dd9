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

#[test]
fn the_binding_profile_from_c() {
    let out = run("cells", &[]);
    assert!(out.contains("cells: ok"), "{out}");
}

#[test]
fn the_binding_profile_misuse_suite() {
    let out = run("cells_misuse", &[]);
    assert!(out.contains("heap intact (unchecked, checked)"), "{out}");
}

#[test]
fn compartments_sealing_and_the_attacks() {
    let out = run("compartments", &[]);
    assert!(out.contains("configurations ok"), "{out}");
}

/// Compiles a workload of `benches/c` against capgc.h.
fn build_workload(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = lib_dir().join(format!("c-workload-{name}"));
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args([
            "-std=c11",
            "-O2",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-DBACKEND_CAPGC",
            "-I",
        ])
        .arg(here.join("include"))
        .arg(here.join("../benches/c").join(format!("{name}.c")))
        .arg(static_lib())
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

const MODES: [&str; 5] = ["native", "p128", "morello", "cheri-v9", "riscv-std"];
const PLANS: [&str; 3] = ["marksweep", "semispace", "generational"];

fn run_workload(exe: &Path, args: &[&str]) -> String {
    let out = Command::new(exe).args(args).output().expect("run");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// binary-trees in C on capgc.h prints the benchmark's checksums under
/// every plan and mode.
#[test]
fn binary_trees_in_c_every_plan_and_mode() {
    let exe = build_workload("binary_trees");
    let depth = 8u32;
    let min = 4;
    let size = |d: u32| (1u64 << (d + 1)) - 1;
    let mut want = format!(
        "stretch tree of depth {}\t check: {}\n",
        depth + 1,
        size(depth + 1)
    );
    for d in (min..=depth).step_by(2) {
        let it = 1u64 << (depth - d + min);
        want += &format!("{it}\t trees of depth {d}\t check: {}\n", it * size(d));
    }
    want += &format!(
        "long lived tree of depth {depth}\t check: {}\n",
        size(depth)
    );
    for m in MODES {
        for p in PLANS {
            assert_eq!(run_workload(&exe, &[m, p, "8"]), want, "{m} {p}");
        }
    }
}

/// GCBench in C on capgc.h builds every tree and keeps its long-lived
/// data, under every plan and mode (scaled down: stretch depth 12, and 8,
/// where the array is at its minimum length and the checksum's probe at
/// element 1000 is its last element: an out-of-bounds probe is refused in
/// SoftCheri).
#[test]
fn gcbench_in_c_every_plan_and_mode() {
    let exe = build_workload("gcbench");
    let size = |d: u32| (1u64 << (d + 1)) - 1;
    for stretch in [12u32, 8] {
        let mut want = String::new();
        for d in (4..=stretch - 2).step_by(2) {
            want += &format!("depth {d}: {} trees\n", 2 * (2 * size(stretch) / size(d)));
        }
        want += &format!("long lived tree: {} nodes\n", size(stretch - 2));
        want += &format!("array[1000] = {:.10}\n", 1.0 / 1000.0);
        for m in MODES {
            for p in PLANS {
                let got = run_workload(&exe, &[m, p, &stretch.to_string()]);
                assert_eq!(got, want, "{m} {p} stretch {stretch}");
            }
        }
    }
}

/// Every C block of `docs/porting.md` is a complete program that compiles
/// against capgc.h and runs to exit 0.
#[test]
fn porting_guide_snippets_compile_and_run() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let guide = std::fs::read_to_string(here.join("../docs/porting.md")).expect("porting.md");
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in guide.lines() {
        match (&mut cur, line.trim_end()) {
            (None, "```c") => cur = Some(String::new()),
            (Some(_), "```") => blocks.push(cur.take().unwrap_or_default()),
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(blocks.len() >= 4, "the guide has its examples");
    for (i, src) in blocks.iter().enumerate() {
        let dir = lib_dir();
        let c = dir.join(format!("porting-{i}.c"));
        let exe = dir.join(format!("porting-{i}"));
        std::fs::write(&c, src).expect("write snippet");
        let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
            .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
            .arg(here.join("include"))
            .arg(&c)
            .arg(static_lib())
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
            .arg(&exe)
            .status()
            .expect("run the C compiler");
        assert!(status.success(), "porting.md block {i} does not compile");
        let out = Command::new(&exe).output().expect("run snippet");
        assert!(
            out.status.success(),
            "porting.md block {i} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// GC zeal finds a missing root (docs/porting.md): a reference kept in a
/// C local across an allocation passes unnoticed in a normal run; under
/// zeal (a collection at every allocation) SoftCheri refuses it as stale,
/// and the unchecked modes refuse the dead object's address.
#[test]
fn zeal_finds_a_missing_root() {
    let out = run("zeal", &["normal"]);
    assert!(out.contains("zeal normal: 15 configurations ok"), "{out}");
    let exe = build("zeal");
    let z = Command::new(&exe).arg("zeal").output().expect("run");
    let stdout = String::from_utf8_lossy(&z.stdout);
    let stderr = String::from_utf8_lossy(&z.stderr);
    assert!(z.status.success(), "{stdout}{stderr}");
    assert!(
        stdout.contains("zeal zeal: 15 configurations ok"),
        "{stdout}"
    );
    assert!(
        stdout.contains("morello/semispace zeal: CAPGC_E_STALE"),
        "{stdout}"
    );
    // The unchecked modes: the ABI refuses the dead object's address
    // (NOT_AN_OBJECT) or the verifier reports it (CORRUPT, on stderr).
    for line in stdout
        .lines()
        .filter(|l| l.starts_with("native/") || l.starts_with("p128/"))
    {
        assert!(
            line.contains("CAPGC_E_NOT_AN_OBJECT") || line.contains("CAPGC_E_CORRUPT"),
            "{line}"
        );
        if line.contains("CAPGC_E_CORRUPT") {
            assert!(
                stderr.contains("capgc zeal: heap verification failed"),
                "{stderr}"
            );
        }
    }
}
