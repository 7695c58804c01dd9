//! The compartment half of a [`Heap`]: its link to the split heap (the
//! shared directory and counters), its sealer, and its export table.
//!
//! **Export table.** An export is an entry — one reference slot — of a
//! *chunk*: a pinned record of [`CHUNK_SLOTS`] reference slots allocated
//! in the compartment's own heap and rooted by the heap itself
//! (`Roots::exports`, which no token names). Slot 0 of a chunk is never
//! used, so no entry is an object's payload start: the collector, which
//! follows only references to payload starts, never follows a sealed form
//! (it copies it with its holder, bit for bit). The entry holds an
//! ordinary reference to the exported object, which the compartment's own
//! collector traces and, in the moving plans, rewrites (I8) — so a sealed
//! reference, which designates the entry and not the object, stays valid
//! across every collection of its owner, and no other compartment's
//! memory is ever written when the owner moves objects.

use crate::compartment::Shared;
use crate::object::ObjRef;
use crate::types::TypeId;
use crate::{GcError, Heap};
use capability_heap::{Address, RefMode};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Reference slots per chunk; slot 0 is unused.
pub(crate) const CHUNK_SLOTS: u32 = 64;
/// Entries per chunk.
const PER_CHUNK: u32 = CHUNK_SLOTS - 1;

/// One export entry's state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Entry {
    /// Bumped each time the entry is released: a [`crate::SealedRef`]
    /// kept across its release is refused.
    pub(crate) gen: u32,
    pub(crate) live: bool,
}

/// The export table.
#[derive(Debug)]
pub(crate) struct Exports {
    ty: TypeId,
    /// Payload addresses of the chunks (pinned: they never move), in the
    /// order of `Roots::exports`.
    chunks: Vec<Address>,
    /// Chunk payload address → chunk number (`entry_at`'s lookup).
    by_base: BTreeMap<u64, u32>,
    pub(crate) entries: Vec<Entry>,
    free: Vec<u32>,
    /// Exported object → entry, valid for the epoch `by_target_epoch`
    /// (objects move).
    by_target: HashMap<u64, u32>,
    by_target_epoch: u64,
}

/// A compartment's link to its split heap.
pub(crate) struct Link<M: RefMode> {
    pub(crate) index: u32,
    pub(crate) shared: Arc<Mutex<Shared>>,
    pub(crate) sealer: M::Sealer,
    pub(crate) otype: u32,
    pub(crate) exports: Exports,
}

impl<M: RefMode> Heap<M> {
    /// Makes this (fresh) heap a compartment.
    pub(crate) fn join(
        &mut self,
        index: u32,
        shared: Arc<Mutex<Shared>>,
        sealer: M::Sealer,
        otype: u32,
    ) -> Result<(), GcError> {
        let ty = self.record_type(CHUNK_SLOTS, 0)?;
        self.link = Some(Box::new(Link {
            index,
            shared,
            sealer,
            otype,
            exports: Exports {
                ty,
                chunks: Vec::new(),
                by_base: BTreeMap::new(),
                entries: Vec::new(),
                free: Vec::new(),
                by_target: HashMap::new(),
                by_target_epoch: 0,
            },
        }));
        self.slow = true;
        Ok(())
    }

    /// The compartment link (every caller is reached through
    /// `Compartments`, which only hands out compartments).
    pub(crate) fn link(&self) -> Result<&Link<M>, GcError> {
        self.link.as_deref().ok_or(GcError::InvalidCompartment)
    }

    fn link_mut(&mut self) -> Result<&mut Link<M>, GcError> {
        self.link.as_deref_mut().ok_or(GcError::InvalidCompartment)
    }

    /// Refuses an unsealed reference to `addr`, outside this compartment:
    /// counted against the compartment that owns `addr` (if any).
    #[cold]
    pub(crate) fn foreign(&self, addr: Address) -> GcError {
        if let Some(l) = &self.link {
            if let Ok(mut s) = l.shared.lock() {
                let owner = s.owner_of(addr);
                s.pair(l.index, owner).refused += 1;
            }
        }
        GcError::CompartmentViolation
    }

    /// True when `raw` is a sealed form as this heap sees it: the mode's
    /// sealed form, and not an object of this heap (a permissionless
    /// `RiscvStd` reference to an object is an object reference still).
    #[inline]
    pub(crate) fn is_sealed_here(&self, raw: &M::Ref) -> bool {
        M::is_sealed_form(raw) && self.arena.object_at(M::address(raw)).is_none()
    }

    /// The address of export entry `e`.
    pub(crate) fn entry_addr(&self, e: u32) -> Result<Address, GcError> {
        let x = &self.link()?.exports;
        let chunk = x
            .chunks
            .get((e / PER_CHUNK) as usize)
            .ok_or(GcError::SealedRevoked)?;
        Ok(chunk.add(Self::ref_offset(1 + e % PER_CHUNK)))
    }

    /// The export entry at `addr`, if `addr` is exactly one.
    pub(crate) fn entry_at(&self, addr: Address) -> Option<u32> {
        let x = &self.link.as_deref()?.exports;
        let (&base, &c) = x.by_base.range(..=addr.get()).next_back()?;
        let off = addr.get() - base;
        let slot = off / M::SLOT_SIZE;
        (off < Self::ref_offset(CHUNK_SLOTS) && off % M::SLOT_SIZE == 0 && slot >= 1)
            .then(|| c * PER_CHUNK + (slot as u32 - 1))
    }

    /// The export entry the sealed form `raw` designates, when this
    /// compartment's own authority and sealer open it (I7: no other
    /// compartment's do).
    pub(crate) fn export_of(&self, raw: &M::Ref) -> Option<u32> {
        let l = self.link.as_deref()?;
        let (at, _) = self.arena.unseal(&l.sealer, raw).ok()?;
        self.entry_at(at)
    }

    /// True when `raw` designates a live export of this compartment (I3:
    /// "sealed and designates an exported object").
    pub(crate) fn designates_live_export(&self, raw: &M::Ref) -> bool {
        self.export_of(raw)
            .zip(self.link.as_deref())
            .is_some_and(|(e, l)| l.exports.entries[e as usize].live)
    }

    /// The chunk holding entry `e`, and the entry's offset in it.
    fn chunk_of(&self, e: u32) -> Result<(ObjRef<M>, u64), GcError> {
        let raw = *self
            .roots
            .exports
            .get((e / PER_CHUNK) as usize)
            .ok_or(GcError::SealedRevoked)?;
        Ok((self.stamped(raw), Self::ref_offset(1 + e % PER_CHUNK)))
    }

    /// Exports `obj` (a live object of this compartment): its entry (one
    /// per object: exporting it again gives the same entry), the entry's
    /// generation, and the entry's sealed form.
    pub(crate) fn export(&mut self, obj: &ObjRef<M>) -> Result<(u32, u32, M::Ref), GcError> {
        if obj.is_null() {
            return Err(GcError::NullReference);
        }
        self.storable(obj)?;
        self.refresh_targets()?;
        let addr = obj.address().get();
        let e = match self.link()?.exports.by_target.get(&addr) {
            Some(&e) => e,
            None => {
                let e = self.new_entry(obj)?;
                self.link_mut()?.exports.by_target.insert(addr, e);
                e
            }
        };
        let at = self.entry_addr(e)?;
        let l = self.link()?;
        let sealed = self.arena.seal(&l.sealer, at, M::SLOT_SIZE)?;
        Ok((e, l.exports.entries[e as usize].gen, sealed))
    }

    /// A fresh entry holding `obj`. Growing the table allocates a chunk:
    /// a safepoint, across which `obj` is kept in a handle.
    fn new_entry(&mut self, obj: &ObjRef<M>) -> Result<u32, GcError> {
        let mut obj = *obj;
        let e = match self.link_mut()?.exports.free.pop() {
            Some(e) => e,
            None => {
                let scope = self.open_scope();
                let grown = (|| {
                    let h = self.handle(&obj)?;
                    let ty = self.link()?.exports.ty;
                    let chunk = self.alloc_pinned(ty)?;
                    obj = self.get(h)?;
                    Ok::<_, GcError>(chunk)
                })();
                self.close_scope(scope)?;
                let chunk = grown?;
                self.roots.exports.push(chunk.raw);
                let x = &mut self.link_mut()?.exports;
                x.by_base
                    .insert(chunk.address().get(), x.chunks.len() as u32);
                x.chunks.push(chunk.address());
                let first = (x.chunks.len() as u32 - 1) * PER_CHUNK;
                x.entries
                    .resize(first as usize + PER_CHUNK as usize, Entry::default());
                // Hand entries out lowest first.
                x.free.extend((first + 1..first + PER_CHUNK).rev());
                first
            }
        };
        let (chunk, off) = self.chunk_of(e)?;
        self.set_ref(&chunk, off, &obj)?;
        self.link_mut()?.exports.entries[e as usize].live = true;
        Ok(e)
    }

    /// Rebuilds the object → entry map after a collection moved objects.
    fn refresh_targets(&mut self) -> Result<(), GcError> {
        let epoch = self.epoch();
        if self.link()?.exports.by_target_epoch == epoch {
            return Ok(());
        }
        let mut map = HashMap::new();
        let n = self.link()?.exports.entries.len() as u32;
        for e in 0..n {
            if self.link()?.exports.entries[e as usize].live {
                let t = self.entry_target(e)?;
                map.insert(t.address().get(), e);
            }
        }
        let x = &mut self.link_mut()?.exports;
        x.by_target = map;
        x.by_target_epoch = epoch;
        Ok(())
    }

    /// The object export entry `e` holds.
    pub(crate) fn entry_target(&self, e: u32) -> Result<ObjRef<M>, GcError> {
        let (chunk, off) = self.chunk_of(e)?;
        self.get_ref(&chunk, off)
    }

    /// Checks that `e` is a live entry of generation `gen`.
    pub(crate) fn entry_live(&self, e: u32, gen: u32) -> Result<(), GcError> {
        match self.link()?.exports.entries.get(e as usize) {
            Some(x) if x.live && x.gen == gen => Ok(()),
            _ => Err(GcError::SealedRevoked),
        }
    }

    /// Releases export entry `e`: its object is no longer a root, and
    /// every [`crate::SealedRef`] of the old generation is refused.
    pub(crate) fn release_entry(&mut self, e: u32) -> Result<(), GcError> {
        let (chunk, off) = self.chunk_of(e)?;
        self.set_ref(&chunk, off, &ObjRef::null())?;
        let x = &mut self.link_mut()?.exports;
        let entry = &mut x.entries[e as usize];
        entry.live = false;
        entry.gen = entry.gen.wrapping_add(1);
        x.free.push(e);
        x.by_target_epoch = 0;
        Ok(())
    }

    /// The live entries.
    pub(crate) fn live_entries(&self) -> Vec<u32> {
        self.link.as_deref().map_or_else(Vec::new, |l| {
            (0..l.exports.entries.len() as u32)
                .filter(|&e| l.exports.entries[e as usize].live)
                .collect()
        })
    }

    /// The sealed form in reference slot `offset` of `holder`
    /// ([`GcError::NotSealed`] for anything else).
    pub(crate) fn load_sealed_form(
        &self,
        holder: &ObjRef<M>,
        offset: u64,
    ) -> Result<M::Ref, GcError> {
        self.usable()?;
        self.live(holder)?;
        let raw = M::load_ref(self.arena.region(), &holder.raw, offset)?;
        if self.ref_slot_fast(holder, offset).is_none() {
            self.ref_slot(holder, offset)?;
        }
        if !self.is_sealed_here(&raw) {
            return Err(GcError::NotSealed);
        }
        Ok(raw)
    }

    /// Stores a sealed form (validated by `Compartments`) in reference
    /// slot `offset` of `holder`. No barrier: a sealed form is never
    /// followed by the collector (it designates an export entry, not an
    /// object), so it is no old-to-young edge.
    pub(crate) fn store_sealed_form(
        &mut self,
        holder: &ObjRef<M>,
        offset: u64,
        raw: &M::Ref,
    ) -> Result<(), GcError> {
        self.usable()?;
        self.live(holder)?;
        if self.ref_slot_fast(holder, offset).is_none() {
            self.ref_slot(holder, offset)?;
        }
        Ok(M::store_ref(
            self.arena.region_mut(),
            &holder.raw,
            offset,
            raw,
        )?)
    }

    /// I7 for one valid reference `raw` found at `at` (the verifier):
    /// true when it was a sealed or foreign reference, fully checked here.
    pub(crate) fn check_isolation(
        &self,
        raw: &M::Ref,
        at: crate::RefLocation,
        v: &mut Vec<crate::Violation>,
    ) -> bool {
        let target = M::address(raw);
        if self.is_sealed_here(raw) {
            if self.arena.region().contains(target, 1) && !self.designates_live_export(raw) {
                v.push(crate::Violation::UnexportedSealed { at, target });
            }
            return true;
        }
        if !self.arena.region().contains(target, 1) {
            v.push(crate::Violation::ForeignReference { at, target });
            return true;
        }
        false
    }

    /// I7: the authority covers exactly this compartment's region.
    pub(crate) fn check_authority(&self, v: &mut Vec<crate::Violation>) {
        let (base, top) = self.arena.authority_span();
        let r = self.arena.region();
        if base != r.base() || top != u128::from(r.end().get()) {
            v.push(crate::Violation::AuthorityOutsideRegion { base, top });
        }
    }

    /// Every sealed form in this heap's objects and roots, with where it
    /// is: what `Compartments::verify` checks against the other
    /// compartments.
    pub(crate) fn for_each_sealed(&self, mut f: impl FnMut(crate::RefLocation, M::Ref)) {
        self.roots.for_each(|at, r| {
            if M::is_valid(&r) && self.is_sealed_here(&r) {
                f(at, r)
            }
        });
        let region = self.arena.region();
        self.arena.walk(|area| {
            if let crate::policy::Area::Object { payload, .. } = area {
                let _ = crate::trace::for_each_slot::<M>(
                    region,
                    &self.types,
                    crate::ScanStrategy::TypeMap,
                    payload,
                    |slot| {
                        // SAFETY: for_each_slot yields aligned slots inside
                        // the region.
                        let r = unsafe { M::read_slot(region, slot) };
                        if M::is_valid(&r) && self.is_sealed_here(&r) {
                            f(crate::RefLocation::Slot(slot), r)
                        }
                    },
                );
            }
        });
    }
}
