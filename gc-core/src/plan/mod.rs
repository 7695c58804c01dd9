//! The collectors (plans), over the spaces of `policy/`.
//!
//! | plan | allocation | collection |
//! |---|---|---|
//! | [`marksweep`] | size-class cells, large-object space | mark from roots, sweep |
//! | [`semispace`] | bump in the copy space; large and pinned objects in the mark-sweep space | evacuate the copy space into fresh blocks, mark and sweep the rest |
//! | [`generational`] | bump in the nursery; large and pinned objects in the mature (mark-sweep) space | minor: evacuate the nursery into the mature space from roots + remembered set; full: the same, then mark and sweep |
//!
//! What differs between plans is said once: the [`constraints`] table
//! (MMTk's `PlanConstraints`), read by allocation, the write barrier and
//! the verifier, and one `collect` per plan, chosen by the one dispatch in
//! [`Heap::run_collection`]. Pacing (when to collect, how the heap grows)
//! is here too, written once for every plan.

pub(crate) mod generational;
mod marksweep;
mod semispace;

use crate::config::{HeapConfig, Plan, ScanStrategy};
use crate::policy::evacuate::EvacResult;
use crate::policy::marksweep_space::SweepResult;
use crate::policy::Arena;
use crate::roots::Roots;
use crate::stats::{log_line, CollectionKind, CollectionStats};
use crate::types::{Types, YoungCell};
use crate::weak::WeakTables;
use crate::{GcError, Heap};
use capability_heap::{Address, CapFault, PayloadLayout, RefMode};
use generational::Generational;
use std::time::Instant;

/// What a plan needs from the rest of the heap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PlanConstraints {
    /// Objects move: small unpinned objects are bump-allocated in the copy
    /// space and evacuated.
    pub(crate) moves_objects: bool,
    /// The copy space is a bounded nursery with minor collections, and
    /// the collection trigger counts the mature space only.
    pub(crate) nursery: bool,
    /// Reference stores need the generational write barrier (I9).
    pub(crate) barrier: bool,
}

/// The constraints of each plan.
pub(crate) const fn constraints(plan: Plan) -> PlanConstraints {
    match plan {
        Plan::MarkSweep => PlanConstraints {
            moves_objects: false,
            nursery: false,
            barrier: false,
        },
        Plan::SemiSpace => PlanConstraints {
            moves_objects: true,
            nursery: false,
            barrier: false,
        },
        Plan::Generational => PlanConstraints {
            moves_objects: true,
            nursery: true,
            barrier: true,
        },
    }
}

/// A heap's plan and its own state.
pub(crate) enum PlanState {
    MarkSweep,
    SemiSpace,
    Generational(Generational),
}

impl PlanState {
    pub(crate) fn new(config: &HeapConfig) -> PlanState {
        match config.plan {
            Plan::MarkSweep => PlanState::MarkSweep,
            Plan::SemiSpace => PlanState::SemiSpace,
            Plan::Generational => PlanState::Generational(Generational::default()),
        }
    }

    /// The copy space's first bound: the nursery, if the plan has one.
    pub(crate) fn first_nursery(&self, config: &HeapConfig) -> Option<u64> {
        match self {
            PlanState::Generational(_) => Some(generational::nursery::first_size(config)),
            _ => None,
        }
    }
}

/// When the next collection runs.
pub(crate) struct Pacer {
    /// Bytes in use (the mature space's, with a nursery) at which the next
    /// full collection starts.
    pub(crate) trigger: u64,
    /// Bytes in the mark-sweep space (mature and large objects).
    mature_bytes: u64,
    /// What survived the last full collection (the mature space's live
    /// bytes with a nursery); `None` before the first.
    last_live: Option<u64>,
}

impl Pacer {
    pub(crate) fn new(config: &HeapConfig) -> Pacer {
        let nursery = generational::nursery::first_size(config);
        Pacer {
            trigger: Pacer::trigger_for(config, 0, nursery),
            mature_bytes: 0,
            last_live: None,
        }
    }

    /// The live mature data a nursery that follows the live heap is sized
    /// to: what survived the last full collection, or before the first,
    /// everything in the mature space (an upper bound).
    fn live_estimate(&self) -> u64 {
        self.last_live.unwrap_or(self.mature_bytes)
    }

    /// The full-collection trigger for `live` bytes surviving the last full
    /// collection (0 before the first): live × growth factor, at least
    /// `initial_size` and one block, at most `limit`. With a
    /// nursery the trigger counts the mature space, and one minor
    /// collection can promote a whole nursery (`nursery` bytes, the size
    /// in force) into it; so the trigger is
    /// also at least `live + nursery`, or a nursery surviving whole
    /// (GCBench's stretch tree, any young data structure being built) would
    /// start a full collection at once that traces what was just promoted.
    /// The trade-off: the mature space may hold up to one nursery of
    /// garbage more before a full collection finds it.
    ///
    /// With a nursery, `live × growth factor` bounds the whole footprint,
    /// not the mature space alone: the nursery and the quarantine of its
    /// last evacuation (two nurseries, resident beside the mature space)
    /// come out of it, so the mature space's share is `live × growth
    /// factor − 2 × nursery` (still at least `live + nursery`). On a large
    /// heap this is what sets the peak (binary-trees 21: a full
    /// collection at 2 × 184 MiB of mature space, plus 32 MiB of nursery).
    fn trigger_for(config: &HeapConfig, live: u64, nursery: u64) -> u64 {
        let grown = (live as f64 * config.growth_factor) as u64;
        let with_nursery = constraints(config.plan).nursery;
        let grown = if with_nursery {
            grown.saturating_sub(nursery.saturating_mul(2))
        } else {
            grown
        };
        let mut t = grown
            .max(config.initial_size)
            .max(crate::policy::block::BLOCK);
        if with_nursery {
            t = t.max(live.saturating_add(nursery));
        }
        t.min(config.limit)
    }
}

/// The parts of a heap a collection works on.
pub(crate) struct Parts<'a, M: RefMode> {
    pub(crate) arena: &'a mut Arena<M>,
    pub(crate) types: &'a Types,
    pub(crate) roots: &'a mut Roots<M>,
    pub(crate) weak: &'a mut WeakTables<M>,
    pub(crate) scan: ScanStrategy,
    /// Zeal's `move-all`: every movable object moves (Generational does
    /// not promote; the other plans ignore it).
    pub(crate) move_all: bool,
}

/// What one plan's collection did.
#[derive(Default)]
pub(crate) struct Outcome {
    /// The sweep of the mark-sweep space, if there was one, with the live
    /// objects outside it (copies, objects kept in place) counted in.
    pub(crate) swept: Option<SweepResult>,
    pub(crate) evac: EvacResult,
    /// A trace callback panicked: the heap must be poisoned.
    pub(crate) panicked: bool,
}

impl<M: RefMode> Heap<M> {
    /// Runs a full collection now. Every [`crate::ObjRef`] obtained before
    /// it is stale afterwards.
    pub fn collect(&mut self) -> Result<CollectionStats, GcError> {
        self.usable()?;
        self.run_collection(CollectionKind::Full)
    }

    /// Runs a minor (nursery) collection in the Generational plan, a full
    /// one in the others. Every [`crate::ObjRef`] obtained before it is
    /// stale afterwards.
    pub fn collect_minor(&mut self) -> Result<CollectionStats, GcError> {
        self.usable()?;
        if !self.constraints.nursery {
            return self.run_collection(CollectionKind::Full);
        }
        let c = self.run_collection(CollectionKind::Minor)?;
        if self.pacer.mature_bytes > self.pacer.trigger {
            return self.run_collection(CollectionKind::Full);
        }
        Ok(c)
    }

    fn run_collection(&mut self, kind: CollectionKind) -> Result<CollectionStats, GcError> {
        let start = Instant::now();
        self.stats.fold_young();
        let before = self.stats.totals.bytes_in_use;
        // A buffer still lent (a caller that did not take it back first)
        // is forgotten: nothing placed in it is adopted later, so no
        // reclaim can reach into memory this collection evacuates.
        self.fast.lent = None;
        // The fast path's shadow stack: every entry validated before
        // anything changes, or no collection (`fast.rs`).
        if let Err(e) = self.shadow_import() {
            self.fast.refused = Some(e.clone());
            return Err(e);
        }
        self.fast.refused = None;
        // A new epoch: every reference handed out before is stale.
        self.arena.set_stamp(crate::heap::fresh_stamp());
        let checks_before = self.stats.checks.get();
        let parts = Parts {
            arena: &mut self.arena,
            types: &self.types,
            roots: &mut self.roots,
            weak: &mut self.weak,
            scan: self.config.scan,
            move_all: self.zeal.opts.move_all,
        };
        let out = match &mut self.plan {
            PlanState::MarkSweep => marksweep::collect(parts),
            PlanState::SemiSpace => semispace::collect(parts),
            PlanState::Generational(g) => g.collect(parts, kind),
        };
        let mut c = CollectionStats {
            kind,
            bytes_copied: out.evac.bytes_copied,
            bytes_promoted: out.evac.promoted,
            objects_copied: out.evac.objects_copied,
            caps_derived: out.evac.caps_derived,
            ..CollectionStats::default()
        };
        let pacer = &mut self.pacer;
        match out.swept {
            Some(r) => {
                pacer.mature_bytes = r.live_bytes;
                c.live_objects = r.live_objects;
                c.objects_freed = r.freed_objects;
            }
            None => {
                pacer.mature_bytes += out.evac.promoted;
                c.live_objects = out.evac.objects_copied + out.evac.kept_in_place;
            }
        }
        let totals = &mut self.stats.totals;
        totals.bytes_in_use = pacer.mature_bytes + self.arena.copy_bytes();
        if out.swept.is_some() {
            // Growth policy: the next full collection when the heap (the
            // mature space, with a nursery) holds growth_factor × live.
            let live = if self.constraints.nursery {
                pacer.mature_bytes
            } else {
                totals.bytes_in_use
            };
            pacer.last_live = Some(live);
        }
        if self.constraints.nursery && generational::nursery::follows_live(&self.config) {
            let n = generational::nursery::for_live(&self.config, pacer.live_estimate());
            self.arena.set_nursery_max(n);
        }
        if out.swept.is_some() {
            let nursery = self.arena.nursery_max().unwrap_or(0);
            pacer.trigger = Pacer::trigger_for(&self.config, pacer.live_estimate(), nursery);
        }
        c.bytes_before = before;
        c.bytes_after = totals.bytes_in_use;
        c.bytes_freed = before.saturating_sub(c.bytes_after);
        c.live_bytes = totals.bytes_in_use;
        c.checks = self.stats.checks.get() - checks_before;
        c.pause = start.elapsed();
        c.number = totals.collections + 1;
        totals.collections += 1;
        // The shadow stack back to the caller, in the new epoch.
        self.shadow_export();
        let totals = &mut self.stats.totals;
        totals.caps_derived += c.caps_derived;
        totals.bytes_copied += c.bytes_copied;
        totals.total_pause += c.pause;
        totals.max_pause = totals.max_pause.max(c.pause);
        totals.heap_bytes = u64::from(self.arena.blocks_in_use()) * crate::policy::block::BLOCK;
        if let (PlanState::Generational(g), CollectionKind::Minor) = (&mut self.plan, kind) {
            if let Some(goal) = self.config.pause_goal {
                g.nursery
                    .resize(&mut self.arena, &self.config, c.bytes_copied, c.pause, goal);
            }
        }
        totals.nursery_bytes = self.arena.nursery_max().unwrap_or(0);
        totals.last = Some(c);
        self.stats.pauses.record(kind, c.pause);
        if self.config.log {
            let k = match kind {
                CollectionKind::Minor => "minor",
                CollectionKind::Full => "full",
            };
            eprintln!("{}", log_line(self.config.plan.name(), k, M::NAME, &c));
        }
        if out.panicked {
            self.poison();
            return Err(GcError::Poisoned);
        }
        if self.zeal.opts.verify {
            self.zeal_verify(&c)?;
        }
        Ok(c)
    }

    /// Zeal's `verify`: the heap verifier after collection `c`. A
    /// violation is heap corruption (usually a VM's missing root): every
    /// violation is printed on stderr, the heap is poisoned, and this and
    /// every later call is refused with [`GcError::HeapCorrupt`].
    #[cold]
    fn zeal_verify(&mut self, c: &CollectionStats) -> Result<(), GcError> {
        let Err(violations) = self.verify() else {
            return Ok(());
        };
        let e = GcError::HeapCorrupt {
            collection: c.number,
            violations: violations.len(),
        };
        eprintln!(
            "capgc zeal: heap verification failed ({}, {}): {e}; all of them:",
            self.config.plan.name(),
            M::NAME
        );
        for v in &violations {
            eprintln!("capgc zeal:   {v:?}");
        }
        self.zeal.corrupt = Some(e.clone());
        self.poison();
        Err(e)
    }

    /// A payload address for a new object of `layout`: the plan's space
    /// for it, collecting first when the pacing says so or the space is
    /// full (a safepoint). `None` when the heap limit refuses it even
    /// after a full collection.
    #[inline(always)]
    pub(crate) fn place(&mut self, layout: PayloadLayout, pinned: bool) -> Option<Address> {
        if self.constraints.moves_objects && !pinned && self.arena.copy_fits(layout) {
            self.place_copy(layout)
        } else {
            self.place_mature(layout)
        }
    }

    /// The allocation fast path of the moving plans ([`Heap::alloc`]): a
    /// new object of a type's precomputed young cell in the copy space's
    /// current block. `None` sends the caller to the slow path, which takes
    /// a block or collects (and refuses a poisoned heap: poisoning closes
    /// the block). SemiSpace, whose pacing decides per object, checks the
    /// trigger first.
    #[inline(always)]
    pub(crate) fn place_young(&mut self, y: YoungCell) -> Option<Result<M::Ref, CapFault>> {
        let stats = &self.stats;
        if !self.constraints.nursery
            && (self.poisoned
                || stats.totals.bytes_in_use + stats.young_bytes + y.cell > self.pacer.trigger)
        {
            return None;
        }
        let raw = self.arena.alloc_young(y.cell, y.stored, y.padded)?;
        let stats = &mut self.stats;
        stats.totals.objects_allocated += 1;
        stats.totals.caps_derived += u64::from(M::CHECKED);
        // `bytes_in_use` and `bytes_allocated` take these in later
        // (`Stats::fold_young`): one add here instead of two.
        stats.young_bytes += y.cell;
        Some(raw)
    }

    /// MarkSweep's allocation fast path ([`Heap::alloc`]): the next free
    /// cell of the type's size class in its current block, when the pacing
    /// would not collect first and the heap is usable. `None` sends the
    /// caller to the slow path (another block, a collection, the error).
    #[inline(always)]
    pub(crate) fn place_small(&mut self, y: YoungCell) -> Option<Result<M::Ref, CapFault>> {
        let (class, bytes) = y.class?;
        let totals = &self.stats.totals;
        if self.constraints.moves_objects
            || self.poisoned
            || totals.bytes_in_use + bytes > self.pacer.trigger
        {
            return None;
        }
        let raw = self.arena.alloc_small_fast(class, y.stored, y.padded)?;
        let totals = &mut self.stats.totals;
        totals.objects_allocated += 1;
        totals.caps_derived += u64::from(M::CHECKED);
        totals.bytes_in_use += bytes;
        totals.bytes_allocated += bytes;
        self.pacer.mature_bytes += bytes;
        Some(raw)
    }

    /// A cell in the copy space (nursery or semispace).
    #[inline(always)]
    fn place_copy(&mut self, layout: PayloadLayout) -> Option<Address> {
        let cell = self.arena.copy_cell(layout);
        self.stats.fold_young();
        let semispace = !self.constraints.nursery;
        if semispace && self.stats.totals.bytes_in_use + cell > self.pacer.trigger {
            let _ = self.collect();
        }
        let p = match self.arena.alloc_copy(cell) {
            Some(p) => p,
            None => self.place_copy_slow(cell)?,
        };
        self.stats.totals.bytes_in_use += cell;
        self.stats.totals.bytes_allocated += cell;
        Some(p)
    }

    /// The copy space is full: a minor collection (full in SemiSpace), then
    /// a full one.
    #[inline(never)]
    fn place_copy_slow(&mut self, cell: u64) -> Option<Address> {
        let _ = self.collect_minor();
        if let Some(p) = self.arena.alloc_copy(cell) {
            return Some(p);
        }
        let _ = self.collect();
        self.arena.alloc_copy(cell)
    }

    /// The mark-sweep space is full: a full collection, then again.
    #[inline(never)]
    fn place_mature_slow(&mut self, place: crate::policy::MatureCell) -> Option<Address> {
        let _ = self.collect();
        self.arena.alloc_mature(place)
    }

    /// A cell (or run of blocks) in the mark-sweep space.
    #[inline(always)]
    fn place_mature(&mut self, layout: PayloadLayout) -> Option<Address> {
        let place = self.arena.mature_cell(layout)?;
        let cell = place.bytes();
        self.stats.fold_young();
        let used = if self.constraints.nursery {
            self.pacer.mature_bytes
        } else {
            self.stats.totals.bytes_in_use
        };
        if used + cell > self.pacer.trigger {
            let _ = self.collect();
        }
        let p = match self.arena.alloc_mature(place) {
            Some(p) => p,
            None => self.place_mature_slow(place)?,
        };
        self.stats.totals.bytes_in_use += cell;
        self.stats.totals.bytes_allocated += cell;
        self.pacer.mature_bytes += cell;
        Some(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_says_what_each_plan_needs() {
        assert!(!Plan::MarkSweep.moves());
        assert!(Plan::SemiSpace.moves() && Plan::Generational.moves());
        for p in Plan::ALL {
            let c = constraints(p);
            assert_eq!(
                c.barrier, c.nursery,
                "{p:?}: a barrier exactly with a nursery"
            );
            assert!(!c.nursery || c.moves_objects);
        }
    }
}
