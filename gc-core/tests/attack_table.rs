//! Attack-table rows that no other suite covered, through the public API
//! only (`docs/attacks.md` names each test beside its row).

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{
    CellHeap, CompartmentId, Compartments, Ephemeron, ExternRef, Finalizer, GcError, Handle, Heap,
    HeapConfig, ObjRef, ObjectType, ObjectView, Persistent, Plan, RootRegionId, ScanStrategy,
    Scope, TypeId, WeakRef,
};

fn config(plan: Plan) -> HeapConfig {
    HeapConfig {
        plan,
        limit: 16 << 20,
        nursery_size: 256 << 10,
        pause_goal: None,
        log: false,
        ..HeapConfig::default()
    }
}

/// Words a forger may try: zero, ones, and a spread of patterns.
fn words() -> Vec<[u64; 2]> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut v = vec![[0, 0], [u64::MAX, u64::MAX], [1, 1], [0, 1]];
    for _ in 0..32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push([x, x.rotate_left(23)]);
    }
    v
}

/// Forging through every public way to make a reference or a token from
/// nothing: `ObjRef::null()` (never an object), `import_ref` of any bits
/// (`ExternRef` has public fields), bit flips of a real export, the
/// `from_bits` of every token type (`Handle`, `Persistent`, `WeakRef`,
/// `Ephemeron`, `Finalizer`, `RootRegionId`, `Scope`, `TypeId`,
/// `CompartmentId`) and `sealed_from_bits`. (A reference from data bits
/// is `attacks.rs::*::forged_from_bits`; a capability from bits is
/// `capability-heap/tests/forge.rs`.) Nothing forged is accepted; every
/// refusal is a specific error; the heap verifies and works afterwards.
fn forged_through_constructors<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 16).unwrap();
    let a = h.alloc(node).unwrap();
    let pa = h.persist(&a).unwrap();
    let e = h.export_ref(&a).unwrap();
    assert!(
        h.read::<u64>(&ObjRef::null(), 0).is_err(),
        "null is no object"
    );
    let data = Heap::<M>::data_offset(2);
    for w in words() {
        let f = ExternRef {
            addr: w[0],
            meta: w[1],
        };
        if f == ExternRef::NULL {
            assert!(h.import_ref(f).unwrap().is_null());
            continue;
        }
        let got = h.import_ref(f).map(|o| o.address());
        if M::CHECKED {
            assert_eq!(got, Err(GcError::Forged), "{f:?}");
        } else {
            assert!(got.is_err(), "{f:?}: {got:?}");
        }
        // Tokens from bits: refused (another heap's identity, or no entry).
        let refused = |r: Result<(), GcError>| assert!(r.is_err(), "token {w:?} accepted");
        refused(h.get(Handle::from_bits(w)).map(drop));
        refused(h.get_persistent(Persistent::from_bits(w)).map(drop));
        refused(h.weak_get(WeakRef::from_bits(w)).map(drop));
        refused(h.ephemeron_get(Ephemeron::from_bits(w)).map(drop));
        refused(h.unregister_finalizer(Finalizer::from_bits(w)));
        refused(h.root_get(RootRegionId::from_bits(w), 0).map(drop));
        refused(h.close_scope(Scope::from_bits(w)));
        refused(h.alloc(TypeId::from_bits(w[0] | 1 << 40)).map(drop));
    }
    // Every single bit of a genuine export flipped.
    for bit in 0..128 {
        let mut f = e;
        if bit < 64 {
            f.addr ^= 1 << bit;
        } else {
            f.meta ^= 1 << (bit - 64);
        }
        let got = h.import_ref(f);
        if M::CHECKED {
            assert_eq!(got.map(|o| o.address()), Err(GcError::Forged), "bit {bit}");
        } else if bit >= 64 {
            // NOT CAUGHT: the unchecked modes carry no authentication;
            // the bits are the address alone, `meta` is ignored.
            assert_eq!(got.map(|o| o.address()), Ok(a.address()));
        }
    }
    // The genuine export still works; the heap verifies.
    let back = h.import_ref(e).unwrap();
    h.write::<u64>(&back, data, 5).unwrap();
    h.collect().unwrap();
    let a = h.get_persistent(pa).unwrap();
    assert_eq!(h.read::<u64>(&a, data), Ok(5));
    h.verify().expect("intact after the forgeries");
    // Sealed references and compartment ids from bits.
    let mut w = Compartments::<M>::new().unwrap();
    let c0 = w.create(config(plan)).unwrap();
    let c1 = w.create(config(plan)).unwrap();
    let hc = w.heap_mut(c0).unwrap();
    let t = hc.record_type(1, 8).unwrap();
    let o = hc.alloc(t).unwrap();
    let _p = hc.persist(&o).unwrap();
    let s = w.seal(c0, &o, c1).unwrap();
    let bits = w.sealed_to_bits(&s);
    for i in 0..256 {
        let mut f = bits;
        f[i / 64] ^= 1 << (i % 64);
        assert_eq!(
            w.sealed_from_bits(f),
            Err(GcError::Forged),
            "sealed bit {i}"
        );
    }
    for g in words() {
        let f = [g[0], g[1], g[1], g[0]];
        assert_eq!(w.sealed_from_bits(f), Err(GcError::Forged));
        let id = CompartmentId::from_bits(g[0]);
        if id != c0 && id != c1 {
            assert!(w.heap(id).is_err(), "compartment {g:?}");
            assert!(w.collect(id).is_err());
        }
    }
    assert!(w.unseal(c0, &s).is_ok(), "the genuine one still opens");
    if let Err(v) = w.verify() {
        panic!("{v:?}");
    }
}

#[test]
fn forged_through_every_public_constructor() {
    for plan in Plan::ALL {
        forged_through_constructors::<SoftCheri<Morello>>(plan);
        forged_through_constructors::<SoftCheri<CheriV9>>(plan);
        forged_through_constructors::<SoftCheri<RiscvStd>>(plan);
        forged_through_constructors::<Native>(plan);
        forged_through_constructors::<P128>(plan);
    }
}

/// Concurrent use of one heap from the Rust API does not compile: `Heap`
/// and `Compartments` are `Send` but not `Sync` in every mode
/// (a shared reference cannot cross threads; the C ABI's answer is
/// `CAPGC_E_BUSY`, `c-api/tests/attack_table.rs`).
#[test]
fn heaps_are_not_sync_in_any_mode() {
    // Ambiguous (does not compile) exactly when `T: Sync`.
    trait AmbiguousIfSync<A> {
        fn check() {}
    }
    impl<T: ?Sized> AmbiguousIfSync<()> for T {}
    #[allow(dead_code)]
    struct Invalid;
    impl<T: ?Sized + Sync> AmbiguousIfSync<Invalid> for T {}
    fn send<T: Send>() {}
    <Heap<Native> as AmbiguousIfSync<_>>::check();
    <Heap<P128> as AmbiguousIfSync<_>>::check();
    <Heap<SoftCheri<Morello>> as AmbiguousIfSync<_>>::check();
    <Heap<SoftCheri<CheriV9>> as AmbiguousIfSync<_>>::check();
    <Heap<SoftCheri<RiscvStd>> as AmbiguousIfSync<_>>::check();
    <Compartments<SoftCheri<Morello>> as AmbiguousIfSync<_>>::check();
    <Compartments<Native> as AmbiguousIfSync<_>>::check();
    send::<Heap<SoftCheri<Morello>>>();
    send::<Compartments<SoftCheri<RiscvStd>>>();
    // `CellHeap` is `Sync`: through `&CellHeap` only queries run; every
    // change takes `&mut`, which the borrow checker keeps exclusive.
    send::<CellHeap>();
}

/// A tagged union: word 0 says which of slots 1..=3 hold references.
fn union_trace(view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
    let which = view.read::<u64>(0).unwrap_or(0);
    for i in 1..=3u64 {
        if which >> i & 1 != 0 {
            visit(i * 16);
        }
    }
}

/// Found by the `c_abi` fuzz target in its first 20-second run
/// (regression): scanning by tag, a tagged union flipped by a data write
/// to its tag word keeps its (tagged) reference through the collection —
/// by design, the tags are the truth — but the verifier checked I6 by the
/// type map and reported `TagOutsideRefSlot`: after a collection of a
/// legal program the heap did not verify. The verifier now takes the
/// reference slots the collector scans (every tagged payload granule under
/// `ScanStrategy::Tags`) and checks I1/I3/I9 on them.
fn union_flip_by_tag_verifies<F: capability_heap::Format>(plan: Plan) {
    let mut h = Heap::<SoftCheri<F>>::new(HeapConfig {
        scan: ScanStrategy::Tags,
        ..config(plan)
    })
    .unwrap();
    let node = h.record_type(2, 16).unwrap();
    let union = h
        .register_type(ObjectType::Custom {
            size: 64,
            trace: union_trace,
        })
        .unwrap();
    let u = h.alloc(union).unwrap();
    let hu = h.handle(&u).unwrap();
    let b = h.alloc(node).unwrap();
    let u = h.get(hu).unwrap();
    h.write::<u64>(&u, 0, 0b0010).unwrap();
    h.set_ref(&u, 16, &b).unwrap();
    h.collect().unwrap();
    h.verify().expect("verifies before the flip");
    let u = h.get(hu).unwrap();
    h.write::<u64>(&u, 0, 0).unwrap(); // the union flips: slot 1 is data now
    h.collect().unwrap();
    if let Err(v) = h.verify() {
        panic!("{plan:?}: a by-tag collection left a heap that does not verify: {v:?}");
    }
}

#[test]
fn union_flip_scanned_by_tag_verifies_afterwards() {
    for plan in Plan::ALL {
        union_flip_by_tag_verifies::<Morello>(plan);
        union_flip_by_tag_verifies::<CheriV9>(plan);
        union_flip_by_tag_verifies::<RiscvStd>(plan);
    }
}
