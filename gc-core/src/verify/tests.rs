//! The verifier can fail: for each invariant it checks, a heap is
//! corrupted on purpose — through test-only hooks that write what no
//! public API can (a capability minted from the heap's authority, a tag
//! in a header, a dropped remembered slot) — and `verify()` must report
//! exactly that violation, at its location.

use super::{RefLocation, Violation};
use crate::object::Header;
use crate::policy::block::{BlockState, BLOCK};
use crate::{Heap, HeapConfig, ObjRef, Plan, TypeId};
use capability_heap::{Address, Morello, Native, Perms, RefMode, SoftCheri};

type Cheri = SoftCheri<Morello>;

fn heap<M: RefMode>(plan: Plan) -> (Heap<M>, TypeId) {
    let mut h = Heap::<M>::new(HeapConfig {
        plan,
        pause_goal: None,
        nursery_size: 256 << 10,
        limit: 16 << 20,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap();
    // Two reference slots, then 16 data bytes.
    let node = h.record_type(2, 16).unwrap();
    (h, node)
}

/// The corruption hooks: writes into the heap's own memory that the
/// public API refuses.
impl<M: RefMode> Heap<M> {
    /// Writes `r` into the slot at `slot`, with its tag, unchecked.
    fn poke(&mut self, slot: Address, r: &M::Ref) {
        assert!(self.arena.region().contains(slot, M::SLOT_SIZE));
        // SAFETY: slot is inside the region (asserted) and the tests pick
        // SLOT_SIZE-aligned addresses.
        unsafe { M::write_slot(self.arena.region_mut(), slot, r) };
    }

    /// A reference to `[payload, payload + len)` minted from the heap's
    /// authority.
    fn mint(&self, payload: Address, len: u64) -> M::Ref {
        M::derive(self.arena.corrupt_authority(), payload, len).unwrap()
    }

    /// An evacuated block, after a moving collection.
    fn quarantined_block(&self) -> Address {
        self.arena
            .corrupt_blocks()
            .into_iter()
            .find(|(_, s)| *s == BlockState::Quarantined)
            .expect("a quarantined block")
            .0
    }

    /// Two rooted objects, `b` stored in `a`'s slot 0; the heap verifies.
    fn pair(&mut self, node: TypeId) -> (ObjRef<M>, ObjRef<M>) {
        let a = self.alloc(node).unwrap();
        let ha = self.handle(&a).unwrap();
        let b = self.alloc(node).unwrap();
        let hb = self.handle(&b).unwrap();
        let a = self.get(ha).unwrap();
        self.set_ref(&a, 0, &b).unwrap();
        self.verify().expect("clean before the corruption");
        (self.get(ha).unwrap(), self.get(hb).unwrap())
    }
}

/// The 48-byte payload's bounds in this mode (48: exactly representable).
fn padded<M: RefMode>() -> u64 {
    M::payload_layout(2 * M::SLOT_SIZE + 16).unwrap().bounds
}

#[test]
fn i1_inexact_reference() {
    let (mut h, node) = heap::<Cheri>(Plan::MarkSweep);
    let (a, b) = h.pair(node);
    let short = h.mint(b.address(), padded::<Cheri>() - 16);
    h.poke(a.address(), &short);
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::InexactReference {
            at: RefLocation::Slot(a.address()),
            target: b.address()
        }]
    );
}

/// I1 is byte-exact (issue #24): a reference to a 5-byte array bounded to
/// the 16-byte granule — what SoftCheri handed out before bounds were
/// exact — is an inexact reference at the slot that holds it, in every
/// plan; the exact one beside it is not.
#[test]
fn i1_granule_rounded_reference() {
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        let (mut h, node) = heap::<Cheri>(plan);
        let bytes = h.register_type(crate::ObjectType::ByteArray).unwrap();
        let a = h.alloc(node).unwrap();
        let ha = h.handle(&a).unwrap();
        let c = h.alloc_array(bytes, 5).unwrap();
        let a = h.get(ha).unwrap();
        h.set_ref(&a, 0, &c).unwrap();
        assert_eq!(c.raw().length(), 5, "{plan:?}: bounds are the length");
        h.verify().expect("clean before the corruption");
        let rounded = h.mint(c.address(), 16);
        let slot = a.address().add(16);
        h.poke(slot, &rounded);
        assert_eq!(
            h.verify().unwrap_err(),
            vec![Violation::InexactReference {
                at: RefLocation::Slot(slot),
                target: c.address()
            }],
            "{plan:?}"
        );
    }
}

/// A capability stored over a header. A tag arrives only with a
/// capability's bits, which are never a valid header, so the header is
/// corrupt too and the handle to the object no longer matches its length:
/// exactly those three.
#[test]
fn i2_tagged_header() {
    let (mut h, node) = heap::<Cheri>(Plan::MarkSweep);
    let (a, b) = h.pair(node);
    h.poke(Header::at::<Cheri>(a.address()), &b.raw());
    assert_eq!(
        h.verify().unwrap_err(),
        vec![
            Violation::InexactReference {
                at: RefLocation::Handle(0),
                target: a.address()
            },
            Violation::TaggedHeader {
                object: a.address()
            },
            Violation::CorruptHeader {
                object: a.address()
            },
        ]
    );
}

fn i2_corrupt_header<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::MarkSweep);
    let (a, _) = h.pair(node);
    h.arena
        .write_header(a.address(), Header::new(999, 48, false))
        .unwrap();
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::CorruptHeader {
            object: a.address()
        }]
    );
}

#[test]
fn i2_corrupt_header_native() {
    i2_corrupt_header::<Native>();
}

#[test]
fn i2_corrupt_header_softcheri() {
    i2_corrupt_header::<Cheri>();
}

/// A reference to a freed cell.
fn i3_dangling<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::MarkSweep);
    let (a, _) = h.pair(node);
    let ha = h.handle(&a).unwrap();
    let c = h.alloc(node).unwrap().address(); // garbage
    h.collect().unwrap();
    let a = h.get(ha).unwrap();
    let dead = h.mint(c, padded::<M>());
    h.poke(a.address(), &dead);
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::DanglingReference {
            at: RefLocation::Slot(a.address()),
            target: c
        }]
    );
}

#[test]
fn i3_dangling_native() {
    i3_dangling::<Native>();
}

#[test]
fn i3_dangling_softcheri() {
    i3_dangling::<Cheri>();
}

/// Data left in a freed cell.
fn i4_dirty_free_memory<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::MarkSweep);
    let (a, _) = h.pair(node);
    let _keep = h.handle(&a).unwrap();
    let c = h.alloc(node).unwrap().address();
    h.collect().unwrap();
    h.verify().unwrap();
    h.arena.region_mut().write::<u64>(c.add(8), 7).unwrap();
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::DirtyFreeMemory { addr: c.add(8) }]
    );
}

#[test]
fn i4_dirty_free_memory_native() {
    i4_dirty_free_memory::<Native>();
}

#[test]
fn i4_dirty_free_memory_softcheri() {
    i4_dirty_free_memory::<Cheri>();
}

/// A tag in an evacuated block awaiting zeroing.
#[test]
fn i4_tag_in_free_memory() {
    let (mut h, node) = heap::<Cheri>(Plan::Generational);
    let (a, _) = h.pair(node);
    let ha = h.handle(&a).unwrap();
    h.collect_minor().unwrap();
    let a = h.get(ha).unwrap();
    let q = h.quarantined_block();
    h.poke(q.add(64), &a.raw());
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::TagInFreeMemory { addr: q.add(64) }]
    );
}

#[test]
fn i5_widened_reference() {
    let (mut h, node) = heap::<Cheri>(Plan::MarkSweep);
    let (a, b) = h.pair(node);
    let wide = h
        .arena
        .corrupt_authority()
        .derive_exact(b.address(), padded::<Cheri>(), Perms::ALL)
        .unwrap();
    h.poke(a.address(), &wide);
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::WidenedReference {
            at: RefLocation::Slot(a.address()),
            target: b.address()
        }]
    );
}

#[test]
fn i6_tag_in_data() {
    let (mut h, node) = heap::<Cheri>(Plan::MarkSweep);
    let (a, b) = h.pair(node);
    let data = a.address().add(Heap::<Cheri>::data_offset(2));
    h.poke(data, &b.raw());
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::TagOutsideRefSlot {
            object: a.address(),
            addr: data
        }]
    );
}

/// A reference into from-space after a moving collection.
fn i8_into_evacuated<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::Generational);
    let (a, _) = h.pair(node);
    let ha = h.handle(&a).unwrap();
    h.collect_minor().unwrap();
    let a = h.get(ha).unwrap();
    let q = h.quarantined_block();
    let stale = h.mint(q.add(16), padded::<M>());
    h.poke(a.address().add(M::SLOT_SIZE), &stale);
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::IntoEvacuatedSpace {
            at: RefLocation::Slot(a.address().add(M::SLOT_SIZE)),
            target: q.add(16)
        }]
    );
    assert!(q.add(BLOCK) > q);
}

#[test]
fn i8_into_evacuated_native() {
    i8_into_evacuated::<Native>();
}

#[test]
fn i8_into_evacuated_softcheri() {
    i8_into_evacuated::<Cheri>();
}

/// An old-to-young slot the remembered set lost.
fn i9_unremembered<M: RefMode>() {
    let (mut h, node) = heap::<M>(Plan::Generational);
    let old = h.alloc_pinned(node).unwrap(); // the mature space
    let ho = h.handle(&old).unwrap();
    let young = h.alloc(node).unwrap();
    let old = h.get(ho).unwrap();
    h.set_ref(&old, 0, &young).unwrap();
    h.verify().expect("the barrier remembered the slot");
    drop(h.arena.remset_mut().take());
    assert_eq!(
        h.verify().unwrap_err(),
        vec![Violation::UnrememberedSlot {
            slot: old.address()
        }]
    );
}

#[test]
fn i9_unremembered_native() {
    i9_unremembered::<Native>();
}

#[test]
fn i9_unremembered_softcheri() {
    i9_unremembered::<Cheri>();
}

/// Every check names its invariant.
#[test]
fn violations_name_their_invariants() {
    let at = RefLocation::Handle(0);
    let a = Address(16);
    let all = [
        (Violation::InexactReference { at, target: a }, "I1"),
        (Violation::TaggedHeader { object: a }, "I2"),
        (Violation::CorruptHeader { object: a }, "I2"),
        (Violation::DanglingReference { at, target: a }, "I3"),
        (Violation::TagInFreeMemory { addr: a }, "I4"),
        (Violation::DirtyFreeMemory { addr: a }, "I4"),
        (Violation::WidenedReference { at, target: a }, "I5"),
        (Violation::TagOutsideRefSlot { object: a, addr: a }, "I6"),
        (Violation::ForeignReference { at, target: a }, "I7"),
        (Violation::UnexportedSealed { at, target: a }, "I7"),
        (Violation::AuthorityOutsideRegion { base: a, top: 0 }, "I7"),
        (Violation::IntoEvacuatedSpace { at, target: a }, "I8"),
        (Violation::UnrememberedSlot { slot: a }, "I9"),
    ];
    for (v, i) in all {
        assert_eq!(v.invariant(), i, "{v:?}");
    }
}
