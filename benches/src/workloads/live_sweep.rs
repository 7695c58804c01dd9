//! live-sweep: one step of the sweep over live sizes — build
//! `live_bytes` of long-lived trees, then allocate `garbage_bytes` of
//! short-lived ones and time the collections that allocation causes. The
//! harness runs it once per live size (1 MiB, 2 MiB, … up to
//! `--max-live`) at the same allocation volume, so what changes between
//! steps is what a collection must trace: a tracing collector's cost per
//! collection follows live data, not the heap's size, and Generational's
//! minor collections should not follow it at all.

use super::bottom_up;
use capability_heap::RefMode;
use gc_core::{CollectionKind, GcError, Heap, ObjectType};
use std::time::Duration;

/// Depth of one tree of live data (2047 nodes).
const LIVE_DEPTH: u32 = 10;
/// Depth of one short-lived tree (127 nodes).
const GARBAGE_DEPTH: u32 = 6;

/// One step's size.
#[derive(Clone, Copy, Debug)]
pub struct LiveSweepParams {
    /// Live data to build, bytes of cells (headers included).
    pub live_bytes: u64,
    /// Bytes of cells allocated while it is live.
    pub garbage_bytes: u64,
    /// Full collections forced after the allocation phase, each timed
    /// ([`LiveSweep::forced_full`] is their median): whatever the
    /// allocation phase's collections were, these measure what one full
    /// collection of this much live data costs.
    pub forced_full: u32,
}

/// What the allocation phase cost.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveSweep {
    /// Bytes in use after a full collection of the live data alone.
    pub live_bytes: u64,
    /// Trees of live data built.
    pub trees: u64,
    /// Trees still reachable at the end (all of them, in a correct run).
    pub trees_found: u64,
    /// Collections during the allocation phase.
    pub collections: u64,
    /// Their pause time.
    pub gc: Duration,
    /// The full (whole-heap) collections among them.
    pub full_collections: u64,
    /// Their pause time.
    pub full_gc: Duration,
    /// The median pause of the forced full collections.
    pub forced_full: Duration,
}

/// Bytes of one two-reference node's cell in mode `M` (the results
/// page's live-sweep chart says how many more of them Native holds).
pub fn node_cell<M: RefMode>() -> u64 {
    let payload = 2 * Heap::<M>::SLOT;
    gc_core::header_size::<M>() + M::payload_layout(payload).map_or(payload, |l| l.size)
}

fn tree_nodes(depth: u32) -> u64 {
    (1 << (depth + 1)) - 1
}

/// live-sweep's step: see the module doc.
pub fn live_sweep<M: RefMode>(h: &mut Heap<M>, p: LiveSweepParams) -> Result<LiveSweep, GcError> {
    let node = h.record_type(2, 0)?;
    let array_ty = h.register_type(ObjectType::RefArray)?;
    let per_tree = tree_nodes(LIVE_DEPTH) * node_cell::<M>();
    let trees = p.live_bytes.div_ceil(per_tree).max(1);
    let scope = h.open_scope();
    let live = h.alloc_array(array_ty, trees)?;
    let live = h.handle(&live)?;
    for i in 0..trees {
        let inner = h.open_scope();
        let t = bottom_up(h, node, LIVE_DEPTH)?;
        let a = h.get(live)?;
        h.set_ref(&a, i * Heap::<M>::SLOT, &h.get(t)?)?;
        h.close_scope(inner)?;
    }
    let live_bytes = h.collect()?.live_bytes;
    let before = (h.pauses().count(None), h.pauses().total(None));
    let full = Some(CollectionKind::Full);
    let before_full = (h.pauses().count(full), h.pauses().total(full));
    let per_garbage = tree_nodes(GARBAGE_DEPTH) * node_cell::<M>();
    for _ in 0..p.garbage_bytes.div_ceil(per_garbage) {
        let inner = h.open_scope();
        bottom_up(h, node, GARBAGE_DEPTH)?;
        h.close_scope(inner)?;
    }
    let (collections, gc) = (
        h.pauses().count(None) - before.0,
        h.pauses().total(None) - before.1,
    );
    let (full_collections, full_gc) = (
        h.pauses().count(full) - before_full.0,
        h.pauses().total(full) - before_full.1,
    );
    let mut forced = Vec::new();
    for _ in 0..p.forced_full.max(1) {
        forced.push(h.collect()?.pause);
    }
    forced.sort();
    let a = h.get(live)?;
    let mut found = 0;
    for i in 0..trees {
        found += u64::from(!h.get_ref(&a, i * Heap::<M>::SLOT)?.is_null());
    }
    h.close_scope(scope)?;
    Ok(LiveSweep {
        live_bytes,
        trees,
        trees_found: found,
        collections,
        gc,
        full_collections,
        full_gc,
        forced_full: forced[forced.len() / 2],
    })
}
