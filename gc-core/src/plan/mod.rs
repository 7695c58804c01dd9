//! The collectors. One folder per plan; each owns its space policy and the
//! collection driver over the shared object model, roots and tracer.
//!
//! - [`marksweep`]: non-moving mark-sweep over size-segregated blocks with
//!   a large-object space.

pub(crate) mod marksweep;
