//! # capgc-fuzz
//!
//! The cargo-fuzz targets of CapGC and what they run, kept in this
//! library so the targets stay one line each and the seed builder
//! (`examples/make_seeds.rs`) and unit tests can drive the same code:
//!
//! | target | input | checks |
//! |---|---|---|
//! | `capability_ops` | [`cases::CapCase`] | `capgc_model::cap` in all three formats |
//! | `decode` | [`cases::DecodeCase`] | `capgc_model::decode` in all three formats |
//! | `heap_ops` | [`cases::HeapCase`] | `capgc_model::heap` / `capgc_model::compartments` in the chosen mode and plan, `verify()` after every collection |
//! | `c_abi` | [`c_abi::Input`] | every `capgc_*` call returns a status, the refusals SoftCheri promises, the heaps verify through the C verifiers |
//!
//! The models are the ones the proptests use (`gc-core/model`); this
//! crate adds only the input types and the C-ABI driver. A panic is a
//! finding: libFuzzer aborts on any, even one the C ABI would catch.

pub mod c_abi;
pub mod cases;
pub mod seed;
