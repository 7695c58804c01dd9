//! The Arm Morello 128-bit capability encoding, bit-exact against the
//! `128m` vectors.
//!
//! Written from the *Arm Architecture Reference Manual Supplement: Morello
//! for A-profile* (DDI 0606): the capability format section and the shared
//! pseudocode `CapGetExponent`, `CapGetBottom`, `CapGetTop`,
//! `CapGetBounds`, `CapSetBounds`, `CapIsRepresentableFast`, and the
//! RRLEN / RRMASK instructions; the helpers below are named after them.
//!
//! Metadata word (capability bits 127..64, `pesbt` bit *n* is capability
//! bit *n + 64*); memory and register forms are the same:
//!
//! | pesbt bits | capability bits | field |
//! |---|---|---|
//! | 63..46 | 127..110 | permissions (the combined word, bit *i* = cap bit 110+*i*) |
//! | 45..31 | 109..95  | otype (15 bits; 0 unsealed, 1..3 architectural) |
//! | 30     | 94       | exponent format, **0 = internal exponent** |
//! | 29..16 | 93..80   | T\[13:0\]; internal exponent: T\[13:3\] and ~E\[5:3\] in 18..16 |
//! | 15..0  | 79..64   | B\[15:0\]; internal exponent: B\[15:3\] and ~E\[2:0\] in 2..0 |
//!
//! The exponent is stored inverted, so the all-zero word (NULL) has E = 63,
//! the canonical full-range encoding. E = 51..62 are malformed: they decode
//! to the whole address space but fail every representability check, and
//! SetBounds on them clears the tag. Address bits 63..56 are flags
//! (top-byte-ignore): bounds use bits 55..0 sign-extended from bit 55
//! (`CapBoundsAddress`).
//!
//! Design choice: plain `u64`/`u128` wrapping arithmetic reproducing the
//! pseudocode's fixed-width bit slices, so every 128-bit pattern decodes
//! without a panic.

use super::concentrate::{self, NewBounds};
use super::{Decoded, Format, Perm, Representability, SetBoundsResult, TOP_MAX};

/// The Arm Morello capability format (vectors: `128m/`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Morello;

impl super::sealed::Sealed for Morello {}

/// Mantissa width `CAP_MW`.
const MW: u32 = 16;
/// `CAP_MAX_EXPONENT`.
const MAX_E: u32 = 50;
/// `CAP_MAX_ENCODEABLE_EXPONENT`: the full-range (NULL) encoding.
const MAX_ENCODEABLE_E: u32 = 63;

const PERMS_SHIFT: u32 = 46;
const PERMS_MASK: u32 = 0x3ffff;
const OTYPE_SHIFT: u32 = 31;
const OTYPE_MASK: u64 = 0x7fff;
const EF_BIT: u32 = 30;
const T_SHIFT: u32 = 16;
const MW_MASK: u64 = (1 << MW) - 1;
/// Every bounds bit (format bit, T, B): what SetBounds rewrites.
const BOUNDS_MASK: u64 = (1 << 31) - 1;

/// The decoded bounds fields.
#[derive(Clone, Copy, Debug)]
struct Fields {
    /// `CapGetExponent`.
    e: u32,
    ie: bool,
    /// `CapGetBottom`: 16 bits.
    b: u64,
    /// `CapGetTop`: 16 bits with the two reconstructed top bits.
    t: u64,
}

/// `CapGetExponent`, `CapGetBottom`, `CapGetTop`.
#[inline(always)]
fn fields(pesbt: u64) -> Fields {
    let ie = pesbt >> EF_BIT & 1 == 0;
    let t_raw = pesbt >> T_SHIFT & 0x3fff;
    let b_raw = pesbt & MW_MASK;
    let (e, t_lo, b) = if ie {
        let e = (!((t_raw & 7) << 3 | (b_raw & 7)) & 63) as u32;
        (e, t_raw & !7, b_raw & !7)
    } else {
        (0, t_raw, b_raw)
    };
    let carry = u64::from(t_lo < (b & 0x3fff));
    let t_hi = ((b >> 14) + carry + u64::from(ie)) & 3;
    Fields {
        e,
        ie,
        b,
        t: t_hi << 14 | t_lo,
    }
}

/// `CapBoundsAddress`: address bits 55..0 sign-extended from bit 55.
#[inline(always)]
fn bounds_address(addr: u64) -> u64 {
    (((addr << 8) as i64) >> 8) as u64
}

/// `CapGetBounds`: (base, top, valid) at `addr`.
#[inline(always)]
fn get_bounds(f: Fields, addr: u64) -> (u64, u128, bool) {
    if f.e == MAX_ENCODEABLE_E {
        return (0, TOP_MAX, true);
    }
    if f.e > MAX_E {
        return (0, TOP_MAX, false);
    }
    // The 66-bit sign extension of the bounds address.
    let a = u128::from(bounds_address(addr));
    let a = if a >> 63 & 1 != 0 {
        a | (0b11 << 64)
    } else {
        a
    };
    let (base, top) = concentrate::bounds::<MW, MAX_E>(f.e, f.b, f.t, a);
    (base, top, true)
}

/// Writes new bounds fields into a metadata word (exponent inverted).
#[inline(always)]
fn with_bounds(pesbt: u64, nb: &NewBounds) -> u64 {
    let fields = if nb.ie {
        let ne = u64::from(!nb.e & 63);
        ((nb.t & 0x3ff8) | (ne >> 3)) << T_SHIFT | (nb.b & 0xfff8) | (ne & 7)
    } else {
        1 << EF_BIT | (nb.t & 0x3fff) << T_SHIFT | (nb.b & MW_MASK)
    };
    (pesbt & !BOUNDS_MASK) | fields
}

/// `RRMASK`.
fn align_mask(len: u64) -> u64 {
    concentrate::align_mask::<MW, MAX_E>(len, false)
}

/// `CapIsRepresentableFast` for a move from `cursor` by `inc`, without the
/// Morello extra conditions (see [`morello_extra_ok`]).
fn is_representable_fast(f: Fields, cursor: u64, inc: u64) -> bool {
    concentrate::fast_rep_check::<MW, MAX_E>(f.e, f.b, bounds_address(cursor), inc)
}

/// The two Morello conditions beyond the window check: the exponent is
/// valid, and when the bounds depend on the address (E < 48) bit 55 of the
/// address does not change.
fn morello_extra_ok(f: Fields, cursor: u64, new_addr: u64) -> bool {
    if f.e > MAX_E && f.e != MAX_ENCODEABLE_E {
        return false;
    }
    !(f.e < 48 && (cursor ^ new_addr) >> 55 & 1 != 0)
}

impl Format for Morello {
    const NAME: &'static str = "morello";
    const VECTOR_DIR: &'static str = "128m";
    const ROOT_PESBT: u64 = 0xffff_c000_0001_0005;
    const PERMS_MASK: u32 = PERMS_MASK;
    const OTYPE_UNSEALED: u32 = 0;
    const OTYPE_BITS: u32 = 15;
    const MANTISSA_WIDTH: u32 = MW;
    const MAX_EXPONENT: u32 = MAX_E;

    fn decode(pesbt: u64, cursor: u64) -> Decoded {
        let f = fields(pesbt);
        let (base, top, valid) = get_bounds(f, cursor);
        let perms = Self::perms(pesbt);
        Decoded {
            base,
            top,
            valid,
            e: f.e as i32,
            ie: f.ie,
            b: f.b as u32,
            t: f.t as u32,
            perms,
            uperms: perms >> 2 & 0xf,
            otype: Self::otype(pesbt),
            flags: 0,
            level: perms & 1,
            reserved: 0,
        }
    }

    #[inline(always)]
    fn bounds(pesbt: u64, cursor: u64) -> (u64, u128) {
        let (b, t, _) = get_bounds(fields(pesbt), cursor);
        (b, t)
    }

    fn set_bounds(pesbt: u64, cursor: u64, tag: bool, req_len: u128) -> SetBoundsResult {
        let f = fields(pesbt);
        let (old_base, old_top, valid) = get_bounds(f, cursor);
        // The requested base: the whole address when the input's bounds do
        // not depend on it (E >= 48), else `CapBoundsAddress`.
        let base = if f.e >= 48 {
            cursor
        } else {
            bounds_address(cursor)
        };
        let req_top = u128::from(base).saturating_add(req_len);
        let in_bounds = base >= old_base && req_top <= old_top && req_top <= TOP_MAX;
        let sealed = Self::otype(pesbt) != 0;
        let nb = concentrate::set_bounds::<MW, MAX_E>(base, req_len);
        // From address-independent bounds to address-dependent ones the
        // flag byte must be the sign extension of bit 55.
        let canonical = bounds_address(cursor) == cursor;
        let flags_ok = !(f.e >= 48 && nb.e < 48) || canonical;
        let new = with_bounds(pesbt, &nb);
        let (nbase, ntop, _) = get_bounds(fields(new), cursor);
        SetBoundsResult {
            pesbt: new,
            tag: tag && in_bounds && !sealed && valid && flags_ok,
            exact: nb.exact,
            base: nbase,
            top: ntop,
        }
    }

    #[inline(always)]
    fn exact_bounds(pesbt: u64, base: u64, len: u64) -> Option<u64> {
        // With a canonical base the requested base is `base` whatever the
        // input's exponent, and the flag-byte rule holds; the input's
        // bounds must be valid. The rest of set_bounds' tag rule (in
        // bounds, unsealed) is the caller's.
        let e = fields(pesbt).e;
        if bounds_address(base) != base || (e > MAX_E && e != MAX_ENCODEABLE_E) {
            return None;
        }
        if len < 1 << (MW - 2) {
            // A length below 2^(MW-2) has exponent 0 and no internal
            // exponent: B and T are the low bits of base and top, always
            // exact — what `concentrate::set_bounds` answers for it (its
            // `!ie` case), without the exponent search.
            let nb = NewBounds {
                ie: false,
                e: 0,
                b: base & MW_MASK,
                t: base.wrapping_add(len) & MW_MASK,
                exact: true,
            };
            return Some(with_bounds(pesbt, &nb));
        }
        let nb = concentrate::set_bounds::<MW, MAX_E>(base, u128::from(len));
        nb.exact.then(|| with_bounds(pesbt, &nb))
    }

    fn representable(pesbt: u64, cursor: u64, new_addr: u64) -> Representability {
        let f = fields(pesbt);
        let extra = morello_extra_ok(f, cursor, new_addr);
        let (b0, t0, _) = get_bounds(f, cursor);
        let (b1, t1, _) = get_bounds(f, new_addr);
        Representability {
            fast: extra
                && is_representable_fast(
                    f,
                    cursor,
                    bounds_address(new_addr).wrapping_sub(bounds_address(cursor)),
                ),
            precise: extra && (b0, t0) == (b1, t1),
        }
    }

    fn set_addr_keeps_tag(pesbt: u64, cursor: u64, new_addr: u64) -> bool {
        Self::representable(pesbt, cursor, new_addr).fast
    }

    fn crrl(len: u64) -> u64 {
        concentrate::round_length(len, align_mask(len))
    }

    fn cram(len: u64) -> u64 {
        align_mask(len)
    }

    #[inline]
    fn perms(pesbt: u64) -> u32 {
        (pesbt >> PERMS_SHIFT) as u32 & PERMS_MASK
    }

    #[inline]
    fn with_perms(pesbt: u64, perms: u32) -> u64 {
        (pesbt & !(u64::from(PERMS_MASK) << PERMS_SHIFT))
            | u64::from(perms & PERMS_MASK) << PERMS_SHIFT
    }

    #[inline]
    fn otype(pesbt: u64) -> u32 {
        (pesbt >> OTYPE_SHIFT & OTYPE_MASK) as u32
    }

    #[inline]
    fn with_otype(pesbt: u64, otype: u32) -> u64 {
        (pesbt & !(OTYPE_MASK << OTYPE_SHIFT)) | (u64::from(otype) & OTYPE_MASK) << OTYPE_SHIFT
    }

    #[inline]
    fn perm_bits(perm: Perm) -> u32 {
        1 << match perm {
            Perm::Global => 0,
            Perm::Execute => 15,
            Perm::Load => 17,
            Perm::Store => 16,
            Perm::LoadCap => 14,
            Perm::StoreCap => 13,
            Perm::StoreLocalCap => 12,
            Perm::Seal => 11,
            Perm::Unseal => 10,
        }
    }

    #[inline]
    fn is_software_otype(otype: u32) -> bool {
        (4..=0x7fff).contains(&otype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_and_null_cover_everything() {
        let root = Morello::decode(Morello::ROOT_PESBT, 0);
        assert_eq!(
            (root.base, root.top, root.e, root.valid),
            (0, TOP_MAX, 50, true)
        );
        assert_eq!(root.perms, PERMS_MASK);
        let null = Morello::decode(0, 0);
        assert_eq!(
            (null.base, null.top, null.e, null.perms),
            (0, TOP_MAX, 63, 0)
        );
    }

    #[test]
    fn malformed_exponents_decode_full_and_never_keep_a_tag() {
        // E = 55: stored inverted in the internal-exponent fields.
        let e = 55u64;
        let ne = !e & 63;
        let pesbt = Morello::ROOT_PESBT & !BOUNDS_MASK | (ne >> 3) << T_SHIFT | (ne & 7);
        let d = Morello::decode(pesbt, 0x1234);
        assert!(!d.valid);
        assert_eq!((d.base, d.top), (0, TOP_MAX));
        assert!(!Morello::set_addr_keeps_tag(pesbt, 0x1234, 0x1235));
        assert!(!Morello::set_bounds(pesbt, 0x1234, true, 16).tag);
    }

    #[test]
    fn crrl_and_cram_examples() {
        // Below 2^(MW-2) = 16384 nothing is padded.
        assert_eq!(
            (Morello::crrl(16383), Morello::cram(16383)),
            (16383, u64::MAX)
        );
        // From 2^14 the internal exponent costs the 3 low bits.
        assert_eq!(Morello::crrl(16385), 16392);
        assert_eq!(Morello::cram(16385), !7);
        // Rounding that would reach 2^64 wraps to 0.
        assert_eq!(Morello::crrl(u64::MAX), 0);
        for len in [1u64 << 20, 1_000_003, (1 << 40) + 5] {
            let (l, m) = (Morello::crrl(len), Morello::cram(len));
            assert!(l >= len && l & !m == 0);
            let r = Morello::set_bounds(Morello::ROOT_PESBT, 1 << 50 & m, true, u128::from(l));
            assert!(r.exact && r.tag);
        }
    }

    #[test]
    fn set_bounds_clears_the_tag_when_it_must() {
        let root = Morello::ROOT_PESBT;
        assert!(
            !Morello::set_bounds(root, 0x1000, false, 16).tag,
            "untagged input"
        );
        let sealed = Morello::with_otype(root, 9);
        assert!(
            !Morello::set_bounds(sealed, 0x1000, true, 16).tag,
            "sealed input"
        );
        let small = Morello::set_bounds(root, 0x1000, true, 64);
        assert!(small.tag && small.exact);
        assert!(
            !Morello::set_bounds(small.pesbt, 0x1000, true, 65).tag,
            "past the top"
        );
        assert!(
            !Morello::set_bounds(root, 1, true, 1 << 64).tag,
            "past 2^64"
        );
        // Non-canonical flag byte going from address-independent bounds to
        // address-dependent ones.
        assert!(!Morello::set_bounds(root, 0x4200_0000_0000_1000, true, 64).tag);
    }

    #[test]
    fn no_input_panics() {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let (p, c) = (x, x.rotate_left(29));
            let _ = Morello::decode(p, c);
            let _ = Morello::representable(p, c, c ^ x);
            let _ = Morello::set_bounds(p, c, true, u128::from(x >> (x % 64)));
            let _ = Morello::set_bounds(p, c, true, u128::MAX);
            let _ = (Morello::crrl(x), Morello::cram(x));
        }
    }
}
