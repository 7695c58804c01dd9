//! The block allocator and size classes of the mark-sweep space.
//!
//! The heap region is cut into 64 KiB blocks. A block is free, holds cells
//! of one size class, or is part of a large object. Block state lives in a
//! side vector, so a block's memory is all payload-ready cells and free
//! blocks are all zero (I4). Size classes step by the mode's cell
//! alignment (8 B Native, 16 B wide modes) up to 512 B, then more
//! coarsely up to [`MAX_SMALL_CELL`]; anything larger, or needing more
//! alignment than a cell has, goes to the large-object space.

use capability_heap::{Address, TaggedRegion};

/// Block size.
pub(crate) const BLOCK: u64 = 1 << 16;
/// Largest cell (header + payload) served by size classes.
pub(crate) const MAX_SMALL_CELL: u64 = 8192;

/// What a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BlockState {
    /// Unused, zeroed.
    Free,
    /// Cells of size class `class`.
    Small {
        /// Index into the size classes.
        class: u16,
    },
    /// The first block of a large object.
    LargeHead,
    /// A later block of a large object.
    LargeTail,
    /// Bump-allocated objects of a copy space (nursery or semispace).
    Copy,
    /// A copy-space block being evacuated by the current collection.
    From,
    /// An evacuated block, zeroed and untagged, not reused until the next
    /// collection (quarantine).
    Quarantined,
}

/// The blocks of the region.
pub(crate) struct Blocks {
    base: u64,
    state: Vec<BlockState>,
    /// Blocks that may be handed out (the heap limit).
    budget: u32,
    in_use: u32,
    hint: usize,
    /// One past the highest block ever handed out: blocks above it were
    /// never touched (the verifier skips them).
    high_water: usize,
    /// Blocks whose bytes may be non-zero (evacuated copy-space blocks,
    /// tags already cleared): zeroed when next handed out, so the cost of
    /// zeroing is paid by allocation, not by the collection pause (I4:
    /// zeroed before reuse).
    dirty: Vec<bool>,
}

impl Blocks {
    pub(crate) fn new(base: Address, region_len: u64, limit: u64) -> Blocks {
        let count = (region_len / BLOCK) as usize;
        let budget = (limit / BLOCK).min(count as u64) as u32;
        Blocks {
            base: base.get(),
            state: vec![BlockState::Free; count],
            budget,
            in_use: 0,
            hint: 0,
            high_water: 0,
            dirty: vec![false; count],
        }
    }

    /// Address of block `i`.
    #[inline(always)]
    pub(crate) fn addr(&self, i: usize) -> Address {
        Address(self.base + i as u64 * BLOCK)
    }

    pub(crate) fn state(&self, i: usize) -> BlockState {
        self.state[i]
    }

    /// One past the highest block ever used.
    pub(crate) fn high_water(&self) -> usize {
        self.high_water
    }

    /// Blocks in use.
    pub(crate) fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Sets the state of a block in use (not to or from `Free`).
    pub(crate) fn set_state(&mut self, i: usize, s: BlockState) {
        debug_assert!(self.state[i] != BlockState::Free && s != BlockState::Free);
        self.state[i] = s;
    }

    /// The block holding `addr`, if inside the block area.
    #[inline(always)]
    pub(crate) fn index_of(&self, addr: Address) -> Option<usize> {
        let i = (addr.get().wrapping_sub(self.base) / BLOCK) as usize;
        (i < self.state.len()).then_some(i)
    }

    /// The state of the block holding `addr` (`Free` outside the area).
    #[inline(always)]
    pub(crate) fn state_at(&self, addr: Address) -> BlockState {
        self.index_of(addr)
            .map_or(BlockState::Free, |i| self.state[i])
    }

    /// One free block, in state `s`.
    pub(crate) fn alloc_block(&mut self, s: BlockState) -> Option<usize> {
        let i = self.alloc_small(0)?;
        self.state[i] = s;
        Some(i)
    }

    /// One free block for size class `class`.
    pub(crate) fn alloc_small(&mut self, class: u16) -> Option<usize> {
        if self.in_use >= self.budget {
            return None;
        }
        let n = self.state.len();
        let hint = self.hint.min(n);
        for i in (hint..n).chain(0..hint) {
            if self.state[i] == BlockState::Free {
                self.state[i] = BlockState::Small { class };
                self.in_use += 1;
                self.hint = i + 1;
                self.high_water = self.high_water.max(i + 1);
                return Some(i);
            }
        }
        None
    }

    /// `n` contiguous free blocks whose first block's address satisfies
    /// `fits` (alignment), as a large object.
    pub(crate) fn alloc_large(
        &mut self,
        n: usize,
        fits: impl Fn(Address) -> bool,
    ) -> Option<usize> {
        if n == 0 || self.in_use as usize + n > self.budget as usize {
            return None;
        }
        let mut run = 0;
        let mut i = 0;
        while i < self.state.len() {
            if self.state[i] != BlockState::Free {
                run = 0;
                i += 1;
                continue;
            }
            if run == 0 && !fits(self.addr(i)) {
                i += 1;
                continue;
            }
            run += 1;
            if run == n {
                let first = i + 1 - n;
                self.state[first] = BlockState::LargeHead;
                for s in &mut self.state[first + 1..=i] {
                    *s = BlockState::LargeTail;
                }
                self.in_use += n as u32;
                self.high_water = self.high_water.max(i + 1);
                return Some(first);
            }
            i += 1;
        }
        None
    }

    /// Marks block `i` as holding stale bytes (its tags are clear).
    pub(crate) fn set_dirty(&mut self, i: usize) {
        self.dirty[i] = true;
    }

    /// Zeroes block `i` if it may hold stale bytes (I4: zeroed before
    /// reuse); every block is handed out through this.
    pub(crate) fn zero_if_dirty(&mut self, i: usize, region: &mut TaggedRegion) {
        if std::mem::replace(&mut self.dirty[i], false) {
            let _ = region.zero(self.addr(i), BLOCK);
        }
    }

    /// True when block `i` may hold stale (untagged) bytes.
    pub(crate) fn is_dirty(&self, i: usize) -> bool {
        self.dirty[i]
    }

    /// Returns blocks `[first, first + n)` to the free pool. The caller has
    /// zeroed them and cleared their tags (I4).
    pub(crate) fn free(&mut self, first: usize, n: usize) {
        for s in &mut self.state[first..first + n] {
            debug_assert_ne!(*s, BlockState::Free);
            *s = BlockState::Free;
        }
        self.in_use -= n as u32;
        self.hint = self.hint.min(first);
    }
}

/// The cell sizes of the small-object classes.
pub(crate) struct SizeClasses {
    sizes: Vec<u64>,
    /// Class of each cell size in units of `align`.
    lookup: Vec<u16>,
    align: u64,
}

impl SizeClasses {
    /// Classes for cells aligned to `align` (8 or 16).
    pub(crate) fn new(align: u64) -> SizeClasses {
        debug_assert!(align.is_power_of_two());
        let mut sizes = Vec::new();
        let mut s = 2 * align.max(16);
        while s <= MAX_SMALL_CELL {
            sizes.push(s);
            let step = match s {
                0..512 => align,
                512..2048 => 64,
                _ => 512,
            };
            s += step;
        }
        let mut lookup = vec![0u16; (MAX_SMALL_CELL / align + 1) as usize];
        let mut c = 0;
        for (units, slot) in lookup.iter_mut().enumerate() {
            while sizes[c] < units as u64 * align {
                c += 1;
            }
            *slot = c as u16;
        }
        SizeClasses {
            sizes,
            lookup,
            align,
        }
    }

    /// The class serving cells of `cell` bytes, if small.
    #[inline(always)]
    pub(crate) fn class_of(&self, cell: u64) -> Option<u16> {
        if cell > MAX_SMALL_CELL {
            return None;
        }
        // align is a power of two: a shift, not a division.
        let units = (cell + self.align - 1) >> self.align.trailing_zeros();
        Some(self.lookup[units as usize])
    }

    /// Cell size of class `c`.
    #[inline(always)]
    pub(crate) fn size(&self, c: u16) -> u64 {
        self.sizes[c as usize]
    }

    pub(crate) fn count(&self) -> usize {
        self.sizes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_small_size_tightly() {
        for align in [8, 16] {
            let sc = SizeClasses::new(align);
            for cell in 1..=MAX_SMALL_CELL {
                let c = sc.class_of(cell).unwrap();
                assert!(sc.size(c) >= cell);
                assert_eq!(sc.size(c) % align, 0);
                if c > 0 {
                    assert!(sc.size(c - 1) < cell.max(sc.size(0)) || cell <= sc.size(0));
                }
            }
            assert_eq!(sc.class_of(MAX_SMALL_CELL + 1), None);
        }
    }

    #[test]
    fn large_runs_respect_budget_and_alignment() {
        let mut b = Blocks::new(Address(0x100_0000), 16 * BLOCK, 8 * BLOCK);
        let first = b.alloc_large(3, |a| a.get() % (4 * BLOCK) == 0).unwrap();
        assert_eq!(b.addr(first).get() % (4 * BLOCK), 0);
        assert_eq!(b.in_use(), 3);
        assert!(b.alloc_large(6, |_| true).is_none(), "over budget");
        b.free(first, 3);
        assert_eq!(b.in_use(), 0);
        assert!(b.alloc_small(0).is_some());
    }
}
