//! Builds Lua 5.4 twice from the `lua-src` crate's sources:
//! `liblua-stock.a`, every file as released with Lua's own collector, and
//! `liblua-capgc.a`, every file but `lgc.c` plus `src/lgc_capgc.c`, Lua's
//! collector interface on CapGC's binding profile. The front end
//! (`src/front.c`) is compiled once per library, and each binary links
//! its pair whole, with the Lua API exported for C modules.
//!
//! lua-capgc's sources are a copy in `OUT_DIR/lua-capgc-src` with one
//! change, made by [`patch_barriers`]: the two barrier macros of `lgc.h`
//! also take the slow path for an object whose `STRICTBIT` is set (bit 7
//! of `marked`, stock's test-only bit), so that strict compartments
//! (`lcapgc.c`'s `capgc.strict`) see every store Lua's barriers cover.
//! Every other line of Lua is compiled as released; the stock build
//! reads the crate's own directory.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo metadata` for this package's workspace, offline if it can.
///
/// Offline needs every package of the workspace's graph downloaded, which
/// a fresh clone building only this crate (`cargo build -p capgc-lua`)
/// has not done: then it asks again online, which downloads what is
/// missing (cargo released its package lock before running build scripts).
fn cargo_metadata(manifest: &str, target: &str) -> Vec<u8> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let run = |offline: bool| {
        let mut cmd = Command::new(&cargo);
        cmd.args([
            "metadata",
            "--format-version",
            "1",
            "--filter-platform",
            target,
        ]);
        if offline {
            cmd.arg("--offline");
        }
        cmd.current_dir(manifest)
            .output()
            .expect("run cargo metadata")
    };
    let offline = run(true);
    if offline.status.success() {
        return offline.stdout;
    }
    let online = run(false);
    assert!(
        online.status.success(),
        "cargo metadata failed offline ({}) and online ({})",
        String::from_utf8_lossy(&offline.stderr).trim(),
        String::from_utf8_lossy(&online.stderr).trim()
    );
    online.stdout
}

/// `lua-src`'s Lua 5.4 source directory, from `cargo metadata`.
fn lua_sources() -> PathBuf {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    let target = std::env::var("TARGET").expect("TARGET");
    let out = cargo_metadata(&manifest, &target);
    let meta: serde_json::Value = serde_json::from_slice(&out).expect("cargo metadata JSON");
    let pkg = meta["packages"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "lua-src"))
        .expect("lua-src in the dependency graph");
    let dir = Path::new(pkg["manifest_path"].as_str().expect("manifest_path"))
        .parent()
        .expect("lua-src's directory")
        .join("lua-5.4.9");
    assert!(
        dir.join("lgc.c").is_file(),
        "no Lua 5.4.9 sources in {}",
        dir.display()
    );
    dir
}

/// The barrier macros of Lua 5.4.9's `lgc.h`, as released.
const BARRIERS: &str = "#define luaC_objbarrier(L,p,o) (  \\
\t(isblack(p) && iswhite(o)) ? \\
\tluaC_barrier_(L,obj2gco(p),obj2gco(o)) : cast_void(0))";
const BARRIERS_BACK: &str = "#define luaC_objbarrierback(L,p,o) (  \\
\t(isblack(p) && iswhite(o)) ? luaC_barrierback_(L,p) : cast_void(0))";

/// lua-capgc's barriers: the slow path also for an object marked
/// `STRICTBIT` (every object while strict compartments are on); the back
/// barrier passes the value (`luaC_barrierbackv_`, lgc_capgc.c). With no
/// object marked, the test is the released one with a wider mask.
const STRICT_BARRIERS: &str =
    "/* lua-capgc (build.rs): stores into an object with STRICTBIT set take
** the slow path, where strict compartments check them (lgc_capgc.c). */
#define STRICTBIT\t7
#define luaC_strictslow(p,o) \\
\t(testbits((p)->marked, bitmask(BLACKBIT) | bitmask(STRICTBIT)) && \\
\t (iswhite(o) || testbit((p)->marked, STRICTBIT)))
#define luaC_objbarrier(L,p,o) (  \\
\tluaC_strictslow(p,o) ? \\
\tluaC_barrier_(L,obj2gco(p),obj2gco(o)) : cast_void(0))";
const STRICT_BARRIERS_BACK: &str =
    "LUAI_FUNC void luaC_barrierbackv_ (lua_State *L, GCObject *o, GCObject *v);
#define luaC_objbarrierback(L,p,o) (  \\
\tluaC_strictslow(p,o) ? luaC_barrierbackv_(L,p,obj2gco(o)) : cast_void(0))";

/// Copies Lua's sources into `dst` with `lgc.h`'s barriers replaced by
/// [`STRICT_BARRIERS`] (the module docs); panics if `lgc.h` is not the
/// one these were written against.
fn patch_barriers(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("the patched sources' directory");
    for e in std::fs::read_dir(src).expect("read the Lua sources") {
        let p = e.expect("directory entry").path();
        if p.extension().is_some_and(|x| x == "c" || x == "h") {
            let to = dst.join(p.file_name().expect("a file name"));
            let text = std::fs::read_to_string(&p).expect("read a Lua source");
            let text = if p.ends_with("lgc.h") {
                assert!(
                    text.matches(BARRIERS).count() == 1 && text.matches(BARRIERS_BACK).count() == 1,
                    "lgc.h's barrier macros are not Lua 5.4.9's: update build.rs"
                );
                text.replace(BARRIERS, STRICT_BARRIERS)
                    .replace(BARRIERS_BACK, STRICT_BARRIERS_BACK)
            } else {
                text
            };
            if std::fs::read_to_string(&to).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&to, text).expect("write a patched Lua source");
            }
        }
    }
}

fn base(src: &Path, out: &Path) -> cc::Build {
    let mut b = cc::Build::new();
    b.include(src)
        .define("LUA_USE_LINUX", None)
        .define("LUA_COMPAT_5_3", None)
        .opt_level(2)
        .debug(true)
        .warnings(false)
        .flag_if_supported("-fno-common")
        .cargo_metadata(false)
        .out_dir(out);
    b
}

fn main() {
    let src = lua_sources();
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let capgc_include = here.join("../../c-api/include");
    let mut lua_files: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("read the Lua sources")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .filter(|p| {
            !matches!(
                p.file_name().and_then(|n| n.to_str()),
                Some("lua.c" | "luac.c")
            )
        })
        .collect();
    lua_files.sort();

    // Stock: every file.
    base(&src, &out).files(&lua_files).compile("lua-stock");
    // CapGC: every file but lgc.c, plus our collector, from the copy with
    // the strict barriers.
    let strict_src = out.join("lua-capgc-src");
    patch_barriers(&src, &strict_src);
    base(&strict_src, &out)
        .files(
            lua_files
                .iter()
                .filter(|p| !p.ends_with("lgc.c"))
                .map(|p| strict_src.join(p.file_name().expect("a file name"))),
        )
        .file(here.join("src/lgc_capgc.c"))
        .file(here.join("src/lcapgc.c"))
        .include(&capgc_include)
        .warnings(true)
        .compile("lua-capgc");
    for (flavour, define) in [("capgc", true), ("stock", false)] {
        let mut b = base(if define { &strict_src } else { &src }, &out);
        b.file(here.join("src/front.c")).warnings(true);
        if define {
            b.define("CAPGC_LUA", None).include(&capgc_include);
        }
        b.compile(&format!("lua-front-{flavour}"));
    }
    for (bin, flavour) in [("lua-capgc", "capgc"), ("lua-stock", "stock")] {
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,-E");
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,--whole-archive");
        for lib in [format!("lua-front-{flavour}"), format!("lua-{flavour}")] {
            println!(
                "cargo:rustc-link-arg-bin={bin}={}",
                out.join(format!("lib{lib}.a")).display()
            );
        }
        println!("cargo:rustc-link-arg-bin={bin}=-Wl,--no-whole-archive");
        println!("cargo:rustc-link-arg-bin={bin}=-lm");
        println!("cargo:rustc-link-arg-bin={bin}=-ldl");
    }
    // The drop-in static libraries and Lua's public headers, where `make -C
    // bindings/lua lib` finds them.
    std::fs::create_dir_all(out.join("include")).expect("OUT_DIR/include");
    for h in ["lua.h", "lauxlib.h", "lualib.h", "luaconf.h"] {
        std::fs::copy(src.join(h), out.join("include").join(h)).expect("copy a Lua header");
    }
    println!("cargo:rustc-env=CAPGC_LUA_OUT_DIR={}", out.display());
    println!("cargo:rustc-env=CAPGC_LUA_INCLUDE={}", src.display());
    println!("cargo:rerun-if-changed=src/lgc_capgc.c");
    println!("cargo:rerun-if-changed=src/front.c");
    println!("cargo:rerun-if-changed=src/lcapgc.c");
    println!("cargo:rerun-if-changed=src/lcapgc.h");
    println!("cargo:rerun-if-changed=../../c-api/include/capgc.h");
}
