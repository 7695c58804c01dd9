//! The mutator's API: allocation, checked field access, reference fields
//! with the write barrier, narrowing, and type queries.
//!
//! Every access goes through the reference mode: in `SoftCheri` it is
//! checked through the reference's own capability, so it can reach only
//! that object's payload with that reference's permissions, and data
//! written over a reference slot clears its tag (I6). In the unchecked
//! modes only region containment is checked (what keeps the Rust API
//! sound); use-after-free, overflow into a neighbour and stale references
//! go undetected there, by design: that is the baseline the capability
//! modes are measured against.
//!
//! Allocation is a safepoint: it may collect, after which every
//! [`ObjRef`] obtained before is stale (checked modes refuse it with
//! [`GcError::StaleReference`]). Objects that must survive are held in
//! [`crate::Handle`]s, [`crate::Persistent`]s or root regions.

use crate::object::Header;
use crate::plan::generational::barrier;
use crate::types::{ObjectType, ObjectView, TypeId};
use crate::{GcError, Heap, ObjRef};
use capability_heap::{Address, PayloadLayout, Perms, RefMode, Scalar};

impl<M: RefMode> Heap<M> {
    // ---- allocation -------------------------------------------------------

    /// Allocates a fixed-size object (a `Fixed` or `Custom` type), zeroed.
    /// A safepoint: may collect.
    ///
    /// The fast path, for a small type — in Generational and SemiSpace a
    /// bump of the copy space's cursor, in MarkSweep the next free cell of the type's size
    /// class, then the header, alloc bit and reference that `init_object`
    /// makes, with the type's cell, class and header precomputed at
    /// registration — is inline for the moving plans' bump (with a
    /// derivation that skips the unchecked modes' region test: the cell
    /// is in a block of the region) and one call away for MarkSweep; the
    /// rest (a new block, a collection, large objects) is out of line.
    /// The bump path is inlined into the caller, as MMTk's and V8's
    /// allocation fast paths are: a call would cost more than the bump
    /// (the registers it saves, a `Result` passed through memory).
    #[inline(always)]
    pub fn alloc(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        if !self.constraints.moves_objects {
            return self.alloc_mark_sweep(ty);
        }
        if let Some(y) = self.types.young(ty) {
            if let Some(raw) = self.place_young(y) {
                return Ok(self.vouched(raw?));
            }
        }
        self.alloc_slow(ty)
    }

    /// [`Heap::alloc`] in a plan that does not move objects: MarkSweep's
    /// fast path, out of line so that the bump path above keeps few
    /// registers live.
    #[inline(never)]
    fn alloc_mark_sweep(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        if let Some(y) = self.types.young(ty) {
            if let Some(raw) = self.place_small(y) {
                return Ok(self.vouched(raw?));
            }
        }
        self.alloc_slow(ty)
    }

    /// [`Heap::alloc`] past the fast path.
    #[inline(never)]
    fn alloc_slow(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        let (len, layout) = self.types.fast(ty)?.fixed.ok_or(GcError::WrongKind(ty))?;
        self.alloc_in(ty, len, layout, false)
    }

    /// Allocates an array: `len` elements of a `RefArray` type (all null)
    /// or `len` bytes of a `ByteArray` type (all zero). A safepoint.
    pub fn alloc_array(&mut self, ty: TypeId, len: u64) -> Result<ObjRef<M>, GcError> {
        let bytes = match self.types.get(ty)?.kind {
            ObjectType::RefArray => len.checked_mul(M::SLOT_SIZE),
            ObjectType::ByteArray => Some(len),
            _ => return Err(GcError::WrongKind(ty)),
        };
        let limit = self.config.limit;
        let oom = GcError::OutOfMemory {
            requested: len,
            limit,
        };
        let bytes = bytes.filter(|b| *b <= limit).ok_or(oom.clone())?;
        if crate::object::packed::<M>() && bytes > crate::object::PACKED_MAX_LEN {
            // Native's one-word header holds a length below 4 GiB.
            return Err(GcError::BadLength { ty, len: bytes });
        }
        let layout = M::payload_layout(bytes).ok_or(oom)?;
        self.alloc_in(ty, bytes, layout, false)
    }

    /// Allocates a fixed-size object that never moves, in every plan
    /// (placed in the mark-sweep space and flagged pinned).
    pub fn alloc_pinned(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        let (len, layout) = self.types.fast(ty)?.fixed.ok_or(GcError::WrongKind(ty))?;
        self.alloc_in(ty, len, layout, true)
    }

    /// Allocates an object of type `ty` and payload length `len`, laid
    /// out as `layout` (the mode's padding and alignment for `len`).
    #[inline(always)]
    fn alloc_in(
        &mut self,
        ty: TypeId,
        len: u64,
        layout: PayloadLayout,
        pinned: bool,
    ) -> Result<ObjRef<M>, GcError> {
        self.usable()?;
        let limit = self.config.limit;
        let oom = || GcError::OutOfMemory {
            requested: len,
            limit,
        };
        if layout.size > limit {
            return Err(oom());
        }
        if self.zeal.allocation_due() {
            // Zeal's `collect:N`: a full collection at this safepoint.
            self.collect()?;
        }
        let Some(payload) = self.place(layout, pinned) else {
            // A collection refused for a shadow-stack entry says why.
            return Err(self.fast.refused.take().unwrap_or_else(oom));
        };
        self.usable()?; // a collection at this safepoint may have poisoned the heap
        let header = Header::new(ty.index(), len, pinned);
        self.stats.totals.objects_allocated += 1;
        self.stats.totals.caps_derived += u64::from(M::CHECKED);
        let raw = self.arena.init_object(payload, header, layout.bounds)?;
        Ok(self.vouched(raw))
    }

    /// The live object `obj` designates, checked as a reference to store
    /// or act on.
    fn header_of(&self, obj: &ObjRef<M>) -> Result<Header, GcError> {
        self.arena
            .object_at(obj.address())
            .ok_or(GcError::NotAnObject)
    }

    /// Pins `obj`: it never moves while pinned, in every plan (a pinned
    /// nursery object stays in its block, which is retained). Needs a
    /// reference with Store permission.
    pub fn pin(&mut self, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.set_pinned(obj, true)
    }

    /// Unpins `obj`; it may move at the next collection. Needs a reference
    /// with Store permission (a read-only view cannot unpin an object its
    /// owner pinned).
    pub fn unpin(&mut self, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.set_pinned(obj, false)
    }

    fn set_pinned(&mut self, obj: &ObjRef<M>, on: bool) -> Result<(), GcError> {
        self.live(obj)?; // null is storable, not pinnable
        self.storable(obj)?;
        M::check(&obj.raw, 0, 0, Perms::STORE, 1)?;
        let h = self.header_of(obj)?;
        Ok(self.arena.write_header(obj.address(), h.pinned(on))?)
    }

    /// True when `obj` is pinned.
    pub fn is_pinned(&self, obj: &ObjRef<M>) -> Result<bool, GcError> {
        self.live(obj)?;
        self.storable(obj)?;
        Ok(self.header_of(obj)?.is_pinned())
    }

    // ---- data access ------------------------------------------------------

    /// Reads a scalar at byte `offset` of `obj`'s payload.
    #[inline]
    pub fn read<T: Scalar>(&self, obj: &ObjRef<M>, offset: u64) -> Result<T, GcError> {
        self.live(obj)?;
        Ok(M::load::<T>(self.arena.region(), &obj.raw, offset)?)
    }

    /// Writes a scalar at byte `offset`; clears the tag of any reference it
    /// overwrites (I6).
    #[inline]
    pub fn write<T: Scalar>(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        value: T,
    ) -> Result<(), GcError> {
        self.live(obj)?;
        Ok(M::store::<T>(
            self.arena.region_mut(),
            &obj.raw,
            offset,
            value,
        )?)
    }

    /// Reads `out.len()` bytes at `offset`.
    pub fn read_bytes(&self, obj: &ObjRef<M>, offset: u64, out: &mut [u8]) -> Result<(), GcError> {
        self.live(obj)?;
        Ok(M::load_bytes(self.arena.region(), &obj.raw, offset, out)?)
    }

    /// Writes `data` at `offset`; clears overwritten tags (I6).
    pub fn write_bytes(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        data: &[u8],
    ) -> Result<(), GcError> {
        self.live(obj)?;
        Ok(M::store_bytes(
            self.arena.region_mut(),
            &obj.raw,
            offset,
            data,
        )?)
    }

    // ---- reference fields ----------------------------------------------------

    /// The fast path of the reference-slot check: the address of slot
    /// `offset` of `obj` when it is an aligned slot among the first 64 of
    /// the object's type (its bit is set in the type's precomputed map)
    /// and the object's header and that slot both lie in the region — one
    /// window test covers both (`Arena::holds_header_and_slots`), then one
    /// header load and a bit test.
    /// `None` sends the caller to the full check ([`Heap::ref_slot`]),
    /// which gives the precise error or accepts a slot the map does not
    /// cover.
    ///
    /// `obj` has passed `live`: in checked modes it is a reference of this
    /// epoch, so it designates a live object (I3) and its header is read —
    /// by the collector, not through the mutator's capability (I2) —
    /// without the alloc-bit test; in the unchecked modes a stale holder
    /// reads some header of the heap (memory-safe, and not caught there).
    #[inline(always)]
    pub(crate) fn ref_slot_fast(&self, obj: &ObjRef<M>, offset: u64) -> Option<Address> {
        let a = obj.address();
        let i = offset / M::SLOT_SIZE;
        let aligned = (offset | a.get()) % M::SLOT_SIZE == 0;
        // i < 64: the slot is among the 64 the window test covers.
        if !(aligned && i < 64 && self.arena.holds_header_and_slots(a)) {
            return None;
        }
        // SAFETY: the header lies in the region (checked just above).
        let ty = unsafe { Header::ty_unchecked::<M>(self.arena.region(), a) };
        (self.types.mask_by_index(ty) >> i & 1 != 0).then(|| a.add(offset))
    }

    /// Checks that `offset` is a reference slot of `obj`'s type — the same
    /// rule the tracer follows (`TypeInfo::for_each_slot`).
    #[inline(never)]
    pub(crate) fn ref_slot(&self, obj: &ObjRef<M>, offset: u64) -> Result<(), GcError> {
        let h = Header::read::<M>(self.arena.region(), obj.address())?;
        let i = offset / M::SLOT_SIZE;
        if offset % M::SLOT_SIZE == 0 && i < 64 && self.types.mask_by_index(h.ty()) >> i & 1 != 0 {
            return Ok(());
        }
        let ty = self.types.id(h.ty());
        let info = self.types.by_index(h.ty()).ok_or(GcError::NotAnObject)?;
        let view = ObjectView {
            region: self.arena.region(),
            payload: obj.address(),
            len: h.len(),
        };
        match info.is_ref_slot(offset, &view, M::SLOT_SIZE) {
            Ok(true) => Ok(()),
            Ok(false) => Err(GcError::NotARefSlot { ty, offset }),
            Err(_) => Err(GcError::TracePanicked),
        }
    }

    /// Loads the reference in slot `offset` of `obj` (null if none). The
    /// offset must be a reference slot of the object's type.
    ///
    /// In the unchecked modes the fast path is the slot check and a plain
    /// load; in `SoftCheri` the load is checked through `obj`'s
    /// capability as well.
    #[inline]
    pub fn get_ref(&self, obj: &ObjRef<M>, offset: u64) -> Result<ObjRef<M>, GcError> {
        if !M::CHECKED && !obj.is_null() && !self.slow {
            if let Some(slot) = self.ref_slot_fast(obj, offset) {
                // SAFETY: the slot is aligned and inside the region, which
                // this mode mapped (ref_slot_fast checked both).
                let raw = unsafe { M::read_slot(self.arena.region(), slot) };
                return Ok(self.stamped(raw));
            }
        }
        if M::CHECKED && self.is_vouched(obj) {
            if let Some(r) = self.get_ref_vouched(obj, offset) {
                return r;
            }
        }
        self.get_ref_checked(obj, offset)
    }

    /// True when `obj` carries [`crate::heap::VOUCHED`] and the current
    /// epoch: the heap vouches that it designates exactly a live object
    /// of this heap with at most the object rights (I1, I3, I5).
    #[inline(always)]
    fn is_vouched(&self, obj: &ObjRef<M>) -> bool {
        obj.stamp == self.arena.stamp() | crate::heap::VOUCHED
    }

    /// [`Heap::get_ref`] through a vouched holder (checked modes): `None`
    /// sends the caller to the full path, which gives the precise error.
    ///
    /// why this is still checked: `obj` is vouched for this epoch
    /// (`is_vouched`), so its capability's bounds are exactly the object's
    /// payload (I1); `ref_slot_fast` proved the slot is one of the type's
    /// mapped slots — which registration keeps inside the fixed payload
    /// (`types.rs`) — aligned, and inside the region, so the bounds and
    /// alignment steps of `load_ref`'s access check would pass. The tag,
    /// seal and permission steps (Load, LoadCap) are tested here through
    /// `M::grants` (a read-only view without LoadCap takes the full path,
    /// which strips the loaded tag). The loaded value is vouched only when
    /// it is tagged and not a sealed form: every tagged granule of the
    /// heap that is not a sealed form was stored by `set_ref` after
    /// `storable` (or re-derived exactly by the last collection, which
    /// also strips tags the tracer did not follow: `trace::object_slots`),
    /// and no object it designates dies before the next collection, which
    /// starts a new epoch (I3, I8); so `storable` would pass on it. A
    /// sealed form is refused here as in the full path (I7).
    #[inline(always)]
    fn get_ref_vouched(&self, obj: &ObjRef<M>, offset: u64) -> Option<Result<ObjRef<M>, GcError>> {
        let slot = self.ref_slot_fast(obj, offset)?;
        if !M::grants(&obj.raw, Perms::LOAD | Perms::LOAD_CAP) {
            return None;
        }
        debug_assert!(M::check(&obj.raw, offset, M::SLOT_SIZE, Perms::LOAD, M::SLOT_SIZE).is_ok());
        // The statistics count the holder's check as `live` does.
        self.stats.checks.set(self.stats.checks.get() + 1);
        // SAFETY: the slot is aligned and inside the region, which this
        // mode mapped (ref_slot_fast checked both).
        let raw = unsafe { M::read_slot(self.arena.region(), slot) };
        if M::is_valid(&raw) && !M::is_sealed_form(&raw) {
            debug_assert!(
                M::within_object_rights(&raw) && self.arena.object_at(M::address(&raw)).is_some()
            );
            return Some(Ok(self.vouched(raw)));
        }
        if self.is_sealed_here(&raw) {
            return Some(Err(GcError::SealedReference));
        }
        Some(Ok(self.stamped(raw)))
    }

    /// [`Heap::get_ref`] in full: the checked modes, and every refusal.
    #[inline(never)]
    fn get_ref_checked(&self, obj: &ObjRef<M>, offset: u64) -> Result<ObjRef<M>, GcError> {
        self.live(obj)?;
        let region = self.arena.region();
        let raw = match self.ref_slot_fast(obj, offset) {
            Some(_) => M::load_ref(region, &obj.raw, offset)?,
            None => {
                let raw = M::load_ref(region, &obj.raw, offset)?;
                self.ref_slot(obj, offset)?;
                raw
            }
        };
        // I7: a sealed reference held here is not an object of this heap.
        if self.is_sealed_here(&raw) {
            return Err(GcError::SealedReference);
        }
        Ok(self.stamped(raw))
    }

    /// Stores `value` (or null) in reference slot `offset` of `obj`. The
    /// offset must be a reference slot of the object's type, and in checked
    /// modes `value` must designate exactly a live object.
    ///
    /// The generational barrier follows the store: a block-state test of
    /// the value, then of the holder, and a push onto the remembered set
    /// only for an old-to-young store (I9). Inlined into the caller like
    /// [`Heap::alloc`]'s bump; the checked path is out of line.
    #[inline(always)]
    pub fn set_ref(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        value: &ObjRef<M>,
    ) -> Result<(), GcError> {
        // Unchecked modes: `live(obj)` is a null test and `storable(value)`
        // the poison test, so the fast path is the slot check, the store
        // and the barrier.
        if !M::CHECKED && !obj.is_null() && !self.slow {
            if let Some(slot) = self.ref_slot_fast(obj, offset) {
                // SAFETY: the slot is aligned and inside the region, which
                // this mode mapped (ref_slot_fast checked both); plain
                // memory has no tags to clear.
                unsafe { M::write_slot(self.arena.region_mut(), slot, &value.raw) };
                self.barrier(obj, offset, value);
                return Ok(());
            }
        }
        if M::CHECKED && self.is_vouched(obj) && self.is_vouched(value) && !self.poisoned {
            if let Some(slot) = self.ref_slot_fast(obj, offset) {
                if M::grants_store(&obj.raw, &value.raw) {
                    // why this is still checked: `obj` is vouched for this
                    // epoch, so its bounds are exactly the object's payload
                    // (I1), and `ref_slot_fast` proved the slot a mapped
                    // slot of its type (inside the fixed payload:
                    // `types.rs`), aligned and in the region — the bounds
                    // and alignment steps of `store_ref`'s check; its tag,
                    // seal and the permissions this value needs (Store,
                    // StoreCap, StoreLocalCap for a local value) are
                    // tested just above. `value` is vouched for this epoch
                    // on a healthy heap, so `storable` would pass on it
                    // (see `Heap::storable`). Tags: the value's own (I6).
                    debug_assert!(
                        M::within_object_rights(&value.raw)
                            && self.arena.object_at(value.address()).is_some()
                    );
                    debug_assert!(M::check(
                        &obj.raw,
                        offset,
                        M::SLOT_SIZE,
                        M::store_needs(&value.raw),
                        M::SLOT_SIZE
                    )
                    .is_ok());
                    self.stats.checks.set(self.stats.checks.get() + 2);
                    // SAFETY: the slot is aligned and inside the region,
                    // which this mode mapped (ref_slot_fast checked both);
                    // the value's tag is its own.
                    unsafe { M::write_slot(self.arena.region_mut(), slot, &value.raw) };
                    self.barrier(obj, offset, value);
                    return Ok(());
                }
            }
        }
        self.set_ref_checked(obj, offset, value)
    }

    /// [`Heap::set_ref`] in full: the checked modes, and every refusal.
    #[inline(never)]
    fn set_ref_checked(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        value: &ObjRef<M>,
    ) -> Result<(), GcError> {
        self.live(obj)?;
        self.storable(value)?;
        if self.ref_slot_fast(obj, offset).is_none() {
            self.ref_slot(obj, offset)?;
        }
        M::store_ref(self.arena.region_mut(), &obj.raw, offset, &value.raw)?;
        self.barrier(obj, offset, value);
        Ok(())
    }

    /// The generational write barrier after a store of `value` in slot
    /// `offset` of `obj` (I9).
    #[inline(always)]
    fn barrier(&mut self, obj: &ObjRef<M>, offset: u64, value: &ObjRef<M>) {
        if self.constraints.barrier && !value.is_null() {
            barrier::post_write(&mut self.arena, obj.address(), offset, value.address());
        }
    }

    /// The same reference with its permissions narrowed to `keep` (a
    /// read-only view: `Perms::LOAD | Perms::LOAD_CAP`). No-op in the
    /// unchecked modes.
    pub fn restrict(&self, obj: &ObjRef<M>, keep: Perms) -> Result<ObjRef<M>, GcError> {
        self.live(obj)?;
        Ok(ObjRef {
            raw: M::restrict(&obj.raw, keep)?,
            // No longer vouched: `storable` checks the rights again.
            stamp: obj.stamp & !crate::heap::VOUCHED,
        })
    }

    // ---- queries --------------------------------------------------------------

    /// The type of `obj`.
    pub fn type_of(&self, obj: &ObjRef<M>) -> Result<TypeId, GcError> {
        self.live(obj)?;
        M::check(&obj.raw, 0, 0, Perms::NONE, 1)?;
        Ok(self.types.id(self.header_of(obj)?.ty()))
    }

    /// The payload length of `obj` in bytes, as allocated.
    pub fn payload_len(&self, obj: &ObjRef<M>) -> Result<u64, GcError> {
        self.live(obj)?;
        M::check(&obj.raw, 0, 0, Perms::NONE, 1)?;
        Ok(self.header_of(obj)?.len())
    }

    /// Elements of a `RefArray` (or bytes of a `ByteArray`).
    pub fn array_len(&self, obj: &ObjRef<M>) -> Result<u64, GcError> {
        let ty = self.type_of(obj)?;
        let len = self.payload_len(obj)?;
        match self.types.get(ty)?.kind {
            ObjectType::RefArray => Ok(len / M::SLOT_SIZE),
            ObjectType::ByteArray => Ok(len),
            _ => Err(GcError::WrongKind(ty)),
        }
    }
}
