//! The per-heap type registry: what an object's payload holds and where its
//! references are.
//!
//! Four kinds, as docs/design.md "Object model" asks: fixed-size objects with a
//! reference map (byte offsets of reference slots, each aligned to the
//! mode's slot size), arrays of references, byte arrays, and fixed-size
//! objects with a custom trace callback for everything else (tagged
//! unions, inline caches). Types are per heap, not global, so heaps stay
//! independent values; a [`TypeId`] names its heap.
//!
//! **One rule for reference slots.** [`TypeInfo::for_each_slot`] is the
//! only definition of which offsets of an object are reference slots: the
//! tracer follows exactly those, and the mutator's `set_ref` / `get_ref`
//! accept exactly those ([`TypeInfo::is_ref_slot`] is written over it). An
//! offset is a slot only if it is slot-aligned and the whole slot lies in
//! the payload as asked for (never in the padding). A custom callback's
//! answer may change as the object's data does (a union's tag word); the
//! tracer then clears the tags of granules it no longer reports
//! (`trace::strip_unreported`), so a reference the collector did not see
//! can never be loaded again (I3, I6).
//!
//! Reference maps are byte offsets rather than slot indices so that one
//! layout description can mix data and references freely; the price is
//! that a layout is mode-specific (slots are 8 bytes in `Native`, 16 in the
//! wide modes), which [`crate::Heap::record_type`] hides for the common
//! "N references then M data bytes" shape.

use crate::error::TypeError;
use crate::heap::HeapId;
use crate::object::Header;
use crate::{GcError, Heap};
use capability_heap::{Address, PayloadLayout, RefMode, Scalar, TaggedRegion};
use core::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A registered type, valid in the heap that registered it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId {
    heap: HeapId,
    index: u32,
}

impl TypeId {
    /// The type's index in its heap's registry (what an object header
    /// stores).
    pub fn index(self) -> u32 {
        self.index
    }
}

impl TypeId {
    /// The id as a word (heap identity high, index low), for code that
    /// keeps it as a number (the C ABI).
    pub fn to_bits(self) -> u64 {
        u64::from(self.heap.bits()) << 32 | u64::from(self.index)
    }

    /// An id from [`TypeId::to_bits`]; any bits are safe: another heap's
    /// is refused ([`GcError::WrongHeap`]), and an unknown index or bits
    /// no heap issued (a bare index such as 3) are
    /// [`GcError::UnknownType`].
    pub fn from_bits(w: u64) -> TypeId {
        TypeId {
            heap: HeapId::from_bits((w >> 32) as u32),
            index: w as u32,
        }
    }
}

impl fmt::Debug for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeId({}@{:?})", self.index, self.heap)
    }
}

/// A custom trace callback: given a read-only view of the object, report
/// the byte offset of every slot that holds a reference. It may be called
/// at any time (by the tracer, by `set_ref`/`get_ref`, by the verifier)
/// and must not panic; one that does during a collection poisons the heap
/// ([`GcError::Poisoned`]).
pub type TraceFn = fn(&ObjectView<'_>, &mut dyn FnMut(u64));

/// What a type's objects look like.
#[derive(Clone, Debug)]
pub enum ObjectType {
    /// `size` payload bytes; references at `ref_offsets`.
    Fixed {
        /// Payload size in bytes.
        size: u64,
        /// Byte offsets of the reference slots (slot-aligned, in bounds).
        ref_offsets: Vec<u64>,
    },
    /// An array of references; the element count is given at allocation.
    RefArray,
    /// An array of bytes with no references; the length is given at
    /// allocation.
    ByteArray,
    /// `size` payload bytes whose references `trace` reports.
    Custom {
        /// Payload size in bytes.
        size: u64,
        /// Reports the reference slots of one object.
        trace: TraceFn,
    },
    /// As `Custom`, with a closure (a callback with its context, as a C
    /// VM registers one).
    Traced {
        /// Payload size in bytes.
        size: u64,
        /// Reports the reference slots of one object.
        trace: TraceClosure,
    },
}

/// A trace callback with its context ([`ObjectType::Traced`]). The same
/// rules as [`TraceFn`]: it may be called at any time and must not
/// panic.
#[derive(Clone)]
pub struct TraceClosure(pub std::sync::Arc<TraceDyn>);

/// The closure a [`TraceClosure`] holds.
pub type TraceDyn = dyn Fn(&ObjectView<'_>, &mut dyn FnMut(u64)) + Send + Sync;

impl fmt::Debug for TraceClosure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TraceClosure(..)")
    }
}

impl ObjectType {
    /// Largest fixed-size payload accepted (1 GiB).
    pub const MAX_FIXED_SIZE: u64 = 1 << 30;
    /// Most reference offsets a `Fixed` type may list (65536): the list is
    /// kept, 8 bytes an offset, so a longer one would cost the heap that
    /// much metadata per type. Records ([`Heap::record_type`]: the
    /// references first, then data) keep only their count and take any
    /// number of slots within [`ObjectType::MAX_FIXED_SIZE`]; arrays
    /// (`RefArray`) have an implicit map too.
    pub const MAX_FIXED_REFS: u64 = 1 << 16;
}

/// A trace callback panicked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TracePanic;

/// A registered type as the collector uses it.
#[derive(Clone, Debug)]
pub(crate) struct TypeInfo {
    pub(crate) kind: ObjectType,
    /// For `Fixed` types whose references all lie in the first 64 slots:
    /// bit *i* set when slot *i* is a reference (the fast path of tracing
    /// and of the reference-slot check).
    pub(crate) ref_mask: Option<u64>,
    /// For a record ([`Heap::record_type`]) of more than 64 slots: its
    /// references are exactly the first `n` slots. A record's `kind` lists
    /// no offsets, whatever its size: its map is this count or `ref_mask`
    /// (a list of one offset per slot would cost 8 bytes a slot).
    pub(crate) leading: Option<u64>,
}

impl TypeInfo {
    fn new(kind: ObjectType, slot: u64) -> TypeInfo {
        let ref_mask = match &kind {
            ObjectType::Fixed { ref_offsets, .. } if ref_offsets.iter().all(|o| o / slot < 64) => {
                Some(ref_offsets.iter().fold(0u64, |m, o| m | 1 << (o / slot)))
            }
            _ => None,
        };
        TypeInfo {
            kind,
            ref_mask,
            leading: None,
        }
    }

    /// A record of `refs` reference slots, then data, in `size` bytes:
    /// its map is the mask of its first `refs` slots, or past 64 slots
    /// their count.
    fn record(refs: u64, size: u64) -> TypeInfo {
        let small = refs <= 64;
        TypeInfo {
            kind: ObjectType::Fixed {
                size,
                ref_offsets: Vec::new(),
            },
            // The low `refs` bits (none for 0).
            ref_mask: small.then(|| u64::MAX.checked_shr(64 - refs as u32).unwrap_or(0)),
            leading: (!small).then_some(refs),
        }
    }

    /// The payload size of a fixed-size type (`Fixed`, `Custom`).
    pub(crate) fn fixed_size(&self) -> Option<u64> {
        match self.kind {
            ObjectType::Fixed { size, .. }
            | ObjectType::Custom { size, .. }
            | ObjectType::Traced { size, .. } => Some(size),
            ObjectType::RefArray | ObjectType::ByteArray => None,
        }
    }

    /// True for a type with a custom trace callback.
    pub(crate) fn is_custom(&self) -> bool {
        matches!(
            self.kind,
            ObjectType::Custom { .. } | ObjectType::Traced { .. }
        )
    }

    /// Calls `f` with the offset of every reference slot of `view`'s
    /// object, ascending for every kind but `Custom` (in the callback's
    /// order, filtered by the slot rule). The one definition of a slot.
    pub(crate) fn for_each_slot(
        &self,
        view: &ObjectView<'_>,
        slot: u64,
        mut f: impl FnMut(u64),
    ) -> Result<(), TracePanic> {
        let len = view.len;
        if let Some(mut mask) = self.ref_mask {
            while mask != 0 {
                f(u64::from(mask.trailing_zeros()) * slot);
                mask &= mask - 1;
            }
            return Ok(());
        }
        if let Some(n) = self.leading {
            (0..n).for_each(|i| f(i * slot));
            return Ok(());
        }
        match &self.kind {
            ObjectType::Fixed { ref_offsets, .. } => ref_offsets.iter().for_each(|&o| f(o)),
            ObjectType::RefArray => (0..len / slot).for_each(|i| f(i * slot)),
            ObjectType::ByteArray => {}
            ObjectType::Custom { trace, .. } => call(view, slot, f, |v, visit| trace(v, visit))?,
            ObjectType::Traced { trace, .. } => {
                call(view, slot, f, |v, visit| (trace.0)(v, visit))?
            }
        }
        Ok(())
    }

    /// True when `offset` is a reference slot of `view`'s object
    /// (exactly the offsets [`TypeInfo::for_each_slot`] reports).
    #[inline(always)]
    pub(crate) fn is_ref_slot(
        &self,
        offset: u64,
        view: &ObjectView<'_>,
        slot: u64,
    ) -> Result<bool, TracePanic> {
        if let Some(mask) = self.ref_mask {
            return Ok(offset % slot == 0
                && offset / slot < 64
                && mask >> (offset / slot) & 1 != 0);
        }
        if !slot_fits(offset, slot, view.len) {
            return Ok(false);
        }
        if let Some(n) = self.leading {
            return Ok(offset / slot < n);
        }
        match &self.kind {
            ObjectType::Fixed { ref_offsets, .. } => Ok(ref_offsets.binary_search(&offset).is_ok()),
            ObjectType::RefArray => Ok(true),
            ObjectType::ByteArray => Ok(false),
            ObjectType::Custom { .. } | ObjectType::Traced { .. } => {
                let mut found = false;
                self.for_each_slot(view, slot, |o| found |= o == offset)?;
                Ok(found)
            }
        }
    }
}

/// Calls a trace callback, passing on the offsets that obey the slot
/// rule; a panic is caught and reported.
fn call(
    view: &ObjectView<'_>,
    slot: u64,
    mut f: impl FnMut(u64),
    trace: impl FnOnce(&ObjectView<'_>, &mut dyn FnMut(u64)),
) -> Result<(), TracePanic> {
    let len = view.len;
    let mut visit = |o: u64| {
        if slot_fits(o, slot, len) {
            f(o)
        }
    };
    catch_unwind(AssertUnwindSafe(|| trace(view, &mut visit))).map_err(|_| TracePanic)
}

/// The slot rule: slot-aligned, and the whole slot inside the payload.
#[inline(always)]
fn slot_fits(offset: u64, slot: u64, len: u64) -> bool {
    offset % slot == 0 && offset.checked_add(slot).is_some_and(|e| e <= len)
}

/// Checks a type description against the mode's slot size.
fn validate(ty: &ObjectType, slot: u64) -> Result<ObjectType, TypeError> {
    let size = match ty {
        ObjectType::Fixed { size, .. }
        | ObjectType::Custom { size, .. }
        | ObjectType::Traced { size, .. } => *size,
        ObjectType::RefArray | ObjectType::ByteArray => 0,
    };
    if size > ObjectType::MAX_FIXED_SIZE {
        return Err(TypeError::TooLarge(size));
    }
    if let ObjectType::Fixed { ref_offsets, .. } = ty {
        let n = ref_offsets.len() as u64;
        if n > ObjectType::MAX_FIXED_REFS {
            return Err(TypeError::TooManyRefs(n));
        }
    }
    let mut ty = ty.clone();
    if let ObjectType::Fixed { size, ref_offsets } = &mut ty {
        ref_offsets.sort_unstable();
        ref_offsets.dedup();
        for &o in ref_offsets.iter() {
            if o % slot != 0 {
                return Err(TypeError::MisalignedOffset(o));
            }
            if !slot_fits(o, slot, *size) {
                return Err(TypeError::OffsetOutOfBounds(o));
            }
        }
    }
    Ok(ty)
}

/// What the hot paths need of a type, precomputed at registration in a
/// dense table: allocation (the padded layout of a fixed-size type, so
/// CRRL/CRAM are not recomputed per object), the reference-slot check and
/// the tracer's fast path (the slot bitmap).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TypeFast {
    /// Bit *i* set when slot *i* is a reference, for a `Fixed` type whose
    /// slots all lie in the first 64 (`mapped`).
    pub(crate) mask: u64,
    /// True when `mask` is the type's whole slot map.
    pub(crate) mapped: bool,
    /// The payload length of a fixed-size type, and its layout in the
    /// heap's mode; `None` for arrays.
    pub(crate) fixed: Option<(u64, PayloadLayout)>,
    /// The bump allocation of a fixed-size type small enough for the copy
    /// space; `None` for arrays and large types.
    pub(crate) young: Option<YoungCell>,
}

/// A fixed-size type's copy-space allocation, precomputed at registration
/// so the allocation fast path is a bump, one header store, an alloc bit
/// and a derivation: the header every object of the type starts with, the
/// cell it takes and the length its reference is bounded to
/// (`padded`: [`PayloadLayout::bounds`], the payload length exactly where
/// representable — I1).
/// The same type's mark-sweep size class and its cell size (`class`, set
/// by [`Heap::register_type`], which knows the heap's size classes) make
/// MarkSweep's allocation a cursor step the same way.
#[derive(Clone, Copy, Debug)]
pub(crate) struct YoungCell {
    pub(crate) header: Header,
    /// `header` as the mode stores it (`Header::stored`).
    pub(crate) stored: u128,
    pub(crate) cell: u64,
    pub(crate) padded: u64,
    pub(crate) class: Option<(u16, u64)>,
}

/// Why `id` is not this heap's (the cold side of `Types::owns`).
#[cold]
fn foreign_type(id: TypeId) -> GcError {
    if id.heap.was_issued() {
        GcError::WrongHeap
    } else {
        GcError::UnknownType(id)
    }
}

/// The types of one heap.
pub(crate) struct Types {
    heap: HeapId,
    infos: Vec<TypeInfo>,
    fast: Vec<TypeFast>,
    /// `fast[i].mask`, densely: the reference-slot check's one load.
    masks: Vec<u64>,
    /// False under zeal: no type gets a [`YoungCell`], so every
    /// allocation takes the slow path, where zeal counts it (the inline
    /// fast paths test no zeal flag; the evacuator computes what the
    /// young cell would have precomputed).
    fast_alloc: bool,
}

impl Types {
    pub(crate) fn new(heap: HeapId, fast_alloc: bool) -> Types {
        Types {
            heap,
            infos: Vec::new(),
            fast: Vec::new(),
            masks: Vec::new(),
            fast_alloc,
        }
    }

    /// Registers a validated type for mode `M`.
    fn register<M: RefMode>(&mut self, ty: &ObjectType) -> Result<TypeId, GcError> {
        let kind = validate(ty, M::SLOT_SIZE)?;
        self.register_info::<M>(TypeInfo::new(kind, M::SLOT_SIZE))
    }

    /// Registers a record of `refs` slots then data, `size` bytes in all
    /// (checked by the caller, so the slots fit): its map is a mask or a
    /// count ([`TypeInfo::record`]), never a list.
    fn register_record<M: RefMode>(&mut self, refs: u64, size: u64) -> Result<TypeId, GcError> {
        self.register_info::<M>(TypeInfo::record(refs, size))
    }

    fn register_info<M: RefMode>(&mut self, info: TypeInfo) -> Result<TypeId, GcError> {
        let index = u32::try_from(self.infos.len()).map_err(|_| TypeError::TooMany)?;
        if crate::object::packed::<M>() && u64::from(index) >= crate::object::PACKED_MAX_TYPES {
            // Native's one-word header holds a type index below 2^24.
            return Err(TypeError::TooMany.into());
        }
        self.infos.try_reserve(1).map_err(|_| TypeError::TooMany)?;
        self.fast.try_reserve(1).map_err(|_| TypeError::TooMany)?;
        self.masks.try_reserve(1).map_err(|_| TypeError::TooMany)?;
        let fixed = match info.fixed_size() {
            Some(len) => Some((len, M::payload_layout(len).ok_or(TypeError::TooLarge(len))?)),
            None => None,
        };
        let young = fixed.filter(|_| self.fast_alloc).and_then(|(len, layout)| {
            crate::policy::young_cell::<M>(layout).map(|cell| YoungCell {
                header: Header::new(index, len, false),
                stored: Header::new(index, len, false).stored::<M>(),
                cell,
                padded: layout.bounds,
                class: None,
            })
        });
        self.masks.push(info.ref_mask.unwrap_or(0));
        self.fast.push(TypeFast {
            mask: info.ref_mask.unwrap_or(0),
            mapped: info.ref_mask.is_some(),
            fixed,
            young,
        });
        self.infos.push(info);
        Ok(TypeId {
            heap: self.heap,
            index,
        })
    }

    /// Records the mark-sweep size class of the fixed-size type `id`.
    fn set_class(&mut self, id: TypeId, class: u16, bytes: u64) {
        if let Some(y) = self
            .fast
            .get_mut(id.index as usize)
            .and_then(|f| f.young.as_mut())
        {
            y.class = Some((class, bytes));
        }
    }

    /// Refuses an id that is not this heap's: another heap's is
    /// [`GcError::WrongHeap`]; one no heap ever issued (a bare index, bits
    /// made up) is [`GcError::UnknownType`], so that a VM that passes a
    /// small number is not sent looking for a second heap.
    #[inline(always)]
    fn owns(&self, id: TypeId) -> Result<(), GcError> {
        if id.heap == self.heap {
            return Ok(());
        }
        Err(foreign_type(id))
    }

    /// The type `id` names, if it is one of this heap's.
    #[inline(always)]
    pub(crate) fn get(&self, id: TypeId) -> Result<&TypeInfo, GcError> {
        self.owns(id)?;
        self.infos
            .get(id.index as usize)
            .ok_or(GcError::UnknownType(id))
    }

    /// The precomputed facts of the type `id` names.
    #[inline(always)]
    pub(crate) fn fast(&self, id: TypeId) -> Result<&TypeFast, GcError> {
        self.owns(id)?;
        self.fast
            .get(id.index as usize)
            .ok_or(GcError::UnknownType(id))
    }

    /// The young cell of the type `id` names, when it is one of this
    /// heap's fixed-size types small enough for the copy space: the
    /// allocation fast paths' lookup (the bump and MarkSweep's size-class
    /// cell). `None` sends the caller to the slow path, which gives the
    /// precise error (`Types::fast`).
    #[inline(always)]
    pub(crate) fn young(&self, id: TypeId) -> Option<YoungCell> {
        if id.heap != self.heap {
            return None;
        }
        self.fast.get(id.index as usize)?.young
    }

    /// The type a header's index names (the collector's lookup).
    #[inline(always)]
    pub(crate) fn by_index(&self, index: u32) -> Option<&TypeInfo> {
        self.infos.get(index as usize)
    }

    /// The precomputed facts of the type a header's index names.
    #[inline(always)]
    pub(crate) fn fast_by_index(&self, index: u32) -> Option<&TypeFast> {
        self.fast.get(index as usize)
    }

    /// The padded layout of the object whose header is `h`: its
    /// fixed-size type's precomputed one (with the type's young cell and
    /// size class), or, for an array, computed from the header's length;
    /// `None` for a length no layout fits. The one rule the stored-reference
    /// check (`Heap::storable`) and the evacuator share, so neither computes
    /// CRRL/CRAM or a size class per object.
    #[inline(always)]
    pub(crate) fn layout_of<M: RefMode>(
        &self,
        h: Header,
    ) -> Option<(PayloadLayout, Option<YoungCell>)> {
        match self.fast_by_index(h.ty()) {
            Some(TypeFast {
                fixed: Some((len, layout)),
                young,
                ..
            }) if *len == h.len() => Some((*layout, *young)),
            _ => M::payload_layout(h.len()).map(|l| (l, None)),
        }
    }

    /// The slot bitmap of the type at `index` (0 when it has none: then
    /// the full rule is asked, `TypeInfo::is_ref_slot`).
    #[inline(always)]
    pub(crate) fn mask_by_index(&self, index: u32) -> u64 {
        self.masks.get(index as usize).copied().unwrap_or(0)
    }

    /// The id of the type at `index`.
    pub(crate) fn id(&self, index: u32) -> TypeId {
        TypeId {
            heap: self.heap,
            index,
        }
    }
}

/// Read-only access to one object's payload, for custom trace callbacks.
/// Reads outside the payload return `None`.
pub struct ObjectView<'a> {
    pub(crate) region: &'a TaggedRegion,
    pub(crate) payload: Address,
    pub(crate) len: u64,
}

impl ObjectView<'_> {
    /// Payload length in bytes (as allocated, before padding).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for a zero-length payload.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads a scalar at `offset`, or `None` outside the payload.
    pub fn read<T: Scalar>(&self, offset: u64) -> Option<T> {
        if offset.checked_add(T::SIZE)? > self.len {
            return None;
        }
        self.region.read::<T>(self.payload.add(offset)).ok()
    }
}

impl<M: RefMode> Heap<M> {
    /// The id of this heap's type with index `index` (what
    /// [`TypeId::index`] gives; for code that keeps type ids as numbers).
    pub fn type_id(&self, index: u32) -> Result<TypeId, GcError> {
        let id = self.types.id(index);
        self.types.get(id).map(|_| id)
    }

    /// Bytes of one reference slot in this mode.
    pub const SLOT: u64 = M::SLOT_SIZE;

    /// Byte offset of reference slot `i` in a [`Heap::record_type`] object.
    pub const fn ref_offset(i: u32) -> u64 {
        i as u64 * M::SLOT_SIZE
    }

    /// Byte offset of the data section of a [`Heap::record_type`] object
    /// with `refs` reference slots.
    pub const fn data_offset(refs: u32) -> u64 {
        refs as u64 * M::SLOT_SIZE
    }

    /// Registers a type.
    pub fn register_type(&mut self, ty: ObjectType) -> Result<TypeId, GcError> {
        self.usable()?;
        let id = self.types.register::<M>(&ty)?;
        self.size_class(id)
    }

    /// Records the mark-sweep size class of a new fixed-size type.
    fn size_class(&mut self, id: TypeId) -> Result<TypeId, GcError> {
        let fixed = self.types.fast(id)?.fixed;
        if let Some((_, layout)) = fixed {
            if let Some(crate::policy::MatureCell::Small { class, bytes }) =
                self.arena.mature_cell(layout)
            {
                self.types.set_class(id, class, bytes);
            }
        }
        Ok(id)
    }

    /// Registers the common record shape: `refs` reference slots, then
    /// `data` bytes (see [`Heap::ref_offset`], [`Heap::data_offset`]).
    pub fn record_type(&mut self, refs: u32, data: u64) -> Result<TypeId, GcError> {
        // Its map is the count of slots, not a list of offsets: any number
        // of slots within the size limit costs the heap nothing more.
        self.usable()?;
        let size = Self::data_offset(refs)
            .checked_add(data)
            .filter(|s| *s <= ObjectType::MAX_FIXED_SIZE)
            .ok_or(TypeError::TooLarge(
                Self::data_offset(refs).saturating_add(data),
            ))?;
        let id = self.types.register_record::<M>(u64::from(refs), size)?;
        self.size_class(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn union_trace(v: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
        // Reports an aligned slot, one in the padding, one past the end
        // and one that overflows: only the first is a slot.
        let _ = v;
        for o in [16, 40, 1 << 20, u64::MAX - 7] {
            visit(o);
        }
    }

    fn panicking_trace(_: &ObjectView<'_>, _: &mut dyn FnMut(u64)) {
        panic!("a VM bug");
    }

    #[test]
    fn mutator_and_tracer_agree_on_every_kind() {
        let region = TaggedRegion::plain(4096).unwrap();
        let view = ObjectView {
            region: &region,
            payload: region.base(),
            len: 44,
        };
        for kind in [
            ObjectType::Fixed {
                size: 44,
                ref_offsets: vec![0, 16],
            },
            ObjectType::RefArray,
            ObjectType::ByteArray,
            ObjectType::Custom {
                size: 44,
                trace: union_trace,
            },
        ] {
            let info = TypeInfo::new(validate(&kind, 16).unwrap(), 16);
            let mut traced = Vec::new();
            info.for_each_slot(&view, 16, |o| traced.push(o)).unwrap();
            let asked: Vec<u64> = (0..64)
                .chain([u64::MAX - 7, 1 << 20])
                .filter(|&o| info.is_ref_slot(o, &view, 16).unwrap())
                .collect();
            traced.sort_unstable();
            assert_eq!(traced, asked, "{kind:?}");
            assert!(
                traced.iter().all(|o| o + 16 <= 44),
                "no slot in the padding"
            );
        }
    }

    #[test]
    fn a_panicking_callback_is_reported_not_propagated() {
        let region = TaggedRegion::plain(4096).unwrap();
        let view = ObjectView {
            region: &region,
            payload: region.base(),
            len: 32,
        };
        let info = TypeInfo::new(
            ObjectType::Custom {
                size: 32,
                trace: panicking_trace,
            },
            16,
        );
        assert_eq!(info.for_each_slot(&view, 16, |_| {}), Err(TracePanic));
        assert_eq!(info.is_ref_slot(0, &view, 16), Err(TracePanic));
    }

    #[test]
    fn offsets_that_overflow_are_refused() {
        let t = ObjectType::Fixed {
            size: 64,
            ref_offsets: vec![u64::MAX - 15],
        };
        assert_eq!(
            validate(&t, 16).unwrap_err(),
            TypeError::OffsetOutOfBounds(u64::MAX - 15)
        );
        let t = ObjectType::Fixed {
            size: 64,
            ref_offsets: vec![8],
        };
        assert_eq!(
            validate(&t, 16).unwrap_err(),
            TypeError::MisalignedOffset(8)
        );
    }
}
