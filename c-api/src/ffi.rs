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

/// An opaque C handle with the guarantees above: a busy flag, a poison
/// flag, and the state they guard.
pub(crate) trait Guarded {
    /// What the flags guard.
    type Inner;
    /// A call is in progress.
    fn busy(&self) -> &AtomicBool;
    /// An internal failure left it unusable.
    fn poisoned(&self) -> &AtomicBool;
    /// The guarded state, reached only while `busy` is held.
    fn inner(&self) -> *mut Self::Inner;
}

impl Guarded for capgc_heap_t {
    type Inner = AnyHeap;
    fn busy(&self) -> &AtomicBool {
        &self.busy
    }
    fn poisoned(&self) -> &AtomicBool {
        &self.poisoned
    }
    fn inner(&self) -> *mut AnyHeap {
        self.inner.get()
    }
}

/// Runs `f` on the heap behind `heap`, with every guarantee above.
pub(crate) fn with_heap(
    heap: *mut capgc_heap_t,
    f: impl FnOnce(&mut AnyHeap) -> Result<(), Fail>,
) -> CapgcStatus {
    with_guarded(heap, f)
}

/// Runs `f` on the state behind the handle `h`, with every guarantee
/// above.
pub(crate) fn with_guarded<G: Guarded>(
    h: *mut G,
    f: impl FnOnce(&mut G::Inner) -> Result<(), Fail>,
) -> CapgcStatus {
    // SAFETY: the caller's contract (every export's `# Safety`): `h` is
    // null or a handle from its constructor not yet freed. Only shared
    // access is taken here; the state itself is reached through the flag.
    let Some(h) = (unsafe { h.as_ref() }) else {
        return finish(fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "heap is null"));
    };
    if h.busy().swap(true, Ordering::Acquire) {
        return finish(fail(
            CapgcStatus::CAPGC_E_BUSY,
            "the heap is in use by another call (another thread, or a callback re-entering it)",
        ));
    }
    let r = if h.poisoned().load(Ordering::Relaxed) {
        fail(
            CapgcStatus::CAPGC_E_POISONED,
            "the heap is poisoned: an earlier call panicked or a trace callback failed in a collection",
        )
    } else {
        // SAFETY: the busy flag, just taken, makes this the only access to
        // the state until it is released below.
        let inner = unsafe { &mut *h.inner() };
        match catch_unwind(AssertUnwindSafe(|| f(inner))) {
            Ok(r) => r,
            Err(_) => {
                h.poisoned().store(true, Ordering::Relaxed);
                fail(
                    CapgcStatus::CAPGC_E_INTERNAL,
                    "internal error (a panic was caught); the heap is poisoned",
                )
            }
        }
    };
    if matches!(r, Err(Fail(CapgcStatus::CAPGC_E_POISONED, _))) {
        h.poisoned().store(true, Ordering::Relaxed);
    }
    h.busy().store(false, Ordering::Release);
    finish(r)
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

/// Writes `v` through the out pointer `out`, or fails on null.
pub(crate) fn put<T>(out: *mut T, v: T) -> Result<(), Fail> {
    if out.is_null() {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "out pointer is null");
    }
    // SAFETY: the caller's contract: a non-null out pointer is valid for a
    // write of T and aligned.
    unsafe { out.write(v) };
    Ok(())
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
