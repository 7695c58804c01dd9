//! churn: a rooted array of `slots` entries, each replaced over and over
//! by a freshly allocated small object or a short list (1 to 4 nodes), so
//! the live size stays fixed while allocation goes on — the steady state
//! of a VM's table or cache. Where the old entries die is random, so the
//! survivors are scattered among the garbage, unlike binary-trees' whole
//! trees dying at once.
//!
//! The result is checked against a plain model of the slots
//! ([`churn_expected`]) that the same pseudo-random sequence drives.

use capability_heap::RefMode;
use gc_core::{GcError, Heap, ObjRef, ObjectType};

/// churn's size.
#[derive(Clone, Copy, Debug)]
pub struct ChurnParams {
    /// Slots of the rooted array (the live size is about 2.5 nodes a slot).
    pub slots: u32,
    /// Entries replaced in all.
    pub replacements: u64,
}

impl ChurnParams {
    /// `slots` slots, each replaced 40 times on average.
    pub fn with_slots(slots: u32) -> ChurnParams {
        ChurnParams {
            slots,
            replacements: 40 * u64::from(slots),
        }
    }
}

/// What the array holds at the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Churn {
    /// List nodes reachable from the array.
    pub live_nodes: u64,
    /// Sum of the nodes' values (a node holds the number of the
    /// replacement that made it).
    pub value_sum: u64,
}

/// The slot and list length of replacement `k` (a 64-bit LCG, high bits).
fn step(state: &mut u64, slots: u32) -> (u64, u64) {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let x = *state >> 33;
    (x % u64::from(slots), 1 + (x >> 20) % 4)
}

const SEED: u64 = 0x5eed;

/// What [`churn`] must find: the model's slots after the same sequence.
pub fn churn_expected(p: ChurnParams) -> Churn {
    let mut slots = vec![(0u64, 0u64); p.slots as usize];
    let mut state = SEED;
    for k in 0..p.replacements {
        let (slot, len) = step(&mut state, p.slots);
        slots[slot as usize] = (len, k);
    }
    Churn {
        live_nodes: slots.iter().map(|s| s.0).sum(),
        value_sum: slots.iter().map(|(len, k)| len * k).sum(),
    }
}

/// Sums the list from `n` (no allocation, so `n` stays valid).
fn walk<M: RefMode>(h: &Heap<M>, mut n: ObjRef<M>) -> Result<Churn, GcError> {
    let mut c = Churn {
        live_nodes: 0,
        value_sum: 0,
    };
    while !n.is_null() {
        c.live_nodes += 1;
        c.value_sum += h.read::<u64>(&n, Heap::<M>::data_offset(1))?;
        n = h.get_ref(&n, Heap::<M>::ref_offset(0))?;
    }
    Ok(c)
}

/// churn: replaces random slots of a rooted array with new lists.
pub fn churn<M: RefMode>(h: &mut Heap<M>, p: ChurnParams) -> Result<Churn, GcError> {
    let node = h.record_type(1, 8)?;
    let array_ty = h.register_type(ObjectType::RefArray)?;
    let value = Heap::<M>::data_offset(1);
    let scope = h.open_scope();
    let array = h.alloc_array(array_ty, u64::from(p.slots))?;
    let array = h.handle(&array)?;
    let mut state = SEED;
    for k in 0..p.replacements {
        let (slot, len) = step(&mut state, p.slots);
        let inner = h.open_scope();
        let head = h.alloc(node)?;
        h.write(&head, value, k)?;
        let head = h.handle(&head)?;
        for _ in 1..len {
            let n = h.alloc(node)?;
            h.write(&n, value, k)?;
            h.set_ref(&n, Heap::<M>::ref_offset(0), &h.get(head)?)?;
            h.set_handle(head, &n)?;
        }
        let a = h.get(array)?;
        h.set_ref(&a, slot * Heap::<M>::SLOT, &h.get(head)?)?;
        h.close_scope(inner)?;
    }
    let a = h.get(array)?;
    let mut total = Churn {
        live_nodes: 0,
        value_sum: 0,
    };
    for slot in 0..u64::from(p.slots) {
        let c = walk(h, h.get_ref(&a, slot * Heap::<M>::SLOT)?)?;
        total.live_nodes += c.live_nodes;
        total.value_sum += c.value_sum;
    }
    h.close_scope(scope)?;
    Ok(total)
}
