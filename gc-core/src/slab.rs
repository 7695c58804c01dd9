//! [`Slab`]: the one table type behind every token a heap hands out —
//! handles, persistent roots, root regions, weak references, ephemerons
//! and finalization registrations.
//!
//! An entry is addressed by a [`Key`]: its index and the generation it was
//! filled in. Releasing an entry bumps its generation, so a key of an
//! earlier occupant is refused (stale index detected), never taken for
//! the new one. Generations are 64-bit and an entry whose generation
//! would overflow is retired instead of reused, so no key ever becomes
//! valid again. A token pairs a key with its heap's identity (checked by
//! the heap before the slab is asked).
//!
//! Two disciplines share the type: `insert`/`remove` reuse released
//! entries (free list); `push`/`truncate` keep the live entries a prefix
//! (handle scopes are a stack). A slab uses one or the other.

use crate::GcError;

/// An entry's index and generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) index: u32,
    pub(crate) generation: u64,
}

struct Entry<T> {
    value: Option<T>,
    generation: u64,
}

/// A generational table.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    /// Released entries (free-list discipline).
    free: Vec<u32>,
    /// Entries in use below this index (stack discipline), or the number
    /// of entries ever made (free list).
    top: usize,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
            top: 0,
        }
    }

    /// Appends a new entry, fallibly (a huge table is an error, never an
    /// abort).
    fn grow(&mut self, value: T) -> Result<Key, GcError> {
        let index = u32::try_from(self.entries.len()).map_err(|_| GcError::OutOfMemory {
            requested: self.entries.len() as u64,
            limit: u64::from(u32::MAX),
        })?;
        self.entries
            .try_reserve(1)
            .map_err(|_| GcError::OutOfMemory {
                requested: self.entries.len() as u64 + 1,
                limit: self.entries.len() as u64,
            })?;
        self.entries.push(Entry {
            value: Some(value),
            generation: 0,
        });
        Ok(Key {
            index,
            generation: 0,
        })
    }

    /// Stores `value` in a released entry, or a new one (free list).
    pub(crate) fn insert(&mut self, value: T) -> Result<Key, GcError> {
        if let Some(index) = self.free.pop() {
            let e = &mut self.entries[index as usize];
            e.value = Some(value);
            return Ok(Key {
                index,
                generation: e.generation,
            });
        }
        let k = self.grow(value)?;
        self.top = self.entries.len();
        Ok(k)
    }

    /// Releases the entry `k` names; `None` when `k` is stale.
    pub(crate) fn remove(&mut self, k: Key) -> Option<T> {
        let e = self.entries.get_mut(k.index as usize)?;
        if e.generation != k.generation {
            return None;
        }
        let v = e.value.take()?;
        e.generation += 1;
        if e.generation != u64::MAX {
            self.free.push(k.index);
        }
        Some(v)
    }

    /// Stores `value` on top of the stack (stack discipline).
    pub(crate) fn push(&mut self, value: T) -> Result<Key, GcError> {
        // Skip retired entries (a generation at its maximum).
        while let Some(e) = self.entries.get_mut(self.top) {
            if e.generation == u64::MAX {
                self.top += 1;
                continue;
            }
            e.value = Some(value);
            let k = Key {
                index: self.top as u32,
                generation: e.generation,
            };
            self.top += 1;
            return Ok(k);
        }
        let k = self.grow(value)?;
        self.top = self.entries.len();
        Ok(k)
    }

    /// The stack height (stack discipline): what a scope remembers.
    pub(crate) fn height(&self) -> usize {
        self.top
    }

    /// Releases every entry at or above `height` (stack discipline).
    pub(crate) fn truncate(&mut self, height: usize) {
        for e in self.entries.iter_mut().take(self.top).skip(height) {
            // A retired entry (skipped by push) stays at the maximum.
            e.value = None;
            e.generation = e.generation.saturating_add(1);
        }
        self.top = self.top.min(height);
    }

    /// The entry `k` names, unless stale.
    #[inline(always)]
    pub(crate) fn get(&self, k: Key) -> Option<&T> {
        let e = self.entries.get(k.index as usize)?;
        if e.generation != k.generation {
            return None;
        }
        e.value.as_ref()
    }

    /// The entry `k` names, for writing, unless stale.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, k: Key) -> Option<&mut T> {
        let e = self.entries.get_mut(k.index as usize)?;
        if e.generation != k.generation {
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

    /// Releases every entry for which `keep` is false (generations bumped,
    /// as by [`Slab::remove`]).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&mut T) -> bool) {
        for (i, e) in self.entries.iter_mut().enumerate() {
            if let Some(v) = e.value.as_mut() {
                if !keep(v) {
                    e.value = None;
                    e.generation += 1;
                    if e.generation != u64::MAX {
                        self.free.push(i as u32);
                    }
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
                generation: 0
            }),
            None
        );
    }

    #[test]
    fn an_entry_at_its_last_generation_is_retired() {
        let mut s = Slab::new();
        let a = s.insert(1).unwrap();
        s.entries[0].generation = u64::MAX - 1;
        let a = Key {
            generation: u64::MAX - 1,
            ..a
        };
        assert_eq!(s.remove(a), Some(1));
        let b = s.insert(2).unwrap();
        assert_ne!(b.index, a.index, "retired, not reused");
        // Stack discipline skips it too.
        let mut t = Slab::new();
        let k = t.push(1).unwrap();
        t.entries[0].generation = u64::MAX - 1;
        t.truncate(0);
        assert_eq!(t.entries[0].generation, u64::MAX);
        let k2 = t.push(2).unwrap();
        assert_ne!(k2.index, k.index);
        assert_eq!(t.get(k), None);
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
}
