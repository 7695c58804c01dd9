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

use capability_heap::{RefMode, TaggedRegion};

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
