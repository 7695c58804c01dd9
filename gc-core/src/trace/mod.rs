//! Tracing: finding an object's reference slots, and the [`Tracer`]
//! interface that marking ([`mark`]) and evacuation
//! (`policy::evacuate`) both implement, so that roots
//! (`Roots::trace`), the ephemeron fixpoint ([`ephemeron`]) and the weak
//! tables are processed by one piece of code for every plan.
//!
//! Two strategies (docs/design.md "Object model"): by the registered type map
//! (every mode), or in `SoftCheri` by tag — every tagged granule of the
//! payload is a reference, no type map needed, the CHERI way. The tracer
//! never trusts what it reads: a slot value is followed only when it is a
//! valid reference (tagged, or non-null in the unchecked modes) whose
//! address is a live object's payload start (alloc bit), and slot
//! addresses are kept inside the region. A corrupted header or a data
//! value in a reference slot of an unchecked mode can therefore mislead
//! the tracer but never make it touch memory outside the heap; the
//! verifier reports such corruption.

pub(crate) mod ephemeron;
pub(crate) mod mark;

use crate::config::ScanStrategy;
use crate::object::Header;
use crate::types::{ObjectView, TracePanic, Types};
use capability_heap::{Address, RefMode, TaggedRegion};

/// What a collection's tracing engine does with a reference.
pub(crate) trait Tracer<M: RefMode> {
    /// Reaches `raw`'s target (marks it, or copies it) and returns what the
    /// slot holding `raw` must now hold (the new copy's reference, I8).
    fn trace(&mut self, raw: M::Raw) -> M::Raw;
    /// True when `raw`'s target has been reached so far in this
    /// collection (it survives).
    fn is_reached(&self, raw: &M::Raw) -> bool;
    /// After tracing: the surviving version of `raw` (re-derived if its
    /// target moved), or `None` if its target died.
    fn survivor(&self, raw: &M::Raw) -> Option<M::Raw>;
    /// Scans grey objects until none is left.
    fn drain(&mut self);
}

/// The fast path of [`object_slots`]: when scanning by type map and the
/// object's type has a slot bitmap (at most 64 slots), the addresses of its
/// reference slots, lowest first, every one checked to lie inside the
/// region and `M::SLOT_SIZE`-aligned. `None` means "use `object_slots`".
/// The iterator borrows nothing, so the caller may write slots meanwhile.
#[inline(always)]
pub(crate) fn mapped_slots<M: RefMode>(
    region: &TaggedRegion,
    types: &Types,
    scan: ScanStrategy,
    payload: Address,
) -> Option<impl Iterator<Item = Address>> {
    if scan != ScanStrategy::TypeMap {
        return None;
    }
    let h = Header::read::<M>(region, payload).ok()?;
    let f = types.fast_by_index(h.ty())?;
    if !f.mapped {
        return None;
    }
    let mut mask = f.mask;
    let end = u64::from(64 - mask.leading_zeros()) * M::SLOT_SIZE;
    region.contains(payload, end).then_some(())?;
    Some(core::iter::from_fn(move || {
        let i = (mask != 0).then(|| mask.trailing_zeros())?;
        mask &= mask - 1;
        Some(payload.add(u64::from(i) * M::SLOT_SIZE))
    }))
}

/// Calls `f` with the offset of every reference slot of the object at
/// `payload` whose slot lies in the region: by type map
/// ([`crate::types::TypeInfo::for_each_slot`], the one slot rule), or by
/// tag. Read-only; the verifier's view.
pub(crate) fn for_each_slot<M: RefMode>(
    region: &TaggedRegion,
    types: &Types,
    scan: ScanStrategy,
    payload: Address,
    mut f: impl FnMut(Address),
) -> Result<(), TracePanic> {
    let Ok(h) = Header::read::<M>(region, payload) else {
        return Ok(());
    };
    let len = h.len().min(region.len());
    let mut visit = |off: u64| {
        let a = payload.add(off);
        if off % M::SLOT_SIZE == 0 && region.contains(a, M::SLOT_SIZE) {
            f(a);
        }
    };
    if scan == ScanStrategy::Tags {
        let padded = M::payload_layout(len).map_or(len, |l| l.size);
        region
            .tagged_granules(payload, padded)
            .for_each(|g| visit(g.offset_from(payload)));
        return Ok(());
    }
    let Some(info) = types.by_index(h.ty()) else {
        return Ok(());
    };
    let view = ObjectView {
        region,
        payload,
        len,
    };
    info.for_each_slot(&view, M::SLOT_SIZE, visit)
}

/// The addresses of the object's reference slots, into `out` (cleared
/// first): what the collector scans. For a custom-traced object in
/// capability memory, the tag of every granule of the payload that the
/// callback did not report is cleared first: a reference the collector
/// does not trace must not outlive this collection tagged (I3, I6) —
/// see `types.rs`.
pub(crate) fn object_slots<M: RefMode>(
    region: &mut TaggedRegion,
    types: &Types,
    scan: ScanStrategy,
    payload: Address,
    out: &mut Vec<Address>,
) -> Result<(), TracePanic> {
    out.clear();
    let r = for_each_slot::<M>(region, types, scan, payload, |a| out.push(a));
    let custom = scan == ScanStrategy::TypeMap
        && Header::read::<M>(region, payload)
            .ok()
            .and_then(|h| types.by_index(h.ty()))
            .is_some_and(|i| i.is_custom());
    if custom {
        strip_unreported::<M>(region, payload, out);
    }
    r
}

/// Clears the tags of the tagged granules of the object at `payload` that
/// are not in `slots`.
fn strip_unreported<M: RefMode>(region: &mut TaggedRegion, payload: Address, slots: &[Address]) {
    let Ok(h) = Header::read::<M>(region, payload) else {
        return;
    };
    let padded = M::payload_layout(h.len().min(region.len())).map_or(0, |l| l.size);
    let stray: Vec<Address> = region
        .tagged_granules(payload, padded)
        .filter(|g| !slots.contains(g))
        .collect();
    for g in stray {
        region.clear_tags(g, capability_heap::GRANULE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Heap, HeapConfig, ObjectType, Plan};
    use capability_heap::{Morello, SoftCheri};

    type M = SoftCheri<Morello>;

    /// Reports slot 1 only when word 0 says so.
    fn flip(view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
        if view.read::<u64>(0) == Some(1) {
            visit(16);
        }
    }

    #[test]
    fn slots_by_kind_and_by_tag_and_the_custom_strip() {
        let mut h = Heap::<M>::new(HeapConfig {
            plan: Plan::MarkSweep,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(2, 16).unwrap();
        let arr = h.register_type(ObjectType::RefArray).unwrap();
        let custom = h
            .register_type(ObjectType::Custom {
                size: 48,
                trace: flip,
            })
            .unwrap();
        let n = h.alloc(node).unwrap();
        let a = h.alloc_array(arr, 3).unwrap();
        let c = h.alloc(custom).unwrap();
        let slots = |h: &mut Heap<M>, p: Address, scan| {
            let mut v = Vec::new();
            object_slots::<M>(h.arena.region_mut(), &h.types, scan, p, &mut v).unwrap();
            v.iter().map(|s| s.offset_from(p)).collect::<Vec<_>>()
        };
        assert_eq!(slots(&mut h, n.address(), ScanStrategy::TypeMap), [0, 16]);
        assert_eq!(
            slots(&mut h, a.address(), ScanStrategy::TypeMap),
            [0, 16, 32]
        );
        assert!(mapped_slots::<M>(
            h.arena.region(),
            &h.types,
            ScanStrategy::TypeMap,
            n.address()
        )
        .is_some());
        assert!(mapped_slots::<M>(
            h.arena.region(),
            &h.types,
            ScanStrategy::TypeMap,
            a.address()
        )
        .is_none());
        // By tag: only the slots that hold a reference.
        h.set_ref(&a, 16, &n).unwrap();
        assert_eq!(slots(&mut h, a.address(), ScanStrategy::Tags), [16]);
        // A custom object: its slot while reported; once not, the tag of
        // what it held is stripped by the scan.
        h.write::<u64>(&c, 0, 1).unwrap();
        h.set_ref(&c, 16, &n).unwrap();
        assert_eq!(slots(&mut h, c.address(), ScanStrategy::TypeMap), [16]);
        assert!(h.arena.region().is_tagged(c.address().add(16)));
        h.write::<u64>(&c, 0, 0).unwrap();
        assert!(slots(&mut h, c.address(), ScanStrategy::TypeMap).is_empty());
        assert!(!h.arena.region().is_tagged(c.address().add(16)), "stripped");
    }
}
