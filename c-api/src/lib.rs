//! # capgc — the C ABI of CapGC
//!
//! `libcapgc` (shared and static) and its header `include/capgc.h`,
//! generated from this crate by cbindgen. One Rust file per header
//! section:
//!
//! | file | section |
//! |---|---|
//! | `version.rs` | `CAPGC_VERSION_*`, `capgc_version`, the compatibility rule |
//! | `error.rs` | `capgc_status_t`, `capgc_status_name`, `capgc_last_error`, `capgc_last_error_copy` |
//! | `heap.rs` | `capgc_config_t`, heaps, collection |
//! | `types.rs` | type registration, trace callbacks (views, visitors) |
//! | `refs.rs` | `capgc_ref_t`, allocation, fields, pinning, payload pointers |
//! | `roots.rs` | scopes, handles, persistent roots, root regions, the slot API |
//! | `slots.rs` | the slot API's scalars, byte ranges, weak references, ephemerons, finalizers |
//! | `weak.rs` | weak references, ephemerons, finalization tokens |
//! | `stats.rs` | statistics, the log line, the verifier |
//! | `fast.rs` | the fast path: `capgc_mutator_t`, its layout constants, the entries `capgc_fast.h` calls out to |
//! | `cells.rs` | the binding profile: raw-pointer cells for existing VMs (Native, P128) |
//! | `cell_compartments.rs` | the binding profile's compartments: current compartment, per-pair report, strict stores |
//! | `compartments.rs` | split heaps, compartments, sealed references, the non-local access report |
//!
//! Every export goes through `ffi.rs`: panics are caught (the heap is then
//! poisoned), null and invalid arguments are statuses, a second thread on
//! a heap is `CAPGC_E_BUSY`, and enums from C are checked as integers
//! before they become Rust enums. References cross as `capgc_ref_t`,
//! authenticated in SoftCheri (`gc_core::ExternRef`).
//!
//! The modules are declared in the header's order: the core API first
//! (cbindgen emits items in declaration order), the binding profile and
//! compartments last.

#![allow(non_camel_case_types)]

// The header's order: the core API first, then the binding profile and
// compartments (cbindgen follows these declarations).
mod version;

mod error;

mod ffi;

mod heap;

mod types;

mod refs;

mod roots;

mod slots;

mod weak;

mod stats;

mod fast;

mod cells;

mod cell_compartments;

mod compartments;

pub use cell_compartments::*;
pub use cells::*;
pub use compartments::*;
pub use error::*;
pub use fast::*;
pub use heap::*;
pub use refs::*;
pub use roots::*;
pub use slots::*;
pub use stats::*;
pub use types::*;
pub use version::*;
pub use weak::*;
