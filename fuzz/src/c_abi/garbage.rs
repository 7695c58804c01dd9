//! Garbage arguments: configurations with any field values, a null heap
//! for every entry point that takes one, a null out pointer for every
//! entry point that writes one, and status numbers that are none.

use super::{sane, Driver, ALL_PERMS};
use arbitrary::Arbitrary;
use capgc::CapgcStatus as S;
use capgc::*;
use std::ptr::null_mut;

/// A `capgc_config_t` of arbitrary fields.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct RawConfig {
    /// `mode`.
    pub mode: u32,
    /// `format`.
    pub format: u32,
    /// `plan`.
    pub plan: u32,
    /// `scan`.
    pub scan: u32,
    /// `limit`.
    pub limit: u64,
    /// `initial_size`.
    pub initial_size: u64,
    /// `nursery_size`.
    pub nursery_size: u64,
    /// `pause_goal_us`.
    pub pause_goal_us: u64,
    /// `growth_factor`.
    pub growth_factor: f64,
    /// `trigger`.
    pub trigger: u32,
    /// `checked`.
    pub checked: u32,
    /// `zeal_collect_every`.
    pub zeal_collect_every: u32,
    /// `zeal_flags`.
    pub zeal_flags: u32,
    /// Which constructor: heap, split heap or cell heap (mod 3).
    pub which: u8,
}

/// Every constructor given `g`: a status; an invalid enum is refused; a
/// heap that is made is freed at once.
pub(crate) fn config(g: &RawConfig) {
    let c = capgc_config_t {
        mode: g.mode,
        format: g.format,
        plan: g.plan,
        scan: g.scan,
        limit: g.limit,
        initial_size: g.initial_size,
        nursery_size: g.nursery_size,
        pause_goal_us: g.pause_goal_us,
        growth_factor: g.growth_factor,
        log: 0,
        trigger: g.trigger,
        checked: g.checked,
        zeal_collect_every: g.zeal_collect_every,
        zeal_flags: g.zeal_flags,
    };
    let bad_zeal =
        c.zeal_flags & !(CAPGC_ZEAL_VERIFY | CAPGC_ZEAL_MOVE_ALL | CAPGC_ZEAL_POISON) != 0;
    let bad_enum =
        c.mode > 2 || c.format > 2 || c.plan > 2 || c.scan > 1 || c.trigger > 1 || bad_zeal;
    match g.which % 3 {
        0 => {
            let mut h = null_mut();
            // SAFETY: `c` and `h` are valid for the call.
            let s = sane(unsafe { capgc_heap_new(&c, &mut h) }, "heap_new");
            if bad_enum {
                assert_ne!(s, S::CAPGC_OK, "heap_new accepted {c:?}");
            }
            if s == S::CAPGC_OK {
                // SAFETY: a heap just made, used by nothing else.
                unsafe { capgc_heap_free(h) };
            } else {
                assert!(h.is_null(), "no heap on failure");
            }
        }
        1 => {
            let mut h = null_mut();
            // SAFETY: as above.
            let s = sane(
                unsafe { capgc_split_heap_new(&c, &mut h) },
                "split_heap_new",
            );
            if c.mode > 2 || c.format > 2 {
                assert_ne!(s, S::CAPGC_OK, "split_heap_new accepted {c:?}");
            }
            if s == S::CAPGC_OK {
                // A compartment from the same garbage.
                let mut id = 0;
                // SAFETY: `h` is live; `id` is writable.
                let s2 = sane(
                    unsafe { capgc_compartment_new(h, &c, &mut id) },
                    "compartment_new",
                );
                if bad_enum {
                    assert_ne!(s2, S::CAPGC_OK, "compartment_new accepted {c:?}");
                }
                // SAFETY: a split heap just made, used by nothing else.
                unsafe { capgc_split_heap_free(h) };
            }
        }
        _ => {
            let mut h = null_mut();
            // SAFETY: as above; null callbacks are allowed.
            let s = sane(
                unsafe { capgc_cells_new(&c, std::ptr::null(), &mut h) },
                "cells_new",
            );
            if bad_enum || c.mode == 2 {
                assert_ne!(s, S::CAPGC_OK, "cells_new accepted {c:?}");
            }
            if s == S::CAPGC_OK {
                // SAFETY: a cell heap just made, used by nothing else.
                unsafe { capgc_cells_free(h) };
            }
        }
    }
}

/// The number of entry points [`null_heap`] covers.
const NULL_HEAP_CALLS: u8 = 40;

/// The `i`-th entry point (mod the table) with a null heap:
/// `CAPGC_E_NULL_ARGUMENT`.
pub(crate) fn null_heap(d: &Driver, i: u8) {
    let h: *mut capgc_heap_t = null_mut();
    let r = d.refs.last().map_or(capgc_null(), |o| o.r);
    let t = d.node;
    let (mut o, mut u, mut b) = (capgc_null(), 0u64, false);
    let rg = capgc_region_t::default();
    // SAFETY: (every call) the heap is null, which each entry point
    // refuses before anything else; every out pointer is valid anyway.
    let s = unsafe {
        match i % NULL_HEAP_CALLS {
            0 => capgc_alloc(h, t, &mut o),
            1 => capgc_alloc_pinned(h, t, &mut o),
            2 => capgc_alloc_array(h, t, 4, &mut o),
            3 => capgc_read_u64(h, r, 0, &mut u),
            4 => capgc_write_u64(h, r, 0, 1),
            5 => capgc_get_ref(h, r, 0, &mut o),
            6 => capgc_set_ref(h, r, 0, r),
            7 => capgc_restrict(h, r, ALL_PERMS, &mut o),
            8 => capgc_pin(h, r),
            9 => capgc_is_pinned(h, r, &mut b),
            10 => capgc_type_of(h, r, &mut u),
            11 => capgc_payload_len(h, r, &mut u),
            12 => capgc_scope_open(h, &mut capgc_scope_t::default()),
            13 => capgc_scope_close(h, capgc_scope_t::default()),
            14 => capgc_handle_new(h, r, &mut capgc_handle_t::default()),
            15 => capgc_handle_get(h, capgc_handle_t::default(), &mut o),
            16 => capgc_persistent_new(h, r, &mut capgc_persistent_t::default()),
            17 => capgc_persistent_release(h, capgc_persistent_t::default()),
            18 => capgc_region_new(h, 4, &mut capgc_region_t::default()),
            19 => capgc_region_set(h, rg, 0, r),
            20 => capgc_region_get(h, rg, 0, &mut o),
            21 => capgc_slot_alloc(h, rg, 0, t),
            22 => capgc_slot_store_field(h, rg, 0, 0, 1),
            23 => capgc_slot_read_u64(h, rg, 0, 0, &mut u),
            24 => capgc_weak_new(h, r, &mut capgc_weak_t::default()),
            25 => capgc_weak_get(h, capgc_weak_t::default(), &mut o),
            26 => capgc_ephemeron_new(h, r, r, &mut capgc_ephemeron_t::default()),
            27 => capgc_finalizer_register(h, r, 1, null_mut()),
            28 => capgc_finalized_take(h, null_mut(), 0, &mut (u as usize), null_mut()),
            29 => capgc_collect(h, null_mut()),
            30 => capgc_collect_minor(h, null_mut()),
            31 => capgc_heap_stats(h, &mut capgc_stats_t::default()),
            32 => capgc_heap_verify(h, null_mut(), 0, &mut (u as usize)),
            33 => capgc_type_record(h, 1, 8, &mut u),
            34 => capgc_type_byte_array(h, &mut u),
            35 => capgc_type_custom(h, 32, Some(super::liar::trace), null_mut(), &mut u),
            36 => capgc_heap_mode(h, null_mut(), null_mut()),
            37 => capgc_payload(h, r, &mut null_mut()),
            38 => capgc_read_bytes(h, r, 0, (&mut u as *mut u64).cast(), 8),
            _ => capgc_log_line(h, null_mut(), 0, &mut (u as usize)),
        }
    };
    assert_eq!(
        sane(s, "null heap"),
        S::CAPGC_E_NULL_ARGUMENT,
        "entry {}",
        i % NULL_HEAP_CALLS
    );
}

/// The number of entry points [`null_out`] covers.
const NULL_OUT_CALLS: u8 = 28;

/// The `i`-th entry point (mod the table) with a null out pointer and
/// otherwise good arguments: `CAPGC_E_NULL_ARGUMENT`. (Skipped when the
/// run has no fresh reference or token of the kind the call needs.)
pub(crate) fn null_out(d: &Driver, i: u8) {
    let h = d.h;
    let fresh = d.refs.iter().rev().find(|o| o.epoch == d.epoch);
    let Some(r) = fresh.map(|o| o.r) else { return };
    let (t, bytes) = (d.node, d.bytes);
    let Some(&w) = d.tokens.regions.last() else {
        return;
    };
    let rg = capgc_region_t { w };
    let i = i % NULL_OUT_CALLS;
    // The region may have been freed (the pool keeps stale tokens): then
    // the region calls may refuse the region before the out pointer,
    // which is as right. (Campaign finding: docs/fuzzing.md, 3.)
    if (15..=18).contains(&i) {
        let mut n = 0;
        // SAFETY: `h` is live; `n` is writable.
        if unsafe { capgc_region_len(h, rg, &mut n) } != S::CAPGC_OK {
            return;
        }
    }
    // SAFETY: (every call) `h` is live; the one out pointer is null, which
    // each entry point refuses; every other pointer is valid.
    let s = unsafe {
        match i {
            0 => capgc_alloc(h, t, null_mut()),
            1 => capgc_alloc_pinned(h, t, null_mut()),
            2 => capgc_alloc_array(h, bytes, 4, null_mut()),
            3 => capgc_read_u8(h, r, 0, null_mut()),
            4 => capgc_read_u64(h, r, 0, null_mut()),
            5 => capgc_get_ref(h, r, 0, null_mut()),
            6 => capgc_restrict(h, r, ALL_PERMS, null_mut()),
            7 => capgc_is_pinned(h, r, null_mut()),
            8 => capgc_type_of(h, r, null_mut()),
            9 => capgc_payload_len(h, r, null_mut()),
            10 => capgc_array_len(h, r, null_mut()),
            11 => capgc_scope_open(h, null_mut()),
            12 => capgc_handle_new(h, r, null_mut()),
            13 => capgc_persistent_new(h, r, null_mut()),
            14 => capgc_region_new(h, 4, null_mut()),
            15 => capgc_region_len(h, rg, null_mut()),
            16 => capgc_region_get(h, rg, 0, null_mut()),
            17 => capgc_region_is_ref(h, rg, 0, null_mut()),
            18 => capgc_slot_is_null(h, rg, 0, null_mut()),
            19 => capgc_weak_new(h, r, null_mut()),
            20 => capgc_finalized_take(h, null_mut(), 0, null_mut(), null_mut()),
            21 => capgc_heap_stats(h, null_mut()),
            22 => capgc_heap_verify(h, null_mut(), 0, null_mut()),
            23 => capgc_type_record(h, 1, 8, null_mut()),
            24 => capgc_type_ref_array(h, null_mut()),
            25 => capgc_log_line(h, null_mut(), 0, null_mut()),
            26 => capgc_heap_mode(h, null_mut(), null_mut()),
            _ => capgc_heap_new(std::ptr::null(), null_mut()),
        }
    };
    sane(s, "null out");
    match i {
        // Reads of a fresh reference: only the out pointer is wrong,
        // unless the reference's view or type refuses first.
        3..=10 => assert!(s != S::CAPGC_OK, "entry {i}"),
        // Both outs may be null.
        26 => assert_eq!(s, S::CAPGC_OK),
        _ => assert_eq!(s, S::CAPGC_E_NULL_ARGUMENT, "entry {i}"),
    }
}

/// `capgc_status_name` of any number: a name, `CAPGC_UNKNOWN` for none;
/// `capgc_last_error` is a string.
pub(crate) fn status_name(n: u32) {
    let p = capgc_status_name(n);
    assert!(!p.is_null());
    // SAFETY: a nul-terminated string in static storage.
    let name = unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy();
    assert!(name.starts_with("CAPGC_"), "{name}");
    assert_eq!(name == "CAPGC_UNKNOWN", n > 44, "status {n}: {name}");
    let _ = super::last_error();
}
