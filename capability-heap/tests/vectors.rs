//! Every row of every file of the reference vectors (`capability-heap/vectors`,
//! a verbatim copy of `../shared/vectors`), for all three formats, and of
//! the extra rows (`capability-heap/vectors-extra`, a verbatim copy of
//! `../shared/vectors-extra`: inputs the seed-1 set lacks, such as the
//! `128r` malformed-bounds representability rows of issue #31).
//!
//! A custom harness (`harness = false`) so the rows checked per file are
//! always printed. Arguments: optional format directory names (`128`,
//! `128m`, `128r`) to restrict the run; `CAPGC_VECTORS` overrides the
//! vectors directory. A missing vectors directory is a failure, never a skip.

use capability_heap::format::{CheriV9, Format, Morello, RiscvStd};
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A parsed TSV file: header names and rows of raw strings.
struct Table {
    name: String,
    header: HashMap<String, usize>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn load(dir: &Path, fmt: &str, file: &str) -> Table {
        let path = dir.join(fmt).join(file);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let mut lines = text.lines();
        let header = lines
            .next()
            .expect("header line")
            .split('\t')
            .enumerate()
            .map(|(i, h)| (h.to_string(), i))
            .collect();
        let rows = lines
            .filter(|l| !l.is_empty())
            .map(|l| l.split('\t').map(str::to_string).collect())
            .collect();
        Table {
            name: format!("{fmt}/{file}"),
            header,
            rows,
        }
    }

    fn str<'a>(&self, row: &'a [String], col: &str) -> &'a str {
        &row[*self
            .header
            .get(col)
            .unwrap_or_else(|| panic!("{}: no column {col}", self.name))]
    }

    fn hex(&self, row: &[String], col: &str) -> u128 {
        let s = self.str(row, col);
        u128::from_str_radix(s, 16).unwrap_or_else(|e| panic!("{}: {col}={s}: {e}", self.name))
    }

    fn u64(&self, row: &[String], col: &str) -> u64 {
        u64::try_from(self.hex(row, col)).expect("64-bit column")
    }

    fn u32(&self, row: &[String], col: &str) -> u32 {
        u32::try_from(self.hex(row, col)).expect("32-bit column")
    }

    fn flag(&self, row: &[String], col: &str) -> bool {
        self.hex(row, col) != 0
    }

    fn signed(&self, row: &[String], col: &str) -> i32 {
        let s = self.str(row, col);
        match s.strip_prefix('-') {
            Some(m) => -(i32::from_str_radix(m, 16).expect("hex")),
            None => i32::from_str_radix(s, 16).expect("hex"),
        }
    }
}

/// Collects mismatches per file; prints the first few of each.
#[derive(Default)]
struct Report {
    files: usize,
    rows: usize,
    failures: usize,
    /// A format's exact-bounds fast path never answered.
    fast_missing: bool,
}

impl Report {
    fn file<F: Fn(&Table, &[String]) -> Vec<String>>(&mut self, t: &Table, check: F) {
        let mut bad = 0;
        for (i, row) in t.rows.iter().enumerate() {
            let errs = check(t, row);
            if !errs.is_empty() {
                if bad < 5 {
                    println!(
                        "  {} row {} ({}): {}",
                        t.name,
                        i + 2,
                        row.join(" "),
                        errs.join("; ")
                    );
                }
                bad += 1;
            }
        }
        println!(
            "{}: {} rows checked, {} mismatched",
            t.name,
            t.rows.len(),
            bad
        );
        self.files += 1;
        self.rows += t.rows.len();
        self.failures += bad;
    }
}

/// Prints numbers in hex and booleans as 0/1, like the vector files.
struct Hex<T>(T);

macro_rules! hex_display {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for Hex<$t> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{:x}", self.0)
            }
        }
    )*};
}
hex_display!(u32, u64, u128, i32);

impl std::fmt::Display for Hex<bool> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", u8::from(self.0))
    }
}

macro_rules! expect {
    ($errs:ident, $name:literal, $got:expr, $want:expr) => {
        let (g, w) = ($got, $want);
        if g != w {
            $errs.push(format!("{}: got {} want {}", $name, Hex(g), Hex(w)));
        }
    };
}

/// The kinds of vector file, by file-name stem; `vectors-extra` files are
/// named `<kind>_<what>.tsv` (e.g. `representable_malformed.tsv`).
const KINDS: [&str; 6] = [
    "constants",
    "decode",
    "setbounds",
    "crrl_cram",
    "encode",
    "representable",
];

/// The kind of vector file `file` holds: the longest kind its stem starts
/// with.
fn kind_of(file: &str) -> Option<&'static str> {
    let stem = file.strip_suffix(".tsv")?;
    KINDS
        .iter()
        .filter(|k| stem == **k || stem.starts_with(&format!("{k}_")))
        .max_by_key(|k| k.len())
        .copied()
}

/// Checks every row of one file of kind `kind`; `fast_rows` counts the
/// setbounds rows on which `Format::exact_bounds` answered (and was
/// checked): a format whose fast path never answers hides its bugs.
fn check_file<F: Format>(t: &Table, kind: &str, fast_rows: &Cell<u64>, report: &mut Report) {
    match kind {
        "constants" => report.file(t, check_constants::<F>),
        "decode" => report.file(t, check_decode::<F>),
        "setbounds" => report.file(t, |t, row| check_setbounds::<F>(t, row, fast_rows)),
        "crrl_cram" => report.file(t, check_crrl::<F>),
        "encode" => report.file(t, check_encode::<F>),
        "representable" => report.file(t, check_representable::<F>),
        _ => panic!("{}: no check for kind {kind}", t.name),
    }
}

fn check_format<F: Format>(dir: &Path, report: &mut Report) {
    let fmt = F::VECTOR_DIR;
    let fast_rows = Cell::new(0u64);
    for kind in KINDS {
        let t = Table::load(dir, fmt, &format!("{kind}.tsv"));
        check_file::<F>(&t, kind, &fast_rows, report);
    }
    println!(
        "{}: exact_bounds fast path checked on {} setbounds rows",
        F::VECTOR_DIR,
        fast_rows.get()
    );
    report.fast_missing |= fast_rows.get() == 0;
}

/// Every file of `extra/<format>/` (rows beyond the seed-1 set, same
/// columns), checked by the kind its name says; an unknown name fails.
fn check_extra<F: Format>(extra: &Path, report: &mut Report) {
    let fmt = F::VECTOR_DIR;
    let Ok(entries) = std::fs::read_dir(extra.join(fmt)) else {
        return;
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let fast_rows = Cell::new(0u64);
    for name in names {
        let kind = kind_of(&name)
            .unwrap_or_else(|| panic!("vectors-extra/{fmt}/{name}: unknown kind of file"));
        let mut t = Table::load(extra, fmt, &name);
        t.name = format!("vectors-extra/{}", t.name);
        check_file::<F>(&t, kind, &fast_rows, report);
    }
}

fn check_constants<F: Format>(t: &Table, row: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    let name = t.str(row, "name");
    let v = t.hex(row, "value");
    let got: Option<u128> = match name {
        "root_pesbt_mem" => Some(F::ROOT_PESBT.into()),
        "null_pesbt_mem" => Some(F::NULL_PESBT.into()),
        "perms_mask" => Some(F::PERMS_MASK.into()),
        "otype_unsealed" => Some(F::OTYPE_UNSEALED.into()),
        "otype_bits" => Some(F::OTYPE_BITS.into()),
        "mantissa_width" => Some(F::MANTISSA_WIDTH.into()),
        "max_exponent" => Some(F::MAX_EXPONENT.into()),
        "root_perms" => Some(F::perms(F::ROOT_PESBT).into()),
        "null_perms" => Some(F::perms(F::NULL_PESBT).into()),
        "root_base" => Some(F::decode(F::ROOT_PESBT, 0).base.into()),
        "root_top" => Some(F::decode(F::ROOT_PESBT, 0).top),
        "null_base" => Some(F::decode(F::NULL_PESBT, 0).base.into()),
        "null_top" => Some(F::decode(F::NULL_PESBT, 0).top),
        "root_otype" => Some(F::otype(F::ROOT_PESBT).into()),
        "null_otype" => Some(F::otype(F::NULL_PESBT).into()),
        _ => None,
    };
    if let Some(g) = got {
        if g != v {
            errs.push(format!("{name}: got {g:x} want {v:x}"));
        }
    }
    errs
}

fn check_decode<F: Format>(t: &Table, row: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    let d = F::decode(t.u64(row, "pesbt"), t.u64(row, "cursor"));
    expect!(errs, "base", d.base, t.u64(row, "base"));
    expect!(errs, "top", d.top, t.hex(row, "top"));
    expect!(errs, "valid", d.valid, t.flag(row, "valid"));
    expect!(errs, "E", d.e, t.signed(row, "E"));
    expect!(errs, "IE", d.ie, t.flag(row, "IE"));
    expect!(errs, "B", d.b, t.u32(row, "B"));
    expect!(errs, "T", d.t, t.u32(row, "T"));
    expect!(errs, "perms", d.perms, t.u32(row, "perms"));
    expect!(errs, "uperms", d.uperms, t.u32(row, "uperms"));
    expect!(errs, "otype", d.otype, t.u32(row, "otype"));
    expect!(errs, "flags", d.flags, t.u32(row, "flags"));
    expect!(errs, "level", d.level, t.u32(row, "level"));
    expect!(errs, "reserved", d.reserved, t.u64(row, "reserved"));
    expect!(
        errs,
        "perms()",
        F::perms(t.u64(row, "pesbt")),
        t.u32(row, "perms")
    );
    expect!(
        errs,
        "otype()",
        F::otype(t.u64(row, "pesbt")),
        t.u32(row, "otype")
    );
    let (b, tp) = F::bounds(t.u64(row, "pesbt"), t.u64(row, "cursor"));
    expect!(errs, "bounds().base", b, t.u64(row, "base"));
    expect!(errs, "bounds().top", tp, t.hex(row, "top"));
    errs
}

fn check_setbounds<F: Format>(t: &Table, row: &[String], fast_rows: &Cell<u64>) -> Vec<String> {
    let mut errs = Vec::new();
    let r = F::set_bounds(
        t.u64(row, "in_pesbt"),
        t.u64(row, "in_cursor"),
        t.flag(row, "in_tag"),
        t.hex(row, "req_len"),
    );
    expect!(errs, "out_pesbt", r.pesbt, t.u64(row, "out_pesbt"));
    expect!(errs, "out_tag", r.tag, t.flag(row, "out_tag"));
    expect!(errs, "exact", r.exact, t.flag(row, "exact"));
    expect!(errs, "out_base", r.base, t.u64(row, "out_base"));
    expect!(errs, "out_top", r.top, t.hex(row, "out_top"));
    // The fast path (Format::exact_bounds), where its caller's
    // preconditions hold (tagged, unsealed, request within the input's
    // bounds), answers as the row does or defers.
    let (pesbt, cursor, len) = (
        t.u64(row, "in_pesbt"),
        t.u64(row, "in_cursor"),
        t.hex(row, "req_len"),
    );
    let d = F::decode(pesbt, cursor);
    // Unsealed is the format's own constant (v9's is 0x3ffff, not 0).
    let usable = t.flag(row, "in_tag") && F::otype(pesbt) == F::OTYPE_UNSEALED;
    let within = u128::from(cursor) >= u128::from(d.base)
        && u128::from(cursor) + len <= d.top
        && len <= u128::from(u64::MAX);
    if usable && within {
        if let Some(fast) = F::exact_bounds(pesbt, cursor, len as u64) {
            fast_rows.set(fast_rows.get() + 1);
            expect!(errs, "exact_bounds tag", true, t.flag(row, "out_tag"));
            expect!(errs, "exact_bounds exact", true, t.flag(row, "exact"));
            expect!(errs, "exact_bounds pesbt", fast, t.u64(row, "out_pesbt"));
        }
    }
    errs
}

fn check_crrl<F: Format>(t: &Table, row: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    let len = t.u64(row, "len");
    expect!(errs, "crrl", F::crrl(len), t.u64(row, "crrl"));
    expect!(errs, "cram", F::cram(len), t.u64(row, "cram"));
    errs
}

fn check_encode<F: Format>(t: &Table, row: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    let base = t.u64(row, "req_base");
    let sb = F::set_bounds(F::ROOT_PESBT, base, true, t.hex(row, "req_len"));
    let pesbt = F::with_otype(
        F::with_perms(sb.pesbt, t.u32(row, "perms_in")),
        t.u32(row, "otype"),
    );
    let cursor = t.u64(row, "cursor");
    expect!(errs, "pesbt", pesbt, t.u64(row, "pesbt"));
    expect!(errs, "exact", sb.exact, t.flag(row, "exact"));
    let d = F::decode(pesbt, cursor);
    expect!(errs, "base", d.base, t.u64(row, "base"));
    expect!(errs, "top", d.top, t.hex(row, "top"));
    expect!(errs, "perms", d.perms, t.u32(row, "perms"));
    expect!(errs, "otype", d.otype, t.u32(row, "otype"));
    errs
}

fn check_representable<F: Format>(t: &Table, row: &[String]) -> Vec<String> {
    let mut errs = Vec::new();
    let (pesbt, cursor, new) = (
        t.u64(row, "pesbt"),
        t.u64(row, "cursor"),
        t.u64(row, "new_addr"),
    );
    let r = F::representable(pesbt, cursor, new);
    expect!(errs, "rep_fast", r.fast, t.flag(row, "rep_fast"));
    expect!(errs, "rep_precise", r.precise, t.flag(row, "rep_precise"));
    let sealed = F::otype(pesbt) != F::OTYPE_UNSEALED;
    let keeps = !sealed && F::set_addr_keeps_tag(pesbt, cursor, new);
    expect!(errs, "tag_after", keeps, t.flag(row, "tag_after"));
    let (b, tp) = F::bounds(pesbt, new);
    expect!(errs, "new_base", b, t.u64(row, "new_base"));
    expect!(errs, "new_top", tp, t.hex(row, "new_top"));
    let (b0, t0) = F::bounds(pesbt, cursor);
    expect!(errs, "base", b0, t.u64(row, "base"));
    expect!(errs, "top", t0, t.hex(row, "top"));
    errs
}

/// The in-repository copy must be the reference, byte for byte, when the
/// reference is beside the checkout (CI has it there): every file of every
/// format directory of `shared`, and no file in the copy that `shared`
/// lacks.
fn same_as_shared(copy: &Path, shared: &Path, what: &str) {
    if !shared.join("README.md").is_file() {
        return;
    }
    let mut files = 0;
    for d in ["128", "128m", "128r"] {
        let listing = |dir: &Path| -> Vec<std::ffi::OsString> {
            let mut v: Vec<_> = std::fs::read_dir(dir.join(d))
                .map(|it| it.map(|e| e.expect("entry").file_name()).collect())
                .unwrap_or_default();
            v.sort();
            v
        };
        let names = listing(shared);
        assert_eq!(
            names,
            listing(copy),
            "{what}/{d}: other files than ../shared/{what}"
        );
        for name in names {
            let a = std::fs::read(shared.join(d).join(&name)).expect("shared file");
            let b = std::fs::read(copy.join(d).join(&name)).unwrap_or_default();
            assert!(a == b, "{what}/{d}/{name:?} differs from ../shared/{what}");
            files += 1;
        }
    }
    let a = std::fs::read(shared.join("README.md")).expect("shared README");
    let b = std::fs::read(copy.join("README.md")).unwrap_or_default();
    assert!(a == b, "{what}/README.md differs from ../shared/{what}");
    files += 1;
    println!("in-repository {what} identical to ../shared/{what} ({files} files)");
}

fn main() {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // CAPGC_VECTORS=dir reads another vectors directory; CAPGC_VECTORS_EXTRA
    // another extra one.
    let dir = match std::env::var_os("CAPGC_VECTORS") {
        Some(d) => PathBuf::from(d),
        None => {
            let copy = here.join("vectors");
            same_as_shared(&copy, &here.join("../../shared/vectors"), "vectors");
            copy
        }
    };
    let extra = match std::env::var_os("CAPGC_VECTORS_EXTRA") {
        Some(d) => PathBuf::from(d),
        None => {
            let copy = here.join("vectors-extra");
            same_as_shared(
                &copy,
                &here.join("../../shared/vectors-extra"),
                "vectors-extra",
            );
            copy
        }
    };
    for d in [&dir, &extra] {
        assert!(
            d.join("README.md").is_file(),
            "vectors not found at {} (set CAPGC_VECTORS / CAPGC_VECTORS_EXTRA)",
            d.display()
        );
    }
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let want = |d: &str| wanted.is_empty() || wanted.iter().any(|w| w == d);

    let mut report = Report::default();
    let mut formats = 0;
    if want(Morello::VECTOR_DIR) {
        check_format::<Morello>(&dir, &mut report);
        check_extra::<Morello>(&extra, &mut report);
        formats += 1;
    }
    if want(CheriV9::VECTOR_DIR) {
        check_format::<CheriV9>(&dir, &mut report);
        check_extra::<CheriV9>(&extra, &mut report);
        formats += 1;
    }
    if want(RiscvStd::VECTOR_DIR) {
        check_format::<RiscvStd>(&dir, &mut report);
        check_extra::<RiscvStd>(&extra, &mut report);
        formats += 1;
    }
    println!(
        "vectors: {} formats, {} files, {} rows checked",
        formats, report.files, report.rows
    );
    let (passed, failed) = (report.rows - report.failures, report.failures);
    println!("{passed} passed, {failed} failed");
    if failed > 0 || formats == 0 || report.fast_missing {
        std::process::exit(1);
    }
}
