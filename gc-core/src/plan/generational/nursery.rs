//! Nursery sizing to a minor-pause goal ([`crate::HeapConfig::pause_goal`]).
//!
//! After each minor collection that copied enough to say something, the
//! collector updates a moving average of what evacuating a surviving byte
//! costs, and sets the nursery to half the goal's worth of bytes (a
//! nursery in which everything survives then takes about half the goal),
//! between 128 KiB and [`crate::HeapConfig::nursery_size`], changing it at
//! most twofold per step — G1's young-generation sizing, in small. The
//! first nursery is 256 KiB.

use crate::config::HeapConfig;
use crate::policy::block::BLOCK;
use crate::policy::Arena;
use capability_heap::RefMode;
use std::time::Duration;

/// The first nursery when it is sized to a pause goal.
const FIRST_NURSERY: u64 = 256 << 10;

/// The nursery a new heap starts with.
pub(crate) fn first_size(config: &HeapConfig) -> u64 {
    match config.pause_goal {
        Some(_) => config.nursery_size.min(FIRST_NURSERY),
        None => config.nursery_size,
    }
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
