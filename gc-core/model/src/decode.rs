//! The decoding model: what must hold for **any** 128-bit pattern read as
//! a capability of each format — garbage from memory, a forger's bits,
//! a bit-flipped reference.
//!
//! - decoding never panics and never yields a tag;
//!   [`Capability::decode`] agrees with the format's own decoder on
//!   every field, and the in-memory form round-trips through bits and
//!   bytes unchanged;
//! - the fields are writable independently: inserting a permission word
//!   or an object type changes only that field;
//! - re-encoding: where the decoded bounds are valid and exactly
//!   representable, encoding them again (a SetBounds from the root, then
//!   the permission and object-type fields) decodes to the same base,
//!   top, permissions and object type at the same address; and that
//!   encoding is canonical — encoding its own decoding gives it back bit
//!   for bit (`encode(decode(x)) = x` on canonical patterns);
//! - an address never moves the bounds it is precisely representable at;
//!   malformed bounds are representable at no address (fast or precise),
//!   so an address change clears their tag (issue #31).
//!
//! Used by the `decode` fuzz target and by
//! `capability-heap/tests/decode_model.rs`.

use capability_heap::format::TOP_MAX;
use capability_heap::{Capability, Format};

/// What [`check`] found out about a pattern (for corpus statistics and
/// tests that want to know the interesting cases were reached).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The format called the bounds encoding valid.
    pub valid: bool,
    /// The bounds were re-encoded exactly and compared.
    pub reencoded: bool,
    /// The pattern was its own canonical encoding.
    pub canonical: bool,
}

/// The bounds `[base, top)` encoded from the root by SetBounds, with the
/// permission word and object type inserted: the canonical encoding, or
/// `None` when the bounds are not exactly representable.
pub fn encode<F: Format>(base: u64, top: u128, perms: u32, otype: u32) -> Option<u64> {
    if top < u128::from(base) || top > TOP_MAX {
        return None;
    }
    let r = F::set_bounds(F::ROOT_PESBT, base, true, top - u128::from(base));
    if !r.tag || !r.exact || (r.base, r.top) != (base, top) {
        return None;
    }
    Some(F::with_otype(F::with_perms(r.pesbt, perms), otype))
}

/// Malformed bounds (the format's decoder says `valid = false`) are never
/// representable, fast or precise, at any new address — the reference
/// library's and the RISC-V standard's rule (issue #31) — so setting the
/// address of such a capability clears its tag. Valid bounds are not
/// constrained here.
pub fn malformed_never_representable<F: Format>(pesbt: u64, cursor: u64, new_addr: u64) {
    if F::decode(pesbt, cursor).valid {
        return;
    }
    let r = F::representable(pesbt, cursor, new_addr);
    assert!(
        !r.fast && !r.precise,
        "malformed bounds {pesbt:#018x} at {cursor:#x} called representable at {new_addr:#x}"
    );
    assert!(
        !F::set_addr_keeps_tag(pesbt, cursor, new_addr),
        "setting the address of malformed bounds {pesbt:#018x} kept the tag"
    );
    let c = Capability::<F>::decode(pesbt, cursor).set_address(capability_heap::Address(new_addr));
    assert!(!c.tag());
}

/// Checks every property of the module doc on `(pesbt, cursor)`.
pub fn check<F: Format>(pesbt: u64, cursor: u64) -> Outcome {
    let d = F::decode(pesbt, cursor);
    let c = Capability::<F>::decode(pesbt, cursor);
    assert!(!c.tag(), "decode yields no tag");
    assert_eq!(c.to_bits(), (pesbt, cursor), "the in-memory form is kept");
    assert_eq!(
        Capability::<F>::from_bytes(c.to_bytes()),
        c,
        "bytes round trip"
    );
    assert_eq!((c.base().get(), c.top()), (d.base, d.top), "bounds agree");
    assert_eq!(
        F::bounds(pesbt, cursor),
        (d.base, d.top),
        "fast bounds agree"
    );
    assert_eq!(c.perm_word(), d.perms, "permissions agree");
    assert_eq!(F::perms(pesbt), d.perms);
    assert_eq!(c.otype(), d.otype, "object type agrees");
    assert_eq!(F::otype(pesbt), d.otype);
    assert_eq!(c.is_sealed(), d.otype != F::OTYPE_UNSEALED);
    assert!(d.top < 1 << 65, "a top has 65 bits");
    let _ = c.perms();
    let _ = format!("{c:?}");

    // Fields insert independently.
    let otype_mask = (1u32 << F::OTYPE_BITS) - 1;
    for w in [0, F::PERMS_MASK, d.perms ^ F::PERMS_MASK, cursor as u32] {
        let p = F::with_perms(pesbt, w);
        // The settable bits are written; the others (constant ones in the
        // RISC-V standard's word) read as before.
        assert_eq!(
            F::perms(p),
            w & F::PERMS_MASK | d.perms & !F::PERMS_MASK,
            "permission insertion"
        );
        assert_eq!(F::otype(p), d.otype, "permission insertion kept the type");
        assert_eq!(F::bounds(p, cursor), (d.base, d.top), "and the bounds");
    }
    assert_eq!(
        F::with_perms(pesbt, d.perms),
        pesbt,
        "rewriting the permissions"
    );
    for t in [
        0,
        F::OTYPE_UNSEALED,
        otype_mask,
        (cursor >> 7) as u32 & otype_mask,
    ] {
        let p = F::with_otype(pesbt, t);
        assert_eq!(F::otype(p), t & otype_mask, "object-type insertion");
        assert_eq!(F::perms(p), d.perms, "type insertion kept the permissions");
        assert_eq!(F::bounds(p, cursor), (d.base, d.top), "and the bounds");
    }
    assert_eq!(F::with_otype(pesbt, d.otype), pesbt, "rewriting the type");

    // At its own address a pattern with valid bounds is representable;
    // one with malformed bounds is representable nowhere.
    if d.valid {
        assert!(F::representable(pesbt, cursor, cursor).precise);
    }
    for addr in [
        cursor,
        cursor.wrapping_add(16),
        cursor ^ (1 << 40),
        d.base,
        0,
    ] {
        malformed_never_representable::<F>(pesbt, cursor, addr);
    }

    let mut out = Outcome {
        valid: d.valid,
        ..Outcome::default()
    };
    // Re-encoding, at an address inside the bounds (where the bounds do
    // not depend on which address decodes them).
    let inside = u128::from(cursor) < d.top && cursor >= d.base;
    if d.valid && inside {
        if let Some(e) = encode::<F>(d.base, d.top, d.perms, d.otype) {
            let r = F::decode(e, cursor);
            assert_eq!(
                (r.base, r.top, r.perms, r.otype),
                (d.base, d.top, d.perms, d.otype),
                "re-encoding {pesbt:#018x} at {cursor:#x} as {e:#018x}"
            );
            assert!(r.valid);
            let again = encode::<F>(r.base, r.top, r.perms, r.otype);
            assert_eq!(again, Some(e), "the canonical encoding is a fixed point");
            out.reencoded = true;
            out.canonical = e == pesbt;
        }
    }
    out
}
