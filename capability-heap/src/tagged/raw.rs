//! The raw half of tagged memory: the anonymous mappings and every
//! dereference of them. This is the crate's only raw-memory code; each
//! `unsafe` block here names the range check that makes it sound, and the
//! `unsafe fn`s state the check their caller must have made.
//!
//! Callers: [`super::TaggedRegion`]'s checked operations (after
//! `require`), and the reference modes' unchecked slot accessors, which
//! are themselves `unsafe fn`s of the collector half
//! ([`crate::mode::Collector`]).

use super::{RegionError, TaggedRegion, GRANULE};
use crate::tagged::Scalar;
use crate::Address;
use core::marker::PhantomData;
use core::ptr;

pub(super) fn page_size() -> u64 {
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

/// One anonymous private mapping, unmapped on drop. The kernel commits
/// its pages lazily, zero-filled, on first touch (`MAP_NORESERVE`), so a
/// large mapping costs address space until it is used.
pub(super) struct Mapping {
    ptr: *mut u8,
    len: usize,
}

impl Mapping {
    pub(super) fn new(len: usize, prot: i32) -> Result<Mapping, i32> {
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
            return Err(errno());
        }
        Ok(Mapping { ptr: p.cast(), len })
    }

    /// First byte of the mapping.
    pub(super) fn start(&self) -> u64 {
        self.ptr as u64
    }

    /// Makes `[start, start + len)` readable and writable.
    ///
    /// The range must lie inside the mapping (checked: an error otherwise).
    pub(super) fn open(&mut self, start: u64, len: u64) -> Result<(), i32> {
        let inside = start >= self.start()
            && (start - self.start())
                .checked_add(len)
                .is_some_and(|e| e <= self.len as u64);
        if !inside {
            return Err(libc::EINVAL);
        }
        // SAFETY: the range is inside this mapping (checked above), which
        // nothing references yet.
        let rc = unsafe {
            libc::mprotect(
                start as *mut libc::c_void,
                len as usize,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(errno())
        }
    }
}

impl Mapping {
    /// Discards every page of the mapping and leaves its addresses
    /// reserved, inaccessible (`PROT_NONE`), until the mapping is dropped:
    /// the memory goes back to the OS, and no later mapping can be placed
    /// at these addresses meanwhile.
    pub(super) fn retire(&mut self) -> Result<(), i32> {
        // SAFETY: MAP_FIXED over exactly this mapping's own range, which
        // its owner gave up (`TaggedRegion::retire` consumes the region):
        // nothing references its pages any more.
        let p = unsafe {
            libc::mmap(
                self.ptr.cast(),
                self.len,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(errno());
        }
        Ok(())
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

/// A fixed-length array of plain values, all zero to begin with, in a
/// lazily committed mapping: a side table of a large heap (mark bits,
/// block states) then costs address space until its entries are touched,
/// so a heap reserved at terabytes does not allocate gigabytes up front.
pub struct ZeroedArray<T: Scalar> {
    map: Mapping,
    len: usize,
    _t: PhantomData<T>,
}

// SAFETY: the array owns its mapping exclusively; &self only reads and
// mutation needs &mut self, exactly as for a Vec<T> of plain data.
unsafe impl<T: Scalar> Send for ZeroedArray<T> {}
// SAFETY: see Send.
unsafe impl<T: Scalar> Sync for ZeroedArray<T> {}

impl<T: Scalar> ZeroedArray<T> {
    /// `len` zero values; an error when the mapping cannot be made (too
    /// large for the address space).
    pub fn new(len: usize) -> Result<ZeroedArray<T>, RegionError> {
        let bytes = len
            .checked_mul(core::mem::size_of::<T>())
            .filter(|b| *b as u64 <= super::MAX_REGION)
            .ok_or(RegionError::BadLength(len as u64))?
            .max(1);
        let map =
            Mapping::new(bytes, libc::PROT_READ | libc::PROT_WRITE).map_err(RegionError::Map)?;
        Ok(ZeroedArray {
            map,
            len,
            _t: PhantomData,
        })
    }
}

impl<T: Scalar> core::ops::Deref for ZeroedArray<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: the mapping is page-aligned (so aligned for T), holds
        // len * size_of::<T>() readable bytes, and every bit pattern —
        // zero in particular — is a valid T (Scalar). &self excludes
        // writers.
        unsafe { core::slice::from_raw_parts(self.map.ptr.cast::<T>(), self.len) }
    }
}

impl<T: Scalar> core::ops::DerefMut for ZeroedArray<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as Deref; &mut self makes this the only reference.
        unsafe { core::slice::from_raw_parts_mut(self.map.ptr.cast::<T>(), self.len) }
    }
}

impl<T: Scalar> core::fmt::Debug for ZeroedArray<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ZeroedArray[{}]", self.len)
    }
}

/// The raw primitives every checked operation of [`TaggedRegion`] and
/// every unchecked slot accessor of a reference mode is built on.
impl TaggedRegion {
    #[inline(always)]
    fn tag_words(&self) -> *mut u64 {
        self.tags.ptr.cast()
    }

    /// Granules in the region (the tag bitmap has a bit for each).
    #[inline(always)]
    fn granules(&self) -> u64 {
        self.len / GRANULE
    }

    /// The granule index of `addr`.
    ///
    /// # Safety
    /// `addr` must lie inside the region.
    #[inline(always)]
    pub(crate) unsafe fn granule_of(&self, addr: Address) -> u64 {
        debug_assert!(self.contains(addr, 1));
        (addr.get() - self.base) / GRANULE
    }

    /// The bit of granule `g` (a capability tag, or a marker in plain
    /// memory).
    ///
    /// # Safety
    /// `g` must be a granule of the region (`g < len / 16`).
    #[inline(always)]
    pub(crate) unsafe fn bit(&self, g: u64) -> bool {
        debug_assert!(g < self.granules());
        // SAFETY: g < granules, so word g / 64 is inside the bitmap
        // mapping (sized to granules.div_ceil(64) words).
        let w = unsafe { *self.tag_words().add((g / 64) as usize) };
        w >> (g % 64) & 1 != 0
    }

    /// Sets the bit of granule `g`.
    ///
    /// # Safety
    /// `g` must be a granule of the region; a set bit in capability
    /// memory must be the tag of a capability that was written there with
    /// it (never a bit set on data: that would forge one).
    #[inline(always)]
    pub(crate) unsafe fn put_bit(&mut self, g: u64, on: bool) {
        debug_assert!(g < self.granules());
        // SAFETY: the word is inside the bitmap (g < granules); &mut self
        // excludes every other access.
        unsafe {
            let w = self.tag_words().add((g / 64) as usize);
            if on {
                *w |= 1 << (g % 64);
            } else {
                *w &= !(1 << (g % 64));
            }
        }
    }

    /// Clears the bits of granules `[g0, g1]` (inclusive), a bitmap word
    /// at a time.
    ///
    /// # Safety
    /// `g0 <= g1 < len / 16`.
    pub(crate) unsafe fn clear_bits(&mut self, g0: u64, g1: u64) {
        debug_assert!(g0 <= g1 && g1 < self.granules());
        let words = self.tag_words();
        for wi in g0 / 64..=g1 / 64 {
            let lo_bit = if wi == g0 / 64 { g0 % 64 } else { 0 };
            let hi_bit = if wi == g1 / 64 { g1 % 64 } else { 63 };
            let mask = (u64::MAX << lo_bit) & (u64::MAX >> (63 - hi_bit));
            // SAFETY: wi <= g1 / 64, a word of the bitmap; &mut self is
            // exclusive.
            unsafe { *words.add(wi as usize) &= !mask };
        }
    }

    /// Bitmap word `w` (granules `64w .. 64w + 64`).
    ///
    /// # Safety
    /// `w` must be a word of the bitmap (`w < granules.div_ceil(64)`).
    #[inline(always)]
    pub(crate) unsafe fn bit_word(&self, w: u64) -> u64 {
        debug_assert!(w < self.granules().div_ceil(64));
        // SAFETY: the caller's contract.
        unsafe { *self.tag_words().add(w as usize) }
    }

    /// The `n` (1..=64) bits of granules `[g, g + n)`, lowest first.
    ///
    /// # Safety
    /// Those granules must lie in the region.
    #[inline(always)]
    pub(crate) unsafe fn bits(&self, g: u64, n: u32) -> u64 {
        debug_assert!((1..=64).contains(&n) && g + u64::from(n) <= self.granules());
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

    /// Sets the bits of granules `[g, g + n)` (n in 1..=64) to `bits`.
    ///
    /// # Safety
    /// Those granules must lie in the region, and (as for
    /// [`TaggedRegion::put_bit`]) set bits must be tags that travel with
    /// their capabilities' bytes.
    #[inline(always)]
    pub(crate) unsafe fn put_bits(&mut self, g: u64, n: u32, bits: u64) {
        debug_assert!((1..=64).contains(&n) && g + u64::from(n) <= self.granules());
        let (w, sh) = ((g / 64) as usize, (g % 64) as u32);
        let mask = u64::MAX >> (64 - n);
        let words = self.tag_words();
        // SAFETY: as in bits; &mut self is exclusive.
        unsafe {
            let lo = words.add(w);
            *lo = (*lo & !(mask << sh)) | ((bits & mask) << sh);
            if sh != 0 && sh + n > 64 {
                let hi = words.add(w + 1);
                let m = mask >> (64 - sh);
                *hi = (*hi & !m) | ((bits & mask) >> (64 - sh));
            }
        }
    }

    /// Reads a scalar with no checks.
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region.
    #[inline(always)]
    pub(crate) unsafe fn read_raw<T: Scalar>(&self, addr: Address) -> T {
        debug_assert!(self.contains(addr, T::SIZE));
        // SAFETY: the caller guarantees the range is mapped and ours; every
        // bit pattern is a valid T (Scalar); read_unaligned has no alignment
        // requirement.
        unsafe { ptr::read_unaligned(addr.get() as *const T) }
    }

    /// Writes a scalar with no checks and leaves the bitmap alone.
    ///
    /// # Safety
    /// `[addr, addr + size_of::<T>())` must lie inside the region, and in
    /// capability memory the caller must clear (or rewrite) the tags of
    /// the granules it touches: data left under a set tag is a forgery.
    #[inline(always)]
    pub(crate) unsafe fn write_untracked<T: Scalar>(&mut self, addr: Address, value: T) {
        debug_assert!(self.contains(addr, T::SIZE));
        // SAFETY: the caller guarantees the range is mapped and ours; &mut
        // self excludes every other access.
        unsafe { ptr::write_unaligned(addr.get() as *mut T, value) };
    }

    /// The 16 bytes at `addr` and their tag — `false` in plain memory,
    /// whose bits are markers, never tags.
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned with `[addr, addr + 16)` in the
    /// region.
    #[inline(always)]
    pub(crate) unsafe fn read_granule(&self, addr: Address) -> (u128, bool) {
        debug_assert!(addr.is_aligned(GRANULE));
        // SAFETY: the caller's contract covers both reads.
        unsafe {
            let v = self.read_raw::<u128>(addr);
            (v, self.caps && self.bit(self.granule_of(addr)))
        }
    }

    /// Writes the 16 bytes at `addr` and its tag (in capability memory; in
    /// plain memory the bit is cleared, as by any data write).
    ///
    /// # Safety
    /// `addr` must be 16-byte aligned with `[addr, addr + 16)` in the
    /// region; `tag` may be true only for the bits of a capability that
    /// carried a tag (read from tagged memory or derived).
    #[inline(always)]
    pub(crate) unsafe fn write_granule(&mut self, addr: Address, bits: u128, tag: bool) {
        debug_assert!(addr.is_aligned(GRANULE));
        // SAFETY: the caller's contract covers the write and the bit.
        unsafe {
            self.write_untracked(addr, bits);
            let g = self.granule_of(addr);
            self.put_bit(g, tag && self.caps);
        }
    }

    /// Sets `[addr, addr + n)` to zero bytes.
    ///
    /// # Safety
    /// The range must lie inside the region.
    #[inline]
    pub(crate) unsafe fn fill_zero(&mut self, addr: Address, n: u64) {
        debug_assert!(self.contains(addr, n));
        // SAFETY: the caller's contract; &mut self is exclusive.
        unsafe { ptr::write_bytes(addr.get() as *mut u8, 0, n as usize) };
    }

    /// Gives the whole pages of `[addr, addr + n)` back to the kernel: they
    /// read as zero afterwards and cost no memory until written again.
    /// Bytes of partial pages at either end are zeroed instead.
    ///
    /// # Safety
    /// The range must lie inside the region, and no reference into it may
    /// be in use (its contents are discarded).
    pub(crate) unsafe fn discard_pages(&mut self, addr: Address, n: u64) {
        debug_assert!(self.contains(addr, n));
        let page = page_size();
        let lo = (addr.get() + page - 1) & !(page - 1);
        let hi = (addr.get() + n) & !(page - 1);
        if hi <= lo {
            // SAFETY: the caller's contract.
            unsafe { self.fill_zero(addr, n) };
            return;
        }
        // SAFETY: both partial ends are inside the range (the caller's
        // contract); the pages between are whole pages of this mapping,
        // which MADV_DONTNEED on private anonymous memory turns back into
        // zero-fill pages without unmapping them.
        unsafe {
            self.fill_zero(addr, lo - addr.get());
            self.fill_zero(Address(hi), addr.get() + n - hi);
            libc::madvise(
                lo as *mut libc::c_void,
                (hi - lo) as usize,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// Copies `n` bytes from `src` to `dst`.
    ///
    /// # Safety
    /// Both ranges must lie inside the region and not overlap.
    #[inline]
    pub(crate) unsafe fn copy_bytes(&mut self, src: Address, dst: Address, n: u64) {
        debug_assert!(self.contains(src, n) && self.contains(dst, n));
        // SAFETY: the caller's contract; &mut self is exclusive.
        unsafe {
            ptr::copy_nonoverlapping(src.get() as *const u8, dst.get() as *mut u8, n as usize)
        };
    }

    /// Copies bytes out with no checks.
    ///
    /// # Safety
    /// `[addr, addr + out.len())` must lie inside the region.
    #[inline]
    pub(crate) unsafe fn read_bytes_raw(&self, addr: Address, out: &mut [u8]) {
        debug_assert!(self.contains(addr, out.len() as u64));
        // SAFETY: caller guarantees the source range; `out` is a separate
        // Rust allocation, so they do not overlap.
        unsafe { ptr::copy_nonoverlapping(addr.get() as *const u8, out.as_mut_ptr(), out.len()) };
    }

    /// Copies bytes in with no checks and leaves the bitmap alone.
    ///
    /// # Safety
    /// `[addr, addr + data.len())` must lie inside the region; as for
    /// [`TaggedRegion::write_untracked`], the caller clears the tags.
    #[inline]
    pub(crate) unsafe fn write_bytes_untracked(&mut self, addr: Address, data: &[u8]) {
        debug_assert!(self.contains(addr, data.len() as u64));
        // SAFETY: caller guarantees the destination range; `data` is a
        // separate Rust allocation.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), addr.get() as *mut u8, data.len()) };
    }
}
