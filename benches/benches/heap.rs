//! The mutator's hot paths through the public `gc-core` API, per reference
//! mode: allocation (amortised minor collections included, every object
//! dying young), reference stores with the generational barrier, handle
//! push/pop, root-region slot push/pop (a VM's shadow stack), and checked
//! loads (a reference field and a data field).
//!
//! Each iteration does `OPS` operations, so criterion reports time per
//! operation as time per element. The heap is Generational with a fixed
//! 4 MiB nursery (the throughput preset's shape, independent of the pause
//! goal, so runs compare).

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use gc_core::{Heap, HeapConfig, ObjRef, Plan};
use std::hint::black_box;

const OPS: u64 = 1000;

fn heap<M: RefMode>() -> Heap<M> {
    Heap::<M>::new(HeapConfig {
        plan: Plan::Generational,
        nursery_size: 4 << 20,
        pause_goal: None,
        limit: 1 << 30,
        ..HeapConfig::default()
    })
    .expect("heap")
}

/// `OPS` reference stores of `value` into the two slots of `holder`.
fn stores<M: RefMode>(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    h: &mut Heap<M>,
    holder: ObjRef<M>,
    value: ObjRef<M>,
) {
    g.bench_function(name, |b| {
        b.iter(|| {
            for i in 0..OPS {
                h.set_ref(&holder, Heap::<M>::ref_offset(i as u32 & 1), &value)
                    .unwrap();
            }
        })
    });
}

fn bench_mode<M: RefMode>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("heap/{}", M::NAME));
    g.throughput(Throughput::Elements(OPS));
    let mut h = heap::<M>();
    let node = h.record_type(2, 8).unwrap();

    g.bench_function("alloc", |b| {
        b.iter(|| {
            for _ in 0..OPS {
                black_box(h.alloc(node).unwrap());
            }
        })
    });

    // Young holder, young value: the barrier's filter, no remembering.
    let (holder, value) = (h.alloc(node).unwrap(), h.alloc(node).unwrap());
    stores(&mut g, "set_ref_young", &mut h, holder, value);
    // Old holder, old value (both pinned in the mature space).
    let (holder, value) = (h.alloc_pinned(node).unwrap(), h.alloc_pinned(node).unwrap());
    stores(&mut g, "set_ref_old", &mut h, holder, value);

    g.bench_function("handle_push_pop", |b| {
        let obj = h.alloc(node).unwrap();
        b.iter(|| {
            for _ in 0..OPS {
                let s = h.open_scope();
                let k = h.handle(&obj).unwrap();
                black_box(h.get(k).unwrap());
                h.close_scope(s).unwrap();
            }
        })
    });

    g.bench_function("root_slot_push_pop", |b| {
        let obj = h.alloc(node).unwrap();
        let region = h.root_region_new(64).unwrap();
        b.iter(|| {
            for i in 0..OPS {
                let slot = i & 63;
                h.root_set(region, slot, &obj).unwrap();
                black_box(h.root_get(region, slot).unwrap());
                h.root_set_data(region, slot, 0).unwrap();
            }
        })
    });

    g.bench_function("get_ref", |b| {
        let holder = h.alloc(node).unwrap();
        let value = h.alloc(node).unwrap();
        h.set_ref(&holder, Heap::<M>::ref_offset(0), &value)
            .unwrap();
        b.iter(|| {
            for _ in 0..OPS {
                black_box(h.get_ref(&holder, Heap::<M>::ref_offset(0)).unwrap());
            }
        })
    });

    g.bench_function("read_u64", |b| {
        let obj = h.alloc(node).unwrap();
        let data = 2 * M::SLOT_SIZE;
        b.iter(|| {
            for _ in 0..OPS {
                black_box(h.read::<u64>(&obj, data).unwrap());
            }
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_mode::<Native>(c);
    bench_mode::<P128>(c);
    bench_mode::<SoftCheri<Morello>>(c);
}

criterion_group!(heap_benches, benches);
criterion_main!(heap_benches);
