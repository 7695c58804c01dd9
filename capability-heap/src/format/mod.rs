//! The three 128-bit CHERI Concentrate encodings, bit-exact.
//!
//! A [`Format`] is a zero-sized type whose associated functions work on the
//! *in-memory* form of a capability: the 64-bit address ("cursor") and the
//! 64-bit metadata word ("pesbt"), exactly as `../shared/vectors` spells
//! them. The tag is always out of band. Everything above this module
//! ([`crate::Capability`], tagged memory, the reference modes) is written
//! once, generically, over this trait.
//!
//! | type | encoding | spec |
//! |---|---|---|
//! | [`Morello`] | Arm Morello | DDI 0606, `CapGetBounds`, `CapSetBounds`, `CapIsRepresentableFast` |
//! | [`CheriV9`] | CHERI ISA v9 128-bit (CHERI-RISC-V v9) | UCAM-CL-TR-987, CHERI Concentrate |
//! | [`RiscvStd`] | RISC-V CHERI standard draft (RV64, lvbits = 1) | riscv-cheri, "capability encoding" |
//!
//! Design choice: the formats expose the raw ISA operations (decode,
//! rounding SetBounds, representability, CRRL/CRAM, field insertion) on
//! plain words and never see a tag bit they did not receive; policy (which
//! operation clears the tag, what a fault is) lives in `Capability`. The
//! rejected alternative, one capability struct per format, would have
//! tripled the monotonicity and access-check code that the proptests guard.

mod concentrate;
mod morello;
mod riscv;
mod v9;

pub use morello::Morello;
pub use riscv::RiscvStd;
pub use v9::CheriV9;

/// 2^64, the top of the full address space; tops are 65-bit values.
pub const TOP_MAX: u128 = 1 << 64;

/// Every field a format's decoder produces from `(pesbt, cursor)`.
///
/// The columns match `decode.tsv` in the vectors; `e`, `ie`, `b`, `t` are
/// intermediate values kept for debugging and for the tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Lower bound (inclusive).
    pub base: u64,
    /// Upper bound (exclusive), 65 bits: `1 << 64` is the top of memory.
    pub top: u128,
    /// False when the format calls the bounds encoding malformed.
    pub valid: bool,
    /// The exponent (negative only for malformed `128r` encodings).
    pub e: i32,
    /// True when the internal-exponent form is in use, whatever the polarity
    /// of the bit in the encoding.
    pub ie: bool,
    /// Full MW-bit base mantissa.
    pub b: u32,
    /// Full MW-bit top mantissa, including its two reconstructed top bits.
    pub t: u32,
    /// The combined permission word, in this format's layout
    /// (see the vectors README, "Permission word layouts").
    pub perms: u32,
    /// The 4-bit user / software-defined permission number.
    pub uperms: u32,
    /// The object-type field value.
    pub otype: u32,
    /// v9 capability-mode flag, `128r` M bit, always 0 on Morello.
    pub flags: u32,
    /// Global permission (`128`, `128m`) or CL (`128r`).
    pub level: u32,
    /// The metadata word masked to its reserved bits.
    pub reserved: u64,
}

/// Result of the rounding form of SetBounds (CSetBounds / SCBNDS / SCBNDSR).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetBoundsResult {
    /// New metadata word (memory form). The address is unchanged.
    pub pesbt: u64,
    /// Tag of the result.
    pub tag: bool,
    /// True when the encoded bounds equal the requested ones.
    pub exact: bool,
    /// Decoded lower bound of the result.
    pub base: u64,
    /// Decoded upper bound of the result (65 bits).
    pub top: u128,
}

/// Result of asking whether an address change keeps the bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Representability {
    /// The conservative window check hardware uses (`128r`: equals `precise`).
    pub fast: bool,
    /// Decoding the same metadata at the new address gives the same bounds
    /// (plus Morello's extra conditions).
    pub precise: bool,
}

/// One of the ISA's permissions, independent of where a format stores it.
///
/// A format that has no such permission maps it to no bits
/// ([`Format::perm_bits`] returns 0); such a permission can then never be
/// held, and operations that need it fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perm {
    /// Global (v9, Morello) / CL (`128r`): may be stored anywhere.
    Global,
    /// Execute.
    Execute,
    /// Load data.
    Load,
    /// Store data.
    Store,
    /// Load capabilities with their tags.
    LoadCap,
    /// Store tagged capabilities.
    StoreCap,
    /// Store non-global (local) capabilities.
    StoreLocalCap,
    /// Seal with this capability's address as object type.
    Seal,
    /// Unseal capabilities whose object type is this capability's address.
    Unseal,
}

impl Perm {
    /// Every abstract permission, in declaration order.
    pub const ALL: [Perm; 9] = [
        Perm::Global,
        Perm::Execute,
        Perm::Load,
        Perm::Store,
        Perm::LoadCap,
        Perm::StoreCap,
        Perm::StoreLocalCap,
        Perm::Seal,
        Perm::Unseal,
    ];
}

mod sealed {
    pub trait Sealed {}
}

/// A 128-bit CHERI capability encoding.
///
/// All functions take and return the **memory form** of the metadata word
/// (for v9 that is the architectural form XOR the NULL pattern).
/// This trait is sealed: the three formats are the only implementations.
pub trait Format:
    sealed::Sealed + Copy + Clone + Default + core::fmt::Debug + Eq + Send + Sync + 'static
{
    /// Human-readable name (`"morello"`, `"cheri-v9"`, `"riscv-std"`).
    const NAME: &'static str;
    /// The directory of `../shared/vectors` holding this format's vectors.
    const VECTOR_DIR: &'static str;
    /// Metadata of the root ("almighty") capability, memory form.
    const ROOT_PESBT: u64;
    /// Metadata of NULL, memory form (all three formats: 0).
    const NULL_PESBT: u64 = 0;
    /// The settable permission bits of the combined permission word.
    const PERMS_MASK: u32;
    /// The object type meaning "unsealed".
    const OTYPE_UNSEALED: u32;
    /// Width of the object-type field in bits.
    const OTYPE_BITS: u32;
    /// Mantissa width MW.
    const MANTISSA_WIDTH: u32;
    /// Largest exponent a valid encoding may use.
    const MAX_EXPONENT: u32;

    /// Decode `(pesbt, cursor)` as an untagged value.
    fn decode(pesbt: u64, cursor: u64) -> Decoded;

    /// Just the bounds `(base, top)` of `(pesbt, cursor)`; same as the
    /// `base`/`top` of [`Format::decode`], possibly faster.
    fn bounds(pesbt: u64, cursor: u64) -> (u64, u128) {
        let d = Self::decode(pesbt, cursor);
        (d.base, d.top)
    }

    /// SetBounds, rounding form, requested base = `cursor`, requested length
    /// `req_len` (65-bit). Matches `setbounds.tsv` row for row, including
    /// when the tag is cleared.
    fn set_bounds(pesbt: u64, cursor: u64, tag: bool, req_len: u128) -> SetBoundsResult;

    /// SetBounds to exactly `[base, base + len)` from a tagged, unsealed
    /// capability `pesbt` whose bounds the caller has checked contain that
    /// range: the new metadata word, or `None` when the caller must take
    /// [`Format::set_bounds`] (the range is not exactly representable, or
    /// the format cannot tell quickly). When it answers, it answers as
    /// `set_bounds(pesbt, base, true, len)` would for a tagged, exact
    /// result. The allocator's and the moving collector's fast path;
    /// formats override it to skip re-decoding the input's bounds.
    #[inline]
    fn exact_bounds(pesbt: u64, base: u64, len: u64) -> Option<u64> {
        let r = Self::set_bounds(pesbt, base, true, u128::from(len));
        (r.tag && r.exact).then_some(r.pesbt)
    }

    /// Whether the bounds survive moving the address from `cursor` to
    /// `new_addr` (`representable.tsv` columns `rep_fast` / `rep_precise`).
    fn representable(pesbt: u64, cursor: u64, new_addr: u64) -> Representability;

    /// Whether a tagged, unsealed capability keeps its tag when its address
    /// is set to `new_addr` by the instruction this crate models
    /// (the fast check for `128`/`128m`, the precise one for `128r`).
    fn set_addr_keeps_tag(pesbt: u64, cursor: u64, new_addr: u64) -> bool;

    /// CRRL: the smallest representable length ≥ `len`, modulo 2^64.
    fn crrl(len: u64) -> u64;

    /// CRAM: the alignment mask a base needs for a `crrl(len)` length to be
    /// exact.
    fn cram(len: u64) -> u64;

    /// The combined permission word stored in `pesbt` (as `decode().perms`).
    fn perms(pesbt: u64) -> u32;

    /// Write `perms` (combined-word layout, masked to [`Format::PERMS_MASK`])
    /// into the permission fields verbatim.
    fn with_perms(pesbt: u64, perms: u32) -> u64;

    /// The object type stored in `pesbt`.
    fn otype(pesbt: u64) -> u32;

    /// Write `otype` into the object-type field.
    fn with_otype(pesbt: u64, otype: u32) -> u64;

    /// The bits of the combined permission word that grant `perm`
    /// (0 when this format has no such permission).
    fn perm_bits(perm: Perm) -> u32;

    /// True when `otype` is a software object type that `seal` may use.
    fn is_software_otype(otype: u32) -> bool;
}
