//! Collection of one compartment and of the whole split heap, the
//! non-local access report, and the split heap's verifier.

use super::{capgc_compartment_t, capgc_split_heap_t, id};
use crate::error::CapgcStatus;
use crate::ffi::{bytes_mut, fail, put, put_opt};
use crate::stats::{capgc_collection_t, capgc_violation_t, collection_of};
use gc_core::GcError;
use std::ffi::c_char;

/// Cross-compartment operations counted for one ordered pair
/// `(from, to)`: `to` owns the objects, `from` acted.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_pair_stats_t {
    /// Sealed references created for `from` to `to`'s objects.
    pub created: u64,
    /// Sealed references to `to`'s objects that came through `from`,
    /// unsealed by `to`.
    pub unsealed: u64,
    /// Sealed references to `to`'s objects stored in `from`'s objects or
    /// root regions.
    pub stored: u64,
    /// Refusals: an unsealed reference to `to`'s memory offered to
    /// `from`, an unseal by `from` of a reference `to` owns, a sealed
    /// reference of a torn-down `to` used by `from`.
    pub refused: u64,
}

/// What a whole-heap collection (`capgc_split_heap_collect`) did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_whole_heap_stats_t {
    /// Exports nothing reached, released (their sealed references are
    /// revoked): what frees a cycle through several compartments.
    pub exports_released: u64,
    /// Exports still live.
    pub exports_live: u64,
    /// The cross-compartment marking, nanoseconds.
    pub marking_ns: u64,
    /// The whole pause (marking, releasing, every compartment's full
    /// collection), nanoseconds.
    pub pause_ns: u64,
    /// Compartments collected (the live ones).
    pub compartments: u64,
}

/// A violation `capgc_split_heap_verify` found, and where.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_compartment_violation_t {
    /// The compartment whose memory, roots or authority break it.
    pub compartment: capgc_compartment_t,
    /// What was found (as `capgc_heap_verify` reports it).
    pub violation: capgc_violation_t,
}

/// Collects compartment `c` alone (a full collection of its plan): its
/// exports are roots, the other compartments are untouched, and every
/// sealed reference stays valid. `c`'s references from before are stale
/// afterwards. `out` (may be null) gets what it did.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_collect(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    out: *mut capgc_collection_t,
) -> CapgcStatus {
    split_ffi!(split, w => put_opt(out, collection_of(&w.collect(id(c))?)))
}

/// The whole-heap collection: marks across compartments from their own
/// roots, releases every export nothing reaches (a cycle through several
/// compartments goes; its sealed references are revoked), then collects
/// every compartment — every reference of every compartment is stale
/// afterwards. `out` (may be null) gets what it did.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is null or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_collect(
    split: *mut capgc_split_heap_t,
    out: *mut capgc_whole_heap_stats_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let s = w.collect_all()?;
        put_opt(out, capgc_whole_heap_stats_t {
            exports_released: s.exports_released,
            exports_live: s.exports_live,
            marking_ns: s.marking.as_nanos() as u64,
            pause_ns: s.pause.as_nanos() as u64,
            compartments: s.collections.len() as u64,
        })
    })
}

/// The counts of the ordered pair `(from, to)` (`to` owns the objects,
/// `from` acted); both must be compartments of this split heap, live or
/// torn down.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_pair_stats(
    split: *mut capgc_split_heap_t,
    from: capgc_compartment_t,
    to: capgc_compartment_t,
    out: *mut capgc_pair_stats_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        for c in [id(from), id(to)] {
            match w.heap(c) {
                Ok(_) | Err(GcError::CompartmentDestroyed) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let p = w.pair_stats(id(from), id(to));
        put(out, capgc_pair_stats_t {
            created: p.created,
            unsealed: p.unsealed,
            stored: p.stored,
            refused: p.refused,
        })
    })
}

/// The non-local access report (what `CAPGC_LOG=compartments` prints: one
/// line per ordered pair with a count), nul-terminated, into `buf` (`cap`
/// bytes); `*len` gets its length without the nul.
/// `CAPGC_E_BUFFER_TOO_SMALL` when it does not fit (`*len` says how much
/// is needed).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `buf` is valid
/// for `cap` writes; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_report(
    split: *mut capgc_split_heap_t,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let table = w.report_table();
        put(len, table.len())?;
        if table.len() + 1 > cap {
            return fail(
                CapgcStatus::CAPGC_E_BUFFER_TOO_SMALL,
                format!("the report needs {} bytes", table.len() + 1),
            );
        }
        let out = bytes_mut(buf.cast(), cap)?;
        out[..table.len()].copy_from_slice(table.as_bytes());
        out[table.len()] = 0;
        Ok(())
    })
}

/// Checks the heap-safety contract in every live compartment (I1–I9,
/// I7's isolation included) and across them (regions disjoint, every
/// sealed reference into a live compartment designates a live export).
/// `*count` gets the number of violations (0: sound); the first `cap` are
/// written to `out`, each with its compartment.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is valid
/// for `cap` writes (null when 0); `count` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_verify(
    split: *mut capgc_split_heap_t,
    out: *mut capgc_compartment_violation_t,
    cap: usize,
    count: *mut usize,
) -> CapgcStatus {
    split_ffi!(split, w => {
        if cap > 0 && out.is_null() {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "out is null");
        }
        let v = w.verify().err().unwrap_or_default();
        for (i, (c, x)) in v.iter().take(cap).enumerate() {
            let rec = capgc_compartment_violation_t {
                compartment: c.to_bits(),
                violation: crate::stats::violation_of(x),
            };
            // SAFETY: the caller's contract: `out` holds `cap` entries and
            // i < cap.
            unsafe { out.add(i).write(rec) };
        }
        put(count, v.len())
    })
}
