//! The split heap's own guarantees from Rust: configuration checks as
//! `capgc_heap_new`'s, poisoning, foreign references recognised in every
//! mode. (Everything else is `tests/c/compartments.c`.)

use super::*;
use crate::heap::{capgc_heap_free, capgc_heap_new};

fn split_of(c: &capgc_config_t) -> *mut capgc_split_heap_t {
    let mut s = std::ptr::null_mut();
    // SAFETY: a valid config and out pointer.
    let st = unsafe { capgc_split_heap_new(c, &mut s) };
    assert_eq!(st, CapgcStatus::CAPGC_OK);
    s
}

/// The configuration checks mirror `capgc_heap_new`'s: every config
/// gets the same verdict from both (the guard against the copy
/// drifting from `heap.rs`).
#[test]
fn compartments_refuse_configs_as_heaps_do() {
    let d = capgc_config_default();
    let mut cases = vec![d];
    for (mode, format) in [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (0, 9)] {
        cases.push(capgc_config_t { mode, format, ..d });
    }
    cases.push(capgc_config_t { plan: 3, ..d });
    cases.push(capgc_config_t { scan: 2, ..d });
    cases.push(capgc_config_t { trigger: 1, ..d });
    cases.push(capgc_config_t { trigger: 2, ..d });
    cases.push(capgc_config_t { checked: 1, ..d });
    cases.push(capgc_config_t { limit: 1, ..d });
    cases.push(capgc_config_t {
        growth_factor: 0.5,
        ..d
    });
    cases.push(capgc_config_t {
        mode: 0,
        scan: 1,
        ..d
    });
    for c in cases {
        let mut h = std::ptr::null_mut();
        // SAFETY: a valid config and out pointer.
        let want = unsafe { capgc_heap_new(&c, &mut h) };
        // SAFETY: null or the heap just made.
        unsafe { capgc_heap_free(h) };
        // A split heap of the same kind, when the kind is valid.
        let kind = capgc_config_t {
            plan: 0,
            scan: 0,
            trigger: 0,
            checked: 0,
            ..c
        };
        let mut s = std::ptr::null_mut();
        // SAFETY: a valid config and out pointer.
        if unsafe { capgc_split_heap_new(&kind, &mut s) } != CapgcStatus::CAPGC_OK {
            assert_eq!(want, CapgcStatus::CAPGC_E_INVALID_ENUM, "{c:?}");
            continue;
        }
        let mut id = 0;
        // SAFETY: the split heap just made; valid config and out.
        let got = unsafe { capgc_compartment_new(s, &c, &mut id) };
        assert_eq!(got, want, "{c:?}");
        // SAFETY: made above, freed once.
        unsafe { capgc_split_heap_free(s) };
    }
}

/// A panic inside a call poisons the whole split heap; it can still be
/// freed.
#[test]
fn a_panic_poisons_the_split_heap() {
    let s = split_of(&capgc_config_default());
    let mut id = 0;
    // SAFETY: the split heap just made; null config, valid out.
    let st = unsafe { capgc_compartment_new(s, std::ptr::null(), &mut id) };
    assert_eq!(st, CapgcStatus::CAPGC_OK);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let st = with_guarded(s, |_| panic!("a bug inside the library"));
    std::panic::set_hook(hook);
    assert_eq!(st, CapgcStatus::CAPGC_E_INTERNAL);
    // SAFETY: as above; out may be null.
    let st = unsafe { capgc_compartment_collect(s, id, std::ptr::null_mut()) };
    assert_eq!(st, CapgcStatus::CAPGC_E_POISONED);
    // SAFETY: made above, freed once.
    unsafe { capgc_split_heap_free(s) };
}

/// A reference of one compartment offered to another is recognised as
/// foreign (not forged) in every mode, refused and counted; garbage
/// bits are refused but are no foreign reference (not counted).
#[test]
fn foreign_references_are_violations_in_every_mode() {
    for (mode, format) in [(0, 0), (1, 0), (2, 0), (2, 1), (2, 2)] {
        let s = split_of(&capgc_config_t {
            mode,
            format,
            ..capgc_config_default()
        });
        let (mut a, mut b, mut ta, mut tb) = (0, 0, 0, 0);
        let (mut x, mut y) = (capgc_ref_t::default(), capgc_ref_t::default());
        let mut p = capgc_pair_stats_t::default();
        // SAFETY: the split heap just made; every out pointer valid.
        unsafe {
            assert_eq!(
                capgc_compartment_new(s, std::ptr::null(), &mut a),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(
                capgc_compartment_new(s, std::ptr::null(), &mut b),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(
                capgc_compartment_type_record(s, a, 1, 8, &mut ta),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(
                capgc_compartment_type_record(s, b, 1, 8, &mut tb),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(
                capgc_compartment_alloc(s, a, ta, &mut x),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(
                capgc_compartment_alloc(s, b, tb, &mut y),
                CapgcStatus::CAPGC_OK
            );
            let cv = CapgcStatus::CAPGC_E_COMPARTMENT_VIOLATION;
            assert_eq!(capgc_compartment_set_ref(s, a, x, 0, y), cv, "mode {mode}");
            assert_eq!(capgc_compartment_set_ref(s, b, y, 0, x), cv, "mode {mode}");
            assert_eq!(
                capgc_split_heap_pair_stats(s, a, b, &mut p),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(p.refused, 1);
            let junk = capgc_ref_t {
                addr: y.addr + 8,
                meta: y.meta,
            };
            assert_ne!(capgc_compartment_set_ref(s, a, x, 0, junk), cv);
            assert_eq!(
                capgc_split_heap_pair_stats(s, a, b, &mut p),
                CapgcStatus::CAPGC_OK
            );
            assert_eq!(p.refused, 1, "garbage is no foreign reference");
            capgc_split_heap_free(s);
        }
    }
}
