//! The collector half of a reference mode ([`Collector`]): what only the
//! owner of a heap region does — mint its authority, derive and
//! re-derive references from it, and read and write reference slots
//! without checks in its inner loops.
//!
//! Nothing here lets safe code make a tagged capability out of bits:
//! - the authority comes only from [`Collector::authority`], an `unsafe
//!   fn` whose contract (keep it private to the heap, never outlive the
//!   region) no code outside a collector can meet;
//! - [`RawCap`]'s fields are private: a tagged one is read from tagged
//!   memory, converted from a tagged capability, or re-derived by
//!   [`Collector::relocate_raw`] from an authority; [`RawCap::untagged`]
//!   is the only constructor from bits;
//! - the unchecked slot accessors are `unsafe fn`s (their caller proves
//!   the slot lies in the region).
//!
//! A safe `from_raw` is therefore sound: a `RawCap` with its tag set is
//! already a capability.
//!
//! None of the forging paths a review found compiles any more:
//!
//! ```compile_fail,E0451
//! // A tagged RawCap from bits: its fields are private.
//! use capability_heap::{Morello, RawCap, SoftCheri, mode::Collector};
//! let forged = SoftCheri::<Morello>::from_raw(&RawCap { bits: 1 << 64, tag: true });
//! ```
//!
//! ```compile_fail,E0599
//! // A region's authority in safe code: the method is gone; minting is
//! // `Collector::authority` / `TaggedRegion::mint_authority`, both unsafe.
//! use capability_heap::{Morello, TaggedRegion};
//! let r = TaggedRegion::for_format::<Morello>(4096).unwrap();
//! let auth = r.authority::<Morello>();
//! ```
//!
//! ```compile_fail,E0133
//! // Minting without `unsafe`.
//! use capability_heap::{Morello, TaggedRegion};
//! let r = TaggedRegion::for_format::<Morello>(4096).unwrap();
//! let auth = r.mint_authority::<Morello>();
//! ```
//!
//! ```compile_fail,E0624
//! // The sealing root, or a capability with a chosen tag.
//! use capability_heap::{Capability, Morello};
//! let root = Capability::<Morello>::sealing_root();
//! ```
//!
//! ```compile_fail,E0423
//! // An unchecked reference from an address: its field is private too.
//! use capability_heap::{Address, NativeRef};
//! let r = NativeRef(Address(0x1000));
//! ```

use crate::format::Format;
use crate::{Address, CapFault, Capability, TaggedRegion};
use core::fmt::Debug;

pub(crate) mod sealed {
    pub trait Sealed {}
}

/// A capability slot as stored: the 128 bits (metadata word high, address
/// low) and the tag, not decoded ([`Collector::Raw`] of
/// [`crate::SoftCheri`]). Tagged only when it came from tagged memory,
/// from a tagged capability, or from an authority.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCap {
    bits: u128,
    tag: bool,
}

impl RawCap {
    /// The untagged slot value with these bits: what data is.
    pub const fn untagged(bits: u128) -> RawCap {
        RawCap { bits, tag: false }
    }

    /// The value; the tag is the caller's promise (crate-private).
    #[inline(always)]
    pub(crate) const fn new(bits: u128, tag: bool) -> RawCap {
        RawCap { bits, tag }
    }

    /// Metadata word in bits 127..64, address in bits 63..0.
    #[inline(always)]
    pub const fn bits(&self) -> u128 {
        self.bits
    }

    /// The tag.
    #[inline(always)]
    pub const fn tag(&self) -> bool {
        self.tag
    }

    /// The address (bits 63..0).
    #[inline(always)]
    pub const fn address(&self) -> Address {
        Address(self.bits as u64)
    }

    /// The metadata word (bits 127..64).
    #[inline(always)]
    pub const fn pesbt(&self) -> u64 {
        (self.bits >> 64) as u64
    }
}

/// The collector half of a reference mode, and the associated types the
/// mutator half ([`crate::RefMode`]) is written over. Sealed.
pub trait Collector: sealed::Sealed + Copy + Default + Debug + Send + Sync + 'static {
    /// Short name for reports (`native`, `p128`, `softcheri-morello`, …).
    const NAME: &'static str;
    /// Bytes a reference occupies in a heap slot.
    const SLOT_SIZE: u64;
    /// True when accesses are checked through the reference's capability.
    const CHECKED: bool;

    /// A reference held by the mutator or collector.
    type Ref: Copy + Debug + PartialEq + Send;
    /// A slot's contents as stored, undecoded: for `SoftCheri` the 128
    /// bits and the tag ([`RawCap`]), for the unchecked modes the
    /// reference itself. What a collector's inner loops read, test,
    /// forward and write back: they need a reference's address, validity
    /// and permission word, never its bounds, so they skip decoding them.
    type Raw: Copy + Debug + PartialEq + Send;
    /// The heap authority references are derived from.
    type Authority: Debug + Send;

    /// The authority over `region`, a region this mode mapped
    /// ([`crate::RefMode::new_region`]).
    ///
    /// # Safety
    /// The authority is the power to derive a reference to any byte of
    /// the region, headers and free memory included. The caller must be
    /// the collector that owns the region: it keeps the authority to
    /// itself (never handing it, or anything derived from it but object
    /// references with exact bounds, to other code), and drops it no later
    /// than the region — nothing revokes an authority, so one kept longer
    /// would still derive into whatever is mapped there next.
    unsafe fn authority(region: &TaggedRegion) -> Result<Self::Authority, CapFault>;

    /// A reference to `[payload, payload + len)` with exact bounds and the
    /// object permissions ([`crate::Perms::OBJECT`]), derived from `auth`
    /// (I1, I5).
    fn derive(auth: &Self::Authority, payload: Address, len: u64) -> Result<Self::Ref, CapFault>;

    /// [`Collector::derive`] for a payload the caller knows lies inside
    /// the authority's region (a cell the collector just carved out of one
    /// of its blocks): the unchecked modes skip their region test, whose
    /// answer is known; the checked modes derive in full, since their
    /// derivation is the reference itself.
    ///
    /// # Safety
    /// `[payload, payload + len)` must lie inside the region `auth` was
    /// minted over.
    #[inline(always)]
    unsafe fn derive_inside(
        auth: &Self::Authority,
        payload: Address,
        len: u64,
    ) -> Result<Self::Ref, CapFault> {
        Self::derive(auth, payload, len)
    }

    /// A reference to an object moved to `payload` (padded length `len`),
    /// re-derived from `auth` with exact bounds and `old`'s permissions
    /// (never wider than [`crate::Perms::OBJECT`]): what a moving
    /// collector writes back into every slot that referred to the old copy
    /// (I8).
    fn relocate_raw(
        auth: &Self::Authority,
        old: &Self::Raw,
        payload: Address,
        len: u64,
    ) -> Result<Self::Raw, CapFault>;

    /// [`Collector::relocate_raw`] for a new payload the caller knows lies
    /// inside the authority's region (a cell the collector just copied
    /// the object into): the unchecked modes skip their region test.
    ///
    /// # Safety
    /// `[payload, payload + len)` must lie inside the region `auth` was
    /// minted over.
    #[inline(always)]
    unsafe fn relocate_inside(
        auth: &Self::Authority,
        old: &Self::Raw,
        payload: Address,
        len: u64,
    ) -> Result<Self::Raw, CapFault> {
        Self::relocate_raw(auth, old, payload, len)
    }

    /// The undecoded form of a reference.
    fn to_raw(r: &Self::Ref) -> Self::Raw;

    /// The reference an undecoded slot holds (`from_raw(read_raw_slot(s))`
    /// equals `read_slot(s)`).
    fn from_raw(r: &Self::Raw) -> Self::Ref;

    /// The address of an undecoded reference.
    fn raw_address(r: &Self::Raw) -> Address;

    /// True when an undecoded reference may be dereferenced as far as the
    /// mode can tell: tagged (SoftCheri) or non-null (unchecked modes).
    fn raw_is_valid(r: &Self::Raw) -> bool;

    /// Reads the reference slot at `slot` with no checks.
    ///
    /// # Safety
    /// `slot` must be `SLOT_SIZE`-aligned with the slot inside `region`,
    /// a region this mode mapped.
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> Self::Ref;

    /// Writes the reference slot at `slot` with no checks (with its tag in
    /// SoftCheri).
    ///
    /// # Safety
    /// As [`Collector::read_slot`].
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Ref);

    /// Reads the slot at `slot` undecoded, with no checks.
    ///
    /// # Safety
    /// As [`Collector::read_slot`].
    unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> Self::Raw;

    /// Writes the slot at `slot` undecoded (with its tag in SoftCheri), no
    /// checks.
    ///
    /// # Safety
    /// As [`Collector::read_slot`].
    unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Raw);

    /// What a compartment seals with: in `SoftCheri` over a format with
    /// software object types, the sealing capability of its one object
    /// type (Seal and Unseal, bounds `[otype, otype + 1)`); otherwise the
    /// object type as a number, which seals nothing by itself (see
    /// [`Collector::seal`]).
    type Sealer: Debug + Send;

    /// The sealer of object type `otype`.
    ///
    /// # Safety
    /// As [`Collector::authority`]: the caller is the collector that hands
    /// out object types (one per compartment, never twice); it keeps the
    /// sealer to itself.
    unsafe fn sealer(otype: u32) -> Result<Self::Sealer, CapFault>;

    /// The sealed form of `[at, at + len)` — an export-table entry of the
    /// region `auth` governs — under `sealer`: a reference its holder can
    /// store, copy and hand back but not dereference, that only the same
    /// authority and sealer turn back into an address ([`Collector::unseal`]).
    ///
    /// - `SoftCheri` with software object types (Morello, CHERI v9): the
    ///   entry's exact capability (load permissions only), sealed (CSeal)
    ///   with the compartment's object type. Every access through it is a
    ///   seal violation; CUnseal needs the sealer.
    /// - `SoftCheri<RiscvStd>` (no software object types): the entry's
    ///   exact capability with *no* permissions — tagged, so unforgeable,
    ///   and useless for any access; only the owner's authority, whose
    ///   bounds contain the entry, re-derives a usable capability to it.
    /// - The unchecked modes: the entry's address with bit 0 set (no object
    ///   payload is odd), which the heap's accessors refuse.
    fn seal(
        auth: &Self::Authority,
        sealer: &Self::Sealer,
        at: Address,
        len: u64,
    ) -> Result<Self::Ref, CapFault>;

    /// The entry a sealed form designates, when `auth` and `sealer` are
    /// the ones that sealed it: the form is tagged (checked modes), sealed
    /// with `sealer`'s object type (otype formats) or permissionless
    /// (`RiscvStd`), exact (address = base), and inside `auth`'s bounds.
    /// Another compartment's authority or sealer is refused with the fault
    /// the hardware would raise (otype mismatch, bounds).
    fn unseal(
        auth: &Self::Authority,
        sealer: &Self::Sealer,
        r: &Self::Ref,
    ) -> Result<(Address, u64), CapFault>;

    /// True when `r` is a sealed form ([`Collector::seal`]): the collector
    /// never follows one and the mutator cannot dereference one.
    fn is_sealed_form(r: &Self::Ref) -> bool;

    /// The bounds `(base, top)` of an authority: what it can derive into.
    fn authority_span(auth: &Self::Authority) -> (Address, u128);
}

/// The sealing root of format `F`: bounds `[0, 2^OTYPE_BITS)` over the
/// object-type space, with only Seal, Unseal and Global — no memory
/// access at all. A format without software sealing (`128r`) yields a
/// capability that cannot seal.
///
/// # Safety
/// As [`Collector::authority`]: the caller is the collector that hands
/// out object types (one per compartment); it keeps the root to itself
/// and derives from it only the sealing capabilities of the object types
/// it owns.
pub unsafe fn mint_sealing_root<F: Format>() -> Capability<F> {
    Capability::sealing_root()
}
