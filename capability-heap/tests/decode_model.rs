//! The decoding model of `capgc_model::decode` (shared with the `decode`
//! fuzz target) on random 128-bit patterns of all three formats: wholly
//! random bits, and capabilities derived from an authority with bits
//! flipped (near-valid encodings, where re-encoding is exercised); and
//! malformed bounds, representable nowhere (issue #31).

use capability_heap::{CheriV9, Format, Morello, RiscvStd, TaggedRegion};
use capgc_model::cap::authority;
use capgc_model::decode::{check, malformed_never_representable};
use proptest::prelude::*;

/// A capability over a random window of a region, its metadata word with
/// the bits of `flip` flipped, at an address inside or near its bounds.
fn near_valid<F: Format>(off: u64, len: u64, flip: u64, addr: u64) {
    let region = TaggedRegion::for_format::<F>(1 << 20).unwrap();
    let auth = authority::<F>(&region);
    let off = off % (1 << 19);
    let len = (len >> (len % 64)) % ((1 << 20) - off);
    let Ok(c) = auth.set_address(auth.base().add(off)).set_bounds(len) else {
        return;
    };
    let (pesbt, _) = c.to_bits();
    let cursor = c
        .base()
        .get()
        .wrapping_add(addr % (len + 64))
        .wrapping_sub(32);
    check::<F>(pesbt, cursor);
    check::<F>(pesbt ^ flip, cursor);
    let out = check::<F>(pesbt, c.base().get());
    assert!(out.valid, "a derived capability is valid");
    assert!(out.reencoded || len == 0, "a derived capability re-encodes");
}

/// Random metadata words (xorshift64*, deterministic) of which the format
/// calls at least `min` malformed, each checked with
/// [`malformed_never_representable`] at random addresses: the property is
/// exercised, not vacuous, in the formats that have malformed encodings.
fn malformed_seen<F: Format>(min: u32) -> u32 {
    let mut x = 0x2545_f491_4f6c_dd1du64 ^ u64::from(F::MANTISSA_WIDTH);
    let mut next = move || {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut seen = 0;
    for _ in 0..20_000 {
        let (pesbt, cursor, new_addr) = (next(), next(), next());
        if !F::decode(pesbt, cursor).valid {
            seen += 1;
        }
        malformed_never_representable::<F>(pesbt, cursor, new_addr);
        malformed_never_representable::<F>(pesbt, cursor, cursor);
    }
    assert!(seen >= min, "{}: only {seen} malformed patterns", F::NAME);
    seen
}

macro_rules! format_decode {
    ($m:ident, $f:ty, $malformed:expr) => {
        mod $m {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(2048))]
                #[test]
                fn any_pattern_decodes_consistently(pesbt: u64, cursor: u64) {
                    check::<$f>(pesbt, cursor);
                }
                #[test]
                fn malformed_bounds_are_never_representable(pesbt: u64, cursor: u64, new_addr: u64) {
                    malformed_never_representable::<$f>(pesbt, cursor, new_addr);
                    malformed_never_representable::<$f>(pesbt, cursor, cursor);
                }
                #[test]
                fn near_valid_patterns_reencode(off: u64, len: u64, flip: u64, addr: u64) {
                    near_valid::<$f>(off, len, flip, addr);
                }
            }
            #[test]
            fn malformed_patterns_are_reached() {
                // Morello: E = 51..62 (of 64 exponents, internal form);
                // RISC-V standard: E < 0, E = 52 with B != 0, E = 51 with
                // B[13] set; v9 has no malformed encoding.
                let seen = malformed_seen::<$f>($malformed);
                if $malformed == 0 {
                    assert_eq!(seen, 0, "v9 calls every encoding valid");
                }
            }
            #[test]
            fn special_patterns() {
                for p in [0, u64::MAX, <$f>::ROOT_PESBT, !<$f>::ROOT_PESBT] {
                    for c in [0, 1, u64::MAX, 1 << 63, 0x1234_5678_9abc_def0] {
                        check::<$f>(p, c);
                    }
                }
                assert!(
                    check::<$f>(<$f>::ROOT_PESBT, 0).canonical,
                    "the root is canonical"
                );
            }
        }
    };
}

format_decode!(morello, Morello, 500);
format_decode!(cheri_v9, CheriV9, 0);
format_decode!(riscv_std, RiscvStd, 500);
