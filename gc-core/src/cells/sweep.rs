//! Sweeping the cell heap: releasing and reclaiming the dead cells of a
//! block, for the whole heap at once ([`CellHeap::finish`]) or a few
//! blocks at a time ([`CellHeap::begin_sweep`], [`CellHeap::sweep`]).
//!
//! *Lazy sweeping.* After marking, `begin_sweep` ends the cycle's pause
//! without touching a block; each `sweep` step then, block by block in
//! address order, calls `release` for the block's dead cells and reclaims
//! them. Between steps the mutator runs and allocates: a cell allocated
//! in a block not yet swept is marked (so that block's sweep keeps it),
//! one in a swept block is not (its mark bits are already clear for the
//! next cycle). Only swept blocks (and fresh ones) are allocated from:
//! dead cells keep their alloc bits until swept. The trade-off: a cell's
//! release no longer comes before *every* reclaim of its cycle, only
//! before those of its own step — a VM whose release reads other dead
//! cells (beyond unlinking itself from them) sweeps with `finish`. A
//! dead cell must not be handed out by the VM once marking has ended;
//! one that is (Lua's string table interning a dead string again) is
//! rescued by [`CellVm::keep`], asked before each leaf cell's release.
//!
//! *A budget in cells* ([`CellHeap::sweep_some`]). A block of small dead
//! cells may hold thousands (4,096 of 16 bytes), and a release is the
//! VM's: freeing the cell's out-of-cell memory, unlinking it from the
//! VM's tables, in a heap cold by then — about a microsecond each in a
//! 256 MiB Lua heap, so one block could be milliseconds. A step may
//! therefore stop inside a block, after its budget of dead cells, and the
//! next step resumes there (at the next cell's bit). The block is
//! reclaimed only once all its dead cells are released, so "release
//! before reclaim" holds per block as before; what changes is that the
//! mutator runs between the release of a block's first dead cells and
//! their reclaim. They keep their alloc bits meanwhile (dead, like every
//! unswept dead cell: the VM never reaches them), and the block is not
//! allocated from — it is neither swept nor free. The rejected
//! alternative, clearing a cell's alloc bit at its release, would have
//! moved reclaiming (counts, poisoning) into the release walk.

use super::{CellCycle, CellHeap, CellPhase, CellVm};
use crate::policy::block::{BlockState, BLOCK};
use crate::policy::marksweep_space::Cursor;
use crate::GcError;
use capability_heap::Address;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// Where a lazy sweep is: the block to sweep next, the first cell bit in
/// it not yet looked at (0 unless a step stopped inside it), and the
/// cycle so far.
pub(super) struct LazySweep {
    /// The next block to sweep: blocks below it are swept.
    pub(super) next: usize,
    /// The first bit (8-byte granule) of block `next` whose cell is not
    /// yet released; 0 when no step stopped inside it.
    from: u64,
    cycle: CellCycle,
}

impl CellHeap {
    /// Ends a collection's marking (after the VM's phases, instead of
    /// [`CellHeap::finish`]) and starts a lazy sweep: nothing is released
    /// yet. Then [`CellHeap::sweep`] until it returns true; the mutator
    /// allocates in between. Only in [`CellPhase::Marking`].
    pub fn begin_sweep(&mut self) -> Result<(), GcError> {
        self.require(CellPhase::Marking, "begin_sweep")?;
        let sp = &mut self.space;
        for list in &mut sp.available {
            list.clear();
        }
        for c in &mut sp.cursors {
            *c = Cursor::default();
        }
        let pause = self.started.take().map_or(Duration::ZERO, |t| t.elapsed());
        let (steps, max_step) = std::mem::take(&mut self.steps);
        self.sweeping = Some(LazySweep {
            next: 0,
            from: 0,
            cycle: CellCycle {
                pause,
                steps,
                max_step,
                ..CellCycle::default()
            },
        });
        self.phase = CellPhase::Sweeping;
        self.zeal_due = false; // the cycle zeal asked for has marked
        self.compartments_clear_lists();
        Ok(())
    }

    /// One lazy sweep step: releases and reclaims the dead cells of at
    /// most `budget` blocks (a large cell's run is one), asking
    /// [`CellVm::keep`] first for each dead leaf cell. Returns true when
    /// the heap is swept: the collection is over (its statistics recorded,
    /// the heap idle; in the checked configuration verified). Only in
    /// [`CellPhase::Sweeping`]. [`CellHeap::sweep_some`] with no cell
    /// budget.
    pub fn sweep(&mut self, vm: &mut impl CellVm, budget: u64) -> Result<bool, GcError> {
        self.sweep_some(vm, budget, u64::MAX)
    }

    /// One lazy sweep step bounded twice: at most `blocks` blocks looked
    /// at (one a step stopped inside counts again) and at most `cells`
    /// dead cells released or kept; it may stop inside a block, and the
    /// next step resumes there (the module docs). Returns true when the
    /// heap is swept, as [`CellHeap::sweep`]. A zero budget makes no
    /// progress. Only in [`CellPhase::Sweeping`].
    pub fn sweep_some(
        &mut self,
        vm: &mut impl CellVm,
        blocks: u64,
        cells: u64,
    ) -> Result<bool, GcError> {
        self.require(CellPhase::Sweeping, "sweep")?;
        let t = Instant::now();
        let Some(mut s) = self.sweeping.take() else {
            return Err(GcError::WrongPhase {
                call: "sweep",
                phase: self.phase,
            });
        };
        let (cells0, bytes0) = (s.cycle.freed_cells, s.cycle.freed_bytes);
        let (mut n, mut left) = (0, cells);
        while n < blocks && s.next < self.space.blocks.high_water() {
            n += 1;
            match self.release_cells(vm, s.next, s.from, &mut left) {
                Some(stop) => {
                    s.from = stop;
                    break;
                }
                None => {
                    s.next = self.reclaim_block(s.next, false, &mut s.cycle);
                    s.from = 0;
                }
            }
        }
        self.compartments_redistribute();
        self.stats.cells -= s.cycle.freed_cells - cells0;
        self.stats.bytes_in_use -= s.cycle.freed_bytes - bytes0;
        self.stats.steps += 1;
        self.stats.max_step = self.stats.max_step.max(t.elapsed());
        if s.next < self.space.blocks.high_water() {
            self.sweeping = Some(s);
            return Ok(false);
        }
        let mut cycle = s.cycle;
        self.phase = CellPhase::Idle;
        cycle.live_cells = self.stats.cells;
        cycle.live_bytes = self.stats.bytes_in_use;
        self.end_cycle(cycle)?;
        Ok(true)
    }

    /// Marks the new cell at `payload` if its block is not swept yet
    /// (`next` is the next block to sweep), so that sweep keeps it.
    pub(super) fn mark_if_unswept(&mut self, payload: u64, next: usize) {
        if self
            .space
            .blocks
            .index_of(Address(payload))
            .is_some_and(|i| i >= next)
        {
            self.mark.set(payload);
        }
    }

    /// Calls `vm.release` for the unmarked cells of block `i` (all its
    /// cells if `all`; nothing unless `i` holds small cells or heads a
    /// large one). With `ask`, a dead leaf cell `vm.keep` keeps is marked
    /// instead (reclaim then keeps it and clears its mark).
    pub(super) fn release_block(&mut self, vm: &mut impl CellVm, i: usize, all: bool, ask: bool) {
        let mut unbounded = u64::MAX;
        self.release_from(vm, i, all, ask, 0, &mut unbounded);
    }

    /// A lazy sweep's releases in block `i`: the unmarked cells from bit
    /// `from` on, asking `vm.keep` for leaf cells, while `left` (counted
    /// down per dead cell) lasts. Returns the bit of the first dead cell
    /// left for a later step, or `None` when the block's walk is done.
    fn release_cells(
        &mut self,
        vm: &mut impl CellVm,
        i: usize,
        from: u64,
        left: &mut u64,
    ) -> Option<u64> {
        self.release_from(vm, i, false, true, from, left)
    }

    /// [`CellHeap::release_block`] from bit `from` of the block, stopping
    /// before the dead cell that finds `left` at 0 (its bit is returned).
    fn release_from(
        &mut self,
        vm: &mut impl CellVm,
        i: usize,
        all: bool,
        ask: bool,
        from: u64,
        left: &mut u64,
    ) -> Option<u64> {
        let sp = &self.space;
        let base = sp.blocks.addr(i);
        let mut one = |payload: u64, mark: &mut super::mark::MarkState| {
            let ty = sp.type_of_live(payload);
            let cell_ty = sp.typed(ty);
            // SAFETY: a payload address in the mapped region, never 0.
            let cell = unsafe { NonNull::new_unchecked(payload as *mut u8) };
            let leaf = self.types.get(ty as usize).is_some_and(|t| t.leaf);
            if ask && leaf && vm.keep(cell_ty, cell) {
                mark.set(payload);
            } else {
                vm.release(cell_ty, cell);
            }
        };
        match sp.blocks.state(i) {
            BlockState::Small { .. } => {
                for w in from / 64..BLOCK / 512 {
                    let word = base.get() + w * 512;
                    let a = sp.alloc.word(Address(word));
                    if a == 0 {
                        continue;
                    }
                    let mut dead = if all {
                        a
                    } else {
                        a & !self.mark.word(Address(word))
                    };
                    if w == from / 64 {
                        dead &= !0u64 << (from % 64); // the bits before `from` are done
                    }
                    while dead != 0 {
                        let b = u64::from(dead.trailing_zeros());
                        if *left == 0 {
                            return Some(w * 64 + b);
                        }
                        *left -= 1;
                        dead &= dead - 1;
                        one(word + b * 8, &mut self.mark);
                    }
                }
            }
            BlockState::LargeHead => {
                let payload = base.get() + sp.hdr;
                if sp.alloc.get(Address(payload)) && (all || !self.mark.is_marked(payload)) {
                    if *left == 0 {
                        return Some(0);
                    }
                    *left -= 1;
                    one(payload, &mut self.mark);
                }
            }
            _ => {}
        }
        None
    }

    /// Reclaims the unmarked cells of block `i` (all if `all`), clears
    /// its mark bits, frees it if empty or lists it as available if it
    /// has room; adds to `cycle`. Returns the next block to look at.
    pub(super) fn reclaim_block(&mut self, i: usize, all: bool, cycle: &mut CellCycle) -> usize {
        let sp = &mut self.space;
        let base = sp.blocks.addr(i);
        match sp.blocks.state(i) {
            BlockState::Small { class } => {
                let size = sp.classes.size(class);
                let per_block = BLOCK / size;
                let marks = self.mark.words_mut(base, BLOCK);
                let allocs = sp.alloc.words_mut(base, BLOCK).expect("a block's bits");
                let mut live = 0;
                let mut freed = 0;
                let poison = self.config.zeal.poison;
                for (w, (a, m)) in allocs.iter_mut().zip(marks.iter_mut()).enumerate() {
                    if *a == 0 {
                        // No cell starts here (most words of a block the
                        // mutator barely used): nothing to count, and the
                        // bit counts below are a dozen instructions each
                        // without a popcount instruction.
                        *m = 0;
                        continue;
                    }
                    let keep = if all { 0 } else { *a & *m };
                    let mut dead = *a & !keep;
                    if dead != 0 {
                        freed += u64::from(dead.count_ones());
                    }
                    while poison && dead != 0 {
                        // Zeal: the freed cell, header included.
                        let payload =
                            base.get() + (w as u64 * 64 + u64::from(dead.trailing_zeros())) * 8;
                        dead &= dead - 1;
                        crate::policy::block::poison(
                            &mut sp.region,
                            Address(payload - sp.hdr),
                            size,
                        );
                    }
                    if keep != 0 {
                        live += u64::from(keep.count_ones());
                    }
                    *a = keep;
                    *m = 0;
                }
                cycle.live_cells += live;
                cycle.live_bytes += live * size;
                cycle.freed_cells += freed;
                cycle.freed_bytes += freed * size;
                if live == 0 {
                    if sp.comps.as_ref().is_some_and(|c| c.retired_owner(i)) {
                        // A retired compartment's block: its memory goes
                        // back to the system (compartments.rs, Retiring).
                        let _ = sp.region.decommit(base, BLOCK);
                    }
                    sp.blocks.free(i, 1);
                    self.stats.bytes_held -= BLOCK;
                    // An allocation cursor left in it (a lazy sweep runs
                    // while the mutator allocates) must not outlive it.
                    let c = &mut sp.cursors[class as usize];
                    if c.next >= base.get() && c.next < base.get() + BLOCK {
                        *c = Cursor::default();
                    }
                } else if live < per_block {
                    sp.available[class as usize].push(i);
                }
                i + 1
            }
            BlockState::LargeHead => {
                let len = sp.large.get(&i).copied().unwrap_or(BLOCK);
                let n = len.div_ceil(BLOCK) as usize;
                let payload = base.add(sp.hdr);
                let live = !all && self.mark.is_marked(payload.get());
                self.mark.clear(payload.get());
                if live {
                    cycle.live_cells += 1;
                    cycle.live_bytes += len;
                } else {
                    if sp.alloc.get(payload) {
                        cycle.freed_cells += 1;
                        cycle.freed_bytes += len;
                    }
                    sp.alloc.put(payload, false);
                    let _ = sp.region.decommit(base, n as u64 * BLOCK);
                    sp.large.remove(&i);
                    sp.blocks.free(i, n);
                    self.stats.bytes_held -= n as u64 * BLOCK;
                }
                i + n
            }
            _ => i + 1,
        }
    }
}
