//! Errors: `capgc_status_t`, one code per distinct failure, its name, and
//! the calling thread's last message.

use crate::ffi::without_heap;
use capability_heap::CapFault;
use gc_core::GcError;
use std::cell::RefCell;
use std::ffi::c_char;

/// What a call did: `CAPGC_OK`, or why it was refused. After any error the
/// heap is usable and intact (but `CAPGC_E_POISONED`, which says it is
/// not); `capgc_last_error()` gives a readable message.
///
/// cbindgen:prefix-with-name=false
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CapgcStatus {
    /// Success.
    CAPGC_OK = 0,
    /// A required pointer argument is null.
    CAPGC_E_NULL_ARGUMENT = 1,
    /// An integer that stands for an enum (mode, format, plan, scan,
    /// status) is not one of its values.
    CAPGC_E_INVALID_ENUM = 2,
    /// The configuration cannot be used.
    CAPGC_E_INVALID_CONFIG = 3,
    /// No type with this id is registered in this heap.
    CAPGC_E_UNKNOWN_TYPE = 4,
    /// The type is not of the kind the call needs.
    CAPGC_E_WRONG_KIND = 5,
    /// A type description is invalid.
    CAPGC_E_INVALID_TYPE = 6,
    /// An index (root-region slot) is out of range.
    CAPGC_E_OUT_OF_RANGE = 7,
    /// An access falls outside the object (or the heap).
    CAPGC_E_BOUNDS = 8,
    /// The offset is not a reference slot of the object's type.
    CAPGC_E_NOT_A_REF_SLOT = 9,
    /// `capgc_scope_close` was given an open scope that is not the
    /// innermost.
    CAPGC_E_SCOPE_MISMATCH = 10,
    /// The scope is already closed.
    CAPGC_E_SCOPE_CLOSED = 11,
    /// The handle's scope was closed, or the persistent root, weak
    /// reference, ephemeron or finalizer was released.
    CAPGC_E_STALE_HANDLE = 12,
    /// No such root region.
    CAPGC_E_INVALID_REGION = 13,
    /// A token (handle, scope, type id, …) of another heap.
    CAPGC_E_WRONG_HEAP = 14,
    /// Reference bits this heap did not hand out: garbage, fabricated, a
    /// bit flipped, a widened permission view, another heap's.
    CAPGC_E_FORGED = 15,
    /// A reference from before the last collection (its object may have
    /// been freed, moved, or its cell reused).
    CAPGC_E_STALE = 16,
    /// The null reference was used as an object.
    CAPGC_E_NULL_REFERENCE = 17,
    /// The reference does not designate a live object.
    CAPGC_E_NOT_AN_OBJECT = 18,
    /// The reference lacks a permission the access needs.
    CAPGC_E_PERMISSION = 19,
    /// The reference is sealed.
    CAPGC_E_SEALED = 20,
    /// The reference's tag is clear: data, not a reference.
    CAPGC_E_UNTAGGED = 21,
    /// The access is misaligned.
    CAPGC_E_ALIGNMENT = 22,
    /// Another capability fault (representability, object type).
    CAPGC_E_CAPABILITY = 23,
    /// A compartment boundary refused the access.
    CAPGC_E_COMPARTMENT = 24,
    /// The heap limit was reached even after a full collection.
    CAPGC_E_OUT_OF_MEMORY = 25,
    /// Another call is using the heap (another thread, or a trace callback
    /// re-entering it).
    CAPGC_E_BUSY = 26,
    /// The heap is poisoned by an earlier internal failure and refuses
    /// every call.
    CAPGC_E_POISONED = 27,
    /// The call is refused in the checked mode (SoftCheri): direct payload
    /// pointers would bypass its checks.
    CAPGC_E_CHECKED_MODE = 28,
    /// A trace callback failed while the heap asked about a slot.
    CAPGC_E_TRACE_FAILED = 29,
    /// The heap's memory could not be mapped.
    CAPGC_E_MAP = 30,
    /// An internal error (a caught panic); the heap is poisoned.
    CAPGC_E_INTERNAL = 31,
    /// A buffer is too small for the answer (the size needed is given).
    CAPGC_E_BUFFER_TOO_SMALL = 32,
    /// The binding profile (raw-pointer cells, `capgc_cells_*`) is refused
    /// in SoftCheri: raw pointers would bypass the capability checks. The
    /// slot API is the capability-safe path.
    CAPGC_E_BINDING_PROFILE = 33,
    /// A call in the wrong phase: a cell-heap call out of step with its
    /// collection cycle (allocating during a collection, marking outside
    /// one), or a trace view or visitor (`capgc_view_*`, `capgc_visit`,
    /// `capgc_cell_visit`) used after its callback returned or from
    /// another thread.
    CAPGC_E_WRONG_PHASE = 34,
    /// A pointer that is not into a live cell of this cell heap.
    CAPGC_E_NOT_A_CELL = 35,
    /// The heap verifier found a violation: the cell heap's (checked
    /// mode), or zeal's after a collection (`CAPGC_ZEAL=verify`, usually a
    /// missing root); the heap is poisoned afterwards.
    CAPGC_E_CORRUPT = 36,
    /// An unsealed reference crossed a compartment boundary: between
    /// compartments references travel sealed (`capgc_seal`).
    CAPGC_E_COMPARTMENT_VIOLATION = 37,
    /// A sealed reference used as an object: only its owner unseals it
    /// (`capgc_unseal`); load it with `capgc_get_sealed`.
    CAPGC_E_SEALED_REFERENCE = 38,
    /// The slot holds no sealed reference.
    CAPGC_E_NOT_SEALED = 39,
    /// A compartment that does not own the sealed reference tried to
    /// unseal it.
    CAPGC_E_UNSEAL_DENIED = 40,
    /// The compartment was torn down.
    CAPGC_E_COMPARTMENT_DESTROYED = 41,
    /// The sealed reference's export was released by a whole-heap
    /// collection that found no stored copy of it.
    CAPGC_E_SEALED_REVOKED = 42,
    /// The compartment id names no compartment of this split heap.
    CAPGC_E_INVALID_COMPARTMENT = 43,
    /// Every object type for compartments has been used.
    CAPGC_E_TOO_MANY_COMPARTMENTS = 44,
}

impl CapgcStatus {
    /// Every status, in order.
    pub(crate) const ALL: [CapgcStatus; 45] = [
        CapgcStatus::CAPGC_OK,
        CapgcStatus::CAPGC_E_NULL_ARGUMENT,
        CapgcStatus::CAPGC_E_INVALID_ENUM,
        CapgcStatus::CAPGC_E_INVALID_CONFIG,
        CapgcStatus::CAPGC_E_UNKNOWN_TYPE,
        CapgcStatus::CAPGC_E_WRONG_KIND,
        CapgcStatus::CAPGC_E_INVALID_TYPE,
        CapgcStatus::CAPGC_E_OUT_OF_RANGE,
        CapgcStatus::CAPGC_E_BOUNDS,
        CapgcStatus::CAPGC_E_NOT_A_REF_SLOT,
        CapgcStatus::CAPGC_E_SCOPE_MISMATCH,
        CapgcStatus::CAPGC_E_SCOPE_CLOSED,
        CapgcStatus::CAPGC_E_STALE_HANDLE,
        CapgcStatus::CAPGC_E_INVALID_REGION,
        CapgcStatus::CAPGC_E_WRONG_HEAP,
        CapgcStatus::CAPGC_E_FORGED,
        CapgcStatus::CAPGC_E_STALE,
        CapgcStatus::CAPGC_E_NULL_REFERENCE,
        CapgcStatus::CAPGC_E_NOT_AN_OBJECT,
        CapgcStatus::CAPGC_E_PERMISSION,
        CapgcStatus::CAPGC_E_SEALED,
        CapgcStatus::CAPGC_E_UNTAGGED,
        CapgcStatus::CAPGC_E_ALIGNMENT,
        CapgcStatus::CAPGC_E_CAPABILITY,
        CapgcStatus::CAPGC_E_COMPARTMENT,
        CapgcStatus::CAPGC_E_OUT_OF_MEMORY,
        CapgcStatus::CAPGC_E_BUSY,
        CapgcStatus::CAPGC_E_POISONED,
        CapgcStatus::CAPGC_E_CHECKED_MODE,
        CapgcStatus::CAPGC_E_TRACE_FAILED,
        CapgcStatus::CAPGC_E_MAP,
        CapgcStatus::CAPGC_E_INTERNAL,
        CapgcStatus::CAPGC_E_BUFFER_TOO_SMALL,
        CapgcStatus::CAPGC_E_BINDING_PROFILE,
        CapgcStatus::CAPGC_E_WRONG_PHASE,
        CapgcStatus::CAPGC_E_NOT_A_CELL,
        CapgcStatus::CAPGC_E_CORRUPT,
        CapgcStatus::CAPGC_E_COMPARTMENT_VIOLATION,
        CapgcStatus::CAPGC_E_SEALED_REFERENCE,
        CapgcStatus::CAPGC_E_NOT_SEALED,
        CapgcStatus::CAPGC_E_UNSEAL_DENIED,
        CapgcStatus::CAPGC_E_COMPARTMENT_DESTROYED,
        CapgcStatus::CAPGC_E_SEALED_REVOKED,
        CapgcStatus::CAPGC_E_INVALID_COMPARTMENT,
        CapgcStatus::CAPGC_E_TOO_MANY_COMPARTMENTS,
    ];

    /// The C name, `"CAPGC_E_STALE"` and the like.
    pub fn name(self) -> &'static str {
        let n = NAMES[self as usize];
        std::str::from_utf8(&n[..n.len() - 1]).unwrap_or("CAPGC_UNKNOWN")
    }
}

/// The status a heap error maps to.
pub(crate) fn status_of(e: &GcError) -> CapgcStatus {
    match e {
        GcError::Cap(c) => match c {
            CapFault::TagViolation => CapgcStatus::CAPGC_E_UNTAGGED,
            CapFault::SealViolation | CapFault::NotSealed => CapgcStatus::CAPGC_E_SEALED,
            CapFault::PermissionViolation { .. } => CapgcStatus::CAPGC_E_PERMISSION,
            CapFault::BoundsViolation { .. } | CapFault::OutsideRegion { .. } => {
                CapgcStatus::CAPGC_E_BOUNDS
            }
            CapFault::AlignmentViolation { .. } => CapgcStatus::CAPGC_E_ALIGNMENT,
            _ => CapgcStatus::CAPGC_E_CAPABILITY,
        },
        GcError::StaleReference => CapgcStatus::CAPGC_E_STALE,
        GcError::NullReference => CapgcStatus::CAPGC_E_NULL_REFERENCE,
        GcError::Forged => CapgcStatus::CAPGC_E_FORGED,
        GcError::OutOfMemory { .. } => CapgcStatus::CAPGC_E_OUT_OF_MEMORY,
        GcError::UnknownType(_) => CapgcStatus::CAPGC_E_UNKNOWN_TYPE,
        GcError::WrongKind(_) => CapgcStatus::CAPGC_E_WRONG_KIND,
        GcError::InvalidType(_) => CapgcStatus::CAPGC_E_INVALID_TYPE,
        GcError::NotARefSlot { .. } => CapgcStatus::CAPGC_E_NOT_A_REF_SLOT,
        GcError::IndexOutOfRange { .. } => CapgcStatus::CAPGC_E_OUT_OF_RANGE,
        GcError::InvalidHandle => CapgcStatus::CAPGC_E_STALE_HANDLE,
        GcError::ScopeMismatch => CapgcStatus::CAPGC_E_SCOPE_MISMATCH,
        GcError::ScopeClosed => CapgcStatus::CAPGC_E_SCOPE_CLOSED,
        GcError::InvalidRootRegion => CapgcStatus::CAPGC_E_INVALID_REGION,
        GcError::WrongHeap => CapgcStatus::CAPGC_E_WRONG_HEAP,
        GcError::InvalidConfig(_) => CapgcStatus::CAPGC_E_INVALID_CONFIG,
        GcError::Region(_) => CapgcStatus::CAPGC_E_MAP,
        GcError::NotAnObject => CapgcStatus::CAPGC_E_NOT_AN_OBJECT,
        GcError::TracePanicked => CapgcStatus::CAPGC_E_TRACE_FAILED,
        GcError::Poisoned => CapgcStatus::CAPGC_E_POISONED,
        GcError::WrongPhase { .. } => CapgcStatus::CAPGC_E_WRONG_PHASE,
        GcError::NotACell(_) => CapgcStatus::CAPGC_E_NOT_A_CELL,
        GcError::UnknownCellType(_) => CapgcStatus::CAPGC_E_UNKNOWN_TYPE,
        GcError::CellHeapCorrupt(_) | GcError::HeapCorrupt { .. } | GcError::FastBuffer(_) => {
            CapgcStatus::CAPGC_E_CORRUPT
        }
        GcError::BadLength { .. } => CapgcStatus::CAPGC_E_OUT_OF_RANGE,
        GcError::CompartmentViolation => CapgcStatus::CAPGC_E_COMPARTMENT_VIOLATION,
        GcError::SealedReference => CapgcStatus::CAPGC_E_SEALED_REFERENCE,
        GcError::NotSealed => CapgcStatus::CAPGC_E_NOT_SEALED,
        GcError::UnsealDenied => CapgcStatus::CAPGC_E_UNSEAL_DENIED,
        GcError::CompartmentDestroyed => CapgcStatus::CAPGC_E_COMPARTMENT_DESTROYED,
        GcError::SealedRevoked => CapgcStatus::CAPGC_E_SEALED_REVOKED,
        GcError::InvalidCompartment => CapgcStatus::CAPGC_E_INVALID_COMPARTMENT,
        GcError::TooManyCompartments => CapgcStatus::CAPGC_E_TOO_MANY_COMPARTMENTS,
    }
}

/// The capacity of a thread's message buffer, nul included: a longer
/// message is cut at a character boundary to fit.
pub const CAPGC_LAST_ERROR_CAPACITY: usize = 512;

thread_local! {
    /// The calling thread's last message, nul-terminated, in a buffer
    /// that lives as long as the thread and is never moved or freed, so a
    /// pointer `capgc_last_error()` gave stays readable whatever the
    /// caller does next (below).
    static LAST_ERROR: RefCell<[u8; CAPGC_LAST_ERROR_CAPACITY]> =
        const { RefCell::new([0; CAPGC_LAST_ERROR_CAPACITY]) };
}

/// Records `msg` as this thread's last error, in place.
pub(crate) fn set_last_error(msg: &str) {
    let mut n = msg.len().min(CAPGC_LAST_ERROR_CAPACITY - 1);
    while !msg.is_char_boundary(n) {
        n -= 1;
    }
    LAST_ERROR.with(|e| {
        let mut buf = e.borrow_mut();
        for (d, b) in buf.iter_mut().zip(msg.as_bytes()[..n].iter()) {
            *d = if *b == 0 { b' ' } else { *b };
        }
        buf[n] = 0;
    });
}

/// The message of the last call that failed on this thread (empty if none
/// has). The pointer is the thread's own buffer: it stays valid, and
/// nul-terminated, for as long as the thread lives; a later failing call
/// on the thread overwrites its contents with that call's message. So
/// however a compiler orders the arguments of
/// `printf("%s %s", capgc_status_name(f()), capgc_last_error())`, the
/// line shows `f()`'s message (if `f` failed). To keep a message past the
/// next failing call, copy it (`capgc_last_error_copy`). Messages longer
/// than `CAPGC_LAST_ERROR_CAPACITY - 1` bytes are cut.
#[no_mangle]
pub extern "C" fn capgc_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.as_ptr().cast::<c_char>().cast_const())
}

/// Copies this thread's last message, nul-terminated, into `buf` of `len`
/// bytes (cut to fit when it is longer; nothing is written when `buf` is
/// null or `len` is 0) and returns the message's length without the nul,
/// as `snprintf` does: a return value `>= len` means it was cut.
///
/// # Safety
/// `buf` is null or valid for `len` writes.
#[no_mangle]
pub unsafe extern "C" fn capgc_last_error_copy(buf: *mut c_char, len: usize) -> usize {
    // A copy first: `buf` may be the thread's buffer itself.
    let msg = LAST_ERROR.with(|e| *e.borrow());
    let n = msg.iter().position(|b| *b == 0).unwrap_or(msg.len());
    if !buf.is_null() && len > 0 {
        let k = n.min(len - 1);
        // SAFETY: the caller's contract: `buf` is valid for `len` writes,
        // and k + 1 <= len; the source is a local copy, so the two do not
        // overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(msg.as_ptr().cast::<c_char>(), buf, k);
            buf.add(k).write(0);
        }
    }
    n
}

/// The name of a status code (`"CAPGC_E_STALE"`), or `"CAPGC_UNKNOWN"`
/// for a number that is none. Static storage.
#[no_mangle]
pub extern "C" fn capgc_status_name(status: u32) -> *const c_char {
    let mut name: &'static [u8] = b"CAPGC_UNKNOWN\0";
    let _ = without_heap(|| {
        if let Some(s) = CapgcStatus::ALL.get(status as usize) {
            name = NAMES[*s as usize];
        }
        Ok(())
    });
    name.as_ptr().cast()
}

/// The names, nul-terminated, in status order.
const NAMES: [&[u8]; 45] = [
    b"CAPGC_OK\0",
    b"CAPGC_E_NULL_ARGUMENT\0",
    b"CAPGC_E_INVALID_ENUM\0",
    b"CAPGC_E_INVALID_CONFIG\0",
    b"CAPGC_E_UNKNOWN_TYPE\0",
    b"CAPGC_E_WRONG_KIND\0",
    b"CAPGC_E_INVALID_TYPE\0",
    b"CAPGC_E_OUT_OF_RANGE\0",
    b"CAPGC_E_BOUNDS\0",
    b"CAPGC_E_NOT_A_REF_SLOT\0",
    b"CAPGC_E_SCOPE_MISMATCH\0",
    b"CAPGC_E_SCOPE_CLOSED\0",
    b"CAPGC_E_STALE_HANDLE\0",
    b"CAPGC_E_INVALID_REGION\0",
    b"CAPGC_E_WRONG_HEAP\0",
    b"CAPGC_E_FORGED\0",
    b"CAPGC_E_STALE\0",
    b"CAPGC_E_NULL_REFERENCE\0",
    b"CAPGC_E_NOT_AN_OBJECT\0",
    b"CAPGC_E_PERMISSION\0",
    b"CAPGC_E_SEALED\0",
    b"CAPGC_E_UNTAGGED\0",
    b"CAPGC_E_ALIGNMENT\0",
    b"CAPGC_E_CAPABILITY\0",
    b"CAPGC_E_COMPARTMENT\0",
    b"CAPGC_E_OUT_OF_MEMORY\0",
    b"CAPGC_E_BUSY\0",
    b"CAPGC_E_POISONED\0",
    b"CAPGC_E_CHECKED_MODE\0",
    b"CAPGC_E_TRACE_FAILED\0",
    b"CAPGC_E_MAP\0",
    b"CAPGC_E_INTERNAL\0",
    b"CAPGC_E_BUFFER_TOO_SMALL\0",
    b"CAPGC_E_BINDING_PROFILE\0",
    b"CAPGC_E_WRONG_PHASE\0",
    b"CAPGC_E_NOT_A_CELL\0",
    b"CAPGC_E_CORRUPT\0",
    b"CAPGC_E_COMPARTMENT_VIOLATION\0",
    b"CAPGC_E_SEALED_REFERENCE\0",
    b"CAPGC_E_NOT_SEALED\0",
    b"CAPGC_E_UNSEAL_DENIED\0",
    b"CAPGC_E_COMPARTMENT_DESTROYED\0",
    b"CAPGC_E_SEALED_REVOKED\0",
    b"CAPGC_E_INVALID_COMPARTMENT\0",
    b"CAPGC_E_TOO_MANY_COMPARTMENTS\0",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_statuses() {
        for (i, s) in CapgcStatus::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
            assert!(s.name().starts_with("CAPGC_"));
            assert!(NAMES[i].ends_with(b"\0"));
        }
        assert_eq!(CapgcStatus::CAPGC_E_STALE.name(), "CAPGC_E_STALE");
    }

    /// The pointer stays the same buffer and always reads the latest
    /// message; long messages are cut at a character boundary; the copy
    /// reports the length as snprintf does.
    #[test]
    fn the_message_buffer_is_stable_and_bounded() {
        let p = capgc_last_error();
        set_last_error("first");
        let read = || {
            // SAFETY: the thread's buffer, which lives as long as the
            // thread and always holds a nul.
            let msg = unsafe { std::ffi::CStr::from_ptr(p) };
            msg.to_string_lossy().into_owned()
        };
        assert_eq!(read(), "first");
        set_last_error("second, longer");
        assert_eq!(capgc_last_error(), p);
        assert_eq!(read(), "second, longer");
        let long = "é".repeat(CAPGC_LAST_ERROR_CAPACITY);
        set_last_error(&long);
        let got = read();
        assert!(got.len() < CAPGC_LAST_ERROR_CAPACITY && got.chars().all(|c| c == 'é'));
        set_last_error("abcdef");
        let mut buf = [1 as c_char; 4];
        // SAFETY: a 4-byte buffer.
        let n = unsafe { capgc_last_error_copy(buf.as_mut_ptr(), buf.len()) };
        assert_eq!(n, 6);
        assert_eq!(buf.map(|c| c as u8), *b"abc\0");
        // SAFETY: null is allowed.
        assert_eq!(unsafe { capgc_last_error_copy(std::ptr::null_mut(), 0) }, 6);
    }
}
