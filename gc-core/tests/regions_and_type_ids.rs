//! Issue #24 from outside the crate (public API only), in every plan and
//! in Native, P128 and SoftCheri:
//! - a root region of 2^32 slots is scanned correctly at any index —
//!   slots written, cleared, rewritten at high indexes, updated by moving
//!   plans — now that a scan stops at the region's high-water mark;
//! - a type id this heap never issued (a bare index, made-up bits) is
//!   `UnknownType`, and only a real other heap's is `WrongHeap`.

use capability_heap::{Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{GcError, Heap, HeapConfig, ObjRef, ObjectType, Plan, TypeId};

const PLANS: [Plan; 3] = [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational];

fn heap<M: RefMode>(plan: Plan) -> (Heap<M>, TypeId) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        limit: 16 << 20,
        nursery_size: 256 << 10,
        pause_goal: None,
        ..HeapConfig::default()
    })
    .unwrap();
    let node = h.record_type(1, 8).unwrap();
    (h, node)
}

/// A node holding `v` in its data word.
fn node<M: RefMode>(h: &mut Heap<M>, ty: TypeId, v: u64) -> ObjRef<M> {
    let o = h.alloc(ty).unwrap();
    h.write::<u64>(&o, Heap::<M>::data_offset(1), v).unwrap();
    o
}

fn value<M: RefMode>(h: &Heap<M>, o: &ObjRef<M>) -> u64 {
    h.read::<u64>(o, Heap::<M>::data_offset(1)).unwrap()
}

fn verified<M: RefMode>(h: &Heap<M>) {
    assert_eq!(h.verify(), Ok(()));
}

/// Slots at the bottom, the middle and high up in a 2^32-slot
/// region keep their objects alive across collections (and follow them
/// when they move); a cleared top slot stops being a root once the mark
/// came down; the same high slots written again are roots again.
fn big_region_is_scanned_at_every_index<M: RefMode>() {
    for plan in PLANS {
        // 2^24 slots up (`the_last_of_2_32_slots` takes the very last:
        // each scan there reads 64 Mi bitmap words, slow under ASan).
        let top: u64 = (1 << 24) - 1;
        let (mut h, ty) = heap::<M>(plan);
        let r = h.root_region_new(1 << 32).unwrap();
        assert_eq!(h.root_region_len(r), Ok(1 << 32));
        let at = [0, 1, 63, 64, 1 << 20, top / 2 + 1, top - 64, top];
        for (i, &slot) in at.iter().enumerate() {
            let o = node(&mut h, ty, 100 + i as u64);
            h.root_set(r, slot, &o).unwrap();
        }
        let weak_top = {
            let o = h.root_get(r, top).unwrap();
            h.weak_new(&o).unwrap()
        };
        let before: Vec<_> = at
            .iter()
            .map(|&s| h.root_get(r, s).unwrap().address())
            .collect();
        for round in 0..2 {
            h.collect().unwrap();
            verified(&h);
            for (i, &slot) in at.iter().enumerate() {
                assert!(h.root_is_ref(r, slot).unwrap(), "{plan:?} slot {slot}");
                let o = h.root_get(r, slot).unwrap();
                assert_eq!(value(&h, &o), 100 + i as u64, "{plan:?} slot {slot}");
                if plan == Plan::SemiSpace && round == 0 {
                    // A moving plan rewrote every slot, the topmost
                    // included (I8).
                    assert_ne!(o.address(), before[i], "{plan:?}: slot {slot} not updated");
                }
            }
        }
        // Clear the two top slots: one with null, one with data (I6).
        h.root_set(r, top, &ObjRef::null()).unwrap();
        h.root_set_data(r, top - 64, 7).unwrap();
        assert!(!h.root_is_ref(r, top).unwrap());
        assert!(!h.root_is_ref(r, top - 64).unwrap());
        h.collect().unwrap();
        verified(&h);
        assert!(
            h.weak_get(weak_top).unwrap().is_none(),
            "{plan:?}: a cleared slot kept its object"
        );
        // The mark came down to slot top / 2 + 1; slots above it, written again,
        // are roots again.
        let o = node(&mut h, ty, 7777);
        h.root_set(r, top, &o).unwrap();
        let weak = h.weak_new(&o).unwrap();
        let p = node(&mut h, ty, 8888);
        h.root_set(r, top - 1, &p).unwrap();
        for _ in 0..2 {
            h.collect().unwrap();
            verified(&h);
            assert!(
                h.weak_get(weak).unwrap().is_some(),
                "{plan:?}: a rewritten top slot was not scanned"
            );
            assert_eq!(value(&h, &h.root_get(r, top).unwrap()), 7777);
            assert_eq!(value(&h, &h.root_get(r, top - 1).unwrap()), 8888);
            assert_eq!(value(&h, &h.root_get(r, top / 2 + 1).unwrap()), 105);
        }
        // Minor collections scan it the same way.
        h.collect_minor().unwrap();
        verified(&h);
        assert_eq!(value(&h, &h.root_get(r, top).unwrap()), 7777);
        // Emptied entirely, then one slot: the mark goes to 0 and back.
        for s in at.iter().chain(&[top - 1]) {
            h.root_set(r, *s, &ObjRef::null()).unwrap();
        }
        h.collect().unwrap();
        assert!(h.weak_get(weak).unwrap().is_none(), "{plan:?}");
        let q = node(&mut h, ty, 9999);
        h.root_set(r, top, &q).unwrap();
        h.collect().unwrap();
        verified(&h);
        assert_eq!(value(&h, &h.root_get(r, top).unwrap()), 9999);
        h.root_region_free(r).unwrap();
        h.collect().unwrap();
        verified(&h);
    }
}

/// The very last slot of a 2^32-slot region, in a moving plan: kept
/// alive and updated when its object moves (I8), no longer a root once
/// cleared, a root again once rewritten.
fn the_last_of_2_32_slots<M: RefMode>() {
    const LAST: u64 = (1 << 32) - 1;
    let (mut h, ty) = heap::<M>(Plan::SemiSpace);
    let r = h.root_region_new(1 << 32).unwrap();
    let o = node(&mut h, ty, 41);
    h.root_set(r, LAST, &o).unwrap();
    let weak = h.weak_new(&o).unwrap();
    let before = o.address();
    h.collect().unwrap();
    verified(&h);
    let o = h.root_get(r, LAST).unwrap();
    assert_ne!(o.address(), before, "the last slot was not updated");
    assert_eq!(value(&h, &o), 41);
    h.root_set(r, LAST, &ObjRef::null()).unwrap();
    h.collect().unwrap();
    assert!(
        h.weak_get(weak).unwrap().is_none(),
        "a cleared last slot kept its object"
    );
    let o = node(&mut h, ty, 42);
    h.root_set(r, LAST, &o).unwrap();
    h.collect().unwrap();
    verified(&h);
    assert_eq!(value(&h, &h.root_get(r, LAST).unwrap()), 42);
}

/// Ids this heap never issued are `UnknownType`, whatever their bits; a
/// real other heap's, live or dropped, is `WrongHeap`.
fn type_ids<M: RefMode>() {
    for plan in PLANS {
        let (mut h, a) = heap::<M>(plan);
        let b = h.record_type(2, 0).unwrap();
        let c = h.register_type(ObjectType::ByteArray).unwrap();
        assert_ne!(b, c);
        assert_eq!(h.alloc(a).map(drop), Ok(()));
        let unknown = |bits: u64| TypeId::from_bits(bits);
        for bits in [
            0,
            1,
            3,
            12345,
            u64::from(u32::MAX),
            a.to_bits() + 1000,
            0xdead_beef_cafe_f00d,
            u64::MAX,
            a.to_bits() ^ 1 << 62,
        ] {
            assert_eq!(
                h.alloc(unknown(bits)).map(drop),
                Err(GcError::UnknownType(unknown(bits))),
                "{plan:?} {bits:#x}"
            );
            assert_eq!(
                h.alloc_array(unknown(bits), 3).map(drop),
                Err(GcError::UnknownType(unknown(bits))),
                "{plan:?} {bits:#x}"
            );
        }
        let (mut other, o) = heap::<M>(plan);
        assert_eq!(h.alloc(o).map(drop), Err(GcError::WrongHeap));
        assert_eq!(other.alloc(a).map(drop), Err(GcError::WrongHeap));
        assert_eq!(other.alloc(c).map(drop), Err(GcError::WrongHeap));
        drop(other);
        assert_eq!(
            h.alloc(o).map(drop),
            Err(GcError::WrongHeap),
            "a dropped heap's"
        );
        // Nothing changed: the heap works and verifies.
        let n = h.alloc(a).unwrap();
        let hd = h.handle(&n).unwrap();
        h.collect().unwrap();
        assert!(h.get(hd).is_ok());
        verified(&h);
    }
}

macro_rules! modes {
    ($($m:ident: $t:ty),*) => {$(
        mod $m {
            #[test]
            fn big_region_is_scanned_at_every_index() {
                super::big_region_is_scanned_at_every_index::<$t>();
            }
            #[test]
            fn the_last_of_2_32_slots() {
                super::the_last_of_2_32_slots::<$t>();
            }
            #[test]
            fn unissued_type_ids_are_unknown_types() {
                super::type_ids::<$t>();
            }
        }
    )*};
}

modes!(native: super::Native, p128: super::P128, morello: super::SoftCheri<super::Morello>,
       riscv_std: super::SoftCheri<super::RiscvStd>);
