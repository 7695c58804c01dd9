//! A small tree workload with collections in every mode, verified after
//! each collection.

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use gc_core::{GcError, Handle, Heap, HeapConfig, ScanStrategy, TypeId};

fn make_tree<M: RefMode>(heap: &mut Heap<M>, node: TypeId, depth: u32) -> Result<Handle, GcError> {
    let scope = heap.open_scope();
    let n = heap.alloc(node)?;
    let h = heap.handle(&n)?;
    if depth > 0 {
        let l = make_tree(heap, node, depth - 1)?;
        let r = make_tree(heap, node, depth - 1)?;
        let (l, r, n) = (heap.get(l)?, heap.get(r)?, heap.get(h)?);
        heap.set_ref(&n, Heap::<M>::ref_offset(0), &l)?;
        heap.set_ref(&n, Heap::<M>::ref_offset(1), &r)?;
    }
    let n = heap.get(h)?;
    heap.write::<u64>(&n, Heap::<M>::data_offset(2), u64::from(depth))?;
    heap.close_scope(scope)?;
    heap.handle(&n)
}

fn check<M: RefMode>(heap: &Heap<M>, h: Handle) -> Result<u64, GcError> {
    let mut count = 0;
    let mut stack = vec![heap.get(h)?];
    while let Some(n) = stack.pop() {
        count += 1;
        for i in 0..2 {
            let c = heap.get_ref(&n, Heap::<M>::ref_offset(i))?;
            if !c.is_null() {
                stack.push(c);
            }
        }
    }
    Ok(count)
}

fn workload<M: RefMode>(scan: ScanStrategy) {
    let cfg = HeapConfig {
        initial_size: 1 << 20,
        limit: 64 << 20,
        scan,
        ..HeapConfig::default()
    };
    let mut heap = Heap::<M>::new(cfg).unwrap();
    let node = heap.record_type(2, 8).unwrap();
    let long = make_tree(&mut heap, node, 10).unwrap();
    for round in 0..20 {
        let scope = heap.open_scope();
        let t = make_tree(&mut heap, node, 8).unwrap();
        assert_eq!(check(&heap, t).unwrap(), 511, "round {round}");
        heap.close_scope(scope).unwrap();
        if round % 5 == 0 {
            heap.collect().unwrap();
            heap.verify().unwrap();
        }
    }
    assert_eq!(check(&heap, long).unwrap(), 2047);
    let s = heap.collect().unwrap();
    assert_eq!(s.live_objects, 2047);
    heap.verify().unwrap();
    assert!(heap.stats().collections > 4, "{:?}", heap.stats());
}

#[test]
fn trees_native() {
    workload::<Native>(ScanStrategy::TypeMap);
}

#[test]
fn trees_p128() {
    workload::<P128>(ScanStrategy::TypeMap);
}

#[test]
fn trees_softcheri_typemap() {
    workload::<SoftCheri<Morello>>(ScanStrategy::TypeMap);
}

#[test]
fn trees_softcheri_tags() {
    workload::<SoftCheri<Morello>>(ScanStrategy::Tags);
}
