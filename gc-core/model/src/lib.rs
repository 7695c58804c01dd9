//! # capgc-model
//!
//! The reference models of CapGC, written once and shared by the
//! property tests (proptest, in the crates' `tests/`) and the cargo-fuzz
//! targets (`fuzz/`): the tests and the fuzzers build the same operation
//! types — with proptest strategies, or with `arbitrary` under the
//! `arbitrary` feature — and run them through the same model and checks.
//!
//! | module | model | proptests | fuzz target |
//! |---|---|---|---|
//! | [`cap`] | capability derivations: predicted outcomes, monotonicity (I5), sealing, representability/CRRL, tags through memory (I6) | `capability-heap/tests/props.rs` | `capability_ops` |
//! | [`decode`] | any 128-bit pattern: consistent decoding, field insertion, canonical re-encoding | `capability-heap/tests/decode_model.rs` | `decode` |
//! | [`heap`] | one heap's object graph: roots, weak references, ephemerons, finalizers, pinning, collections; `verify()` after each | `gc-core/tests/model.rs` | `heap_ops` |
//! | [`compartments`] | a split heap: sealed references, exports, refusals, independent and whole-heap collections, teardown; `verify()` after each | `gc-core/tests/compartment_model.rs` | `heap_ops` |
//!
//! Every check is an assertion: a model disagreement panics with what
//! differed, which a proptest shrinks and a fuzzer reports as a crash.
//! The models use the public APIs of `capability-heap` and `gc-core`
//! only (the capability model mints its region's authority with the
//! documented `unsafe fn`, as a collector does).

pub mod cap;
pub mod compartments;
pub mod decode;
pub mod heap;

#[cfg(feature = "arbitrary")]
pub use arbitrary;
