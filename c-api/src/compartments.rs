//! Compartments: `capgc_split_heap_t`, a heap split into compartments
//! that reach each other only through sealed references (docs/design.md
//! "Compartments", I7; `gc_core::Compartments` underneath).
//!
//! A split heap is created for one mode and format
//! (`capgc_split_heap_new`); each compartment (`capgc_compartment_new`)
//! is a heap of its own — region, authority, allocator, plan, roots,
//! types, statistics — named by a `capgc_compartment_t` token that
//! carries its split heap's identity. What crosses goes sealed:
//! `capgc_seal` (the owner exports an object for a holder) gives a
//! `capgc_sealed_t`, which the holder stores (`capgc_set_sealed`,
//! `capgc_region_set_sealed`), loads back and hands on, and which only the
//! owner opens (`capgc_unseal`). An unsealed reference of one compartment
//! offered to another — a field, a root region, a handle, a persistent, a
//! weak reference, an ephemeron — is `CAPGC_E_COMPARTMENT_VIOLATION`,
//! counted in the pair statistics (`capgc_split_heap_pair_stats`, the
//! "non-local access" report of `capgc_split_heap_report`).
//!
//! **Inside a compartment** the calls are `capgc_compartment_*` mirrors of
//! the heap functions (types, allocation, fields, root regions, scopes,
//! handles, persistent roots, weak references, ephemerons, collection,
//! statistics), each taking the split heap and the compartment. The
//! design rejected: handing out a borrowed `capgc_heap_t` per compartment
//! so that every heap function works unchanged. A `capgc_heap_t` owns its
//! heap (`AnyHeap` inside the guard); a borrowed one would have to keep
//! the split heap alive and re-validate its compartment on every call of
//! every heap function, which means a borrowed variant in `AnyHeap` and
//! its dispatch — a change to the heap ABI, left for when the mirrors
//! prove too narrow. With the mirrors nothing can dangle: every call
//! names the split heap and re-checks the compartment token (another
//! split heap's is `CAPGC_E_WRONG_HEAP`, one out of range
//! `CAPGC_E_INVALID_COMPARTMENT`, a torn-down one
//! `CAPGC_E_COMPARTMENT_DESTROYED`).
//!
//! **References.** A `capgc_ref_t` of a compartment is authenticated by
//! that compartment's heap (as `refs.rs` says); another compartment's
//! heap would call its bits forged. So that an unsealed foreign reference
//! is refused as what it is, a reference a compartment does not accept is
//! tried against the other live compartments of the split heap: one that
//! accepts it makes it a genuine foreign reference, which the first
//! compartment's heap then refuses — `CAPGC_E_COMPARTMENT_VIOLATION` and
//! counted, exactly as the Rust API refuses it (in Native and P128,
//! which check no capabilities, a *read* through one is refused by the
//! region's bounds, `CAPGC_E_BOUNDS`; every store is the violation).
//!
//! **Sealed references** cross as `capgc_sealed_t`, four words
//! authenticated under the split heap's key
//! (`Compartments::sealed_to_bits`): altered or fabricated bits, and
//! another split heap's, are `CAPGC_E_FORGED`. A sealed reference
//! designates an export entry, not the object, so it survives every
//! collection of its owner and of its holder. Held only in C it is no
//! root: the whole-heap collection releases an export nothing stored
//! reaches (`CAPGC_E_SEALED_REVOKED` afterwards) — store it to keep it.
//! After `capgc_compartment_destroy` every sealed reference to the
//! compartment, in C or in memory, is `CAPGC_E_COMPARTMENT_DESTROYED`.
//!
//! **Threat model** (docs/design.md). In SoftCheri, code that uses the heap
//! only through these calls cannot reach another compartment's objects.
//! Native code in the same process can still write any byte; what stops
//! it fabricating a valid reference or sealed token is the authentication
//! (per compartment heap and per split heap) and, on CHERI hardware, the
//! tag. Native and P128 enforce the API's refusals but no capability
//! checks.
//!
//! One thread at a time per split heap (`CAPGC_E_BUSY`); a caught panic
//! poisons the whole split heap (`CAPGC_E_POISONED`).
//!
//! Files: this one (the split heap, compartments, sealed references),
//! `collection.rs` (collection, the report, the verifier), `heap.rs`
//! (inside one compartment). Configurations are checked by `heap.rs`'s
//! `checked_config_of`, statistics and violations mapped by `stats.rs`'s
//! `stats_of` and `violation_of`: one home each.

use crate::error::CapgcStatus;
use crate::ffi::{
    fail, free_boxed, get, put, put_opt, with_guarded, without_heap, writable, Fail, Guard,
    Handle as GuardedHandle,
};
use crate::heap::{capgc_config_default, capgc_config_t, CapgcFormat, CapgcMode};
use crate::refs::{capgc_ref_t, export, import};
use crate::roots::capgc_region_t;
use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{CompartmentId, Compartments, HeapConfig, ObjRef, RootRegionId, SealedRef};

/// A compartment of a split heap: a token valid in the split heap that
/// created it (any bits are safe to pass).
#[allow(non_camel_case_types)]
pub type capgc_compartment_t = u64;

/// A sealed reference: another compartment's object, which its holder can
/// store, copy and hand back, but only the owner can open
/// (`capgc_unseal`). Authenticated: bits the split heap did not hand out
/// are `CAPGC_E_FORGED`. Valid across collections; a whole-heap
/// collection revokes it (`CAPGC_E_SEALED_REVOKED`) unless a copy is
/// stored in a compartment's object or root region. Two tokens for the
/// same export may differ in their bits (they record the compartment they
/// came through): compare them with `capgc_sealed_same`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub struct capgc_sealed_t {
    /// Opaque.
    pub w: [u64; 4],
}

/// The split heaps a `capgc_split_heap_t` can hold, one per mode and
/// format.
pub(crate) enum AnySplit {
    Native(Compartments<Native>),
    P128(Compartments<P128>),
    Morello(Compartments<SoftCheri<Morello>>),
    CheriV9(Compartments<SoftCheri<CheriV9>>),
    RiscvStd(Compartments<SoftCheri<RiscvStd>>),
}

/// What the guard of a split heap holds.
pub(crate) struct Split {
    world: AnySplit,
    /// The configuration of compartments created without one.
    defaults: capgc_config_t,
}

/// A heap split into compartments (opaque). One thread at a time, as a
/// `capgc_heap_t`.
#[allow(non_camel_case_types)]
pub struct capgc_split_heap_t(Guard<Split>);

impl GuardedHandle for capgc_split_heap_t {
    type Inner = Split;
    fn guard(&self) -> &Guard<Split> {
        &self.0
    }
}

/// Dispatches over the monomorphised split heaps, as `on_heap!` does.
macro_rules! on_split {
    ($any:expr, $w:ident => $body:expr) => {
        match $any {
            $crate::compartments::AnySplit::Native($w) => $body,
            $crate::compartments::AnySplit::P128($w) => $body,
            $crate::compartments::AnySplit::Morello($w) => $body,
            $crate::compartments::AnySplit::CheriV9($w) => $body,
            $crate::compartments::AnySplit::RiscvStd($w) => $body,
        }
    };
}

/// The body of every export on a split heap: `split_ffi!(split, w => {
/// ... })` runs the block with `w: &mut Compartments<M>` under
/// `with_guarded` (null, busy, poison, panics — as `ffi!`).
macro_rules! split_ffi {
    ($split:expr, $w:ident => $body:expr) => {
        $crate::ffi::with_guarded($split, |s: &mut $crate::compartments::Split| {
            on_split!(&mut s.world, $w => $body)
        })
    };
}

mod collection;
mod heap;
#[cfg(test)]
mod tests;

pub use collection::*;
pub use heap::*;

/// The heap a configuration's mode and format select.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Native,
    P128,
    Morello,
    CheriV9,
    RiscvStd,
}

impl AnySplit {
    fn new(kind: Kind) -> Result<AnySplit, Fail> {
        Ok(match kind {
            Kind::Native => AnySplit::Native(Compartments::new()?),
            Kind::P128 => AnySplit::P128(Compartments::new()?),
            Kind::Morello => AnySplit::Morello(Compartments::new()?),
            Kind::CheriV9 => AnySplit::CheriV9(Compartments::new()?),
            Kind::RiscvStd => AnySplit::RiscvStd(Compartments::new()?),
        })
    }

    fn kind(&self) -> Kind {
        match self {
            AnySplit::Native(_) => Kind::Native,
            AnySplit::P128(_) => Kind::P128,
            AnySplit::Morello(_) => Kind::Morello,
            AnySplit::CheriV9(_) => Kind::CheriV9,
            AnySplit::RiscvStd(_) => Kind::RiscvStd,
        }
    }
}

/// A configuration checked field by field as `capgc_heap_new` checks it
/// (the same refusals; mirrors `heap.rs`'s private `heap_from`).
fn checked_config(c: &capgc_config_t) -> Result<(Kind, HeapConfig), Fail> {
    use CapgcFormat as F;
    let (mode, format, config) = crate::heap::checked_config_of(
        c,
        "a compartment",
        "a split heap's verifier is capgc_split_heap_verify",
    )?;
    let kind = match (mode, format) {
        (CapgcMode::CAPGC_MODE_NATIVE, _) => Kind::Native,
        (CapgcMode::CAPGC_MODE_P128, _) => Kind::P128,
        (CapgcMode::CAPGC_MODE_SOFTCHERI, F::CAPGC_FORMAT_MORELLO) => Kind::Morello,
        (CapgcMode::CAPGC_MODE_SOFTCHERI, F::CAPGC_FORMAT_CHERI_V9) => Kind::CheriV9,
        (CapgcMode::CAPGC_MODE_SOFTCHERI, F::CAPGC_FORMAT_RISCV_STD) => Kind::RiscvStd,
    };
    Ok((kind, config))
}

/// The compartment a C token names.
fn id(c: capgc_compartment_t) -> CompartmentId {
    CompartmentId::from_bits(c)
}

/// `r` as a reference for compartment `c` (see the module docs): one `c`
/// exported, or a genuine reference of another live compartment, which
/// `c`'s heap refuses and counts wherever it is offered. Bits no
/// compartment accepts get `c`'s verdict (forged, stale, not an object).
fn import_in<M: RefMode>(
    w: &Compartments<M>,
    c: CompartmentId,
    r: capgc_ref_t,
) -> Result<ObjRef<M>, Fail> {
    let own = import(w.heap(c)?, r);
    own.or_else(|e| {
        w.compartments()
            .into_iter()
            .filter(|&d| d != c)
            .find_map(|d| w.heap(d).ok().and_then(|h| import(h, r).ok()))
            .ok_or(e)
    })
}

/// The sealed reference behind C's token, authenticated.
fn sealed_in<M: RefMode>(
    w: &Compartments<M>,
    s: *const capgc_sealed_t,
) -> Result<SealedRef<M>, Fail> {
    Ok(w.sealed_from_bits(get(s, "sealed")?.w)?)
}

/// Writes the token of `s` through `out`.
fn sealed_out<M: RefMode>(
    w: &Compartments<M>,
    s: &SealedRef<M>,
    out: *mut capgc_sealed_t,
) -> Result<(), Fail> {
    put(
        out,
        capgc_sealed_t {
            w: w.sealed_to_bits(s),
        },
    )
}

// ---- the split heap and its compartments ----------------------------------

/// Creates an empty split heap for the mode and format of `config` (null:
/// the defaults, SoftCheri Morello) into `*out`; `config` is also what
/// `capgc_compartment_new` uses when given none. Free it with
/// `capgc_split_heap_free`.
///
/// # Safety
/// `config` is null or points to a `capgc_config_t`; `out` points to
/// writable storage for a pointer.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_new(
    config: *const capgc_config_t,
    out: *mut *mut capgc_split_heap_t,
) -> CapgcStatus {
    without_heap(|| {
        writable(out)?;
        let defaults = if config.is_null() {
            capgc_config_default()
        } else {
            *get(config, "config")?
        };
        let (kind, _) = checked_config(&defaults)?;
        let world = AnySplit::new(kind)?;
        put(
            out,
            Guard::boxed(Split { world, defaults }, capgc_split_heap_t),
        )
    })
}

/// Frees a split heap: every compartment, and every reference, token and
/// sealed reference of it, is meaningless afterwards. Null is ignored.
///
/// # Safety
/// `split` is null or a split heap from `capgc_split_heap_new` not yet
/// freed, and no other call on it is in progress or follows.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_free(split: *mut capgc_split_heap_t) {
    // SAFETY: the caller's contract: null or from capgc_split_heap_new,
    // freed once, nothing else in progress.
    unsafe { free_boxed(split) }
}

/// The split heap's mode (`capgc_mode_t`) into `*mode` and
/// reference-slot size in bytes into `*slot_size` (8 in Native, 16
/// otherwise); either may be null.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `mode` and
/// `slot_size` are null or writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_split_heap_mode(
    split: *mut capgc_split_heap_t,
    mode: *mut u32,
    slot_size: *mut u64,
) -> CapgcStatus {
    with_guarded(split, |s| {
        let (m, size) = match s.world.kind() {
            Kind::Native => (CapgcMode::CAPGC_MODE_NATIVE, 8),
            Kind::P128 => (CapgcMode::CAPGC_MODE_P128, 16),
            _ => (CapgcMode::CAPGC_MODE_SOFTCHERI, 16),
        };
        put_opt(mode, m as u32)?;
        put_opt(slot_size, size)
    })
}

/// Creates a compartment — a heap of its own, with its own region,
/// authority and object type — from `config` (null: the split heap's),
/// whose mode and format must be the split heap's
/// (`CAPGC_E_INVALID_CONFIG` otherwise; the plan may differ), and stores
/// its token in `*out`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `config` is null
/// or points to a `capgc_config_t`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_new(
    split: *mut capgc_split_heap_t,
    config: *const capgc_config_t,
    out: *mut capgc_compartment_t,
) -> CapgcStatus {
    with_guarded(split, |s| {
        writable(out)?;
        let c = if config.is_null() {
            s.defaults
        } else {
            *get(config, "config")?
        };
        let (kind, config) = checked_config(&c)?;
        if kind != s.world.kind() {
            return fail(
                CapgcStatus::CAPGC_E_INVALID_CONFIG,
                format!(
                    "a compartment's mode and format are its split heap's ({:?}), not {kind:?}",
                    s.world.kind()
                ),
            );
        }
        on_split!(&mut s.world, w => put(out, w.create(config)?.to_bits()))
    })
}

/// Tears compartment `c` down: its heap and memory go, its addresses stay
/// reserved, and every sealed reference to its objects — in C or in
/// another compartment's memory — is `CAPGC_E_COMPARTMENT_DESTROYED` from
/// now on; the other compartments keep working.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_destroy(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
) -> CapgcStatus {
    split_ffi!(split, w => Ok(w.destroy(id(c))?))
}

/// The number of live exports of compartment `c` (its objects that
/// sealed references designate).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_exports(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    out: *mut u64,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, w.exports(id(c))? as u64))
}

/// Compartment `c`'s import table, one entry: how many sealed references
/// to compartment `owner`'s objects `c`'s objects and root regions hold
/// (read off `c`'s memory, so it never goes stale; `owner` may have been
/// torn down).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_imports(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    owner: capgc_compartment_t,
    out: *mut u64,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, w.imports_from(id(c), id(owner))?))
}

/// The object type compartment `c` seals with (a software object type of
/// Morello and CHERI v9; a number Native, P128 and the RISC-V standard
/// format carry but do not check).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_compartment_object_type(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    out: *mut u32,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, w.object_type(id(c))?))
}

// ---- sealed references -------------------------------------------------------

/// Seals `obj`, an object of compartment `owner`, for compartment
/// `holder`: the owner exports it (once per object: sealing it again
/// designates the same export) and `*out` gets the sealed reference. A
/// safepoint of `owner`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_seal(
    split: *mut capgc_split_heap_t,
    owner: capgc_compartment_t,
    obj: capgc_ref_t,
    holder: capgc_compartment_t,
    out: *mut capgc_sealed_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        // Checked first: a refused call exports nothing and counts nothing.
        writable(out)?;
        let o = import_in(w, id(owner), obj)?;
        let s = w.seal(id(owner), &o, id(holder))?;
        sealed_out(w, &s, out)
    })
}

/// Opens a sealed reference: `by` must own it (`CAPGC_E_UNSEAL_DENIED`
/// otherwise, counted); `*out` gets the object, a reference of `by`.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `sealed` points
/// to a `capgc_sealed_t`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_unseal(
    split: *mut capgc_split_heap_t,
    by: capgc_compartment_t,
    sealed: *const capgc_sealed_t,
    out: *mut capgc_ref_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        writable(out)?;
        let s = sealed_in(w, sealed)?;
        let o = w.unseal(id(by), &s)?;
        put(out, export(w.heap(id(by))?, &o)?)
    })
}

/// The compartment that owns a sealed reference (the one that can
/// unseal it).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `sealed` points
/// to a `capgc_sealed_t`; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_sealed_owner(
    split: *mut capgc_split_heap_t,
    sealed: *const capgc_sealed_t,
    out: *mut capgc_compartment_t,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, sealed_in(w, sealed)?.owner().to_bits()))
}

/// Whether two sealed references designate the same export (the same
/// object), whichever compartments they came through.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `a` and `b` point
/// to `capgc_sealed_t`s; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_sealed_same(
    split: *mut capgc_split_heap_t,
    a: *const capgc_sealed_t,
    b: *const capgc_sealed_t,
    out: *mut bool,
) -> CapgcStatus {
    split_ffi!(split, w => put(out, sealed_in(w, a)? == sealed_in(w, b)?))
}

/// Stores a sealed reference in reference slot `offset` of `holder`, an
/// object of compartment `c`, with the write barrier.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `sealed` points
/// to a `capgc_sealed_t`.
#[no_mangle]
pub unsafe extern "C" fn capgc_set_sealed(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    holder: capgc_ref_t,
    offset: u64,
    sealed: *const capgc_sealed_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let s = sealed_in(w, sealed)?;
        let h = import_in(w, id(c), holder)?;
        Ok(w.set_sealed(id(c), &h, offset, &s)?)
    })
}

/// Loads the sealed reference in reference slot `offset` of `holder`, an
/// object of compartment `c` (`CAPGC_E_NOT_SEALED` if the slot holds
/// anything else).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_get_sealed(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    holder: capgc_ref_t,
    offset: u64,
    out: *mut capgc_sealed_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let h = import_in(w, id(c), holder)?;
        let s = w.get_sealed(id(c), &h, offset)?;
        sealed_out(w, &s, out)
    })
}

/// Stores a sealed reference in slot `index` of root region `region` of
/// compartment `c`: a root, which keeps the export alive across
/// whole-heap collections.
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `sealed` points
/// to a `capgc_sealed_t`.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_set_sealed(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    region: capgc_region_t,
    index: u64,
    sealed: *const capgc_sealed_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let s = sealed_in(w, sealed)?;
        Ok(w.root_set_sealed(id(c), RootRegionId::from_bits(region.w), index, &s)?)
    })
}

/// Loads the sealed reference in slot `index` of root region `region` of
/// compartment `c` (`CAPGC_E_NOT_SEALED` if it holds anything else).
///
/// # Safety
/// `split` is a split heap from `capgc_split_heap_new`; `out` is
/// writable.
#[no_mangle]
pub unsafe extern "C" fn capgc_region_get_sealed(
    split: *mut capgc_split_heap_t,
    c: capgc_compartment_t,
    region: capgc_region_t,
    index: u64,
    out: *mut capgc_sealed_t,
) -> CapgcStatus {
    split_ffi!(split, w => {
        let s = w.root_get_sealed(id(c), RootRegionId::from_bits(region.w), index)?;
        sealed_out(w, &s, out)
    })
}
