//! The semantics every plan must have — weak references, ephemerons,
//! finalization, pinning, moving correctness (I8) — written once, run by
//! each plan's test file through [`semantics_for_plan!`].

#![allow(dead_code)]

use capability_heap::{RefMode, SoftCheri};
use gc_core::{Heap, HeapConfig, ObjRef, Plan, TypeId};

/// A quiet test heap's configuration for `plan`: a 256 KiB nursery, no
/// pause goal, a 64 MiB limit.
pub fn config(plan: Plan) -> HeapConfig {
    HeapConfig {
        plan,
        nursery_size: 256 << 10,
        pause_goal: None,
        limit: 64 << 20,
        log: false,
        ..HeapConfig::default()
    }
}

pub fn heap<M: RefMode>(plan: Plan) -> (Heap<M>, TypeId) {
    let mut h = Heap::<M>::new(HeapConfig {
        limit: 32 << 20,
        ..config(plan)
    })
    .unwrap();
    let node = h.record_type(2, 8).unwrap();
    (h, node)
}

/// A collection expected to meet a panicking trace callback, with the
/// panic message kept off the test output.
pub fn collect_quietly<M: RefMode>(
    h: &mut Heap<M>,
) -> Result<gc_core::CollectionStats, gc_core::GcError> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = h.collect();
    std::panic::set_hook(hook);
    r
}

pub fn data<M: RefMode>() -> u64 {
    Heap::<M>::data_offset(2)
}

pub fn weak_refs<M: RefMode>(plan: Plan) {
    let (mut h, node) = heap::<M>(plan);
    let keep = h.alloc(node).unwrap();
    h.write::<u64>(&keep, data::<M>(), 11).unwrap();
    let wk = h.weak_new(&keep).unwrap();
    let pk = h.persist(&keep).unwrap();
    let lose = h.alloc(node).unwrap();
    let wl = h.weak_new(&lose).unwrap();
    let before = keep.address();
    h.collect_minor().unwrap();
    if plan.moves() {
        let moved = h.weak_get(wk).unwrap().unwrap();
        assert_ne!(moved.address(), before, "{plan:?} moved the object");
    }
    h.collect().unwrap();
    let k = h
        .weak_get(wk)
        .unwrap()
        .expect("strongly held target survives");
    assert_eq!(
        k,
        h.get_persistent(pk).unwrap(),
        "weak ref follows the move"
    );
    assert_eq!(h.read::<u64>(&k, data::<M>()), Ok(11));
    assert_eq!(h.weak_get(wl).unwrap(), None, "unreachable target cleared");
    h.weak_release(wl).unwrap();
    assert!(h.weak_get(wl).is_err());
    h.verify().unwrap();
}

pub fn ephemerons<M: RefMode>(plan: Plan) {
    let (mut h, node) = heap::<M>(plan);
    let k1 = h.alloc(node).unwrap();
    let p1 = h.persist(&k1).unwrap();
    let k2 = h.alloc(node).unwrap();
    let v = h.alloc(node).unwrap();
    h.write::<u64>(&v, data::<M>(), 77).unwrap();
    let (k1, k2, v) = (h.get_persistent(p1).unwrap(), k2, v);
    // k1 -> k2 -> v, through ephemerons only.
    let e1 = h.ephemeron_new(&k1, &k2).unwrap();
    let e2 = h.ephemeron_new(&k2, &v).unwrap();
    let wv = h.weak_new(&v).unwrap();
    h.collect().unwrap();
    let (_, v2) = h
        .ephemeron_get(e2)
        .unwrap()
        .expect("key k2 is alive through e1");
    assert_eq!(h.read::<u64>(&v2, data::<M>()), Ok(77));
    assert!(h.ephemeron_get(e1).unwrap().is_some());
    // Drop k1: the whole chain dies.
    h.release(p1).unwrap();
    h.collect().unwrap();
    assert_eq!(h.ephemeron_get(e1).unwrap(), None);
    assert_eq!(h.ephemeron_get(e2).unwrap(), None);
    assert_eq!(
        h.weak_get(wv).unwrap(),
        None,
        "value collected with its key"
    );
    // A value that refers to its own key does not keep it alive.
    let k = h.alloc(node).unwrap();
    let hk = h.handle(&k).unwrap();
    let val = h.alloc(node).unwrap();
    let k = h.get(hk).unwrap();
    h.set_ref(&val, Heap::<M>::ref_offset(0), &k).unwrap();
    let e3 = h.ephemeron_new(&k, &val).unwrap();
    h.set_handle(hk, &ObjRef::null()).unwrap();
    h.collect().unwrap();
    assert_eq!(h.ephemeron_get(e3).unwrap(), None);
    h.verify().unwrap();
}

pub fn finalizers<M: RefMode>(plan: Plan) {
    let (mut h, node) = heap::<M>(plan);
    let a = h.alloc(node).unwrap();
    let pa = h.persist(&a).unwrap();
    let b = h.alloc(node).unwrap();
    let a = h.get_persistent(pa).unwrap();
    h.register_finalizer(&a, 1).unwrap();
    h.register_finalizer(&b, 2).unwrap();
    assert!(h.take_finalized().is_empty(), "nothing before a collection");
    h.collect().unwrap();
    assert_eq!(h.take_finalized(), vec![2]);
    assert!(h.take_finalized().is_empty(), "delivered once");
    h.collect().unwrap();
    assert!(h.take_finalized().is_empty(), "a is still alive");
    h.release(pa).unwrap();
    h.collect_minor().unwrap();
    h.collect().unwrap();
    assert_eq!(h.take_finalized(), vec![1]);
    h.verify().unwrap();
}

pub fn pinning<M: RefMode>(plan: Plan) {
    let (mut h, node) = heap::<M>(plan);
    // Pinned after allocation: in the nursery for the moving plans.
    let p = h.alloc(node).unwrap();
    h.pin(&p).unwrap();
    assert!(h.is_pinned(&p).unwrap());
    let hp = h.handle(&p).unwrap();
    let at = p.address();
    // Allocated pinned: never in a copy space.
    let q = h.alloc_pinned(node).unwrap();
    let hq = h.handle(&q).unwrap();
    let qat = q.address();
    // The pinned object refers to a movable one.
    let c = h.alloc(node).unwrap();
    h.write::<u64>(&c, data::<M>(), 5).unwrap();
    let p = h.get(hp).unwrap();
    h.set_ref(&p, 0, &c).unwrap();
    for i in 0..4 {
        if i % 2 == 0 {
            h.collect_minor().unwrap();
        } else {
            h.collect().unwrap();
        }
        h.verify().unwrap();
        let p = h.get(hp).unwrap();
        assert_eq!(p.address(), at, "pinned object moved ({plan:?})");
        assert_eq!(h.get(hq).unwrap().address(), qat);
        let c = h.get_ref(&p, 0).unwrap();
        assert_eq!(
            h.read::<u64>(&c, data::<M>()),
            Ok(5),
            "its referent was updated"
        );
        // Fill the nursery so the pinned block is surrounded by garbage.
        for _ in 0..2000 {
            h.alloc(node).unwrap();
        }
    }
    // Unpinned, it may move again.
    let p = h.get(hp).unwrap();
    h.unpin(&p).unwrap();
    h.collect().unwrap();
    h.verify().unwrap();
    let p = h.get(hp).unwrap();
    if plan.moves() {
        assert_ne!(p.address(), at, "unpinned object moved");
    }
    let c = h.get_ref(&p, 0).unwrap();
    assert_eq!(h.read::<u64>(&c, data::<M>()), Ok(5));
}

/// I8: after a moving collection every root kind and heap slot refers to
/// the new copy with exact bounds and the same permissions; a plain
/// reference kept across it is refused as stale (SoftCheri).
pub fn moved_references<F: capability_heap::Format>(plan: Plan) {
    use capability_heap::{CapFault, Perms};
    use gc_core::GcError;
    type M<F> = SoftCheri<F>;
    let (mut h, node) = heap::<M<F>>(plan);
    let a = h.alloc(node).unwrap();
    let pa = h.persist(&a).unwrap();
    let b = h.alloc(node).unwrap();
    h.write::<u64>(&b, data::<M<F>>(), 3).unwrap();
    let a = h.get_persistent(pa).unwrap();
    let ro = h.restrict(&b, Perms::LOAD | Perms::LOAD_CAP).unwrap();
    h.set_ref(&a, 0, &ro).unwrap();
    let rr = h.root_region_new(2).unwrap();
    h.root_set(rr, 1, &b).unwrap();
    let hb = h.handle(&b).unwrap();
    let stale = b;
    h.collect_minor().unwrap();
    h.collect().unwrap();
    h.verify().unwrap();
    assert_eq!(
        h.read::<u64>(&stale, data::<M<F>>()),
        Err(GcError::StaleReference)
    );
    let a = h.get_persistent(pa).unwrap();
    let via_slot = h.get_ref(&a, 0).unwrap();
    let via_root = h.root_get(rr, 1).unwrap();
    let via_handle = h.get(hb).unwrap();
    assert_eq!(via_root.address(), via_handle.address());
    assert_eq!(via_slot.address(), via_handle.address());
    if plan.moves() {
        assert_ne!(via_handle.address(), stale.address(), "moved");
    }
    for r in [via_slot, via_root, via_handle] {
        assert_eq!(h.read::<u64>(&r, data::<M<F>>()), Ok(3));
        assert_eq!(
            r.raw().base(),
            r.address(),
            "I8: exact bounds at the new copy"
        );
    }
    // The read-only view stayed read-only through the move.
    assert_eq!(
        h.write::<u64>(&via_slot, data::<M<F>>(), 1),
        Err(GcError::Cap(CapFault::PermissionViolation {
            needed: capability_heap::Perm::Store
        }))
    );
    assert!(h.write::<u64>(&via_handle, data::<M<F>>(), 4).is_ok());
}

/// The every-plan semantic tests for `$plan`, in every mode they apply to.
#[macro_export]
macro_rules! semantics_for_plan {
    ($plan:expr) => {
        mod semantics {
            use super::common::*;
            use capability_heap::{Morello, Native, RiscvStd, SoftCheri, P128};
            use gc_core::Plan;
            macro_rules! case {
                ($name:ident, $f:ident, $m:ty) => {
                    #[test]
                    fn $name() {
                        $f::<$m>($plan);
                    }
                };
            }
            case!(weak_native, weak_refs, Native);
            case!(weak_p128, weak_refs, P128);
            case!(weak_morello, weak_refs, SoftCheri<Morello>);
            case!(ephemerons_native, ephemerons, Native);
            case!(ephemerons_morello, ephemerons, SoftCheri<Morello>);
            case!(ephemerons_riscv, ephemerons, SoftCheri<RiscvStd>);
            case!(finalizers_native, finalizers, Native);
            case!(finalizers_morello, finalizers, SoftCheri<Morello>);
            case!(pinning_native, pinning, Native);
            case!(pinning_p128, pinning, P128);
            case!(pinning_morello, pinning, SoftCheri<Morello>);
            #[test]
            fn moved_references_morello() {
                moved_references::<Morello>($plan);
            }
            #[test]
            fn moved_references_riscv() {
                moved_references::<RiscvStd>($plan);
            }
        }
    };
}
