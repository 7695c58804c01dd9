//! The unchecked modes, [`Native`] (8-byte references) and [`P128`]
//! (16-byte references), as one implementation generic over the
//! reference's [`Width`].
//!
//! A reference is a word: the address (Native) or the address with the
//! payload length above it (P128: stored, never checked, so that a slot
//! is as wide as a capability). Accesses are checked only against the
//! region's mapping, which keeps the Rust API sound; a reference made
//! from a stale or wrong address is followed as CHERI-less code would
//! follow it. The memory is plain: stores never touch the bitmap, whose
//! bits in a root region are "holds a reference" markers.

use super::collector::{self, Collector};
use super::{PayloadLayout, RefMode};
use crate::tagged::{RegionError, Scalar, GRANULE};
use crate::{Address, CapFault, Perms, TaggedRegion};
use core::fmt::Debug;
use core::marker::PhantomData;

mod sealed {
    pub trait Sealed {}
}

/// The width of an unchecked reference. Sealed: [`W64`] and [`W128`].
pub trait Width:
    sealed::Sealed + Copy + Default + Debug + PartialEq + Send + Sync + 'static
{
    /// The mode's report name.
    const NAME: &'static str;
    /// The stored word.
    type Word: Scalar + Send;
    /// Payload alignment (the slot size).
    const ALIGN: u64;
    /// The word of a reference to a payload of `len` bytes at `addr`.
    fn pack(addr: Address, len: u64) -> Self::Word;
    /// The address a word holds.
    fn addr(w: Self::Word) -> Address;
}

/// 8-byte references: a bare address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W64;

/// 16-byte references: the address, and the payload length as a
/// metadata word that is never used for checks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct W128;

impl sealed::Sealed for W64 {}
impl sealed::Sealed for W128 {}

impl Width for W64 {
    const NAME: &'static str = "native";
    type Word = u64;
    const ALIGN: u64 = 8;
    #[inline(always)]
    fn pack(addr: Address, _len: u64) -> u64 {
        addr.get()
    }
    #[inline(always)]
    fn addr(w: u64) -> Address {
        Address(w)
    }
}

impl Width for W128 {
    const NAME: &'static str = "p128";
    type Word = u128;
    const ALIGN: u64 = GRANULE;
    #[inline(always)]
    fn pack(addr: Address, len: u64) -> u128 {
        u128::from(len) << 64 | u128::from(addr.get())
    }
    #[inline(always)]
    fn addr(w: u128) -> Address {
        Address(w as u64)
    }
}

/// A reference mode with no checks, of width `W`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Unchecked<W: Width>(PhantomData<W>);

/// 8-byte references with no checks: the baseline.
pub type Native = Unchecked<W64>;

/// 16-byte references with no checks: purecap's pointer width alone.
pub type P128 = Unchecked<W128>;

/// An unchecked reference. Its field is private: one is derived by the
/// heap, loaded from a slot, or null.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct UncheckedRef<W: Width> {
    word: W::Word,
}

impl<W: Width> Debug for UncheckedRef<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}Ref({:?})", W::NAME, W::addr(self.word))
    }
}

/// A `Native` reference: a bare address.
pub type NativeRef = UncheckedRef<W64>;

/// A `P128` reference: address plus the payload length, 16 bytes in a
/// slot like a capability.
pub type P128Ref = UncheckedRef<W128>;

/// Region bounds: the authority of the unchecked modes.
#[derive(Debug)]
pub struct RegionBounds {
    base: Address,
    end: Address,
}

impl<W: Width> collector::sealed::Sealed for Unchecked<W> {}

impl<W: Width> Collector for Unchecked<W> {
    const NAME: &'static str = W::NAME;
    const SLOT_SIZE: u64 = W::ALIGN;
    const CHECKED: bool = false;
    type Ref = UncheckedRef<W>;
    type Raw = UncheckedRef<W>;
    type Authority = RegionBounds;

    unsafe fn authority(region: &TaggedRegion) -> Result<RegionBounds, CapFault> {
        Ok(RegionBounds {
            base: region.base(),
            end: region.end(),
        })
    }

    #[inline(always)]
    fn derive(auth: &RegionBounds, payload: Address, len: u64) -> Result<Self::Ref, CapFault> {
        let inside = payload >= auth.base
            && u128::from(payload.get()) + u128::from(len) <= u128::from(auth.end.get());
        if !inside {
            return Err(CapFault::OutsideRegion {
                addr: payload,
                size: len,
            });
        }
        Ok(UncheckedRef {
            word: W::pack(payload, len),
        })
    }

    #[inline(always)]
    unsafe fn derive_inside(
        auth: &RegionBounds,
        payload: Address,
        len: u64,
    ) -> Result<Self::Ref, CapFault> {
        debug_assert!(Self::derive(auth, payload, len).is_ok());
        // The caller's contract is the region test `derive` makes.
        Ok(UncheckedRef {
            word: W::pack(payload, len),
        })
    }

    #[inline(always)]
    fn relocate_raw(
        auth: &RegionBounds,
        _old: &Self::Raw,
        payload: Address,
        len: u64,
    ) -> Result<Self::Raw, CapFault> {
        Self::derive(auth, payload, len)
    }

    #[inline(always)]
    unsafe fn relocate_inside(
        auth: &RegionBounds,
        _old: &Self::Raw,
        payload: Address,
        len: u64,
    ) -> Result<Self::Raw, CapFault> {
        // SAFETY: the caller's contract is derive_inside's.
        unsafe { Self::derive_inside(auth, payload, len) }
    }

    #[inline(always)]
    fn to_raw(r: &Self::Ref) -> Self::Raw {
        *r
    }
    #[inline(always)]
    fn from_raw(r: &Self::Raw) -> Self::Ref {
        *r
    }
    #[inline(always)]
    fn raw_address(r: &Self::Raw) -> Address {
        W::addr(r.word)
    }
    #[inline(always)]
    fn raw_is_valid(r: &Self::Raw) -> bool {
        W::addr(r.word) != Address::NULL
    }

    #[inline(always)]
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> Self::Ref {
        UncheckedRef {
            // SAFETY: the caller guarantees the slot is inside the region.
            word: unsafe { region.read_raw::<W::Word>(slot) },
        }
    }
    #[inline(always)]
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Ref) {
        debug_assert_eq!(region.kind(), crate::TagUse::Markers);
        // SAFETY: the caller guarantees the slot is inside a region this
        // mode mapped: plain memory, which has no tags to clear.
        unsafe { region.write_untracked::<W::Word>(slot, value.word) }
    }
    #[inline(always)]
    unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> Self::Raw {
        // SAFETY: the caller's contract is read_slot's.
        unsafe { Self::read_slot(region, slot) }
    }
    #[inline(always)]
    unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &Self::Raw) {
        // SAFETY: the caller's contract is write_slot's.
        unsafe { Self::write_slot(region, slot, value) }
    }

    type Sealer = u32;

    unsafe fn sealer(otype: u32) -> Result<u32, CapFault> {
        Ok(otype)
    }

    fn seal(auth: &RegionBounds, _: &u32, at: Address, len: u64) -> Result<Self::Ref, CapFault> {
        Self::derive(auth, at, len)?;
        Ok(UncheckedRef {
            word: W::pack(Address(at.get() | 1), len),
        })
    }

    fn unseal(auth: &RegionBounds, _: &u32, r: &Self::Ref) -> Result<(Address, u64), CapFault> {
        let a = W::addr(r.word).get();
        if a & 1 == 0 {
            return Err(CapFault::NotSealed);
        }
        let at = Address(a & !1);
        // The length is not carried by a `Native` form: one slot.
        let len = W::ALIGN;
        Self::derive(auth, at, len)?;
        Ok((at, len))
    }

    fn authority_span(auth: &RegionBounds) -> (Address, u128) {
        (auth.base, u128::from(auth.end.get()))
    }

    #[inline(always)]
    fn is_sealed_form(r: &Self::Ref) -> bool {
        W::addr(r.word).get() & 1 == 1
    }
}

impl<W: Width> RefMode for Unchecked<W> {
    fn new_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::plain(len)
    }
    fn new_root_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::plain(len)
    }
    #[inline(always)]
    fn payload_layout(len: u64) -> Option<PayloadLayout> {
        Some(PayloadLayout {
            // At least one word even for an empty payload, so that a
            // payload address always lies inside its own cell (never at the
            // cell's end, which may be the next block's start).
            size: len.max(1).checked_next_multiple_of(W::ALIGN)?,
            align: W::ALIGN,
            bounds: len,
        })
    }
    #[inline(always)]
    fn null() -> Self::Ref {
        UncheckedRef::default()
    }
    #[inline(always)]
    fn is_null(r: &Self::Ref) -> bool {
        W::addr(r.word) == Address::NULL
    }
    #[inline(always)]
    fn address(r: &Self::Ref) -> Address {
        W::addr(r.word)
    }
    #[inline(always)]
    fn is_valid(r: &Self::Ref) -> bool {
        W::addr(r.word) != Address::NULL
    }
    #[inline(always)]
    fn designates(r: &Self::Ref, payload: Address, _len: u64) -> bool {
        W::addr(r.word) == payload
    }
    #[inline(always)]
    fn within_object_rights(_r: &Self::Ref) -> bool {
        true
    }
    #[inline(always)]
    fn perms(_r: &Self::Ref) -> Perms {
        Perms::OBJECT
    }
    #[inline(always)]
    fn restrict(r: &Self::Ref, _keep: Perms) -> Result<Self::Ref, CapFault> {
        Ok(*r)
    }
    #[inline(always)]
    fn grants(_r: &Self::Ref, _need: Perms) -> bool {
        true
    }
    #[inline(always)]
    fn store_needs(_value: &Self::Ref) -> Perms {
        Perms::NONE
    }
    #[inline(always)]
    fn check(r: &Self::Ref, offset: u64, _: u64, _: Perms, _: u64) -> Result<Address, CapFault> {
        Ok(W::addr(r.word).add(offset))
    }
    #[inline(always)]
    fn load_ref(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
    ) -> Result<Self::Ref, CapFault> {
        let word = region.read::<W::Word>(W::addr(holder.word).add(offset))?;
        Ok(UncheckedRef { word })
    }
    #[inline(always)]
    fn store_ref(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        value: &Self::Ref,
    ) -> Result<(), CapFault> {
        region.write::<W::Word>(W::addr(holder.word).add(offset), value.word)
    }
    #[inline(always)]
    fn load<T: Scalar>(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
    ) -> Result<T, CapFault> {
        region.read::<T>(W::addr(holder.word).add(offset))
    }
    #[inline(always)]
    fn store<T: Scalar>(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        value: T,
    ) -> Result<(), CapFault> {
        region.write::<T>(W::addr(holder.word).add(offset), value)
    }
    fn load_bytes(
        region: &TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), CapFault> {
        region.read_bytes(W::addr(holder.word).add(offset), out)
    }
    fn store_bytes(
        region: &mut TaggedRegion,
        holder: &Self::Ref,
        offset: u64,
        data: &[u8],
    ) -> Result<(), CapFault> {
        region.write_bytes(W::addr(holder.word).add(offset), data)
    }
    fn load_root(region: &TaggedRegion, slot: Address) -> Result<Self::Ref, CapFault> {
        let word = region.read::<W::Word>(slot)?;
        Ok(UncheckedRef { word })
    }
    fn store_root(
        region: &mut TaggedRegion,
        slot: Address,
        value: &Self::Ref,
    ) -> Result<(), CapFault> {
        region.write::<W::Word>(slot, value.word)?;
        region.set_marker(slot, !Self::is_null(value))
    }
    fn store_root_data(
        region: &mut TaggedRegion,
        slot: Address,
        value: u64,
    ) -> Result<(), CapFault> {
        region.write::<u64>(slot, value)?;
        region.set_marker(slot, false)
    }
}
