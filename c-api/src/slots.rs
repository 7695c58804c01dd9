//! The slot API, completed: scalars of every width, byte ranges, weak
//! references, ephemerons and finalizer registration on root-region
//! slots, so that a VM written on the slot API never holds reference bits
//! in C for any of them (`roots.rs` has the core: allocation into a slot,
//! loading and storing reference fields, copying and clearing slots).
//!
//! Each function names its object by a root-region slot and checks it as
//! the core slot functions do: an unknown or freed region is
//! `CAPGC_E_INVALID_REGION`, an index past the region's end
//! `CAPGC_E_OUT_OF_RANGE`, an empty slot `CAPGC_E_NULL_REFERENCE`, a slot
//! holding data where a reference is needed `CAPGC_E_UNTAGGED` in
//! SoftCheri (its tag is clear, I6) and `CAPGC_E_NOT_AN_OBJECT` in the
//! unchecked modes, an access outside the object `CAPGC_E_BOUNDS`. A
//! weak, ephemeron or finalizer token of another heap is
//! `CAPGC_E_WRONG_HEAP`, a released or fabricated one
//! `CAPGC_E_STALE_HANDLE`. The tokens themselves are not references: they
//! stay valid across collections, and what they designate is only ever
//! loaded into a slot.
//!
//! The alternative — `capgc_weak_get` and friends returning a
//! `capgc_ref_t` the VM then stores with `capgc_region_set` — works, but
//! puts reference bits in a C local between the two calls; that is what
//! this section exists to avoid.

use crate::error::CapgcStatus;
use crate::ffi::{bytes, bytes_mut, ffi, put, put_opt, writable};
use crate::roots::{capgc_region_t, slot};
use crate::weak::{capgc_ephemeron_t, capgc_finalizer_t, capgc_weak_t};
use gc_core::{Ephemeron, ObjRef, RootRegionId, WeakRef};
use std::ffi::c_void;

/// Reads the byte at `offset` of the object in slot `holder`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_read_u8(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    out: *mut u8,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; put(out, h.read::<u8>(&o, offset)?) })
}

/// Reads the u32 at `offset` of the object in slot
/// `holder`.
///
/// # Safety
/// As `capgc_slot_read_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_read_u32(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    out: *mut u32,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; put(out, h.read::<u32>(&o, offset)?) })
}

/// Reads the double at `offset` of the object in slot
/// `holder`.
///
/// # Safety
/// As `capgc_slot_read_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_read_f64(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    out: *mut f64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; put(out, h.read::<f64>(&o, offset)?) })
}

/// Writes a byte at `offset` of the object in slot `holder` (a data write:
/// in SoftCheri it clears the tag of a reference it overwrites, I6).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_write_u8(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    value: u8,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; Ok(h.write::<u8>(&o, offset, value)?) })
}

/// Writes a u32 at `offset` of the object in slot
/// `holder`.
///
/// # Safety
/// As `capgc_slot_write_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_write_u32(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    value: u32,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; Ok(h.write::<u32>(&o, offset, value)?) })
}

/// Writes a double at `offset` of the object in slot
/// `holder`.
///
/// # Safety
/// As `capgc_slot_write_u8`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_write_f64(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    value: f64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; Ok(h.write::<f64>(&o, offset, value)?) })
}

/// Copies `len` bytes from `offset` of the object in slot `holder` into
/// `buf` (a string's characters, a bignum's digits). The whole range must
/// lie inside the object (`CAPGC_E_BOUNDS`, nothing copied, otherwise).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `buf` is valid for `len` writes
/// (may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_read_bytes(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    buf: *mut c_void,
    len: usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = slot(h, region, holder)?;
        Ok(h.read_bytes(&o, offset, bytes_mut(buf.cast(), len)?)?)
    })
}

/// Copies `len` bytes from `buf` to `offset` of the object in slot
/// `holder` (a data write: tags of references it overwrites are cleared in
/// SoftCheri). The whole range must lie inside the object.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `buf` is valid for `len` reads
/// (may be null when `len` is 0).
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_write_bytes(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    buf: *const c_void,
    len: usize,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = slot(h, region, holder)?;
        Ok(h.write_bytes(&o, offset, bytes(buf.cast(), len)?)?)
    })
}

/// A weak reference to the object in slot `src` (the weak reference does
/// not keep it alive). The token stays valid across collections until
/// `capgc_weak_release`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_weak_new(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    src: u64,
    out: *mut capgc_weak_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let o = slot(h, region, src)?;
        put(out, capgc_weak_t { w: h.weak_new(&o)?.to_bits() })
    })
}

/// Slot `dst` := the target of weak reference `w`, or null once it was
/// collected. `*alive` (may be null) says which.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `alive` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_weak_get(
    heap: *mut crate::capgc_heap_t,
    w: capgc_weak_t,
    region: capgc_region_t,
    dst: u64,
    alive: *mut bool,
) -> CapgcStatus {
    ffi!(heap, h => {
        let id = RootRegionId::from_bits(region.w);
        h.root_region_len(id)?;
        let target = h.weak_get(WeakRef::from_bits(w.w))?;
        let live = target.is_some();
        h.root_set(id, dst, &target.unwrap_or_else(ObjRef::null))?;
        put_opt(alive, live)
    })
}

/// An ephemeron keyed by the object in slot `key` holding the one in slot
/// `value`: the value lives exactly as long as the key is reachable
/// through something else (a weak-keyed table's entry: JS `WeakMap`, Lua
/// `__mode = "k"`).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_ephemeron_new(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    key: u64,
    value: u64,
    out: *mut capgc_ephemeron_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let (k, v) = (slot(h, region, key)?, slot(h, region, value)?);
        put(out, capgc_ephemeron_t { w: h.ephemeron_new(&k, &v)?.to_bits() })
    })
}

/// Slots `key_dst` and `value_dst` := the key and value of ephemeron `e`,
/// or two nulls once its key died. `*alive` (may be null) says which. The
/// two slots must differ.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `alive` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_ephemeron_get(
    heap: *mut crate::capgc_heap_t,
    e: capgc_ephemeron_t,
    region: capgc_region_t,
    key_dst: u64,
    value_dst: u64,
    alive: *mut bool,
) -> CapgcStatus {
    ffi!(heap, h => {
        let id = RootRegionId::from_bits(region.w);
        let len = h.root_region_len(id)?;
        if key_dst == value_dst {
            return crate::ffi::fail(
                CapgcStatus::CAPGC_E_OUT_OF_RANGE,
                format!("key and value would both go to slot {key_dst}"),
            );
        }
        for i in [key_dst, value_dst] {
            if i >= len {
                return Err(gc_core::GcError::IndexOutOfRange { index: i, len }.into());
            }
        }
        let pair = h.ephemeron_get(Ephemeron::from_bits(e.w))?;
        let live = pair.is_some();
        let (k, v) = pair.unwrap_or_else(|| (ObjRef::null(), ObjRef::null()));
        h.root_set(id, key_dst, &k)?;
        h.root_set(id, value_dst, &v)?;
        put_opt(alive, live)
    })
}

/// Registers `token` to be delivered by `capgc_finalized_take` after the
/// collection that finds the object in slot `src` unreachable (the
/// registration does not keep it alive; the object is never handed back).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_finalizer_register(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    src: u64,
    token: u64,
    out: *mut capgc_finalizer_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = slot(h, region, src)?;
        let f = h.register_finalizer(&o, token)?;
        put_opt(out, capgc_finalizer_t { w: f.to_bits() })
    })
}
