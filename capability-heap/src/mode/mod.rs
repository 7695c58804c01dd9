//! Reference modes: how a heap reference is represented and checked.
//!
//! The collector in `gc-core` is generic over [`RefMode`] and monomorphised
//! per mode, so the same collector and workload run with
//!
//! | mode | slot | checks | memory | models |
//! |---|---|---|---|---|
//! | [`Native`] | 8 B | none | plain | today's VMs (the hybrid / aarch64 baseline) |
//! | [`P128`] | 16 B | none | plain | the pointer-width cost of purecap alone |
//! | [`SoftCheri<F>`] | 16 B | all, in software | capability | full purecap semantics on any host |
//!
//! Native→P128 is the cost of wide pointers; P128→SoftCheri the cost of
//! checking in software, which CHERI hardware does for free. A hardware
//! mode (CHERI intrinsics) would be a fourth implementation.
//!
//! A mode has two halves:
//! - [`RefMode`], the mutator's: references as values (null, address,
//!   validity, narrowing), checked loads and stores through a reference,
//!   and root-slot access. All of it is safe.
//! - [`Collector`] (its supertrait), the collector's: the associated
//!   types, the authority, derivation and re-derivation, undecoded slots
//!   and the unchecked slot accessors. Minting an authority and the
//!   unchecked accessors are `unsafe fn`s, and a tagged [`RawCap`] cannot
//!   be built from bits, so nothing in either half turns bits into a
//!   tagged capability.
//!
//! The mode also decides the tag policy, by the kind of memory it maps
//! ([`RefMode::new_region`]): `SoftCheri` maps capability memory (data
//! stores clear tags, copies move them), the unchecked modes plain memory
//! (stores are plain stores). A collector zeroes, copies and writes
//! headers with the same calls in every mode.
//!
//! The unchecked modes still check that an access lies inside the heap's
//! mapped region: two compares that keep the Rust API sound against a
//! garbage reference, without catching use-after-free, overflow into a
//! neighbour or forgery inside the heap. `Collector::read_slot` /
//! `write_slot` skip even that; they are what the collector's inner loops
//! use, and for `Native` they are a plain load and store (bench `modes`
//! compares them with a raw-pointer loop).

pub mod collector;
mod softcheri;
mod unchecked;

pub use collector::{Collector, RawCap};
pub use softcheri::SoftCheri;
pub use unchecked::{
    Native, NativeRef, P128Ref, RegionBounds, Unchecked, UncheckedRef, Width, P128, W128, W64,
};

use crate::tagged::{RegionError, Scalar};
use crate::{Address, CapFault, Perms, TaggedRegion};

/// How a payload must be sized and aligned so that a reference to it can
/// have exact bounds (CRRL / CRAM for capability modes), and what those
/// bounds are.
///
/// Two lengths, because bounds are byte-exact but cells are not (I1):
/// [`bounds`](Self::bounds) is the length of every reference to the
/// payload — the payload length itself wherever the format represents it
/// exactly, else its CRRL padding — and [`size`](Self::size) is the room
/// the payload takes in its cell (the bounds rounded up to the mode's
/// slot granule), which no reference reaches past `bounds`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadLayout {
    /// Room the payload takes in its cell: `bounds` rounded up to the
    /// granule (≥ the requested length, and at least one slot even for an
    /// empty payload, so that a payload address always lies inside its own
    /// cell, never at a block's end). Cell sizes, copies and sweeps use it;
    /// references never reach past `bounds`.
    pub size: u64,
    /// Required alignment of the payload start (a power of two).
    pub align: u64,
    /// The length of a reference's bounds (I1): the requested length,
    /// exactly, when the format can represent it at `align`; otherwise
    /// CRRL's padding, which belongs to the object alone. The unchecked
    /// modes, which have no bounds, give the requested length.
    pub bounds: u64,
}

/// A representation of heap references: the mutator half (the collector
/// half is the supertrait [`Collector`]). Sealed: [`Native`], [`P128`]
/// and [`SoftCheri`] are the implementations.
pub trait RefMode: Collector {
    /// Maps a heap region for this mode: capability memory aligned so that
    /// the authority over it is exact (SoftCheri), or plain memory.
    fn new_region(len: u64) -> Result<TaggedRegion, RegionError>;

    /// Maps a root region of `len` bytes: capability memory (SoftCheri),
    /// or plain memory whose markers say which slots hold references.
    fn new_root_region(len: u64) -> Result<TaggedRegion, RegionError>;

    /// Padding and alignment a payload of `len` bytes needs; `None` when
    /// no payload that large can be laid out.
    fn payload_layout(len: u64) -> Option<PayloadLayout>;

    /// The null reference: untagged, address 0, no permissions.
    fn null() -> Self::Ref;

    /// True exactly for [`RefMode::null`] — not for another value at
    /// address 0 (a tagged capability at 0 is not null).
    fn is_null(r: &Self::Ref) -> bool;

    /// The address a reference designates (its payload start as derived).
    fn address(r: &Self::Ref) -> Address;

    /// True when the reference may be dereferenced as far as this mode can
    /// tell: tagged (SoftCheri) or non-null (unchecked modes).
    fn is_valid(r: &Self::Ref) -> bool;

    /// I1: `r` designates exactly the payload `[payload, payload + len)`:
    /// in `SoftCheri` tagged with address = base = `payload` and length =
    /// `len`; in the unchecked modes, address = `payload` (all they can
    /// tell).
    fn designates(r: &Self::Ref, payload: Address, len: u64) -> bool;

    /// I5: `r` carries no right beyond an object reference's: unsealed,
    /// permissions within [`Perms::OBJECT`] (always true in the unchecked
    /// modes, whose references carry no rights).
    fn within_object_rights(r: &Self::Ref) -> bool;

    /// The permissions `r` grants (all the object permissions in the
    /// unchecked modes, which do not check them).
    fn perms(r: &Self::Ref) -> Perms;

    /// The same reference with permissions narrowed to `keep` (a no-op in
    /// unchecked modes).
    fn restrict(r: &Self::Ref, keep: Perms) -> Result<Self::Ref, CapFault>;

    /// The tag, seal and permission steps of [`RefMode::check`] alone:
    /// true when `r` is tagged, unsealed and holds every permission in
    /// `need` (always true in the unchecked modes, which check none). For
    /// a caller that has proved the access inside `r`'s bounds otherwise
    /// (gc-core's vouched references: exact bounds, a slot of the type's
    /// map).
    fn grants(r: &Self::Ref, need: Perms) -> bool;

    /// The permissions storing `value` through a reference needs (what
    /// [`RefMode::store_ref`] checks the holder for): Store, StoreCap for
    /// a tagged value, StoreLocalCap for a tagged non-Global one.
    fn store_needs(value: &Self::Ref) -> Perms;

    /// `grants(holder, store_needs(value))`: the tag, seal and permission
    /// steps of storing `value` through `holder`.
    #[inline(always)]
    fn grants_store(holder: &Self::Ref, value: &Self::Ref) -> bool {
        Self::grants(holder, Self::store_needs(value))
    }

    /// Checks an access of `size` bytes at `offset` into `r` needing `need`
    /// and returns the address it touches.
    fn check(
        r: &Self::Ref,
        offset: u64,
        size: u64,
        need: Perms,
        align: u64,
    ) -> Result<Address, CapFault>;

    /// Loads the reference stored `offset` bytes into the object `holder`.
    fn load_ref(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
    ) -> Result<Self::Ref, CapFault>;

    /// Stores `value` `offset` bytes into the object `holder`.
    fn store_ref(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        value: &Self::Ref,
    ) -> Result<(), CapFault>;

    /// Loads a scalar `offset` bytes into `holder`.
    fn load<T: Scalar>(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
    ) -> Result<T, CapFault>;

    /// Stores a scalar `offset` bytes into `holder` (clearing tags it
    /// overwrites in SoftCheri, I6).
    fn store<T: Scalar>(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        value: T,
    ) -> Result<(), CapFault>;

    /// Copies `out.len()` bytes at `offset` into `holder` out.
    fn load_bytes(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), CapFault>;

    /// Copies `data` to `offset` into `holder` (clearing tags it overwrites
    /// in SoftCheri, I6).
    fn store_bytes(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        data: &[u8],
    ) -> Result<(), CapFault>;

    /// The reference in the root slot at `slot` of a root region this
    /// mode mapped: in SoftCheri with the tag tagged memory gives it; in
    /// the unchecked modes the slot's bits, unvalidated.
    fn load_root(region: &TaggedRegion, slot: Address) -> Result<Self::Ref, CapFault>;

    /// Stores `value` in the root slot at `slot` and marks the slot as
    /// holding a reference (its tag, or its marker in plain memory).
    fn store_root(
        region: &mut TaggedRegion,
        slot: Address,
        value: &Self::Ref,
    ) -> Result<(), CapFault>;

    /// Stores plain data in the root slot at `slot`: its tag or marker is
    /// cleared (I6), so it is no reference any more.
    fn store_root_data(
        region: &mut TaggedRegion,
        slot: Address,
        value: u64,
    ) -> Result<(), CapFault>;
}
