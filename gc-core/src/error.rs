//! [`GcError`]: every way a heap operation can be refused.

use crate::types::TypeId;
use capability_heap::{CapFault, RegionError};
use core::fmt;

/// A refused heap operation. The heap is left usable and intact by every
/// one of them.
#[derive(Clone, Debug, PartialEq)]
pub enum GcError {
    /// A capability check failed (tag, seal, permission, bounds, alignment).
    Cap(CapFault),
    /// The reference was obtained before the last collection (a plain
    /// local kept across a safepoint): its object may have been freed or
    /// moved. Keep references across allocations in handles or roots.
    StaleReference,
    /// The null reference was used as an object.
    NullReference,
    /// The heap limit was reached even after a full collection.
    OutOfMemory {
        /// Bytes the failed allocation needed.
        requested: u64,
        /// The configured heap limit.
        limit: u64,
    },
    /// No type with this id is registered in this heap.
    UnknownType(TypeId),
    /// The type is not of the kind the operation needs (e.g. `alloc` of an
    /// array type, `alloc_array` of a fixed type).
    WrongKind(TypeId),
    /// A type description is invalid (misaligned or out-of-range reference
    /// offsets, zero size where one is needed, too many types).
    InvalidType(&'static str),
    /// The offset is not a reference slot of the object's type.
    NotARefSlot {
        /// The object's type.
        ty: TypeId,
        /// The offset asked for.
        offset: u64,
    },
    /// An index or offset outside the object, handle table or root region.
    IndexOutOfRange {
        /// The index or offset.
        index: u64,
        /// The number of valid indices.
        len: u64,
    },
    /// The handle's scope was closed, or the persistent root released.
    InvalidHandle,
    /// `close_scope` was given a scope that is not the innermost open one.
    ScopeMismatch,
    /// The root region id does not name a live root region.
    InvalidRootRegion,
    /// The configuration cannot be used.
    InvalidConfig(&'static str),
    /// The heap's memory could not be mapped.
    Region(RegionError),
    /// The reference does not designate a live object of this heap.
    NotAnObject,
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::Cap(c) => write!(f, "capability fault: {c}"),
            GcError::StaleReference => {
                write!(f, "stale reference: obtained before the last collection")
            }
            GcError::NullReference => write!(f, "null reference used as an object"),
            GcError::OutOfMemory { requested, limit } => write!(
                f,
                "out of memory: {requested} bytes requested, heap limit {limit} bytes reached"
            ),
            GcError::UnknownType(t) => write!(f, "unknown type id {}", t.0),
            GcError::WrongKind(t) => write!(f, "type {} is not of the kind needed", t.0),
            GcError::InvalidType(why) => write!(f, "invalid type: {why}"),
            GcError::NotARefSlot { ty, offset } => {
                write!(
                    f,
                    "offset {offset} is not a reference slot of type {}",
                    ty.0
                )
            }
            GcError::IndexOutOfRange { index, len } => {
                write!(f, "index {index} out of range (length {len})")
            }
            GcError::InvalidHandle => write!(f, "handle or persistent root is no longer valid"),
            GcError::ScopeMismatch => write!(f, "scope closed out of order"),
            GcError::InvalidRootRegion => write!(f, "no such root region"),
            GcError::InvalidConfig(why) => write!(f, "invalid heap configuration: {why}"),
            GcError::Region(e) => write!(f, "cannot map heap memory: {e}"),
            GcError::NotAnObject => write!(f, "reference does not designate a live object"),
        }
    }
}

impl std::error::Error for GcError {}

impl From<CapFault> for GcError {
    fn from(c: CapFault) -> Self {
        GcError::Cap(c)
    }
}

impl From<RegionError> for GcError {
    fn from(e: RegionError) -> Self {
        GcError::Region(e)
    }
}
