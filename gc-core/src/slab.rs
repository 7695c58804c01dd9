//! [`Slab`]: the one table type behind every token a heap hands out —
//! handles, persistent roots, root regions, weak references, ephemerons
//! and finalization registrations.
//!
//! An entry is addressed by a [`Key`]: its index and the *serial* it was
//! filled with — a number the slab never hands out twice (a 64-bit
//! counter: it cannot wrap in the life of a process). Releasing an entry
//! empties it, and refilling it gives it a new serial, so a key of an
//! earlier occupant is refused (stale index detected), never taken for
//! the new one, however often the entry is reused. A token pairs a key
//! with its heap's identity (checked by the heap before the slab is
//! asked).
//!
//! Two disciplines share the type: `insert`/`remove` reuse released
//! entries (free list); `push`/`truncate` keep the live entries a prefix,
//! so closing a handle scope is a `Vec::truncate` (handle scopes are a
//! stack). A slab uses one or the other.
//!
//! Rejected: a generation counter per entry. It needs a bump per release
//! (a loop over the released tail when a scope closes) and a rule for
//! the entry whose counter runs out; one serial counter per slab needs
//! neither.

use crate::GcError;

/// An entry's index and serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    index: u32,
    serial: u64,
}

impl Key {
    /// The key as two numbers (for tokens that cross the C ABI).
    pub(crate) fn to_bits(self) -> (u32, u64) {
        (self.index, self.serial)
    }

    /// A key from numbers: any pair is safe, a wrong one is stale.
    pub(crate) fn from_bits(index: u32, serial: u64) -> Key {
        Key { index, serial }
    }
}

/// `to_bits`/`from_bits` for a token type `{ heap: HeapId, key: Key }`:
/// word 0 holds the heap identity and the index, word 1 the serial. Bits
/// from anywhere make a safe token: a wrong heap is
/// [`GcError::WrongHeap`], a wrong index or serial a stale token.
macro_rules! token_bits {
    ($($t:ty),*) => {$(
        impl $t {
            /// The token as two words, for code that keeps it as bits (the
            /// C ABI).
            pub fn to_bits(self) -> [u64; 2] {
                let (index, serial) = self.key.to_bits();
                [u64::from(self.heap.bits()) << 32 | u64::from(index), serial]
            }

            /// A token from [`Self::to_bits`]' words. Any bits are safe:
            /// they name this heap's entry or are refused.
            pub fn from_bits(w: [u64; 2]) -> Self {
                Self {
                    heap: crate::heap::HeapId::from_bits((w[0] >> 32) as u32),
                    key: crate::slab::Key::from_bits(w[0] as u32, w[1]),
                }
            }
        }
    )*};
}
pub(crate) use token_bits;

struct Entry<T> {
    value: Option<T>,
    serial: u64,
}

/// A table of values addressed by keys that are never reused.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Released entries (free-list discipline).
    free: Vec<u32>,
    /// The serial the next filled entry gets.
    next: u64,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            next: 1,
        }
    }

    #[inline(always)]
    fn serial(&mut self) -> u64 {
        let s = self.next;
        self.next += 1;
        s
    }

    /// Appends an entry, fallibly: a huge table is an error, never an
    /// abort.
    #[inline(always)]
    fn append(&mut self, value: T) -> Result<Key, GcError> {
        let len = self.entries.len();
        if len == self.entries.capacity() {
            return self.append_growing(value);
        }
        let index = len as u32;
        let serial = self.serial();
        self.entries.push(Entry {
            value: Some(value),
            serial,
        });
        Ok(Key { index, serial })
    }

    /// [`Slab::append`] when the table is full: grows it first. Out of
    /// line, so that the append's fast path is a few stores with no
    /// registers saved for a call.
    #[cold]
    #[inline(never)]
    fn append_growing(&mut self, value: T) -> Result<Key, GcError> {
        self.grow()?;
        self.append(value)
    }

    #[cold]
    fn grow(&mut self) -> Result<(), GcError> {
        let len = self.entries.len();
        let full = GcError::OutOfMemory {
            requested: len as u64 + 1,
            limit: u64::from(u32::MAX),
        };
        if len >= u32::MAX as usize {
            return Err(full);
        }
        self.entries.try_reserve(len.max(16)).map_err(|_| full)
    }

    /// Stores `value` in a released entry, or a new one (free list).
    pub(crate) fn insert(&mut self, value: T) -> Result<Key, GcError> {
        match self.free.pop() {
            Some(index) => {
                let serial = self.serial();
                self.entries[index as usize] = Entry {
                    value: Some(value),
                    serial,
                };
                Ok(Key { index, serial })
            }
            None => self.append(value),
        }
    }

    /// Releases the entry `k` names; `None` when `k` is stale.
    pub(crate) fn remove(&mut self, k: Key) -> Option<T> {
        let e = self.entries.get_mut(k.index as usize)?;
        if e.serial != k.serial {
            return None;
        }
        let v = e.value.take()?;
        self.free.push(k.index);
        Some(v)
    }

    /// Stores `value` on top of the stack (stack discipline).
    #[inline(always)]
    pub(crate) fn push(&mut self, value: T) -> Result<Key, GcError> {
        self.append(value)
    }

    /// [`Slab::push`] when the table has room, else `None` (the caller's
    /// slow path pushes, growing the table): no call, no error to build.
    #[inline(always)]
    pub(crate) fn push_within_capacity(&mut self, value: T) -> Option<Key> {
        let len = self.entries.len();
        if len == self.entries.capacity() {
            return None;
        }
        let serial = self.serial();
        self.entries.push(Entry {
            value: Some(value),
            serial,
        });
        Some(Key {
            index: len as u32,
            serial,
        })
    }

    /// The stack height (stack discipline): what a scope remembers.
    #[inline(always)]
    pub(crate) fn height(&self) -> usize {
        self.entries.len()
    }

    /// Releases every entry at or above `height` (stack discipline).
    #[inline(always)]
    pub(crate) fn truncate(&mut self, height: usize) {
        self.entries.truncate(height);
    }

    /// The entry `k` names, unless stale.
    #[inline(always)]
    pub(crate) fn get(&self, k: Key) -> Option<&T> {
        let e = self.entries.get(k.index as usize)?;
        if e.serial != k.serial {
            return None;
        }
        e.value.as_ref()
    }

    /// The entry `k` names, for writing, unless stale.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, k: Key) -> Option<&mut T> {
        let e = self.entries.get_mut(k.index as usize)?;
        if e.serial != k.serial {
            return None;
        }
        e.value.as_mut()
    }

    /// Every entry in use, with its index.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (u32, &T)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.value.as_ref().map(|v| (i as u32, v)))
    }

    /// Every entry in use, for writing.
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.entries.iter_mut().filter_map(|e| e.value.as_mut())
    }

    /// Releases every entry for which `keep` is false (as by
    /// [`Slab::remove`]).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let Some(v) = e.value.as_mut() {
                if !keep(v) {
                    e.value = None;
                    self.free.push(i as u32);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_released_key_stays_invalid_after_reuse() {
        let mut s = Slab::new();
        let a = s.insert(1).unwrap();
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2).unwrap();
        assert_eq!(a.index, b.index, "the entry is reused");
        assert_eq!(s.get(a), None, "the old key is stale");
        assert_eq!(s.remove(a), None);
        assert_eq!(s.get(b), Some(&2));
        assert_eq!(
            s.get(Key {
                index: 99,
                serial: 1
            }),
            None
        );
        // However often the entry is reused.
        for _ in 0..1000 {
            let k = s.insert(3).unwrap();
            s.remove(k).unwrap();
            assert_eq!(s.get(a), None);
        }
    }

    #[test]
    fn stack_truncate_invalidates_everything_above() {
        let mut s = Slab::new();
        let a = s.push('a').unwrap();
        let h = s.height();
        let b = s.push('b').unwrap();
        s.truncate(h);
        assert_eq!((s.get(a), s.get(b)), (Some(&'a'), None));
        let c = s.push('c').unwrap();
        assert_eq!(c.index, b.index);
        assert_eq!((s.get(b), s.get(c)), (None, Some(&'c')));
    }

    #[test]
    fn serials_are_never_reused() {
        let mut s = Slab::new();
        let mut seen = std::collections::HashSet::new();
        for i in 0..100 {
            let k = s.push(i).unwrap();
            assert!(seen.insert(k.serial));
            if i % 3 == 0 {
                s.truncate(0);
            }
        }
    }
}
