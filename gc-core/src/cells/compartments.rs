//! Compartments in the binding profile: a cell heap split into
//! [`CellCompartment`]s (docs/design.md "Compartments in the binding
//! profile").
//!
//! *Ownership by block.* Every 64 KiB block (or large run) belongs to one
//! compartment, recorded in a table indexed by block, so a cell's
//! compartment is one lookup from its address: each compartment has its
//! own memory, never mixed in a block. The VM sets a *current*
//! compartment ([`CellHeap::set_current_compartment`]); allocation takes
//! cells from the current compartment's blocks only. Each compartment
//! keeps its own allocation cursors and lists of blocks with room; the
//! heap's own (the fast path's) are the current compartment's, swapped in
//! when the current compartment changes, so allocation costs what it did
//! before compartments. A heap that never creates a compartment has no
//! table at all: every compartment branch is one `None` test.
//!
//! *The non-local access report.* While compartments exist, every pointer
//! a trace reports (not the roots: they belong to no compartment) is an
//! edge from the traced cell's compartment to the target's; edges that
//! cross are counted per ordered pair during each collection, and the
//! counts of the last finished collection and of all of them are read
//! with [`CellHeap::compartment_edges`]. A cell traced twice in one cycle
//! (a VM's re-scan in its atomic phase) reports its edges twice: the
//! count is of edges *reported*, an upper bound on the distinct ones.
//! Weak references, which a VM resolves itself (Lua's weak tables) and
//! never reports to a trace, are counted apart: the VM reports the ones
//! it keeps with [`CellHeap::note_weak_edge`] while marking, read with
//! [`CellHeap::compartment_weak_edges`].
//!
//! *Strict mode.* [`CellHeap::set_strict`] makes [`CellHeap::check_store`]
//! — what the VM calls where it stores a pointer into a cell (its write
//! barrier) — refuse a store whose value lies in another compartment
//! than the cell stored into, with [`GcError::CompartmentViolation`],
//! unless one of the two is a *crossing* the VM declared
//! ([`CellHeap::declare_crossing`], a proxy object). Refusals are
//! counted per pair too. The heap cannot see stores the VM does not
//! report: strict mode is as complete as the VM's barrier.
//!
//! *Checked configuration.* Every traced pointer is already checked to be
//! into a live cell (the cell heap's module docs); with compartments a
//! cross-compartment target's owner must also be a compartment the heap
//! made (a sound ownership table), or it is a bad pointer, never marked.
//!
//! *Retiring.* [`CellHeap::retire_compartment`] ends a compartment: no
//! more allocation there, its id answers [`GcError::CompartmentDestroyed`].
//! Its cells are reclaimed as they die, like any others, and each of its
//! blocks that a collection finds empty is returned to the system
//! (decommitted: `MADV_DONTNEED`, the address range kept for reuse) as
//! it goes back to the pool; [`CellHeap::compartment_held_blocks`] says
//! how many still hold live cells (0: torn down, nothing of it mapped).
//! The rejected alternative — unmapping its memory at once — would leave
//! dangling any raw pointer another compartment still holds, which the
//! binding profile cannot revoke.
//!
//! *Collecting one compartment alone.* [`CellHeap::collect_compartment`]
//! marks from the VM's roots and the compartment's *remembered* cells
//! (other compartments' cells found pointing into it by the last whole
//! collection, or reported since by [`CellHeap::check_store`]) and
//! sweeps only its blocks: sound only for a VM whose barrier reports
//! every crossing store.

use super::{CellHeap, CellPhase, CellSpace};
use crate::heap::HeapId;
use crate::policy::block::BlockState;
use crate::policy::marksweep_space::Cursor;
use crate::GcError;
use capability_heap::Address;
use std::collections::{HashMap, HashSet};

/// The root compartment's index: every cell allocated before the first
/// compartment was made, and every one allocated while it is current.
const ROOT: u16 = 0;
/// "No source": a pointer reported by the roots or the VM's own marking.
pub(super) const NO_SOURCE: u16 = u16::MAX;

/// A compartment of a cell heap: its heap and its number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellCompartment {
    heap: HeapId,
    index: u16,
}

impl CellCompartment {
    /// The compartment as one number for the C ABI: the heap's identity
    /// in the high 32 bits, the compartment's index in the low 16.
    pub fn token(self) -> u64 {
        (u64::from(self.heap.bits()) << 32) | u64::from(self.index)
    }

    /// The compartment's index in its heap (the root is 0).
    pub fn index(self) -> u16 {
        self.index
    }
}

/// The edges between an ordered pair of compartments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellEdges {
    /// Edges reported by traces in the last finished collection.
    pub last: u64,
    /// Over every collection since the compartments were made.
    pub total: u64,
    /// Stores refused in strict mode ([`CellHeap::check_store`]).
    pub refused: u64,
}

/// One compartment's state.
struct Comp {
    alive: bool,
    /// Its allocation cursors and blocks with room while it is not
    /// current (the current one's are the heap's own).
    cursors: Vec<Cursor>,
    available: Vec<Vec<usize>>,
}

impl Comp {
    /// A living compartment with no blocks yet, for `n` size classes.
    fn new(n: usize) -> Self {
        Comp {
            alive: true,
            cursors: vec![Cursor::default(); n],
            available: vec![Vec::new(); n],
        }
    }
}

/// The compartments of a cell heap.
pub(super) struct Compartments {
    /// The address of block 0 (`owner_of` indexes `owner` from it).
    base: u64,
    /// The owner of each block (its index in `list`), one per block of
    /// the region.
    owner: Vec<u16>,
    list: Vec<Comp>,
    current: u16,
    strict: bool,
    /// Payload addresses of the cells declared crossings.
    crossings: HashSet<u64>,
    last: HashMap<(u16, u16), u64>,
    total: HashMap<(u16, u16), u64>,
    refused: HashMap<(u16, u16), u64>,
    /// Weak references reported this cycle ([`CellHeap::note_weak_edge`]),
    /// the last finished cycle's, and all of them.
    weak: HashMap<(u16, u16), u64>,
    weak_last: HashMap<(u16, u16), u64>,
    weak_total: HashMap<(u16, u16), u64>,
    /// Per compartment: cells of other compartments that point into it
    /// (as of the last whole collection, plus the stores reported since):
    /// its extra roots when it is collected alone.
    remembered: HashMap<u16, HashSet<u64>>,
}

impl Compartments {
    /// The compartment owning the block of `p`, if `p` is in a block.
    #[inline]
    pub(super) fn owner_of(&self, _sp: &CellSpace, p: u64) -> Option<u16> {
        // `owner` has one entry per block of the region, so its bounds
        // check is the region's (an address below `base` wraps to a huge
        // index): one subtraction, shift, compare and load per traced
        // pointer, the report's whole per-pointer cost.
        let i = (p.wrapping_sub(self.base) / crate::policy::block::BLOCK) as usize;
        self.owner.get(i).copied()
    }

    /// True when block `i` belongs to a retired compartment.
    #[inline]
    pub(super) fn retired_owner(&self, i: usize) -> bool {
        self.owner
            .get(i)
            .and_then(|&o| self.list.get(o as usize))
            .is_some_and(|x| !x.alive)
    }

    /// True when compartment `c` was made (it may be retired since).
    pub(super) fn known(&self, c: u16) -> bool {
        (c as usize) < self.list.len()
    }

    /// Records the current compartment as the owner of blocks
    /// `first..first + n`, just taken for allocation.
    #[inline]
    pub(super) fn own(&mut self, first: usize, n: usize) {
        let cur = self.current;
        if let Some(s) = self.owner.get_mut(first..first + n) {
            s.fill(cur);
        }
    }

    /// A new cell at `payload` is no crossing (its address may have been
    /// one of a dead cell).
    #[inline]
    pub(super) fn on_alloc(&mut self, payload: u64) {
        if !self.crossings.is_empty() {
            self.crossings.remove(&payload);
        }
    }
}

impl CellHeap {
    /// The compartments, created (the root compartment holding every
    /// existing cell) on first use.
    fn comps_mut(&mut self) -> &mut Compartments {
        let n = self.space.classes.count();
        let blocks = (self.space.region.len() / crate::policy::block::BLOCK) as usize;
        let base = self.space.blocks.addr(0).get();
        self.space.comps.get_or_insert_with(|| {
            Box::new(Compartments {
                base,
                owner: vec![ROOT; blocks],
                list: vec![Comp::new(n)],
                current: ROOT,
                strict: false,
                crossings: HashSet::new(),
                last: HashMap::new(),
                total: HashMap::new(),
                refused: HashMap::new(),
                weak: HashMap::new(),
                weak_last: HashMap::new(),
                weak_total: HashMap::new(),
                remembered: HashMap::new(),
            })
        })
    }

    fn handle(&self, index: u16) -> CellCompartment {
        CellCompartment {
            heap: self.space.id,
            index,
        }
    }

    /// The root compartment: every cell allocated before any other
    /// compartment existed, or while it is current. Never retired.
    pub fn root_compartment(&self) -> CellCompartment {
        self.handle(ROOT)
    }

    /// The compartment `token` ([`CellCompartment::token`]) names:
    /// [`GcError::WrongHeap`] for another heap's, [`GcError::InvalidCompartment`]
    /// for a number no heap issued or this heap has no compartment for,
    /// [`GcError::CompartmentDestroyed`] for a retired one.
    pub fn compartment(&self, token: u64) -> Result<CellCompartment, GcError> {
        let c = self.compartment_made(token)?;
        self.live(c)
    }

    /// The compartment `token` names, living or retired: as
    /// [`CellHeap::compartment`] but a retired one is answered too.
    pub fn compartment_made(&self, token: u64) -> Result<CellCompartment, GcError> {
        let heap = HeapId::from_bits((token >> 32) as u32);
        if heap != self.space.id {
            return Err(if heap.was_issued() {
                GcError::WrongHeap
            } else {
                GcError::InvalidCompartment
            });
        }
        let index = u16::try_from(token & 0xffff_ffff).map_err(|_| GcError::InvalidCompartment)?;
        let known = index == ROOT || self.space.comps.as_ref().is_some_and(|c| c.known(index));
        if !known {
            return Err(GcError::InvalidCompartment);
        }
        Ok(self.handle(index))
    }

    /// The blocks of compartment `c` (living or retired) that hold cells:
    /// for a retired one, what is still mapped for it (the module docs,
    /// Retiring); 0 once nothing of it is live.
    pub fn compartment_held_blocks(&self, c: CellCompartment) -> Result<u64, GcError> {
        self.space.id.owns(c.heap)?;
        let sp = &self.space;
        let Some(x) = sp.comps.as_ref() else {
            return Ok(if c.index == ROOT {
                sp.blocks.in_use() as u64
            } else {
                0
            });
        };
        if !x.known(c.index) {
            return Err(GcError::InvalidCompartment);
        }
        Ok((0..sp.blocks.high_water())
            .filter(|&i| x.owner[i] == c.index && sp.blocks.state(i) != BlockState::Free)
            .count() as u64)
    }

    /// `c` if it is a living compartment of this heap.
    fn live(&self, c: CellCompartment) -> Result<CellCompartment, GcError> {
        self.space.id.owns(c.heap)?;
        if c.index == ROOT {
            return Ok(c);
        }
        let comps = self
            .space
            .comps
            .as_ref()
            .ok_or(GcError::InvalidCompartment)?;
        match comps.list.get(c.index as usize) {
            None => Err(GcError::InvalidCompartment),
            Some(x) if !x.alive => Err(GcError::CompartmentDestroyed),
            Some(_) => Ok(c),
        }
    }

    /// Refuses a call between `begin` and `finish` (no allocation then).
    fn not_marking(&self, what: &'static str) -> Result<(), GcError> {
        if self.phase == CellPhase::Marking {
            return Err(GcError::WrongPhase {
                call: what,
                phase: self.phase,
            });
        }
        Ok(())
    }

    /// A new compartment with memory of its own (nothing is allocated in
    /// it until it is made current). Not between `begin` and `finish`.
    /// At most 65,534 per heap ([`GcError::TooManyCompartments`]).
    pub fn new_compartment(&mut self) -> Result<CellCompartment, GcError> {
        self.not_marking("new_compartment")?;
        let n = self.space.classes.count();
        let comps = self.comps_mut();
        let index = u16::try_from(comps.list.len())
            .ok()
            .filter(|&i| i < NO_SOURCE)
            .ok_or(GcError::TooManyCompartments)?;
        comps.list.push(Comp::new(n));
        Ok(self.handle(index))
    }

    /// The compartment allocation goes to.
    pub fn current_compartment(&self) -> CellCompartment {
        self.handle(self.space.comps.as_ref().map_or(ROOT, |c| c.current))
    }

    /// Makes `c` the compartment allocation goes to (the VM's
    /// cross-compartment call). Not between `begin` and `finish`.
    pub fn set_current_compartment(&mut self, c: CellCompartment) -> Result<(), GcError> {
        self.not_marking("set_current_compartment")?;
        let c = self.live(c)?;
        if c.index == ROOT && self.space.comps.is_none() {
            return Ok(());
        }
        let sp = &mut self.space;
        let Some(comps) = sp.comps.as_mut() else {
            return Err(GcError::InvalidCompartment);
        };
        let old = comps.current as usize;
        if old == c.index as usize {
            return Ok(());
        }
        // The heap's lists are the current compartment's; its stash is
        // empty (see `Comp`): park them there, take the new one's.
        std::mem::swap(&mut sp.cursors, &mut comps.list[old].cursors);
        std::mem::swap(&mut sp.available, &mut comps.list[old].available);
        std::mem::swap(&mut sp.cursors, &mut comps.list[c.index as usize].cursors);
        std::mem::swap(
            &mut sp.available,
            &mut comps.list[c.index as usize].available,
        );
        comps.current = c.index;
        Ok(())
    }

    /// Retires `c`: no more allocation there, and its id answers
    /// [`GcError::CompartmentDestroyed`]; its cells are reclaimed as they
    /// die (the module docs). Only when idle; never the root nor the
    /// current compartment ([`GcError::CompartmentViolation`]).
    pub fn retire_compartment(&mut self, c: CellCompartment) -> Result<(), GcError> {
        self.require(CellPhase::Idle, "retire_compartment")?;
        let c = self.live(c)?;
        if c.index == ROOT || c.index == self.current_compartment().index {
            return Err(GcError::CompartmentViolation);
        }
        let comps = self.comps_mut();
        let x = &mut comps.list[c.index as usize];
        x.alive = false;
        for k in &mut x.cursors {
            *k = Cursor::default();
        }
        for l in &mut x.available {
            l.clear();
        }
        // Its blocks already empty go back to the system now; the rest as
        // collections empty them (the module docs, Retiring).
        let sp = &mut self.space;
        if let Some(x) = sp.comps.as_ref() {
            for i in 0..sp.blocks.high_water() {
                if x.owner[i] == c.index && sp.blocks.state(i) == BlockState::Free {
                    let _ = sp
                        .region
                        .decommit(sp.blocks.addr(i), crate::policy::block::BLOCK);
                }
            }
        }
        Ok(())
    }

    /// The compartment of the live cell `p` points into.
    pub fn compartment_of(&self, p: *const u8) -> Result<CellCompartment, GcError> {
        let (payload, _) = self
            .space
            .cell_of(p as u64)
            .ok_or(GcError::NotACell(p as u64))?;
        let index = self
            .space
            .comps
            .as_ref()
            .and_then(|c| c.owner_of(&self.space, payload))
            .unwrap_or(ROOT);
        Ok(self.handle(index))
    }

    /// Strict mode on or off (the module docs). Creates the compartment
    /// table if there is none yet.
    pub fn set_strict(&mut self, on: bool) {
        self.comps_mut().strict = on;
    }

    /// Declares the live cell `p` points into a crossing: in strict mode
    /// stores of it into another compartment's cells, and of other
    /// compartments' cells into it, are allowed (a proxy object). Until
    /// the cell dies.
    pub fn declare_crossing(&mut self, p: *const u8) -> Result<(), GcError> {
        let (payload, _) = self
            .space
            .cell_of(p as u64)
            .ok_or(GcError::NotACell(p as u64))?;
        self.comps_mut().crossings.insert(payload);
        Ok(())
    }

    /// The VM stores `value` into the cell `obj` points into (its write
    /// barrier): in strict mode a value in another compartment than
    /// `obj`'s is [`GcError::CompartmentViolation`] (and counted) unless
    /// either is a declared crossing. Null values, and pointers that are
    /// not into live cells (VM memory outside the heap) are allowed,
    /// except in the checked configuration, where `obj` and a non-null
    /// `value` must be live cells ([`GcError::NotACell`]). An allowed
    /// crossing store is remembered (`obj`'s cell becomes a root of
    /// `value`'s compartment when that is collected alone). Without
    /// compartments: always allowed, nothing looked up.
    pub fn check_store(&mut self, obj: *const u8, value: *const u8) -> Result<(), GcError> {
        let sp = &self.space;
        let Some(comps) = sp.comps.as_ref() else {
            return Ok(());
        };
        if value.is_null() {
            return Ok(());
        }
        let checked = self.config.checked;
        let cell = |p: *const u8| match sp.cell_of(p as u64) {
            Some((payload, _)) => Ok(Some(payload)),
            None if checked => Err(GcError::NotACell(p as u64)),
            None => Ok(None),
        };
        let (Some(o), Some(v)) = (cell(obj)?, cell(value)?) else {
            return Ok(());
        };
        let from = comps.owner_of(sp, o).unwrap_or(ROOT);
        let to = comps.owner_of(sp, v).unwrap_or(ROOT);
        if from == to {
            return Ok(());
        }
        let allowed = !comps.strict || comps.crossings.contains(&o) || comps.crossings.contains(&v);
        let comps = self.comps_mut();
        if allowed {
            comps.remembered.entry(to).or_default().insert(o);
            return Ok(());
        }
        *comps.refused.entry((from, to)).or_default() += 1;
        Err(GcError::CompartmentViolation)
    }

    /// The edges from `from`'s cells to `to`'s (the module docs). Retired
    /// compartments are still reported (their id is refused elsewhere);
    /// see [`CellHeap::compartment_edges_of`].
    pub fn compartment_edges(
        &self,
        from: CellCompartment,
        to: CellCompartment,
    ) -> Result<CellEdges, GcError> {
        self.space.id.owns(from.heap)?;
        self.space.id.owns(to.heap)?;
        Ok(self.compartment_edges_of(from.index, to.index))
    }

    /// As [`CellHeap::compartment_edges`], by index (a retired
    /// compartment's too).
    pub fn compartment_edges_of(&self, from: u16, to: u16) -> CellEdges {
        self.pair_counts(from, to, |c| {
            [Some(&c.last), Some(&c.total), Some(&c.refused)]
        })
    }

    /// As [`CellHeap::compartment_weak_edges`], by index (never refused).
    fn compartment_weak_edges_of(&self, from: u16, to: u16) -> CellEdges {
        self.pair_counts(from, to, |c| {
            [Some(&c.weak_last), Some(&c.weak_total), None]
        })
    }

    /// The pair's count in each of the maps `maps` picks (last, total,
    /// refused; a map not kept counts 0); zeros without compartments.
    fn pair_counts(
        &self,
        from: u16,
        to: u16,
        maps: impl for<'a> Fn(&'a Compartments) -> [Option<&'a HashMap<(u16, u16), u64>>; 3],
    ) -> CellEdges {
        let Some(c) = self.space.comps.as_ref() else {
            return CellEdges::default();
        };
        let [last, total, refused] =
            maps(c).map(|m| m.and_then(|m| m.get(&(from, to))).copied().unwrap_or(0));
        CellEdges {
            last,
            total,
            refused,
        }
    }

    /// The VM keeps a weak reference from the live cell `obj` points into
    /// to the live cell `value` points into (an entry of a weak table it
    /// resolved): counted per ordered pair when they lie in different
    /// compartments ([`CellHeap::compartment_weak_edges`]). Only while
    /// marking (after resolving weak references, before `finish` or
    /// `begin_sweep`: [`GcError::WrongPhase`]); both must be live cells
    /// ([`GcError::NotACell`]). Without compartments: nothing counted.
    pub fn note_weak_edge(&mut self, obj: *const u8, value: *const u8) -> Result<(), GcError> {
        self.require(CellPhase::Marking, "note_weak_edge")?;
        let sp = &self.space;
        let cell = |p: *const u8| {
            sp.cell_of(p as u64)
                .map(|(payload, _)| payload)
                .ok_or(GcError::NotACell(p as u64))
        };
        let (o, v) = (cell(obj)?, cell(value)?);
        let Some(c) = sp.comps.as_ref() else {
            return Ok(());
        };
        let from = c.owner_of(sp, o).unwrap_or(ROOT);
        let to = c.owner_of(sp, v).unwrap_or(ROOT);
        if from != to {
            let c = self.comps_mut();
            *c.weak.entry((from, to)).or_default() += 1;
        }
        Ok(())
    }

    /// The weak references from `from`'s cells to `to`'s the VM reported
    /// ([`CellHeap::note_weak_edge`]): `last` in the last finished
    /// collection, `total` in all of them (`refused` is 0).
    pub fn compartment_weak_edges(
        &self,
        from: CellCompartment,
        to: CellCompartment,
    ) -> Result<CellEdges, GcError> {
        self.space.id.owns(from.heap)?;
        self.space.id.owns(to.heap)?;
        Ok(self.compartment_weak_edges_of(from.index, to.index))
    }

    /// Every pair with an edge or a refusal so far: `(from, to, edges)`.
    pub fn compartment_report(&self) -> Vec<(u16, u16, CellEdges)> {
        let Some(c) = self.space.comps.as_ref() else {
            return Vec::new();
        };
        let mut pairs: Vec<(u16, u16)> = c
            .total
            .keys()
            .chain(c.refused.keys())
            .chain(c.last.keys())
            .copied()
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        pairs
            .into_iter()
            .map(|(a, b)| (a, b, self.compartment_edges_of(a, b)))
            .collect()
    }

    /// The number of compartments ever made (the root included): indexes
    /// run below it.
    pub fn compartment_count(&self) -> u16 {
        self.space.comps.as_ref().map_or(1, |c| c.list.len() as u16)
    }

    /// Collects compartment `c` alone: marks from the VM's roots and from
    /// its *remembered* cells (cells of other compartments found pointing
    /// into it by the last whole collection, or reported since by
    /// [`CellHeap::check_store`]), follows pointers only within `c`,
    /// then releases and reclaims `c`'s dead cells; no other block is
    /// swept, so apart from the roots the pause is in proportion to `c`.
    /// Only when idle.
    ///
    /// Sound only for a VM that reports every store of a pointer into
    /// another compartment's cell through `check_store` (its barrier);
    /// one that does not (Lua) must use whole collections. Not counted in
    /// the report or the collection statistics (the report's counts are
    /// of whole collections).
    pub fn collect_compartment(
        &mut self,
        vm: &mut impl super::CellVm,
        c: CellCompartment,
    ) -> Result<super::CellCycle, GcError> {
        self.require(CellPhase::Idle, "collect_compartment")?;
        let c = self.live(c)?;
        let t = std::time::Instant::now();
        let only = c.index;
        self.comps_mut();
        self.phase = CellPhase::Marking;
        self.mark.start();
        self.mark.set_only(only);
        let roots: Vec<u64> = self
            .space
            .comps
            .as_ref()
            .and_then(|x| x.remembered.get(&only))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        let mut m = self.marker();
        vm.roots(&mut m);
        for p in roots {
            if m.is_live_cell(p) {
                m.trace_as_root(vm, p);
            }
        }
        m.drain(vm);
        let marked = self.mark.take_error();
        self.mark.set_only(NO_SOURCE);
        self.mark.edges.clear();
        self.mark.crossing.clear();
        // Release, then reclaim, only `c`'s blocks.
        let owned = |sp: &CellSpace, i: usize| {
            sp.comps
                .as_ref()
                .is_some_and(|x| x.owner.get(i) == Some(&only))
        };
        for i in 0..self.space.blocks.high_water() {
            if owned(&self.space, i) {
                self.release_block(vm, i, false, false);
            }
        }
        self.compartment_clear_lists(only);
        let mut cycle = super::CellCycle::default();
        let mut i = 0;
        while i < self.space.blocks.high_water() {
            i = if owned(&self.space, i) {
                self.reclaim_block(i, false, &mut cycle)
            } else {
                i + 1
            };
        }
        self.compartments_redistribute();
        self.stats.cells -= cycle.freed_cells;
        self.stats.bytes_in_use -= cycle.freed_bytes;
        let sp = &mut self.space;
        if let Some(x) = sp.comps.as_mut() {
            for set in x.remembered.values_mut() {
                set.retain(|&p| sp.alloc.get(Address(p)));
            }
        }
        self.phase = CellPhase::Idle;
        cycle.pause = t.elapsed();
        cycle.live_cells = self.stats.cells;
        cycle.live_bytes = self.stats.bytes_in_use;
        if self.config.checked || self.config.zeal.verify {
            if let Some(v) = self.verify().into_iter().next() {
                return Err(GcError::CellHeapCorrupt(v));
            }
        }
        marked.map(|()| cycle)
    }

    /// Before compartment `c`'s blocks are reclaimed alone: its lists of
    /// blocks with room (and cursors) are emptied, whether they are the
    /// heap's own (it is current) or parked; reclaim rebuilds them.
    fn compartment_clear_lists(&mut self, c: u16) {
        let sp = &mut self.space;
        let Some(x) = sp.comps.as_mut() else { return };
        if x.current == c {
            let owner = &x.owner;
            for list in &mut sp.available {
                list.retain(|&i| owner[i] != c);
            }
            sp.cursors.iter_mut().for_each(|k| *k = Cursor::default());
        } else {
            let y = &mut x.list[c as usize];
            y.cursors.iter_mut().for_each(|k| *k = Cursor::default());
            y.available.iter_mut().for_each(Vec::clear);
        }
    }

    /// At the end of a collection: this cycle's edge counts become the
    /// last collection's and are added to the totals.
    /// The remembered sets become the crossing pointers this trace found
    /// plus the stores reported meanwhile, less the cells now dead.
    pub(super) fn compartments_end_cycle(&mut self) {
        let edges = std::mem::take(&mut self.mark.edges);
        let crossing = std::mem::take(&mut self.mark.crossing);
        let sp = &mut self.space;
        if let Some(c) = sp.comps.as_mut() {
            for (&k, &n) in &edges {
                *c.total.entry(k).or_default() += n;
            }
            c.last = edges;
            let weak = std::mem::take(&mut c.weak);
            for (&k, &n) in &weak {
                *c.weak_total.entry(k).or_default() += n;
            }
            c.weak_last = weak;
            for (to, cell) in crossing {
                c.remembered.entry(to).or_default().insert(cell);
            }
            for set in c.remembered.values_mut() {
                set.retain(|&p| sp.alloc.get(Address(p)));
            }
        }
    }

    /// Before the lists of blocks with room are rebuilt (a whole reclaim
    /// or a lazy sweep's start): every parked compartment's are emptied
    /// too.
    pub(super) fn compartments_clear_lists(&mut self) {
        if let Some(c) = self.space.comps.as_mut() {
            for x in &mut c.list {
                x.cursors.iter_mut().for_each(|k| *k = Cursor::default());
                x.available.iter_mut().for_each(Vec::clear);
            }
        }
    }

    /// After blocks were reclaimed (into the heap's own lists): each block
    /// with room goes to its owner's list (a retired owner's is dropped:
    /// its cells die in place), and a parked cursor into a block that was
    /// freed is reset.
    pub(super) fn compartments_redistribute(&mut self) {
        let sp = &mut self.space;
        let Some(c) = sp.comps.as_mut() else { return };
        let cur = c.current;
        for (class, list) in sp.available.iter_mut().enumerate() {
            list.retain(|&i| {
                let o = c.owner[i];
                if o == cur {
                    return true;
                }
                if let Some(x) = c.list.get_mut(o as usize).filter(|x| x.alive) {
                    x.available[class].push(i);
                }
                false
            });
        }
        for (k, x) in c.list.iter_mut().enumerate() {
            if k == cur as usize {
                continue;
            }
            for (class, cur) in x.cursors.iter_mut().enumerate() {
                if cur.end == 0 {
                    continue;
                }
                let ok = sp
                    .blocks
                    .index_of(Address(cur.next.min(cur.end - 1)))
                    .is_some_and(|i| {
                        sp.blocks.state(i)
                            == BlockState::Small {
                                class: class as u16,
                            }
                            && c.owner[i] as usize == k
                    });
                if !ok {
                    *cur = Cursor::default();
                }
            }
        }
    }
}
