//! Checked loads and stores per reference mode, against a raw-pointer loop.
//!
//! Each iteration walks 4096 reference slots (or 8-byte data fields) of one
//! object. `raw_pointer` is the floor: a plain `*const u64` loop over the
//! same memory. `Native/read_slot` must match it (the Native path is a plain
//! load); the other rows show the cost of 16-byte slots (P128) and of
//! software capability checks (SoftCheri).

use capability_heap::{
    Address, CheriV9, Morello, Native, RefMode, RiscvStd, SoftCheri, TaggedRegion, P128,
};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;

const SLOTS: u64 = 4096;

/// A region with one object of `SLOTS` reference slots, every slot
/// pointing at a small target object.
fn setup<M: RefMode>() -> (TaggedRegion, M::Ref) {
    let mut region = M::new_region(4 << 20).unwrap();
    // SAFETY: the benchmark owns the region and plays its collector: the
    // authority stays in this function and is dropped before the region.
    let auth = unsafe { M::authority(&region) }.unwrap();
    let len = SLOTS * M::SLOT_SIZE;
    let obj = M::derive(&auth, region.base(), len).unwrap();
    let target = M::derive(&auth, region.base().add(len), 64).unwrap();
    for i in 0..SLOTS {
        M::store_ref(&mut region, &obj, i * M::SLOT_SIZE, &target).unwrap();
    }
    (region, obj)
}

fn bench_mode<M: RefMode>(c: &mut Criterion) {
    let mut g = c.benchmark_group(format!("modes/{}", M::NAME));
    g.throughput(Throughput::Elements(SLOTS));
    let (mut region, obj) = setup::<M>();
    let base = M::address(&obj);
    g.bench_function("read_slot", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for i in 0..SLOTS {
                // SAFETY: every slot of `obj` lies inside `region` and is
                // SLOT_SIZE-aligned (setup derived it at the region base).
                let r = unsafe { M::read_slot(&region, base.add(i * M::SLOT_SIZE)) };
                acc = acc.wrapping_add(M::address(&r).get());
            }
            black_box(acc)
        })
    });
    g.bench_function("load_ref", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for i in 0..SLOTS {
                let r = M::load_ref(&region, &obj, i * M::SLOT_SIZE).unwrap();
                acc = acc.wrapping_add(M::address(&r).get());
            }
            black_box(acc)
        })
    });
    g.bench_function("load_u64", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for i in 0..SLOTS {
                acc = acc.wrapping_add(M::load::<u64>(&region, &obj, i * 8).unwrap());
            }
            black_box(acc)
        })
    });
    g.bench_function("store_u64", |b| {
        b.iter(|| {
            for i in 0..SLOTS {
                M::store::<u64>(&mut region, &obj, i * 8, i).unwrap();
            }
        })
    });
    let target = M::load_ref(&region, &obj, 0).unwrap();
    g.bench_function("store_ref", |b| {
        b.iter(|| {
            for i in 0..SLOTS {
                M::store_ref(&mut region, &obj, i * M::SLOT_SIZE, black_box(&target)).unwrap();
            }
        })
    });
    g.finish();
}

fn raw_pointer(c: &mut Criterion) {
    let mut g = c.benchmark_group("modes/raw_pointer");
    g.throughput(Throughput::Elements(SLOTS));
    let region = TaggedRegion::new(1 << 20).unwrap();
    let base = region.base();
    g.bench_function("read_slot", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for i in 0..SLOTS {
                let p = (base.get() + i * 8) as *const u64;
                // SAFETY: the region maps 1 MiB at `base`; 4096 u64s fit.
                acc = acc.wrapping_add(unsafe { p.read_unaligned() });
            }
            black_box(acc)
        })
    });
    let _ = Address::NULL;
    g.finish();
}

fn benches(c: &mut Criterion) {
    raw_pointer(c);
    bench_mode::<Native>(c);
    bench_mode::<P128>(c);
    bench_mode::<SoftCheri<Morello>>(c);
    bench_mode::<SoftCheri<CheriV9>>(c);
    bench_mode::<SoftCheri<RiscvStd>>(c);
}

criterion_group!(modes, benches);
criterion_main!(modes);
