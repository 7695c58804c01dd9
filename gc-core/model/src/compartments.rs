//! Model-based property test of a split heap ([`Compartments`]): random
//! sequences of allocation, linking, sealing, storing, copying and
//! loading sealed references, unsealing (by the owner and by others),
//! refused stores of unsealed foreign references, minor, independent and
//! whole-heap collections and teardown, on 2–4 compartments, run against
//! a plain model of which objects each compartment reaches and which
//! sealed references exist.
//!
//! The model: each compartment has a root region of [`ROOTS`] slots and
//! objects with two reference slots and a unique id (data). A slot holds
//! nothing, an object of the same compartment, or a sealed reference to
//! an object of any compartment (one of its owner's exports). The model
//! also keeps every compartment's exports (object → the [`SealedRef`]
//! sealing it gives), the sealed references the test holds only in Rust
//! locals, and a weak reference to every object, observing what each
//! collection reclaims.
//!
//! What the model predicts, exactly:
//! - reachability, from every live compartment's roots through
//!   same-compartment edges and sealed references into live compartments:
//!   the heap walked through the public API (sealed references loaded and
//!   unsealed by their owner) gives the same objects, ids and slots;
//! - the exports: sealing adds one per object (sealing it again gives an
//!   equal reference); an independent collection keeps them all (they are
//!   its roots); a whole-heap collection keeps exactly those whose sealed
//!   reference is stored somewhere reachable — which releases the ones
//!   held only by locals or by garbage, and so reclaims cycles through
//!   several compartments — with the counts it reports;
//! - survivors: a full collection of one compartment keeps what its roots
//!   and exports reach locally, a whole-heap collection what some root
//!   reaches (survivor counts; weak observers read empty afterwards);
//! - errors: `CompartmentViolation` for an unsealed foreign reference
//!   (model unchanged, refusal counted), `UnsealDenied` for a non-owner,
//!   `SealedRevoked` for a local whose export was released,
//!   `CompartmentDestroyed` for anything of a torn-down compartment.
//!
//! After every collection and teardown `verify()` (I1–I9 in every
//! compartment and I7 across them) passes and the heap agrees with the
//! model; each case ends by unrooting everything, after which a
//! whole-heap collection leaves no export and no object.
//!
//! Indices in an [`Op`] are taken modulo what they index (compartments,
//! root slots, object slots), so any value is an operation: the proptest
//! strategies of `gc-core/tests/compartment_model.rs` and the
//! `Arbitrary` inputs of the `heap_ops` fuzz target build the same type.

use capability_heap::RefMode;
use gc_core::{
    CompartmentId, Compartments, GcError, Heap, HeapConfig, ObjRef, Plan, RootRegionId,
    ScanStrategy, SealedRef, TypeId, WeakRef,
};
use std::collections::{BTreeMap, BTreeSet};

/// Root-region slots per compartment.
pub const ROOTS: usize = 6;
/// Export entries per export-table chunk, a pinned object of its
/// compartment counted among its survivors (`CHUNK_SLOTS - 1` in
/// `compartment/link.rs`).
const ENTRIES_PER_CHUNK: usize = 63;
/// Sealed references kept in Rust locals (the oldest are forgotten).
pub const LOCALS: usize = 24;

/// A compartment and an index (of a root slot, or of an object among the
/// compartment's reached ones).
type At = (usize, usize);

/// Where a reference goes.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Dest {
    /// A root-region slot.
    Root(usize),
    /// Slot `k` of the `obj`-th reached object.
    Field {
        /// Which reached object.
        obj: usize,
        /// Which of its slots.
        k: usize,
    },
    /// A Rust local only (for [`Op::Foreign`]: a persistent root).
    Local,
}

/// Compartments are numbered 0..4 and taken modulo the case's count.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Op {
    /// A new object of `c` in its root slot `slot`.
    Alloc {
        /// The compartment.
        c: usize,
        /// Its root slot.
        slot: usize,
    },
    /// Slot `k` of `c`'s `src`-th object points at its `dst`-th (null
    /// for `None`).
    Link {
        /// The compartment.
        c: usize,
        /// Which of its objects holds the slot.
        src: usize,
        /// Which slot.
        k: usize,
        /// Which of its objects it points at (none: null).
        dst: Option<usize>,
    },
    /// Root slot `from` of `a` copied to root slot `to` of `b`: an object
    /// reference is refused across compartments, a sealed one is not.
    Copy {
        /// The source compartment.
        a: usize,
        /// Its root slot.
        from: usize,
        /// The destination compartment.
        b: usize,
        /// Its root slot.
        to: usize,
    },
    /// Root slot `slot` of `c` holds data.
    Clear {
        /// The compartment.
        c: usize,
        /// Its root slot.
        slot: usize,
    },
    /// The `obj`-th object of another compartment (the `x`-th other live
    /// one) offered unsealed to `c`, at `into`.
    Foreign {
        /// The compartment offered the reference.
        c: usize,
        /// Which other live compartment owns the object.
        x: usize,
        /// Which of its objects.
        obj: usize,
        /// Where `c` is asked to keep it.
        into: Dest,
    },
    /// `x`'s `obj`-th object sealed for `y` (possibly `x` itself) and
    /// stored at `to` in `y`.
    Seal {
        /// The owner.
        x: usize,
        /// Which of its objects.
        obj: usize,
        /// The holder.
        y: usize,
        /// Where the holder keeps it.
        to: Dest,
    },
    /// A cycle through two compartments: slot `k` of `x`'s `a`-th object
    /// holds the `b`-th object of another compartment (the `y`-th other live
    /// one) sealed, and its slot `k` holds the first one sealed.
    Cycle {
        /// The first compartment.
        x: usize,
        /// Which of its objects.
        a: usize,
        /// Which other live compartment is the second.
        y: usize,
        /// Which of its objects.
        b: usize,
        /// The slot both use.
        k: usize,
    },
    /// The `pick`-th sealed reference stored in `c`, loaded and unsealed
    /// by `by`.
    Unseal {
        /// The compartment that stores it.
        c: usize,
        /// Which of the sealed references it stores.
        pick: usize,
        /// The compartment that unseals.
        by: usize,
    },
    /// The `i`-th local sealed reference unsealed by `by`.
    UnsealLocal {
        /// Which local.
        i: usize,
        /// The compartment that unseals.
        by: usize,
    },
    /// The `i`-th local unsealed by its owner into the owner's root slot.
    Import {
        /// Which local.
        i: usize,
        /// The owner's root slot.
        slot: usize,
    },
    /// A minor collection of `c`.
    Minor(usize),
    /// A full collection of `c` alone.
    Collect(usize),
    /// The whole-heap collection.
    CollectAll,
    /// Teardown of `c` (unless it is the last live one).
    Destroy(usize),
}

/// What a slot holds. The model's slots are never [`Ref::Gone`]: that is
/// how a sealed reference into a torn-down compartment reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ref {
    Empty,
    Obj(u64),
    Sealed(u64),
    Gone,
}

/// Where a compartment stores a sealed reference.
#[derive(Clone, Copy, Debug)]
enum Loc {
    Root(usize),
    Field(u64, usize),
}

/// The reference model.
pub struct Model<M: RefMode> {
    live: Vec<bool>,
    roots: Vec<[Ref; ROOTS]>,
    /// Every object ever made: its compartment and its slots.
    objects: BTreeMap<u64, (usize, [Ref; 2])>,
    /// Objects that may still be alive: exact for a compartment after its
    /// full collection.
    alive: BTreeSet<u64>,
    /// Per compartment, its exported objects and the sealed reference each
    /// is exported as.
    exports: Vec<BTreeMap<u64, SealedRef<M>>>,
    /// The most exports each compartment held at once.
    peak: Vec<usize>,
    /// Sealed references held in Rust locals only, with their targets.
    locals: Vec<(SealedRef<M>, u64)>,
}

impl<M: RefMode> Model<M> {
    /// The model of `n` live, empty compartments.
    pub fn new(n: usize) -> Model<M> {
        Model {
            live: vec![true; n],
            roots: vec![[Ref::Empty; ROOTS]; n],
            objects: BTreeMap::new(),
            alive: BTreeSet::new(),
            exports: vec![BTreeMap::new(); n],
            peak: vec![0; n],
            locals: Vec::new(),
        }
    }

    fn owner(&self, id: u64) -> usize {
        self.objects[&id].0
    }

    fn fresh(&mut self, c: usize) -> u64 {
        let id = self.objects.len() as u64 + 1;
        self.objects.insert(id, (c, [Ref::Empty; 2]));
        self.alive.insert(id);
        id
    }

    /// How a slot reads through the API.
    fn view(&self, r: Ref) -> Ref {
        match r {
            Ref::Sealed(id) if !self.live[self.owner(id)] => Ref::Gone,
            r => r,
        }
    }

    fn target(&self, r: Ref) -> Option<u64> {
        match self.view(r) {
            Ref::Obj(id) | Ref::Sealed(id) => Some(id),
            Ref::Empty | Ref::Gone => None,
        }
    }

    fn live_compartments(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.live.len()).filter(|&c| self.live[c])
    }

    /// What the whole-heap collection keeps: everything reached from the
    /// live compartments' roots, across sealed references.
    fn reachable(&self) -> BTreeSet<u64> {
        let mut stack: Vec<u64> = self
            .live_compartments()
            .flat_map(|c| self.roots[c].iter().filter_map(|&r| self.target(r)))
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.objects[&id].1.iter().filter_map(|&r| self.target(r)));
            }
        }
        seen
    }

    /// What a full collection of `c` alone keeps: what its roots and its
    /// exports reach through its own objects (sealed references are not
    /// followed).
    fn kept(&self, c: usize) -> BTreeSet<u64> {
        let obj = |r: &Ref| match r {
            Ref::Obj(id) => Some(*id),
            _ => None,
        };
        let mut stack: Vec<u64> = self.roots[c].iter().filter_map(obj).collect();
        stack.extend(self.exports[c].keys());
        let mut seen = BTreeSet::new();
        while let Some(id) = stack.pop() {
            if seen.insert(id) {
                stack.extend(self.objects[&id].1.iter().filter_map(obj));
            }
        }
        seen
    }

    /// What no collection can have reclaimed.
    fn must_live(&self) -> BTreeSet<u64> {
        self.live_compartments()
            .flat_map(|c| self.kept(c))
            .collect()
    }

    /// The sealed references compartment `c` holds where it can reach.
    fn stored_sealed(&self, c: usize, reach: &BTreeSet<u64>) -> Vec<(Loc, u64)> {
        let mut out = Vec::new();
        for (i, r) in self.roots[c].iter().enumerate() {
            if let Ref::Sealed(id) = r {
                out.push((Loc::Root(i), *id));
            }
        }
        for id in reach.iter().filter(|&&id| self.owner(id) == c) {
            for (k, r) in self.objects[id].1.iter().enumerate() {
                if let Ref::Sealed(t) = r {
                    out.push((Loc::Field(*id, k), *t));
                }
            }
        }
        out
    }

    /// The objects whose sealed references are stored where some root
    /// reaches: the exports a whole-heap collection keeps.
    fn held_exports(&self, reach: &BTreeSet<u64>) -> BTreeSet<u64> {
        let sealed = |r: &Ref| match self.view(*r) {
            Ref::Sealed(id) => Some(id),
            _ => None,
        };
        let mut held: BTreeSet<u64> = self
            .live_compartments()
            .flat_map(|c| self.roots[c].iter().filter_map(sealed))
            .collect();
        held.extend(
            reach
                .iter()
                .flat_map(|id| self.objects[id].1.iter().filter_map(sealed)),
        );
        held
    }

    fn export(&mut self, c: usize, id: u64, s: SealedRef<M>) {
        match self.exports[c].get(&id) {
            Some(prev) => assert_eq!(*prev, s, "sealing {id} again gives an equal reference"),
            None => {
                self.exports[c].insert(id, s);
                self.peak[c] = self.peak[c].max(self.exports[c].len());
            }
        }
        self.locals.push((s, id));
        if self.locals.len() > LOCALS {
            self.locals.remove(0);
        }
    }

    /// Export-table chunks of `c`: objects of its heap.
    fn chunks(&self, c: usize) -> u64 {
        self.peak[c].div_ceil(ENTRIES_PER_CHUNK) as u64
    }

    /// What `by` unsealing `s` (a sealed reference to `id`) must give.
    fn unsealed(&self, s: &SealedRef<M>, id: u64, by: usize) -> Result<u64, GcError> {
        let owner = self.owner(id);
        if !self.live[by] || !self.live[owner] {
            Err(GcError::CompartmentDestroyed)
        } else if self.exports[owner].get(&id) != Some(s) {
            Err(GcError::SealedRevoked)
        } else if by != owner {
            Err(GcError::UnsealDenied)
        } else {
            Ok(id)
        }
    }
}

/// An object reached by walking the heap.
struct Node<M: RefMode> {
    owner: usize,
    obj: ObjRef<M>,
    slots: [Ref; 2],
}

/// The heap as the public API shows it, from the live compartments'
/// roots.
struct Walk<M: RefMode> {
    nodes: BTreeMap<u64, Node<M>>,
    roots: Vec<[Ref; ROOTS]>,
    /// Every sealed reference loaded, with the id its owner unsealed.
    sealed: Vec<(SealedRef<M>, u64)>,
    /// Objects found and not yet visited.
    stack: Vec<(usize, ObjRef<M>)>,
}

impl<M: RefMode> Walk<M> {
    /// The `i`-th reached object of compartment `c`.
    fn nth(&self, c: usize, i: usize) -> Option<(u64, ObjRef<M>)> {
        let of: Vec<_> = self.nodes.iter().filter(|(_, n)| n.owner == c).collect();
        let (id, n) = of.get(i % of.len().max(1))?;
        Some((**id, n.obj))
    }
}

fn data<M: RefMode>() -> u64 {
    Heap::<M>::data_offset(2)
}

fn slot<M: RefMode>(k: usize) -> u64 {
    Heap::<M>::ref_offset(k as u32)
}

/// The split heap under test, with each compartment's node type, root
/// region, and a weak observer per object.
pub struct Sut<M: RefMode> {
    w: Compartments<M>,
    ids: Vec<CompartmentId>,
    node: Vec<TypeId>,
    rr: Vec<RootRegionId>,
    weak: BTreeMap<u64, WeakRef>,
}

impl<M: RefMode> Sut<M> {
    /// A split heap of `n` compartments of `plan`, each with the model's
    /// node type and root region.
    pub fn new(plan: Plan, scan: ScanStrategy, n: usize) -> Sut<M> {
        let mut w = Compartments::<M>::new().unwrap();
        let (mut ids, mut node, mut rr) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..n {
            let c = w
                .create(HeapConfig {
                    plan,
                    nursery_size: 128 << 10,
                    initial_size: 256 << 10,
                    limit: 16 << 20,
                    pause_goal: None,
                    scan,
                    log: false,
                    ..HeapConfig::default()
                })
                .unwrap();
            let h = w.heap_mut(c).unwrap();
            node.push(h.record_type(2, 8).unwrap());
            rr.push(h.root_region_new(ROOTS as u64).unwrap());
            ids.push(c);
        }
        let weak = BTreeMap::new();
        Sut {
            w,
            ids,
            node,
            rr,
            weak,
        }
    }

    fn id_of(&self, c: usize, o: &ObjRef<M>) -> u64 {
        let h = self.w.heap(self.ids[c]).unwrap();
        h.read::<u64>(o, data::<M>()).unwrap()
    }

    /// A loaded sealed reference, unsealed by its owner.
    fn follow(&mut self, loaded: Result<SealedRef<M>, GcError>, walk: &mut Walk<M>) -> Ref {
        match loaded {
            Err(GcError::CompartmentDestroyed) => Ref::Gone,
            Err(e) => panic!("loading a sealed reference: {e:?}"),
            Ok(s) => {
                let owner = s.owner().index() as usize;
                let o = self.w.unseal(s.owner(), &s).expect("the owner unseals");
                let id = self.id_of(owner, &o);
                walk.sealed.push((s, id));
                walk.stack.push((owner, o));
                Ref::Sealed(id)
            }
        }
    }

    fn load_root(&mut self, c: usize, i: usize, walk: &mut Walk<M>) -> Ref {
        let (cid, rr, i) = (self.ids[c], self.rr[c], i as u64);
        let h = self.w.heap(cid).unwrap();
        if !h.root_is_ref(rr, i).unwrap() {
            return Ref::Empty;
        }
        match h.root_get(rr, i) {
            Ok(o) if o.is_null() => Ref::Empty,
            Ok(o) => {
                walk.stack.push((c, o));
                Ref::Obj(self.id_of(c, &o))
            }
            Err(GcError::SealedReference) => {
                let s = self.w.root_get_sealed(cid, rr, i);
                self.follow(s, walk)
            }
            Err(e) => panic!("root {i} of {c}: {e:?}"),
        }
    }

    fn load_field(&mut self, c: usize, o: &ObjRef<M>, k: usize, walk: &mut Walk<M>) -> Ref {
        let cid = self.ids[c];
        match self.w.heap(cid).unwrap().get_ref(o, slot::<M>(k)) {
            Ok(t) if t.is_null() => Ref::Empty,
            Ok(t) => {
                walk.stack.push((c, t));
                Ref::Obj(self.id_of(c, &t))
            }
            Err(GcError::SealedReference) => {
                let s = self.w.get_sealed(cid, o, slot::<M>(k));
                self.follow(s, walk)
            }
            Err(e) => panic!("slot {k} of an object of {c}: {e:?}"),
        }
    }

    /// Walks the heap from the live compartments' roots. Its references
    /// are valid until the next safepoint.
    fn walk(&mut self, live: &[bool]) -> Walk<M> {
        let mut walk = Walk {
            nodes: BTreeMap::new(),
            roots: vec![[Ref::Empty; ROOTS]; live.len()],
            sealed: Vec::new(),
            stack: Vec::new(),
        };
        for c in (0..live.len()).filter(|&c| live[c]) {
            for i in 0..ROOTS {
                walk.roots[c][i] = self.load_root(c, i, &mut walk);
            }
        }
        while let Some((c, o)) = walk.stack.pop() {
            let id = self.id_of(c, &o);
            if walk.nodes.contains_key(&id) {
                continue;
            }
            let slots = [0, 1].map(|k| self.load_field(c, &o, k, &mut walk));
            let node = Node {
                owner: c,
                obj: o,
                slots,
            };
            walk.nodes.insert(id, node);
        }
        walk
    }

    /// Unseals `s` (to `id`) by `by` and checks the outcome.
    fn unseal(&mut self, m: &Model<M>, s: &SealedRef<M>, id: u64, by: usize) {
        let got = self.w.unseal(self.ids[by], s);
        let got = got.map(|o| self.id_of(m.owner(id), &o));
        assert_eq!(
            got,
            m.unsealed(s, id, by),
            "{id} (of {}) by {by}",
            m.owner(id)
        );
    }

    /// True (and checked) when `c` was torn down.
    fn destroyed(&mut self, m: &Model<M>, c: usize) -> bool {
        let gone = !m.live[c];
        if gone {
            let r = self.w.heap_mut(self.ids[c]).map(|_| ());
            assert_eq!(r, Err(GcError::CompartmentDestroyed));
        }
        gone
    }
}

/// Runs `ops` on `n` compartments (1 ..= 4) of every plan.
pub fn run<M: RefMode>(n: usize, ops: &[Op], scan: ScanStrategy) {
    for plan in Plan::ALL {
        run_plan::<M>(plan, scan, n, ops);
    }
}

/// Runs `ops` on `n` compartments (1 ..= 4) of `plan` against the
/// model, checking after every collection and teardown; then unroots
/// everything and checks that a whole-heap collection leaves nothing.
pub fn run_plan<M: RefMode>(plan: Plan, scan: ScanStrategy, n: usize, ops: &[Op]) {
    let mut s = Sut::<M>::new(plan, scan, n);
    let mut m = Model::new(n);
    for op in ops {
        step(&mut s, &mut m, op);
    }
    check(&mut s, &mut m);
    // Unrooted, everything goes: cycles through compartments included.
    for c in m.live_compartments().collect::<Vec<_>>() {
        for i in 0..ROOTS {
            let h = s.w.heap_mut(s.ids[c]).unwrap();
            h.root_set_data(s.rr[c], i as u64, 0).unwrap();
            m.roots[c][i] = Ref::Empty;
        }
    }
    collect_all(&mut s, &mut m);
    assert!(m.exports.iter().all(|e| e.is_empty()));
    assert!(m.alive.is_empty(), "{plan:?}: {:?} survived", m.alive);
}

/// `op` with every index reduced to what it indexes.
fn normalised(op: &Op) -> Op {
    let dest = |d: Dest| match d {
        Dest::Root(i) => Dest::Root(i % ROOTS),
        Dest::Field { obj, k } => Dest::Field { obj, k: k % 2 },
        Dest::Local => Dest::Local,
    };
    match *op {
        Op::Alloc { c, slot } => Op::Alloc {
            c,
            slot: slot % ROOTS,
        },
        Op::Link { c, src, k, dst } => Op::Link {
            c,
            src,
            k: k % 2,
            dst,
        },
        Op::Copy { a, from, b, to } => Op::Copy {
            a,
            from: from % ROOTS,
            b,
            to: to % ROOTS,
        },
        Op::Clear { c, slot } => Op::Clear {
            c,
            slot: slot % ROOTS,
        },
        Op::Foreign { c, x, obj, into } => Op::Foreign {
            c,
            x,
            obj,
            into: dest(into),
        },
        Op::Seal { x, obj, y, to } => Op::Seal {
            x,
            obj,
            y,
            to: dest(to),
        },
        Op::Cycle { x, a, y, b, k } => Op::Cycle {
            x,
            a,
            y,
            b,
            k: k % 2,
        },
        Op::Import { i, slot } => Op::Import {
            i,
            slot: slot % ROOTS,
        },
        ref other => other.clone(),
    }
}

/// Applies one operation to the split heap and the model.
pub fn step<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, op: &Op) {
    let n = m.live.len();
    match normalised(op) {
        Op::Alloc { c, slot } => alloc(s, m, c % n, slot),
        Op::Link { c, src, k, dst } => link(s, m, (c % n, src), k, dst),
        Op::Copy { a, from, b, to } => copy(s, m, (a % n, from), (b % n, to)),
        Op::Clear { c, slot } if !s.destroyed(m, c % n) => {
            let c = c % n;
            let h = s.w.heap_mut(s.ids[c]).unwrap();
            h.root_set_data(s.rr[c], slot as u64, 0).unwrap();
            m.roots[c][slot] = Ref::Empty;
        }
        Op::Foreign { c, x, obj, into } => foreign(s, m, c % n, (x, obj), into),
        Op::Seal { x, obj, y, to } => seal(s, m, (x % n, obj), y % n, to),
        Op::Cycle { x, a, y, b, k } => cycle(s, m, (x % n, a), (y, b), k),
        Op::Unseal { c, pick, by } => unseal_stored(s, m, c % n, pick, by % n),
        Op::UnsealLocal { i, by } if !m.locals.is_empty() => {
            let (sr, id) = m.locals[i % m.locals.len()];
            s.unseal(m, &sr, id, by % n);
        }
        Op::Import { i, slot } if !m.locals.is_empty() => {
            let (sr, id) = m.locals[i % m.locals.len()];
            let c = m.owner(id);
            if m.unsealed(&sr, id, c).is_ok() {
                let o = s.w.unseal(s.ids[c], &sr).unwrap();
                let h = s.w.heap_mut(s.ids[c]).unwrap();
                h.root_set(s.rr[c], slot as u64, &o).unwrap();
                m.roots[c][slot] = Ref::Obj(id);
            }
        }
        Op::Minor(c) if !s.destroyed(m, c % n) => {
            s.w.heap_mut(s.ids[c % n]).unwrap().collect_minor().unwrap();
            check(s, m);
        }
        Op::Collect(c) => collect(s, m, c % n),
        Op::CollectAll => collect_all(s, m),
        Op::Destroy(c) => destroy(s, m, c % n),
        Op::Clear { .. } | Op::UnsealLocal { .. } | Op::Import { .. } | Op::Minor(_) => {}
    }
}

fn alloc<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, c: usize, slot: usize) {
    if s.destroyed(m, c) {
        return;
    }
    let h = s.w.heap_mut(s.ids[c]).unwrap();
    let o = h.alloc(s.node[c]).unwrap();
    let id = m.fresh(c);
    h.write::<u64>(&o, data::<M>(), id).unwrap();
    s.weak.insert(id, h.weak_new(&o).unwrap());
    h.root_set(s.rr[c], slot as u64, &o).unwrap();
    m.roots[c][slot] = Ref::Obj(id);
}

/// Slot `k` of `c`'s `src.1`-th object (`c` = `src.0`) points at its
/// `dst`-th.
fn link<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, src: At, k: usize, dst: Option<usize>) {
    let (c, src) = src;
    if s.destroyed(m, c) {
        return;
    }
    let walk = s.walk(&m.live);
    let Some((a, ao)) = walk.nth(c, src) else {
        return;
    };
    let (to, r) = match dst.and_then(|d| walk.nth(c, d)) {
        Some((b, bo)) => (bo, Ref::Obj(b)),
        None => (ObjRef::null(), Ref::Empty),
    };
    let h = s.w.heap_mut(s.ids[c]).unwrap();
    h.set_ref(&ao, slot::<M>(k), &to).unwrap();
    m.objects.get_mut(&a).unwrap().1[k] = r;
}

/// Root slot `from.1` of `from.0` copied to root slot `to.1` of `to.0`.
fn copy<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, from: At, to: At) {
    let ((a, i), (b, j)) = (from, to);
    if s.destroyed(m, a) || s.destroyed(m, b) {
        return;
    }
    let (ca, cb, ra, rb) = (s.ids[a], s.ids[b], s.rr[a], s.rr[b]);
    let (i, j64) = (i as u64, j as u64);
    match m.roots[a][from.1] {
        Ref::Empty => {
            s.w.heap_mut(cb).unwrap().root_set_data(rb, j64, 0).unwrap();
            m.roots[b][j] = Ref::Empty;
        }
        Ref::Obj(id) => {
            let o = s.w.heap(ca).unwrap().root_get(ra, i).unwrap();
            let refused = s.w.pair_stats(cb, ca).refused;
            let r = s.w.heap_mut(cb).unwrap().root_set(rb, j64, &o);
            if a == b {
                r.unwrap();
                m.roots[b][j] = Ref::Obj(id);
            } else {
                assert_eq!(r, Err(GcError::CompartmentViolation));
                assert_eq!(s.w.pair_stats(cb, ca).refused, refused + 1);
            }
        }
        Ref::Sealed(id) => {
            let loaded = s.w.root_get_sealed(ca, ra, i);
            if !m.live[m.owner(id)] {
                assert_eq!(loaded, Err(GcError::CompartmentDestroyed));
                return;
            }
            s.w.root_set_sealed(cb, rb, j64, &loaded.unwrap()).unwrap();
            m.roots[b][j] = Ref::Sealed(id);
        }
        Ref::Gone => unreachable!("the model holds no Gone"),
    }
}

/// The `obj.1`-th object of the `obj.0`-th other live compartment
/// offered unsealed to `c`: refused, counted, and nothing changes.
fn foreign<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, c: usize, obj: At, into: Dest) {
    let (x, obj) = obj;
    if s.destroyed(m, c) {
        return;
    }
    let others: Vec<usize> = m.live_compartments().filter(|&o| o != c).collect();
    let Some(&x) = others.get(x % others.len().max(1)) else {
        return;
    };
    let walk = s.walk(&m.live);
    let Some((_, f)) = walk.nth(x, obj) else {
        return;
    };
    let (cc, cx) = (s.ids[c], s.ids[x]);
    let refused = s.w.pair_stats(cc, cx).refused;
    let r = match into {
        Dest::Root(i) => s.w.heap_mut(cc).unwrap().root_set(s.rr[c], i as u64, &f),
        Dest::Field { obj, k } => {
            let Some((_, ho)) = walk.nth(c, obj) else {
                return;
            };
            s.w.heap_mut(cc).unwrap().set_ref(&ho, slot::<M>(k), &f)
        }
        Dest::Local => s.w.heap_mut(cc).unwrap().persist(&f).map(|_| ()),
    };
    assert_eq!(r, Err(GcError::CompartmentViolation), "{into:?}");
    assert_eq!(s.w.pair_stats(cc, cx).refused, refused + 1);
}

/// `x`'s `obj.1`-th object sealed for `y` and stored at `to` in `y`.
fn seal<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, obj: At, y: usize, to: Dest) {
    let x = obj.0;
    if s.destroyed(m, x) {
        return;
    }
    let walk = s.walk(&m.live);
    let Some((id, o)) = walk.nth(x, obj.1) else {
        return;
    };
    let (cx, cy) = (s.ids[x], s.ids[y]);
    if !m.live[y] {
        assert_eq!(s.w.seal(cx, &o, cy), Err(GcError::CompartmentDestroyed));
        return;
    }
    let created = s.w.pair_stats(cy, cx).created;
    let sr = s.w.seal(cx, &o, cy).unwrap();
    assert_eq!((sr.owner(), sr.via()), (cx, cy));
    assert_eq!(s.w.pair_stats(cy, cx).created, created + 1);
    m.export(x, id, sr);
    match to {
        Dest::Root(i) => {
            s.w.root_set_sealed(cy, s.rr[y], i as u64, &sr).unwrap();
            m.roots[y][i] = Ref::Sealed(id);
        }
        Dest::Field { obj, k } => {
            // Sealing may have been a safepoint of `x`: walk again.
            let walk = s.walk(&m.live);
            let Some((holder, ho)) = walk.nth(y, obj) else {
                return;
            };
            s.w.set_sealed(cy, &ho, slot::<M>(k), &sr).unwrap();
            m.objects.get_mut(&holder).unwrap().1[k] = Ref::Sealed(id);
        }
        Dest::Local => {}
    }
}

/// Objects of two compartments holding each other sealed in slot `k`:
/// garbage for the whole-heap collection once no root reaches them.
fn cycle<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, a: At, b: At, k: usize) {
    let x = a.0;
    if s.destroyed(m, x) {
        return;
    }
    let others: Vec<usize> = m.live_compartments().filter(|&o| o != x).collect();
    let Some(&y) = others.get(b.0 % others.len().max(1)) else {
        return;
    };
    let walk = s.walk(&m.live);
    let (Some((ia, oa)), Some((ib, ob))) = (walk.nth(x, a.1), walk.nth(y, b.1)) else {
        return;
    };
    let (cx, cy) = (s.ids[x], s.ids[y]);
    // Each seal is a safepoint of its owner only.
    let sb = s.w.seal(cy, &ob, cx).unwrap();
    let sa = s.w.seal(cx, &oa, cy).unwrap();
    m.export(y, ib, sb);
    m.export(x, ia, sa);
    // Exported, both can be found by unsealing even if storing the first
    // unroots the second.
    let oa = s.w.unseal(cx, &sa).unwrap();
    s.w.set_sealed(cx, &oa, slot::<M>(k), &sb).unwrap();
    let ob = s.w.unseal(cy, &sb).unwrap();
    s.w.set_sealed(cy, &ob, slot::<M>(k), &sa).unwrap();
    m.objects.get_mut(&ia).unwrap().1[k] = Ref::Sealed(ib);
    m.objects.get_mut(&ib).unwrap().1[k] = Ref::Sealed(ia);
}

/// The `pick`-th sealed reference `c` stores, loaded and unsealed by `by`.
fn unseal_stored<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, c: usize, pick: usize, by: usize) {
    if s.destroyed(m, c) {
        return;
    }
    let stored = m.stored_sealed(c, &m.reachable());
    let Some(&(loc, id)) = stored.get(pick % stored.len().max(1)) else {
        return;
    };
    let loaded = match loc {
        Loc::Root(i) => s.w.root_get_sealed(s.ids[c], s.rr[c], i as u64),
        Loc::Field(holder, k) => {
            let ho = s.walk(&m.live).nodes[&holder].obj;
            s.w.get_sealed(s.ids[c], &ho, slot::<M>(k))
        }
    };
    let owner = m.owner(id);
    if !m.live[owner] {
        assert_eq!(loaded, Err(GcError::CompartmentDestroyed));
        return;
    }
    let sr = loaded.unwrap();
    assert_eq!(Some(&sr), m.exports[owner].get(&id), "loaded {id}");
    assert_eq!(sr.via(), s.ids[c]);
    s.unseal(m, &sr, id, by);
}

fn collect<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, c: usize) {
    if !m.live[c] {
        assert_eq!(
            s.w.collect(s.ids[c]).map(|_| ()),
            Err(GcError::CompartmentDestroyed)
        );
        return;
    }
    let st = s.w.collect(s.ids[c]).unwrap();
    let kept = m.kept(c);
    assert_eq!(
        st.live_objects,
        kept.len() as u64 + m.chunks(c),
        "survivors of {c}"
    );
    let objects = &m.objects;
    m.alive.retain(|id| objects[id].0 != c || kept.contains(id));
    check(s, m);
}

fn collect_all<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>) {
    let st = s.w.collect_all().unwrap();
    let reach = m.reachable();
    let held = m.held_exports(&reach);
    let before: usize = m.exports.iter().map(BTreeMap::len).sum();
    for e in &mut m.exports {
        e.retain(|id, _| held.contains(id));
    }
    let after: usize = m.exports.iter().map(BTreeMap::len).sum();
    assert_eq!(after, held.len(), "every held export was made by seal");
    assert_eq!(
        (st.exports_released, st.exports_live),
        ((before - after) as u64, after as u64),
        "exports released and live"
    );
    let live: Vec<u32> = m.live_compartments().map(|c| c as u32).collect();
    assert_eq!(st.collections.iter().map(|c| c.0).collect::<Vec<_>>(), live);
    for (c, cs) in &st.collections {
        let c = *c as usize;
        let want = reach.iter().filter(|&&id| m.owner(id) == c).count() as u64;
        assert_eq!(cs.live_objects, want + m.chunks(c), "survivors of {c}");
    }
    m.alive = reach;
    check(s, m);
}

fn destroy<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>, c: usize) {
    if !m.live[c] {
        assert_eq!(s.w.destroy(s.ids[c]), Err(GcError::CompartmentDestroyed));
        return;
    }
    if m.live_compartments().count() == 1 {
        return;
    }
    s.w.destroy(s.ids[c]).unwrap();
    m.live[c] = false;
    m.exports[c].clear();
    let objects = &m.objects;
    m.alive.retain(|id| objects[id].0 != c);
    s.weak.retain(|id, _| objects[id].0 != c);
    assert_eq!(s.w.exports(s.ids[c]), Err(GcError::CompartmentDestroyed));
    assert_eq!(s.w.compartments().len(), m.live_compartments().count());
    check(s, m);
}

/// After a collection or teardown: the split heap verifies and agrees
/// with the model.
fn check<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>) {
    if let Err(v) = s.w.verify() {
        panic!("{}: {v:?}", M::NAME);
    }
    let walk = s.walk(&m.live);
    agree(&walk, m);
    for c in 0..m.live.len() {
        let want = if m.live[c] {
            Ok(m.exports[c].len())
        } else {
            Err(GcError::CompartmentDestroyed)
        };
        assert_eq!(s.w.exports(s.ids[c]), want, "exports of {c}");
    }
    // Locals: valid until the whole-heap collection that releases their
    // export; so are their words for the C ABI.
    for (sr, id) in m.locals.clone() {
        s.unseal(m, &sr, id, m.owner(id));
        let back = s.w.sealed_from_bits(s.w.sealed_to_bits(&sr));
        let want = m.unsealed(&sr, id, m.owner(id)).map(|_| sr);
        assert_eq!(back, want, "{id} through its words");
    }
    observers(s, m);
}

/// The walk gives the model's reachable objects, slots, roots, and
/// sealed references.
fn agree<M: RefMode>(walk: &Walk<M>, m: &Model<M>) {
    let reach = m.reachable();
    let found: BTreeSet<u64> = walk.nodes.keys().copied().collect();
    assert_eq!(found, reach, "reachable set");
    for (id, n) in &walk.nodes {
        let (owner, slots) = m.objects[id];
        assert_eq!(n.owner, owner, "owner of {id}");
        assert_eq!(n.slots, slots.map(|r| m.view(r)), "slots of {id}");
    }
    for c in m.live_compartments() {
        assert_eq!(walk.roots[c], m.roots[c].map(|r| m.view(r)), "roots of {c}");
    }
    for (sr, id) in &walk.sealed {
        assert_eq!(
            Some(sr),
            m.exports[m.owner(*id)].get(id),
            "sealed reference to {id}"
        );
    }
}

/// Weak observers: the object while it must be alive, empty once a full
/// collection found it dead; between the two, either.
fn observers<M: RefMode>(s: &mut Sut<M>, m: &mut Model<M>) {
    let must = m.must_live();
    for (&id, &wk) in &s.weak {
        let c = m.owner(id);
        let got = s.w.heap(s.ids[c]).unwrap().weak_get(wk).unwrap();
        let got = got.map(|o| s.id_of(c, &o));
        if must.contains(&id) {
            assert_eq!(got, Some(id), "weak to live {id}");
        } else if !m.alive.contains(&id) {
            assert_eq!(got, None, "weak to {id}, collected");
        } else {
            assert!(got.is_none() || got == Some(id), "weak to {id}: {got:?}");
            if got.is_none() {
                m.alive.remove(&id);
            }
        }
    }
}
