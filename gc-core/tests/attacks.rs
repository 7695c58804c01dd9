//! The attack suite, from outside the crate, through the public API only:
//! every misuse class of docs/design.md and of the review that found six
//! breaks, in `SoftCheri` for all three formats and every plan (each
//! refused with its specific error, the heap verified afterwards and still
//! usable), and in `Native`/`P128` (documenting what is *not* caught
//! there).
//!
//! What no longer compiles is not here but in doc tests: turning bits into
//! a reference (`gc_core` crate docs), a tagged `RawCap` from bits, a
//! public authority or sealing root (`capability_heap::mode::collector`).

mod common;

use capability_heap::{
    Address, CapFault, CheriV9, Format, Morello, Perm, Perms, RiscvStd, SoftCheri,
};
use gc_core::{
    header_size, GcError, Heap, HeapConfig, ObjRef, ObjectType, ObjectView, Plan, ScanStrategy,
    TypeError, TypeId,
};

type Cheri<F> = SoftCheri<F>;

fn config(plan: Plan) -> HeapConfig {
    HeapConfig {
        plan,
        limit: 16 << 20,
        pause_goal: None,
        nursery_size: 256 << 10,
        log: false,
        ..HeapConfig::default()
    }
}

fn heap<F: Format>(plan: Plan) -> (Heap<Cheri<F>>, TypeId) {
    let mut h = Heap::<Cheri<F>>::new(config(plan)).unwrap();
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
    h.collect().unwrap();
    h.verify().expect("heap intact after a collection");
}

/// Every entry point that takes a reference refuses `r` with `want`.
fn refused_everywhere<F: Format>(h: &mut Heap<Cheri<F>>, r: &ObjRef<Cheri<F>>, want: GcError) {
    let ty = h.record_type(2, 16).unwrap();
    let good = h.alloc(ty).unwrap();
    let e = |x: Result<(), GcError>| x.unwrap_err();
    let mut buf = [0u8; 8];
    let results = [
        e(h.read::<u64>(r, 32).map(drop)),
        e(h.write::<u64>(r, 32, 1)),
        e(h.read_bytes(r, 32, &mut buf)),
        e(h.write_bytes(r, 32, &buf)),
        e(h.get_ref(r, 0).map(drop)),
        e(h.set_ref(r, 0, &ObjRef::null())),
        e(h.set_ref(&good, 0, r)),
        e(h.restrict(r, Perms::LOAD).map(drop)),
        e(h.type_of(r).map(drop)),
        e(h.payload_len(r).map(drop)),
        e(h.array_len(r).map(drop)),
        e(h.pin(r)),
        e(h.unpin(r)),
        e(h.is_pinned(r).map(drop)),
        e(h.handle(r).map(drop)),
        e(h.persist(r).map(drop)),
        e(h.weak_new(r).map(drop)),
        e(h.ephemeron_new(r, &good).map(drop)),
        e(h.ephemeron_new(&good, r).map(drop)),
        e(h.register_finalizer(r, 1).map(drop)),
    ];
    for (i, got) in results.into_iter().enumerate() {
        assert_eq!(got, want, "entry point #{i}");
    }
    let rr = h.root_region_new(2).unwrap();
    assert_eq!(h.root_set(rr, 0, r), Err(want.clone()));
    let hd = h.handle(&good).unwrap();
    assert_eq!(h.set_handle(hd, r), Err(want.clone()));
    let p = h.persist(&good).unwrap();
    assert_eq!(h.set_persistent(p, r), Err(want));
}

// ---- stale references: after free, after reuse, after a move -------------

fn stale_after_free_and_reuse<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let victim = h.alloc(node).unwrap();
    h.write::<u64>(&victim, 32, 7).unwrap();
    h.collect().unwrap(); // victim is unreachable: freed
                          // A new occupant of another type and length takes the cell (MarkSweep
                          // reuses it at once; the moving plans quarantine it): the old reference
                          // still reaches nothing, through any entry point.
    let other = h.record_type(1, 24).unwrap();
    let fresh = h.alloc(other).unwrap();
    let hf = h.handle(&fresh).unwrap();
    h.write::<u64>(&fresh, 16, 0xfeed).unwrap();
    if plan == Plan::MarkSweep {
        assert_eq!(fresh.address(), victim.address(), "the cell was reused");
    }
    refused_everywhere(&mut h, &victim, GcError::StaleReference);
    let fresh = h.get(hf).unwrap();
    assert_eq!(h.read::<u64>(&fresh, 16), Ok(0xfeed));
    still_usable(&mut h, node);
}

fn stale_large_object<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let big = h.alloc_array(bytes, 200_000).unwrap();
    h.collect().unwrap();
    // The freed range of a large object: later objects' headers live there.
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    let keep = h.alloc_array(arr, 8000).unwrap();
    let hk = h.handle(&keep).unwrap();
    for off in [0u64, 16, 4096, 100_000] {
        assert_eq!(
            h.write::<u64>(&big, off, u64::MAX),
            Err(GcError::StaleReference)
        );
    }
    let keep = h.get(hk).unwrap();
    assert_eq!(h.array_len(&keep), Ok(8000));
    still_usable(&mut h, node);
}

fn stale_after_move<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    h.write::<u64>(&a, 32, 5).unwrap();
    h.collect_minor().unwrap();
    let moved = h.get(ha).unwrap();
    if plan.moves() {
        assert_ne!(moved.address(), a.address(), "moved");
    }
    refused_everywhere(&mut h, &a, GcError::StaleReference);
    assert_eq!(h.read::<u64>(&moved, 32), Ok(5));
    still_usable(&mut h, node);
}

/// References the heap vouches for (fresh from an allocation, read from a
/// handle, the slow path's large array), which `storable` does not
/// re-check within their epoch: after a collection, on another heap, and
/// after a scope closed their handle, they are refused like any other.
fn vouched_references_expire<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let (mut other, other_node) = heap::<F>(plan);
    let scope = h.open_scope();
    let fresh = h.alloc(node).unwrap();
    let hd = h.handle(&fresh).unwrap();
    let from_handle = h.get(hd).unwrap();
    let holder = h.alloc(node).unwrap();
    // Within the epoch both are storable.
    h.set_ref(&holder, Heap::<Cheri<F>>::ref_offset(0), &fresh)
        .unwrap();
    h.set_ref(&holder, Heap::<Cheri<F>>::ref_offset(1), &from_handle)
        .unwrap();
    // Another heap's fresh reference is refused by its stamp.
    let foreign = other.alloc(other_node).unwrap();
    assert_eq!(
        h.set_ref(&holder, Heap::<Cheri<F>>::ref_offset(0), &foreign),
        Err(GcError::StaleReference)
    );
    assert_eq!(h.handle(&foreign).map(drop), Err(GcError::StaleReference));
    // So is another heap's reference read from its handle table.
    let other_hd = other.handle(&foreign).unwrap();
    let foreign_got = other.get(other_hd).unwrap();
    assert_eq!(
        h.set_ref(&holder, Heap::<Cheri<F>>::ref_offset(1), &foreign_got),
        Err(GcError::StaleReference)
    );
    assert_eq!(
        h.persist(&foreign_got).map(drop),
        Err(GcError::StaleReference)
    );
    // The allocation slow path vouches too (a large array here).
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    let big = h.alloc_array(arr, 8000).unwrap();
    h.set_ref(&holder, Heap::<Cheri<F>>::ref_offset(0), &big)
        .unwrap();
    h.collect_minor().unwrap();
    refused_everywhere(&mut h, &fresh, GcError::StaleReference);
    refused_everywhere(&mut h, &from_handle, GcError::StaleReference);
    refused_everywhere(&mut h, &big, GcError::StaleReference);
    // A closed scope's handle yields nothing to vouch for.
    h.close_scope(scope).unwrap();
    assert_eq!(h.get(hd).map(drop), Err(GcError::InvalidHandle));
    h.verify().unwrap();
    still_usable(&mut h, node);
    still_usable(&mut other, other_node);
}

/// The vouched fast paths of `get_ref`/`set_ref` (a holder fresh from an
/// allocation, a handle or a reference slot skips the bounds step of its
/// access check; a loaded reference is vouched) still refuse everything
/// the full path refuses: views without the rights the access needs,
/// untagged slot contents, stale and foreign holders. Each case is asked
/// twice — through a vouched holder (loaded from a slot) and through the
/// same bits not vouched (`restrict`'s result) — and must get the full
/// path's answer both times.
fn vouched_holders_still_checked<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let off = |i| Heap::<Cheri<F>>::ref_offset(i);
    let keep = h.alloc(node).unwrap();
    let hk = h.handle(&keep).unwrap();
    let x = h.alloc(node).unwrap();
    let hx = h.handle(&x).unwrap();
    let y = h.alloc(node).unwrap();
    let hy = h.handle(&y).unwrap();
    let x = h.get(hx).unwrap();
    // Views of x: read-only, load without LoadCap, store without
    // StoreLocalCap; and a local (non-Global) reference to y.
    let ro = h.restrict(&x, Perms::LOAD | Perms::LOAD_CAP).unwrap();
    let no_lc = h.restrict(&x, Perms::LOAD | Perms::STORE).unwrap();
    let no_slc = h
        .restrict(&x, Perms::OBJECT.without(Perms::STORE_LOCAL_CAP))
        .unwrap();
    let y = h.get(hy).unwrap();
    let local = h
        .restrict(&y, Perms::OBJECT.without(Perms::GLOBAL))
        .unwrap();
    let global = h.get(hy).unwrap();
    h.set_ref(&x, off(0), &global).unwrap();
    // Store each view in `keep`'s slot 0 and load it back: the loaded
    // reference is vouched and, as a holder, must answer as the view does.
    for view in [&ro, &no_lc, &no_slc] {
        let keep = h.get(hk).unwrap();
        h.set_ref(&keep, off(0), view).unwrap();
        let loaded = h.get_ref(&keep, off(0)).unwrap();
        assert_eq!(loaded.raw(), view.raw(), "the view's bits, loaded");
        for holder in [view, &loaded] {
            let g = h.get(hy).unwrap();
            let want = h.set_ref(view, off(1), &g);
            assert_eq!(h.set_ref(holder, off(1), &g), want);
            // A loaded value (vouched) stored through the holder.
            let x_now = h.get(hx).unwrap();
            let g_loaded = h.get_ref(&x_now, off(0)).unwrap();
            assert_eq!(h.set_ref(holder, off(1), &g_loaded), want);
            let got = h.get_ref(holder, off(0));
            let got_view = h.get_ref(view, off(0));
            assert_eq!(got, got_view);
        }
    }
    // A read-only holder, vouched by the load, cannot store.
    let keep = h.get(hk).unwrap();
    h.set_ref(&keep, off(0), &ro).unwrap();
    let ro_loaded = h.get_ref(&keep, off(0)).unwrap();
    let g = h.get(hy).unwrap();
    assert_eq!(
        h.set_ref(&ro_loaded, off(1), &g),
        Err(GcError::Cap(CapFault::PermissionViolation {
            needed: Perm::Store
        }))
    );
    // A holder without LoadCap loads the bits untagged, never a reference.
    h.set_ref(&keep, off(0), &no_lc).unwrap();
    let no_lc_loaded = h.get_ref(&keep, off(0)).unwrap();
    let stripped = h.get_ref(&no_lc_loaded, off(0)).unwrap();
    assert!(
        !stripped.raw().tag(),
        "LoadCap missing: the tag is stripped"
    );
    assert_eq!(
        h.read::<u64>(&stripped, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    assert_eq!(
        h.set_ref(&keep, off(1), &stripped),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    // Storing a local reference needs StoreLocalCap, vouched or not.
    let x_now = h.get(hx).unwrap();
    h.set_ref(&x_now, off(1), &local).unwrap();
    let local_loaded = h.get_ref(&x_now, off(1)).unwrap();
    h.set_ref(&keep, off(0), &no_slc).unwrap();
    let no_slc_loaded = h.get_ref(&keep, off(0)).unwrap();
    let want = h.set_ref(&no_slc, off(1), &local);
    assert!(
        want.is_err(),
        "a local reference through a holder without StoreLocalCap"
    );
    assert_eq!(h.set_ref(&no_slc_loaded, off(1), &local_loaded), want);
    // Data over a slot clears its tag: the vouched holder loads bits that
    // are no reference.
    let x_now = h.get(hx).unwrap();
    h.write::<u64>(&x_now, off(0), 0xdead_beef).unwrap();
    let keep = h.get(hk).unwrap();
    let x_loaded = {
        h.set_ref(&keep, off(0), &x_now).unwrap();
        h.get_ref(&keep, off(0)).unwrap()
    };
    let junk = h.get_ref(&x_loaded, off(0)).unwrap();
    assert!(!junk.raw().tag());
    assert_eq!(
        h.get_ref(&junk, off(0)).map(drop),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    // As a value it is no object (the full path's answer for untagged bits).
    assert_eq!(h.set_ref(&keep, off(1), &junk), Err(GcError::NotAnObject));
    // Another heap's loaded (vouched) reference is refused by its stamp.
    let (mut other, other_node) = heap::<F>(plan);
    let oa = other.alloc(other_node).unwrap();
    let ha = other.handle(&oa).unwrap();
    let ob = other.alloc(other_node).unwrap();
    let oa = other.get(ha).unwrap();
    other.set_ref(&oa, off(0), &ob).unwrap();
    let foreign = other.get_ref(&oa, off(0)).unwrap();
    assert_eq!(
        h.set_ref(&keep, off(1), &foreign),
        Err(GcError::StaleReference)
    );
    assert_eq!(
        h.get_ref(&foreign, off(0)).map(drop),
        Err(GcError::StaleReference)
    );
    // After a collection every loaded reference is stale everywhere.
    let keep = h.get(hk).unwrap();
    h.set_ref(&keep, off(0), &x_now).unwrap();
    let loaded = h.get_ref(&keep, off(0)).unwrap();
    h.collect_minor().unwrap();
    refused_everywhere(&mut h, &loaded, GcError::StaleReference);
    refused_everywhere(&mut h, &x_loaded, GcError::StaleReference);
    still_usable(&mut h, node);
    still_usable(&mut other, other_node);
}

// ---- forged references: from bits, through data ----------------------------

fn forged_from_bits<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let b = h.alloc(node).unwrap();
    let a = h.get(ha).unwrap();
    // The exact 16 bytes of a valid reference, written as data into a
    // reference slot: loaded back, they have no tag.
    let (pesbt, cursor) = b.raw().to_bits();
    let bits = (u128::from(pesbt) << 64 | u128::from(cursor)).to_le_bytes();
    h.write_bytes(&a, 0, &bits).unwrap();
    let forged = h.get_ref(&a, 0).unwrap();
    assert!(!forged.raw().tag());
    assert_eq!(forged.address(), b.address(), "the right bits");
    assert_eq!(
        h.read::<u64>(&forged, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    assert_eq!(
        h.set_ref(&a, Heap::<Cheri<F>>::SLOT, &forged),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    // Nor can the bits be laundered through an exported reference: only
    // references are exported, and only this heap's exports come back.
    assert_eq!(
        h.export_ref(&forged),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    let e = h.export_ref(&b).unwrap();
    assert_eq!(h.import_ref(e).unwrap(), b);
    for flip in [1u64, 1 << 20, 1 << 41, 1 << 42, 1 << 47, 1 << 48, 1 << 63] {
        let f = gc_core::ExternRef {
            meta: e.meta ^ flip,
            ..e
        };
        assert_eq!(h.import_ref(f), Err(GcError::Forged), "{flip:#x}");
    }
    // Random by-value references, epoch bits "ahead" of the heap's young
    // epoch included (found by the C misuse suite in a debug build: the
    // epoch reconstruction underflowed): refused, never a panic.
    let mut y = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..256 {
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        let f = gc_core::ExternRef {
            addr: y.rotate_left(29),
            meta: y,
        };
        assert_eq!(h.import_ref(f), Err(GcError::Forged), "{f:?}");
    }
    // Random bits, every one refused.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bits = (u128::from(x) << 64 | u128::from(x.rotate_left(17))).to_le_bytes();
        h.write_bytes(&a, 0, &bits).unwrap();
        let f = h.get_ref(&a, 0).unwrap();
        assert_eq!(
            h.read::<u8>(&f, 0),
            Err(GcError::Cap(CapFault::TagViolation))
        );
        assert!(h.handle(&f).is_err(), "a forged value is never rooted");
    }
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
    assert_eq!(h.collect().unwrap().live_objects, 1);
    still_usable(&mut h, node);
}

// ---- out of bounds, headers, permissions ------------------------------------

fn out_of_bounds<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let o = h.alloc(node).unwrap();
    assert_eq!(h.payload_len(&o), Ok(48));
    for off in [48u64, 56, 4096, u64::MAX - 3] {
        let e = h.read::<u64>(&o, off).unwrap_err();
        assert!(
            matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })),
            "{off}: {e:?}"
        );
    }
    let e = h.write::<u64>(&o, 44, 0).unwrap_err();
    assert!(matches!(e, GcError::Cap(CapFault::BoundsViolation { .. })));
    let mut buf = [0u8; 49];
    assert!(matches!(
        h.read_bytes(&o, 0, &mut buf),
        Err(GcError::Cap(CapFault::BoundsViolation { .. }))
    ));
    // Reference slots outside the object, or not slots at all.
    assert!(matches!(
        h.get_ref(&o, 48),
        Err(GcError::Cap(CapFault::BoundsViolation { .. }))
    ));
    assert!(matches!(
        h.get_ref(&o, 32),
        Err(GcError::NotARefSlot { offset: 32, .. })
    ));
    assert!(matches!(
        h.set_ref(&o, 8, &ObjRef::null()),
        Err(GcError::NotARefSlot { .. })
    ));
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
    // Deriving a wider capability from the reference is refused.
    let cap = o.raw();
    let header = cap.set_address(Address(cap.base().get() - 16));
    let e = header.set_bounds(16).unwrap_err();
    assert!(
        matches!(e, CapFault::BoundsViolation { .. } | CapFault::TagViolation),
        "{e:?}"
    );
    assert!(matches!(
        cap.set_bounds(4096),
        Err(CapFault::BoundsViolation { .. })
    ));
    still_usable(&mut h, node);
}

fn permission_escalation<F: Format>(plan: Plan) {
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
    assert!(matches!(
        h.set_ref(&ro, 0, &b),
        Err(GcError::Cap(CapFault::PermissionViolation { .. }))
    ));
    assert_eq!(h.read::<u64>(&ro, 32), Ok(0), "loads still allowed");
    // A read-only view may be stored (I5 allows fewer permissions); what
    // is loaded back is still read-only, across collections too.
    h.set_ref(&o, 0, &ro).unwrap();
    h.collect_minor().unwrap();
    let o = h.get(ho).unwrap();
    let back = h.get_ref(&o, 0).unwrap();
    assert!(matches!(
        h.write::<u64>(&back, 32, 1),
        Err(GcError::Cap(CapFault::PermissionViolation { .. }))
    ));
    // Restrict never widens.
    let again = h.restrict(&back, Perms::ALL).unwrap();
    assert!(h.write::<u64>(&again, 32, 1).is_err());
    // A view with no permissions cannot unpin (or pin) its owner's object.
    h.pin(&o).unwrap();
    let none = h.restrict(&o, Perms::NONE).unwrap();
    assert!(matches!(
        h.unpin(&none),
        Err(GcError::Cap(CapFault::PermissionViolation { .. }))
    ));
    assert!(matches!(
        h.unpin(&back),
        Err(GcError::Cap(CapFault::PermissionViolation { .. }))
    ));
    assert_eq!(h.is_pinned(&o), Ok(true));
    h.unpin(&o).unwrap();
    still_usable(&mut h, node);
}

// ---- heap identity: another heap's references and tokens -------------------

/// The token cache (`gc-core/src/export.rs`, "The token cache") accepts
/// only what the MAC accepts, and only in its epoch: a cached token's
/// flipped, widened or swapped bits, another heap's cached token, and a
/// cached token after a collection are refused as without the cache; a
/// token evicted by another view at the same address comes back whole
/// through the full check.
fn cached_tokens_expire<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let (mut other, other_node) = heap::<F>(plan);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let a = h.get(ha).unwrap();
    let e = h.export_ref(&a).unwrap();
    assert_eq!(h.export_ref(&a).unwrap(), e, "the same bits again");
    assert_eq!(h.import_ref(e).unwrap(), a);
    // Every bit of the cached token flipped: refused.
    for bit in 0..128 {
        h.import_ref(e).unwrap();
        let mut f = e;
        if bit < 64 {
            f.addr ^= 1 << bit;
        } else {
            f.meta ^= 1 << (bit - 64);
        }
        assert_eq!(h.import_ref(f), Err(GcError::Forged), "bit {bit}");
    }
    // A read-only view at the same address takes the entry; it stays
    // read-only, and its view bits widened to the full token's are forged.
    let ro = h.restrict(&a, Perms::LOAD | Perms::LOAD_CAP).unwrap();
    let eo = h.export_ref(&ro).unwrap();
    assert_ne!(eo, e);
    let back = h.import_ref(eo).unwrap();
    assert!(
        h.write::<u64>(&back, 32, 1).is_err(),
        "read-only view written"
    );
    let view = 0x3fu64 << 42;
    let widened = gc_core::ExternRef {
        addr: eo.addr,
        meta: eo.meta & !view | e.meta & view,
    };
    assert_eq!(h.import_ref(widened), Err(GcError::Forged));
    // The full token, evicted by the view's, comes back whole.
    let full = h.import_ref(e).unwrap();
    h.write::<u64>(&full, 32, 7).unwrap();
    assert_eq!(h.read::<u64>(&full, 32).unwrap(), 7);
    // Two cached tokens' words swapped: refused.
    let b = h.alloc(node).unwrap();
    let a = h.get(ha).unwrap();
    let e = h.export_ref(&a).unwrap();
    let eb = h.export_ref(&b).unwrap();
    h.import_ref(eb).unwrap();
    let swapped = gc_core::ExternRef {
        addr: eb.addr,
        meta: e.meta,
    };
    assert_eq!(h.import_ref(swapped), Err(GcError::Forged));
    // Another heap's token, cached there: refused here.
    let o = other.alloc(other_node).unwrap();
    let eother = other.export_ref(&o).unwrap();
    assert_eq!(other.import_ref(eother).unwrap(), o);
    assert_eq!(h.import_ref(eother), Err(GcError::Forged));
    // After a collection the cached tokens are stale, whatever became of
    // the cells; the new epoch's token is another.
    h.import_ref(e).unwrap();
    h.collect().unwrap();
    assert_eq!(h.import_ref(e), Err(GcError::StaleReference));
    assert_eq!(h.import_ref(eo), Err(GcError::StaleReference));
    assert_eq!(h.import_ref(eb), Err(GcError::StaleReference));
    let a = h.get(ha).unwrap();
    let e2 = h.export_ref(&a).unwrap();
    assert_ne!(e2, e);
    assert_eq!(h.import_ref(e2).unwrap(), a);
    still_usable(&mut h, node);
}

fn another_heaps_tokens<F: Format>(plan: Plan) {
    let (mut a, node_a) = heap::<F>(plan);
    let (mut b, node_b) = heap::<F>(plan);
    let oa = a.alloc(node_a).unwrap();
    let ob = b.alloc(node_b).unwrap();
    // Same indices in both heaps: only the heap identity tells them apart.
    let ha = a.handle(&oa).unwrap();
    let _hb = b.handle(&ob).unwrap();
    let pa = a.persist(&oa).unwrap();
    let _pb = b.persist(&ob).unwrap();
    let wa = a.weak_new(&oa).unwrap();
    let _wb = b.weak_new(&ob).unwrap();
    let ea = a.ephemeron_new(&oa, &oa).unwrap();
    let _eb = b.ephemeron_new(&ob, &ob).unwrap();
    let fa = a.register_finalizer(&oa, 1).unwrap();
    let _fb = b.register_finalizer(&ob, 1).unwrap();
    let ra = a.root_region_new(4).unwrap();
    let _rb = b.root_region_new(4).unwrap();
    let sa = a.open_scope();
    let _sb = b.open_scope();
    let wrong = Err(GcError::WrongHeap);
    assert_eq!(b.get(ha).map(drop), wrong);
    assert_eq!(b.set_handle(ha, &ob), wrong);
    assert_eq!(b.get_persistent(pa).map(drop), wrong);
    assert_eq!(b.release(pa), wrong);
    assert_eq!(b.weak_get(wa).map(drop), wrong);
    assert_eq!(b.weak_release(wa), wrong);
    assert_eq!(b.ephemeron_get(ea).map(drop), wrong);
    assert_eq!(b.ephemeron_release(ea), wrong);
    assert_eq!(b.unregister_finalizer(fa), wrong);
    assert_eq!(b.root_get(ra, 0).map(drop), wrong);
    assert_eq!(b.root_set_data(ra, 0, 1), wrong);
    assert_eq!(b.root_region_free(ra), wrong);
    assert_eq!(b.close_scope(sa), wrong);
    assert_eq!(b.alloc(node_a).map(drop), wrong);
    // Heap A's reference on heap B: refused by its stamp.
    refused_everywhere(&mut b, &oa, GcError::StaleReference);
    // Everything of A still works in A.
    assert!(a.get(ha).is_ok() && a.weak_get(wa).unwrap().is_some());
    a.close_scope(sa).unwrap();
    still_usable(&mut a, node_a);
    still_usable(&mut b, node_b);
}

/// A dropped heap's reference and tokens, against a new heap mapped at the
/// same addresses (the kernel reuses the range).
fn dropped_heap<F: Format>(plan: Plan) {
    let (mut a, node) = heap::<F>(plan);
    let oa = a.alloc(node).unwrap();
    let ha = a.handle(&oa).unwrap();
    drop(a);
    let (mut b, node_b) = heap::<F>(plan);
    let ob = b.alloc(node_b).unwrap();
    let _hb = b.handle(&ob).unwrap();
    if ob.address() == oa.address() {
        eprintln!("dropped_heap: the new heap's first object is at the old one's address");
    }
    assert_eq!(b.get(ha).map(drop), Err(GcError::WrongHeap));
    refused_everywhere(&mut b, &oa, GcError::StaleReference);
    still_usable(&mut b, node_b);
}

// ---- null is the untagged null ------------------------------------------------

fn null_is_not_an_address<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    // All-zero bits in a slot are null.
    h.set_ref(&a, 0, &ObjRef::null()).unwrap();
    assert!(h.get_ref(&a, 0).unwrap().is_null());
    // Address 0 with any other bits is not null: it is a forged value.
    let bits = (1u128 << 64).to_le_bytes();
    h.write_bytes(&a, 0, &bits).unwrap();
    let zero = h.get_ref(&a, 0).unwrap();
    assert_eq!(zero.address(), Address::NULL);
    assert!(!zero.is_null(), "address 0 is not the null reference");
    assert_eq!(h.set_ref(&a, 16, &zero), Err(GcError::NotAnObject));
    assert_eq!(h.handle(&zero), Err(GcError::NotAnObject));
    assert_eq!(
        h.ephemeron_new(&a, &zero).map(drop),
        Err(GcError::NotAnObject)
    );
    let rr = h.root_region_new(1).unwrap();
    assert_eq!(h.root_set(rr, 0, &zero), Err(GcError::NotAnObject));
    // Null is refused as an object and accepted as a value.
    assert_eq!(
        h.read::<u64>(&ObjRef::null(), 0),
        Err(GcError::NullReference)
    );
    let e = h
        .ephemeron_new(&h.get(ha).unwrap(), &ObjRef::null())
        .unwrap();
    h.collect().unwrap(); // terminates, with a null value in an ephemeron
    let (k, v) = h.ephemeron_get(e).unwrap().expect("the key lives");
    assert_eq!(k, h.get(ha).unwrap());
    assert!(v.is_null(), "a null value stays null");
    still_usable(&mut h, node);
}

// ---- custom types: the mutator and the tracer agree --------------------------

/// A tagged union: word 0 says which of slots 1..=3 hold references.
fn union_trace(view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
    let which = view.read::<u64>(0).unwrap_or(0);
    for i in 1..=3u64 {
        if which >> i & 1 != 0 {
            visit(i * 16);
        }
    }
    // Lies: offsets in the padding, past the end, misaligned, overflowing.
    for o in [56, 64, 1 << 30, 7, u64::MAX - 15] {
        visit(o);
    }
}

fn union_flip<F: Format>(plan: Plan) {
    let mut h = Heap::<Cheri<F>>::new(config(plan)).unwrap();
    let node = h.record_type(2, 16).unwrap();
    let union = h
        .register_type(ObjectType::Custom {
            size: 60,
            trace: union_trace,
        })
        .unwrap();
    let u = h.alloc(union).unwrap();
    let hu = h.handle(&u).unwrap();
    let b = h.alloc(node).unwrap();
    let u = h.get(hu).unwrap();
    h.write::<u64>(&u, 0, 0b0010).unwrap(); // slot 1 (offset 16) is a reference
    h.set_ref(&u, 16, &b).unwrap();
    // Offsets the callback reports but that are no slots: refused.
    for off in [56u64, 64, 7] {
        assert!(h.set_ref(&u, off, &b).is_err(), "{off}");
    }
    h.verify().unwrap();
    // Flip the union: slot 1 is data now, though its tag is still set.
    h.write::<u64>(&u, 0, 0).unwrap();
    assert!(matches!(
        h.get_ref(&u, 16),
        Err(GcError::NotARefSlot { offset: 16, .. })
    ));
    // The collector does not trace it — and strips its tag (I3, I6).
    assert_eq!(
        h.collect().unwrap().live_objects,
        1,
        "b was only reachable through the union"
    );
    h.verify().unwrap();
    // Flip back: what the slot holds is no reference any more.
    let u = h.get(hu).unwrap();
    h.write::<u64>(&u, 0, 0b0010).unwrap();
    let r = h.get_ref(&u, 16).unwrap();
    assert!(!r.raw().tag(), "the dangling reference was stripped");
    assert_eq!(
        h.read::<u64>(&r, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
    still_usable(&mut h, node);
}

fn panicking_trace(view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
    if view.read::<u64>(0) == Some(0xbad) {
        panic!("a VM's trace callback has a bug");
    }
    visit(16);
}

fn trace_callback_panics<F: Format>(plan: Plan) {
    let mut h = Heap::<Cheri<F>>::new(config(plan)).unwrap();
    let node = h.record_type(2, 16).unwrap();
    let ty = h
        .register_type(ObjectType::Custom {
            size: 32,
            trace: panicking_trace,
        })
        .unwrap();
    let o = h.alloc(ty).unwrap();
    let ho = h.handle(&o).unwrap();
    let b = h.alloc(node).unwrap();
    let o = h.get(ho).unwrap();
    h.set_ref(&o, 16, &b).unwrap();
    h.write::<u64>(&o, 0, 0xbad).unwrap();
    // In the mutator: an error, the heap unchanged.
    assert_eq!(h.set_ref(&o, 16, &b), Err(GcError::TracePanicked));
    assert_eq!(h.get_ref(&o, 16).map(drop), Err(GcError::TracePanicked));
    h.verify().ok();
    // In a collection: the heap is poisoned, explicitly.
    let r = common::collect_quietly(&mut h);
    assert_eq!(r.map(drop), Err(GcError::Poisoned));
    assert!(h.is_poisoned());
    assert_eq!(h.get(ho).map(drop), Err(GcError::Poisoned));
    assert_eq!(h.read::<u64>(&o, 0), Err(GcError::Poisoned));
    assert_eq!(h.alloc(node).map(drop), Err(GcError::Poisoned));
    assert_eq!(h.collect().map(drop), Err(GcError::Poisoned));
}

// ---- sizes: errors, never aborts or hangs ----------------------------------

fn huge_sizes<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    for len in [u64::MAX, u64::MAX - 15, 1 << 63, 17 << 20] {
        assert!(
            matches!(h.alloc_array(bytes, len), Err(GcError::OutOfMemory { .. })),
            "{len}"
        );
        assert!(
            matches!(h.alloc_array(arr, len), Err(GcError::OutOfMemory { .. })),
            "{len}"
        );
    }
    assert_eq!(
        h.record_type(u32::MAX, 0),
        Err(GcError::InvalidType(TypeError::TooLarge(
            u64::from(u32::MAX) * 16
        )))
    );
    assert!(matches!(
        h.record_type(1, u64::MAX),
        Err(GcError::InvalidType(TypeError::TooLarge(_)))
    ));
    for off in [u64::MAX, u64::MAX - 15, u64::MAX - 16] {
        let t = ObjectType::Fixed {
            size: 64,
            ref_offsets: vec![off],
        };
        assert!(
            matches!(h.register_type(t), Err(GcError::InvalidType(_))),
            "{off:#x}"
        );
    }
    assert!(h.root_region_new(1 << 40).is_err());
    assert!(h.root_region_new(0).is_err());
    let o = h.alloc(node).unwrap();
    assert!(h.read_bytes(&o, u64::MAX, &mut [0; 2]).is_err());
    assert!(h.write_bytes(&o, 40, &[0; 16]).is_err());
    still_usable(&mut h, node);
}

fn scopes_out_of_order<F: Format>(plan: Plan) {
    let (mut h, node) = heap::<F>(plan);
    let outer = h.open_scope();
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let inner = h.open_scope();
    let b = h.alloc(node).unwrap();
    let hb = h.handle(&b).unwrap();
    // Closing the outer scope first is refused and leaks nothing: both
    // stay open and close in order afterwards.
    assert_eq!(h.close_scope(outer), Err(GcError::ScopeMismatch));
    assert!(h.get(ha).is_ok() && h.get(hb).is_ok());
    h.close_scope(inner).unwrap();
    assert_eq!(h.get(hb), Err(GcError::InvalidHandle));
    h.close_scope(outer).unwrap();
    assert_eq!(h.get(ha), Err(GcError::InvalidHandle));
    assert_eq!(h.close_scope(outer), Err(GcError::ScopeClosed));
    assert_eq!(h.close_scope(inner), Err(GcError::ScopeClosed));
    // Released tokens stay invalid however often their entry is reused.
    let p0 = h.persist(&ObjRef::null()).unwrap();
    h.release(p0).unwrap();
    for _ in 0..10_000 {
        let p = h.persist(&ObjRef::null()).unwrap();
        h.release(p).unwrap();
        assert_eq!(h.get_persistent(p0), Err(GcError::InvalidHandle));
    }
    still_usable(&mut h, node);
}

macro_rules! attacks {
    ($m:ident, $f:ty) => {
        mod $m {
            use super::*;
            macro_rules! each_plan {
                ($name:ident) => {
                    #[test]
                    fn $name() {
                        for plan in Plan::ALL {
                            super::$name::<$f>(plan);
                        }
                    }
                };
            }
            each_plan!(stale_after_free_and_reuse);
            each_plan!(stale_large_object);
            each_plan!(stale_after_move);
            each_plan!(vouched_references_expire);
            each_plan!(vouched_holders_still_checked);
            each_plan!(forged_from_bits);
            each_plan!(data_over_reference);
            each_plan!(out_of_bounds);
            each_plan!(reach_header);
            each_plan!(permission_escalation);
            each_plan!(cached_tokens_expire);
            each_plan!(another_heaps_tokens);
            each_plan!(dropped_heap);
            each_plan!(null_is_not_an_address);
            each_plan!(union_flip);
            each_plan!(trace_callback_panics);
            each_plan!(huge_sizes);
            each_plan!(scopes_out_of_order);
        }
    };
}

attacks!(morello, Morello);
attacks!(cheri_v9, CheriV9);
attacks!(riscv_std, RiscvStd);

/// A heap reserved at the largest limits maps lazily: no abort, no
/// gigabytes committed, and it works.
#[test]
fn huge_limits_map_lazily() {
    for limit in [1u64 << 42, HeapConfig::MAX_LIMIT] {
        let mut h = Heap::<Cheri<Morello>>::new(HeapConfig {
            limit,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(1, 8).unwrap();
        still_usable(&mut h, node);
    }
    assert!(matches!(
        Heap::<Cheri<Morello>>::new(HeapConfig {
            limit: HeapConfig::MAX_LIMIT + 1,
            ..HeapConfig::default()
        }),
        Err(GcError::InvalidConfig(_))
    ));
}

/// The pause record stays bounded and answers after many collections.
#[test]
fn pause_history_is_bounded() {
    let (mut h, _) = heap::<Morello>(Plan::Generational);
    for _ in 0..5000 {
        h.collect_minor().unwrap();
    }
    let p = h.pauses();
    assert_eq!(p.count(None), 5000);
    assert!(p.percentile(None, 0.99) <= p.max(None));
}

/// Scanning by tag: the tags are the truth, so a flipped union keeps what
/// its tagged slot refers to (and no callback is asked).
#[test]
fn union_flip_by_tag_keeps_the_reference() {
    let mut h = Heap::<Cheri<Morello>>::new(HeapConfig {
        scan: ScanStrategy::Tags,
        ..config(Plan::MarkSweep)
    })
    .unwrap();
    let node = h.record_type(2, 16).unwrap();
    let union = h
        .register_type(ObjectType::Custom {
            size: 60,
            trace: union_trace,
        })
        .unwrap();
    let u = h.alloc(union).unwrap();
    let hu = h.handle(&u).unwrap();
    let b = h.alloc(node).unwrap();
    let u = h.get(hu).unwrap();
    h.write::<u64>(&u, 0, 0b0010).unwrap();
    h.set_ref(&u, 16, &b).unwrap();
    h.write::<u64>(&u, 0, 0).unwrap();
    assert_eq!(h.collect().unwrap().live_objects, 2);
}

/// The same misuses in the unchecked modes (`Native`, `P128`), under every
/// plan: what is **not** caught there. Every access stays inside the heap's
/// mapping (the Rust API stays sound), but nothing else is checked.
mod unchecked_not_caught {
    use super::*;
    use capability_heap::{Native, RefMode, P128};

    fn heap<M: RefMode>(plan: Plan) -> (Heap<M>, TypeId) {
        let mut h = Heap::<M>::new(config(plan)).unwrap();
        let node = h.record_type(2, 16).unwrap();
        (h, node)
    }

    fn use_after_free<M: RefMode>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let victim = h.alloc(node).unwrap();
        h.write::<u64>(&victim, Heap::<M>::data_offset(2), 0xbeef)
            .unwrap();
        h.collect().unwrap();
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

    fn another_heaps_reference<M: RefMode>(plan: Plan) {
        let (mut a, na) = heap::<M>(plan);
        let (b, _) = heap::<M>(plan);
        let oa = a.alloc(na).unwrap();
        a.write::<u64>(&oa, Heap::<M>::data_offset(2), 9).unwrap();
        // Another heap's reference is outside this heap's mapping: refused
        // by the region check (only that).
        assert!(matches!(
            b.read::<u64>(&oa, Heap::<M>::data_offset(2)),
            Err(GcError::Cap(CapFault::OutsideRegion { .. }))
        ));
        // Tokens carry their heap in every mode.
        let ha = a.handle(&oa).unwrap();
        assert_eq!(b.get(ha).map(drop), Err(GcError::WrongHeap));
    }

    fn forged_through_data<M: RefMode>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        let ha = h.handle(&a).unwrap();
        let b = h.alloc(node).unwrap();
        let a = h.get(ha).unwrap();
        h.set_ref(&a, 0, &b).unwrap();
        h.write::<u64>(&a, 0, b.address().get() + 8).unwrap();
        // NOT CAUGHT: data in a reference slot is loaded as a reference
        // (I6) — a reference forged from an integer.
        let bogus = h.get_ref(&a, 0).unwrap();
        assert_eq!(bogus.address(), b.address().add(8));
        assert!(h.read::<u64>(&bogus, 0).is_ok());
        // The verifier sees a reference to no object (I3).
        let v = h.verify().unwrap_err();
        assert!(v.iter().any(|x| x.invariant() == "I3"), "{v:?}");
    }

    fn out_of_bounds_corrupts_the_neighbour<M: RefMode>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        let b = h.alloc(node).unwrap();
        let gap = b.address().offset_from(a.address());
        // NOT CAUGHT: writing past a's payload lands in b's header (I2).
        h.write::<u64>(&a, gap - header_size::<M>(), 0xffff_ffff)
            .unwrap();
        let ha = h.handle(&a).unwrap();
        let _ = h.handle(&b).unwrap();
        // The verifier reports the corruption; the collector survives it
        // (it never copies past a cell, whatever the header says).
        let v = h.verify().unwrap_err();
        assert!(v.iter().any(|x| x.invariant() == "I2"), "{v:?}");
        h.collect().unwrap();
        assert!(h.get(ha).is_ok());
    }

    fn header_and_permissions_are_not_enforced<M: RefMode>(plan: Plan) {
        let (mut h, node) = heap::<M>(plan);
        let a = h.alloc(node).unwrap();
        // NOT CAUGHT: the header is one negative offset away (I2) …
        let w0 = h
            .read::<u64>(&a, header_size::<M>().wrapping_neg())
            .unwrap();
        // Native's one word holds the type in bits 8..32; P128's first
        // word in bits 0..32.
        let ty = if header_size::<M>() == 8 {
            w0 >> 8 & 0xff_ffff
        } else {
            w0
        };
        assert_eq!(ty as u32, node.index());
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
        another_heaps_reference_caught_by_region_only,
        another_heaps_reference
    );
    unchecked!(forged_reference_not_caught, forged_through_data);
    unchecked!(
        out_of_bounds_not_caught,
        out_of_bounds_corrupts_the_neighbour
    );
    unchecked!(
        header_and_permissions_not_caught,
        header_and_permissions_are_not_enforced
    );
}
