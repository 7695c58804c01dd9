//! Space policies and the [`Arena`] that holds them.
//!
//! | file | policy |
//! |---|---|
//! | [`block`] | the block allocator: 64 KiB blocks, their states, dirty blocks zeroed at hand-out |
//! | [`marksweep_space`] | size-class cells, no free lists, bitmap-word sweeping |
//! | [`large_object_space`] | runs of blocks for large or CRAM-aligned objects |
//! | [`copy_space`] | bump allocation, quarantine, retained blocks |
//! | [`evacuate`] | copying with forwarding and I8 re-derivation |
//!
//! An [`Arena`] is the state a compartment will own one of: one mapped
//! region and its authority, the spaces carved from it, their side
//! bitmaps (alloc and mark bits), the remembered set, and the stamp that
//! names its current collection epoch. Its fields are private to this
//! module tree: the policies use them directly; plans, tracing, the
//! mutator and the verifier go through the methods below (allocation,
//! headers, space queries, marking, sweeping, evacuation, the heap walk).

pub(crate) mod block;
pub(crate) mod copy_space;
pub(crate) mod evacuate;
pub(crate) mod large_object_space;
pub(crate) mod marksweep_space;

use self::block::{BlockState, Blocks, Space, BLOCK};
use self::copy_space::CopySpace;
use self::large_object_space::LargeObjectSpace;
use self::marksweep_space::{MarkSweepSpace, SweepResult};
use crate::mark_bits::SideBitmap;
use crate::object::{header_size, Header};
use crate::plan::generational::barrier::RememberedSet;
use crate::GcError;
use capability_heap::{Address, CapFault, PayloadLayout, RefMode, TaggedRegion};

/// One region's allocator and collector state.
pub(crate) struct Arena<M: RefMode> {
    region: TaggedRegion,
    auth: M::Authority,
    blocks: Blocks,
    small: MarkSweepSpace,
    large: LargeObjectSpace,
    copy: CopySpace,
    alloc_bits: SideBitmap,
    mark_bits: SideBitmap,
    remset: RememberedSet,
    stamp: u64,
    /// Zeal's `poison`: freed memory is filled with poison, not left zero.
    poison: bool,
    /// The payload addresses `a` with `a - slot_window.0 <= slot_window.1`
    /// (wrapping): those whose header and first 64 slots all lie in the
    /// region ([`Arena::holds_header_and_slots`]).
    slot_window: (u64, u64),
}

/// A place in the mark-sweep space ([`Arena::mature_cell`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum MatureCell {
    /// A cell of a size class.
    Small { class: u16, bytes: u64 },
    /// A run of blocks for a large object.
    Large { layout: PayloadLayout, bytes: u64 },
}

impl MatureCell {
    /// Bytes of heap it takes.
    #[inline(always)]
    pub(crate) fn bytes(self) -> u64 {
        match self {
            MatureCell::Small { bytes, .. } | MatureCell::Large { bytes, .. } => bytes,
        }
    }
}

/// A stretch of the heap as the verifier sees it ([`Arena::walk`]).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Area {
    /// Free memory: must be zero and untagged (I4).
    Free { start: Address, len: u64 },
    /// Free memory awaiting zeroing before reuse: must be untagged (I4).
    Dirty { start: Address, len: u64 },
    /// An allocated object whose cell ends at `end`; `young` when it is in
    /// the copy space (the remembered set does not cover it).
    Object {
        payload: Address,
        end: Address,
        young: bool,
    },
}

/// The alignment of every cell in mode `M`: its payload alignment, 8 or 16.
pub(crate) fn cell_align<M: RefMode>() -> u64 {
    M::payload_layout(1).map_or(16, |l| l.align).clamp(8, 16)
}

/// The copy-space cell an object of `layout` takes in mode `M`, when it is
/// allocated there (small enough, no more aligned than a cell): what a
/// fixed-size type precomputes for the allocation fast path.
pub(crate) fn young_cell<M: RefMode>(layout: PayloadLayout) -> Option<u64> {
    let align = cell_align::<M>();
    copy_space::fits(align, layout).then(|| copy_space::cell_size(align, layout))
}

impl<M: RefMode> Arena<M> {
    /// Maps a region for a heap of `limit` bytes and mints its authority;
    /// `nursery` bounds the copy space (Generational).
    pub(crate) fn new(limit: u64, nursery: Option<u64>, stamp: u64) -> Result<Self, GcError> {
        let region = M::new_region(limit + BLOCK)?;
        // SAFETY: the arena owns the region and keeps the authority in a
        // private field, never handing it out (only exact object
        // references derived from it); both are dropped with the arena.
        let auth = unsafe { M::authority(&region) }?;
        let cell_align = cell_align::<M>();
        let base = region.base().align_up(BLOCK);
        let len = region.end().get().saturating_sub(base.get());
        let slot_window = (
            region.base().get() + header_size::<M>(),
            region
                .len()
                .saturating_sub(header_size::<M>() + 64 * M::SLOT_SIZE),
        );
        Ok(Arena {
            blocks: Blocks::new(base, len, limit)?,
            small: MarkSweepSpace::new(cell_align),
            large: LargeObjectSpace::new(),
            copy: CopySpace::new(cell_align, nursery),
            alloc_bits: SideBitmap::new(region.base(), region.len())?,
            mark_bits: SideBitmap::new(region.base(), region.len())?,
            remset: RememberedSet::default(),
            region,
            auth,
            stamp,
            poison: false,
            slot_window,
        })
    }

    /// True when the header before `payload` and the 64 slots after it
    /// lie in the region: one subtraction and one compare, the reference
    /// accessors' containment test for slots among a type's first 64.
    /// False only within a header or 64 slots of the region's ends, where
    /// the caller's full check decides.
    #[inline(always)]
    pub(crate) fn holds_header_and_slots(&self, payload: Address) -> bool {
        let (lo, span) = self.slot_window;
        payload.get().wrapping_sub(lo) <= span
    }

    /// The sealed form of the export entry `[at, at + len)` of this
    /// region, under `sealer` (I7: from this region's authority only).
    pub(crate) fn seal(
        &self,
        sealer: &M::Sealer,
        at: Address,
        len: u64,
    ) -> Result<M::Ref, CapFault> {
        M::seal(&self.auth, sealer, at, len)
    }

    /// The entry a sealed form designates, if this region's authority and
    /// `sealer` sealed it.
    pub(crate) fn unseal(
        &self,
        sealer: &M::Sealer,
        r: &M::Ref,
    ) -> Result<(Address, u64), CapFault> {
        M::unseal(&self.auth, sealer, r)
    }

    /// The authority's bounds `(base, top)` (the verifier's I7 check).
    pub(crate) fn authority_span(&self) -> (Address, u128) {
        M::authority_span(&self.auth)
    }

    /// Gives up the arena: its region, to be retired (a torn-down
    /// compartment); the authority is dropped here, before the region.
    pub(crate) fn into_region(self) -> TaggedRegion {
        self.region
    }

    /// The region, for the mode's checked accesses.
    #[inline(always)]
    pub(crate) fn region(&self) -> &TaggedRegion {
        &self.region
    }

    /// The region, for the mode's checked stores.
    #[inline(always)]
    pub(crate) fn region_mut(&mut self) -> &mut TaggedRegion {
        &mut self.region
    }

    /// The stamp of the current epoch ([`crate::ObjRef`]s carry it).
    #[inline(always)]
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp
    }

    /// Starts a new epoch: every reference of the old one is stale.
    pub(crate) fn set_stamp(&mut self, stamp: u64) {
        self.stamp = stamp;
    }

    /// Turns zeal's `poison` on or off for every space.
    pub(crate) fn set_poison(&mut self, on: bool) {
        self.poison = on;
        self.small.poison = on;
    }

    /// True under zeal's `poison` (the verifier accepts poisoned free
    /// memory).
    pub(crate) fn poisons(&self) -> bool {
        self.poison
    }

    /// The remembered set (old-to-young slots, Generational).
    pub(crate) fn remset(&self) -> &RememberedSet {
        &self.remset
    }

    /// The remembered set, to record a slot in.
    #[inline(always)]
    pub(crate) fn remset_mut(&mut self) -> &mut RememberedSet {
        &mut self.remset
    }

    // ---- allocation --------------------------------------------------------

    /// True when objects of `layout` can live in the copy space.
    #[inline(always)]
    pub(crate) fn copy_fits(&self, layout: PayloadLayout) -> bool {
        self.copy.fits(layout)
    }

    /// Bytes a copy-space cell for `layout` takes.
    #[inline(always)]
    pub(crate) fn copy_cell(&self, layout: PayloadLayout) -> u64 {
        self.copy.cell_size(layout)
    }

    /// The allocation fast path: bump-allocates a copy-space cell of
    /// `cell` bytes in the current block and makes it an object with
    /// `header` (precomputed per type in the mode's stored form,
    /// [`young_cell`], `Header::stored`) and a reference
    /// bounded to `padded` bytes. `None` when the block is full (the slow
    /// path takes a block or collects).
    #[inline(always)]
    pub(crate) fn alloc_young(
        &mut self,
        cell: u64,
        header: u128,
        padded: u64,
    ) -> Option<Result<M::Ref, CapFault>> {
        let payload = self.copy.bump(cell)?.add(header_size::<M>());
        // SAFETY: the cell was just bump-allocated in a copy-space block of
        // the region, zeroed and untagged when the block was handed out
        // (I4), and nothing has written it since: the header store leaves
        // no data under a tag (I6) and needs no tag clearing. As in
        // `init_object`, the header is the collector's write (I2) and the
        // reference is derived with exact bounds over the padded payload
        // and object permissions (I1, I5).
        unsafe { Header::write_stored_fresh::<M>(header, &mut self.region, payload) };
        self.alloc_bits.set_fresh(payload);
        // SAFETY: the payload and its `padded` bytes lie in the cell (a
        // type's young cell holds its header and padded payload), inside a
        // copy-space block of the region the authority was minted over.
        Some(unsafe { M::derive_inside(&self.auth, payload, padded) })
    }

    /// MarkSweep's allocation fast path: the next cell of `class` in its
    /// current block, if free, made an object as `init_object` does (its
    /// header, alloc bit and reference), without the region tests a cell
    /// of one of the heap's blocks cannot fail. `None` when the block has no next
    /// free cell (the slow path moves on).
    #[inline(always)]
    pub(crate) fn alloc_small_fast(
        &mut self,
        class: u16,
        header: u128,
        padded: u64,
    ) -> Option<Result<M::Ref, CapFault>> {
        let payload = self.small.alloc_fast(&self.alloc_bits, class)?;
        // SAFETY: the cell is a free cell of a block of the region (its
        // alloc bit clear), zeroed and untagged when it was freed or its
        // block handed out (I4) and not written since; the header is the
        // collector's write (I2). The type's padded payload fits its size
        // class's cell, so the reference's bounds lie in the region too
        // (exact bounds, object permissions: I1, I5).
        unsafe { Header::write_stored_fresh::<M>(header, &mut self.region, payload) };
        self.alloc_bits.set_fresh(payload);
        // SAFETY: as above.
        Some(unsafe { M::derive_inside(&self.auth, payload, padded) })
    }

    /// Lends the rest of the current copy-space block (`fast.rs`).
    pub(crate) fn lend_bump(&mut self) -> (u64, u64) {
        self.copy.lend_bump()
    }

    /// Takes a lent copy-space block back.
    pub(crate) fn return_bump(&mut self, cursor: u64, limit: u64) {
        self.copy.return_bump(cursor, limit);
    }

    /// Makes the object the fast path placed at `payload` (its header
    /// checked, in a lent copy-space block) an object: its alloc bit.
    pub(crate) fn adopt_young(&mut self, payload: Address) {
        self.alloc_bits.set_fresh(payload);
    }

    /// The block-state table, for the fast path's barrier filter: the
    /// first block's address, the table (one `u16` per 64 KiB block, at a
    /// fixed address for the arena's life) and its length.
    pub(crate) fn block_table(&self) -> (u64, *const u16, u64) {
        self.blocks.table()
    }

    /// Ends bump allocation into the current copy-space block: the fast
    /// path fails from now on, until the slow path takes a new block.
    pub(crate) fn close_bump_block(&mut self) {
        self.copy.close_block();
    }

    /// A copy-space cell of `cell` bytes; its payload address.
    #[inline(always)]
    pub(crate) fn alloc_copy(&mut self, cell: u64) -> Option<Address> {
        self.copy
            .alloc(&mut self.blocks, &mut self.region, cell)
            .map(|c| c.add(header_size::<M>()))
    }

    /// Where an object of `layout` goes in the mark-sweep space: a size
    /// class, or a run of blocks; `None` when no heap could hold it.
    #[inline(always)]
    pub(crate) fn mature_cell(&self, layout: PayloadLayout) -> Option<MatureCell> {
        match self.small.class_of(layout) {
            Some(class) => Some(MatureCell::Small {
                class,
                bytes: self.small.classes.size(class),
            }),
            None => {
                let n = large_object_space::blocks_needed(layout)?;
                Some(MatureCell::Large {
                    layout,
                    bytes: (n as u64).checked_mul(BLOCK)?,
                })
            }
        }
    }

    /// A zeroed cell (or run of blocks) in the mark-sweep space; its
    /// payload address.
    #[inline(always)]
    pub(crate) fn alloc_mature(&mut self, cell: MatureCell) -> Option<Address> {
        match cell {
            MatureCell::Small { class, .. } => {
                self.small
                    .alloc(&mut self.blocks, &mut self.region, &self.alloc_bits, class)
            }
            MatureCell::Large { layout, .. } => {
                self.large.alloc(&mut self.blocks, &mut self.region, layout)
            }
        }
    }

    /// Makes the zeroed cell at `payload` an object: writes its header
    /// (with the collector's own access, never a mutator capability: I2),
    /// sets its alloc bit, and derives its reference — exact bounds over
    /// the padded payload, object permissions only (I1, I5).
    #[inline(always)]
    pub(crate) fn init_object(
        &mut self,
        payload: Address,
        header: Header,
        padded: u64,
    ) -> Result<M::Ref, CapFault> {
        header.write::<M>(&mut self.region, payload)?;
        self.alloc_bits.set_fresh(payload);
        M::derive(&self.auth, payload, padded)
    }

    /// A reference to the payload `[payload, payload + padded)` with
    /// exact bounds and the object permissions, derived from the
    /// authority (I1, I5): for a live object the caller has found there.
    pub(crate) fn derive(&self, payload: Address, padded: u64) -> Result<M::Ref, CapFault> {
        M::derive(&self.auth, payload, padded)
    }

    // ---- objects -----------------------------------------------------------

    /// True when a live object's payload starts at `a` (its alloc bit).
    #[inline(always)]
    pub(crate) fn is_object(&self, a: Address) -> bool {
        self.alloc_bits.get(a)
    }

    /// A side bitmap over this region, all clear (the whole-heap
    /// collection's cross-compartment marks).
    pub(crate) fn new_bitmap(&self) -> Result<SideBitmap, GcError> {
        Ok(SideBitmap::new(self.region.base(), self.region.len())?)
    }

    /// The header of the live object whose payload starts at `payload`
    /// (its alloc bit is set), if there is one.
    #[inline(always)]
    pub(crate) fn object_at(&self, payload: Address) -> Option<Header> {
        if !self.alloc_bits.get(payload) {
            return None;
        }
        Header::read::<M>(&self.region, payload).ok()
    }

    /// Rewrites the header of the object at `payload`.
    pub(crate) fn write_header(&mut self, payload: Address, h: Header) -> Result<(), CapFault> {
        h.write::<M>(&mut self.region, payload)
    }

    /// The space `addr` lies in.
    #[inline(always)]
    pub(crate) fn space_at(&self, addr: Address) -> Space {
        self.blocks.space_at(addr)
    }

    /// True when `addr` lies in a copy-space block (a young object, for
    /// the write barrier): one load and a compare.
    #[inline(always)]
    pub(crate) fn is_young(&self, addr: Address) -> bool {
        self.blocks.is_copy(addr)
    }

    /// True when `addr` lies in an evacuated block (from-space or
    /// quarantine): nothing may refer there (I8).
    pub(crate) fn is_evacuated(&self, addr: Address) -> bool {
        matches!(
            self.blocks.state_at(addr),
            BlockState::From | BlockState::Quarantined
        )
    }

    // ---- marking and sweeping ----------------------------------------------

    /// Marks the live object at `a`; true when it was not marked yet (the
    /// caller scans it).
    #[inline(always)]
    pub(crate) fn try_mark(&mut self, a: Address) -> bool {
        self.alloc_bits.get(a) && !self.mark_bits.test_and_set(a)
    }

    /// True when the object at `a` is marked.
    #[inline(always)]
    pub(crate) fn is_marked(&self, a: Address) -> bool {
        self.mark_bits.get(a)
    }

    /// Frees every unmarked object of the mark-sweep space (small cells
    /// and large objects), zeroing and un-tagging it (I4); clears the marks.
    pub(crate) fn sweep(&mut self) -> SweepResult {
        let mut r = self.small.sweep(
            &mut self.blocks,
            &mut self.region,
            &mut self.alloc_bits,
            &mut self.mark_bits,
        );
        self.large.sweep(
            &mut self.blocks,
            &mut self.region,
            &mut self.alloc_bits,
            &mut self.mark_bits,
            &mut r,
            self.poison,
        );
        r
    }

    // ---- sizes -------------------------------------------------------------

    /// Blocks in use (every space).
    pub(crate) fn blocks_in_use(&self) -> u32 {
        self.blocks.in_use()
    }

    /// The most blocks in use at once so far.
    pub(crate) fn peak_blocks(&self) -> u32 {
        self.blocks.peak()
    }

    /// Bytes of blocks the copy space holds.
    pub(crate) fn copy_bytes(&self) -> u64 {
        self.copy.blocks_held() as u64 * BLOCK
    }

    /// The nursery size (`None` when the copy space is unbounded).
    pub(crate) fn nursery_max(&self) -> Option<u64> {
        self.copy.max_bytes()
    }

    /// Resizes the nursery.
    pub(crate) fn set_nursery_max(&mut self, bytes: u64) {
        self.copy.set_max_bytes(bytes)
    }

    // ---- the heap walk (verifier) -------------------------------------------

    /// Calls `f` with every stretch of every block ever used: free memory,
    /// dirty memory and allocated objects, in address order within a
    /// block.
    pub(crate) fn walk(&self, mut f: impl FnMut(Area)) {
        let blocks = &self.blocks;
        for b in 0..blocks.high_water() {
            let start = blocks.addr(b);
            match blocks.state(b) {
                BlockState::Free | BlockState::Quarantined if blocks.is_dirty(b) => {
                    f(Area::Dirty { start, len: BLOCK })
                }
                BlockState::Free | BlockState::Quarantined | BlockState::From => {
                    f(Area::Free { start, len: BLOCK })
                }
                BlockState::Small { class } => {
                    let size = self.small.classes.size(class);
                    for k in 0..BLOCK / size {
                        let cell = start.add(k * size);
                        let payload = cell.add(header_size::<M>());
                        if self.alloc_bits.get(payload) {
                            f(Area::Object {
                                payload,
                                end: cell.add(size),
                                young: false,
                            });
                        } else {
                            f(Area::Free {
                                start: cell,
                                len: size,
                            });
                        }
                    }
                    // The tail of the block no cell covers.
                    let tail = (BLOCK / size) * size;
                    f(Area::Free {
                        start: start.add(tail),
                        len: BLOCK - tail,
                    });
                }
                BlockState::Copy => self.walk_copy_block(start, &mut f),
                BlockState::LargeHead | BlockState::LargeTail => {}
            }
        }
        for l in &self.large.objects {
            let start = blocks.addr(l.first);
            f(Area::Free {
                start,
                len: Header::at::<M>(l.payload).offset_from(start),
            });
            f(Area::Object {
                payload: l.payload,
                end: start.add(l.nblocks as u64 * BLOCK),
                young: false,
            });
        }
    }

    /// The objects of a copy-space block (bump-allocated, found by their
    /// alloc bits) and the free memory between them.
    fn walk_copy_block(&self, start: Address, f: &mut impl FnMut(Area)) {
        let end = start.add(BLOCK);
        let mut at = start;
        while let Some(p) = self.alloc_bits.next_set(at.add(header_size::<M>()), end) {
            f(Area::Free {
                start: at,
                len: Header::at::<M>(p).offset_from(at),
            });
            let len = self.object_at(p).map_or(0, |h| h.len());
            let cell = M::payload_layout(len)
                .map_or(BLOCK, |l| self.copy.cell_size(l))
                .min(end.offset_from(Header::at::<M>(p)));
            f(Area::Object {
                payload: p,
                end: Header::at::<M>(p).add(cell),
                young: true,
            });
            at = Header::at::<M>(p).add(cell);
        }
        f(Area::Free {
            start: at,
            len: end.offset_from(at),
        });
    }
}

#[cfg(test)]
impl<M: RefMode> Arena<M> {
    /// Test-only corruption hooks (the verifier's negative tests): the
    /// authority (to forge inexact or widened references in tests).
    pub(crate) fn corrupt_authority(&self) -> &M::Authority {
        &self.auth
    }

    /// Swaps in another authority (the I7 negative test: one that covers
    /// another region), returning the old one.
    pub(crate) fn corrupt_swap_authority(&mut self, auth: M::Authority) -> M::Authority {
        core::mem::replace(&mut self.auth, auth)
    }

    /// A block's address and state, to find quarantined blocks.
    pub(crate) fn corrupt_blocks(&self) -> Vec<(Address, BlockState)> {
        (0..self.blocks.high_water())
            .map(|b| (self.blocks.addr(b), self.blocks.state(b)))
            .collect()
    }
}
