//! [`Header`]: the 16-byte GC header before every payload, as a type.
//!
//! ```text
//!   bits   0..32   type index (the heap's type registry)
//!   bits  32..64   flags (pinned, forwarded)
//!   bits 64..128   payload length as asked for, or — once forwarded — the
//!                  new copy's payload address (its header holds the length)
//! ```
//! Headers are written only by the collector, with the owner's access to
//! its region, never through a mutator capability (I2); in capability
//! memory that write clears the header granule's tag, so a header never
//! holds one.

use crate::object::HEADER_SIZE;
use capability_heap::{Address, CapFault, TaggedRegion};

/// Header flag: the object must not move.
const PINNED: u32 = 1;
/// Header flag (from-space only): the object was copied; the second word
/// holds the new payload address.
const FORWARDED: u32 = 2;

/// An object header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header(u128);

static_assertions::const_assert_eq!(core::mem::size_of::<Header>() as u64, HEADER_SIZE);
static_assertions::const_assert!(HEADER_SIZE % capability_heap::GRANULE == 0);

impl Header {
    /// A fresh object's header: type index `ty`, payload length `len`,
    /// pinned or not.
    #[inline(always)]
    pub(crate) fn new(ty: u32, len: u64, pinned: bool) -> Header {
        Header(
            u128::from(ty) | u128::from(u32::from(pinned) * PINNED) << 32 | u128::from(len) << 64,
        )
    }

    /// The header of the object whose payload starts at `payload`.
    #[inline(always)]
    pub(crate) fn read(region: &TaggedRegion, payload: Address) -> Result<Header, CapFault> {
        region.read::<u128>(Self::at(payload)).map(Header)
    }

    /// The header before `payload`, with no region check.
    ///
    /// # Safety
    /// `[payload - HEADER_SIZE, payload)` must lie inside `region`.
    #[inline(always)]
    pub(crate) unsafe fn read_unchecked(region: &TaggedRegion, payload: Address) -> Header {
        // SAFETY: the caller's contract.
        Header(unsafe { region.read_unchecked::<u128>(Self::at(payload)) })
    }

    /// Writes this header before `payload` into fresh memory, with no
    /// region check and no tag clearing.
    ///
    /// # Safety
    /// `[payload - HEADER_SIZE, payload)` must lie inside `region` and, in
    /// capability memory, hold no tag (a cell of a block zeroed and
    /// untagged when it was handed out, not written since: I4), or the
    /// header's bits would sit under a set tag (I6).
    #[inline(always)]
    pub(crate) unsafe fn write_fresh(self, region: &mut TaggedRegion, payload: Address) {
        // SAFETY: the caller's contract.
        unsafe { region.write_unchecked::<u128>(Self::at(payload), self.0) }
    }

    /// Writes this header before `payload`.
    #[inline(always)]
    pub(crate) fn write(self, region: &mut TaggedRegion, payload: Address) -> Result<(), CapFault> {
        region.write::<u128>(Self::at(payload), self.0)
    }

    /// The header address of a payload.
    #[inline(always)]
    pub(crate) fn at(payload: Address) -> Address {
        Address(payload.get().wrapping_sub(HEADER_SIZE))
    }

    /// The type index.
    #[inline(always)]
    pub(crate) fn ty(self) -> u32 {
        self.0 as u32
    }

    /// The payload length (meaningless once forwarded).
    #[inline(always)]
    pub(crate) fn len(self) -> u64 {
        (self.0 >> 64) as u64
    }

    #[inline(always)]
    fn flags(self) -> u32 {
        (self.0 >> 32) as u32
    }

    #[inline(always)]
    fn with_flag(self, flag: u32, on: bool) -> Header {
        let f = if on {
            self.flags() | flag
        } else {
            self.flags() & !flag
        };
        Header(self.0 & !(u128::from(u32::MAX) << 32) | u128::from(f) << 32)
    }

    /// True when the object is pinned.
    #[inline(always)]
    pub(crate) fn is_pinned(self) -> bool {
        self.flags() & PINNED != 0
    }

    /// The header with the pinned flag set or cleared.
    #[inline(always)]
    pub(crate) fn pinned(self, on: bool) -> Header {
        self.with_flag(PINNED, on)
    }

    /// The new payload address, when the object has been copied.
    #[inline(always)]
    pub(crate) fn forwarded_to(self) -> Option<Address> {
        (self.flags() & FORWARDED != 0).then(|| Address(self.len()))
    }

    /// The forwarding record left in from-space: the type and flags kept,
    /// the second word pointing at the new payload.
    #[inline(always)]
    pub(crate) fn forwarding(self, to: Address) -> Header {
        let h = self.with_flag(FORWARDED, true);
        Header(h.0 & u128::from(u64::MAX) | u128::from(to.get()) << 64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let h = Header::new(0xdead_beef, 12345, false);
        assert!(Header::new(1, 2, true).is_pinned());
        assert_eq!(
            (h.ty(), h.len(), h.is_pinned()),
            (0xdead_beef, 12345, false)
        );
        assert_eq!(h.forwarded_to(), None);
        let p = h.pinned(true);
        assert!(p.is_pinned() && p.ty() == h.ty() && p.len() == h.len());
        assert!(!p.pinned(false).is_pinned());
        let f = p.forwarding(Address(0x7000_0010));
        assert_eq!(f.forwarded_to(), Some(Address(0x7000_0010)));
        assert!(f.is_pinned() && f.ty() == h.ty());
    }
}
