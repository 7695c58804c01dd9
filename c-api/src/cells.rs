//! The binding profile: `capgc_cells_t`, raw-pointer cells for existing
//! VMs (docs/design.md "Binding profile for existing VMs";
//! `gc_core::CellHeap` underneath).
//!
//! An existing VM keeps its own object layout and raw pointers. It
//! allocates *cells* of the types it registers (`capgc_cell_alloc`
//! returns the payload pointer), and supplies three callbacks:
//! - `roots`, called at the start of every collection, reports each root
//!   to the visitor with `capgc_cell_visit`;
//! - each type's `trace` reports every pointer in a cell, or in memory
//!   the VM allocated outside the heap on its behalf; a pointer may point
//!   anywhere into a cell;
//! - `release`, called for every dead cell of a collection before any of
//!   them is reclaimed, frees what the VM owns on the cell's behalf.
//!
//! Collection is split so the VM keeps its own semantics:
//! `capgc_cells_begin` (roots, drain), then as often as the VM needs
//! `capgc_cells_is_marked` / `capgc_cells_mark` / `capgc_cells_drain`
//! (weak tables, ephemerons, finalizer resurrection), then
//! `capgc_cells_finish` (release, reclaim). `capgc_cells_collect` is all
//! of it with no VM phases. Marking may also be incremental:
//! `capgc_cells_start` (roots marked, nothing traced), then
//! `capgc_cells_step` with the VM running and allocating in between,
//! its write barrier calling `capgc_cells_mark`; `capgc_cells_begin` is
//! then the atomic phase (roots again, drain) and the rest is as above.
//! Cells allocated during incremental marking are white (unmarked).
//! Sweeping may be lazy too: `capgc_cells_begin_sweep` instead of finish,
//! then `capgc_cells_sweep` a few blocks at a time (or
//! `capgc_cells_sweep_some`, a few cells at a time). A call in the wrong phase is
//! `CAPGC_E_WRONG_PHASE`; a callback that calls back into the cell heap
//! gets `CAPGC_E_BUSY`; a reported pointer that is not into a live cell
//! is `CAPGC_E_NOT_A_CELL` and is never marked.
//!
//! Native (8-byte cell alignment) and P128 (16) only: SoftCheri refuses
//! the profile with `CAPGC_E_BINDING_PROFILE` — raw pointers bypass the
//! capability checks; the slot API is the capability-safe path.

use crate::error::CapgcStatus;
use crate::ffi::{
    enum_from, fail, free_boxed, get, put, put_opt, with_guarded, without_heap, writable, Fail,
    Guard, Handle,
};
use crate::heap::{capgc_config_default, capgc_config_t, CapgcMode, CapgcTrigger, MODES, TRIGGERS};
use gc_core::{CellConfig, CellCycle, CellHeap, CellStats, CellType, CellVm, Marker};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::NonNull;

/// A cell heap (opaque): the binding profile. One thread at a time, as a
/// `capgc_heap_t`.
pub struct capgc_cells_t(Guard<Cells>);

impl Handle for capgc_cells_t {
    type Inner = Cells;
    fn guard(&self) -> &Guard<Cells> {
        &self.0
    }
}

/// The visitor a roots or trace callback reports pointers to (opaque).
/// Valid only during the callback it was passed to: afterwards
/// `capgc_cell_visit` on it is `CAPGC_E_WRONG_PHASE`.
pub struct capgc_cell_visitor_t {
    /// The marker of the callback in progress, or null.
    active: Cell<*mut c_void>,
}

/// Reports the roots: `capgc_cell_visit(v, p)` for each.
pub type capgc_cell_roots_fn =
    Option<unsafe extern "C" fn(vm: *mut c_void, v: *mut capgc_cell_visitor_t)>;
/// Reports every pointer in `cell` (of type `type_`) and in memory the VM
/// owns on its behalf.
pub type capgc_cell_trace_fn = Option<
    unsafe extern "C" fn(
        vm: *mut c_void,
        cell: *mut c_void,
        type_: u32,
        v: *mut capgc_cell_visitor_t,
    ),
>;
/// `cell` (of type `type_`) is dead: free what the VM owns on its behalf.
/// Must not call into the cell heap (`CAPGC_E_BUSY`).
pub type capgc_cell_release_fn =
    Option<unsafe extern "C" fn(vm: *mut c_void, cell: *mut c_void, type_: u32)>;
/// In a lazy sweep (`capgc_cells_sweep`), asked before a dead cell of a
/// leaf type is released: true keeps it (the VM handed it out again after
/// marking, as Lua's string table does with a dead string). Must not call
/// into the cell heap.
pub type capgc_cell_keep_fn =
    Option<unsafe extern "C" fn(vm: *mut c_void, cell: *mut c_void, type_: u32) -> bool>;

/// The VM's callbacks, given to `capgc_cells_new`. Any may be null
/// (no roots; nothing to release).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct capgc_cell_callbacks_t {
    /// Passed to every callback.
    pub vm: *mut c_void,
    /// The roots, at the start of every collection.
    pub roots: capgc_cell_roots_fn,
    /// Every dead cell, before any is reclaimed.
    pub release: capgc_cell_release_fn,
}

/// What a collection of a cell heap did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct capgc_cell_cycle_t {
    /// Cells found live.
    pub live_cells: u64,
    /// Their bytes (cell sizes, headers included).
    pub live_bytes: u64,
    /// Cells released and reclaimed.
    pub freed_cells: u64,
    /// Their bytes.
    pub freed_bytes: u64,
    /// Nanoseconds from begin to the end of finish (VM phases included).
    pub pause_ns: u64,
    /// Incremental steps (`capgc_cells_start` and each
    /// `capgc_cells_step`) before begin; 0 when not incremental.
    pub steps: u64,
    /// The longest of them, in nanoseconds.
    pub max_step_ns: u64,
}

/// A cell heap's statistics.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct capgc_cell_stats_t {
    /// Cells allocated and not reclaimed.
    pub cells: u64,
    /// Their bytes (cell sizes, headers included).
    pub bytes_in_use: u64,
    /// Bytes of blocks the heap holds.
    pub bytes_held: u64,
    /// Collections finished.
    pub collections: u64,
    /// Their total pause in nanoseconds.
    pub total_pause_ns: u64,
    /// The longest, in nanoseconds.
    pub max_pause_ns: u64,
    /// Pointers reported that were not into a live cell.
    pub bad_pointers: u64,
    /// The last collection.
    pub last: capgc_cell_cycle_t,
    /// Incremental steps taken (starts included).
    pub steps: u64,
    /// The longest, in nanoseconds.
    pub max_step_ns: u64,
}

pub(crate) fn cycle_of(c: &CellCycle) -> capgc_cell_cycle_t {
    capgc_cell_cycle_t {
        live_cells: c.live_cells,
        live_bytes: c.live_bytes,
        freed_cells: c.freed_cells,
        freed_bytes: c.freed_bytes,
        pause_ns: c.pause.as_nanos() as u64,
        steps: c.steps,
        max_step_ns: c.max_step.as_nanos() as u64,
    }
}

fn stats_of(s: &CellStats) -> capgc_cell_stats_t {
    capgc_cell_stats_t {
        cells: s.cells,
        bytes_in_use: s.bytes_in_use,
        bytes_held: s.bytes_held,
        collections: s.collections,
        total_pause_ns: s.total_pause.as_nanos() as u64,
        max_pause_ns: s.max_pause.as_nanos() as u64,
        bad_pointers: s.bad_pointers,
        last: cycle_of(&s.last),
        steps: s.steps,
        max_step_ns: s.max_step.as_nanos() as u64,
    }
}

/// The state behind a `capgc_cells_t`.
pub(crate) struct Cells {
    pub(crate) heap: CellHeap,
    cb: capgc_cell_callbacks_t,
    traces: Vec<capgc_cell_trace_fn>,
    /// Boxed: its address is what callbacks get, stable for the heap's
    /// life.
    visitor: Box<capgc_cell_visitor_t>,
}

/// The C callbacks as a `CellVm`.
pub(crate) struct CVm<'a> {
    cb: capgc_cell_callbacks_t,
    traces: &'a [capgc_cell_trace_fn],
    visitor: &'a capgc_cell_visitor_t,
    /// The keep callback of the `capgc_cells_sweep` call in progress.
    keep: capgc_cell_keep_fn,
}

impl CVm<'_> {
    /// Runs `f` with the visitor pointing at `m`, and inactive after.
    fn visiting(&self, m: &mut Marker<'_>, f: impl FnOnce(*mut capgc_cell_visitor_t)) {
        let prev = self.visitor.active.replace((m as *mut Marker<'_>).cast());
        f(std::ptr::from_ref(self.visitor).cast_mut());
        self.visitor.active.set(prev);
    }
}

impl CellVm for CVm<'_> {
    fn roots(&mut self, m: &mut Marker<'_>) {
        if let Some(f) = self.cb.roots {
            let vm = self.cb.vm;
            // SAFETY: the VM's callback, called as its type says; the
            // visitor is valid for the call.
            self.visiting(m, |v| unsafe { f(vm, v) });
        }
    }
    fn trace(&mut self, ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        if let Some(Some(f)) = self.traces.get(ty.index() as usize).copied() {
            let vm = self.cb.vm;
            // SAFETY: as above; `cell` is a live cell of type `ty`.
            self.visiting(m, |v| unsafe { f(vm, cell.as_ptr().cast(), ty.index(), v) });
        }
    }
    fn release(&mut self, ty: CellType, cell: NonNull<u8>) {
        if let Some(f) = self.cb.release {
            // SAFETY: the VM's callback; `cell` is dead and not yet
            // reclaimed.
            unsafe { f(self.cb.vm, cell.as_ptr().cast(), ty.index()) };
        }
    }
    fn keep(&mut self, ty: CellType, cell: NonNull<u8>) -> bool {
        // SAFETY: the VM's callback, given to capgc_cells_sweep; `cell` is
        // dead and not yet reclaimed.
        self.keep
            .is_some_and(|f| unsafe { f(self.cb.vm, cell.as_ptr().cast(), ty.index()) })
    }
}

impl Cells {
    /// The heap and the VM callbacks, borrowed apart.
    pub(crate) fn split(&mut self) -> (&mut CellHeap, CVm<'_>) {
        (
            &mut self.heap,
            CVm {
                cb: self.cb,
                traces: &self.traces,
                visitor: &self.visitor,
                keep: None,
            },
        )
    }
}

fn cells_from(c: &capgc_config_t, cb: capgc_cell_callbacks_t) -> Result<Cells, Fail> {
    let align = match enum_from(c.mode, &MODES, "capgc_mode_t")? {
        CapgcMode::CAPGC_MODE_NATIVE => 8,
        CapgcMode::CAPGC_MODE_P128 => 16,
        CapgcMode::CAPGC_MODE_SOFTCHERI => {
            return fail(
                CapgcStatus::CAPGC_E_BINDING_PROFILE,
                "the binding profile (raw-pointer cells) is refused in SoftCheri: raw pointers would bypass the capability checks; use the slot API",
            )
        }
    };
    let manual =
        enum_from(c.trigger, &TRIGGERS, "capgc_trigger_t")? == CapgcTrigger::CAPGC_TRIGGER_MANUAL;
    let heap = CellHeap::new(CellConfig {
        limit: c.limit,
        align,
        checked: c.checked != 0,
        manual,
        initial_size: c.initial_size,
        growth_factor: c.growth_factor,
        log: c.log != 0 || gc_core::log_from_env(),
        zeal: crate::heap::zeal_of(c)?,
    })?;
    Ok(Cells {
        heap,
        cb,
        traces: Vec::new(),
        visitor: Box::new(capgc_cell_visitor_t {
            active: Cell::new(std::ptr::null_mut()),
        }),
    })
}

/// Creates a cell heap (the binding profile) from `config` (null: the
/// defaults; `mode` must be `CAPGC_MODE_NATIVE` or `CAPGC_MODE_P128`,
/// and the plan is mark-sweep whatever `plan` says) with the VM's
/// `callbacks` (null: none), into `*out`.
/// `CAPGC_TRIGGER_MANUAL` makes it never collect on its own.
///
/// # Safety
/// `config` and `callbacks` are null or valid; `out` is writable. The
/// callbacks must be safe to call with `callbacks->vm` whenever a call on
/// this cell heap runs.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_new(
    config: *const capgc_config_t,
    callbacks: *const capgc_cell_callbacks_t,
    out: *mut *mut capgc_cells_t,
) -> CapgcStatus {
    without_heap(|| {
        writable(out)?;
        let c = if config.is_null() {
            capgc_config_t {
                mode: CapgcMode::CAPGC_MODE_NATIVE as u32,
                ..capgc_config_default()
            }
        } else {
            *get(config, "config")?
        };
        let cb = if callbacks.is_null() {
            capgc_cell_callbacks_t {
                vm: std::ptr::null_mut(),
                roots: None,
                release: None,
            }
        } else {
            *get(callbacks, "callbacks")?
        };
        put(out, Guard::boxed(cells_from(&c, cb)?, capgc_cells_t))
    })
}

/// Frees a cell heap and all its memory, without calling `release` (see
/// `capgc_cells_release_all`). Null is ignored.
///
/// # Safety
/// `cells` is null or from `capgc_cells_new`, not yet freed, and no call
/// on it is in progress or follows.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_free(cells: *mut capgc_cells_t) {
    // SAFETY: the caller's contract: null or from capgc_cells_new, freed
    // once, nothing else in progress.
    unsafe { free_boxed(cells) }
}

macro_rules! on_cells {
    ($cells:expr, $c:ident => $body:expr) => {
        with_guarded($cells, |$c: &mut Cells| $body)
    };
}

/// Registers a cell type whose cells `trace` reports the pointers of
/// (null: a leaf type, never traced), into `*out` (types are numbered
/// from 0 in registration order).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_type(
    cells: *mut capgc_cells_t,
    trace: capgc_cell_trace_fn,
    out: *mut u32,
) -> CapgcStatus {
    on_cells!(cells, c => {
        writable(out)?;
        let t = c.heap.register_type(trace.is_none())?;
        c.traces.push(trace);
        put(out, t.index())
    })
}

/// Allocates a cell of `type_` with `size` payload bytes (uninitialised,
/// aligned to 8 in Native, 16 in P128) into `*out`. A manual heap never
/// collects here: a full one is `CAPGC_E_OUT_OF_MEMORY` and unchanged.
/// During incremental marking the cell is white (unmarked); between begin
/// and finish it is `CAPGC_E_WRONG_PHASE`.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_alloc(
    cells: *mut capgc_cells_t,
    type_: u32,
    size: usize,
    out: *mut *mut c_void,
) -> CapgcStatus {
    on_cells!(cells, c => {
        writable(out)?;
        let ty = c.heap.cell_type(type_)?;
        let p = if c.heap.config().manual {
            // The VM paces collection: no callbacks to gather.
            c.heap.alloc(ty, size as u64)?
        } else {
            let (heap, mut vm) = c.split();
            heap.alloc_with(&mut vm, ty, size as u64)?
        };
        // SAFETY: `out` is not null (checked above) and writable (the
        // caller's contract).
        unsafe { out.write(p.as_ptr().cast()) };
        Ok(())
    })
}

/// Reports pointer `p` (null is ignored) to the visitor of the roots or
/// trace callback in progress: the cell it points into (anywhere in its
/// payload) is marked and will be traced. `CAPGC_E_NOT_A_CELL` when `p`
/// is not into a live cell (it is not marked; the collection call reports
/// it too) — in unchecked mode a pointer outside the heap's memory is
/// ignored instead. `CAPGC_E_WRONG_PHASE` for a visitor whose callback has
/// returned.
///
/// # Safety
/// `v` is null or a visitor passed to a callback of a cell heap that is
/// not freed.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_visit(
    v: *mut capgc_cell_visitor_t,
    p: *const c_void,
) -> CapgcStatus {
    // SAFETY: the caller's contract (as this function's).
    match unsafe { active_marker(v) } {
        // SAFETY: the marker of the callback in progress (active_marker).
        Ok(m) if unsafe { (*m).mark(p.cast()) } => CapgcStatus::CAPGC_OK,
        Ok(_) => not_a_cell(p),
        Err(f) => crate::ffi::finish(Err(f)),
    }
}

/// `CAPGC_E_NOT_A_CELL` for a visited pointer, with its message (out of
/// line: the visit's fast path, once per traced pointer, stays small).
#[cold]
#[inline(never)]
fn not_a_cell(p: *const c_void) -> CapgcStatus {
    crate::ffi::finish(fail(
        CapgcStatus::CAPGC_E_NOT_A_CELL,
        format!("{p:p} is not a pointer into a live cell"),
    ))
}

/// Marks the cell `p` points into as `capgc_cell_visit` does, but does
/// not queue it to be traced: `*fresh` is true when this call marked it,
/// and then the caller reports that cell's pointers itself, with
/// `capgc_cell_visit` on the same visitor before its callback returns
/// (for a small cell scanned in line, instead of a trace callback of its
/// own: Lua's upvalues). `*fresh` is false when the cell was marked
/// already or `p` is null (or outside the heap, unchecked). With cell
/// compartments the cell is queued and traced as by `capgc_cell_visit`
/// (its edges count from its own compartment) and `*fresh` is false.
/// Statuses as `capgc_cell_visit`'s (`*fresh` false).
///
/// # Safety
/// As `capgc_cell_visit`; `fresh` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_visit_shallow(
    v: *mut capgc_cell_visitor_t,
    p: *const c_void,
    fresh: *mut bool,
) -> CapgcStatus {
    if fresh.is_null() {
        return crate::ffi::finish(fail(
            CapgcStatus::CAPGC_E_NULL_ARGUMENT,
            "out pointer is null",
        ));
    }
    // SAFETY: the caller's contract (as capgc_cell_visit's).
    let m = match unsafe { active_marker(v) } {
        Ok(m) => m,
        Err(f) => return crate::ffi::finish(Err(f)),
    };
    // SAFETY: the marker of the callback in progress (active_marker).
    let r = unsafe { (*m).mark_shallow(p.cast()) };
    // SAFETY: `fresh` is not null, and writable (the caller's contract).
    unsafe { fresh.write(r == Some(true)) };
    match r {
        Some(_) => CapgcStatus::CAPGC_OK,
        None => not_a_cell(p),
    }
}

/// The marker of the callback `v` was passed to, while it runs:
/// `CAPGC_E_NULL_ARGUMENT` for null, `CAPGC_E_WRONG_PHASE` once the
/// callback has returned.
///
/// # Safety
/// `v` is null or a visitor of a cell heap that is not freed. The pointer
/// returned is valid until the callback returns, and nothing else uses the
/// marker meanwhile (it is set by `CVm::visiting`, cleared after).
unsafe fn active_marker(v: *mut capgc_cell_visitor_t) -> Result<*mut Marker<'static>, Fail> {
    // SAFETY: the caller's contract; shared access to the visitor's Cell.
    let Some(v) = (unsafe { v.as_ref() }) else {
        return Err(no_marker(true));
    };
    let m = v.active.get().cast::<Marker<'static>>();
    if m.is_null() {
        return Err(no_marker(false));
    }
    Ok(m)
}

/// Why a visitor has no marker: it is null (`null`), or its callback has
/// returned (out of line, as `not_a_cell`).
#[cold]
#[inline(never)]
fn no_marker(null: bool) -> Fail {
    if null {
        Fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "visitor is null".into())
    } else {
        Fail(
            CapgcStatus::CAPGC_E_WRONG_PHASE,
            "visitor used outside the callback it was passed to".into(),
        )
    }
}

/// Whether the cell `p` points into is marked, from inside a callback
/// (false for null or a pointer that is not into a live cell).
///
/// # Safety
/// As `capgc_cell_visit`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_visitor_is_marked(
    v: *mut capgc_cell_visitor_t,
    p: *const c_void,
    out: *mut bool,
) -> CapgcStatus {
    // SAFETY: the caller's contract (as capgc_cell_visit's).
    let r = unsafe { active_marker(v) }.and_then(|m| {
        // SAFETY: the marker of the callback in progress (active_marker).
        put(out, unsafe { (*m).is_marked(p.cast()) })
    });
    crate::ffi::finish(r)
}

/// Starts a collection: calls `roots`, marks and traces everything
/// reachable. Then the VM may query, mark and drain before
/// `capgc_cells_finish`. `CAPGC_E_NOT_A_CELL` if a reported pointer was
/// not into a live cell (the collection goes on; finish it). After
/// `capgc_cells_start` this is the cycle's atomic phase: `roots` is called
/// again and everything still gray is traced; the steps' marks stand.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_begin(cells: *mut capgc_cells_t) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        Ok(heap.begin(&mut vm)?)
    })
}

/// Marks the cell `p` points into (null ignored), during incremental
/// marking (the VM's write barrier) or between begin and finish; a later
/// `capgc_cells_step` or `capgc_cells_drain` traces it.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_mark(
    cells: *mut capgc_cells_t,
    p: *const c_void,
) -> CapgcStatus {
    on_cells!(cells, c => Ok(c.heap.mark(p.cast())?))
}

/// Starts an incremental cycle: calls `roots` and marks what it reports,
/// tracing nothing. Then `capgc_cells_step` until it says done, with the
/// VM running in between (allocation allowed; its write barrier calls
/// `capgc_cells_mark` when it stores a white cell into a traced one, or
/// re-traces that cell after begin), then `capgc_cells_begin`. Only when
/// no collection is in progress (`CAPGC_E_WRONG_PHASE`).
/// `CAPGC_E_NOT_A_CELL` as for begin.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_start(cells: *mut capgc_cells_t) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        Ok(heap.start(&mut vm)?)
    })
}

/// One incremental marking step: traces at most `budget` gray cells;
/// `*done` (may be null) is true when none is left — time for
/// `capgc_cells_begin` (stepping again is allowed). Only between
/// `capgc_cells_start` and begin (`CAPGC_E_WRONG_PHASE`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `done` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_step(
    cells: *mut capgc_cells_t,
    budget: u64,
    done: *mut bool,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        let d = heap.step(&mut vm, budget)?;
        put_opt(done, d)
    })
}

/// Ends marking (instead of `capgc_cells_finish`, after the VM's phases)
/// and starts a lazy sweep, releasing nothing yet: then
/// `capgc_cells_sweep` until it says done, with the VM running and
/// allocating in between. A cell's `release` then comes before the
/// reclaim of the cells of its own sweep step only, not of the whole
/// cycle. Only between begin and finish (`CAPGC_E_WRONG_PHASE`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_begin_sweep(cells: *mut capgc_cells_t) -> CapgcStatus {
    on_cells!(cells, c => Ok(c.heap.begin_sweep()?))
}

/// One lazy sweep step: calls `release` for the dead cells of at most
/// `budget` blocks (64 KiB each; a large cell's run is one) and reclaims
/// them, asking `keep` (may be null: keep none) first for each dead cell
/// of a leaf type. `*done` (may be null) is true when the heap is swept:
/// the collection is over (statistics recorded; in checked mode the
/// verifier ran: `CAPGC_E_CORRUPT`). Only after `capgc_cells_begin_sweep`
/// (`CAPGC_E_WRONG_PHASE`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `done` is null or writable; `keep`
/// is safe to call with the heap's `vm` during this call.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_sweep(
    cells: *mut capgc_cells_t,
    budget: u64,
    keep: capgc_cell_keep_fn,
    done: *mut bool,
) -> CapgcStatus {
    // SAFETY: the caller's contract, as this function's (the same as
    // `capgc_cells_sweep_some`'s).
    unsafe { capgc_cells_sweep_some(cells, budget, u64::MAX, keep, done) }
}

/// One lazy sweep step bounded twice: at most `max_blocks` blocks looked
/// at and at most `max_cells` dead cells released (or kept by `keep`). It
/// may stop inside a block; the next step resumes there, and the block is
/// reclaimed once all its dead cells are released (a released cell stays
/// allocated, dead, until then: the VM must not use it, as any dead
/// cell). `capgc_cells_sweep(c, b, keep, done)` is this with no cell
/// budget. A zero budget makes no progress. `*done` (may be null) is true
/// when the heap is swept, as for `capgc_cells_sweep`. Only after
/// `capgc_cells_begin_sweep` (`CAPGC_E_WRONG_PHASE`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `done` is null or writable; `keep`
/// is safe to call with the heap's `vm` during this call.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_sweep_some(
    cells: *mut capgc_cells_t,
    max_blocks: u64,
    max_cells: u64,
    keep: capgc_cell_keep_fn,
    done: *mut bool,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        vm.keep = keep;
        let d = heap.sweep_some(&mut vm, max_blocks, max_cells)?;
        put_opt(done, d)
    })
}

/// Traces every cell marked and not yet traced.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_drain(cells: *mut capgc_cells_t) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        Ok(heap.drain(&mut vm)?)
    })
}

/// Whether the cell `p` points into is marked (during incremental marking
/// or between begin and finish; null: false; `CAPGC_E_NOT_A_CELL` if `p` is not into a live cell).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_is_marked(
    cells: *mut capgc_cells_t,
    p: *const c_void,
    out: *mut bool,
) -> CapgcStatus {
    on_cells!(cells, c => put(out, c.heap.is_marked(p.cast())?))
}

/// Ends a collection: calls `release` for every unmarked cell, then
/// reclaims them all; `out` (may be null) gets what it did. In checked
/// mode the verifier runs afterwards (`CAPGC_E_CORRUPT`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_finish(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_cycle_t,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        let cycle = heap.finish(&mut vm)?;
        put_opt(out, cycle_of(&cycle))
    })
}

/// A whole collection with no VM phases (begin, then finish).
///
/// # Safety
/// As `capgc_cells_finish`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_collect(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_cycle_t,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        let cycle = heap.collect(&mut vm)?;
        put_opt(out, cycle_of(&cycle))
    })
}

/// Calls `release` for every cell (all before any is reclaimed) and
/// returns all memory, as a VM closing does; the heap stays usable,
/// empty. `out` (may be null) gets the number of cells released.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_release_all(
    cells: *mut capgc_cells_t,
    out: *mut u64,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let (heap, mut vm) = c.split();
        let n = heap.release_all(&mut vm)?;
        put_opt(out, n)
    })
}

/// Whether zeal's `collect:N` (`capgc_config_t.zeal_collect_every` or
/// `CAPGC_ZEAL`) has counted N allocations since the last collection: a
/// VM that paces its own collections (`CAPGC_TRIGGER_MANUAL`) runs one at
/// its next safepoint (a heap with the automatic trigger runs it itself in
/// `capgc_cell_alloc`). Always false without zeal.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_collection_due(
    cells: *mut capgc_cells_t,
    out: *mut bool,
) -> CapgcStatus {
    on_cells!(cells, c => put(out, c.heap.collection_due()))
}

/// Whether `p` points into a live cell of this heap.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_owns(
    cells: *mut capgc_cells_t,
    p: *const c_void,
    out: *mut bool,
) -> CapgcStatus {
    on_cells!(cells, c => put(out, c.heap.owns(p.cast())))
}

/// The usable payload size of the live cell `p` points into (the request
/// rounded up to its size class), or `CAPGC_E_NOT_A_CELL`.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cell_size(
    cells: *mut capgc_cells_t,
    p: *const c_void,
    out: *mut usize,
) -> CapgcStatus {
    on_cells!(cells, c => put(out, c.heap.cell_size(p.cast())? as usize))
}

/// The statistics of a cell heap.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_stats(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_stats_t,
) -> CapgcStatus {
    on_cells!(cells, c => put(out, stats_of(&c.heap.stats())))
}

/// Runs the cell heap's verifier: `*count` (may be null) gets the number
/// of violations; with any, the status is `CAPGC_E_CORRUPT` and
/// `capgc_last_error()` describes the first.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `count` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_verify(
    cells: *mut capgc_cells_t,
    count: *mut usize,
) -> CapgcStatus {
    on_cells!(cells, c => {
        let v = c.heap.verify();
        if !count.is_null() {
            put(count, v.len())?;
        }
        match v.into_iter().next() {
            None => Ok(()),
            Some(first) => fail(CapgcStatus::CAPGC_E_CORRUPT, first),
        }
    })
}
