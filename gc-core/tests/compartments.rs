//! Compartments from outside the crate, public API only, in every mode and
//! plan: sealed references, refusals of unsealed foreign references
//! wherever they are offered, independent and whole-heap collection,
//! teardown, the non-local access report — and attacks, each refused with
//! its own error and the split heap verified afterwards.

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{
    CompartmentId, Compartments, GcError, HeapConfig, ObjRef, Plan, SealedRef, TypeId,
    NO_COMPARTMENT,
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

/// A split heap with `n` compartments, each with a node type (two
/// reference slots, 8 data bytes).
fn world<M: RefMode>(plan: Plan, n: usize) -> (Compartments<M>, Vec<CompartmentId>, Vec<TypeId>) {
    let mut w = Compartments::<M>::new().unwrap();
    let mut ids = Vec::new();
    let mut types = Vec::new();
    for _ in 0..n {
        let c = w.create(config(plan)).unwrap();
        types.push(w.heap_mut(c).unwrap().record_type(2, 8).unwrap());
        ids.push(c);
    }
    (w, ids, types)
}

fn data<M: RefMode>() -> u64 {
    gc_core::Heap::<M>::data_offset(2)
}

fn slot<M: RefMode>(i: u32) -> u64 {
    gc_core::Heap::<M>::ref_offset(i)
}

fn verified<M: RefMode>(w: &Compartments<M>) {
    if let Err(v) = w.verify() {
        panic!("{}: {v:?}", M::NAME);
    }
}

/// An object of `c` holding `value` in its data, kept in a persistent.
fn rooted<M: RefMode>(
    w: &mut Compartments<M>,
    c: CompartmentId,
    ty: TypeId,
    value: u64,
) -> gc_core::Persistent {
    let h = w.heap_mut(c).unwrap();
    let o = h.alloc(ty).unwrap();
    h.write::<u64>(&o, data::<M>(), value).unwrap();
    h.persist(&o).unwrap()
}

fn obj<M: RefMode>(w: &Compartments<M>, c: CompartmentId, p: gc_core::Persistent) -> ObjRef<M> {
    w.heap(c).unwrap().get_persistent(p).unwrap()
}

fn seal_store_unseal<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let secret = rooted(&mut w, b, t[1], 42);
    let holder = rooted(&mut w, a, t[0], 0);
    let s = w.seal(b, &obj(&w, b, secret), a).unwrap();
    assert_eq!(s.owner(), b);
    assert_eq!(s.via(), a);
    // Sealing the same object again gives an equal reference, one export.
    assert_eq!(w.seal(b, &obj(&w, b, secret), a).unwrap(), s);
    assert_eq!(w.exports(b).unwrap(), 1);
    let hold = obj(&w, a, holder);
    w.set_sealed(a, &hold, slot::<M>(1), &s).unwrap();
    let back = w.get_sealed(a, &hold, slot::<M>(1)).unwrap();
    assert_eq!(back, s);
    // Only the owner opens it.
    assert_eq!(w.unseal(a, &back), Err(GcError::UnsealDenied));
    let o = w.unseal(b, &back).unwrap();
    assert_eq!(w.heap(b).unwrap().read::<u64>(&o, data::<M>()), Ok(42));
    // The report, per ordered pair.
    let ab = w.pair_stats(a, b);
    assert_eq!(
        (ab.created, ab.unsealed, ab.stored, ab.refused),
        (2, 1, 1, 1),
        "{ab:?}"
    );
    assert_eq!(w.pair_stats(b, a), gc_core::PairStats::default());
    // a's import table: one sealed reference to b; b imports nothing.
    let imports = w.imports(a).unwrap();
    assert_eq!(
        imports.into_iter().collect::<Vec<_>>(),
        vec![(b.index(), 1)]
    );
    assert!(w.imports(b).unwrap().is_empty());
    assert_eq!(w.imports_from(a, b), Ok(1));
    assert!(w.report_table().contains("0 -> 1"));
    // A slot with an ordinary reference (or null) holds no sealed one.
    assert_eq!(
        w.get_sealed(a, &hold, slot::<M>(0)),
        Err(GcError::NotSealed)
    );
    verified(&w);
}

/// An unsealed reference of another compartment is refused wherever it
/// is offered: a slot, a root region, a handle, a persistent, a weak
/// reference, both sides of an ephemeron — and counted.
fn unsealed_foreign_is_refused_everywhere<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let foreign = rooted(&mut w, b, t[1], 7);
    let f = obj(&w, b, foreign);
    let ha = w.heap_mut(a).unwrap();
    let mine = ha.alloc(t[0]).unwrap();
    let cv = Err(GcError::CompartmentViolation);
    assert_eq!(ha.set_ref(&mine, slot::<M>(0), &f), cv, "slot API");
    let rr = ha.root_region_new(4).unwrap();
    assert_eq!(ha.root_set(rr, 0, &f), cv, "root region");
    assert_eq!(ha.handle(&f).map(|_| ()), cv, "handle");
    assert_eq!(ha.persist(&f).map(|_| ()), cv, "persistent");
    assert_eq!(ha.weak_new(&f).map(|_| ()), cv, "weak reference");
    assert_eq!(ha.ephemeron_new(&f, &mine).map(|_| ()), cv, "ephemeron key");
    assert_eq!(
        ha.ephemeron_new(&mine, &f).map(|_| ()),
        cv,
        "ephemeron value"
    );
    let h = ha.handle(&mine).unwrap();
    assert_eq!(ha.set_handle(h, &f), cv, "handle update");
    let p = ha.persist(&mine).unwrap();
    assert_eq!(ha.set_persistent(p, &f), cv, "persistent update");
    // Sealing a foreign object as if it were one's own.
    let mine = ha.get(h).unwrap();
    assert_eq!(w.seal(a, &f, b).map(|_| ()), cv, "seal of a foreign object");
    assert!(w.pair_stats(a, b).refused >= 10, "{:?}", w.pair_stats(a, b));
    // Nothing was stored: a's slot is still null and both still verify.
    let ha = w.heap_mut(a).unwrap();
    assert!(ha.get_ref(&mine, slot::<M>(0)).unwrap().is_null());
    ha.collect().unwrap();
    verified(&w);
}

/// A sealed reference is not an object anywhere: loading it through the
/// plain slot or root accessors is refused, and in SoftCheri the sealed
/// form itself faults on every access.
fn sealed_is_not_an_object<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let secret = rooted(&mut w, b, t[1], 9);
    let holder = rooted(&mut w, a, t[0], 0);
    let s = w.seal(b, &obj(&w, b, secret), a).unwrap();
    let hold = obj(&w, a, holder);
    w.set_sealed(a, &hold, slot::<M>(0), &s).unwrap();
    let ha = w.heap_mut(a).unwrap();
    assert_eq!(
        ha.get_ref(&hold, slot::<M>(0)),
        Err(GcError::SealedReference)
    );
    let rr = ha.root_region_new(2).unwrap();
    w.root_set_sealed(a, rr, 1, &s).unwrap();
    let ha = w.heap_mut(a).unwrap();
    assert_eq!(ha.root_get(rr, 1), Err(GcError::SealedReference));
    assert_eq!(w.root_get_sealed(a, rr, 1).unwrap(), s);
    assert_eq!(w.root_get_sealed(a, rr, 0), Err(GcError::NotSealed));
    verified(&w);
}

/// Independent collections: the owner moves the exported objects (its
/// export entries are roots and are rewritten), the holder moves the
/// objects holding sealed references (copied bit for bit), and every
/// sealed reference still resolves to the right object.
fn independent_collections_keep_sealed_references<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let n = 50u64;
    let mut sealed = Vec::new();
    let holders: Vec<_> = (0..n).map(|i| rooted(&mut w, a, t[0], i)).collect();
    for (i, hp) in holders.iter().enumerate() {
        // b's objects are young and referenced only by the export table.
        let hb = w.heap_mut(b).unwrap();
        let o = hb.alloc(t[1]).unwrap();
        hb.write::<u64>(&o, data::<M>(), 1000 + i as u64).unwrap();
        let s = w.seal(b, &o, a).unwrap();
        w.set_sealed(a, &obj(&w, a, *hp), slot::<M>(1), &s).unwrap();
        sealed.push(s);
    }
    let before: Vec<_> = (0..n as usize)
        .map(|i| w.unseal(b, &sealed[i]).unwrap().address())
        .collect();
    let raw_before = sealed[0].raw();
    w.heap_mut(b).unwrap().collect_minor().unwrap();
    if plan.moves() {
        let now = w.unseal(b, &sealed[0]).unwrap().address();
        assert_ne!(now, before[0], "{plan:?} moved b's object");
    }
    w.collect(b).unwrap();
    w.collect(a).unwrap();
    w.heap_mut(a).unwrap().collect_minor().unwrap();
    verified(&w);
    for (i, hp) in holders.iter().enumerate() {
        let s = w.get_sealed(a, &obj(&w, a, *hp), slot::<M>(1)).unwrap();
        assert_eq!(s, sealed[i]);
        let o = w.unseal(b, &s).unwrap();
        assert_eq!(
            w.heap(b).unwrap().read::<u64>(&o, data::<M>()),
            Ok(1000 + i as u64)
        );
    }
    // The sealed form is the same bits after the holder moved: sealed,
    // exact bounds, same object type.
    let again = w
        .get_sealed(a, &obj(&w, a, holders[0]), slot::<M>(1))
        .unwrap();
    assert_eq!(again.raw(), raw_before);
    assert_eq!(w.exports(b).unwrap(), n as usize);
}

/// A cycle through two compartments' exports survives independent
/// collections (each side's exports are roots) and is reclaimed by the
/// whole-heap collection; a sealed reference held from a root survives
/// both.
fn cross_compartment_cycles<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 3);
    let (a, b, k) = (c[0], c[1], c[2]);
    // x in a and y in b refer to each other, sealed; nothing else holds them.
    let x = rooted(&mut w, a, t[0], 1);
    let y = rooted(&mut w, b, t[1], 2);
    let sx = w.seal(a, &obj(&w, a, x), b).unwrap();
    let sy = w.seal(b, &obj(&w, b, y), a).unwrap();
    w.set_sealed(a, &obj(&w, a, x), slot::<M>(0), &sy).unwrap();
    w.set_sealed(b, &obj(&w, b, y), slot::<M>(0), &sx).unwrap();
    let (ox, oy) = (obj(&w, a, x), obj(&w, b, y));
    let wx = w.heap_mut(a).unwrap().weak_new(&ox).unwrap();
    let wy = w.heap_mut(b).unwrap().weak_new(&oy).unwrap();
    w.heap_mut(a).unwrap().release(x).unwrap();
    w.heap_mut(b).unwrap().release(y).unwrap();
    // z in b is held, sealed, from a root region of k.
    let z = rooted(&mut w, b, t[1], 3);
    let sz = w.seal(b, &obj(&w, b, z), k).unwrap();
    w.heap_mut(b).unwrap().release(z).unwrap();
    let rr = w.heap_mut(k).unwrap().root_region_new(1).unwrap();
    w.root_set_sealed(k, rr, 0, &sz).unwrap();
    for _ in 0..2 {
        w.collect(a).unwrap();
        w.collect(b).unwrap();
    }
    assert_eq!(w.exports(a).unwrap() + w.exports(b).unwrap(), 3);
    assert!(
        w.unseal(a, &sx).is_ok(),
        "independent collections keep the cycle"
    );
    assert!(w.heap(a).unwrap().weak_get(wx).unwrap().is_some());
    assert!(w.heap(b).unwrap().weak_get(wy).unwrap().is_some());
    let all = w.collect_all().unwrap();
    assert_eq!((all.exports_released, all.exports_live), (2, 1), "{all:?}");
    assert_eq!(w.heap(a).unwrap().weak_get(wx), Ok(None), "x reclaimed");
    assert_eq!(w.heap(b).unwrap().weak_get(wy), Ok(None), "y reclaimed");
    assert_eq!(w.unseal(a, &sx), Err(GcError::SealedRevoked));
    assert_eq!(w.unseal(b, &sy), Err(GcError::SealedRevoked));
    // z lives on.
    let s = w.root_get_sealed(k, rr, 0).unwrap();
    let zo = w.unseal(b, &s).unwrap();
    assert_eq!(w.heap(b).unwrap().read::<u64>(&zo, data::<M>()), Ok(3));
    verified(&w);
}

/// Teardown: the region goes, every sealed reference to it fails with its
/// own error — from a local, from a slot, from a root region — and the
/// rest keeps working and verifies.
fn teardown<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let victim = rooted(&mut w, b, t[1], 5);
    let s = w.seal(b, &obj(&w, b, victim), a).unwrap();
    let holder = rooted(&mut w, a, t[0], 0);
    w.set_sealed(a, &obj(&w, a, holder), slot::<M>(0), &s)
        .unwrap();
    let rr = w.heap_mut(a).unwrap().root_region_new(1).unwrap();
    w.root_set_sealed(a, rr, 0, &s).unwrap();
    let tokens = w.sealed_to_bits(&s);
    w.destroy(b).unwrap();
    let gone = Err(GcError::CompartmentDestroyed);
    assert_eq!(w.unseal(b, &s).map(|_| ()), gone);
    assert_eq!(w.unseal(a, &s).map(|_| ()), gone);
    assert_eq!(
        w.get_sealed(a, &obj(&w, a, holder), slot::<M>(0))
            .map(|_| ()),
        gone
    );
    assert_eq!(w.root_get_sealed(a, rr, 0).map(|_| ()), gone);
    assert_eq!(w.set_sealed(a, &obj(&w, a, holder), slot::<M>(1), &s), gone);
    assert_eq!(w.sealed_from_bits(tokens).map(|_| ()), gone);
    assert_eq!(w.heap(b).map(|_| ()), gone);
    assert_eq!(w.destroy(b), gone);
    // a's import table still lists what it holds of b (slot and root).
    assert_eq!(w.imports_from(a, b), Ok(2));
    assert!(w.pair_stats(a, b).refused >= 5);
    // A new compartment never aliases the old one.
    let d = w.create(config(plan)).unwrap();
    assert_ne!(d.index(), b.index());
    assert_eq!(w.unseal(d, &s).map(|_| ()), gone);
    // The rest works: allocate, collect, collect all, verify.
    let extra = rooted(&mut w, a, t[0], 6);
    w.collect(a).unwrap();
    w.collect_all().unwrap();
    let e = obj(&w, a, extra);
    assert_eq!(w.heap(a).unwrap().read::<u64>(&e, data::<M>()), Ok(6));
    assert_eq!(
        w.get_sealed(a, &obj(&w, a, holder), slot::<M>(0))
            .map(|_| ()),
        gone,
        "the stale sealed reference survives collections, still refused"
    );
    assert_eq!(w.compartments(), vec![a, d]);
    verified(&w);
}

/// Tokens of another split heap, bits that were never a sealed token,
/// out-of-range ids, and an exported object reference of one compartment
/// imported into another.
fn forged_tokens<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let (mut w2, c2, t2) = world::<M>(plan, 1);
    let secret = rooted(&mut w, b, t[1], 1);
    let s = w.seal(b, &obj(&w, b, secret), a).unwrap();
    // Another split heap's compartment id and sealed reference.
    assert_eq!(w.heap(c2[0]).map(|_| ()), Err(GcError::WrongHeap));
    assert_eq!(w2.unseal(c2[0], &s), Err(GcError::WrongHeap));
    let other = rooted(&mut w2, c2[0], t2[0], 0);
    let o2 = obj(&w2, c2[0], other);
    assert_eq!(w2.set_sealed(c2[0], &o2, 0, &s), Err(GcError::WrongHeap));
    // Out of range.
    let bogus = CompartmentId::from_bits(a.to_bits() + 100);
    assert_eq!(w.heap(bogus).map(|_| ()), Err(GcError::InvalidCompartment));
    assert_eq!(w.imports_from(a, bogus), Err(GcError::InvalidCompartment));
    assert_eq!(w.imports_from(a, c2[0]), Err(GcError::WrongHeap));
    // Sealed tokens: any altered bit is refused.
    let bits = w.sealed_to_bits(&s);
    assert_eq!(w.sealed_from_bits(bits).unwrap(), s);
    for i in 0..4 {
        for bit in [0, 17, 33, 63] {
            let mut x = bits;
            x[i] ^= 1 << bit;
            assert!(w.sealed_from_bits(x).is_err(), "word {i} bit {bit}");
        }
    }
    assert_eq!(w2.sealed_from_bits(bits).map(|_| ()), Err(GcError::Forged));
    // An authenticated object reference of b is no reference in a.
    let e = w.heap(b).unwrap().export_ref(&obj(&w, b, secret)).unwrap();
    assert!(w.heap(a).unwrap().import_ref(e).is_err());
    verified(&w);
    verified(&w2);
}

/// A heap grown past one export chunk, with many holders across
/// compartments and a whole-heap collection in between.
fn many_exports<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 4);
    let rr: Vec<_> = c
        .iter()
        .map(|&x| w.heap_mut(x).unwrap().root_region_new(200).unwrap())
        .collect();
    for i in 0..200u64 {
        let owner = c[(i % 4) as usize];
        let holder = c[((i + 1) % 4) as usize];
        let h = w.heap_mut(owner).unwrap();
        let o = h.alloc(t[(i % 4) as usize]).unwrap();
        h.write::<u64>(&o, data::<M>(), i).unwrap();
        let s = w.seal(owner, &o, holder).unwrap();
        w.root_set_sealed(holder, rr[((i + 1) % 4) as usize], i, &s)
            .unwrap();
    }
    w.collect_all().unwrap();
    verified(&w);
    for i in 0..200u64 {
        let owner = c[(i % 4) as usize];
        let holder = c[((i + 1) % 4) as usize];
        let s = w
            .root_get_sealed(holder, rr[((i + 1) % 4) as usize], i)
            .unwrap();
        let o = w.unseal(owner, &s).unwrap();
        assert_eq!(w.heap(owner).unwrap().read::<u64>(&o, data::<M>()), Ok(i));
    }
    // Drop half the holders' roots: their exports go at the next
    // whole-heap collection.
    for i in (0..200u64).step_by(2) {
        let holder = c[((i + 1) % 4) as usize];
        w.heap_mut(holder)
            .unwrap()
            .root_set_data(rr[((i + 1) % 4) as usize], i, 0)
            .unwrap();
    }
    let all = w.collect_all().unwrap();
    assert_eq!((all.exports_released, all.exports_live), (100, 100));
    assert!(w.report().iter().all(|(_, to, _)| *to != NO_COMPARTMENT));
    verified(&w);
}

/// A reference of another compartment used to reach memory through this
/// compartment's heap: reads, writes, slot loads and header queries are
/// all refused (CompartmentViolation in the checked modes, the region's
/// bounds in the unchecked ones), and the object is untouched.
fn foreign_memory_is_out_of_reach<M: RefMode>(plan: Plan) {
    let (mut w, c, t) = world::<M>(plan, 2);
    let (a, b) = (c[0], c[1]);
    let victim = rooted(&mut w, b, t[1], 77);
    let v = obj(&w, b, victim);
    let ha = w.heap_mut(a).unwrap();
    let refused = |e: &GcError| {
        matches!(
            e,
            GcError::CompartmentViolation
                | GcError::Cap(capability_heap::CapFault::OutsideRegion { .. })
                | GcError::NotAnObject
        )
    };
    let e = ha.read::<u64>(&v, data::<M>()).unwrap_err();
    assert!(refused(&e), "read: {e:?}");
    let e = ha.write::<u64>(&v, data::<M>(), 1).unwrap_err();
    assert!(refused(&e), "write: {e:?}");
    let e = ha.get_ref(&v, 0).unwrap_err();
    assert!(refused(&e), "get_ref: {e:?}");
    let e = ha.set_ref(&v, 0, &ObjRef::null()).unwrap_err();
    assert!(refused(&e), "set_ref into it: {e:?}");
    let e = ha.type_of(&v).unwrap_err();
    assert!(refused(&e), "type_of: {e:?}");
    let e = ha.pin(&v).unwrap_err();
    assert!(refused(&e), "pin: {e:?}");
    let mut buf = [0u8; 8];
    let e = ha.read_bytes(&v, 0, &mut buf).unwrap_err();
    assert!(refused(&e), "read_bytes: {e:?}");
    ha.collect().unwrap();
    let v = obj(&w, b, victim);
    assert_eq!(w.heap(b).unwrap().read::<u64>(&v, data::<M>()), Ok(77));
    verified(&w);
}

macro_rules! suite {
    ($m:ident, $mode:ty) => {
        mod $m {
            use super::*;
            macro_rules! each_plan {
                ($name:ident) => {
                    #[test]
                    fn $name() {
                        for plan in Plan::ALL {
                            super::$name::<$mode>(plan);
                        }
                    }
                };
            }
            each_plan!(seal_store_unseal);
            each_plan!(unsealed_foreign_is_refused_everywhere);
            each_plan!(sealed_is_not_an_object);
            each_plan!(independent_collections_keep_sealed_references);
            each_plan!(cross_compartment_cycles);
            each_plan!(teardown);
            each_plan!(forged_tokens);
            each_plan!(many_exports);
            each_plan!(foreign_memory_is_out_of_reach);
        }
    };
}

suite!(native, Native);
suite!(p128, P128);
suite!(morello, SoftCheri<Morello>);
suite!(cheri_v9, SoftCheri<CheriV9>);
suite!(riscv_std, SoftCheri<RiscvStd>);

/// In SoftCheri the sealed form is a real sealed capability (Morello, v9)
/// or a permissionless one (RISC-V standard) over the export entry, with
/// exact bounds, and every access through it faults.
#[test]
fn sealed_forms_are_capabilities() {
    fn check<F: capability_heap::Format>(sealed_otype: bool) {
        type S<F> = SoftCheri<F>;
        let (mut w, c, t) = world::<S<F>>(Plan::Generational, 2);
        let p = rooted(&mut w, c[1], t[1], 1);
        let s: SealedRef<S<F>> = w.seal(c[1], &obj(&w, c[1], p), c[0]).unwrap();
        let cap = s.raw();
        assert!(cap.tag());
        assert_eq!(cap.length(), 16, "exact bounds: one export entry");
        assert_eq!(cap.is_sealed(), sealed_otype);
        if sealed_otype {
            assert_eq!(cap.otype(), w.object_type(c[1]).unwrap());
        } else {
            assert_eq!(cap.perms(), capability_heap::Perms::NONE);
        }
        let access = cap.check_access(cap.base(), 8, capability_heap::Perms::LOAD, 8);
        assert!(access.is_err(), "{access:?}");
        // Object types differ per compartment and are never reused.
        let d = w.create(config(Plan::MarkSweep)).unwrap();
        assert_ne!(w.object_type(d).unwrap(), w.object_type(c[1]).unwrap());
    }
    check::<Morello>(true);
    check::<CheriV9>(true);
    check::<RiscvStd>(false);
}

fn _sealed_ref_is_send<M: RefMode>(s: SealedRef<M>) -> impl Send {
    s
}
