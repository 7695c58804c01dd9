//! Weak references, ephemerons and finalization registrations.
//!
//! - A **weak reference** does not keep its target alive; after the
//!   collection that finds the target unreachable it reads as empty, and
//!   while the target lives it follows it when it moves.
//! - An **ephemeron** (a weak-keyed pair, as in JS `WeakMap` or Lua weak
//!   tables) keeps its value alive only while its key is alive through
//!   something other than the ephemeron; when the key dies both are
//!   cleared. Tracing runs ephemerons to a fixpoint.
//! - A **finalization registration** (`obj`, token) delivers the token
//!   once `obj` is found unreachable ([`crate::Heap::take_finalized`]).
//!   Resurrection rule: none is possible — as with JS
//!   `FinalizationRegistry`, the callback side receives only the token,
//!   never the object, which is freed in the same collection. A VM that
//!   needs the object's data keeps it in a separate object reachable from
//!   the token's owner.

use crate::ObjRef;
use capability_heap::RefMode;

/// A weak reference slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WeakRef {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// An ephemeron slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ephemeron {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

/// A table entry: contents (None once cleared or released), generation,
/// and whether the slot is in use.
type Entry<T> = (Option<T>, u32, bool);

/// An ephemeron's (key, value) as references of the current epoch.
pub type EphemeronPair<M> = (ObjRef<M>, ObjRef<M>);

/// The weak tables of a heap.
pub(crate) struct WeakTables<M: RefMode> {
    /// Weak slots: target (None once cleared or released) and generation.
    pub(crate) weak: Vec<Entry<M::Ref>>,
    /// Ephemerons: (key, value) (None once cleared), generation, in use.
    pub(crate) ephemerons: Vec<Entry<(M::Ref, M::Ref)>>,
    /// Registrations: object and token.
    pub(crate) finalizers: Vec<(M::Ref, u64)>,
    /// Tokens of objects found unreachable, not yet taken.
    pub(crate) ready: Vec<u64>,
}

impl<M: RefMode> WeakTables<M> {
    pub(crate) fn new() -> Self {
        WeakTables {
            weak: Vec::new(),
            ephemerons: Vec::new(),
            finalizers: Vec::new(),
            ready: Vec::new(),
        }
    }

    /// Applies the collector's verdict to every weak entry: `alive` says
    /// whether a target survives and gives its (possibly moved) reference.
    pub(crate) fn sweep(&mut self, mut alive: impl FnMut(&M::Ref) -> Option<M::Ref>) {
        for (t, _, _) in &mut self.weak {
            if let Some(r) = t {
                *t = alive(r);
            }
        }
        for (e, _, _) in &mut self.ephemerons {
            if let Some((k, v)) = e {
                *e = match (alive(k), alive(v)) {
                    (Some(k), Some(v)) => Some((k, v)),
                    _ => None,
                };
            }
        }
        let ready = &mut self.ready;
        self.finalizers.retain_mut(|(r, token)| match alive(r) {
            Some(n) => {
                *r = n;
                true
            }
            None => {
                ready.push(*token);
                false
            }
        });
    }
}

use crate::{GcError, Heap};

impl<M: RefMode> Heap<M> {
    /// A weak reference to `obj`.
    pub fn weak_new(&mut self, obj: &ObjRef<M>) -> Result<WeakRef, GcError> {
        self.storable(obj)?;
        let t = &mut self.weak.weak;
        let index = match t.iter().position(|e| !e.2) {
            Some(i) => {
                t[i] = (Some(obj.raw), t[i].1, true);
                i
            }
            None => {
                t.push((Some(obj.raw), 0, true));
                t.len() - 1
            }
        };
        Ok(WeakRef {
            index: index as u32,
            generation: t[index].1,
        })
    }

    /// The target of a weak reference, or `None` once it has been
    /// collected.
    pub fn weak_get(&self, w: WeakRef) -> Result<Option<ObjRef<M>>, GcError> {
        match self.weak.weak.get(w.index as usize) {
            Some((t, g, true)) if *g == w.generation => Ok(t.map(|raw| ObjRef {
                raw,
                epoch: self.epoch,
            })),
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// Releases a weak reference slot.
    pub fn weak_release(&mut self, w: WeakRef) -> Result<(), GcError> {
        match self.weak.weak.get_mut(w.index as usize) {
            Some(e) if e.1 == w.generation && e.2 => {
                *e = (None, e.1.wrapping_add(1), false);
                Ok(())
            }
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// An ephemeron: `value` is kept alive exactly as long as `key` is kept
    /// alive by something else.
    pub fn ephemeron_new(
        &mut self,
        key: &ObjRef<M>,
        value: &ObjRef<M>,
    ) -> Result<Ephemeron, GcError> {
        self.storable(key)?;
        self.storable(value)?;
        let t = &mut self.weak.ephemerons;
        let pair = Some((key.raw, value.raw));
        let index = match t.iter().position(|e| !e.2) {
            Some(i) => {
                t[i] = (pair, t[i].1, true);
                i
            }
            None => {
                t.push((pair, 0, true));
                t.len() - 1
            }
        };
        Ok(Ephemeron {
            index: index as u32,
            generation: t[index].1,
        })
    }

    /// The (key, value) of an ephemeron, or `None` once the key died.
    pub fn ephemeron_get(&self, e: Ephemeron) -> Result<Option<EphemeronPair<M>>, GcError> {
        match self.weak.ephemerons.get(e.index as usize) {
            Some((p, g, true)) if *g == e.generation => Ok(p.map(|(k, v)| {
                (
                    ObjRef {
                        raw: k,
                        epoch: self.epoch,
                    },
                    ObjRef {
                        raw: v,
                        epoch: self.epoch,
                    },
                )
            })),
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// Releases an ephemeron slot.
    pub fn ephemeron_release(&mut self, e: Ephemeron) -> Result<(), GcError> {
        match self.weak.ephemerons.get_mut(e.index as usize) {
            Some(x) if x.1 == e.generation && x.2 => {
                *x = (None, x.1.wrapping_add(1), false);
                Ok(())
            }
            _ => Err(GcError::InvalidHandle),
        }
    }

    /// Registers `token` to be delivered by [`Heap::take_finalized`] after
    /// the collection that finds `obj` unreachable. The registration does
    /// not keep `obj` alive; the object itself is never handed back (no
    /// resurrection).
    pub fn register_finalizer(&mut self, obj: &ObjRef<M>, token: u64) -> Result<(), GcError> {
        self.storable(obj)?;
        self.weak.finalizers.push((obj.raw, token));
        Ok(())
    }

    /// Tokens of finalizable objects found unreachable since the last call,
    /// in the order they were found.
    pub fn take_finalized(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.weak.ready)
    }
}
