//! Capability operations against the capability model
//! (`capgc_model::cap`) in all three formats.
#![no_main]

libfuzzer_sys::fuzz_target!(|case: capgc_fuzz::cases::CapCase| capgc_fuzz::cases::run_cap(&case));
