//! The CHERI ISA v9 128-bit capability encoding (CHERI-RISC-V v9, the
//! format CHERI-MIPS 128 shares), bit-exact against the `128` vectors.
//!
//! Written from *CHERI ISA v9* (UCAM-CL-TR-987), "CHERI Concentrate"
//! capability compression, whose executable form is the Sail model
//! `sail-cheri-riscv` (`capBitsToCapability`, `getCapBoundsBits`,
//! `setCapBounds`, `fastRepCheck`, `getRepresentableAlignmentMask`); the
//! helpers below are named after those functions.
//!
//! Architectural metadata word (capability bits 127..64, `pesbt` bit *n* is
//! capability bit *n + 64*):
//!
//! | pesbt bits | capability bits | field |
//! |---|---|---|
//! | 63..60 | 127..124 | user permissions |
//! | 59..48 | 123..112 | hardware permissions (0 Global … 11 SetCID) |
//! | 47..46 | 111..110 | reserved |
//! | 45     | 109      | flag (capability mode) |
//! | 44..27 | 108..91  | otype (18 bits; `3ffff` unsealed) |
//! | 26     | 90       | IE (1 = internal exponent) |
//! | 25..14 | 89..78   | T\[11:0\]; with IE: T\[11:3\] and E\[5:3\] in 16..14 |
//! | 13..0  | 77..64   | B\[13:0\]; with IE: B\[13:3\] and E\[2:0\] in 2..0 |
//!
//! In memory the word is XORed with the register encoding of NULL
//! ([`MEM_XOR`]) so that NULL is all zeros; every function of the
//! [`Format`] trait takes and returns the memory form and converts at the
//! boundary.
//!
//! Design choice: bounds are computed on `u64` / `u128` with wrapping
//! arithmetic that reproduces Sail's fixed-width bit vectors, so any
//! 128-bit pattern decodes without a panic; the rejected alternative, a
//! bit-vector type, would hide the carries the correction terms rely on.

use super::concentrate::{self, NewBounds};
use super::{Decoded, Format, Perm, Representability, SetBoundsResult, TOP_MAX};

/// The CHERI ISA v9 128-bit capability format (vectors: `128/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct CheriV9;

impl super::sealed::Sealed for CheriV9 {}

/// Mantissa width MW.
const MW: u32 = 14;
/// Largest exponent used for bounds (`maxE`); larger fields are clamped.
const MAX_E: u32 = 52;
/// Memory form = architectural form XOR this (the register form of NULL).
pub const MEM_XOR: u64 = 0x0000_1fff_fc01_8004;

/// User permissions: capability bits 127..124.
const UPERMS_SHIFT: u32 = 60;
/// Hardware permissions: capability bits 123..112.
const HWPERMS_SHIFT: u32 = 48;
/// Reserved bits: capability bits 111..110.
const RESERVED_MASK: u64 = 0b11 << 46;
/// Capability-mode flag: capability bit 109.
const FLAG_BIT: u32 = 45;
/// Object type: capability bits 108..91.
const OTYPE_SHIFT: u32 = 27;
/// The 18-bit object-type field (all ones = unsealed).
const OTYPE_MASK: u64 = 0x3ffff;
/// Internal-exponent bit: capability bit 90.
const IE_BIT: u32 = 26;
/// T field: capability bits 89..78.
const T_SHIFT: u32 = 14;
/// An MW-bit mantissa.
const MW_MASK: u64 = (1 << MW) - 1;
/// Every bounds bit (IE, T, B): what SetBounds rewrites.
const BOUNDS_MASK: u64 = (1 << 27) - 1;
/// Software-settable permission bits of the combined word.
const PERMS_MASK: u32 = 0x78fff;

/// The decoded bounds fields of `capBitsToCapability`.
#[derive(Clone, Copy, Debug)]
struct Fields {
    /// Raw exponent (not clamped).
    e: u32,
    ie: bool,
    /// Full 14-bit base mantissa.
    b: u64,
    /// Full 14-bit top mantissa with its reconstructed top two bits.
    t: u64,
}

/// `capBitsToCapability`: the E, B, T fields of an architectural word.
#[inline(always)]
fn fields(arch: u64) -> Fields {
    let ie = arch >> IE_BIT & 1 != 0;
    let t_lo = arch >> T_SHIFT & 0xfff;
    let b_raw = arch & MW_MASK;
    let (e, t_lo, b) = if ie {
        let e = ((t_lo & 7) << 3 | (b_raw & 7)) as u32;
        (e, t_lo & !7, b_raw & !7)
    } else {
        (0, t_lo, b_raw)
    };
    // T[13:12] = B[13:12] + carry + (IE ? 1 : 0).
    let carry = u64::from(t_lo < (b & 0xfff));
    let t_hi = ((b >> 12) + carry + u64::from(ie)) & 3;
    Fields {
        e,
        ie,
        b,
        t: t_hi << 12 | t_lo,
    }
}

/// `getCapBoundsBits`: base (64 bits) and top (65 bits) at `addr`; the
/// exponent field is clamped to 52 for bounds.
#[inline(always)]
fn bounds_of(f: Fields, addr: u64) -> (u64, u128) {
    concentrate::bounds::<MW, MAX_E>(f.e.min(MAX_E), f.b, f.t, u128::from(addr))
}

/// Writes new bounds fields into an architectural word.
fn with_bounds(arch: u64, nb: &NewBounds) -> u64 {
    let fields = if nb.ie {
        u64::from(nb.ie) << IE_BIT
            | ((nb.t & 0xff8) | u64::from(nb.e >> 3 & 7)) << T_SHIFT
            | (nb.b & 0x3ff8)
            | u64::from(nb.e & 7)
    } else {
        (nb.t & 0xfff) << T_SHIFT | (nb.b & MW_MASK)
    };
    (arch & !BOUNDS_MASK) | fields
}

#[inline(always)]
fn arch(mem: u64) -> u64 {
    mem ^ MEM_XOR
}

fn arch_perms(arch: u64) -> u32 {
    let hw = (arch >> HWPERMS_SHIFT) as u32 & 0xfff;
    let user = (arch >> UPERMS_SHIFT) as u32 & 0xf;
    hw | user << 15
}

/// `getRepresentableAlignmentMask`.
fn align_mask(len: u64) -> u64 {
    concentrate::align_mask::<MW, MAX_E>(len, true)
}

impl Format for CheriV9 {
    const NAME: &'static str = "cheri-v9";
    const VECTOR_DIR: &'static str = "128";
    const ROOT_PESBT: u64 = 0xffff_0000_0000_0000;
    const PERMS_MASK: u32 = PERMS_MASK;
    const OTYPE_UNSEALED: u32 = 0x3ffff;
    const OTYPE_BITS: u32 = 18;
    const MANTISSA_WIDTH: u32 = MW;
    const MAX_EXPONENT: u32 = MAX_E;

    fn decode(pesbt: u64, cursor: u64) -> Decoded {
        let a = arch(pesbt);
        let f = fields(a);
        let (base, top) = bounds_of(f, cursor);
        let perms = arch_perms(a);
        Decoded {
            base,
            top,
            valid: true,
            e: f.e as i32,
            ie: f.ie,
            b: f.b as u32,
            t: f.t as u32,
            perms,
            uperms: perms >> 15,
            otype: (a >> OTYPE_SHIFT & OTYPE_MASK) as u32,
            flags: (a >> FLAG_BIT & 1) as u32,
            level: perms & 1,
            reserved: a & RESERVED_MASK,
        }
    }

    #[inline(always)]
    fn bounds(pesbt: u64, cursor: u64) -> (u64, u128) {
        bounds_of(fields(arch(pesbt)), cursor)
    }

    fn set_bounds(pesbt: u64, cursor: u64, tag: bool, req_len: u128) -> SetBoundsResult {
        let a = arch(pesbt);
        let (old_base, old_top) = bounds_of(fields(a), cursor);
        // Requested top (65 bits for any architectural length). Saturating,
        // so an absurd `req_len` cannot overflow: it lands past 2^64 and the
        // tag is cleared below; the encoding then uses its low 65 bits.
        let req_top = u128::from(cursor).saturating_add(req_len);
        let in_bounds = cursor >= old_base && req_top <= old_top && req_top <= TOP_MAX;
        let sealed = (a >> OTYPE_SHIFT & OTYPE_MASK) != OTYPE_MASK;
        let nb = concentrate::set_bounds::<MW, MAX_E>(cursor, req_len);
        let new = with_bounds(a, &nb);
        let (base, top) = bounds_of(fields(new), cursor);
        SetBoundsResult {
            pesbt: new ^ MEM_XOR,
            tag: tag && in_bounds && !sealed,
            exact: nb.exact,
            base,
            top,
        }
    }

    fn representable(pesbt: u64, cursor: u64, new_addr: u64) -> Representability {
        let f = fields(arch(pesbt));
        let precise = bounds_of(f, cursor) == bounds_of(f, new_addr);
        Representability {
            fast: fast_rep_check(f, cursor, new_addr.wrapping_sub(cursor)),
            precise,
        }
    }

    fn set_addr_keeps_tag(pesbt: u64, cursor: u64, new_addr: u64) -> bool {
        fast_rep_check(fields(arch(pesbt)), cursor, new_addr.wrapping_sub(cursor))
    }

    fn crrl(len: u64) -> u64 {
        concentrate::round_length(len, align_mask(len))
    }

    fn cram(len: u64) -> u64 {
        align_mask(len)
    }

    #[inline]
    fn perms(pesbt: u64) -> u32 {
        arch_perms(arch(pesbt))
    }

    #[inline]
    fn with_perms(pesbt: u64, perms: u32) -> u64 {
        let p = perms & PERMS_MASK;
        let a = arch(pesbt) & !(0xffff << HWPERMS_SHIFT);
        let a =
            a | u64::from(p & 0xfff) << HWPERMS_SHIFT | u64::from(p >> 15 & 0xf) << UPERMS_SHIFT;
        a ^ MEM_XOR
    }

    #[inline]
    fn otype(pesbt: u64) -> u32 {
        (arch(pesbt) >> OTYPE_SHIFT & OTYPE_MASK) as u32
    }

    #[inline]
    fn with_otype(pesbt: u64, otype: u32) -> u64 {
        let a = arch(pesbt) & !(OTYPE_MASK << OTYPE_SHIFT);
        (a | (u64::from(otype) & OTYPE_MASK) << OTYPE_SHIFT) ^ MEM_XOR
    }

    #[inline]
    fn perm_bits(perm: Perm) -> u32 {
        1 << match perm {
            Perm::Global => 0,
            Perm::Execute => 1,
            Perm::Load => 2,
            Perm::Store => 3,
            Perm::LoadCap => 4,
            Perm::StoreCap => 5,
            Perm::StoreLocalCap => 6,
            Perm::Seal => 7,
            Perm::Unseal => 9,
        }
    }

    #[inline]
    fn is_software_otype(otype: u32) -> bool {
        otype <= 0x3fffb
    }
}

/// `fastRepCheck`: may the address move by `inc` and keep its bounds?
fn fast_rep_check(f: Fields, cursor: u64, inc: u64) -> bool {
    concentrate::fast_rep_check::<MW, MAX_E>(f.e, f.b, cursor, inc)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: u64 = CheriV9::ROOT_PESBT;

    #[test]
    fn root_and_null_decode() {
        let root = CheriV9::decode(ROOT, 0);
        assert_eq!((root.base, root.top), (0, TOP_MAX));
        assert_eq!((root.e, root.ie, root.b, root.t), (52, true, 0, 0x1000));
        assert_eq!(root.perms, PERMS_MASK);
        assert_eq!((root.uperms, root.level, root.flags), (0xf, 1, 0));
        assert_eq!(root.otype, CheriV9::OTYPE_UNSEALED);
        assert_eq!(root.reserved, 0);

        let null = CheriV9::decode(CheriV9::NULL_PESBT, 0x1234);
        assert_eq!((null.base, null.top), (0, TOP_MAX));
        assert_eq!((null.perms, null.level), (0, 0));
        assert_eq!(null.otype, CheriV9::OTYPE_UNSEALED);
        // In memory the unsealed otype reads as zero (the XOR mask).
        assert_eq!(ROOT >> OTYPE_SHIFT & OTYPE_MASK, 0);
    }

    #[test]
    fn crrl_cram_examples() {
        // Below 2^(MW-2) no internal exponent: exact, mask all ones.
        assert_eq!(
            (CheriV9::crrl(0xfff), CheriV9::cram(0xfff)),
            (0xfff, u64::MAX)
        );
        // IE format at E = 0 still loses the 3 exponent bits.
        assert_eq!((CheriV9::crrl(0x1001), CheriV9::cram(0x1001)), (0x1008, !7));
        // All-ones mantissa: rounding overflows it, incE.
        assert_eq!(
            (CheriV9::crrl(0x1fff), CheriV9::cram(0x1fff)),
            (0x2000, !0xf)
        );
        // Wraps to 0 when the rounded length would be 2^64.
        assert_eq!(CheriV9::crrl(u64::MAX), 0);
        assert_eq!(CheriV9::cram(u64::MAX), 0xff80_0000_0000_0000);
    }

    #[test]
    fn set_bounds_exact_and_tag_rules() {
        let ok = CheriV9::set_bounds(ROOT, 0x1000, true, 0x100);
        assert!(ok.tag && ok.exact);
        assert_eq!((ok.base, ok.top), (0x1000, 0x1100));

        // Untagged input stays untagged.
        assert!(!CheriV9::set_bounds(ROOT, 0x1000, false, 0x100).tag);
        // Sealed input (otype 5) loses the tag.
        let sealed = CheriV9::with_otype(ok.pesbt, 5);
        assert!(!CheriV9::set_bounds(sealed, 0x1000, true, 0x10).tag);
        // Request outside the input bounds: exact, but untagged.
        let out = CheriV9::set_bounds(ok.pesbt, 0x1000, true, 0x101);
        assert!(out.exact && !out.tag);
        // Request past 2^64 from the root.
        let past = CheriV9::set_bounds(ROOT, u64::MAX, true, 2);
        assert!(!past.tag);
        assert_eq!(past.top, TOP_MAX + 1);
    }

    #[test]
    fn perms_and_otype_round_trip() {
        let p = CheriV9::with_perms(0, 0x8005);
        assert_eq!(CheriV9::perms(p), 0x8005);
        assert_eq!(CheriV9::perm_bits(Perm::Unseal), 1 << 9);
        let s = CheriV9::with_otype(p, 0x3fffe);
        assert_eq!(CheriV9::otype(s), 0x3fffe);
        assert!(!CheriV9::is_software_otype(0x3fffe));
        assert!(CheriV9::is_software_otype(0x3fffb));
    }

    /// Arbitrary patterns, including absurd lengths, never panic.
    #[test]
    fn no_panic_on_arbitrary_patterns() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let (pesbt, cursor, other) = (next(), next(), next());
            let len = u128::from(next()) << (other % 80);
            let _ = CheriV9::decode(pesbt, cursor);
            let _ = CheriV9::set_bounds(pesbt, cursor, true, len);
            let _ = CheriV9::set_bounds(pesbt, cursor, true, u128::MAX);
            let _ = CheriV9::representable(pesbt, cursor, other);
            let _ = CheriV9::set_addr_keeps_tag(pesbt, cursor, other);
            let _ = (CheriV9::crrl(other), CheriV9::cram(other));
        }
    }
}
