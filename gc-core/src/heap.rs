//! [`Heap`]: one garbage-collected heap.
//!
//! A heap is a value (no process globals but two counters handing out
//! identities): an [`Arena`] (its own mapped region, the authority over
//! it, the spaces, bitmaps, remembered set and epoch stamp), its plan's
//! state, its types, roots and weak tables, and its statistics. It is
//! `Send` but not `Sync`: one thread at a time, like a V8 isolate. This
//! file holds creation, the validation every entry point shares, and the
//! statistics; the mutator API is in `mutator.rs`, roots in `roots.rs`,
//! weak tables in `weak.rs`, collection in `plan/`, the verifier in
//! `verify/`.
//!
//! **Identity.** Each heap takes a fresh 32-bit identity, which every
//! token it hands out carries; each collection takes a fresh 64-bit stamp,
//! which every [`ObjRef`] carries. Neither counter is ever reused or
//! wrapped, so a token or reference of another heap — or of this one
//! before the last collection — cannot be mistaken for a current one.
//!
//! **Re-entry.** No API turns bits into an [`ObjRef`]: references come
//! from allocation, from fields and roots the heap keeps (loading tagged
//! memory), and from the heap's own tokens. What leaves as bits
//! (`ObjRef::raw`) is for inspection.

use crate::config::{HeapConfig, ScanStrategy};
use crate::error::ConfigError;
use crate::plan::{self, Pacer, PlanConstraints, PlanState};
use crate::policy::block::BLOCK;
use crate::policy::Arena;
use crate::roots::Roots;
use crate::stats::{HeapStats, Stats};
use crate::types::Types;
use crate::weak::WeakTables;
use crate::{GcError, ObjRef};
use capability_heap::{Perms, RefMode};
use core::cell::Cell;
use core::marker::PhantomData;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// The next heap identity (0 is never used).
static NEXT_HEAP: AtomicU32 = AtomicU32::new(1);
/// The next epoch stamp (0 is the null reference's). Stamps are even: an
/// [`ObjRef`]'s stamp may carry [`VOUCHED`] in bit 0.
static NEXT_STAMP: AtomicU64 = AtomicU64::new(2);

/// A stamp no reference has yet carried (even).
pub(crate) fn fresh_stamp() -> u64 {
    NEXT_STAMP.fetch_add(2, Ordering::Relaxed)
}

/// Bit 0 of an [`ObjRef`]'s stamp: the heap itself vouches that the
/// reference designates exactly a live object of this heap with at most
/// the object rights — it was derived by this heap's allocation, read
/// from a handle, or loaded tagged and unsealed from a reference slot by
/// a vouched holder (`Heap::get_ref`), in the epoch the rest of the stamp
/// names. Checked modes only; [`Heap::storable`] skips the checks this
/// implies (I1, I3, I5), and `get_ref`/`set_ref` skip the bounds step of
/// a vouched holder's access check (its tag, seal and permissions are
/// still tested). Nothing outside the crate can set it: `ObjRef`'s
/// fields are private.
pub(crate) const VOUCHED: u64 = 1;

/// A heap's identity: what every token it hands out carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct HeapId(u32);

impl HeapId {
    /// An identity no heap has had, unless all are used.
    pub(crate) fn fresh() -> Result<HeapId, ConfigError> {
        NEXT_HEAP
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_add(1))
            .map(HeapId)
            .map_err(|_| ConfigError::TooManyHeaps)
    }

    /// The identity as a number.
    pub(crate) fn bits(self) -> u32 {
        self.0
    }

    /// An identity from a number (a token's; checked by [`HeapId::owns`]).
    pub(crate) fn from_bits(b: u32) -> HeapId {
        HeapId(b)
    }

    /// True when some heap of this process was given this identity (it
    /// may have been dropped since): a token carrying one that was never
    /// issued was not made by any heap — bits a caller made up, such as a
    /// bare index — not "another heap's".
    pub(crate) fn was_issued(self) -> bool {
        self.0 != 0 && self.0 < NEXT_HEAP.load(Ordering::Relaxed)
    }

    /// Refuses a token of another heap.
    #[inline(always)]
    pub(crate) fn owns(self, token: HeapId) -> Result<(), GcError> {
        if token == self {
            Ok(())
        } else {
            Err(GcError::WrongHeap)
        }
    }
}

/// A garbage-collected heap whose references are of mode `M`.
pub struct Heap<M: RefMode> {
    pub(crate) config: HeapConfig,
    pub(crate) arena: Arena<M>,
    pub(crate) plan: PlanState,
    /// The plan's constraints (`plan::constraints`), kept at hand.
    pub(crate) constraints: PlanConstraints,
    pub(crate) pacer: Pacer,
    pub(crate) types: Types,
    pub(crate) roots: Roots<M>,
    pub(crate) weak: WeakTables<M>,
    pub(crate) stats: Stats,
    /// The key exported references are authenticated with (`export.rs`).
    pub(crate) key: crate::export::Key,
    /// The checked modes' cache of tokens exported or imported in this
    /// epoch (`export.rs`, "The token cache").
    pub(crate) tokens: crate::export::TokenCache<M>,
    /// A trace callback panicked during a collection.
    pub(crate) poisoned: bool,
    /// The unchecked modes' reference fast paths are off: the heap is
    /// poisoned, or a compartment (whose stores check containment).
    pub(crate) slow: bool,
    /// Set when the heap is a compartment of a [`crate::Compartments`].
    pub(crate) link: Option<Box<crate::compartment::Link<M>>>,
    /// The zeal options in force and the allocation countdown
    /// (`zeal.rs`).
    pub(crate) zeal: crate::zeal::ZealState,
    /// The fast path's lent buffer and shadow stack (`fast.rs`).
    pub(crate) fast: crate::fast::FastState,
    _not_sync: PhantomData<Cell<()>>,
}

impl<M: RefMode> Heap<M> {
    /// Creates a heap: maps its region (lazily committed) and derives its
    /// authority. Reads `CAPGC_ZEAL`, which extends `config.zeal`
    /// ([`crate::Zeal`]); a malformed value is
    /// [`ConfigError::Zeal`].
    pub fn new(mut config: HeapConfig) -> Result<Heap<M>, GcError> {
        config.zeal = config.zeal.with_env()?;
        validate(&config, M::CHECKED)?;
        let limit = config.limit.next_multiple_of(BLOCK);
        let plan = PlanState::new(&config);
        let id = HeapId::fresh()?;
        let mut arena = Arena::new(limit, plan.first_nursery(&config), fresh_stamp())?;
        arena.set_poison(config.zeal.poison);
        let stats = Stats::new(arena.nursery_max().unwrap_or(0));
        let key = crate::export::Key::random().map_err(|_| ConfigError::Entropy)?;
        Ok(Heap {
            pacer: Pacer::new(&config),
            constraints: plan::constraints(config.plan),
            plan,
            arena,
            types: Types::new(id, !config.zeal.is_on()),
            roots: Roots::new(id),
            weak: WeakTables::new(id),
            stats,
            key,
            tokens: crate::export::TokenCache::new(),
            poisoned: false,
            slow: false,
            link: None,
            zeal: crate::zeal::ZealState::new(config.zeal),
            fast: Default::default(),
            config,
            _not_sync: PhantomData,
        })
    }

    /// The configuration the heap was created with.
    pub fn config(&self) -> &HeapConfig {
        &self.config
    }

    // ---- validation shared by every entry point ------------------------------

    /// Refuses every operation once the heap is poisoned.
    #[inline(always)]
    pub(crate) fn usable(&self) -> Result<(), GcError> {
        if self.poisoned {
            Err(self.poison_error())
        } else {
            Ok(())
        }
    }

    /// Why a poisoned heap refuses: zeal's verifier found it corrupt
    /// ([`GcError::HeapCorrupt`], with what it found), or a trace callback
    /// panicked.
    #[cold]
    pub(crate) fn poison_error(&self) -> GcError {
        self.zeal.corrupt.clone().unwrap_or(GcError::Poisoned)
    }

    /// Poisons the heap: a collection may have freed reachable objects.
    /// Every reference handed out so far becomes stale with it.
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
        self.slow = true;
        self.arena.set_stamp(crate::heap::fresh_stamp());
        // The allocation fast path tests no flag: a closed block sends it
        // to the slow path, which refuses a poisoned heap.
        self.arena.close_bump_block();
    }

    /// `raw` as a reference of the current epoch.
    #[inline(always)]
    pub(crate) fn stamped(&self, raw: M::Ref) -> ObjRef<M> {
        ObjRef {
            raw,
            stamp: self.arena.stamp(),
        }
    }

    /// `raw` as a reference of the current epoch that [`Heap::storable`]
    /// need not re-check: only for `raw` this heap derived exactly for a
    /// live object in this epoch (an allocation) or read from its handle
    /// table, whose entries were all checked by `storable` when stored or
    /// re-derived exactly by a collection (I1, I8). See [`VOUCHED`].
    #[inline(always)]
    pub(crate) fn vouched(&self, raw: M::Ref) -> ObjRef<M> {
        ObjRef {
            raw,
            // Unchecked modes never read the bit: no instruction for it.
            stamp: self.arena.stamp() | if M::CHECKED { VOUCHED } else { 0 },
        }
    }

    /// Refuses null and, in checked modes, a reference of another epoch or
    /// heap (its stamp).
    #[inline(always)]
    pub(crate) fn live(&self, r: &ObjRef<M>) -> Result<(), GcError> {
        if M::CHECKED {
            if r.stamp & !VOUCHED != self.arena.stamp() {
                return Err(self.not_live(r));
            }
            self.stats.checks.set(self.stats.checks.get() + 1);
        }
        if r.is_null() {
            return Err(GcError::NullReference);
        }
        Ok(())
    }

    /// Why `r`, whose stamp is not the current one, is refused.
    #[cold]
    fn not_live(&self, r: &ObjRef<M>) -> GcError {
        if r.is_null() {
            GcError::NullReference
        } else if self.link.is_some() && !self.arena.region().contains(r.address(), 1) {
            self.foreign(r.address())
        } else if self.poisoned {
            self.poison_error()
        } else {
            GcError::StaleReference
        }
    }

    /// A reference about to be stored in the heap, a root or a weak table:
    /// null, or (in checked modes) exactly a live object's reference with
    /// no rights beyond an object reference's (I1, I3, I5) — a narrowed,
    /// widened or forged capability would otherwise keep nothing alive or
    /// smuggle rights in.
    #[inline(always)]
    pub(crate) fn storable(&self, v: &ObjRef<M>) -> Result<(), GcError> {
        if !M::CHECKED {
            // Nothing to check in a healthy heap that is no compartment.
            return if self.slow {
                self.storable_unchecked(v)
            } else {
                Ok(())
            };
        }
        if v.stamp == self.arena.stamp() | VOUCHED && !self.poisoned {
            // A vouched reference of this epoch on a healthy heap: what
            // `storable_in_full` answers for it without looking further
            // (see its "why this is still checked"), inlined into the
            // caller. The statistics count the check as `live` does.
            self.stats.checks.set(self.stats.checks.get() + 1);
            return Ok(());
        }
        self.storable_in_full(v)
    }

    /// [`Heap::storable`] in the checked modes past the vouched fast
    /// path.
    #[inline(never)]
    fn storable_in_full(&self, v: &ObjRef<M>) -> Result<(), GcError> {
        self.usable()?;
        if v.is_null() {
            return Ok(());
        }
        self.live(v)?;
        if v.stamp & VOUCHED != 0 {
            // why this is still checked: `live` above proved the stamp is
            // this heap's current epoch (stamps are unique to a heap and
            // an epoch), and a vouched reference of this epoch was either
            // derived by this heap's allocation with exactly the object's
            // bounds and the object rights (I1, I5), or read from the
            // handle table, every entry of which passed this function when
            // stored or was re-derived exactly by the last collection
            // (I1, I8), or loaded tagged and unsealed from a reference
            // slot, every tagged granule of which outside sealed forms
            // likewise passed this function in `set_ref` or was
            // re-derived (`Heap::get_ref_vouched`). No object dies or moves, and no handle entry
            // changes unchecked, without a collection, and a collection
            // starts a new epoch; so the object is live (I3) and the
            // checks below would pass. The stamp is private to the crate:
            // nothing outside can vouch (`gc-core/tests/attacks*.rs`).
            return Ok(());
        }
        let h = self
            .arena
            .object_at(v.address())
            .ok_or(GcError::NotAnObject)?;
        let bounds = self
            .types
            .layout_of::<M>(h)
            .ok_or(GcError::NotAnObject)?
            .0
            .bounds;
        if !M::designates(&v.raw, v.address(), bounds) || !M::within_object_rights(&v.raw) {
            return Err(M::check(&v.raw, 0, 0, Perms::NONE, 1)
                .err()
                .map_or(GcError::NotAnObject, GcError::Cap));
        }
        Ok(())
    }

    /// [`Heap::storable`] in the unchecked modes when the heap is poisoned
    /// or a compartment: the poison test, and the value inside this
    /// compartment's region (I7).
    #[cold]
    #[inline(never)]
    fn storable_unchecked(&self, v: &ObjRef<M>) -> Result<(), GcError> {
        self.usable()?;
        if !v.is_null() && self.link.is_some() && !self.arena.region().contains(v.address(), 1) {
            return Err(self.foreign(v.address()));
        }
        Ok(())
    }

    // ---- statistics -------------------------------------------------------------

    /// Cumulative statistics.
    pub fn stats(&self) -> HeapStats {
        let mut s = self.stats.totals();
        s.heap_bytes = u64::from(self.arena.blocks_in_use()) * BLOCK;
        s.peak_heap_bytes = u64::from(self.arena.peak_blocks()) * BLOCK;
        s
    }

    /// Pause times of every collection so far, by kind.
    pub fn pauses(&self) -> &crate::PauseHistogram {
        &self.stats.pauses
    }

    /// The collection epoch: 1 at creation, incremented by every
    /// collection.
    pub fn epoch(&self) -> u64 {
        self.stats.totals.collections + 1
    }

    /// True when a trace callback panicked during a collection: every
    /// operation is refused with [`GcError::Poisoned`].
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }
}

/// Checks a configuration.
fn validate(config: &HeapConfig, checked: bool) -> Result<(), ConfigError> {
    if !(HeapConfig::MIN_LIMIT..=HeapConfig::MAX_LIMIT).contains(&config.limit) {
        return Err(ConfigError::Limit(config.limit));
    }
    if config.initial_size > config.limit {
        return Err(ConfigError::InitialSize(config.initial_size));
    }
    if !(config.growth_factor.is_finite() && config.growth_factor >= 1.0) {
        return Err(ConfigError::GrowthFactor);
    }
    if config.scan == ScanStrategy::Tags && !checked {
        return Err(ConfigError::TagScanNeedsTags);
    }
    let limit = config.limit.next_multiple_of(BLOCK);
    if plan::constraints(config.plan).nursery
        && (config.nursery_size < BLOCK || config.nursery_size > limit / 2)
    {
        return Err(ConfigError::NurserySize(config.nursery_size));
    }
    if config.pause_goal.is_some_and(|g| g.is_zero()) {
        return Err(ConfigError::PauseGoal);
    }
    Ok(())
}

// The heap moves between threads but is never shared between them.
static_assertions::assert_impl_all!(Heap<capability_heap::Native>: Send);
static_assertions::assert_not_impl_any!(Heap<capability_heap::Native>: Sync);
