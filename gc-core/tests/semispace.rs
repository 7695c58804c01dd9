//! The SemiSpace plan: the shared semantics, and what only it does —
//! every collection moves every unpinned small object.

#[macro_use]
mod common;

use capability_heap::{Morello, Native, SoftCheri};
use common::{data, heap};
use gc_core::{GcError, Plan};

semantics_for_plan!(Plan::SemiSpace);

/// Every collection copies the survivors again (there is no old space for
/// small objects), re-deriving their references each time (I8).
#[test]
fn every_collection_moves_every_survivor() {
    type M = SoftCheri<Morello>;
    let (mut h, node) = heap::<M>(Plan::SemiSpace);
    let a = h.alloc(node).unwrap();
    h.write::<u64>(&a, data::<M>(), 6).unwrap();
    let ha = h.handle(&a).unwrap();
    let mut at = a.address();
    for _ in 0..3 {
        let s = h.collect().unwrap();
        assert_eq!(s.objects_copied, 1);
        let a = h.get(ha).unwrap();
        assert_ne!(a.address(), at);
        assert_eq!(h.read::<u64>(&a, data::<M>()), Ok(6));
        assert_eq!(a.raw().base(), a.address());
        at = a.address();
    }
    assert_eq!(h.read::<u64>(&a, data::<M>()), Err(GcError::StaleReference));
    h.verify().unwrap();
}

/// In Native a plain reference kept across a moving collection is NOT
/// caught: it still reads the old, quarantined copy's memory.
#[test]
fn native_stale_reference_after_move_not_caught() {
    let (mut h, node) = heap::<Native>(Plan::SemiSpace);
    let a = h.alloc(node).unwrap();
    h.write::<u64>(&a, data::<Native>(), 8).unwrap();
    let ha = h.handle(&a).unwrap();
    h.collect().unwrap();
    assert_ne!(h.get(ha).unwrap().address(), a.address());
    assert!(
        h.read::<u64>(&a, data::<Native>()).is_ok(),
        "not caught in Native"
    );
}
