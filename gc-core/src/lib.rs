//! # gc-core
//!
//! CapGC's collector: the object model, precise roots, the plans and the
//! heap verifier, generic over the reference mode of `capability-heap`
//! (`Native`, `P128`, `SoftCheri<F>`), monomorphised per mode.
//!
//! Crate map:
//! - [`Heap`] (`heap.rs`): a heap value and the mutator API — allocation
//!   (moving, or pinned), checked field access, reference fields with the
//!   generational write barrier, handles, persistent roots, root regions.
//! - [`HeapConfig`], [`Plan`], [`ScanStrategy`] (`config.rs`).
//! - [`ObjectType`], [`TypeId`] (`types.rs`): the per-heap type registry.
//! - [`ObjRef`] (`object.rs`): a reference as the mutator holds it; the
//!   header layout and flags (pinned, forwarded).
//! - `plan/`: the plans — `marksweep/` (blocks, size classes, large-object
//!   space, sweep), `copy_space.rs` (bump allocation, quarantine, retained
//!   blocks), `evacuate.rs` (copying with forwarding and I8 re-derivation),
//!   and the collection driver (`Heap::collect`, `Heap::collect_minor`).
//! - `trace.rs`: marking by type map or by tag; `mark_bits.rs`: side
//!   bitmaps.
//! - [`WeakRef`], [`Ephemeron`] and finalization (`weak.rs`).
//! - [`Violation`] (`verify.rs`): `Heap::verify` checks I1–I6, I8, I9.
//! - [`HeapStats`], [`CollectionStats`] (`stats.rs`); `CAPGC_LOG=gc`.
//!
//! Decisions where DESIGN.md is silent: a plain [`ObjRef`] is valid until
//! the next collection in every plan (checked modes refuse it afterwards
//! with [`GcError::StaleReference`], the software analogue of revoking
//! register-held capabilities), so objects kept across allocations live in
//! handles, persistents or root regions; root-region slots are 16 bytes in
//! every mode so each has its own tag bit; scanning by tag needs a tagged
//! mode; evacuated blocks are quarantined for one collection and zeroed
//! when next handed out; the Generational nursery is sized to a
//! minor-pause goal (1 ms by default, [`HeapConfig::pause_goal`]) from the
//! measured cost of evacuating a byte.
//!
//! ```
//! use capability_heap::{Morello, SoftCheri};
//! use gc_core::{GcError, Heap, HeapConfig};
//!
//! let mut heap = Heap::<SoftCheri<Morello>>::new(HeapConfig::default())?;
//! let node = heap.record_type(1, 8)?; // one reference, 8 data bytes
//! let a = heap.alloc(node)?;
//! let ha = heap.handle(&a)?;
//! let b = heap.alloc(node)?; // a safepoint: `a` may be stale now
//! let a = heap.get(ha)?;
//! heap.set_ref(&a, Heap::<SoftCheri<Morello>>::ref_offset(0), &b)?;
//! heap.write::<u64>(&b, Heap::<SoftCheri<Morello>>::data_offset(1), 42)?;
//! heap.collect();
//! let a = heap.get(ha)?;
//! let b = heap.get_ref(&a, 0)?;
//! assert_eq!(heap.read::<u64>(&b, 16)?, 42);
//! // Past the end of the (16-byte padded) payload: refused by b's own capability.
//! assert!(matches!(heap.read::<u64>(&b, 32), Err(GcError::Cap(_))));
//! heap.verify().expect("I1-I6 hold");
//! # Ok::<(), GcError>(())
//! ```

mod config;
mod error;
mod heap;
mod mark_bits;
mod object;
mod plan;
mod roots;
mod stats;
mod trace;
mod types;
mod verify;
mod weak;

pub use config::{log_from_env, HeapConfig, Plan, ScanStrategy};
pub use error::GcError;
pub use heap::Heap;
pub use object::{ObjRef, HEADER_SIZE};
pub use roots::{Handle, Persistent, RootRegionId, Scope};
pub use stats::{log_line, CollectionKind, CollectionStats, HeapStats};
pub use types::{ObjectType, ObjectView, TraceFn, TypeId};
pub use verify::{RefLocation, Violation};
pub use weak::{Ephemeron, EphemeronPair, WeakRef};
