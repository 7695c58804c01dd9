//! Model-based property test: random alloc / link / unlink / drop-root /
//! collect sequences run against the heap and against a plain graph model.
//! After every collection the heap's survivors must be exactly the model's
//! reachable set (count from the collector, ids and edges by walking the
//! heap) and `verify()` must pass.

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{Heap, HeapConfig, ObjRef, Persistent, Plan, ScanStrategy, TypeId};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug)]
enum Op {
    /// New object (2 reference slots), rooted.
    Alloc,
    /// New object stored in slot `slot` of the `src`-th live object (not
    /// rooted itself).
    AllocChild {
        src: usize,
        slot: u8,
    },
    /// New large byte array of this many KiB, rooted.
    AllocLarge(u8),
    /// Slot `slot` of the `src`-th live object points at the `dst`-th.
    Link {
        src: usize,
        slot: u8,
        dst: usize,
    },
    /// Slot `slot` of the `src`-th live object becomes null.
    Unlink {
        src: usize,
        slot: u8,
    },
    /// Release the `i`-th root.
    DropRoot(usize),
    /// Minor collection (full in the non-generational plans).
    Minor,
    /// Pin or unpin the `src`-th live object.
    Pin(usize, bool),
    /// Data write into the `src`-th live object (must not disturb refs).
    Scribble(usize, u64),
    Collect,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Alloc),
        4 => (any::<usize>(), 0u8..2).prop_map(|(src, slot)| Op::AllocChild { src, slot }),
        1 => (1u8..200).prop_map(Op::AllocLarge),
        5 => (any::<usize>(), 0u8..2, any::<usize>()).prop_map(|(src, slot, dst)| Op::Link { src, slot, dst }),
        2 => (any::<usize>(), 0u8..2).prop_map(|(src, slot)| Op::Unlink { src, slot }),
        3 => any::<usize>().prop_map(Op::DropRoot),
        1 => (any::<usize>(), any::<u64>()).prop_map(|(s, v)| Op::Scribble(s, v)),
        2 => Just(Op::Collect),
        2 => Just(Op::Minor),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(s, on)| Op::Pin(s, on)),
    ]
}

/// The reference model: objects by id with their two slots, and roots.
#[derive(Default)]
struct Model {
    edges: BTreeMap<u64, [Option<u64>; 2]>,
    roots: Vec<(Persistent, u64)>,
    next: u64,
}

impl Model {
    fn reachable(&self) -> BTreeSet<u64> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<u64> = self.roots.iter().map(|r| r.1).collect();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                if let Some(e) = self.edges.get(&id) {
                    stack.extend(e.iter().flatten());
                }
            }
        }
        seen
    }
}

/// Walks the heap from its roots: id → (reference, children ids).
fn walk<M: RefMode>(
    h: &Heap<M>,
    m: &Model,
    node: TypeId,
) -> BTreeMap<u64, (ObjRef<M>, [Option<u64>; 2])> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<ObjRef<M>> = m
        .roots
        .iter()
        .map(|(p, _)| h.get_persistent(*p).unwrap())
        .collect();
    while let Some(o) = stack.pop() {
        let id = h.read::<u64>(&o, 0).unwrap();
        if out.contains_key(&id) {
            continue;
        }
        let mut kids = [None, None];
        if h.type_of(&o).unwrap() == node {
            for (i, kid) in kids.iter_mut().enumerate() {
                let c = h.get_ref(&o, Heap::<M>::ref_offset(i as u32 + 1)).unwrap();
                if !c.is_null() {
                    *kid = Some(h.read::<u64>(&c, 0).unwrap());
                    stack.push(c);
                }
            }
        }
        out.insert(id, (o, kids));
    }
    out
}

fn run<M: RefMode>(ops: &[Op], scan: ScanStrategy) {
    for plan in Plan::ALL {
        run_plan::<M>(ops, scan, plan);
    }
}

fn run_plan<M: RefMode>(ops: &[Op], scan: ScanStrategy, plan: Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        nursery_size: 128 << 10,
        pause_goal: None,
        initial_size: 256 << 10,
        limit: 64 << 20,
        scan,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap();
    // Slot 0 holds the id as data (8 bytes, one slot wide), slots 1-2 refs.
    let slot = Heap::<M>::SLOT;
    let node = h
        .register_type(gc_core::ObjectType::Fixed {
            size: 3 * slot + 8,
            ref_offsets: vec![slot, 2 * slot],
        })
        .unwrap();
    let bytes = h.register_type(gc_core::ObjectType::ByteArray).unwrap();
    let mut m = Model::default();
    for op in ops {
        let live: Vec<u64> = m.reachable().into_iter().collect();
        match *op {
            Op::Alloc | Op::AllocLarge(_) => {
                let o = match *op {
                    Op::Alloc => h.alloc(node).unwrap(),
                    Op::AllocLarge(k) => h.alloc_array(bytes, u64::from(k) * 1024 + 8).unwrap(),
                    _ => unreachable!(),
                };
                let id = m.next;
                m.next += 1;
                h.write::<u64>(&o, 0, id).unwrap();
                let p = h.persist(&o).unwrap();
                m.roots.push((p, id));
                if matches!(op, Op::Alloc) {
                    m.edges.insert(id, [None, None]);
                }
            }
            Op::AllocChild { src, slot: s } if !live.is_empty() => {
                let a = live[src % live.len()];
                if !m.edges.contains_key(&a) {
                    continue;
                }
                let o = h.alloc(node).unwrap();
                let id = m.next;
                m.next += 1;
                h.write::<u64>(&o, 0, id).unwrap();
                let ho = h.handle(&o).unwrap();
                let w = walk(&h, &m, node);
                let o = h.get(ho).unwrap();
                h.set_ref(&w[&a].0, Heap::<M>::ref_offset(u32::from(s) + 1), &o)
                    .unwrap();
                m.edges.insert(id, [None, None]);
                m.edges.get_mut(&a).unwrap()[s as usize] = Some(id);
                // The handle is in the base scope: drop it again.
                let sc = h.open_scope();
                h.close_scope(sc).unwrap();
                h.set_handle(ho, &ObjRef::null()).unwrap();
            }
            Op::Link { src, slot: s, dst } if !live.is_empty() => {
                let (a, b) = (live[src % live.len()], live[dst % live.len()]);
                if !m.edges.contains_key(&a) {
                    continue; // byte arrays have no slots
                }
                let w = walk(&h, &m, node);
                h.set_ref(&w[&a].0, Heap::<M>::ref_offset(u32::from(s) + 1), &w[&b].0)
                    .unwrap();
                m.edges.get_mut(&a).unwrap()[s as usize] = Some(b);
            }
            Op::Unlink { src, slot: s } if !live.is_empty() => {
                let a = live[src % live.len()];
                if !m.edges.contains_key(&a) {
                    continue;
                }
                let w = walk(&h, &m, node);
                h.set_ref(
                    &w[&a].0,
                    Heap::<M>::ref_offset(u32::from(s) + 1),
                    &ObjRef::null(),
                )
                .unwrap();
                m.edges.get_mut(&a).unwrap()[s as usize] = None;
            }
            Op::DropRoot(i) if !m.roots.is_empty() => {
                let (p, _) = m.roots.remove(i % m.roots.len());
                h.release(p).unwrap();
            }
            Op::Scribble(src, v) if !live.is_empty() => {
                let a = live[src % live.len()];
                let w = walk(&h, &m, node);
                let off = if m.edges.contains_key(&a) {
                    3 * slot
                } else {
                    8
                };
                h.write::<u64>(&w[&a].0, off, v).unwrap();
            }
            Op::Pin(src, on) if !live.is_empty() => {
                let a = live[src % live.len()];
                let w = walk(&h, &m, node);
                let (o, _) = w[&a];
                let before = o.address();
                if on {
                    h.pin(&o).unwrap();
                } else {
                    h.unpin(&o).unwrap();
                }
                if on {
                    // A pinned object does not move across a collection.
                    h.collect_minor().unwrap();
                    h.verify().unwrap();
                    let w = walk(&h, &m, node);
                    assert_eq!(w[&a].0.address(), before, "pinned object moved");
                }
            }
            Op::Minor => {
                h.collect_minor().unwrap();
                h.verify().unwrap();
                let w = walk(&h, &m, node);
                assert_eq!(w.keys().copied().collect::<BTreeSet<_>>(), m.reachable());
            }
            Op::Collect => {
                let s = h.collect().unwrap();
                let want = m.reachable();
                assert_eq!(s.live_objects, want.len() as u64, "survivor count");
                h.verify().unwrap();
                let w = walk(&h, &m, node);
                assert_eq!(w.keys().copied().collect::<BTreeSet<_>>(), want);
                for (id, (_, kids)) in &w {
                    if let Some(e) = m.edges.get(id) {
                        assert_eq!(kids, e, "edges of {id}");
                    }
                }
                // Dead objects are gone from the model too.
                m.edges.retain(|id, _| want.contains(id));
            }
            _ => {}
        }
    }
    h.collect().unwrap();
    h.verify().unwrap();
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
