//! Gives the shared library its SONAME, `libcapgc.so.MAJOR`, MAJOR being
//! the crate's (= the ABI's, `CAPGC_VERSION_MAJOR`) major version, so that
//! programs linked against an installed libcapgc only ever load a library
//! of the ABI they were built for (`src/version.rs` has the rule).

fn main() {
    let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libcapgc.so.{major}");
}
