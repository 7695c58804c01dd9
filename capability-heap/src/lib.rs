//! # capability-heap
//!
//! Bit-exact CHERI capabilities over software-tagged memory: the
//! foundation the CapGC collector is generic over.
//!
//! Crate map:
//! - [`format`](mod@format): the three 128-bit encodings ([`Morello`], [`CheriV9`],
//!   [`RiscvStd`]) behind the [`Format`] trait: decode, encode, rounding
//!   SetBounds, representability, CRRL/CRAM.
//! - [`Capability`]: a capability value with the ISA's semantics and
//!   private fields; monotone derivations; typed [`CapFault`]s.
//! - [`TaggedRegion`] ([`tagged`]): mmap'd memory with an out-of-band bit
//!   per 16-byte granule — capability memory (the bits are tags) or plain
//!   memory (markers) —, guard pages, checked capability and data loads
//!   and stores, word-at-a-time tag scans. Every dereference of the
//!   mapping is in its `raw` submodule.
//! - [`mode`]: the reference modes ([`Native`], [`P128`], [`SoftCheri`])
//!   behind [`RefMode`] (the mutator half) and [`mode::Collector`] (the
//!   collector half: authority, derivation, undecoded [`RawCap`] slots).
//!
//! A tagged capability comes only from derivation (from another tagged
//! one, ultimately from an authority a collector mints with an `unsafe
//! fn`) or from loading tagged memory; no public function sets a tag on
//! bits (docs/design.md "Vocabulary", I5, I6).
//!
//! ```
//! use capability_heap::mode::Collector;
//! use capability_heap::{CapFault, Morello, RefMode, SoftCheri};
//! type M = SoftCheri<Morello>;
//!
//! let mut region = M::new_region(1 << 20).unwrap();
//! // SAFETY: this example owns the region and plays its collector: the
//! // authority stays in this function and is dropped before the region.
//! let auth = unsafe { M::authority(&region) }.unwrap();
//! // A 40-byte object at the start of the region, exact bounds.
//! let obj = M::derive(&auth, region.base(), 40).unwrap();
//! M::store(&mut region, &obj, 8, 7u64).unwrap();
//! assert_eq!(M::load::<u64>(&region, &obj, 8), Ok(7));
//! // One byte past the end is refused with a typed fault.
//! let err = M::load::<u8>(&region, &obj, 40).unwrap_err();
//! assert!(matches!(err, CapFault::BoundsViolation { .. }));
//! ```

mod address;
mod capability;
mod fault;
pub mod format;
pub mod mode;
mod perms;
pub mod tagged;

pub use address::Address;
pub use capability::Capability;
pub use fault::CapFault;
pub use format::{CheriV9, Format, Morello, Perm, RiscvStd};
pub use mode::{Native, NativeRef, P128Ref, PayloadLayout, RawCap, RefMode, SoftCheri, P128};
pub use perms::Perms;
pub use tagged::{RegionError, Scalar, TagUse, TaggedRegion, ZeroedArray, GRANULE};
