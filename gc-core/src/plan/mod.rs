//! The collectors. One module per plan over shared spaces:
//!
//! | plan | allocation | collection |
//! |---|---|---|
//! | MarkSweep | size-class cells, large-object space | mark from roots, sweep |
//! | SemiSpace | bump in the copy space; large and pinned objects in the mark-sweep space | evacuate the copy space into fresh blocks, mark and sweep the rest |
//! | Generational | bump in the nursery; large and pinned objects in the mature (mark-sweep) space | minor: evacuate the nursery into the mature space from roots + remembered set; full: the same, then mark and sweep |
//!
//! - [`marksweep`]: blocks, size classes, large objects, sweeping.
//! - [`copy_space`]: bump-allocated blocks, quarantine, retained blocks.
//! - [`evacuate`]: copying with forwarding and I8 re-derivation.

pub(crate) mod copy_space;
pub(crate) mod evacuate;
pub(crate) mod marksweep;

use self::evacuate::Target;
use self::marksweep::blocks::BLOCK;
use crate::config::Plan;
use crate::stats::{log_line, CollectionKind, CollectionStats};
use crate::Heap;
use capability_heap::RefMode;
use std::time::{Duration, Instant};

impl<M: RefMode> Heap<M> {
    /// Runs a full collection now. Every [`crate::ObjRef`] obtained before
    /// it is stale afterwards.
    pub fn collect(&mut self) -> CollectionStats {
        self.run_collection(CollectionKind::Full)
    }

    /// Runs a minor (nursery) collection in the Generational plan, a full
    /// one in the others. Every [`crate::ObjRef`] obtained before it is
    /// stale afterwards.
    pub fn collect_minor(&mut self) -> CollectionStats {
        let kind = match self.config.plan {
            Plan::Generational => CollectionKind::Minor,
            _ => CollectionKind::Full,
        };
        let c = self.run_collection(kind);
        if kind == CollectionKind::Minor && self.mature_bytes > self.trigger {
            return self.run_collection(CollectionKind::Full);
        }
        c
    }

    fn run_collection(&mut self, kind: CollectionKind) -> CollectionStats {
        let start = Instant::now();
        let before = self.stats.bytes_in_use;
        self.epoch = self.epoch.wrapping_add(1).max(1);
        let checks_before = self.checks.get();
        let mut c = CollectionStats {
            kind,
            ..CollectionStats::default()
        };
        let swept = match (self.config.plan, kind) {
            (Plan::MarkSweep, _) => {
                self.mark();
                Some(self.space.sweep(
                    &mut self.region,
                    &mut self.alloc_bits,
                    &mut self.mark_bits,
                    M::TAGGED,
                ))
            }
            (Plan::SemiSpace, _) | (Plan::Generational, CollectionKind::Full) => {
                let target = match self.config.plan {
                    Plan::SemiSpace => Target::CopySpace,
                    _ => Target::Mature,
                };
                let e = self.evacuate(target, true);
                c.bytes_copied = e.bytes_copied;
                c.bytes_promoted = e.promoted;
                c.objects_copied = e.objects_copied;
                c.caps_derived = e.caps_derived;
                let mut r = self.space.sweep(
                    &mut self.region,
                    &mut self.alloc_bits,
                    &mut self.mark_bits,
                    M::TAGGED,
                );
                // Survivors outside the swept space: semispace copies, and
                // pinned objects kept in copy-space blocks.
                r.live_objects += e.kept_in_place;
                if target == Target::CopySpace {
                    r.live_objects += e.objects_copied;
                }
                Some(r)
            }
            (Plan::Generational, CollectionKind::Minor) => {
                let e = self.evacuate(Target::Mature, false);
                c.bytes_copied = e.bytes_copied;
                c.objects_copied = e.objects_copied;
                c.caps_derived = e.caps_derived;
                self.mature_bytes += e.promoted;
                c.bytes_promoted = e.promoted;
                c.live_objects = e.objects_copied + e.kept_in_place;
                None
            }
        };
        let copy_bytes = self.copy.blocks_held() as u64 * BLOCK;
        if let Some(r) = &swept {
            self.mature_bytes = r.live_bytes;
            c.live_objects = r.live_objects;
            c.objects_freed = r.freed_objects;
        }
        self.stats.bytes_in_use = self.mature_bytes + copy_bytes;
        if swept.is_some() {
            // Growth policy: the next full collection when the heap (the
            // mature space, for Generational) holds growth_factor × live.
            let live = match self.config.plan {
                Plan::Generational => self.mature_bytes,
                _ => self.stats.bytes_in_use,
            };
            let grown = (live as f64 * self.config.growth_factor) as u64;
            self.trigger = grown.clamp(self.config.initial_size.max(BLOCK), self.config.limit);
        }
        c.bytes_before = before;
        c.bytes_after = self.stats.bytes_in_use;
        c.bytes_freed = before.saturating_sub(c.bytes_after);
        c.live_bytes = self.stats.bytes_in_use;
        c.checks = self.checks.get() - checks_before;
        c.pause = start.elapsed();
        c.number = self.stats.collections + 1;
        self.stats.collections += 1;
        self.stats.caps_derived += c.caps_derived;
        self.stats.bytes_copied += c.bytes_copied;
        self.stats.total_pause += c.pause;
        self.stats.max_pause = self.stats.max_pause.max(c.pause);
        self.stats.heap_bytes = u64::from(self.space.blocks_in_use()) * BLOCK;
        self.stats.peak_heap_bytes = self.stats.peak_heap_bytes.max(self.stats.heap_bytes);
        if kind == CollectionKind::Minor {
            if let Some(goal) = self.config.pause_goal {
                self.size_nursery(c.bytes_copied, c.pause, goal);
            }
        }
        self.stats.nursery_bytes = self.copy.max_bytes().unwrap_or(0);
        self.stats.last = Some(c);
        self.pauses.push((kind, c.pause));
        if self.config.log {
            let k = match kind {
                CollectionKind::Minor => "minor",
                CollectionKind::Full => "full",
            };
            eprintln!("{}", log_line(self.config.plan.name(), k, M::NAME, &c));
        }
        c
    }

    /// Sizes the nursery after a minor collection that copied `copied`
    /// bytes in `pause` so that a nursery in which everything survives
    /// would take about half of `goal` (see
    /// [`crate::HeapConfig::pause_goal`]).
    fn size_nursery(&mut self, copied: u64, pause: Duration, goal: Duration) {
        /// Share of the goal a whole-nursery evacuation is sized to: the
        /// cost estimate is an average and a pause has fixed parts too.
        const SHARE_OF_GOAL: f64 = 0.5;
        /// Collections that copied less are mostly fixed costs and say
        /// little about the cost per byte.
        const MIN_SAMPLE: u64 = 32 << 10;
        const MIN_NURSERY: u64 = 2 * BLOCK;
        if copied >= MIN_SAMPLE {
            let sample = pause.as_nanos() as f64 / copied as f64;
            self.evac_ns_per_byte = Some(match self.evac_ns_per_byte {
                Some(avg) => 0.75 * avg + 0.25 * sample,
                None => sample,
            });
        }
        let (Some(cost), Some(now)) = (self.evac_ns_per_byte, self.copy.max_bytes()) else {
            return;
        };
        let want = (goal.as_nanos() as f64 * SHARE_OF_GOAL / cost.max(1e-3)) as u64;
        let max = self.config.nursery_size;
        let next = want
            .clamp(now / 2, now.saturating_mul(2))
            .clamp(MIN_NURSERY.min(max), max);
        self.copy.set_max_bytes(next);
    }

    /// The kind and pause of every collection so far, in order.
    pub fn pauses(&self) -> &[(CollectionKind, std::time::Duration)] {
        &self.pauses
    }
}
