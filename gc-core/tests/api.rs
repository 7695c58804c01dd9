//! The heap API beyond the workloads: every root kind and its misuse,
//! every type kind, large objects, the heap limit, statistics, logging,
//! and independent heaps on several threads.

use capability_heap::{CapFault, CheriV9, Format, Morello, Native, RefMode, SoftCheri, P128};
use gc_core::{
    log_line, ConfigError, GcError, Heap, HeapConfig, ObjRef, ObjectType, ObjectView, ScanStrategy,
    Violation,
};

fn small<M: RefMode>() -> Heap<M> {
    Heap::<M>::new(HeapConfig {
        initial_size: 1 << 20,
        limit: 8 << 20,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap()
}

fn out_of_memory_leaves_heap_usable<M: RefMode>() {
    let mut h = small::<M>();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    let list = h.alloc_array(arr, 2048).unwrap();
    let keep = h.persist(&list).unwrap();
    // Fill the heap with live 64 KiB arrays until the limit refuses one.
    let mut n = 0;
    let err = loop {
        match h.alloc_array(bytes, 64 << 10) {
            Ok(b) => {
                let l = h.get_persistent(keep).unwrap();
                h.set_ref(&l, n * Heap::<M>::SLOT, &b).unwrap();
                n += 1;
            }
            Err(e) => break e,
        }
    };
    assert!(
        matches!(err, GcError::OutOfMemory { limit, .. } if limit == 8 << 20),
        "{err:?}"
    );
    assert!(n > 50, "only {n} arrays fit");
    h.verify().unwrap();
    // Drop half; allocation works again.
    let l = h.get_persistent(keep).unwrap();
    for i in (0..n).step_by(2) {
        h.set_ref(&l, i * Heap::<M>::SLOT, &ObjRef::null()).unwrap();
    }
    for _ in 0..n / 3 {
        h.alloc_array(bytes, 64 << 10).unwrap();
    }
    h.verify().unwrap();
    // A single request beyond the limit is refused at once.
    assert!(matches!(
        h.alloc_array(bytes, 1 << 40),
        Err(GcError::OutOfMemory { .. })
    ));
}

#[test]
fn oom_native() {
    out_of_memory_leaves_heap_usable::<Native>();
}
#[test]
fn oom_p128() {
    out_of_memory_leaves_heap_usable::<P128>();
}
#[test]
fn oom_softcheri() {
    out_of_memory_leaves_heap_usable::<SoftCheri<Morello>>();
}

fn handles_and_scopes<M: RefMode>() {
    let mut h = small::<M>();
    let node = h.record_type(1, 8).unwrap();
    let outer = h.open_scope();
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let inner = h.open_scope();
    let b = h.alloc(node).unwrap();
    let hb = h.handle(&b).unwrap();
    assert_eq!(h.close_scope(outer), Err(GcError::ScopeMismatch));
    let outer = h.open_scope(); // re-open to get a token back: depth 3
    h.close_scope(outer).unwrap();
    h.close_scope(inner).unwrap();
    assert_eq!(h.get(hb), Err(GcError::InvalidHandle));
    // A new handle at the same index is not the old one.
    let c = h.alloc(node).unwrap();
    let hc = h.handle(&c).unwrap();
    assert_eq!(h.get(hb), Err(GcError::InvalidHandle));
    assert!(h.get(hc).is_ok() && h.get(ha).is_ok());
    // Persistent roots.
    let p = h.persist(&h.get(hc).unwrap()).unwrap();
    h.release(p).unwrap();
    assert_eq!(h.release(p), Err(GcError::InvalidHandle));
    assert_eq!(h.get_persistent(p), Err(GcError::InvalidHandle));
    h.collect().unwrap();
    h.verify().unwrap();
}

#[test]
fn handles_native() {
    handles_and_scopes::<Native>();
}
#[test]
fn handles_softcheri() {
    handles_and_scopes::<SoftCheri<CheriV9>>();
}

fn root_regions<M: RefMode>() {
    let mut h = small::<M>();
    let node = h.record_type(0, 8).unwrap();
    let rr = h.root_region_new(16).unwrap();
    let a = h.alloc(node).unwrap();
    h.write::<u64>(&a, 0, 99).unwrap();
    h.root_set(rr, 3, &a).unwrap();
    h.root_set_data(rr, 4, 12345).unwrap();
    assert!(h.root_is_ref(rr, 3).unwrap());
    assert!(!h.root_is_ref(rr, 4).unwrap());
    assert_eq!(
        h.root_set(rr, 16, &a),
        Err(GcError::IndexOutOfRange { index: 16, len: 16 })
    );
    for _ in 0..3 {
        h.collect().unwrap();
    }
    let a = h.root_get(rr, 3).unwrap();
    assert_eq!(
        h.read::<u64>(&a, 0),
        Ok(99),
        "kept alive by the root region"
    );
    assert_eq!(h.collect().unwrap().live_objects, 1);
    // Data over the reference slot: no longer a root.
    h.root_set_data(rr, 3, 0).unwrap();
    assert!(!h.root_is_ref(rr, 3).unwrap());
    assert_eq!(h.collect().unwrap().live_objects, 0);
    h.verify().unwrap();
    h.root_region_free(rr).unwrap();
    assert_eq!(h.root_get(rr, 0), Err(GcError::InvalidRootRegion));
}

#[test]
fn root_regions_native() {
    root_regions::<Native>();
}
#[test]
fn root_regions_p128() {
    root_regions::<P128>();
}
#[test]
fn root_regions_softcheri() {
    root_regions::<SoftCheri<Morello>>();
}

#[test]
fn root_region_data_slot_cannot_be_dereferenced_in_softcheri() {
    let mut h = small::<SoftCheri<Morello>>();
    let rr = h.root_region_new(4).unwrap();
    h.root_set_data(rr, 0, 0x7fff_0000_1000).unwrap();
    let r = h.root_get(rr, 0).unwrap();
    assert_eq!(
        h.read::<u64>(&r, 0),
        Err(GcError::Cap(CapFault::TagViolation))
    );
}

/// A custom-traced object: word 0 says which of slots 1..=3 are
/// references (a tagged union).
fn union_trace(view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
    let which = view.read::<u64>(0).unwrap_or(0);
    for i in 1..=3u64 {
        if which >> i & 1 != 0 {
            visit(i * 16);
        }
    }
}

#[test]
fn every_type_kind_traces() {
    let mut h = small::<SoftCheri<Morello>>();
    let leaf = h.record_type(0, 8).unwrap();
    let union = h
        .register_type(ObjectType::Custom {
            size: 64,
            trace: union_trace,
        })
        .unwrap();
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let a = h.alloc_array(arr, 4).unwrap();
    let pa = h.persist(&a).unwrap();
    let u = h.alloc(union).unwrap();
    let l1 = h.alloc(leaf).unwrap();
    let l2 = h.alloc(leaf).unwrap();
    let a = h.get_persistent(pa).unwrap();
    h.write::<u64>(&u, 0, 0b0100).unwrap(); // slot 2 is a reference
    h.set_ref(&u, 32, &l1).unwrap();
    assert!(matches!(
        h.set_ref(&u, 16, &l2),
        Err(GcError::NotARefSlot { .. })
    ));
    h.set_ref(&a, 0, &u).unwrap();
    h.set_ref(&a, 16, &l2).unwrap();
    assert_eq!(h.array_len(&a), Ok(4));
    assert!(matches!(
        h.set_ref(&a, 64, &l2),
        Err(GcError::Cap(_)) | Err(GcError::NotARefSlot { .. })
    ));
    let b = h.alloc_array(bytes, 100).unwrap();
    assert_eq!(h.array_len(&b), Ok(100));
    assert!(matches!(h.alloc(arr), Err(GcError::WrongKind(_))));
    assert!(matches!(h.alloc_array(leaf, 3), Err(GcError::WrongKind(_))));
    // A type id of another heap is refused by this one.
    let other = small::<SoftCheri<Morello>>().record_type(0, 8).unwrap();
    assert_eq!(h.alloc(other), Err(GcError::WrongHeap));
    // array, union, l1, l2 survive; the byte array does not.
    assert_eq!(h.collect().unwrap().live_objects, 4);
    h.verify().unwrap();
    // Unmark the union's slot: l1 becomes garbage.
    let a = h.get_persistent(pa).unwrap();
    let u = h.get_ref(&a, 0).unwrap();
    h.write::<u64>(&u, 0, 0).unwrap();
    assert_eq!(h.collect().unwrap().live_objects, 3);
}

#[test]
fn invalid_types_are_refused() {
    let mut h = small::<SoftCheri<Morello>>();
    let bad = [
        ObjectType::Fixed {
            size: 32,
            ref_offsets: vec![8],
        },
        ObjectType::Fixed {
            size: 32,
            ref_offsets: vec![32],
        },
        ObjectType::Fixed {
            size: 1 << 40,
            ref_offsets: vec![],
        },
    ];
    for t in bad {
        assert!(matches!(h.register_type(t), Err(GcError::InvalidType(_))));
    }
}

fn large_objects_are_exact<F: Format>() {
    let mut h = Heap::<SoftCheri<F>>::new(HeapConfig {
        limit: 256 << 20,
        ..HeapConfig::default()
    })
    .unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    for len in [10_000u64, 100_003, 1 << 20, (5 << 20) + 77] {
        let o = h.alloc_array(bytes, len).unwrap();
        let cap = o.raw();
        let layout = <SoftCheri<F> as RefMode>::payload_layout(len).unwrap();
        assert_eq!(cap.length(), u128::from(layout.bounds), "padded to CRRL");
        assert_eq!(layout.bounds, F::crrl(len), "CRRL of the length itself");
        assert!(cap.base().is_aligned(layout.align), "aligned to CRAM");
        assert!(layout.bounds >= len && layout.size >= layout.bounds);
        // The padding is the object's own: writable, and the next byte not.
        h.write::<u8>(&o, layout.bounds - 1, 1).unwrap();
        assert!(h.write::<u8>(&o, layout.bounds, 1).is_err());
    }
    h.verify().unwrap();
    assert_eq!(h.collect().unwrap().live_objects, 0);
    h.verify().unwrap();
}

#[test]
fn large_objects_morello() {
    large_objects_are_exact::<Morello>();
}
#[test]
fn large_objects_v9() {
    large_objects_are_exact::<CheriV9>();
}

#[test]
fn stats_and_log_line() {
    let mut h = small::<SoftCheri<Morello>>();
    let node = h.record_type(1, 8).unwrap();
    for _ in 0..1000 {
        let o = h.alloc(node).unwrap();
        h.write::<u64>(&o, 16, 1).unwrap();
    }
    let c = h.collect().unwrap();
    assert_eq!(c.live_objects, 0);
    assert!(c.bytes_freed >= 1000 * 48);
    let s = h.stats();
    assert_eq!(s.objects_allocated, 1000);
    assert_eq!(s.caps_derived, 1000);
    assert!(s.checks >= 1000);
    assert_eq!(s.collections, 1);
    let line = log_line("marksweep", "full", "morello", &c);
    assert!(
        line.starts_with("[capgc gc #1 marksweep full morello] pause "),
        "{line}"
    );
    assert!(line.contains("live 0.0MiB (0 objects)"), "{line}");
}

#[test]
fn config_errors() {
    let bad = |c: HeapConfig| Heap::<Native>::new(c).err();
    assert!(matches!(
        bad(HeapConfig {
            limit: 1,
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(_))
    ));
    assert!(matches!(
        bad(HeapConfig {
            initial_size: 1 << 40,
            limit: 1 << 30,
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(_))
    ));
    assert!(matches!(
        bad(HeapConfig {
            growth_factor: f64::NAN,
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(_))
    ));
    assert!(matches!(
        bad(HeapConfig {
            scan: ScanStrategy::Tags,
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(_))
    ));
    assert!(matches!(
        bad(HeapConfig {
            pause_goal: Some(std::time::Duration::ZERO),
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(ConfigError::PauseGoal))
    ));
    assert!(matches!(
        bad(HeapConfig {
            nursery_size: 4 << 10,
            ..HeapConfig::default()
        }),
        Some(GcError::InvalidConfig(_))
    ));
}

#[test]
fn verifier_reports_every_violation() {
    let mut h = small::<Native>();
    let node = h.record_type(1, 8).unwrap();
    let mut hs = Vec::new();
    for _ in 0..3 {
        let o = h.alloc(node).unwrap();
        hs.push(h.handle(&o).unwrap());
    }
    // Point each object's reference slot at a non-object (Native does not
    // stop it): three separate I3 violations.
    for hd in &hs {
        let o = h.get(*hd).unwrap();
        h.write::<u64>(&o, 0, o.address().get() + 8).unwrap();
    }
    let v = h.verify().unwrap_err();
    let dangling = v
        .iter()
        .filter(|x| matches!(x, Violation::DanglingReference { .. }))
        .count();
    assert_eq!(dangling, 3, "{v:?}");
}

#[test]
fn heaps_are_independent_across_threads() {
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            std::thread::spawn(move || {
                let mut h = small::<SoftCheri<Morello>>();
                let node = h.record_type(1, 8).unwrap();
                let head = h.alloc(node).unwrap();
                h.write::<u64>(&head, 16, t).unwrap();
                let p = h.persist(&head).unwrap();
                for i in 0..20_000u64 {
                    let n = h.alloc(node).unwrap();
                    h.write::<u64>(&n, 16, i).unwrap();
                }
                h.collect().unwrap();
                h.verify().unwrap();
                let head = h.get_persistent(p).unwrap();
                h.read::<u64>(&head, 16).unwrap()
            })
        })
        .collect();
    for (t, th) in threads.into_iter().enumerate() {
        assert_eq!(th.join().unwrap(), t as u64);
    }
}

/// The peak footprint is the most the heap ever held, between
/// collections too: never below the footprint now, and it stays up after
/// a collection gives blocks back.
fn peak_footprint_is_a_high_water_mark<M: RefMode>(plan: gc_core::Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        initial_size: 1 << 20,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let arr = h.register_type(ObjectType::RefArray).unwrap();
    let list = h.alloc_array(arr, 64).unwrap();
    let keep = h.persist(&list).unwrap();
    for i in 0..64 {
        let b = h.alloc_array(bytes, 256 << 10).unwrap();
        let l = h.get_persistent(keep).unwrap();
        h.set_ref(&l, i * Heap::<M>::SLOT, &b).unwrap();
        let s = h.stats();
        assert!(s.peak_heap_bytes >= s.heap_bytes, "{plan:?}: {s:?}");
    }
    let full = h.stats();
    h.release(keep).unwrap();
    h.collect().unwrap();
    let after = h.stats();
    assert!(
        after.heap_bytes < full.heap_bytes,
        "{plan:?}: the collection kept the arrays"
    );
    assert!(
        after.peak_heap_bytes >= full.heap_bytes,
        "{plan:?}: {full:?} then {after:?}"
    );
}

#[test]
fn peak_footprint_every_plan() {
    for plan in gc_core::Plan::ALL {
        peak_footprint_is_a_high_water_mark::<Native>(plan);
        peak_footprint_is_a_high_water_mark::<SoftCheri<Morello>>(plan);
    }
}

/// The fuzz campaign's finding 4 (a map of one offset per slot, for a
/// record of 131 million slots: a gigabyte per registration). A record
/// keeps only its count of slots, and its objects are traced, checked and
/// verified by it; a `Fixed` type lists at most `MAX_FIXED_REFS` offsets.
fn large_records<M: RefMode>(plan: gc_core::Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap();
    // Registered, and cheap: these would need gigabytes if each kept a
    // list of offsets.
    let slots = (1u64 << 30) / Heap::<M>::SLOT - 1;
    for _ in 0..64 {
        h.record_type(slots as u32, 0).unwrap();
    }
    let n = 100_000u32;
    let big = h.record_type(n, 8 * u64::from(n)).unwrap();
    let node = h.record_type(2, 16).unwrap();
    let o = h.alloc(big).unwrap();
    let keep = h.persist(&o).unwrap();
    let used = [0u32, 64, 65, 99_999];
    for i in used {
        let c = h.alloc(node).unwrap();
        let o = h.get_persistent(keep).unwrap();
        h.set_ref(&o, Heap::<M>::ref_offset(i), &c).unwrap();
    }
    let o = h.get_persistent(keep).unwrap();
    let data = Heap::<M>::data_offset(n);
    h.write::<u64>(&o, data, 7).unwrap();
    assert!(
        h.set_ref(&o, data, &o).is_err(),
        "data is no reference slot"
    );
    h.collect().unwrap();
    h.verify().unwrap();
    let o = h.get_persistent(keep).unwrap();
    for i in used {
        assert!(
            !h.get_ref(&o, Heap::<M>::ref_offset(i)).unwrap().is_null(),
            "{plan:?} {i}"
        );
    }
    assert!(h.get_ref(&o, Heap::<M>::ref_offset(1)).unwrap().is_null());
    assert_eq!(h.read::<u64>(&o, data).unwrap(), 7);
    let max = ObjectType::MAX_FIXED_REFS;
    let ty = ObjectType::Fixed {
        size: (max + 1) * Heap::<M>::SLOT,
        ref_offsets: (0..=max).map(|i| i * Heap::<M>::SLOT).collect(),
    };
    assert_eq!(
        h.register_type(ty),
        Err(GcError::InvalidType(gc_core::TypeError::TooManyRefs(
            max + 1
        )))
    );
}

#[test]
fn records_of_any_size_keep_a_count_not_a_map() {
    for plan in gc_core::Plan::ALL {
        large_records::<Native>(plan);
        large_records::<SoftCheri<Morello>>(plan);
    }
}
