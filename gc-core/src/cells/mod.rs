//! The binding profile: [`CellHeap`], cells for existing VMs
//! (docs/design.md "Binding profile for existing VMs").
//!
//! An existing VM (Lua, a Scheme, a JIT) keeps its own object layout and
//! raw pointers everywhere — in its objects, in memory it allocates
//! itself, in C locals. It cannot hand its references to a capability
//! heap. For it there is this second heap: non-moving mark-sweep over
//! *cells*, variable-size allocations of VM-defined types whose address
//! is the VM's pointer. The VM supplies the three things only it knows,
//! as a [`CellVm`]:
//! - its **roots**, reported at the start of every collection;
//! - each type's **trace**: every pointer it finds in a cell, or in memory
//!   the VM allocated outside the heap, reported to a [`Marker`] — a
//!   pointer may point anywhere into a cell (Lua's threads point 8 bytes
//!   in);
//! - a **release** call for every dead cell, made for *all* of a
//!   collection's dead cells before *any* of them is reclaimed (a dying
//!   Lua thread closes upvalues that die in the same cycle).
//!
//! Collection is split, so the VM keeps its own semantics in its own
//! order: [`CellHeap::begin`] marks from the roots and drains; then the VM
//! asks [`CellHeap::is_marked`], marks more ([`CellHeap::mark`]) and
//! drains again ([`CellHeap::drain`]) as often as it needs (ephemeron
//! fixpoints, finalizer resurrection); [`CellHeap::finish`] releases and
//! reclaims the dead. A call in the wrong phase is
//! [`GcError::WrongPhase`]. The heap never collects on its own: the VM
//! paces collection (the manual trigger), and a full heap is
//! [`GcError::OutOfMemory`], which the VM turns into its own error.
//!
//! *Incremental marking* ([`CellHeap::start`], [`CellHeap::step`]; the
//! `incremental` module) lets the mutator run between bounded marking
//! steps; `begin` then ends the cycle's marking (its atomic phase) and
//! `finish` sweeps as before. The VM's write barrier keeps the tri-colour
//! invariant; cells allocated meanwhile are white (the module's docs).
//!
//! Layout: 64 KiB blocks of one size class each (the mark-sweep space's
//! classes and block table), or a run of blocks for one large cell. A cell
//! is a header word (the type; 16 bytes in P128, where cells are
//! 16-aligned) and the payload the VM gets. Alloc and mark bits are side
//! bitmaps at 8-byte granularity, set at payload starts: "is this a live
//! cell" is one bit for a payload pointer, and a division for an interior
//! one. Sweeping is a bitmap word at a time; free large runs go back to
//! the kernel.
//!
//! Safety: this profile is for the unchecked modes only, and of
//! docs/design.md's contract it keeps what raw pointers leave checkable. The
//! VM's pointers are raw addresses the heap cannot check on use (I1, I5,
//! I6 need tags: not enforced, as in Native). What it does check:
//! - I3, for what the collector is told: every pointer a trace or root
//!   reports must be into a live cell of this heap, or it is
//!   [`GcError::NotACell`] and never marked, so a stale pointer can never
//!   keep a freed cell's successor alive or be traced as one;
//! - I2, as far as it can be seen: headers are outside the payload the VM
//!   is given, and [`CellHeap::verify`] reports a header that no longer
//!   names a registered type (a VM buffer overflow); such a cell is never
//!   traced;
//! - I4 holds for large runs, which go back to the kernel (zero pages) when
//!   freed; small cells are reused uninitialised, like `malloc`'s, since
//!   plain memory has no tags to clear;
//! - every type (another heap's is [`GcError::WrongHeap`]), size and phase.
//!
//! In the checked configuration ([`CellConfig::checked`]) pointers outside
//! the heap are refused too and every collection ends with
//! [`CellHeap::verify`]. The C ABI refuses this profile in SoftCheri with
//! its own status: the slot API is the capability-safe path.

mod compartments;
mod incremental;
mod mark;
mod sweep;
#[cfg(test)]
mod tests;

pub use compartments::{CellCompartment, CellEdges};
pub use mark::Marker;

use crate::heap::HeapId;
use crate::mark_bits::SideBitmap;
use crate::policy::block::{BlockState, Blocks, BLOCK};
use crate::policy::marksweep_space::{Cursor, SizeClasses};
use crate::GcError;
use capability_heap::{Address, TaggedRegion};
use mark::MarkState;
use std::collections::HashMap;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

/// What a cell heap is created from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CellConfig {
    /// The most bytes of cells (headers included, rounded to blocks) the
    /// heap holds; allocation past it is [`GcError::OutOfMemory`].
    pub limit: u64,
    /// Cell alignment and header size: 8 (Native) or 16 (P128).
    pub align: u64,
    /// Every reported pointer must be into a live cell (pointers outside
    /// the heap are refused too), and every collection ends with the
    /// verifier.
    pub checked: bool,
    /// The heap never collects on its own: the VM paces collection, and
    /// [`CellHeap::alloc_with`] is [`CellHeap::alloc`]. Otherwise
    /// `alloc_with` collects when the cells exceed `initial_size`, then
    /// `growth_factor` times the bytes live after the last collection, and
    /// when the heap is full.
    pub manual: bool,
    /// Bytes of cells before the first automatic collection.
    pub initial_size: u64,
    /// The next automatic collection at this many times the live bytes.
    pub growth_factor: f64,
    /// One line per collection on stderr (`[capgc cells] gc #N …`).
    pub log: bool,
    /// GC zeal, extended by `CAPGC_ZEAL` at creation ([`crate::Zeal`]).
    /// In a cell heap: `collect:N` makes a collection due every N
    /// allocations — [`CellHeap::alloc_with`] (automatic trigger) runs it,
    /// a manual heap reports it ([`CellHeap::collection_due`]) and the VM
    /// runs it at its next safepoint; `verify` runs [`CellHeap::verify`]
    /// after every collection; `poison` fills freed small cells with
    /// [`crate::Zeal::POISON`] (they are reused uninitialised anyway; large
    /// runs go back to the kernel as zero pages); `move-all` has no effect
    /// (cells never move).
    pub zeal: crate::Zeal,
}

impl Default for CellConfig {
    fn default() -> CellConfig {
        CellConfig {
            limit: 1 << 30,
            align: 8,
            checked: false,
            manual: true,
            initial_size: 4 << 20,
            growth_factor: 2.0,
            log: false,
            zeal: crate::Zeal::default(),
        }
    }
}

/// A registered cell type: its heap and its number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CellType {
    heap: HeapId,
    index: u32,
}

impl CellType {
    /// The type's number in its heap, as the C ABI passes it.
    pub fn index(self) -> u32 {
        self.index
    }
}

/// What the VM supplies: its roots, its types' traces, its release hook.
pub trait CellVm {
    /// Reports every root (each pointer to a cell the VM holds outside
    /// cells) to `m`; called at the start of every collection.
    fn roots(&mut self, m: &mut Marker<'_>);
    /// Reports every pointer in `cell` (and in memory the VM owns on its
    /// behalf) to `m`. Called once per marked cell of a type that is not a
    /// leaf.
    fn trace(&mut self, ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>);
    /// `cell` is dead: free what the VM owns on its behalf. Called for
    /// every dead cell of a collection before any of them is reclaimed;
    /// the cell's memory is reclaimed after the last call. (In a lazy
    /// sweep, [`CellHeap::sweep`], only before the cells of the same
    /// sweep step are reclaimed.)
    fn release(&mut self, ty: CellType, cell: NonNull<u8>);
    /// In a lazy sweep, before a dead cell of a *leaf* type is released:
    /// true keeps it (it stays allocated, unmarked, until a later
    /// collection), for a VM that found the cell again after marking
    /// through a table the collector does not trace — Lua's string table
    /// hands out a dead short string again. Never asked for cells that
    /// hold pointers (their referents may be gone).
    fn keep(&mut self, ty: CellType, cell: NonNull<u8>) -> bool {
        let _ = (ty, cell);
        false
    }
}

/// Where a cell heap is in its collection cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CellPhase {
    /// Mutator running: allocation allowed, no collection in progress.
    Idle,
    /// Between [`CellHeap::start`] and [`CellHeap::begin`]: a cycle's
    /// incremental marking, with the mutator running and allocating
    /// between [`CellHeap::step`]s.
    Incremental,
    /// Between [`CellHeap::begin`] and [`CellHeap::finish`] (or
    /// [`CellHeap::begin_sweep`]).
    Marking,
    /// Between [`CellHeap::begin_sweep`] and the [`CellHeap::sweep`] that
    /// ends the cycle: dead cells are released and reclaimed a few blocks
    /// at a time, with the mutator running and allocating in between.
    Sweeping,
}

/// What one collection did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellCycle {
    /// Cells found live.
    pub live_cells: u64,
    /// Their bytes (cell sizes, headers included).
    pub live_bytes: u64,
    /// Cells released and reclaimed.
    pub freed_cells: u64,
    /// Their bytes.
    pub freed_bytes: u64,
    /// Wall time from `begin` to the end of `finish`, VM phases included.
    pub pause: Duration,
    /// Incremental marking steps before `begin` (0: not incremental).
    pub steps: u64,
    /// The longest of them.
    pub max_step: Duration,
}

/// A cell heap's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CellStats {
    /// Cells allocated and not yet reclaimed.
    pub cells: u64,
    /// Their bytes (cell sizes, headers included).
    pub bytes_in_use: u64,
    /// Bytes of blocks held (small blocks and large runs).
    pub bytes_held: u64,
    /// Collections finished.
    pub collections: u64,
    /// Their total pause.
    pub total_pause: Duration,
    /// The longest one.
    pub max_pause: Duration,
    /// Incremental marking steps (and starts) taken.
    pub steps: u64,
    /// The longest of them.
    pub max_step: Duration,
    /// Pointers reported to a marker that were not into a live cell.
    pub bad_pointers: u64,
    /// The last collection.
    pub last: CellCycle,
}

/// A type's entry.
#[derive(Clone, Copy, Debug)]
struct TypeInfo {
    /// Cells of this type hold no pointers: marked, never traced.
    leaf: bool,
}

/// The memory: blocks, size classes, alloc bits.
pub(crate) struct CellSpace {
    /// The heap's identity, carried by its types.
    id: HeapId,
    region: TaggedRegion,
    blocks: Blocks,
    classes: SizeClasses,
    cursors: Vec<Cursor>,
    /// Per class: blocks with free cells, highest address first.
    available: Vec<Vec<usize>>,
    /// A live cell's payload starts here.
    alloc: SideBitmap,
    /// Head block of each large cell → its cell bytes.
    large: HashMap<usize, u64>,
    /// Header bytes before each payload (= cell alignment).
    hdr: u64,
    /// The compartments, once the VM makes one (the `compartments`
    /// module); `None`: one undivided heap, as before.
    comps: Option<Box<compartments::Compartments>>,
}

/// A non-moving mark-sweep heap of raw cells (the module docs).
pub struct CellHeap {
    space: CellSpace,
    mark: MarkState,
    types: Vec<TypeInfo>,
    phase: CellPhase,
    config: CellConfig,
    stats: CellStats,
    started: Option<Instant>,
    /// Cell bytes at which `alloc_with` collects (automatic trigger).
    trigger: u64,
    /// Zeal's allocation countdown.
    zeal: crate::zeal::ZealState,
    /// Zeal's `collect:N` counted N allocations since the last collection.
    zeal_due: bool,
    /// The incremental steps of the cycle in progress: count, longest.
    steps: (u64, Duration),
    /// During a lazy sweep: where it is, and the cycle so far.
    sweeping: Option<sweep::LazySweep>,
}

impl CellSpace {
    /// The cell holding address `p` (a payload start or anywhere inside
    /// the payload): its payload address and cell bytes, if it is live.
    #[inline]
    pub(crate) fn cell_of(&self, p: u64) -> Option<(u64, u64)> {
        let i = self.blocks.index_of(Address(p))?;
        match self.blocks.state(i) {
            BlockState::Small { class } => {
                let size = self.classes.size(class);
                let base = self.blocks.addr(i).get();
                let k = (p - base) / size;
                if (k + 1) * size > BLOCK {
                    return None;
                }
                let payload = base + k * size + self.hdr;
                (p >= payload && self.alloc.get(Address(payload))).then_some((payload, size))
            }
            BlockState::LargeHead | BlockState::LargeTail => {
                let mut j = i;
                while self.blocks.state(j) == BlockState::LargeTail {
                    j -= 1;
                }
                let cell = self.blocks.addr(j).get();
                let len = *self.large.get(&j)?;
                let payload = cell + self.hdr;
                (p >= payload && p < cell + len && self.alloc.get(Address(payload)))
                    .then_some((payload, len))
            }
            _ => None,
        }
    }

    /// The type number in the header of the cell whose payload is at `p`.
    #[inline]
    fn type_at(&self, payload: u64) -> u32 {
        self.region
            .read::<u64>(Address(payload - self.hdr))
            .map_or(u32::MAX, |w| w as u32)
    }

    /// [`CellSpace::type_at`] for a payload whose alloc bit is set (a live
    /// cell's payload start): its header is in the region, so the read
    /// needs no range check.
    #[inline(always)]
    fn type_of_live(&self, payload: u64) -> u32 {
        debug_assert!(self.alloc.get(Address(payload)));
        // SAFETY: an alloc bit is set only at the payload start of a cell
        // allocated in this region (`CellHeap::alloc`), a header past the
        // start of its block or run: the header word is in the region.
        unsafe {
            self.region
                .read_unchecked::<u64>(Address(payload - self.hdr)) as u32
        }
    }

    /// This heap's type numbered `index`.
    #[inline]
    fn typed(&self, index: u32) -> CellType {
        CellType {
            heap: self.id,
            index,
        }
    }

    /// True when `p` lies in the heap's memory at all.
    #[inline]
    fn in_heap(&self, p: u64) -> bool {
        self.region.contains(Address(p), 1)
    }
}

impl CellHeap {
    /// A heap reserving `config.limit` bytes of address space (committed
    /// as cells are used).
    pub fn new(mut config: CellConfig) -> Result<CellHeap, GcError> {
        use crate::error::ConfigError;
        config.zeal = config.zeal.with_env()?;
        if config.align != 8 && config.align != 16 {
            return Err(GcError::InvalidConfig(ConfigError::CellAlign(config.align)));
        }
        if config.limit < BLOCK || config.limit > crate::HeapConfig::MAX_LIMIT {
            return Err(GcError::InvalidConfig(ConfigError::Limit(config.limit)));
        }
        if !(config.growth_factor.is_finite() && config.growth_factor >= 1.0) {
            return Err(GcError::InvalidConfig(ConfigError::GrowthFactor));
        }
        if !config.manual && config.initial_size > config.limit {
            return Err(GcError::InvalidConfig(ConfigError::InitialSize(
                config.initial_size,
            )));
        }
        let len = config.limit.div_ceil(BLOCK) * BLOCK;
        let region = TaggedRegion::plain(len).map_err(GcError::Region)?;
        let base = region.base();
        let blocks = Blocks::new(base, region.len(), len).map_err(GcError::Region)?;
        let classes = SizeClasses::new(config.align);
        let n = classes.count();
        let alloc = SideBitmap::new(base, region.len()).map_err(GcError::Region)?;
        let mark = MarkState::new(base, len)?;
        // One bit index serves both bitmaps (`Marker::mark`).
        debug_assert_eq!(alloc.len(), mark.range_len());
        Ok(CellHeap {
            space: CellSpace {
                id: HeapId::fresh()?,
                alloc,
                region,
                blocks,
                classes,
                cursors: vec![Cursor::default(); n],
                available: vec![Vec::new(); n],
                large: HashMap::new(),
                hdr: config.align,
                comps: None,
            },
            mark,
            types: Vec::new(),
            phase: CellPhase::Idle,
            config,
            stats: CellStats::default(),
            started: None,
            trigger: config.initial_size,
            zeal: crate::zeal::ZealState::new(config.zeal),
            zeal_due: false,
            steps: (0, Duration::ZERO),
            sweeping: None,
        })
    }

    /// The configuration the heap was made with.
    #[inline]
    pub fn config(&self) -> CellConfig {
        self.config
    }

    /// Registers a type; `leaf` types hold no pointers and are never
    /// traced.
    pub fn register_type(&mut self, leaf: bool) -> Result<CellType, GcError> {
        let id = u32::try_from(self.types.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .ok_or(GcError::InvalidType(crate::TypeError::TooMany))?;
        self.types.push(TypeInfo { leaf });
        Ok(self.typed(id))
    }

    fn typed(&self, index: u32) -> CellType {
        self.space.typed(index)
    }

    /// The type numbered `index`, if registered.
    pub fn cell_type(&self, index: u32) -> Result<CellType, GcError> {
        if (index as usize) < self.types.len() {
            Ok(self.typed(index))
        } else {
            Err(GcError::UnknownCellType(index))
        }
    }

    /// Where the heap is in its cycle.
    pub fn phase(&self) -> CellPhase {
        self.phase
    }

    /// In a collection: incremental marking or its atomic phase.
    fn require_marking(&self, what: &'static str) -> Result<(), GcError> {
        if self.phase == CellPhase::Incremental {
            return Ok(());
        }
        self.require(CellPhase::Marking, what)
    }

    fn require(&self, phase: CellPhase, what: &'static str) -> Result<(), GcError> {
        if self.phase == phase {
            Ok(())
        } else {
            Err(GcError::WrongPhase {
                call: what,
                phase: self.phase,
            })
        }
    }

    /// Allocates a cell of `ty` with `size` payload bytes (uninitialised,
    /// like `malloc`) and returns the payload's address, aligned to
    /// [`CellConfig::align`]. Never collects: past the limit it is
    /// [`GcError::OutOfMemory`] and the heap is unchanged. Allowed when
    /// idle and during incremental marking (the cell is white: the
    /// `incremental` module's docs); not in [`CellPhase::Marking`].
    #[inline]
    pub fn alloc(&mut self, ty: CellType, size: u64) -> Result<NonNull<u8>, GcError> {
        if self.phase == CellPhase::Marking {
            self.require(CellPhase::Idle, "alloc")?;
        }
        self.space.id.owns(ty.heap)?;
        if ty.index as usize >= self.types.len() {
            return Err(GcError::UnknownCellType(ty.index)); // from a smashed header
        }
        let align = self.config.align;
        let limit = self.config.limit;
        let oom = || GcError::OutOfMemory {
            requested: size,
            limit,
        };
        let cell = size
            .checked_add(self.space.hdr + align - 1)
            .filter(|&c| c <= limit)
            .ok_or_else(oom)?
            & !(align - 1);
        let (payload, bytes) = match self.space.classes.class_of(cell) {
            Some(class) => {
                let p = self.alloc_small(class).ok_or_else(oom)?;
                (p, self.space.classes.size(class))
            }
            None => (self.alloc_large(cell).ok_or_else(oom)?, cell),
        };
        let sp = &mut self.space;
        // SAFETY: `payload` was just taken from a block (or a run) of this
        // heap's region, at least a header past its start, so the header
        // word lies inside the region; the region is plain memory
        // (`TaggedRegion::plain`), which holds no tags.
        unsafe {
            sp.region
                .write_unchecked::<u64>(Address(payload - sp.hdr), u64::from(ty.index));
        }
        sp.alloc.set_fresh(Address(payload));
        if let Some(c) = sp.comps.as_deref_mut() {
            c.on_alloc(payload);
        }
        if let Some(next) = self.sweeping.as_ref().map(|s| s.next) {
            self.mark_if_unswept(payload, next);
        }
        self.stats.cells += 1;
        self.stats.bytes_in_use += bytes;
        if self.zeal.allocation_due() {
            self.zeal_due = true;
        }
        // SAFETY: the payload lies in the mapped region, never at 0.
        Ok(unsafe { NonNull::new_unchecked(payload as *mut u8) })
    }

    /// [`CellHeap::alloc`], collecting first when the automatic trigger
    /// is due, and once more when the heap is full (not in a manual
    /// heap: there it is `alloc`).
    #[inline]
    pub fn alloc_with(
        &mut self,
        vm: &mut impl CellVm,
        ty: CellType,
        size: u64,
    ) -> Result<NonNull<u8>, GcError> {
        if self.config.manual {
            return self.alloc(ty, size);
        }
        self.alloc_automatic(vm, ty, size)
    }

    /// [`CellHeap::alloc_with`] in a heap that collects on its own (out of
    /// line: a manual heap's allocation, the VM-paced one, is the path
    /// every Lua object takes).
    #[inline(never)]
    fn alloc_automatic(
        &mut self,
        vm: &mut impl CellVm,
        ty: CellType,
        size: u64,
    ) -> Result<NonNull<u8>, GcError> {
        if self.phase == CellPhase::Idle
            && (self.zeal_due || self.stats.bytes_in_use.saturating_add(size) > self.trigger)
        {
            self.collect(vm)?;
        }
        match self.alloc(ty, size) {
            Err(GcError::OutOfMemory { .. }) if self.phase == CellPhase::Idle => {
                self.collect(vm)?;
                self.alloc(ty, size)
            }
            r => r,
        }
    }

    /// A free cell of `class`: its payload address.
    #[inline]
    fn alloc_small(&mut self, class: u16) -> Option<u64> {
        let sp = &mut self.space;
        let size = sp.classes.size(class);
        loop {
            let c = &mut sp.cursors[class as usize];
            while c.next + size <= c.end {
                let payload = c.next + sp.hdr;
                c.next += size;
                if !sp.alloc.get(Address(payload)) {
                    return Some(payload);
                }
            }
            let i = match sp.available[class as usize].pop() {
                Some(i) => i,
                None => {
                    let i = sp.blocks.alloc_block(BlockState::Small { class })?;
                    self.stats.bytes_held += BLOCK;
                    if let Some(c) = sp.comps.as_deref_mut() {
                        c.own(i, 1);
                    }
                    i
                }
            };
            let base = sp.blocks.addr(i).get();
            sp.cursors[class as usize] = Cursor {
                next: base,
                end: base + BLOCK,
            };
        }
    }

    /// A run of blocks for a cell of `cell` bytes: its payload address.
    fn alloc_large(&mut self, cell: u64) -> Option<u64> {
        let sp = &mut self.space;
        let n = cell.div_ceil(BLOCK);
        let i = sp.blocks.alloc_large(usize::try_from(n).ok()?, |_| true)?;
        sp.large.insert(i, cell);
        self.stats.bytes_held += n * BLOCK;
        if let Some(c) = sp.comps.as_deref_mut() {
            c.own(i, n as usize);
        }
        Some(sp.blocks.addr(i).get() + sp.hdr)
    }

    /// True when `p` points into a live cell (anywhere in its payload).
    pub fn owns(&self, p: *const u8) -> bool {
        self.space.cell_of(p as u64).is_some()
    }

    /// The payload bytes of the live cell `p` points into (its usable
    /// size: the request rounded up to the cell's class).
    pub fn cell_size(&self, p: *const u8) -> Result<u64, GcError> {
        self.space
            .cell_of(p as u64)
            .map(|(_, bytes)| bytes - self.space.hdr)
            .ok_or(GcError::NotACell(p as u64))
    }

    /// The type of the live cell `p` points into.
    pub fn type_of(&self, p: *const u8) -> Result<CellType, GcError> {
        let (payload, _) = self
            .space
            .cell_of(p as u64)
            .ok_or(GcError::NotACell(p as u64))?;
        Ok(self.typed(self.space.type_at(payload)))
    }

    /// The heap's statistics.
    pub fn stats(&self) -> CellStats {
        CellStats {
            bad_pointers: self.stats.bad_pointers + self.mark.bad,
            ..self.stats
        }
    }

    fn marker(&mut self) -> Marker<'_> {
        Marker::new(
            &self.space,
            &self.types,
            &mut self.mark,
            self.config.checked,
        )
    }

    /// Starts a collection: marks everything reachable from the VM's
    /// roots and drains. Afterwards the VM may query, mark and drain
    /// ([`CellHeap::is_marked`], [`CellHeap::mark`], [`CellHeap::drain`])
    /// before [`CellHeap::finish`]. A reported pointer that was not into
    /// a live cell is [`GcError::NotACell`] (after the drain completes;
    /// the collection goes on). During incremental marking this is the
    /// cycle's atomic phase: the roots are reported again and everything
    /// still gray is traced; the marks of the steps stand.
    pub fn begin(&mut self, vm: &mut impl CellVm) -> Result<(), GcError> {
        if self.phase != CellPhase::Incremental {
            self.require(CellPhase::Idle, "begin")?;
            self.mark.start();
            self.steps = (0, Duration::ZERO);
        }
        self.phase = CellPhase::Marking;
        self.started = Some(Instant::now());
        let mut m = self.marker();
        vm.roots(&mut m);
        m.drain(vm);
        self.mark.take_error()
    }

    /// Marks the cell `p` points into (null is ignored); a later
    /// [`CellHeap::drain`] (or [`CellHeap::step`]) traces it. During
    /// incremental marking this is the VM's barrier shading a cell.
    pub fn mark(&mut self, p: *const u8) -> Result<(), GcError> {
        self.require_marking("mark")?;
        self.marker().mark(p);
        self.mark.take_error()
    }

    /// Traces every cell marked and not yet traced.
    pub fn drain(&mut self, vm: &mut impl CellVm) -> Result<(), GcError> {
        self.require_marking("drain")?;
        self.marker().drain(vm);
        self.mark.take_error()
    }

    /// True when the cell `p` points into is marked (null: false).
    pub fn is_marked(&self, p: *const u8) -> Result<bool, GcError> {
        self.require_marking("is_marked")?;
        if p.is_null() {
            return Ok(false);
        }
        // A payload start (most pointers) is its own alloc bit; an interior
        // pointer takes the block lookup.
        let payload = if self.space.alloc.get(Address(p as u64)) {
            p as u64
        } else {
            self.space
                .cell_of(p as u64)
                .ok_or(GcError::NotACell(p as u64))?
                .0
        };
        Ok(self.mark.is_marked(payload))
    }

    /// Ends a collection: calls `vm.release` for every unmarked cell, then
    /// reclaims them all. In the checked configuration the verifier runs
    /// afterwards and a violation is [`GcError::CellHeapCorrupt`].
    pub fn finish(&mut self, vm: &mut impl CellVm) -> Result<CellCycle, GcError> {
        self.require(CellPhase::Marking, "finish")?;
        self.release_dead(vm, false);
        let mut cycle = self.reclaim(false);
        self.zeal_due = false;
        self.phase = CellPhase::Idle;
        cycle.pause = self.started.take().map_or(Duration::ZERO, |t| t.elapsed());
        (cycle.steps, cycle.max_step) = std::mem::take(&mut self.steps);
        self.end_cycle(cycle)
    }

    /// Records a finished collection: statistics, the next trigger, the
    /// log line, and in the checked configuration the verifier.
    fn end_cycle(&mut self, cycle: CellCycle) -> Result<CellCycle, GcError> {
        self.stats.collections += 1;
        self.stats.total_pause += cycle.pause;
        self.stats.max_pause = self.stats.max_pause.max(cycle.pause);
        self.stats.bad_pointers += std::mem::take(&mut self.mark.bad);
        self.stats.last = cycle;
        self.compartments_end_cycle();
        let grown = (cycle.live_bytes as f64 * self.config.growth_factor) as u64;
        self.trigger = grown.max(self.config.initial_size);
        if self.config.log {
            eprintln!(
                "[capgc cells] gc #{} live {} cells / {} KiB, freed {} cells / {} KiB, held {} KiB, pause {:.3} ms, {} steps (max {:.3} ms)",
                self.stats.collections,
                cycle.live_cells,
                cycle.live_bytes >> 10,
                cycle.freed_cells,
                cycle.freed_bytes >> 10,
                self.stats.bytes_held >> 10,
                cycle.pause.as_secs_f64() * 1e3,
                cycle.steps,
                cycle.max_step.as_secs_f64() * 1e3
            );
        }
        if self.config.checked || self.config.zeal.verify {
            let violations = self.verify();
            if self.config.zeal.verify {
                for v in &violations {
                    eprintln!(
                        "capgc zeal: cell heap verification failed after collection {}: {v}",
                        self.stats.collections
                    );
                }
            }
            if let Some(v) = violations.into_iter().next() {
                return Err(GcError::CellHeapCorrupt(v));
            }
        }
        Ok(cycle)
    }

    /// True when zeal's `collect:N` has counted N allocations since the
    /// last collection: a manual heap's VM runs a collection at its next
    /// safepoint (an automatic heap runs it in [`CellHeap::alloc_with`]).
    /// Always false without zeal.
    pub fn collection_due(&self) -> bool {
        self.zeal_due
    }

    /// A whole collection with no VM phases: `begin` then `finish`.
    pub fn collect(&mut self, vm: &mut impl CellVm) -> Result<CellCycle, GcError> {
        self.require(CellPhase::Idle, "collect")?;
        let marked = self.begin(vm);
        let cycle = self.finish(vm)?;
        marked.map(|()| cycle)
    }

    /// Releases every cell (each gets `vm.release`, all before any is
    /// reclaimed) and returns all memory: what a VM does when it closes.
    /// The heap stays usable, empty.
    pub fn release_all(&mut self, vm: &mut impl CellVm) -> Result<u64, GcError> {
        self.require(CellPhase::Idle, "release_all")?;
        self.release_dead(vm, true);
        Ok(self.reclaim(true).freed_cells)
    }

    /// Calls `vm.release` for every unmarked cell (every cell if `all`).
    fn release_dead(&mut self, vm: &mut impl CellVm, all: bool) {
        for i in 0..self.space.blocks.high_water() {
            self.release_block(vm, i, all, false);
        }
    }

    /// Reclaims every unmarked cell (every cell if `all`), clears the mark
    /// bits, rebuilds the free-block lists.
    fn reclaim(&mut self, all: bool) -> CellCycle {
        let mut cycle = CellCycle::default();
        self.compartments_clear_lists();
        let sp = &mut self.space;
        for list in &mut sp.available {
            list.clear();
        }
        for c in &mut sp.cursors {
            *c = Cursor::default();
        }
        let mut i = 0;
        while i < self.space.blocks.high_water() {
            i = self.reclaim_block(i, all, &mut cycle);
        }
        for list in &mut self.space.available {
            list.reverse();
        }
        self.compartments_redistribute();
        self.stats.cells = cycle.live_cells;
        self.stats.bytes_in_use = cycle.live_bytes;
        cycle
    }

    /// Checks the heap's own structure: every alloc bit at a cell's
    /// payload start, every live cell's header a registered type, mark
    /// bits clear outside a collection, the counts matching. Returns a
    /// description of each problem (empty: sound).
    pub fn verify(&self) -> Vec<String> {
        let mut out = Vec::new();
        let sp = &self.space;
        let (mut cells, mut bytes) = (0u64, 0u64);
        let check_type = |payload: u64, out: &mut Vec<String>| {
            let t = sp.type_at(payload);
            if t as usize >= self.types.len() {
                out.push(format!(
                    "cell {payload:#x}: header names type {t}, not a registered type"
                ));
            }
        };
        let mut i = 0;
        while i < sp.blocks.high_water() {
            let base = sp.blocks.addr(i).get();
            match sp.blocks.state(i) {
                BlockState::Small { class } => {
                    let size = sp.classes.size(class);
                    let mut p = base;
                    while p < base + BLOCK {
                        let next = sp.alloc.next_set(Address(p), Address(base + BLOCK));
                        let Some(a) = next else { break };
                        let a = a.get();
                        let off = a - base - sp.hdr;
                        if a < base + sp.hdr || off % size != 0 || off + size > BLOCK {
                            out.push(format!(
                                "alloc bit at {a:#x} is not a payload start of class size {size}"
                            ));
                        } else {
                            cells += 1;
                            bytes += size;
                            check_type(a, &mut out);
                        }
                        p = a + 8;
                    }
                    i += 1;
                }
                BlockState::LargeHead => {
                    let Some(&len) = sp.large.get(&i) else {
                        out.push(format!("large cell at {base:#x} has no recorded size"));
                        i += 1;
                        continue;
                    };
                    let n = len.div_ceil(BLOCK) as usize;
                    if (1..n).any(|k| sp.blocks.state(i + k) != BlockState::LargeTail) {
                        out.push(format!(
                            "large cell at {base:#x} does not own its {n} blocks"
                        ));
                    }
                    if sp.alloc.get(Address(base + sp.hdr)) {
                        cells += 1;
                        bytes += len;
                        check_type(base + sp.hdr, &mut out);
                    } else {
                        out.push(format!("large cell at {base:#x} held but not allocated"));
                    }
                    i += n;
                }
                BlockState::LargeTail => {
                    out.push(format!("large-cell tail block {i} without a head"));
                    i += 1;
                }
                _ => i += 1,
            }
        }
        let end = sp.blocks.addr(sp.blocks.high_water());
        if self.phase == CellPhase::Idle && self.mark.any_set(sp.region.base(), end) {
            out.push("mark bits set outside a collection".into());
        }
        if cells != self.stats.cells || bytes != self.stats.bytes_in_use {
            out.push(format!(
                "counts: {cells} cells / {bytes} bytes found, statistics say {} / {}",
                self.stats.cells, self.stats.bytes_in_use
            ));
        }
        out
    }
}
