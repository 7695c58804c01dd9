//! Marking: the non-moving tracer, with an explicit mark stack (no
//! recursion, so deep lists cannot overflow the native stack) and side
//! mark bits. MarkSweep's collections are marking and sweeping.

use super::{mapped_slots, object_slots, Tracer};
use crate::config::ScanStrategy;
use crate::policy::Arena;
use crate::types::Types;
use capability_heap::{Address, RefMode};

/// A marking in progress over one arena.
pub(crate) struct Marker<'a, M: RefMode> {
    arena: &'a mut Arena<M>,
    types: &'a Types,
    scan: ScanStrategy,
    stack: Vec<Address>,
    slots: Vec<Address>,
    /// A trace callback panicked.
    pub(crate) panicked: bool,
}

impl<'a, M: RefMode> Marker<'a, M> {
    pub(crate) fn new(arena: &'a mut Arena<M>, types: &'a Types, scan: ScanStrategy) -> Self {
        Marker {
            arena,
            types,
            scan,
            stack: Vec::new(),
            slots: Vec::new(),
            panicked: false,
        }
    }

    #[inline(always)]
    fn mark(&mut self, r: &M::Raw) {
        if !M::raw_is_valid(r) {
            return;
        }
        let a = M::raw_address(r);
        if self.arena.try_mark(a) {
            self.stack.push(a);
        }
    }
}

impl<M: RefMode> Tracer<M> for Marker<'_, M> {
    #[inline(always)]
    fn trace(&mut self, raw: M::Raw) -> M::Raw {
        self.mark(&raw);
        raw
    }

    fn is_reached(&self, raw: &M::Raw) -> bool {
        M::raw_is_valid(raw) && self.arena.is_marked(M::raw_address(raw))
    }

    fn survivor(&self, raw: &M::Raw) -> Option<M::Raw> {
        self.is_reached(raw).then_some(*raw)
    }

    fn drain(&mut self) {
        while let Some(obj) = self.stack.pop() {
            if let Some(slots) = mapped_slots::<M>(self.arena.region(), self.types, self.scan, obj)
            {
                for slot in slots {
                    // SAFETY: mapped_slots yields aligned slots inside the
                    // region.
                    let r = unsafe { M::read_raw_slot(self.arena.region(), slot) };
                    self.mark(&r);
                }
                continue;
            }
            let mut slots = std::mem::take(&mut self.slots);
            self.panicked |= object_slots::<M>(
                self.arena.region_mut(),
                self.types,
                self.scan,
                obj,
                &mut slots,
            )
            .is_err();
            for &slot in &slots {
                // SAFETY: object_slots yields SLOT_SIZE-aligned slots inside
                // the region.
                let r = unsafe { M::read_raw_slot(self.arena.region(), slot) };
                self.mark(&r);
            }
            self.slots = slots;
        }
    }
}
