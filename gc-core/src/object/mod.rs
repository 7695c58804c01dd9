//! The object model: a GC [`Header`] before every payload (8 bytes in
//! Native, 16 in P128 and SoftCheri: [`header_size`]), and [`ObjRef`],
//! the mutator's reference to a payload.
//!
//! ```text
//!   cell:  [ header (8/16 B) ][ payload (… CRRL padding) ][ slack to the granule ]
//!                           ^ ObjRef covers exactly the payload (I1)
//! ```
//! The header lies outside every mutator capability (I2): references are
//! derived with bounds starting at the payload. `length` in the header is
//! the payload length the mutator asked for; the capability's length is
//! that length, byte for byte, wherever the format represents it exactly,
//! else CRRL's padding of it (`PayloadLayout::bounds`), and the padding
//! belongs to the object. The cell is granule-sized
//! (`PayloadLayout::size`); its slack past the bounds is reachable by no
//! reference.
//!
//! Rejected: a header inside the payload's bounds (as a malloc chunk
//! header is) — one stray store through any reference could then corrupt
//! GC metadata, which is exactly what I2 forbids.

mod header;

pub use header::header_size;
pub(crate) use header::{packed, Header, MAX_HEADER_SIZE, PACKED_MAX_LEN, PACKED_MAX_TYPES};

use capability_heap::{Address, RefMode};
use core::fmt;

/// A reference to an object's payload, as the mutator holds it.
///
/// It can only be obtained from its heap (allocation, a field, a root);
/// nothing turns bits back into one. In checked modes it carries a stamp
/// that names its heap and the collection epoch it was obtained in:
/// after the next collection (a safepoint) the heap refuses it with
/// [`crate::GcError::StaleReference`] — the software form of revoking
/// the capabilities a mutator holds in registers — and another heap
/// refuses it always. Keep an object across a collection in a handle, a
/// persistent root or a root region. (In the unchecked modes the stamp is
/// not checked: that is the baseline.)
pub struct ObjRef<M: RefMode> {
    pub(crate) raw: M::Ref,
    pub(crate) stamp: u64,
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
        write!(f, "ObjRef({:?} @{})", self.raw, self.stamp)
    }
}

impl<M: RefMode> ObjRef<M> {
    /// The null reference (storable anywhere; never an object).
    pub fn null() -> Self {
        ObjRef {
            raw: M::null(),
            stamp: 0,
        }
    }

    /// True for the null reference: the mode's untagged null, not any
    /// value at address 0.
    #[inline(always)]
    pub fn is_null(&self) -> bool {
        M::is_null(&self.raw)
    }

    /// The mode's reference (a capability in `SoftCheri`), to inspect:
    /// nothing makes an `ObjRef` of it again.
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
