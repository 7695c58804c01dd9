//! Tagged memory: tag bookkeeping, scans, permission rules of capability
//! loads and stores, and region-checked raw access.

use capability_heap::Format;
use capability_heap::{
    Address, CapFault, Capability, Morello, Perm, Perms, RegionError, RiscvStd, TaggedRegion,
    GRANULE,
};
use proptest::prelude::*;

/// The region's authority. The test owns the region and plays its
/// collector: the authority never leaves the test and dies before the
/// region.
fn authority<F: Format>(region: &TaggedRegion) -> Capability<F> {
    // SAFETY: see above.
    unsafe { region.mint_authority::<F>() }.expect("exact authority")
}

fn region() -> (TaggedRegion, Capability<RiscvStd>) {
    let r = TaggedRegion::for_format::<RiscvStd>(1 << 20).unwrap();
    let a = authority::<RiscvStd>(&r);
    (r, a)
}

#[test]
fn region_is_aligned_and_exact_for_large_sizes() {
    for len in [4096u64, 1 << 20, 3 << 20, (1 << 30) + 12345] {
        let r = TaggedRegion::for_format::<Morello>(len).unwrap();
        assert!(r.len() >= len);
        let a = authority::<Morello>(&r);
        assert_eq!(a.base(), r.base());
        assert_eq!(a.length(), u128::from(r.len()));
        assert!(a.perms().contains(Perms::OBJECT | Perms::SEAL));
    }
}

#[test]
fn bad_region_requests_are_errors() {
    assert_eq!(TaggedRegion::new(0).unwrap_err(), RegionError::BadLength(0));
    assert_eq!(
        TaggedRegion::with_alignment(4096, 3).unwrap_err(),
        RegionError::BadAlignment(3)
    );
    assert!(matches!(
        TaggedRegion::new(1 << 60),
        Err(RegionError::BadLength(_))
    ));
}

#[test]
fn load_without_loadcap_strips_tag_and_store_needs_storecap() {
    let (mut r, a) = region();
    let slot = r.base().add(64);
    let v = a
        .set_address(r.base().add(1024))
        .set_bounds_exact(32)
        .unwrap();
    r.store_cap(&a, slot, &v).unwrap();
    let no_lc = a.and_perms(Perms::LOAD | Perms::STORE).unwrap();
    assert!(!r.load_cap(&no_lc, slot).unwrap().tag());
    assert_eq!(
        r.store_cap(&no_lc, slot, &v),
        Err(CapFault::PermissionViolation {
            needed: Perm::StoreCap
        })
    );
    // Storing an untagged value needs only Store.
    r.store_cap(&no_lc, slot, &v.cleared()).unwrap();
    assert!(!r.is_tagged(slot));
}

#[test]
fn capability_access_must_be_aligned() {
    let (r, a) = region();
    assert_eq!(
        r.load_cap(&a, r.base().add(8)).unwrap_err(),
        CapFault::AlignmentViolation {
            addr: r.base().add(8),
            align: GRANULE
        }
    );
}

#[test]
fn checks_report_in_isa_order() {
    let (r, a) = region();
    let c = a.set_address(r.base()).set_bounds_exact(16).unwrap();
    let ro = c.and_perms(Perms::LOAD).unwrap();
    assert_eq!(
        ro.check_access(r.base().add(32), 8, Perms::STORE, 1),
        Err(CapFault::PermissionViolation {
            needed: Perm::Store
        })
    );
    assert!(matches!(
        c.check_access(r.base().add(12), 8, Perms::LOAD, 1),
        Err(CapFault::BoundsViolation { .. })
    ));
    assert_eq!(
        c.cleared().check_access(r.base(), 8, Perms::STORE, 1),
        Err(CapFault::TagViolation)
    );
}

#[test]
fn outside_region_is_refused_even_with_wide_authority() {
    let r = TaggedRegion::for_format::<Morello>(4096).unwrap();
    let a = authority::<Morello>(&r);
    assert!(matches!(
        r.load::<u64, Morello>(&a, r.end()),
        Err(CapFault::BoundsViolation { .. })
    ));
    assert!(matches!(
        r.read::<u64>(r.end().add(8)),
        Err(CapFault::OutsideRegion { .. })
    ));
    assert!(matches!(
        r.read::<u64>(Address(8)),
        Err(CapFault::OutsideRegion { .. })
    ));
}

#[test]
fn copy_with_tags_moves_tags() {
    let (mut r, a) = region();
    let v = a
        .set_address(r.base().add(4096))
        .set_bounds_exact(48)
        .unwrap();
    let src = r.base().add(256);
    r.store_cap(&a, src.add(16), &v).unwrap();
    r.store(&a, src, 7u64).unwrap();
    let dst = r.base().add(8192);
    r.store_cap(&a, dst, &v).unwrap(); // stale tag at dst must be overwritten
    r.copy(src, dst, 64).unwrap();
    assert!(!r.is_tagged(dst));
    assert!(r.is_tagged(dst.add(16)));
    assert_eq!(r.load_cap(&a, dst.add(16)).unwrap(), v);
    assert_eq!(r.load::<u64, RiscvStd>(&a, dst).unwrap(), 7);
    assert!(r.copy(src, src.add(16), 64).is_err(), "overlap refused");
}

#[test]
fn zero_clears_data_and_tags() {
    let (mut r, a) = region();
    let v = a.set_address(r.base()).set_bounds_exact(16).unwrap();
    for i in 0..8 {
        r.store_cap(&a, r.base().add(i * 16), &v).unwrap();
    }
    r.zero(r.base().add(16), 48).unwrap();
    let tagged: Vec<_> = r.tagged_granules(r.base(), 128).collect();
    assert_eq!(
        tagged,
        vec![
            r.base(),
            r.base().add(64),
            r.base().add(80),
            r.base().add(96),
            r.base().add(112)
        ]
    );
    assert_eq!(r.load::<u128, RiscvStd>(&a, r.base().add(32)).unwrap(), 0);
}

proptest! {
    /// The word-at-a-time scan agrees with a granule-by-granule one for any
    /// tag pattern and any (unaligned) range.
    #[test]
    fn tag_scan_matches_naive(
        set in prop::collection::vec(0u64..4096, 0..200),
        cleared in prop::collection::vec((0u64..65536, 1u64..300), 0..20),
        lo in 0u64..65536,
        len in 0u64..70000,
    ) {
        let (mut r, a) = region();
        let v = a.set_address(r.base()).set_bounds_exact(16).unwrap();
        for g in &set {
            r.store_cap(&a, r.base().add(g * GRANULE), &v).unwrap();
        }
        for (at, n) in &cleared {
            r.clear_tags(r.base().add(*at), *n);
        }
        let start = r.base().add(lo);
        let fast: Vec<_> = r.tagged_granules(start, len).collect();
        let naive: Vec<_> = (0..4096)
            .map(|g| r.base().add(g * GRANULE))
            .filter(|&g| g >= start && g.get() < start.get() + len && r.is_tagged(g))
            .collect();
        prop_assert_eq!(fast, naive);
    }

    /// copy_with_tags moves exactly the source's tag pattern onto the
    /// destination granules, at any granule offsets and lengths (across
    /// bitmap words), and touches no other tag.
    #[test]
    fn copy_with_tags_matches_naive(
        set in prop::collection::vec(0u64..8192, 0..400),
        src_g in 0u64..2048,
        dst_g in 4096u64..6144,
        n in 1u64..300,
    ) {
        let (mut r, a) = region();
        let v = a.set_address(r.base()).set_bounds_exact(16).unwrap();
        for g in &set {
            r.store_cap(&a, r.base().add(g * GRANULE), &v).unwrap();
        }
        let before: Vec<bool> = (0..8192).map(|g| r.is_tagged(r.base().add(g * GRANULE))).collect();
        let (src, dst) = (r.base().add(src_g * GRANULE), r.base().add(dst_g * GRANULE));
        r.copy(src, dst, n * GRANULE).unwrap();
        for g in 0..8192u64 {
            let want = if (dst_g..dst_g + n).contains(&g) {
                before[(g - dst_g + src_g) as usize]
            } else {
                before[g as usize]
            };
            prop_assert_eq!(r.is_tagged(r.base().add(g * GRANULE)), want, "granule {}", g);
        }
    }
}

/// A retired region keeps its addresses: no later mapping lands there
/// while the reservation lives, and its memory is gone from the process
/// (`/proc/self/maps` shows it inaccessible).
#[test]
fn retired_regions_keep_their_addresses() {
    let r = capability_heap::TaggedRegion::new(1 << 20).unwrap();
    let (base, end) = (r.base(), r.end());
    let grave = r.retire().unwrap();
    assert_eq!((grave.base(), grave.end()), (base, end));
    let later: Vec<_> = (0..64)
        .map(|_| capability_heap::TaggedRegion::new(1 << 20).unwrap())
        .collect();
    for l in &later {
        assert!(
            l.end() <= base || l.base() >= end,
            "{l:?} aliases {grave:?}"
        );
    }
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let line = maps
        .lines()
        .find(|l| {
            let lo = u64::from_str_radix(l.split('-').next().unwrap(), 16).unwrap();
            let hi = u64::from_str_radix(l.split(['-', ' ']).nth(1).unwrap(), 16).unwrap();
            lo <= base.get() && base.get() < hi
        })
        .expect("the reservation is mapped");
    assert!(line.contains("---p"), "{line}");
}
