//! Writes the committed seed corpus, `fuzz/seeds/TARGET/NAME`: a handful
//! of small inputs per target, each a scenario the target should start
//! from (every one checked to decode back to the value it was written
//! from). Run from `fuzz/`: `cargo run --example make_seeds -- seeds`.

use capability_heap::{CheriV9, Format, Morello, RiscvStd, TaggedRegion};
use capgc_fuzz::c_abi::calls::TyPick;
use capgc_fuzz::c_abi::split::{CPick, SealPick, SplitCall};
use capgc_fuzz::c_abi::{Call, FastCall, Input, RawConfig, RefPick, TokPick};
use capgc_fuzz::cases::{CapCase, DecodeCase, HeapCase, Mode, PlanSel};
use capgc_fuzz::seed::check;
use capgc_model::compartments::{Dest, Op as S};
use capgc_model::{cap::Op as C, heap::Op as H};
use std::path::Path;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let d = dir.join(target);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join(name), bytes).unwrap();
    println!("{target}/{name}: {} bytes", bytes.len());
}

fn capability_ops(dir: &Path) {
    let seeds: [(&str, Vec<C>); 4] = [
        (
            "narrow_then_memory",
            vec![
                C::SetBounds(4096),
                C::AndPerms(0b0_0111_1101),
                C::SetBoundsExact(64),
                C::Memory { slot: 3, byte: 200 },
                C::Memory { slot: 4, byte: 5 },
                C::SetBoundsExact(8),
            ],
        ),
        (
            "seal_wrong_type_then_right",
            vec![
                C::SetBoundsExact(256),
                C::Seal(5),
                C::SetBounds(16),
                C::Unseal(6),
                C::Unseal(5),
                C::AndPerms(0x1ff),
                C::SealUnseal(9),
            ],
        ),
        (
            "representable_and_move",
            vec![
                C::SetBounds(1 << 12),
                C::Representable(1 << 13),
                C::Representable(100),
                C::SetAddr(1 << 20),
                C::AddOffset(-(1 << 12)),
                C::SetBounds(16),
            ],
        ),
        (
            "crrl_large_objects",
            vec![
                C::Crrl {
                    len: 100_000,
                    offset: 0,
                },
                C::Crrl {
                    len: 12_345,
                    offset: 777,
                },
                C::SetBoundsExact(4096 + 8),
                C::ClearTag,
                C::SetBounds(0),
            ],
        ),
    ];
    for (name, ops) in seeds {
        write(dir, "capability_ops", name, &check(&CapCase { ops }));
    }
}

/// A real capability of `F` over 40 bytes of a region, as bits.
fn derived<F: Format>() -> (u64, u64) {
    let region = TaggedRegion::for_format::<F>(1 << 16).unwrap();
    let auth = capgc_model::cap::authority::<F>(&region);
    let c = auth
        .set_address(auth.base().add(4096))
        .set_bounds(40)
        .unwrap();
    c.to_bits()
}

fn decode(dir: &Path) {
    let m = derived::<Morello>();
    let v = derived::<CheriV9>();
    let r = derived::<RiscvStd>();
    let seeds: [(&str, Vec<(u64, u64)>); 3] = [
        (
            "roots_and_null",
            vec![
                (0, 0),
                (Morello::ROOT_PESBT, 0),
                (CheriV9::ROOT_PESBT, 1 << 40),
                (RiscvStd::ROOT_PESBT, u64::MAX),
                (u64::MAX, u64::MAX),
            ],
        ),
        ("derived_objects", vec![m, v, r, (m.0, m.1 + 64), (v.0, 0)]),
        (
            "flipped_objects",
            vec![
                (m.0 ^ 1 << 63, m.1),
                (v.0 ^ 1 << 17, v.1),
                (r.0 ^ 1 << 52, r.1),
                (m.0 ^ 0xff, m.1 ^ 1 << 47),
            ],
        ),
    ];
    for (name, patterns) in seeds {
        write(dir, "decode", name, &check(&DecodeCase { patterns }));
    }
}

fn heap_ops(dir: &Path) {
    let graph = vec![
        H::Alloc,
        H::Alloc,
        H::AllocChild { src: 0, slot: 1 },
        H::Link {
            src: 1,
            slot: 0,
            dst: 0,
        },
        H::Weak(2),
        H::Ephemeron { key: 1 },
        H::Minor,
        H::Finalize(0),
        H::DropRoot(0),
        H::Collect,
        H::Unlink { src: 0, slot: 1 },
        H::Collect,
    ];
    let roots = vec![
        H::OpenScope,
        H::Alloc,
        H::Handle(0),
        H::RootSet { slot: 3, src: 0 },
        H::OpenScope,
        H::AllocChild { src: 0, slot: 0 },
        H::Pin(1, true),
        H::Scribble(0, 0xdead_beef),
        H::CloseScope,
        H::RootData { slot: 3, value: 7 },
        H::Minor,
        H::Pin(0, false),
        H::CloseScope,
        H::Collect,
    ];
    let large = vec![
        H::AllocLarge(150),
        H::Alloc,
        H::AllocLarge(3),
        H::Scribble(0, 1),
        H::Collect,
        H::DropRoot(0),
        H::Collect,
    ];
    let split = vec![
        S::Alloc { c: 0, slot: 0 },
        S::Alloc { c: 1, slot: 0 },
        S::Seal {
            x: 0,
            obj: 0,
            y: 1,
            to: Dest::Root(1),
        },
        S::Foreign {
            c: 1,
            x: 0,
            obj: 0,
            into: Dest::Field { obj: 0, k: 0 },
        },
        S::Cycle {
            x: 0,
            a: 0,
            y: 0,
            b: 0,
            k: 1,
        },
        S::Unseal {
            c: 1,
            pick: 0,
            by: 1,
        },
        S::Unseal {
            c: 1,
            pick: 0,
            by: 0,
        },
        S::Collect(0),
        S::Clear { c: 0, slot: 0 },
        S::CollectAll,
        S::Destroy(0),
        S::Copy {
            a: 1,
            from: 1,
            b: 1,
            to: 2,
        },
        S::CollectAll,
    ];
    let seeds = [
        (
            "graph_morello_generational",
            HeapCase::Heap {
                mode: Mode::Morello,
                plan: PlanSel::Generational,
                by_tag: false,
                ops: graph.clone(),
            },
        ),
        (
            "graph_native_marksweep",
            HeapCase::Heap {
                mode: Mode::Native,
                plan: PlanSel::MarkSweep,
                by_tag: false,
                ops: graph,
            },
        ),
        (
            "roots_p128_semispace",
            HeapCase::Heap {
                mode: Mode::P128,
                plan: PlanSel::SemiSpace,
                by_tag: false,
                ops: roots,
            },
        ),
        (
            "large_riscv_by_tag",
            HeapCase::Heap {
                mode: Mode::RiscvStd,
                plan: PlanSel::Generational,
                by_tag: true,
                ops: large,
            },
        ),
        (
            "split_cheri_v9",
            HeapCase::Split {
                mode: Mode::CheriV9,
                plan: PlanSel::SemiSpace,
                by_tag: false,
                n: 1,
                ops: split.clone(),
            },
        ),
        (
            "split_native",
            HeapCase::Split {
                mode: Mode::Native,
                plan: PlanSel::MarkSweep,
                by_tag: false,
                n: 0,
                ops: split,
            },
        ),
    ];
    for (name, case) in seeds {
        write(dir, "heap_ops", name, &check(&case));
    }
}

fn c_abi(dir: &Path) {
    use RefPick::{Flip, Foreign, Garbage, Pool};
    let basics = vec![
        Call::Alloc(TyPick::Node, false),
        Call::Alloc(TyPick::Node, false),
        Call::SetRef(Pool(0), 0, Pool(1)),
        Call::HandleNew(Pool(0)),
        Call::Write(Pool(1), 32, 2, 7),
        Call::Read(Pool(1), 32, 2),
        Call::Restrict(Pool(1), 0b1011),
        Call::Write(Pool(2), 32, 2, 8),
        Call::Read(Flip(0, 70), 0, 2),
        Call::Read(Garbage(0x1000, 0x1234), 0, 2),
        Call::Read(Foreign(0), 0, 2),
        Call::Payload(Pool(0)),
        Call::Collect(true),
        Call::Read(Pool(1), 32, 2),
        Call::HandleGet(TokPick::Pool(0)),
        Call::GetRef(Pool(3), 0),
        Call::Read(Pool(4), 32, 2),
        Call::Observe(8),
    ];
    let tokens = vec![
        Call::RegionNew(4),
        Call::Slot {
            op: 0,
            region: TokPick::Pool(0),
            a: 0,
            b: 0,
            x: 0,
            ty: TyPick::Node,
        },
        Call::Slot {
            op: 0,
            region: TokPick::Pool(0),
            a: 1,
            b: 0,
            x: 0,
            ty: TyPick::Node,
        },
        Call::Slot {
            op: 3,
            region: TokPick::Pool(0),
            a: 0,
            b: 1,
            x: 0,
            ty: TyPick::Node,
        },
        Call::RegionGet(TokPick::Pool(0), 0),
        Call::ScopeOpen,
        Call::HandleNew(Pool(0)),
        Call::ScopeClose(TokPick::Pool(0)),
        Call::HandleGet(TokPick::Pool(0)),
        Call::HandleGet(TokPick::Foreign),
        Call::RegionGet(TokPick::Foreign, 0),
        Call::RegionGet(TokPick::Flip(0, 3), 0),
        Call::WeakNew(Pool(0)),
        Call::Weak(TokPick::Foreign, false),
        Call::PersistentNew(Pool(0)),
        Call::Persistent(TokPick::Pool(0), 2, RefPick::Null),
        Call::Persistent(TokPick::Pool(0), 0, RefPick::Null),
        Call::Collect(false),
        Call::RegionSetData(TokPick::Pool(0), 1, 42),
        Call::RegionFree(TokPick::Pool(0)),
        Call::RegionGet(TokPick::Pool(0), 0),
    ];
    let liar = vec![
        Call::TypeLiar(0b0010, [7, 1 << 40, u64::MAX], true),
        Call::Alloc(TyPick::Liar(0), false),
        Call::HandleNew(Pool(0)),
        Call::Alloc(TyPick::Node, false),
        Call::HandleGet(TokPick::Pool(0)),
        Call::Write(Pool(2), 0, 2, 0b0010),
        Call::SetRef(Pool(2), 16, Pool(1)),
        Call::Collect(true),
        Call::HandleGet(TokPick::Pool(0)),
        Call::Write(Pool(3), 0, 2, 0),
        Call::Collect(true),
        Call::HandleGet(TokPick::Pool(0)),
        Call::Write(Pool(4), 0, 2, 0b0010),
        Call::GetRef(Pool(4), 16),
        Call::Read(Pool(5), 0, 2),
    ];
    let garbage = vec![
        Call::NullHeap(0),
        Call::NullHeap(14),
        Call::NullHeap(29),
        Call::Alloc(TyPick::Node, false),
        Call::RegionNew(2),
        Call::NullOut(12),
        Call::NullOut(21),
        Call::StatusName(99),
        Call::StatusName(16),
        Call::AllocArray(TyPick::Bytes, u64::MAX),
        Call::AllocArray(TyPick::Garbage(77), 4),
        Call::Alloc(TyPick::Foreign, false),
        Call::RegionNew(0),
        Call::RegionNew(1 << 40),
        Call::TypeRecord(u32::MAX, 0),
        Call::TypeFixed(64, [u64::MAX, 8, 3], 3),
        Call::Read(Pool(0), u64::MAX - 3, 2),
        Call::Bytes(Pool(0), 40, 64, true),
        Call::TakeFinalized(0),
    ];
    let split = vec![
        Call::Split(SplitCall::Alloc(CPick::Index(0))),
        Call::Split(SplitCall::Alloc(CPick::Index(1))),
        Call::Split(SplitCall::Seal(CPick::Index(0), 0, CPick::Index(1))),
        Call::Split(SplitCall::RootSealed(CPick::Index(1), 0, SealPick::Pool(0))),
        Call::Split(SplitCall::Unseal(CPick::Index(1), SealPick::Pool(0))),
        Call::Split(SplitCall::Unseal(CPick::Index(0), SealPick::Pool(0))),
        Call::Split(SplitCall::Unseal(CPick::Index(0), SealPick::Flip(0, 130))),
        Call::Split(SplitCall::SetRef(CPick::Index(1), 1, 0, 0)),
        Call::Split(SplitCall::Access(CPick::Index(1), 0, 16, false)),
        Call::Split(SplitCall::CollectAll),
        Call::Split(SplitCall::LoadSealed(CPick::Index(1), 0)),
        Call::Split(SplitCall::Compare(SealPick::Pool(0), SealPick::Pool(1))),
        Call::Split(SplitCall::Destroy(CPick::Index(0))),
        Call::Split(SplitCall::Unseal(CPick::Index(0), SealPick::Pool(1))),
        Call::Split(SplitCall::Collect(CPick::Garbage(12345))),
    ];
    let fast = vec![
        FastCall::Take,
        FastCall::Alloc(TyPick::Node, None),
        FastCall::Alloc(TyPick::Node, None),
        FastCall::Alloc(TyPick::Node, None),
        FastCall::StoreRef(Pool(0), 0, Pool(1)),
        FastCall::Push(Pool(0)),
        FastCall::Scalar(Pool(1), 32, 2, Some(9)),
        FastCall::Scalar(Pool(1), 32, 2, None),
        FastCall::LoadRef(Pool(0), 0),
        FastCall::Push(Flip(0, 70)),
        FastCall::Push(Garbage(0x1000, 0x1234)),
        FastCall::Push(Foreign(0)),
        FastCall::Alloc(TyPick::Node, Some(5)),
        FastCall::Alloc(TyPick::Garbage(77), None),
        FastCall::Collect(false),
        FastCall::Push(Pool(1)),
        FastCall::LoadRef(Pool(1), 0),
        FastCall::Pop,
        FastCall::LoadRef(Pool(3), 0),
        FastCall::Remember(Pool(3), 0),
        FastCall::StoreRef(Flip(1, 3), 0, Pool(3)),
        FastCall::Scalar(Pool(3), 1 << 40, 2, Some(1)),
        FastCall::Misuse(0),
        FastCall::Misuse(1),
        FastCall::Misuse(2),
        FastCall::Misuse(3),
        FastCall::Misuse(4),
        FastCall::Misuse(5),
    ];
    // A node and a read-only view of it in the pool before the fast calls.
    let fast_prefix = vec![
        Call::Alloc(TyPick::Node, false),
        Call::Restrict(Pool(0), 0b1011),
    ];
    let garbage_config = RawConfig {
        mode: 7,
        format: 0,
        plan: 1,
        scan: 0,
        limit: u64::MAX,
        initial_size: 0,
        nursery_size: 1,
        pause_goal_us: 0,
        growth_factor: f64::NAN,
        trigger: 0,
        checked: 0,
        zeal_collect_every: 1,
        zeal_flags: 0x80,
        which: 0,
    };
    let seeds = [
        (
            "basics_morello_generational",
            Mode::Morello,
            PlanSel::Generational,
            None,
            basics.clone(),
            vec![],
        ),
        (
            "basics_native_marksweep",
            Mode::Native,
            PlanSel::MarkSweep,
            None,
            basics,
            vec![],
        ),
        (
            "tokens_p128_semispace",
            Mode::P128,
            PlanSel::SemiSpace,
            None,
            tokens,
            vec![],
        ),
        (
            "liar_cheri_v9_semispace",
            Mode::CheriV9,
            PlanSel::SemiSpace,
            None,
            liar.clone(),
            vec![],
        ),
        (
            "liar_native_generational",
            Mode::Native,
            PlanSel::Generational,
            None,
            liar,
            vec![],
        ),
        (
            "garbage_riscv",
            Mode::RiscvStd,
            PlanSel::MarkSweep,
            Some(garbage_config),
            garbage,
            vec![],
        ),
        (
            "fast_morello_generational",
            Mode::Morello,
            PlanSel::Generational,
            None,
            fast_prefix.clone(),
            fast.clone(),
        ),
        (
            "fast_native_generational",
            Mode::Native,
            PlanSel::Generational,
            None,
            fast_prefix.clone(),
            fast.clone(),
        ),
        (
            "fast_p128_semispace",
            Mode::P128,
            PlanSel::SemiSpace,
            None,
            fast_prefix.clone(),
            fast,
        ),
        (
            "split_morello",
            Mode::Morello,
            PlanSel::Generational,
            None,
            split,
            vec![],
        ),
    ];
    for (name, mode, plan, garbage_config, calls, fast) in seeds {
        let input = Input {
            mode,
            plan,
            by_tag: false,
            garbage_config,
            calls,
            fast,
        };
        write(dir, "c_abi", name, &check(&input));
    }
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "seeds".into());
    let dir = Path::new(&dir);
    capability_ops(dir);
    decode(dir);
    heap_ops(dir);
    c_abi(dir);
}
