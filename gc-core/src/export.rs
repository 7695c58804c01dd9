//! By-value references for code outside the heap's tagged memory:
//! [`ExternRef`], what the C ABI's `capgc_ref_t` carries.
//!
//! A reference that has left tagged memory has no tag, so in the checked
//! modes its bits cannot be trusted on the way back. An exported
//! reference is therefore authenticated — pointer authentication, in
//! software — and [`Heap::import_ref`] is a re-entry through validation
//! against the heap's own state, never a trust of bits:
//!
//! ```text
//!   word 0   the payload address
//!   word 1   bits 63..48  the collection epoch (its low 16 bits)
//!            bits 47..42  the permission view (the object permissions kept)
//!            bits 41..0   MAC: SipHash-2-4 under the heap's 128-bit random
//!                         key of (address, view, full epoch), truncated
//!                         (two words: the address, epoch << 6 | view)
//! ```
//!
//! Import recomputes the MAC for the epoch the token names (the latest one
//! with those low bits): a mismatch is [`GcError::Forged`] — garbage,
//! fabricated or bit-flipped words, another heap's token (another key), a
//! widened view —, a match from an earlier epoch is
//! [`GcError::StaleReference`] (the epoch rule of [`ObjRef`]: a freed cell
//! since reused is refused, never taken for its new occupant). Only then
//! is the reference re-derived from the heap's authority, with exact
//! bounds over the live object at that address and the view's
//! permissions (I1, I5).
//!
//! **Strength.** A fabricated token passes with probability 2^-42 per
//! attempt (the truncated MAC; the key is never revealed: a token is a
//! MAC output, and SipHash is a PRF), and each failed attempt is
//! reported. That is the guarantee against code that can only call the
//! API; native code in the same process can read the key from memory, as
//! it can read any byte: on CHERI hardware the tag, not the MAC, stops it
//! (docs/design.md "Threat model").
//!
//! In the unchecked modes an exported reference is the address alone,
//! and import checks only that it is a live object's payload start.
//!
//! **The token cache** (checked modes). A C VM exports and imports the
//! same few references over and over inside one epoch (an allocation's
//! result stored, loaded back, passed to the next call), and the MAC plus
//! the re-derivation cost some 600 instructions per import. So the heap
//! keeps a direct-mapped cache of the pairs (token bits, reference) it
//! produced or accepted in the current epoch, [`TokenCache`]: an import
//! whose two words equal an entry's, of an entry whose reference carries
//! the current stamp, returns that entry's reference; an export of
//! exactly an entry's capability bits returns that entry's token. Why
//! this is still checked: an entry is written only (a) by an export, with
//! the token that export computed, for a reference the heap itself
//! derived exactly in this epoch (vouched: exact bounds over a live
//! object, at most the object rights; so it is what importing the token
//! re-derives — same object, bounds and view), or (b) by an import that
//! passed the full check, with the reference it re-derived. The MAC is a
//! function of (address, view, epoch), so the bits an entry holds are
//! exactly bits the full check accepts now and maps to that reference; a
//! hit needs all 128 bits equal, so the cache accepts a subset of what
//! the MAC accepts, and no forged, flipped, widened or cross-heap token
//! (each fails the MAC) is ever an entry. An entry's reference carries
//! the stamp of its epoch, unique to this heap and epoch; every
//! collection (and poisoning) starts a new stamp, so an entry of an
//! earlier epoch never hits and its token takes the full path, which
//! reports [`GcError::StaleReference`] as before. Nothing C writes
//! reaches the cache: it lives in the heap's Rust memory. The design
//! rejected: a table of exported references indexed by the token with a
//! random nonce per entry (no MAC at all) — unbounded within an epoch,
//! and a stale token could no longer be told from a forged one.

use crate::heap::VOUCHED;
use crate::{GcError, Heap, ObjRef};
use capability_heap::{Address, Perm, Perms, RefMode};
use core::cell::{Cell, OnceCell};
use core::hash::Hasher;
use siphasher::sip::SipHasher24;

/// A reference as bits, for code that keeps references outside tagged
/// memory (16 bytes: two registers in the C ABI). Holding one grants
/// nothing: [`Heap::import_ref`] validates it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ExternRef {
    /// The payload address.
    pub addr: u64,
    /// Epoch, permission view and MAC (checked modes); 0 otherwise.
    pub meta: u64,
}

impl ExternRef {
    /// The null reference's bits.
    pub const NULL: ExternRef = ExternRef { addr: 0, meta: 0 };
}

/// The object permissions a view may keep, one bit each.
const VIEW: [Perm; 6] = [
    Perm::Global,
    Perm::Load,
    Perm::Store,
    Perm::LoadCap,
    Perm::StoreCap,
    Perm::StoreLocalCap,
];
const EPOCH_SHIFT: u32 = 48;
const VIEW_SHIFT: u32 = 42;
const MAC_BITS: u32 = 42;
const MAC_MASK: u64 = (1 << MAC_BITS) - 1;

fn view_bits(p: Perms) -> u64 {
    VIEW.iter()
        .enumerate()
        .filter(|(_, q)| p.has(**q))
        .fold(0, |b, (i, _)| b | 1 << i)
}

fn view_perms(bits: u64) -> Perms {
    VIEW.iter()
        .enumerate()
        .filter(|(i, _)| bits >> i & 1 != 0)
        .fold(Perms::NONE, |p, (_, q)| p | Perms::from(*q))
}

/// A heap's MAC key.
#[derive(Clone, Copy)]
pub(crate) struct Key([u64; 2]);

impl Key {
    /// A fresh random key from the operating system.
    pub(crate) fn random() -> Result<Key, getrandom::Error> {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b)?;
        let w = |i: usize| u64::from_le_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        Ok(Key([w(0), w(8)]))
    }

    /// The token MAC of (address, view, epoch): SipHash-2-4 of the two
    /// words `addr` and `epoch << 6 | view` (an injective packing: a view
    /// has 6 bits and an epoch, a count of collections, stays below
    /// 2^58), truncated to [`MAC_BITS`].
    #[inline]
    fn mac(&self, addr: u64, view: u64, epoch: u64) -> u64 {
        debug_assert!(view < 1 << 6 && epoch < 1 << 58);
        sip24(self.0, [addr, epoch << 6 | view]) & MAC_MASK
    }
}

/// SipHash-2-4 under `key` of the message made of `words`' little-endian
/// bytes: the same value as `SipHasher24` fed `write_u64` of each word on
/// a little-endian machine (tested), computed word by word instead of
/// through the byte-buffering `Hasher` path (the token MAC is on every
/// allocation's export in the checked modes).
#[inline(always)]
fn sip24<const N: usize>(key: [u64; 2], words: [u64; N]) -> u64 {
    #[inline(always)]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    let mut v = [
        key[0] ^ 0x736f_6d65_7073_6575,
        key[1] ^ 0x646f_7261_6e64_6f6d,
        key[0] ^ 0x6c79_6765_6e65_7261,
        key[1] ^ 0x7465_6462_7974_6573,
    ];
    for m in words {
        v[3] ^= m;
        round(&mut v);
        round(&mut v);
        v[0] ^= m;
    }
    // The last block: no tail bytes, the message length in its top byte.
    let b = ((N as u64 * 8) & 0xff) << 56;
    v[3] ^= b;
    round(&mut v);
    round(&mut v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for _ in 0..4 {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

impl Key {
    /// A MAC over `words` (the full 64 bits): sealed-reference tokens.
    pub(crate) fn mac_words(&self, words: &[u64]) -> u64 {
        let mut h = SipHasher24::new_with_keys(self.0[0], self.0[1]);
        for w in words {
            h.write_u64(*w);
        }
        h.finish()
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Key(..)")
    }
}

/// Entries in a [`TokenCache`] (a power of two).
const CACHE_ENTRIES: usize = 1 << 14;

/// One entry of the token cache: a token and the reference it stands
/// for, in the epoch of the reference's stamp.
#[derive(Clone, Copy)]
struct CacheEntry<M: RefMode> {
    addr: u64,
    meta: u64,
    r: ObjRef<M>,
}

/// The checked modes' token cache (module docs, "The token cache"):
/// direct-mapped by payload address, allocated at the first export or
/// import (a heap the C ABI never sees pays nothing). Its entries are
/// `Cell`s: the heap is not `Sync`, and export and import take `&self`.
pub(crate) struct TokenCache<M: RefMode> {
    entries: OnceCell<Box<[Cell<CacheEntry<M>>]>>,
}

impl<M: RefMode> TokenCache<M> {
    /// An empty cache.
    pub(crate) fn new() -> TokenCache<M> {
        TokenCache {
            entries: OnceCell::new(),
        }
    }

    /// The entry index for payload address `addr`: cells are at least 32
    /// bytes apart in the checked modes (a 16-byte header and a slot).
    #[inline(always)]
    fn index(addr: u64) -> usize {
        (addr >> 5) as usize & (CACHE_ENTRIES - 1)
    }

    /// The entry for `addr`, once the cache exists.
    #[inline(always)]
    fn get(&self, addr: u64) -> Option<CacheEntry<M>> {
        self.entries
            .get()
            .and_then(|v| v.get(Self::index(addr)))
            .map(Cell::get)
    }

    /// Records that `e` stands for `r` in `r`'s epoch (see the module
    /// docs for who may call this). No entry hits before it is written:
    /// a null reference's stamp is never current.
    #[inline(always)]
    fn put(&self, e: ExternRef, r: ObjRef<M>) {
        let entries = self.entries.get_or_init(|| {
            let empty = CacheEntry {
                addr: 0,
                meta: 0,
                r: ObjRef::null(),
            };
            (0..CACHE_ENTRIES).map(|_| Cell::new(empty)).collect()
        });
        if let Some(slot) = entries.get(Self::index(e.addr)) {
            slot.set(CacheEntry {
                addr: e.addr,
                meta: e.meta,
                r,
            });
        }
    }
}

impl<M: RefMode> Heap<M> {
    /// `r` as bits for code outside tagged memory: authenticated in the
    /// checked modes (see the module docs), the address in the unchecked
    /// ones.
    ///
    /// Inline: the checks every export makes and the token cache's hit;
    /// a miss computes the MAC out of line (`Heap::export_full`).
    #[inline(always)]
    pub fn export_ref(&self, r: &ObjRef<M>) -> Result<ExternRef, GcError> {
        if r.is_null() {
            return Ok(ExternRef::NULL);
        }
        self.live(r)?;
        let addr = r.address().get();
        if !M::CHECKED {
            return Ok(ExternRef { addr, meta: 0 });
        }
        // The cache: `live` proved `r`'s stamp current; an entry with the
        // same stamp and exactly these capability bits holds the token
        // computed below (the MAC is a function of the address, the
        // bits' view and the epoch), and those bits passed the checks
        // below when it was written (module docs, "The token cache").
        if let Some(c) = self.tokens.get(addr) {
            if c.addr == addr && c.r.raw == r.raw && c.r.stamp & !VOUCHED == r.stamp & !VOUCHED {
                return Ok(ExternRef { addr, meta: c.meta });
            }
        }
        self.export_full(r)
    }

    /// [`Heap::export_ref`] of a live, non-null reference in a checked
    /// mode that missed the cache: the checks, the MAC, and the cache's
    /// new entry.
    #[inline(never)]
    fn export_full(&self, r: &ObjRef<M>) -> Result<ExternRef, GcError> {
        let addr = r.address().get();
        // Only a reference is authenticated: data loaded from a slot (no
        // tag) would otherwise come back re-derived, a forgery laundered.
        if !M::is_valid(&r.raw) || !M::within_object_rights(&r.raw) {
            return Err(GcError::Cap(capability_heap::CapFault::TagViolation));
        }
        let view = view_bits(M::perms(&r.raw));
        let epoch = self.epoch();
        let mac = self.key.mac(addr, view, epoch);
        let e = ExternRef {
            addr,
            meta: (epoch & 0xffff) << EPOCH_SHIFT | view << VIEW_SHIFT | mac,
        };
        if r.stamp & VOUCHED != 0 {
            // Derived by this heap exactly over a live object in this
            // epoch: what importing `e` re-derives (module docs).
            self.tokens.put(e, *r);
        }
        Ok(e)
    }

    /// The reference `e` stands for, validated against this heap's state
    /// and re-derived from its authority: [`GcError::Forged`] unless this
    /// heap exported exactly these bits, [`GcError::StaleReference`] if it
    /// did before the last collection (checked modes);
    /// [`GcError::NotAnObject`] unless the address is a live object's
    /// payload (unchecked modes).
    ///
    /// Inline: the token cache's hit; everything else out of line
    /// (`Heap::import_miss`).
    #[inline(always)]
    pub fn import_ref(&self, e: ExternRef) -> Result<ObjRef<M>, GcError> {
        if M::CHECKED && !self.poisoned {
            // why this is still checked: a hit needs both words equal to
            // an entry's, whose reference carries the current stamp; the
            // cache holds only tokens the full check accepts now, with
            // the reference it would return (module docs, "The token
            // cache"). A null token never hits: no entry has address 0
            // with the current stamp (`TokenCache::put`). A poisoned heap
            // takes the path below, which refuses.
            if let Some(c) = self.tokens.get(e.addr) {
                if c.addr == e.addr
                    && c.meta == e.meta
                    && c.r.stamp & !VOUCHED == self.arena.stamp()
                {
                    return Ok(c.r);
                }
            }
        }
        self.import_miss(e)
    }

    /// [`Heap::import_ref`] past the cache: the poison check, null, the
    /// full check and the cache's new entry.
    #[inline(never)]
    fn import_miss(&self, e: ExternRef) -> Result<ObjRef<M>, GcError> {
        self.usable()?;
        if e == ExternRef::NULL {
            return Ok(ObjRef::null());
        }
        let r = self.import_full(e)?;
        if M::CHECKED {
            self.tokens.put(e, r);
        }
        Ok(r)
    }

    /// [`Heap::import_ref`] without the cache: the MAC, the epoch and the
    /// re-derivation.
    fn import_full(&self, e: ExternRef) -> Result<ObjRef<M>, GcError> {
        let addr = Address(e.addr);
        let view = if M::CHECKED {
            let now = self.epoch();
            // The latest epoch up to now with these low 16 bits; one
            // "before epoch 0" was never issued.
            let back = now.wrapping_sub(e.meta >> EPOCH_SHIFT) & 0xffff;
            let epoch = now.checked_sub(back).ok_or(GcError::Forged)?;
            let view = e.meta >> VIEW_SHIFT & 0x3f;
            if self.key.mac(e.addr, view, epoch) != e.meta & MAC_MASK {
                return Err(GcError::Forged);
            }
            if epoch != now {
                return Err(GcError::StaleReference);
            }
            Some(view_perms(view))
        } else {
            None
        };
        // A genuine token of this epoch names a live object; the check
        // stands anyway (and is all the unchecked modes have).
        let h = self.arena.object_at(addr).ok_or(if M::CHECKED {
            GcError::Forged
        } else {
            GcError::NotAnObject
        })?;
        let bounds = M::payload_layout(h.len())
            .ok_or(GcError::NotAnObject)?
            .bounds;
        let raw = self.arena.derive(addr, bounds)?;
        let raw = match view {
            Some(p) => M::restrict(&raw, p)?,
            None => raw,
        };
        Ok(self.stamped(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HeapConfig, Plan};
    use capability_heap::{Morello, Native, SoftCheri};

    /// The word-wise SipHash is SipHash-2-4: the siphasher crate's value.
    #[test]
    #[cfg(target_endian = "little")]
    fn sip24_is_siphash_2_4() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..200 {
            x = x.rotate_left(17).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5851_f42d;
            let key = [x, x.rotate_left(29) ^ 0xdead_beef];
            let words = [x ^ 1, x.wrapping_mul(3)];
            let mut h = SipHasher24::new_with_keys(key[0], key[1]);
            h.write_u64(words[0]);
            h.write_u64(words[1]);
            assert_eq!(sip24(key, words), h.finish());
            let mut h = SipHasher24::new_with_keys(key[0], key[1]);
            for w in [x, !x, x >> 3] {
                h.write_u64(w);
            }
            assert_eq!(sip24(key, [x, !x, x >> 3]), h.finish());
        }
    }

    #[test]
    fn views_round_trip() {
        for bits in 0..64 {
            assert_eq!(view_bits(view_perms(bits)), bits);
        }
        assert_eq!(view_perms(view_bits(Perms::OBJECT)), Perms::OBJECT);
    }

    #[test]
    fn exported_references_come_back_and_nothing_else_does() {
        type M = SoftCheri<Morello>;
        let mut h = Heap::<M>::new(HeapConfig {
            plan: Plan::MarkSweep,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let node = h.record_type(1, 8).unwrap();
        let a = h.alloc(node).unwrap();
        let ha = h.handle(&a).unwrap();
        let e = h.export_ref(&a).unwrap();
        assert_eq!(h.import_ref(e).unwrap(), a);
        // A read-only view stays read-only through the bits.
        let ro = h.restrict(&a, Perms::LOAD | Perms::LOAD_CAP).unwrap();
        let er = h.export_ref(&ro).unwrap();
        assert!(h.write::<u64>(&h.import_ref(er).unwrap(), 16, 1).is_err());
        // Every single bit flipped: refused.
        for bit in 0..128 {
            let mut f = e;
            if bit < 64 {
                f.addr ^= 1 << bit;
            } else {
                f.meta ^= 1 << (bit - 64);
            }
            assert_eq!(h.import_ref(f), Err(GcError::Forged), "bit {bit}");
        }
        // Data over a reference slot is no reference, and is not exported.
        let holder = h.record_type(1, 0).unwrap();
        let x = h.alloc(holder).unwrap();
        let a = h.get(ha).unwrap();
        let (pesbt, cursor) = a.raw().to_bits();
        h.write_bytes(
            &x,
            0,
            &(u128::from(pesbt) << 64 | u128::from(cursor)).to_le_bytes(),
        )
        .unwrap();
        let data = h.get_ref(&x, 0).unwrap();
        assert_eq!(data.address(), a.address());
        assert!(h.export_ref(&data).is_err(), "untagged bits exported");
        // After a collection: stale, whatever became of the cell.
        h.collect().unwrap();
        assert_eq!(h.import_ref(e), Err(GcError::StaleReference));
        let a = h.get(ha).unwrap();
        assert_eq!(h.import_ref(h.export_ref(&a).unwrap()).unwrap(), a);
        // Unchecked: the address, checked for a live object only.
        let mut n = Heap::<Native>::new(HeapConfig::default()).unwrap();
        let t = n.record_type(0, 8).unwrap();
        let o = n.alloc(t).unwrap();
        let eo = n.export_ref(&o).unwrap();
        assert_eq!(eo.meta, 0);
        assert_eq!(n.import_ref(eo).unwrap().address(), o.address());
        assert_eq!(
            n.import_ref(ExternRef {
                addr: eo.addr + 8,
                meta: 0
            }),
            Err(GcError::NotAnObject)
        );
    }
}
