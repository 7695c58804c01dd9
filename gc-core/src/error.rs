//! [`GcError`]: every way a heap operation can be refused, with the
//! reason enums of the two that have several ([`ConfigError`],
//! [`TypeError`]).

use crate::types::TypeId;
use capability_heap::{CapFault, RegionError};
use core::fmt;

/// A refused heap operation. The heap is left usable and intact by every
/// one of them (but [`GcError::Poisoned`], which says it is not).
#[derive(Clone, Debug, PartialEq)]
pub enum GcError {
    /// A capability check failed (tag, seal, permission, bounds, alignment).
    Cap(CapFault),
    /// The reference was obtained before the last collection (a plain
    /// local kept across a safepoint): its object may have been freed or
    /// moved. Keep references across allocations in handles or roots.
    /// Also what a reference of another heap gets, in checked modes.
    StaleReference,
    /// The null reference was used as an object.
    NullReference,
    /// Bits offered as a reference ([`crate::Heap::import_ref`]) that this
    /// heap did not hand out: garbage, fabricated, altered, or another
    /// heap's.
    Forged,
    /// The heap limit was reached even after a full collection, or the
    /// request can never fit.
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
    /// A type description is invalid.
    InvalidType(TypeError),
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
    /// The handle's scope was closed, or the persistent root, weak
    /// reference, ephemeron or finalizer registration released.
    InvalidHandle,
    /// `close_scope` was given a scope that is open but not the innermost.
    ScopeMismatch,
    /// `close_scope` was given a scope that is already closed.
    ScopeClosed,
    /// The root region id does not name a live root region.
    InvalidRootRegion,
    /// A token (handle, scope, persistent, weak reference, ephemeron,
    /// finalizer, root region, type id) of another heap.
    WrongHeap,
    /// The configuration cannot be used.
    InvalidConfig(ConfigError),
    /// The heap's memory could not be mapped.
    Region(RegionError),
    /// The reference does not designate a live object of this heap.
    NotAnObject,
    /// A trace callback panicked while the mutator asked about a slot; the
    /// heap is unchanged.
    TracePanicked,
    /// A trace callback panicked during a collection, which may have freed
    /// objects that were reachable: the heap refuses every operation.
    Poisoned,
    /// A cell-heap call made in the wrong phase of the collection cycle
    /// (allocation during a collection, marking outside one, …).
    WrongPhase {
        /// The call.
        call: &'static str,
        /// The phase the heap was in.
        phase: crate::cells::CellPhase,
    },
    /// A pointer given to a cell heap (reported by a trace, or asked
    /// about) that is not into a live cell.
    NotACell(u64),
    /// No cell type with this number is registered in this cell heap.
    UnknownCellType(u32),
    /// The cell heap's verifier found a violation (checked
    /// configuration): the description.
    CellHeapCorrupt(String),
    /// Zeal's verifier ([`crate::Zeal::verify`]) found the heap-safety
    /// contract broken after a collection — typically a VM's missing root
    /// (every violation is printed on stderr). The heap is poisoned.
    HeapCorrupt {
        /// The collection after which it was found.
        collection: u64,
        /// How many violations ([`crate::Heap::verify`] lists them; the
        /// payload stays two words so that every `Result` stays small).
        violations: usize,
    },
    /// The fast path's lent allocation buffer was found broken when the
    /// heap took it back (a cursor moved outside it, or a header the
    /// caller wrote that names no type or a length its type refuses):
    /// what was wrong. The heap is poisoned.
    FastBuffer(&'static str),
    /// The payload length given for a type is not one it has: a
    /// fixed-size type's own size, or an array's length in bytes (a
    /// multiple of the slot size for a reference array); in Native, also
    /// an array of 4 GiB or more (its one-word header holds the length in
    /// 32 bits).
    BadLength {
        /// The type.
        ty: TypeId,
        /// The length given.
        len: u64,
    },
    /// An unsealed reference crossed a compartment boundary: another
    /// compartment's object (or memory outside this compartment) offered
    /// to this one as a plain reference. Between compartments references
    /// travel sealed ([`crate::Compartments::seal`]).
    CompartmentViolation,
    /// A sealed reference used as an object: it can be stored, copied and
    /// handed back to its owner, never dereferenced.
    SealedReference,
    /// The slot holds no sealed reference (an ordinary reference, data or
    /// null where a sealed one was asked for).
    NotSealed,
    /// A compartment that does not own the sealed reference tried to
    /// unseal it: its authority or object type refused it.
    UnsealDenied,
    /// The compartment was torn down: its sealed references, its id and
    /// its heap are dead.
    CompartmentDestroyed,
    /// The sealed reference's export was released by a whole-heap
    /// collection that found no stored copy of it (a sealed reference
    /// kept only in a local lives until the next whole-heap collection).
    SealedRevoked,
    /// The compartment id names no compartment of this split heap.
    InvalidCompartment,
    /// Every object type (or compartment slot) this format offers has
    /// been handed out: object types are never reused.
    TooManyCompartments,
}

/// Why a [`crate::HeapConfig`] (or a root-region size) cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// The limit is outside [`crate::HeapConfig::MIN_LIMIT`] ..=
    /// [`crate::HeapConfig::MAX_LIMIT`].
    Limit(u64),
    /// `initial_size` exceeds the limit.
    InitialSize(u64),
    /// `growth_factor` is not a finite number ≥ 1.
    GrowthFactor,
    /// Scanning by tag needs a tagged (SoftCheri) mode.
    TagScanNeedsTags,
    /// `nursery_size` is outside 64 KiB ..= limit / 2 (Generational).
    NurserySize(u64),
    /// `pause_goal` is zero.
    PauseGoal,
    /// A root region needs 1 ..= 2^32 slots.
    RootRegionSlots(u64),
    /// Every heap identity has been used (2^32 − 1 heaps were made in this
    /// process): identities are never reused.
    TooManyHeaps,
    /// The operating system gave no randomness for the heap's key.
    Entropy,
    /// A cell heap's alignment is neither 8 nor 16.
    CellAlign(u64),
    /// A zeal option list (`CAPGC_ZEAL`, [`crate::Zeal::parse`]) is
    /// malformed.
    Zeal,
}

/// Why a type description is invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeError {
    /// A reference offset is not a multiple of the slot size.
    MisalignedOffset(u64),
    /// A reference slot does not fit in the object.
    OffsetOutOfBounds(u64),
    /// The fixed payload exceeds [`crate::ObjectType::MAX_FIXED_SIZE`].
    TooLarge(u64),
    /// The heap has registered 2^32 types.
    TooMany,
    /// A fixed-size type lists more reference slots than
    /// [`crate::ObjectType::MAX_FIXED_REFS`].
    TooManyRefs(u64),
}

impl fmt::Display for GcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GcError::Cap(c) => write!(f, "capability fault: {c}"),
            GcError::StaleReference => write!(
                f,
                "stale reference: obtained before the last collection, or from another heap"
            ),
            GcError::NullReference => write!(f, "null reference used as an object"),
            GcError::Forged => write!(
                f,
                "forged reference: these bits were not handed out by this heap"
            ),
            GcError::OutOfMemory { requested, limit } => write!(
                f,
                "out of memory: {requested} bytes requested, heap limit {limit} bytes reached"
            ),
            GcError::UnknownType(t) => write!(
                f,
                "unknown type id {:#x}: this heap never registered it",
                t.to_bits()
            ),
            GcError::WrongKind(t) => write!(f, "type {} is not of the kind needed", t.index()),
            GcError::InvalidType(why) => write!(f, "invalid type: {why}"),
            GcError::NotARefSlot { ty, offset } => write!(
                f,
                "offset {offset} is not a reference slot of type {}",
                ty.index()
            ),
            GcError::IndexOutOfRange { index, len } => {
                write!(f, "index {index} out of range (length {len})")
            }
            GcError::InvalidHandle => write!(f, "handle or root is no longer valid"),
            GcError::ScopeMismatch => write!(f, "scope closed out of order"),
            GcError::ScopeClosed => write!(f, "scope already closed"),
            GcError::InvalidRootRegion => write!(f, "no such root region"),
            GcError::WrongHeap => write!(f, "token of another heap"),
            GcError::InvalidConfig(why) => write!(f, "invalid heap configuration: {why}"),
            GcError::Region(e) => write!(f, "cannot map heap memory: {e}"),
            GcError::NotAnObject => write!(f, "reference does not designate a live object"),
            GcError::TracePanicked => write!(f, "the type's trace callback panicked"),
            GcError::Poisoned => write!(
                f,
                "heap poisoned: a trace callback panicked during a collection"
            ),
            GcError::WrongPhase { call, phase } => {
                write!(f, "{call} is not allowed in the {phase:?} phase")
            }
            GcError::NotACell(p) => write!(f, "{p:#x} is not a pointer into a live cell"),
            GcError::UnknownCellType(t) => write!(f, "unknown cell type {t}"),
            GcError::CellHeapCorrupt(v) => write!(f, "cell heap verification failed: {v}"),
            GcError::HeapCorrupt {
                collection,
                violations,
            } => write!(
                f,
                "zeal: heap verification failed after collection {collection}: {violations} violation(s) of the heap-safety contract, listed on stderr (a reference kept where the collector cannot see it, a missing root, is the usual cause)"
            ),
            GcError::FastBuffer(why) => write!(
                f,
                "the fast path's allocation buffer is corrupt: {why}; the heap is poisoned"
            ),
            GcError::BadLength { ty, len } => {
                write!(f, "payload length {len} is not one type {ty:?} has")
            }
            GcError::CompartmentViolation => write!(
                f,
                "compartment violation: an unsealed reference to another compartment"
            ),
            GcError::SealedReference => {
                write!(
                    f,
                    "sealed reference used as an object: only its owner unseals it"
                )
            }
            GcError::NotSealed => write!(f, "the slot holds no sealed reference"),
            GcError::UnsealDenied => write!(
                f,
                "unseal denied: the sealed reference belongs to another compartment"
            ),
            GcError::CompartmentDestroyed => write!(f, "the compartment was torn down"),
            GcError::SealedRevoked => write!(
                f,
                "sealed reference revoked: its export was released by a whole-heap collection"
            ),
            GcError::InvalidCompartment => write!(f, "no such compartment in this heap"),
            GcError::TooManyCompartments => {
                write!(f, "every object type for compartments has been used")
            }
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Limit(l) => write!(f, "limit {l} must be between 256 KiB and 16 TiB"),
            ConfigError::InitialSize(s) => write!(f, "initial_size {s} exceeds the limit"),
            ConfigError::GrowthFactor => write!(f, "growth_factor must be a finite number >= 1"),
            ConfigError::TagScanNeedsTags => {
                write!(f, "scanning by tag needs a tagged (SoftCheri) mode")
            }
            ConfigError::NurserySize(n) => {
                write!(f, "nursery_size {n} must be between 64 KiB and limit/2")
            }
            ConfigError::PauseGoal => write!(f, "pause_goal must be positive"),
            ConfigError::RootRegionSlots(n) => {
                write!(f, "a root region needs 1..=2^32 slots, not {n}")
            }
            ConfigError::TooManyHeaps => write!(f, "every heap identity has been used"),
            ConfigError::Entropy => write!(f, "no randomness for the heap's reference key"),
            ConfigError::CellAlign(a) => write!(f, "cell alignment {a} must be 8 or 16"),
            ConfigError::Zeal => write!(
                f,
                "malformed zeal options (CAPGC_ZEAL): expected a comma-separated list of collect:N (N >= 1), verify, move-all, poison"
            ),
        }
    }
}

impl fmt::Display for TypeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeError::MisalignedOffset(o) => {
                write!(f, "reference offset {o} not aligned to the slot size")
            }
            TypeError::OffsetOutOfBounds(o) => {
                write!(f, "reference offset {o} beyond the object size")
            }
            TypeError::TooLarge(s) => write!(f, "fixed object of {s} bytes larger than 1 GiB"),
            TypeError::TooMany => write!(f, "too many types"),
            TypeError::TooManyRefs(n) => write!(
                f,
                "a fixed-size type listing {n} reference offsets (at most 65536; use a record type or a reference array)"
            ),
        }
    }
}

impl std::error::Error for GcError {}
impl std::error::Error for ConfigError {}
impl std::error::Error for TypeError {}

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

impl From<ConfigError> for GcError {
    fn from(e: ConfigError) -> Self {
        GcError::InvalidConfig(e)
    }
}

impl From<TypeError> for GcError {
    fn from(e: TypeError) -> Self {
        GcError::InvalidType(e)
    }
}
