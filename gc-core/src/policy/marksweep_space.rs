//! The mark-sweep space: size-segregated cells in blocks, never moved.
//! It is the whole heap of the MarkSweep plan, the mature space of
//! Generational, and the non-moving space of SemiSpace (pinned objects).
//!
//! Each block serves one size class of cells (header + payload; the
//! header is the cell alignment's size, `object::header_size`).
//! Size classes step by the mode's cell alignment (8 B Native, 16 B wide
//! modes) up to 512 B, then more coarsely up to [`MAX_SMALL_CELL`];
//! anything larger, or needing more alignment than a cell gives (CRAM of
//! a large object), goes to the large-object space.
//!
//! There are no free lists: a cell is free exactly when its payload's
//! alloc bit is clear, so allocation walks the cells of the class's
//! current block, skipping allocated ones, then takes the next block with
//! free cells (lowest address first), then a fresh block. Sweeping works
//! a bitmap word at a time: the dead objects of a word are `alloc &
//! !mark`; each is zeroed and un-tagged (I4) and its alloc bit cleared,
//! which is all it takes to make its cell free. Blocks that hold nothing
//! live are returned.
//!
//! Rejected: per-class free lists rebuilt by every sweep: the sweep then
//! touched every cell of the heap, live or free, and a full collection of
//! a mostly-live mature space paid for it. Rejected too: lazy sweeping —
//! eager sweeping leaves the heap fully verifiable after a collection (no
//! unswept garbage still holding tags), at a pause proportional to the
//! heap rather than to the live set.

use super::block::{BlockState, Blocks, BLOCK, MAX_SMALL_CELL};
use crate::mark_bits::SideBitmap;
use capability_heap::{Address, PayloadLayout, TaggedRegion};

/// The cell sizes of the small-object classes.
pub(crate) struct SizeClasses {
    sizes: Vec<u64>,
    /// Class of each cell size in units of `align`.
    lookup: Vec<u16>,
    align: u64,
}

impl SizeClasses {
    /// Classes for cells aligned to `align` (8 or 16), whose header is
    /// `align` bytes: the smallest holds the header and one slot.
    pub(crate) fn new(align: u64) -> SizeClasses {
        debug_assert!(align.is_power_of_two());
        let mut sizes = Vec::new();
        let mut s = 2 * align;
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

/// The unvisited cells `[next, end)` of a class's current block.
#[derive(Clone, Copy, Default)]
pub(crate) struct Cursor {
    pub(crate) next: u64,
    pub(crate) end: u64,
}

/// What a sweep found.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SweepResult {
    pub(crate) live_objects: u64,
    pub(crate) live_bytes: u64,
    pub(crate) freed_objects: u64,
    pub(crate) freed_bytes: u64,
}

/// The size-class cells of the mark-sweep space.
pub(crate) struct MarkSweepSpace {
    pub(crate) classes: SizeClasses,
    /// Per class: the cells of the block being allocated from.
    cursors: Vec<Cursor>,
    /// Per class: blocks with free cells, highest address first (popped
    /// lowest first).
    available: Vec<Vec<usize>>,
    /// Alignment every cell (and so every small payload) has.
    cell_align: u64,
    /// Zeal's `poison`: freed cells are filled with poison, and zeroed
    /// when allocated again (I4).
    pub(crate) poison: bool,
}

impl MarkSweepSpace {
    pub(crate) fn new(cell_align: u64) -> MarkSweepSpace {
        let classes = SizeClasses::new(cell_align);
        MarkSweepSpace {
            cursors: vec![Cursor::default(); classes.count()],
            available: (0..classes.count()).map(|_| Vec::new()).collect(),
            classes,
            cell_align,
            poison: false,
        }
    }

    /// The size class of a payload layout, if it fits a small cell.
    #[inline(always)]
    pub(crate) fn class_of(&self, layout: PayloadLayout) -> Option<u16> {
        if layout.align > self.cell_align {
            return None;
        }
        self.classes
            .class_of(self.cell_align.checked_add(layout.size)?)
    }

    /// Allocates a zeroed cell of `class`; returns its payload address.
    /// `alloc_bits` tells which cells are taken; the caller sets the new
    /// object's bit.
    #[inline(always)]
    pub(crate) fn alloc(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        alloc_bits: &SideBitmap,
        class: u16,
    ) -> Option<Address> {
        let p = match self.alloc_fast(alloc_bits, class) {
            Some(p) => Some(p),
            None => self.alloc_slow(blocks, region, alloc_bits, class),
        };
        if self.poison {
            if let Some(p) = p {
                // Zeal: a freed cell holds poison; zeroed before reuse (I4).
                let _ = region.zero(Address(p.get() - self.cell_align), self.classes.size(class));
            }
        }
        p
    }

    /// The fast path: the next cell of the class's current block, if it is
    /// free (always so in a fresh block); its payload address.
    #[inline(always)]
    pub(crate) fn alloc_fast(&mut self, alloc_bits: &SideBitmap, class: u16) -> Option<Address> {
        let (size, header) = (self.classes.size(class), self.cell_align);
        let c = self.cursors.get_mut(class as usize)?;
        let payload = Address(c.next + header);
        if c.next < c.end && !alloc_bits.get(payload) {
            c.next += size;
            return Some(payload);
        }
        None
    }

    /// [`MarkSweepSpace::alloc`] past its fast path: skips taken cells,
    /// moves to the next block.
    #[inline(never)]
    fn alloc_slow(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        alloc_bits: &SideBitmap,
        class: u16,
    ) -> Option<Address> {
        let (size, header) = (self.classes.size(class), self.cell_align);
        loop {
            let c = &mut self.cursors[class as usize];
            while c.next < c.end {
                let payload = Address(c.next + header);
                c.next += size;
                if !alloc_bits.get(payload) {
                    return Some(payload);
                }
            }
            self.next_block(blocks, region, class)?;
        }
    }

    /// Points the cursor of `class` at the next block with free cells: a
    /// swept one, else a fresh one (zeroed if it held stale bytes).
    #[cold]
    fn next_block(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        class: u16,
    ) -> Option<()> {
        let block = match self.available[class as usize].pop() {
            Some(b) => b,
            None => {
                let b = blocks.alloc_block(BlockState::Small { class })?;
                blocks.zero_if_dirty(b, region);
                b
            }
        };
        let size = self.classes.size(class);
        let start = blocks.addr(block).get();
        self.cursors[class as usize] = Cursor {
            next: start,
            end: start + BLOCK / size * size,
        };
        Some(())
    }

    /// Frees every allocated, unmarked small object: zeroes its cell and
    /// clears its tags (I4) and alloc bit; clears the mark bits of
    /// survivors; returns empty blocks and queues those with free cells
    /// for allocation.
    pub(crate) fn sweep(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        alloc_bits: &mut SideBitmap,
        mark_bits: &mut SideBitmap,
    ) -> SweepResult {
        let mut r = SweepResult::default();
        self.cursors.fill(Cursor::default());
        self.available.iter_mut().for_each(Vec::clear);
        // Highest blocks first, so that each list pops its lowest first.
        for b in (0..blocks.high_water()).rev() {
            let BlockState::Small { class } = blocks.state(b) else {
                continue;
            };
            let size = self.classes.size(class);
            let start = blocks.addr(b);
            let (live, freed) = sweep_block(
                region,
                alloc_bits,
                mark_bits,
                start,
                size,
                self.cell_align,
                self.poison,
            );
            r.freed_objects += freed;
            r.freed_bytes += freed * size;
            if live == 0 {
                if self.poison && freed > 0 {
                    blocks.set_dirty(b);
                }
                blocks.free(b, 1);
            } else {
                r.live_objects += live;
                r.live_bytes += live * size;
                if live < BLOCK / size {
                    self.available[class as usize].push(b);
                }
            }
        }
        r
    }
}

/// Sweeps one block of `size`-byte cells a bitmap word at a time; returns
/// (live, freed) object counts.
fn sweep_block(
    region: &mut TaggedRegion,
    alloc_bits: &mut SideBitmap,
    mark_bits: &mut SideBitmap,
    start: Address,
    size: u64,
    header: u64,
    poison: bool,
) -> (u64, u64) {
    let free_cell = |region: &mut TaggedRegion, cell: Address| {
        // I4: freed memory is zeroed and holds no tag (the region's kind
        // decides whether there are tags to clear); under zeal's poison,
        // filled with poison instead, zeroed again before reuse.
        if poison {
            super::block::poison(region, cell, size);
        } else {
            let _ = region.zero(cell, size);
        }
    };
    let (mut live, mut freed) = (0, 0);
    let (Some(alloc), Some(mark)) = (
        alloc_bits.words_mut(start, BLOCK),
        mark_bits.words_mut(start, BLOCK),
    ) else {
        // Not reached with a page-aligned region (every block is whole
        // bitmap words); kept so that a region laid out otherwise is
        // still swept correctly, a cell at a time.
        for k in 0..BLOCK / size {
            let payload = start.add(k * size + header);
            if !alloc_bits.get(payload) {
                continue;
            }
            if mark_bits.get(payload) {
                mark_bits.put(payload, false);
                live += 1;
            } else {
                alloc_bits.put(payload, false);
                free_cell(region, Address(payload.get() - header));
                freed += 1;
            }
        }
        return (live, freed);
    };
    for (w, (a, m)) in alloc.iter_mut().zip(mark.iter_mut()).enumerate() {
        live += u64::from((*a & *m).count_ones());
        let mut dead = *a & !*m;
        *a &= *m;
        *m = 0;
        while dead != 0 {
            let bit = (w as u64) * 64 + u64::from(dead.trailing_zeros());
            dead &= dead - 1;
            free_cell(region, Address(start.get() + bit * 8 - header));
            freed += 1;
        }
    }
    (live, freed)
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

    /// Allocate a block's worth of cells, mark every third, sweep: the
    /// unmarked ones are zeroed and their cells handed out again, lowest
    /// first; the marked ones keep their bytes.
    #[test]
    fn sweep_frees_exactly_the_unmarked_cells() {
        let mut region = TaggedRegion::plain(4 * BLOCK).unwrap();
        let base = region.base().align_up(BLOCK);
        let mut blocks = Blocks::new(base, 2 * BLOCK, 2 * BLOCK).unwrap();
        let mut alloc_bits = SideBitmap::new(region.base(), region.len()).unwrap();
        let mut mark_bits = SideBitmap::new(region.base(), region.len()).unwrap();
        let mut ms = MarkSweepSpace::new(8);
        let class = ms.classes.class_of(48).unwrap();
        let size = ms.classes.size(class);
        let mut cells = Vec::new();
        while cells.len() < (BLOCK / size) as usize {
            let p = ms
                .alloc(&mut blocks, &mut region, &alloc_bits, class)
                .unwrap();
            alloc_bits.put(p, true);
            region.write::<u64>(p, 0xabcd).unwrap();
            cells.push(p);
        }
        for p in cells.iter().step_by(3) {
            mark_bits.put(*p, true);
        }
        let r = ms.sweep(&mut blocks, &mut region, &mut alloc_bits, &mut mark_bits);
        let live = cells.len().div_ceil(3) as u64;
        assert_eq!(r.live_objects, live);
        assert_eq!(r.freed_objects, cells.len() as u64 - live);
        for (i, p) in cells.iter().enumerate() {
            let kept = i % 3 == 0;
            assert_eq!(alloc_bits.get(*p), kept);
            assert!(!mark_bits.get(*p), "marks cleared");
            assert_eq!(
                region.read::<u64>(*p).unwrap(),
                if kept { 0xabcd } else { 0 }
            );
        }
        let again = ms
            .alloc(&mut blocks, &mut region, &alloc_bits, class)
            .unwrap();
        assert_eq!(again, cells[1], "the lowest free cell is reused first");
    }
}
