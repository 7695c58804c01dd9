//! Precise roots: handle scopes, persistent roots and root regions.
//!
//! - **Handle scopes** are a stack, like V8's `HandleScope`: handles are
//!   slots in one vector, a scope remembers the height it opened at, and
//!   closing it drops every handle above. A [`Handle`] carries a unique id
//!   beside its index, so using one whose scope was closed (even if its
//!   index was reused since) is [`crate::GcError::InvalidHandle`], never
//!   another object.
//! - **Persistent roots** live in a slab with generation counts until
//!   released explicitly.
//! - **Root regions** are VM-owned arrays of reference slots (an
//!   interpreter's operand stack) in their own tagged memory. In
//!   `SoftCheri` the tags are real capability tags; in the unchecked modes
//!   the same tag bit is the "this slot holds a reference" bit, set by a
//!   reference store and cleared by a data store. The collector scans only
//!   tagged slots.
//!
//! The collector visits every root slot and may rewrite it (moving plans),
//! so roots hold raw mode references, not [`crate::ObjRef`]s.

use crate::{GcError, Heap, ObjRef};
use capability_heap::{Address, RefMode, TaggedRegion};

/// Bytes between root-region slots: one tag granule in every mode, so each
/// slot has a tag bit of its own (an 8-byte `Native` slot uses half).
pub(crate) const ROOT_STRIDE: u64 = capability_heap::GRANULE;

/// A handle: an object kept alive until its scope closes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle {
    pub(crate) index: u32,
    pub(crate) id: u32,
}

/// An open handle scope; give it back to [`crate::Heap::close_scope`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a scope must be closed"]
pub struct Scope {
    pub(crate) depth: u32,
    pub(crate) height: u32,
}

/// A persistent root: alive until [`crate::Heap::release`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Persistent {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// A root region: a VM-owned array of reference slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RootRegionId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// A root region's memory.
pub(crate) struct RootRegion {
    pub(crate) memory: TaggedRegion,
    pub(crate) slots: u64,
}

/// Every root of a heap.
pub(crate) struct Roots<M: RefMode> {
    /// Handle slots: (reference, unique id).
    pub(crate) handles: Vec<(M::Ref, u32)>,
    /// Heights of the open scopes, innermost last.
    pub(crate) scopes: Vec<u32>,
    pub(crate) next_handle_id: u32,
    /// Persistent slots: reference (None when free) and generation.
    pub(crate) persistents: Vec<(Option<M::Ref>, u32)>,
    pub(crate) free_persistents: Vec<u32>,
    /// Root regions (None when released) and generations.
    pub(crate) regions: Vec<(Option<RootRegion>, u32)>,
}

impl<M: RefMode> Roots<M> {
    pub(crate) fn new() -> Self {
        Roots {
            handles: Vec::new(),
            scopes: Vec::new(),
            next_handle_id: 1,
            persistents: Vec::new(),
            free_persistents: Vec::new(),
            regions: Vec::new(),
        }
    }

    /// Calls `f` on every root slot holding a reference, allowing it to be
    /// rewritten. Root-region slots are visited by address instead (see
    /// [`Roots::region_slots`]).
    pub(crate) fn for_each_slot(&mut self, mut f: impl FnMut(&mut M::Ref)) {
        for (r, _) in &mut self.handles {
            f(r);
        }
        for (r, _) in &mut self.persistents {
            if let Some(r) = r {
                f(r);
            }
        }
    }
}

impl<M: RefMode> Heap<M> {
    // ---- handles ------------------------------------------------------------

    /// Opens a nested handle scope.
    pub fn open_scope(&mut self) -> Scope {
        let height = self.roots.handles.len() as u32;
        self.roots.scopes.push(height);
        Scope {
            depth: self.roots.scopes.len() as u32,
            height,
        }
    }

    /// Closes the innermost scope, releasing its handles.
    pub fn close_scope(&mut self, scope: Scope) -> Result<(), GcError> {
        if scope.depth as usize != self.roots.scopes.len() {
            return Err(GcError::ScopeMismatch);
        }
        self.roots.scopes.pop();
        self.roots.handles.truncate(scope.height as usize);
        Ok(())
    }

    /// Roots `obj` in the innermost scope (or the base scope).
    pub fn handle(&mut self, obj: &ObjRef<M>) -> Result<Handle, GcError> {
        self.storable(obj)?;
        let id = self.roots.next_handle_id;
        self.roots.next_handle_id = id.wrapping_add(1).max(1);
        self.roots.handles.push((obj.raw, id));
        Ok(Handle {
            index: self.roots.handles.len() as u32 - 1,
            id,
        })
    }

    /// The object a handle holds, as a reference of the current epoch.
    pub fn get(&self, h: Handle) -> Result<ObjRef<M>, GcError> {
        match self.roots.handles.get(h.index as usize) {
            Some((raw, id)) if *id == h.id => Ok(ObjRef {
                raw: *raw,
                epoch: self.epoch,
            }),
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// Points an existing handle at another object (or null).
    pub fn set_handle(&mut self, h: Handle, obj: &ObjRef<M>) -> Result<(), GcError> {
        self.storable(obj)?;
        match self.roots.handles.get_mut(h.index as usize) {
            Some((raw, id)) if *id == h.id => {
                *raw = obj.raw;
                Ok(())
            }
            _ => Err(GcError::InvalidHandle),
        }
    }

    // ---- persistent roots -----------------------------------------------------

    /// Roots `obj` until [`Heap::release`].
    pub fn persist(&mut self, obj: &ObjRef<M>) -> Result<Persistent, GcError> {
        self.storable(obj)?;
        let roots = &mut self.roots;
        let index = match roots.free_persistents.pop() {
            Some(i) => {
                roots.persistents[i as usize].0 = Some(obj.raw);
                i
            }
            None => {
                roots.persistents.push((Some(obj.raw), 0));
                roots.persistents.len() as u32 - 1
            }
        };
        Ok(Persistent {
            index,
            generation: roots.persistents[index as usize].1,
        })
    }

    /// The object a persistent root holds.
    pub fn get_persistent(&self, p: Persistent) -> Result<ObjRef<M>, GcError> {
        match self.roots.persistents.get(p.index as usize) {
            Some((Some(raw), g)) if *g == p.generation => Ok(ObjRef {
                raw: *raw,
                epoch: self.epoch,
            }),
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// Releases a persistent root.
    pub fn release(&mut self, p: Persistent) -> Result<(), GcError> {
        match self.roots.persistents.get_mut(p.index as usize) {
            Some((slot @ Some(_), g)) if *g == p.generation => {
                *slot = None;
                *g = g.wrapping_add(1);
                self.roots.free_persistents.push(p.index);
                Ok(())
            }
            _ => Err(GcError::InvalidHandle),
        }
    }

    // ---- root regions -----------------------------------------------------------

    /// Creates a root region of `slots` reference slots, all empty.
    pub fn root_region_new(&mut self, slots: u64) -> Result<RootRegionId, GcError> {
        if slots == 0 || slots > (1 << 32) {
            return Err(GcError::InvalidConfig("root region needs 1..=2^32 slots"));
        }
        let memory = TaggedRegion::new(slots * ROOT_STRIDE)?;
        let rr = RootRegion { memory, slots };
        let regions = &mut self.roots.regions;
        let index = match regions.iter().position(|(r, _)| r.is_none()) {
            Some(i) => {
                regions[i].0 = Some(rr);
                i
            }
            None => {
                regions.push((Some(rr), 0));
                regions.len() - 1
            }
        };
        Ok(RootRegionId {
            index: index as u32,
            generation: regions[index].1,
        })
    }

    /// Releases a root region; its slots stop being roots.
    pub fn root_region_free(&mut self, id: RootRegionId) -> Result<(), GcError> {
        match self.roots.regions.get_mut(id.index as usize) {
            Some((r @ Some(_), g)) if *g == id.generation => {
                *r = None;
                *g = g.wrapping_add(1);
                Ok(())
            }
            _ => Err(GcError::InvalidRootRegion),
        }
    }

    fn root_slot(&self, id: RootRegionId, index: u64) -> Result<(&RootRegion, Address), GcError> {
        match self.roots.regions.get(id.index as usize) {
            Some((Some(r), g)) if *g == id.generation => Ok((r, slot_in(r, index)?)),
            _ => Err(GcError::InvalidRootRegion),
        }
    }

    /// The root region's memory and slot `index`'s address, for writing.
    fn root_slot_mut(
        &mut self,
        id: RootRegionId,
        index: u64,
    ) -> Result<(&mut TaggedRegion, Address), GcError> {
        match self.roots.regions.get_mut(id.index as usize) {
            Some((Some(r), g)) if *g == id.generation => {
                let slot = slot_in(r, index)?;
                Ok((&mut r.memory, slot))
            }
            _ => Err(GcError::InvalidRootRegion),
        }
    }

    /// Stores a reference (or null) in root-region slot `index`; the slot's
    /// tag marks it as a reference.
    pub fn root_set(
        &mut self,
        id: RootRegionId,
        index: u64,
        obj: &ObjRef<M>,
    ) -> Result<(), GcError> {
        self.storable(obj)?;
        let (mem, slot) = self.root_slot_mut(id, index)?;
        // SAFETY: slot_in checked index < slots, so the slot is inside the
        // root region's memory and ROOT_STRIDE-aligned.
        unsafe { M::write_slot(mem, slot, &obj.raw) };
        if !M::TAGGED {
            mem.set_tag_bit(slot, !obj.is_null())?;
        }
        Ok(())
    }

    /// Stores plain data in root-region slot `index`, clearing its tag (I6):
    /// the collector no longer treats it as a reference.
    pub fn root_set_data(
        &mut self,
        id: RootRegionId,
        index: u64,
        value: u64,
    ) -> Result<(), GcError> {
        let (mem, slot) = self.root_slot_mut(id, index)?;
        mem.write::<u64>(slot, value)?;
        Ok(())
    }

    /// Loads root-region slot `index` as a reference. A slot holding data
    /// yields an untagged value in `SoftCheri` (any use fails); in the
    /// unchecked modes its bits, unvalidated.
    pub fn root_get(&self, id: RootRegionId, index: u64) -> Result<ObjRef<M>, GcError> {
        let (r, slot) = self.root_slot(id, index)?;
        // SAFETY: slot is inside the root region and aligned (root_slot).
        let raw = unsafe { M::read_slot(&r.memory, slot) };
        Ok(ObjRef {
            raw,
            epoch: self.epoch,
        })
    }

    /// True when root-region slot `index` holds a reference (its tag).
    pub fn root_is_ref(&self, id: RootRegionId, index: u64) -> Result<bool, GcError> {
        let (r, slot) = self.root_slot(id, index)?;
        Ok(r.memory.is_tagged(slot))
    }
}

/// The address of slot `index` of a root region, if in range.
fn slot_in(r: &RootRegion, index: u64) -> Result<Address, GcError> {
    if index >= r.slots {
        return Err(GcError::IndexOutOfRange {
            index,
            len: r.slots,
        });
    }
    Ok(r.memory.base().add(index * ROOT_STRIDE))
}
