//! The MarkSweep plan: the shared semantics, and what only it does —
//! objects never move, and a freed cell is reused at once.

#[macro_use]
mod common;

use capability_heap::{Morello, Native, RefMode, SoftCheri};
use common::{data, heap};
use gc_core::{GcError, Plan};

semantics_for_plan!(Plan::MarkSweep);

/// Objects stay where they were allocated; the cell of a dead one is the
/// next allocation of its size class, zeroed (I4); a reference to the
/// dead one is refused (checked modes) even though the cell is live again.
fn never_moves_and_reuses_cells<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::MarkSweep);
    let a = h.alloc(node).unwrap();
    let ha = h.handle(&a).unwrap();
    let dead = h.alloc(node).unwrap();
    h.write::<u64>(&dead, data::<M>(), 0xdead).unwrap();
    let s = h.collect().unwrap();
    assert_eq!(
        (s.live_objects, s.objects_freed, s.objects_copied),
        (1, 1, 0)
    );
    assert_eq!(h.get(ha).unwrap().address(), a.address(), "never moves");
    let again = h.alloc(node).unwrap();
    assert_eq!(again.address(), dead.address(), "the freed cell is reused");
    assert_eq!(h.read::<u64>(&again, data::<M>()), Ok(0), "zeroed (I4)");
    if M::CHECKED {
        assert_eq!(
            h.read::<u64>(&dead, data::<M>()),
            Err(GcError::StaleReference)
        );
    }
    h.verify().unwrap();
}

#[test]
fn never_moves_and_reuses_cells_native() {
    never_moves_and_reuses_cells::<Native>();
}
#[test]
fn never_moves_and_reuses_cells_morello() {
    never_moves_and_reuses_cells::<SoftCheri<Morello>>();
}
