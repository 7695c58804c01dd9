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
//! limit reached mid-collection) the object is treated the same way, so
//! an evacuation never fails halfway.

use super::copy_space::CopySpace;
use super::marksweep::blocks::{BlockState, BLOCK};
use super::marksweep::MarkSweep;
use crate::config::ScanStrategy;
use crate::mark_bits::SideBitmap;
use crate::object::{header_of, FLAG_FORWARDED, FLAG_PINNED, HEADER_SIZE};
use crate::trace::{for_each_slot, mapped_slots};
use crate::types::TypeInfo;
use crate::Heap;
use capability_heap::{Address, RefMode, TaggedRegion};

/// Where survivors of from-space go.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// Fresh copy-space blocks (SemiSpace).
    CopySpace,
    /// The mark-sweep space (Generational promotion).
    Mature,
}

/// What an evacuation did.
#[derive(Default)]
pub(crate) struct EvacResult {
    pub(crate) bytes_copied: u64,
    pub(crate) objects_copied: u64,
    /// Bytes promoted into the mark-sweep space.
    pub(crate) promoted: u64,
    pub(crate) caps_derived: u64,
    /// From-space objects kept in place (pinned, or no room to copy).
    pub(crate) kept_in_place: u64,
}

/// The collector state an evacuation borrows.
struct Evac<'a, M: RefMode> {
    region: &'a mut TaggedRegion,
    space: &'a mut MarkSweep,
    copy: &'a mut CopySpace,
    alloc_bits: &'a mut SideBitmap,
    mark_bits: &'a mut SideBitmap,
    auth: &'a M::Authority,
    target: Target,
    /// Also mark and scan non-moving objects (a full collection).
    full: bool,
    grey: Vec<Address>,
    /// From-space blocks holding objects kept in place.
    kept_blocks: Vec<usize>,
    r: EvacResult,
}

impl<M: RefMode> Evac<'_, M> {
    /// The reference that `raw` must become: forwarded (copying its target
    /// first if need be) when it points into from-space, else unchanged;
    /// in a full collection non-moving targets are marked grey.
    #[inline(always)]
    fn process(&mut self, raw: M::Raw) -> M::Raw {
        if !M::raw_is_valid(&raw) {
            return raw;
        }
        let a = M::raw_address(&raw);
        match self.space.blocks.state_at(a) {
            BlockState::From => self.forward(raw, a),
            BlockState::Small { .. } | BlockState::LargeHead | BlockState::LargeTail => {
                if self.full && self.alloc_bits.get(a) && !self.mark_bits.test_and_set(a) {
                    self.grey.push(a);
                }
                raw
            }
            _ => raw,
        }
    }

    #[inline(never)]
    fn forward(&mut self, raw: M::Raw, a: Address) -> M::Raw {
        if !self.alloc_bits.get(a) {
            return raw;
        }
        let Ok(header) = self.region.read::<u128>(header_of(a)) else {
            return raw;
        };
        let (w0, w1) = (header as u64, (header >> 64) as u64);
        let flags = (w0 >> 32) as u32;
        if flags & FLAG_FORWARDED != 0 {
            // w1 is the new payload; its header holds the length.
            return match self.region.read::<u64>(header_of(Address(w1)).add(8)) {
                Ok(len) => self.relocate(&raw, Address(w1), len),
                Err(_) => raw,
            };
        }
        if flags & FLAG_PINNED != 0 {
            self.keep_in_place(a);
            return raw;
        }
        let layout = M::payload_layout(w1);
        let dst = match self.target {
            Target::CopySpace => {
                let cell = self.copy.cell_size(layout);
                self.copy
                    .alloc(&mut self.space.blocks, self.region, cell)
                    .map(|c| (c.add(HEADER_SIZE), 0))
            }
            Target::Mature => self.space.alloc(self.region, self.alloc_bits, layout),
        };
        let Some((dst, promoted)) = dst else {
            // No room: the object stays where it is, as if pinned.
            self.keep_in_place(a);
            return raw;
        };
        let (src_cell, dst_cell, bytes) = (header_of(a), header_of(dst), HEADER_SIZE + layout.size);
        let copied = if M::TAGGED {
            self.region.copy_with_tags(src_cell, dst_cell, bytes)
        } else {
            self.region.copy_plain(src_cell, dst_cell, bytes)
        };
        if copied.is_err() {
            self.keep_in_place(a);
            return raw;
        }
        self.alloc_bits.put(dst, true);
        if self.full && self.target == Target::Mature {
            // Promoted in a full collection: live for the sweep that follows.
            self.mark_bits.put(dst, true);
        }
        let fwd = u128::from(w0 | u64::from(FLAG_FORWARDED) << 32) | u128::from(dst.get()) << 64;
        let _ = self.region.write_plain::<u128>(header_of(a), fwd);
        self.grey.push(dst);
        self.r.bytes_copied += bytes;
        self.r.objects_copied += 1;
        self.r.promoted += promoted;
        self.relocate(&raw, dst, w1)
    }

    /// A from-space object that stays put: marked and scanned in place;
    /// its block is remembered so that only such blocks are walked when
    /// from-space is released.
    fn keep_in_place(&mut self, a: Address) {
        if !self.mark_bits.test_and_set(a) {
            self.grey.push(a);
            if let Some(b) = self.space.blocks.index_of(a) {
                self.kept_blocks.push(b);
            }
        }
    }

    /// The new payload and length of a forwarded from-space object.
    fn forwarded(&self, a: Address) -> Option<(Address, u64)> {
        let w0 = self.region.read::<u64>(header_of(a)).ok()?;
        if (w0 >> 32) as u32 & FLAG_FORWARDED == 0 {
            return None;
        }
        let new = Address(self.region.read::<u64>(header_of(a).add(8)).ok()?);
        let len = self.region.read::<u64>(header_of(new).add(8)).ok()?;
        Some((new, len))
    }

    /// I8: a reference to the new copy, derived from the heap authority.
    /// The new payload was laid out by `payload_layout` inside the region,
    /// so the derivation cannot fail; if it ever did, the slot would get an
    /// untagged null and the verifier would report the lost reference.
    fn relocate(&mut self, old: &M::Raw, new: Address, len: u64) -> M::Raw {
        self.r.caps_derived += u64::from(M::CHECKED);
        let padded = M::payload_layout(len).size;
        let r = M::relocate_raw(self.auth, old, new, padded);
        debug_assert!(r.is_ok(), "I8: re-derivation failed: {r:?}");
        r.unwrap_or_else(|_| M::to_raw(&M::null()))
    }

    /// [`Evac::process`] for a decoded reference (roots, weak tables):
    /// decoded again only if it changed.
    fn process_ref(&mut self, r: &mut M::Ref) {
        let raw = M::to_raw(r);
        let n = self.process(raw);
        if n != raw {
            *r = M::from_raw(&n);
        }
    }

    /// Processes every reference slot of the grey objects until none is
    /// left. `remember` receives slots of non-copy-space objects that still
    /// refer into the copy space afterwards (pinned young objects).
    fn drain(&mut self, types: &[TypeInfo], scan: ScanStrategy, remember: &mut Vec<Address>) {
        let mut slots = Vec::new();
        while let Some(obj) = self.grey.pop() {
            let old_object = !matches!(
                self.space.blocks.state_at(obj),
                BlockState::From | BlockState::Copy
            );
            // Fast path: a type map of at most 64 slots, walked bit by bit.
            if let Some(slots) = mapped_slots::<M>(self.region, types, scan, obj) {
                for s in slots {
                    let n = self.update_slot(s);
                    if old_object && self.in_copy_space(&n) {
                        remember.push(s);
                    }
                }
                continue;
            }
            slots.clear();
            for_each_slot::<M>(self.region, types, scan, obj, |s| slots.push(s));
            for &s in &slots {
                let n = self.update_slot(s);
                if old_object && self.in_copy_space(&n) {
                    remember.push(s);
                }
            }
        }
    }

    /// Reads, processes and writes back one heap slot; returns the value
    /// it holds afterwards.
    #[inline(always)]
    fn update_slot(&mut self, s: Address) -> M::Raw {
        // SAFETY: slots come from for_each_slot, mapped_slots or the
        // remembered set: SLOT_SIZE-aligned and inside the region.
        let r = unsafe { M::read_raw_slot(self.region, s) };
        let n = self.process(r);
        if n != r {
            // SAFETY: as above.
            unsafe { M::write_raw_slot(self.region, s, &n) };
        }
        n
    }

    /// True when `r` refers into the copy space (a young object).
    #[inline(always)]
    fn in_copy_space(&self, r: &M::Raw) -> bool {
        M::raw_is_valid(r)
            && matches!(
                self.space.blocks.state_at(M::raw_address(r)),
                BlockState::From | BlockState::Copy
            )
    }

    /// After tracing: the surviving version of `r`, or `None` if its
    /// target died. Pinned and non-moving objects survive when marked.
    fn survivor(&self, r: &M::Ref) -> Option<M::Ref> {
        if !M::is_valid(r) {
            return None;
        }
        let a = M::address(r);
        match self.space.blocks.state_at(a) {
            BlockState::From => match self.forwarded(a) {
                Some((new, len)) => {
                    M::relocate(self.auth, r, new, M::payload_layout(len).size).ok()
                }
                None => self.mark_bits.get(a).then_some(*r),
            },
            BlockState::Small { .. } | BlockState::LargeHead | BlockState::LargeTail => {
                (!self.full || self.mark_bits.get(a)).then_some(*r)
            }
            BlockState::Copy => Some(*r),
            _ => None,
        }
    }

    /// True when `r`'s target is known to survive (for ephemeron keys).
    fn is_alive(&self, r: &M::Ref) -> bool {
        self.survivor(r).is_some()
    }
}

impl<M: RefMode> Heap<M> {
    /// Evacuates the copy space: survivors go to `target`. With `full`,
    /// non-moving objects are marked too (the caller sweeps them).
    /// Returns what was copied.
    pub(crate) fn evacuate(&mut self, target: Target, full: bool) -> EvacResult {
        let from = self.copy.begin_evacuation(&mut self.space.blocks);
        let mut remset = std::mem::take(&mut self.remset);
        let mut new_remset = Vec::new();
        let Heap {
            region,
            space,
            copy,
            alloc_bits,
            mark_bits,
            auth,
            roots,
            types,
            config,
            weak,
            ..
        } = self;
        let mut ev = Evac::<M> {
            region,
            space,
            copy,
            alloc_bits,
            mark_bits,
            auth,
            target,
            full,
            grey: Vec::new(),
            kept_blocks: Vec::new(),
            r: EvacResult::default(),
        };
        let scan = config.scan;
        // Roots: handles, persistents, root regions.
        roots.for_each_slot(|r| ev.process_ref(r));
        for rr in roots.regions.iter_mut().filter_map(|(r, _)| r.as_mut()) {
            let slots: Vec<Address> = rr
                .memory
                .tagged_granules(rr.memory.base(), rr.memory.len())
                .collect();
            for s in slots {
                // SAFETY: tagged granules of the root region are aligned
                // slots inside it.
                let r = unsafe { M::read_raw_slot(&rr.memory, s) };
                let n = ev.process(r);
                if n != r {
                    // SAFETY: as above.
                    unsafe { M::write_raw_slot(&mut rr.memory, s, &n) };
                }
            }
        }
        // Remembered old-to-young slots (minor collections).
        if !full {
            remset.sort_unstable();
            remset.dedup();
            for &s in &remset {
                let n = ev.update_slot(s);
                if ev.in_copy_space(&n) {
                    new_remset.push(s);
                }
            }
        }
        ev.drain(types, scan, &mut new_remset);
        // Ephemerons to a fixpoint: a value is traced once its key lives.
        loop {
            let mut progress = false;
            for (e, _, _) in weak.ephemerons.iter_mut() {
                let Some((k, v)) = e else { continue };
                if ev.is_alive(k) && !ev.is_alive(v) {
                    ev.process_ref(v);
                    progress = true;
                }
            }
            if !progress {
                break;
            }
            ev.drain(types, scan, &mut new_remset);
        }
        weak.sweep(|r| ev.survivor(r));
        let mut result = std::mem::take(&mut ev.r);
        let mut kept_blocks = std::mem::take(&mut ev.kept_blocks);
        kept_blocks.sort_unstable();
        kept_blocks.dedup();
        // The old set's allocation is kept for the mutator's next cycle.
        remset.clear();
        remset.append(&mut new_remset);
        self.remset = remset;
        result.kept_in_place = self.release_from_space(from, &kept_blocks);
        result
    }

    /// Releases from-space (I4). A block with no object kept in place is
    /// untagged and its alloc bits cleared in bulk, then quarantined dirty
    /// (zeroed when next handed out). A block with kept objects is walked:
    /// every other cell is zeroed and the block is retained.
    fn release_from_space(&mut self, from: Vec<usize>, kept_blocks: &[usize]) -> u64 {
        let mut kept_objects = 0;
        for b in from {
            let start = self.space.blocks.addr(b);
            let end = start.add(BLOCK);
            if kept_blocks.binary_search(&b).is_err() {
                self.region.clear_tags(start, BLOCK);
                self.alloc_bits.clear_range(start, BLOCK);
                self.space.blocks.set_state(b, BlockState::Quarantined);
                self.space.blocks.set_dirty(b);
                self.copy.quarantine.push(b);
                continue;
            }
            let mut kept = false;
            let mut at = start;
            while let Some(p) = self.alloc_bits.next_set(at, end) {
                let w0 = self.region.read::<u64>(header_of(p)).unwrap_or(0);
                let w1 = self.region.read::<u64>(header_of(p).add(8)).unwrap_or(0);
                let flags = (w0 >> 32) as u32;
                let len = if flags & FLAG_FORWARDED != 0 {
                    self.region
                        .read::<u64>(header_of(Address(w1)).add(8))
                        .unwrap_or(0)
                } else {
                    w1
                };
                let cell = self.copy.cell_size(M::payload_layout(len));
                if flags & FLAG_FORWARDED == 0 && self.mark_bits.get(p) {
                    self.mark_bits.put(p, false);
                    kept = true;
                    kept_objects += 1;
                } else {
                    self.alloc_bits.put(p, false);
                    let _ = self
                        .region
                        .zero(header_of(p), cell.min(end.offset_from(header_of(p))));
                }
                at = header_of(p).add(cell.max(HEADER_SIZE + 8));
            }
            if kept {
                self.space.blocks.set_state(b, BlockState::Copy);
                self.copy.retained.push(b);
            } else {
                self.space.blocks.set_state(b, BlockState::Quarantined);
                self.copy.quarantine.push(b);
            }
        }
        kept_objects
    }
}
