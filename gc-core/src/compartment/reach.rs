//! The whole-heap collection's cross-compartment marking: which export
//! entries are reachable from any compartment's own roots, following
//! sealed references across compartments to a fixpoint. Export entries
//! are *not* roots here (they are for an independent collection), which
//! is what lets a cycle that runs through two compartments' exports be
//! found dead.
//!
//! Read-only: it marks in a side bitmap of its own ([`Reach`]), never in
//! the heaps' mark bits, and over-approximates what the plans will keep
//! (ephemeron values count as strong), so an entry it releases is one no
//! object a later collection keeps can reach.

use crate::mark_bits::SideBitmap;
use crate::trace::{for_each_slot, mapped_slots};
use crate::{GcError, Heap, RefLocation};
use capability_heap::{Address, RefMode};

/// One compartment's marking state across the fixpoint's rounds.
pub(crate) struct Reach<M: RefMode> {
    seen: SideBitmap,
    stack: Vec<Address>,
    /// Sealed forms found, for the caller to resolve.
    pub(crate) sealed: Vec<M::Ref>,
}

impl<M: RefMode> Heap<M> {
    /// Fresh marking state over this heap's region (a lazily committed
    /// bitmap: only the words the marking touches cost memory, which
    /// measured cheaper than keeping one and clearing what was marked).
    pub(crate) fn new_reach(&self) -> Result<Reach<M>, GcError> {
        Ok(Reach {
            seen: self.arena.new_bitmap()?,
            stack: Vec::new(),
            sealed: Vec::new(),
        })
    }

    /// Marks from `starts` (object payloads) — and, when `roots`, from
    /// this heap's own roots (handles, persistents, root regions,
    /// ephemeron values; not the export table) — every object not yet
    /// marked in `st`, and pushes every sealed form found onto
    /// `st.sealed`.
    pub(crate) fn reach(
        &self,
        roots: bool,
        starts: &[Address],
        st: &mut Reach<M>,
    ) -> Result<(), GcError> {
        for &a in starts {
            self.reach_one(&M::null(), a, st);
        }
        if roots {
            self.roots.for_each(|at, r| {
                if !matches!(at, RefLocation::ExportTable(_)) {
                    self.reach_ref(&r, st)
                }
            });
            let mut second = false;
            self.weak.for_each(|at, r| {
                // An ephemeron reports its key, then its value: the value
                // counts as strong (an over-approximation).
                if let RefLocation::Ephemeron(_) = at {
                    if second {
                        self.reach_ref(&r, st);
                    }
                    second = !second;
                }
            });
        }
        let region = self.arena.region();
        let scan = self.config.scan;
        while let Some(obj) = st.stack.pop() {
            if let Some(slots) = mapped_slots::<M>(region, &self.types, scan, obj) {
                for slot in slots {
                    // SAFETY: mapped_slots yields aligned slots in the region.
                    let r = unsafe { M::read_raw_slot(region, slot) };
                    self.reach_raw(&r, st);
                }
                continue;
            }
            for_each_slot::<M>(region, &self.types, scan, obj, |slot| {
                // SAFETY: for_each_slot yields aligned slots in the region.
                let r = unsafe { M::read_raw_slot(region, slot) };
                self.reach_raw(&r, st);
            })
            .map_err(|_| GcError::TracePanicked)?;
        }
        Ok(())
    }

    /// One slot's undecoded contents met by the marking: decoded only
    /// when it is no object reference (the rare sealed form).
    #[inline(always)]
    fn reach_raw(&self, r: &M::Raw, st: &mut Reach<M>) {
        if !M::raw_is_valid(r) {
            return;
        }
        let a = M::raw_address(r);
        if self.arena.is_object(a) {
            if !st.seen.test_and_set(a) {
                st.stack.push(a);
            }
        } else {
            self.reach_one(&M::from_raw(r), a, st);
        }
    }

    /// One reference met by the marking.
    #[inline(always)]
    fn reach_ref(&self, r: &M::Ref, st: &mut Reach<M>) {
        if M::is_valid(r) {
            self.reach_one(r, M::address(r), st);
        }
    }

    /// Marks the object at `a`, or records `r` if it is a sealed form.
    #[inline(always)]
    fn reach_one(&self, r: &M::Ref, a: Address, st: &mut Reach<M>) {
        if self.arena.is_object(a) {
            if !st.seen.test_and_set(a) {
                st.stack.push(a);
            }
        } else if M::is_valid(r) && M::is_sealed_form(r) {
            st.sealed.push(*r);
        }
    }
}
