//! Attack-table rows for the C ABI that the C programs did not cover
//! exhaustively (`docs/attacks.md` names each test beside its row):
//! - garbage through **each** entry point: every exported function that
//!   takes a heap, split heap or cell heap refuses a null one with
//!   `CAPGC_E_NULL_ARGUMENT` — the table is checked against `capgc.h`, so
//!   a new entry point without a row fails the test;
//! - forged, flipped, other heaps' and stale references through every
//!   entry point that takes a `capgc_ref_t`, in every mode: refused with
//!   their own codes in SoftCheri, refused as "not an object" where the
//!   unchecked modes can tell, and the heap verifies afterwards;
//! - concurrent use of one heap (and of a split heap) from two threads:
//!   every call either runs alone or is `CAPGC_E_BUSY`, and the heap
//!   verifies afterwards.

use capgc::CapgcStatus as S;
use capgc::*;
use std::collections::BTreeSet;
use std::ptr::{null, null_mut};

/// `(name, status)` of a call, the name as the header spells it.
macro_rules! call {
    ($f:ident ( $($a:expr),* $(,)? )) => {
        (stringify!($f), $f($($a),*))
    };
}

/// Every entry point that takes a heap, split heap or cell heap, called
/// with a null one (every other argument valid or null).
fn null_handle_calls() -> Vec<(&'static str, S)> {
    let h: *mut capgc_heap_t = null_mut();
    let sp: *mut capgc_split_heap_t = null_mut();
    let ce: *mut capgc_cells_t = null_mut();
    let r = capgc_null();
    let (mut o, mut u, mut b, mut z, mut w32) = (capgc_null(), 0u64, false, 0usize, 0u32);
    let (rg, sc) = (capgc_region_t::default(), capgc_scope_t::default());
    let (hd, pe) = (capgc_handle_t::default(), capgc_persistent_t::default());
    let (wk, ep) = (capgc_weak_t::default(), capgc_ephemeron_t::default());
    let (fz, sd) = (capgc_finalizer_t::default(), capgc_sealed_t::default());
    let mut p: *mut std::ffi::c_void = null_mut();
    let mut buf = [0u8; 8];
    // SAFETY: every handle is null, which every entry point checks before
    // anything else; every other pointer is valid or null where allowed.
    unsafe {
        vec![
            call!(capgc_heap_mode(h, &mut w32, &mut u)),
            call!(capgc_collect(h, null_mut())),
            call!(capgc_collect_minor(h, null_mut())),
            call!(capgc_mutator(h, &mut null_mut())),
            call!(capgc_fast_alloc_slow(null_mut(), 0, 16, &mut o)),
            call!(capgc_fast_remember(null_mut(), r, 0)),
            call!(capgc_fast_roots(null_mut(), null_mut(), 0)),
            call!(capgc_alloc(h, 0, &mut o)),
            call!(capgc_alloc_pinned(h, 0, &mut o)),
            call!(capgc_alloc_array(h, 0, 1, &mut o)),
            call!(capgc_read_u8(h, r, 0, &mut buf[0])),
            call!(capgc_read_u32(h, r, 0, &mut w32)),
            call!(capgc_read_u64(h, r, 0, &mut u)),
            call!(capgc_read_f64(h, r, 0, &mut 0.0)),
            call!(capgc_write_u8(h, r, 0, 1)),
            call!(capgc_write_u32(h, r, 0, 1)),
            call!(capgc_write_u64(h, r, 0, 1)),
            call!(capgc_write_f64(h, r, 0, 1.0)),
            call!(capgc_read_bytes(h, r, 0, buf.as_mut_ptr().cast(), 8)),
            call!(capgc_write_bytes(h, r, 0, buf.as_ptr().cast(), 8)),
            call!(capgc_get_ref(h, r, 0, &mut o)),
            call!(capgc_set_ref(h, r, 0, r)),
            call!(capgc_restrict(h, r, 0, &mut o)),
            call!(capgc_pin(h, r)),
            call!(capgc_unpin(h, r)),
            call!(capgc_is_pinned(h, r, &mut b)),
            call!(capgc_type_of(h, r, &mut u)),
            call!(capgc_payload_len(h, r, &mut u)),
            call!(capgc_array_len(h, r, &mut u)),
            call!(capgc_payload(h, r, &mut p)),
            call!(capgc_scope_open(h, &mut capgc_scope_t::default())),
            call!(capgc_scope_close(h, sc)),
            call!(capgc_handle_new(h, r, &mut capgc_handle_t::default())),
            call!(capgc_handle_get(h, hd, &mut o)),
            call!(capgc_handle_set(h, hd, r)),
            call!(capgc_persistent_new(
                h,
                r,
                &mut capgc_persistent_t::default()
            )),
            call!(capgc_persistent_get(h, pe, &mut o)),
            call!(capgc_persistent_set(h, pe, r)),
            call!(capgc_persistent_release(h, pe)),
            call!(capgc_region_new(h, 1, &mut capgc_region_t::default())),
            call!(capgc_region_free(h, rg)),
            call!(capgc_region_len(h, rg, &mut u)),
            call!(capgc_region_set(h, rg, 0, r)),
            call!(capgc_region_get(h, rg, 0, &mut o)),
            call!(capgc_region_set_data(h, rg, 0, 1)),
            call!(capgc_region_is_ref(h, rg, 0, &mut b)),
            call!(capgc_slot_alloc(h, rg, 0, 0)),
            call!(capgc_slot_alloc_array(h, rg, 0, 0, 1)),
            call!(capgc_slot_load_field(h, rg, 0, 1, 0)),
            call!(capgc_slot_store_field(h, rg, 0, 0, 1)),
            call!(capgc_slot_copy(h, rg, 0, 1)),
            call!(capgc_slot_clear(h, rg, 0)),
            call!(capgc_slot_is_null(h, rg, 0, &mut b)),
            call!(capgc_slot_read_u64(h, rg, 0, 0, &mut u)),
            call!(capgc_slot_write_u64(h, rg, 0, 0, 1)),
            call!(capgc_slot_read_u8(h, rg, 0, 0, &mut buf[0])),
            call!(capgc_slot_read_u32(h, rg, 0, 0, &mut w32)),
            call!(capgc_slot_read_f64(h, rg, 0, 0, &mut 0.0)),
            call!(capgc_slot_write_u8(h, rg, 0, 0, 1)),
            call!(capgc_slot_write_u32(h, rg, 0, 0, 1)),
            call!(capgc_slot_write_f64(h, rg, 0, 0, 1.0)),
            call!(capgc_slot_read_bytes(
                h,
                rg,
                0,
                0,
                buf.as_mut_ptr().cast(),
                8
            )),
            call!(capgc_slot_write_bytes(h, rg, 0, 0, buf.as_ptr().cast(), 8)),
            call!(capgc_slot_weak_new(h, rg, 0, &mut capgc_weak_t::default())),
            call!(capgc_slot_weak_get(h, wk, rg, 0, &mut b)),
            call!(capgc_slot_ephemeron_new(
                h,
                rg,
                0,
                1,
                &mut capgc_ephemeron_t::default()
            )),
            call!(capgc_slot_ephemeron_get(h, ep, rg, 0, 1, &mut b)),
            call!(capgc_slot_finalizer_register(h, rg, 0, 1, null_mut())),
            call!(capgc_heap_stats(h, &mut capgc_stats_t::default())),
            call!(capgc_log_line(h, buf.as_mut_ptr().cast(), 8, &mut z)),
            call!(capgc_heap_verify(h, null_mut(), 0, &mut z)),
            call!(capgc_type_record(h, 1, 8, &mut u)),
            call!(capgc_type_fixed(h, 16, null(), 0, &mut u)),
            call!(capgc_type_ref_array(h, &mut u)),
            call!(capgc_type_byte_array(h, &mut u)),
            call!(capgc_type_custom(h, 16, None, null_mut(), &mut u)),
            call!(capgc_weak_new(h, r, &mut capgc_weak_t::default())),
            call!(capgc_weak_get(h, wk, &mut o)),
            call!(capgc_weak_release(h, wk)),
            call!(capgc_ephemeron_new(
                h,
                r,
                r,
                &mut capgc_ephemeron_t::default()
            )),
            call!(capgc_ephemeron_get(h, ep, &mut o, &mut capgc_null())),
            call!(capgc_ephemeron_release(h, ep)),
            call!(capgc_finalizer_register(h, r, 1, null_mut())),
            call!(capgc_finalizer_unregister(h, fz)),
            call!(capgc_finalized_take(h, null_mut(), 0, &mut z, null_mut())),
            // The split heap.
            call!(capgc_split_heap_mode(sp, &mut w32, &mut u)),
            call!(capgc_compartment_new(sp, null(), &mut u)),
            call!(capgc_compartment_destroy(sp, 0)),
            call!(capgc_compartment_exports(sp, 0, &mut u)),
            call!(capgc_compartment_imports(sp, 0, 1, &mut u)),
            call!(capgc_compartment_object_type(sp, 0, &mut w32)),
            call!(capgc_seal(sp, 0, r, 1, &mut capgc_sealed_t::default())),
            call!(capgc_unseal(sp, 0, &sd, &mut o)),
            call!(capgc_sealed_owner(sp, &sd, &mut u)),
            call!(capgc_sealed_same(sp, &sd, &sd, &mut b)),
            call!(capgc_set_sealed(sp, 0, r, 0, &sd)),
            call!(capgc_get_sealed(
                sp,
                0,
                r,
                0,
                &mut capgc_sealed_t::default()
            )),
            call!(capgc_region_set_sealed(sp, 0, rg, 0, &sd)),
            call!(capgc_region_get_sealed(
                sp,
                0,
                rg,
                0,
                &mut capgc_sealed_t::default()
            )),
            call!(capgc_compartment_collect(sp, 0, null_mut())),
            call!(capgc_split_heap_collect(sp, null_mut())),
            call!(capgc_split_heap_pair_stats(
                sp,
                0,
                1,
                &mut capgc_pair_stats_t::default()
            )),
            call!(capgc_split_heap_report(
                sp,
                buf.as_mut_ptr().cast(),
                8,
                &mut z
            )),
            call!(capgc_split_heap_verify(sp, null_mut(), 0, &mut z)),
            call!(capgc_compartment_type_record(sp, 0, 1, 8, &mut u)),
            call!(capgc_compartment_alloc(sp, 0, 0, &mut o)),
            call!(capgc_compartment_read_u64(sp, 0, r, 0, &mut u)),
            call!(capgc_compartment_write_u64(sp, 0, r, 0, 1)),
            call!(capgc_compartment_get_ref(sp, 0, r, 0, &mut o)),
            call!(capgc_compartment_set_ref(sp, 0, r, 0, r)),
            call!(capgc_compartment_region_new(
                sp,
                0,
                1,
                &mut capgc_region_t::default()
            )),
            call!(capgc_compartment_region_free(sp, 0, rg)),
            call!(capgc_compartment_region_set(sp, 0, rg, 0, r)),
            call!(capgc_compartment_region_get(sp, 0, rg, 0, &mut o)),
            call!(capgc_compartment_scope_open(
                sp,
                0,
                &mut capgc_scope_t::default()
            )),
            call!(capgc_compartment_scope_close(sp, 0, sc)),
            call!(capgc_compartment_handle_new(
                sp,
                0,
                r,
                &mut capgc_handle_t::default()
            )),
            call!(capgc_compartment_handle_get(sp, 0, hd, &mut o)),
            call!(capgc_compartment_persistent_new(
                sp,
                0,
                r,
                &mut capgc_persistent_t::default()
            )),
            call!(capgc_compartment_persistent_get(sp, 0, pe, &mut o)),
            call!(capgc_compartment_persistent_release(sp, 0, pe)),
            call!(capgc_compartment_weak_new(
                sp,
                0,
                r,
                &mut capgc_weak_t::default()
            )),
            call!(capgc_compartment_weak_get(sp, 0, wk, &mut o)),
            call!(capgc_compartment_weak_release(sp, 0, wk)),
            call!(capgc_compartment_ephemeron_new(
                sp,
                0,
                r,
                r,
                &mut capgc_ephemeron_t::default()
            )),
            call!(capgc_compartment_ephemeron_get(
                sp,
                0,
                ep,
                &mut o,
                &mut capgc_null()
            )),
            call!(capgc_compartment_ephemeron_release(sp, 0, ep)),
            call!(capgc_compartment_stats(
                sp,
                0,
                &mut capgc_stats_t::default()
            )),
            // The cell heap.
            call!(capgc_cell_type(ce, None, &mut w32)),
            call!(capgc_cell_alloc(ce, 0, 16, &mut p)),
            call!(capgc_cells_start(ce)),
            call!(capgc_cells_step(ce, 1, &mut b)),
            call!(capgc_cells_begin(ce)),
            call!(capgc_cells_begin_sweep(ce)),
            call!(capgc_cells_sweep(ce, 1, None, &mut b)),
            call!(capgc_cells_sweep_some(ce, 1, 1, None, &mut b)),
            call!(capgc_cells_mark(ce, null())),
            call!(capgc_cells_drain(ce)),
            call!(capgc_cells_is_marked(ce, null(), &mut b)),
            call!(capgc_cells_finish(ce, null_mut())),
            call!(capgc_cells_collect(ce, null_mut())),
            call!(capgc_cells_release_all(ce, null_mut())),
            call!(capgc_cells_owns(ce, null(), &mut b)),
            call!(capgc_cells_collection_due(ce, &mut b)),
            call!(capgc_cell_size(ce, null(), &mut z)),
            call!(capgc_cells_stats(ce, &mut capgc_cell_stats_t::default())),
            call!(capgc_cells_verify(ce, null_mut())),
            call!(capgc_cells_compartment_root(ce, &mut u)),
            call!(capgc_cells_compartment_new(ce, &mut u)),
            call!(capgc_cells_compartment_enter(ce, 1)),
            call!(capgc_cells_compartment_current(ce, &mut u)),
            call!(capgc_cells_compartment_of(ce, null(), &mut u)),
            call!(capgc_cells_compartment_destroy(ce, 1)),
            call!(capgc_cells_compartment_edges(
                ce,
                1,
                1,
                &mut capgc_cell_edges_t::default()
            )),
            call!(capgc_cells_set_strict(ce, true)),
            call!(capgc_cells_crossing_declare(ce, null())),
            call!(capgc_cells_store_check(ce, null(), null())),
            call!(capgc_cells_compartment_collect(ce, 1, null_mut())),
            call!(capgc_cells_compartment_held(ce, 1, &mut u)),
            call!(capgc_cells_weak_edge(ce, null(), null())),
            call!(capgc_cells_compartment_weak_edges(
                ce,
                1,
                1,
                &mut capgc_cell_edges_t::default()
            )),
        ]
    }
}

/// Entry points without a handle to be null: constructors (their null
/// out pointer is tested in `null_out_pointers_are_refused`), destructors
/// (null is documented as ignored), values, and the callback-side calls
/// (a view or visitor the heap passes in). `capgc_heap_slot_size`
/// returns a size, not a status: its null heap gives 0, tested in
/// `tests/c/slot_forms.c`.
const NO_HANDLE: [&str; 18] = [
    "capgc_heap_new",
    "capgc_heap_free",
    "capgc_split_heap_new",
    "capgc_split_heap_free",
    "capgc_cells_new",
    "capgc_cells_free",
    "capgc_last_error",
    "capgc_last_error_copy",
    "capgc_status_name",
    "capgc_version",
    "capgc_version_string",
    "capgc_heap_slot_size",
    "capgc_config_default",
    "capgc_config_throughput",
    "capgc_null",
    "capgc_is_null",
    "capgc_view_read",
    "capgc_view_read_u64",
];

/// The callback-side entry points taking a visitor: covered by the cell
/// and trace tests (a visitor is only valid inside its callback).
const VISITOR_CALLS: [&str; 5] = [
    "capgc_visit",
    "capgc_view_len",
    "capgc_cell_visit",
    "capgc_cell_visit_shallow",
    "capgc_cell_visitor_is_marked",
];

/// Every function `capgc.h` declares.
fn header_functions() -> BTreeSet<String> {
    let h = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/include/capgc.h"))
        .expect("capgc.h");
    h.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("//") && !l.starts_with("typedef"))
        .filter_map(|l| {
            let name = l.split('(').next()?.split_whitespace().last()?;
            let name = name.trim_start_matches('*');
            (l.contains('(') && name.starts_with("capgc_")).then(|| name.to_string())
        })
        .collect()
}

#[test]
fn every_entry_point_refuses_a_null_handle() {
    let calls = null_handle_calls();
    for (name, s) in &calls {
        assert_eq!(*s, S::CAPGC_E_NULL_ARGUMENT, "{name} with a null handle");
    }
    let covered: BTreeSet<String> = calls.iter().map(|(n, _)| n.to_string()).collect();
    let exempt: BTreeSet<String> = NO_HANDLE
        .iter()
        .chain(&VISITOR_CALLS)
        .map(|s| s.to_string())
        .collect();
    let header = header_functions();
    assert!(header.len() > 130, "parsed {} functions", header.len());
    let missing: Vec<_> = header
        .difference(&covered)
        .filter(|n| !exempt.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "entry points with no null-handle row: {missing:?}"
    );
    let unknown: Vec<_> = covered.difference(&header).collect();
    assert!(unknown.is_empty(), "rows for no entry point: {unknown:?}");
}

#[test]
fn null_out_pointers_are_refused() {
    let mut h = null_mut();
    // SAFETY: null config (the defaults) and a null out pointer.
    let st = unsafe { capgc_heap_new(null(), null_mut()) };
    assert_eq!(st, S::CAPGC_E_NULL_ARGUMENT);
    // SAFETY: as above.
    let st = unsafe { capgc_split_heap_new(null(), null_mut()) };
    assert_eq!(st, S::CAPGC_E_NULL_ARGUMENT);
    let mut cfg = capgc_config_default();
    cfg.mode = 0;
    // SAFETY: as above.
    let s = unsafe { capgc_cells_new(&cfg, null(), null_mut()) };
    assert_eq!(s, S::CAPGC_E_NULL_ARGUMENT);
    // SAFETY: valid config and out pointer; the heap is freed below.
    assert_eq!(unsafe { capgc_heap_new(null(), &mut h) }, S::CAPGC_OK);
    // SAFETY: `h` is live; the out pointers are null.
    unsafe {
        assert_eq!(capgc_scope_open(h, null_mut()), S::CAPGC_E_NULL_ARGUMENT);
        assert_eq!(
            capgc_type_byte_array(h, null_mut()),
            S::CAPGC_E_NULL_ARGUMENT
        );
        assert_eq!(capgc_heap_stats(h, null_mut()), S::CAPGC_E_NULL_ARGUMENT);
        assert_eq!(
            capgc_heap_verify(h, null_mut(), 1, &mut 0),
            S::CAPGC_E_NULL_ARGUMENT
        );
        assert_eq!(
            capgc_heap_verify(h, null_mut(), 0, null_mut()),
            S::CAPGC_E_NULL_ARGUMENT
        );
        verified(h);
        capgc_heap_free(h);
    }
}

/// The heap verifies.
///
/// # Safety
/// `h` is a live heap.
unsafe fn verified(h: *mut capgc_heap_t) {
    let mut out = [capgc_violation_t::default(); 4];
    let mut n = 0;
    // SAFETY: the caller's contract; `out` holds 4 violations.
    let s = unsafe { capgc_heap_verify(h, out.as_mut_ptr(), 4, &mut n) };
    assert_eq!((s, n), (S::CAPGC_OK, 0), "{:?}", &out[..n.min(4)]);
}

/// A heap of `mode`/`format`/`plan` with a record type and a region
/// holding two linked objects.
fn heap(mode: u32, format: u32, plan: u32) -> (*mut capgc_heap_t, u64, capgc_region_t) {
    let mut cfg = capgc_config_default();
    (cfg.mode, cfg.format, cfg.plan) = (mode, format, plan);
    cfg.limit = 32 << 20;
    let (mut h, mut t, mut rg) = (null_mut(), 0, capgc_region_t::default());
    // SAFETY: valid config and out pointers; the heap is live afterwards.
    unsafe {
        assert_eq!(capgc_heap_new(&cfg, &mut h), S::CAPGC_OK);
        assert_eq!(capgc_type_record(h, 2, 16, &mut t), S::CAPGC_OK);
        assert_eq!(capgc_region_new(h, 4, &mut rg), S::CAPGC_OK);
        assert_eq!(capgc_slot_alloc(h, rg, 0, t), S::CAPGC_OK);
        assert_eq!(capgc_slot_alloc(h, rg, 1, t), S::CAPGC_OK);
        assert_eq!(capgc_slot_store_field(h, rg, 0, 0, 1), S::CAPGC_OK);
    }
    (h, t, rg)
}

/// Every entry point that takes a reference, given `r` (the other
/// arguments good): each status.
///
/// # Safety
/// `h` is a live heap; `good` is a reference of it of this epoch.
unsafe fn through_every_ref_entry_point(
    h: *mut capgc_heap_t,
    good: capgc_ref_t,
    rg: capgc_region_t,
    r: capgc_ref_t,
) -> Vec<(&'static str, S)> {
    // The data of the record type: after its two reference slots.
    let mut slot = 0;
    // SAFETY: the caller's contract.
    let st = unsafe { capgc_heap_mode(h, null_mut(), &mut slot) };
    assert_eq!(st, S::CAPGC_OK);
    let d = 2 * slot;
    let (mut o, mut u, mut b, mut w32) = (capgc_null(), 0u64, false, 0u32);
    let mut p: *mut std::ffi::c_void = null_mut();
    let mut buf = [0u8; 8];
    let mut hd = capgc_handle_t::default();
    let mut pe = capgc_persistent_t::default();
    assert_eq!(
        // SAFETY: the caller's contract.
        unsafe { capgc_persistent_new(h, good, &mut pe) },
        S::CAPGC_OK
    );
    let mut m = null_mut();
    // SAFETY: the caller's contract; `m` is writable.
    assert_eq!(unsafe { capgc_mutator(h, &mut m) }, S::CAPGC_OK);
    // SAFETY: the caller's contract; every out pointer is valid.
    unsafe {
        vec![
            call!(capgc_read_u8(h, r, d, &mut buf[0])),
            call!(capgc_read_u32(h, r, d, &mut w32)),
            call!(capgc_read_u64(h, r, d, &mut u)),
            call!(capgc_read_f64(h, r, d, &mut 0.0)),
            call!(capgc_write_u8(h, r, d, 1)),
            call!(capgc_write_u32(h, r, d, 1)),
            call!(capgc_write_u64(h, r, d, 1)),
            call!(capgc_write_f64(h, r, d, 1.0)),
            call!(capgc_read_bytes(h, r, d, buf.as_mut_ptr().cast(), 8)),
            call!(capgc_write_bytes(h, r, d, buf.as_ptr().cast(), 8)),
            call!(capgc_get_ref(h, r, 0, &mut o)),
            call!(capgc_set_ref(h, r, 0, capgc_null())),
            call!(capgc_set_ref(h, good, 0, r)),
            call!(capgc_restrict(h, r, CAPGC_PERM_READ_ONLY, &mut o)),
            call!(capgc_pin(h, r)),
            call!(capgc_unpin(h, r)),
            call!(capgc_is_pinned(h, r, &mut b)),
            call!(capgc_type_of(h, r, &mut u)),
            call!(capgc_payload_len(h, r, &mut u)),
            call!(capgc_array_len(h, r, &mut u)),
            call!(capgc_payload(h, r, &mut p)),
            call!(capgc_handle_new(h, r, &mut hd)),
            call!(capgc_persistent_new(
                h,
                r,
                &mut capgc_persistent_t::default()
            )),
            call!(capgc_persistent_set(h, pe, r)),
            call!(capgc_region_set(h, rg, 3, r)),
            call!(capgc_weak_new(h, r, &mut capgc_weak_t::default())),
            call!(capgc_ephemeron_new(
                h,
                r,
                good,
                &mut capgc_ephemeron_t::default()
            )),
            call!(capgc_ephemeron_new(
                h,
                good,
                r,
                &mut capgc_ephemeron_t::default()
            )),
            call!(capgc_finalizer_register(h, r, 9, null_mut())),
            // The fast path's entries (`capgc_fast.h`): the barrier's
            // out-of-line half; the inline loads and stores call the
            // entries above in SoftCheri.
            call!(capgc_fast_remember(m, r, 0)),
        ]
    }
}

/// A collection with `r` as the one entry of the fast path's shadow
/// stack: its status (the stack unregistered again).
///
/// # Safety
/// `h` is a live heap.
unsafe fn collect_over_shadow_entry(h: *mut capgc_heap_t, r: capgc_ref_t) -> S {
    let mut m = null_mut();
    let mut stack = [r];
    // SAFETY: the caller's contract; `stack` outlives its registration,
    // which ends below; `m` is the heap's mutator, and no call is in
    // progress while its `roots_top` is written.
    unsafe {
        assert_eq!(capgc_mutator(h, &mut m), S::CAPGC_OK);
        assert_eq!(capgc_fast_roots(m, stack.as_mut_ptr(), 1), S::CAPGC_OK);
        (*m).roots_top = 1;
        let s = capgc_collect(h, null_mut());
        assert_eq!(capgc_fast_roots(m, null_mut(), 0), S::CAPGC_OK);
        s
    }
}

/// Forged (garbage bits), flipped (every one of 128 bits of a good
/// reference, in turn), another heap's, and stale references through every
/// reference entry point, in every mode and plan.
#[test]
fn bad_references_through_every_ref_entry_point() {
    for (mode, format) in [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)] {
        for plan in 0..3 {
            let (h, _, rg) = heap(mode, format, plan);
            let (other, _, org) = heap(mode, format, plan);
            let (mut good, mut theirs) = (capgc_null(), capgc_null());
            // SAFETY: both heaps are live; the outs are writable.
            unsafe {
                assert_eq!(capgc_region_get(h, rg, 0, &mut good), S::CAPGC_OK);
                assert_eq!(capgc_region_get(other, org, 0, &mut theirs), S::CAPGC_OK);
            }
            let checked = mode == 2;
            let where_ = format!("mode {mode} format {format} plan {plan}");
            let mut cases = vec![(
                "garbage",
                capgc_ref_t {
                    addr: 0x1234_5670,
                    meta: 0x9e37,
                },
            )];
            cases.push(("another heap's", theirs));
            for bit in (0..128).step_by(if checked { 1 } else { 5 }) {
                let mut f = good;
                if bit < 64 {
                    f.addr ^= 1 << bit;
                } else {
                    f.meta ^= 1 << (bit - 64);
                }
                if checked || bit < 64 {
                    cases.push(("flipped", f));
                }
            }
            for (what, r) in cases {
                // SAFETY: `h` is live; `good` is of this epoch (no call
                // here collects: nothing is allocated).
                let got = unsafe { through_every_ref_entry_point(h, good, rg, r) };
                for (name, s) in got {
                    if checked && name == "capgc_payload" {
                        assert_ne!(s, S::CAPGC_OK, "{where_}: a payload pointer");
                    } else if checked {
                        assert_eq!(
                            s,
                            S::CAPGC_E_FORGED,
                            "{where_}: {what} reference {r:?} through {name}"
                        );
                    } else if what != "flipped" {
                        // Unchecked: the address names no live object of
                        // this heap. (A flipped address may name another
                        // live object, a flipped `meta` is ignored: NOT
                        // CAUGHT, and harmless here — every access is to
                        // a live object's data.)
                        assert_ne!(s, S::CAPGC_OK, "{where_}: {what} through {name}");
                    }
                }
                // The shadow stack: a collection over the entry is
                // refused and changes nothing (not tried for a flipped
                // address in the unchecked modes: it may name another
                // live object, and the collection would then move `good`).
                if checked || what != "flipped" {
                    // SAFETY: `h` is live.
                    let s = unsafe { collect_over_shadow_entry(h, r) };
                    if checked {
                        assert_eq!(s, S::CAPGC_E_FORGED, "{where_}: {what} shadow-stack entry");
                    } else {
                        assert_ne!(s, S::CAPGC_OK, "{where_}: {what} shadow-stack entry");
                    }
                }
                // SAFETY: `h` is live.
                unsafe { verified(h) };
            }
            // Stale: from before a collection.
            // SAFETY: `h` is live; a null out is allowed.
            assert_eq!(unsafe { capgc_collect(h, null_mut()) }, S::CAPGC_OK);
            let mut fresh = capgc_null();
            // SAFETY: `h` is live; `fresh` is writable.
            let st = unsafe { capgc_region_get(h, rg, 0, &mut fresh) };
            assert_eq!(st, S::CAPGC_OK);
            // SAFETY: `h` is live; `fresh` is of this epoch.
            let got = unsafe { through_every_ref_entry_point(h, fresh, rg, good) };
            if checked {
                for (name, s) in got {
                    if name == "capgc_payload" {
                        assert_ne!(s, S::CAPGC_OK);
                    } else {
                        assert_eq!(s, S::CAPGC_E_STALE, "{where_}: stale through {name}");
                    }
                }
                // SAFETY: `h` is live.
                let s = unsafe { collect_over_shadow_entry(h, good) };
                assert_eq!(s, S::CAPGC_E_STALE, "{where_}: stale shadow-stack entry");
            }
            // SAFETY: both heaps are live and used no more.
            unsafe {
                verified(h);
                verified(other);
                capgc_heap_free(h);
                capgc_heap_free(other);
            }
        }
    }
}

/// A heap pointer shared by two threads: the ABI allows calls from any
/// thread and refuses overlapping ones.
struct Shared<T>(*mut T);
impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Shared<T> {}
// SAFETY: the C ABI's contract: a heap may be called from any thread, one
// call at a time; an overlapping call is refused with `CAPGC_E_BUSY`
// before it touches anything.
unsafe impl<T> Send for Shared<T> {}

/// Two threads hammer one heap (allocations, field stores, reads,
/// collections): every call is `CAPGC_OK` or `CAPGC_E_BUSY`, never a race,
/// and the heap verifies afterwards, in every mode.
#[test]
fn two_threads_on_one_heap_are_refused_not_raced() {
    for (mode, format) in [(0, 0), (1, 0), (2, 0), (2, 2)] {
        let (h, t, rg) = heap(mode, format, 2);
        let mut ss = 0;
        // SAFETY: `h` is live; `ss` is writable.
        let st = unsafe { capgc_heap_mode(h, null_mut(), &mut ss) };
        assert_eq!(st, S::CAPGC_OK);
        let shared = Shared(h);
        let start = std::sync::Barrier::new(2);
        let busy: usize = std::thread::scope(|s| {
            let start = &start;
            let worker = move |k: u64| {
                move || {
                    let h = shared;
                    let mut busy = 0;
                    start.wait();
                    for i in 0..20_000u64 {
                        let slot = k;
                        // SAFETY: the heap is live for the whole scope;
                        // overlapping calls are refused (see `Shared`).
                        let st = unsafe {
                            match i % 5 {
                                0 => capgc_slot_alloc(h.0, rg, slot, t),
                                1 => capgc_slot_store_field(h.0, rg, 0, ss, slot),
                                2 => capgc_slot_write_u64(h.0, rg, slot, 2 * ss, i),
                                3 if i % 2000 == 3 => capgc_collect(h.0, null_mut()),
                                _ => capgc_slot_read_u64(h.0, rg, slot, 2 * ss, &mut 0),
                            }
                        };
                        match st {
                            S::CAPGC_OK => {}
                            S::CAPGC_E_BUSY => busy += 1,
                            // The thread's own slot is empty while its
                            // first allocation was the one refused.
                            S::CAPGC_E_NULL_REFERENCE => {}
                            other => panic!("mode {mode}: {other:?}: {}", last_error()),
                        }
                    }
                    busy
                }
            };
            let a = s.spawn(worker(2));
            let b = s.spawn(worker(3));
            a.join().unwrap() + b.join().unwrap()
        });
        // SAFETY: the threads are done; the heap is live and used no more.
        unsafe {
            verified(h);
            capgc_heap_free(h);
        }
        eprintln!("mode {mode}/{format}: {busy} calls refused as busy");
    }
}

fn last_error() -> String {
    // SAFETY: a nul-terminated string valid until the next failing call
    // on this thread; copied at once.
    unsafe { std::ffi::CStr::from_ptr(capgc_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// Found by the attack table (regression): a call refused for its null
/// out pointer had already acted — `capgc_persistent_new` rooted the
/// object for good (the token that would release it was never handed
/// out), `capgc_handle_new` rooted it in the scope, `capgc_alloc`
/// allocated. Every creating call now checks its out pointer first: a
/// refused one allocates nothing, roots nothing, and leaves the scope
/// stack as it was.
#[test]
fn a_null_out_pointer_has_no_effect() {
    let (h, t, _) = heap(2, 0, 0);
    let (mut r, mut wk, mut gone) = (capgc_null(), capgc_weak_t::default(), capgc_null());
    let (mut before, mut after) = (capgc_stats_t::default(), capgc_stats_t::default());
    let mut sc = capgc_scope_t::default();
    // SAFETY: `h` is live; the out pointers are valid or, as tested, null.
    unsafe {
        assert_eq!(capgc_alloc(h, t, &mut r), S::CAPGC_OK);
        assert_eq!(capgc_weak_new(h, r, &mut wk), S::CAPGC_OK);
        assert_eq!(capgc_scope_open(h, &mut sc), S::CAPGC_OK);
        assert_eq!(capgc_heap_stats(h, &mut before), S::CAPGC_OK);
        let refused = [
            call!(capgc_alloc(h, t, null_mut())),
            call!(capgc_alloc_pinned(h, t, null_mut())),
            call!(capgc_alloc_array(h, t, 4, null_mut())),
            call!(capgc_persistent_new(h, r, null_mut())),
            call!(capgc_handle_new(h, r, null_mut())),
            call!(capgc_weak_new(h, r, null_mut())),
            call!(capgc_ephemeron_new(h, r, r, null_mut())),
            call!(capgc_region_new(h, 4, null_mut())),
            call!(capgc_scope_open(h, null_mut())),
            call!(capgc_type_record(h, 1, 8, null_mut())),
            call!(capgc_type_ref_array(h, null_mut())),
            call!(capgc_type_byte_array(h, null_mut())),
        ];
        for (name, status) in refused {
            assert_eq!(status, S::CAPGC_E_NULL_ARGUMENT, "{name}");
        }
        assert_eq!(capgc_heap_stats(h, &mut after), S::CAPGC_OK);
        let allocated = after.objects_allocated - before.objects_allocated;
        // The innermost scope is still the one opened above: a refused
        // capgc_scope_open left none open inside it.
        let scope_kept = capgc_scope_close(h, sc);
        assert_eq!(capgc_collect(h, null_mut()), S::CAPGC_OK);
        assert_eq!(capgc_weak_get(h, wk, &mut gone), S::CAPGC_OK);
        let rooted = gone != capgc_null();
        verified(h);
        capgc_heap_free(h);
        assert_eq!(allocated, 0, "a refused allocation allocated");
        assert_eq!(
            scope_kept,
            S::CAPGC_OK,
            "a refused scope_open opened a scope"
        );
        assert!(!rooted, "a refused call rooted its object");
    }
}

/// Found by the `c_abi` fuzz target's 30-minute campaign (regression,
/// docs/fuzzing.md finding 4): a record type of 131 million reference
/// slots (1 GiB in Native, within the size limit) was registered with its
/// map built as one 8-byte offset per slot — a gigabyte per call, and the
/// fuzzer ran out of memory. A record now keeps its count of slots alone
/// (registering it many times costs nothing); a fixed type's explicit
/// offsets are at most 65536, more is `CAPGC_E_INVALID_TYPE` before they
/// are copied.
#[test]
fn a_type_with_millions_of_slots_costs_no_map() {
    let (h, _, _) = heap(0, 0, 0);
    let mut t = 0;
    // SAFETY: `h` is live; `t` and the offsets are valid for the calls.
    unsafe {
        for _ in 0..64 {
            assert_eq!(capgc_type_record(h, 131_322_835, 127, &mut t), S::CAPGC_OK);
        }
        assert_eq!(
            capgc_type_record(h, 1 << 28, 0, &mut t),
            S::CAPGC_E_INVALID_TYPE
        );
        let offsets: Vec<u64> = (0..(1u64 << 16) + 1).map(|i| i * 8).collect();
        assert_eq!(
            capgc_type_fixed(
                h,
                offsets.len() as u64 * 8,
                offsets.as_ptr(),
                offsets.len(),
                &mut t
            ),
            S::CAPGC_E_INVALID_TYPE
        );
        assert!(last_error().contains("65536"), "{}", last_error());
        assert_eq!(
            capgc_type_fixed(h, 1 << 19, offsets.as_ptr(), 1 << 16, &mut t),
            S::CAPGC_OK
        );
        let mut r = capgc_null();
        assert_eq!(capgc_alloc(h, t, &mut r), S::CAPGC_OK);
        verified(h);
        capgc_heap_free(h);
    }
}
