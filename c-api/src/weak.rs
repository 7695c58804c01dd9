//! Weak references, ephemerons and finalization tokens (polled: no
//! callback ever runs inside a collection, and no object is handed back to
//! a finalizer — there is no resurrection).

use crate::error::CapgcStatus;
use crate::ffi::{fail, ffi, put, put_opt, writable};
use crate::refs::{capgc_ref_t, export, import};
use gc_core::{Ephemeron, Finalizer, WeakRef};

/// A weak reference.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_weak_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// An ephemeron: a (key, value) pair whose value lives exactly as long as
/// its key is reachable through something else.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_ephemeron_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// A finalization registration.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_finalizer_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// A weak reference to `r`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_weak_new(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut capgc_weak_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; let o = import(h, r)?; put(out, capgc_weak_t { w: h.weak_new(&o)?.to_bits() }) })
}

/// The target of a weak reference, or null once it was collected.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_weak_get(
    heap: *mut crate::capgc_heap_t,
    w: capgc_weak_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let r = match h.weak_get(WeakRef::from_bits(w.w))? {
            Some(o) => export(h, &o)?,
            None => capgc_ref_t::default(),
        };
        put(out, r)
    })
}

/// Releases a weak reference.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_weak_release(
    heap: *mut crate::capgc_heap_t,
    w: capgc_weak_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.weak_release(WeakRef::from_bits(w.w))?))
}

/// An ephemeron keyed by `key` holding `value`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_ephemeron_new(
    heap: *mut crate::capgc_heap_t,
    key: capgc_ref_t,
    value: capgc_ref_t,
    out: *mut capgc_ephemeron_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let (k, v) = (import(h, key)?, import(h, value)?);
        put(out, capgc_ephemeron_t { w: h.ephemeron_new(&k, &v)?.to_bits() })
    })
}

/// The key and value of an ephemeron, or two nulls once the key died.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `key` and `value` are writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_ephemeron_get(
    heap: *mut crate::capgc_heap_t,
    e: capgc_ephemeron_t,
    key: *mut capgc_ref_t,
    value: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let (k, v) = match h.ephemeron_get(Ephemeron::from_bits(e.w))? {
            Some((k, v)) => (export(h, &k)?, export(h, &v)?),
            None => Default::default(),
        };
        put(key, k)?;
        put(value, v)
    })
}

/// Releases an ephemeron.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_ephemeron_release(
    heap: *mut crate::capgc_heap_t,
    e: capgc_ephemeron_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.ephemeron_release(Ephemeron::from_bits(e.w))?))
}

/// Registers `token` to be delivered by `capgc_finalized_take` after the
/// collection that finds `r` unreachable (the registration does not keep
/// it alive).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_finalizer_register(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    token: u64,
    out: *mut capgc_finalizer_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = import(h, r)?;
        let f = h.register_finalizer(&o, token)?;
        put_opt(out, capgc_finalizer_t { w: f.to_bits() })
    })
}

/// Cancels a registration whose token was not delivered yet.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_finalizer_unregister(
    heap: *mut crate::capgc_heap_t,
    f: capgc_finalizer_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.unregister_finalizer(Finalizer::from_bits(f.w))?))
}

/// Takes up to `cap` tokens of objects found unreachable (oldest first)
/// into `tokens`; `*count` gets how many were written, `*pending` (may be
/// null) how many still wait.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `tokens` is valid for `cap`
/// writes (null when 0); `count` is writable; `pending` null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_finalized_take(
    heap: *mut crate::capgc_heap_t,
    tokens: *mut u64,
    cap: usize,
    count: *mut usize,
    pending: *mut usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        if count.is_null() || (cap > 0 && tokens.is_null()) {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "tokens or count is null");
        }
        let got = h.take_finalized_up_to(cap);
        for (i, t) in got.iter().enumerate() {
            // SAFETY: the caller's contract: `tokens` holds `cap` slots and
            // i < got.len() <= cap.
            unsafe { tokens.add(i).write(*t) };
        }
        put(count, got.len())?;
        put_opt(pending, h.finalized_pending())
    })
}
