//! [`Header`]: the GC header before every payload, as a type.
//!
//! In memory it takes [`header_size`] bytes: one word in Native, two in
//! P128 and the SoftCheri modes. The value is the same in every mode (a
//! `u128` of the wide layout); only Native packs it into one word on the
//! way to memory and unpacks it on the way back.
//!
//! ```text
//!   P128, SoftCheri (16 bytes, at payload - 16)
//!     bits   0..32   type index (the heap's type registry)
//!     bits  32..64   flags (pinned, forwarded)
//!     bits 64..128   payload length as asked for, or — once forwarded — the
//!                    new copy's payload address (its header holds the length)
//!
//!   Native (8 bytes, at payload - 8)
//!     bit        0   0 (1: forwarded — the whole word is then the new
//!                    payload address + 1; addresses are 8-aligned)
//!     bit        1   pinned
//!     bits    2..8   0
//!     bits   8..32   type index (Native registers at most 2^24 types)
//!     bits  32..64   payload length (Native refuses 4 GiB or more)
//! ```
//! A forwarded Native header keeps neither the type nor the flags: only
//! a from-space object is forwarded, it is never pinned, and every reader
//! of a forwarded header goes to the new copy's header for the rest.
//! Native's nonzero bits 2..8 unpack to flag bits no writer sets, so a
//! header the caller broke never equals a fresh one (`fast.rs` refuses it).
//!
//! Why Native alone: P128's payloads are 16-aligned, so a one-word header
//! would leave a word of padding before every payload and save nothing;
//! its length word is also the second half of every P128 reference the C
//! fast path stores (`capgc_fast.h`). The SoftCheri modes keep their
//! capability-granule header (a header is one whole granule, I2, I6).
//!
//! Headers are written only by the collector, with the owner's access to
//! its region, never through a mutator capability (I2); in capability
//! memory that write clears the header granule's tag, so a header never
//! holds one.

use capability_heap::{Address, CapFault, RefMode, TaggedRegion};

/// Header flag: the object must not move.
const PINNED: u32 = 1;
/// Header flag (from-space only): the object was copied; the second word
/// holds the new payload address.
const FORWARDED: u32 = 2;

/// An object header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header(u128);

/// True in the mode whose header is one packed word (Native: unchecked,
/// 8-byte slots).
#[inline(always)]
pub(crate) const fn packed<M: RefMode>() -> bool {
    !M::CHECKED && M::SLOT_SIZE == 8
}

/// Bytes of GC header before each payload in mode `M`: 8 in Native, 16 in
/// P128 and the SoftCheri modes — in every mode the cell alignment, so a
/// header never adds padding of its own.
#[inline(always)]
pub const fn header_size<M: RefMode>() -> u64 {
    if packed::<M>() {
        8
    } else {
        16
    }
}

/// The largest header of any mode: room the large-object space leaves
/// before a payload whatever the mode.
pub(crate) const MAX_HEADER_SIZE: u64 = 16;

static_assertions::const_assert_eq!(core::mem::size_of::<Header>() as u64, MAX_HEADER_SIZE);
static_assertions::const_assert!(MAX_HEADER_SIZE % capability_heap::GRANULE == 0);

/// The most types a Native heap registers: the packed header's type field.
pub(crate) const PACKED_MAX_TYPES: u64 = 1 << 24;

/// The largest payload length a Native header holds.
pub(crate) const PACKED_MAX_LEN: u64 = u32::MAX as u64;

/// Native's packed word: bit 0 forwarded, bit 1 pinned.
const PACKED_FORWARDED: u64 = 1;
const PACKED_PINNED: u64 = 2;
/// Native's packed word: bits 2..8, which no writer sets, go to the wide
/// header's flag bits 8..14 so that they survive a round trip.
const PACKED_STRAY: u64 = 0xfc;
const PACKED_TYPE_SHIFT: u32 = 8;
const PACKED_TYPE_MASK: u64 = PACKED_MAX_TYPES - 1;
const PACKED_LEN_SHIFT: u32 = 32;

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
    pub(crate) fn read<M: RefMode>(
        region: &TaggedRegion,
        payload: Address,
    ) -> Result<Header, CapFault> {
        if packed::<M>() {
            region
                .read::<u64>(Self::at::<M>(payload))
                .map(Header::unpack)
        } else {
            region.read::<u128>(Self::at::<M>(payload)).map(Header)
        }
    }

    /// The header before `payload`, with no region check.
    ///
    /// # Safety
    /// `[payload - header_size::<M>(), payload)` must lie inside `region`.
    #[inline(always)]
    pub(crate) unsafe fn read_unchecked<M: RefMode>(
        region: &TaggedRegion,
        payload: Address,
    ) -> Header {
        if packed::<M>() {
            // SAFETY: the caller's contract.
            Header::unpack(unsafe { region.read_unchecked::<u64>(Self::at::<M>(payload)) })
        } else {
            // SAFETY: the caller's contract.
            Header(unsafe { region.read_unchecked::<u128>(Self::at::<M>(payload)) })
        }
    }

    /// Writes this header before `payload` into fresh memory, with no
    /// region check and no tag clearing.
    ///
    /// # Safety
    /// `[payload - header_size::<M>(), payload)` must lie inside `region`
    /// and, in capability memory, hold no tag (a cell of a block zeroed
    /// and untagged when it was handed out, not written since: I4), or the
    /// header's bits would sit under a set tag (I6).
    #[inline(always)]
    pub(crate) unsafe fn write_fresh<M: RefMode>(
        self,
        region: &mut TaggedRegion,
        payload: Address,
    ) {
        if packed::<M>() {
            // SAFETY: the caller's contract.
            unsafe { region.write_unchecked::<u64>(Self::at::<M>(payload), self.pack()) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { region.write_unchecked::<u128>(Self::at::<M>(payload), self.0) }
        }
    }

    /// This header as mode `M` stores it: Native's packed word
    /// (zero-extended), else the two words. What a fixed-size type
    /// precomputes for the allocation fast paths
    /// ([`Header::write_stored_fresh`]), so that they store it as is.
    #[inline(always)]
    pub(crate) fn stored<M: RefMode>(self) -> u128 {
        if packed::<M>() {
            u128::from(self.pack())
        } else {
            self.0
        }
    }

    /// The header before `payload` in mode `M`'s stored form (the bits in
    /// memory, Native's word zero-extended), with no region check: two
    /// stored forms are equal exactly when their headers are
    /// ([`Header::unstore`]; Native's packing loses no bit).
    ///
    /// # Safety
    /// As for [`Header::read_unchecked`].
    #[inline(always)]
    pub(crate) unsafe fn read_stored_unchecked<M: RefMode>(
        region: &TaggedRegion,
        payload: Address,
    ) -> u128 {
        if packed::<M>() {
            // SAFETY: the caller's contract.
            u128::from(unsafe { region.read_unchecked::<u64>(Self::at::<M>(payload)) })
        } else {
            // SAFETY: the caller's contract.
            unsafe { region.read_unchecked::<u128>(Self::at::<M>(payload)) }
        }
    }

    /// The header whose stored form in mode `M` is `stored`.
    #[inline(always)]
    pub(crate) fn unstore<M: RefMode>(stored: u128) -> Header {
        if packed::<M>() {
            Header::unpack(stored as u64)
        } else {
            Header(stored)
        }
    }

    /// [`Header::write_fresh`] of a header already in mode `M`'s stored
    /// form ([`Header::stored`]): one store, nothing computed.
    ///
    /// # Safety
    /// As for [`Header::write_fresh`].
    #[inline(always)]
    pub(crate) unsafe fn write_stored_fresh<M: RefMode>(
        stored: u128,
        region: &mut TaggedRegion,
        payload: Address,
    ) {
        if packed::<M>() {
            // SAFETY: the caller's contract.
            unsafe { region.write_unchecked::<u64>(Self::at::<M>(payload), stored as u64) }
        } else {
            // SAFETY: the caller's contract.
            unsafe { region.write_unchecked::<u128>(Self::at::<M>(payload), stored) }
        }
    }

    /// The type index of the header before `payload`, with no region
    /// check: the mutator's reference accessors' one read. Native reads
    /// it straight from its word (a forwarded word yields an index of no
    /// meaning; only a stale reference, not caught in the unchecked
    /// modes, reaches one).
    ///
    /// # Safety
    /// As for [`Header::read_unchecked`].
    #[inline(always)]
    pub(crate) unsafe fn ty_unchecked<M: RefMode>(region: &TaggedRegion, payload: Address) -> u32 {
        if packed::<M>() {
            // SAFETY: the caller's contract.
            let w = unsafe { region.read_unchecked::<u64>(Self::at::<M>(payload)) };
            ((w >> PACKED_TYPE_SHIFT) & PACKED_TYPE_MASK) as u32
        } else {
            // SAFETY: the caller's contract.
            unsafe { Self::read_unchecked::<M>(region, payload) }.ty()
        }
    }

    /// Writes this header before `payload`.
    #[inline(always)]
    pub(crate) fn write<M: RefMode>(
        self,
        region: &mut TaggedRegion,
        payload: Address,
    ) -> Result<(), CapFault> {
        if packed::<M>() {
            region.write::<u64>(Self::at::<M>(payload), self.pack())
        } else {
            region.write::<u128>(Self::at::<M>(payload), self.0)
        }
    }

    /// The header address of a payload: also its cell's start, the
    /// header being the cell alignment's size in every mode.
    #[inline(always)]
    pub(crate) fn at<M: RefMode>(payload: Address) -> Address {
        Address(payload.get().wrapping_sub(header_size::<M>()))
    }

    /// Native's one word for this header (module docs). The type index
    /// must be below [`PACKED_MAX_TYPES`] and the length at most
    /// [`PACKED_MAX_LEN`] (the allocators refuse others in Native).
    #[inline(always)]
    pub(crate) fn pack(self) -> u64 {
        if let Some(to) = self.forwarded_to() {
            return to.get() | PACKED_FORWARDED;
        }
        debug_assert!(u64::from(self.ty()) <= PACKED_TYPE_MASK && self.len() <= PACKED_MAX_LEN);
        let flags = u64::from(self.flags());
        let ty = (u64::from(self.ty()) & PACKED_TYPE_MASK) << PACKED_TYPE_SHIFT;
        let pinned = (flags & u64::from(PINNED)) * PACKED_PINNED;
        let stray = (flags >> 8 << 2) & PACKED_STRAY;
        ty | pinned | stray | self.len() << PACKED_LEN_SHIFT
    }

    /// The header Native's word `w` holds (module docs).
    #[inline(always)]
    pub(crate) fn unpack(w: u64) -> Header {
        if w & PACKED_FORWARDED != 0 {
            return Header(u128::from(FORWARDED) << 32 | u128::from(w & !PACKED_FORWARDED) << 64);
        }
        let ty = (w >> PACKED_TYPE_SHIFT) & PACKED_TYPE_MASK;
        let pinned = (w & PACKED_PINNED) / PACKED_PINNED * u64::from(PINNED);
        let flags = pinned | (w & PACKED_STRAY) << 6;
        Header(u128::from(ty) | u128::from(flags) << 32 | u128::from(w >> PACKED_LEN_SHIFT) << 64)
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

    #[test]
    fn native_packs_into_one_word() {
        for (ty, len, pinned) in [(0, 0, false), (7, 16, false), (3, 24, true)] {
            let h = Header::new(ty, len, pinned);
            assert_eq!(Header::unpack(h.pack()), h);
        }
        // The C fast path's word: type << 8 | length << 32, flags 0.
        assert_eq!(Header::new(5, 16, false).pack(), 5 << 8 | 16 << 32);
        assert_eq!(
            Header::new((1 << 24) - 1, u64::from(u32::MAX), true).pack(),
            0xffff_ffff_ffff_ff02
        );
        // Forwarded: the new payload address + 1, nothing else kept.
        let f = Header::new(9, 16, false).forwarding(Address(0x7000_0018));
        assert_eq!(f.pack(), 0x7000_0019);
        assert_eq!(
            Header::unpack(f.pack()).forwarded_to(),
            Some(Address(0x7000_0018))
        );
        // Stray bits 2..8 survive a round trip and never look fresh.
        for stray in [4u64, 0x80, 0xfc] {
            let h = Header::unpack(7 << 8 | stray | 16 << 32);
            assert_eq!(h.pack(), 7 << 8 | stray | 16 << 32);
            assert_ne!(h, Header::new(h.ty(), h.len(), false));
            assert_eq!(h.forwarded_to(), None);
            assert!(!h.is_pinned());
        }
    }
}
