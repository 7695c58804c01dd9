//! [`Address`]: a 64-bit virtual address, the cursor of a capability.

use core::fmt;

/// A virtual address (a capability's cursor). Not a pointer: holding one
/// grants nothing; memory is reached only through a capability or a
/// reference mode.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(transparent)]
pub struct Address(pub u64);

impl Address {
    /// The zero address.
    pub const NULL: Address = Address(0);

    /// The raw address value.
    #[inline(always)]
    pub const fn get(self) -> u64 {
        self.0
    }

    /// This address plus `bytes`, wrapping at 2^64 (as capability address
    /// arithmetic does; bounds checks catch the wrap).
    #[inline(always)]
    pub const fn add(self, bytes: u64) -> Address {
        Address(self.0.wrapping_add(bytes))
    }

    /// Byte distance from `base` to `self` (wrapping).
    #[inline(always)]
    pub const fn offset_from(self, base: Address) -> u64 {
        self.0.wrapping_sub(base.0)
    }

    /// True when the address is a multiple of `align` (a power of two).
    #[inline(always)]
    pub const fn is_aligned(self, align: u64) -> bool {
        self.0 & (align - 1) == 0
    }

    /// Rounds up to a multiple of `align` (a power of two), wrapping.
    #[inline(always)]
    pub const fn align_up(self, align: u64) -> Address {
        Address(self.0.wrapping_add(align - 1) & !(align - 1))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::LowerHex for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::LowerHex::fmt(&self.0, f)
    }
}
