//! Tracing: finding an object's reference slots, and the [`Tracer`]
//! interface that marking ([`mark`]) and evacuation
//! (`policy::evacuate`) both implement, so that roots
//! (`Roots::trace`), the ephemeron fixpoint ([`ephemeron`]) and the weak
//! tables are processed by one piece of code for every plan.
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
    let h = Header::read(region, payload).ok()?;
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
    let Ok(h) = Header::read(region, payload) else {
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
        && Header::read(region, payload)
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
    let Ok(h) = Header::read(region, payload) else {
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
