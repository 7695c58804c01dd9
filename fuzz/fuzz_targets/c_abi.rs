//! C ABI call sequences through the exported `capgc_*` functions, with
//! garbage, stale, forged and bit-flipped arguments and lying trace
//! callbacks; every heap verifies afterwards.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: capgc_fuzz::c_abi::Input| capgc_fuzz::c_abi::run(&input));
