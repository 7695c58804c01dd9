//! The whole-heap collection's cross-compartment marking: which export
//! entries are reachable from any compartment's own roots, following
//! sealed references across compartments to a fixpoint. Export entries
//! are *not* roots here (they are for an independent collection), which
//! is what lets a cycle that runs through two compartments' exports be
//! found dead.
//!
//! Read-only: it marks in a side set, never in the heaps' mark bits, and
//! over-approximates what the plans will keep (ephemeron values count as
//! strong), so an entry it releases is one no object a later collection
//! keeps can reach.

use crate::trace::for_each_slot;
use crate::{GcError, Heap, RefLocation};
use capability_heap::{Address, RefMode};
use std::collections::HashSet;

impl<M: RefMode> Heap<M> {
    /// Marks from `starts` (object payloads) — and, when `roots`, from
    /// this heap's own roots (handles, persistents, root regions,
    /// ephemeron values; not the export table) — every object not yet in
    /// `seen`, and pushes every sealed form found onto `sealed`.
    pub(crate) fn reach(
        &self,
        roots: bool,
        starts: &[Address],
        seen: &mut HashSet<u64>,
        sealed: &mut Vec<M::Ref>,
    ) -> Result<(), GcError> {
        let mut stack: Vec<Address> = Vec::new();
        for &a in starts {
            if self.arena.object_at(a).is_some() && seen.insert(a.get()) {
                stack.push(a);
            }
        }
        let mut visit = |r: M::Ref, stack: &mut Vec<Address>, sealed: &mut Vec<M::Ref>| {
            if !M::is_valid(&r) {
                return;
            }
            if self.is_sealed_here(&r) {
                sealed.push(r);
                return;
            }
            let a = M::address(&r);
            if self.arena.object_at(a).is_some() && seen.insert(a.get()) {
                stack.push(a);
            }
        };
        if roots {
            self.roots.for_each(|at, r| {
                if !matches!(at, RefLocation::ExportTable(_)) {
                    visit(r, &mut stack, sealed)
                }
            });
            let mut second = false;
            self.weak.for_each(|at, r| {
                // An ephemeron reports its key, then its value: the value
                // counts as strong (an over-approximation).
                if let RefLocation::Ephemeron(_) = at {
                    if second {
                        visit(r, &mut stack, sealed);
                    }
                    second = !second;
                }
            });
        }
        let region = self.arena.region();
        while let Some(obj) = stack.pop() {
            let mut found = Vec::new();
            for_each_slot::<M>(region, &self.types, self.config.scan, obj, |slot| {
                // SAFETY: for_each_slot yields aligned slots inside the region.
                found.push(unsafe { M::read_slot(region, slot) });
            })
            .map_err(|_| GcError::TracePanicked)?;
            for r in found {
                visit(r, &mut stack, sealed);
            }
        }
        Ok(())
    }
}
