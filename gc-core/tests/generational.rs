//! The Generational plan: the shared semantics, and what only it has —
//! the write barrier and remembered set (I9), minor collections that
//! promote, and a nursery sized to a pause goal.

#[macro_use]
mod common;

use capability_heap::{Morello, Native, RefMode, SoftCheri};
use common::{data, heap};
use gc_core::{CollectionKind, Heap, HeapConfig, Plan};
use std::time::Duration;

semantics_for_plan!(Plan::Generational);

fn barrier<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::Generational);
    let old = h.alloc(node).unwrap();
    let po = h.persist(&old).unwrap();
    let s = h.collect_minor().unwrap();
    assert_eq!(s.kind, CollectionKind::Minor);
    assert!(
        s.bytes_promoted > 0,
        "survivors of a minor collection are promoted"
    );
    // `old` is promoted now; store a young object in it.
    let young = h.alloc(node).unwrap();
    h.write::<u64>(&young, data::<M>(), 9).unwrap();
    let old = h.get_persistent(po).unwrap();
    h.set_ref(&old, Heap::<M>::ref_offset(1), &young).unwrap();
    h.verify().expect("I9: the barrier remembered the slot");
    let s = h.collect_minor().unwrap();
    assert_eq!(s.kind, CollectionKind::Minor);
    assert!(
        s.objects_copied >= 1,
        "young object promoted via the remembered set"
    );
    let old = h.get_persistent(po).unwrap();
    let y = h.get_ref(&old, Heap::<M>::ref_offset(1)).unwrap();
    assert_eq!(h.read::<u64>(&y, data::<M>()), Ok(9));
    h.verify().unwrap();
}

/// The nursery follows the pause goal: one no collection can meet shrinks
/// it to the 128 KiB minimum after the first minor collection that copies
/// enough, a generous one grows it (at most twofold per collection) to
/// `nursery_size`; without a goal it stays put; a `nursery_size` below
/// the floor is never exceeded.
fn nursery_follows_pause_goal<M: RefMode>() {
    let run = |max: u64, goal: Option<Duration>| -> (u64, u64) {
        let mut h = Heap::<M>::new(HeapConfig {
            nursery_size: max,
            pause_goal: goal,
            limit: 64 << 20,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(2, 8).unwrap();
        let first = h.stats().nursery_bytes;
        // A list that only grows: every minor collection copies all that
        // was allocated since the last one.
        let head = h.alloc(node).unwrap();
        let keep = h.handle(&head).unwrap();
        for i in 0..200_000u64 {
            let n = h.alloc(node).unwrap();
            let prev = h.get(keep).unwrap();
            h.set_ref(&n, Heap::<M>::ref_offset(0), &prev).unwrap();
            h.write::<u64>(&n, data::<M>(), i).unwrap();
            h.set_handle(keep, &n).unwrap();
        }
        h.verify().unwrap();
        (first, h.stats().nursery_bytes)
    };
    let (tiny, generous) = (Duration::from_nanos(1), Duration::from_secs(10));
    assert_eq!(run(2 << 20, Some(tiny)), (256 << 10, 128 << 10));
    assert_eq!(run(2 << 20, Some(generous)), (256 << 10, 2 << 20));
    assert_eq!(run(2 << 20, None), (2 << 20, 2 << 20));
    // A maximum below the 128 KiB floor is kept whatever the goal.
    assert_eq!(run(64 << 10, Some(tiny)), (64 << 10, 64 << 10));
    assert_eq!(run(64 << 10, Some(generous)), (64 << 10, 64 << 10));
}

#[test]
fn nursery_follows_pause_goal_native() {
    nursery_follows_pause_goal::<Native>();
}
#[test]
fn nursery_follows_pause_goal_morello() {
    nursery_follows_pause_goal::<SoftCheri<Morello>>();
}

#[test]
fn barrier_native() {
    barrier::<Native>();
}
#[test]
fn barrier_morello() {
    barrier::<SoftCheri<Morello>>();
}

/// Stores that need no barrier record nothing: young into young, old into
/// old, null; a full collection rebuilds the set from what it traces.
fn barrier_records_only_old_to_young<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::Generational);
    let old = h.alloc_pinned(node).unwrap();
    let ho = h.handle(&old).unwrap();
    let old2 = h.alloc_pinned(node).unwrap();
    let y1 = h.alloc(node).unwrap();
    let hy = h.handle(&y1).unwrap();
    let y2 = h.alloc(node).unwrap();
    let (old, y1) = (h.get(ho).unwrap(), h.get(hy).unwrap());
    h.set_ref(&y1, 0, &y2).unwrap();
    h.set_ref(&old, 0, &old2).unwrap();
    h.set_ref(&old, Heap::<M>::ref_offset(1), &gc_core::ObjRef::null())
        .unwrap();
    h.verify().unwrap();
    // A young object kept only by a young one survives a minor collection
    // through the handle; the old-to-old link needs no remembering.
    let s = h.collect_minor().unwrap();
    assert_eq!(s.objects_copied, 2);
    h.collect().unwrap();
    h.verify().unwrap();
}

#[test]
fn barrier_records_only_old_to_young_native() {
    barrier_records_only_old_to_young::<Native>();
}
#[test]
fn barrier_records_only_old_to_young_morello() {
    barrier_records_only_old_to_young::<SoftCheri<Morello>>();
}

/// A Generational heap with no pause goal, 256 KiB initial and a 64 MiB
/// limit, the given `nursery_size` (fixed, or following the live heap),
/// and a two-reference node type.
fn generational_heap<M: RefMode>(
    nursery_size: u64,
    follows_live: bool,
) -> (Heap<M>, gc_core::TypeId) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan: Plan::Generational,
        initial_size: 256 << 10,
        nursery_size,
        pause_goal: None,
        nursery_follows_live: follows_live,
        limit: 64 << 20,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap();
    let node = h.record_type(2, 8).unwrap();
    (h, node)
}

/// A nursery that survives whole (a young data structure being built,
/// GCBench's stretch tree) is promoted by a minor collection without a
/// full collection right behind it, although the promoted bytes exceed
/// `initial_size`: the full trigger is at least live + `nursery_size`.
/// A later full collection still runs and frees it once it is dead.
fn a_promoted_nursery_starts_no_full_collection<M: RefMode>() {
    let (mut h, node) = generational_heap::<M>(1 << 20, false);
    let first = h.alloc(node).unwrap();
    let head = h.handle(&first).unwrap();
    while h.stats().collections == 0 {
        let n = h.alloc(node).unwrap();
        let prev = h.get(head).unwrap();
        h.set_ref(&n, Heap::<M>::ref_offset(0), &prev).unwrap();
        h.set_handle(head, &n).unwrap();
    }
    let s = h.stats();
    let last = s.last.expect("a collection ran");
    assert_eq!(last.kind, CollectionKind::Minor);
    assert!(
        last.bytes_promoted > 256 << 10,
        "the chain was promoted: {} bytes",
        last.bytes_promoted
    );
    assert_eq!(s.collections, 1, "no full collection after the minor one");
    h.verify().unwrap();
    // The chain dies; a full collection frees it.
    h.set_handle(head, &gc_core::ObjRef::null()).unwrap();
    let full = h.collect().unwrap();
    assert!(full.bytes_freed >= last.bytes_promoted);
    h.verify().unwrap();
}

#[test]
fn a_promoted_nursery_starts_no_full_collection_native() {
    a_promoted_nursery_starts_no_full_collection::<Native>();
}

#[test]
fn a_promoted_nursery_starts_no_full_collection_morello() {
    a_promoted_nursery_starts_no_full_collection::<SoftCheri<Morello>>();
}

/// A 4 MiB `nursery_size` heap whose nursery follows the live heap (the
/// throughput preset's policy, `HeapConfig::nursery_follows_live`) or not.
fn follows_live_heap<M: RefMode>(follows: bool) -> (Heap<M>, gc_core::TypeId) {
    generational_heap::<M>(4 << 20, follows)
}

/// The bytes one `node` takes in the heap, measured by allocating one.
fn node_bytes<M: RefMode>(h: &mut Heap<M>, node: gc_core::TypeId) -> u64 {
    let before = h.stats().bytes_allocated;
    h.alloc(node).unwrap();
    h.stats().bytes_allocated - before
}

/// A list of `n` nodes kept by a handle; returns the handle.
fn live_list<M: RefMode>(h: &mut Heap<M>, node: gc_core::TypeId, n: u64) -> gc_core::Handle {
    let first = h.alloc(node).unwrap();
    let head = h.handle(&first).unwrap();
    for _ in 1..n {
        let x = h.alloc(node).unwrap();
        let prev = h.get(head).unwrap();
        h.set_ref(&x, Heap::<M>::ref_offset(0), &prev).unwrap();
        h.set_handle(head, &x).unwrap();
    }
    head
}

/// The nursery follows the live heap: half of what survived the last
/// full collection, in whole blocks, between half of `nursery_size` and
/// `nursery_size` — it starts at the floor, grows with a live heap,
/// stops at the maximum and shrinks back when the heap empties.
fn nursery_follows_live<M: RefMode>() {
    const BLOCK: u64 = 64 << 10;
    let (mut h, node) = follows_live_heap::<M>(true);
    let expected = |live: u64| ((live / 2) / BLOCK * BLOCK).clamp(2 << 20, 4 << 20);
    assert_eq!(h.stats().nursery_bytes, 2 << 20, "the floor at first");
    // About 5 MiB live: a 2.5 MiB nursery.
    let cell = node_bytes(&mut h, node);
    let list = live_list(&mut h, node, (5 << 20) / cell);
    let c = h.collect().unwrap();
    assert!(
        c.live_bytes > 4 << 20 && c.live_bytes < 6 << 20,
        "{}",
        c.live_bytes
    );
    assert_eq!(h.stats().nursery_bytes, expected(c.live_bytes));
    assert!(h.stats().nursery_bytes > 2 << 20 && h.stats().nursery_bytes < 4 << 20);
    // Allocating and collecting minor keeps the size: no full collection
    // has measured the live heap again.
    for _ in 0..3 {
        h.collect_minor().unwrap();
        assert_eq!(h.stats().nursery_bytes, expected(c.live_bytes));
    }
    // Twelve MiB live: the maximum.
    let big = live_list(&mut h, node, (12 << 20) / cell);
    let c = h.collect().unwrap();
    assert!(c.live_bytes > 16 << 20);
    assert_eq!(h.stats().nursery_bytes, 4 << 20);
    h.verify().unwrap();
    // Everything dies: back to the floor.
    for hd in [list, big] {
        h.set_handle(hd, &gc_core::ObjRef::null()).unwrap();
    }
    let c = h.collect().unwrap();
    assert!(c.live_bytes < 1 << 20);
    assert_eq!(h.stats().nursery_bytes, 2 << 20);
    h.verify().unwrap();
}

#[test]
fn nursery_follows_live_native() {
    nursery_follows_live::<Native>();
}
#[test]
fn nursery_follows_live_morello() {
    nursery_follows_live::<SoftCheri<Morello>>();
}

/// The footprint a small live heap pays for its nursery: the blocks in
/// use at the peak of a long run of short-lived garbage over 256 KiB of
/// live data stay under twice `nursery_size` (nursery and quarantine at
/// half of it, plus the mature space) when the nursery follows the live
/// heap; a fixed nursery takes at least twice its size.
fn small_live_heap_footprint<M: RefMode>() {
    let peak = |follows: bool| {
        let (mut h, node) = follows_live_heap::<M>(follows);
        let keep = live_list(&mut h, node, 8 << 10);
        let scratch = h.handle(&gc_core::ObjRef::null()).unwrap();
        for i in 0..1_000_000u64 {
            // Short lists: each dies when the next one starts.
            let x = h.alloc(node).unwrap();
            if i % 64 != 0 {
                let prev = h.get(scratch).unwrap();
                h.set_ref(&x, Heap::<M>::ref_offset(0), &prev).unwrap();
            }
            h.set_handle(scratch, &x).unwrap();
        }
        assert!(h.stats().collections > 4, "the run collected");
        h.verify().unwrap();
        let _ = keep;
        h.stats().peak_heap_bytes
    };
    let (follows, fixed) = (peak(true), peak(false));
    assert!(follows < 8 << 20, "following the live heap: peak {follows}");
    assert!(fixed >= 8 << 20, "a fixed 4 MiB nursery: peak {fixed}");
}

#[test]
fn small_live_heap_footprint_native() {
    small_live_heap_footprint::<Native>();
}
#[test]
fn small_live_heap_footprint_morello() {
    small_live_heap_footprint::<SoftCheri<Morello>>();
}

/// On a heap large against its nursery, `live × growth_factor` bounds the
/// whole footprint — mature space, nursery and the quarantine of its last
/// evacuation — not the mature space alone (`Pacer::trigger_for`): with
/// 8 MiB live and a 1 MiB nursery, a long run of young lists that each
/// survive one minor collection and then die (promoted garbage) keeps the
/// blocks in use under 2 × live + 1 MiB (one minor collection's
/// promotion past the trigger); the mature space alone at 2 × live, with
/// the nursery and its quarantine beside it, would be 2 × live + 3 MiB.
fn footprint_within_growth_factor<M: RefMode>() {
    let (mut h, node) = generational_heap::<M>(1 << 20, false);
    let cell = node_bytes(&mut h, node);
    let _keep = live_list(&mut h, node, (8 << 20) / cell);
    let live = h.collect().unwrap().live_bytes;
    let fulls_before = h.pauses().count(Some(CollectionKind::Full));
    for _ in 0..200 {
        // About 600 KiB of list: caught by a minor collection half built
        // and promoted, dead once the next one starts.
        let l = live_list(&mut h, node, (600 << 10) / cell);
        h.set_handle(l, &gc_core::ObjRef::null()).unwrap();
    }
    assert!(
        h.pauses().count(Some(CollectionKind::Full)) > fulls_before + 2,
        "promoted garbage started full collections"
    );
    h.verify().unwrap();
    let peak = h.stats().peak_heap_bytes;
    assert!(
        peak <= 2 * live + (1 << 20),
        "peak {peak} over 2 × live {live} + 1 MiB"
    );
}

#[test]
fn footprint_within_growth_factor_native() {
    footprint_within_growth_factor::<Native>();
}
#[test]
fn footprint_within_growth_factor_morello() {
    footprint_within_growth_factor::<SoftCheri<Morello>>();
}
