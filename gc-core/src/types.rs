//! The per-heap type registry: what an object's payload holds and where its
//! references are.
//!
//! Four kinds, as DESIGN.md "Object model" asks: fixed-size objects with a
//! reference map (byte offsets of reference slots, each aligned to the
//! mode's slot size), arrays of references, byte arrays, and fixed-size
//! objects with a custom trace callback for everything else (tagged
//! unions, inline caches). Types are per heap, not global, so heaps stay
//! independent values.
//!
//! Reference maps are byte offsets rather than slot indices so that one
//! layout description can mix data and references freely; the price is
//! that a layout is mode-specific (slots are 8 bytes in `Native`, 16 in the
//! wide modes), which [`crate::Heap::record_type`] hides for the common
//! "N references then M data bytes" shape.

use capability_heap::{Address, Scalar, TaggedRegion};
use core::fmt;

/// A registered type, valid in the heap that registered it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeId(pub u32);

impl fmt::Debug for TypeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TypeId({})", self.0)
    }
}

/// A custom trace callback: given a read-only view of the object, report
/// the byte offset of every slot that holds a reference.
pub type TraceFn = fn(&ObjectView<'_>, &mut dyn FnMut(u64));

/// What a type's objects look like.
#[derive(Clone, Debug)]
pub enum ObjectType {
    /// `size` payload bytes; references at `ref_offsets`.
    Fixed {
        /// Payload size in bytes.
        size: u64,
        /// Byte offsets of the reference slots (slot-aligned, in bounds).
        ref_offsets: Vec<u64>,
    },
    /// An array of references; the element count is given at allocation.
    RefArray,
    /// An array of bytes with no references; the length is given at
    /// allocation.
    ByteArray,
    /// `size` payload bytes whose references `trace` reports.
    Custom {
        /// Payload size in bytes.
        size: u64,
        /// Reports the reference slots of one object.
        trace: TraceFn,
    },
}

/// A registered type as the collector uses it.
#[derive(Clone, Debug)]
pub(crate) struct TypeInfo {
    pub(crate) kind: ObjectType,
    /// For `Fixed` types whose references all lie in the first 64 slots:
    /// bit *i* set when slot *i* is a reference (the fast path of tracing
    /// and of the reference-slot check).
    pub(crate) ref_mask: Option<u64>,
}

impl TypeInfo {
    pub(crate) fn new(kind: ObjectType, slot: u64) -> TypeInfo {
        let ref_mask = match &kind {
            ObjectType::Fixed { ref_offsets, .. } if ref_offsets.iter().all(|o| o / slot < 64) => {
                Some(ref_offsets.iter().fold(0u64, |m, o| m | 1 << (o / slot)))
            }
            _ => None,
        };
        TypeInfo { kind, ref_mask }
    }

    /// True when `offset` is a reference slot of an object of this type
    /// whose payload is `len` bytes.
    #[inline(always)]
    pub(crate) fn is_ref_slot(
        &self,
        offset: u64,
        len: u64,
        slot: u64,
        view: &ObjectView<'_>,
    ) -> bool {
        if let Some(mask) = self.ref_mask {
            return offset % slot == 0 && offset / slot < 64 && mask >> (offset / slot) & 1 != 0;
        }
        match &self.kind {
            ObjectType::Fixed { ref_offsets, .. } => ref_offsets.binary_search(&offset).is_ok(),
            ObjectType::RefArray => offset % slot == 0 && offset + slot <= len,
            ObjectType::ByteArray => false,
            ObjectType::Custom { trace, .. } => {
                let mut found = false;
                trace(view, &mut |o| found |= o == offset);
                found
            }
        }
    }
}

/// Checks a type description against the mode's slot size.
pub(crate) fn validate(ty: &ObjectType, slot: u64) -> Result<ObjectType, &'static str> {
    let mut ty = ty.clone();
    match &mut ty {
        ObjectType::Fixed { size, ref_offsets } => {
            ref_offsets.sort_unstable();
            ref_offsets.dedup();
            if *size > MAX_FIXED_SIZE {
                return Err("fixed object larger than 1 GiB");
            }
            for &o in ref_offsets.iter() {
                if o % slot != 0 {
                    return Err("reference offset not aligned to the slot size");
                }
                if o + slot > *size {
                    return Err("reference offset beyond the object size");
                }
            }
        }
        ObjectType::Custom { size, .. } => {
            if *size > MAX_FIXED_SIZE {
                return Err("custom object larger than 1 GiB");
            }
        }
        ObjectType::RefArray | ObjectType::ByteArray => {}
    }
    Ok(ty)
}

/// Largest fixed-size payload accepted.
const MAX_FIXED_SIZE: u64 = 1 << 30;

/// Read-only access to one object's payload, for custom trace callbacks.
/// Reads outside the payload return `None`.
pub struct ObjectView<'a> {
    pub(crate) region: &'a TaggedRegion,
    pub(crate) payload: Address,
    pub(crate) len: u64,
}

impl ObjectView<'_> {
    /// Payload length in bytes (as allocated, before padding).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for a zero-length payload.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Reads a scalar at `offset`, or `None` outside the payload.
    pub fn read<T: Scalar>(&self, offset: u64) -> Option<T> {
        if offset.checked_add(T::SIZE)? > self.len {
            return None;
        }
        self.region.read::<T>(self.payload.add(offset)).ok()
    }
}
