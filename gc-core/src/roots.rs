//! Precise roots: handle scopes, persistent roots and root regions.
//!
//! - **Handle scopes** are a stack, like V8's `HandleScope`: handles are
//!   entries of a stack-discipline [`Slab`], a scope remembers the height
//!   it opened at, and closing it releases every handle above. A
//!   [`Handle`] carries its entry's serial, so using one whose scope was
//!   closed (even if its index was reused since) is
//!   [`GcError::InvalidHandle`], never another object.
//! - **Persistent roots** live in a slab until released explicitly.
//! - **Root regions** are VM-owned arrays of reference slots (an
//!   interpreter's operand stack) in memory of their own that the mode
//!   maps: capability memory in `SoftCheri`, where a slot's tag is a real
//!   capability tag, plain memory in the unchecked modes, where a marker
//!   says "this slot holds a reference". The collector scans only tagged
//!   (marked) slots, and a data store clears the tag (I6).
//! - **A region costs what it uses, not what it reserves.** A region may
//!   reserve up to 2^32 slots (an interpreter's worst-case stack), but a
//!   scan reads the tag bitmap only below the region's *high-water mark*:
//!   one past the highest slot a reference was stored in since the last
//!   collection shrank it. Every reference store raises the mark (the only
//!   way a slot's tag is set), so no tagged slot lies above it; each
//!   collection's root scan lowers it to one past the highest slot still
//!   tagged. A collection therefore reads `mark / 64` bitmap words per
//!   region instead of `slots / 64` — an empty 2^32-slot region costs
//!   nothing, where scanning its 64 Mi bitmap words took hundreds of
//!   milliseconds. Rejected: refusing large regions (a limit the VM must
//!   guess), and a per-region sparse set of written slots (a second
//!   structure to keep in step with the tags, on every store).
//!
//! Every token carries its heap's identity ([`GcError::WrongHeap`] in
//! another heap). The collector visits every root slot and may rewrite it
//! (moving plans, I8) through [`Roots::trace`], the one root scan every
//! plan uses; the verifier reads them through [`Roots::for_each`].

use crate::error::ConfigError;
use crate::heap::HeapId;
use crate::slab::{Key, Slab};
use crate::trace::Tracer;
use crate::verify::RefLocation;
use crate::{GcError, Heap, ObjRef};
use capability_heap::{Address, RefMode, TaggedRegion};

/// Bytes between root-region slots: one tag granule in every mode, so each
/// slot has a tag bit of its own (an 8-byte `Native` slot uses half).
pub(crate) const ROOT_STRIDE: u64 = capability_heap::GRANULE;

/// A handle: an object kept alive until its scope closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle {
    heap: HeapId,
    key: Key,
}

/// An open handle scope; give it back to [`crate::Heap::close_scope`].
/// A token: closing it a second time is [`GcError::ScopeClosed`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a scope must be closed"]
pub struct Scope {
    heap: HeapId,
    serial: u64,
}

/// A persistent root: alive until [`crate::Heap::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Persistent {
    heap: HeapId,
    key: Key,
}

/// A root region: a VM-owned array of reference slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RootRegionId {
    heap: HeapId,
    key: Key,
}

crate::slab::token_bits!(Handle, Persistent, RootRegionId);

impl Scope {
    /// The token as two words (the C ABI).
    pub fn to_bits(self) -> [u64; 2] {
        [u64::from(self.heap.bits()), self.serial]
    }

    /// A scope token from [`Scope::to_bits`]' words; any bits are safe.
    pub fn from_bits(w: [u64; 2]) -> Scope {
        Scope {
            heap: HeapId::from_bits(w[0] as u32),
            serial: w[1],
        }
    }
}

/// A root region's memory.
pub(crate) struct RootRegion {
    memory: TaggedRegion,
    slots: u64,
    /// The high-water mark: no slot at or above it is tagged (marked).
    /// Raised by every reference store, lowered by the collector's scan.
    used: u64,
}

impl RootRegion {
    /// The address of slot `index`, if in range.
    fn slot(&self, index: u64) -> Result<Address, GcError> {
        if index >= self.slots {
            return Err(GcError::IndexOutOfRange {
                index,
                len: self.slots,
            });
        }
        Ok(self.memory.base().add(index * ROOT_STRIDE))
    }

    /// The address of slot `index` for a store that may set its tag: as
    /// [`RootRegion::slot`], and the high-water mark covers it.
    fn slot_for_ref(&mut self, index: u64) -> Result<Address, GcError> {
        let a = self.slot(index)?;
        self.used = self.used.max(index + 1);
        Ok(a)
    }

    /// The slots holding a reference (tagged or marked), below the
    /// high-water mark: the one root-region scan.
    fn ref_slots(&self) -> impl Iterator<Item = Address> + '_ {
        self.memory
            .tagged_granules(self.memory.base(), self.used * ROOT_STRIDE)
    }
}

/// Every root of a heap.
pub(crate) struct Roots<M: RefMode> {
    heap: HeapId,
    handles: Slab<M::Ref>,
    /// Open scopes, innermost last: (handle height, serial).
    scopes: Vec<(usize, u64)>,
    next_scope: u64,
    persistents: Slab<M::Ref>,
    regions: Slab<RootRegion>,
    /// The export-table chunks of a compartment (`compartment/`): roots
    /// no token names, so no mutator can release one.
    pub(crate) exports: Vec<M::Ref>,
    /// The fast path's shadow-stack entries, imported for the length of
    /// a collection (`fast.rs`).
    pub(crate) shadow: Vec<M::Ref>,
}

impl<M: RefMode> Roots<M> {
    pub(crate) fn new(heap: HeapId) -> Self {
        Roots {
            heap,
            handles: Slab::new(),
            scopes: Vec::new(),
            next_scope: 1,
            persistents: Slab::new(),
            regions: Slab::new(),
            exports: Vec::new(),
            shadow: Vec::new(),
        }
    }

    /// Why `close_scope` refuses `scope`, which is not the innermost open
    /// scope of this heap.
    #[cold]
    fn close_refused(&self, scope: Scope) -> GcError {
        match self.heap.owns(scope.heap) {
            Err(e) => e,
            Ok(()) if self.scopes.iter().any(|s| s.1 == scope.serial) => GcError::ScopeMismatch,
            Ok(()) => GcError::ScopeClosed,
        }
    }

    /// Traces every root with `t`, writing back what it returns (I8).
    pub(crate) fn trace<T: Tracer<M>>(&mut self, t: &mut T) {
        for r in self
            .handles
            .iter_mut()
            .chain(self.persistents.iter_mut())
            .chain(self.exports.iter_mut())
            .chain(self.shadow.iter_mut())
        {
            let raw = M::to_raw(r);
            let n = t.trace(raw);
            if n != raw {
                *r = M::from_raw(&n);
            }
        }
        for rr in self.regions.iter_mut() {
            let slots: Vec<Address> = rr.ref_slots().collect();
            // Nothing above the last tagged slot: the mark comes down to it.
            rr.used = slots
                .last()
                .map_or(0, |s| s.offset_from(rr.memory.base()) / ROOT_STRIDE + 1);
            for s in slots {
                // SAFETY: a tagged (marked) granule of the root region is an
                // aligned slot inside its memory, which this mode mapped.
                let raw = unsafe { M::read_raw_slot(&rr.memory, s) };
                let n = t.trace(raw);
                if n != raw {
                    // SAFETY: as above.
                    unsafe { M::write_raw_slot(&mut rr.memory, s, &n) };
                }
            }
        }
    }

    /// Calls `f` with every root reference and where it is.
    pub(crate) fn for_each(&self, mut f: impl FnMut(RefLocation, M::Ref)) {
        for (i, r) in self.handles.iter() {
            f(RefLocation::Handle(i), *r);
        }
        for (i, r) in self.persistents.iter() {
            f(RefLocation::Persistent(i), *r);
        }
        for (i, r) in self.exports.iter().enumerate() {
            f(RefLocation::ExportTable(i as u32), *r);
        }
        for (i, r) in self.shadow.iter().enumerate() {
            f(RefLocation::ShadowStack(i as u32), *r);
        }
        for (ri, rr) in self.regions.iter() {
            for s in rr.ref_slots() {
                // SAFETY: as in `trace`.
                let r = unsafe { M::read_slot(&rr.memory, s) };
                let index = s.offset_from(rr.memory.base()) / ROOT_STRIDE;
                f(RefLocation::RootRegion { region: ri, index }, r);
            }
        }
    }
}

impl<M: RefMode> Heap<M> {
    // ---- handles ------------------------------------------------------------

    /// Opens a nested handle scope.
    pub fn open_scope(&mut self) -> Scope {
        let roots = &mut self.roots;
        let serial = roots.next_scope;
        roots.next_scope += 1;
        roots.scopes.push((roots.handles.height(), serial));
        Scope {
            heap: roots.heap,
            serial,
        }
    }

    /// Closes the innermost scope, releasing its handles. A scope that is
    /// open but not the innermost is refused ([`GcError::ScopeMismatch`])
    /// and stays open — close the inner ones first.
    #[inline(always)]
    pub fn close_scope(&mut self, scope: Scope) -> Result<(), GcError> {
        let roots = &mut self.roots;
        match roots.scopes.last() {
            Some(&(height, serial)) if serial == scope.serial && roots.heap == scope.heap => {
                roots.scopes.pop();
                roots.handles.truncate(height);
                Ok(())
            }
            _ => Err(self.roots.close_refused(scope)),
        }
    }

    /// Roots `obj` in the innermost scope (or the base scope).
    ///
    /// The fast path, in the unchecked modes of a healthy heap that is no
    /// compartment (where `storable` has nothing to check), is a push
    /// into the table's spare capacity; the rest is out of line.
    #[inline(always)]
    pub fn handle(&mut self, obj: &ObjRef<M>) -> Result<Handle, GcError> {
        if M::CHECKED {
            return self.handle_in_full(obj);
        }
        if !self.slow {
            if let Some(key) = self.roots.handles.push_within_capacity(obj.raw) {
                return Ok(Handle {
                    heap: self.roots.heap,
                    key,
                });
            }
        }
        self.handle_slow(obj)
    }

    /// [`Heap::handle`] in the unchecked modes past the fast path: a
    /// table that must grow, a poisoned heap or a compartment.
    #[inline(never)]
    fn handle_slow(&mut self, obj: &ObjRef<M>) -> Result<Handle, GcError> {
        self.handle_in_full(obj)
    }

    /// [`Heap::handle`] in full: the stored-reference check, then the push.
    #[inline(always)]
    fn handle_in_full(&mut self, obj: &ObjRef<M>) -> Result<Handle, GcError> {
        self.storable(obj)?;
        let key = self.roots.handles.push(obj.raw)?;
        Ok(Handle {
            heap: self.roots.heap,
            key,
        })
    }

    /// The object a handle holds, as a reference of the current epoch.
    #[inline]
    pub fn get(&self, h: Handle) -> Result<ObjRef<M>, GcError> {
        self.roots.heap.owns(h.heap)?;
        self.usable()?;
        let raw = *self
            .roots
            .handles
            .get(h.key)
            .ok_or(GcError::InvalidHandle)?;
        Ok(self.vouched(raw))
    }

    /// Points an existing handle at another object (or null).
    pub fn set_handle(&mut self, h: Handle, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.roots.heap.owns(h.heap)?;
        self.storable(obj)?;
        *self
            .roots
            .handles
            .get_mut(h.key)
            .ok_or(GcError::InvalidHandle)? = obj.raw;
        Ok(())
    }

    // ---- persistent roots -----------------------------------------------------

    /// Roots `obj` until [`Heap::release`].
    pub fn persist(&mut self, obj: &ObjRef<M>) -> Result<Persistent, GcError> {
        self.storable(obj)?;
        let key = self.roots.persistents.insert(obj.raw)?;
        Ok(Persistent {
            heap: self.roots.heap,
            key,
        })
    }

    /// The object a persistent root holds.
    pub fn get_persistent(&self, p: Persistent) -> Result<ObjRef<M>, GcError> {
        self.roots.heap.owns(p.heap)?;
        self.usable()?;
        let raw = *self
            .roots
            .persistents
            .get(p.key)
            .ok_or(GcError::InvalidHandle)?;
        Ok(self.stamped(raw))
    }

    /// Points a persistent root at another object (or null).
    pub fn set_persistent(&mut self, p: Persistent, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.roots.heap.owns(p.heap)?;
        self.storable(obj)?;
        *self
            .roots
            .persistents
            .get_mut(p.key)
            .ok_or(GcError::InvalidHandle)? = obj.raw;
        Ok(())
    }

    /// Releases a persistent root.
    pub fn release(&mut self, p: Persistent) -> Result<(), GcError> {
        self.roots.heap.owns(p.heap)?;
        self.roots
            .persistents
            .remove(p.key)
            .map(drop)
            .ok_or(GcError::InvalidHandle)
    }

    // ---- root regions -----------------------------------------------------------

    /// Creates a root region of `slots` reference slots, all empty.
    pub fn root_region_new(&mut self, slots: u64) -> Result<RootRegionId, GcError> {
        self.usable()?;
        if slots == 0 || slots > (1 << 32) {
            return Err(ConfigError::RootRegionSlots(slots).into());
        }
        let memory = M::new_root_region(slots * ROOT_STRIDE)?;
        let key = self.roots.regions.insert(RootRegion {
            memory,
            slots,
            used: 0,
        })?;
        Ok(RootRegionId {
            heap: self.roots.heap,
            key,
        })
    }

    /// Releases a root region; its slots stop being roots.
    pub fn root_region_free(&mut self, id: RootRegionId) -> Result<(), GcError> {
        self.roots.heap.owns(id.heap)?;
        self.roots
            .regions
            .remove(id.key)
            .map(drop)
            .ok_or(GcError::InvalidRootRegion)
    }

    fn root_region(&self, id: RootRegionId) -> Result<&RootRegion, GcError> {
        self.roots.heap.owns(id.heap)?;
        self.roots
            .regions
            .get(id.key)
            .ok_or(GcError::InvalidRootRegion)
    }

    fn root_region_mut(&mut self, id: RootRegionId) -> Result<&mut RootRegion, GcError> {
        self.roots.heap.owns(id.heap)?;
        self.roots
            .regions
            .get_mut(id.key)
            .ok_or(GcError::InvalidRootRegion)
    }

    /// The number of slots of a root region.
    pub fn root_region_len(&self, id: RootRegionId) -> Result<u64, GcError> {
        Ok(self.root_region(id)?.slots)
    }

    /// Stores a reference (or null) in root-region slot `index`; the slot's
    /// tag (marker) says it holds a reference.
    pub fn root_set(
        &mut self,
        id: RootRegionId,
        index: u64,
        obj: &ObjRef<M>,
    ) -> Result<(), GcError> {
        self.storable(obj)?;
        let rr = self.root_region_mut(id)?;
        let slot = rr.slot_for_ref(index)?;
        Ok(M::store_root(&mut rr.memory, slot, &obj.raw)?)
    }

    /// Stores plain data in root-region slot `index`, clearing its tag (I6):
    /// the collector no longer treats it as a reference.
    pub fn root_set_data(
        &mut self,
        id: RootRegionId,
        index: u64,
        value: u64,
    ) -> Result<(), GcError> {
        self.usable()?;
        let rr = self.root_region_mut(id)?;
        let slot = rr.slot(index)?;
        Ok(M::store_root_data(&mut rr.memory, slot, value)?)
    }

    /// Loads root-region slot `index` as a reference. A slot holding data
    /// yields an untagged value in `SoftCheri` (any use fails); in the
    /// unchecked modes its bits, unvalidated.
    pub fn root_get(&self, id: RootRegionId, index: u64) -> Result<ObjRef<M>, GcError> {
        self.usable()?;
        let rr = self.root_region(id)?;
        let raw = M::load_root(&rr.memory, rr.slot(index)?)?;
        if self.is_sealed_here(&raw) {
            return Err(GcError::SealedReference);
        }
        Ok(self.stamped(raw))
    }

    /// Loads root-region slot `index` as the sealed form it holds
    /// ([`GcError::NotSealed`] otherwise): for `Compartments`.
    pub(crate) fn root_get_sealed_form(
        &self,
        id: RootRegionId,
        index: u64,
    ) -> Result<M::Ref, GcError> {
        self.usable()?;
        let rr = self.root_region(id)?;
        let raw = M::load_root(&rr.memory, rr.slot(index)?)?;
        if !self.is_sealed_here(&raw) {
            return Err(GcError::NotSealed);
        }
        Ok(raw)
    }

    /// Stores a sealed form in root-region slot `index` (validated by
    /// `Compartments`): a root the whole-heap collection follows.
    pub(crate) fn root_set_sealed_form(
        &mut self,
        id: RootRegionId,
        index: u64,
        raw: &M::Ref,
    ) -> Result<(), GcError> {
        self.usable()?;
        let rr = self.root_region_mut(id)?;
        let slot = rr.slot_for_ref(index)?;
        Ok(M::store_root(&mut rr.memory, slot, raw)?)
    }

    /// True when root-region slot `index` holds a reference (its tag).
    pub fn root_is_ref(&self, id: RootRegionId, index: u64) -> Result<bool, GcError> {
        let rr = self.root_region(id)?;
        Ok(rr.memory.is_tagged(rr.slot(index)?))
    }
}
