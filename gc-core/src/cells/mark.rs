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
    /// Set with [`MarkState::set_src`].
    src: u16,
    /// With compartments: cross-compartment edges traced this cycle, per
    /// ordered pair (the `compartments` module's report).
    pub(super) edges: HashMap<(u16, u16), u64>,
    /// With compartments: the cell being traced (0 for none).
    pub(super) src_cell: u64,
    /// With compartments: (target compartment, source cell) of every
    /// crossing pointer traced this cycle (the remembered sets' rebuild).
    pub(super) crossing: Vec<(u16, u64)>,
    /// Collecting one compartment alone: only its cells are marked
    /// (`NO_SOURCE`: every compartment). Set with [`MarkState::set_only`].
    only: u16,
    /// With compartments, from `src` and `only`: the owner a traced
    /// pointer's target may have for [`Marker::mark`] to mark it with no
    /// more compartment work (no crossing to count, nothing to leave);
    /// [`ANY_OWNER`] when every owner is (roots of a whole collection),
    /// [`NO_OWNER`] when none is. Any other target takes the slow path.
    same: u32,
}

/// [`MarkState::same`]: whatever the target's owner, mark it.
const ANY_OWNER: u32 = u32::MAX;
/// [`MarkState::same`]: no owner lets a target skip the slow path.
const NO_OWNER: u32 = u32::MAX - 1;

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
            same: ANY_OWNER,
        })
    }

    /// The bytes of heap its mark bits cover.
    pub(super) fn range_len(&self) -> u64 {
        self.bits.len()
    }

    pub(super) fn start(&mut self) {
        self.gray.clear();
        self.first_bad = None;
        self.src = NO_SOURCE;
        self.edges.clear();
        self.crossing.clear();
        self.only = NO_SOURCE;
        self.same = ANY_OWNER;
    }

    /// The compartment of the cell being traced (`NO_SOURCE`: none).
    #[inline]
    pub(super) fn set_src(&mut self, src: u16) {
        self.src = src;
        self.same = Self::same_for(src, self.only);
    }

    /// The compartment of the cell being traced, `src`, a real compartment
    /// (`set_src` for a single compare: `NO_SOURCE` here makes every
    /// target take the slow path, which is still correct).
    #[inline]
    fn set_traced(&mut self, src: u16) {
        self.src = src;
        self.same = if self.only == NO_SOURCE || self.only == src {
            u32::from(src)
        } else {
            NO_OWNER
        };
    }

    /// Collecting `only` alone (`NO_SOURCE`: every compartment).
    pub(super) fn set_only(&mut self, only: u16) {
        self.only = only;
        self.same = Self::same_for(self.src, only);
    }

    /// [`MarkState::same`] for a source and a collected compartment: a
    /// target of the source's own compartment crosses nothing, and is
    /// marked unless one other compartment is being collected.
    #[inline]
    fn same_for(src: u16, only: u16) -> u32 {
        match (src, only) {
            (NO_SOURCE, NO_SOURCE) => ANY_OWNER,
            (NO_SOURCE, _) => NO_OWNER,
            (s, o) if o == NO_SOURCE || o == s => u32::from(s),
            _ => NO_OWNER,
        }
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
        self.mark_as(p, true).is_some()
    }

    /// Marks the cell `p` points into as [`Marker::mark`] does, but never
    /// queues it to be traced: `Some(true)` when this call marked it (it
    /// was unmarked), and then the VM reports the cell's pointers itself,
    /// before its callback returns — for a small cell it can scan in line
    /// (Lua's upvalues: a trace's loop instead of a queued trace call).
    /// `Some(false)` when it was marked already, or ignored (null, outside
    /// the heap in the unchecked configuration); `None` for a bad pointer,
    /// as `mark`'s false. With compartments every cell is queued as by
    /// `mark` (its edges are counted from its own compartment) and the
    /// answer is `Some(false)`.
    #[inline]
    pub fn mark_shallow(&mut self, p: *const u8) -> Option<bool> {
        self.mark_as(p, false)
    }

    /// [`Marker::mark`] (`queue`) or [`Marker::mark_shallow`]: `None` for a
    /// bad pointer, else whether a cell left unqueued was marked here.
    #[inline(always)]
    fn mark_as(&mut self, p: *const u8, queue: bool) -> Option<bool> {
        let p = p as u64;
        if p == 0 {
            return Some(false);
        }
        let sp = self.space;
        // A payload start is one bit away (and the mark bitmap, over the
        // same range, has its bit at the same word and mask); an interior
        // pointer, a lookup.
        let bit = sp
            .alloc
            .bit_of(Address(p))
            .filter(|&(w, m)| sp.alloc.test_at(w, m));
        let found = match bit {
            Some(_) => Some(p),
            None => sp.cell_of(p).map(|(payload, _)| payload),
        };
        let Some(payload) = found else {
            if !self.checked && !sp.in_heap(p) {
                return Some(false);
            }
            self.st.bad += 1;
            self.st.first_bad.get_or_insert(p);
            return None;
        };
        let mut queue = queue;
        if let Some(c) = sp.comps.as_deref() {
            // Compartments. The common case, a target in the traced
            // cell's own compartment (or any target of a whole
            // collection's roots), is one owner lookup and a compare;
            // everything else is `compartment_edge`.
            queue = true; // its own trace counts its edges
            let same = self.st.same;
            if same != ANY_OWNER {
                let owner = c.owner_of(sp, payload);
                if owner.map(u32::from) != Some(same) {
                    if let Some(r) = self.compartment_edge(c, owner, p) {
                        return r.then_some(false);
                    }
                }
            }
        }
        let was_marked = match bit {
            Some((w, m)) => self.st.bits.test_and_set_at(w, m),
            None => self.st.bits.test_and_set(Address(payload)),
        };
        if was_marked {
            return Some(false);
        }
        let ty = sp.type_of_live(payload);
        match self.types.get(ty as usize) {
            Some(t) if t.leaf => Some(!queue),
            Some(_) if queue => {
                self.st.gray.push(payload);
                Some(false)
            }
            Some(_) => Some(true),
            None => {
                // A header the VM overwrote: never traced.
                self.st.bad += 1;
                self.st.first_bad.get_or_insert(p);
                None
            }
        }
    }

    /// The compartment work for a traced pointer `p` whose target (owned
    /// by `owner`) is not in [`MarkState::same`]: `Some(result)` when
    /// `mark` returns at once (the target left unmarked), `None` to mark
    /// it. A traced edge that crosses is counted; in the checked
    /// configuration (where the target was already found to be a live
    /// cell: I3) its owner must also be a known compartment, or it is a
    /// bad pointer, never marked.
    #[cold]
    #[inline(never)]
    fn compartment_edge(
        &mut self,
        c: &super::compartments::Compartments,
        owner: Option<u16>,
        p: u64,
    ) -> Option<bool> {
        let src = self.st.src;
        let only = self.st.only;
        if only != NO_SOURCE && owner != Some(only) {
            return Some(true); // collecting one compartment: leaves it
        }
        if src != NO_SOURCE {
            let dst = owner.unwrap_or(src);
            if dst != src {
                if self.checked && !c.known(dst) {
                    self.st.bad += 1;
                    self.st.first_bad.get_or_insert(p);
                    return Some(false);
                }
                *self.st.edges.entry((src, dst)).or_default() += 1;
                self.st.crossing.push((dst, self.st.src_cell));
            }
        }
        None
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
        self.st
            .set_src(c.owner_of(self.space, payload).unwrap_or(NO_SOURCE));
        self.st.src_cell = payload;
        // SAFETY: a live cell's payload address (the caller checked):
        // inside the mapped region, never 0.
        let cell = unsafe { NonNull::new_unchecked(payload as *mut u8) };
        vm.trace(self.space.typed(ty), cell, self);
        self.st.set_src(NO_SOURCE);
    }

    /// Traces marked cells until none is left.
    pub(super) fn drain(&mut self, vm: &mut impl CellVm) {
        self.drain_some(vm, u64::MAX);
    }

    /// Traces at most `budget` marked cells; true when none is left.
    pub(super) fn drain_some(&mut self, vm: &mut impl CellVm, budget: u64) -> bool {
        for _ in 0..budget {
            let Some(payload) = self.st.gray.pop() else {
                self.st.set_src(NO_SOURCE);
                return true;
            };
            let ty = self.space.typed(self.space.type_of_live(payload));
            if let Some(c) = self.space.comps.as_deref() {
                // A marked cell is in a block, so it has an owner.
                self.st
                    .set_traced(c.owner_of(self.space, payload).unwrap_or(NO_SOURCE));
                self.st.src_cell = payload;
            }
            // SAFETY: a live cell's payload address: inside the mapped
            // region, never 0.
            let cell = unsafe { NonNull::new_unchecked(payload as *mut u8) };
            vm.trace(ty, cell, self);
        }
        self.st.set_src(NO_SOURCE);
        self.st.gray.is_empty()
    }
}
