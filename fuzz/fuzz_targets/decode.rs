//! Decoding of arbitrary 128-bit patterns (`capgc_model::decode`) in all
//! three formats.
#![no_main]

libfuzzer_sys::fuzz_target!(|case: capgc_fuzz::cases::DecodeCase| {
    capgc_fuzz::cases::run_decode(&case)
});
