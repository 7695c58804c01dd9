//! # gc-core
//!
//! CapGC's collector: the object model, precise roots, the plans and the
//! heap verifier, generic over the reference mode of `capability-heap`
//! (`Native`, `P128`, `SoftCheri<F>`), monomorphised per mode.
//!
//! Crate map — each concept in one place:
//! - [`Heap`] (`heap.rs`): creation, identity, the validation every entry
//!   point shares, statistics. Its API is spread over the modules of what
//!   it acts on: `mutator.rs` (allocation, fields, the write barrier's
//!   call), `roots.rs`, `weak.rs`, `types.rs`, `plan/` (collection),
//!   `verify/`.
//! - [`HeapConfig`], [`Plan`], [`ScanStrategy`] (`config.rs`);
//!   [`GcError`] with [`ConfigError`], [`TypeError`] (`error.rs`).
//! - [`ObjRef`] and the header type, [`header_size`] bytes (`object/`).
//! - [`ObjectType`], [`TypeId`] (`types.rs`): the per-heap registry and
//!   the one rule for reference slots.
//! - [`Handle`], [`Scope`], [`Persistent`], [`RootRegionId`]
//!   (`roots.rs`); [`WeakRef`], [`Ephemeron`], [`Finalizer`] (`weak.rs`);
//!   all on one generational table (`slab.rs`).
//! - `policy/`: the spaces — blocks, the mark-sweep space, the
//!   large-object space, the copy space, evacuation — and the arena that
//!   holds one region's worth of them.
//! - `plan/`: the plans (`marksweep`, `semispace`, `generational/` with
//!   its barrier and nursery sizing), the constraints table, pacing.
//! - `trace/`: slot enumeration, marking, the ephemeron fixpoint.
//! - [`ShadowStack`], [`FastGeometry`] (`fast.rs`): the fast path for
//!   code outside Rust — the copy space's bump buffer lent between calls
//!   and checked when taken back, a shadow stack of exported references
//!   that every collection validates and rewrites (`capgc_fast.h`).
//! - [`ExternRef`] (`export.rs`): references as authenticated bits, for
//!   code outside tagged memory (the C ABI), and their validated re-entry.
//! - [`Compartments`] (`compartment/`): one heap split into compartments,
//!   each a [`Heap`] with its own region, authority and object type;
//!   [`SealedRef`]s between them, export tables, independent and
//!   whole-heap collection, teardown, the non-local access report.
//! - [`Violation`] (`verify/`): [`Heap::verify`] checks I1–I6, I8, I9,
//!   and I7 in compartments.
//! - [`CellHeap`] (`cells/`): the binding profile for existing VMs — raw
//!   pointer cells, VM-supplied roots, traces and release, split
//!   collection, incremental marking and lazy sweeping — beside the
//!   capability heap, sharing its blocks and bitmaps.
//! - [`HeapStats`], [`CollectionStats`], [`PauseHistogram`] (`stats.rs`);
//!   `CAPGC_LOG=gc`.
//! - [`Zeal`] (`zeal.rs`): the GC zeal mode for finding a VM's missing
//!   roots — collect every N allocations, verify after every collection,
//!   move everything movable, poison freed memory; from
//!   [`HeapConfig::zeal`] or `CAPGC_ZEAL`.
//!
//! Decisions where docs/design.md is silent: a plain [`ObjRef`] is valid until
//! the next collection in every plan (checked modes refuse it afterwards
//! with [`GcError::StaleReference`], the software analogue of revoking
//! register-held capabilities), so objects kept across allocations live in
//! handles, persistents or root regions; bits come back as an `ObjRef`
//! only through [`Heap::import_ref`], which authenticates them; root-region slots are 16 bytes in every mode so each has its
//! own tag bit; scanning by tag needs a tagged mode; evacuated blocks are
//! quarantined for one collection and zeroed when next handed out; the
//! Generational nursery is sized to a minor-pause goal (1 ms by default,
//! [`HeapConfig::pause_goal`]) from the measured cost of evacuating a
//! byte.
//!
//! ```
//! use capability_heap::{Morello, SoftCheri};
//! use gc_core::{GcError, Heap, HeapConfig};
//! type M = SoftCheri<Morello>;
//!
//! let mut heap = Heap::<M>::new(HeapConfig::default())?;
//! let node = heap.record_type(1, 8)?; // one reference, 8 data bytes
//! let a = heap.alloc(node)?;
//! let ha = heap.handle(&a)?;
//! let b = heap.alloc(node)?; // a safepoint: `a` may be stale now
//! let a = heap.get(ha)?;
//! heap.set_ref(&a, Heap::<M>::ref_offset(0), &b)?;
//! heap.write::<u64>(&b, Heap::<M>::data_offset(1), 42)?;
//! heap.collect()?;
//! assert_eq!(heap.read::<u64>(&b, 16), Err(GcError::StaleReference));
//! let a = heap.get(ha)?;
//! let b = heap.get_ref(&a, 0)?;
//! assert_eq!(heap.read::<u64>(&b, 16)?, 42);
//! // Past the end of the (16-byte padded) payload: refused by b's own capability.
//! assert!(matches!(heap.read::<u64>(&b, 32), Err(GcError::Cap(_))));
//! heap.verify().expect("I1-I6, I8, I9 hold");
//! # Ok::<(), GcError>(())
//! ```
//!
//! **Threat model** (docs/design.md "Threat model", restated precisely). In
//! `SoftCheri`, code that manipulates the heap only through CapGC — an
//! interpreter's scripts, a VM on the slot API, through this crate or the
//! C ABI — cannot forge a reference, reach outside an object, widen
//! permissions, use a stale reference, or reach another compartment's
//! objects: each is refused with its own [`GcError`] and the verifier
//! passes afterwards. Native code in the same process can still write any
//! byte of the process, SoftCheri's tag bitmaps included: what stops it
//! fabricating a *valid* reference is the ABI's authentication (a MAC per
//! heap for [`ExternRef`], per split heap for sealed tokens) and, on CHERI
//! hardware, the tag. The unchecked modes (`Native`, `P128`) keep the
//! API's refusals (null, types, slots, compartment crossings, sealed
//! slots) but check no bounds, permissions or epochs: they are the
//! baseline the capability cost is measured against.
//!
//! There is no way back from bits to a reference:
//!
//! ```compile_fail,E0599
//! use capability_heap::{Morello, SoftCheri};
//! use gc_core::{Heap, HeapConfig};
//! let mut heap = Heap::<SoftCheri<Morello>>::new(HeapConfig::default()).unwrap();
//! let node = heap.record_type(0, 16).unwrap();
//! let o = heap.alloc(node).unwrap();
//! let again = heap.ref_from_raw(o.raw());
//! ```

mod cells;
mod compartment;
mod config;
mod error;
mod export;
mod fast;
mod heap;
mod mark_bits;
mod mutator;
mod object;
mod plan;
mod policy;
mod roots;
mod slab;
mod stats;
mod trace;
mod types;
mod verify;
mod weak;
mod zeal;

pub use cells::{
    CellCompartment, CellConfig, CellCycle, CellEdges, CellHeap, CellPhase, CellStats, CellType,
    CellVm, Marker,
};
pub use compartment::{
    CompartmentId, Compartments, PairStats, SealedRef, WholeHeapStats, NO_COMPARTMENT,
};
pub use config::{log_from_env, HeapConfig, Plan, ScanStrategy};
pub use error::{ConfigError, GcError, TypeError};
pub use export::ExternRef;
pub use fast::{FastGeometry, ShadowStack, FAST_BLOCK_SHIFT};
pub use heap::Heap;
pub use object::{header_size, ObjRef};
pub use roots::{Handle, Persistent, RootRegionId, Scope};
pub use stats::{log_line, CollectionKind, CollectionStats, HeapStats, PauseHistogram};
pub use types::{ObjectType, ObjectView, TraceClosure, TraceDyn, TraceFn, TypeId};
pub use verify::{RefLocation, Violation};
pub use weak::{Ephemeron, EphemeronPair, Finalizer, WeakRef};
pub use zeal::Zeal;
