//! Property tests of the capability model, for all three formats:
//! monotonicity (I5), encode/decode round trip, tag clearing by data
//! writes (I6), and checked accesses that never leave their bounds.
//!
//! The derivation model (the operations, what each must give, the
//! monotonicity lattice) lives in `capgc_model::cap`, shared with the
//! `capability_ops` fuzz target; this file generates its first seven
//! operations with proptest.

use capability_heap::mode::Collector;
use capability_heap::{
    Address, CapFault, Capability, CheriV9, Format, Morello, Perms, RefMode, RiscvStd, SoftCheri,
    TaggedRegion, GRANULE,
};
use capgc_model::cap::{authority, perms_from_bits, Op};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u64>().prop_map(Op::SetAddr),
        (-1i64 << 20..1i64 << 20).prop_map(Op::AddOffset),
        any::<u64>().prop_map(|l| Op::SetBounds(l >> (l % 64))),
        any::<u64>().prop_map(|l| Op::SetBoundsExact(l >> (l % 64))),
        any::<u16>().prop_map(Op::AndPerms),
        (0u64..64).prop_map(Op::SealUnseal),
        Just(Op::ClearTag),
    ]
}

fn roundtrip<F: Format>(off: u64, len: u64, perms: u16, addr_off: u64) {
    let region = TaggedRegion::for_format::<F>(1 << 20).unwrap();
    let auth = authority::<F>(&region);
    let off = off % (1 << 19);
    let len = len % ((1 << 20) - off);
    let Ok(c) = auth
        .set_address(auth.base().add(off))
        .set_bounds(len)
        .and_then(|c| c.and_perms(perms_from_bits(perms)))
    else {
        return;
    };
    let c = c.set_address(c.base().add(addr_off % (len + 1)));
    let (pesbt, cursor) = c.to_bits();
    let d = Capability::<F>::decode(pesbt, cursor);
    assert!(!d.tag(), "decode never yields a tag");
    assert_eq!(d.base(), c.base());
    assert_eq!(d.top(), c.top());
    assert_eq!(d.perm_word(), c.perm_word());
    assert_eq!(d.otype(), c.otype());
    assert_eq!(d.address(), c.address());
    assert_eq!(Capability::<F>::from_bytes(c.to_bytes()), d);
    // And through tagged memory the tag survives.
    let mut region = region;
    let slot = region.base().add(4096);
    region.store_cap(&auth, slot, &c).unwrap();
    assert_eq!(region.load_cap(&auth, slot).unwrap(), c);
}

fn data_write_clears_tag<F: Format>(slot_idx: u64, byte: u64, width: u8) {
    let mut region = TaggedRegion::for_format::<F>(1 << 16).unwrap();
    let auth = authority::<F>(&region);
    let slot = region.base().add((slot_idx % 64) * GRANULE);
    let value = auth
        .set_address(region.base().add(256))
        .set_bounds_exact(64)
        .unwrap();
    region.store_cap(&auth, slot, &value).unwrap();
    assert!(region.is_tagged(slot));
    let at = slot.add(byte % GRANULE);
    match width % 5 {
        0 => region.store(&auth, at, 0xffu8).unwrap(),
        1 => region.store(&auth, at, 0xffffu16).unwrap(),
        2 => region.store(&auth, at, 1u32).unwrap(),
        3 => region.store(&auth, at, 0u64).unwrap(),
        _ => region.store_bytes(&auth, at, &[0]).unwrap(),
    }
    assert!(
        !region.is_tagged(slot),
        "data write at {at} left the tag of {slot}"
    );
    let loaded = region.load_cap(&auth, slot).unwrap();
    assert!(!loaded.tag());
    assert_eq!(
        loaded.check_access(loaded.address(), 1, Perms::LOAD, 1),
        Err(CapFault::TagViolation)
    );
}

/// Accesses through a capability over a window in the middle of the
/// region: sentinels outside the window must never change, and accesses
/// outside it are refused. The region's guard pages would fault on any
/// escape past the mapping.
fn confined<F: Format>(win_off: u64, win_len: u64, accesses: &[(i64, u8, bool)]) {
    const SIZE: u64 = 1 << 16;
    let mut region = TaggedRegion::for_format::<F>(SIZE).unwrap();
    let auth = authority::<F>(&region);
    region
        .store_bytes(&auth, region.base(), &[0xa5; SIZE as usize])
        .unwrap();
    let win_off = (win_off % (SIZE / 2)) & !15;
    let win_len = win_len % (SIZE / 4);
    let Ok(win) = auth
        .set_address(region.base().add(win_off))
        .set_bounds_exact(win_len)
    else {
        return;
    };
    for &(rel, width, store) in accesses {
        let addr = Address(win.base().get().wrapping_add_signed(rel));
        let size = 1u64 << (width % 5);
        let r = match (store, size) {
            (true, 1) => region.store(&win, addr, 0u8),
            (true, 2) => region.store(&win, addr, 0u16),
            (true, 4) => region.store(&win, addr, 0u32),
            (true, 8) => region.store(&win, addr, 0u64),
            (true, _) => region.store_cap(&win, addr, &win),
            (false, 1) => region.load::<u8, F>(&win, addr).map(drop),
            (false, 2) => region.load::<u16, F>(&win, addr).map(drop),
            (false, 4) => region.load::<u32, F>(&win, addr).map(drop),
            (false, 8) => region.load::<u64, F>(&win, addr).map(drop),
            (false, _) => region.load_cap(&win, addr).map(drop),
        };
        let inside = win.in_bounds(addr, size);
        if r.is_ok() {
            assert!(inside, "access of {size} at {addr} allowed outside {win:?}");
        } else if inside && size < 16 {
            panic!("in-bounds access of {size} at {addr} refused: {r:?}");
        }
    }
    let mut all = vec![0u8; SIZE as usize];
    region.load_bytes(&auth, region.base(), &mut all).unwrap();
    for (i, b) in all.iter().enumerate() {
        let a = region.base().add(i as u64);
        if !win.in_bounds(a, 1) {
            assert_eq!(*b, 0xa5, "byte at {a} outside the window changed");
        }
    }
}

/// The one-step derivation equals the three-step one it abbreviates.
fn derive_exact_matches<F: Format>(off: u64, len: u64, perms: u16) {
    let region = TaggedRegion::for_format::<F>(1 << 22).unwrap();
    let auth = authority::<F>(&region);
    let base = auth.base().add(off % (1 << 23));
    let len = len >> (len % 64);
    let keep = perms_from_bits(perms);
    let three = auth
        .try_set_address(base)
        .and_then(|c| c.set_bounds_exact(len))
        .and_then(|c| c.and_perms(keep));
    let one = auth.derive_exact(base, len, keep);
    match (three, one) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b);
            assert_eq!(
                (a.base(), a.top(), a.perm_word()),
                (b.base(), b.top(), b.perm_word())
            );
        }
        (Err(_), Err(_)) => {}
        (a, b) => panic!("three-step {a:?} vs one-step {b:?}"),
    }
}

/// The collector's undecoded slot path (`RefMode::Raw`) agrees with the
/// decoded one: reading, writing and relocating give the same references.
fn raw_slots_agree<F: Format>(off: u64, len: u64, perms: u16, new_off: u64, tagged: bool) {
    type M<F> = SoftCheri<F>;
    let mut region = TaggedRegion::for_format::<F>(1 << 22).unwrap();
    let auth = authority::<F>(&region);
    let len = (len >> (len % 64)) % (1 << 20);
    let layout = M::<F>::payload_layout(len).unwrap();
    let at = |o: u64| auth.base().add((o % (1 << 21)) & !(layout.align - 1));
    let Ok(c) = auth.derive_exact(at(off), layout.bounds, perms_from_bits(perms)) else {
        return;
    };
    let c = if tagged { c } else { c.cleared() };
    let slot = auth.base().add(1 << 21);
    // SAFETY: slot is 16-byte aligned and inside the 4 MiB region.
    unsafe { M::<F>::write_slot(&mut region, slot, &c) };
    // SAFETY: as above.
    let (decoded, raw) = unsafe {
        (
            M::<F>::read_slot(&region, slot),
            M::<F>::read_raw_slot(&region, slot),
        )
    };
    assert_eq!(decoded, c);
    assert_eq!(M::<F>::from_raw(&raw), c);
    assert_eq!(M::<F>::to_raw(&c), raw);
    assert_eq!(M::<F>::raw_is_valid(&raw), M::<F>::is_valid(&c));
    assert_eq!(M::<F>::raw_address(&raw), M::<F>::address(&c));
    // Relocation re-derives from the authority (I8): exact bounds over the
    // new payload, the old permissions within the object ones (I5).
    let new = at(new_off);
    if let Ok(moved) = M::<F>::relocate_raw(&auth, &raw, new, layout.bounds) {
        let moved = M::<F>::from_raw(&moved);
        assert!(moved.tag() && !moved.is_sealed());
        assert_eq!((moved.address(), moved.base()), (new, new));
        assert_eq!(moved.length(), u128::from(layout.bounds));
        assert_eq!(moved.perm_word() & !c.perm_word(), 0, "I5: widened");
        assert!(Perms::OBJECT.contains(moved.perms()));
    }
    // SAFETY: as above.
    unsafe { M::<F>::write_raw_slot(&mut region, slot, &raw) };
    // SAFETY: as above.
    assert_eq!(unsafe { M::<F>::read_slot(&region, slot) }, c);
}

fn accesses() -> impl Strategy<Value = Vec<(i64, u8, bool)>> {
    prop::collection::vec((-4096i64..20000, any::<u8>(), any::<bool>()), 1..64)
}

macro_rules! format_props {
    ($modname:ident, $f:ty) => {
        mod $modname {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(256))]
                #[test]
                fn no_op_widens_or_revives(ops in prop::collection::vec(op(), 1..24)) {
                    capgc_model::cap::run::<$f>(&ops);
                }
                #[test]
                fn decode_encode_roundtrip(off: u64, len: u64, perms: u16, a: u64) {
                    roundtrip::<$f>(off, len, perms, a);
                }
                #[test]
                fn data_write_over_capability_clears_tag(slot: u64, byte: u64, width: u8) {
                    data_write_clears_tag::<$f>(slot, byte, width);
                }
                #[test]
                fn derive_exact_is_the_three_step_derivation(off: u64, len: u64, perms: u16) {
                    derive_exact_matches::<$f>(off, len, perms);
                }
                #[test]
                fn raw_slots_agree_with_decoded(
                    off: u64, len: u64, perms: u16, new_off: u64, tagged: bool
                ) {
                    raw_slots_agree::<$f>(off, len, perms, new_off, tagged);
                }
                #[test]
                fn checked_accesses_stay_in_bounds(off: u64, len: u64, acc in accesses()) {
                    confined::<$f>(off, len, &acc);
                }
            }
        }
    };
}

format_props!(morello, Morello);
format_props!(cheri_v9, CheriV9);
format_props!(riscv_std, RiscvStd);
