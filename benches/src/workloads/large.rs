//! large: byte arrays from 1 KiB to past 1 MiB, kept in a rooted array of
//! slots and replaced in turn. The sizes span the point where a length
//! stops being exactly representable in a capability format's compressed
//! bounds (CRRL/CRAM), so under SoftCheri the heap pads each payload to
//! its representable length and aligns it; the workload adds up that
//! padding from the mode's own layout ([`RefMode::payload_layout`], the
//! layout the heap allocates with), since the heap's statistics count
//! cells, not padding.
//!
//! The sizes are off the powers of two on purpose (a power of two is
//! always representable): 32 sizes spaced evenly in log scale, each plus
//! an odd number of bytes.

use capability_heap::RefMode;
use gc_core::{GcError, Heap, ObjectType};

/// large's size.
#[derive(Clone, Copy, Debug)]
pub struct LargeParams {
    /// Slots of the rooted array (what stays live).
    pub slots: u32,
    /// Arrays allocated in all.
    pub allocations: u64,
    /// Smallest and largest length, bytes.
    pub min_bytes: u64,
    /// Largest length, bytes (before the odd bytes are added).
    pub max_bytes: u64,
}

impl Default for LargeParams {
    fn default() -> Self {
        LargeParams {
            slots: 64,
            allocations: 2000,
            min_bytes: 1 << 10,
            max_bytes: 2 << 20,
        }
    }
}

/// What large allocated and found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Large {
    /// Bytes asked for.
    pub requested_bytes: u64,
    /// Bytes the mode's layout added to them.
    pub padding_bytes: u64,
    /// Sum of the first and last byte of every array live at the end.
    pub checksum: u64,
}

/// The length of allocation `k`.
pub fn large_len(p: LargeParams, k: u64) -> u64 {
    const STEPS: u64 = 32;
    let i = k % STEPS;
    let ratio = p.max_bytes as f64 / p.min_bytes as f64;
    let base = p.min_bytes as f64 * ratio.powf(i as f64 / (STEPS - 1) as f64);
    base as u64 + 2 * (k % 97) + 1
}

/// The byte allocation `k` carries.
fn mark(k: u64) -> u8 {
    (k % 251) as u8
}

/// The checksum [`large`] must find.
pub fn large_checksum(p: LargeParams) -> u64 {
    let slots = u64::from(p.slots);
    let first = p.allocations.saturating_sub(slots);
    (first..p.allocations).map(|k| 2 * u64::from(mark(k))).sum()
}

/// large: allocates `p.allocations` byte arrays into the slots in turn.
pub fn large<M: RefMode>(h: &mut Heap<M>, p: LargeParams) -> Result<Large, GcError> {
    let bytes_ty = h.register_type(ObjectType::ByteArray)?;
    let array_ty = h.register_type(ObjectType::RefArray)?;
    let scope = h.open_scope();
    let array = h.alloc_array(array_ty, u64::from(p.slots))?;
    let array = h.handle(&array)?;
    let mut out = Large {
        requested_bytes: 0,
        padding_bytes: 0,
        checksum: 0,
    };
    for k in 0..p.allocations {
        let len = large_len(p, k);
        let padded = M::payload_layout(len).map_or(len, |l| l.size);
        out.requested_bytes += len;
        out.padding_bytes += padded - len;
        let b = h.alloc_array(bytes_ty, len)?;
        h.write::<u8>(&b, 0, mark(k))?;
        h.write::<u8>(&b, len - 1, mark(k))?;
        let a = h.get(array)?;
        h.set_ref(&a, (k % u64::from(p.slots)) * Heap::<M>::SLOT, &b)?;
    }
    let a = h.get(array)?;
    for slot in 0..u64::from(p.slots) {
        let b = h.get_ref(&a, slot * Heap::<M>::SLOT)?;
        if b.is_null() {
            continue;
        }
        let len = h.payload_len(&b)?;
        out.checksum += u64::from(h.read::<u8>(&b, 0)?) + u64::from(h.read::<u8>(&b, len - 1)?);
    }
    h.close_scope(scope)?;
    Ok(out)
}
