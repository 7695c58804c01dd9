//! The tracer: finds the reference slots of an object and marks from the
//! roots with an explicit mark stack (no recursion, so deep lists cannot
//! overflow the native stack).
//!
//! Two strategies (DESIGN.md "Object model"): by the registered type map
//! (every mode), or in `SoftCheri` by tag — every tagged granule of the
//! payload is a reference, no type map needed, the CHERI way. The tracer
//! never trusts what it reads: a slot value is followed only when it is a
//! valid reference (tagged, or non-null in the unchecked modes) whose
//! address is a live object's payload start (alloc bit), and slot
//! addresses are kept inside the region. A corrupted header or a data
//! value in a reference slot of an unchecked mode can therefore mislead
//! the tracer but never make it touch memory outside the heap; the
//! verifier reports such corruption.

use crate::config::ScanStrategy;
use crate::mark_bits::SideBitmap;
use crate::object::header_of;
use crate::types::{ObjectType, ObjectView, TypeInfo};
use crate::Heap;
use capability_heap::{Address, RefMode, TaggedRegion};

/// Calls `f` with the address of every reference slot of the object whose
/// payload starts at `payload`. Slot addresses are inside the region and
/// `M::SLOT_SIZE`-aligned.
pub(crate) fn for_each_slot<M: RefMode>(
    region: &TaggedRegion,
    types: &[TypeInfo],
    scan: ScanStrategy,
    payload: Address,
    mut f: impl FnMut(Address),
) {
    let (Ok(w0), Ok(len)) = (
        region.read::<u64>(header_of(payload)),
        region.read::<u64>(header_of(payload).add(8)),
    ) else {
        return;
    };
    let slot = M::SLOT_SIZE;
    let mut visit = |off: u64| {
        let a = payload.add(off);
        if off % slot == 0 && region.contains(a, slot) {
            f(a);
        }
    };
    if scan == ScanStrategy::Tags {
        let padded = M::payload_layout(len.min(region.len())).size;
        for g in region.tagged_granules(payload, padded) {
            visit(g.offset_from(payload));
        }
        return;
    }
    let Some(info) = types.get(w0 as u32 as usize) else {
        return;
    };
    if let Some(mut mask) = info.ref_mask {
        while mask != 0 {
            visit(u64::from(mask.trailing_zeros()) * slot);
            mask &= mask - 1;
        }
        return;
    }
    match &info.kind {
        ObjectType::Fixed { ref_offsets, .. } => ref_offsets.iter().for_each(|&o| visit(o)),
        ObjectType::RefArray => {
            let n = len.min(region.len()) / slot;
            (0..n).for_each(|i| visit(i * slot));
        }
        ObjectType::ByteArray => {}
        ObjectType::Custom { trace, .. } => {
            let view = ObjectView {
                region,
                payload,
                len,
            };
            let mut offs = Vec::new();
            trace(&view, &mut |o| {
                if o < len {
                    offs.push(o)
                }
            });
            offs.into_iter().for_each(visit);
        }
    }
}

/// The fast path of [`for_each_slot`]: when scanning by type map and the
/// object's type has a slot bitmap (at most 64 slots), the addresses of its
/// reference slots, lowest first, every one checked to lie inside the
/// region and `M::SLOT_SIZE`-aligned. `None` means "use `for_each_slot`".
/// The iterator borrows nothing, so the caller may write slots meanwhile.
#[inline(always)]
pub(crate) fn mapped_slots<M: RefMode>(
    region: &TaggedRegion,
    types: &[TypeInfo],
    scan: ScanStrategy,
    payload: Address,
) -> Option<impl Iterator<Item = Address>> {
    if scan != ScanStrategy::TypeMap {
        return None;
    }
    let w0 = region.read::<u64>(header_of(payload)).ok()?;
    let mut mask = types.get(w0 as u32 as usize)?.ref_mask?;
    let end = u64::from(64 - mask.leading_zeros()) * M::SLOT_SIZE;
    region.contains(payload, end).then_some(())?;
    Some(core::iter::from_fn(move || {
        let i = (mask != 0).then(|| mask.trailing_zeros())?;
        mask &= mask - 1;
        Some(payload.add(u64::from(i) * M::SLOT_SIZE))
    }))
}

/// Marks the object `r` designates, if it is a live object not yet marked,
/// and queues it for scanning.
#[inline(always)]
fn mark_ref<M: RefMode>(
    r: &M::Raw,
    alloc_bits: &SideBitmap,
    mark_bits: &mut SideBitmap,
    stack: &mut Vec<Address>,
) {
    if !M::raw_is_valid(r) {
        return;
    }
    let a = M::raw_address(r);
    if alloc_bits.get(a) && !mark_bits.test_and_set(a) {
        stack.push(a);
    }
}

impl<M: RefMode> Heap<M> {
    /// Marks everything reachable from the roots.
    pub(crate) fn mark(&mut self) {
        let mut stack = Vec::new();
        let Heap {
            region,
            types,
            alloc_bits,
            mark_bits,
            roots,
            config,
            weak,
            ..
        } = self;
        roots.for_each_slot(|r| mark_ref::<M>(&M::to_raw(r), alloc_bits, mark_bits, &mut stack));
        for rr in roots.regions.iter().filter_map(|(r, _)| r.as_ref()) {
            let mem = &rr.memory;
            for slot in mem.tagged_granules(mem.base(), mem.len()) {
                // SAFETY: tagged_granules yields 16-byte-aligned granules
                // inside the root region's memory; a slot is one granule.
                let r = unsafe { M::read_raw_slot(mem, slot) };
                mark_ref::<M>(&r, alloc_bits, mark_bits, &mut stack);
            }
        }
        let drain = |stack: &mut Vec<Address>, mark_bits: &mut SideBitmap| {
            while let Some(obj) = stack.pop() {
                if let Some(slots) = mapped_slots::<M>(region, types, config.scan, obj) {
                    for slot in slots {
                        // SAFETY: mapped_slots yields aligned slots inside
                        // the region.
                        let r = unsafe { M::read_raw_slot(region, slot) };
                        mark_ref::<M>(&r, alloc_bits, mark_bits, stack);
                    }
                    continue;
                }
                for_each_slot::<M>(region, types, config.scan, obj, |slot| {
                    // SAFETY: for_each_slot yields SLOT_SIZE-aligned slots
                    // inside the region.
                    let r = unsafe { M::read_raw_slot(region, slot) };
                    mark_ref::<M>(&r, alloc_bits, mark_bits, stack);
                });
            }
        };
        drain(&mut stack, mark_bits);
        let marked =
            |r: &M::Ref, mark_bits: &SideBitmap| M::is_valid(r) && mark_bits.get(M::address(r));
        // Ephemerons to a fixpoint: a value is traced once its key is live.
        loop {
            let mut progress = false;
            for (e, _, _) in &weak.ephemerons {
                if let Some((k, v)) = e {
                    if marked(k, mark_bits) && !marked(v, mark_bits) && M::is_valid(v) {
                        mark_ref::<M>(&M::to_raw(v), alloc_bits, mark_bits, &mut stack);
                        progress = true;
                    }
                }
            }
            if !progress {
                break;
            }
            drain(&mut stack, mark_bits);
        }
        weak.sweep(|r| marked(r, mark_bits).then_some(*r));
    }
}
