//! The object header's size and limits as a user of the public API sees
//! them (`object/header.rs`): 8 bytes in Native, 16 in P128 and
//! SoftCheri, so a two-reference node takes 24, 48 and 48 bytes of heap
//! in every plan; Native refuses an array its one-word header cannot
//! describe with `BadLength` and stays usable.

mod common;

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use gc_core::{header_size, GcError, Heap, HeapConfig, ObjectType, Plan};

use common::config;

/// Bytes of heap `n` two-reference nodes take, as the statistics count
/// them, after one node opened the space.
fn bytes_per_node<M: RefMode>(plan: Plan) -> u64 {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 0).unwrap();
    let first = h.alloc(node).unwrap();
    let _keep = h.handle(&first).unwrap();
    let before = h.stats().bytes_allocated;
    let n = 1000;
    for _ in 0..n {
        h.alloc(node).unwrap();
    }
    assert_eq!(h.stats().collections, 0, "{} {plan:?}", M::NAME);
    (h.stats().bytes_allocated - before) / n
}

#[test]
fn a_two_reference_node_takes_its_header_and_two_slots() {
    assert_eq!(header_size::<Native>(), 8);
    assert_eq!(header_size::<P128>(), 16);
    assert_eq!(header_size::<SoftCheri<Morello>>(), 16);
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        assert_eq!(bytes_per_node::<Native>(plan), 24, "{plan:?}");
        assert_eq!(bytes_per_node::<P128>(plan), 48, "{plan:?}");
        assert_eq!(bytes_per_node::<SoftCheri<Morello>>(plan), 48, "{plan:?}");
    }
}

/// Objects of every size class and both array kinds survive collections
/// in every plan with their lengths and contents, the verifier clean:
/// Native's packed length and type are read back right at every size
/// (around the 8-byte steps of its size classes).
fn lengths_round_trip<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let refs = h.register_type(ObjectType::RefArray).unwrap();
    let mut kept = Vec::new();
    for len in (0..600).step_by(7).chain([4095, 4096, 70_000]) {
        let b = h.alloc_array(bytes, len).unwrap();
        if len > 0 {
            h.write::<u8>(&b, len - 1, (len % 251) as u8).unwrap();
        }
        kept.push((h.handle(&b).unwrap(), len));
        let r = h.alloc_array(refs, len / 64).unwrap();
        kept.push((h.handle(&r).unwrap(), (len / 64) * M::SLOT_SIZE));
    }
    for _ in 0..3 {
        h.collect().unwrap();
        h.verify().unwrap();
    }
    for (i, (hd, len)) in kept.iter().enumerate() {
        let o = h.get(*hd).unwrap();
        assert_eq!(h.payload_len(&o).unwrap(), *len, "{} {plan:?}", M::NAME);
        if i % 2 == 0 && *len > 0 {
            assert_eq!(h.read::<u8>(&o, len - 1).unwrap(), (len % 251) as u8);
        }
    }
}

#[test]
fn lengths_survive_collections_in_every_mode_and_plan() {
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        lengths_round_trip::<Native>(plan);
        lengths_round_trip::<P128>(plan);
        lengths_round_trip::<SoftCheri<Morello>>(plan);
    }
}

/// Native's header holds a length below 4 GiB: a larger array is
/// `BadLength` (not an out-of-memory, not a wrapped length), and the heap
/// goes on allocating. The limit is large enough that only the header
/// refuses it (nothing that size is ever mapped).
#[test]
fn native_refuses_an_array_its_header_cannot_hold() {
    let mut h = Heap::<Native>::new(HeapConfig {
        limit: 5 << 30,
        ..config(Plan::MarkSweep)
    })
    .unwrap();
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let refs = h.register_type(ObjectType::RefArray).unwrap();
    assert!(matches!(
        h.alloc_array(bytes, 1 << 32),
        Err(GcError::BadLength { len, .. }) if len == 1 << 32
    ));
    assert!(matches!(
        h.alloc_array(refs, 1 << 29),
        Err(GcError::BadLength { len, .. }) if len == 1 << 32
    ));
    let ok = h.alloc_array(bytes, 100).unwrap();
    assert_eq!(h.payload_len(&ok).unwrap(), 100);
    h.verify().unwrap();
}
