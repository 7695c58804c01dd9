//! [`TaggedRegion`]: mmap'd memory with one out-of-band bit per 16-byte
//! granule — the software model of CHERI tagged memory.
//!
//! Every dereference of the mapping is in `raw.rs` (the crate's
//! one raw-memory module); this module builds the checked, safe
//! operations on it. The reference modes' unchecked slot accessors are
//! `unsafe fn`s of the collector half ([`crate::mode::Collector`]) that
//! forward to the raw primitives.
//!
//! Layout: one anonymous mapping holds `[guard][data][guard]` (plus slack
//! for alignment, all `PROT_NONE` except the data), so a wild access that
//! escapes a bug faults at once instead of touching a neighbour. The
//! bitmap is a second anonymous mapping (zero-filled lazily by the
//! kernel), 1 bit per granule: 1/128 of the data size.
//!
//! A region is one of two kinds ([`TagUse`]), fixed when it is mapped:
//! - **capability memory** (`TaggedRegion::new`, `for_format`): the bits
//!   are CHERI tags. A tag is set only by storing a tagged capability; a
//!   data store of any width clears the tag of every granule it touches
//!   (I6); a capability load returns the tag only when its authority has
//!   LoadCap; a copy moves tags with their granules. No operation sets a
//!   tag over data.
//! - **plain memory** (`TaggedRegion::plain`): what the unchecked
//!   reference modes run on. Nothing in it is ever read as a capability
//!   tag: its bits are markers ("this root slot holds a reference") set
//!   and cleared only by [`TaggedRegion::set_marker`], and data stores
//!   leave them alone (which is what makes an unchecked store a plain
//!   store).
//!
//! So the tag policy of a reference mode is the kind of region it maps
//! ([`crate::RefMode::new_region`]); a collector writes headers, zeroes
//! and copies through the same calls in every mode.
//!
//! Checked operations return a [`CapFault`]; they never panic and never
//! touch memory outside the region.

mod raw;

pub use raw::ZeroedArray;

use crate::format::Format;
use crate::{Address, CapFault, Capability, Perm, Perms};
use raw::{page_size, Mapping};

/// Bytes per tag granule (one capability).
pub const GRANULE: u64 = 16;

/// The largest region (and alignment) this crate maps: 64 TiB.
pub const MAX_REGION: u64 = 1 << 46;

/// Why a region could not be created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionError {
    /// The requested length is zero or too large for this machine.
    BadLength(u64),
    /// The requested alignment is not a power of two.
    BadAlignment(u64),
    /// `mmap` or `mprotect` failed with this `errno`.
    Map(i32),
}

impl core::fmt::Display for RegionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RegionError::BadLength(l) => write!(f, "cannot map a region of {l} bytes"),
            RegionError::BadAlignment(a) => write!(f, "alignment {a:#x} is not a power of two"),
            RegionError::Map(e) => write!(f, "mmap failed: errno {e}"),
        }
    }
}

impl std::error::Error for RegionError {}

/// Plain data that can be loaded and stored: every bit pattern is a valid
/// value, and the type has no padding. Sealed.
pub trait Scalar: Copy + Default + PartialEq + core::fmt::Debug + sealed::Sealed + 'static {
    /// Size in bytes.
    const SIZE: u64 = core::mem::size_of::<Self>() as u64;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! scalar {
    ($($t:ty),*) => {$(
        impl sealed::Sealed for $t {}
        impl Scalar for $t {}
    )*};
}
scalar!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

/// What a region's per-granule bits mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagUse {
    /// CHERI capability tags.
    Capabilities,
    /// Markers of the unchecked modes; never capability tags.
    Markers,
}

/// A region of tagged memory: real mapped memory plus its bitmap.
///
/// A region is owned by one heap (or test). Owning it grants the owner
/// reads and writes of its bytes ([`TaggedRegion::read`],
/// [`TaggedRegion::write`], …) but never a tagged capability: those come
/// only from the collector half of a reference mode
/// ([`crate::mode::Collector::authority`], an `unsafe fn`) and from
/// loading tagged memory.
pub struct TaggedRegion {
    _data: Mapping,
    tags: Mapping,
    base: u64,
    len: u64,
    /// Capability memory (the bits are tags) rather than plain memory.
    caps: bool,
}

// SAFETY: the region owns its mappings exclusively; shared access (&self)
// only reads, mutation needs &mut self, so it is as thread-safe as a Vec<u8>.
unsafe impl Send for TaggedRegion {}
// SAFETY: see Send: &self methods never write.
unsafe impl Sync for TaggedRegion {}

impl core::fmt::Debug for TaggedRegion {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "TaggedRegion[{:#x}, {:#x}) {:?}",
            self.base,
            self.base + self.len,
            self.kind()
        )
    }
}

/// The addresses of a retired region ([`TaggedRegion::retire`]): no
/// memory, no access, and no other mapping there until it is dropped.
pub struct Reservation {
    _map: Mapping,
    base: u64,
    len: u64,
}

// SAFETY: a reservation owns its (inaccessible) mapping exclusively and
// never touches its pages: it only unmaps them when dropped.
unsafe impl Send for Reservation {}
// SAFETY: as Send: &self methods read two integers.
unsafe impl Sync for Reservation {}

impl core::fmt::Debug for Reservation {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Reservation[{:#x}, {:#x})",
            self.base,
            self.base + self.len
        )
    }
}

impl Reservation {
    /// First reserved byte of the former region.
    pub fn base(&self) -> Address {
        Address(self.base)
    }

    /// One past the former region's last byte.
    pub fn end(&self) -> Address {
        Address(self.base + self.len)
    }
}

impl TaggedRegion {
    /// Unmaps the region's memory (data and tags go back to the OS; every
    /// access to it faults) but keeps its addresses reserved until the
    /// returned [`Reservation`] is dropped, so that nothing mapped later
    /// can alias it: what a torn-down compartment leaves behind, so that a
    /// stale reference to it resolves to "destroyed", never to whatever
    /// the OS would map there next.
    pub fn retire(mut self) -> Result<Reservation, RegionError> {
        self._data.retire().map_err(RegionError::Map)?;
        let (base, len) = (self.base, self.len);
        Ok(Reservation {
            _map: self._data,
            base,
            len,
        })
    }

    /// Maps `len` bytes (rounded up to whole pages) of capability memory,
    /// page-aligned, with a guard page on each side.
    pub fn new(len: u64) -> Result<TaggedRegion, RegionError> {
        Self::map(len, 1, true)
    }

    /// Maps `len` bytes (rounded up to whole pages) of plain memory: the
    /// memory of the unchecked reference modes, whose bits are markers.
    pub fn plain(len: u64) -> Result<TaggedRegion, RegionError> {
        Self::map(len, 1, false)
    }

    /// Maps capability memory whose base is aligned to `align` bytes and
    /// whose length is exactly representable in format `F`: what an exact
    /// authority capability over the whole region needs (CRRL/CRAM).
    pub fn for_format<F: Format>(len: u64) -> Result<TaggedRegion, RegionError> {
        let page = page_size();
        let len = len
            .checked_add(page - 1)
            .ok_or(RegionError::BadLength(len))?
            & !(page - 1);
        let rlen = F::crrl(len);
        if rlen == 0 || rlen < len {
            return Err(RegionError::BadLength(len));
        }
        let align = (!F::cram(len)).wrapping_add(1).max(1);
        Self::map(rlen, align, true)
    }

    /// Maps `len` bytes (rounded up to pages) of capability memory at an
    /// address aligned to `align` (a power of two; at least a page).
    pub fn with_alignment(len: u64, align: u64) -> Result<TaggedRegion, RegionError> {
        Self::map(len, align, true)
    }

    fn map(len: u64, align: u64, caps: bool) -> Result<TaggedRegion, RegionError> {
        if !align.is_power_of_two() {
            return Err(RegionError::BadAlignment(align));
        }
        let page = page_size();
        let align = align.max(page);
        if len == 0 || len > MAX_REGION || align > MAX_REGION {
            return Err(RegionError::BadLength(len));
        }
        let len = (len + page - 1) & !(page - 1);
        let total = len + align + 2 * page;
        let total_us = usize::try_from(total).map_err(|_| RegionError::BadLength(len))?;
        let mut data = Mapping::new(total_us, libc::PROT_NONE).map_err(RegionError::Map)?;
        let start = (data.start() + page + align - 1) & !(align - 1);
        data.open(start, len).map_err(RegionError::Map)?;
        let words = (len / GRANULE).div_ceil(64);
        let tags = Mapping::new(
            (words * 8).max(1) as usize,
            libc::PROT_READ | libc::PROT_WRITE,
        )
        .map_err(RegionError::Map)?;
        Ok(TaggedRegion {
            _data: data,
            tags,
            base: start,
            len,
            caps,
        })
    }

    /// What the region's bits mean.
    pub fn kind(&self) -> TagUse {
        if self.caps {
            TagUse::Capabilities
        } else {
            TagUse::Markers
        }
    }

    /// First byte of the region.
    #[inline(always)]
    pub fn base(&self) -> Address {
        Address(self.base)
    }

    /// Length in bytes.
    #[inline(always)]
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Never true: a region has at least one page.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// One past the last byte.
    #[inline(always)]
    pub fn end(&self) -> Address {
        Address(self.base + self.len)
    }

    /// True when `[addr, addr + size)` lies inside the region.
    #[inline(always)]
    pub fn contains(&self, addr: Address, size: u64) -> bool {
        addr.0 >= self.base
            && (addr.0 - self.base)
                .checked_add(size)
                .is_some_and(|e| e <= self.len)
    }

    #[inline(always)]
    pub(crate) fn require(&self, addr: Address, size: u64) -> Result<(), CapFault> {
        if self.contains(addr, size) {
            Ok(())
        } else {
            Err(CapFault::OutsideRegion { addr, size })
        }
    }

    // ---- tags and markers --------------------------------------------------

    /// The bit of the granule holding `addr`: its tag in capability
    /// memory, its marker in plain memory (false outside the region).
    #[inline(always)]
    pub fn is_tagged(&self, addr: Address) -> bool {
        // SAFETY: granule_of and bit are called only for an address inside
        // the region (checked first).
        self.contains(addr, 1) && unsafe { self.bit(self.granule_of(addr)) }
    }

    /// Sets or clears the marker of the granule holding `addr` in plain
    /// memory (an unchecked mode's "this root slot holds a reference").
    /// Refused in capability memory, where only a capability store sets a
    /// tag.
    pub fn set_marker(&mut self, addr: Address, on: bool) -> Result<(), CapFault> {
        self.require(addr, 1)?;
        if self.caps {
            return Err(CapFault::MarkerInCapabilityMemory { addr });
        }
        // SAFETY: addr is in the region (checked), and this is plain
        // memory, whose bits are never read as tags.
        unsafe { self.put_bit(self.granule_of(addr), on) };
        Ok(())
    }

    /// Clears the bit of every granule that `[addr, addr + size)` touches
    /// (I6). Out-of-region parts are ignored.
    #[inline]
    pub fn clear_tags(&mut self, addr: Address, size: u64) {
        if size == 0 {
            return;
        }
        let lo = addr.0.max(self.base);
        let hi = addr.0.saturating_add(size).min(self.base + self.len);
        if lo >= hi {
            return;
        }
        let (g0, g1) = ((lo - self.base) / GRANULE, (hi - 1 - self.base) / GRANULE);
        // SAFETY: lo..hi is clamped to the region, so g0 <= g1 < granules.
        unsafe { self.clear_bits(g0, g1) };
    }

    /// Clears the tags of the granules a data write of `size` bytes at
    /// `addr` touches, in capability memory (I6); plain memory keeps its
    /// markers. `[addr, addr + size)` is in the region, `size` ≥ 1.
    #[inline(always)]
    fn data_written(&mut self, addr: Address, size: u64) {
        if !self.caps {
            return;
        }
        if size <= GRANULE {
            // SAFETY: the write's first and last bytes are in the region.
            unsafe {
                let (g0, g1) = (self.granule_of(addr), self.granule_of(addr.add(size - 1)));
                self.put_bit(g0, false);
                if g1 != g0 {
                    self.put_bit(g1, false);
                }
            }
        } else {
            self.clear_tags(addr, size);
        }
    }

    /// Number of set bits in `[addr, addr + size)`.
    pub fn count_tags(&self, addr: Address, size: u64) -> u64 {
        self.tagged_granules(addr, size).count() as u64
    }

    /// The addresses of granules with their bit set in `[addr, addr +
    /// size)`, ascending, found a bitmap word (64 granules) at a time.
    #[inline]
    pub fn tagged_granules(&self, addr: Address, size: u64) -> TagScan<'_> {
        let empty = TagScan {
            region: self,
            word: 0,
            bits: 0,
            last_word: 0,
            g_end: 0,
        };
        let lo = addr.0.max(self.base);
        let hi = addr.0.saturating_add(size).min(self.base + self.len);
        if lo >= hi {
            return empty;
        }
        let g0 = (lo - self.base).div_ceil(GRANULE);
        let g_end = (hi - self.base).div_ceil(GRANULE);
        if g0 >= g_end {
            return empty;
        }
        let word = g0 / 64;
        // SAFETY: word is a bitmap word because g0 < granules.
        let bits = unsafe { self.bit_word(word) } & (u64::MAX << (g0 % 64));
        TagScan {
            region: self,
            word,
            bits,
            last_word: (g_end - 1) / 64,
            g_end,
        }
    }

    // ---- checked capability access ----------------------------------------

    /// Loads the capability at `addr` (16-byte aligned), authorised by
    /// `auth` (tagged, unsealed, Load, in bounds). The tag comes from tagged
    /// memory, cleared unless `auth` has LoadCap (and always clear in plain
    /// memory).
    pub fn load_cap<F: Format>(
        &self,
        auth: &Capability<F>,
        addr: Address,
    ) -> Result<Capability<F>, CapFault> {
        auth.check_access(addr, GRANULE, Perms::LOAD, GRANULE)?;
        self.require(addr, GRANULE)?;
        // SAFETY: in region and aligned, checked just above.
        let (bits, tag) = unsafe { self.read_granule(addr) };
        let tag = tag && auth.perm_word() & F::perm_bits(Perm::LoadCap) != 0;
        Ok(Capability::from_bits(bits, tag))
    }

    /// Stores `value` at `addr` (16-byte aligned) with its tag, authorised
    /// by `auth`: Store, plus StoreCap when `value` is tagged, plus
    /// StoreLocalCap when `value` is tagged and not Global. In plain
    /// memory the bits are stored untagged.
    pub fn store_cap<F: Format>(
        &mut self,
        auth: &Capability<F>,
        addr: Address,
        value: &Capability<F>,
    ) -> Result<(), CapFault> {
        auth.check_access(addr, GRANULE, value.store_needs(), GRANULE)?;
        self.require(addr, GRANULE)?;
        // SAFETY: in region and aligned, checked just above; the tag is the
        // value's own.
        unsafe { self.write_granule(addr, value.to_u128(), value.tag()) };
        Ok(())
    }

    /// The authority capability over exactly this region, every
    /// permission. Fails in plain memory, and if the region's bounds are
    /// not exactly representable in `F` (map it with
    /// [`TaggedRegion::for_format`]).
    ///
    /// # Safety
    /// As [`crate::mode::Collector::authority`]: only the collector that
    /// owns the region may mint it, keep it to itself, and must drop it
    /// (and every capability derived from it but the exact object
    /// references it hands out) no later than the region.
    pub unsafe fn mint_authority<F: Format>(&self) -> Result<Capability<F>, CapFault> {
        if !self.caps {
            return Err(CapFault::TagViolation);
        }
        Capability::authority_for(self.base(), self.len)
    }

    /// The capability at `addr` with its tag, without an authority: the
    /// owner's load of a slot it keeps capabilities in (a root region).
    pub(crate) fn get_cap<F: Format>(&self, addr: Address) -> Result<Capability<F>, CapFault> {
        self.require(addr, GRANULE)?;
        if !addr.is_aligned(GRANULE) {
            return Err(CapFault::AlignmentViolation {
                addr,
                align: GRANULE,
            });
        }
        // SAFETY: in region and aligned, checked just above.
        let (bits, tag) = unsafe { self.read_granule(addr) };
        Ok(Capability::from_bits(bits, tag))
    }

    /// Stores `value` with its tag at `addr`, without an authority: the
    /// owner's store into a slot it keeps capabilities in (a root region).
    /// In plain memory the bits are stored untagged.
    pub(crate) fn put_cap<F: Format>(
        &mut self,
        addr: Address,
        value: &Capability<F>,
    ) -> Result<(), CapFault> {
        self.require(addr, GRANULE)?;
        if !addr.is_aligned(GRANULE) {
            return Err(CapFault::AlignmentViolation {
                addr,
                align: GRANULE,
            });
        }
        // SAFETY: in region and aligned, checked just above; the tag is the
        // value's own.
        unsafe { self.write_granule(addr, value.to_u128(), value.tag()) };
        Ok(())
    }

    // ---- checked data access ----------------------------------------------

    /// Loads a scalar at `addr` (any alignment), authorised by `auth`.
    #[inline]
    pub fn load<T: Scalar, F: Format>(
        &self,
        auth: &Capability<F>,
        addr: Address,
    ) -> Result<T, CapFault> {
        auth.check_access(addr, T::SIZE, Perms::LOAD, 1)?;
        self.read(addr)
    }

    /// Stores a scalar at `addr`, clearing the tags it overwrites (I6).
    #[inline]
    pub fn store<T: Scalar, F: Format>(
        &mut self,
        auth: &Capability<F>,
        addr: Address,
        value: T,
    ) -> Result<(), CapFault> {
        auth.check_access(addr, T::SIZE, Perms::STORE, 1)?;
        self.write(addr, value)
    }

    /// Copies `out.len()` bytes from `addr` into `out`, authorised by
    /// `auth`.
    pub fn load_bytes<F: Format>(
        &self,
        auth: &Capability<F>,
        addr: Address,
        out: &mut [u8],
    ) -> Result<(), CapFault> {
        auth.check_access(addr, out.len() as u64, Perms::LOAD, 1)?;
        self.read_bytes(addr, out)
    }

    /// Copies `data` to `addr`, authorised by `auth`, clearing the tags it
    /// overwrites (I6).
    pub fn store_bytes<F: Format>(
        &mut self,
        auth: &Capability<F>,
        addr: Address,
        data: &[u8],
    ) -> Result<(), CapFault> {
        auth.check_access(addr, data.len() as u64, Perms::STORE, 1)?;
        self.write_bytes(addr, data)
    }

    // ---- the owner's access: region-checked, no capability -----------------

    /// Reads a scalar if `[addr, addr + size)` is in the region: the
    /// owner's read (a header, a slot's bits). Never yields a tag.
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: Address) -> Result<T, CapFault> {
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above.
        Ok(unsafe { self.read_raw(addr) })
    }

    /// Reads a scalar with no region check: the owner's read on a hot path
    /// that checked the range itself (a collector checking an object's
    /// header and one of its slots with one containment test). Never
    /// yields a tag.
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region.
    #[inline(always)]
    pub unsafe fn read_unchecked<T: Scalar>(&self, addr: Address) -> T {
        // SAFETY: the caller's contract is read_raw's.
        unsafe { self.read_raw(addr) }
    }

    /// Writes a scalar with no region check and without touching the
    /// tags: the owner's write into memory it knows holds none (a fresh
    /// cell's header).
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region and, in
    /// capability memory, no granule it touches may be tagged: data left
    /// under a set tag is a forgery.
    #[inline(always)]
    pub unsafe fn write_unchecked<T: Scalar>(&mut self, addr: Address, value: T) {
        debug_assert!(self.count_tags(addr, T::SIZE) == 0 || !self.caps);
        // SAFETY: the caller's contract is write_untracked's.
        unsafe { self.write_untracked(addr, value) }
    }

    /// Writes a scalar if it fits in the region, clearing the tags it
    /// overwrites in capability memory (I6).
    #[inline(always)]
    pub fn write<T: Scalar>(&mut self, addr: Address, value: T) -> Result<(), CapFault> {
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above; the tags it covers are
        // cleared next.
        unsafe { self.write_untracked(addr, value) };
        self.data_written(addr, T::SIZE);
        Ok(())
    }

    /// Copies `out.len()` bytes from `addr` if they are in the region.
    #[inline]
    pub fn read_bytes(&self, addr: Address, out: &mut [u8]) -> Result<(), CapFault> {
        self.require(addr, out.len() as u64)?;
        // SAFETY: in region, checked just above.
        unsafe { self.read_bytes_raw(addr, out) };
        Ok(())
    }

    /// Copies `data` to `addr` if it fits in the region, clearing the tags
    /// it overwrites in capability memory (I6).
    #[inline]
    pub fn write_bytes(&mut self, addr: Address, data: &[u8]) -> Result<(), CapFault> {
        let n = data.len() as u64;
        self.require(addr, n)?;
        // SAFETY: in region, checked just above; tags cleared next.
        unsafe { self.write_bytes_untracked(addr, data) };
        if n > 0 {
            self.data_written(addr, n);
        }
        Ok(())
    }

    /// Zeroes `[addr, addr + size)` and clears its tags (sweeping, I4);
    /// plain memory keeps its markers.
    #[inline]
    pub fn zero(&mut self, addr: Address, size: u64) -> Result<(), CapFault> {
        self.require(addr, size)?;
        // SAFETY: in region, checked just above.
        unsafe { self.fill_zero(addr, size) };
        if size > 0 {
            self.data_written(addr, size);
        }
        Ok(())
    }

    /// Zeroes `[addr, addr + size)` by returning its whole pages to the
    /// kernel (their memory is released until written again) and clears
    /// its tags: what a heap does with a large free range.
    pub fn decommit(&mut self, addr: Address, size: u64) -> Result<(), CapFault> {
        self.require(addr, size)?;
        // SAFETY: in region, checked just above; &mut self is exclusive.
        unsafe { self.discard_pages(addr, size) };
        if size > 0 {
            self.data_written(addr, size);
        }
        Ok(())
    }

    /// Copies `size` bytes from `src` to `dst` (disjoint), as a copying
    /// collector does. In capability memory the tags travel with their
    /// granules, so both addresses and `size` must be multiples of 16 (a
    /// tag never lands on bytes it did not cover); in plain memory it is a
    /// byte copy at any alignment.
    #[inline]
    pub fn copy(&mut self, src: Address, dst: Address, size: u64) -> Result<(), CapFault> {
        self.require(src, size)?;
        self.require(dst, size)?;
        if src.0 < dst.0 + size && dst.0 < src.0 + size {
            return Err(CapFault::OutsideRegion { addr: dst, size });
        }
        if self.caps {
            return self.copy_with_tags(src, dst, size);
        }
        // SAFETY: both ranges are in the region and disjoint (checked).
        unsafe { self.copy_bytes(src, dst, size) };
        Ok(())
    }

    /// [`TaggedRegion::copy`] with no checks: a collector copying an
    /// object it has found, into a cell it has carved out. Small copies
    /// (an object of a few words, the common case) are word moves inline,
    /// not a `memcpy` call; in capability memory the tags follow the bytes.
    ///
    /// # Safety
    /// Both ranges must lie inside the region and be disjoint; `src` and
    /// `dst` must be multiples of 8, and in capability memory of
    /// [`GRANULE`] (the tags of whole granules move; a partial last
    /// granule can hold no capability of the object).
    #[inline(always)]
    pub unsafe fn copy_unchecked(&mut self, src: Address, dst: Address, size: u64) {
        debug_assert!(self.contains(src, size) && self.contains(dst, size));
        debug_assert!((src.0 | dst.0) % 8 == 0);
        if size <= 64 && size % 8 == 0 {
            let mut at = 0;
            while at < size {
                // SAFETY: both words lie in the ranges (size is a multiple
                // of 8), which the caller guarantees are in the region.
                unsafe {
                    let w = self.read_raw::<u64>(Address(src.0 + at));
                    self.write_untracked::<u64>(Address(dst.0 + at), w);
                }
                at += 8;
            }
        } else {
            // SAFETY: the caller's contract.
            unsafe { self.copy_bytes(src, dst, size) };
        }
        if self.caps && size >= GRANULE {
            // SAFETY: the caller's contract (granule-aligned in capability
            // memory).
            unsafe { self.copy_tag_bits(src, dst, size) };
        }
    }

    /// Moves the tags of `[src, src + size)` onto `[dst, dst + size)`.
    ///
    /// # Safety
    /// Both ranges lie in the region, granule-aligned.
    #[inline(never)]
    unsafe fn copy_tag_bits(&mut self, src: Address, dst: Address, size: u64) {
        // SAFETY: both ranges are in the region, granule-aligned (the
        // caller's contract).
        let (gs, gd) = unsafe { (self.granule_of(src), self.granule_of(dst)) };
        let n = size / GRANULE;
        let mut k = 0;
        while k < n {
            let c = (n - k).min(64) as u32;
            // SAFETY: granules [gs + k, gs + k + c) and [gd + k, gd + k + c)
            // lie in the region (the caller's contract); the bits moved
            // are the tags of the granules whose bytes were just copied.
            unsafe {
                let bits = self.bits(gs + k, c);
                self.put_bits(gd + k, c, bits);
            }
            k += u64::from(c);
        }
    }

    /// [`TaggedRegion::copy`] in capability memory: the bytes, then the
    /// tags of the granules they fill. Both ranges are in the region and
    /// disjoint.
    #[inline(never)]
    fn copy_with_tags(&mut self, src: Address, dst: Address, size: u64) -> Result<(), CapFault> {
        for a in [src, dst, Address(size)] {
            if !a.is_aligned(GRANULE) {
                return Err(CapFault::AlignmentViolation {
                    addr: a,
                    align: GRANULE,
                });
            }
        }
        // SAFETY: both ranges are in the region and disjoint (the caller
        // checked).
        unsafe { self.copy_bytes(src, dst, size) };
        if size > 0 {
            // SAFETY: both ranges are in the region and granule-aligned
            // (checked above and by the caller).
            unsafe { self.copy_tag_bits(src, dst, size) };
        }
        Ok(())
    }
}

/// Iterator over the granules with their bit set; see
/// [`TaggedRegion::tagged_granules`].
pub struct TagScan<'a> {
    region: &'a TaggedRegion,
    word: u64,
    bits: u64,
    last_word: u64,
    g_end: u64,
}

impl Iterator for TagScan<'_> {
    type Item = Address;

    #[inline]
    fn next(&mut self) -> Option<Address> {
        loop {
            if self.bits != 0 {
                let g = self.word * 64 + u64::from(self.bits.trailing_zeros());
                self.bits &= self.bits - 1;
                if g >= self.g_end {
                    self.bits = 0;
                    self.word = self.last_word;
                    return None;
                }
                return Some(Address(self.region.base + g * GRANULE));
            }
            if self.word >= self.last_word {
                return None;
            }
            self.word += 1;
            // SAFETY: word ≤ last_word, a bitmap word.
            self.bits = unsafe { self.region.bit_word(self.word) };
        }
    }
}
