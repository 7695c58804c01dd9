//! The capability model: random derivation sequences applied to a
//! [`Capability`] of each format, every result checked against what the
//! ISA's semantics predict and against the monotonicity lattice (I5):
//!
//! - a result is never wider than its parent or the root authority, in
//!   bounds or permissions, and never tagged unless its parent was
//!   ([`assert_monotone`]);
//! - each operation's outcome is predicted: the bounds a SetBounds must
//!   cover, the exact bounds of the exact form, the permission word of
//!   AndPerms, the address of SetAddr and which faults (tag, seal, bounds)
//!   each refusal must be;
//! - sealing: a sealed capability cannot be used or changed, only the
//!   matching object type unseals it, unsealing gives back the bounds it
//!   sealed (I5, docs/design.md "sealing");
//! - representability: an address change keeps the tag exactly when the
//!   format's check says so, keeps the bounds when it does, and always
//!   inside the bounds; CRRL/CRAM give a length and alignment whose
//!   bounds are exact;
//! - tagged memory: a capability stored and loaded keeps its bits and its
//!   tag, and a data write over any byte of its slot clears the tag (I6).
//!
//! `capability-heap/tests/props.rs` drives the first seven operations
//! with proptest; the `capability_ops` fuzz target drives all of them.

use capability_heap::mode::collector::mint_sealing_root;
use capability_heap::{Address, CapFault, Capability, Format, Perms, TaggedRegion, GRANULE};

/// One derivation step applied to a capability.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// Set the address to the base plus `(x mod 2^24) - 2^12` (inside,
    /// just below and far beyond the bounds).
    SetAddr(u64),
    /// Add a signed offset to the address.
    AddOffset(i64),
    /// SetBounds, rounding form, to this length.
    SetBounds(u64),
    /// SetBounds, exact form, to this length.
    SetBoundsExact(u64),
    /// Keep only the permissions of these bits (bit *i* = `Perm::ALL[i]`).
    AndPerms(u16),
    /// Seal with object type `x` (mod 64) and unseal again at once.
    SealUnseal(u64),
    /// Clear the tag.
    ClearTag,
    /// Ask whether moving the address (as [`Op::SetAddr`]) keeps the
    /// bounds, and check the answer against what the move does.
    Representable(u64),
    /// Derive exact bounds of length `CRRL(len)` at a `CRAM(len)`-aligned
    /// base inside the current bounds (`offset` picks it).
    Crrl {
        /// The requested length (scaled down by its own low bits).
        len: u64,
        /// Where in the bounds the aligned base is sought.
        offset: u64,
    },
    /// Seal with object type `x` (mod 64), keeping the sealed value.
    Seal(u64),
    /// Unseal with the authority for object type `x` (mod 64).
    Unseal(u64),
    /// Store the capability in tagged memory at granule `slot` (mod 64)
    /// and load it back; a `byte` below 16 then overwrites that byte of
    /// the slot with data.
    Memory {
        /// The granule.
        slot: u16,
        /// The byte of the granule a data write hits (none when ≥ 16).
        byte: u8,
    },
}

/// The permissions of bits `bits` (bit *i* = `Perm::ALL[i]`).
pub fn perms_from_bits(bits: u16) -> Perms {
    capability_heap::Perm::ALL
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits >> i & 1 != 0)
        .fold(Perms::NONE, |acc, (_, p)| acc | Perms::from(p))
}

/// The region's authority. The model owns the region and plays its
/// collector: the authority never leaves the model and dies before the
/// region.
pub fn authority<F: Format>(region: &TaggedRegion) -> Capability<F> {
    // SAFETY: the caller owns `region` and uses the authority only while
    // it lives, playing its collector (the contract of `mint_authority`).
    unsafe { region.mint_authority::<F>() }.expect("exact authority")
}

/// The sealing authority over the object-type space, its address at 4
/// (the first software object type of Morello; cannot seal in the RISC-V
/// standard format).
pub fn sealer<F: Format>() -> Capability<F> {
    // SAFETY: the model plays the collector that owns the object types;
    // the sealing root never leaves it.
    unsafe { mint_sealing_root::<F>() }.set_address(Address(4))
}

/// The model's state: the region the capabilities designate and the
/// authorities derived from it.
pub struct World<F: Format> {
    /// The memory (64 KiB of capability memory).
    pub region: TaggedRegion,
    /// Its authority: the root of every derivation.
    pub root: Capability<F>,
    /// The sealing authority.
    pub sealer: Capability<F>,
}

impl<F: Format> World<F> {
    /// A fresh region of 64 KiB and its authorities.
    pub fn new() -> World<F> {
        let region = TaggedRegion::for_format::<F>(1 << 16).expect("a 64 KiB region");
        let root = authority::<F>(&region);
        World {
            region,
            root,
            sealer: sealer::<F>(),
        }
    }

    /// The sealing authority for object type `t` (mod 64).
    fn otype_auth(&self, t: u64) -> Capability<F> {
        self.sealer.set_address(self.sealer.base().add(t % 64))
    }
}

impl<F: Format> Default for World<F> {
    fn default() -> Self {
        World::new()
    }
}

/// The address [`Op::SetAddr`] and [`Op::Representable`] move to.
fn moved_address<F: Format>(c: &Capability<F>, a: u64) -> Address {
    Address(
        c.base()
            .get()
            .wrapping_add(a % (1 << 24))
            .wrapping_sub(1 << 12),
    )
}

/// Whether `c` may be derived from: tagged and unsealed.
fn usable<F: Format>(c: &Capability<F>) -> bool {
    c.tag() && !c.is_sealed()
}

/// The fault a derivation of an unusable `c` must give.
fn unusable_fault<F: Format>(c: &Capability<F>) -> CapFault {
    if c.tag() {
        CapFault::SealViolation
    } else {
        CapFault::TagViolation
    }
}

/// An address change as the ISA does it: the address is the one asked
/// for; the tag stays exactly when the format's check allows it (always
/// inside the bounds); a tagged result keeps bounds and permissions.
fn check_set_address<F: Format>(c: &Capability<F>, addr: Address, next: &Capability<F>) {
    assert_eq!(next.address(), addr, "set_address: the address asked for");
    assert_eq!(
        next.to_bits().0,
        c.to_bits().0,
        "set_address: metadata kept"
    );
    let keeps = usable(c) && F::set_addr_keeps_tag(c.to_bits().0, c.to_bits().1, addr.get());
    assert_eq!(next.tag(), keeps, "set_address tag rule: {c:?} -> {addr}");
    if usable(c) && c.in_bounds(addr, 1) {
        assert!(next.tag(), "an address inside the bounds is representable");
    }
    if next.tag() {
        assert_eq!(
            (next.base(), next.top()),
            (c.base(), c.top()),
            "bounds kept"
        );
        assert_eq!(next.perm_word(), c.perm_word(), "permissions kept");
    }
}

/// A SetBounds outcome: refused for the reasons the ISA has, otherwise
/// bounds covering the request inside the parent's, exact when asked.
fn check_set_bounds<F: Format>(
    c: &Capability<F>,
    len: u64,
    exact: bool,
    r: &Result<Capability<F>, CapFault>,
) {
    let cursor = c.address();
    let req_top = u128::from(cursor.get()) + u128::from(len);
    let inside = cursor >= c.base() && req_top <= c.top();
    match r {
        Err(e) if !usable(c) => assert_eq!(*e, unusable_fault(c), "set_bounds of {c:?}"),
        Err(e) if !inside => {
            assert!(matches!(e, CapFault::BoundsViolation { .. }), "{e:?}")
        }
        Err(CapFault::Unrepresentable { .. }) => {}
        Err(CapFault::Inexact { .. }) if exact => {
            // The rounding form must then round.
            let round = c.set_bounds(len).expect("the rounding form succeeds");
            assert!(
                round.base() != cursor || round.top() != req_top,
                "exact form refused an exact request: {c:?} len {len:#x}"
            );
        }
        Err(e) => panic!("set_bounds({len:#x}) of {c:?} refused: {e:?}"),
        Ok(n) => {
            assert!(usable(c) && inside, "set_bounds succeeded on {c:?}");
            assert!(n.tag() && !n.is_sealed());
            assert_eq!(n.address(), cursor, "set_bounds keeps the address");
            assert!(
                n.base() <= cursor && n.top() >= req_top,
                "covers the request"
            );
            assert!(
                n.base() >= c.base() && n.top() <= c.top(),
                "within the parent"
            );
            assert_eq!(n.perm_word(), c.perm_word(), "permissions kept");
            if exact {
                assert_eq!((n.base(), n.top()), (cursor, req_top), "exact bounds");
            }
        }
    }
}

/// Applies `op` to `c` and checks its outcome; returns the result (a
/// refused derivation gives `c` with its tag cleared, or `c` itself for
/// the operations that only observe).
pub fn apply<F: Format>(w: &mut World<F>, c: Capability<F>, op: &Op) -> Capability<F> {
    match *op {
        Op::SetAddr(a) => {
            let addr = moved_address(&c, a);
            let next = c.set_address(addr);
            check_set_address(&c, addr, &next);
            next
        }
        Op::AddOffset(d) => {
            let next = c.add_offset(d);
            check_set_address(&c, Address(c.address().get().wrapping_add_signed(d)), &next);
            next
        }
        Op::SetBounds(l) => {
            let r = c.set_bounds(l);
            check_set_bounds(&c, l, false, &r);
            r.unwrap_or(c.cleared())
        }
        Op::SetBoundsExact(l) => {
            let r = c.set_bounds_exact(l);
            check_set_bounds(&c, l, true, &r);
            r.unwrap_or(c.cleared())
        }
        Op::AndPerms(p) => {
            let keep = perms_from_bits(p);
            match c.and_perms(keep) {
                Ok(n) => {
                    assert!(usable(&c));
                    // The settable bits narrowed to `keep`; the others
                    // (constant in the RISC-V standard's word) kept.
                    let m = F::PERMS_MASK;
                    let want = c.perm_word() & keep.to_word::<F>() & m | c.perm_word() & !m;
                    assert_eq!(n.perm_word(), want, "and_perms({keep:?}) of {c:?}");
                    assert_eq!(
                        (n.base(), n.top(), n.address()),
                        (c.base(), c.top(), c.address())
                    );
                    assert_eq!(n.otype(), c.otype());
                    n
                }
                Err(e) => {
                    assert_eq!(e, unusable_fault(&c), "and_perms of {c:?}");
                    c.cleared()
                }
            }
        }
        Op::SealUnseal(t) => {
            let auth = w.otype_auth(t);
            match c.seal(&auth) {
                Ok(s) => {
                    assert!(s.is_sealed());
                    // A sealed capability cannot be used or changed.
                    assert_eq!(
                        s.check_access(s.address(), 1, Perms::LOAD, 1),
                        Err(CapFault::SealViolation)
                    );
                    assert!(!s.set_bounds(0).is_ok_and(|x| x.tag()));
                    s.unseal(&auth).expect("unseal with the sealing type")
                }
                Err(_) => c,
            }
        }
        Op::ClearTag => {
            let n = c.cleared();
            assert!(!n.tag());
            assert_eq!(n.to_bits(), c.to_bits(), "same bits");
            n
        }
        Op::Representable(a) => {
            representable(&c, moved_address(&c, a));
            c
        }
        Op::Crrl { len, offset } => crrl(&c, len >> (len % 64), offset),
        Op::Seal(t) => {
            let auth = w.otype_auth(t);
            match c.seal(&auth) {
                Ok(s) => {
                    assert!(usable(&c), "sealed an unusable {c:?}");
                    assert!(F::is_software_otype(auth.address().get() as u32));
                    assert!(s.tag() && s.is_sealed());
                    assert_eq!(u64::from(s.otype()), auth.address().get());
                    assert_eq!(
                        (s.base(), s.top(), s.address()),
                        (c.base(), c.top(), c.address())
                    );
                    assert_eq!(s.perm_word(), c.perm_word());
                    sealed_is_inert(w, &s, t);
                    s
                }
                Err(e) => {
                    if !usable(&c) {
                        assert_eq!(e, unusable_fault(&c));
                    }
                    c
                }
            }
        }
        Op::Unseal(t) => {
            let auth = w.otype_auth(t);
            match c.unseal(&auth) {
                Ok(u) => {
                    assert!(c.tag() && c.is_sealed());
                    assert_eq!(u64::from(c.otype()), auth.address().get(), "its own type");
                    assert!(u.tag() && !u.is_sealed());
                    assert_eq!(
                        (u.base(), u.top(), u.address()),
                        (c.base(), c.top(), c.address())
                    );
                    assert_eq!(u.perm_word() & !c.perm_word(), 0, "unseal never widens");
                    u
                }
                Err(e) => {
                    if !c.tag() {
                        assert_eq!(e, CapFault::TagViolation);
                    } else if !c.is_sealed() {
                        assert_eq!(e, CapFault::NotSealed);
                    } else if u64::from(c.otype()) != auth.address().get() {
                        assert!(
                            matches!(e, CapFault::OtypeMismatch { .. }),
                            "another type: {e:?}"
                        );
                    }
                    c
                }
            }
        }
        Op::Memory { slot, byte } => memory(w, &c, slot, byte),
    }
}

/// The format's answer to "does the move to `addr` keep the bounds?"
/// against what the move does.
fn representable<F: Format>(c: &Capability<F>, addr: Address) {
    let (pesbt, cursor) = c.to_bits();
    let r = F::representable(pesbt, cursor, addr.get());
    if r.precise {
        assert_eq!(
            F::bounds(pesbt, addr.get()),
            F::bounds(pesbt, cursor),
            "precisely representable, yet the bounds change: {c:?} -> {addr}"
        );
    }
    if r.fast && usable(c) {
        assert!(r.precise, "the fast check is conservative: {c:?} -> {addr}");
    }
    if usable(c) {
        let keeps = F::set_addr_keeps_tag(pesbt, cursor, addr.get());
        assert_eq!(c.set_address(addr).tag(), keeps);
        if keeps {
            assert!(r.precise, "kept the tag with other bounds: {c:?} -> {addr}");
        }
    }
}

/// CRRL/CRAM: the rounded length is aligned and representable at any
/// aligned base; derived inside `c` it gives exactly those bounds.
fn crrl<F: Format>(c: &Capability<F>, len: u64, offset: u64) -> Capability<F> {
    let l = F::crrl(len);
    let m = F::cram(len);
    assert_eq!(
        l & !m,
        0,
        "CRRL({len:#x}) = {l:#x} is CRAM-aligned ({m:#x})"
    );
    assert!(l == 0 || l >= len, "CRRL({len:#x}) = {l:#x} is not shorter");
    assert_eq!(
        m.leading_ones() + m.trailing_zeros(),
        64,
        "CRAM {m:#x} is a mask"
    );
    if l != 0 {
        assert_eq!(F::crrl(l), l, "CRRL is idempotent at {len:#x}");
    }
    if !usable(c) || l == 0 || c.length() == 0 {
        return *c;
    }
    let span = u64::try_from(c.length()).unwrap_or(u64::MAX);
    let base = c.base().get().wrapping_add(offset % span);
    let Some(base) = base.checked_add(!m).map(|b| b & m) else {
        return *c;
    };
    if !c.in_bounds(Address(base), l) {
        return *c;
    }
    let d = c
        .derive_exact(Address(base), l, Perms::ALL)
        .unwrap_or_else(|e| panic!("CRRL {l:#x} at CRAM-aligned {base:#x} in {c:?}: {e:?}"));
    assert_eq!((d.base().get(), d.length()), (base, u128::from(l)));
    d
}

/// A sealed capability cannot be used, changed, resealed, or unsealed
/// but by its own type with the unseal permission.
fn sealed_is_inert<F: Format>(w: &World<F>, s: &Capability<F>, t: u64) {
    let seal = Err(CapFault::SealViolation);
    assert_eq!(s.check_access(s.address(), 1, Perms::LOAD, 1), seal);
    assert_eq!(s.set_bounds(0).map(drop), seal);
    assert_eq!(s.and_perms(Perms::ALL).map(drop), seal);
    assert_eq!(s.seal(&w.otype_auth(t)).map(drop), seal);
    assert!(!s.set_address(s.address()).tag(), "a sealed address change");
    assert!(!s.add_offset(0).tag());
    let other = w.otype_auth(t.wrapping_add(1));
    assert!(matches!(
        s.unseal(&other),
        Err(CapFault::OtypeMismatch { .. })
    ));
    let no_unseal = w.otype_auth(t).and_perms(Perms::SEAL).expect("narrowed");
    assert!(matches!(
        s.unseal(&no_unseal),
        Err(CapFault::PermissionViolation { .. })
    ));
    assert!(
        s.unseal(&w.otype_auth(t).cleared()).is_err(),
        "untagged authority"
    );
}

/// Through tagged memory: bits and tag survive a store and a load; a data
/// write over any byte of the slot clears the tag (I6).
fn memory<F: Format>(w: &mut World<F>, c: &Capability<F>, slot: u16, byte: u8) -> Capability<F> {
    let at = w.region.base().add(u64::from(slot % 64) * GRANULE);
    w.region
        .store_cap(&w.root, at, c)
        .expect("a store in bounds");
    assert_eq!(
        w.region.is_tagged(at),
        c.tag(),
        "the tag travels with the value"
    );
    let back = w.region.load_cap(&w.root, at).expect("a load in bounds");
    assert_eq!(back, *c, "stored and loaded");
    if u64::from(byte) < GRANULE {
        w.region
            .store(&w.root, at.add(u64::from(byte)), 0x5au8)
            .unwrap();
        assert!(!w.region.is_tagged(at), "a data write left the tag");
        let smashed = w.region.load_cap(&w.root, at).unwrap();
        assert!(!smashed.tag());
        assert_eq!(
            smashed.check_access(smashed.address(), 1, Perms::LOAD, 1),
            Err(CapFault::TagViolation)
        );
    }
    back
}

/// `child` is no wider than `parent` in bounds or permissions, and not
/// tagged unless the parent was (I5).
pub fn assert_monotone<F: Format>(parent: &Capability<F>, child: &Capability<F>) {
    if !parent.tag() {
        assert!(!child.tag(), "tag revived: {parent:?} -> {child:?}");
        return;
    }
    if child.tag() {
        assert!(
            child.base() >= parent.base(),
            "base widened: {parent:?} -> {child:?}"
        );
        assert!(
            child.top() <= parent.top(),
            "top widened: {parent:?} -> {child:?}"
        );
        assert_eq!(
            child.perm_word() & !parent.perm_word(),
            0,
            "perms widened: {parent:?} -> {child:?}"
        );
        assert!(child.is_subset_of(parent));
    }
}

/// Runs `ops` from the authority of a fresh region: each result is
/// checked by [`apply`] and is monotone from its parent and from the root.
pub fn run<F: Format>(ops: &[Op]) {
    let mut w = World::<F>::new();
    let root = w.root;
    let mut c = root;
    for op in ops {
        let next = apply(&mut w, c, op);
        assert_monotone(&c, &next);
        assert_monotone(&root, &next);
        c = next;
    }
}
