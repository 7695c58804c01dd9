//! The attack suite: every misuse class of DESIGN.md, in `SoftCheri`
//! (each refused with its specific error, the heap verified afterwards and
//! still usable) and in `Native` (documenting what is *not* caught there).

use capability_heap::{
    Address, CapFault, Capability, CheriV9, Format, Morello, Native, NativeRef, Perm, Perms,
    RiscvStd, SoftCheri,
};
use gc_core::{GcError, Heap, HeapConfig, ObjRef, Plan, TypeId};

type Cheri<F> = SoftCheri<F>;

fn heap<F: Format>(plan: Plan) -> (Heap<Cheri<F>>, TypeId) {
    let mut h = Heap::<Cheri<F>>::new(HeapConfig {
        plan,
        limit: 16 << 20,
        ..HeapConfig::default()
    })
    .unwrap();
    let node = h.record_type(2, 16).unwrap();
    (h, node)
}

/// The heap still verifies and still allocates, links and collects.
fn still_usable<M: capability_heap::RefMode>(h: &mut Heap<M>, node: TypeId) {
    h.verify().expect("heap intact after the attack");
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let b = h.alloc(node).unwrap();
    let a = h.get(ha).unwrap();
    h.set_ref(&a, 0, &b).unwrap();
    h.collect();
    h.verify().expect("heap intact after a collection");
}

fn use_after_free<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let victim = h.alloc(node).unwrap();
    h.write::<u64>(&victim, Heap::<Cheri<F>>::data_offset(2), 7)
        .unwrap();
    h.collect(); // victim is unreachable: freed, its cell zeroed
    assert_eq!(h.read::<u64>(&victim, 32), Err(GcError::StaleReference));
    assert_eq!(h.write::<u64>(&victim, 32, 1), Err(GcError::StaleReference));
    assert_eq!(h.handle(&victim), Err(GcError::StaleReference));
    // Reallocating the same cell (MarkSweep reuses it at once; the moving
    // plans quarantine it) does not revive the old reference.
    let fresh = h.alloc(node).unwrap();
    if plan == Plan::MarkSweep {
        assert_eq!(fresh.address(), victim.address(), "the cell was reused");
    }
    assert_eq!(h.get_ref(&victim, 0), Err(GcError::StaleReference));
    still_usable(&mut h, node);
}

fn forged_from_bits<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let real = h.alloc(node).unwrap();
    let (pesbt, cursor) = real.raw().to_bits();
    // The exact bits of a valid reference, but from data: no tag.
    let forged = h.ref_from_raw(Capability::<F>::decode(pesbt, cursor));
    assert_eq!(
        h.read::<u64>(&forged, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    // Random bits.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let f = h.ref_from_raw(Capability::<F>::decode(x, x.rotate_left(17)));
        assert_eq!(
            h.read::<u8>(&f, 0),
            Err(GcError::Cap(CapFault::TagViolation))
        );
        assert!(
            h.set_ref(&real, 0, &f).is_err(),
            "a forged value is never stored"
        );
    }
    still_usable(&mut h, node);
}

fn out_of_bounds<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let o = h.alloc(node).unwrap();
    let len = h.payload_len(&o).unwrap();
    assert_eq!(len, 48);
    for off in [48u64, 56, 4096, u64::MAX - 3] {
        let e = h.read::<u64>(&o, off).unwrap_err();
        assert!(
            matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })),
            "{off}: {e:?}"
        );
    }
    // Straddling the end.
    let e = h.write::<u64>(&o, 44, 0).unwrap_err();
    assert!(matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })));
    let mut buf = [0u8; 49];
    assert!(matches!(
        h.read_bytes(&o, 0, &mut buf),
        Err(GcError::Cap(CapFault::BoundsViolation { .. }))
    ));
    still_usable(&mut h, node);
}

fn data_over_reference<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let b = h.alloc(node).unwrap();
    let a = h.get(ha).unwrap();
    h.set_ref(&a, 0, &b).unwrap();
    // One byte of data over the reference slot clears its tag (I6).
    h.write::<u8>(&a, 5, 0x41).unwrap();
    let smashed = h.get_ref(&a, 0).unwrap();
    assert!(!smashed.raw().tag());
    assert_eq!(
        h.read::<u64>(&smashed, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    // And it no longer keeps b alive: b is collected, a survives.
    let s = h.collect();
    assert_eq!(s.live_objects, 1);
    still_usable(&mut h, node);
}

fn reach_header<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let o = h.alloc(node).unwrap();
    // Negative offsets wrap below the base.
    for back in [1u64, 8, 16] {
        let e = h.read::<u64>(&o, back.wrapping_neg()).unwrap_err();
        assert!(
            matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })),
            "{e:?}"
        );
        let e = h.write::<u64>(&o, back.wrapping_neg(), 0).unwrap_err();
        assert!(
            matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })),
            "{e:?}"
        );
    }
    // Re-deriving a wider capability from the reference is refused.
    let cap = o.raw();
    let header = cap.set_address(Address(cap.base().get() - 16));
    let e = header.set_bounds(16).unwrap_err();
    assert!(
        matches!(e, CapFault::BoundsViolation { .. } | CapFault::TagViolation),
        "{e:?}"
    );
    let wide = cap.set_bounds(4096);
    assert!(matches!(wide, Err(CapFault::BoundsViolation { .. })));
    // A derived capability over the header region, if the address move
    // kept the tag, still cannot load it.
    assert!(h.read::<u64>(&h.ref_from_raw(header), 0).is_err());
    still_usable(&mut h, node);
}

fn store_without_permission<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let o = h.alloc(node).unwrap();
    let b = h.alloc(node).unwrap();
    let ho = h.handle(&o).unwrap();
    let o = h.get(ho).unwrap();
    let ro = h.restrict(&o, Perms::LOAD | Perms::LOAD_CAP).unwrap();
    assert_eq!(
        h.write::<u64>(&ro, 32, 1),
        Err(GcError::Cap(CapFault::PermissionViolation {
            needed: Perm::Store
        }))
    );
    let e = h.set_ref(&ro, 0, &b).unwrap_err();
    assert!(
        matches!(e, GcError::Cap(CapFault::PermissionViolation { .. })),
        "{e:?}"
    );
    assert_eq!(h.read::<u64>(&ro, 32), Ok(0), "loads still allowed");
    // A read-only view may be stored (I5 allows fewer permissions); what
    // is loaded back is still read-only.
    h.set_ref(&o, 0, &ro).unwrap();
    let back = h.get_ref(&o, 0).unwrap();
    assert!(matches!(
        h.write::<u64>(&back, 32, 1),
        Err(GcError::Cap(CapFault::PermissionViolation { .. }))
    ));
    still_usable(&mut h, node);
}

fn sub_object_capability_is_not_storable<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let o = h.alloc(node).unwrap();
    let inner = o.raw().set_bounds_exact(16).unwrap();
    let inner = h.ref_from_raw(inner);
    assert_eq!(h.read::<u64>(&inner, 8), Ok(0));
    assert!(
        h.set_ref(&o, 0, &inner).is_err(),
        "I1: only exact references are stored"
    );
    assert!(h.handle(&inner).is_err());
    still_usable(&mut h, node);
}

macro_rules! attacks {
    ($m:ident, $f:ty) => {
        mod $m {
            use super::*;
            #[test]
            fn use_after_free_is_stale() {
                for plan in Plan::ALL {
                    use_after_free::<$f>(plan);
                }
            }
            #[test]
            fn forged_reference_has_no_tag() {
                for plan in Plan::ALL {
                    forged_from_bits::<$f>(plan);
                }
            }
            #[test]
            fn out_of_bounds_field() {
                for plan in Plan::ALL {
                    out_of_bounds::<$f>(plan);
                }
            }
            #[test]
            fn data_written_over_reference() {
                for plan in Plan::ALL {
                    data_over_reference::<$f>(plan);
                }
            }
            #[test]
            fn header_unreachable() {
                for plan in Plan::ALL {
                    reach_header::<$f>(plan);
                }
            }
            #[test]
            fn store_without_store_permission() {
                for plan in Plan::ALL {
                    store_without_permission::<$f>(plan);
                }
            }
            #[test]
            fn sub_object_capability_refused_as_value() {
                for plan in Plan::ALL {
                    sub_object_capability_is_not_storable::<$f>(plan);
                }
            }
        }
    };
}

attacks!(morello, Morello);
attacks!(cheri_v9, CheriV9);
attacks!(riscv_std, RiscvStd);

/// The same misuses in the unchecked modes (`Native`, `P128`), under every
/// plan: what is **not** caught there. Every access stays inside the heap's
/// mapping (the Rust API stays sound), but nothing else is checked.
mod unchecked_not_caught {
    use super::*;
    use capability_heap::{P128Ref, RefMode, P128};

    fn heap<M: RefMode>(plan: Plan) -> (Heap<M>, TypeId) {
        let mut h = Heap::<M>::new(HeapConfig {
            plan,
            limit: 16 << 20,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(2, 16).unwrap();
        (h, node)
    }

    /// A reference made from a bare address, per mode.
    trait Forge: RefMode {
        fn forge(a: Address) -> Self::Ref;
    }
    impl Forge for Native {
        fn forge(a: Address) -> NativeRef {
            NativeRef(a)
        }
    }
    impl Forge for P128 {
        fn forge(a: Address) -> P128Ref {
            P128Ref { addr: a, meta: 0 }
        }
    }

    fn use_after_free<M: Forge>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let victim = h.alloc(node).unwrap();
        h.write::<u64>(&victim, Heap::<M>::data_offset(2), 0xbeef)
            .unwrap();
        h.collect();
        let other = h.alloc(node).unwrap();
        h.write::<u64>(&other, Heap::<M>::data_offset(2), 0xdead)
            .unwrap();
        // NOT CAUGHT: the stale reference is used without complaint. Under
        // MarkSweep it reads the object that reused the cell; the moving
        // plans quarantine the old block, so it reads stale memory.
        let got = h.read::<u64>(&victim, Heap::<M>::data_offset(2)).unwrap();
        if plan == Plan::MarkSweep {
            assert_eq!(got, 0xdead);
        }
    }

    fn forged_reference_inside_the_heap<M: Forge>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let real = h.alloc(node).unwrap();
        h.write::<u64>(&real, Heap::<M>::data_offset(2), 5).unwrap();
        let forged: ObjRef<M> = h.ref_from_raw(M::forge(real.address()));
        // NOT CAUGHT: an address made from an integer works as a reference.
        assert_eq!(h.read::<u64>(&forged, Heap::<M>::data_offset(2)), Ok(5));
        // Only addresses outside the heap mapping are refused.
        let wild = h.ref_from_raw(M::forge(Address(0x1000)));
        assert!(matches!(
            h.read::<u64>(&wild, 0),
            Err(GcError::Cap(CapFault::OutsideRegion { .. }))
        ));
    }

    fn out_of_bounds_write_corrupts_the_neighbour_header<M: Forge>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        let b = h.alloc(node).unwrap();
        let gap = b.address().offset_from(a.address());
        // NOT CAUGHT: writing past a's payload lands in b's header (I2).
        h.write::<u64>(&a, gap - 16, 0xffff_ffff).unwrap();
        let h2 = h.handle(&a).unwrap();
        let _ = h.handle(&b).unwrap();
        // The verifier reports the corruption; the collector survives it.
        let v = h.verify().unwrap_err();
        assert!(v.iter().any(|x| x.invariant() == "I2"), "{v:?}");
        h.collect();
        assert!(h.get(h2).is_ok());
    }

    fn data_over_reference_is_followed<M: Forge>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        let ha = h.handle(&a).unwrap();
        let b = h.alloc(node).unwrap();
        let a = h.get(ha).unwrap();
        h.set_ref(&a, 0, &b).unwrap();
        h.write::<u64>(&a, 0, b.address().get() + 8).unwrap();
        // NOT CAUGHT: the data is loaded as a reference (I6).
        let bogus = h.get_ref(&a, 0).unwrap();
        assert_eq!(bogus.address(), b.address().add(8));
        assert!(h.read::<u64>(&bogus, 0).is_ok());
        // The verifier sees a reference to no object (I3).
        let v = h.verify().unwrap_err();
        assert!(v.iter().any(|x| x.invariant() == "I3"), "{v:?}");
    }

    fn header_and_permissions_are_not_enforced<M: Forge>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        // NOT CAUGHT: the header is one negative offset away (I2) …
        let w0 = h.read::<u64>(&a, 16u64.wrapping_neg()).unwrap();
        assert_eq!(w0 as u32, node.0);
        // … and a "read-only" reference still stores (no permissions).
        let ro = h.restrict(&a, Perms::LOAD).unwrap();
        assert!(h.write::<u64>(&ro, Heap::<M>::data_offset(2), 1).is_ok());
    }

    macro_rules! unchecked {
        ($name:ident, $f:ident) => {
            #[test]
            fn $name() {
                for plan in Plan::ALL {
                    $f::<Native>(plan);
                    $f::<P128>(plan);
                }
            }
        };
    }

    unchecked!(use_after_free_not_caught, use_after_free);
    unchecked!(
        forged_reference_not_caught,
        forged_reference_inside_the_heap
    );
    unchecked!(
        out_of_bounds_not_caught,
        out_of_bounds_write_corrupts_the_neighbour_header
    );
    unchecked!(
        data_over_reference_not_caught,
        data_over_reference_is_followed
    );
    unchecked!(
        header_and_permissions_not_caught,
        header_and_permissions_are_not_enforced
    );
}
