//! The binding profile's compartments (docs/design.md "Compartments in
//! the binding profile"; `gc_core::CellCompartment` underneath).
//!
//! A cell heap can be split into compartments, each with memory of its
//! own, so a cell's compartment is known from its address
//! (`capgc_cells_compartment_of`). The VM makes compartments
//! (`capgc_cells_compartment_new`) and says which one is *current*
//! (`capgc_cells_compartment_enter`): allocation goes there. At every
//! collection the pointers traces report from one compartment's cells to
//! another's are counted per ordered pair (`capgc_cells_compartment_edges`:
//! the non-local access report). In strict mode
//! (`capgc_cells_set_strict`) the VM's write barrier asks
//! `capgc_cells_store_check` before a store, which refuses a pointer into
//! another compartment with `CAPGC_E_COMPARTMENT_VIOLATION` unless either
//! side is a crossing the VM declared (`capgc_cells_crossing_declare`, a
//! proxy). A compartment can be destroyed (`capgc_cells_compartment_destroy`):
//! its id is refused from then on and its cells are reclaimed as they die.
//!
//! Compartment ids (`capgc_cell_compartment_t`) carry their heap: another
//! heap's is `CAPGC_E_WRONG_HEAP`, a number no heap issued or an index this
//! heap never made `CAPGC_E_INVALID_COMPARTMENT`, a destroyed one
//! `CAPGC_E_COMPARTMENT_DESTROYED`. A heap that never makes a compartment
//! behaves, and costs, exactly as before: everything is in the root
//! compartment.

use crate::cells::{capgc_cell_cycle_t, capgc_cells_t, cycle_of, Cells};
use crate::error::CapgcStatus;
use crate::ffi::{fail, put, with_guarded};
use gc_core::{CellCompartment, CellEdges, CellHeap, GcError};
use std::ffi::c_void;

/// A compartment of a cell heap: its heap's identity and its index.
/// 0 is never one.
pub type capgc_cell_compartment_t = u64;

/// The edges between an ordered pair of compartments of a cell heap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct capgc_cell_edges_t {
    /// Pointers from the first compartment's cells to the second's,
    /// reported by traces in the last finished collection (a cell traced
    /// twice in a cycle reports its pointers twice).
    pub last: u64,
    /// The same over every collection.
    pub total: u64,
    /// Stores refused by `capgc_cells_store_check` in strict mode.
    pub refused: u64,
}

fn edges_of(e: CellEdges) -> capgc_cell_edges_t {
    capgc_cell_edges_t {
        last: e.last,
        total: e.total,
        refused: e.refused,
    }
}

fn on(
    cells: *mut capgc_cells_t,
    f: impl FnOnce(&mut Cells) -> Result<(), crate::ffi::Fail>,
) -> CapgcStatus {
    with_guarded(cells, f)
}

/// The root compartment into `*out`: every cell allocated before any
/// compartment was made, or while it is current. Never destroyed.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_root(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| put(out, c.heap.root_compartment().token()))
}

/// Makes a compartment with memory of its own into `*out`; nothing is
/// allocated there until it is entered. Not between
/// `capgc_cells_begin` and finish (`CAPGC_E_WRONG_PHASE`); at most
/// 65,534 per heap (`CAPGC_E_TOO_MANY_COMPARTMENTS`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_new(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| {
        crate::ffi::writable(out)?;
        put(out, c.heap.new_compartment()?.token())
    })
}

/// Makes `id` the current compartment: allocation goes there from now
/// on. Not between begin and finish (`CAPGC_E_WRONG_PHASE`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_enter(
    cells: *mut capgc_cells_t,
    id: capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| {
        let comp = c.heap.compartment(id)?;
        Ok(c.heap.set_current_compartment(comp)?)
    })
}

/// The current compartment into `*out`.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_current(
    cells: *mut capgc_cells_t,
    out: *mut capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| put(out, c.heap.current_compartment().token()))
}

/// The compartment of the live cell `p` points into (anywhere in its
/// payload), into `*out`; `CAPGC_E_NOT_A_CELL` otherwise.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_of(
    cells: *mut capgc_cells_t,
    p: *const c_void,
    out: *mut capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| {
        crate::ffi::writable(out)?;
        put(out, c.heap.compartment_of(p.cast())?.token())
    })
}

/// Destroys compartment `id`: nothing more is allocated there and its id
/// is `CAPGC_E_COMPARTMENT_DESTROYED` from now on; its cells stay valid
/// while anything references them and are reclaimed as they die (raw
/// pointers cannot be revoked), its blocks returned to the system as
/// collections find them empty (`capgc_cells_compartment_held`). Only when no collection is in progress
/// (`CAPGC_E_WRONG_PHASE`); never the root nor the current compartment
/// (`CAPGC_E_COMPARTMENT_VIOLATION`).
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_destroy(
    cells: *mut capgc_cells_t,
    id: capgc_cell_compartment_t,
) -> CapgcStatus {
    on(cells, |c| {
        let comp = c.heap.compartment(id)?;
        Ok(c.heap.retire_compartment(comp)?)
    })
}

/// The blocks (64 KiB) of compartment `id` that hold cells, into
/// `*blocks`. `id` may be destroyed: then this is what is still mapped for
/// it — each of its blocks a collection finds empty is returned to the
/// system (decommitted) — and 0 means torn down, nothing of it referenced
/// any more; more than 0, its teardown is deferred until those cells die.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `blocks` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_held(
    cells: *mut capgc_cells_t,
    id: capgc_cell_compartment_t,
    blocks: *mut u64,
) -> CapgcStatus {
    on(cells, |c| {
        crate::ffi::writable(blocks)?;
        let comp = c.heap.compartment_made(id)?;
        put(blocks, c.heap.compartment_held_blocks(comp)?)
    })
}

/// The edges from compartment `from`'s cells to `to`'s into `*out`: the
/// non-local access report (a destroyed compartment's id is refused).
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_edges(
    cells: *mut capgc_cells_t,
    from: capgc_cell_compartment_t,
    to: capgc_cell_compartment_t,
    out: *mut capgc_cell_edges_t,
) -> CapgcStatus {
    pair_report(cells, from, to, out, CellHeap::compartment_edges)
}

/// The VM keeps a weak reference from the live cell `obj` points into to
/// the live cell `value` points into (an entry of a weak table it
/// resolved itself, which no trace reports): counted per ordered pair of
/// compartments when they differ, apart from the traced edges
/// (`capgc_cells_compartment_weak_edges`). Only while marking — after the
/// VM resolved its weak references, before `capgc_cells_finish` or
/// `capgc_cells_begin_sweep` (`CAPGC_E_WRONG_PHASE`); `CAPGC_E_NOT_A_CELL`
/// unless both are live cells. Without compartments nothing is counted.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_weak_edge(
    cells: *mut capgc_cells_t,
    obj: *const c_void,
    value: *const c_void,
) -> CapgcStatus {
    on(cells, |c| {
        Ok(c.heap.note_weak_edge(obj.cast(), value.cast())?)
    })
}

/// The weak references from compartment `from`'s cells to `to`'s that the
/// VM reported (`capgc_cells_weak_edge`) into `*out`: `last` in the last
/// finished collection, `total` in all of them; `refused` is 0.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_weak_edges(
    cells: *mut capgc_cells_t,
    from: capgc_cell_compartment_t,
    to: capgc_cell_compartment_t,
    out: *mut capgc_cell_edges_t,
) -> CapgcStatus {
    pair_report(cells, from, to, out, CellHeap::compartment_weak_edges)
}

/// One ordered pair's counts (`read`: traced or weak edges) into `*out`,
/// both ids checked as this heap's live compartments first.
fn pair_report(
    cells: *mut capgc_cells_t,
    from: capgc_cell_compartment_t,
    to: capgc_cell_compartment_t,
    out: *mut capgc_cell_edges_t,
    read: fn(&CellHeap, CellCompartment, CellCompartment) -> Result<CellEdges, GcError>,
) -> CapgcStatus {
    on(cells, |c| {
        crate::ffi::writable(out)?;
        let (f, t) = (c.heap.compartment(from)?, c.heap.compartment(to)?);
        put(out, edges_of(read(&c.heap, f, t)?))
    })
}

/// Strict mode on (`on` true) or off: `capgc_cells_store_check` refuses
/// cross-compartment stores that go through no declared crossing.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_set_strict(
    cells: *mut capgc_cells_t,
    on_: bool,
) -> CapgcStatus {
    on(cells, |c| {
        c.heap.set_strict(on_);
        Ok(())
    })
}

/// Declares the live cell `p` points into a crossing (a proxy): in strict
/// mode, stores of it into other compartments' cells and of their cells
/// into it are allowed, until it dies. `CAPGC_E_NOT_A_CELL` if `p` is not
/// into a live cell.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_crossing_declare(
    cells: *mut capgc_cells_t,
    p: *const c_void,
) -> CapgcStatus {
    on(cells, |c| Ok(c.heap.declare_crossing(p.cast())?))
}

/// The VM is about to store `value` into the cell `obj` points into (its
/// write barrier asks): `CAPGC_OK` to go ahead, or in strict mode
/// `CAPGC_E_COMPARTMENT_VIOLATION` (counted in the report's `refused`)
/// for a value in another compartment than `obj`'s when neither is a
/// declared crossing. Null values and pointers outside the heap's cells
/// are allowed; in checked mode (`capgc_config_t.checked`) both must be
/// live cells (`CAPGC_E_NOT_A_CELL`). An allowed crossing store is
/// remembered for `capgc_cells_compartment_collect`. Without compartments:
/// `CAPGC_OK`, nothing looked up.
///
/// # Safety
/// `cells` is from `capgc_cells_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_store_check(
    cells: *mut capgc_cells_t,
    obj: *const c_void,
    value: *const c_void,
) -> CapgcStatus {
    on(cells, |c| {
        match c.heap.check_store(obj.cast(), value.cast()) {
        Ok(()) => Ok(()),
        Err(gc_core::GcError::CompartmentViolation) => fail(
            CapgcStatus::CAPGC_E_COMPARTMENT_VIOLATION,
            format!("strict compartments: storing {value:p} into {obj:p} crosses into another compartment through no declared crossing"),
        ),
        Err(e) => Err(e.into()),
    }
    })
}

/// Collects compartment `id` alone: marks from the roots and from the
/// cells of other compartments remembered pointing into it (by the last
/// whole collection, or reported since through `capgc_cells_store_check`),
/// follows pointers within it only, and releases and reclaims its dead
/// cells; other compartments' blocks are not swept. `out` (may be null)
/// gets what it did. Only when no collection is in progress
/// (`CAPGC_E_WRONG_PHASE`). Sound only if the VM reports every store of a
/// pointer into another compartment through `capgc_cells_store_check`;
/// otherwise use whole collections.
///
/// # Safety
/// `cells` is from `capgc_cells_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_cells_compartment_collect(
    cells: *mut capgc_cells_t,
    id: capgc_cell_compartment_t,
    out: *mut capgc_cell_cycle_t,
) -> CapgcStatus {
    on(cells, |c| {
        let (heap, mut vm) = c.split();
        let comp = heap.compartment(id)?;
        let cycle = heap.collect_compartment(&mut vm, comp)?;
        crate::ffi::put_opt(out, cycle_of(&cycle))
    })
}
