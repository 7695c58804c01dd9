//! Inside one compartment: `capgc_compartment_*` mirrors of the heap
//! functions (types, allocation, fields, root regions, scopes, handles,
//! persistent roots, weak references, ephemerons, statistics), each
//! taking the split heap and the compartment. References offered go
//! through `import_in`, so that another compartment's are refused as
//! foreign (see the parent module).

use super::{capgc_compartment_t, capgc_split_heap_t, id, import_in};
use crate::error::CapgcStatus;
use crate::ffi::{fail, put};
use crate::refs::{capgc_ref_t, export};
use crate::roots::{capgc_handle_t, capgc_persistent_t, capgc_region_t, capgc_scope_t};
use crate::stats::capgc_stats_t;
use crate::types::{capgc_type_t, type_of};
use crate::weak::{capgc_ephemeron_t, capgc_weak_t};
use capability_heap::RefMode;
use gc_core::{Ephemeron, Handle, ObjRef, Persistent, RootRegionId, Scope, WeakRef};

/// Registers the record shape in compartment `c` (as `capgc_type_record`):
/// a type of `c` only.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_type_record(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    refs: u32,
    data: u64,
    out: *mut capgc_type_t,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, w.heap_mut(id(c))?.record_type(refs, data)?.to_bits()))
}

/// Allocates an object of a fixed-size type of compartment `c` (as
/// `capgc_alloc`): a safepoint of `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_alloc(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    ty: capgc_type_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap_mut(id(c))?;
        let o = h.alloc(type_of(ty))?;
        put(out, export(h, &o)?)
    })
}

/// Reads the u64 at `offset` of an object of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_read_u64(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    r: capgc_ref_t,
    offset: u64,
    out: *mut u64,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        put(out, w.heap(id(c))?.read::<u64>(&o, offset)?)
    })
}

/// Writes a u64 at `offset` of an object of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_write_u64(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    r: capgc_ref_t,
    offset: u64,
    v: u64,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        Ok(w.heap_mut(id(c))?.write::<u64>(&o, offset, v)?)
    })
}

/// Loads the reference in slot `offset` of an object of compartment `c`
/// (a slot holding a sealed reference is `CAPGC_E_SEALED_REFERENCE`:
/// load it with `capgc_get_sealed`).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_get_ref(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    obj: capgc_ref_t,
    offset: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), obj)?;
        let h = w.heap(id(c))?;
        let v = h.get_ref(&o, offset)?;
        put(out, export(h, &v)?)
    })
}

/// Stores `value` (or null) in reference slot `offset` of an object of
/// compartment `c`, with the write barrier; `value` must be `c`'s
/// (`CAPGC_E_COMPARTMENT_VIOLATION` otherwise: seal it).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_set_ref(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    obj: capgc_ref_t,
    offset: u64,
    value: capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), obj)?;
        let v = import_in(w, id(c), value)?;
        Ok(w.heap_mut(id(c))?.set_ref(&o, offset, &v)?)
    })
}

/// Creates a root region of `slots` reference slots in compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_region_new(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    slots: u64,
    out: *mut capgc_region_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let r = w.heap_mut(id(c))?.root_region_new(slots)?;
        put(out, capgc_region_t { w: r.to_bits() })
    })
}

/// Frees a root region of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_region_free(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    region: capgc_region_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.heap_mut(id(c))?.root_region_free(RootRegionId::from_bits(region.w))?))
}

/// Stores `r` (or null), a reference of compartment `c`, in slot `index`
/// of one of `c`'s root regions.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_region_set(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    region: capgc_region_t,
    index: u64,
    r: capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        Ok(w.heap_mut(id(c))?.root_set(RootRegionId::from_bits(region.w), index, &o)?)
    })
}

/// The reference in slot `index` of a root region of compartment `c`
/// (data is `CAPGC_E_UNTAGGED`; a sealed reference
/// `CAPGC_E_SEALED_REFERENCE`: load it with `capgc_region_get_sealed`).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_region_get(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    region: capgc_region_t,
    index: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap(id(c))?;
        let o = h.root_get(RootRegionId::from_bits(region.w), index)?;
        if !o.is_null() && !is_tagged(&o) {
            return fail(CapgcStatus::CAPGC_E_UNTAGGED, "the slot holds data, not a reference");
        }
        put(out, export(h, &o)?)
    })
}

/// True when `o` has a reference's tag (the check `capgc_region_get`
/// makes before exporting a slot).
fn is_tagged<M: RefMode>(o: &ObjRef<M>) -> bool {
    M::is_valid(&o.raw())
}

/// Opens a nested handle scope in compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_scope_open(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    out: *mut capgc_scope_t,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, capgc_scope_t { w: w.heap_mut(id(c))?.open_scope().to_bits() }))
}

/// Closes the innermost scope of compartment `c` and its handles.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_scope_close(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    scope: capgc_scope_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.heap_mut(id(c))?.close_scope(Scope::from_bits(scope.w))?))
}

/// Roots `r`, a reference of compartment `c`, in `c`'s innermost scope.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_handle_new(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    r: capgc_ref_t,
    out: *mut capgc_handle_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        put(out, capgc_handle_t { w: w.heap_mut(id(c))?.handle(&o)?.to_bits() })
    })
}

/// The reference a handle of compartment `c` holds.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_handle_get(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    hd: capgc_handle_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap(id(c))?;
        put(out, export(h, &h.get(Handle::from_bits(hd.w))?)?)
    })
}

/// Roots `r`, a reference of compartment `c`, until
/// `capgc_compartment_persistent_release`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_persistent_new(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    r: capgc_ref_t,
    out: *mut capgc_persistent_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        put(out, capgc_persistent_t { w: w.heap_mut(id(c))?.persist(&o)?.to_bits() })
    })
}

/// The reference a persistent root of compartment `c` holds.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_persistent_get(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    p: capgc_persistent_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap(id(c))?;
        put(out, export(h, &h.get_persistent(Persistent::from_bits(p.w))?)?)
    })
}

/// Releases a persistent root of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_persistent_release(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    p: capgc_persistent_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.heap_mut(id(c))?.release(Persistent::from_bits(p.w))?))
}

/// A weak reference, in compartment `c`, to `r`, a reference of `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_weak_new(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    r: capgc_ref_t,
    out: *mut capgc_weak_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let o = import_in(w, id(c), r)?;
        put(out, capgc_weak_t { w: w.heap_mut(id(c))?.weak_new(&o)?.to_bits() })
    })
}

/// The target of a weak reference of compartment `c`, or null once it
/// was collected.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_weak_get(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    wk: capgc_weak_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap(id(c))?;
        let r = match h.weak_get(WeakRef::from_bits(wk.w))? {
            Some(o) => export(h, &o)?,
            None => capgc_ref_t::default(),
        };
        put(out, r)
    })
}

/// Releases a weak reference of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_weak_release(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    wk: capgc_weak_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.heap_mut(id(c))?.weak_release(WeakRef::from_bits(wk.w))?))
}

/// An ephemeron of compartment `c` keyed by `key` holding `value`, both
/// references of `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_ephemeron_new(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    key: capgc_ref_t,
    value: capgc_ref_t,
    out: *mut capgc_ephemeron_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let (k, v) = (import_in(w, id(c), key)?, import_in(w, id(c), value)?);
        put(out, capgc_ephemeron_t { w: w.heap_mut(id(c))?.ephemeron_new(&k, &v)?.to_bits() })
    })
}

/// The key and value of an ephemeron of compartment `c`, or two nulls
/// once the key died.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `key` and `value`
/// are writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_ephemeron_get(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    e: capgc_ephemeron_t,
    key: *mut capgc_ref_t,
    value: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = w.heap(id(c))?;
        let (k, v) = match h.ephemeron_get(Ephemeron::from_bits(e.w))? {
            Some((k, v)) => (export(h, &k)?, export(h, &v)?),
            None => Default::default(),
        };
        put(key, k)?;
        put(value, v)
    })
}

/// Releases an ephemeron of compartment `c`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_ephemeron_release(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    e: capgc_ephemeron_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.heap_mut(id(c))?.ephemeron_release(Ephemeron::from_bits(e.w))?))
}

/// Compartment `c`'s statistics (as `capgc_heap_stats`).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_stats(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    out: *mut capgc_stats_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        put(out, crate::stats::stats_of(&w.heap(id(c))?.stats()))
    })
}
