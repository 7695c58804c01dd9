//! GC workloads, generic over the reference mode, written against the
//! public `gc-core` API the way a VM would use it: objects kept across
//! allocations live in handles, plain references are used only between
//! safepoints.
//!
//! - [`binary_trees`]: the Computer Language Benchmarks Game program.
//! - [`gcbench`]: Ellis, Kovac and Boehm's GCBench (top-down and bottom-up
//!   tree construction beside a long-lived tree and a large array).
//! - [`churn`](mod@churn): a rooted array whose slots are replaced by new small lists.
//! - [`large`](mod@large): byte arrays spanning the sizes SoftCheri must pad.
//! - [`live_sweep`](mod@live_sweep): a fixed allocation volume at a chosen live size.

pub mod churn;
pub mod large;
pub mod live_sweep;

use capability_heap::RefMode;
use gc_core::{GcError, Handle, Heap, ObjRef, TypeId};

/// Builds a complete binary tree of `depth` bottom-up (`2^(depth+1) - 1`
/// objects of type `node`, children in reference slots 0 and 1); returns
/// a handle in the caller's scope.
pub fn bottom_up<M: RefMode>(h: &mut Heap<M>, node: TypeId, depth: u32) -> Result<Handle, GcError> {
    if depth == 0 {
        let n = h.alloc(node)?;
        return h.handle(&n);
    }
    let scope = h.open_scope();
    let l = bottom_up(h, node, depth - 1)?;
    let r = bottom_up(h, node, depth - 1)?;
    let n = h.alloc(node)?;
    let (l, r) = (h.get(l)?, h.get(r)?);
    h.set_ref(&n, Heap::<M>::ref_offset(0), &l)?;
    h.set_ref(&n, Heap::<M>::ref_offset(1), &r)?;
    h.close_scope(scope)?;
    h.handle(&n)
}

/// Counts the nodes of a tree (no allocation, so `n` stays valid).
fn item_check<M: RefMode>(h: &Heap<M>, n: &ObjRef<M>) -> Result<u64, GcError> {
    let l = h.get_ref(n, Heap::<M>::ref_offset(0))?;
    if l.is_null() {
        return Ok(1);
    }
    let r = h.get_ref(n, Heap::<M>::ref_offset(1))?;
    Ok(1 + item_check(h, &l)? + item_check(h, &r)?)
}

/// What binary-trees printed, as numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryTrees {
    /// Check of the stretch tree (depth max+1).
    pub stretch: u64,
    /// (iterations, depth, total check) per depth.
    pub rounds: Vec<(u64, u32, u64)>,
    /// Check of the long-lived tree.
    pub long_lived: u64,
}

impl BinaryTrees {
    /// The checks a correct run of depth `n` must print.
    pub fn expected(n: u32) -> BinaryTrees {
        let min = 4;
        let max = n.max(min + 2);
        let size = |d: u32| (1u64 << (d + 1)) - 1;
        BinaryTrees {
            stretch: size(max + 1),
            rounds: (min..=max)
                .step_by(2)
                .map(|d| {
                    let it = 1u64 << (max - d + min);
                    (it, d, it * size(d))
                })
                .collect(),
            long_lived: size(max),
        }
    }
}

/// binary-trees with maximum depth `n`.
pub fn binary_trees<M: RefMode>(h: &mut Heap<M>, n: u32) -> Result<BinaryTrees, GcError> {
    let node = h.record_type(2, 0)?;
    let min = 4;
    let max = n.max(min + 2);
    let scope = h.open_scope();
    let t = bottom_up(h, node, max + 1)?;
    let stretch = item_check(h, &h.get(t)?)?;
    h.close_scope(scope)?;

    let long = bottom_up(h, node, max)?;
    let mut rounds = Vec::new();
    for d in (min..=max).step_by(2) {
        let iterations = 1u64 << (max - d + min);
        let mut check = 0;
        for _ in 0..iterations {
            let scope = h.open_scope();
            let t = bottom_up(h, node, d)?;
            check += item_check(h, &h.get(t)?)?;
            h.close_scope(scope)?;
        }
        rounds.push((iterations, d, check));
    }
    let long_lived = item_check(h, &h.get(long)?)?;
    Ok(BinaryTrees {
        stretch,
        rounds,
        long_lived,
    })
}

/// GCBench parameters (the original's constants by default).
#[derive(Clone, Copy, Debug)]
pub struct GcBenchParams {
    /// Depth of the stretch tree (18).
    pub stretch_depth: u32,
    /// Depth of the long-lived tree (16).
    pub long_lived_depth: u32,
    /// Elements of the long-lived array of doubles (500 000, as in the
    /// original; the first half is written, as the original does).
    pub array_len: u64,
    /// Smallest tree depth timed (4).
    pub min_depth: u32,
    /// Largest tree depth timed (16).
    pub max_depth: u32,
}

impl Default for GcBenchParams {
    fn default() -> Self {
        GcBenchParams {
            stretch_depth: 18,
            long_lived_depth: 16,
            array_len: 500_000,
            min_depth: 4,
            max_depth: 16,
        }
    }
}

fn tree_size(d: u32) -> u64 {
    (1 << (d + 1)) - 1
}

/// Fills `node`'s subtree top-down to `depth` (GCBench `Populate`).
fn populate<M: RefMode>(
    h: &mut Heap<M>,
    ty: TypeId,
    depth: u32,
    node: Handle,
) -> Result<(), GcError> {
    if depth == 0 {
        return Ok(());
    }
    let scope = h.open_scope();
    let l = h.alloc(ty)?;
    let lh = h.handle(&l)?;
    let r = h.alloc(ty)?;
    let rh = h.handle(&r)?;
    let (n, l) = (h.get(node)?, h.get(lh)?);
    h.set_ref(&n, Heap::<M>::ref_offset(0), &l)?;
    h.set_ref(&n, Heap::<M>::ref_offset(1), &r)?;
    populate(h, ty, depth - 1, lh)?;
    populate(h, ty, depth - 1, rh)?;
    h.close_scope(scope)
}

/// What GCBench checked.
#[derive(Clone, Debug, PartialEq)]
pub struct GcBench {
    /// Trees built (top-down and bottom-up) per depth.
    pub trees: Vec<(u32, u64)>,
    /// Nodes of the long-lived tree at the end.
    pub long_lived_nodes: u64,
    /// `array[1000]` at the end (1/1000).
    pub array_probe: f64,
}

/// GCBench.
pub fn gcbench<M: RefMode>(h: &mut Heap<M>, p: GcBenchParams) -> Result<GcBench, GcError> {
    let ty = h.record_type(2, 8)?;
    let doubles = h.register_type(gc_core::ObjectType::ByteArray)?;
    {
        let scope = h.open_scope();
        let t = bottom_up(h, ty, p.stretch_depth)?;
        let got = item_check(h, &h.get(t)?)?;
        assert_eq!(got, tree_size(p.stretch_depth), "stretch tree");
        h.close_scope(scope)?;
    }
    let long = h.alloc(ty)?;
    let long = h.handle(&long)?;
    populate(h, ty, p.long_lived_depth, long)?;
    let array = h.alloc_array(doubles, p.array_len * 8)?;
    for i in 1..p.array_len / 2 {
        h.write::<f64>(&array, i * 8, 1.0 / i as f64)?;
    }
    let array = h.handle(&array)?;
    let mut trees = Vec::new();
    for d in (p.min_depth..=p.max_depth).step_by(2) {
        let iters = 2 * tree_size(p.stretch_depth) / tree_size(d);
        let mut built = 0;
        for _ in 0..iters {
            let scope = h.open_scope();
            let t = h.alloc(ty)?;
            let t = h.handle(&t)?;
            populate(h, ty, d, t)?;
            built += u64::from(item_check(h, &h.get(t)?)? == tree_size(d));
            h.close_scope(scope)?;
        }
        for _ in 0..iters {
            let scope = h.open_scope();
            let t = bottom_up(h, ty, d)?;
            built += u64::from(item_check(h, &h.get(t)?)? == tree_size(d));
            h.close_scope(scope)?;
        }
        trees.push((d, built));
    }
    Ok(GcBench {
        trees,
        long_lived_nodes: item_check(h, &h.get(long)?)?,
        array_probe: h.read::<f64>(&h.get(array)?, 1000 * 8)?,
    })
}

/// The number of trees GCBench builds at each depth (both constructions).
pub fn gcbench_expected(p: GcBenchParams) -> Vec<(u32, u64)> {
    (p.min_depth..=p.max_depth)
        .step_by(2)
        .map(|d| (d, 2 * (2 * tree_size(p.stretch_depth) / tree_size(d))))
        .collect()
}

/// What the C peers (benches/c, any backend) and the MMTk peer
/// (benches/mmtk-peer) print for `workload` ("binary-trees" or
/// "gcbench") at depth `n`: the checksums the Rust workloads assert, in
/// the C programs' format. GCBench runs at its original size unless `n`
/// is a stretch depth from 8 to 18 (the peers' scaled runs: trees two
/// levels smaller).
pub fn c_peer_output(workload: &str, n: u32) -> String {
    if workload == "gcbench" {
        let mut p = GcBenchParams::default();
        if (8..=18).contains(&n) {
            p.stretch_depth = n;
            p.long_lived_depth = n - 2;
            p.max_depth = n - 2;
        }
        let mut s: String = gcbench_expected(p)
            .iter()
            .map(|(d, t)| format!("depth {d}: {t} trees\n"))
            .collect();
        s += &format!(
            "long lived tree: {} nodes\narray[1000] = {:.10}\n",
            tree_size(p.long_lived_depth),
            1.0 / 1000.0
        );
        return s;
    }
    let e = BinaryTrees::expected(n);
    let max = n.max(6);
    let mut s = format!("stretch tree of depth {}\t check: {}\n", max + 1, e.stretch);
    for (it, d, check) in &e.rounds {
        s += &format!("{it}\t trees of depth {d}\t check: {check}\n");
    }
    s + &format!("long lived tree of depth {max}\t check: {}\n", e.long_lived)
}
