//! Lua 5.4 on CapGC against stock Lua: every script in `tests/scripts/`
//! runs on `lua-stock` and `lua-capgc` with the same output and status,
//! and on `lua-capgc` in the checked mode (every traced pointer checked,
//! the heap verified after every collection); the front end's options;
//! a C module through `require`; a C program through Lua's C API on both
//! libraries; the `capgc` library's compartments (`tests/capgc/`, on
//! lua-capgc only).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const CAPGC: &str = env!("CARGO_BIN_EXE_lua-capgc");
const STOCK: &str = env!("CARGO_BIN_EXE_lua-stock");

fn here() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn lua(bin: &str, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .current_dir(here().join("tests/scripts"))
        .env("LUA_MEMLIMIT", "64M")
        .env("CAPGC_LUA_LIMIT", "64M")
        .env_remove("LUA_INIT")
        .env_remove("CAPGC_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("run lua");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(s) = stdin {
        // A program that never reads its stdin may exit first.
        if let Err(e) = input.write_all(s.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
        }
    }
    drop(input);
    child.wait_with_output().expect("lua output")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
            .replace(CAPGC, "lua")
            .replace(STOCK, "lua")
    )
}

fn scripts() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(here().join("tests/scripts"))
        .expect("tests/scripts")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lua"))
        .collect();
    v.sort();
    assert!(v.len() >= 8, "{v:?}");
    v
}

#[test]
fn every_script_behaves_as_on_stock_lua() {
    for s in scripts() {
        for mode in ["generational", "incremental"] {
            let env = [("LUA_GC_MODE", mode)];
            let stock = text(&lua(STOCK, &[&s], &env, None));
            let capgc = text(&lua(CAPGC, &[&s], &env, None));
            assert!(stock.starts_with("status Some(0)"), "{s} on stock: {stock}");
            assert_eq!(stock, capgc, "{s} ({mode}): stock vs capgc");
        }
    }
}

/// The `capgc` library (compartments, sandboxes, the report, strict
/// mode) and the attack paths (`tests/capgc/`), on lua-capgc only, in both GC modes,
/// unchecked and checked; stock Lua has no such library.
#[test]
fn compartments_from_lua() {
    for (s, done) in [
        ("../capgc/compartments.lua", "compartments: ok"),
        ("../capgc/attacks.lua", "attacks: ok"),
        ("../capgc/strict.lua", "strict: ok"),
    ] {
        for mode in ["generational", "incremental"] {
            for checked in ["0", "1"] {
                let env = [("LUA_GC_MODE", mode), ("CAPGC_LUA_CHECKED", checked)];
                let out = text(&lua(CAPGC, &[s], &env, None));
                assert!(
                    out.starts_with("status Some(0)") && out.contains(done),
                    "{s} ({mode}, checked {checked}): {out}"
                );
            }
        }
    }
    // Stock Lua has no `capgc` module: require fails there, as it should.
    let stock = text(&lua(STOCK, &["-e", "require 'capgc'"], &[], None));
    assert!(stock.contains("module 'capgc' not found"), "{stock}");
}

#[test]
fn every_script_passes_in_the_checked_mode() {
    for s in scripts() {
        for mode in ["generational", "incremental"] {
            let env = [("LUA_GC_MODE", mode)];
            let stock = text(&lua(STOCK, &[&s], &env, None));
            let checked_env = [("LUA_GC_MODE", mode), ("CAPGC_LUA_CHECKED", "1")];
            let checked = text(&lua(CAPGC, &[&s], &checked_env, None));
            assert_eq!(stock, checked, "{s} ({mode}): stock vs checked capgc");
        }
    }
}

#[test]
fn the_front_end_options_and_exit_codes() {
    let cases: &[(&[&str], Option<&str>)] = &[
        (&["-e", "print(1 + 1)"], None),
        (&["-v"], None),
        (&["-e", "x = 5", "-e", "print(x * 2)"], None),
        (&["-l", "string", "-e", "print(type(string))"], None),
        (&["-l", "s=string", "-e", "print(s.upper('hi'))"], None),
        (&["-"], Some("print('from stdin', ...)")),
        (&["-", "a", "b"], Some("print(...)")),
        (&["-e", "print(#arg, arg[0], arg[1], arg[-1])", "churn.lua", "x"], None),
        (&["-e", "error('boom')"], None),
        (&["-e", "error({})"], None),
        (&["-e", "local t = setmetatable({}, {__tostring = function() return 'custom' end}) error(t)"], None),
        (&["no-such-file.lua"], None),
        (&["-x"], None),
        (&["-e"], None),
        (&["-i"], Some("x = 40\nx + 2\nfunction f()\nreturn 7 end\nf()\n")),
        (&["-W", "-e", "warn('hello')"], None),
        (&["-e", "os.exit(3)"], None),
        (&["-e", "os.exit(false)"], None),
        (&["-E", "-e", "print(package.path ~= nil)"], None),
        (&["--", "churn.lua"], None),
        // '--' ends the options; with nothing after it there is no script,
        // so stdin is read as for 'lua' alone (upstream's fix after 5.4.8:
        // lua.c read argv[argc] and crashed).
        (&["--"], Some("print('stdin after --', #arg, arg[1])")),
        (&["-e", "x = 1", "--"], Some("print('not read: -e given')")),
        (&["-v", "--"], None),
        (&["-E", "--"], Some("print(1)")),
        (&["-W", "--"], Some("warn('w')")),
        (&["-i", "--"], Some("print('repl')\n")),
        (&["--", "-"], None), // after '--', '-' is a file named "-"
        (&["--", "churn.lua", "a", "b"], None),
        (&["--", "--"], None),
        (&["---"], None),
        (&["--x"], None),
        (&["-", "--"], Some("print(...)")),
        (&["-e", "print(#arg, arg[1])", "--", "-x"], None),
        (&["-l"], None),
        (&["-l", "-e"], None),
        (&["-ex=1"], None),
        (&["-vx"], None),
        (&["-E", "-v", "-W", "-e", "print(1)", "-l", "string", "--", "churn.lua"], None),
    ];
    for (args, stdin) in cases {
        let out = lua(CAPGC, args, &[], *stdin);
        assert!(
            out.status.code().is_some(),
            "lua {args:?} died of a signal: {}",
            text(&out)
        );
        let stock = text(&lua(STOCK, args, &[], *stdin));
        let capgc = text(&lua(CAPGC, args, &[], *stdin)).replace(" (collector: CapGC)", "");
        assert_eq!(stock, capgc, "lua {args:?}");
    }
    let e = text(&lua(CAPGC, &["-e", "error('boom')"], &[], None));
    assert!(
        e.starts_with("status Some(1)") && e.contains("stack traceback"),
        "{e}"
    );
    assert!(text(&lua(CAPGC, &["-v"], &[], None)).contains("Lua 5.4"));
    let dashdash = text(&lua(
        CAPGC,
        &["--"],
        &[],
        Some("print('stdin', #arg, arg[1])"),
    ));
    assert!(
        dashdash.starts_with("status Some(0)") && dashdash.contains("stdin\t1\t--"),
        "{dashdash}"
    );
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CAPGC_LUA_OUT_DIR"))
}

#[test]
fn require_loads_a_c_module() {
    let so = out_dir().join("cmod.so");
    let st = Command::new(cc())
        .args(["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I"])
        .arg(env!("CAPGC_LUA_INCLUDE"))
        .arg(here().join("tests/c/cmod.c"))
        .arg("-o")
        .arg(&so)
        .status()
        .expect("cc");
    assert!(st.success());
    let cpath = format!("{}/?.so", out_dir().display());
    let code = format!("package.cpath = '{cpath}' local m = require('cmod') print(m.twice(21))");
    for bin in [STOCK, CAPGC] {
        let o = lua(bin, &["-e", &code], &[], None);
        assert_eq!(String::from_utf8_lossy(&o.stdout), "42\n", "{}", text(&o));
    }
}

/// `target/<profile>`, where cargo puts `libcapgc.a`.
fn profile_dir() -> PathBuf {
    Path::new(CAPGC)
        .parent()
        .expect("target/<profile>")
        .to_path_buf()
}

fn libcapgc() -> PathBuf {
    let dir = profile_dir();
    let profile = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "-p", "capgc", "--lib", "--target-dir"])
        .arg(dir.parent().expect("target"));
    if profile != "debug" {
        cmd.args(["--profile", &profile]);
    }
    assert!(cmd.status().expect("cargo build").success());
    dir.join("libcapgc.a")
}

/// Compiles `tests/c/{name}.c` (Lua's headers and `include`s on the path)
/// against `liblua-{flavour}.a` (and, for lua-capgc, `libcapgc.a`), runs
/// it and asserts it compiled and exited 0; returns its output.
fn run_c_program(name: &str, flavour: &str, include: &[PathBuf]) -> Output {
    let exe = profile_dir().join(format!("lua-c-test-{name}-{flavour}"));
    let mut cmd = Command::new(cc());
    cmd.args(["-std=c11", "-O1", "-g", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(env!("CAPGC_LUA_INCLUDE"));
    for dir in include {
        cmd.arg("-I").arg(dir);
    }
    cmd.arg(here().join(format!("tests/c/{name}.c")))
        .arg(out_dir().join(format!("liblua-{flavour}.a")));
    if flavour == "capgc" {
        cmd.arg(libcapgc());
    }
    cmd.args([
        "-lgcc_s",
        "-lutil",
        "-lrt",
        "-lpthread",
        "-lm",
        "-ldl",
        "-lc",
        "-o",
    ])
    .arg(&exe);
    assert!(
        cmd.status().expect("cc").success(),
        "{name}.c ({flavour}) did not compile"
    );
    let o = Command::new(&exe).output().expect("run the C program");
    assert!(o.status.success(), "{name} ({flavour}): {}", text(&o));
    o
}

#[test]
fn the_c_api_on_both_libraries() {
    let mut outs = Vec::new();
    for flavour in ["stock", "capgc"] {
        let o = run_c_program("capi", flavour, &[]);
        outs.push(String::from_utf8_lossy(&o.stdout).into_owned());
    }
    assert!(outs[0].contains("references survived: yes"), "{}", outs[0]);
    assert!(outs[0].contains("closing box 3"), "{}", outs[0]);
    assert_eq!(outs[0], outs[1], "stock vs capgc");
}

/// An embedder's C program runs Lua code in a compartment
/// (`lcapgc_pcall_in`, `luaopen_capgc`: `src/lcapgc.h`), lua-capgc only.
#[test]
fn an_embedder_runs_code_in_a_compartment() {
    let o = run_c_program("embed", "capgc", &[here().join("src")]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("embed: ok"));
}
