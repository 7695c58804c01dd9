//! Empty objects (payload length 0) next to block boundaries, in every
//! plan and mode. An empty payload's address is where its cell ends; were
//! the cell only a header, an object at a block's end would have its
//! payload address at the next block's start, and the collector, which
//! finds an object's space from the payload address, would not see it
//! (zeal's `collect:100,verify` found this in the Scheme interpreter:
//! `IntoEvacuatedSpace` after a SemiSpace collection in Native). Every
//! payload takes at least one slot in its cell, so the address lies in
//! the object's own cell and block; the bounds stay exact (length 0).

use capability_heap::{CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};
use gc_core::{Heap, HeapConfig, ObjectType, Plan};

/// Enough empty objects to fill several 64 KiB blocks, so that some sit
/// at a block's end whatever the header and slot sizes.
const N: u64 = 20_000;

fn empty_objects_survive_collections<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        limit: 256 << 20,
        ..HeapConfig::default()
    })
    .unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let refs = h.register_type(ObjectType::RefArray).unwrap();
    let table = h.alloc_array(refs, N).unwrap();
    let root = h.persist(&table).unwrap();
    for i in 0..N {
        let e = h.alloc_array(bytes, 0).unwrap();
        let table = h.get_persistent(root).unwrap();
        h.set_ref(&table, i * Heap::<M>::SLOT, &e).unwrap();
    }
    for round in 0..3 {
        h.collect().unwrap();
        if let Err(e) = h.verify() {
            panic!("{plan:?} {} after collection {round}: {e:?}", M::NAME);
        }
        let table = h.get_persistent(root).unwrap();
        for i in 0..N {
            let e = h.get_ref(&table, i * Heap::<M>::SLOT).unwrap();
            assert!(!e.is_null(), "{plan:?} {}: element {i} lost", M::NAME);
            assert_eq!(h.array_len(&e).unwrap(), 0);
        }
    }
}

macro_rules! every_plan {
    ($name:ident, $m:ty) => {
        #[test]
        fn $name() {
            for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
                empty_objects_survive_collections::<$m>(plan);
            }
        }
    };
}

every_plan!(native, Native);
every_plan!(p128, P128);
every_plan!(morello, SoftCheri<Morello>);
every_plan!(cheri_v9, SoftCheri<CheriV9>);
every_plan!(riscv_std, SoftCheri<RiscvStd>);
