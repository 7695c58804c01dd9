//! References and fields: `capgc_ref_t`, allocation, scalar and byte
//! access, reference fields (with the write barrier), narrowing, pinning,
//! queries, and direct payload pointers in the unchecked modes.
//!
//! A `capgc_ref_t` is a reference by value, 16 bytes. In SoftCheri it is
//! authenticated (`gc_core::ExternRef`: a MAC under the heap's random key
//! over address, permission view and collection epoch) and every incoming
//! one is checked: bits the heap did not hand out are `CAPGC_E_FORGED`,
//! one from before the last collection `CAPGC_E_STALE`. In Native and
//! P128 it is the address, checked only to be a live object's. Keep
//! references across allocations (safepoints) in handles, persistent
//! roots or root regions — or use the slot API (`roots.rs`), with which
//! reference bits never reach C at all.

use crate::error::CapgcStatus;
use crate::ffi::{bytes, bytes_mut, fail, ffi, put, writable, Fail};
use crate::types::{capgc_type_t, type_of};
use capability_heap::{Perm, Perms, RefMode, Scalar};
use gc_core::{ExternRef, Heap, ObjRef};
use std::ffi::c_void;

/// A reference by value. All zero is null.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_ref_t {
    /// The payload address.
    pub addr: u64,
    /// Authentication (SoftCheri); 0 in Native and P128.
    pub meta: u64,
}

/// Permission bits for `capgc_restrict`.
pub const CAPGC_PERM_GLOBAL: u32 = 1;
/// May load data.
pub const CAPGC_PERM_LOAD: u32 = 2;
/// May store data.
pub const CAPGC_PERM_STORE: u32 = 4;
/// May load references.
pub const CAPGC_PERM_LOAD_REF: u32 = 8;
/// May store references.
pub const CAPGC_PERM_STORE_REF: u32 = 16;
/// May store local references.
pub const CAPGC_PERM_STORE_LOCAL_REF: u32 = 32;
/// A read-only view: load data and references.
pub const CAPGC_PERM_READ_ONLY: u32 = CAPGC_PERM_GLOBAL | CAPGC_PERM_LOAD | CAPGC_PERM_LOAD_REF;

/// The abstract permissions of `capgc_restrict`'s bits.
fn perms_of(bits: u32) -> Result<Perms, Fail> {
    if bits & !63 != 0 {
        return fail(
            CapgcStatus::CAPGC_E_INVALID_ENUM,
            format!("{bits:#x} has bits that are no permission"),
        );
    }
    let all = [
        Perm::Global,
        Perm::Load,
        Perm::Store,
        Perm::LoadCap,
        Perm::StoreCap,
        Perm::StoreLocalCap,
    ];
    Ok(all
        .iter()
        .enumerate()
        .filter(|(i, _)| bits >> i & 1 != 0)
        .fold(Perms::NONE, |p, (_, q)| p | Perms::from(*q)))
}

/// Validates `r` against the heap (see the module docs).
#[inline(always)]
pub(crate) fn import<M: RefMode>(h: &Heap<M>, r: capgc_ref_t) -> Result<ObjRef<M>, Fail> {
    Ok(h.import_ref(ExternRef {
        addr: r.addr,
        meta: r.meta,
    })?)
}

/// `o` as bits for C.
#[inline(always)]
pub(crate) fn export<M: RefMode>(h: &Heap<M>, o: &ObjRef<M>) -> Result<capgc_ref_t, Fail> {
    let e = h.export_ref(o)?;
    Ok(capgc_ref_t {
        addr: e.addr,
        meta: e.meta,
    })
}

/// The null reference.
#[no_mangle]
pub extern "C" fn capgc_null() -> capgc_ref_t {
    capgc_ref_t::default()
}

/// True for the null reference.
#[no_mangle]
pub extern "C" fn capgc_is_null(r: capgc_ref_t) -> bool {
    r == capgc_ref_t::default()
}

/// Allocates an object of a fixed-size type (record, fixed, custom),
/// zeroed. A safepoint: references from before may be stale afterwards.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_alloc(
    heap: *mut crate::capgc_heap_t,
    ty: capgc_type_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; let o = h.alloc(type_of(ty))?; put(out, export(h, &o)?) })
}

/// Allocates an object that never moves (in every plan).
///
/// # Safety
/// As `capgc_alloc`.
#[no_mangle]
pub unsafe extern "C" fn capgc_alloc_pinned(
    heap: *mut crate::capgc_heap_t,
    ty: capgc_type_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; let o = h.alloc_pinned(type_of(ty))?; put(out, export(h, &o)?) })
}

/// Allocates an array: `len` references (all null) of a reference-array
/// type, or `len` bytes (all zero) of a byte-array type.
///
/// # Safety
/// As `capgc_alloc`.
#[no_mangle]
pub unsafe extern "C" fn capgc_alloc_array(
    heap: *mut crate::capgc_heap_t,
    ty: capgc_type_t,
    len: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; let o = h.alloc_array(type_of(ty), len)?; put(out, export(h, &o)?) })
}

fn read<M: RefMode, T: Scalar>(
    h: &Heap<M>,
    r: capgc_ref_t,
    off: u64,
    out: *mut T,
) -> Result<(), Fail> {
    let o = import(h, r)?;
    put(out, h.read::<T>(&o, off)?)
}

fn write<M: RefMode, T: Scalar>(
    h: &mut Heap<M>,
    r: capgc_ref_t,
    off: u64,
    v: T,
) -> Result<(), Fail> {
    let o = import(h, r)?;
    Ok(h.write::<T>(&o, off, v)?)
}

/// Reads the byte at `offset` of the object.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_read_u8(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    out: *mut u8,
) -> CapgcStatus {
    ffi!(heap, h => read(h, r, offset, out))
}

/// Reads the u32 at `offset` of the object.
///
/// # Safety
/// As `capgc_read_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_read_u32(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    out: *mut u32,
) -> CapgcStatus {
    ffi!(heap, h => read(h, r, offset, out))
}

/// Reads the u64 at `offset` of the object.
///
/// # Safety
/// As `capgc_read_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_read_u64(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    out: *mut u64,
) -> CapgcStatus {
    ffi!(heap, h => read(h, r, offset, out))
}

/// Reads the double at `offset` of the object.
///
/// # Safety
/// As `capgc_read_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_read_f64(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    out: *mut f64,
) -> CapgcStatus {
    ffi!(heap, h => read(h, r, offset, out))
}

/// Writes a byte at `offset` (clearing the tag of a reference it
/// overwrites, in SoftCheri).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_write_u8(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    v: u8,
) -> CapgcStatus {
    ffi!(heap, h => write(h, r, offset, v))
}

/// Writes a u32 at `offset`.
///
/// # Safety
/// As `capgc_write_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_write_u32(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    v: u32,
) -> CapgcStatus {
    ffi!(heap, h => write(h, r, offset, v))
}

/// Writes a u64 at `offset`.
///
/// # Safety
/// As `capgc_write_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_write_u64(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    v: u64,
) -> CapgcStatus {
    ffi!(heap, h => write(h, r, offset, v))
}

/// Writes a double at `offset`.
///
/// # Safety
/// As `capgc_write_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_write_f64(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    v: f64,
) -> CapgcStatus {
    ffi!(heap, h => write(h, r, offset, v))
}

/// Copies `len` bytes at `offset` of the object into `buf`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `buf` is valid for `len`
/// writes.
#[no_mangle]
pub unsafe extern "C" fn capgc_read_bytes(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    buf: *mut c_void,
    len: usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = import(h, r)?;
        Ok(h.read_bytes(&o, offset, bytes_mut(buf.cast(), len)?)?)
    })
}

/// Copies `len` bytes from `buf` to `offset` of the object.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `buf` is valid for `len` reads.
#[no_mangle]
pub unsafe extern "C" fn capgc_write_bytes(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    offset: u64,
    buf: *const c_void,
    len: usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = import(h, r)?;
        Ok(h.write_bytes(&o, offset, bytes(buf.cast(), len)?)?)
    })
}

/// Loads the reference in slot `offset` of the object (null if none).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_get_ref(
    heap: *mut crate::capgc_heap_t,
    obj: capgc_ref_t,
    offset: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = import(h, obj)?;
        let v = h.get_ref(&o, offset)?;
        put(out, export(h, &v)?)
    })
}

/// Stores `value` (or null) in reference slot `offset` of the object,
/// with the write barrier.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_set_ref(
    heap: *mut crate::capgc_heap_t,
    obj: capgc_ref_t,
    offset: u64,
    value: capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = import(h, obj)?;
        let v = import(h, value)?;
        Ok(h.set_ref(&o, offset, &v)?)
    })
}

/// The same reference with its permissions narrowed to `perms`
/// (`CAPGC_PERM_*` bits; never widened). No-op in Native and P128.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_restrict(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    perms: u32,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let keep = perms_of(perms)?;
        let o = import(h, r)?;
        let n = h.restrict(&o, keep)?;
        put(out, export(h, &n)?)
    })
}

/// Pins the object: it never moves while pinned (needs Store permission).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_pin(heap: *mut crate::capgc_heap_t, r: capgc_ref_t) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; Ok(h.pin(&o)?) })
}

/// Unpins the object (needs Store permission).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_unpin(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; Ok(h.unpin(&o)?) })
}

/// Whether the object is pinned.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_is_pinned(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut bool,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; put(out, h.is_pinned(&o)?) })
}

/// The object's type.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_type_of(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; put(out, h.type_of(&o)?.to_bits()) })
}

/// The object's payload length in bytes, as allocated.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_payload_len(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut u64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; put(out, h.payload_len(&o)?) })
}

/// The element count of an array (references, or bytes).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_array_len(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut u64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; put(out, h.array_len(&o)?) })
}

/// A direct pointer to the object's payload, for an existing VM's struct
/// accesses — Native and P128 only: SoftCheri refuses it with
/// `CAPGC_E_CHECKED_MODE` (the pointer would bypass every check; on
/// CHERI hardware it would itself be the capability). Valid until the
/// next safepoint, or for good if the object is pinned or the plan is
/// MarkSweep.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable. What is done
/// through the pointer is the caller's responsibility.
#[no_mangle]
pub unsafe extern "C" fn capgc_payload(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut *mut c_void,
) -> CapgcStatus {
    ffi!(heap, h => payload(h, r, out))
}

fn payload<M: RefMode>(h: &Heap<M>, r: capgc_ref_t, out: *mut *mut c_void) -> Result<(), Fail> {
    if M::CHECKED {
        return fail(
            CapgcStatus::CAPGC_E_CHECKED_MODE,
            "capgc_payload is refused in SoftCheri: a direct pointer would bypass the capability checks",
        );
    }
    let o = import(h, r)?;
    if o.is_null() {
        return fail(
            CapgcStatus::CAPGC_E_NULL_REFERENCE,
            "null reference used as an object",
        );
    }
    put(out, o.address().get() as *mut c_void)
}
