//! Heap and split-heap operation sequences against the reachability
//! models (`capgc_model::heap`, `capgc_model::compartments`), in every
//! mode and plan, `verify()` after every collection.
#![no_main]

libfuzzer_sys::fuzz_target!(|case: capgc_fuzz::cases::HeapCase| capgc_fuzz::cases::run_heap(&case));
