//! Roots: handle scopes, handles, persistent roots, root regions, and the
//! slot API.
//!
//! **The slot API** moves references between object fields and
//! root-region slots without the reference ever leaving the heap's memory
//! (tagged memory, with real tags, in SoftCheri) — the Lua C API's
//! stack-index model. A VM written against it never holds reference bits
//! in C, in any mode, so nothing it keeps can go stale or be forged:
//! `capgc_slot_alloc` puts a new object in a slot, `capgc_slot_load_field`
//! loads a field of the object in one slot into another,
//! `capgc_slot_store_field` stores one slot's reference into a field of
//! another's object, and the scalar accessors read and write fields of a
//! slot's object.
//!
//! Tokens (`capgc_handle_t`, …) are 16 bytes: any bits are safe to pass —
//! another heap's token is `CAPGC_E_WRONG_HEAP`, a released or fabricated
//! one `CAPGC_E_STALE_HANDLE`.

use crate::error::CapgcStatus;
use crate::ffi::{ffi, put, writable, Fail};
use crate::refs::{capgc_ref_t, export, import};
use crate::types::{capgc_type_t, type_of};
use capability_heap::RefMode;
use gc_core::{Handle, Heap, ObjRef, Persistent, RootRegionId, Scope};

/// An open handle scope.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_scope_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// A handle: a reference kept alive until its scope closes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_handle_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// A persistent root: alive until released.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_persistent_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// A root region: an array of reference slots the VM owns.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_region_t {
    /// Opaque.
    pub w: [u64; 2],
}

/// Opens a nested handle scope.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_scope_open(
    heap: *mut crate::capgc_heap_t,
    out: *mut capgc_scope_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; put(out, capgc_scope_t { w: h.open_scope().to_bits() }) })
}

/// Closes the innermost scope and its handles (`CAPGC_E_SCOPE_MISMATCH`
/// for an outer one, which stays open).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_scope_close(
    heap: *mut crate::capgc_heap_t,
    scope: capgc_scope_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.close_scope(Scope::from_bits(scope.w))?))
}

/// Roots `r` in the innermost scope (or the base scope).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_handle_new(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut capgc_handle_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let o = import(h, r)?;
        put(out, capgc_handle_t { w: h.handle(&o)?.to_bits() })
    })
}

/// The reference a handle holds (of the current epoch).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_handle_get(
    heap: *mut crate::capgc_heap_t,
    hd: capgc_handle_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = h.get(Handle::from_bits(hd.w))?; put(out, export(h, &o)?) })
}

/// Points a handle at another reference (or null).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_handle_set(
    heap: *mut crate::capgc_heap_t,
    hd: capgc_handle_t,
    r: capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; Ok(h.set_handle(Handle::from_bits(hd.w), &o)?) })
}

/// Roots `r` until `capgc_persistent_release`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_persistent_new(
    heap: *mut crate::capgc_heap_t,
    r: capgc_ref_t,
    out: *mut capgc_persistent_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        let o = import(h, r)?;
        put(out, capgc_persistent_t { w: h.persist(&o)?.to_bits() })
    })
}

/// The reference a persistent root holds.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_persistent_get(
    heap: *mut crate::capgc_heap_t,
    p: capgc_persistent_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = h.get_persistent(Persistent::from_bits(p.w))?; put(out, export(h, &o)?) })
}

/// Points a persistent root at another reference (or null).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_persistent_set(
    heap: *mut crate::capgc_heap_t,
    p: capgc_persistent_t,
    r: capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; Ok(h.set_persistent(Persistent::from_bits(p.w), &o)?) })
}

/// Releases a persistent root.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_persistent_release(
    heap: *mut crate::capgc_heap_t,
    p: capgc_persistent_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.release(Persistent::from_bits(p.w))?))
}

/// Creates a root region of `slots` reference slots (1 ..= 2^32), empty.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_new(
    heap: *mut crate::capgc_heap_t,
    slots: u64,
    out: *mut capgc_region_t,
) -> CapgcStatus {
    ffi!(heap, h => { writable(out)?; put(out, capgc_region_t { w: h.root_region_new(slots)?.to_bits() }) })
}

/// Frees a root region; its slots stop being roots.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_free(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.root_region_free(RootRegionId::from_bits(region.w))?))
}

/// The number of slots of a root region.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_len(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    out: *mut u64,
) -> CapgcStatus {
    ffi!(heap, h => put(out, h.root_region_len(RootRegionId::from_bits(region.w))?))
}

/// Stores `r` (or null) in slot `index`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_set(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
    r: capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => { let o = import(h, r)?; Ok(h.root_set(RootRegionId::from_bits(region.w), index, &o)?) })
}

/// The reference in slot `index` (a data slot gives an untagged value in
/// SoftCheri, refused when used).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_get(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = h.root_get(RootRegionId::from_bits(region.w), index)?;
        put(out, export_slot(h, &o)?)
    })
}

/// Stores data in slot `index`: it is no reference any more (its tag is
/// cleared).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_set_data(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
    value: u64,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.root_set_data(RootRegionId::from_bits(region.w), index, value)?))
}

/// Whether slot `index` holds a reference.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_is_ref(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
    out: *mut bool,
) -> CapgcStatus {
    ffi!(heap, h => put(out, h.root_is_ref(RootRegionId::from_bits(region.w), index)?))
}

/// A slot's reference for C: a data slot (untagged in SoftCheri) is
/// refused rather than exported.
fn export_slot<M: RefMode>(h: &Heap<M>, o: &ObjRef<M>) -> Result<capgc_ref_t, Fail> {
    if o.is_null() {
        return Ok(capgc_ref_t::default());
    }
    if !holds_ref(o) {
        return Err(Fail(
            CapgcStatus::CAPGC_E_UNTAGGED,
            "the slot holds data, not a reference".into(),
        ));
    }
    export(h, o)
}

// ---- the slot API --------------------------------------------------------

/// The reference in slot `index` of `region` (checked: region, index).
pub(crate) fn slot<M: RefMode>(
    h: &Heap<M>,
    region: capgc_region_t,
    index: u64,
) -> Result<ObjRef<M>, Fail> {
    Ok(h.root_get(RootRegionId::from_bits(region.w), index)?)
}

/// Allocates an object of a fixed-size type into slot `dst`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_alloc(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    dst: u64,
    ty: capgc_type_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        let id = RootRegionId::from_bits(region.w);
        h.root_region_len(id)?;
        let o = h.alloc(type_of(ty))?;
        Ok(h.root_set(id, dst, &o)?)
    })
}

/// Allocates an array of `len` elements into slot `dst`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_alloc_array(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    dst: u64,
    ty: capgc_type_t,
    len: u64,
) -> CapgcStatus {
    ffi!(heap, h => {
        let id = RootRegionId::from_bits(region.w);
        h.root_region_len(id)?;
        let o = h.alloc_array(type_of(ty), len)?;
        Ok(h.root_set(id, dst, &o)?)
    })
}

/// Slot `dst` := the reference in field `offset` of the object in slot
/// `holder`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_load_field(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    dst: u64,
    holder: u64,
    offset: u64,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = slot(h, region, holder)?;
        let v = h.get_ref(&o, offset)?;
        Ok(h.root_set(RootRegionId::from_bits(region.w), dst, &v)?)
    })
}

/// Field `offset` of the object in slot `holder` := the reference in slot
/// `src` (with the write barrier).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_store_field(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    src: u64,
) -> CapgcStatus {
    ffi!(heap, h => {
        let o = slot(h, region, holder)?;
        let v = slot(h, region, src)?;
        Ok(h.set_ref(&o, offset, &v)?)
    })
}

/// Slot `dst` := slot `src`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_copy(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    dst: u64,
    src: u64,
) -> CapgcStatus {
    ffi!(heap, h => {
        let v = slot(h, region, src)?;
        Ok(h.root_set(RootRegionId::from_bits(region.w), dst, &v)?)
    })
}

/// Slot `index` := null.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_clear(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
) -> CapgcStatus {
    ffi!(heap, h => Ok(h.root_set(RootRegionId::from_bits(region.w), index, &ObjRef::null())?))
}

/// Whether slot `index` holds null (or data).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_is_null(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    index: u64,
    out: *mut bool,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, index)?; put(out, !holds_ref(&o)) })
}

/// True when `o` is a reference (not null, not data).
fn holds_ref<M: RefMode>(o: &ObjRef<M>) -> bool {
    !o.is_null() && M::is_valid(&o.raw())
}

/// Reads the u64 at `offset` of the object in slot `holder`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_read_u64(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    out: *mut u64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; put(out, h.read::<u64>(&o, offset)?) })
}

/// Writes a u64 at `offset` of the object in slot `holder`.
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_slot_write_u64(
    heap: *mut crate::capgc_heap_t,
    region: capgc_region_t,
    holder: u64,
    offset: u64,
    value: u64,
) -> CapgcStatus {
    ffi!(heap, h => { let o = slot(h, region, holder)?; Ok(h.write::<u64>(&o, offset, value)?) })
}
