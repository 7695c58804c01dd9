//! The copy space: bump allocation into whole blocks, evacuated by a
//! copying collection. It is the nursery of the Generational plan and the
//! semispaces of the SemiSpace plan (its to-space is simply fresh blocks).
//!
//! After an evacuation the from-space blocks are untagged at once, their
//! alloc bits cleared, and **quarantined**: not handed out again until the
//! next collection, and zeroed when they are (I4: zeroed before reuse; the
//! pause does not pay for it). Every reference the collector knows of was
//! re-derived to the new copy (I8), and every reference the mutator held
//! in a plain local is refused as stale by its stamp, so nothing can reach
//! the old copies; the quarantine keeps that true even for a stale
//! capability that escaped into a register in a hardware mode. A
//! from-space block that holds a pinned survivor is instead *retained* in
//! place: its other cells are zeroed, and it is not allocated into until
//! it is empty.
//!
//! Rejected: a contiguous semispace pair (Cheney's original). Blocks let
//! the spaces grow to the heap limit, share the limit with the
//! large-object space, and retain a pinned object's block alone.

use super::block::{BlockState, Blocks, BLOCK, MAX_SMALL_CELL};
use capability_heap::{Address, PayloadLayout, TaggedRegion};

/// Bytes a cell for `layout` takes with cells aligned to `align` (a power
/// of two, 8 or 16: a mask, not a division). The header is `align` bytes
/// in every mode (`object::header_size`: 8 in Native, 16 otherwise).
#[inline(always)]
pub(crate) fn cell_size(align: u64, layout: PayloadLayout) -> u64 {
    (align + layout.size + align - 1) & !(align - 1)
}

/// True when objects of `layout` are allocated in a copy space of cells
/// aligned to `align` (small enough and no more aligned than a cell).
#[inline(always)]
pub(crate) fn fits(align: u64, layout: PayloadLayout) -> bool {
    layout.align <= align && layout.size <= MAX_SMALL_CELL - align
}

/// A bump-allocated space of blocks.
pub(crate) struct CopySpace {
    /// Blocks allocated into since the last evacuation.
    pub(crate) active: Vec<usize>,
    cursor: u64,
    limit: u64,
    /// From-space blocks kept for their pinned survivors.
    pub(crate) retained: Vec<usize>,
    /// Evacuated blocks awaiting release at the next collection.
    pub(crate) quarantine: Vec<usize>,
    /// The most blocks `active` may hold (the nursery size), if bounded.
    max_blocks: Option<usize>,
    /// Alignment of every cell.
    pub(crate) align: u64,
    /// Blocks of `active` the last evacuation filled with survivors
    /// (zeal's move-all in the nursery): not counted against the nursery
    /// size.
    survivors: usize,
    /// An evacuation into this space is running: no nursery bound.
    evacuating: bool,
}

impl CopySpace {
    pub(crate) fn new(align: u64, max_bytes: Option<u64>) -> CopySpace {
        debug_assert!(align.is_power_of_two());
        CopySpace {
            active: Vec::new(),
            cursor: 0,
            limit: 0,
            retained: Vec::new(),
            quarantine: Vec::new(),
            max_blocks: max_bytes.map(|b| (b / BLOCK).max(1) as usize),
            align,
            survivors: 0,
            evacuating: false,
        }
    }

    /// The nursery size in bytes (`None`: unbounded, SemiSpace).
    pub(crate) fn max_bytes(&self) -> Option<u64> {
        self.max_blocks.map(|b| b as u64 * BLOCK)
    }

    /// Resizes a bounded space (the nursery) to `bytes`, at least a block;
    /// takes effect for allocation from now on.
    pub(crate) fn set_max_bytes(&mut self, bytes: u64) {
        if self.max_blocks.is_some() {
            self.max_blocks = Some((bytes / BLOCK).max(1) as usize);
        }
    }

    /// Bytes a cell for `layout` takes.
    #[inline(always)]
    pub(crate) fn cell_size(&self, layout: PayloadLayout) -> u64 {
        cell_size(self.align, layout)
    }

    /// True when objects of `layout` are allocated here (small enough and
    /// no more aligned than a cell).
    #[inline(always)]
    pub(crate) fn fits(&self, layout: PayloadLayout) -> bool {
        fits(self.align, layout)
    }

    /// Closes the current block to bump allocation (`bump` fails until
    /// `alloc` takes a new block); its unused tail stays free.
    pub(crate) fn close_block(&mut self) {
        self.limit = self.cursor;
    }

    /// Lends the rest of the current block (`fast.rs`): `(cursor, limit)`,
    /// and closes it to `bump` until [`CopySpace::return_bump`].
    pub(crate) fn lend_bump(&mut self) -> (u64, u64) {
        let lent = (self.cursor, self.limit);
        self.limit = self.cursor;
        lent
    }

    /// Takes a lent block back: bumping resumes at `cursor`, up to `limit`.
    pub(crate) fn return_bump(&mut self, cursor: u64, limit: u64) {
        self.cursor = cursor;
        self.limit = limit;
    }

    /// The fast path: a cell of `cell` bytes from the current block, if it
    /// has room; its start.
    #[inline(always)]
    pub(crate) fn bump(&mut self, cell: u64) -> Option<Address> {
        let at = self.cursor;
        let end = at + cell;
        if end > self.limit {
            return None;
        }
        self.cursor = end;
        Some(Address(at))
    }

    /// Bump-allocates a cell of `cell` bytes; returns its start. `None` when
    /// the nursery is full or no block is left.
    #[inline]
    pub(crate) fn alloc(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        cell: u64,
    ) -> Option<Address> {
        match self.bump(cell) {
            Some(at) => Some(at),
            None => self.alloc_block(blocks, region, cell),
        }
    }

    #[inline(never)]
    fn alloc_block(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        cell: u64,
    ) -> Option<Address> {
        if !self.evacuating
            && self
                .max_blocks
                .is_some_and(|m| self.active.len() >= m + self.survivors)
        {
            return None;
        }
        self.active.try_reserve(1).ok()?;
        let b = blocks.alloc_block(BlockState::Copy)?;
        self.active.push(b);
        blocks.zero_if_dirty(b, region);
        let start = blocks.addr(b).get();
        self.cursor = start + cell;
        self.limit = start + BLOCK;
        Some(Address(start))
    }

    /// Starts an evacuation: releases the previous quarantine and turns
    /// every active and retained block into from-space, which it returns.
    pub(crate) fn begin_evacuation(&mut self, blocks: &mut Blocks) -> Vec<usize> {
        for b in self.quarantine.drain(..) {
            blocks.free(b, 1);
        }
        let mut from: Vec<usize> = self.active.drain(..).collect();
        from.append(&mut self.retained);
        for &b in &from {
            blocks.set_state(b, BlockState::From);
        }
        self.cursor = 0;
        self.limit = 0;
        self.evacuating = true;
        from
    }

    /// Ends an evacuation: the blocks survivors were copied into (none
    /// unless they were copied here) do not count against the nursery.
    pub(crate) fn end_evacuation(&mut self) {
        self.evacuating = false;
        self.survivors = self.active.len();
    }

    /// Blocks the space holds (active and retained).
    pub(crate) fn blocks_held(&self) -> usize {
        self.active.len() + self.retained.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_allocation_fills_blocks_up_to_the_nursery_size() {
        let mut region = TaggedRegion::plain(8 * BLOCK).unwrap();
        let base = region.base().align_up(BLOCK);
        let mut blocks = Blocks::new(base, 6 * BLOCK, 6 * BLOCK).unwrap();
        let mut cs = CopySpace::new(16, Some(2 * BLOCK));
        let cell = cs.cell_size(PayloadLayout {
            size: 48,
            align: 16,
            bounds: 48,
        });
        assert_eq!(cell, 64);
        let mut n = 0;
        while let Some(a) = cs.alloc(&mut blocks, &mut region, cell) {
            assert!(a.is_aligned(16));
            n += 1;
        }
        assert_eq!(n, 2 * BLOCK / cell, "two blocks, then the nursery is full");
        let from = cs.begin_evacuation(&mut blocks);
        assert_eq!(from.len(), 2);
        assert!(from.iter().all(|&b| blocks.state(b) == BlockState::From));
        assert!(cs.alloc(&mut blocks, &mut region, cell).is_some());
    }

    #[test]
    fn only_small_cell_aligned_layouts_fit() {
        let cs = CopySpace::new(16, None);
        assert!(cs.fits(PayloadLayout {
            size: 64,
            align: 16,
            bounds: 64,
        }));
        assert!(!cs.fits(PayloadLayout {
            size: 64,
            align: 32,
            bounds: 64,
        }));
        assert!(!cs.fits(PayloadLayout {
            size: MAX_SMALL_CELL,
            align: 16,
            bounds: MAX_SMALL_CELL,
        }));
    }
}
