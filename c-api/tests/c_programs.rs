//! The C tests: each program in `tests/c/` is compiled with the system C
//! compiler against `include/capgc.h` and the static library, with every
//! warning an error, and run; it must exit 0. (`.ci/run` runs the same
//! programs under valgrind.)
//!
//! `cargo test` builds this crate as an rlib for the test and may leave
//! `libcapgc.a` from an older build, so the test builds the static library
//! itself first, in the profile it runs in: C is never tested against
//! stale code.
//!
//! Under AddressSanitizer (`.ci/run`: `RUSTFLAGS=-Zsanitizer=address`,
//! `--target x86_64-unknown-linux-gnu`) the library is built for that
//! target with the same flags, and `CAPGC_C_SANITIZE=address` compiles
//! the C programs with `-fsanitize=address` too, so both sides of the
//! boundary are checked.

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
            let mut target = dir.parent().expect("target dir");
            let mut cmd = Command::new(env!("CARGO"));
            // `target/<triple>/<profile>` when built with `--target`: the
            // target dir (it has cargo's CACHEDIR.TAG) is one up.
            if !target.join("CACHEDIR.TAG").is_file() {
                if let (Some(triple), Some(up)) = (target.file_name(), target.parent()) {
                    if up.join("CACHEDIR.TAG").is_file() {
                        cmd.arg("--target").arg(triple);
                        target = up;
                    }
                }
            }
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

/// The C compiler, with `-fsanitize=<CAPGC_C_SANITIZE>` when set.
fn cc() -> Command {
    let mut cmd = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()));
    if let Ok(s) = std::env::var("CAPGC_C_SANITIZE") {
        cmd.arg(format!("-fsanitize={s}"))
            .arg("-fno-omit-frame-pointer");
    }
    cmd
}

/// Compiles `tests/c/<name>.c` and returns the executable.
fn build(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = static_lib();
    assert!(lib.is_file(), "{} not built", lib.display());
    let out = lib_dir().join(format!("c-test-{name}"));
    let status = cc()
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

/// A trace callback's view and visitor kept past their callback answer
/// `CAPGC_E_WRONG_PHASE` from every function (after the collection, in
/// another callback, from another thread), in every mode and plan.
#[test]
fn kept_views_and_visitors_are_refused() {
    let out = run("kept_views", &[]);
    assert!(out.contains("kept views: 15 configurations ok"), "{out}");
}

#[test]
fn the_binding_profile_from_c() {
    let out = run("cells", &[]);
    assert!(out.contains("cells: ok"), "{out}");
}

/// Compartments in the binding profile: the current compartment, the
/// per-pair report, strict stores and every misuse, Native and P128,
/// unchecked and checked.
#[test]
fn the_binding_profiles_compartments() {
    let out = run("cell_compartments", &[]);
    assert!(
        out.contains("cell compartments: 4 configurations ok"),
        "{out}"
    );
}

#[test]
fn the_binding_profile_misuse_suite() {
    let out = run("cells_misuse", &[]);
    assert!(out.contains("heap intact (unchecked, checked)"), "{out}");
}

/// Exact bounds, byte for byte (#24): every length 0..=4096 and around
/// each format's limit, records and double arrays, before and after
/// collections, in every configuration (bounds checked in SoftCheri).
#[test]
fn exact_bounds_in_every_configuration() {
    let out = run("exact_bounds", &[]);
    assert!(out.contains("exact bounds: 15 configurations ok"), "{out}");
}

/// The fast path (`capgc_fast.h`): trees, collections and the verifier,
/// the inline barrier, the shadow stack, and every new entry attacked.
#[test]
fn the_fast_path_and_its_attacks() {
    let out = run("fast", &[]);
    assert!(out.contains("fast path: 15 configurations ok"), "{out}");
}

#[test]
fn compartments_sealing_and_the_attacks() {
    let out = run("compartments", &[]);
    assert!(out.contains("configurations ok"), "{out}");
}

#[test]
fn the_slot_forms_and_their_misuse() {
    let out = run("slot_forms", &[]);
    assert!(out.contains("slot forms: 15 configurations ok"), "{out}");
}

/// The version macros agree with `capgc_version()`, and a failing call's
/// message is what the printf idiom prints, in either evaluation order.
#[test]
fn the_version_and_error_messages() {
    let out = run("version_errors", &[]);
    assert!(
        out.starts_with("CAPGC_E_NULL_REFERENCE ") && out.contains("errors: ok"),
        "{out}"
    );
    let major = env!("CARGO_PKG_VERSION_MAJOR");
    assert!(
        out.contains(&format!("version {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
    // The shared library's SONAME follows the major version.
    let so = lib_dir().join("libcapgc.so");
    let dynamic = Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .expect("run readelf");
    let dynamic = String::from_utf8_lossy(&dynamic.stdout);
    assert!(
        dynamic.contains(&format!("[libcapgc.so.{major}]")),
        "{}: {dynamic}",
        so.display()
    );
}

/// Compiles a workload of `benches/c` against capgc.h.
fn build_workload(name: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = lib_dir().join(format!("c-workload-{name}"));
    let status = cc()
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

/// The ```c blocks of a markdown file of the repository.
fn c_blocks(doc: &str) -> Vec<String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(here.join("..").join(doc)).expect(doc);
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
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
    blocks
}

/// Compiles every C block of `doc` against capgc.h and the static
/// library and runs it to exit 0; returns their outputs.
fn compile_and_run_blocks(doc: &str, tag: &str) -> Vec<String> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut outs = Vec::new();
    for (i, src) in c_blocks(doc).iter().enumerate() {
        let dir = lib_dir();
        let c = dir.join(format!("{tag}-{i}.c"));
        let exe = dir.join(format!("{tag}-{i}"));
        std::fs::write(&c, src).expect("write snippet");
        let status = cc()
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
        assert!(status.success(), "{doc} block {i} does not compile");
        let out = Command::new(&exe).output().expect("run snippet");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{doc} block {i} failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        outs.push(stdout);
    }
    outs
}

/// Every C block of `docs/porting.md` is a complete program that compiles
/// against capgc.h and runs to exit 0.
#[test]
fn porting_guide_snippets_compile_and_run() {
    let outs = compile_and_run_blocks("docs/porting.md", "porting");
    assert!(
        outs.len() >= 8,
        "the guide has its examples: {}",
        outs.len()
    );
}

/// The guide's examples use no literal offsets: every reference-slot
/// offset is computed from the slot size (`capgc_heap_slot_size`).
#[test]
fn porting_guide_snippets_have_no_literal_offsets() {
    let accessor = by_value_accessors();
    for (i, src) in c_blocks("docs/porting.md").iter().enumerate() {
        for line in src.lines() {
            for call in &accessor {
                if let Some(at) = line.find(call) {
                    let args: Vec<&str> = line[at + call.len()..].split(',').collect();
                    // (heap, ref, OFFSET, …) for by-value accessors.
                    if let Some(off) = args.get(2) {
                        let off = off.trim();
                        assert!(
                            off.parse::<u64>().map_or(true, |v| v == 0),
                            "porting.md block {i}: literal offset in `{}`",
                            line.trim()
                        );
                    }
                }
            }
        }
    }
}

/// The by-value field accessors whose third argument is an offset.
fn by_value_accessors() -> Vec<String> {
    ["read", "write"]
        .iter()
        .flat_map(|rw| {
            ["u8", "u32", "u64", "f64"]
                .iter()
                .map(move |t| format!("capgc_{rw}_{t}("))
        })
        .chain(["capgc_get_ref(".to_string(), "capgc_set_ref(".to_string()])
        .collect()
}

/// README's C quick start compiles and runs as printed.
#[test]
fn readme_quick_start_compiles_and_runs() {
    let outs = compile_and_run_blocks("README.md", "readme");
    assert_eq!(outs.len(), 1, "README has one C program");
    assert!(
        outs[0].contains("head 1000; out of bounds: CAPGC_E_BOUNDS"),
        "{}",
        outs[0]
    );
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

/// docs/porting.md §3d as machine code: `jit.c` emits the inline
/// allocation and the reference store with its barrier filter from
/// capgc.h's published constants into an executable page and runs
/// binary-trees through them in every plan (Native, P128; the verifier
/// after every collection), against capgc_fast.h's checksum; SoftCheri
/// must lend nothing. x86-64 only (elsewhere it says it skipped).
#[test]
fn the_jit_sequences_run_as_machine_code() {
    let out = run("jit", &[]);
    if cfg!(target_arch = "x86_64") {
        assert!(out.contains("jit: 15 configurations ok"), "{out}");
    } else {
        assert!(out.contains("jit: skipped"), "{out}");
    }
}
