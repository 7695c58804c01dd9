//! The heap verifier: checks the heap-safety contract (docs/design.md I1–I6,
//! I8, I9, and I7 for compartments) over the whole heap and reports
//! every violation it finds, with its location.
//!
//! What is checked, by invariant (each quoted from docs/design.md, "The
//! heap-safety contract", then how it is checked here):
//! - **I1 exact bounds** — "every tagged reference (in a heap slot, root,
//!   or handle) covers exactly one object's payload: base = payload start,
//!   length = payload length (padded to the representable length for large
//!   objects, the padding belonging to that object alone)." Every
//!   reference in a heap slot, handle, persistent root, root region or
//!   weak table designates exactly a live object's payload — base =
//!   address = payload start, length = the payload length in bytes,
//!   exactly, wherever the format represents it (a 5-byte array's
//!   reference is 5 bytes long, not a 16-byte granule), else its CRRL
//!   padding (`PayloadLayout::bounds`). In the unchecked modes only the
//!   address can be compared.
//! - **I2 header integrity** — "no mutator-held capability covers an
//!   object header or any GC metadata; only the collector's heap authority
//!   does." Every allocated object's header names a registered type and a
//!   length that fits its cell, and no header granule holds a tag (no
//!   capability ever covered it for a store).
//! - **I3 liveness** — "every tagged reference designates a live object of
//!   its own compartment, or is sealed and designates an exported object."
//!   Every unsealed reference designates a live (allocated) object of
//!   this heap; sealed ones are I7's.
//! - **I4 no stale capability** — "freed memory has no tag set and is
//!   zeroed before reuse; nothing tagged points into freed memory or
//!   from-space." Free cells and free blocks are zero and hold no tag;
//!   dirty blocks awaiting zeroing hold no tag (they are zeroed when handed
//!   out again).
//! - **I5 monotonicity** — "no reference has wider bounds or more
//!   permissions than the authority that derived it; mutator derivations
//!   only narrow." No reference carries rights beyond an object
//!   reference's (permissions within the object permissions, unsealed).
//! - **I6 tag integrity** — "a data write over any byte of a capability
//!   slot clears its tag; an untagged value can never be dereferenced or
//!   become a reference again." A tag appears only in a reference slot of
//!   the object's type (so data can never become a reference), never in
//!   padding or data.
//! - **I8 moving correctness** — "after a moving collection every root,
//!   handle and slot that referred to a moved object refers to the new
//!   copy, with bounds re-derived from the heap authority (never by
//!   widening the old one)." No reference anywhere points into an
//!   evacuated (quarantined) block; with I1, every reference to a moved
//!   object is an exact reference to its new copy.
//! - **I9 barrier completeness** — "in generational plans every old→young
//!   reference is remembered at each safepoint." (Plans with a barrier:)
//!   every slot of an object outside the nursery that refers into the
//!   nursery is in the remembered set.
//!
//! - **I7 compartment isolation** — "a compartment's mutator and
//!   collector hold authority over its own region only; no unsealed
//!   reference crosses." (Compartments:) the heap authority's bounds are
//!   exactly the compartment's region; every unsealed reference anywhere
//!   in the compartment (slots, roots, weak tables) is inside its region;
//!   every sealed reference into its own region designates a live entry
//!   of its export table that its own sealer accepts.
//!   [`crate::Compartments::verify`] checks the rest across compartments:
//!   regions disjoint, and every sealed reference into another live
//!   compartment designates a live export of it (I3's "sealed and
//!   designates an exported object").
//!
//! Where each
//! invariant is *upheld* (not just checked) the code says so by its number:
//! I1/I5 at [`crate::policy::Arena`]'s derivation, I2 in
//! [`crate::object`], I4 in the spaces' sweeps and block hand-out, I6 in
//! the region's data writes, I8 in [`crate::policy::evacuate`], I9 in
//! [`crate::plan::generational`]'s barrier.
//!
//! In the unchecked modes there are no tags and references carry no
//! bounds or rights: the verifier checks headers, that free memory is
//! zero, and that every non-null reference slot (by type map) and root
//! holds a live payload address; I1's bounds, I5 and I6 are *not
//! enforced* there. Where the heap is walked is `policy::Arena::walk`;
//! what must hold there is this module.

#[cfg(test)]
mod tests;

use crate::config::ScanStrategy;
use crate::object::{header_size, Header};
use crate::policy::block::Space;
use crate::policy::Area;
use crate::trace::for_each_slot;
use crate::types::ObjectView;
use crate::Heap;
use capability_heap::{Address, RefMode};

/// Where a reference was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefLocation {
    /// A heap slot at this address.
    Slot(Address),
    /// Handle table entry `n`.
    Handle(u32),
    /// Persistent root entry `n`.
    Persistent(u32),
    /// Slot `index` of root region entry `region`.
    RootRegion {
        /// Root region entry.
        region: u32,
        /// Slot index.
        index: u64,
    },
    /// Weak reference entry `n`.
    Weak(u32),
    /// Ephemeron entry `n` (its key or its value).
    Ephemeron(u32),
    /// Finalization registration entry `n`.
    Finalizer(u32),
    /// Export-table chunk `n` of a compartment (a root).
    ExportTable(u32),
    /// Entry `n` of the fast path's shadow stack (a root).
    ShadowStack(u32),
}

/// One broken invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Violation {
    /// I1: the reference's bounds or address are not exactly those of the
    /// live object at its address.
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
    /// I5: the reference carries rights beyond an object reference's
    /// (permissions outside the object permissions, or sealed).
    WidenedReference {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
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
    /// I7: an unsealed reference to memory outside this compartment's
    /// region (another compartment's object, or anything else).
    ForeignReference {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
    },
    /// I7 (and I3): a sealed reference that designates no live export
    /// entry of the compartment it points into, or that compartment's
    /// sealer does not accept.
    UnexportedSealed {
        /// Where the reference is.
        at: RefLocation,
        /// Its address.
        target: Address,
    },
    /// I7: the compartment's authority covers more (or other) memory than
    /// its own region.
    AuthorityOutsideRegion {
        /// The authority's base.
        base: Address,
        /// The authority's top (65 bits).
        top: u128,
    },
}

impl Violation {
    /// The invariant broken (`"I1"` … `"I9"`).
    pub fn invariant(&self) -> &'static str {
        match self {
            Violation::InexactReference { .. } => "I1",
            Violation::TaggedHeader { .. } | Violation::CorruptHeader { .. } => "I2",
            Violation::DanglingReference { .. } => "I3",
            Violation::TagInFreeMemory { .. } | Violation::DirtyFreeMemory { .. } => "I4",
            Violation::WidenedReference { .. } => "I5",
            Violation::TagOutsideRefSlot { .. } => "I6",
            Violation::ForeignReference { .. }
            | Violation::UnexportedSealed { .. }
            | Violation::AuthorityOutsideRegion { .. } => "I7",
            Violation::IntoEvacuatedSpace { .. } => "I8",
            Violation::UnrememberedSlot { .. } => "I9",
        }
    }
}

impl<M: RefMode> Heap<M> {
    /// Checks I1–I6, I8 and I9 over the whole heap, and I7 when the heap is
    /// a compartment (its authority, unsealed foreign references, sealed
    /// references into its own export table); `Err` lists every violation.
    pub fn verify(&self) -> Result<(), Vec<Violation>> {
        let mut v = Vec::new();
        if self.link.is_some() {
            self.check_authority(&mut v);
        }
        self.roots
            .for_each(|at, r| self.check_reference(&r, at, &mut v));
        self.weak
            .for_each(|at, r| self.check_reference(&r, at, &mut v));
        let remset = self.arena.remset().sorted();
        let barrier = self.constraints.barrier;
        self.arena.walk(|area| match area {
            Area::Free { start, len } => self.check_free(start, len, &mut v),
            Area::Dirty { start, len } => {
                // Stale bytes awaiting zeroing before reuse: no tags.
                if let Some(g) = self.arena.region().tagged_granules(start, len).next() {
                    v.push(Violation::TagInFreeMemory { addr: g });
                }
            }
            Area::Object {
                payload,
                end,
                young,
            } => {
                let remset = (barrier && !young).then_some(&remset[..]);
                self.verify_object(payload, end, remset, &mut v)
            }
        });
        if v.is_empty() {
            Ok(())
        } else {
            Err(v)
        }
    }

    /// I4: `[addr, addr + len)` is zero and untagged (or, under zeal's
    /// poison, each word zero or poison: it is zeroed before reuse).
    fn check_free(&self, addr: Address, len: u64, v: &mut Vec<Violation>) {
        let poison = self.arena.poisons();
        let region = self.arena.region();
        if let Some(g) = region.tagged_granules(addr, len).next() {
            v.push(Violation::TagInFreeMemory { addr: g });
        }
        let mut off = 0;
        while off < len {
            let w = region.read::<u64>(addr.add(off)).unwrap_or(0);
            if w != 0 && !(poison && w == crate::Zeal::POISON_WORD) {
                v.push(Violation::DirtyFreeMemory {
                    addr: addr.add(off),
                });
                return;
            }
            off += 8;
        }
    }

    /// I1/I3/I5/I8: `raw` found at `at` designates exactly a live object,
    /// with no more than an object reference's rights.
    fn check_reference(&self, raw: &M::Ref, at: RefLocation, v: &mut Vec<Violation>) {
        if !M::is_valid(raw) {
            return;
        }
        let target = M::address(raw);
        if self.link.is_some() && self.check_isolation(raw, at, v) {
            return;
        }
        if self.arena.is_evacuated(target) {
            v.push(Violation::IntoEvacuatedSpace { at, target });
            return;
        }
        let Some(h) = self.arena.object_at(target) else {
            v.push(Violation::DanglingReference { at, target });
            return;
        };
        let exact =
            M::payload_layout(h.len()).is_some_and(|l| M::designates(raw, target, l.bounds));
        if !exact {
            v.push(Violation::InexactReference { at, target });
        } else if !M::within_object_rights(raw) {
            v.push(Violation::WidenedReference { at, target });
        }
    }

    /// Checks one allocated object whose cell ends at `end`; `remset` is
    /// given for objects outside the nursery of a plan with a barrier (I9
    /// applies to them).
    fn verify_object(
        &self,
        payload: Address,
        end: Address,
        remset: Option<&[Address]>,
        v: &mut Vec<Violation>,
    ) {
        let region = self.arena.region();
        if region
            .tagged_granules(Header::at::<M>(payload), header_size::<M>())
            .next()
            .is_some()
        {
            v.push(Violation::TaggedHeader { object: payload });
        }
        let Some(h) = self.arena.object_at(payload) else {
            return;
        };
        let len = h.len();
        let fits = M::payload_layout(len).is_some_and(|l| l.size <= end.offset_from(payload));
        let info = self.types.by_index(h.ty()).filter(|_| fits);
        let Some(info) = info.filter(|i| i.fixed_size().map_or(true, |s| s == len)) else {
            v.push(Violation::CorruptHeader { object: payload });
            return;
        };
        // The reference slots are the ones the collector scans: by type map,
        // or — under `ScanStrategy::Tags`, where the tags are the truth —
        // every tagged granule of the payload (a tagged union whose tag word
        // flipped keeps a valid reference the collector kept alive, and it
        // is checked here like any other).
        let scan = self.config.scan;
        let _ = for_each_slot::<M>(region, &self.types, scan, payload, |slot| {
            // SAFETY: for_each_slot yields aligned slots inside the region.
            let r = unsafe { M::read_slot(region, slot) };
            self.check_reference(&r, RefLocation::Slot(slot), v);
            let young = M::is_valid(&r) && self.arena.space_at(M::address(&r)) == Space::Copy;
            if young && remset.is_some_and(|rs| rs.binary_search(&slot).is_err()) {
                v.push(Violation::UnrememberedSlot { slot });
            }
        });
        // I6: every tag in the cell is in a reference slot: of the type, or
        // under by-tag scanning, anywhere in the payload.
        let view = ObjectView {
            region,
            payload,
            len,
        };
        for g in region.tagged_granules(payload, end.offset_from(payload)) {
            let off = g.offset_from(payload);
            let by_tag = scan == ScanStrategy::Tags && off % M::SLOT_SIZE == 0;
            if off >= len || !by_tag && info.is_ref_slot(off, &view, M::SLOT_SIZE) != Ok(true) {
                v.push(Violation::TagOutsideRefSlot {
                    object: payload,
                    addr: g,
                });
            }
        }
    }
}
