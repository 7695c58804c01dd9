//! Model-based property test: random sequences of allocation, linking,
//! every kind of root (persistents, handles in nested scopes, root-region
//! slots), weak references, ephemerons, finalizers, pinning, data writes
//! and collections, run against the heap and against a plain graph model.
//!
//! The model and its checks live in `capgc_model::heap` (shared with the
//! `heap_ops` fuzz target; its docs list what is checked after every
//! collection, `verify()` included); this file only generates the
//! operation sequences, and runs each on every plan in each mode.

use capability_heap::{CheriV9, Morello, Native, RiscvStd, SoftCheri, P128};
use capgc_model::heap::{run, Op};
use gc_core::ScanStrategy;
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Alloc),
        4 => (any::<usize>(), 0u8..2).prop_map(|(src, slot)| Op::AllocChild { src, slot }),
        1 => (1u8..200).prop_map(Op::AllocLarge),
        5 => (any::<usize>(), 0u8..2, any::<usize>()).prop_map(|(src, slot, dst)| Op::Link { src, slot, dst }),
        2 => (any::<usize>(), 0u8..2).prop_map(|(src, slot)| Op::Unlink { src, slot }),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => Just(Op::OpenScope),
        1 => Just(Op::CloseScope),
        2 => any::<usize>().prop_map(Op::Handle),
        2 => (0u8..8, any::<usize>()).prop_map(|(slot, src)| Op::RootSet { slot, src }),
        1 => (0u8..8, any::<u64>()).prop_map(|(slot, value)| Op::RootData { slot, value }),
        2 => any::<usize>().prop_map(Op::Weak),
        2 => any::<usize>().prop_map(|key| Op::Ephemeron { key }),
        1 => any::<usize>().prop_map(Op::Finalize),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(s, on)| Op::Pin(s, on)),
        1 => (any::<usize>(), any::<u64>()).prop_map(|(s, v)| Op::Scribble(s, v)),
        2 => Just(Op::Minor),
        2 => Just(Op::Collect),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn model_native(ops in prop::collection::vec(op(), 1..150)) {
        run::<Native>(&ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn model_p128(ops in prop::collection::vec(op(), 1..150)) {
        run::<P128>(&ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn model_morello(ops in prop::collection::vec(op(), 1..150)) {
        run::<SoftCheri<Morello>>(&ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn model_morello_by_tag(ops in prop::collection::vec(op(), 1..150)) {
        run::<SoftCheri<Morello>>(&ops, ScanStrategy::Tags);
    }
    #[test]
    fn model_cheri_v9(ops in prop::collection::vec(op(), 1..150)) {
        run::<SoftCheri<CheriV9>>(&ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn model_riscv_by_tag(ops in prop::collection::vec(op(), 1..150)) {
        run::<SoftCheri<RiscvStd>>(&ops, ScanStrategy::Tags);
    }
}
