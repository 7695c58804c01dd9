//! binary-trees and GCBench on the peer, printing what the C peers print
//! (the checksums `capgc_benches::workloads::c_peer_output` gives): the
//! same algorithms as the Rust workloads and benches/c, written the way a
//! VM on MMTk runs them — recursion, every reference held across an
//! allocation in a shadow-stack slot ([`Peer`]).

use crate::mutator::Peer;
use mmtk::util::ObjectReference;

/// binary-trees nodes: two references, nothing else (24 bytes with the
/// header).
const BT_PAYLOAD: usize = 0;
/// GCBench nodes: two references and the original's two ints `i`, `j`
/// (32 bytes with the header).
const GCB_PAYLOAD: usize = 8;

/// Pushes a complete tree of `depth`, built bottom-up.
fn bottom_up(p: &mut Peer, depth: u32, payload: usize) {
    if depth == 0 {
        p.push_node(payload);
    } else {
        bottom_up(p, depth - 1, payload);
        bottom_up(p, depth - 1, payload);
        p.push_node_of_top_two(payload);
    }
}

/// The node count of a tree (no allocation: plain references).
fn check(n: ObjectReference) -> u64 {
    match crate::object::load_ref(n, 0) {
        None => 1,
        Some(l) => {
            let r = crate::object::load_ref(n, 1).expect("complete trees");
            1 + check(l) + check(r)
        }
    }
}

/// The tree on top of the shadow stack's node count.
fn check_top(p: &Peer) -> u64 {
    check(p.at(p.sp() - 1).expect("a tree"))
}

/// binary-trees with maximum depth `n`.
pub fn binary_trees(p: &mut Peer, n: u32) {
    let min = 4;
    let max = n.max(min + 2);
    bottom_up(p, max + 1, BT_PAYLOAD);
    println!(
        "stretch tree of depth {}\t check: {}",
        max + 1,
        check_top(p)
    );
    p.pop();
    bottom_up(p, max, BT_PAYLOAD);
    let long_lived = p.sp() - 1;
    for d in (min..=max).step_by(2) {
        let iterations = 1u64 << (max - d + min);
        let mut total = 0;
        for _ in 0..iterations {
            bottom_up(p, d, BT_PAYLOAD);
            total += check_top(p);
            p.pop();
        }
        println!("{iterations}\t trees of depth {d}\t check: {total}");
    }
    let long = check(p.at(long_lived).expect("the long-lived tree"));
    println!("long lived tree of depth {max}\t check: {long}");
    p.pop();
}

fn tree_size(d: u32) -> u64 {
    (1 << (d + 1)) - 1
}

/// Gives the node at stack index `i` two children, then their subtrees
/// (GCBench's `Populate`, top-down).
fn populate(p: &mut Peer, depth: u32, i: usize) {
    if depth == 0 {
        return;
    }
    p.give_child(i, 0, GCB_PAYLOAD);
    p.give_child(i, 1, GCB_PAYLOAD);
    for k in 0..2 {
        p.push_child(i, k);
        populate(p, depth - 1, p.sp() - 1);
        p.pop();
    }
}

/// GCBench at `stretch` (18, the original; smaller scales it as the C
/// peers do: trees two levels smaller, the array 2^(18 - stretch) times
/// shorter, at least 2002 doubles).
pub fn gcbench(p: &mut Peer, stretch: u32) {
    let (long_lived_depth, max_depth, min_depth) = (stretch - 2, stretch - 2, 4);
    let array_len = (500_000usize >> (18 - stretch)).max(2002);
    bottom_up(p, stretch, GCB_PAYLOAD);
    assert_eq!(check_top(p), tree_size(stretch), "stretch tree");
    p.pop();
    p.push_node(GCB_PAYLOAD);
    let long_lived = p.sp() - 1;
    populate(p, long_lived_depth, long_lived);
    p.push_data(array_len * 8);
    let array = p.sp() - 1;
    let a = p.at(array).expect("the array");
    for i in 1..array_len / 2 {
        crate::object::write_u64(a, i * 8, (1.0 / i as f64).to_bits());
    }
    for d in (min_depth..=max_depth).step_by(2) {
        let iters = 2 * tree_size(stretch) / tree_size(d);
        let mut built = 0;
        for _ in 0..iters {
            p.push_node(GCB_PAYLOAD);
            populate(p, d, p.sp() - 1);
            built += u64::from(check_top(p) == tree_size(d));
            p.pop();
        }
        for _ in 0..iters {
            bottom_up(p, d, GCB_PAYLOAD);
            built += u64::from(check_top(p) == tree_size(d));
            p.pop();
        }
        println!("depth {d}: {built} trees");
    }
    println!(
        "long lived tree: {} nodes",
        check(p.at(long_lived).expect("the long-lived tree"))
    );
    let probe = f64::from_bits(crate::object::read_u64(
        p.at(array).expect("the array"),
        1000 * 8,
    ));
    println!("array[1000] = {probe:.10}");
    p.pop();
    p.pop();
}
