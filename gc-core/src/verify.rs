//! The heap verifier: checks the heap-safety contract (DESIGN.md I1–I6)
//! over the whole heap and reports every violation it finds.
//!
//! What is checked, by invariant:
//! - **I1 exact bounds**: every reference in a heap slot, handle,
//!   persistent root or root region designates exactly a live object's
//!   payload — base = address = payload start, length = the padded payload
//!   length.
//! - **I2 header integrity**: every allocated object's header names a
//!   registered type and a length that fits its cell, and no header granule
//!   holds a tag (no capability ever covered it for a store).
//! - **I3 liveness**: every reference designates a live (allocated)
//!   object.
//! - **I4 no stale capability**: free cells and free blocks are all zero
//!   and hold no tag.
//! - **I5 monotonicity**: no reference carries permissions beyond the
//!   object permissions, or is sealed.
//! - **I6 tag integrity**: a tag appears only in a reference slot of the
//!   object's type (so data can never become a reference), never in
//!   padding or data.
//! - **I8 moving correctness**: no reference anywhere points into an
//!   evacuated (quarantined) block; with I1, every reference to a moved
//!   object is an exact reference to its new copy.
//! - **I9 barrier completeness** (Generational): every slot of an object
//!   outside the nursery that refers into the nursery is in the
//!   remembered set.
//!
//! In the unchecked modes there are no tags and references carry no
//! bounds: the verifier checks headers, that free memory is zero, and that
//! every non-null reference slot (by type map) and root holds a live
//! payload address; I1's bounds, I5 and I6 are *not enforced* there.

use crate::config::{Plan, ScanStrategy};
use crate::object::{header_of, HEADER_SIZE};
use crate::plan::marksweep::blocks::{BlockState, BLOCK};
use crate::trace::for_each_slot;
use crate::types::{ObjectType, ObjectView};
use crate::Heap;
use capability_heap::{Address, RefMode, GRANULE};

/// Where a reference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefLocation {
    /// A heap slot at this address.
    Slot(Address),
    /// Handle number `n` (from the bottom of the handle stack).
    Handle(u32),
    /// Persistent root number `n`.
    Persistent(u32),
    /// Slot `index` of root region `region`.
    RootRegion {
        /// Root region index.
        region: u32,
        /// Slot index.
        index: u64,
    },
}

/// One broken invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// I1: the reference's bounds, address or permissions are not exactly
    /// those of the live object at its address.
    InexactReference {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
    },
    /// I3: the reference does not designate a live object.
    DanglingReference {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
    },
    /// I2: a header granule holds a tag.
    TaggedHeader {
        /// The object's payload.
        object: Address,
    },
    /// I2: the header names no registered type or a length that does not
    /// fit the object's cell.
    CorruptHeader {
        /// The object's payload.
        object: Address,
    },
    /// I4: free memory holds a tag.
    TagInFreeMemory {
        /// The tagged granule.
        addr: Address,
    },
    /// I4: free memory is not zero.
    DirtyFreeMemory {
        /// The first non-zero byte.
        addr: Address,
    },
    /// I8: a reference into an evacuated (quarantined) block.
    IntoEvacuatedSpace {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
    },
    /// I9: an old-to-young reference that the remembered set lacks.
    UnrememberedSlot {
        /// The slot.
        slot: Address,
    },
    /// I6: a tag outside the reference slots of the object's type.
    TagOutsideRefSlot {
        /// The object's payload.
        object: Address,
        /// The tagged granule.
        addr: Address,
    },
}

impl Violation {
    /// The invariant broken (`"I1"` … `"I6"`).
    pub fn invariant(&self) -> &'static str {
        match self {
            Violation::InexactReference { .. } => "I1",
            Violation::TaggedHeader { .. } | Violation::CorruptHeader { .. } => "I2",
            Violation::DanglingReference { .. } => "I3",
            Violation::TagInFreeMemory { .. } | Violation::DirtyFreeMemory { .. } => "I4",
            Violation::TagOutsideRefSlot { .. } => "I6",
            Violation::IntoEvacuatedSpace { .. } => "I8",
            Violation::UnrememberedSlot { .. } => "I9",
        }
    }
}

impl<M: RefMode> Heap<M> {
    /// Checks I1–I6 over the whole heap; `Err` lists every violation.
    pub fn verify(&self) -> Result<(), Vec<Violation>> {
        let mut v = Vec::new();
        self.verify_roots(&mut v);
        let mut remset = self.remset.clone();
        remset.sort_unstable();
        let blocks = &self.space.blocks;
        for b in 0..blocks.high_water() {
            let start = blocks.addr(b);
            match blocks.state(b) {
                BlockState::Free | BlockState::Quarantined if blocks.is_dirty(b) => {
                    // Stale bytes awaiting zeroing before reuse: no tags.
                    if let Some(g) = self.region.tagged_granules(start, BLOCK).next() {
                        v.push(Violation::TagInFreeMemory { addr: g });
                    }
                }
                BlockState::Free => self.check_free(start, BLOCK, &mut v),
                BlockState::Small { class } => {
                    let size = self.space.classes.size(class);
                    for k in 0..BLOCK / size {
                        let cell = start.add(k * size);
                        let payload = cell.add(HEADER_SIZE);
                        if self.alloc_bits.get(payload) {
                            self.verify_object(payload, cell.add(size), Some(&remset), &mut v);
                        } else {
                            self.check_free(cell, size, &mut v);
                        }
                    }
                    // Tail of the block no cell covers.
                    let tail = (BLOCK / size) * size;
                    self.check_free(start.add(tail), BLOCK - tail, &mut v);
                }
                BlockState::Copy => self.verify_copy_block(start, &mut v),
                BlockState::Quarantined | BlockState::From => self.check_free(start, BLOCK, &mut v),
                BlockState::LargeHead | BlockState::LargeTail => {}
            }
        }
        for l in &self.space.large {
            let start = blocks.addr(l.first);
            let end = start.add(l.nblocks as u64 * BLOCK);
            self.check_free(start, header_of(l.payload).offset_from(start), &mut v);
            self.verify_object(l.payload, end, Some(&remset), &mut v);
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(v)
        }
    }

    /// I4: `[addr, addr + len)` is zero and untagged.
    fn check_free(&self, addr: Address, len: u64, v: &mut Vec<Violation>) {
        if let Some(g) = self.region.tagged_granules(addr, len).next() {
            v.push(Violation::TagInFreeMemory { addr: g });
        }
        let mut off = 0;
        while off < len {
            let w = self.region.read::<u64>(addr.add(off)).unwrap_or(0);
            if w != 0 {
                v.push(Violation::DirtyFreeMemory {
                    addr: addr.add(off),
                });
                return;
            }
            off += 8;
        }
    }

    /// I1/I3/I5: `raw` found at `at` designates exactly a live object.
    fn check_reference(&self, raw: &M::Ref, at: RefLocation, v: &mut Vec<Violation>) {
        if !M::is_valid(raw) {
            return;
        }
        let target = M::address(raw);
        if matches!(
            self.space.blocks.state_at(target),
            BlockState::Quarantined | BlockState::From
        ) {
            v.push(Violation::IntoEvacuatedSpace { at, target });
            return;
        }
        match self.object_at(target) {
            None => v.push(Violation::DanglingReference { at, target }),
            Some((_, len)) => {
                let padded = M::payload_layout(len).size;
                if !M::designates(raw, target, padded) {
                    v.push(Violation::InexactReference { at, target });
                }
            }
        }
    }

    fn verify_roots(&self, v: &mut Vec<Violation>) {
        for (i, (r, _)) in self.roots.handles.iter().enumerate() {
            self.check_reference(r, RefLocation::Handle(i as u32), v);
        }
        for (i, (r, _)) in self.roots.persistents.iter().enumerate() {
            if let Some(r) = r {
                self.check_reference(r, RefLocation::Persistent(i as u32), v);
            }
        }
        for (ri, (rr, _)) in self.roots.regions.iter().enumerate() {
            let Some(rr) = rr else { continue };
            let mem = &rr.memory;
            for slot in mem.tagged_granules(mem.base(), mem.len()) {
                // SAFETY: a tagged granule of the root region's memory is an
                // aligned slot inside it.
                let r = unsafe { M::read_slot(mem, slot) };
                let at = RefLocation::RootRegion {
                    region: ri as u32,
                    index: slot.offset_from(mem.base()) / GRANULE,
                };
                self.check_reference(&r, at, v);
            }
        }
    }

    /// Checks the objects of a copy-space block (bump-allocated, found by
    /// their alloc bits) and that the memory between them is free.
    fn verify_copy_block(&self, start: Address, v: &mut Vec<Violation>) {
        let end = start.add(BLOCK);
        let mut at = start;
        while let Some(p) = self.alloc_bits.next_set(at.add(HEADER_SIZE), end) {
            self.check_free(at, header_of(p).offset_from(at), v);
            let len = self.object_at(p).map_or(0, |(_, l)| l);
            let cell = (HEADER_SIZE + M::payload_layout(len).size)
                .next_multiple_of(self.space.cell_align())
                .min(end.offset_from(header_of(p)));
            self.verify_object(p, header_of(p).add(cell), None, v);
            at = header_of(p).add(cell);
        }
        self.check_free(at, end.offset_from(at), v);
    }

    /// Checks one allocated object whose cell ends at `end`; `remset` is
    /// given for objects outside the nursery (I9 applies to them).
    fn verify_object(
        &self,
        payload: Address,
        end: Address,
        remset: Option<&Vec<Address>>,
        v: &mut Vec<Violation>,
    ) {
        let header = header_of(payload);
        if self
            .region
            .tagged_granules(header, HEADER_SIZE)
            .next()
            .is_some()
        {
            v.push(Violation::TaggedHeader { object: payload });
        }
        let Some((ty, len)) = self.object_at(payload) else {
            return;
        };
        let fits = M::payload_layout(len).size <= end.offset_from(payload);
        let Some(info) = self.types.get(ty.0 as usize).filter(|_| fits) else {
            v.push(Violation::CorruptHeader { object: payload });
            return;
        };
        let fixed_ok = match info.kind {
            ObjectType::Fixed { size, .. } | ObjectType::Custom { size, .. } => size == len,
            _ => true,
        };
        if !fixed_ok {
            v.push(Violation::CorruptHeader { object: payload });
            return;
        }
        // References by type map (every mode).
        for_each_slot::<M>(
            &self.region,
            &self.types,
            ScanStrategy::TypeMap,
            payload,
            |slot| {
                // SAFETY: for_each_slot yields aligned slots inside the region.
                let r = unsafe { M::read_slot(&self.region, slot) };
                self.check_reference(&r, RefLocation::Slot(slot), v);
                let young = M::is_valid(&r)
                    && self.space.blocks.state_at(M::address(&r)) == BlockState::Copy;
                if let Some(rs) = remset {
                    if young
                        && self.config.plan == Plan::Generational
                        && rs.binary_search(&slot).is_err()
                    {
                        v.push(Violation::UnrememberedSlot { slot });
                    }
                }
            },
        );
        // I6: every tag in the cell is in a reference slot of the type.
        let view = ObjectView {
            region: &self.region,
            payload,
            len,
        };
        for g in self
            .region
            .tagged_granules(payload, end.offset_from(payload))
        {
            let off = g.offset_from(payload);
            if off >= len || !info.is_ref_slot(off, len, M::SLOT_SIZE, &view) {
                v.push(Violation::TagOutsideRefSlot {
                    object: payload,
                    addr: g,
                });
            }
        }
    }
}
