//! Model-based property test of a split heap ([`gc_core::Compartments`]):
//! random sequences of allocation, linking, sealing, storing, copying and
//! loading sealed references, unsealing (by the owner and by others),
//! refused stores of unsealed foreign references, minor, independent and
//! whole-heap collections and teardown, on 2–4 compartments, run against
//! a plain model of which objects each compartment reaches and which
//! sealed references exist.
//!
//! The model and everything it predicts — reachability, exports,
//! survivors, each refusal's error, `verify()` after every collection and
//! teardown — live in `capgc_model::compartments` (shared with the
//! `heap_ops` fuzz target; its docs say exactly what is checked); this
//! file only generates the operation sequences and runs each on every
//! plan in each mode.

use capability_heap::{CheriV9, Morello, Native, RiscvStd, SoftCheri, P128};
use capgc_model::compartments::{run, Dest, Op, ROOTS};
use gc_core::ScanStrategy;
use proptest::prelude::*;

fn dest() -> impl Strategy<Value = Dest> {
    prop_oneof![
        2 => (0..ROOTS).prop_map(Dest::Root),
        2 => (any::<usize>(), 0..2usize).prop_map(|(obj, k)| Dest::Field { obj, k }),
        1 => Just(Dest::Local),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let c = || 0..4usize;
    prop_oneof![
        20 => (c(), 0..ROOTS).prop_map(|(c, slot)| Op::Alloc { c, slot }),
        16 => (c(), any::<usize>(), 0..2usize, prop::option::weighted(0.8, any::<usize>()))
            .prop_map(|(c, src, k, dst)| Op::Link { c, src, k, dst }),
        8 => (c(), 0..ROOTS, c(), 0..ROOTS).prop_map(|(a, from, b, to)| Op::Copy { a, from, b, to }),
        6 => (c(), 0..ROOTS).prop_map(|(c, slot)| Op::Clear { c, slot }),
        6 => (c(), c(), any::<usize>(), dest())
            .prop_map(|(c, x, obj, into)| Op::Foreign { c, x, obj, into }),
        24 => (c(), any::<usize>(), c(), dest()).prop_map(|(x, obj, y, to)| Op::Seal { x, obj, y, to }),
        6 => (c(), any::<usize>(), c(), any::<usize>(), 0..2usize)
            .prop_map(|(x, a, y, b, k)| Op::Cycle { x, a, y, b, k }),
        10 => (c(), any::<usize>(), c()).prop_map(|(c, pick, by)| Op::Unseal { c, pick, by }),
        6 => (any::<usize>(), c()).prop_map(|(i, by)| Op::UnsealLocal { i, by }),
        4 => (any::<usize>(), 0..ROOTS).prop_map(|(i, slot)| Op::Import { i, slot }),
        6 => c().prop_map(Op::Minor),
        8 => c().prop_map(Op::Collect),
        8 => Just(Op::CollectAll),
        1 => c().prop_map(Op::Destroy),
    ]
}

fn ops() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=4, prop::collection::vec(op(), 1..150))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn compartments_native((n, ops) in ops()) {
        run::<Native>(n, &ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn compartments_p128((n, ops) in ops()) {
        run::<P128>(n, &ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn compartments_morello((n, ops) in ops()) {
        run::<SoftCheri<Morello>>(n, &ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn compartments_morello_by_tag((n, ops) in ops()) {
        run::<SoftCheri<Morello>>(n, &ops, ScanStrategy::Tags);
    }
    #[test]
    fn compartments_cheri_v9((n, ops) in ops()) {
        run::<SoftCheri<CheriV9>>(n, &ops, ScanStrategy::TypeMap);
    }
    #[test]
    fn compartments_riscv_by_tag((n, ops) in ops()) {
        run::<SoftCheri<RiscvStd>>(n, &ops, ScanStrategy::Tags);
    }
}
