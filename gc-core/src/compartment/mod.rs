//! [`Compartments`]: one heap split into compartments that reach each
//! other only through sealed references (docs/design.md "Compartments", I7).
//!
//! Each compartment is a whole [`Heap`]: its own mapped region, its own
//! authority (bounds = that region, checked by [`Heap::verify`]), its own
//! allocator, plan and collector state, roots, types and statistics —
//! and its own object type for sealing. Everything a VM does inside one
//! compartment goes through [`Compartments::heap_mut`]; what crosses goes
//! through this type:
//!
//! - [`Compartments::seal`]: the owner *exports* an object — an entry of
//!   its export table (`link.rs`) now refers to it — and gets the entry's
//!   sealed form, a [`SealedRef`]. Another compartment can store it in
//!   its objects ([`Compartments::set_sealed`]) or root regions, copy it,
//!   load it back ([`Compartments::get_sealed`]) and hand it back; it can
//!   never dereference it (every access is refused by the capability, or
//!   [`GcError::SealedReference`] by the heap).
//! - [`Compartments::unseal`]: only the owner turns a sealed reference
//!   back into an object reference. The check is the capability one: the
//!   sealed form is opened with the unsealing compartment's *own*
//!   authority and sealer, which refuse another compartment's (an
//!   otype mismatch, or bounds) — [`GcError::UnsealDenied`].
//! - Export and import tables: a compartment's *export table* is its
//!   list of objects other compartments may hold sealed — roots of its
//!   independent collections; its *import table*
//!   ([`Compartments::imports`]) is the sealed references its own memory
//!   holds, which its collector copies and never follows, and which the
//!   whole-heap collection follows into their owners.
//! - An unsealed reference offered to another compartment — stored in a
//!   slot, a root region, a handle, a persistent, a weak table or an
//!   ephemeron — is [`GcError::CompartmentViolation`], counted.
//!
//! **Collection.** [`Compartments::collect`] collects one compartment
//! alone: its export table is a root (it cannot know who holds its sealed
//! references), its collector derives and writes only through its own
//! authority, and sealed references it holds into others are copied with
//! their holders, never followed. [`Compartments::collect_all`] is the
//! whole-heap collection: it marks across compartments from their own
//! roots only, following sealed references to export entries
//! (`reach.rs`), releases every export nothing reaches — which is what
//! frees a cycle through two compartments — and then collects each
//! compartment. A [`SealedRef`] held only in a Rust local is not a root:
//! it is valid until the next whole-heap collection
//! ([`GcError::SealedRevoked`] afterwards); store it to keep it.
//!
//! **Teardown.** [`Compartments::destroy`] drops the compartment's heap
//! and retires its region: the memory goes back to the OS and the
//! addresses stay reserved, so every sealed reference into it — in a
//! local or in another compartment's memory — resolves to
//! [`GcError::CompartmentDestroyed`], never to whatever would be mapped
//! there next.
//!
//! **The sealed form, per format.** Morello and CHERI v9 have software
//! object types: a sealed reference is the export entry's exact
//! capability (load permissions only) sealed with the owner's object
//! type, and CUnseal with the owner's sealing capability is the only way
//! back. The RISC-V standard format has none (its only sealed type is the
//! sentry): there the sealed form is the entry's exact capability with
//! *every permission removed* — an export-table handle. It gives the same
//! guarantees: (1) unforgeable — it is tagged, and a tag comes only from
//! derivation; (2) not dereferenceable — no permission survives, and
//! permissions are never regained (I5), so every load and store through
//! it faults exactly as through a sealed capability; (3) only the owner
//! opens it — opening means re-deriving a usable capability to the entry,
//! which needs an authority whose bounds contain it, and only the owner's
//! does (its region; I7); (4) immutable in effect — changing its address
//! or bounds makes it designate no entry, which the owner refuses. What it
//! does not give is hardware-enforced immutability of the handle bits
//! (CSeal's): a holder may narrow it, which only destroys it.
//! In the unchecked modes (`Native`, `P128`) the sealed form is the
//! entry's address with bit 0 set: the heap's accessors refuse it, but
//! nothing stops native code from using the address — the baseline.
//!
//! **Threat model** (docs/design.md "Threat model"). In `SoftCheri`, managed
//! code running through the API — an interpreter's scripts, a VM on the
//! slot API — cannot reach another compartment's objects: an unsealed
//! foreign reference is refused wherever it is offered, a sealed one
//! cannot be dereferenced or opened but by its owner, and a compartment's
//! collector cannot touch another's memory because its authority's
//! bounds refuse it. Native code in the same process can still write any
//! byte: what stops it fabricating a valid reference is the C ABI's
//! authentication (per heap, and per split heap for sealed tokens) and,
//! on CHERI hardware, the tag; SoftCheri's tags are software state that
//! such code could overwrite. The unchecked modes enforce the API checks
//! (refusals, sealed-slot accessors) but not the capability ones.
//!
//! **The non-local access report.** Every cross-compartment operation is
//! counted per ordered pair `(from, to)` — `from` the compartment acting
//! or holding, `to` the owner of the object: sealed references created
//! (`from` = the compartment it was sealed for), unsealed (`from` = the
//! compartment it came through), stored (`from` = the holder) and refused
//! (`from` = the compartment that was offered or asked). See
//! [`Compartments::pair_stats`], [`Compartments::report`], and
//! `CAPGC_LOG=compartments`.
//!
//! ```
//! use capability_heap::{Morello, SoftCheri};
//! use gc_core::{Compartments, GcError, HeapConfig};
//! type M = SoftCheri<Morello>;
//!
//! let mut world = Compartments::<M>::new()?;
//! let (a, b) = (world.create(HeapConfig::default())?, world.create(HeapConfig::default())?);
//! let node = world.heap_mut(a)?.record_type(1, 8)?;
//! let bnode = world.heap_mut(b)?.record_type(1, 8)?;
//! let secret = world.heap_mut(b)?.alloc(bnode)?;
//! world.heap_mut(b)?.write::<u64>(&secret, 16, 42)?;
//! let holder = world.heap_mut(a)?.alloc(node)?;
//! // An unsealed reference to b's object cannot go into a.
//! let err = world.heap_mut(a)?.set_ref(&holder, 0, &secret);
//! assert_eq!(err, Err(GcError::CompartmentViolation));
//! // Sealed, it can; a cannot open it, b can.
//! let s = world.seal(b, &secret, a)?;
//! world.set_sealed(a, &holder, 0, &s)?;
//! let back = world.get_sealed(a, &holder, 0)?;
//! assert_eq!(world.unseal(a, &back), Err(GcError::UnsealDenied));
//! let obj = world.unseal(b, &back)?;
//! assert_eq!(world.heap(b)?.read::<u64>(&obj, 16)?, 42);
//! assert_eq!(world.pair_stats(a, b).refused, 2);
//! world.verify().expect("I1-I9 hold in every compartment");
//! # Ok::<(), GcError>(())
//! ```

mod link;
mod reach;
#[cfg(test)]
mod tests;

pub(crate) use link::Link;

use crate::export::Key;
use crate::heap::HeapId;
use crate::stats::CollectionStats;
use crate::{GcError, Heap, HeapConfig, ObjRef, RootRegionId, Violation};
use capability_heap::tagged::Reservation;
use capability_heap::{Address, RefMode};
use core::fmt;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The first object type handed to a compartment: a software object type
/// in both formats that have them (Morello reserves 0..=3).
const FIRST_OTYPE: u32 = 16;
/// The owner "index" of memory that is no compartment's.
pub const NO_COMPARTMENT: u32 = u32::MAX;

/// A compartment of a [`Compartments`]: a token carrying its split heap's
/// identity (another split heap refuses it with [`GcError::WrongHeap`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompartmentId {
    world: u32,
    index: u32,
}

impl CompartmentId {
    /// The compartment's index in its split heap (0, 1, … in creation
    /// order; never reused).
    pub fn index(self) -> u32 {
        self.index
    }

    /// The token as one word (the C ABI).
    pub fn to_bits(self) -> u64 {
        u64::from(self.world) << 32 | u64::from(self.index)
    }

    /// A token from [`CompartmentId::to_bits`]; any bits are safe (they
    /// are checked where used).
    pub fn from_bits(b: u64) -> CompartmentId {
        CompartmentId {
            world: (b >> 32) as u32,
            index: b as u32,
        }
    }
}

/// A sealed reference: another compartment's object, which its holder can
/// store, copy and hand back, but only the owner can open
/// ([`Compartments::unseal`]). Obtained from [`Compartments::seal`] or by
/// loading a stored one ([`Compartments::get_sealed`]); nothing turns bits
/// into one but [`Compartments::sealed_from_bits`], which authenticates
/// them.
pub struct SealedRef<M: RefMode> {
    raw: M::Ref,
    world: u32,
    owner: u32,
    via: u32,
    entry: u32,
    gen: u32,
}

impl<M: RefMode> Clone for SealedRef<M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M: RefMode> Copy for SealedRef<M> {}

impl<M: RefMode> PartialEq for SealedRef<M> {
    /// Two sealed references are equal when they designate the same export.
    fn eq(&self, o: &Self) -> bool {
        (self.world, self.owner, self.entry, self.gen) == (o.world, o.owner, o.entry, o.gen)
    }
}

impl<M: RefMode> fmt::Debug for SealedRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedRef(owner {} entry {} gen {} via {})",
            self.owner, self.entry, self.gen, self.via
        )
    }
}

impl<M: RefMode> SealedRef<M> {
    /// The compartment that owns the object.
    pub fn owner(&self) -> CompartmentId {
        CompartmentId {
            world: self.world,
            index: self.owner,
        }
    }

    /// The compartment it was sealed for or loaded from.
    pub fn via(&self) -> CompartmentId {
        CompartmentId {
            world: self.world,
            index: self.via,
        }
    }

    /// The sealed form itself (a sealed capability in `SoftCheri`), to
    /// inspect: its bounds are the export entry's.
    pub fn raw(&self) -> M::Ref {
        self.raw
    }
}

/// Counts of cross-compartment operations for one ordered pair
/// `(from, to)`: `to` owns the object; `from` acted (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PairStats {
    /// Sealed references created for `from` to `to`'s objects.
    pub created: u64,
    /// Sealed references to `to`'s objects unsealed by `to`, having come
    /// through `from`.
    pub unsealed: u64,
    /// Sealed references to `to`'s objects stored in `from`'s objects or
    /// root regions.
    pub stored: u64,
    /// Operations refused: an unsealed reference to `to`'s memory offered
    /// to `from`, an unseal by `from` of `to`'s sealed reference, a
    /// sealed reference of a torn-down `to` used by `from`.
    pub refused: u64,
}

/// What a whole-heap collection did ([`Compartments::collect_all`]).
#[derive(Clone, Debug, Default)]
pub struct WholeHeapStats {
    /// Exports found unreachable and released.
    pub exports_released: u64,
    /// Exports still live afterwards.
    pub exports_live: u64,
    /// The cross-compartment marking (before the collections).
    pub marking: Duration,
    /// The whole pause: marking, releasing and every compartment's
    /// collection.
    pub pause: Duration,
    /// Each live compartment's full collection, by index.
    pub collections: Vec<(u32, CollectionStats)>,
}

/// One compartment's region in the directory.
#[derive(Clone, Copy, Debug)]
struct Place {
    base: u64,
    end: u64,
    index: u32,
}

/// What the compartments share: which addresses are whose, and the
/// counters (locked only on the paths that count).
#[derive(Debug, Default)]
pub(crate) struct Shared {
    places: Vec<Place>,
    pairs: BTreeMap<(u32, u32), PairStats>,
}

impl Shared {
    /// The compartment whose region (live or retired) holds `addr`.
    pub(crate) fn owner_of(&self, addr: Address) -> u32 {
        owner_in(&self.places, addr)
    }

    pub(crate) fn pair(&mut self, from: u32, to: u32) -> &mut PairStats {
        self.pairs.entry((from, to)).or_default()
    }
}

/// The compartment among `places` whose region (live or retired) holds
/// `addr`, or [`NO_COMPARTMENT`].
fn owner_in(places: &[Place], addr: Address) -> u32 {
    let a = addr.get();
    places
        .iter()
        .find(|p| p.base <= a && a < p.end)
        .map_or(NO_COMPARTMENT, |p| p.index)
}

/// A compartment's slot: live, or torn down (its addresses reserved
/// until the split heap is dropped).
enum Slot<M: RefMode> {
    Live(Box<Heap<M>>),
    /// Held for its drop: the addresses stay reserved until then.
    Destroyed {
        _grave: Reservation,
    },
    /// Being torn down (or its retirement failed): as destroyed.
    Retiring,
}

/// A heap split into compartments (see the module docs).
pub struct Compartments<M: RefMode> {
    id: u32,
    slots: Vec<Slot<M>>,
    shared: Arc<Mutex<Shared>>,
    next_otype: u32,
    key: Key,
    log: bool,
}

impl<M: RefMode> fmt::Debug for Compartments<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Compartments({} of mode {})", self.slots.len(), M::NAME)
    }
}

impl<M: RefMode> Compartments<M> {
    /// An empty split heap. `CAPGC_LOG=compartments` makes it print the
    /// non-local access report after every whole-heap collection, every
    /// teardown, and when it is dropped.
    pub fn new() -> Result<Compartments<M>, GcError> {
        let id = HeapId::fresh()?.bits();
        let key = Key::random().map_err(|_| crate::ConfigError::Entropy)?;
        Ok(Compartments {
            id,
            slots: Vec::new(),
            shared: Arc::default(),
            next_otype: FIRST_OTYPE,
            key,
            log: std::env::var("CAPGC_LOG")
                .is_ok_and(|v| v.split(',').any(|s| s.trim() == "compartments")),
        })
    }

    /// Creates a compartment: a heap of its own (`config`), with its own
    /// region, authority and object type.
    pub fn create(&mut self, config: HeapConfig) -> Result<CompartmentId, GcError> {
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NO_COMPARTMENT)
            .ok_or(GcError::TooManyCompartments)?;
        let otype = self.next_otype;
        // Object types are never reused: a sealed reference of a torn-down
        // compartment can never be opened by a later one.
        // SAFETY: the sealer is kept in the compartment's link, private,
        // and this split heap hands each object type out once.
        let sealer = unsafe { M::sealer(otype) }.map_err(|_| GcError::TooManyCompartments)?;
        let mut heap = Box::new(Heap::<M>::new(config)?);
        heap.join(index, Arc::clone(&self.shared), sealer, otype)?;
        let r = heap.arena.region();
        let place = Place {
            base: r.base().get(),
            end: r.end().get(),
            index,
        };
        self.lock().places.push(place);
        self.next_otype += 1;
        self.slots.push(Slot::Live(heap));
        Ok(CompartmentId {
            world: self.id,
            index,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A panic while counting leaves counts, never a broken invariant.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, from: u32, to: u32, f: impl FnOnce(&mut PairStats)) {
        f(self.lock().pair(from, to))
    }

    /// Refuses a token of another split heap or out of range.
    fn index(&self, c: CompartmentId) -> Result<usize, GcError> {
        if c.world != self.id {
            return Err(GcError::WrongHeap);
        }
        let i = c.index as usize;
        if i >= self.slots.len() {
            return Err(GcError::InvalidCompartment);
        }
        Ok(i)
    }

    /// The compartment's heap: everything inside one compartment
    /// (allocation, fields, roots, collection) is its [`Heap`]'s API.
    pub fn heap(&self, c: CompartmentId) -> Result<&Heap<M>, GcError> {
        match &self.slots[self.index(c)?] {
            Slot::Live(h) => Ok(h),
            Slot::Destroyed { .. } | Slot::Retiring => Err(GcError::CompartmentDestroyed),
        }
    }

    /// The compartment's heap, mutably.
    pub fn heap_mut(&mut self, c: CompartmentId) -> Result<&mut Heap<M>, GcError> {
        let i = self.index(c)?;
        match &mut self.slots[i] {
            Slot::Live(h) => Ok(h),
            Slot::Destroyed { .. } | Slot::Retiring => Err(GcError::CompartmentDestroyed),
        }
    }

    /// The live compartments, in creation order.
    pub fn compartments(&self) -> Vec<CompartmentId> {
        (0..self.slots.len() as u32)
            .filter(|&i| matches!(self.slots[i as usize], Slot::Live(_)))
            .map(|index| CompartmentId {
                world: self.id,
                index,
            })
            .collect()
    }

    /// The object type compartment `c` seals with (a software object type
    /// of the format in `SoftCheri` Morello and CHERI v9; a number the
    /// other modes carry but do not check).
    pub fn object_type(&self, c: CompartmentId) -> Result<u32, GcError> {
        Ok(self.heap(c)?.link()?.otype)
    }

    /// Compartment `c`'s import table: how many sealed references to each
    /// other compartment (by index; [`NO_COMPARTMENT`] for none's) its
    /// objects and root regions hold. It is read off `c`'s own memory —
    /// the sealed forms its collector meets — rather than kept beside it,
    /// because a slot holding one can be overwritten by a store or by data
    /// (I6) without the split heap hearing of it; a separate table would
    /// go stale, this one cannot. Objects not yet found dead by a
    /// collection of `c` still count.
    pub fn imports(&self, c: CompartmentId) -> Result<BTreeMap<u32, u64>, GcError> {
        let h = self.heap(c)?;
        let shared = self.lock();
        let mut out = BTreeMap::new();
        h.for_each_sealed(|_, raw| *out.entry(shared.owner_of(M::address(&raw))).or_insert(0) += 1);
        Ok(out)
    }

    /// How many sealed references to `owner`'s objects compartment `c`
    /// holds (one entry of [`Compartments::imports`]; `owner` may have
    /// been torn down).
    pub fn imports_from(&self, c: CompartmentId, owner: CompartmentId) -> Result<u64, GcError> {
        self.index(owner)?;
        Ok(self.imports(c)?.get(&owner.index).copied().unwrap_or(0))
    }

    /// The number of live exports of a compartment.
    pub fn exports(&self, c: CompartmentId) -> Result<usize, GcError> {
        Ok(self.heap(c)?.live_entries().len())
    }

    fn live_heap(&self, index: u32) -> Option<&Heap<M>> {
        match self.slots.get(index as usize)? {
            Slot::Live(h) => Some(h),
            Slot::Destroyed { .. } | Slot::Retiring => None,
        }
    }

    /// Validates a sealed reference of this split heap: its owner is live
    /// and its export not released.
    fn check_sealed(&self, s: &SealedRef<M>, user: u32) -> Result<&Heap<M>, GcError> {
        if s.world != self.id {
            return Err(GcError::WrongHeap);
        }
        match self.slots.get(s.owner as usize) {
            Some(Slot::Live(h)) => {
                h.entry_live(s.entry, s.gen)?;
                Ok(h)
            }
            Some(Slot::Destroyed { .. } | Slot::Retiring) => {
                self.count(user, s.owner, |p| p.refused += 1);
                Err(GcError::CompartmentDestroyed)
            }
            None => Err(GcError::InvalidCompartment),
        }
    }

    /// Seals `obj`, an object of `owner`, for compartment `holder`: the
    /// owner exports it (once per object: sealing it again gives an equal
    /// reference) and gets the export entry's sealed form. A safepoint of
    /// `owner` when its export table grows.
    pub fn seal(
        &mut self,
        owner: CompartmentId,
        obj: &ObjRef<M>,
        holder: CompartmentId,
    ) -> Result<SealedRef<M>, GcError> {
        let hi = self.index(holder)?;
        let _ = self.heap(holder)?;
        let oi = self.index(owner)?;
        let (entry, gen, raw) = self.heap_mut(owner)?.export(obj)?;
        self.count(hi as u32, oi as u32, |p| p.created += 1);
        Ok(SealedRef {
            raw,
            world: self.id,
            owner: oi as u32,
            via: hi as u32,
            entry,
            gen,
        })
    }

    /// Opens a sealed reference: `by` must be its owner. The sealed form
    /// is opened with `by`'s own authority and sealer (the capability
    /// check: another compartment's are refused, [`GcError::UnsealDenied`]),
    /// and the export entry it designates gives the object.
    pub fn unseal(&mut self, by: CompartmentId, s: &SealedRef<M>) -> Result<ObjRef<M>, GcError> {
        let bi = self.index(by)? as u32;
        let h = self.heap(by)?;
        self.check_sealed(s, bi)?;
        if h.export_of(&s.raw) != Some(s.entry) {
            self.count(bi, s.owner, |p| p.refused += 1);
            return Err(GcError::UnsealDenied);
        }
        let obj = h.entry_target(s.entry)?;
        self.count(s.via, s.owner, |p| p.unsealed += 1);
        Ok(obj)
    }

    /// Stores a sealed reference in reference slot `offset` of `holder`,
    /// an object of compartment `c`.
    pub fn set_sealed(
        &mut self,
        c: CompartmentId,
        holder: &ObjRef<M>,
        offset: u64,
        s: &SealedRef<M>,
    ) -> Result<(), GcError> {
        let ci = self.index(c)? as u32;
        self.check_sealed(s, ci)?;
        self.heap_mut(c)?
            .store_sealed_form(holder, offset, &s.raw)?;
        self.count(ci, s.owner, |p| p.stored += 1);
        Ok(())
    }

    /// Loads the sealed reference in reference slot `offset` of `holder`,
    /// an object of compartment `c` ([`GcError::NotSealed`] if the slot
    /// holds anything else; [`GcError::CompartmentDestroyed`] if its owner
    /// was torn down).
    pub fn get_sealed(
        &mut self,
        c: CompartmentId,
        holder: &ObjRef<M>,
        offset: u64,
    ) -> Result<SealedRef<M>, GcError> {
        let ci = self.index(c)? as u32;
        let raw = self.heap(c)?.load_sealed_form(holder, offset)?;
        self.resolve(ci, raw)
    }

    /// Stores a sealed reference in slot `index` of root region `region`
    /// of compartment `c`: a root that keeps the export alive across
    /// whole-heap collections.
    pub fn root_set_sealed(
        &mut self,
        c: CompartmentId,
        region: RootRegionId,
        index: u64,
        s: &SealedRef<M>,
    ) -> Result<(), GcError> {
        let ci = self.index(c)? as u32;
        self.check_sealed(s, ci)?;
        self.heap_mut(c)?
            .root_set_sealed_form(region, index, &s.raw)?;
        self.count(ci, s.owner, |p| p.stored += 1);
        Ok(())
    }

    /// Loads the sealed reference in slot `index` of root region `region`
    /// of compartment `c`.
    pub fn root_get_sealed(
        &mut self,
        c: CompartmentId,
        region: RootRegionId,
        index: u64,
    ) -> Result<SealedRef<M>, GcError> {
        let ci = self.index(c)? as u32;
        let raw = self.heap(c)?.root_get_sealed_form(region, index)?;
        self.resolve(ci, raw)
    }

    /// The sealed reference a sealed form loaded by compartment `c`
    /// stands for: its owner by address (the directory keeps retired
    /// regions), checked by the owner's own unseal.
    fn resolve(&self, c: u32, raw: M::Ref) -> Result<SealedRef<M>, GcError> {
        let owner = self.lock().owner_of(M::address(&raw));
        let Some(h) = self.live_heap(owner) else {
            if owner != NO_COMPARTMENT {
                self.count(c, owner, |p| p.refused += 1);
                return Err(GcError::CompartmentDestroyed);
            }
            return Err(GcError::Forged);
        };
        let entry = h.export_of(&raw).ok_or(GcError::Forged)?;
        let e = h.link()?.exports.entries[entry as usize];
        if !e.live {
            return Err(GcError::SealedRevoked);
        }
        Ok(SealedRef {
            raw,
            world: self.id,
            owner,
            via: c,
            entry,
            gen: e.gen,
        })
    }

    /// Collects one compartment alone (a full collection of its plan):
    /// its export table is a root; the other compartments are untouched.
    pub fn collect(&mut self, c: CompartmentId) -> Result<CollectionStats, GcError> {
        self.heap_mut(c)?.collect()
    }

    /// The whole-heap collection: marks across compartments from their own
    /// roots (not their export tables), releases every export nothing
    /// reaches — freeing cycles through several compartments — then
    /// collects every compartment.
    pub fn collect_all(&mut self) -> Result<WholeHeapStats, GcError> {
        let start = Instant::now();
        let mut st = Vec::with_capacity(self.slots.len());
        for i in 0..self.slots.len() as u32 {
            st.push(match self.live_heap(i) {
                Some(h) => {
                    h.usable()?;
                    Some(h.new_reach()?)
                }
                None => None,
            });
        }
        let reached = self.mark_across(&mut st)?;
        drop(st);
        let marking = start.elapsed();
        let mut stats = WholeHeapStats {
            marking,
            ..WholeHeapStats::default()
        };
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Slot::Live(h) = slot else { continue };
            for e in h.live_entries() {
                if reached[i].contains(&e) {
                    stats.exports_live += 1;
                } else {
                    h.release_entry(e)?;
                    stats.exports_released += 1;
                }
            }
            stats.collections.push((i as u32, h.collect()?));
        }
        stats.pause = start.elapsed();
        if self.log {
            eprintln!(
                "capgc compartments: collect-all {} compartments, {} exports released, {} live, marking {:.3} ms, pause {:.3} ms",
                stats.collections.len(),
                stats.exports_released,
                stats.exports_live,
                marking.as_secs_f64() * 1e3,
                stats.pause.as_secs_f64() * 1e3
            );
            self.log_report();
        }
        Ok(stats)
    }

    /// The cross-compartment marking (`reach.rs`) to a fixpoint: from
    /// every compartment's own roots, then from the targets of every
    /// export a sealed reference found so far designates. The reached
    /// exports, per compartment.
    fn mark_across(
        &self,
        st: &mut [Option<reach::Reach<M>>],
    ) -> Result<Vec<HashSet<u32>>, GcError> {
        let n = st.len();
        let mut reached: Vec<HashSet<u32>> = vec![HashSet::new(); n];
        let mut work: Vec<Vec<Address>> = vec![Vec::new(); n];
        for (i, r) in st.iter_mut().enumerate() {
            if let (Some(h), Some(r)) = (self.live_heap(i as u32), r.as_mut()) {
                h.reach(true, &[], r)?;
            }
        }
        loop {
            let sealed: Vec<M::Ref> = st
                .iter_mut()
                .flatten()
                .flat_map(|r| r.sealed.drain(..))
                .collect();
            for raw in sealed {
                let owner = self.lock().owner_of(M::address(&raw));
                let Some(h) = self.live_heap(owner) else {
                    continue;
                };
                let Some(e) = h.export_of(&raw) else {
                    continue;
                };
                if reached[owner as usize].insert(e) {
                    if let Ok(t) = h.entry_target(e) {
                        work[owner as usize].push(t.address());
                    }
                }
            }
            let Some(i) = work.iter().position(|w| !w.is_empty()) else {
                return Ok(reached);
            };
            let starts = std::mem::take(&mut work[i]);
            if let (Some(h), Some(r)) = (self.live_heap(i as u32), st[i].as_mut()) {
                h.reach(false, &starts, r)?;
            }
        }
    }

    /// Tears compartment `c` down: its heap is dropped and its region
    /// retired (memory unmapped, addresses reserved). Every sealed
    /// reference to its objects then fails with
    /// [`GcError::CompartmentDestroyed`]; the rest keeps working.
    pub fn destroy(&mut self, c: CompartmentId) -> Result<(), GcError> {
        let i = self.index(c)?;
        let Slot::Live(_) = &self.slots[i] else {
            return Err(GcError::CompartmentDestroyed);
        };
        let Slot::Live(heap) = std::mem::replace(&mut self.slots[i], Slot::Retiring) else {
            return Err(GcError::CompartmentDestroyed);
        };
        // If retiring fails the region is unmapped with the heap all the
        // same; the slot stays `Retiring`, which resolves as destroyed.
        let grave = (*heap).into_region().retire()?;
        self.slots[i] = Slot::Destroyed { _grave: grave };
        if self.log {
            eprintln!("capgc compartments: destroyed compartment {i}");
            self.log_report();
        }
        Ok(())
    }

    /// Counts for the ordered pair `(from, to)`.
    pub fn pair_stats(&self, from: CompartmentId, to: CompartmentId) -> PairStats {
        self.lock()
            .pairs
            .get(&(from.index, to.index))
            .copied()
            .unwrap_or_default()
    }

    /// Every ordered pair with a non-zero count: `(from, to, counts)`,
    /// `to` = [`NO_COMPARTMENT`] for refusals of memory that is no
    /// compartment's.
    pub fn report(&self) -> Vec<(u32, u32, PairStats)> {
        self.lock()
            .pairs
            .iter()
            .map(|(&(f, t), &p)| (f, t, p))
            .collect()
    }

    /// The report as a table (what `CAPGC_LOG=compartments` prints).
    pub fn report_table(&self) -> String {
        let mut s = String::from("from -> to   created  unsealed    stored   refused\n");
        for (f, t, p) in self.report() {
            let name = |i: u32| {
                if i == NO_COMPARTMENT {
                    "?".to_string()
                } else {
                    i.to_string()
                }
            };
            s += &format!(
                "{:>4} -> {:<4} {:>8} {:>9} {:>9} {:>9}\n",
                name(f),
                name(t),
                p.created,
                p.unsealed,
                p.stored,
                p.refused
            );
        }
        s
    }

    fn log_report(&self) {
        for line in self.report_table().lines() {
            eprintln!("capgc compartments: {line}");
        }
    }

    /// Verifies every compartment ([`Heap::verify`], I7 included) and the
    /// cross-compartment rest of I7: regions pairwise disjoint, and every
    /// sealed reference into another live compartment designates a live
    /// export of it. Sealed references into a torn-down compartment are
    /// allowed (they fail with their own error).
    pub fn verify(&self) -> Result<(), Vec<(CompartmentId, Violation)>> {
        let mut out = Vec::new();
        let places = self.lock().places.clone();
        for (i, slot) in self.slots.iter().enumerate() {
            let Slot::Live(h) = slot else { continue };
            let id = CompartmentId {
                world: self.id,
                index: i as u32,
            };
            if let Err(v) = h.verify() {
                out.extend(v.into_iter().map(|v| (id, v)));
            }
            let r = h.arena.region();
            for p in places.iter().filter(|p| p.index != i as u32) {
                if p.base < r.end().get() && r.base().get() < p.end {
                    let (base, top) = h.arena.authority_span();
                    out.push((id, Violation::AuthorityOutsideRegion { base, top }));
                }
            }
            h.for_each_sealed(|at, raw| {
                let target = M::address(&raw);
                let ok = match owner_in(&places, target) {
                    NO_COMPARTMENT => false,
                    o if o == i as u32 => true, // checked by h.verify
                    // A torn-down owner's: refused with its own error.
                    o => self
                        .live_heap(o)
                        .map_or(true, |oh| oh.designates_live_export(&raw)),
                };
                if !ok {
                    out.push((id, Violation::UnexportedSealed { at, target }));
                }
            });
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }

    /// A sealed reference as four words for code outside Rust (the C
    /// ABI): authenticated with this split heap's key, so bits it did not
    /// hand out are refused by [`Compartments::sealed_from_bits`].
    pub fn sealed_to_bits(&self, s: &SealedRef<M>) -> [u64; 4] {
        let w0 = u64::from(s.world) << 32 | u64::from(s.owner);
        let w1 = u64::from(s.via) << 32 | u64::from(s.entry);
        let w2 = u64::from(s.gen);
        [w0, w1, w2, self.key.mac_words(&[w0, w1, w2])]
    }

    /// The sealed reference [`Compartments::sealed_to_bits`] gave these
    /// words for: [`GcError::Forged`] unless this split heap made exactly
    /// them; then checked as every sealed reference is (owner live, export
    /// not released).
    pub fn sealed_from_bits(&self, w: [u64; 4]) -> Result<SealedRef<M>, GcError> {
        if self.key.mac_words(&w[..3]) != w[3] {
            return Err(GcError::Forged);
        }
        let world = (w[0] >> 32) as u32;
        if world != self.id {
            return Err(GcError::WrongHeap);
        }
        let owner = w[0] as u32;
        let (via, entry, gen) = ((w[1] >> 32) as u32, w[1] as u32, w[2] as u32);
        let mut s = SealedRef {
            raw: M::null(),
            world,
            owner,
            via,
            entry,
            gen,
        };
        let h = self.check_sealed(&s, via)?;
        let at = h.entry_addr(entry)?;
        let l = h.link()?;
        s.raw = h.arena.seal(&l.sealer, at, M::SLOT_SIZE)?;
        Ok(s)
    }
}

impl<M: RefMode> Drop for Compartments<M> {
    fn drop(&mut self) {
        if self.log {
            eprintln!("capgc compartments: final report");
            self.log_report();
        }
    }
}

impl<M: RefMode> Heap<M> {
    /// Gives up the heap's region (a torn-down compartment).
    fn into_region(self) -> capability_heap::TaggedRegion {
        self.arena.into_region()
    }
}

// The split heap moves between threads but is never shared between them.
static_assertions::assert_impl_all!(Compartments<capability_heap::Native>: Send);
