//! Incremental marking of the cell heap: [`CellHeap::start`] and
//! [`CellHeap::step`], so a VM's collection pauses are bounded by its
//! step budget instead of its live heap.
//!
//! A cycle is `start` (the roots are marked, nothing is traced), then any
//! number of `step`s with the mutator running and allocating between them
//! ([`CellPhase::Incremental`]), then [`CellHeap::begin`] — the atomic
//! phase: the roots are reported again and every cell still gray is
//! traced — then the VM's own phases and [`CellHeap::finish`], exactly as
//! in a stop-the-world cycle. Sweeping stays in `finish`: a pass over the
//! side bitmaps a word at a time plus one `release` call per dead cell.
//!
//! *The tri-colour invariant is the VM's.* Between steps the mutator may
//! store a pointer to a white (unmarked) cell into a cell already traced
//! (black). The VM must then run a write barrier — [`CellHeap::mark`] the
//! stored cell (a forward, Dijkstra barrier), or re-trace the black cell
//! in the atomic phase (a backward barrier: mark its pointers again after
//! `begin`, as Lua's `grayagain` list does). Memory the heap cannot see
//! (a VM's stacks, without barriers) is re-reported as roots by `begin`.
//!
//! *Allocation during marking is white.* A cell allocated during
//! incremental marking is unmarked: it survives the cycle only if the
//! atomic phase reaches it (from the roots, a re-traced cell or a barrier).
//! This is Lua's own rule (its `luaC_newobj` paints new objects white and
//! its barriers fire on stores of white objects into black ones), and it
//! keeps the cycle's floating garbage small; a VM whose barrier would not
//! cover new cells marks them itself, once they are initialised (a cell
//! is traced only after it is marked, never while still uninitialised).
//! The rejected alternative, allocating black, would have to trace an
//! uninitialised cell or keep every cell of the cycle alive.

use super::{CellHeap, CellPhase, CellVm};
use crate::GcError;
use std::time::{Duration, Instant};

impl CellHeap {
    /// Starts an incremental cycle: reports the VM's roots and marks them
    /// (nothing is traced yet). Then [`CellHeap::step`] until it returns
    /// true, and [`CellHeap::begin`] for the atomic phase. Only when idle.
    /// A reported pointer that was not into a live cell is
    /// [`GcError::NotACell`] (the cycle goes on).
    pub fn start(&mut self, vm: &mut impl CellVm) -> Result<(), GcError> {
        self.require(CellPhase::Idle, "start")?;
        let t = Instant::now();
        self.phase = CellPhase::Incremental;
        self.mark.start();
        self.steps = (0, Duration::ZERO);
        let mut m = self.marker();
        vm.roots(&mut m);
        self.note_step(t);
        self.mark.take_error()
    }

    /// One incremental marking step: traces at most `budget` gray cells
    /// (the VM counts its own work in its trace callback if it wants
    /// finer units). Returns true when no gray cell is left — time for
    /// [`CellHeap::begin`] (a barrier may still gray more before then:
    /// stepping again is allowed). Only during incremental marking.
    pub fn step(&mut self, vm: &mut impl CellVm, budget: u64) -> Result<bool, GcError> {
        self.require(CellPhase::Incremental, "step")?;
        let t = Instant::now();
        let done = self.marker().drain_some(vm, budget);
        self.note_step(t);
        self.mark.take_error().map(|()| done)
    }

    /// Records a step that began at `t`.
    fn note_step(&mut self, t: Instant) {
        let d = t.elapsed();
        self.steps.0 += 1;
        self.steps.1 = self.steps.1.max(d);
        self.stats.steps += 1;
        self.stats.max_step = self.stats.max_step.max(d);
    }
}
