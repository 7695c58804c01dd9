//! Evacuation: the copying half of the SemiSpace and Generational plans.
//!
//! Every reachable object in from-space is copied once — header, payload
//! and the tags of its reference slots — and its from-space header becomes
//! a forwarding record. Every slot that referred to it, wherever it is (a
//! heap slot, a handle, a persistent root, a root region, a remembered
//! slot, a weak table), gets a reference **re-derived from the heap
//! authority** with exact bounds over the new payload and the old
//! reference's permissions, never by adjusting the old capability (I8).
//! Grey objects are kept on an explicit stack (the copies are not
//! contiguous when they are promoted into the mark-sweep space, so
//! Cheney's scan pointer becomes a worklist).
//!
//! A pinned object is not copied: it is marked and scanned in place, and
//! its block is retained. If the to-space cannot take an object (heap
//! limit reached mid-collection), or its header claims a length no
//! copy-space object can have, the object is treated the same way, so an
//! evacuation never fails halfway and never copies past its cell.

use super::block::{BlockState, Space, BLOCK};
use super::Arena;
use crate::config::ScanStrategy;
use crate::object::{header_size, Header};
use crate::trace::{mapped_slots, object_slots, Tracer};
use crate::types::Types;
use capability_heap::{Address, RefMode};

/// Where survivors of from-space go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// Fresh copy-space blocks (SemiSpace).
    CopySpace,
    /// The mark-sweep space (Generational promotion).
    Mature,
}

/// What an evacuation did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EvacResult {
    pub(crate) bytes_copied: u64,
    pub(crate) objects_copied: u64,
    /// Bytes of mark-sweep cells survivors were promoted into.
    pub(crate) promoted: u64,
    pub(crate) caps_derived: u64,
    /// From-space objects kept in place (pinned, or no room to copy).
    pub(crate) kept_in_place: u64,
}

/// An evacuation in progress over one arena.
pub(crate) struct Evacuator<'a, M: RefMode> {
    arena: &'a mut Arena<M>,
    types: &'a Types,
    scan: ScanStrategy,
    target: Target,
    /// Also mark and scan non-moving objects (a full collection).
    full: bool,
    from: Vec<usize>,
    grey: Vec<Address>,
    /// From-space blocks holding objects kept in place.
    kept_blocks: Vec<usize>,
    /// Old-to-young slots found while tracing (the next remembered set).
    remember: Vec<Address>,
    slots: Vec<Address>,
    r: EvacResult,
    panicked: bool,
}

impl<'a, M: RefMode> Evacuator<'a, M> {
    /// Starts evacuating the copy space of `arena` into `target`; with
    /// `full`, non-moving objects are marked too (the caller sweeps them).
    /// In a minor collection (`!full`) the remembered slots are roots.
    pub(crate) fn new(
        arena: &'a mut Arena<M>,
        types: &'a Types,
        scan: ScanStrategy,
        target: Target,
        full: bool,
    ) -> Self {
        let from = arena.copy.begin_evacuation(&mut arena.blocks);
        let mut ev = Evacuator {
            arena,
            types,
            scan,
            target,
            full,
            from,
            grey: Vec::new(),
            kept_blocks: Vec::new(),
            remember: Vec::new(),
            slots: Vec::new(),
            r: EvacResult::default(),
            panicked: false,
        };
        // A full collection rebuilds the set from what it traces; a minor
        // one treats the remembered slots as roots.
        let mut old = ev.arena.remset.take();
        if !full {
            old.sort_unstable();
            old.dedup();
            for &s in &old {
                // SAFETY: remembered slots are reference slots of live
                // mature objects (recorded by the barrier for a validated
                // slot, or by a previous evacuation): aligned, in the
                // region. Mature objects do not die in a minor collection.
                let n = unsafe { ev.update_slot(s) };
                if ev.is_young(&n) {
                    ev.remember.push(s);
                }
            }
        }
        // The old set's allocation is kept for the mutator's next cycle.
        old.clear();
        ev.arena.remset.replace(old);
        ev
    }

    /// The reference that `raw` must become: forwarded (copying its target
    /// first if need be) when it points into from-space, else unchanged;
    /// in a full collection non-moving targets are marked grey.
    #[inline(always)]
    fn process(&mut self, raw: M::Raw) -> M::Raw {
        if !M::raw_is_valid(&raw) {
            return raw;
        }
        let a = M::raw_address(&raw);
        // A minor collection only forwards: one block-state test.
        if !self.full {
            return if self.arena.blocks.is_from(a) {
                self.forward(raw, a)
            } else {
                raw
            };
        }
        match self.arena.blocks.space_at(a) {
            Space::From => self.forward(raw, a),
            Space::Mature => {
                if self.full && self.arena.try_mark(a) {
                    self.grey.push(a);
                }
                raw
            }
            Space::Copy | Space::None => raw,
        }
    }

    ///
    /// `a` lies in a from-space block (the caller's block-state test), so
    /// once its alloc bit says an object's payload starts there, that
    /// object's header lies in the same block of the region: read and
    /// rewritten below without a region test.
    #[inline(never)]
    fn forward(&mut self, raw: M::Raw, a: Address) -> M::Raw {
        if !self.arena.is_object(a) {
            return raw;
        }
        // SAFETY: an object's payload starts at `a` (its alloc bit), in a
        // block of the region, its header before it in the same block.
        let h = unsafe { Header::read_unchecked::<M>(&self.arena.region, a) };
        if let Some(to) = h.forwarded_to() {
            return match Header::read::<M>(&self.arena.region, to) {
                // The copy was laid out by `layout_of`: it has one.
                Ok(nh) => match self.types.layout_of::<M>(nh) {
                    Some((l, _)) => self.relocate_to(&raw, to, l.bounds),
                    None => M::to_raw(&M::null()),
                },
                Err(_) => raw,
            };
        }
        if h.is_pinned() {
            self.keep_in_place(a);
            return raw;
        }
        // A copy-space object is small by construction; a header claiming
        // otherwise (corrupted in an unchecked mode) is kept, not copied.
        // A fixed-size type's layout, copy-space cell and size class were
        // precomputed at registration: no per-object computation.
        let Some((layout, fixed)) = self
            .types
            .layout_of::<M>(h)
            .filter(|(l, _)| self.arena.copy.fits(*l))
        else {
            self.keep_in_place(a);
            return raw;
        };
        let bytes = header_size::<M>() + layout.size;
        // A header claiming more than its cell holds (corrupted in an
        // unchecked mode) could reach past the region's end: kept.
        if !self.arena.region.contains(Header::at::<M>(a), bytes) {
            self.keep_in_place(a);
            return raw;
        }
        let arena = &mut *self.arena;
        let dst = match self.target {
            Target::CopySpace => {
                let cell = fixed.map_or_else(|| arena.copy.cell_size(layout), |y| y.cell);
                arena
                    .copy
                    .alloc(&mut arena.blocks, &mut arena.region, cell)
                    .map(|c| (c.add(header_size::<M>()), 0))
            }
            Target::Mature => {
                let class = match fixed.and_then(|y| y.class) {
                    Some((class, _)) => Some(class),
                    None => arena.small.class_of(layout),
                };
                match class {
                    Some(class) => match arena.small.alloc(
                        &mut arena.blocks,
                        &mut arena.region,
                        &arena.alloc_bits,
                        class,
                    ) {
                        Some(p) => Some((p, arena.small.classes.size(class))),
                        None => None,
                    },
                    // Not a small object: nowhere to promote it.
                    None => None,
                }
            }
        };
        let Some((dst, promoted)) = dst else {
            // No room: the object stays where it is, as if pinned.
            self.keep_in_place(a);
            return raw;
        };
        // SAFETY: the source is in the region (checked just above); the
        // destination is a fresh cell of at least `bytes` carved from a
        // to-space or mark-sweep block of the region; they are disjoint
        // (from-space blocks take no new cells) and both cell-aligned (8
        // or 16: the granule in capability memory).
        unsafe {
            arena
                .region
                .copy_unchecked(Header::at::<M>(a), Header::at::<M>(dst), bytes)
        };
        arena.alloc_bits.set_fresh(dst);
        if self.full && self.target == Target::Mature {
            // Promoted in a full collection: live for the sweep that follows.
            arena.mark_bits.put(dst, true);
        }
        // SAFETY: the header lies in the region (read above) and holds no
        // tag: headers are written only by the collector (I2).
        unsafe { h.forwarding(dst).write_fresh::<M>(&mut arena.region, a) };
        self.grey.push(dst);
        self.r.bytes_copied += bytes;
        self.r.objects_copied += 1;
        self.r.promoted += promoted;
        self.r.caps_derived += u64::from(M::CHECKED);
        // SAFETY: the new payload and its bounds (the payload's length,
        // exact or CRRL-padded: `layout.bounds <= layout.size`) lie in the
        // cell just filled, in the region (I8: re-derived from the
        // authority, never by widening the old reference).
        let r = unsafe { M::relocate_inside(&self.arena.auth, &raw, dst, layout.bounds) };
        debug_assert!(r.is_ok(), "I8: re-derivation failed: {r:?}");
        r.unwrap_or_else(|_| M::to_raw(&M::null()))
    }

    /// A from-space object that stays put: marked and scanned in place;
    /// its block is remembered so that only such blocks are walked when
    /// from-space is released.
    fn keep_in_place(&mut self, a: Address) {
        if !self.arena.mark_bits.test_and_set(a) {
            self.grey.push(a);
            if let Some(b) = self.arena.blocks.index_of(a) {
                self.kept_blocks.push(b);
            }
        }
    }

    /// The new payload and length of a forwarded from-space object.
    fn forwarded(&self, a: Address) -> Option<(Address, u64)> {
        let to = self.arena.object_at(a)?.forwarded_to()?;
        Some((to, Header::read::<M>(&self.arena.region, to).ok()?.len()))
    }

    /// I8: a reference to the new copy (payload `new`, bounds of `bounds`
    /// bytes: the payload length, exactly, where representable — I1),
    /// derived from the heap authority. The new payload was laid out by
    /// `Types::layout_of` inside the region, so the derivation cannot fail; if it
    /// ever did, the slot would get an untagged null and the verifier
    /// would report the lost reference.
    #[inline(always)]
    fn relocate_to(&mut self, old: &M::Raw, new: Address, bounds: u64) -> M::Raw {
        self.r.caps_derived += u64::from(M::CHECKED);
        let r = M::relocate_raw(&self.arena.auth, old, new, bounds);
        debug_assert!(r.is_ok(), "I8: re-derivation failed: {r:?}");
        r.unwrap_or_else(|_| M::to_raw(&M::null()))
    }

    /// Reads, processes and writes back one heap slot; returns the value
    /// it holds afterwards.
    ///
    /// # Safety
    /// `s` must be a `SLOT_SIZE`-aligned slot inside the arena's region
    /// (what `mapped_slots`, `object_slots` and the remembered set yield).
    #[inline(always)]
    unsafe fn update_slot(&mut self, s: Address) -> M::Raw {
        // SAFETY: the caller's contract.
        let r = unsafe { M::read_raw_slot(&self.arena.region, s) };
        let n = self.process(r);
        if n != r {
            // SAFETY: the caller's contract.
            unsafe { M::write_raw_slot(&mut self.arena.region, s, &n) };
        }
        n
    }

    /// True when `r` refers into the copy space (a young object).
    #[inline(always)]
    fn is_young(&self, r: &M::Raw) -> bool {
        M::raw_is_valid(r)
            && matches!(
                self.arena.blocks.space_at(M::raw_address(r)),
                Space::From | Space::Copy
            )
    }

    /// Ends the evacuation: from-space is released (I4) and the remembered
    /// set replaced by the old-to-young slots found. Returns what was done
    /// and whether a trace callback panicked.
    pub(crate) fn finish(mut self) -> (EvacResult, bool) {
        let mut kept_blocks = std::mem::take(&mut self.kept_blocks);
        kept_blocks.sort_unstable();
        kept_blocks.dedup();
        let from = std::mem::take(&mut self.from);
        let remember = std::mem::take(&mut self.remember);
        self.arena.remset.extend(remember);
        self.r.kept_in_place = self.release_from_space(from, &kept_blocks);
        self.arena.copy.end_evacuation();
        (self.r, self.panicked)
    }

    /// Releases from-space (I4). A block with no object kept in place is
    /// untagged and its alloc bits cleared in bulk, then quarantined dirty
    /// (zeroed when next handed out). A block with kept objects is walked:
    /// every other cell is zeroed and the block is retained.
    fn release_from_space(&mut self, from: Vec<usize>, kept_blocks: &[usize]) -> u64 {
        let arena = &mut *self.arena;
        let mut kept_objects = 0;
        for b in from {
            let start = arena.blocks.addr(b);
            let end = start.add(BLOCK);
            if kept_blocks.binary_search(&b).is_err() {
                arena.region.clear_tags(start, BLOCK);
                if arena.poison {
                    super::block::poison(&mut arena.region, start, BLOCK);
                }
                arena.alloc_bits.clear_range(start, BLOCK);
                arena.blocks.set_state(b, BlockState::Quarantined);
                arena.blocks.set_dirty(b);
                arena.copy.quarantine.push(b);
                continue;
            }
            let mut kept = false;
            let mut at = start;
            while let Some(p) = arena.alloc_bits.next_set(at, end) {
                let h = Header::read::<M>(&arena.region, p).unwrap_or(Header::new(0, 0, false));
                let len = match h.forwarded_to() {
                    Some(to) => Header::read::<M>(&arena.region, to).map_or(0, |h| h.len()),
                    None => h.len(),
                };
                let room = end.offset_from(Header::at::<M>(p));
                let cell =
                    M::payload_layout(len).map_or(room, |l| arena.copy.cell_size(l).min(room));
                if h.forwarded_to().is_none() && arena.mark_bits.get(p) {
                    arena.mark_bits.put(p, false);
                    kept = true;
                    kept_objects += 1;
                } else {
                    arena.alloc_bits.put(p, false);
                    let _ = arena.region.zero(Header::at::<M>(p), cell);
                }
                at = Header::at::<M>(p).add(cell.max(header_size::<M>() + 8));
            }
            let state = if kept {
                arena.copy.retained.push(b);
                BlockState::Copy
            } else {
                if arena.poison {
                    super::block::poison(&mut arena.region, start, BLOCK);
                    arena.blocks.set_dirty(b);
                }
                arena.copy.quarantine.push(b);
                BlockState::Quarantined
            };
            arena.blocks.set_state(b, state);
        }
        kept_objects
    }
}

impl<M: RefMode> Tracer<M> for Evacuator<'_, M> {
    #[inline(always)]
    fn trace(&mut self, raw: M::Raw) -> M::Raw {
        self.process(raw)
    }

    fn is_reached(&self, r: &M::Raw) -> bool {
        if !M::raw_is_valid(r) {
            return false;
        }
        let a = M::raw_address(r);
        match self.arena.blocks.space_at(a) {
            Space::From => self.forwarded(a).is_some() || self.arena.mark_bits.get(a),
            Space::Mature => !self.full || self.arena.mark_bits.get(a),
            Space::Copy => true,
            Space::None => false,
        }
    }

    fn survivor(&self, r: &M::Raw) -> Option<M::Raw> {
        if !self.is_reached(r) {
            return None;
        }
        let a = M::raw_address(r);
        match self.forwarded(a) {
            Some((new, len)) => {
                let bounds = M::payload_layout(len)?.bounds;
                M::relocate_raw(&self.arena.auth, r, new, bounds).ok()
            }
            None => Some(*r),
        }
    }

    /// Processes every reference slot of the grey objects until none is
    /// left, remembering the slots of objects outside the copy space that
    /// still refer into it afterwards (pinned young objects).
    fn drain(&mut self) {
        while let Some(obj) = self.grey.pop() {
            let old_object = !matches!(self.arena.blocks.space_at(obj), Space::From | Space::Copy);
            // Fast path: a type map of at most 64 slots, walked bit by bit.
            if let Some(slots) = mapped_slots::<M>(&self.arena.region, self.types, self.scan, obj) {
                for s in slots {
                    // SAFETY: mapped_slots yields aligned slots in the region.
                    let n = unsafe { self.update_slot(s) };
                    if old_object && self.is_young(&n) {
                        self.remember.push(s);
                    }
                }
                continue;
            }
            let mut slots = std::mem::take(&mut self.slots);
            self.panicked |= object_slots::<M>(
                &mut self.arena.region,
                self.types,
                self.scan,
                obj,
                &mut slots,
            )
            .is_err();
            for &s in &slots {
                // SAFETY: object_slots yields aligned slots in the region.
                let n = unsafe { self.update_slot(s) };
                if old_object && self.is_young(&n) {
                    self.remember.push(s);
                }
            }
            self.slots = slots;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Heap, HeapConfig, Plan};
    use capability_heap::{Morello, Native, SoftCheri};

    /// Evacuating a nursery with one rooted chain copies exactly the
    /// chain, re-derives every reference to it (I8), and quarantines the
    /// from-space blocks untagged.
    fn evacuates_exactly_the_reachable<M: RefMode>() {
        let mut h = Heap::<M>::new(HeapConfig {
            plan: Plan::Generational,
            pause_goal: None,
            nursery_size: 256 << 10,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(1, 8).unwrap();
        let head = h.alloc(node).unwrap();
        let root = h.persist(&head).unwrap();
        for _ in 0..9 {
            let n = h.alloc(node).unwrap();
            let head = h.get_persistent(root).unwrap();
            h.set_ref(&n, 0, &head).unwrap();
            h.set_persistent(root, &n).unwrap();
        }
        for _ in 0..20 {
            h.alloc(node).unwrap(); // garbage
        }
        let before = h.get_persistent(root).unwrap().address();
        let from = h.arena.corrupt_blocks();
        let s = h.collect_minor().unwrap();
        assert_eq!(s.objects_copied, 10, "the chain, not the garbage");
        let mut n = h.get_persistent(root).unwrap();
        assert_ne!(n.address(), before, "moved");
        let mut len = 0;
        while !n.is_null() {
            assert!(h.arena.object_at(n.address()).is_some());
            len += 1;
            n = h.get_ref(&n, 0).unwrap();
        }
        assert_eq!(len, 10);
        for (a, state) in from {
            if state == BlockState::Copy {
                assert!(h.arena.is_evacuated(a), "from-space quarantined");
                assert_eq!(h.arena.region().count_tags(a, BLOCK), 0);
            }
        }
        h.verify().unwrap();
    }

    #[test]
    fn evacuation_native() {
        evacuates_exactly_the_reachable::<Native>();
    }

    #[test]
    fn evacuation_softcheri() {
        evacuates_exactly_the_reachable::<SoftCheri<Morello>>();
    }
}
