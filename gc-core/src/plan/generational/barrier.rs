//! The generational write barrier and the remembered set (I9).
//!
//! After a reference store, [`post_write`] remembers the slot when it now
//! holds an old-to-young reference: the value is in the copy space (the
//! nursery) and the holder is not. A minor collection treats the
//! remembered slots as roots, and keeps those that still refer into the
//! nursery afterwards (pinned young objects stay there). A full
//! collection rebuilds the set from what it traces.
//!
//! The set is a sequential store buffer (duplicates allowed, removed when
//! a minor collection reads it): the barrier's rare path is one push.

use crate::policy::Arena;
use capability_heap::{Address, RefMode};

/// Remembered old-to-young slots.
#[derive(Default)]
pub(crate) struct RememberedSet {
    slots: Vec<Address>,
}

impl RememberedSet {
    /// Remembers `slot`. Out of line: the barrier's rare path, kept out
    /// of the reference store so that the store's fast path saves no
    /// registers for it.
    #[cold]
    #[inline(never)]
    pub(crate) fn record(&mut self, slot: Address) {
        self.slots.push(slot);
    }

    /// Takes the slots out (a minor collection's roots).
    pub(crate) fn take(&mut self) -> Vec<Address> {
        std::mem::take(&mut self.slots)
    }

    /// Puts a buffer back to record into (keeping its allocation).
    pub(crate) fn replace(&mut self, mut v: Vec<Address>) {
        v.append(&mut self.slots);
        self.slots = v;
    }

    /// Adds slots found by a collection.
    pub(crate) fn extend(&mut self, slots: Vec<Address>) {
        self.slots.extend(slots);
    }

    /// The slots, sorted (the verifier's lookup).
    pub(crate) fn sorted(&self) -> Vec<Address> {
        let mut v = self.slots.clone();
        v.sort_unstable();
        v
    }
}

/// The barrier after storing a reference to `value` at `offset` of the
/// object at `holder` (I9).
///
/// The holder is tested first: most stores initialise a young object
/// (a node just allocated), and a young holder never needs remembering,
/// so the common case is one block-state load, not two.
#[inline(always)]
pub(crate) fn post_write<M: RefMode>(
    arena: &mut Arena<M>,
    holder: Address,
    offset: u64,
    value: Address,
) {
    if !arena.is_young(holder) && arena.is_young(value) {
        arena.remset_mut().record(holder.add(offset));
    }
}
