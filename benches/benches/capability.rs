//! ns/op of the capability primitives, per format: decode, encode
//! (metadata from fields), rounding and exact SetBounds, CRRL/CRAM.

use capability_heap::{
    Address, Capability, CheriV9, Format, Morello, Perms, RiscvStd, TaggedRegion,
};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

/// Realistic inputs: objects of many sizes derived from a region authority.
fn inputs<F: Format>() -> Vec<(u64, u64, u64)> {
    let region = TaggedRegion::for_format::<F>(1 << 24).unwrap();
    let auth = authority::<F>(&region);
    let mut out = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = 16 + (x % (1 << ((x >> 40) % 20 + 4)));
        let off = ((x >> 8) % ((1 << 23) - len)) & !15;
        let c = auth
            .set_address(auth.base().add(off))
            .set_bounds(len)
            .unwrap();
        let (pesbt, cursor) = c.to_bits();
        out.push((pesbt, cursor, len));
    }
    out
}

fn bench_format<F: Format>(c: &mut Criterion) {
    let caps = inputs::<F>();
    let mut g = c.benchmark_group(format!("capability/{}", F::NAME));
    g.bench_function("decode", |b| {
        let mut i = 0;
        b.iter(|| {
            let (p, a, _) = caps[i & 1023];
            i += 1;
            black_box(F::decode(black_box(p), black_box(a)))
        })
    });
    g.bench_function("bounds", |b| {
        let mut i = 0;
        b.iter(|| {
            let (p, a, _) = caps[i & 1023];
            i += 1;
            black_box(F::bounds(black_box(p), black_box(a)))
        })
    });
    g.bench_function("encode", |b| {
        let mut i = 0;
        b.iter(|| {
            let (_, a, len) = caps[i & 1023];
            i += 1;
            let r = F::set_bounds(F::ROOT_PESBT, black_box(a), true, u128::from(len));
            black_box(F::with_otype(
                F::with_perms(r.pesbt, F::PERMS_MASK & 0x3f),
                F::OTYPE_UNSEALED,
            ))
        })
    });
    for exact in [false, true] {
        let name = if exact {
            "set_bounds_exact"
        } else {
            "set_bounds"
        };
        g.bench_with_input(BenchmarkId::new(name, "object"), &exact, |b, &exact| {
            let region = TaggedRegion::for_format::<F>(1 << 24).unwrap();
            let auth = authority::<F>(&region);
            let mut i = 0;
            b.iter(|| {
                let (_, a, len) = caps[i & 1023];
                i += 1;
                let at = auth.set_address(Address(a));
                black_box(if exact {
                    at.set_bounds_exact(F::crrl(len))
                } else {
                    at.set_bounds(len)
                })
            })
        });
    }
    g.bench_function("and_perms", |b| {
        let mut i = 0;
        b.iter(|| {
            let (p, a, _) = caps[i & 1023];
            i += 1;
            black_box(Capability::<F>::decode(p, a).and_perms(black_box(Perms::LOAD)))
        })
    });
    g.bench_function("crrl_cram", |b| {
        let mut i = 0;
        b.iter(|| {
            let (_, _, len) = caps[i & 1023];
            i += 1;
            black_box((F::crrl(black_box(len)), F::cram(len)))
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_format::<Morello>(c);
    bench_format::<CheriV9>(c);
    bench_format::<RiscvStd>(c);
}

criterion_group!(capability, benches);
criterion_main!(capability);

/// The region's authority: the benchmark owns the region and plays its
/// collector (the authority never leaves it and dies first).
fn authority<F: Format>(region: &TaggedRegion) -> capability_heap::Capability<F> {
    // SAFETY: see above.
    unsafe { region.mint_authority::<F>() }.expect("exact authority")
}
