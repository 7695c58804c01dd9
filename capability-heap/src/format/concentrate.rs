//! The CHERI Concentrate arithmetic that the CHERI ISA v9 and Morello
//! formats share, generic over the mantissa width `MW` and the largest
//! exponent `MAX_E` (14/52 for v9, 16/50 for Morello). What differs between
//! the two — field positions, the exponent's storage, the memory XOR, which
//! address bits take part in bounds, Morello's extra representability and
//! tag rules — stays in each format's module; this one holds the
//! spec functions whose text is the same in both specifications:
//! `getCapBounds` / `CapGetBounds` (decoding with correction terms and the
//! top bit-64 fix-up), `setCapBounds` / `CapSetBounds` (the rounding and
//! `incE` step), the fast representability check, and RRMASK / CRAM.
//!
//! The RISC-V standard format is not here: its correction rule compares
//! the full mantissa (see `riscv.rs`), so sharing would be by name only.

/// Mask of the 65 bits a top has.
pub(super) const MASK65: u128 = (1 << 65) - 1;

/// The bounds fields a SetBounds computes.
#[derive(Clone, Copy, Debug)]
pub(super) struct NewBounds {
    /// The internal-exponent form is used.
    pub(super) ie: bool,
    /// The exponent (after `incE`).
    pub(super) e: u32,
    /// Base mantissa (low 3 bits zero in the IE form).
    pub(super) b: u64,
    /// Top mantissa, low MW-2 bits stored (low 3 zero in the IE form).
    pub(super) t: u64,
    /// No bit of the requested bounds was lost.
    pub(super) exact: bool,
}

/// `getCapBounds`: base (64 bits) and top (65 bits) from the exponent
/// `e` (already clamped to `MAX_E`), the full mantissas `b`, `t` and the
/// address `a` as the format extends it to 66 bits.
///
/// Exponent 0 — every object smaller than 2^(MW-2) bytes, the common case
/// of a heap reference — is decoded by the same code with `e` a constant,
/// so the 128-bit shifts fold away.
#[inline(always)]
pub(super) fn bounds<const MW: u32, const MAX_E: u32>(
    e: u32,
    b: u64,
    t: u64,
    a: u128,
) -> (u64, u128) {
    if e == 0 {
        bounds_at::<MW, MAX_E>(0, b, t, a)
    } else {
        bounds_at::<MW, MAX_E>(e, b, t, a)
    }
}

#[inline(always)]
fn bounds_at<const MW: u32, const MAX_E: u32>(e: u32, b: u64, t: u64, a: u128) -> (u64, u128) {
    let a3 = (a >> (e + MW - 3)) as u64 & 7;
    let b3 = b >> (MW - 3);
    let t3 = t >> (MW - 3);
    let r3 = b3.wrapping_sub(1) & 7;
    let a_hi = i64::from(a3 < r3);
    let cb = i64::from(b3 < r3) - a_hi;
    let ct = i64::from(t3 < r3) - a_hi;
    let sh = e + MW;
    let a_top = a >> sh;
    let base = a_top.wrapping_add_signed(cb.into()) << sh | u128::from(b) << e;
    let mut top = (a_top.wrapping_add_signed(ct.into()) << sh | u128::from(t) << e) & MASK65;
    // The top-bit fix-up: when E < maxE-1 and (top[64:63] - base[63]) mod
    // 4 > 1, bit 64 of top is inverted.
    let base2 = (base >> 63) & 1;
    let top2 = (top >> 63) & 3;
    if e < MAX_E - 1 && (top2.wrapping_sub(base2) & 3) > 1 {
        top ^= 1 << 64;
    }
    (base as u64, top)
}

/// `setCapBounds` for `[base, base + len)` (`len` at most 2^64 for any
/// architectural request; larger values are reduced to 65 bits).
pub(super) fn set_bounds<const MW: u32, const MAX_E: u32>(base: u64, len: u128) -> NewBounds {
    let mw_mask = (1u64 << MW) - 1;
    let len = len & MASK65;
    let ext_base = u128::from(base);
    let top = ext_base + len;
    // e = maxE - CountLeadingZeros(len[64:MW-1]): the bit length of the
    // length above the mantissa.
    let e = (128 - (len >> (MW - 1)).leading_zeros()).min(MAX_E);
    let ie = e != 0 || (len >> (MW - 2)) & 1 != 0;
    if !ie {
        return NewBounds {
            ie,
            e: 0,
            b: base & mw_mask,
            t: (top as u64) & mw_mask,
            exact: true,
        };
    }
    let mask = (1u128 << (MW - 3)) - 1;
    let mut b_ie = (ext_base >> (e + 3)) & mask;
    let mut t_ie = (top >> (e + 3)) & mask;
    let lost_mask = (1u128 << (e + 3)) - 1;
    let mut lost_base = ext_base & lost_mask != 0;
    let mut lost_top = top & lost_mask != 0;
    if lost_top {
        t_ie = (t_ie + 1) & mask;
    }
    let len_ie = t_ie.wrapping_sub(b_ie) & mask;
    let mut e = e;
    // incE: the rounded length overflows the mantissa.
    if (len_ie >> (MW - 4)) & 1 != 0 {
        lost_base |= b_ie & 1 != 0;
        lost_top |= t_ie & 1 != 0;
        b_ie = (ext_base >> (e + 4)) & mask;
        t_ie = ((top >> (e + 4)) + u128::from(lost_top)) & mask;
        e += 1;
    }
    NewBounds {
        ie,
        e,
        b: (b_ie as u64) << 3,
        t: (t_ie as u64) << 3,
        exact: !(lost_base || lost_top),
    }
}

/// CRAM / RRMASK: the base alignment `len` needs, with the exponent
/// clamped to `MAX_E` when `clamp` (v9) or not (Morello).
pub(super) fn align_mask<const MW: u32, const MAX_E: u32>(len: u64, clamp: bool) -> u64 {
    let nb = set_bounds::<MW, MAX_E>(0, u128::from(len));
    let e = if clamp { nb.e.min(MAX_E) } else { nb.e };
    u64::MAX
        .checked_shl(e + if nb.ie { 3 } else { 0 })
        .unwrap_or(0)
}

/// CRRL / RRLEN from the alignment mask.
pub(super) fn round_length(len: u64, mask: u64) -> u64 {
    len.wrapping_add(!mask) & mask
}

/// The fast representability check (Sail `fastRepCheck`, Morello
/// `CapIsRepresentableFast` without its extra conditions): may the address
/// `a` move by `inc` and keep its bounds? `e` is the raw exponent.
pub(super) fn fast_rep_check<const MW: u32, const MAX_E: u32>(
    e: u32,
    b: u64,
    a: u64,
    inc: u64,
) -> bool {
    if e >= MAX_E - 2 {
        return true;
    }
    let mw_mask = (1u64 << MW) - 1;
    let i_top = (inc as i64) >> (e + MW);
    let i_mid = (inc >> e) & mw_mask;
    let a_mid = (a >> e) & mw_mask;
    let r = ((b >> (MW - 3)).wrapping_sub(1) & 7) << (MW - 3);
    let diff = r.wrapping_sub(a_mid) & mw_mask;
    let diff1 = diff.wrapping_sub(1) & mw_mask;
    match i_top {
        0 => i_mid < diff1,
        -1 => i_mid >= diff && r != a_mid,
        _ => false,
    }
}
