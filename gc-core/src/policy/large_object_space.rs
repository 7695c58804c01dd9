//! The large-object space: objects that need a run of whole blocks,
//! because they are bigger than the largest size class or because their
//! capability needs a payload alignment (CRAM) beyond a cell's. The
//! payload is placed at the first suitably aligned address after room for
//! the header; the blocks before and after it belong to the object (I1:
//! the padding is its own). Never moved.

use super::block::{Blocks, BLOCK};
use super::marksweep_space::SweepResult;
use crate::mark_bits::SideBitmap;
use crate::object::MAX_HEADER_SIZE;
use capability_heap::{Address, PayloadLayout, TaggedRegion};

/// One large object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Large {
    pub(crate) first: usize,
    pub(crate) nblocks: usize,
    pub(crate) payload: Address,
    /// Padded payload size.
    pub(crate) size: u64,
}

/// Offset of the payload from the first block: room for the largest
/// header (16 bytes: Native's 8-byte header leaves a word unused before
/// it, once per large object), then the alignment. For alignments beyond a block the run starts one block
/// before an aligned address.
fn payload_offset(align: u64) -> u64 {
    if align <= BLOCK {
        MAX_HEADER_SIZE.next_multiple_of(align)
    } else {
        BLOCK
    }
}

/// Blocks a large object of `layout` takes (`None`: more than any heap).
pub(crate) fn blocks_needed(layout: PayloadLayout) -> Option<usize> {
    let bytes = payload_offset(layout.align).checked_add(layout.size)?;
    usize::try_from(bytes.div_ceil(BLOCK)).ok()
}

/// The large objects of a heap.
pub(crate) struct LargeObjectSpace {
    pub(crate) objects: Vec<Large>,
}

impl LargeObjectSpace {
    pub(crate) fn new() -> Self {
        LargeObjectSpace {
            objects: Vec::new(),
        }
    }

    /// Allocates a large object; returns its payload address. The blocks
    /// are zeroed if they held stale bytes (I4).
    pub(crate) fn alloc(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        layout: PayloadLayout,
    ) -> Option<Address> {
        let n = blocks_needed(layout)?;
        let off = payload_offset(layout.align);
        self.objects.try_reserve(1).ok()?;
        let first = blocks.alloc_large(n, |a| a.add(off).is_aligned(layout.align))?;
        for b in first..first + n {
            blocks.zero_if_dirty(b, region);
        }
        let payload = blocks.addr(first).add(off);
        self.objects.push(Large {
            first,
            nblocks: n,
            payload,
            size: layout.size,
        });
        Some(payload)
    }

    /// Frees unmarked large objects (zeroing and un-tagging them, I4) and
    /// clears the marks of survivors.
    pub(crate) fn sweep(
        &mut self,
        blocks: &mut Blocks,
        region: &mut TaggedRegion,
        alloc_bits: &mut SideBitmap,
        mark_bits: &mut SideBitmap,
        r: &mut SweepResult,
        poison: bool,
    ) {
        let mut i = 0;
        while i < self.objects.len() {
            let l = self.objects[i];
            let bytes = l.nblocks as u64 * BLOCK;
            if mark_bits.get(l.payload) {
                mark_bits.put(l.payload, false);
                r.live_objects += 1;
                r.live_bytes += bytes;
                i += 1;
                continue;
            }
            alloc_bits.put(l.payload, false);
            let start = blocks.addr(l.first);
            let used = l.payload.offset_from(start) + l.size;
            let _ = region.zero(start, used);
            if poison {
                // Zeal: poisoned, and zeroed again when handed out (I4).
                super::block::poison(region, start, used);
                for b in l.first..l.first + l.nblocks {
                    blocks.set_dirty(b);
                }
            }
            blocks.free(l.first, l.nblocks);
            r.freed_objects += 1;
            r.freed_bytes += bytes;
            self.objects.swap_remove(i);
        }
    }
}
