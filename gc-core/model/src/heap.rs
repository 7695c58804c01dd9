//! The heap model: random sequences of allocation, linking, every kind
//! of root (persistents, handles in nested scopes, root-region slots),
//! weak references, ephemerons, finalizers, pinning, data writes and
//! collections, run against a [`Heap`] and against a plain graph model.
//!
//! After every collection the heap must agree with the model:
//! - the objects reached from the roots (walked through the public API,
//!   ephemerons included) are exactly the model's reachable set, with the
//!   same edges; a full collection reports exactly that many survivors;
//! - a weak reference reads its (moved) target while the target is
//!   reachable, and after a full collection reads empty once it is not;
//! - an ephemeron gives its (key, value) while the key is reachable, and
//!   is cleared by the full collection after which it is not;
//! - finalization tokens are delivered once each, only for unreachable
//!   objects, and all of them by the full collection after they die;
//! - `verify()` passes.
//!
//! Reachability in the model: the roots, then the edges, then ephemeron
//! values whose key is reached, to a fixpoint.
//!
//! Indices in an [`Op`] are taken modulo what they index (an object among
//! the reachable ones, a slot, a root), so any value is an operation: the
//! proptest strategies of `gc-core/tests/model.rs` and the `Arbitrary`
//! inputs of the `heap_ops` fuzz target build the same type.

use capability_heap::RefMode;
use gc_core::{
    Ephemeron, Handle, Heap, HeapConfig, ObjRef, Persistent, Plan, RootRegionId, ScanStrategy,
    Scope, TypeId, WeakRef,
};
use std::collections::{BTreeMap, BTreeSet};

/// Root-region slots.
pub const REGION_SLOTS: usize = 8;
/// The largest byte array [`Op::AllocLarge`] makes, in KiB: a case of
/// [`MAX_OPS`] operations stays well inside the heap limit.
pub const MAX_LARGE_KIB: u8 = 199;
/// The most operations a case is meant to have (the proptests make at
/// most 150; the fuzz target truncates to this).
pub const MAX_OPS: usize = 150;

/// One step of a case.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// New object (2 reference slots), held by a persistent root.
    Alloc,
    /// New object stored in slot `slot` (mod 2) of the `src`-th reachable
    /// object.
    AllocChild {
        /// Which reachable object.
        src: usize,
        /// Which of its slots.
        slot: u8,
    },
    /// New large byte array of this many KiB (1 ..= [`MAX_LARGE_KIB`]),
    /// held by a persistent root.
    AllocLarge(u8),
    /// Slot `slot` (mod 2) of the `src`-th reachable object points at the
    /// `dst`-th.
    Link {
        /// Which reachable object holds the slot.
        src: usize,
        /// Which of its slots.
        slot: u8,
        /// Which reachable object it points at.
        dst: usize,
    },
    /// Slot `slot` (mod 2) of the `src`-th reachable object becomes null.
    Unlink {
        /// Which reachable object.
        src: usize,
        /// Which of its slots.
        slot: u8,
    },
    /// Release the `i`-th persistent root.
    DropRoot(usize),
    /// Open a handle scope.
    OpenScope,
    /// Close the innermost scope (its handles stop being roots).
    CloseScope,
    /// Hold the `src`-th reachable object in a handle of the innermost
    /// scope.
    Handle(usize),
    /// Store the `src`-th reachable object in root-region slot `slot`
    /// (mod [`REGION_SLOTS`]).
    RootSet {
        /// The root-region slot.
        slot: u8,
        /// Which reachable object.
        src: usize,
    },
    /// Store data in root-region slot `slot` (no reference any more).
    RootData {
        /// The root-region slot.
        slot: u8,
        /// The data.
        value: u64,
    },
    /// A weak reference to the `src`-th reachable object.
    Weak(usize),
    /// A new object kept only by an ephemeron keyed by the `key`-th
    /// reachable object.
    Ephemeron {
        /// Which reachable object is the key.
        key: usize,
    },
    /// A finalizer on the `src`-th reachable object (token = its id).
    Finalize(usize),
    /// Pin or unpin the `src`-th reachable object.
    Pin(usize, bool),
    /// Data write into the `src`-th reachable object (must not disturb refs).
    Scribble(usize, u64),
    /// Minor collection (full in the non-generational plans).
    Minor,
    /// Full collection.
    Collect,
}

/// The reference model.
#[derive(Default)]
pub struct Model {
    /// Nodes by id with their two slots (byte arrays have no entry).
    edges: BTreeMap<u64, [Option<u64>; 2]>,
    /// Every object ever made and not yet found dead by a full collection.
    objects: BTreeSet<u64>,
    persistents: Vec<(Persistent, u64)>,
    /// Open scopes, innermost last, with their handles.
    scopes: Vec<(Scope, Vec<(Handle, u64)>)>,
    /// Handles in the base scope.
    base_handles: Vec<(Handle, u64)>,
    /// Root-region slots holding a reference.
    region: [Option<u64>; REGION_SLOTS],
    /// Weak references: target, `None` once cleared.
    weak: Vec<(WeakRef, Option<u64>)>,
    /// Ephemerons: (key, value), `None` once cleared.
    ephemerons: Vec<(Ephemeron, Option<(u64, u64)>)>,
    /// Finalizer tokens registered and not yet delivered.
    finalizers: BTreeSet<u64>,
    /// Tokens delivered so far.
    delivered: BTreeSet<u64>,
    next: u64,
}

impl Model {
    fn roots(&self) -> Vec<u64> {
        let mut r: Vec<u64> = self.persistents.iter().map(|p| p.1).collect();
        r.extend(self.base_handles.iter().map(|h| h.1));
        r.extend(self.scopes.iter().flat_map(|s| s.1.iter().map(|h| h.1)));
        r.extend(self.region.iter().flatten());
        r
    }

    /// Reachable ids: roots, edges, then ephemeron values of reached keys
    /// to a fixpoint.
    pub fn reachable(&self) -> BTreeSet<u64> {
        let mut seen = BTreeSet::new();
        let mut stack = self.roots();
        loop {
            while let Some(id) = stack.pop() {
                if seen.insert(id) {
                    if let Some(e) = self.edges.get(&id) {
                        stack.extend(e.iter().flatten());
                    }
                }
            }
            for (_, e) in &self.ephemerons {
                if let Some((k, v)) = e {
                    if seen.contains(k) && !seen.contains(v) {
                        stack.push(*v);
                    }
                }
            }
            if stack.is_empty() {
                return seen;
            }
        }
    }

    fn fresh(&mut self) -> u64 {
        let id = self.next;
        self.next += 1;
        self.objects.insert(id);
        id
    }
}

/// The heap under test, its types and root region.
pub struct Sut<M: RefMode> {
    /// The heap.
    pub h: Heap<M>,
    node: TypeId,
    bytes: TypeId,
    rr: RootRegionId,
}

impl<M: RefMode> Sut<M> {
    /// A heap of `plan` scanning by `scan`, with the model's types (slot
    /// 0 holds the id as data, slots 1-2 references) and root region.
    pub fn new(plan: Plan, scan: ScanStrategy) -> Sut<M> {
        let mut h = Heap::<M>::new(HeapConfig {
            plan,
            nursery_size: 128 << 10,
            pause_goal: None,
            initial_size: 256 << 10,
            limit: 64 << 20,
            scan,
            log: false,
            ..HeapConfig::default()
        })
        .unwrap();
        let slot = Heap::<M>::SLOT;
        let node = h
            .register_type(gc_core::ObjectType::Fixed {
                size: 3 * slot + 8,
                ref_offsets: vec![slot, 2 * slot],
            })
            .unwrap();
        let bytes = h.register_type(gc_core::ObjectType::ByteArray).unwrap();
        let rr = h.root_region_new(REGION_SLOTS as u64).unwrap();
        Sut { h, node, bytes, rr }
    }

    fn id(&self, o: &ObjRef<M>) -> u64 {
        self.h.read::<u64>(o, 0).unwrap()
    }

    /// Walks the heap from its roots: id → (reference, children ids).
    fn walk(&self, m: &Model) -> BTreeMap<u64, (ObjRef<M>, [Option<u64>; 2])> {
        let h = &self.h;
        let mut stack: Vec<ObjRef<M>> = Vec::new();
        stack.extend(
            m.persistents
                .iter()
                .map(|(p, _)| h.get_persistent(*p).unwrap()),
        );
        stack.extend(m.base_handles.iter().map(|(x, _)| h.get(*x).unwrap()));
        for (_, hs) in &m.scopes {
            stack.extend(hs.iter().map(|(x, _)| h.get(*x).unwrap()));
        }
        for (i, s) in m.region.iter().enumerate() {
            if s.is_some() {
                assert!(h.root_is_ref(self.rr, i as u64).unwrap());
                stack.push(h.root_get(self.rr, i as u64).unwrap());
            }
        }
        let mut out = BTreeMap::new();
        loop {
            while let Some(o) = stack.pop() {
                let id = self.id(&o);
                if out.contains_key(&id) {
                    continue;
                }
                let mut kids = [None, None];
                if h.type_of(&o).unwrap() == self.node {
                    for (i, kid) in kids.iter_mut().enumerate() {
                        let c = h.get_ref(&o, Heap::<M>::ref_offset(i as u32 + 1)).unwrap();
                        if !c.is_null() {
                            *kid = Some(self.id(&c));
                            stack.push(c);
                        }
                    }
                }
                out.insert(id, (o, kids));
            }
            // Ephemeron values of reached keys.
            for (e, _) in &m.ephemerons {
                if let Some((k, v)) = self.h.ephemeron_get(*e).unwrap() {
                    if out.contains_key(&self.id(&k)) && !out.contains_key(&self.id(&v)) {
                        stack.push(v);
                    }
                }
            }
            if stack.is_empty() {
                return out;
            }
        }
    }

    fn nth(&self, m: &Model, i: usize) -> Option<(u64, ObjRef<M>)> {
        let w = self.walk(m);
        if w.is_empty() {
            return None;
        }
        let (id, (o, _)) = w.iter().nth(i % w.len())?;
        Some((*id, *o))
    }

    /// A new node with its id written in, and where the model has it.
    fn new_node(&mut self, m: &mut Model) -> (u64, ObjRef<M>) {
        let o = self.h.alloc(self.node).unwrap();
        let id = m.fresh();
        self.h.write::<u64>(&o, 0, id).unwrap();
        m.edges.insert(id, [None, None]);
        (id, o)
    }
}

/// Runs `ops` on a heap of every plan.
pub fn run<M: RefMode>(ops: &[Op], scan: ScanStrategy) {
    for plan in Plan::ALL {
        run_plan::<M>(ops, scan, plan);
    }
}

/// Runs `ops` on a heap of `plan` against the model, checking after
/// every collection, then closes every scope and checks a last full
/// collection.
pub fn run_plan<M: RefMode>(ops: &[Op], scan: ScanStrategy, plan: Plan) {
    let mut s = Sut::<M>::new(plan, scan);
    let mut m = Model::default();
    for op in ops {
        step(&mut s, &mut m, op);
    }
    while let Some((sc, _)) = m.scopes.pop() {
        s.h.close_scope(sc).unwrap();
    }
    let st = s.h.collect().unwrap();
    assert_eq!(
        st.live_objects,
        m.reachable().len() as u64,
        "survivor count"
    );
    collected(&mut s, &mut m, true);
}

/// Slot `k` (mod 2) of a node: its reference offset.
fn node_slot<M: RefMode>(k: u8) -> u64 {
    Heap::<M>::ref_offset(u32::from(k % 2) + 1)
}

/// Applies one operation to the heap and the model.
pub fn step<M: RefMode>(s: &mut Sut<M>, m: &mut Model, op: &Op) {
    let slot = Heap::<M>::SLOT;
    match *op {
        Op::Alloc => {
            let (id, o) = s.new_node(m);
            m.persistents.push((s.h.persist(&o).unwrap(), id));
        }
        Op::AllocLarge(k) => {
            let kib = u64::from(k.clamp(1, MAX_LARGE_KIB));
            let o = s.h.alloc_array(s.bytes, kib * 1024 + 8).unwrap();
            let id = m.fresh();
            s.h.write::<u64>(&o, 0, id).unwrap();
            m.persistents.push((s.h.persist(&o).unwrap(), id));
        }
        Op::AllocChild { src, slot: k } => {
            let Some((a, _)) = s.nth(m, src) else { return };
            if !m.edges.contains_key(&a) {
                return; // byte arrays have no slots
            }
            let (id, o) = s.new_node(m);
            let ho = s.h.handle(&o).unwrap();
            let w = s.walk(m);
            let o = s.h.get(ho).unwrap();
            s.h.set_ref(&w[&a].0, node_slot::<M>(k), &o).unwrap();
            m.edges.get_mut(&a).unwrap()[usize::from(k % 2)] = Some(id);
            s.h.set_handle(ho, &ObjRef::null()).unwrap();
        }
        Op::Link { src, slot: k, dst } => {
            let (Some((a, ao)), Some((b, bo))) = (s.nth(m, src), s.nth(m, dst)) else {
                return;
            };
            if !m.edges.contains_key(&a) {
                return;
            }
            s.h.set_ref(&ao, node_slot::<M>(k), &bo).unwrap();
            m.edges.get_mut(&a).unwrap()[usize::from(k % 2)] = Some(b);
        }
        Op::Unlink { src, slot: k } => {
            let Some((a, ao)) = s.nth(m, src) else { return };
            if !m.edges.contains_key(&a) {
                return;
            }
            s.h.set_ref(&ao, node_slot::<M>(k), &ObjRef::null())
                .unwrap();
            m.edges.get_mut(&a).unwrap()[usize::from(k % 2)] = None;
        }
        Op::DropRoot(i) if !m.persistents.is_empty() => {
            let (p, _) = m.persistents.remove(i % m.persistents.len());
            s.h.release(p).unwrap();
        }
        Op::OpenScope => {
            let sc = s.h.open_scope();
            m.scopes.push((sc, Vec::new()));
        }
        Op::CloseScope => {
            if let Some((sc, hs)) = m.scopes.pop() {
                s.h.close_scope(sc).unwrap();
                for (x, _) in hs {
                    assert!(s.h.get(x).is_err(), "a closed scope's handle");
                }
            }
        }
        Op::Handle(src) => {
            let Some((id, o)) = s.nth(m, src) else { return };
            let x = s.h.handle(&o).unwrap();
            match m.scopes.last_mut() {
                Some((_, hs)) => hs.push((x, id)),
                None => m.base_handles.push((x, id)),
            }
        }
        Op::RootSet { slot: k, src } => {
            let Some((id, o)) = s.nth(m, src) else { return };
            let k = usize::from(k) % REGION_SLOTS;
            s.h.root_set(s.rr, k as u64, &o).unwrap();
            m.region[k] = Some(id);
        }
        Op::RootData { slot: k, value } => {
            let k = usize::from(k) % REGION_SLOTS;
            s.h.root_set_data(s.rr, k as u64, value).unwrap();
            assert!(!s.h.root_is_ref(s.rr, k as u64).unwrap());
            m.region[k] = None;
        }
        Op::Weak(src) => {
            let Some((id, o)) = s.nth(m, src) else { return };
            m.weak.push((s.h.weak_new(&o).unwrap(), Some(id)));
        }
        Op::Ephemeron { key } => {
            let Some((k, _)) = s.nth(m, key) else { return };
            let (v, vo) = s.new_node(m);
            let hv = s.h.handle(&vo).unwrap();
            let w = s.walk(m);
            let vo = s.h.get(hv).unwrap();
            let e = s.h.ephemeron_new(&w[&k].0, &vo).unwrap();
            s.h.set_handle(hv, &ObjRef::null()).unwrap();
            m.ephemerons.push((e, Some((k, v))));
        }
        Op::Finalize(src) => {
            let Some((id, o)) = s.nth(m, src) else { return };
            if m.finalizers.insert(id) {
                s.h.register_finalizer(&o, id).unwrap();
            }
        }
        Op::Pin(src, on) => {
            let Some((a, o)) = s.nth(m, src) else { return };
            let before = o.address();
            if on {
                s.h.pin(&o).unwrap();
                // A pinned object does not move across a collection.
                s.h.collect_minor().unwrap();
                collected(s, m, false);
                let w = s.walk(m);
                assert_eq!(w[&a].0.address(), before, "pinned object moved");
            } else {
                s.h.unpin(&o).unwrap();
            }
        }
        Op::Scribble(src, v) => {
            let Some((a, o)) = s.nth(m, src) else { return };
            let off = if m.edges.contains_key(&a) {
                3 * slot
            } else {
                8
            };
            s.h.write::<u64>(&o, off, v).unwrap();
        }
        Op::Minor => {
            s.h.collect_minor().unwrap();
            collected(s, m, false);
        }
        Op::Collect => {
            let st = s.h.collect().unwrap();
            assert_eq!(
                st.live_objects,
                m.reachable().len() as u64,
                "survivor count"
            );
            collected(s, m, true);
        }
        Op::DropRoot(_) => {}
    }
}

/// After a collection (`full`, or minor): the heap verifies and agrees
/// with the model.
pub fn collected<M: RefMode>(s: &mut Sut<M>, m: &mut Model, full: bool) {
    if let Err(v) = s.h.verify() {
        panic!("{}: verify after a collection: {v:?}", M::NAME);
    }
    let want = m.reachable();
    let w = s.walk(m);
    assert_eq!(
        w.keys().copied().collect::<BTreeSet<_>>(),
        want,
        "reachable set"
    );
    for (id, (_, kids)) in &w {
        if let Some(e) = m.edges.get(id) {
            assert_eq!(kids, e, "edges of {id}");
        }
    }
    // Weak references: the right object while reachable; cleared by a full
    // collection once not (a minor one may keep a dead mature target).
    for (wk, target) in &mut m.weak {
        let got =
            s.h.weak_get(*wk)
                .unwrap()
                .map(|o| s.h.read::<u64>(&o, 0).unwrap());
        match *target {
            Some(id) if want.contains(&id) => assert_eq!(got, Some(id), "weak to a live object"),
            Some(id) if full => {
                assert_eq!(got, None, "weak to dead {id} not cleared");
                *target = None;
            }
            Some(id) => assert!(got.is_none() || got == Some(id), "weak to another object"),
            None => assert_eq!(got, None, "a cleared weak reference revived"),
        }
        if got.is_none() {
            *target = None;
        }
    }
    // Ephemerons: the pair while the key is reachable.
    for (e, pair) in &mut m.ephemerons {
        let got = s.h.ephemeron_get(*e).unwrap().map(|(k, v)| {
            (
                s.h.read::<u64>(&k, 0).unwrap(),
                s.h.read::<u64>(&v, 0).unwrap(),
            )
        });
        match *pair {
            Some((k, v)) if want.contains(&k) => assert_eq!(got, Some((k, v)), "live key's pair"),
            Some(_) if full => {
                assert_eq!(got, None, "dead key's pair not cleared");
                *pair = None;
            }
            Some(p) => assert!(got.is_none() || got == Some(p)),
            None => assert_eq!(got, None, "a cleared ephemeron revived"),
        }
        if got.is_none() {
            *pair = None;
        }
    }
    // Finalizers: once each, only dead objects, all of them after a full
    // collection.
    for t in s.h.take_finalized() {
        assert!(!want.contains(&t), "finalized {t} while reachable");
        assert!(
            m.finalizers.remove(&t),
            "token {t} unexpected or delivered twice"
        );
        m.delivered.insert(t);
    }
    if full {
        let pending: Vec<u64> = m
            .finalizers
            .iter()
            .filter(|t| !want.contains(t))
            .copied()
            .collect();
        assert!(pending.is_empty(), "dead but not finalized: {pending:?}");
        // The dead are gone from the model.
        m.edges.retain(|id, _| want.contains(id));
        m.objects.retain(|id| want.contains(id));
    }
}
