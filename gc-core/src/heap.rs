//! [`Heap`]: one garbage-collected heap, and the mutator's API to it.
//!
//! A heap is a value (no process globals): its own mapped region, its own
//! authority capability over that region, its own types, roots and
//! collector state. It is `Send` but not `Sync`: one thread at a time, like
//! a V8 isolate.
//!
//! Every mutator access goes through the reference mode: in `SoftCheri` it
//! is checked through the reference's own capability, so it can reach only
//! that object's payload with that reference's permissions, and data
//! written over a reference slot clears its tag (I6). In the unchecked
//! modes only region containment is checked (what keeps the Rust API
//! sound); use-after-free, overflow into a neighbour and forged references
//! inside the heap go undetected there, by design: that is the baseline
//! the capability modes are measured against.
//!
//! Allocation is a safepoint: it may collect, after which every
//! [`ObjRef`] obtained before is stale (checked modes refuse it with
//! [`GcError::StaleReference`]). Objects that must survive are held in
//! [`crate::Handle`]s, [`crate::Persistent`]s or root regions.

use crate::config::{HeapConfig, Plan, ScanStrategy};
use crate::mark_bits::SideBitmap;
use crate::object::{header_of, header_word0, ObjRef, FLAG_PINNED, HEADER_SIZE};
use crate::plan::copy_space::CopySpace;
use crate::plan::marksweep::blocks::BlockState;
use crate::plan::marksweep::blocks::BLOCK;
use crate::plan::marksweep::MarkSweep;
use crate::roots::Roots;
use crate::stats::HeapStats;
use crate::types::{validate, ObjectType, ObjectView, TypeId, TypeInfo};
use crate::weak::WeakTables;
use crate::GcError;
use capability_heap::{Address, Perms, RefMode, Scalar, TaggedRegion};
use core::cell::Cell;
use core::marker::PhantomData;

/// The first nursery when it is sized to a pause goal.
pub(crate) const FIRST_NURSERY: u64 = 256 << 10;

/// A garbage-collected heap whose references are of mode `M`.
pub struct Heap<M: RefMode> {
    pub(crate) config: HeapConfig,
    pub(crate) region: TaggedRegion,
    pub(crate) auth: M::Authority,
    pub(crate) types: Vec<TypeInfo>,
    pub(crate) space: MarkSweep,
    /// The nursery (Generational) or semispace (SemiSpace); unused by
    /// MarkSweep.
    pub(crate) copy: CopySpace,
    /// Remembered old-to-young slots (Generational, I9).
    pub(crate) remset: Vec<Address>,
    /// Weak references, ephemerons, finalization registrations.
    pub(crate) weak: WeakTables<M>,
    /// Bytes in the mark-sweep space (mature and large objects).
    pub(crate) mature_bytes: u64,
    /// Kind and pause of every collection, in order.
    pub(crate) pauses: Vec<(crate::CollectionKind, std::time::Duration)>,
    pub(crate) alloc_bits: SideBitmap,
    pub(crate) mark_bits: SideBitmap,
    pub(crate) roots: Roots<M>,
    pub(crate) epoch: u32,
    pub(crate) stats: HeapStats,
    /// Moving average of a minor collection's cost per byte evacuated
    /// (nanoseconds), for sizing the nursery to the pause goal.
    pub(crate) evac_ns_per_byte: Option<f64>,
    /// Checks performed by mutator accesses (a Cell so reads stay `&self`).
    pub(crate) checks: Cell<u64>,
    /// Bytes in use at which the next collection starts.
    pub(crate) trigger: u64,
    _not_sync: PhantomData<Cell<()>>,
}

/// Smallest heap limit accepted.
const MIN_LIMIT: u64 = 4 * BLOCK;

impl<M: RefMode> Heap<M> {
    /// Creates a heap: maps its region (lazily committed) and derives its
    /// authority.
    pub fn new(config: HeapConfig) -> Result<Heap<M>, GcError> {
        if config.limit < MIN_LIMIT || config.limit > (1 << 44) {
            return Err(GcError::InvalidConfig(
                "limit must be between 256 KiB and 16 TiB",
            ));
        }
        if config.initial_size > config.limit {
            return Err(GcError::InvalidConfig("initial_size exceeds limit"));
        }
        if !(config.growth_factor.is_finite() && config.growth_factor >= 1.0) {
            return Err(GcError::InvalidConfig(
                "growth_factor must be a finite number >= 1",
            ));
        }
        if config.scan == ScanStrategy::Tags && !M::TAGGED {
            return Err(GcError::InvalidConfig(
                "scanning by tag needs a tagged (SoftCheri) mode",
            ));
        }
        let limit = config.limit.next_multiple_of(BLOCK);
        let region = M::new_region(limit + BLOCK)?;
        let auth = M::authority(&region)?;
        let space = MarkSweep::new::<M>(&region, limit);
        let generational = config.plan == Plan::Generational;
        if generational && (config.nursery_size < BLOCK || config.nursery_size > limit / 2) {
            return Err(GcError::InvalidConfig(
                "nursery_size must be between 64 KiB and limit/2",
            ));
        }
        if config.pause_goal.is_some_and(|g| g.is_zero()) {
            return Err(GcError::InvalidConfig("pause_goal must be positive"));
        }
        // With a pause goal the nursery starts small and is sized by
        // measurement (plan/mod.rs, `size_nursery`).
        let nursery = generational.then(|| match config.pause_goal {
            Some(_) => config.nursery_size.min(FIRST_NURSERY),
            None => config.nursery_size,
        });
        let copy = CopySpace::new(space.cell_align(), nursery);
        let alloc_bits = SideBitmap::new(region.base(), region.len());
        let mark_bits = SideBitmap::new(region.base(), region.len());
        let trigger = config.initial_size.max(BLOCK);
        let stats = HeapStats {
            nursery_bytes: copy.max_bytes().unwrap_or(0),
            ..HeapStats::default()
        };
        Ok(Heap {
            config,
            region,
            auth,
            types: Vec::new(),
            space,
            copy,
            remset: Vec::new(),
            weak: WeakTables::new(),
            mature_bytes: 0,
            pauses: Vec::new(),
            alloc_bits,
            mark_bits,
            roots: Roots::new(),
            epoch: 1,
            stats,
            checks: Cell::new(0),
            trigger,
            evac_ns_per_byte: None,
            _not_sync: PhantomData,
        })
    }

    /// The configuration the heap was created with.
    pub fn config(&self) -> &HeapConfig {
        &self.config
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

    // ---- types ------------------------------------------------------------

    /// Registers a type.
    pub fn register_type(&mut self, ty: ObjectType) -> Result<TypeId, GcError> {
        let kind = validate(&ty, M::SLOT_SIZE).map_err(GcError::InvalidType)?;
        if self.types.len() >= u32::MAX as usize {
            return Err(GcError::InvalidType("too many types"));
        }
        self.types.push(TypeInfo::new(kind, M::SLOT_SIZE));
        Ok(TypeId(self.types.len() as u32 - 1))
    }

    /// Registers the common record shape: `refs` reference slots, then
    /// `data` bytes (see [`Heap::ref_offset`], [`Heap::data_offset`]).
    pub fn record_type(&mut self, refs: u32, data: u64) -> Result<TypeId, GcError> {
        let size = Self::data_offset(refs) + data;
        let ref_offsets = (0..refs).map(Self::ref_offset).collect();
        self.register_type(ObjectType::Fixed { size, ref_offsets })
    }

    fn type_info(&self, ty: TypeId) -> Result<&TypeInfo, GcError> {
        self.types
            .get(ty.0 as usize)
            .ok_or(GcError::UnknownType(ty))
    }

    // ---- allocation -------------------------------------------------------

    /// Allocates a fixed-size object (a `Fixed` or `Custom` type), zeroed.
    /// A safepoint: may collect.
    pub fn alloc(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        let len = match self.type_info(ty)?.kind {
            ObjectType::Fixed { size, .. } | ObjectType::Custom { size, .. } => size,
            ObjectType::RefArray | ObjectType::ByteArray => return Err(GcError::WrongKind(ty)),
        };
        self.alloc_raw(ty, len)
    }

    /// Allocates an array: `len` elements of a `RefArray` type (all null)
    /// or `len` bytes of a `ByteArray` type (all zero). A safepoint.
    pub fn alloc_array(&mut self, ty: TypeId, len: u64) -> Result<ObjRef<M>, GcError> {
        let bytes = match self.type_info(ty)?.kind {
            ObjectType::RefArray => len.checked_mul(M::SLOT_SIZE),
            ObjectType::ByteArray => Some(len),
            _ => return Err(GcError::WrongKind(ty)),
        };
        let limit = self.config.limit;
        let bytes = bytes.filter(|b| *b <= limit).ok_or(GcError::OutOfMemory {
            requested: len,
            limit,
        })?;
        self.alloc_raw(ty, bytes)
    }

    fn alloc_raw(&mut self, ty: TypeId, len: u64) -> Result<ObjRef<M>, GcError> {
        self.alloc_in(ty, len, false)
    }

    /// Allocates a fixed-size object that never moves, in every plan
    /// (placed in the mark-sweep space and flagged pinned).
    pub fn alloc_pinned(&mut self, ty: TypeId) -> Result<ObjRef<M>, GcError> {
        let len = match self.type_info(ty)?.kind {
            ObjectType::Fixed { size, .. } | ObjectType::Custom { size, .. } => size,
            ObjectType::RefArray | ObjectType::ByteArray => return Err(GcError::WrongKind(ty)),
        };
        let r = self.alloc_in(ty, len, true)?;
        self.set_flags(r.address(), FLAG_PINNED, true)?;
        Ok(r)
    }

    fn alloc_in(&mut self, ty: TypeId, len: u64, pinned: bool) -> Result<ObjRef<M>, GcError> {
        let layout = M::payload_layout(len);
        let limit = self.config.limit;
        if layout.size > limit || layout.size < len {
            return Err(GcError::OutOfMemory {
                requested: len,
                limit,
            });
        }
        let moving = self.config.plan.moves() && !pinned && self.copy.fits(layout);
        let payload = if moving {
            self.alloc_copy(layout)
        } else {
            self.alloc_mature(layout)
        }
        .ok_or(GcError::OutOfMemory {
            requested: len,
            limit,
        })?;
        // The header is written with the collector's own access, never
        // through a mutator capability (I2); a data write leaves no tag.
        let header = u128::from(header_word0(ty.0, 0)) | u128::from(len) << 64;
        if M::TAGGED {
            self.region.write::<u128>(header_of(payload), header)?;
        } else {
            self.region
                .write_plain::<u128>(header_of(payload), header)?;
        }
        self.alloc_bits.put(payload, true);
        self.stats.objects_allocated += 1;
        self.stats.caps_derived += u64::from(M::CHECKED);
        // I1: exact bounds over the padded payload, object permissions only.
        let raw = M::derive(&self.auth, payload, layout.size)?;
        Ok(ObjRef {
            raw,
            epoch: self.epoch,
        })
    }

    /// A cell in the copy space (nursery or semispace); collects when full.
    fn alloc_copy(&mut self, layout: capability_heap::PayloadLayout) -> Option<Address> {
        let cell = self.copy.cell_size(layout);
        if self.config.plan == Plan::SemiSpace && self.stats.bytes_in_use + cell > self.trigger {
            self.collect();
        }
        let cell_at = match self
            .copy
            .alloc(&mut self.space.blocks, &mut self.region, cell)
        {
            Some(c) => c,
            None => {
                self.collect_minor();
                match self
                    .copy
                    .alloc(&mut self.space.blocks, &mut self.region, cell)
                {
                    Some(c) => c,
                    None => {
                        self.collect();
                        self.copy
                            .alloc(&mut self.space.blocks, &mut self.region, cell)?
                    }
                }
            }
        };
        self.stats.bytes_in_use += cell;
        self.stats.bytes_allocated += cell;
        Some(cell_at.add(HEADER_SIZE))
    }

    /// A cell in the mark-sweep space; collects past the trigger or when
    /// the space is exhausted.
    fn alloc_mature(&mut self, layout: capability_heap::PayloadLayout) -> Option<Address> {
        let cell = self.space.cell_bytes(layout);
        let used = match self.config.plan {
            Plan::Generational => self.mature_bytes,
            _ => self.stats.bytes_in_use,
        };
        if used + cell > self.trigger {
            self.collect();
        }
        let (payload, _) = match self.space.alloc(&mut self.region, &self.alloc_bits, layout) {
            Some(p) => p,
            None => {
                self.collect();
                self.space
                    .alloc(&mut self.region, &self.alloc_bits, layout)?
            }
        };
        self.stats.bytes_in_use += cell;
        self.stats.bytes_allocated += cell;
        self.mature_bytes += cell;
        Some(payload)
    }

    /// Sets or clears header flags of the object at `payload`.
    fn set_flags(&mut self, payload: Address, flags: u32, on: bool) -> Result<(), GcError> {
        let w0 = self.region.read::<u64>(header_of(payload))?;
        let f = (w0 >> 32) as u32;
        let f = if on { f | flags } else { f & !flags };
        let w0 = (w0 & 0xffff_ffff) | u64::from(f) << 32;
        if M::TAGGED {
            self.region.write::<u64>(header_of(payload), w0)?;
        } else {
            self.region.write_plain::<u64>(header_of(payload), w0)?;
        }
        Ok(())
    }

    /// Pins `obj`: it never moves while pinned, in every plan (a pinned
    /// nursery object stays in its block, which is retained).
    pub fn pin(&mut self, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.storable(obj)?;
        self.set_flags(obj.address(), FLAG_PINNED, true)
    }

    /// Unpins `obj`; it may move at the next collection.
    pub fn unpin(&mut self, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.storable(obj)?;
        self.set_flags(obj.address(), FLAG_PINNED, false)
    }

    /// True when `obj` is pinned.
    pub fn is_pinned(&self, obj: &ObjRef<M>) -> Result<bool, GcError> {
        self.storable(obj)?;
        let w0 = self.region.read::<u64>(header_of(obj.address()))?;
        Ok((w0 >> 32) as u32 & FLAG_PINNED != 0)
    }

    // ---- reference validation ----------------------------------------------

    /// Refuses null and (in checked modes) stale references.
    #[inline(always)]
    fn live(&self, r: &ObjRef<M>) -> Result<(), GcError> {
        if r.is_null() {
            return Err(GcError::NullReference);
        }
        if M::CHECKED {
            if r.epoch != self.epoch {
                return Err(GcError::StaleReference);
            }
            self.checks.set(self.checks.get() + 1);
        }
        Ok(())
    }

    /// The payload length (as allocated) and type of the object at
    /// `payload`, if it is a live object's payload start.
    pub(crate) fn object_at(&self, payload: Address) -> Option<(TypeId, u64)> {
        if !self.alloc_bits.get(payload) {
            return None;
        }
        let w0 = self.region.read::<u64>(header_of(payload)).ok()?;
        let len = self.region.read::<u64>(header_of(payload).add(8)).ok()?;
        Some((TypeId(w0 as u32), len))
    }

    /// In checked modes, a reference about to be stored in the heap or a
    /// root must designate exactly a live object (I1, I3): a narrowed or
    /// forged capability would otherwise keep nothing alive.
    pub(crate) fn storable(&self, v: &ObjRef<M>) -> Result<(), GcError> {
        if v.is_null() {
            return Ok(());
        }
        self.live(v)?;
        if M::CHECKED {
            let (_, len) = self.object_at(v.address()).ok_or(GcError::NotAnObject)?;
            let padded = M::payload_layout(len).size;
            if !M::designates(&v.raw, v.address(), padded) {
                return Err(M::check(&v.raw, 0, 0, Perms::NONE, 1)
                    .err()
                    .map_or(GcError::NotAnObject, GcError::Cap));
            }
        }
        Ok(())
    }

    /// Checks that `offset` is a reference slot of `obj`'s type.
    fn ref_slot(&self, obj: &ObjRef<M>, offset: u64) -> Result<(), GcError> {
        let (ty, len) = self.object_at(obj.address()).ok_or(GcError::NotAnObject)?;
        let info = self.types.get(ty.0 as usize).ok_or(GcError::NotAnObject)?;
        let view = ObjectView {
            region: &self.region,
            payload: obj.address(),
            len,
        };
        if info.is_ref_slot(offset, len, M::SLOT_SIZE, &view) {
            Ok(())
        } else {
            Err(GcError::NotARefSlot { ty, offset })
        }
    }

    /// Wraps a raw mode reference (from C, a root region, or forged) as an
    /// [`ObjRef`] of the current epoch. Nothing is validated here; a
    /// forged `SoftCheri` capability is untagged and every use of it fails
    /// with a tag violation.
    pub fn ref_from_raw(&self, raw: M::Ref) -> ObjRef<M> {
        ObjRef {
            raw,
            epoch: self.epoch,
        }
    }

    // ---- data access ------------------------------------------------------

    /// Reads a scalar at byte `offset` of `obj`'s payload.
    pub fn read<T: Scalar>(&self, obj: &ObjRef<M>, offset: u64) -> Result<T, GcError> {
        self.live(obj)?;
        Ok(M::load::<T>(&self.region, &obj.raw, offset)?)
    }

    /// Writes a scalar at byte `offset`; clears the tag of any reference it
    /// overwrites (I6).
    pub fn write<T: Scalar>(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        value: T,
    ) -> Result<(), GcError> {
        self.live(obj)?;
        Ok(M::store::<T>(&mut self.region, &obj.raw, offset, value)?)
    }

    /// Reads `out.len()` bytes at `offset`.
    pub fn read_bytes(&self, obj: &ObjRef<M>, offset: u64, out: &mut [u8]) -> Result<(), GcError> {
        self.live(obj)?;
        let addr = M::check(&obj.raw, offset, out.len() as u64, Perms::LOAD, 1)?;
        if !self.region.contains(addr, out.len() as u64) {
            return Err(capability_heap::CapFault::OutsideRegion {
                addr,
                size: out.len() as u64,
            }
            .into());
        }
        // SAFETY: [addr, addr+len) is inside the region (checked above).
        unsafe { self.region.read_bytes_raw(addr, out) };
        Ok(())
    }

    /// Writes `data` at `offset`; clears overwritten tags (I6).
    pub fn write_bytes(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        data: &[u8],
    ) -> Result<(), GcError> {
        self.live(obj)?;
        let addr = M::check(&obj.raw, offset, data.len() as u64, Perms::STORE, 1)?;
        if !self.region.contains(addr, data.len() as u64) {
            return Err(capability_heap::CapFault::OutsideRegion {
                addr,
                size: data.len() as u64,
            }
            .into());
        }
        // SAFETY: [addr, addr+len) is inside the region (checked above).
        unsafe { self.region.write_bytes_raw(addr, data) };
        Ok(())
    }

    /// Loads the reference in slot `offset` of `obj` (null if none).
    pub fn get_ref(&self, obj: &ObjRef<M>, offset: u64) -> Result<ObjRef<M>, GcError> {
        self.live(obj)?;
        let raw = M::load_ref(&self.region, &obj.raw, offset)?;
        Ok(ObjRef {
            raw,
            epoch: self.epoch,
        })
    }

    /// Stores `value` (or null) in reference slot `offset` of `obj`. The
    /// offset must be a reference slot of the object's type, and in checked
    /// modes `value` must designate exactly a live object.
    pub fn set_ref(
        &mut self,
        obj: &ObjRef<M>,
        offset: u64,
        value: &ObjRef<M>,
    ) -> Result<(), GcError> {
        self.live(obj)?;
        self.storable(value)?;
        self.ref_slot(obj, offset)?;
        M::store_ref(&mut self.region, &obj.raw, offset, &value.raw)?;
        // The write barrier (I9): remember old-to-young stores.
        if self.config.plan == Plan::Generational && !value.is_null() {
            let young = |s: BlockState| matches!(s, BlockState::Copy);
            let blocks = &self.space.blocks;
            if young(blocks.state_at(value.address())) && !young(blocks.state_at(obj.address())) {
                self.remset.push(obj.address().add(offset));
            }
        }
        Ok(())
    }

    /// The same reference with its permissions narrowed to `keep` (a
    /// read-only view: `Perms::LOAD | Perms::LOAD_CAP`). No-op in the
    /// unchecked modes.
    pub fn restrict(&self, obj: &ObjRef<M>, keep: Perms) -> Result<ObjRef<M>, GcError> {
        self.live(obj)?;
        Ok(ObjRef {
            raw: M::restrict(&obj.raw, keep)?,
            epoch: obj.epoch,
        })
    }

    /// The type of `obj`.
    pub fn type_of(&self, obj: &ObjRef<M>) -> Result<TypeId, GcError> {
        self.live(obj)?;
        M::check(&obj.raw, 0, 0, Perms::NONE, 1)?;
        self.object_at(obj.address())
            .map(|(t, _)| t)
            .ok_or(GcError::NotAnObject)
    }

    /// The payload length of `obj` in bytes, as allocated.
    pub fn payload_len(&self, obj: &ObjRef<M>) -> Result<u64, GcError> {
        self.live(obj)?;
        M::check(&obj.raw, 0, 0, Perms::NONE, 1)?;
        self.object_at(obj.address())
            .map(|(_, l)| l)
            .ok_or(GcError::NotAnObject)
    }

    /// Elements of a `RefArray` (or bytes of a `ByteArray`).
    pub fn array_len(&self, obj: &ObjRef<M>) -> Result<u64, GcError> {
        let ty = self.type_of(obj)?;
        let len = self.payload_len(obj)?;
        match self.type_info(ty)?.kind {
            ObjectType::RefArray => Ok(len / M::SLOT_SIZE),
            ObjectType::ByteArray => Ok(len),
            _ => Err(GcError::WrongKind(ty)),
        }
    }

    // ---- statistics -------------------------------------------------------------

    /// Cumulative statistics.
    pub fn stats(&self) -> HeapStats {
        let mut s = self.stats;
        s.checks += self.checks.get();
        s.heap_bytes = u64::from(self.space.blocks_in_use()) * BLOCK;
        s
    }

    /// The collection epoch (incremented by every collection).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }
}

// SAFETY-free marker check: the heap moves between threads but is never
// shared between them.
static_assertions::assert_impl_all!(Heap<capability_heap::Native>: Send);
static_assertions::assert_not_impl_any!(Heap<capability_heap::Native>: Sync);
