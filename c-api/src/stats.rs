//! Statistics, the `CAPGC_LOG` line, and the heap verifier.

use crate::error::CapgcStatus;
use crate::ffi::{fail, ffi, put};
use gc_core::{CollectionKind, CollectionStats, RefLocation, Violation};
use std::ffi::c_char;

/// What one collection did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[allow(non_camel_case_types)]
pub struct capgc_collection_t {
    /// Sequence number (1 for the first).
    pub number: u64,
    /// 1 for a minor collection, 0 for a full one.
    pub minor: u32,
    /// Wall-clock pause in nanoseconds.
    pub pause_ns: u64,
    /// Heap bytes in use before and after.
    pub bytes_before: u64,
    /// Heap bytes in use after.
    pub bytes_after: u64,
    /// Bytes copied (moving plans).
    pub bytes_copied: u64,
    /// Bytes promoted into the mature space (Generational).
    pub bytes_promoted: u64,
    /// Surviving objects (of the collected spaces).
    pub live_objects: u64,
    /// Objects freed.
    pub objects_freed: u64,
    /// Capabilities the collector derived.
    pub caps_derived: u64,
}

/// A heap's statistics as C sees them (`capgc_heap_stats`,
/// `capgc_compartment_stats`).
pub(crate) fn stats_of(s: &gc_core::HeapStats) -> capgc_stats_t {
    capgc_stats_t {
        collections: s.collections,
        total_pause_ns: s.total_pause.as_nanos() as u64,
        max_pause_ns: s.max_pause.as_nanos() as u64,
        objects_allocated: s.objects_allocated,
        bytes_allocated: s.bytes_allocated,
        caps_derived: s.caps_derived,
        checks: s.checks,
        bytes_in_use: s.bytes_in_use,
        heap_bytes: s.heap_bytes,
        peak_heap_bytes: s.peak_heap_bytes,
        nursery_bytes: s.nursery_bytes,
        bytes_copied: s.bytes_copied,
        last: s.last.as_ref().map(collection_of).unwrap_or_default(),
    }
}

pub(crate) fn collection_of(c: &CollectionStats) -> capgc_collection_t {
    capgc_collection_t {
        number: c.number,
        minor: u32::from(c.kind == CollectionKind::Minor),
        pause_ns: c.pause.as_nanos() as u64,
        bytes_before: c.bytes_before,
        bytes_after: c.bytes_after,
        bytes_copied: c.bytes_copied,
        bytes_promoted: c.bytes_promoted,
        live_objects: c.live_objects,
        objects_freed: c.objects_freed,
        caps_derived: c.caps_derived,
    }
}

/// Cumulative statistics of a heap.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[allow(non_camel_case_types)]
pub struct capgc_stats_t {
    /// Collections run.
    pub collections: u64,
    /// Total pause, nanoseconds.
    pub total_pause_ns: u64,
    /// Longest pause, nanoseconds.
    pub max_pause_ns: u64,
    /// Objects allocated.
    pub objects_allocated: u64,
    /// Bytes allocated (cells).
    pub bytes_allocated: u64,
    /// Capabilities derived (allocation and collection).
    pub caps_derived: u64,
    /// Capability checks on mutator accesses (SoftCheri).
    pub checks: u64,
    /// Heap bytes in use now.
    pub bytes_in_use: u64,
    /// Bytes of blocks the heap holds (its footprint).
    pub heap_bytes: u64,
    /// The largest footprint so far (the most blocks held at once).
    pub peak_heap_bytes: u64,
    /// The nursery size now (Generational).
    pub nursery_bytes: u64,
    /// Bytes copied by moving collections.
    pub bytes_copied: u64,
    /// The last collection (all zero before the first).
    pub last: capgc_collection_t,
}

/// The heap's statistics.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_stats(
    heap: *mut crate::capgc_heap_t,
    out: *mut capgc_stats_t,
) -> CapgcStatus {
    ffi!(heap, h => put(out, stats_of(&h.stats())))
}

/// The `CAPGC_LOG=gc` line of the last collection, nul-terminated, into
/// `buf` (`cap` bytes); `*len` gets its length without the nul.
/// `CAPGC_E_BUFFER_TOO_SMALL` when it does not fit (`*len` says how much
/// is needed).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `buf` is valid for `cap` writes;
/// `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_log_line(
    heap: *mut crate::capgc_heap_t,
    buf: *mut c_char,
    cap: usize,
    len: *mut usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        let line = match h.stats().last {
            Some(c) => {
                let kind = if c.kind == CollectionKind::Minor { "minor" } else { "full" };
                gc_core::log_line(h.config().plan.name(), kind, mode_name(h), &c)
            }
            None => String::new(),
        };
        put(len, line.len())?;
        if line.len() + 1 > cap {
            return fail(CapgcStatus::CAPGC_E_BUFFER_TOO_SMALL, format!("the line needs {} bytes", line.len() + 1));
        }
        let out = crate::ffi::bytes_mut(buf.cast(), cap)?;
        out[..line.len()].copy_from_slice(line.as_bytes());
        out[line.len()] = 0;
        Ok(())
    })
}

fn mode_name<M: capability_heap::RefMode>(_h: &gc_core::Heap<M>) -> &'static str {
    M::NAME
}

/// One violation of the heap-safety contract that `capgc_heap_verify`
/// found.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_violation_t {
    /// The invariant broken: 1 to 9 (docs/design.md I1–I9).
    pub invariant: u32,
    /// What was found where (`capgc_violation_kind_t`).
    pub kind: u32,
    /// The object, slot, granule or byte concerned.
    pub addr: u64,
    /// The address the reference points at (reference violations).
    pub target: u64,
}

/// Kinds of `capgc_violation_t`.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// cbindgen:prefix-with-name=false
#[allow(non_camel_case_types)]
pub enum CapgcViolation {
    /// I1: a reference's bounds are not exactly its object's.
    CAPGC_VIOLATION_INEXACT_REFERENCE = 1,
    /// I3: a reference to no live object.
    CAPGC_VIOLATION_DANGLING_REFERENCE = 2,
    /// I2: a header holds a tag.
    CAPGC_VIOLATION_TAGGED_HEADER = 3,
    /// I2: a header is corrupt.
    CAPGC_VIOLATION_CORRUPT_HEADER = 4,
    /// I4: free memory holds a tag.
    CAPGC_VIOLATION_TAG_IN_FREE_MEMORY = 5,
    /// I4: free memory is not zero.
    CAPGC_VIOLATION_DIRTY_FREE_MEMORY = 6,
    /// I5: a reference with rights beyond an object reference's.
    CAPGC_VIOLATION_WIDENED_REFERENCE = 7,
    /// I8: a reference into evacuated memory.
    CAPGC_VIOLATION_INTO_EVACUATED_SPACE = 8,
    /// I9: an old-to-young slot the remembered set lacks.
    CAPGC_VIOLATION_UNREMEMBERED_SLOT = 9,
    /// I6: a tag outside a reference slot.
    CAPGC_VIOLATION_TAG_OUTSIDE_REF_SLOT = 10,
    /// I7: an unsealed reference outside the compartment's region.
    CAPGC_VIOLATION_FOREIGN_REFERENCE = 11,
    /// I7: a sealed reference that designates no live export.
    CAPGC_VIOLATION_UNEXPORTED_SEALED = 12,
    /// I7: the compartment's authority exceeds its region.
    CAPGC_VIOLATION_AUTHORITY_OUTSIDE_REGION = 13,
}

fn location(at: RefLocation) -> u64 {
    match at {
        RefLocation::Slot(a) => a.get(),
        RefLocation::Handle(i)
        | RefLocation::Persistent(i)
        | RefLocation::Weak(i)
        | RefLocation::Ephemeron(i)
        | RefLocation::Finalizer(i)
        | RefLocation::ExportTable(i)
        | RefLocation::ShadowStack(i) => u64::from(i),
        RefLocation::RootRegion { index, .. } => index,
    }
}

/// A violation as C sees it (`capgc_heap_verify`, `capgc_split_heap_verify`).
pub(crate) fn violation_of(v: &Violation) -> capgc_violation_t {
    use CapgcViolation as K;
    let (kind, addr, target) = match *v {
        Violation::InexactReference { at, target } => (
            K::CAPGC_VIOLATION_INEXACT_REFERENCE,
            location(at),
            target.get(),
        ),
        Violation::DanglingReference { at, target } => (
            K::CAPGC_VIOLATION_DANGLING_REFERENCE,
            location(at),
            target.get(),
        ),
        Violation::TaggedHeader { object } => (K::CAPGC_VIOLATION_TAGGED_HEADER, object.get(), 0),
        Violation::CorruptHeader { object } => (K::CAPGC_VIOLATION_CORRUPT_HEADER, object.get(), 0),
        Violation::TagInFreeMemory { addr } => {
            (K::CAPGC_VIOLATION_TAG_IN_FREE_MEMORY, addr.get(), 0)
        }
        Violation::DirtyFreeMemory { addr } => {
            (K::CAPGC_VIOLATION_DIRTY_FREE_MEMORY, addr.get(), 0)
        }
        Violation::WidenedReference { at, target } => (
            K::CAPGC_VIOLATION_WIDENED_REFERENCE,
            location(at),
            target.get(),
        ),
        Violation::IntoEvacuatedSpace { at, target } => (
            K::CAPGC_VIOLATION_INTO_EVACUATED_SPACE,
            location(at),
            target.get(),
        ),
        Violation::UnrememberedSlot { slot } => {
            (K::CAPGC_VIOLATION_UNREMEMBERED_SLOT, slot.get(), 0)
        }
        Violation::TagOutsideRefSlot { object, addr } => (
            K::CAPGC_VIOLATION_TAG_OUTSIDE_REF_SLOT,
            addr.get(),
            object.get(),
        ),
        Violation::ForeignReference { at, target } => (
            K::CAPGC_VIOLATION_FOREIGN_REFERENCE,
            location(at),
            target.get(),
        ),
        Violation::UnexportedSealed { at, target } => (
            K::CAPGC_VIOLATION_UNEXPORTED_SEALED,
            location(at),
            target.get(),
        ),
        Violation::AuthorityOutsideRegion { base, top } => (
            K::CAPGC_VIOLATION_AUTHORITY_OUTSIDE_REGION,
            base.get(),
            top as u64,
        ),
    };
    let invariant = v.invariant()[1..].parse().unwrap_or(0);
    capgc_violation_t {
        invariant,
        kind: kind as u32,
        addr,
        target,
    }
}

/// Checks the heap-safety contract (I1–I6, I8, I9) over the whole heap.
/// `*count` gets the number of violations found (0: the heap is sound);
/// the first `cap` are written to `out`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is valid for `cap`
/// writes (null when 0); `count` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_heap_verify(
    heap: *mut crate::capgc_heap_t,
    out: *mut capgc_violation_t,
    cap: usize,
    count: *mut usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        if cap > 0 && out.is_null() {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "out is null");
        }
        let v = h.verify().err().unwrap_or_default();
        for (i, x) in v.iter().take(cap).enumerate() {
            // SAFETY: the caller's contract: `out` holds `cap` entries and
            // i < cap.
            unsafe { out.add(i).write(violation_of(x)) };
        }
        put(count, v.len())
    })
}
