//! [`SoftCheri`]: full CHERI semantics in software, in a format `F`.
//!
//! A reference is a [`Capability`]; every mutator access is checked
//! through it (tag, seal, permissions, bounds, alignment) and the memory
//! is capability memory, so data stores clear tags (I6) and a tag is set
//! only by storing a tagged capability.

use super::collector::{self, Collector, RawCap};
use super::{PayloadLayout, RefMode};
use crate::format::Format;
use crate::tagged::{RegionError, Scalar, GRANULE};
use crate::{Address, CapFault, Capability, Perms, TaggedRegion};

/// True when format `F` has software object types to seal with (Morello,
/// CHERI v9; not the RISC-V standard format).
fn has_software_otypes<F: Format>() -> bool {
    F::is_software_otype(16)
}

/// Full CHERI semantics in software, in format `F`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SoftCheri<F: Format>(core::marker::PhantomData<F>);

impl<F: Format> collector::sealed::Sealed for SoftCheri<F> {}

impl<F: Format> Collector for SoftCheri<F> {
    const NAME: &'static str = F::NAME;
    const SLOT_SIZE: u64 = GRANULE;
    const CHECKED: bool = true;
    type Ref = Capability<F>;
    type Raw = RawCap;
    type Authority = Capability<F>;

    unsafe fn authority(region: &TaggedRegion) -> Result<Capability<F>, CapFault> {
        // SAFETY: the caller's contract is mint_authority's.
        unsafe { region.mint_authority::<F>() }
    }

    #[inline(always)]
    fn derive(auth: &Capability<F>, payload: Address, len: u64) -> Result<Capability<F>, CapFault> {
        auth.derive_exact(payload, len, Perms::OBJECT)
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
        let keep = Perms::OBJECT.to_word::<F>() & F::perms(old.pesbt());
        let pesbt = auth.derive_exact_pesbt(payload, len, keep)?;
        Ok(RawCap::new(
            u128::from(pesbt) << 64 | u128::from(payload.get()),
            true,
        ))
    }

    #[inline(always)]
    fn to_raw(r: &Capability<F>) -> RawCap {
        RawCap::new(r.to_u128(), r.tag())
    }
    #[inline(always)]
    fn from_raw(r: &RawCap) -> Capability<F> {
        // A tagged RawCap is a capability already (see RawCap).
        Capability::from_bits(r.bits(), r.tag())
    }
    #[inline(always)]
    fn raw_address(r: &RawCap) -> Address {
        r.address()
    }
    #[inline(always)]
    fn raw_is_valid(r: &RawCap) -> bool {
        r.tag()
    }

    #[inline(always)]
    unsafe fn read_slot(region: &TaggedRegion, slot: Address) -> Capability<F> {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        let (bits, tag) = unsafe { region.read_granule(slot) };
        // Bounds decoded on first use: a reference loaded to be followed
        // (gc-core's vouched `get_ref`) or stored again never needs them.
        Capability::from_bits_lazy(bits, tag)
    }
    #[inline(always)]
    unsafe fn write_slot(region: &mut TaggedRegion, slot: Address, value: &Capability<F>) {
        // SAFETY: the caller guarantees an aligned slot inside the region;
        // the tag is the capability's own.
        unsafe { region.write_granule(slot, value.to_u128(), value.tag()) }
    }
    #[inline(always)]
    unsafe fn read_raw_slot(region: &TaggedRegion, slot: Address) -> RawCap {
        // SAFETY: the caller guarantees an aligned slot inside the region.
        let (bits, tag) = unsafe { region.read_granule(slot) };
        RawCap::new(bits, tag)
    }
    #[inline(always)]
    unsafe fn write_raw_slot(region: &mut TaggedRegion, slot: Address, value: &RawCap) {
        // SAFETY: the caller guarantees an aligned slot inside the region;
        // a tagged RawCap carries a capability's own tag.
        unsafe { region.write_granule(slot, value.bits(), value.tag()) }
    }

    type Sealer = Capability<F>;

    unsafe fn sealer(otype: u32) -> Result<Capability<F>, CapFault> {
        if !has_software_otypes::<F>() {
            // No software sealing in this format: the sealer is never used
            // to seal (see `seal`), only carried.
            return Ok(Capability::null());
        }
        if !F::is_software_otype(otype) {
            return Err(CapFault::InvalidOtype {
                otype: u64::from(otype),
            });
        }
        // SAFETY: the caller's contract is mint_sealing_root's; the root is
        // narrowed to one object type at once and dropped.
        let root = unsafe { collector::mint_sealing_root::<F>() };
        root.try_set_address(Address(u64::from(otype)))?
            .set_bounds_exact(1)
    }

    fn seal(
        auth: &Capability<F>,
        sealer: &Capability<F>,
        at: Address,
        len: u64,
    ) -> Result<Capability<F>, CapFault> {
        if has_software_otypes::<F>() {
            auth.derive_exact(at, len, Perms::LOAD | Perms::LOAD_CAP)?
                .seal(sealer)
        } else {
            auth.derive_exact(at, len, Perms::NONE)
        }
    }

    fn unseal(
        auth: &Capability<F>,
        sealer: &Capability<F>,
        r: &Capability<F>,
    ) -> Result<(Address, u64), CapFault> {
        if !r.tag() {
            return Err(CapFault::TagViolation);
        }
        let open = if has_software_otypes::<F>() {
            r.unseal(sealer)?
        } else if r.is_sealed() || r.perms() != Perms::NONE {
            return Err(CapFault::NotSealed);
        } else {
            *r
        };
        let base = open.base();
        let len = u64::try_from(open.length()).map_err(|_| CapFault::NotSealed)?;
        if open.address() != base {
            return Err(CapFault::NotSealed);
        }
        // The owner's authority must contain the entry: another
        // compartment's is refused as the hardware would refuse a load.
        auth.check_access(base, len.max(1), Perms::NONE, 1)?;
        Ok((base, len))
    }

    fn authority_span(auth: &Capability<F>) -> (Address, u128) {
        (auth.base(), auth.top())
    }

    #[inline]
    fn is_sealed_form(r: &Capability<F>) -> bool {
        r.tag() && (r.is_sealed() || (!has_software_otypes::<F>() && r.perms() == Perms::NONE))
    }
}

impl<F: Format> RefMode for SoftCheri<F> {
    fn new_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::for_format::<F>(len)
    }
    fn new_root_region(len: u64) -> Result<TaggedRegion, RegionError> {
        TaggedRegion::new(len)
    }
    /// I1, byte for byte: the bounds are CRRL of the payload length
    /// itself — the length, exactly, whenever the format represents it
    /// (every length below 2^(MW-2) or so, and aligned larger ones) — and
    /// the alignment is CRAM's. Only the cell is rounded to the granule.
    /// (Rounding the length to the granule *before* CRRL, as this once
    /// did, bounded a 1-byte array to 16 bytes: issue #24.)
    #[inline(always)]
    fn payload_layout(len: u64) -> Option<PayloadLayout> {
        let bounds = F::crrl(len);
        if bounds < len {
            return None; // CRRL wrapped past 2^64
        }
        // At least one granule even for an empty payload, so that a
        // payload address always lies inside its own cell (never at the
        // cell's end, which may be the next block's start); the bounds stay
        // exact (length 0).
        let size = bounds.max(1).checked_next_multiple_of(GRANULE)?;
        let align = (!F::cram(len)).wrapping_add(1).max(GRANULE);
        Some(PayloadLayout {
            size,
            align,
            bounds,
        })
    }
    #[inline(always)]
    fn null() -> Capability<F> {
        Capability::null()
    }
    #[inline(always)]
    fn is_null(r: &Capability<F>) -> bool {
        // What `Capability::null()` compares equal to, without decoding it.
        !r.tag() && r.to_bits() == (F::NULL_PESBT, 0)
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
        r.tag() && r.address() == payload && r.base() == payload && r.length() == u128::from(len)
    }
    #[inline(always)]
    fn within_object_rights(r: &Capability<F>) -> bool {
        !r.is_sealed() && Perms::OBJECT.contains(r.perms())
    }
    #[inline(always)]
    fn perms(r: &Capability<F>) -> Perms {
        r.perms()
    }
    #[inline(always)]
    fn restrict(r: &Capability<F>, keep: Perms) -> Result<Capability<F>, CapFault> {
        r.and_perms(keep)
    }
    #[inline(always)]
    fn grants(r: &Capability<F>, need: Perms) -> bool {
        r.grants(need)
    }
    #[inline(always)]
    fn store_needs(value: &Capability<F>) -> Perms {
        value.store_needs()
    }
    #[inline(always)]
    fn grants_store(holder: &Capability<F>, value: &Capability<F>) -> bool {
        holder.grants_store_of(value)
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
    fn load_bytes(
        region: &TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), CapFault> {
        region.load_bytes(holder, holder.address().add(offset), out)
    }
    fn store_bytes(
        region: &mut TaggedRegion,
        holder: &Capability<F>,
        offset: u64,
        data: &[u8],
    ) -> Result<(), CapFault> {
        region.store_bytes(holder, holder.address().add(offset), data)
    }
    fn load_root(region: &TaggedRegion, slot: Address) -> Result<Capability<F>, CapFault> {
        region.get_cap(slot)
    }
    fn store_root(
        region: &mut TaggedRegion,
        slot: Address,
        value: &Capability<F>,
    ) -> Result<(), CapFault> {
        region.put_cap(slot, value)
    }
    fn store_root_data(
        region: &mut TaggedRegion,
        slot: Address,
        value: u64,
    ) -> Result<(), CapFault> {
        region.write::<u64>(slot, value)
    }
}
