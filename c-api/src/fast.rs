//! The fast path (`capgc_fast.h`): `capgc_mutator_t`, the struct the
//! header's inline functions work on, its layout constants for JITs,
//! and the out-of-line entries they call (`capgc_fast_alloc_slow`,
//! `capgc_fast_remember`, `capgc_fast_roots`).
//!
//! *Between calls the buffer is C's.* Every call on a heap whose
//! mutator was taken (`capgc_mutator`) first takes the bump buffer back
//! (`Heap::fast_reclaim`: the objects placed inline are checked and
//! adopted) and, on its way out, lends the rest of the copy space's
//! current block again (`Heap::fast_lend`). So the Rust side never sees
//! a cursor it did not check, and a C program pays the exchange once
//! per call, not per allocation. The single-thread Rust API is
//! untouched: it never lends.
//!
//! *The no-safepoint window.* Between two calls on the heap nothing
//! collects or moves: payload addresses the inline functions use stay
//! valid until the VM's next call on the heap (any call may collect),
//! exactly the rule of a VM on bdwgc's or MMTk's inline paths. References
//! the VM keeps across calls live in the shadow stack (`capgc_fast_roots`,
//! updated by every collection) or in the other roots.
//!
//! *Checked modes.* In SoftCheri `checked` is 1, `max_len` 0 and
//! nothing is ever lent: every inline function calls a checked entry
//! (`capgc_fast_alloc_slow`, `capgc_get_ref`, `capgc_read_u64`, …), so
//! the same C source keeps every check there, and nothing the VM writes
//! into the struct is trusted (the heap resets the cursor and limit at
//! every call and never reads the other fields).

use crate::error::CapgcStatus;
use crate::ffi::{fail, ffi, on_heap, put, writable, Fail};
use crate::heap::{capgc_heap_t, AnyHeap};
use crate::refs::{capgc_ref_t, export, import};
use crate::types::{capgc_type_t, type_of};
use gc_core::{ExternRef, FastGeometry, ShadowStack};
use std::cell::UnsafeCell;
use std::mem::offset_of;

/// The per-heap mutator state the inline functions of `capgc_fast.h`
/// read and write (see docs/porting.md, "The fast path" and "JIT
/// integration"). The VM writes only `cursor` (inline allocation) and
/// `roots_top` and the entries under `roots` (its shadow stack); the
/// heap sets the rest.
#[repr(C)]
#[derive(Debug)]
pub struct capgc_mutator_t {
    /// The bump cursor: the next object's header goes here.
    pub cursor: u64,
    /// The end of the lent buffer (0 when nothing is lent).
    pub limit: u64,
    /// The shadow stack's entries (`capgc_fast_roots`), or null.
    pub roots: *mut capgc_ref_t,
    /// Shadow-stack entries in use: `roots[0..roots_top]` are roots.
    pub roots_top: u64,
    /// Shadow-stack entries there is room for.
    pub roots_cap: u64,
    /// The largest payload inline allocation may place (0 in checked
    /// modes and MarkSweep: every allocation is out of line).
    pub max_len: u64,
    /// Cell alignment and reference-slot size in bytes (8 Native, 16
    /// otherwise).
    pub align: u64,
    /// The barrier's block index origin: block = (addr - block_base) >>
    /// CAPGC_FAST_BLOCK_SHIFT.
    pub block_base: u64,
    /// The block-state table (one entry per block, `block_count` of them).
    pub block_states: *const u16,
    /// Entries in `block_states`.
    pub block_count: u64,
    /// The state of a young (nursery) block.
    pub young_state: u32,
    /// 1 when the plan has a write barrier (Generational).
    pub barrier: u32,
    /// 1 in the checked modes: every inline function calls out.
    pub checked: u32,
    /// Reserved (0).
    pub reserved: u32,
    /// The heap this is the mutator of (null until `capgc_mutator`).
    pub heap: *mut capgc_heap_t,
}

impl capgc_mutator_t {
    /// The state before `capgc_mutator` is called: nothing lent, no roots.
    pub(crate) const fn empty() -> capgc_mutator_t {
        capgc_mutator_t {
            cursor: 0,
            limit: 0,
            roots: std::ptr::null_mut(),
            roots_top: 0,
            roots_cap: 0,
            max_len: 0,
            align: 0,
            block_base: 0,
            block_states: std::ptr::null(),
            block_count: 0,
            young_state: 0,
            barrier: 0,
            checked: 1,
            reserved: 0,
            heap: std::ptr::null_mut(),
        }
    }
}

/// The mutator struct's size in bytes.
pub const CAPGC_MUTATOR_SIZE: usize = 104;
/// Offset of `capgc_mutator_t.cursor`.
pub const CAPGC_MUTATOR_CURSOR: usize = 0;
/// Offset of `capgc_mutator_t.limit`.
pub const CAPGC_MUTATOR_LIMIT: usize = 8;
/// Offset of `capgc_mutator_t.roots`.
pub const CAPGC_MUTATOR_ROOTS: usize = 16;
/// Offset of `capgc_mutator_t.roots_top`.
pub const CAPGC_MUTATOR_ROOTS_TOP: usize = 24;
/// Offset of `capgc_mutator_t.roots_cap`.
pub const CAPGC_MUTATOR_ROOTS_CAP: usize = 32;
/// Offset of `capgc_mutator_t.max_len`.
pub const CAPGC_MUTATOR_MAX_LEN: usize = 40;
/// Offset of `capgc_mutator_t.align`.
pub const CAPGC_MUTATOR_ALIGN: usize = 48;
/// Offset of `capgc_mutator_t.block_base`.
pub const CAPGC_MUTATOR_BLOCK_BASE: usize = 56;
/// Offset of `capgc_mutator_t.block_states`.
pub const CAPGC_MUTATOR_BLOCK_STATES: usize = 64;
/// Offset of `capgc_mutator_t.block_count`.
pub const CAPGC_MUTATOR_BLOCK_COUNT: usize = 72;
/// Offset of `capgc_mutator_t.young_state`.
pub const CAPGC_MUTATOR_YOUNG_STATE: usize = 80;
/// Offset of `capgc_mutator_t.barrier`.
pub const CAPGC_MUTATOR_BARRIER: usize = 84;
/// Offset of `capgc_mutator_t.checked`.
pub const CAPGC_MUTATOR_CHECKED: usize = 88;
/// Offset of `capgc_mutator_t.heap`.
pub const CAPGC_MUTATOR_HEAP: usize = 96;
/// Bytes of Native's object header (`m->align == 8`): one word before the
/// payload. Every mode's header is its cell alignment, `m->align` bytes.
pub const CAPGC_FAST_HEADER_NATIVE_SIZE: u64 = 8;
/// Native's header word (at payload - 8) is `type <<
/// CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT | length <<
/// CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT`: the type index (below 2^24) in
/// bits 8..32, flags (bits 0..8) 0 in a new object.
pub const CAPGC_FAST_HEADER_NATIVE_TYPE_SHIFT: u32 = 8;
/// Native's header word: the payload length in bytes in bits 32..64.
pub const CAPGC_FAST_HEADER_NATIVE_LEN_SHIFT: u32 = 32;
/// Bytes of P128's object header (`m->align == 16`): two words before the
/// payload.
pub const CAPGC_FAST_HEADER_P128_SIZE: u64 = 16;
/// P128's header word at payload - 16: the type index (the low 32 bits of
/// a `capgc_type_t`) in its low 32 bits; its high 32 bits (flags) are 0
/// in a new object.
pub const CAPGC_FAST_HEADER_P128_TYPE: u64 = 16;
/// P128's header word at payload - 8: the payload length in bytes (also
/// the second word of every P128 reference stored in a slot).
pub const CAPGC_FAST_HEADER_P128_LEN: u64 = 8;
const _: () =
    assert!(CAPGC_FAST_HEADER_NATIVE_SIZE == gc_core::header_size::<capability_heap::Native>());
const _: () =
    assert!(CAPGC_FAST_HEADER_P128_SIZE == gc_core::header_size::<capability_heap::P128>());
/// log2 of the block size: the barrier's block index shift.
pub const CAPGC_FAST_BLOCK_SHIFT: u32 = 16;
const _: () = assert!(CAPGC_FAST_BLOCK_SHIFT == gc_core::FAST_BLOCK_SHIFT);

const _: () = assert!(std::mem::size_of::<capgc_mutator_t>() == CAPGC_MUTATOR_SIZE);
const _: () = assert!(offset_of!(capgc_mutator_t, cursor) == CAPGC_MUTATOR_CURSOR);
const _: () = assert!(offset_of!(capgc_mutator_t, limit) == CAPGC_MUTATOR_LIMIT);
const _: () = assert!(offset_of!(capgc_mutator_t, roots) == CAPGC_MUTATOR_ROOTS);
const _: () = assert!(offset_of!(capgc_mutator_t, roots_top) == CAPGC_MUTATOR_ROOTS_TOP);
const _: () = assert!(offset_of!(capgc_mutator_t, roots_cap) == CAPGC_MUTATOR_ROOTS_CAP);
const _: () = assert!(offset_of!(capgc_mutator_t, max_len) == CAPGC_MUTATOR_MAX_LEN);
const _: () = assert!(offset_of!(capgc_mutator_t, align) == CAPGC_MUTATOR_ALIGN);
const _: () = assert!(offset_of!(capgc_mutator_t, block_base) == CAPGC_MUTATOR_BLOCK_BASE);
const _: () = assert!(offset_of!(capgc_mutator_t, block_states) == CAPGC_MUTATOR_BLOCK_STATES);
const _: () = assert!(offset_of!(capgc_mutator_t, block_count) == CAPGC_MUTATOR_BLOCK_COUNT);
const _: () = assert!(offset_of!(capgc_mutator_t, young_state) == CAPGC_MUTATOR_YOUNG_STATE);
const _: () = assert!(offset_of!(capgc_mutator_t, barrier) == CAPGC_MUTATOR_BARRIER);
const _: () = assert!(offset_of!(capgc_mutator_t, checked) == CAPGC_MUTATOR_CHECKED);
const _: () = assert!(offset_of!(capgc_mutator_t, heap) == CAPGC_MUTATOR_HEAP);
// The shadow stack is gc-core's `ShadowStack`, embedded: same words.
const _: () = assert!(
    offset_of!(capgc_mutator_t, roots_cap) - offset_of!(capgc_mutator_t, roots)
        == offset_of!(ShadowStack, cap)
);
const _: () = assert!(
    offset_of!(capgc_mutator_t, roots_top) - offset_of!(capgc_mutator_t, roots)
        == offset_of!(ShadowStack, top)
);
const _: () = assert!(std::mem::size_of::<capgc_ref_t>() == std::mem::size_of::<ExternRef>());
const _: () = assert!(offset_of!(capgc_ref_t, meta) == offset_of!(ExternRef, meta));

/// The mutator struct inside a heap handle.
pub(crate) type MutatorCell = UnsafeCell<capgc_mutator_t>;

/// Around a call on the heap behind `heap` (see the module docs): takes
/// the lent buffer back, runs `f`, lends again. `m` is the heap's
/// mutator cell, reached only under the busy flag the caller holds; no
/// borrow of it is kept across `f`, which may borrow it itself.
pub(crate) fn exchange(
    m: *mut capgc_mutator_t,
    any: &mut AnyHeap,
    f: impl FnOnce(&mut AnyHeap) -> Result<(), Fail>,
) -> Result<(), Fail> {
    // SAFETY: `m` is valid (the caller's contract) and no other borrow of
    // it is live here.
    let cursor = unsafe { std::mem::replace(&mut (*m).cursor, 0) };
    // SAFETY: as above.
    unsafe { (*m).limit = 0 };
    on_heap!(&mut *any, h => h.fast_reclaim(cursor))?;
    let r = f(any);
    let (c, l) = on_heap!(&mut *any, h => h.fast_lend());
    // SAFETY: as above: `f`'s borrows of `m` ended when it returned.
    unsafe {
        (*m).cursor = c;
        (*m).limit = l;
    }
    r
}

/// Fills `m` from the heap's geometry.
fn set_geometry(m: &mut capgc_mutator_t, g: FastGeometry) {
    m.max_len = g.max_len;
    m.align = g.align;
    m.block_base = g.block_base;
    m.block_states = g.block_states;
    m.block_count = g.block_count;
    m.young_state = u32::from(g.young_state);
    m.barrier = u32::from(g.barrier);
    m.checked = u32::from(g.checked);
}

/// The heap's mutator struct into `*out`: the state `capgc_fast.h`'s
/// inline functions work on, at a fixed address for the heap's life.
/// From this call on, every call on the heap takes the bump buffer back
/// and lends it again (module docs of `fast.rs`).
///
/// # Safety
/// `heap` is a heap from `capgc_heap_new`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_mutator(
    heap: *mut capgc_heap_t,
    out: *mut *mut capgc_mutator_t,
) -> CapgcStatus {
    ffi!(heap, h => {
        writable(out)?;
        // SAFETY: `heap` is valid (ffi! checked it is not null; the
        // caller's contract); the mutator cell is reached only by the
        // thread holding the heap's busy flag, which this call holds.
        let m = unsafe { &mut *(*heap).1.get() };
        set_geometry(m, h.fast_geometry());
        m.heap = heap;
        put(out, m as *mut capgc_mutator_t)
    })
}

/// The heap behind a mutator, checked to be the mutator of its heap.
///
/// # Safety
/// `m` is null or a mutator from `capgc_mutator` whose heap is not freed.
unsafe fn heap_of(m: *mut capgc_mutator_t) -> Result<*mut capgc_heap_t, Fail> {
    // SAFETY: the caller's contract; only the `heap` word is read.
    let Some(heap) = (unsafe { m.as_ref() }).map(|m| m.heap) else {
        return fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "mutator is null");
    };
    // SAFETY: as above: a mutator's heap is a live heap, whose mutator
    // cell's address is compared, not dereferenced.
    if heap.is_null() || unsafe { (*heap).1.get() } != m {
        return fail(
            CapgcStatus::CAPGC_E_NULL_ARGUMENT,
            "not a mutator from capgc_mutator",
        );
    }
    Ok(heap)
}

/// Runs `f` for the heap behind mutator `m`, as an export's body.
macro_rules! on_mutator {
    ($m:expr, $h:ident => $body:expr) => {
        // SAFETY: the export's contract: `m` is null or a mutator from
        // capgc_mutator whose heap is live.
        match unsafe { heap_of($m) } {
            Ok(heap) => ffi!(heap, $h => $body),
            Err(e) => crate::ffi::finish(Err(e)),
        }
    };
}

/// The inline allocation's refill (`capgc_fast_alloc`): allocates an
/// object of type `ty` with a payload of `len` bytes — a fixed-size
/// type's own size, or an array's length in bytes (a multiple of the
/// slot size for a reference array; `CAPGC_E_OUT_OF_RANGE` otherwise) —
/// and lends a new buffer. A safepoint: it may collect.
///
/// # Safety
/// `m` is a mutator from `capgc_mutator`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_fast_alloc_slow(
    m: *mut capgc_mutator_t,
    ty: capgc_type_t,
    len: u64,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    on_mutator!(m, h => {
        writable(out)?;
        let o = h.alloc_sized(type_of(ty), len)?;
        put(out, export(h, &o)?)
    })
}

/// The write barrier's out-of-line half (`capgc_fast_store_ref`):
/// remembers reference slot `offset` of `obj` if it holds a reference
/// from an old object to a young one (I9). Not a safepoint.
///
/// # Safety
/// `m` is a mutator from `capgc_mutator`.
#[no_mangle]
pub unsafe extern "C" fn capgc_fast_remember(
    m: *mut capgc_mutator_t,
    obj: capgc_ref_t,
    offset: u64,
) -> CapgcStatus {
    on_mutator!(m, h => {
        let o = import(h, obj)?;
        Ok(h.remember(&o, offset)?)
    })
}

/// Registers `refs` (room for `cap` references) as the heap's shadow
/// stack: `m->roots = refs`, `m->roots_cap = cap`, `m->roots_top = 0`.
/// The VM pushes and pops by writing `refs[i]` and `m->roots_top`
/// directly; every collection validates the entries below the top (an
/// invalid one refuses the collection with its status: FORGED, STALE,
/// NOT_AN_OBJECT, OUT_OF_RANGE for a top past `cap`), keeps their
/// objects alive and rewrites them to the objects' new places. Null
/// `refs` with `cap` 0 unregisters.
///
/// # Safety
/// `m` is a mutator from `capgc_mutator`; `refs` is null with `cap` 0,
/// or valid for reads and writes of `cap` references until unregistered
/// or the heap is freed.
#[no_mangle]
pub unsafe extern "C" fn capgc_fast_roots(
    m: *mut capgc_mutator_t,
    refs: *mut capgc_ref_t,
    cap: u64,
) -> CapgcStatus {
    on_mutator!(m, h => {
        if refs.is_null() && cap != 0 {
            return Err(Fail(CapgcStatus::CAPGC_E_NULL_ARGUMENT, "refs is null".into()));
        }
        // SAFETY: heap_of checked `m` is this heap's mutator, reached only
        // under the busy flag this call holds.
        let mm = unsafe { &mut *m };
        mm.roots = refs;
        mm.roots_cap = cap;
        mm.roots_top = 0;
        let stack = std::ptr::addr_of!(mm.roots).cast::<ShadowStack>();
        // SAFETY: the three words from `roots` are a `ShadowStack`
        // (asserted above); the mutator lives as long as the heap, and the
        // caller's contract covers `refs`.
        unsafe { h.set_shadow_stack(if refs.is_null() { std::ptr::null() } else { stack }) };
        Ok(())
    })
}
