//! Sealed forms (`Collector::seal` / `unseal`), every mode: what only the
//! sealing compartment can turn back into an address, and what nobody can
//! dereference.

use capability_heap::mode::Collector;
use capability_heap::{
    Address, CapFault, CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, TaggedRegion, P128,
};

/// Two regions with their authorities and sealers (object types 16, 17).
struct Two<M: RefMode> {
    regions: [TaggedRegion; 2],
    auths: [M::Authority; 2],
    sealers: [M::Sealer; 2],
}

fn two<M: RefMode>() -> Two<M> {
    let regions = [
        M::new_region(1 << 16).unwrap(),
        M::new_region(1 << 16).unwrap(),
    ];
    // SAFETY: this test plays both collectors: authorities and sealers stay
    // in the struct, dropped with the regions.
    let auths = [0, 1].map(|i| unsafe { M::authority(&regions[i]) }.unwrap());
    // SAFETY: as above; object types 16 and 17 are handed out once each.
    let sealers = [16, 17].map(|t| unsafe { M::sealer(t) }.unwrap());
    Two {
        regions,
        auths,
        sealers,
    }
}

fn round_trip<M: RefMode>() {
    let t = two::<M>();
    let entry = t.regions[0].base().add(64);
    let s = M::seal(&t.auths[0], &t.sealers[0], entry, M::SLOT_SIZE).unwrap();
    assert!(M::is_sealed_form(&s), "{}", M::NAME);
    let (at, _) = M::unseal(&t.auths[0], &t.sealers[0], &s).unwrap();
    assert_eq!(at, entry);
    // The other compartment's authority and sealer refuse it.
    assert!(
        M::unseal(&t.auths[1], &t.sealers[1], &s).is_err(),
        "{}",
        M::NAME
    );
    // An object reference is no sealed form.
    let obj = M::derive(&t.auths[0], entry, 16).unwrap();
    assert!(!M::is_sealed_form(&obj));
    assert_eq!(
        M::unseal(&t.auths[0], &t.sealers[0], &obj),
        Err(CapFault::NotSealed)
    );
    // Nobody seals outside their own region.
    assert!(M::seal(&t.auths[1], &t.sealers[1], entry, M::SLOT_SIZE).is_err());
}

fn checked_refusals<M: RefMode>() {
    let t = two::<M>();
    let entry = t.regions[0].base().add(64);
    let s = M::seal(&t.auths[0], &t.sealers[0], entry, M::SLOT_SIZE).unwrap();
    // No access through a sealed form: load, store, capability load.
    assert!(M::load::<u64>(&t.regions[0], &s, 0).is_err());
    let mut r = M::new_region(1 << 16).unwrap();
    assert!(M::store::<u64>(&mut r, &s, 0, 1).is_err());
    assert!(M::load_ref(&t.regions[0], &s, 0).is_err());
    // Its own authority with the other sealer (a foreign object type)
    // is refused too where there are object types.
    let mixed = M::unseal(&t.auths[0], &t.sealers[1], &s);
    if M::NAME != "riscv-std" {
        assert!(
            matches!(mixed, Err(CapFault::OtypeMismatch { .. })),
            "{mixed:?}"
        );
    }
    // The other authority: its bounds refuse the entry.
    let foreign = M::unseal(&t.auths[1], &t.sealers[0], &s);
    assert!(
        matches!(
            foreign,
            Err(CapFault::BoundsViolation { .. } | CapFault::OtypeMismatch { .. })
        ),
        "{foreign:?}"
    );
}

#[test]
fn round_trips_in_every_mode() {
    round_trip::<Native>();
    round_trip::<P128>();
    round_trip::<SoftCheri<Morello>>();
    round_trip::<SoftCheri<CheriV9>>();
    round_trip::<SoftCheri<RiscvStd>>();
}

#[test]
fn sealed_forms_cannot_be_dereferenced_or_unsealed_by_another() {
    checked_refusals::<SoftCheri<Morello>>();
    checked_refusals::<SoftCheri<CheriV9>>();
    checked_refusals::<SoftCheri<RiscvStd>>();
}

#[test]
fn otype_formats_seal_with_the_object_type_and_riscv_drops_every_permission() {
    let t = two::<SoftCheri<Morello>>();
    let e = t.regions[0].base().add(32);
    let s = SoftCheri::<Morello>::seal(&t.auths[0], &t.sealers[0], e, 16).unwrap();
    assert!(s.is_sealed());
    assert_eq!(s.otype(), 16);
    assert_eq!((s.base(), s.length()), (e, 16), "exact bounds");
    let t = two::<SoftCheri<RiscvStd>>();
    let e = t.regions[0].base().add(32);
    let s = SoftCheri::<RiscvStd>::seal(&t.auths[0], &t.sealers[0], e, 16).unwrap();
    assert!(s.tag() && !s.is_sealed());
    assert_eq!(s.perms(), capability_heap::Perms::NONE);
    assert_eq!((s.base(), s.length()), (e, 16));
    // Moving its address off the entry makes it no sealed form the owner
    // accepts.
    let moved = s.set_address(Address(e.get() + 16));
    assert!(SoftCheri::<RiscvStd>::unseal(&t.auths[0], &t.sealers[0], &moved).is_err());
}

#[test]
fn invalid_object_types_are_refused() {
    // SAFETY: a sealer minted and dropped in the test.
    let bad = unsafe { SoftCheri::<Morello>::sealer(2) };
    assert!(matches!(bad, Err(CapFault::InvalidOtype { .. })));
}
