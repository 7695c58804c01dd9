//! The object model: a 16-byte GC header before every payload, and
//! [`ObjRef`], the mutator's reference to a payload.
//!
//! ```text
//!   cell:  [ header: type id u32 | flags u32 | length u64 ][ payload … padding ]
//!                                                         ^ ObjRef covers exactly
//!                                                           payload + padding (I1)
//! ```
//! The header lies outside every mutator capability (I2): references are
//! derived with bounds starting at the payload. Only the collector, through
//! the heap authority and raw region access, reads or writes headers, so a
//! header granule never holds a tag. `length` is the payload length the
//! mutator asked for; the capability's length is the mode's padded length
//! (`RefMode::payload_layout`), and the padding belongs to the object.
//!
//! Rejected: a header inside the payload's bounds (as a malloc chunk
//! header is) — one stray store through any reference could then corrupt
//! GC metadata, which is exactly what I2 forbids.

use capability_heap::{Address, RefMode};
use core::fmt;

/// Bytes of GC header before each payload.
pub const HEADER_SIZE: u64 = 16;

static_assertions::const_assert!(HEADER_SIZE % capability_heap::GRANULE == 0);

/// A reference to an object's payload, as the mutator holds it.
///
/// In checked modes it is valid until the next collection (a safepoint):
/// the heap stamps it with its collection epoch and refuses an older one
/// with [`crate::GcError::StaleReference`] — the software form of revoking
/// the capabilities a mutator holds in registers. Keep an object across a
/// collection in a handle, a persistent root or a root region.
pub struct ObjRef<M: RefMode> {
    pub(crate) raw: M::Ref,
    pub(crate) epoch: u32,
}

impl<M: RefMode> Clone for ObjRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: RefMode> Copy for ObjRef<M> {}

impl<M: RefMode> PartialEq for ObjRef<M> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<M: RefMode> fmt::Debug for ObjRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjRef({:?} @epoch {})", self.raw, self.epoch)
    }
}

impl<M: RefMode> ObjRef<M> {
    /// The null reference.
    pub fn null() -> Self {
        ObjRef {
            raw: M::null(),
            epoch: 0,
        }
    }

    /// True for the null reference (address 0).
    #[inline(always)]
    pub fn is_null(&self) -> bool {
        M::address(&self.raw) == Address::NULL
    }

    /// The mode's raw reference (a capability in `SoftCheri`).
    #[inline(always)]
    pub fn raw(&self) -> M::Ref {
        self.raw
    }

    /// The address of the payload.
    #[inline(always)]
    pub fn address(&self) -> Address {
        M::address(&self.raw)
    }
}

/// Header flag: the object must not move.
pub(crate) const FLAG_PINNED: u32 = 1;
/// Header flag (from-space only): the object was copied; header word 1
/// holds the new payload address.
pub(crate) const FLAG_FORWARDED: u32 = 2;

/// Header word 0: type id in the low half, flags in the high half.
#[inline(always)]
pub(crate) fn header_word0(ty: u32, flags: u32) -> u64 {
    u64::from(ty) | u64::from(flags) << 32
}

/// The header address of a payload.
#[inline(always)]
pub(crate) fn header_of(payload: Address) -> Address {
    Address(payload.get().wrapping_sub(HEADER_SIZE))
}
