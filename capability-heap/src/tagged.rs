//! [`TaggedRegion`]: mmap'd memory with one out-of-band tag bit per
//! 16-byte granule — the software model of CHERI tagged memory.
//!
//! This module is the crate's only raw-memory path: every `unsafe` block
//! that reads or writes the mapping is here, and everything above it
//! (capabilities, reference modes, the collector) is safe Rust.
//!
//! Layout: one anonymous mapping holds `[guard][data][guard]` (plus slack
//! for alignment, all `PROT_NONE` except the data), so a wild access that
//! escapes a bug faults at once instead of touching a neighbour. The tag
//! bitmap is a second anonymous mapping (zero-filled lazily by the kernel),
//! 1 bit per granule: 1/128 of the data size.
//!
//! Checked operations take the capability that authorises them and return
//! a [`CapFault`]; they never panic and never touch memory outside the
//! region. The `*_raw` functions are `unsafe` and are for the collector's
//! inner loops and the unchecked reference modes, whose callers have
//! already established that the address is inside the region.
//!
//! Tag rules (CHERI, and I6): a capability store writes the value's tag; a
//! data store of any width clears the tag of every granule it touches; a
//! capability load returns the tag only when the authority has LoadCap.

use crate::format::Format;
use crate::{Address, CapFault, Capability, Perm, Perms};
use core::ptr;

/// Bytes per tag granule (one capability).
pub const GRANULE: u64 = 16;

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

fn page_size() -> u64 {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(p)
        .ok()
        .filter(|p| p.is_power_of_two())
        .unwrap_or(4096)
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// One anonymous mapping, unmapped on drop.
struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    fn new(len: usize, prot: i32) -> Result<Mapping, RegionError> {
        // SAFETY: an anonymous private mapping at a kernel-chosen address
        // aliases nothing; the result is checked before use.
        let p = unsafe {
            libc::mmap(
                ptr::null_mut(),
                len,
                prot,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(RegionError::Map(errno()));
        }
        Ok(Mapping { ptr: p.cast(), len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: ptr/len are exactly what mmap returned; nothing borrows
        // the mapping once its owner is dropped.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

/// A region of tagged memory: real mapped memory plus its tag bitmap.
///
/// A region is owned by one heap (or test); whoever owns it may mint the
/// authority capability over it ([`TaggedRegion::authority`]), as an OS
/// hands out capabilities for the memory it maps.
pub struct TaggedRegion {
    _data: Mapping,
    tags_map: Mapping,
    base: u64,
    len: u64,
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
            "TaggedRegion[{:#x}, {:#x})",
            self.base,
            self.base + self.len
        )
    }
}

impl TaggedRegion {
    /// Maps `len` bytes (rounded up to whole pages), page-aligned, with a
    /// guard page on each side.
    pub fn new(len: u64) -> Result<TaggedRegion, RegionError> {
        Self::with_alignment(len, 1)
    }

    /// Maps a region whose base is aligned to `align` bytes and whose
    /// length is exactly representable in format `F`: what an exact
    /// authority capability over the whole region needs (CRRL/CRAM).
    pub fn for_format<F: Format>(len: u64) -> Result<TaggedRegion, RegionError> {
        let page = page_size();
        let len = len
            .checked_add(page - 1)
            .ok_or(RegionError::BadLength(len))?
            & !(page - 1);
        let rlen = F::crrl(len);
        if rlen == 0 {
            return Err(RegionError::BadLength(len));
        }
        let align = (!F::cram(len)).wrapping_add(1).max(1);
        Self::with_alignment(rlen, align)
    }

    /// Maps `len` bytes (rounded up to pages) at an address aligned to
    /// `align` (a power of two; at least a page is used).
    pub fn with_alignment(len: u64, align: u64) -> Result<TaggedRegion, RegionError> {
        if !align.is_power_of_two() {
            return Err(RegionError::BadAlignment(align));
        }
        let page = page_size();
        let align = align.max(page);
        if len == 0 || len > (1 << 46) || align > (1 << 46) {
            return Err(RegionError::BadLength(len));
        }
        let len = (len + page - 1) & !(page - 1);
        let total = len + align + 2 * page;
        let total_us = usize::try_from(total).map_err(|_| RegionError::BadLength(len))?;
        let data = Mapping::new(total_us, libc::PROT_NONE)?;
        let start = (data.ptr as u64 + page + align - 1) & !(align - 1);
        // SAFETY: [start, start+len) lies inside `data` (total leaves a page
        // before and after it), and nothing references it yet.
        let rc = unsafe {
            libc::mprotect(
                start as *mut libc::c_void,
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(RegionError::Map(errno()));
        }
        let words = (len / GRANULE).div_ceil(64);
        let tags_map = Mapping::new(
            (words * 8).max(1) as usize,
            libc::PROT_READ | libc::PROT_WRITE,
        )?;
        Ok(TaggedRegion {
            _data: data,
            tags_map,
            base: start,
            len,
        })
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
    fn require(&self, addr: Address, size: u64) -> Result<(), CapFault> {
        if self.contains(addr, size) {
            Ok(())
        } else {
            Err(CapFault::OutsideRegion { addr, size })
        }
    }

    /// The authority capability over exactly this region, all permissions.
    /// Fails only if the region's bounds are not exactly representable in
    /// `F` (create it with [`TaggedRegion::for_format`]).
    pub fn authority<F: Format>(&self) -> Result<Capability<F>, CapFault> {
        Capability::authority_for(self.base(), self.len)
    }

    // ---- tags -------------------------------------------------------------

    #[inline(always)]
    fn tag_words(&self) -> *mut u64 {
        self.tags_map.ptr.cast()
    }

    #[inline(always)]
    fn granule(&self, addr: Address) -> u64 {
        (addr.0 - self.base) / GRANULE
    }

    /// The tag of the granule holding `addr` (false outside the region).
    #[inline(always)]
    pub fn is_tagged(&self, addr: Address) -> bool {
        if !self.contains(addr, 1) {
            return false;
        }
        let g = self.granule(addr);
        // SAFETY: g < len/16, so g/64 is inside the bitmap mapping.
        let w = unsafe { *self.tag_words().add((g / 64) as usize) };
        w >> (g % 64) & 1 != 0
    }

    #[inline(always)]
    fn set_tag(&mut self, addr: Address, tag: bool) {
        let g = self.granule(addr);
        // SAFETY: callers checked addr is in the region, so the word is in
        // the bitmap; &mut self excludes other access.
        unsafe {
            let w = self.tag_words().add((g / 64) as usize);
            if tag {
                *w |= 1 << (g % 64);
            } else {
                *w &= !(1 << (g % 64));
            }
        }
    }

    /// Sets or clears the tag of the granule holding `addr` without
    /// touching its data: the region owner's primitive, for memory whose
    /// tags mean "this slot holds a reference" (root regions of the
    /// unchecked modes). Whoever owns a region can already mint its
    /// authority, so this grants nothing new; a heap never lends its
    /// region out.
    pub fn set_tag_bit(&mut self, addr: Address, tag: bool) -> Result<(), CapFault> {
        self.require(addr, 1)?;
        self.set_tag(addr, tag);
        Ok(())
    }

    /// Clears the tag of every granule that `[addr, addr + size)` touches
    /// (I6). Out-of-region parts are ignored.
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
        let words = self.tag_words();
        for wi in g0 / 64..=g1 / 64 {
            let lo_bit = if wi == g0 / 64 { g0 % 64 } else { 0 };
            let hi_bit = if wi == g1 / 64 { g1 % 64 } else { 63 };
            let mask = (u64::MAX << lo_bit) & (u64::MAX >> (63 - hi_bit));
            // SAFETY: wi ≤ g1/64 < bitmap words; &mut self is exclusive.
            unsafe { *words.add(wi as usize) &= !mask };
        }
    }

    /// Number of tagged granules in `[addr, addr + size)`.
    pub fn count_tags(&self, addr: Address, size: u64) -> u64 {
        self.tagged_granules(addr, size).count() as u64
    }

    /// The addresses of tagged granules in `[addr, addr + size)`, in
    /// ascending order, found a bitmap word (64 granules) at a time.
    pub fn tagged_granules(&self, addr: Address, size: u64) -> TagScan<'_> {
        let lo = addr.0.max(self.base);
        let hi = addr.0.saturating_add(size).min(self.base + self.len);
        if lo >= hi {
            return TagScan {
                region: self,
                word: 0,
                bits: 0,
                last_word: 0,
                g_end: 0,
            };
        }
        let g0 = (lo - self.base).div_ceil(GRANULE);
        let g_end = (hi - self.base).div_ceil(GRANULE);
        if g0 >= g_end {
            return TagScan {
                region: self,
                word: 0,
                bits: 0,
                last_word: 0,
                g_end: 0,
            };
        }
        let word = g0 / 64;
        // SAFETY: word < bitmap words because g0 < len/16.
        let bits = unsafe { *self.tag_words().add(word as usize) } & (u64::MAX << (g0 % 64));
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
    /// memory, cleared unless `auth` has LoadCap.
    pub fn load_cap<F: Format>(
        &self,
        auth: &Capability<F>,
        addr: Address,
    ) -> Result<Capability<F>, CapFault> {
        auth.check_access(addr, GRANULE, Perms::LOAD, GRANULE)?;
        self.require(addr, GRANULE)?;
        // SAFETY: in region and aligned, checked just above.
        let c = unsafe { self.read_cap_raw::<F>(addr) };
        Ok(if auth.perms().has(Perm::LoadCap) {
            c
        } else {
            c.cleared()
        })
    }

    /// Stores `value` at `addr` (16-byte aligned) with its tag, authorised
    /// by `auth`: Store, plus StoreCap when `value` is tagged, plus
    /// StoreLocalCap when `value` is tagged and not Global.
    pub fn store_cap<F: Format>(
        &mut self,
        auth: &Capability<F>,
        addr: Address,
        value: &Capability<F>,
    ) -> Result<(), CapFault> {
        let mut need = Perms::STORE;
        if value.tag() {
            need = need | Perms::STORE_CAP;
            if !value.perms().has(Perm::Global) {
                need = need | Perms::STORE_LOCAL_CAP;
            }
        }
        auth.check_access(addr, GRANULE, need, GRANULE)?;
        self.require(addr, GRANULE)?;
        // SAFETY: in region and aligned, checked just above.
        unsafe { self.write_cap_raw(addr, value) };
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
        self.require(addr, T::SIZE)?;
        // SAFETY: [addr, addr+size) is in the region, checked just above.
        Ok(unsafe { self.read_raw(addr) })
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
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above.
        unsafe { self.write_raw(addr, value) };
        Ok(())
    }

    /// Copies `out.len()` bytes from `addr` into `out`.
    pub fn read_bytes<F: Format>(
        &self,
        auth: &Capability<F>,
        addr: Address,
        out: &mut [u8],
    ) -> Result<(), CapFault> {
        let n = out.len() as u64;
        auth.check_access(addr, n, Perms::LOAD, 1)?;
        self.require(addr, n)?;
        // SAFETY: in region, checked just above; `out` is a distinct Rust
        // buffer, so the ranges cannot overlap.
        unsafe { self.read_bytes_raw(addr, out) };
        Ok(())
    }

    /// Copies `data` to `addr`, clearing the tags it overwrites (I6).
    pub fn write_bytes<F: Format>(
        &mut self,
        auth: &Capability<F>,
        addr: Address,
        data: &[u8],
    ) -> Result<(), CapFault> {
        let n = data.len() as u64;
        auth.check_access(addr, n, Perms::STORE, 1)?;
        self.require(addr, n)?;
        // SAFETY: in region, checked just above.
        unsafe { self.write_bytes_raw(addr, data) };
        Ok(())
    }

    // ---- region-checked access without a capability ------------------------

    /// Reads a scalar if `[addr, addr + size)` is in the region: the only
    /// check the unchecked reference modes make (it keeps them sound).
    #[inline(always)]
    pub fn read<T: Scalar>(&self, addr: Address) -> Result<T, CapFault> {
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above.
        Ok(unsafe { self.read_raw(addr) })
    }

    /// Writes a scalar if it fits in the region; clears overwritten tags.
    #[inline(always)]
    pub fn write<T: Scalar>(&mut self, addr: Address, value: T) -> Result<(), CapFault> {
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above.
        unsafe { self.write_raw(addr, value) };
        Ok(())
    }

    /// Writes a scalar if it fits in the region and leaves tags alone: the
    /// store of the unchecked reference modes, whose heaps keep no tags.
    #[inline(always)]
    pub fn write_plain<T: Scalar>(&mut self, addr: Address, value: T) -> Result<(), CapFault> {
        self.require(addr, T::SIZE)?;
        // SAFETY: in region, checked just above.
        unsafe { self.write_untracked(addr, value) };
        Ok(())
    }

    /// Zeroes `[addr, addr + size)` and clears its tags (sweeping, I4).
    pub fn zero(&mut self, addr: Address, size: u64) -> Result<(), CapFault> {
        self.require(addr, size)?;
        // SAFETY: in region, checked just above; &mut self is exclusive.
        unsafe { ptr::write_bytes(addr.0 as *mut u8, 0, size as usize) };
        self.clear_tags(addr, size);
        Ok(())
    }

    /// Zeroes `[addr, addr + size)` and leaves the tags alone, like
    /// [`TaggedRegion::write_plain`]: the sweep of the unchecked modes,
    /// whose heaps keep no tags.
    #[inline]
    pub fn zero_plain(&mut self, addr: Address, size: u64) -> Result<(), CapFault> {
        self.require(addr, size)?;
        // SAFETY: in region, checked just above; &mut self is exclusive.
        unsafe { ptr::write_bytes(addr.0 as *mut u8, 0, size as usize) };
        Ok(())
    }

    /// Copies `size` bytes with their tags from `src` to `dst` (both
    /// 16-byte aligned, may not overlap): what a copying collector does.
    pub fn copy_with_tags(
        &mut self,
        src: Address,
        dst: Address,
        size: u64,
    ) -> Result<(), CapFault> {
        self.require(src, size)?;
        self.require(dst, size)?;
        if !src.is_aligned(GRANULE) || !dst.is_aligned(GRANULE) {
            return Err(CapFault::AlignmentViolation {
                addr: if src.is_aligned(GRANULE) { dst } else { src },
                align: GRANULE,
            });
        }
        if src.0 < dst.0 + size && dst.0 < src.0 + size {
            return Err(CapFault::OutsideRegion { addr: dst, size });
        }
        // SAFETY: both ranges are in the region and disjoint (checked).
        unsafe { ptr::copy_nonoverlapping(src.0 as *const u8, dst.0 as *mut u8, size as usize) };
        // Tags: the source's bits moved over the destination's, up to 64
        // granules at a time.
        let (gs, gd, n) = (self.granule(src), self.granule(dst), size.div_ceil(GRANULE));
        let mut k = 0;
        while k < n {
            let c = (n - k).min(64) as u32;
            // SAFETY: granules [gs + k, gs + k + c) and [gd + k, gd + k + c)
            // lie in the region (both ranges checked above).
            unsafe {
                let bits = self.tag_bits(gs + k, c);
                self.put_tag_bits(gd + k, c, bits);
            }
            k += u64::from(c);
        }
        Ok(())
    }

    /// The `n` (1..=64) tag bits of granules `[g, g + n)`, lowest first.
    ///
    /// # Safety
    /// Those granules must lie in the region.
    #[inline(always)]
    unsafe fn tag_bits(&self, g: u64, n: u32) -> u64 {
        let (w, sh) = ((g / 64) as usize, (g % 64) as u32);
        let words = self.tag_words();
        // SAFETY: word w holds granule g; word w + 1 is read only when the
        // range reaches into it, so it exists (caller's contract).
        unsafe {
            let mut bits = *words.add(w) >> sh;
            if sh != 0 && sh + n > 64 {
                bits |= *words.add(w + 1) << (64 - sh);
            }
            bits & (u64::MAX >> (64 - n))
        }
    }

    /// Sets the tags of granules `[g, g + n)` (n in 1..=64) to `bits`.
    ///
    /// # Safety
    /// Those granules must lie in the region.
    #[inline(always)]
    unsafe fn put_tag_bits(&mut self, g: u64, n: u32, bits: u64) {
        let (w, sh) = ((g / 64) as usize, (g % 64) as u32);
        let mask = u64::MAX >> (64 - n);
        let words = self.tag_words();
        // SAFETY: as in tag_bits; &mut self is exclusive.
        unsafe {
            let lo = words.add(w);
            *lo = (*lo & !(mask << sh)) | (bits << sh);
            if sh != 0 && sh + n > 64 {
                let hi = words.add(w + 1);
                let m = mask >> (64 - sh);
                *hi = (*hi & !m) | (bits >> (64 - sh));
            }
        }
    }

    /// Copies `size` bytes from `src` to `dst` (disjoint, any alignment)
    /// and leaves the tags alone, like [`TaggedRegion::write_plain`]: the
    /// copy of the unchecked modes, whose heaps keep no tags.
    #[inline]
    pub fn copy_plain(&mut self, src: Address, dst: Address, size: u64) -> Result<(), CapFault> {
        self.require(src, size)?;
        self.require(dst, size)?;
        if src.0 < dst.0 + size && dst.0 < src.0 + size {
            return Err(CapFault::OutsideRegion { addr: dst, size });
        }
        // SAFETY: both ranges are in the region and disjoint (checked).
        unsafe { ptr::copy_nonoverlapping(src.0 as *const u8, dst.0 as *mut u8, size as usize) };
        Ok(())
    }

    // ---- raw access (unsafe) -----------------------------------------------

    /// Reads a scalar with no checks.
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region.
    #[inline(always)]
    pub unsafe fn read_raw<T: Scalar>(&self, addr: Address) -> T {
        debug_assert!(self.contains(addr, T::SIZE));
        // SAFETY: the caller guarantees the range is mapped and ours; every
        // bit pattern is a valid T (Scalar); read_unaligned has no alignment
        // requirement.
        unsafe { ptr::read_unaligned(addr.0 as *const T) }
    }

    /// Writes a scalar with no capability checks, clearing the tags of the
    /// granules it touches (I6).
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region.
    #[inline(always)]
    pub unsafe fn write_raw<T: Scalar>(&mut self, addr: Address, value: T) {
        debug_assert!(self.contains(addr, T::SIZE));
        // SAFETY: the caller guarantees the range is mapped and ours; &mut
        // self excludes every other access.
        unsafe { ptr::write_unaligned(addr.0 as *mut T, value) };
        let last = addr.add(T::SIZE - 1);
        self.set_tag(addr, false);
        if self.granule(last) != self.granule(addr) {
            self.set_tag(last, false);
        }
    }

    /// Writes a scalar with no checks and leaves tags alone: the store of
    /// an unchecked reference mode, which keeps no tags.
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region.
    #[inline(always)]
    pub unsafe fn write_untracked<T: Scalar>(&mut self, addr: Address, value: T) {
        debug_assert!(self.contains(addr, T::SIZE));
        // SAFETY: as write_raw.
        unsafe { ptr::write_unaligned(addr.0 as *mut T, value) };
    }

    /// Reads the capability at `addr` with its tag from the bitmap.
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned and `[addr, addr + 16)` in the region.
    #[inline(always)]
    pub unsafe fn read_cap_raw<F: Format>(&self, addr: Address) -> Capability<F> {
        // SAFETY: the caller's contract is read_raw's.
        let v: u128 = unsafe { self.read_raw(addr) };
        Capability::from_parts((v >> 64) as u64, v as u64, self.is_tagged(addr))
    }

    /// Reads the 16 bytes at `addr` and their tag, undecoded.
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned and `[addr, addr + 16)` in the region.
    #[inline(always)]
    pub unsafe fn read_granule_raw(&self, addr: Address) -> (u128, bool) {
        // SAFETY: the caller's contract is read_raw's.
        let v: u128 = unsafe { self.read_raw(addr) };
        (v, self.is_tagged(addr))
    }

    /// Writes the 16 bytes at `addr` and sets their tag to `tag`.
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned and `[addr, addr + 16)` in the region.
    #[inline(always)]
    pub unsafe fn write_granule_raw(&mut self, addr: Address, bits: u128, tag: bool) {
        // SAFETY: the caller's contract is write_untracked's.
        unsafe { self.write_untracked(addr, bits) };
        self.set_tag(addr, tag);
    }

    /// Writes a capability and its tag.
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned and `[addr, addr + 16)` in the region.
    #[inline(always)]
    pub unsafe fn write_cap_raw<F: Format>(&mut self, addr: Address, value: &Capability<F>) {
        let (pesbt, cursor) = value.to_bits();
        let v = (u128::from(pesbt) << 64) | u128::from(cursor);
        // SAFETY: the caller's contract is write_untracked's.
        unsafe { self.write_untracked(addr, v) };
        self.set_tag(addr, value.tag());
    }

    /// Copies bytes out with no checks.
    ///
    /// # Safety
    /// `[addr, addr + out.len())` must lie inside the region.
    pub unsafe fn read_bytes_raw(&self, addr: Address, out: &mut [u8]) {
        // SAFETY: caller guarantees the source range; `out` is a separate
        // Rust allocation, so they do not overlap.
        unsafe { ptr::copy_nonoverlapping(addr.0 as *const u8, out.as_mut_ptr(), out.len()) };
    }

    /// Copies bytes in with no checks, clearing overwritten tags.
    ///
    /// # Safety
    /// `[addr, addr + data.len())` must lie inside the region.
    pub unsafe fn write_bytes_raw(&mut self, addr: Address, data: &[u8]) {
        // SAFETY: caller guarantees the destination range; `data` is a
        // separate Rust allocation.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), addr.0 as *mut u8, data.len()) };
        self.clear_tags(addr, data.len() as u64);
    }
}

/// Iterator over tagged granule addresses; see
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
            // SAFETY: word ≤ last_word < bitmap words.
            self.bits = unsafe { *self.region.tag_words().add(self.word as usize) };
        }
    }
}
