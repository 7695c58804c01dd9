//! MarkSweep: the non-moving plan.
//!
//! Space policy: the region is cut into 64 KiB [`blocks`]; each block
//! serves one size class of cells (16-byte header + payload); objects too
//! big for a class, or needing more alignment than a cell gives (CRAM of a
//! large object), go to the large-object space ([`los`]), which takes runs
//! of whole blocks. Allocation pops a per-class free list; sweeping
//! rebuilds the free lists, zeroing and un-tagging every freed cell (I4),
//! and returns blocks that hold nothing live.
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
use crate::object::HEADER_SIZE;
use capability_heap::{Address, PayloadLayout, RefMode, TaggedRegion};

/// The mark-sweep space.
pub(crate) struct MarkSweep {
    pub(crate) blocks: Blocks,
    pub(crate) classes: SizeClasses,
    /// Free cells (their payload addresses) per size class.
    free: Vec<Vec<Address>>,
    pub(crate) large: Vec<Large>,
    /// Alignment every cell (and so every small payload) has.
    cell_align: u64,
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
            free: (0..classes.count()).map(|_| Vec::new()).collect(),
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

    /// Allocates a zeroed cell for `layout`; returns its payload address.
    #[inline]
    pub(crate) fn alloc(
        &mut self,
        region: &mut TaggedRegion,
        layout: PayloadLayout,
    ) -> Option<Address> {
        let Some(class) = self.class_of(layout) else {
            return los::alloc(self, region, layout);
        };
        if let Some(p) = self.free[class as usize].pop() {
            return Some(p);
        }
        let block = self.blocks.alloc_small(class)?;
        let size = self.classes.size(class);
        let start = self.blocks.addr(block);
        if self.blocks.take_dirty(block) {
            let _ = region.zero(start, BLOCK);
        }
        let n = BLOCK / size;
        let list = &mut self.free[class as usize];
        // Hand out cells lowest address first.
        for k in (0..n).rev() {
            list.push(start.add(k * size + HEADER_SIZE));
        }
        list.pop()
    }

    /// Frees every allocated, unmarked object: zeroes its cell and clears
    /// its tags (I4) and alloc bit; clears the mark bits of survivors;
    /// rebuilds the free lists and returns empty blocks.
    pub(crate) fn sweep(
        &mut self,
        region: &mut TaggedRegion,
        alloc_bits: &mut SideBitmap,
        mark_bits: &mut SideBitmap,
    ) -> SweepResult {
        let mut r = SweepResult::default();
        for list in &mut self.free {
            list.clear();
        }
        for b in 0..self.blocks.len() {
            let BlockState::Small { class } = self.blocks.state(b) else {
                continue;
            };
            let size = self.classes.size(class);
            let start = self.blocks.addr(b);
            let list_start = self.free[class as usize].len();
            let mut live = 0u64;
            for k in 0..BLOCK / size {
                let cell = start.add(k * size);
                let payload = cell.add(HEADER_SIZE);
                if alloc_bits.get(payload) {
                    if mark_bits.get(payload) {
                        mark_bits.put(payload, false);
                        live += 1;
                        continue;
                    }
                    alloc_bits.put(payload, false);
                    // I4: freed memory is zeroed and holds no tag.
                    let _ = region.zero(cell, size);
                    r.freed_objects += 1;
                    r.freed_bytes += size;
                }
                self.free[class as usize].push(payload);
            }
            if live == 0 {
                self.free[class as usize].truncate(list_start);
                self.blocks.free(b, 1);
            } else {
                r.live_objects += live;
                r.live_bytes += live * size;
            }
        }
        // Lowest addresses are popped first.
        for list in &mut self.free {
            list.reverse();
        }
        los::sweep(self, region, alloc_bits, mark_bits, &mut r);
        r
    }
}
