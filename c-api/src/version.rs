//! The ABI version: `CAPGC_VERSION_MAJOR/MINOR/PATCH` in the header (what
//! a program was compiled against) and `capgc_version()` (what it runs
//! on).
//!
//! **Compatibility rule.** The version is the C ABI's, and it is the
//! `capgc` crate's version (a test keeps them equal):
//! - **MAJOR** changes when anything a compiled program relies on changes
//!   or goes: a function removed or its signature or meaning changed, a
//!   struct's layout, an enum value or status code renumbered or
//!   removed. The shared library's SONAME is `libcapgc.so.MAJOR`, so a
//!   program never loads a library of another major version.
//! - **MINOR** changes when the ABI only grows: new functions, new status
//!   codes, new enum values, new `capgc_config_t` values accepted. A
//!   program built against `X.Y` runs on any `X.Z` with `Z >= Y`
//!   (`capgc_version()` tells it which it got); code that switches over
//!   statuses must expect codes it does not know (`capgc_status_name`
//!   names them).
//! - **PATCH** changes for fixes that leave the ABI as it is.
//!
//! A status code never changes its number; a struct the library fills is
//! never grown within a major version.

use std::ffi::c_char;

/// The major version of the ABI `capgc.h` declares (the SONAME's number).
pub const CAPGC_VERSION_MAJOR: u32 = 1;
/// The minor version: grows when functions, statuses or enum values are
/// added.
pub const CAPGC_VERSION_MINOR: u32 = 1;
/// The patch version: fixes that leave the ABI unchanged.
pub const CAPGC_VERSION_PATCH: u32 = 0;
/// The version as one number, `MAJOR << 16 | MINOR << 8 | PATCH`, the
/// form `capgc_version()` returns (compare
/// `capgc_version() >> 16 == CAPGC_VERSION_MAJOR`).
pub const CAPGC_VERSION: u32 =
    (CAPGC_VERSION_MAJOR << 16) | (CAPGC_VERSION_MINOR << 8) | CAPGC_VERSION_PATCH;

/// The version of the library actually loaded, `MAJOR << 16 | MINOR << 8
/// | PATCH` (`CAPGC_VERSION` is the header's). A program built against
/// `X.Y` needs `capgc_version() >> 16 == X` and `capgc_version() >> 8 >=
/// CAPGC_VERSION >> 8` (the minor version compared with the major one
/// above it: a bare `>= CAPGC_VERSION_MINOR` is always true, and a
/// warning, when the minor version is 0).
#[no_mangle]
pub extern "C" fn capgc_version() -> u32 {
    CAPGC_VERSION
}

/// The loaded library's version as a string, `"1.1.0"`. Static storage.
#[no_mangle]
pub extern "C" fn capgc_version_string() -> *const c_char {
    VERSION_STRING.as_ptr().cast()
}

/// `"MAJOR.MINOR.PATCH\0"`, the crate's version.
const VERSION_STRING: &[u8] = concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes();

#[cfg(test)]
mod tests {
    use super::*;

    /// The header's constants, the crate's version (which names the
    /// SONAME in build.rs and the files `make install` writes) and the
    /// string agree.
    #[test]
    fn the_constants_are_the_crates_version() {
        let part = |s: &str| s.parse::<u32>().expect("a number");
        assert_eq!(CAPGC_VERSION_MAJOR, part(env!("CARGO_PKG_VERSION_MAJOR")));
        assert_eq!(CAPGC_VERSION_MINOR, part(env!("CARGO_PKG_VERSION_MINOR")));
        assert_eq!(CAPGC_VERSION_PATCH, part(env!("CARGO_PKG_VERSION_PATCH")));
        let s = std::str::from_utf8(&VERSION_STRING[..VERSION_STRING.len() - 1]).expect("utf-8");
        assert_eq!(
            s,
            format!("{CAPGC_VERSION_MAJOR}.{CAPGC_VERSION_MINOR}.{CAPGC_VERSION_PATCH}")
        );
        assert_eq!(capgc_version() >> 16, CAPGC_VERSION_MAJOR);
        assert_eq!(capgc_version() >> 8 & 0xff, CAPGC_VERSION_MINOR);
    }
}
