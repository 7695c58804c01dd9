//! I7 from inside: a compartment's collector *cannot* touch another
//! compartment's memory — every derivation, re-derivation and sealing
//! path it has goes through its own authority, whose bounds refuse the
//! other region — and the verifier's negative tests for I7: an unsealed
//! foreign reference, a sealed reference to no export, an authority that
//! covers another region, each reported at its location.

use super::Compartments;
use crate::{CompartmentId, HeapConfig, ObjRef, Plan, RefLocation, TypeId, Violation};
use capability_heap::{Address, CapFault, Morello, Native, RefMode, RiscvStd, SoftCheri, P128};

fn world<M: RefMode>(plan: Plan) -> (Compartments<M>, [CompartmentId; 2], [TypeId; 2]) {
    let mut w = Compartments::<M>::new().unwrap();
    let config = || HeapConfig {
        plan,
        limit: 8 << 20,
        nursery_size: 256 << 10,
        pause_goal: None,
        log: false,
        ..HeapConfig::default()
    };
    let a = w.create(config()).unwrap();
    let b = w.create(config()).unwrap();
    let ta = w.heap_mut(a).unwrap().record_type(2, 16).unwrap();
    let tb = w.heap_mut(b).unwrap().record_type(2, 16).unwrap();
    (w, [a, b], [ta, tb])
}

/// An object of `c`, kept in a persistent, and its current reference.
fn rooted<M: RefMode>(w: &mut Compartments<M>, c: CompartmentId, ty: TypeId) -> ObjRef<M> {
    let h = w.heap_mut(c).unwrap();
    let o = h.alloc(ty).unwrap();
    h.write::<u64>(&o, 2 * M::SLOT_SIZE, 0x5eed).unwrap();
    let p = h.persist(&o).unwrap();
    h.get_persistent(p).unwrap()
}

/// Writes `r` into slot 0 of `holder`, tag and all, unchecked: what no
/// API of a compartment accepts.
fn poke<M: RefMode>(w: &mut Compartments<M>, c: CompartmentId, holder: &ObjRef<M>, r: &M::Ref) {
    let h = w.heap_mut(c).unwrap();
    let slot = holder.address();
    assert!(h.arena.region().contains(slot, M::SLOT_SIZE));
    // SAFETY: the slot is slot 0 of a live object: aligned, in the region.
    unsafe { M::write_slot(h.arena.region_mut(), slot, r) };
}

fn cannot_touch<M: RefMode>(plan: Plan) {
    let (mut w, [a, b], [ta, tb]) = world::<M>(plan);
    let victim = rooted(&mut w, b, tb);
    let bytes = |w: &Compartments<M>| {
        let hb = w.heap(b).unwrap();
        let mut out = vec![0u8; (2 * M::SLOT_SIZE + 16) as usize];
        hb.read_bytes(&victim, 0, &mut out).unwrap();
        out
    };
    let before = bytes(&w);
    let ha = w.heap(a).unwrap();
    let sealer = &ha.link().unwrap().sealer;
    // Every way a's collector makes a reference: derive (allocation,
    // evacuation), relocate (I8), seal (export) — refused at b's address.
    let at = victim.address();
    let derived = ha.arena.derive(at, 48);
    assert!(
        matches!(
            derived,
            Err(CapFault::BoundsViolation { .. } | CapFault::OutsideRegion { .. })
        ),
        "{} {derived:?}",
        M::NAME
    );
    let relocated = M::relocate_raw(
        ha.arena.corrupt_authority(),
        &M::to_raw(&victim.raw),
        at,
        48,
    );
    assert!(relocated.is_err(), "{} {relocated:?}", M::NAME);
    assert!(ha.arena.seal(sealer, at, M::SLOT_SIZE).is_err());
    // a's authority cannot open b's sealed references either.
    let s = w.seal(b, &victim, a).unwrap();
    let ha = w.heap(a).unwrap();
    assert!(ha.arena.unseal(&ha.link().unwrap().sealer, &s.raw).is_err());
    // A foreign reference planted in a (bypassing every API check) is
    // neither followed nor rewritten by a's collector, in any plan: b's
    // memory is untouched, and the verifier reports the plant (I7).
    let holder = rooted(&mut w, a, ta);
    let p = w.heap_mut(a).unwrap().persist(&holder).unwrap();
    poke(&mut w, a, &holder, &victim.raw);
    for _ in 0..3 {
        w.collect(a).unwrap();
        w.heap_mut(a).unwrap().collect_minor().unwrap();
    }
    assert_eq!(bytes(&w), before, "b's object bytes are unchanged");
    let ha = w.heap(a).unwrap();
    let holder = ha.get_persistent(p).unwrap();
    // SAFETY: slot 0 of a live object.
    let still = unsafe { M::read_slot(ha.arena.region(), holder.address()) };
    assert_eq!(still, victim.raw, "copied as it was, never re-derived");
    assert_eq!(
        ha.verify().unwrap_err(),
        vec![Violation::ForeignReference {
            at: RefLocation::Slot(holder.address()),
            target: victim.address()
        }]
    );
    w.heap(b).unwrap().verify().expect("b intact");
}

#[test]
fn a_collector_cannot_touch_another_compartment() {
    for plan in Plan::ALL {
        cannot_touch::<Native>(plan);
        cannot_touch::<P128>(plan);
        cannot_touch::<SoftCheri<Morello>>(plan);
        cannot_touch::<SoftCheri<RiscvStd>>(plan);
    }
}

fn i7_unexported_sealed<M: RefMode>() {
    let (mut w, [a, _], [ta, _]) = world::<M>(Plan::Generational);
    let x = rooted(&mut w, a, ta);
    let holder = rooted(&mut w, a, ta);
    // A sealed form of a's own, over an address that is no export entry.
    let ha = w.heap(a).unwrap();
    let fake = ha
        .arena
        .seal(
            &ha.link().unwrap().sealer,
            x.address().add(M::SLOT_SIZE),
            M::SLOT_SIZE,
        )
        .unwrap();
    poke(&mut w, a, &holder, &fake);
    let expect = Violation::UnexportedSealed {
        at: RefLocation::Slot(holder.address()),
        target: M::address(&fake),
    };
    assert_eq!(w.heap(a).unwrap().verify().unwrap_err(), vec![expect]);
    assert_eq!(w.verify().unwrap_err(), vec![(a, expect)]);
    assert_eq!(expect.invariant(), "I7");
}

#[test]
fn i7_unexported_sealed_every_mode() {
    i7_unexported_sealed::<Native>();
    i7_unexported_sealed::<SoftCheri<Morello>>();
    i7_unexported_sealed::<SoftCheri<RiscvStd>>();
}

/// A sealed reference into another compartment that designates a
/// released export: the split heap's verifier reports it.
#[test]
fn i7_sealed_reference_to_a_released_export() {
    type M = SoftCheri<Morello>;
    let (mut w, [a, b], [ta, tb]) = world::<M>(Plan::MarkSweep);
    let victim = rooted(&mut w, b, tb);
    let s = w.seal(b, &victim, a).unwrap();
    let e = s.entry;
    w.heap_mut(b).unwrap().release_entry(e).unwrap();
    let holder = rooted(&mut w, a, ta);
    poke(&mut w, a, &holder, &s.raw);
    w.heap(a)
        .unwrap()
        .verify()
        .expect("a cannot tell: b's table");
    assert_eq!(
        w.verify().unwrap_err(),
        vec![(
            a,
            Violation::UnexportedSealed {
                at: RefLocation::Slot(holder.address()),
                target: M::address(&s.raw),
            }
        )]
    );
}

/// An authority that covers another compartment's region.
#[test]
fn i7_authority_outside_region() {
    type M = SoftCheri<Morello>;
    let (mut w, [a, b], _) = world::<M>(Plan::MarkSweep);
    let wide = *w.heap(b).unwrap().arena.corrupt_authority();
    let own = w.heap_mut(a).unwrap().arena.corrupt_swap_authority(wide);
    let v = w.heap(a).unwrap().verify().unwrap_err();
    assert!(
        matches!(v[..], [Violation::AuthorityOutsideRegion { base, .. }] if base == wide.base()),
        "{v:?}"
    );
    w.heap_mut(a).unwrap().arena.corrupt_swap_authority(own);
    w.verify().expect("restored");
    let _ = Address::NULL;
}
