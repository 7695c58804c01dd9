//! Replays the committed seed corpus through each target's code without
//! libFuzzer (`cargo test` in `fuzz/`), so a seed that stops passing —
//! or stops decoding into the scenario it was written as — shows up in
//! an ordinary test run.

use arbitrary::{Arbitrary, Unstructured};
use capgc_fuzz::{c_abi, cases};
use std::path::Path;

fn each<T: for<'a> Arbitrary<'a>>(target: &str, run: impl Fn(&T)) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("seeds")
        .join(target);
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        let input = T::arbitrary_take_rest(Unstructured::new(&bytes)).expect("a seed decodes");
        run(&input);
        n += 1;
    }
    assert!(n >= 3, "{target}: {n} seeds");
}

#[test]
fn capability_ops_seeds() {
    each("capability_ops", |c: &cases::CapCase| cases::run_cap(c));
}

#[test]
fn decode_seeds() {
    each("decode", |c: &cases::DecodeCase| cases::run_decode(c));
}

#[test]
fn heap_ops_seeds() {
    each("heap_ops", |c: &cases::HeapCase| cases::run_heap(c));
}

#[test]
fn c_abi_seeds() {
    each("c_abi", |i: &c_abi::Input| c_abi::run(i));
}
