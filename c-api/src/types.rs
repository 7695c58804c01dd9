//! Types: reference maps, reference arrays, byte arrays, and custom
//! layouts traced by a C callback through a view and a visitor.
//!
//! A callback is called with the heap in a call (a collection, or a
//! reference store that asks which offsets are slots): one that calls
//! back into the heap gets `CAPGC_E_BUSY`, never a corrupted heap; offsets
//! it reports that are not slots (misaligned, past the object, in the
//! padding) are ignored.

use crate::error::CapgcStatus;
use crate::ffi::{bytes_mut, fail, ffi, put, without_heap, writable};
use gc_core::{GcError, ObjectType, ObjectView, TraceClosure, TypeError, TypeId};
use std::ffi::c_void;
use std::sync::Arc;

/// A registered type: valid in the heap that registered it.
#[allow(non_camel_case_types)]
pub type capgc_type_t = u64;

/// A read-only view of the object being traced (opaque; valid during
/// the callback only).
#[allow(non_camel_case_types)]
pub struct capgc_view_t<'a> {
    view: &'a ObjectView<'a>,
}

/// Where a trace callback reports the offsets of reference slots
/// (opaque; valid during the callback only).
#[allow(non_camel_case_types)]
pub struct capgc_visitor_t<'a> {
    visit: &'a mut dyn FnMut(u64),
}

/// A trace callback: report every reference slot of the object in `view`
/// with `capgc_visit(visitor, offset)`. `ctx` is what was registered.
#[allow(non_camel_case_types)]
pub type capgc_trace_fn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        view: *const capgc_view_t,
        visitor: *mut capgc_visitor_t,
    ),
>;

/// A type id as C holds it.
pub(crate) fn type_of(t: capgc_type_t) -> TypeId {
    TypeId::from_bits(t)
}

/// Registers the record shape: `refs` reference slots, then `data` bytes.
/// Slot *i* is at offset `i * slot_size` (`capgc_heap_mode`), the data at
/// `refs * slot_size`. At most 1 GiB (`CAPGC_E_INVALID_TYPE`
/// otherwise); its map is the count alone, whatever `refs`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_record(
    heap: *mut crate::capgc_heap_t,
    refs: u32,
    data: u64,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; put(out, h.record_type(refs, data)?.to_bits()) })
}

/// Registers a fixed-size type of `size` bytes whose reference slots are
/// at the `count` byte offsets `offsets` (each a multiple of the slot
/// size, the slot inside the object; at most 65536 of them: a record
/// type takes more).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `offsets` is valid for `count`
/// reads (null when 0); `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_fixed(
    heap: *mut crate::capgc_heap_t,
    size: u64,
    offsets: *const u64,
    count: usize,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let offs = if count == 0 {
            Vec::new()
        } else if offsets.is_null() {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "offsets is null");
        } else if count as u64 > ObjectType::MAX_FIXED_REFS {
            // Refused before the offsets are copied.
            return Err(GcError::from(TypeError::TooManyRefs(count as u64)).into());
        } else {
            // SAFETY: the caller's contract: `offsets` holds `count` u64s.
            unsafe { std::slice::from_raw_parts(offsets, count) }.to_vec()
        };
        let t = h.register_type(ObjectType::Fixed { size, ref_offsets: offs })?;
        put(out, t.to_bits())
    })
}

/// Registers an array-of-references type (length given at allocation).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_ref_array(
    heap: *mut crate::capgc_heap_t,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; put(out, h.register_type(ObjectType::RefArray)?.to_bits()) })
}

/// Registers a byte-array type (no references; length given at
/// allocation).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_byte_array(
    heap: *mut crate::capgc_heap_t,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; put(out, h.register_type(ObjectType::ByteArray)?.to_bits()) })
}

/// The callback and its context, made shareable: the heap calls it only
/// from the thread that holds the heap.
#[derive(Clone, Copy)]
struct Callback {
    f: unsafe extern "C" fn(*mut c_void, *const capgc_view_t, *mut capgc_visitor_t),
    ctx: *mut c_void,
}

impl Callback {
    /// Calls the C function (a method, so that a closure captures the
    /// whole `Callback`, not its raw-pointer field).
    fn call(&self, view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)) {
        let v = capgc_view_t { view };
        let mut vis = capgc_visitor_t { visit };
        // SAFETY: `capgc_type_custom`'s contract for `f` and `ctx`; `v` and
        // `vis` outlive the call.
        unsafe { (self.f)(self.ctx, &v, &mut vis) }
    }
}

// SAFETY: a heap is used by one thread at a time (the busy flag), and the
// callback runs only inside a call on it; `capgc_type_custom`'s contract
// makes `ctx` usable from whichever thread makes that call.
unsafe impl Send for Callback {}
// SAFETY: as Send: never called from two threads at once.
unsafe impl Sync for Callback {}

/// Registers a fixed-size type of `size` bytes whose reference slots the
/// callback `trace` reports, with `ctx` passed back to it.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `trace` is a function of the
/// `capgc_trace_fn` signature that returns normally (no `longjmp`) and
/// `ctx` stays valid for it, from any thread that uses the heap, while
/// the heap lives; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_custom(
    heap: *mut crate::capgc_heap_t,
    size: u64,
    trace: capgc_trace_fn,
    ctx: *mut c_void,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let Some(f) = trace else {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "trace callback is null");
        };
        let cb = Callback { f, ctx };
        let closure = move |view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)| cb.call(view, visit);
        let t = h.register_type(ObjectType::Traced {
            size,
            trace: TraceClosure(Arc::new(closure)),
        })?;
        put(out, t.to_bits())
    })
}

/// The payload length of the object a trace callback is given.
///
/// # Safety
/// `view` is the view passed to the running callback.
#[no_mangle]
pub unsafe extern "C" fn capgc_view_len(view: *const capgc_view_t) -> u64 {
    // SAFETY: the caller's contract.
    unsafe { view.as_ref() }.map_or(0, |v| v.view.len())
}

/// Reads `len` bytes at `offset` of the object a trace callback is given
/// into `buf`; `CAPGC_E_BOUNDS` outside the payload.
///
/// # Safety
/// `view` is the view passed to the running callback; `buf` is valid for
/// `len` writes.
#[no_mangle]
pub unsafe extern "C" fn capgc_view_read(
    view: *const capgc_view_t,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> CapgcStatus {
    without_heap(|| {
        // SAFETY: the caller's contract.
        let Some(v) = (unsafe { view.as_ref() }) else {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "view is null");
        };
        let out = bytes_mut(buf, len)?;
        for (i, b) in out.iter_mut().enumerate() {
            *b = offset
                .checked_add(i as u64)
                .and_then(|o| v.view.read::<u8>(o))
                .ok_or_else(|| {
                    crate::ffi::Fail(
                        CapgcStatus::CAPGC_E_BOUNDS,
                        format!("view read at {offset} past the payload"),
                    )
                })?;
        }
        Ok(())
    })
}

/// Reads the u64 at `offset` of the object a trace callback is given.
///
/// # Safety
/// As `capgc_view_read`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_view_read_u64(
    view: *const capgc_view_t,
    offset: u64,
    out: *mut u64,
) -> CapgcStatus {
    without_heap(|| {
        // SAFETY: the caller's contract.
        let Some(v) = (unsafe { view.as_ref() }) else {
            return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "view is null");
        };
        match v.view.read::<u64>(offset) {
            Some(x) => put(out, x),
            None => fail(
                CapgcStatus::CAPGC_E_BOUNDS,
                format!("view read at {offset} past the payload"),
            ),
        }
    })
}

/// Reports that the object a trace callback is given holds a reference
/// at byte `offset`.
///
/// # Safety
/// `visitor` is the visitor passed to the running callback.
#[no_mangle]
pub unsafe extern "C" fn capgc_visit(visitor: *mut capgc_visitor_t, offset: u64) {
    // SAFETY: the caller's contract.
    if let Some(v) = unsafe { visitor.as_mut() } {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (v.visit)(offset)));
    }
}
