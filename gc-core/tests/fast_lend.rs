//! The fast path's Rust side from outside the crate (`fast.rs`): the
//! bump buffer lent and taken back — objects placed by the caller are
//! adopted (alloc bits, statistics) and verify, a broken header or cursor
//! poisons the heap with `FastBuffer` — never lent in a checked mode or
//! MarkSweep; and the shadow stack, validated and rewritten by every
//! collection.

mod common;

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use gc_core::{header_size, ExternRef, GcError, Heap, HeapConfig, Plan, ShadowStack};

use common::config;

/// Places `n` objects of a record type (two reference slots) in the lent
/// buffer as `capgc_fast_alloc` does; returns their payload addresses.
fn place<M: RefMode>(h: &mut Heap<M>, ty: gc_core::TypeId, n: u64) -> (Vec<u64>, u64) {
    let (mut at, limit) = h.fast_lend();
    assert!(at != 0 && limit > at, "{} lends", M::NAME);
    let len = 2 * M::SLOT_SIZE;
    let cell = header_size::<M>() + len;
    let mut out = Vec::new();
    for _ in 0..n {
        assert!(at + cell <= limit);
        let payload = at + header_size::<M>();
        write_header::<M>(payload, u64::from(ty.index()), len);
        out.push(payload);
        at += cell;
    }
    (out, at)
}

/// Writes the header of the object at `payload` as the C fast path does
/// (`capgc_fast.h`): Native one word, `type << 8 | len << 32`; P128 two,
/// the type then the length.
fn write_header<M: RefMode>(payload: u64, ty: u64, len: u64) {
    assert_eq!(
        header_size::<M>(),
        M::SLOT_SIZE,
        "the header is a cell alignment"
    );
    // SAFETY: the callers pass the payload of a cell in a buffer the heap
    // lent, mapped memory of its region, the header before it.
    unsafe {
        if header_size::<M>() == 8 {
            ((payload - 8) as *mut u64).write(ty << 8 | len << 32);
        } else {
            ((payload - 16) as *mut u64).write(ty);
            ((payload - 8) as *mut u64).write(len);
        }
    }
}

fn adopts_what_the_caller_placed<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 0).unwrap();
    let first = h.alloc(node).unwrap(); // opens a copy-space block
    let keep = h.persist(&first).unwrap();
    let before = h.stats().objects_allocated;
    let (objs, cursor) = place(&mut h, node, 100);
    h.fast_reclaim(cursor).unwrap();
    assert_eq!(h.stats().objects_allocated, before + 100);
    for &a in &objs {
        let o = h.import_ref(ExternRef { addr: a, meta: 0 }).unwrap();
        assert_eq!(h.type_of(&o).unwrap(), node);
    }
    // Link them into the kept object's list and collect: they survive.
    let head = h.get_persistent(keep).unwrap();
    let o = h
        .import_ref(ExternRef {
            addr: objs[99],
            meta: 0,
        })
        .unwrap();
    h.set_ref(&head, 0, &o).unwrap();
    h.verify().unwrap();
    h.collect().unwrap();
    h.verify().unwrap();
    let head = h.get_persistent(keep).unwrap();
    assert!(!h.get_ref(&head, 0).unwrap().is_null());
}

fn refuses_a_broken_buffer<M: RefMode>(plan: Plan, how: u32) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 0).unwrap();
    h.alloc(node).unwrap();
    let (objs, mut cursor) = place(&mut h, node, 3);
    let len = 2 * M::SLOT_SIZE;
    let ty = u64::from(node.index());
    match how {
        0 => write_header::<M>(objs[1], 9999, len), // a type no one registered
        1 => write_header::<M>(objs[1], ty, 3),     // a length the type refuses
        2 => write_header::<M>(objs[1], ty | 1 << 24, len), // Native: into the length
        3 => {
            // Flag bits the caller may not set: Native's forwarded bit
            // and a stray bit 2..8; P128's flag word.
            // SAFETY: the header of an object placed above, in the lent buffer.
            unsafe {
                let hdr = (objs[1] - header_size::<M>()) as *mut u64;
                hdr.write(hdr.read() | if header_size::<M>() == 8 { 1 } else { 1 << 33 });
                let hdr = (objs[2] - header_size::<M>()) as *mut u64;
                hdr.write(hdr.read() | if header_size::<M>() == 8 { 4 } else { 1 << 40 });
            }
        }
        _ => cursor += 1 << 20, // past the buffer
    }
    assert!(matches!(
        h.fast_reclaim(cursor),
        Err(GcError::FastBuffer(_))
    ));
    assert!(h.is_poisoned());
    assert!(matches!(h.collect(), Err(GcError::FastBuffer(_))));
}

/// A shadow stack in memory of its own, reached only through raw
/// pointers (the heap keeps one to it between calls).
struct Stack {
    stack: *mut ShadowStack,
    refs: *mut ExternRef,
    cap: usize,
}

impl Stack {
    fn new(cap: usize) -> Stack {
        let refs =
            Box::into_raw(vec![ExternRef::default(); cap].into_boxed_slice()).cast::<ExternRef>();
        let stack = Box::into_raw(Box::new(ShadowStack {
            refs,
            top: 0,
            cap: cap as u64,
        }));
        Stack { stack, refs, cap }
    }
    /// Frees the stack's memory, once no heap holds it any more.
    fn free(self) {
        // SAFETY: both were made by `Box::into_raw` in `new` (the entries
        // as a boxed slice of `cap`), and the caller unregistered the
        // stack: nothing else points at them.
        unsafe {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.refs, self.cap,
            )));
            drop(Box::from_raw(self.stack));
        }
    }
    fn set(&self, i: usize, e: ExternRef) {
        // SAFETY: `i` is below the capacity (the tests' indices), and no
        // call on the heap is in progress.
        unsafe { self.refs.add(i).write(e) }
    }
    fn get(&self, i: usize) -> ExternRef {
        // SAFETY: as in `set`.
        unsafe { self.refs.add(i).read() }
    }
    fn set_top(&self, top: u64) {
        // SAFETY: the stack is live and no call on the heap is in progress.
        unsafe { (*self.stack).top = top }
    }
}

fn shadow_stack_moves_with_its_objects<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(config(plan)).unwrap();
    let node = h.record_type(2, 8).unwrap();
    let s = Stack::new(8);
    // SAFETY: the stack outlives the heap's use of it (unregistered
    // before it is freed below), and nothing else touches it during a
    // call on the heap.
    unsafe { h.set_shadow_stack(s.stack) };
    for i in 0..4u64 {
        let o = h.alloc(node).unwrap();
        h.write::<u64>(&o, Heap::<M>::data_offset(2), 100 + i)
            .unwrap();
        s.set(i as usize, h.export_ref(&o).unwrap());
    }
    s.set_top(4);
    let old: Vec<ExternRef> = (0..4).map(|i| s.get(i)).collect();
    h.collect().unwrap();
    h.verify().unwrap();
    for (i, was) in old.iter().enumerate() {
        if M::CHECKED || plan != Plan::MarkSweep {
            assert_ne!(s.get(i), *was, "rewritten (new epoch or new place)");
        }
        let o = h.import_ref(s.get(i)).unwrap();
        let v = h.read::<u64>(&o, Heap::<M>::data_offset(2)).unwrap();
        assert_eq!(v, 100 + i as u64);
    }
    // An entry that is no live object's reference refuses the collection.
    let first = s.get(0);
    s.set(
        4,
        ExternRef {
            addr: first.addr + 16,
            meta: first.meta,
        },
    );
    s.set_top(5);
    match h.collect() {
        Err(GcError::Forged) => assert!(M::CHECKED),
        Err(GcError::NotAnObject) => assert!(!M::CHECKED),
        other => panic!("{} {plan:?}: {other:?}", M::NAME),
    }
    s.set(4, old[0]); // from before the last collection
    if M::CHECKED {
        assert!(matches!(h.collect(), Err(GcError::StaleReference)));
    }
    s.set_top(9); // past the capacity
    assert!(matches!(
        h.collect(),
        Err(GcError::IndexOutOfRange { index: 9, len: 8 })
    ));
    s.set_top(4);
    h.collect().unwrap();
    h.verify().unwrap();
    // SAFETY: null unregisters.
    unsafe { h.set_shadow_stack(std::ptr::null()) };
    drop(h);
    s.free();
}

#[test]
fn unchecked_moving_heaps_lend_and_adopt() {
    for plan in [Plan::SemiSpace, Plan::Generational] {
        adopts_what_the_caller_placed::<Native>(plan);
        adopts_what_the_caller_placed::<P128>(plan);
        for how in 0..5 {
            refuses_a_broken_buffer::<Native>(plan, how);
            refuses_a_broken_buffer::<P128>(plan, how);
        }
    }
}

#[test]
fn checked_modes_and_marksweep_never_lend() {
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        let mut h = Heap::<SoftCheri<Morello>>::new(config(plan)).unwrap();
        let node = h.record_type(2, 0).unwrap();
        h.alloc(node).unwrap();
        assert_eq!(h.fast_lend(), (0, 0));
        assert_eq!(h.fast_geometry().max_len, 0);
        assert!(h.fast_geometry().checked);
    }
    let mut h = Heap::<Native>::new(config(Plan::MarkSweep)).unwrap();
    let node = h.record_type(2, 0).unwrap();
    h.alloc(node).unwrap();
    assert_eq!(h.fast_lend(), (0, 0));
}

#[test]
fn the_shadow_stack_in_every_mode_and_plan() {
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        shadow_stack_moves_with_its_objects::<Native>(plan);
        shadow_stack_moves_with_its_objects::<P128>(plan);
        shadow_stack_moves_with_its_objects::<SoftCheri<Morello>>(plan);
    }
}

/// SemiSpace's pacing holds across the two paths: after Rust allocation
/// (whose bytes the statistics take in lazily) brings the heap within a
/// few cells of its trigger, the buffer lent is no larger than what is
/// left before the trigger, not the rest of the block.
fn lends_no_more_than_the_trigger_leaves<M: RefMode>() {
    let initial = (256 + 32) << 10; // not a block multiple: the block has room
    let mut h = Heap::<M>::new(HeapConfig {
        initial_size: initial,
        ..config(Plan::SemiSpace)
    })
    .unwrap();
    let node = h.record_type(2, 0).unwrap();
    let cell = header_size::<M>() + 2 * M::SLOT_SIZE;
    while h.stats().bytes_in_use + 4 * cell < initial {
        h.alloc(node).unwrap();
    }
    assert_eq!(h.stats().collections, 0, "{}", M::NAME);
    let left = initial - h.stats().bytes_in_use;
    let (cursor, limit) = h.fast_lend();
    assert!(
        limit - cursor <= left,
        "{}: lent {} bytes with {left} left before the trigger",
        M::NAME,
        limit - cursor
    );
    h.fast_reclaim(cursor).unwrap();
    assert_eq!(h.stats().collections, 0);
}

#[test]
fn semispace_lends_within_its_trigger() {
    lends_no_more_than_the_trigger_leaves::<Native>();
    lends_no_more_than_the_trigger_leaves::<P128>();
}

/// A collection an allocation needs, refused for a bad shadow-stack
/// entry, fails that allocation with the entry's error, not as out of
/// memory; the heap allocates again once the entry is gone.
fn a_refused_collection_fails_the_allocation_with_its_error<M: RefMode>(plan: Plan) {
    let mut h = Heap::<M>::new(HeapConfig {
        initial_size: 256 << 10,
        limit: 2 << 20,
        ..config(plan)
    })
    .unwrap();
    let node = h.record_type(2, 8).unwrap();
    let s = Stack::new(4);
    // SAFETY: as in `shadow_stack_moves_with_its_objects`.
    unsafe { h.set_shadow_stack(s.stack) };
    let o = h.alloc(node).unwrap();
    let e = h.export_ref(&o).unwrap();
    s.set(
        0,
        ExternRef {
            addr: e.addr + 16,
            meta: e.meta,
        },
    );
    s.set_top(1);
    let err = (0..1_000_000)
        .find_map(|_| h.alloc(node).err())
        .unwrap_or_else(|| panic!("{} {plan:?}: never refused", M::NAME));
    let want = if M::CHECKED {
        GcError::Forged
    } else {
        GcError::NotAnObject
    };
    assert_eq!(err, want, "{} {plan:?}", M::NAME);
    s.set_top(0);
    h.alloc(node).unwrap();
    h.verify().unwrap();
    // SAFETY: null unregisters.
    unsafe { h.set_shadow_stack(std::ptr::null()) };
    drop(h);
    s.free();
}

#[test]
fn a_refused_collection_fails_the_allocation() {
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        a_refused_collection_fails_the_allocation_with_its_error::<Native>(plan);
        a_refused_collection_fails_the_allocation_with_its_error::<SoftCheri<Morello>>(plan);
    }
}
