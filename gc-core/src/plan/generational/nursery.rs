//! Nursery sizing: to a minor-pause goal ([`crate::HeapConfig::pause_goal`]),
//! or to the live heap ([`crate::HeapConfig::nursery_follows_live`]).
//!
//! **Pause goal.**
//! After each minor collection that copied enough to say something, the
//! collector updates a moving average of what evacuating a surviving byte
//! costs, and sets the nursery to half the goal's worth of bytes (a
//! nursery in which everything survives then takes about half the goal),
//! between 128 KiB and [`crate::HeapConfig::nursery_size`], changing it at
//! most twofold per step — G1's young-generation sizing, in small. The
//! first nursery is 256 KiB.
//!
//! **Live heap** ([`for_live`]). A nursery costs twice its size in
//! resident memory: its blocks, and the quarantine of its last evacuation
//! (`policy/copy_space.rs`), which is not reused until the next
//! collection. A fixed 16 MiB nursery thus put 32 MiB on top of an 8 MiB
//! live heap (GCBench: peak RSS 1.7× bdwgc's). Following the live heap,
//! the nursery is half of it — nursery and quarantine together one live
//! heap — between half the configured size and the configured size. The
//! floor is there because minor collections have a cost per collection
//! (each copies what is live in the young data structure being built, and
//! roots are scanned each time): binary-trees 14, whose live heap is
//! under 1 MiB, takes 906 M instructions with a 2 MiB nursery, 844 M with
//! 8 MiB and 819 M with 16 MiB. The mature space's trigger counts the
//! nursery in force (`Pacer::trigger_for`). Rejected: decommitting the
//! quarantine (`madvise`): the next nursery is taken from it, so every
//! minor collection would fault a nursery's worth of pages back in: on
//! the measuring machine (a 2-vCPU VM) 14.5 ms per 8 MiB faulted in
//! after `MADV_DONTNEED`, against 0.4 ms to `memset` them, a minor
//! collection's worth of time and more; and shortening the quarantine,
//! which is what keeps a stale reference from reaching a reused block.

use crate::config::HeapConfig;
use crate::policy::block::BLOCK;
use crate::policy::Arena;
use capability_heap::RefMode;
use std::time::Duration;

/// The first nursery when it is sized to a pause goal.
const FIRST_NURSERY: u64 = 256 << 10;

/// Nursery bytes per live byte when the nursery follows the live heap.
const NURSERY_PER_LIVE: f64 = 0.5;

/// The nursery a new heap starts with.
pub(crate) fn first_size(config: &HeapConfig) -> u64 {
    match config.pause_goal {
        Some(_) => config.nursery_size.min(FIRST_NURSERY),
        None if config.nursery_follows_live => for_live(config, 0),
        None => config.nursery_size,
    }
}

/// True when the nursery follows the live heap ([`for_live`]).
pub(crate) fn follows_live(config: &HeapConfig) -> bool {
    config.nursery_follows_live && config.pause_goal.is_none()
}

/// The nursery for `live` bytes of mature data
/// ([`crate::HeapConfig::nursery_follows_live`]): half of it, between
/// half of `nursery_size` (at least a block) and `nursery_size`.
pub(crate) fn for_live(config: &HeapConfig, live: u64) -> u64 {
    let max = config.nursery_size.max(BLOCK);
    let floor = (max / 2).max(BLOCK);
    ((live as f64 * NURSERY_PER_LIVE) as u64).clamp(floor, max)
}

/// The measured cost of evacuation.
#[derive(Default)]
pub(crate) struct NurserySizer {
    /// Moving average of a minor collection's cost per byte evacuated
    /// (nanoseconds).
    evac_ns_per_byte: Option<f64>,
}

impl NurserySizer {
    /// Resizes the nursery after a minor collection that copied `copied`
    /// bytes in `pause`.
    pub(crate) fn resize<M: RefMode>(
        &mut self,
        arena: &mut Arena<M>,
        config: &HeapConfig,
        copied: u64,
        pause: Duration,
        goal: Duration,
    ) {
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
        let (Some(cost), Some(now)) = (self.evac_ns_per_byte, arena.nursery_max()) else {
            return;
        };
        let want = (goal.as_nanos() as f64 * SHARE_OF_GOAL / cost.max(1e-3)) as u64;
        let max = config.nursery_size;
        let next = want
            .clamp(now / 2, now.saturating_mul(2))
            .clamp(MIN_NURSERY.min(max), max);
        arena.set_nursery_max(next);
    }
}
