//! Marking cells: the mark bits, the gray stack, and [`Marker`], the
//! visitor a VM's roots and traces report pointers to.

use super::compartments::NO_SOURCE;
use super::{CellSpace, CellVm, TypeInfo};
use crate::mark_bits::SideBitmap;
use crate::GcError;
use capability_heap::Address;
use std::collections::HashMap;
use std::ptr::NonNull;

/// Mark bits and the cells marked but not yet traced.
pub(super) struct MarkState {
    bits: SideBitmap,
    gray: Vec<u64>,
    /// Bad pointers reported since the collection began.
    pub(super) bad: u64,
    /// The first of them not yet returned as an error.
    first_bad: Option<u64>,
    /// With compartments: the compartment of the cell being traced
    /// (`compartments::NO_SOURCE` for roots and the VM's own marking).
    pub(super) src: u16,
    /// With compartments: cross-compartment edges traced this cycle, per
    /// ordered pair (the `compartments` module's report).
    pub(super) edges: HashMap<(u16, u16), u64>,
    /// With compartments: the cell being traced (0 for none).
    pub(super) src_cell: u64,
    /// With compartments: (target compartment, source cell) of every
    /// crossing pointer traced this cycle (the remembered sets' rebuild).
    pub(super) crossing: Vec<(u16, u64)>,
    /// Collecting one compartment alone: only its cells are marked
    /// (`NO_SOURCE`: every compartment).
    pub(super) only: u16,
}

impl MarkState {
    pub(super) fn new(base: Address, len: u64) -> Result<MarkState, GcError> {
        Ok(MarkState {
            bits: SideBitmap::new(base, len)?,
            gray: Vec::new(),
            bad: 0,
            first_bad: None,
            src: NO_SOURCE,
            edges: HashMap::new(),
            src_cell: 0,
            crossing: Vec::new(),
            only: NO_SOURCE,
        })
    }

    pub(super) fn start(&mut self) {
        self.gray.clear();
        self.first_bad = None;
        self.src = NO_SOURCE;
        self.edges.clear();
        self.crossing.clear();
        self.only = NO_SOURCE;
    }

    /// The first bad pointer since the last call, as an error.
    pub(super) fn take_error(&mut self) -> Result<(), GcError> {
        match self.first_bad.take() {
            Some(p) => Err(GcError::NotACell(p)),
            None => Ok(()),
        }
    }

    #[inline(always)]
    pub(super) fn is_marked(&self, payload: u64) -> bool {
        self.bits.get(Address(payload))
    }

    #[inline(always)]
    pub(super) fn word(&self, addr: Address) -> u64 {
        self.bits.word(addr)
    }

    pub(super) fn set(&mut self, payload: u64) {
        self.bits.put(Address(payload), true);
    }

    pub(super) fn clear(&mut self, payload: u64) {
        self.bits.put(Address(payload), false);
    }

    /// The mark words of a block.
    pub(super) fn words_mut(&mut self, block: Address, len: u64) -> &mut [u64] {
        self.bits
            .words_mut(block, len)
            .expect("a block's mark bits")
    }

    /// True when any mark bit below `end` is set.
    pub(super) fn any_set(&self, base: Address, end: Address) -> bool {
        self.bits.next_set(base, end).is_some()
    }
}

/// The visitor a [`CellVm`] reports pointers to, in its roots and
/// traces: [`Marker::mark`] each one.
pub struct Marker<'a> {
    space: &'a CellSpace,
    types: &'a [TypeInfo],
    st: &'a mut MarkState,
    checked: bool,
}

impl<'a> Marker<'a> {
    pub(super) fn new(
        space: &'a CellSpace,
        types: &'a [TypeInfo],
        st: &'a mut MarkState,
        checked: bool,
    ) -> Marker<'a> {
        Marker {
            space,
            types,
            st,
            checked,
        }
    }

    /// Marks the cell `p` points into (its payload start or anywhere in
    /// its payload); null is ignored. Returns false when `p` is not into a
    /// live cell: nothing is marked, the heap counts a bad pointer, and
    /// the collection call reports [`GcError::NotACell`]. In the
    /// unchecked configuration a pointer outside the heap's memory
    /// altogether is ignored (a VM object that is not a cell, such as
    /// Lua's main thread) and returns true.
    #[inline]
    pub fn mark(&mut self, p: *const u8) -> bool {
        let p = p as u64;
        if p == 0 {
            return true;
        }
        let sp = self.space;
        // A payload start is one bit away; an interior pointer, a lookup.
        let found = if sp.alloc.get(Address(p)) {
            Some(p)
        } else {
            sp.cell_of(p).map(|(payload, _)| payload)
        };
        let Some(payload) = found else {
            if !self.checked && !sp.in_heap(p) {
                return true;
            }
            self.st.bad += 1;
            self.st.first_bad.get_or_insert(p);
            return false;
        };
        if let Some(c) = sp.comps.as_deref() {
            // Compartments: a traced edge that crosses is counted; in the
            // checked configuration (where the target was already found
            // to be a live cell: I3) its owner must also be a known
            // compartment, or it is a bad pointer, never marked.
            let src = self.st.src;
            let only = self.st.only;
            let owner = c.owner_of(sp, payload);
            if only != NO_SOURCE && owner != Some(only) {
                return true; // collecting one compartment: leaves it
            }
            if src != NO_SOURCE {
                let dst = owner.unwrap_or(src);
                if dst != src {
                    if self.checked && !c.known(dst) {
                        self.st.bad += 1;
                        self.st.first_bad.get_or_insert(p);
                        return false;
                    }
                    *self.st.edges.entry((src, dst)).or_default() += 1;
                    self.st.crossing.push((dst, self.st.src_cell));
                }
            }
        }
        if !self.st.bits.test_and_set(Address(payload)) {
            let ty = sp.type_at(payload);
            match self.types.get(ty as usize) {
                Some(t) if t.leaf => {}
                Some(_) => self.st.gray.push(payload),
                None => {
                    // A header the VM overwrote: never traced.
                    self.st.bad += 1;
                    self.st.first_bad.get_or_insert(p);
                    return false;
                }
            }
        }
        true
    }

    /// True when `payload` is the payload start of a live cell.
    pub(super) fn is_live_cell(&self, payload: u64) -> bool {
        self.space
            .cell_of(payload)
            .is_some_and(|(p, _)| p == payload)
    }

    /// True when the cell `p` points into is marked (false for null or a
    /// pointer that is not into a live cell).
    pub fn is_marked(&self, p: *const u8) -> bool {
        let p = p as u64;
        if self.space.alloc.get(Address(p)) {
            return self.st.is_marked(p); // a payload start: no block lookup
        }
        self.space
            .cell_of(p)
            .is_some_and(|(payload, _)| self.st.is_marked(payload))
    }

    /// Traces the live cell at `payload` now, as the source of its
    /// pointers, without marking it (a remembered cell of another
    /// compartment, when collecting one alone).
    pub(super) fn trace_as_root(&mut self, vm: &mut impl CellVm, payload: u64) {
        let Some(c) = self.space.comps.as_deref() else {
            return;
        };
        let ty = self.space.type_at(payload);
        if !self.types.get(ty as usize).is_some_and(|t| !t.leaf) {
            return;
        }
        self.st.src = c.owner_of(self.space, payload).unwrap_or(NO_SOURCE);
        self.st.src_cell = payload;
        // SAFETY: a live cell's payload address (the caller checked):
        // inside the mapped region, never 0.
        let cell = unsafe { NonNull::new_unchecked(payload as *mut u8) };
        vm.trace(self.space.typed(ty), cell, self);
        self.st.src = NO_SOURCE;
    }

    /// Traces marked cells until none is left.
    pub(super) fn drain(&mut self, vm: &mut impl CellVm) {
        self.drain_some(vm, u64::MAX);
    }

    /// Traces at most `budget` marked cells; true when none is left.
    pub(super) fn drain_some(&mut self, vm: &mut impl CellVm, budget: u64) -> bool {
        for _ in 0..budget {
            let Some(payload) = self.st.gray.pop() else {
                self.st.src = NO_SOURCE;
                return true;
            };
            let ty = self.space.typed(self.space.type_at(payload));
            if let Some(c) = self.space.comps.as_deref() {
                self.st.src = c.owner_of(self.space, payload).unwrap_or(NO_SOURCE);
                self.st.src_cell = payload;
            }
            // SAFETY: a live cell's payload address: inside the mapped
            // region, never 0.
            let cell = unsafe { NonNull::new_unchecked(payload as *mut u8) };
            vm.trace(ty, cell, self);
        }
        self.st.src = NO_SOURCE;
        self.st.gray.is_empty()
    }
}
