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
//! - [`TaggedRegion`]: mmap'd memory with an out-of-band tag bit per
//!   16-byte granule, guard pages, checked capability and data
//!   loads/stores, word-at-a-time tag scans. The crate's only raw-memory
//!   code lives in its module.
//! - [`mode`]: the [`RefMode`] trait and its three modes ([`Native`],
//!   [`P128`], [`SoftCheri`]).
//!
//! ```
//! use capability_heap::{Address, CapFault, Morello, Perms, RefMode, SoftCheri, TaggedRegion};
//!
//! let mut region = TaggedRegion::for_format::<Morello>(1 << 20).unwrap();
//! let auth = region.authority::<Morello>().unwrap();
//! // A 40-byte object at the start of the region, exact bounds.
//! let obj = SoftCheri::<Morello>::derive(&auth, region.base(), 40).unwrap();
//! SoftCheri::<Morello>::store(&mut region, &obj, 8, 7u64).unwrap();
//! assert_eq!(SoftCheri::<Morello>::load::<u64>(&region, &obj, 8), Ok(7));
//! // One byte past the end is refused with a typed fault.
//! let err = SoftCheri::<Morello>::load::<u8>(&region, &obj, 40).unwrap_err();
//! assert!(matches!(err, CapFault::BoundsViolation { .. }));
//! # let _ = (Address::NULL, Perms::OBJECT);
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
pub use tagged::{RegionError, Scalar, TaggedRegion, GRANULE};
