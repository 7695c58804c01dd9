//! The large-object space of the mark-sweep plan: objects that need a run
//! of whole blocks, because they are bigger than the largest size class or
//! because their capability needs a payload alignment (CRAM) beyond a
//! cell's. The payload is placed at the first suitably aligned address
//! after room for the header; the blocks before and after it belong to
//! the object (I1: the padding is its own).

use super::blocks::BLOCK;
use super::{MarkSweep, SweepResult};
use crate::mark_bits::SideBitmap;
use crate::object::HEADER_SIZE;
use capability_heap::{Address, PayloadLayout, TaggedRegion};

/// One large object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Large {
    pub(crate) first: usize,
    pub(crate) nblocks: usize,
    pub(crate) payload: Address,
    pub(crate) size: u64,
}

/// Offset of the payload from the first block: room for the header, then
/// the alignment. For alignments beyond a block the run starts one block
/// before an aligned address.
fn payload_offset(align: u64) -> u64 {
    if align <= BLOCK {
        HEADER_SIZE.next_multiple_of(align)
    } else {
        BLOCK
    }
}

/// Blocks a large object of `layout` takes.
pub(crate) fn blocks_needed(layout: PayloadLayout) -> usize {
    (payload_offset(layout.align) + layout.size).div_ceil(BLOCK) as usize
}

/// Allocates a large object; returns its payload address.
pub(crate) fn alloc(
    ms: &mut MarkSweep,
    region: &mut TaggedRegion,
    layout: PayloadLayout,
) -> Option<Address> {
    let n = blocks_needed(layout);
    let off = payload_offset(layout.align);
    let first = ms
        .blocks
        .alloc_large(n, |a| a.add(off).is_aligned(layout.align))?;
    for b in first..first + n {
        ms.blocks.zero_if_dirty(b, region);
    }
    let payload = ms.blocks.addr(first).add(off);
    ms.large.push(Large {
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
    ms: &mut MarkSweep,
    region: &mut TaggedRegion,
    alloc_bits: &mut SideBitmap,
    mark_bits: &mut SideBitmap,
    r: &mut SweepResult,
) {
    let mut i = 0;
    while i < ms.large.len() {
        let l = ms.large[i];
        let bytes = l.nblocks as u64 * BLOCK;
        if mark_bits.get(l.payload) {
            mark_bits.put(l.payload, false);
            r.live_objects += 1;
            r.live_bytes += bytes;
            i += 1;
            continue;
        }
        alloc_bits.put(l.payload, false);
        let start = ms.blocks.addr(l.first);
        let used = l.payload.offset_from(start) + l.size;
        let _ = region.zero(start, used);
        ms.blocks.free(l.first, l.nblocks);
        r.freed_objects += 1;
        r.freed_bytes += bytes;
        ms.large.swap_remove(i);
    }
}
