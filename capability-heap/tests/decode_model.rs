//! The decoding model of `capgc_model::decode` (shared with the `decode`
//! fuzz target) on random 128-bit patterns of all three formats: wholly
//! random bits, and capabilities derived from an authority with bits
//! flipped (near-valid encodings, where re-encoding is exercised).

use capability_heap::{CheriV9, Format, Morello, RiscvStd, TaggedRegion};
use capgc_model::cap::authority;
use capgc_model::decode::check;
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

macro_rules! format_decode {
    ($m:ident, $f:ty) => {
        mod $m {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(2048))]
                #[test]
                fn any_pattern_decodes_consistently(pesbt: u64, cursor: u64) {
                    check::<$f>(pesbt, cursor);
                }
                #[test]
                fn near_valid_patterns_reencode(off: u64, len: u64, flip: u64, addr: u64) {
                    near_valid::<$f>(off, len, flip, addr);
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

format_decode!(morello, Morello);
format_decode!(cheri_v9, CheriV9);
format_decode!(riscv_std, RiscvStd);
