//! The whole capability model of `capgc_model::cap` (shared with the
//! `capability_ops` fuzz target): every operation, the seven of
//! `props.rs` and the sealing, representability, CRRL and tagged-memory
//! ones, in random sequences for all three formats.

use capability_heap::{CheriV9, Morello, RiscvStd};
use capgc_model::cap::{run, Op};
use proptest::prelude::*;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        any::<u64>().prop_map(Op::SetAddr),
        (-1i64 << 20..1i64 << 20).prop_map(Op::AddOffset),
        any::<i64>().prop_map(Op::AddOffset),
        any::<u64>().prop_map(|l| Op::SetBounds(l >> (l % 64))),
        any::<u64>().prop_map(|l| Op::SetBoundsExact(l >> (l % 64))),
        any::<u16>().prop_map(Op::AndPerms),
        (0u64..64).prop_map(Op::SealUnseal),
        Just(Op::ClearTag),
        any::<u64>().prop_map(Op::Representable),
        (any::<u64>(), any::<u64>()).prop_map(|(len, offset)| Op::Crrl { len, offset }),
        (0u64..8).prop_map(Op::Seal),
        (0u64..8).prop_map(Op::Unseal),
        (any::<u64>(), any::<u64>()).prop_map(|(len, offset)| Op::Crrl { len, offset }),
        (any::<u16>(), any::<u8>()).prop_map(|(slot, byte)| Op::Memory {
            slot,
            byte: byte % 20
        }),
    ]
}

macro_rules! format_model {
    ($m:ident, $f:ty) => {
        mod $m {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(512))]
                #[test]
                fn every_operation_as_the_model_predicts(ops in prop::collection::vec(op(), 1..32)) {
                    run::<$f>(&ops);
                }
            }
        }
    };
}

format_model!(morello, Morello);
format_model!(cheri_v9, CheriV9);
format_model!(riscv_std, RiscvStd);
