//! [`Capability`]: a CHERI capability value with the ISA's semantics.
//!
//! A capability is its 128-bit in-memory form (`cursor`, `pesbt`) plus a
//! tag, with the decoded bounds and permission word cached beside it so that
//! an access check is a handful of compares (a value loaded by
//! `read_slot` decodes its bounds only when first asked:
//! `Capability::from_bits_lazy`). Fields are private. A tagged
//! capability is obtained only by
//! - derivation from a tagged one ([`Capability::set_bounds`],
//!   [`Capability::and_perms`], [`Capability::set_address`],
//!   [`Capability::seal`] / [`Capability::unseal`]), or
//! - loading from tagged memory ([`crate::TaggedRegion::load_cap`]), or
//! - the authority a collector mints once over the region it owns
//!   ([`crate::mode::Collector::authority`], an `unsafe fn`: as an OS hands
//!   a process capabilities for the memory it maps), or the sealing root
//!   ([`crate::mode::collector::mint_sealing_root`], likewise).
//!
//! [`Capability::decode`] and [`Capability::from_bytes`] build a value
//! from raw bits, always untagged; no public function sets a tag.
//!
//! Rust-API convention (docs/design.md "monotonicity"): a derivation that the
//! ISA would answer by clearing the tag returns a [`CapFault`] instead,
//! except [`Capability::set_address`], which mirrors the instruction
//! (and [`Capability::try_set_address`] errors). Neither path can widen
//! bounds or permissions or turn an untagged value into a tagged one (I5).

use crate::format::{Format, TOP_MAX};
use crate::{Address, CapFault, Perm, Perms};
use core::fmt;
use core::marker::PhantomData;

/// A CHERI capability of format `F`.
#[derive(Clone, Copy)]
pub struct Capability<F: Format> {
    cursor: u64,
    pesbt: u64,
    base: u64,
    top: u128,
    perms: u32,
    tag: bool,
    sealed: bool,
    /// `base` and `top` hold the decoded bounds; when false they are not
    /// filled in and [`Capability::base_top`] decodes them on each use
    /// (a reference loaded by `read_slot` that may never need them).
    decoded: bool,
    _format: PhantomData<F>,
}

impl<F: Format> PartialEq for Capability<F> {
    fn eq(&self, other: &Self) -> bool {
        self.tag == other.tag && self.pesbt == other.pesbt && self.cursor == other.cursor
    }
}

impl<F: Format> Eq for Capability<F> {}

impl<F: Format> Capability<F> {
    /// Builds the value; `tag` is trusted, so this stays crate-private.
    #[inline(always)]
    pub(crate) fn from_parts(pesbt: u64, cursor: u64, tag: bool) -> Self {
        let (base, top) = F::bounds(pesbt, cursor);
        Capability {
            cursor,
            pesbt,
            base,
            top,
            perms: F::perms(pesbt),
            tag,
            sealed: F::otype(pesbt) != F::OTYPE_UNSEALED,
            decoded: true,
            _format: PhantomData,
        }
    }

    /// [`Capability::from_bits`] without decoding the bounds: they are
    /// decoded when something asks for them ([`Capability::base_top`]).
    /// The tag, seal and permissions are read at once, so
    /// [`Capability::grants`] costs what it costs on a decoded value.
    /// Every answer is the decoded value's: only the work moves.
    #[inline(always)]
    pub(crate) fn from_bits_lazy(bits: u128, tag: bool) -> Self {
        let (pesbt, cursor) = ((bits >> 64) as u64, bits as u64);
        Capability {
            cursor,
            pesbt,
            base: 0,
            top: 0,
            perms: F::perms(pesbt),
            tag,
            sealed: F::otype(pesbt) != F::OTYPE_UNSEALED,
            decoded: false,
            _format: PhantomData,
        }
    }

    /// The bounds `(base, top)`: the cached ones, or decoded now.
    #[inline(always)]
    fn base_top(&self) -> (u64, u128) {
        if self.decoded {
            (self.base, self.top)
        } else {
            F::bounds(self.pesbt, self.cursor)
        }
    }

    /// The value of a capability slot's 128 bits (metadata word high,
    /// address low) and `tag`, which is trusted: crate-private.
    #[inline(always)]
    pub(crate) fn from_bits(bits: u128, tag: bool) -> Self {
        Self::from_parts((bits >> 64) as u64, bits as u64, tag)
    }

    /// The 128 bits of the in-memory form (metadata word high).
    #[inline(always)]
    pub(crate) fn to_u128(self) -> u128 {
        u128::from(self.pesbt) << 64 | u128::from(self.cursor)
    }

    /// The root capability at address 0 (all of memory, all permissions).
    /// Crate-private: only a tagged region mints authority, and it narrows
    /// this to its own mapping at once.
    pub(crate) fn root() -> Self {
        Self::from_parts(F::ROOT_PESBT, 0, true)
    }

    /// The NULL capability: untagged, address 0, no permissions.
    pub fn null() -> Self {
        Self::from_parts(F::NULL_PESBT, 0, false)
    }

    /// Decodes the 128-bit in-memory form. The result is **untagged**: raw
    /// bits never carry authority.
    pub fn decode(pesbt: u64, cursor: u64) -> Self {
        Self::from_parts(pesbt, cursor, false)
    }

    /// Decodes 16 little-endian bytes (cursor first, then metadata).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        let v = u128::from_le_bytes(bytes);
        Self::decode((v >> 64) as u64, v as u64)
    }

    /// The in-memory form: `(pesbt, cursor)`.
    #[inline(always)]
    pub fn to_bits(&self) -> (u64, u64) {
        (self.pesbt, self.cursor)
    }

    /// The 16 little-endian bytes of the in-memory form (the tag is not
    /// part of them).
    pub fn to_bytes(&self) -> [u8; 16] {
        ((u128::from(self.pesbt) << 64) | u128::from(self.cursor)).to_le_bytes()
    }

    /// The tag: whether this is a valid capability.
    #[inline(always)]
    pub fn tag(&self) -> bool {
        self.tag
    }

    /// The same bits with the tag cleared.
    #[inline(always)]
    pub fn cleared(self) -> Self {
        Capability { tag: false, ..self }
    }

    /// The address (cursor).
    #[inline(always)]
    pub fn address(&self) -> Address {
        Address(self.cursor)
    }

    /// The lower bound.
    #[inline(always)]
    pub fn base(&self) -> Address {
        Address(self.base_top().0)
    }

    /// The upper bound (exclusive, 65 bits).
    #[inline(always)]
    pub fn top(&self) -> u128 {
        self.base_top().1
    }

    /// `top - base` (0 for malformed bounds with base > top).
    #[inline(always)]
    pub fn length(&self) -> u128 {
        let (base, top) = self.base_top();
        top.saturating_sub(u128::from(base))
    }

    /// The offset of the address from the base (wrapping, as CGetOffset).
    pub fn offset(&self) -> u64 {
        self.cursor.wrapping_sub(self.base_top().0)
    }

    /// The abstract permissions granted.
    pub fn perms(&self) -> Perms {
        Perms::from_word::<F>(self.perms)
    }

    /// The format's raw permission word.
    pub fn perm_word(&self) -> u32 {
        self.perms
    }

    /// The object type (`F::OTYPE_UNSEALED` when unsealed).
    pub fn otype(&self) -> u32 {
        F::otype(self.pesbt)
    }

    /// True when sealed.
    #[inline(always)]
    pub fn is_sealed(&self) -> bool {
        self.sealed
    }

    /// True when `[addr, addr + size)` lies within the bounds.
    #[inline(always)]
    pub fn in_bounds(&self, addr: Address, size: u64) -> bool {
        let (base, top) = self.base_top();
        addr.0 >= base && u128::from(addr.0) + u128::from(size) <= top
    }

    #[inline(always)]
    fn require_usable(&self) -> Result<(), CapFault> {
        if !self.tag {
            return Err(CapFault::TagViolation);
        }
        if self.sealed {
            return Err(CapFault::SealViolation);
        }
        Ok(())
    }

    #[inline(always)]
    fn require_perms(&self, need: Perms) -> Result<(), CapFault> {
        let want = need.to_word::<F>();
        // A permission with no bits in this format can never be held.
        if self.perms & want == want && Perms::from_word::<F>(want).contains(need) {
            return Ok(());
        }
        let needed = need.first_missing::<F>(self.perms).unwrap_or(Perm::Load);
        Err(CapFault::PermissionViolation { needed })
    }

    /// The tag, seal and permission steps of [`Capability::check_access`]
    /// without the bounds and alignment: tagged, unsealed, and holding
    /// every permission in `need` (a permission this format has no bits
    /// for is never held). What a caller that has proved the access inside
    /// the bounds by other means still checks.
    #[inline(always)]
    pub fn grants(&self, need: Perms) -> bool {
        self.require_usable().is_ok() && self.require_perms(need).is_ok()
    }

    /// The permissions a store of this value as a capability needs from
    /// the authority it is stored through: Store, plus StoreCap when it is
    /// tagged, plus StoreLocalCap when it is tagged and not Global (the
    /// rule of [`crate::TaggedRegion::store_cap`]).
    #[inline(always)]
    pub fn store_needs(&self) -> Perms {
        if !self.tag {
            return Perms::STORE;
        }
        if self.perms & F::perm_bits(Perm::Global) != 0 {
            Perms::STORE | Perms::STORE_CAP
        } else {
            Perms::STORE | Perms::STORE_CAP | Perms::STORE_LOCAL_CAP
        }
    }

    /// [`Capability::grants`] of what storing `value` through this
    /// capability needs ([`Capability::store_needs`]), with each of the
    /// three possible needs a constant, so the test is a mask compare.
    #[inline(always)]
    pub fn grants_store_of(&self, value: &Self) -> bool {
        if !value.tag {
            self.grants(Perms::STORE)
        } else if value.perms & F::perm_bits(Perm::Global) != 0 {
            self.grants(Perms::STORE | Perms::STORE_CAP)
        } else {
            self.grants(Perms::STORE | Perms::STORE_CAP | Perms::STORE_LOCAL_CAP)
        }
    }

    /// The access check of a load or store: tag, seal, permissions, bounds,
    /// then alignment (`align` a power of two; 1 for unaligned data).
    ///
    /// Returns the typed fault of the first check that fails, in the order
    /// the ISA reports them.
    #[inline(always)]
    pub fn check_access(
        &self,
        addr: Address,
        size: u64,
        need: Perms,
        align: u64,
    ) -> Result<(), CapFault> {
        self.require_usable()?;
        self.require_perms(need)?;
        if !self.in_bounds(addr, size) {
            return Err(CapFault::BoundsViolation {
                addr,
                size,
                base: self.base(),
                top: self.top(),
            });
        }
        if !addr.is_aligned(align) {
            return Err(CapFault::AlignmentViolation { addr, align });
        }
        Ok(())
    }

    /// Sets the address as the ISA does (CSetAddr / SCADDR): the bounds are
    /// kept when the new address is representable (each format's rule),
    /// otherwise — or when the capability is sealed — the result is
    /// untagged and its bounds are what the metadata decodes to there.
    pub fn set_address(self, addr: Address) -> Self {
        let keeps =
            self.tag && !self.sealed && F::set_addr_keeps_tag(self.pesbt, self.cursor, addr.0);
        Self::from_parts(self.pesbt, addr.0, keeps)
    }

    /// Like [`Capability::set_address`], but an address change that would
    /// clear the tag is an error.
    pub fn try_set_address(self, addr: Address) -> Result<Self, CapFault> {
        self.require_usable()?;
        let c = self.set_address(addr);
        if c.tag {
            Ok(c)
        } else {
            Err(CapFault::Unrepresentable { addr })
        }
    }

    /// Address plus a signed byte offset (CIncOffset), ISA semantics.
    pub fn add_offset(self, delta: i64) -> Self {
        self.set_address(Address(self.cursor.wrapping_add_signed(delta)))
    }

    /// SetBounds, rounding form: bounds `[address, address + len)` rounded
    /// outwards as the format requires. Errors when the capability is
    /// untagged or sealed, or the request is outside the current bounds.
    pub fn set_bounds(self, len: u64) -> Result<Self, CapFault> {
        self.set_bounds_inner(u128::from(len), false)
    }

    /// SetBounds, exact form (CSetBoundsExact / SCBNDS): as
    /// [`Capability::set_bounds`], and [`CapFault::Inexact`] unless the
    /// encoded bounds equal the requested ones.
    pub fn set_bounds_exact(self, len: u64) -> Result<Self, CapFault> {
        self.set_bounds_inner(u128::from(len), true)
    }

    fn set_bounds_inner(self, len: u128, exact: bool) -> Result<Self, CapFault> {
        self.require_usable()?;
        let base = Address(self.cursor);
        if !self.in_bounds(base, 0) || u128::from(self.cursor) + len > self.top() {
            return Err(CapFault::BoundsViolation {
                addr: base,
                size: u64::try_from(len).unwrap_or(u64::MAX),
                base: self.base(),
                top: self.top(),
            });
        }
        let r = F::set_bounds(self.pesbt, self.cursor, true, len);
        if !r.tag {
            // Format-specific refusals (e.g. Morello malformed input bounds).
            return Err(CapFault::Unrepresentable { addr: base });
        }
        if exact && !r.exact {
            return Err(CapFault::Inexact { base, len });
        }
        debug_assert!(
            r.top <= self.top() && r.base >= self.base().0,
            "I5: set_bounds widened"
        );
        Ok(Self::from_parts(r.pesbt, self.cursor, true))
    }

    /// Keeps only the permissions in `keep` (CAndPerm). Never adds one.
    pub fn and_perms(self, keep: Perms) -> Result<Self, CapFault> {
        self.require_usable()?;
        let word = self.perms & keep.to_word::<F>();
        Ok(Self::from_parts(
            F::with_perms(self.pesbt, word),
            self.cursor,
            true,
        ))
    }

    /// Seals with object type = `authority`'s address (CSeal). The
    /// authority must be tagged, unsealed, hold [`Perm::Seal`], have its
    /// address in bounds and name a software object type.
    pub fn seal(self, authority: &Self) -> Result<Self, CapFault> {
        self.require_usable()?;
        authority.check_access(authority.address(), 1, Perms::SEAL, 1)?;
        let otype = authority.cursor;
        let ot = u32::try_from(otype).map_err(|_| CapFault::InvalidOtype { otype })?;
        if !F::is_software_otype(ot) {
            return Err(CapFault::InvalidOtype { otype });
        }
        Ok(Self::from_parts(
            F::with_otype(self.pesbt, ot),
            self.cursor,
            true,
        ))
    }

    /// Unseals (CUnseal). The authority must be tagged, unsealed, hold
    /// [`Perm::Unseal`], be in bounds and have the sealed object type as
    /// its address. The result loses Global unless the authority has it.
    pub fn unseal(self, authority: &Self) -> Result<Self, CapFault> {
        if !self.tag {
            return Err(CapFault::TagViolation);
        }
        if !self.sealed {
            return Err(CapFault::NotSealed);
        }
        authority.check_access(authority.address(), 1, Perms::UNSEAL, 1)?;
        let ot = F::otype(self.pesbt);
        if u64::from(ot) != authority.cursor {
            return Err(CapFault::OtypeMismatch {
                sealed: ot,
                authority: authority.cursor,
            });
        }
        let mut perms = self.perms;
        if !authority.perms().has(Perm::Global) {
            perms &= !F::perm_bits(Perm::Global);
        }
        let pesbt = F::with_perms(F::with_otype(self.pesbt, F::OTYPE_UNSEALED), perms);
        Ok(Self::from_parts(pesbt, self.cursor, true))
    }

    /// CTestSubset: same tag, bounds within `other`'s, permissions a subset.
    pub fn is_subset_of(&self, other: &Self) -> bool {
        self.tag == other.tag
            && self.base_top().0 >= other.base_top().0
            && self.base_top().1 <= other.base_top().1
            && self.perms & other.perms == self.perms
    }

    /// Derives in one step what `set_address(base)`, `set_bounds_exact(len)`
    /// and `and_perms(keep)` derive in three: a capability for exactly
    /// `[base, base + len)` with this one's permissions narrowed to `keep`.
    /// The allocator's and the moving collector's path (I1, I5, I8): one
    /// SetBounds instead of three re-decodes. Faults as the three would.
    #[inline(always)]
    pub fn derive_exact(&self, base: Address, len: u64, keep: Perms) -> Result<Self, CapFault> {
        self.derive_exact_word(base, len, keep.to_word::<F>())
    }

    /// The metadata word [`Capability::derive_exact_word`] would give (its
    /// address is `base`), without building the capability: the moving
    /// collector's re-derivation (I8), which writes the bits straight back.
    #[inline]
    pub(crate) fn derive_exact_pesbt(
        &self,
        base: Address,
        len: u64,
        keep: u32,
    ) -> Result<u64, CapFault> {
        self.exact_bounds_for(base, len, keep)
            .map(|(pesbt, _, _)| pesbt)
    }

    /// [`Capability::derive_exact`] with the permissions to keep given as
    /// the format's permission word (the collector keeps an old
    /// reference's word as it is).
    #[inline(always)]
    pub(crate) fn derive_exact_word(
        &self,
        base: Address,
        len: u64,
        keep: u32,
    ) -> Result<Self, CapFault> {
        let (pesbt, nbase, top) = self.exact_bounds_for(base, len, keep)?;
        debug_assert!({
            let d = Self::from_parts(pesbt, base.0, true);
            (d.base, d.top) == (nbase, top)
        });
        Ok(Capability {
            cursor: base.0,
            pesbt,
            base: nbase,
            top,
            perms: F::perms(pesbt),
            tag: true,
            sealed: false,
            decoded: true,
            _format: PhantomData,
        })
    }

    /// The one derivation behind `derive_exact*`: the new metadata word
    /// (bounds exactly `[base, base + len)`, permissions this one's
    /// narrowed to `keep`: I1, I5) and its decoded base and top.
    #[inline(always)]
    fn exact_bounds_for(
        &self,
        base: Address,
        len: u64,
        keep: u32,
    ) -> Result<(u64, u64, u128), CapFault> {
        self.require_usable()?;
        if !self.in_bounds(base, len) {
            return Err(CapFault::BoundsViolation {
                addr: base,
                size: len,
                base: self.base(),
                top: self.top(),
            });
        }
        let perms = self.perms & keep;
        // Fast path: exactly representable, so the new bounds are the
        // request itself and need no decoding.
        if let Some(p) = F::exact_bounds(self.pesbt, base.0, len) {
            return Ok((
                F::with_perms(p, perms),
                base.0,
                u128::from(base.0) + u128::from(len),
            ));
        }
        // An address inside the bounds is always representable, so the
        // address move cannot lose the tag.
        let r = F::set_bounds(self.pesbt, base.0, true, u128::from(len));
        if !r.tag {
            return Err(CapFault::Unrepresentable { addr: base });
        }
        if !r.exact {
            return Err(CapFault::Inexact {
                base,
                len: u128::from(len),
            });
        }
        Ok((F::with_perms(r.pesbt, perms), r.base, r.top))
    }

    /// The capability for all of memory narrowed to `[base, base + len)`;
    /// used by a region to mint its authority.
    pub(crate) fn authority_for(base: Address, len: u64) -> Result<Self, CapFault> {
        Self::root().try_set_address(base)?.set_bounds_exact(len)
    }

    /// The sealing root: bounds `[0, 2^OTYPE_BITS)` over the object-type
    /// space, with only Seal, Unseal and Global — no memory access at all.
    /// A heap mints it once and narrows it to one object type per
    /// compartment; a format without software sealing (`128r`) yields a
    /// capability that cannot seal. Crate-private: minted only through
    /// [`crate::mode::collector::mint_sealing_root`].
    pub(crate) fn sealing_root() -> Self {
        let word = (Perms::SEAL | Perms::UNSEAL | Perms::GLOBAL).to_word::<F>();
        let span = 1u64 << F::OTYPE_BITS;
        let r = F::set_bounds(F::ROOT_PESBT, 0, true, u128::from(span));
        Self::from_parts(F::with_perms(r.pesbt, word), 0, r.tag)
    }

    /// True when `[base, top)` is the whole address space.
    pub fn is_unbounded(&self) -> bool {
        self.base_top() == (0, TOP_MAX)
    }
}

impl<F: Format> fmt::Debug for Capability<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Cap<{}>{{{} {:#x} [{:#x},{:#x}) perms={:?}",
            F::NAME,
            if self.tag { "v" } else { "untagged" },
            self.cursor,
            self.base_top().0,
            self.base_top().1,
            self.perms(),
        )?;
        if self.sealed {
            write!(f, " sealed otype={:#x}", self.otype())?;
        }
        write!(f, "}}")
    }
}

impl<F: Format> Default for Capability<F> {
    fn default() -> Self {
        Self::null()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::{CheriV9, Morello, RiscvStd};

    /// Every question a capability answers, for comparing two.
    fn answers<F: Format>(c: &Capability<F>, x: u64) -> String {
        let addr = Address(c.address().0.wrapping_add(x % 80).wrapping_sub(16));
        let mut out = format!(
            "{c:?} {:?} {:?} {} {} {} {} {} {}",
            c.base(),
            c.address(),
            c.top(),
            c.length(),
            c.offset(),
            c.perm_word(),
            c.is_unbounded(),
            c.store_needs() == Perms::STORE,
        );
        for need in [
            Perms::NONE,
            Perms::LOAD,
            Perms::LOAD | Perms::LOAD_CAP,
            Perms::STORE | Perms::STORE_CAP | Perms::STORE_LOCAL_CAP,
        ] {
            out += &format!(
                " {:?} {} {}",
                c.check_access(addr, 16, need, 16),
                c.grants(need),
                c.in_bounds(addr, x % 40)
            );
        }
        let narrowed = c
            .and_perms(Perms::LOAD)
            .map(|n| (n.to_bits(), n.base(), n.top()));
        let bounded = c
            .set_bounds(x % 5000)
            .map(|n| (n.to_bits(), n.base(), n.top()));
        let exact = c
            .derive_exact(c.address(), x % 300, Perms::OBJECT)
            .map(|n| (n.to_bits(), n.base(), n.top()));
        let root = Capability::<F>::root();
        out + &format!(
            " {narrowed:?} {bounded:?} {exact:?} {} {}",
            c.is_subset_of(&root),
            root.is_subset_of(c)
        )
    }

    /// A value whose bounds are decoded lazily answers everything as the
    /// value decoded at once: random bits, and exact object references
    /// derived from an authority (what a heap slot holds).
    fn lazy_answers_as_decoded<F: Format>() {
        let auth = Capability::<F>::authority_for(Address(1 << 32), 1 << 30).unwrap();
        let mut x = 0x243f_6a88_85a3_08d3u64;
        for i in 0..20_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let bits = if i % 2 == 0 {
                u128::from(x) << 64 | u128::from(x.rotate_left(23))
            } else {
                let base = (1 << 32) + (x % (1 << 29)) / 16 * 16;
                let len = (x >> 40) % (1 << (i % 20));
                match auth.derive_exact(Address(base), len, Perms::OBJECT) {
                    Ok(c) => c.to_u128(),
                    Err(_) => continue,
                }
            };
            for tag in [false, true] {
                let eager = Capability::<F>::from_bits(bits, tag);
                let lazy = Capability::<F>::from_bits_lazy(bits, tag);
                assert!(eager == lazy);
                assert_eq!(answers(&eager, x), answers(&lazy, x), "{bits:#x}");
                assert_eq!(answers(&eager.cleared(), x), answers(&lazy.cleared(), x));
                // The constant-folded store test is the general one.
                let local = auth
                    .and_perms(Perms::OBJECT.without(Perms::GLOBAL))
                    .unwrap();
                for value in [eager, auth, auth.cleared(), local] {
                    for holder in [eager, lazy, auth, local] {
                        assert_eq!(
                            holder.grants_store_of(&value),
                            holder.grants(value.store_needs())
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn lazy_decoding_answers_as_eager_morello() {
        lazy_answers_as_decoded::<Morello>();
    }

    #[test]
    fn lazy_decoding_answers_as_eager_v9() {
        lazy_answers_as_decoded::<CheriV9>();
    }

    #[test]
    fn lazy_decoding_answers_as_eager_riscv_std() {
        lazy_answers_as_decoded::<RiscvStd>();
    }
}
