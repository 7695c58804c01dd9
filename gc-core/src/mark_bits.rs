//! [`SideBitmap`]: one bit per 8-byte word of the heap region, kept beside
//! the heap rather than in object headers.
//!
//! Two of them: *alloc bits* (a payload starts here and its object is
//! allocated) and *mark bits* (reached in the current collection). Side
//! bits keep headers immutable during marking, make "is this address a
//! live object's payload start?" an O(1) question for reference
//! validation and the verifier, and let sweeping clear marks a word at a
//! time. Rejected: mark bits in the header (one write per marked object
//! into otherwise cold memory, and no way to answer the validation
//! question for an arbitrary address).
//!
//! The words live in a lazily committed [`ZeroedArray`], so a bitmap over
//! a heap reserved at terabytes costs address space until it is used.

use capability_heap::{Address, RegionError, ZeroedArray};

/// Granularity of a bit: 8 bytes (the smallest payload alignment, Native).
const SHIFT: u32 = 3;

/// A bitmap over `[base, base + len)` at 8-byte granularity.
pub(crate) struct SideBitmap {
    base: u64,
    len: u64,
    words: ZeroedArray<u64>,
}

impl SideBitmap {
    pub(crate) fn new(base: Address, len: u64) -> Result<SideBitmap, RegionError> {
        let bits = len >> SHIFT;
        Ok(SideBitmap {
            base: base.get(),
            len,
            words: ZeroedArray::new(bits.div_ceil(64) as usize)?,
        })
    }

    #[inline(always)]
    fn index(&self, addr: Address) -> Option<(usize, u64)> {
        let off = addr.get().wrapping_sub(self.base);
        if off >= self.len || off & ((1 << SHIFT) - 1) != 0 {
            return None;
        }
        let bit = off >> SHIFT;
        Some(((bit / 64) as usize, 1 << (bit % 64)))
    }

    /// The word and mask of `addr`'s bit (`None` outside the range or
    /// misaligned): with [`SideBitmap::test_at`] and
    /// [`SideBitmap::test_and_set_at`], one index serves two bitmaps over
    /// the same range (a cell heap's alloc and mark bits).
    #[inline(always)]
    pub(crate) fn bit_of(&self, addr: Address) -> Option<(usize, u64)> {
        self.index(addr)
    }

    /// The bit at word `w`, mask `m` (from [`SideBitmap::bit_of`]).
    #[inline(always)]
    pub(crate) fn test_at(&self, w: usize, m: u64) -> bool {
        self.words[w] & m != 0
    }

    /// Sets the bit at word `w`, mask `m`; returns whether it was set.
    #[inline(always)]
    pub(crate) fn test_and_set_at(&mut self, w: usize, m: u64) -> bool {
        let old = self.words[w] & m != 0;
        self.words[w] |= m;
        old
    }

    /// The range's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The bit for `addr` (false outside the range or misaligned).
    #[inline(always)]
    pub(crate) fn get(&self, addr: Address) -> bool {
        match self.index(addr) {
            Some((w, m)) => self.words[w] & m != 0,
            None => false,
        }
    }

    /// Sets the bit; returns whether it was already set. Out-of-range
    /// addresses report `true` (nothing to do).
    #[inline(always)]
    pub(crate) fn test_and_set(&mut self, addr: Address) -> bool {
        match self.index(addr) {
            Some((w, m)) => {
                let old = self.words[w] & m != 0;
                self.words[w] |= m;
                old
            }
            None => true,
        }
    }

    /// The first set bit at or after `from` and before `end`, as an address.
    pub(crate) fn next_set(&self, from: Address, end: Address) -> Option<Address> {
        let lo = from.get().max(self.base).wrapping_sub(self.base) >> SHIFT;
        let hi = (end.get().min(self.base + self.len).wrapping_sub(self.base)) >> SHIFT;
        let mut bit = lo;
        while bit < hi {
            let w = self.words[(bit / 64) as usize] >> (bit % 64);
            if w != 0 {
                let found = bit + u64::from(w.trailing_zeros());
                return (found < hi).then(|| Address(self.base + (found << SHIFT)));
            }
            bit = (bit / 64 + 1) * 64;
        }
        None
    }

    /// Clears the bits of `[addr, addr + len)`, a word at a time where it
    /// can.
    pub(crate) fn clear_range(&mut self, addr: Address, len: u64) {
        let lo = addr.get().saturating_sub(self.base) >> SHIFT;
        let hi = (addr
            .get()
            .saturating_add(len)
            .min(self.base + self.len)
            .saturating_sub(self.base))
            >> SHIFT;
        let mut bit = lo;
        while bit < hi {
            if bit % 64 == 0 && bit + 64 <= hi {
                self.words[(bit / 64) as usize] = 0;
                bit += 64;
            } else {
                self.words[(bit / 64) as usize] &= !(1 << (bit % 64));
                bit += 1;
            }
        }
    }

    /// The words holding the bits of `[addr, addr + len)`, when that range
    /// is inside the bitmap and covers whole words (a block does: blocks
    /// are 64 KiB-aligned offsets from a page-aligned base).
    #[inline]
    pub(crate) fn words_mut(&mut self, addr: Address, len: u64) -> Option<&mut [u64]> {
        let off = addr.get().checked_sub(self.base)?;
        let span = 64 << SHIFT;
        if off % span != 0 || len % span != 0 || off.checked_add(len)? > self.len {
            return None;
        }
        let w = (off / span) as usize;
        self.words.get_mut(w..w + (len / span) as usize)
    }

    /// The word of 64 bits covering `[addr, addr + 512)`; `addr` is a
    /// multiple of 512 from the base (0 outside the range).
    #[inline(always)]
    pub(crate) fn word(&self, addr: Address) -> u64 {
        let off = addr.get().wrapping_sub(self.base);
        if off >= self.len {
            return 0;
        }
        self.words[(off >> (SHIFT + 6)) as usize]
    }

    /// Sets the bit of a new object's payload (the allocation fast path):
    /// `addr` is an aligned address of the range, so the word index is
    /// the only test (and an address outside is a no-op, as in `put`).
    #[inline(always)]
    pub(crate) fn set_fresh(&mut self, addr: Address) {
        let bit = addr.get().wrapping_sub(self.base) >> SHIFT;
        debug_assert!(self.index(addr).is_some());
        if let Some(w) = self.words.get_mut((bit / 64) as usize) {
            *w |= 1 << (bit % 64);
        }
    }

    /// Sets or clears the bit.
    #[inline(always)]
    pub(crate) fn put(&mut self, addr: Address, value: bool) {
        if let Some((w, m)) = self.index(addr) {
            if value {
                self.words[w] |= m;
            } else {
                self.words[w] &= !m;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_round_trip_and_reject_misaligned() {
        let mut b = SideBitmap::new(Address(0x1000), 0x1000).unwrap();
        assert!(!b.get(Address(0x1008)));
        assert!(!b.test_and_set(Address(0x1008)));
        assert!(b.test_and_set(Address(0x1008)));
        assert!(b.get(Address(0x1008)));
        assert!(!b.get(Address(0x1009)));
        assert!(b.test_and_set(Address(0x2000)), "out of range reports set");
        b.put(Address(0x1008), false);
        assert!(!b.get(Address(0x1008)));
        b.put(Address(0x1400), true);
        b.put(Address(0x1ff8), true);
        assert_eq!(
            b.next_set(Address(0x1000), Address(0x2000)),
            Some(Address(0x1400))
        );
        assert_eq!(
            b.next_set(Address(0x1408), Address(0x2000)),
            Some(Address(0x1ff8))
        );
        assert_eq!(b.next_set(Address(0x1408), Address(0x1ff8)), None);
    }
}
