//! The one way into the library: every exported function's body is an
//! [`ffi!`] block, which
//! - maps a null heap or out pointer to `CAPGC_E_NULL_ARGUMENT`;
//! - refuses a second thread (or a trace callback re-entering) on a heap
//!   already in a call, with `CAPGC_E_BUSY` (an atomic in-use flag);
//! - refuses every call on a poisoned heap with `CAPGC_E_POISONED`;
//! - catches any panic, poisons the heap and returns `CAPGC_E_INTERNAL`,
//!   so no panic (and no unwinding) ever crosses the boundary;
//! - records the failure's message for `capgc_last_error` (per thread).
//!
//! Integers that stand for enums are checked here too ([`enum_from`])
//! before a Rust enum is made of them: an invalid discriminant would be
//! undefined behaviour already.

use crate::error::{set_last_error, status_of, CapgcStatus};
use crate::heap::{capgc_heap_t, AnyHeap};
use gc_core::GcError;
use std::cell::UnsafeCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

/// Why a call failed: a status and its message.
pub(crate) struct Fail(pub(crate) CapgcStatus, pub(crate) String);

impl From<GcError> for Fail {
    fn from(e: GcError) -> Fail {
        Fail(status_of(&e), e.to_string())
    }
}

/// A failure with `status` and a message.
pub(crate) fn fail<T>(status: CapgcStatus, msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail(status, msg.into()))
}

/// The result of a call as its status, recording the message.
pub(crate) fn finish(r: Result<(), Fail>) -> CapgcStatus {
    match r {
        Ok(()) => CapgcStatus::CAPGC_OK,
        Err(Fail(s, msg)) => {
            set_last_error(&msg);
            s
        }
    }
}

/// The state behind an opaque C handle (`capgc_heap_t`, `capgc_cells_t`)
/// with the guarantees above: a busy flag, a poison flag, and the state
/// they guard.
pub(crate) struct Guard<T> {
    /// A call is in progress.
    busy: AtomicBool,
    /// An internal failure left it unusable.
    poisoned: AtomicBool,
    /// Reached only while `busy` is held.
    inner: UnsafeCell<T>,
}

// SAFETY: the state is Send, and `busy` makes every access to it
// exclusive, whichever thread makes it (a second one is refused).
unsafe impl<T: Send> Sync for Guard<T> {}

impl<T> Guard<T> {
    /// A boxed handle around `inner`, as the pointer C gets.
    pub(crate) fn boxed<H>(inner: T, wrap: impl FnOnce(Guard<T>) -> H) -> *mut H {
        Box::into_raw(Box::new(wrap(Guard {
            busy: AtomicBool::new(false),
            poisoned: AtomicBool::new(false),
            inner: UnsafeCell::new(inner),
        })))
    }
}

/// Frees a handle made by [`Guard::boxed`]; null is ignored, and a panic
/// while dropping its state does not cross the boundary.
///
/// # Safety
/// `h` is null or from `Guard::boxed`, not yet freed, with no call on it
/// in progress or to follow.
pub(crate) unsafe fn free_boxed<H>(h: *mut H) {
    if h.is_null() {
        return;
    }
    // SAFETY: the caller's contract: from Box::into_raw, freed once.
    let b = unsafe { Box::from_raw(h) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
}

/// A C handle type: the guard inside it.
pub(crate) trait Handle {
    /// What the guard holds.
    type Inner;
    /// The guard.
    fn guard(&self) -> &Guard<Self::Inner>;
}

impl Handle for capgc_heap_t {
    type Inner = AnyHeap;
    fn guard(&self) -> &Guard<AnyHeap> {
        &self.0
    }
}

/// Runs `f` on the heap behind `heap`, with every guarantee above.
///
/// Once C took the heap's mutator (`capgc_mutator`), the call is wrapped
/// in the fast path's exchange (`fast.rs`): the lent bump buffer is
/// taken back first and lent again after. In the checked modes, which
/// never lend, the exchange is two word writes (the cursor and limit C
/// may have written, cleared).
pub(crate) fn with_heap(
    heap: *mut capgc_heap_t,
    f: impl FnOnce(&mut AnyHeap) -> Result<(), Fail>,
) -> CapgcStatus {
    with_guarded(heap, |any| {
        // SAFETY: `with_guarded` runs this only for a non-null heap (the
        // caller's contract: a live one), holding its busy flag, which
        // makes this the only Rust access to its mutator cell; C does not
        // touch it during the call (one thread per heap). The cell is
        // kept as a pointer: `f` may borrow it too (`capgc_mutator`,
        // `capgc_fast_roots`).
        let m = unsafe { (*heap).1.get() };
        // SAFETY: as above; a read of one word, no borrow kept.
        if unsafe { (*m).heap.is_null() } {
            return f(any);
        }
        if let AnyHeap::Native(_) | AnyHeap::P128(_) = any {
            crate::fast::exchange(m, any, f)
        } else {
            // The checked modes never lend (`Heap::fast_lend` is (0, 0)
            // there, so `fast_reclaim` has nothing to take back): the
            // exchange reduces to clearing the two words C may have
            // written, so the header's inline allocation never finds a
            // buffer there (capgc_fast.h, "CHECKED IN SOFTCHERI").
            // SAFETY: as above; two word writes, no borrow kept.
            unsafe {
                (*m).cursor = 0;
                (*m).limit = 0;
            }
            f(any)
        }
    })
}

/// Runs `f` on the state behind the handle `h`, with every guarantee
/// above.
pub(crate) fn with_guarded<H: Handle>(
    h: *mut H,
    f: impl FnOnce(&mut H::Inner) -> Result<(), Fail>,
) -> CapgcStatus {
    // SAFETY: the caller's contract (every export's `# Safety`): `h` is
    // null or a handle from its constructor not yet freed. Only shared
    // access is taken here; the state itself is reached through the flag.
    let Some(h) = (unsafe { h.as_ref() }).map(H::guard) else {
        return finish(fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "heap is null"));
    };
    if h.busy.swap(true, Ordering::Acquire) {
        return finish(fail(
            CapgcStatus::CAPGC_E_BUSY,
            "the heap is in use by another call (another thread, or a callback re-entering it)",
        ));
    }
    let r = if h.poisoned.load(Ordering::Relaxed) {
        fail(
            CapgcStatus::CAPGC_E_POISONED,
            "the heap is poisoned: an earlier call panicked or a trace callback failed in a collection",
        )
    } else {
        // SAFETY: the busy flag, just taken, makes this the only access to
        // the state until it is released below.
        let inner = unsafe { &mut *h.inner.get() };
        match catch_unwind(AssertUnwindSafe(|| f(inner))) {
            Ok(r) => r,
            Err(_) => {
                h.poisoned.store(true, Ordering::Relaxed);
                fail(
                    CapgcStatus::CAPGC_E_INTERNAL,
                    "internal error (a panic was caught); the heap is poisoned",
                )
            }
        }
    };
    match r {
        Ok(()) => {
            h.busy.store(false, Ordering::Release);
            CapgcStatus::CAPGC_OK
        }
        Err(e) => {
            if e.0 == CapgcStatus::CAPGC_E_POISONED {
                h.poisoned.store(true, Ordering::Relaxed);
            }
            h.busy.store(false, Ordering::Release);
            finish(Err(e))
        }
    }
}

/// Runs `f` with no heap (constructors, queries), catching panics.
pub(crate) fn without_heap(f: impl FnOnce() -> Result<(), Fail>) -> CapgcStatus {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => finish(r),
        Err(_) => finish(fail(
            CapgcStatus::CAPGC_E_INTERNAL,
            "internal error (a panic was caught)",
        )),
    }
}

/// Refuses a null out pointer before a call acts: a call that creates
/// something (an object, a root, a type, an export) checks its out pointer
/// first, so a refused call leaves nothing behind that C cannot name.
pub(crate) fn writable<T>(out: *mut T) -> Result<(), Fail> {
    if out.is_null() {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "out pointer is null");
    }
    Ok(())
}

/// Writes `v` through the out pointer `out`, or fails on null.
#[inline(always)]
pub(crate) fn put<T>(out: *mut T, v: T) -> Result<(), Fail> {
    writable(out)?;
    // SAFETY: the caller's contract: a non-null out pointer is valid for a
    // write of T and aligned.
    unsafe { out.write(v) };
    Ok(())
}

/// Writes `v` through `out` unless `out` is null (an optional result).
pub(crate) fn put_opt<T>(out: *mut T, v: T) -> Result<(), Fail> {
    if out.is_null() {
        Ok(())
    } else {
        put(out, v)
    }
}

/// The value behind an in pointer, or a failure on null.
pub(crate) fn get<'a, T>(p: *const T, what: &str) -> Result<&'a T, Fail> {
    // SAFETY: the caller's contract: a non-null in pointer is valid for a
    // read of T, aligned, and not written during the call.
    unsafe { p.as_ref() }.ok_or_else(|| {
        Fail(
            CapgcStatus::CAPGC_E_NULL_ARGUMENT,
            format!("{what} is null"),
        )
    })
}

/// A byte buffer from a pointer and a length (null is fine when empty).
pub(crate) fn bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], Fail> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "buffer is null");
    }
    // SAFETY: the caller's contract: `p` is valid for reads of `len` bytes
    // and not written during the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A mutable byte buffer from a pointer and a length.
pub(crate) fn bytes_mut<'a>(p: *mut u8, len: usize) -> Result<&'a mut [u8], Fail> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "buffer is null");
    }
    // SAFETY: the caller's contract: `p` is valid for writes of `len`
    // bytes and not otherwise accessed during the call.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// The enum value whose discriminant `v` is, checked as an integer first.
pub(crate) fn enum_from<T: Copy + Into<u32>>(v: u32, all: &[T], what: &str) -> Result<T, Fail> {
    all.iter()
        .copied()
        .find(|x| (*x).into() == v)
        .ok_or_else(|| {
            Fail(
                CapgcStatus::CAPGC_E_INVALID_ENUM,
                format!("{v} is not a valid {what}"),
            )
        })
}

/// Dispatches over the monomorphised heaps: `on_heap!(any, h => body)`
/// runs `body` with `h: &mut Heap<M>` for the heap's mode (no `dyn` on
/// any path).
macro_rules! on_heap {
    ($any:expr, $h:ident => $body:expr) => {
        match $any {
            $crate::heap::AnyHeap::Native($h) => $body,
            $crate::heap::AnyHeap::P128($h) => $body,
            $crate::heap::AnyHeap::Morello($h) => $body,
            $crate::heap::AnyHeap::CheriV9($h) => $body,
            $crate::heap::AnyHeap::RiscvStd($h) => $body,
        }
    };
}
pub(crate) use on_heap;

/// The body of every export on a heap: `ffi!(heap, h => { ... Ok(()) })`
/// runs the block with `h: &mut Heap<M>` under [`with_heap`].
macro_rules! ffi {
    ($heap:expr, $h:ident => $body:expr) => {
        $crate::ffi::with_heap($heap, |any| $crate::ffi::on_heap!(any, $h => $body))
    };
}
pub(crate) use ffi;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heap::{capgc_collect, capgc_heap_free, capgc_heap_new};

    /// No C input makes the library panic, so this drives one directly: the
    /// call returns `CAPGC_E_INTERNAL`, and every later call on the heap
    /// `CAPGC_E_POISONED`; the heap can still be freed.
    #[test]
    fn a_panic_poisons_the_heap() {
        let mut h = std::ptr::null_mut();
        // SAFETY: a null config and a valid out pointer.
        let s = unsafe { capgc_heap_new(std::ptr::null(), &mut h) };
        assert_eq!(s, CapgcStatus::CAPGC_OK);
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let s = with_heap(h, |_| panic!("a bug inside the library"));
        std::panic::set_hook(hook);
        assert_eq!(s, CapgcStatus::CAPGC_E_INTERNAL);
        // SAFETY: `h` is the heap made above; out may be null.
        let s = unsafe { capgc_collect(h, std::ptr::null_mut()) };
        assert_eq!(s, CapgcStatus::CAPGC_E_POISONED);
        // SAFETY: as above, freed once.
        unsafe { capgc_heap_free(h) };
    }

    #[test]
    fn enums_are_checked_as_integers() {
        use crate::heap::CapgcPlan;
        let all = [
            CapgcPlan::CAPGC_PLAN_MARKSWEEP,
            CapgcPlan::CAPGC_PLAN_SEMISPACE,
        ];
        assert!(enum_from(1, &all, "plan").is_ok());
        assert!(matches!(
            enum_from(7, &all, "plan"),
            Err(Fail(CapgcStatus::CAPGC_E_INVALID_ENUM, _))
        ));
    }
}
