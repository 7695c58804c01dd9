//! MarkSweep: the non-moving plan.
//!
//! Space policy: the region is cut into 64 KiB [`blocks`]; each block
//! serves one size class of cells (16-byte header + payload); objects too
//! big for a class, or needing more alignment than a cell gives (CRAM of a
//! large object), go to the large-object space ([`los`]), which takes runs
//! of whole blocks. There are no free lists: a cell is free exactly when
//! its payload's alloc bit is clear, so allocation walks the cells of the
//! class's current block, skipping allocated ones, then takes the next
//! block with free cells (lowest address first), then a fresh block.
//! Sweeping works a bitmap word at a time: the dead objects of a word are
//! `alloc & !mark`; each is zeroed and un-tagged (I4) and its alloc bit
//! cleared, which is all it takes to make its cell free. Blocks that hold
//! nothing live are returned.
//!
//! Rejected: per-class free lists rebuilt by every sweep (the previous
//! design): the sweep then touched every cell of the heap, live or free,
//! and a full collection of a mostly-live mature space paid for it.
//!
//! Collection: mark from the roots with side mark bits (the tracer in
//! `trace.rs`, by type map or by tag), then sweep every block. Eager
//! sweeping was chosen over lazy sweeping so that after a collection the
//! heap is fully verifiable (no not-yet-swept garbage that still holds
//! tags); the cost is a pause proportional to the heap rather than to the
//! live set.

pub(crate) mod blocks;
pub(crate) mod los;

use self::blocks::{BlockState, Blocks, SizeClasses, BLOCK};
use self::los::Large;
use crate::mark_bits::SideBitmap;
use crate::object::{header_of, HEADER_SIZE};
use capability_heap::{Address, PayloadLayout, RefMode, TaggedRegion};

/// The mark-sweep space.
pub(crate) struct MarkSweep {
    pub(crate) blocks: Blocks,
    pub(crate) classes: SizeClasses,
    /// Per class: the cells of the block being allocated from.
    cursors: Vec<Cursor>,
    /// Per class: blocks with free cells, highest address first (popped
    /// lowest first).
    available: Vec<Vec<usize>>,
    pub(crate) large: Vec<Large>,
    /// Alignment every cell (and so every small payload) has.
    cell_align: u64,
}

/// The unvisited cells `[next, end)` of a class's current block.
#[derive(Clone, Copy, Default)]
struct Cursor {
    next: u64,
    end: u64,
}

/// What a sweep found.
#[derive(Default)]
pub(crate) struct SweepResult {
    pub(crate) live_objects: u64,
    pub(crate) live_bytes: u64,
    pub(crate) freed_objects: u64,
    pub(crate) freed_bytes: u64,
}

impl MarkSweep {
    pub(crate) fn new<M: RefMode>(region: &TaggedRegion, limit: u64) -> MarkSweep {
        let cell_align = M::payload_layout(1).align.clamp(8, 16);
        let base = region.base().align_up(BLOCK);
        let len = region.end().get().saturating_sub(base.get());
        let classes = SizeClasses::new(cell_align);
        MarkSweep {
            blocks: Blocks::new(base, len, limit),
            cursors: vec![Cursor::default(); classes.count()],
            available: (0..classes.count()).map(|_| Vec::new()).collect(),
            classes,
            large: Vec::new(),
            cell_align,
        }
    }

    /// The size class of a payload layout, if it fits a small cell.
    #[inline(always)]
    fn class_of(&self, layout: PayloadLayout) -> Option<u16> {
        if layout.align > self.cell_align {
            return None;
        }
        self.classes.class_of(HEADER_SIZE + layout.size)
    }

    /// Bytes of heap an object of `layout` occupies (its cell, or its run
    /// of blocks).
    pub(crate) fn cell_bytes(&self, layout: PayloadLayout) -> u64 {
        match self.class_of(layout) {
            Some(c) => self.classes.size(c),
            None => los::blocks_needed(layout) as u64 * BLOCK,
        }
    }

    /// Alignment of every cell (8 in Native, 16 in the wide modes).
    pub(crate) fn cell_align(&self) -> u64 {
        self.cell_align
    }

    /// Blocks in use (small and large).
    pub(crate) fn blocks_in_use(&self) -> u32 {
        self.blocks.in_use()
    }

    /// Allocates a zeroed cell for `layout`; returns its payload address
    /// and the bytes of heap it takes (see [`MarkSweep::cell_bytes`]).
    /// `alloc_bits` tells which cells are taken; the caller sets the new
    /// object's bit.
    #[inline(always)]
    pub(crate) fn alloc(
        &mut self,
        region: &mut TaggedRegion,
        alloc_bits: &SideBitmap,
        layout: PayloadLayout,
    ) -> Option<(Address, u64)> {
        // Fast path: the next cell of the class's current block is free
        // (always so in a fresh block).
        if let Some(class) = self.class_of(layout) {
            let size = self.classes.size(class);
            if let Some(c) = self.cursors.get_mut(class as usize) {
                let payload = Address(c.next + HEADER_SIZE);
                if c.next < c.end && !alloc_bits.get(payload) {
                    c.next += size;
                    return Some((payload, size));
                }
            }
        }
        self.alloc_slow(region, alloc_bits, layout)
    }

    /// [`MarkSweep::alloc`] past its fast path: skips taken cells, moves
    /// to the next block, or allocates a large object.
    #[inline(never)]
    fn alloc_slow(
        &mut self,
        region: &mut TaggedRegion,
        alloc_bits: &SideBitmap,
        layout: PayloadLayout,
    ) -> Option<(Address, u64)> {
        let Some(class) = self.class_of(layout) else {
            let p = los::alloc(self, region, layout)?;
            return Some((p, los::blocks_needed(layout) as u64 * BLOCK));
        };
        let size = self.classes.size(class);
        loop {
            let c = &mut self.cursors[class as usize];
            while c.next < c.end {
                let payload = Address(c.next + HEADER_SIZE);
                c.next += size;
                if !alloc_bits.get(payload) {
                    return Some((payload, size));
                }
            }
            self.next_block(region, class)?;
        }
    }

    /// Points the cursor of `class` at the next block with free cells: a
    /// swept one, else a fresh one (zeroed if it held stale bytes).
    #[cold]
    fn next_block(&mut self, region: &mut TaggedRegion, class: u16) -> Option<()> {
        let block = match self.available[class as usize].pop() {
            Some(b) => b,
            None => {
                let b = self.blocks.alloc_small(class)?;
                self.blocks.zero_if_dirty(b, region);
                b
            }
        };
        let size = self.classes.size(class);
        let start = self.blocks.addr(block).get();
        self.cursors[class as usize] = Cursor {
            next: start,
            end: start + BLOCK / size * size,
        };
        Some(())
    }

    /// Frees every allocated, unmarked object: zeroes its cell and clears
    /// its tags (I4) and alloc bit; clears the mark bits of survivors;
    /// returns empty blocks and queues those with free cells for
    /// allocation. `tagged`: the region keeps tags (SoftCheri), so freed
    /// cells have theirs cleared too.
    pub(crate) fn sweep(
        &mut self,
        region: &mut TaggedRegion,
        alloc_bits: &mut SideBitmap,
        mark_bits: &mut SideBitmap,
        tagged: bool,
    ) -> SweepResult {
        let mut r = SweepResult::default();
        self.cursors.fill(Cursor::default());
        self.available.iter_mut().for_each(Vec::clear);
        // Highest blocks first, so that each list pops its lowest first.
        for b in (0..self.blocks.high_water()).rev() {
            let BlockState::Small { class } = self.blocks.state(b) else {
                continue;
            };
            let size = self.classes.size(class);
            let start = self.blocks.addr(b);
            let (live, freed) = sweep_block(region, alloc_bits, mark_bits, start, size, tagged);
            r.freed_objects += freed;
            r.freed_bytes += freed * size;
            if live == 0 {
                self.blocks.free(b, 1);
            } else {
                r.live_objects += live;
                r.live_bytes += live * size;
                if live < BLOCK / size {
                    self.available[class as usize].push(b);
                }
            }
        }
        los::sweep(self, region, alloc_bits, mark_bits, &mut r);
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
    tagged: bool,
) -> (u64, u64) {
    let (mut live, mut freed) = (0, 0);
    let (Some(alloc), Some(mark)) = (
        alloc_bits.words_mut(start, BLOCK),
        mark_bits.words_mut(start, BLOCK),
    ) else {
        // Not reached with a page-aligned region (every block is whole
        // bitmap words); kept so that a region laid out otherwise is
        // still swept correctly, a cell at a time.
        for k in 0..BLOCK / size {
            let payload = start.add(k * size + HEADER_SIZE);
            if !alloc_bits.get(payload) {
                continue;
            }
            if mark_bits.get(payload) {
                mark_bits.put(payload, false);
                live += 1;
            } else {
                alloc_bits.put(payload, false);
                let _ = region.zero(header_of(payload), size);
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
            let cell = header_of(start.add(bit * 8));
            // I4: freed memory is zeroed and holds no tag (an unchecked
            // mode's region never holds one).
            let _ = if tagged {
                region.zero(cell, size)
            } else {
                region.zero_plain(cell, size)
            };
            freed += 1;
        }
    }
    (live, freed)
}
