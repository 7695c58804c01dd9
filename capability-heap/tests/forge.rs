//! Forging from outside the crate: every public constructor of
//! [`Capability`], [`RawCap`] and the modes' references, every derivation
//! and every memory operation a safe caller can reach, driven at random
//! without ever minting an authority. None may produce a tagged
//! capability, nor a set tag bit in capability memory (docs/design.md: a
//! tagged capability comes only from derivation from an authority or from
//! tagged memory).

use capability_heap::mode::Collector;
use capability_heap::{
    Address, Capability, CheriV9, Format, Morello, Native, NativeRef, Perms, RawCap, RefMode,
    RiscvStd, SoftCheri, TagUse, TaggedRegion, GRANULE, P128,
};
use proptest::prelude::*;

/// One thing a caller with no authority can do.
#[derive(Clone, Debug)]
enum Op {
    /// `Capability::decode` of arbitrary words.
    Decode(u64, u64),
    /// `Capability::from_bytes` of arbitrary bytes.
    FromBytes(u128),
    /// `RawCap::untagged` of arbitrary bits, then `from_raw`.
    Raw(u128),
    /// The null capability, `Default`.
    Null,
    /// A derivation applied to pool value `i`.
    Derive(usize, u8, u64),
    /// Seal pool value `i` with pool value `j` as authority, or unseal.
    Seal(usize, usize, bool),
    /// A data store into capability memory (any width, any offset).
    Data(u64, u128, u8),
    /// A capability store of pool value `i`, with pool value `j` as
    /// authority, and the owner's store of it (a root slot).
    StoreCap(usize, usize, u64),
    /// A capability load at an offset, with pool value `i` as authority,
    /// and the owner's load of a root slot.
    LoadCap(usize, u64),
    /// Owner copy of `[src, src+len)` to `dst` (granule counts).
    Copy(u64, u64, u64),
    /// Markers: set one in plain memory, then read it as a capability.
    Marker(u64),
    /// Zero a range.
    Zero(u64, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u64>(), any::<u64>()).prop_map(|(p, c)| Op::Decode(p, c)),
        any::<u128>().prop_map(Op::FromBytes),
        any::<u128>().prop_map(Op::Raw),
        Just(Op::Null),
        (any::<usize>(), any::<u8>(), any::<u64>()).prop_map(|(i, k, v)| Op::Derive(i, k, v)),
        (any::<usize>(), any::<usize>(), any::<bool>()).prop_map(|(i, j, s)| Op::Seal(i, j, s)),
        (0u64..8192, any::<u128>(), any::<u8>()).prop_map(|(o, v, w)| Op::Data(o, v, w)),
        (any::<usize>(), any::<usize>(), 0u64..512).prop_map(|(i, j, g)| Op::StoreCap(i, j, g)),
        (any::<usize>(), 0u64..512).prop_map(|(i, g)| Op::LoadCap(i, g)),
        (0u64..256, 0u64..256, 1u64..64).prop_map(|(s, d, n)| Op::Copy(s, d, n)),
        (0u64..512).prop_map(Op::Marker),
        (0u64..8192, 0u64..512).prop_map(|(a, n)| Op::Zero(a, n)),
    ]
}

fn pick<T: Copy>(pool: &[T], i: usize) -> T {
    pool[i % pool.len()]
}

/// Runs `ops` with no authority; asserts no value and no memory granule
/// ever carries a tag.
fn no_tag_without_authority<F: Format>(ops: &[Op]) {
    type M<F> = SoftCheri<F>;
    let mut caps = TaggedRegion::new(8192).unwrap();
    let mut plain = TaggedRegion::plain(8192).unwrap();
    assert_eq!(caps.kind(), TagUse::Capabilities);
    let base = caps.base();
    // Values a forger may hold: bits that designate real memory of the
    // region, with every permission, and garbage.
    let root_bits = Capability::<F>::decode(0, base.get());
    let mut pool: Vec<Capability<F>> = vec![Capability::null(), root_bits];
    for op in ops {
        match *op {
            Op::Decode(p, c) => pool.push(Capability::decode(p, c)),
            Op::FromBytes(b) => pool.push(Capability::from_bytes(b.to_le_bytes())),
            Op::Raw(b) => pool.push(M::<F>::from_raw(&RawCap::untagged(b))),
            Op::Null => pool.push(Capability::default()),
            Op::Derive(i, kind, v) => {
                let c = pick(&pool, i);
                let d = match kind % 9 {
                    0 => Some(c.set_address(Address(v))),
                    1 => c.try_set_address(Address(v)).ok(),
                    2 => Some(c.add_offset(v as i64)),
                    3 => c.set_bounds(v).ok(),
                    4 => c.set_bounds_exact(v).ok(),
                    5 => c.and_perms(Perms::ALL).ok(),
                    6 => c.derive_exact(Address(v), v >> 40, Perms::ALL).ok(),
                    7 => M::<F>::restrict(&c, Perms::ALL).ok(),
                    _ => Some(c.cleared()),
                };
                pool.extend(d);
            }
            Op::Seal(i, j, seal) => {
                let (c, a) = (pick(&pool, i), pick(&pool, j));
                let r = if seal { c.seal(&a) } else { c.unseal(&a) };
                pool.extend(r.ok());
            }
            Op::Data(off, v, w) => {
                let at = base.add(off % (8192 - 16));
                let _ = match w % 4 {
                    0 => caps.write::<u8>(at, v as u8),
                    1 => caps.write::<u64>(at, v as u64),
                    2 => caps.write::<u128>(at, v),
                    _ => caps.write_bytes(at, &v.to_le_bytes()[..(w as usize % 16) + 1]),
                };
            }
            Op::StoreCap(i, j, g) => {
                let (v, a) = (pick(&pool, i), pick(&pool, j));
                let slot = base.add(g * GRANULE);
                let _ = caps.store_cap(&a, slot, &v);
                let _ = M::<F>::store_root(&mut caps, slot, &v);
                let _ = M::<F>::store_ref(&mut caps, &a, g * GRANULE, &v);
            }
            Op::LoadCap(i, g) => {
                let a = pick(&pool, i);
                let slot = base.add(g * GRANULE);
                pool.extend(caps.load_cap(&a, slot).ok());
                pool.extend(M::<F>::load_root(&caps, slot).ok());
                pool.extend(M::<F>::load_ref(&caps, &a, g * GRANULE).ok());
                // Plain memory never yields a tag either.
                pool.extend(M::<F>::load_root(&plain, plain.base().add(g * GRANULE)).ok());
            }
            Op::Copy(s, d, n) => {
                let _ = caps.copy(base.add(s * GRANULE), base.add(d * GRANULE), n * GRANULE);
                let _ = caps.copy(base.add(s * GRANULE + 8), base.add(d * GRANULE), n * 8);
            }
            Op::Marker(g) => {
                let slot = plain.base().add(g * GRANULE);
                plain.set_marker(slot, true).unwrap();
                assert!(caps.set_marker(base.add(g * GRANULE), true).is_err());
                pool.extend(M::<F>::load_root(&plain, slot).ok());
            }
            Op::Zero(a, n) => {
                let _ = caps.zero(base.add(a), n);
            }
        }
        if let Some(t) = pool.iter().find(|c| c.tag()) {
            panic!("forged a tagged capability: {t:?} after {op:?}");
        }
        assert_eq!(
            caps.count_tags(base, caps.len()),
            0,
            "a tag appeared in capability memory after {op:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn morello_no_tag_without_authority(ops in prop::collection::vec(op(), 1..64)) {
        no_tag_without_authority::<Morello>(&ops);
    }
    #[test]
    fn cheri_v9_no_tag_without_authority(ops in prop::collection::vec(op(), 1..64)) {
        no_tag_without_authority::<CheriV9>(&ops);
    }
    #[test]
    fn riscv_std_no_tag_without_authority(ops in prop::collection::vec(op(), 1..64)) {
        no_tag_without_authority::<RiscvStd>(&ops);
    }
}

/// A genuine capability keeps its tag through memory, and loses it the
/// moment data touches its granule: copies move tags only whole.
#[test]
fn tags_travel_only_with_whole_granules() {
    type M = SoftCheri<Morello>;
    let mut r = M::new_region(1 << 16).unwrap();
    // SAFETY: the test owns the region and plays its collector.
    let auth = unsafe { M::authority(&r) }.unwrap();
    let obj = M::derive(&auth, r.base().add(4096), 64).unwrap();
    let slot = r.base().add(256);
    r.put_slot_for_test(slot, &obj);
    assert!(r.is_tagged(slot));
    // A misaligned or partial copy is refused in capability memory.
    assert!(r.copy(slot.add(8), r.base().add(512), 16).is_err());
    assert!(r.copy(slot, r.base().add(512), 8).is_err());
    // A whole-granule copy duplicates the genuine capability.
    r.copy(slot, r.base().add(512), 16).unwrap();
    assert_eq!(M::load_root(&r, r.base().add(512)).unwrap(), obj);
    // One byte of data over it clears the tag (I6).
    r.write::<u8>(r.base().add(520), 0).unwrap();
    assert!(!M::load_root(&r, r.base().add(512)).unwrap().tag());
}

/// The unchecked modes' references: the only public constructors are
/// null and `Default`, which are not valid; a valid one comes from an
/// authority or from memory.
#[test]
fn unchecked_references_are_null_unless_derived() {
    let n = NativeRef::default();
    assert!(!Native::is_valid(&n) && Native::is_null(&n));
    assert!(Native::is_null(&Native::null()));
    let p = capability_heap::P128Ref::default();
    assert!(!P128::is_valid(&p) && P128::is_null(&p));
    // A plain region's marker is not a tag and grants nothing.
    let mut plain = Native::new_root_region(4096).unwrap();
    plain.set_marker(plain.base(), true).unwrap();
    assert!(plain.is_tagged(plain.base()));
    let c = SoftCheri::<RiscvStd>::load_root(&plain, plain.base()).unwrap();
    assert!(!c.tag());
}

/// Helpers the tests above use: the owner's store of a capability it
/// holds (what a root region does), through the public mode API.
trait PutSlot {
    fn put_slot_for_test(&mut self, slot: Address, v: &Capability<Morello>);
}
impl PutSlot for TaggedRegion {
    fn put_slot_for_test(&mut self, slot: Address, v: &Capability<Morello>) {
        SoftCheri::<Morello>::store_root(self, slot, v).unwrap();
    }
}
