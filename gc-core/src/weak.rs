//! Weak references, ephemerons and finalization registrations.
//!
//! - A **weak reference** does not keep its target alive; after the
//!   collection that finds the target unreachable it reads as empty, and
//!   while the target lives it follows it when it moves.
//! - An **ephemeron** (a weak-keyed pair, as in JS `WeakMap` or Lua weak
//!   tables) keeps its value alive only while its key is alive through
//!   something other than the ephemeron; when the key dies both are
//!   cleared. Tracing runs ephemerons to a fixpoint
//!   (`trace::ephemeron`).
//! - A **finalization registration** (`obj`, token) delivers the token
//!   once `obj` is found unreachable ([`crate::Heap::take_finalized`]).
//!   Resurrection rule: none is possible — as with JS
//!   `FinalizationRegistry`, the callback side receives only the token,
//!   never the object, which is freed in the same collection. A VM that
//!   needs the object's data keeps it in a separate object reachable from
//!   the token's owner.
//!
//! Entries are kept undecoded (`Collector::Raw`), the form the collector
//! traces and rewrites; each table is a [`Slab`], each token carries its
//! heap's identity.

use crate::heap::HeapId;
use crate::slab::{Key, Slab};
use crate::trace::{ephemeron, Tracer};
use crate::verify::RefLocation;
use crate::{GcError, Heap, ObjRef};
use capability_heap::RefMode;

/// A weak reference slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WeakRef {
    heap: HeapId,
    key: Key,
}

/// An ephemeron slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ephemeron {
    heap: HeapId,
    key: Key,
}

/// A finalization registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Finalizer {
    heap: HeapId,
    key: Key,
}

crate::slab::token_bits!(WeakRef, Ephemeron, Finalizer);

/// An ephemeron's (key, value) as references of the current epoch.
pub type EphemeronPair<M> = (ObjRef<M>, ObjRef<M>);

/// The weak tables of a heap.
pub(crate) struct WeakTables<M: RefMode> {
    heap: HeapId,
    /// Weak slots: the target, `None` once cleared.
    weak: Slab<Option<M::Raw>>,
    /// Ephemerons: (key, value), `None` once cleared.
    ephemerons: Slab<Option<(M::Raw, M::Raw)>>,
    /// Registrations: object and token.
    finalizers: Slab<(M::Raw, u64)>,
    /// Tokens of objects found unreachable, not yet taken.
    ready: Vec<u64>,
}

impl<M: RefMode> WeakTables<M> {
    pub(crate) fn new(heap: HeapId) -> Self {
        WeakTables {
            heap,
            weak: Slab::new(),
            ephemerons: Slab::new(),
            finalizers: Slab::new(),
            ready: Vec::new(),
        }
    }

    /// After the strong roots are traced: ephemerons to a fixpoint, then
    /// every weak entry gets the collector's verdict — its target's
    /// survivor (re-derived if it moved, I8), or cleared.
    pub(crate) fn trace<T: Tracer<M>>(&mut self, t: &mut T) {
        ephemeron::fixpoint(&mut self.ephemerons, t);
        for e in self.weak.iter_mut() {
            if let Some(r) = e {
                *e = t.survivor(r);
            }
        }
        for e in self.ephemerons.iter_mut() {
            if let Some((k, v)) = e {
                // A null value is a value: kept while the key lives. (Only
                // null is not valid: `storable` admits nothing else.)
                let v = if M::raw_is_valid(v) {
                    t.survivor(v)
                } else {
                    Some(*v)
                };
                *e = t.survivor(k).zip(v);
            }
        }
        let ready = &mut self.ready;
        self.finalizers.retain(|(r, token)| match t.survivor(r) {
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

    /// Calls `f` with every reference the tables hold and where it is.
    pub(crate) fn for_each(&self, mut f: impl FnMut(RefLocation, M::Ref)) {
        for (i, e) in self.weak.iter() {
            if let Some(r) = e {
                f(RefLocation::Weak(i), M::from_raw(r));
            }
        }
        for (i, e) in self.ephemerons.iter() {
            if let Some((k, v)) = e {
                f(RefLocation::Ephemeron(i), M::from_raw(k));
                f(RefLocation::Ephemeron(i), M::from_raw(v));
            }
        }
        for (i, (r, _)) in self.finalizers.iter() {
            f(RefLocation::Finalizer(i), M::from_raw(r));
        }
    }
}

impl<M: RefMode> Heap<M> {
    /// A weak reference to `obj`.
    pub fn weak_new(&mut self, obj: &ObjRef<M>) -> Result<WeakRef, GcError> {
        self.storable(obj)?;
        let key = self.weak.weak.insert(Some(M::to_raw(&obj.raw)))?;
        Ok(WeakRef {
            heap: self.weak.heap,
            key,
        })
    }

    /// The target of a weak reference, or `None` once it has been
    /// collected.
    pub fn weak_get(&self, w: WeakRef) -> Result<Option<ObjRef<M>>, GcError> {
        self.weak.heap.owns(w.heap)?;
        self.usable()?;
        let e = self.weak.weak.get(w.key).ok_or(GcError::InvalidHandle)?;
        Ok(e.map(|r| self.stamped(M::from_raw(&r))))
    }

    /// Releases a weak reference slot.
    pub fn weak_release(&mut self, w: WeakRef) -> Result<(), GcError> {
        self.weak.heap.owns(w.heap)?;
        self.weak
            .weak
            .remove(w.key)
            .map(drop)
            .ok_or(GcError::InvalidHandle)
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
        let pair = (M::to_raw(&key.raw), M::to_raw(&value.raw));
        let k = self.weak.ephemerons.insert(Some(pair))?;
        Ok(Ephemeron {
            heap: self.weak.heap,
            key: k,
        })
    }

    /// The (key, value) of an ephemeron, or `None` once the key died.
    pub fn ephemeron_get(&self, e: Ephemeron) -> Result<Option<EphemeronPair<M>>, GcError> {
        self.weak.heap.owns(e.heap)?;
        self.usable()?;
        let p = self
            .weak
            .ephemerons
            .get(e.key)
            .ok_or(GcError::InvalidHandle)?;
        Ok(p.map(|(k, v)| (self.stamped(M::from_raw(&k)), self.stamped(M::from_raw(&v)))))
    }

    /// Releases an ephemeron slot.
    pub fn ephemeron_release(&mut self, e: Ephemeron) -> Result<(), GcError> {
        self.weak.heap.owns(e.heap)?;
        self.weak
            .ephemerons
            .remove(e.key)
            .map(drop)
            .ok_or(GcError::InvalidHandle)
    }

    /// Registers `token` to be delivered by [`Heap::take_finalized`] after
    /// the collection that finds `obj` unreachable. The registration does
    /// not keep `obj` alive; the object itself is never handed back (no
    /// resurrection).
    pub fn register_finalizer(
        &mut self,
        obj: &ObjRef<M>,
        token: u64,
    ) -> Result<Finalizer, GcError> {
        self.storable(obj)?;
        if obj.is_null() {
            return Err(GcError::NullReference);
        }
        let key = self.weak.finalizers.insert((M::to_raw(&obj.raw), token))?;
        Ok(Finalizer {
            heap: self.weak.heap,
            key,
        })
    }

    /// Cancels a registration whose token has not been delivered.
    pub fn unregister_finalizer(&mut self, f: Finalizer) -> Result<(), GcError> {
        self.weak.heap.owns(f.heap)?;
        self.weak
            .finalizers
            .remove(f.key)
            .map(drop)
            .ok_or(GcError::InvalidHandle)
    }

    /// Tokens of finalizable objects found unreachable since the last call,
    /// in the order they were found.
    pub fn take_finalized(&mut self) -> Vec<u64> {
        std::mem::take(&mut self.weak.ready)
    }

    /// At most `n` of [`Heap::take_finalized`]'s tokens, the oldest; the
    /// rest wait for the next call.
    pub fn take_finalized_up_to(&mut self, n: usize) -> Vec<u64> {
        let n = n.min(self.weak.ready.len());
        self.weak.ready.drain(..n).collect()
    }

    /// How many tokens wait to be taken.
    pub fn finalized_pending(&self) -> usize {
        self.weak.ready.len()
    }
}
