//! CHERI capabilities over software-tagged memory.
#![warn(missing_docs)]

pub mod format;
pub use format::{CheriV9, Decoded, Format, Morello, Perm, RiscvStd};
