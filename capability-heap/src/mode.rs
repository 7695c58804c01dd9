//! Reference modes: how a heap reference is represented and checked.
//!
//! The collector in `gc-core` is generic over [`RefMode`] and monomorphised
//! per mode, so the same collector and workload run with
//!
//! | mode | slot | checks | tags | models |
//! |---|---|---|---|---|
//! | [`Native`] | 8 B | none | no | today's VMs (the hybrid / aarch64 baseline) |
//! | [`P128`] | 16 B | none | no | the pointer-width cost of purecap alone |
//! | [`SoftCheri<F>`] | 16 B | all, in software | yes | full purecap semantics on any host |
//!
//! Native→P128 is the cost of wide pointers; P128→SoftCheri the cost of
//! checking in software, which CHERI hardware does for free. A hardware
//! mode (CHERI intrinsics) would be a fourth implementation of this trait.
//!
//! The unchecked modes still check that an access lies inside the heap's
//! mapped region ([`TaggedRegion::read`]): two compares that keep the Rust
//! API sound against a garbage reference, without catching use-after-free,
//! overflow into a neighbour or forgery inside the heap. The `unsafe`
//! `read_slot` / `write_slot` skip even that; they are what the collector's
//! inner loops use, and for `Native` they are a plain load and store
//! (bench `modes` compares them with a raw-pointer loop).

use crate::format::Format;
use crate::tagged::{RegionError, Scalar, GRANULE};
use crate::{Address, CapFault, Capability, Perms, TaggedRegion};
use core::fmt::Debug;

/// How a payload must be sized and aligned so that a reference to it can
/// have exact bounds (CRRL / CRAM for capability modes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PayloadLayout {
    /// Payload length after padding (≥ the requested length). The padding
    /// belongs to the object (I1).
    pub size: u64,
    /// Required alignment of the payload start (a power of two).
    pub align: u64,
}

mod sealed {
    pub trait Sealed {}
}

/// A representation of heap references. Sealed: [`Native`], [`P128`] and
/// [`SoftCheri`] are the implementations.
pub trait RefMode: sealed::Sealed + Copy + Default + Debug + Send + Sync + 'static {
    /// Short name for reports (`native`, `p128`, `softcheri-morello`, …).
    const NAME: &'static str;
    /// Bytes a reference occupies in a heap slot.
    const SLOT_SIZE: u64;
    /// True when accesses are checked through the reference's capability.
    const CHECKED: bool;
    /// True when slots carry tags (the heap can be scanned by tag).
    const TAGGED: bool;

    /// A reference held by the mutator or collector.
    type Ref: Copy + Debug + PartialEq + Send;
    /// The heap authority references are derived from.
    type Authority: Clone + Debug + Send;

    /// Maps a region suitable for this mode (aligned so the authority over
    /// it is exact).
    fn new_region(len: u64) -> Result<TaggedRegion, RegionError>;

    /// The authority over `region`.
    fn authority(region: &TaggedRegion) -> Result<Self::Authority, CapFault>;

    /// Padding and alignment a payload of `len` bytes needs.
    fn payload_layout(len: u64) -> PayloadLayout;

    /// A reference to `[payload, payload + len)` with exact bounds and the
    /// object permissions ([`Perms::OBJECT`]), derived from `auth` (I1, I5).
    fn derive(auth: &Self::Authority, payload: Address, len: u64) -> Result<Self::Ref, CapFault>;

    /// A reference to an object moved to `payload` (padded length `len`),
    /// re-derived from `auth` with exact bounds and `old`'s permissions
    /// (never wider than [`Perms::OBJECT`]): what a moving collector writes
    /// back into every slot that referred to the old copy (I8).
    fn relocate(
        auth: &Self::Authority,
        old: &Self::Ref,
        payload: Address,
        len: u64,
    ) -> Result<Self::Ref, CapFault>;

    /// The same reference with permissions narrowed to `keep` (a no-op in
    /// unchecked modes).
    fn restrict(r: &Self::Ref, keep: Perms) -> Result<Self::Ref, CapFault>;

    /// The null reference.
    fn null() -> Self::Ref;

    /// The address a reference designates (its payload start as derived).
    fn address(r: &Self::Ref) -> Address;

    /// True when the reference may be dereferenced as far as this mode can
    /// tell: tagged (SoftCheri) or non-null (unchecked modes).
    fn is_valid(r: &Self::Ref) -> bool;

    /// True when `r` designates exactly the payload `[payload, payload +
    /// len)`: in `SoftCheri` tagged, unsealed, address = base = `payload`,
    /// length = `len`, permissions within [`Perms::OBJECT`] (I1, I5); in the
    /// unchecked modes, address = `payload` (all they can tell).
    fn designates(r: &Self::Ref, payload: Address, len: u64) -> bool;

    /// Checks an access of `size` bytes at `offset` into `r` needing `need`
    /// and returns the address it touches.
    fn check(
        r: &Self::Ref,
        offset: u64,
        size: u64,
        need: Perms,
        align: u64,
    ) -> Result<Address, CapFault>;

    /// Reads the reference slot at `slot` with no checks.
    ///
    /// # Safety
    /// `slot` must be `SLOT_SIZE`-aligned with the slot inside `region`.
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> Self::Ref;

    /// Writes the reference slot at `slot` with no checks (with its tag in
    /// SoftCheri).
    ///
    /// # Safety
    /// `slot` must be `SLOT_SIZE`-aligned with the slot inside `region`.
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Ref);

    /// A slot's contents as stored, undecoded: for [`SoftCheri`] the 128
    /// bits and the tag ([`RawCap`]), for the unchecked modes the reference
    /// itself. What a collector's inner loops read, test, forward and write
    /// back: they need a reference's address, validity and permission word,
    /// never its bounds, so they skip decoding them.
    type Raw: Copy + Debug + PartialEq;

    /// Reads the slot at `slot` undecoded, with no checks.
    ///
    /// # Safety
    /// As [`RefMode::read_slot`].
    unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> Self::Raw;

    /// Writes the slot at `slot` (with its tag in SoftCheri), no checks.
    ///
    /// # Safety
    /// As [`RefMode::write_slot`].
    unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Raw);

    /// The undecoded form of a reference.
    fn to_raw(r: &Self::Ref) -> Self::Raw;

    /// The reference an undecoded slot holds (`from_raw(read_raw_slot(s))`
    /// equals `read_slot(s)`).
    fn from_raw(r: &Self::Raw) -> Self::Ref;

    /// The address of an undecoded reference.
    fn raw_address(r: &Self::Raw) -> Address;

    /// [`RefMode::is_valid`] of an undecoded reference.
    fn raw_is_valid(r: &Self::Raw) -> bool;

    /// [`RefMode::relocate`] from an undecoded reference, to one.
    fn relocate_raw(
        auth: &Self::Authority,
        old: &Self::Raw,
        payload: Address,
        len: u64,
    ) -> Result<Self::Raw, CapFault>;

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
}

/// 8-byte references with no checks: the baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Native;

/// A `Native` reference: a bare address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct NativeRef(pub Address);

/// 16-byte references with no checks: purecap's pointer width alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct P128;

/// A `P128` reference: address plus a metadata word (the payload length,
/// stored but never checked), 16 bytes in a slot like a capability.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct P128Ref {
    /// Address of the payload.
    pub addr: Address,
    /// Metadata word (payload length); never used for checks.
    pub meta: u64,
}

/// A capability slot as stored: the 128 bits (metadata word high, address
/// low) and the tag, not decoded ([`RefMode::Raw`] of [`SoftCheri`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCap {
    /// Metadata word in bits 127..64, address in bits 63..0.
    pub bits: u128,
    /// The tag.
    pub tag: bool,
}

/// Full CHERI semantics in software, in format `F`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftCheri<F: Format>(core::marker::PhantomData<F>);

impl sealed::Sealed for Native {}
impl sealed::Sealed for P128 {}
impl<F: Format> sealed::Sealed for SoftCheri<F> {}

/// Region bounds: the authority of the unchecked modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionBounds {
    /// First byte.
    pub base: Address,
    /// One past the last byte.
    pub end: Address,
}

fn unchecked_authority(region: &TaggedRegion) -> RegionBounds {
    RegionBounds {
        base: region.base(),
        end: region.end(),
    }
}

fn unchecked_derive(auth: &RegionBounds, payload: Address, len: u64) -> Result<(), CapFault> {
    let inside =
        payload >= auth.base && u128::from(payload.0) + u128::from(len) <= u128::from(auth.end.0);
    if inside {
        Ok(())
    } else {
        Err(CapFault::OutsideRegion {
            addr: payload,
            size: len,
        })
    }
}

/// The `RefMode::Raw` items of an unchecked mode: its references hold
/// nothing to decode, so the undecoded form is the reference itself.
macro_rules! unchecked_raw {
    ($r:ty) => {
        type Raw = $r;
        #[inline(always)]
        unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> $r {
            // SAFETY: the caller's contract is read_slot's.
            unsafe { Self::read_slot(region, slot) }
        }
        #[inline(always)]
        unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &$r) {
            // SAFETY: the caller's contract is write_slot's.
            unsafe { Self::write_slot(region, slot, value) }
        }
        #[inline(always)]
        fn to_raw(r: &$r) -> $r {
            *r
        }
        #[inline(always)]
        fn from_raw(r: &$r) -> $r {
            *r
        }
        #[inline(always)]
        fn raw_address(r: &$r) -> Address {
            Self::address(r)
        }
        #[inline(always)]
        fn raw_is_valid(r: &$r) -> bool {
            Self::is_valid(r)
        }
        #[inline(always)]
        fn relocate_raw(
            auth: &RegionBounds,
            old: &$r,
            payload: Address,
            len: u64,
        ) -> Result<$r, CapFault> {
            Self::relocate(auth, old, payload, len)
        }
    };
}

impl RefMode for Native {
    const NAME: &'static str = "native";
    const SLOT_SIZE: u64 = 8;
    const CHECKED: bool = false;
    const TAGGED: bool = false;
    type Ref = NativeRef;
    unchecked_raw!(NativeRef);
    type Authority = RegionBounds;

    fn new_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::new(len)
    }
    fn authority(region: &TaggedRegion) -> Result<RegionBounds, CapFault> {
        Ok(unchecked_authority(region))
    }
    #[inline(always)]
    fn payload_layout(len: u64) -> PayloadLayout {
        PayloadLayout {
            size: len.next_multiple_of(8),
            align: 8,
        }
    }
    #[inline(always)]
    fn derive(auth: &RegionBounds, payload: Address, len: u64) -> Result<NativeRef, CapFault> {
        unchecked_derive(auth, payload, len)?;
        Ok(NativeRef(payload))
    }
    #[inline(always)]
    fn relocate(
        auth: &RegionBounds,
        _old: &NativeRef,
        payload: Address,
        len: u64,
    ) -> Result<NativeRef, CapFault> {
        Self::derive(auth, payload, len)
    }
    #[inline(always)]
    fn restrict(r: &NativeRef, _keep: Perms) -> Result<NativeRef, CapFault> {
        Ok(*r)
    }
    #[inline(always)]
    fn null() -> NativeRef {
        NativeRef(Address::NULL)
    }
    #[inline(always)]
    fn address(r: &NativeRef) -> Address {
        r.0
    }
    #[inline(always)]
    fn is_valid(r: &NativeRef) -> bool {
        r.0 != Address::NULL
    }
    #[inline(always)]
    fn designates(r: &NativeRef, payload: Address, _len: u64) -> bool {
        r.0 == payload
    }
    #[inline(always)]
    fn check(r: &NativeRef, offset: u64, _: u64, _: Perms, _: u64) -> Result<Address, CapFault> {
        Ok(r.0.add(offset))
    }
    #[inline(always)]
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> NativeRef {
        // SAFETY: the caller guarantees the slot is inside the region.
        NativeRef(Address(unsafe { region.read_raw::<u64>(slot) }))
    }
    #[inline(always)]
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &NativeRef) {
        // SAFETY: the caller guarantees the slot is inside the region.
        unsafe { region.write_untracked::<u64>(slot, value.0 .0) }
    }
    #[inline(always)]
    fn load_ref(
        region: &TaggedRegion,
        holder: &NativeRef,
        offset: u64,
    ) -> Result<NativeRef, CapFault> {
        region
            .read::<u64>(holder.0.add(offset))
            .map(|a| NativeRef(Address(a)))
    }
    #[inline(always)]
    fn store_ref(
        region: &mut TaggedRegion,
        holder: &NativeRef,
        offset: u64,
        value: &NativeRef,
    ) -> Result<(), CapFault> {
        region.write_plain::<u64>(holder.0.add(offset), value.0 .0)
    }
    #[inline(always)]
    fn load<T: Scalar>(
        region: &TaggedRegion,
        holder: &NativeRef,
        offset: u64,
    ) -> Result<T, CapFault> {
        region.read::<T>(holder.0.add(offset))
    }
    #[inline(always)]
    fn store<T: Scalar>(
        region: &mut TaggedRegion,
        holder: &NativeRef,
        offset: u64,
        value: T,
    ) -> Result<(), CapFault> {
        region.write_plain::<T>(holder.0.add(offset), value)
    }
}

impl P128Ref {
    #[inline(always)]
    fn to_u128(self) -> u128 {
        (u128::from(self.meta) << 64) | u128::from(self.addr.0)
    }
    #[inline(always)]
    fn from_u128(v: u128) -> P128Ref {
        P128Ref {
            addr: Address(v as u64),
            meta: (v >> 64) as u64,
        }
    }
}

impl RefMode for P128 {
    const NAME: &'static str = "p128";
    const SLOT_SIZE: u64 = 16;
    const CHECKED: bool = false;
    const TAGGED: bool = false;
    type Ref = P128Ref;
    unchecked_raw!(P128Ref);
    type Authority = RegionBounds;

    fn new_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::new(len)
    }
    fn authority(region: &TaggedRegion) -> Result<RegionBounds, CapFault> {
        Ok(unchecked_authority(region))
    }
    #[inline(always)]
    fn payload_layout(len: u64) -> PayloadLayout {
        PayloadLayout {
            size: len.next_multiple_of(GRANULE),
            align: GRANULE,
        }
    }
    #[inline(always)]
    fn derive(auth: &RegionBounds, payload: Address, len: u64) -> Result<P128Ref, CapFault> {
        unchecked_derive(auth, payload, len)?;
        Ok(P128Ref {
            addr: payload,
            meta: len,
        })
    }
    #[inline(always)]
    fn relocate(
        auth: &RegionBounds,
        _old: &P128Ref,
        payload: Address,
        len: u64,
    ) -> Result<P128Ref, CapFault> {
        Self::derive(auth, payload, len)
    }
    #[inline(always)]
    fn restrict(r: &P128Ref, _keep: Perms) -> Result<P128Ref, CapFault> {
        Ok(*r)
    }
    #[inline(always)]
    fn null() -> P128Ref {
        P128Ref::default()
    }
    #[inline(always)]
    fn address(r: &P128Ref) -> Address {
        r.addr
    }
    #[inline(always)]
    fn is_valid(r: &P128Ref) -> bool {
        r.addr != Address::NULL
    }
    #[inline(always)]
    fn designates(r: &P128Ref, payload: Address, _len: u64) -> bool {
        r.addr == payload
    }
    #[inline(always)]
    fn check(r: &P128Ref, offset: u64, _: u64, _: Perms, _: u64) -> Result<Address, CapFault> {
        Ok(r.addr.add(offset))
    }
    #[inline(always)]
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> P128Ref {
        // SAFETY: the caller guarantees the slot is inside the region.
        P128Ref::from_u128(unsafe { region.read_raw::<u128>(slot) })
    }
    #[inline(always)]
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &P128Ref) {
        // SAFETY: the caller guarantees the slot is inside the region.
        unsafe { region.write_untracked::<u128>(slot, value.to_u128()) }
    }
    #[inline(always)]
    fn load_ref(region: &TaggedRegion, holder: &P128Ref, offset: u64) -> Result<P128Ref, CapFault> {
        region
            .read::<u128>(holder.addr.add(offset))
            .map(P128Ref::from_u128)
    }
    #[inline(always)]
    fn store_ref(
        region: &mut TaggedRegion,
        holder: &P128Ref,
        offset: u64,
        value: &P128Ref,
    ) -> Result<(), CapFault> {
        region.write_plain::<u128>(holder.addr.add(offset), value.to_u128())
    }
    #[inline(always)]
    fn load<T: Scalar>(
        region: &TaggedRegion,
        holder: &P128Ref,
        offset: u64,
    ) -> Result<T, CapFault> {
        region.read::<T>(holder.addr.add(offset))
    }
    #[inline(always)]
    fn store<T: Scalar>(
        region: &mut TaggedRegion,
        holder: &P128Ref,
        offset: u64,
        value: T,
    ) -> Result<(), CapFault> {
        region.write_plain::<T>(holder.addr.add(offset), value)
    }
}

impl<F: Format> RefMode for SoftCheri<F> {
    const NAME: &'static str = F::NAME;
    const SLOT_SIZE: u64 = GRANULE;
    const CHECKED: bool = true;
    const TAGGED: bool = true;
    type Ref = Capability<F>;
    type Raw = RawCap;
    #[inline(always)]
    unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> RawCap {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        let (bits, tag) = unsafe { region.read_granule_raw(slot) };
        RawCap { bits, tag }
    }
    #[inline(always)]
    unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &RawCap) {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        unsafe { region.write_granule_raw(slot, value.bits, value.tag) };
    }
    #[inline(always)]
    fn to_raw(r: &Capability<F>) -> RawCap {
        let (pesbt, cursor) = r.to_bits();
        RawCap {
            bits: u128::from(pesbt) << 64 | u128::from(cursor),
            tag: r.tag(),
        }
    }
    #[inline(always)]
    fn from_raw(r: &RawCap) -> Capability<F> {
        Capability::from_parts((r.bits >> 64) as u64, r.bits as u64, r.tag)
    }
    #[inline(always)]
    fn raw_address(r: &RawCap) -> Address {
        Address(r.bits as u64)
    }
    #[inline(always)]
    fn raw_is_valid(r: &RawCap) -> bool {
        r.tag
    }
    #[inline(always)]
    fn relocate_raw(
        auth: &Capability<F>,
        old: &RawCap,
        payload: Address,
        len: u64,
    ) -> Result<RawCap, CapFault> {
        // I8 re-derivation from the authority; I5: the old word within the
        // object permissions, never wider than either.
        let keep = Perms::OBJECT.to_word::<F>() & F::perms((old.bits >> 64) as u64);
        let pesbt = auth.derive_exact_pesbt(payload, len, keep)?;
        Ok(RawCap {
            bits: u128::from(pesbt) << 64 | u128::from(payload.get()),
            tag: true,
        })
    }
    type Authority = Capability<F>;

    fn new_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::for_format::<F>(len)
    }
    fn authority(region: &TaggedRegion) -> Result<Capability<F>, CapFault> {
        region.authority::<F>()
    }
    #[inline(always)]
    fn payload_layout(len: u64) -> PayloadLayout {
        let size = F::crrl(len.next_multiple_of(GRANULE));
        let align = (!F::cram(len.next_multiple_of(GRANULE)))
            .wrapping_add(1)
            .max(GRANULE);
        PayloadLayout { size, align }
    }
    #[inline(always)]
    fn derive(auth: &Capability<F>, payload: Address, len: u64) -> Result<Capability<F>, CapFault> {
        auth.derive_exact(payload, len, Perms::OBJECT)
    }
    #[inline(always)]
    fn relocate(
        auth: &Capability<F>,
        old: &Capability<F>,
        payload: Address,
        len: u64,
    ) -> Result<Capability<F>, CapFault> {
        // Word-level (I5): the old word within the object permissions,
        // never wider than either.
        auth.derive_exact_word(payload, len, Perms::OBJECT.to_word::<F>() & old.perm_word())
    }
    #[inline(always)]
    fn restrict(r: &Capability<F>, keep: Perms) -> Result<Capability<F>, CapFault> {
        r.and_perms(keep)
    }
    #[inline(always)]
    fn null() -> Capability<F> {
        Capability::null()
    }
    #[inline(always)]
    fn address(r: &Capability<F>) -> Address {
        r.address()
    }
    #[inline(always)]
    fn is_valid(r: &Capability<F>) -> bool {
        r.tag()
    }
    #[inline(always)]
    fn designates(r: &Capability<F>, payload: Address, len: u64) -> bool {
        r.tag()
            && !r.is_sealed()
            && r.address() == payload
            && r.base() == payload
            && r.length() == u128::from(len)
            && Perms::OBJECT.contains(r.perms())
    }
    #[inline(always)]
    fn check(
        r: &Capability<F>,
        offset: u64,
        size: u64,
        need: Perms,
        align: u64,
    ) -> Result<Address, CapFault> {
        let addr = r.address().add(offset);
        r.check_access(addr, size, need, align)?;
        Ok(addr)
    }
    #[inline(always)]
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> Capability<F> {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        unsafe { region.read_cap_raw(slot) }
    }
    #[inline(always)]
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &Capability<F>) {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        unsafe { region.write_cap_raw(slot, value) }
    }
    #[inline(always)]
    fn load_ref(
        region: &TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
    ) -> Result<Capability<F>, CapFault> {
        region.load_cap(holder, holder.address().add(offset))
    }
    #[inline(always)]
    fn store_ref(
        region: &mut TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
        value: &Capability<F>,
    ) -> Result<(), CapFault> {
        region.store_cap(holder, holder.address().add(offset), value)
    }
    #[inline(always)]
    fn load<T: Scalar>(
        region: &TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
    ) -> Result<T, CapFault> {
        region.load(holder, holder.address().add(offset))
    }
    #[inline(always)]
    fn store<T: Scalar>(
        region: &mut TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
        value: T,
    ) -> Result<(), CapFault> {
        region.store(holder, holder.address().add(offset), value)
    }
}
