//! Types: reference maps, reference arrays, byte arrays, and custom
//! layouts traced by a C callback through a view and a visitor.
//!
//! A callback is called with the heap in a call (a collection, or a
//! reference store that asks which offsets are slots): one that calls
//! back into the heap gets `CAPGC_E_BUSY`, never a corrupted heap; offsets
//! it reports that are not slots (misaligned, past the object, in the
//! padding) are ignored.
//!
//! **Views and visitors outlive nothing.** The `capgc_view_t *` and
//! `capgc_visitor_t *` a callback gets name heap-owned state, one pair
//! per registered custom type ([`TraceCall`], boxed in the type's closure,
//! so at a stable address for the heap's life), never a stack frame.
//! While the callback runs the pair points at the object being traced and
//! at the collector's visit closure, and names the thread running it; when
//! the callback returns both are cleared. Every view and visitor function
//! checks that on entry: a pointer kept past its callback (used after
//! `capgc_collect` returns, from another callback, or from another thread
//! during a collection) is `CAPGC_E_WRONG_PHASE` in every mode, never a
//! read through a dead frame — the cell profile's visitor rule
//! (`cells.rs`). What remains: after `capgc_heap_free` the state is freed
//! with the heap, so a pointer kept past it is a dangling pointer like the
//! heap pointer itself (the caller's undefined behaviour). A pointer kept
//! from an earlier call of the same type's callback, used inside a later
//! one, sees that later call's object — the same state, legitimately
//! active. Rejected: a fresh view per call checked against a process-wide
//! table (a global lock on every `capgc_visit`).

use crate::error::CapgcStatus;
use crate::ffi::{bytes_mut, fail, ffi, finish, put, without_heap, writable, Fail};
use gc_core::{GcError, ObjectType, ObjectView, TraceClosure, TypeError, TypeId};
use std::ffi::c_void;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use std::sync::Arc;

/// A registered type: valid in the heap that registered it.
#[allow(non_camel_case_types)]
pub type capgc_type_t = u64;

/// A read-only view of the object being traced (opaque). It answers
/// only during the callback it was passed to, on the thread running it:
/// kept and used afterwards (or from another thread), every view function
/// returns `CAPGC_E_WRONG_PHASE`, in every mode. It belongs to the heap:
/// kept past `capgc_heap_free` it is a dangling pointer, and using it is
/// undefined behaviour, as using the freed heap pointer is.
#[allow(non_camel_case_types)]
pub struct capgc_view_t {
    on: Active,
}

/// Where a trace callback reports the offsets of reference slots
/// (opaque). As a view: `CAPGC_E_WRONG_PHASE` once its callback has
/// returned or from another thread; a dangling pointer past
/// `capgc_heap_free` (undefined behaviour to use).
#[allow(non_camel_case_types)]
pub struct capgc_visitor_t {
    on: Active,
}

/// What a view or visitor points at while its callback runs: a pointer
/// and the thread allowed to follow it (0 when none).
struct Active {
    thread: AtomicUsize,
    ptr: AtomicPtr<c_void>,
}

/// The calling thread's identity: the address of a thread-local, unique
/// among live threads (a callback's thread is live while it runs).
fn this_thread() -> usize {
    thread_local!(static ME: u8 = const { 0 });
    ME.with(|m| std::ptr::from_ref(m) as usize)
}

impl Active {
    const fn idle() -> Active {
        Active {
            thread: AtomicUsize::new(0),
            ptr: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Points at `p` for this thread until the guard drops (then back to
    /// what it was: nothing, unless calls nest).
    fn enter(&self, p: *mut c_void) -> Entered<'_> {
        let prev = (
            self.thread.load(Ordering::Relaxed),
            self.ptr.load(Ordering::Relaxed),
        );
        self.ptr.store(p, Ordering::Relaxed);
        self.thread.store(this_thread(), Ordering::Relaxed);
        Entered { on: self, prev }
    }

    /// What it points at, if its callback is running on this thread; the
    /// pointer is then valid until that callback returns.
    fn get(&self, what: &str) -> Result<*mut c_void, Fail> {
        // Another thread's value is never this thread's address, so the
        // pointer is read only by the thread that set it.
        if self.thread.load(Ordering::Relaxed) != this_thread() {
            return fail(
                CapgcStatus::CAPGC_E_WRONG_PHASE,
                format!("{what} used outside the trace callback it was passed to (after it returned, or from another thread)"),
            );
        }
        Ok(self.ptr.load(Ordering::Relaxed))
    }
}

/// Restores an [`Active`] when a callback returns (or unwinds).
struct Entered<'a> {
    on: &'a Active,
    prev: (usize, *mut c_void),
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.on.thread.store(self.prev.0, Ordering::Relaxed);
        self.on.ptr.store(self.prev.1, Ordering::Relaxed);
    }
}

/// The view and visitor of one custom type's callback: heap-owned (the
/// type's closure holds it), at a stable address.
struct TraceCall {
    view: capgc_view_t,
    visitor: capgc_visitor_t,
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
struct Callback {
    f: unsafe extern "C" fn(*mut c_void, *const capgc_view_t, *mut capgc_visitor_t),
    ctx: *mut c_void,
    /// The view and visitor C is given: boxed, so their address is stable.
    call: Box<TraceCall>,
}

impl Callback {
    /// Calls the C function with the view and visitor pointing at `view`
    /// and `visit` for exactly the call (a method, so that a closure
    /// captures the whole `Callback`, not its raw-pointer field).
    fn call(&self, view: &ObjectView<'_>, mut visit: &mut dyn FnMut(u64)) {
        let c = &*self.call;
        let _v = c.view.on.enter(std::ptr::from_ref(view).cast_mut().cast());
        let _w = c
            .visitor
            .on
            .enter(std::ptr::from_mut(&mut visit).cast::<c_void>());
        // SAFETY: `capgc_type_custom`'s contract for `f` and `ctx`. The
        // view and visitor live as long as the heap; C reaches `view` and
        // `visit` through them only while `_v` and `_w` are held (they are
        // cleared when the call returns), and only shared references to
        // them are ever made.
        unsafe { (self.f)(self.ctx, &c.view, std::ptr::from_ref(&c.visitor).cast_mut()) }
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
        let cb = Callback {
            f,
            ctx,
            call: Box::new(TraceCall {
                view: capgc_view_t { on: Active::idle() },
                visitor: capgc_visitor_t { on: Active::idle() },
            }),
        };
        let closure = move |view: &ObjectView<'_>, visit: &mut dyn FnMut(u64)| cb.call(view, visit);
        let t = h.register_type(ObjectType::Traced {
            size,
            trace: TraceClosure(Arc::new(closure)),
        })?;
        put(out, t.to_bits())
    })
}

/// The object a view shows, while its callback runs on this thread:
/// `CAPGC_E_NULL_ARGUMENT` for null, `CAPGC_E_WRONG_PHASE` otherwise.
///
/// # Safety
/// `view` is null or a view passed to a trace callback of a heap that is
/// not freed. The reference returned is valid until that callback returns.
unsafe fn active_view<'a>(view: *const capgc_view_t) -> Result<&'a ObjectView<'a>, Fail> {
    // SAFETY: the caller's contract: heap-owned state, shared access only.
    let Some(v) = (unsafe { view.as_ref() }) else {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "view is null");
    };
    let p = v.on.get("view")?.cast::<ObjectView<'a>>();
    // SAFETY: `Callback::call` set `p` to the `ObjectView` it was given, on
    // this thread, and clears it before that borrow ends (Active::get).
    Ok(unsafe { &*p })
}

/// The payload length of the object a trace callback is given, into
/// `*out`. `CAPGC_E_WRONG_PHASE` once the callback has returned.
///
/// # Safety
/// `view` is null or the view passed to a trace callback of a heap not
/// yet freed; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_view_len(view: *const capgc_view_t, out: *mut u64) -> CapgcStatus {
    without_heap(|| {
        writable(out)?;
        // SAFETY: the caller's contract (as this function's).
        let v = unsafe { active_view(view) }?;
        put(out, v.len())
    })
}

/// Reads `len` bytes at `offset` of the object a trace callback is given
/// into `buf`; `CAPGC_E_BOUNDS` outside the payload,
/// `CAPGC_E_WRONG_PHASE` once the callback has returned.
///
/// # Safety
/// `view` is null or the view passed to a trace callback of a heap not
/// yet freed; `buf` is valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn capgc_view_read(
    view: *const capgc_view_t,
    offset: u64,
    buf: *mut u8,
    len: usize,
) -> CapgcStatus {
    without_heap(|| {
        // SAFETY: the caller's contract (as this function's).
        let v = unsafe { active_view(view) }?;
        let out = bytes_mut(buf, len)?;
        for (i, b) in out.iter_mut().enumerate() {
            *b = offset
                .checked_add(i as u64)
                .and_then(|o| v.read::<u8>(o))
                .ok_or_else(|| {
                    Fail(
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
        // SAFETY: the caller's contract (as this function's).
        let v = unsafe { active_view(view) }?;
        match v.read::<u64>(offset) {
            Some(x) => put(out, x),
            None => fail(
                CapgcStatus::CAPGC_E_BOUNDS,
                format!("view read at {offset} past the payload"),
            ),
        }
    })
}

/// Reports that the object a trace callback is given holds a reference
/// at byte `offset` (an offset that is not a slot is ignored).
/// `CAPGC_E_WRONG_PHASE` once the callback has returned.
///
/// # Safety
/// `visitor` is null or the visitor passed to a trace callback of a heap
/// not yet freed.
#[no_mangle]
pub unsafe extern "C" fn capgc_visit(visitor: *mut capgc_visitor_t, offset: u64) -> CapgcStatus {
    // SAFETY: the caller's contract: heap-owned state, shared access only.
    let Some(v) = (unsafe { visitor.as_ref() }) else {
        return finish(fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "visitor is null"));
    };
    let p = match v.on.get("visitor") {
        Ok(p) => p.cast::<&mut dyn FnMut(u64)>(),
        Err(e) => return finish(Err(e)),
    };
    // SAFETY: `Callback::call` set `p` to its `visit` on this thread and
    // clears it before that borrow ends (Active::get); nothing else uses
    // `visit` while the C callback runs.
    let visit = unsafe { &mut *p };
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| visit(offset)));
    finish(r.map_err(|_| {
        Fail(
            CapgcStatus::CAPGC_E_INTERNAL,
            "internal error (a panic was caught) in capgc_visit".into(),
        )
    }))
}
