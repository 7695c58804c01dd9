//! Exact bounds, byte for byte (issue #24; docs/design.md I1), through the
//! public API only, in every format and plan, before and after
//! collections (the moving plans re-derive every reference they move).
//!
//! For a payload of `len` bytes every reference the heap hands out — from
//! allocation, a heap slot, a handle, a persistent root, a root region, a
//! weak reference, an authenticated `ExternRef`, a compartment's unsealed
//! export — reaches bytes `0..len` and nothing at `len` or beyond, for
//! every length the format represents exactly; above that, bytes up to
//! CRRL(len) (the format's own padding, the object's alone) and nothing
//! beyond. Cells stay granule-sized; bounds do not. Lengths: every one in
//! `0..=4096`, those around each format's exact-representability limit,
//! and a random sample up to 2^40 checked at the capability layer (the
//! mode's layout and derivation from an authority over a 2 TiB lazily
//! mapped region, which no heap could fill).

use capability_heap::mode::Collector;
use capability_heap::{
    CapFault, CheriV9, Format, Morello, Perms, RefMode, RiscvStd, SoftCheri, TaggedRegion,
};
use gc_core::{
    Compartments, GcError, Heap, HeapConfig, ObjRef, ObjectType, Plan, RootRegionId, TypeId,
};

const PLANS: [Plan; 3] = [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational];

/// The smallest length format `F` cannot represent exactly at any
/// alignment (CRRL pads it): below it, every bound is the length itself.
fn exact_limit<F: Format>() -> u64 {
    use std::sync::OnceLock;
    static LIMITS: [OnceLock<u64>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let i = [Morello::NAME, CheriV9::NAME, RiscvStd::NAME]
        .iter()
        .position(|n| *n == F::NAME)
        .expect("a known format");
    *LIMITS[i].get_or_init(|| {
        (0..1u64 << 24)
            .find(|&l| F::crrl(l) != l)
            .expect("a limit below 16 MiB")
    })
}

/// What a reference to a `len`-byte payload must reach: `len` bytes
/// exactly below the format's limit, CRRL(len) above it (never a granule
/// rounding).
fn expected_bounds<F: Format>(len: u64) -> u64 {
    if len < exact_limit::<F>() {
        len
    } else {
        F::crrl(len)
    }
}

fn is_bounds<T: std::fmt::Debug>(r: Result<T, GcError>) -> bool {
    matches!(r, Err(GcError::Cap(CapFault::BoundsViolation { .. })))
}

/// Accesses of 1, 2, 4 and 8 bytes and byte ranges ending at the last
/// reachable byte succeed; every access touching a byte at `reach` or
/// beyond (the first byte past the bounds, the rest of its granule, the
/// next granule, far away) is a `Bounds` error.
fn check_accesses<M: RefMode>(h: &mut Heap<M>, o: &ObjRef<M>, len: u64, what: &str)
where
    ObjRef<M>: RawLength,
{
    let reach = expected_bounds_of::<M>(len);
    let ctx = || format!("{} {what}: len {len}, bounds {reach}", M::NAME);
    if reach > 0 {
        let last = reach - 1;
        h.write::<u8>(o, last, 0x5a)
            .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
        assert_eq!(h.read::<u8>(o, last).unwrap(), 0x5a, "{}", ctx());
        h.write::<u8>(o, last, 0).unwrap();
        if reach >= 2 {
            h.read::<u16>(o, reach - 2)
                .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
            h.write::<u16>(o, reach - 2, 0).unwrap();
        }
        if reach >= 4 {
            h.read::<u32>(o, reach - 4)
                .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
            h.write::<u32>(o, reach - 4, 0).unwrap();
        }
        if reach >= 8 {
            h.read::<u64>(o, reach - 8)
                .unwrap_or_else(|e| panic!("{}: {e}", ctx()));
            h.write::<u64>(o, reach - 8, 0).unwrap();
        }
        for start in [0, reach / 2, last] {
            let mut buf = vec![0u8; (reach - start) as usize];
            h.read_bytes(o, start, &mut buf)
                .unwrap_or_else(|e| panic!("{} [{start}, {reach}): {e}", ctx()));
            h.write_bytes(o, start, &buf).unwrap();
        }
    }
    let next_granule = (reach | 15) + 1;
    for off in [reach, reach + 1, reach | 15, next_granule, reach + 4096] {
        assert!(is_bounds(h.read::<u8>(o, off)), "{} read at {off}", ctx());
        assert!(
            is_bounds(h.write::<u8>(o, off, 1)),
            "{} write at {off}",
            ctx()
        );
    }
    // Wider accesses ending past the bounds by one byte.
    for (size, r) in [
        (2, h.read::<u16>(o, reach.wrapping_sub(1)).map(|_| ())),
        (4, h.read::<u32>(o, reach.wrapping_sub(3)).map(|_| ())),
        (8, h.read::<u64>(o, reach.wrapping_sub(7)).map(|_| ())),
    ] {
        if reach + 1 >= size {
            assert!(is_bounds(r), "{} {size}-byte access over the end", ctx());
        }
    }
    // A byte range ending one past the bounds.
    let start = reach.saturating_sub(3);
    let mut buf = vec![0u8; (reach + 1 - start) as usize];
    assert!(is_bounds(h.read_bytes(o, start, &mut buf)), "{}", ctx());
    assert!(is_bounds(h.write_bytes(o, start, &buf)), "{}", ctx());
    assert_eq!(o.raw_length(), u128::from(reach), "{}", ctx());
}

/// `expected_bounds` for the mode's format (only SoftCheri modes here).
fn expected_bounds_of<M: RefMode>(len: u64) -> u64 {
    match M::NAME {
        n if n == Morello::NAME => expected_bounds::<Morello>(len),
        n if n == CheriV9::NAME => expected_bounds::<CheriV9>(len),
        n if n == RiscvStd::NAME => expected_bounds::<RiscvStd>(len),
        n => panic!("no bounds in mode {n}"),
    }
}

/// The capability length of a reference (SoftCheri), for the messages and
/// the direct length check.
trait RawLength {
    fn raw_length(&self) -> u128;
}

impl<F: Format> RawLength for ObjRef<SoftCheri<F>> {
    fn raw_length(&self) -> u128 {
        self.raw().length()
    }
}

fn heap<M: RefMode>(plan: Plan) -> Heap<M> {
    Heap::<M>::new(HeapConfig {
        plan,
        limit: 96 << 20,
        log: false,
        ..HeapConfig::default()
    })
    .unwrap()
}

/// Every byte-array length in `0..=4096` and those around the format's
/// limit, kept in a reference array (so the moving plans move and
/// re-derive them), checked after allocation, after a collection and
/// after a second one (promoted in Generational); a sample also through a
/// handle, a persistent root, a root region, a weak reference and an
/// `ExternRef`.
fn byte_arrays<F: Format>(plan: Plan)
where
    ObjRef<SoftCheri<F>>: RawLength,
{
    type M<F> = SoftCheri<F>;
    let limit = exact_limit::<F>();
    let mut lens: Vec<u64> = (0..=4096).collect();
    lens.extend((limit - 3..=limit + 3).filter(|l| *l > 4096));
    lens.extend([2 * limit - 1, 2 * limit + 1, 4 * limit + 7]);
    let mut h = heap::<M<F>>(plan);
    let bytes = h.register_type(ObjectType::ByteArray).unwrap();
    let refs = h.register_type(ObjectType::RefArray).unwrap();
    let holder = h.alloc_array(refs, lens.len() as u64).unwrap();
    let hh = h.handle(&holder).unwrap();
    let region = h.root_region_new(4).unwrap();
    let mut sample = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        let o = h.alloc_array(bytes, len).unwrap();
        check_accesses(&mut h, &o, len, "fresh");
        let holder = h.get(hh).unwrap();
        h.set_ref(&holder, 16 * i as u64, &o).unwrap();
        if i % 251 == 1 || len >= limit - 3 {
            let handle = h.handle(&o).unwrap();
            let p = h.persist(&o).unwrap();
            let w = h.weak_new(&o).unwrap();
            sample.push((len, handle, p, w));
        }
    }
    h.verify().unwrap();
    for round in ["after a collection", "after two collections"] {
        h.collect().unwrap();
        h.verify().unwrap();
        let holder = h.get(hh).unwrap();
        for (i, &len) in lens.iter().enumerate() {
            let o = h.get_ref(&holder, 16 * i as u64).unwrap();
            check_accesses(&mut h, &o, len, &format!("heap slot {round}"));
        }
        for (k, &(len, handle, p, w)) in sample.iter().enumerate() {
            let o = h.get(handle).unwrap();
            check_accesses(&mut h, &o, len, &format!("handle {round}"));
            let o = h.get_persistent(p).unwrap();
            check_accesses(&mut h, &o, len, &format!("persistent {round}"));
            let o = h.weak_get(w).unwrap().expect("strongly held");
            check_accesses(&mut h, &o, len, &format!("weak {round}"));
            let e = h.export_ref(&o).unwrap();
            let o = h.import_ref(e).unwrap();
            check_accesses(&mut h, &o, len, &format!("ExternRef {round}"));
            root_region_round_trip(&mut h, region, k as u64 % 4, &o, len, round);
        }
    }
    h.verify().unwrap();
}

/// Through a root region slot, and again after a collection moved it.
fn root_region_round_trip<M: RefMode>(
    h: &mut Heap<M>,
    region: RootRegionId,
    slot: u64,
    o: &ObjRef<M>,
    len: u64,
    round: &str,
) where
    ObjRef<M>: RawLength,
{
    h.root_set(region, slot, o).unwrap();
    let r = h.root_get(region, slot).unwrap();
    check_accesses(h, &r, len, &format!("root region {round}"));
}

/// Records with 0..=2 reference slots and 0..=40 data bytes: the payload
/// is exactly the slots and the data, before and after collections.
fn records<F: Format>(plan: Plan)
where
    ObjRef<SoftCheri<F>>: RawLength,
{
    let mut h = heap::<SoftCheri<F>>(plan);
    let refs = h.register_type(ObjectType::RefArray).unwrap();
    let mut kinds: Vec<(TypeId, u64)> = Vec::new();
    for slots in 0..=2u32 {
        for data in 0..=40u64 {
            let t = h.record_type(slots, data).unwrap();
            kinds.push((t, 16 * u64::from(slots) + data));
        }
    }
    // Reference arrays of 0..=40 slots, too.
    let ref_arrays: Vec<u64> = (0..=40).collect();
    let n = (kinds.len() + ref_arrays.len()) as u64;
    let holder = h.alloc_array(refs, n).unwrap();
    let hh = h.handle(&holder).unwrap();
    let mut lens = Vec::new();
    for &(t, len) in &kinds {
        let o = h.alloc(t).unwrap();
        assert_eq!(h.payload_len(&o).unwrap(), len);
        check_accesses(&mut h, &o, len, "fresh record");
        let holder = h.get(hh).unwrap();
        h.set_ref(&holder, 16 * lens.len() as u64, &o).unwrap();
        lens.push(len);
    }
    for &slots in &ref_arrays {
        let o = h.alloc_array(refs, slots).unwrap();
        check_accesses(&mut h, &o, 16 * slots, "fresh reference array");
        let holder = h.get(hh).unwrap();
        h.set_ref(&holder, 16 * lens.len() as u64, &o).unwrap();
        lens.push(16 * slots);
    }
    for round in 0..2 {
        h.collect().unwrap();
        h.verify().unwrap();
        let holder = h.get(hh).unwrap();
        for (i, &len) in lens.iter().enumerate() {
            let o = h.get_ref(&holder, 16 * i as u64).unwrap();
            check_accesses(
                &mut h,
                &o,
                len,
                &format!("record after {} collections", round + 1),
            );
        }
    }
}

/// A compartment's object unsealed by its owner: bounds exact.
fn compartments<F: Format>()
where
    ObjRef<SoftCheri<F>>: RawLength,
{
    let mut w = Compartments::<SoftCheri<F>>::new().unwrap();
    let cfg = HeapConfig {
        plan: Plan::SemiSpace,
        limit: 8 << 20,
        log: false,
        ..HeapConfig::default()
    };
    let a = w.create(cfg.clone()).unwrap();
    let b = w.create(cfg).unwrap();
    let ha = w.heap_mut(a).unwrap();
    let bytes = ha.register_type(ObjectType::ByteArray).unwrap();
    for len in [1u64, 5, 15, 17, 33, 100] {
        let ha = w.heap_mut(a).unwrap();
        let o = ha.alloc_array(bytes, len).unwrap();
        let s = w.seal(a, &o, b).unwrap();
        w.collect(a).unwrap();
        let o = w.unseal(a, &s).unwrap();
        check_accesses(w.heap_mut(a).unwrap(), &o, len, "unsealed export");
    }
    w.verify().unwrap();
}

/// Random lengths up to 2^40 at the capability layer: the mode's layout
/// (bounds, cell room, alignment) and a reference derived as the heap
/// derives one, checked by the mode's access check (no memory touched).
fn large_lengths<F: Format>() {
    type M<F> = SoftCheri<F>;
    let region = TaggedRegion::for_format::<F>(1 << 41).expect("a 2 TiB lazy mapping");
    // SAFETY: this test owns `region` and uses the authority only while it
    // lives, deriving references as the heap's collector does.
    let auth = unsafe { <M<F> as Collector>::authority(&region) }.unwrap();
    let limit = exact_limit::<F>();
    let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ limit;
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut lens: Vec<u64> = (0..2000)
        .map(|_| {
            let r = next();
            (r >> (r % 40 + 24)) % (1 << 40)
        })
        .collect();
    lens.extend([limit - 1, limit, limit + 1, (1 << 40) - 1, 1 << 40]);
    for len in lens {
        let l = M::<F>::payload_layout(len).expect("a layout below 2^40");
        let want = expected_bounds::<F>(len);
        assert_eq!(l.bounds, want, "{} len {len:#x}", F::NAME);
        // The cell holds the bounds rounded to the granule, and at least one
        // granule even for an empty payload.
        assert!(l.bounds >= len && l.size >= l.bounds && l.size - l.bounds <= 16);
        assert_eq!(l.size, l.bounds.max(1).next_multiple_of(16), "{len:#x}");
        assert_eq!(l.size % 16, 0, "cells stay granule-sized");
        let at = region.base().align_up(l.align);
        let r = <M<F> as Collector>::derive(&auth, at, l.bounds).expect("derivable");
        assert_eq!((r.base(), r.length()), (at, u128::from(want)));
        let ok = |off: u64, size: u64| M::<F>::check(&r, off, size, Perms::LOAD, 1);
        for size in [1u64, 2, 4, 8] {
            if want >= size {
                ok(want - size, size).unwrap_or_else(|e| panic!("len {len:#x}: {e}"));
            }
            if let Some(off) = (want + 1).checked_sub(size) {
                assert!(
                    matches!(ok(off, size), Err(CapFault::BoundsViolation { .. })),
                    "len {len:#x}: {size}-byte access over the end"
                );
            }
        }
        for off in [want, want | 15, (want | 15) + 1] {
            assert!(
                matches!(ok(off, 1), Err(CapFault::BoundsViolation { .. })),
                "len {len:#x}: byte {off:#x} reachable"
            );
        }
    }
}

macro_rules! format_tests {
    ($m:ident, $f:ty) => {
        mod $m {
            use super::*;
            #[test]
            fn byte_arrays_marksweep() {
                byte_arrays::<$f>(PLANS[0]);
            }
            #[test]
            fn byte_arrays_semispace() {
                byte_arrays::<$f>(PLANS[1]);
            }
            #[test]
            fn byte_arrays_generational() {
                byte_arrays::<$f>(PLANS[2]);
            }
            #[test]
            fn records_and_reference_arrays() {
                for plan in PLANS {
                    records::<$f>(plan);
                }
            }
            #[test]
            fn unsealed_exports() {
                compartments::<$f>();
            }
            #[test]
            fn lengths_up_to_2_pow_40() {
                large_lengths::<$f>();
            }
            #[test]
            fn small_lengths_are_exact_in_the_format() {
                // The premise: every length below 2^12 is exactly
                // representable in all three formats.
                let limit = exact_limit::<$f>();
                println!("{}: exact below {limit} ({limit:#x}) bytes", <$f>::NAME);
                assert!(limit > 4096, "{limit}");
            }
        }
    };
}

format_tests!(morello, Morello);
format_tests!(cheri_v9, CheriV9);
format_tests!(riscv_std, RiscvStd);
