//! The mutator's fast paths pinned to the semantics of the full paths,
//! from outside the crate: the bump allocation (a type's precomputed cell
//! and header), the reference-slot check (one containment test, the
//! type's slot map), the plain load and store of the unchecked modes and
//! the write barrier after it (I9), in every plan and in Native, P128 and
//! SoftCheri; and the throughput and latency presets.

mod common;

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use gc_core::{GcError, Heap, HeapConfig, ObjectType, ObjectView, Plan};

use common::config;

/// Objects allocated across many nursery blocks (fast path within a
/// block, slow path at each block end and collection) are zeroed, typed,
/// sized and distinct, and the heap verifies; the statistics count each.
fn allocation_matches_the_slow_path<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 24).unwrap();
    let big = h.record_type(70, 0).unwrap(); // more slots than the 64-bit map
    let data = Heap::<M>::data_offset(2);
    let before = h.stats().objects_allocated;
    let keep = h.alloc(node).unwrap();
    let keep = h.persist(&keep).unwrap();
    let n = 20_000u64;
    let mut last = None;
    for i in 0..n {
        let o = h.alloc(node).unwrap();
        assert_eq!(h.type_of(&o).unwrap(), node, "{plan:?} {}", M::NAME);
        assert_eq!(h.payload_len(&o).unwrap(), 2 * M::SLOT_SIZE + 24);
        assert_eq!(h.read::<u64>(&o, data).unwrap(), 0, "zeroed");
        assert!(h.get_ref(&o, Heap::<M>::ref_offset(1)).unwrap().is_null());
        assert_ne!(Some(o.address()), last, "distinct cells");
        last = Some(o.address());
        h.write::<u64>(&o, data, i).unwrap();
        if i % 5000 == 0 {
            let k = h.get_persistent(keep).unwrap();
            h.set_ref(&k, Heap::<M>::ref_offset(0), &o).unwrap();
        }
    }
    assert_eq!(h.stats().objects_allocated - before, n + 1);
    // The last one stored survives every collection since, with its data.
    let k = h.get_persistent(keep).unwrap();
    let o = h.get_ref(&k, Heap::<M>::ref_offset(0)).unwrap();
    assert_eq!(h.read::<u64>(&o, data).unwrap(), 15_000);
    // A type past the slot map takes the full check, accepted and refused
    // exactly as before.
    let b = h.alloc(big).unwrap();
    let v = h.alloc(node).unwrap();
    let b = h.handle(&b).unwrap();
    let b = h.get(b).unwrap();
    h.set_ref(&b, Heap::<M>::ref_offset(69), &v).unwrap();
    assert_eq!(
        h.get_ref(&b, Heap::<M>::ref_offset(69)).unwrap().address(),
        v.address()
    );
    assert!(matches!(
        h.set_ref(&b, Heap::<M>::ref_offset(70), &v),
        Err(GcError::NotARefSlot { .. }) | Err(GcError::Cap(_))
    ));
    h.verify().unwrap();
}

/// Offsets the fast path must refuse get the full path's errors: data
/// slots, misaligned offsets, offsets past the object, null holders.
fn slot_checks_refuse_what_they_refused<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 8).unwrap();
    let o = h.alloc(node).unwrap();
    let v = h.alloc(node).unwrap();
    let data = Heap::<M>::data_offset(2);
    for off in [data, 1, M::SLOT_SIZE + 4, 63 * M::SLOT_SIZE, u64::MAX - 7] {
        let set = h.set_ref(&o, off, &v);
        let get = h.get_ref(&o, off).map(drop);
        for r in [set, get] {
            assert!(
                matches!(r, Err(GcError::NotARefSlot { .. }) | Err(GcError::Cap(_))),
                "{plan:?} {} offset {off}: {r:?}",
                M::NAME
            );
        }
    }
    let null = h.get_ref(&o, 0).unwrap();
    assert_eq!(h.set_ref(&null, 0, &v), Err(GcError::NullReference));
    assert_eq!(h.get_ref(&null, 0).map(drop), Err(GcError::NullReference));
    // Storing null is allowed and reads back as null.
    h.set_ref(&o, 0, &v).unwrap();
    h.set_ref(&o, 0, &null).unwrap();
    assert!(h.get_ref(&o, 0).unwrap().is_null());
    h.verify().unwrap();
}

/// Old-to-young stores through the fast path are remembered (I9): the
/// verifier, which checks the remembered set covers every such slot,
/// passes before the minor collection, and the young objects survive it
/// through those slots alone.
fn barrier_remembers_old_to_young<M: RefMode>() {
    let mut h = Heap::<M>::new(config(Plan::Generational)).unwrap();
    let node = h.record_type(2, 8).unwrap();
    let data = Heap::<M>::data_offset(2);
    let old = h.alloc_pinned(node).unwrap();
    let old = h.persist(&old).unwrap();
    for i in 0..1000u64 {
        let y = h.alloc(node).unwrap();
        h.write::<u64>(&y, data, i).unwrap();
        let o = h.get_persistent(old).unwrap();
        h.set_ref(&o, Heap::<M>::ref_offset((i % 2) as u32), &y)
            .unwrap();
    }
    h.verify().unwrap();
    h.collect_minor().unwrap();
    let o = h.get_persistent(old).unwrap();
    let a = h.get_ref(&o, Heap::<M>::ref_offset(0)).unwrap();
    let b = h.get_ref(&o, Heap::<M>::ref_offset(1)).unwrap();
    assert_eq!(h.read::<u64>(&a, data).unwrap(), 998);
    assert_eq!(h.read::<u64>(&b, data).unwrap(), 999);
    h.verify().unwrap();
}

fn panicking_trace(view: &ObjectView<'_>, _visit: &mut dyn FnMut(u64)) {
    if view.read::<u64>(0) == Some(0xbad) {
        panic!("a VM's trace callback has a bug");
    }
}

/// Poisoning closes the bump block: the fast path cannot allocate in a
/// poisoned heap, and the unchecked stores refuse it too.
fn poisoned_heap_refuses_the_fast_paths<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 8).unwrap();
    let bad = h
        .register_type(ObjectType::Custom {
            size: 16,
            trace: panicking_trace,
        })
        .unwrap();
    let o = h.alloc(bad).unwrap();
    let p = h.persist(&o).unwrap();
    let a = h.alloc(node).unwrap();
    let b = h.alloc(node).unwrap();
    let o = h.get_persistent(p).unwrap();
    h.write::<u64>(&o, 0, 0xbad).unwrap();
    let r = common::collect_quietly(&mut h);
    assert_eq!(r.map(drop), Err(GcError::Poisoned));
    for _ in 0..3 {
        assert_eq!(h.alloc(node).map(drop), Err(GcError::Poisoned));
    }
    if !M::CHECKED {
        // Unchecked references carry no epoch: the store is refused by
        // the poison test.
        assert_eq!(h.set_ref(&a, 0, &b), Err(GcError::Poisoned));
    }
}

/// The two presets are valid configurations that run a workload to the
/// same result, in every mode.
fn presets_run<M: RefMode>() {
    for cfg in [HeapConfig::latency(), HeapConfig::throughput()] {
        let mut h = Heap::<M>::new(cfg).unwrap();
        let node = h.record_type(2, 0).unwrap();
        let keep = h.alloc(node).unwrap();
        let keep = h.persist(&keep).unwrap();
        for _ in 0..200_000 {
            let o = h.alloc(node).unwrap();
            let k = h.get_persistent(keep).unwrap();
            h.set_ref(&k, 0, &o).unwrap();
        }
        h.verify().unwrap();
    }
    let t = HeapConfig::throughput();
    assert_eq!((t.pause_goal, t.nursery_size), (None, 16 << 20));
    assert!(HeapConfig::latency().pause_goal.is_some());
}

macro_rules! every_mode {
    ($name:ident, $f:ident $(, $plan:expr)?) => {
        mod $name {
            use super::*;
            #[test]
            fn native() {
                $f::<Native>($($plan)?);
            }
            #[test]
            fn p128() {
                $f::<P128>($($plan)?);
            }
            #[test]
            fn softcheri_morello() {
                $f::<SoftCheri<Morello>>($($plan)?);
            }
        }
    };
}

every_mode!(
    alloc_generational,
    allocation_matches_the_slow_path,
    Plan::Generational
);
every_mode!(
    alloc_semispace,
    allocation_matches_the_slow_path,
    Plan::SemiSpace
);
every_mode!(
    alloc_marksweep,
    allocation_matches_the_slow_path,
    Plan::MarkSweep
);
every_mode!(
    slots_generational,
    slot_checks_refuse_what_they_refused,
    Plan::Generational
);
every_mode!(
    slots_marksweep,
    slot_checks_refuse_what_they_refused,
    Plan::MarkSweep
);
every_mode!(barrier, barrier_remembers_old_to_young);
every_mode!(
    poison_generational,
    poisoned_heap_refuses_the_fast_paths,
    Plan::Generational
);
every_mode!(
    poison_semispace,
    poisoned_heap_refuses_the_fast_paths,
    Plan::SemiSpace
);
every_mode!(presets, presets_run);
