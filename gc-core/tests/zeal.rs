//! GC zeal (`gc_core::Zeal`) in every plan and mode: `collect:N` collects
//! every N allocations, `verify` catches a missing root, `move-all` moves
//! every movable object at every collection, `poison` fills freed memory
//! (and it is zeroed again before reuse, I4).

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{GcError, Heap, HeapConfig, Plan, Violation, Zeal};

fn heap<M: RefMode>(plan: Plan, zeal: Zeal) -> Heap<M> {
    Heap::<M>::new(HeapConfig {
        plan,
        // Pacing alone would not collect in these tests.
        initial_size: 64 << 20,
        nursery_size: 16 << 20,
        pause_goal: None,
        limit: 256 << 20,
        log: false,
        zeal,
        ..HeapConfig::default()
    })
    .unwrap()
}

fn zeal(s: &str) -> Zeal {
    Zeal::parse(s).unwrap()
}

/// `collect:N`: one full collection per N allocations of every kind
/// (fixed, array, pinned), none without zeal; the rooted data survives.
fn collects_every_n<M: RefMode>(plan: Plan) {
    for (z, want) in [(zeal("collect:7"), 10), (Zeal::default(), 0)] {
        let mut h = heap::<M>(plan, z);
        let node = h.record_type(1, 8).unwrap();
        let bytes = h.register_type(gc_core::ObjectType::ByteArray).unwrap();
        let first = h.alloc(node).unwrap();
        h.write::<u64>(&first, Heap::<M>::data_offset(1), 99)
            .unwrap();
        let root = h.persist(&first).unwrap();
        for i in 1..70 {
            match i % 3 {
                0 => drop(h.alloc(node).unwrap()),
                1 => drop(h.alloc_array(bytes, 40).unwrap()),
                _ => drop(h.alloc_pinned(node).unwrap()),
            }
        }
        assert_eq!(h.stats().collections, want, "{plan:?} {}: {z:?}", M::NAME);
        let r = h.get_persistent(root).unwrap();
        assert_eq!(h.read::<u64>(&r, Heap::<M>::data_offset(1)).unwrap(), 99);
        h.verify().unwrap();
    }
}

/// `verify` passes on a healthy heap under every option.
fn verify_passes_when_healthy<M: RefMode>(plan: Plan) {
    let mut h = heap::<M>(plan, zeal("collect:3,verify,move-all,poison"));
    let node = h.record_type(1, 8).unwrap();
    let head = h.alloc(node).unwrap();
    let root = h.persist(&head).unwrap();
    for i in 0..200u64 {
        let n = h.alloc(node).unwrap();
        h.write::<u64>(&n, Heap::<M>::data_offset(1), i).unwrap();
        if i % 2 == 0 {
            let head = h.get_persistent(root).unwrap();
            h.set_ref(&n, 0, &head).unwrap();
            h.set_persistent(root, &n).unwrap();
        }
    }
    assert!(h.stats().collections >= 60);
    // The list of the even numbers survived, in order, then the head.
    let mut n = h.get_persistent(root).unwrap();
    let mut seen = Vec::new();
    while !n.is_null() {
        seen.push(h.read::<u64>(&n, Heap::<M>::data_offset(1)).unwrap());
        n = h.get_ref(&n, 0).unwrap();
    }
    let want: Vec<u64> = (0..200).rev().filter(|i| i % 2 == 0).chain([0]).collect();
    assert_eq!(seen, want, "{plan:?} {}", M::NAME);
}

/// A missing root: a reference kept in a local across allocations, then
/// stored. SoftCheri refuses the store (stale); an unchecked mode takes
/// it, and zeal's verifier reports it at the next collection, after which
/// the heap refuses every call.
fn verify_catches_a_missing_root<M: RefMode>(plan: Plan) {
    // collect:1: the collection comes before the next allocation could
    // reuse the dead object's cell (MarkSweep), where the stale reference
    // would silently alias a new object.
    let mut h = heap::<M>(plan, zeal("collect:1,verify"));
    let node = h.record_type(1, 8).unwrap();
    // The allocations in between are of another size, so that in
    // MarkSweep none lands in the dead object's cell (a stale pointer
    // aliasing a new object of its size is beyond any verifier).
    let other = h.record_type(0, 200).unwrap();
    let holder = h.alloc(node).unwrap();
    let root = h.persist(&holder).unwrap();
    let keep = h.alloc(node).unwrap();
    // One allocation: a zeal collection, after which `keep` is garbage.
    h.alloc(other).unwrap();
    let r = h.set_persistent(root, &keep);
    if M::CHECKED {
        assert_eq!(r, Err(GcError::StaleReference), "{plan:?}");
        return;
    }
    r.unwrap();
    let mut err = None;
    for _ in 0..4 {
        if let Err(e) = h.alloc(other) {
            err = Some(e);
            break;
        }
    }
    match err {
        Some(e @ GcError::HeapCorrupt { violations, .. }) => {
            assert!(e.to_string().contains("missing root"), "{e}");
            assert!(violations >= 1, "{e}");
        }
        other => panic!("{plan:?} {}: {other:?}", M::NAME),
    }
    assert!(h.is_poisoned());
    assert!(matches!(h.alloc(node), Err(GcError::HeapCorrupt { .. })));
    assert!(matches!(h.collect(), Err(GcError::HeapCorrupt { .. })));
    // The verifier itself still says what is wrong.
    let v = h.verify().unwrap_err();
    assert!(v.iter().any(|v| matches!(
        v,
        Violation::DanglingReference { .. } | Violation::IntoEvacuatedSpace { .. }
    )));
}

/// `move-all`: in the moving plans a rooted object moves at every
/// collection, minor or full; without it, Generational promotes it once
/// and it stays; MarkSweep never moves it.
fn move_all_moves<M: RefMode>(plan: Plan) {
    for on in [true, false] {
        let z = if on {
            zeal("move-all")
        } else {
            Zeal::default()
        };
        let mut h = heap::<M>(plan, z);
        let node = h.record_type(1, 8).unwrap();
        let o = h.alloc(node).unwrap();
        h.write::<u64>(&o, Heap::<M>::data_offset(1), 7).unwrap();
        let root = h.persist(&o).unwrap();
        let mut addrs = vec![o.address()];
        for k in 0..6 {
            if k % 2 == 0 {
                h.collect_minor().unwrap();
            } else {
                h.collect().unwrap();
            }
            let o = h.get_persistent(root).unwrap();
            assert_eq!(h.read::<u64>(&o, Heap::<M>::data_offset(1)).unwrap(), 7);
            addrs.push(o.address());
            h.verify().unwrap();
        }
        let moves = addrs.windows(2).filter(|w| w[0] != w[1]).count();
        let want = match (plan, on) {
            (Plan::MarkSweep, _) => 0,
            (Plan::SemiSpace, _) | (Plan::Generational, true) => 6,
            (Plan::Generational, false) => 1, // promoted once, then still
            _ => unreachable!(),
        };
        assert_eq!(moves, want, "{plan:?} {} move-all {on}: {addrs:?}", M::NAME);
    }
}

/// `move-all` in Generational keeps a churning heap within its nursery
/// bound plus survivors: allocation never fails for want of nursery.
fn move_all_survives_churn<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        nursery_size: 256 << 10,
        pause_goal: None,
        initial_size: 1 << 20,
        limit: 16 << 20,
        log: false,
        zeal: zeal("move-all,verify"),
        ..HeapConfig::default()
    })
    .unwrap();
    let node = h.record_type(1, 8).unwrap();
    let head = h.alloc(node).unwrap();
    let root = h.persist(&head).unwrap();
    for i in 0..60_000u64 {
        let n = h.alloc(node).unwrap();
        if i % 16 == 0 {
            let head = h.get_persistent(root).unwrap();
            h.set_ref(&n, 0, &head).unwrap();
            h.set_persistent(root, &n).unwrap();
        }
    }
    assert!(h.stats().collections > 0);
    h.verify().unwrap();
}

/// `poison`: a dead object's memory reads poison through a stale pointer
/// (the unchecked modes let one be read; SoftCheri refuses it as stale),
/// zero without poison; new objects still start zeroed (I4), and the
/// verifier passes.
fn poison_fills_freed_memory<M: RefMode>(plan: Plan) {
    for on in [true, false] {
        let z = if on { zeal("poison") } else { Zeal::default() };
        let mut h = heap::<M>(plan, z);
        let node = h.record_type(1, 8).unwrap();
        let bytes = h.register_type(gc_core::ObjectType::ByteArray).unwrap();
        let small = h.alloc(node).unwrap();
        h.write::<u64>(&small, Heap::<M>::data_offset(1), 0x1234)
            .unwrap();
        let large = h.alloc_array(bytes, 100_000).unwrap();
        h.write::<u64>(&large, 8, 0x5678).unwrap();
        h.collect().unwrap(); // both die
        for (r, off) in [(&small, Heap::<M>::data_offset(1)), (&large, 8)] {
            match h.read::<u64>(r, off) {
                Ok(w) => {
                    assert!(!M::CHECKED);
                    // Without poison: zero (MarkSweep sweeps to zero) or
                    // the old data (a quarantined block, zeroed at reuse).
                    assert_eq!(w == Zeal::POISON_WORD, on, "{plan:?} {} {w:#x}", M::NAME);
                }
                Err(e) => {
                    assert!(M::CHECKED);
                    assert_eq!(e, GcError::StaleReference);
                }
            }
        }
        h.verify().unwrap();
        // Reuse: every new object reads zero, wherever it lands.
        for _ in 0..2000 {
            let n = h.alloc(node).unwrap();
            assert_eq!(h.read::<u64>(&n, Heap::<M>::data_offset(1)).unwrap(), 0);
            assert!(h.get_ref(&n, 0).unwrap().is_null());
        }
        let a = h.alloc_array(bytes, 100_000).unwrap();
        assert_eq!(h.read::<u64>(&a, 8).unwrap(), 0);
        assert_eq!(h.read::<u64>(&a, 99_992).unwrap(), 0);
        h.verify().unwrap();
    }
}

macro_rules! every_mode_and_plan {
    ($($test:ident),*) => {$(
        mod $test {
            use super::*;
            #[test]
            fn native() {
                for p in Plan::ALL { super::$test::<Native>(p) }
            }
            #[test]
            fn p128() {
                for p in Plan::ALL { super::$test::<P128>(p) }
            }
            #[test]
            fn morello() {
                for p in Plan::ALL { super::$test::<SoftCheri<Morello>>(p) }
            }
            #[test]
            fn cheri_v9() {
                for p in Plan::ALL { super::$test::<SoftCheri<CheriV9>>(p) }
            }
            #[test]
            fn riscv_std() {
                for p in Plan::ALL { super::$test::<SoftCheri<RiscvStd>>(p) }
            }
        }
    )*};
}

every_mode_and_plan!(
    collects_every_n,
    verify_passes_when_healthy,
    verify_catches_a_missing_root,
    move_all_moves,
    move_all_survives_churn,
    poison_fills_freed_memory
);
