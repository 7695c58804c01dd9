//! Compartments of a cell heap (the `compartments` module) against the
//! small VM of the parent module: ownership by address, the current
//! compartment, the per-pair report, strict mode, retiring, misuse.

use super::*;

/// The index of the heap block a pointer lies in.
fn block_of(h: &CellHeap, p: *const u8) -> usize {
    h.space.blocks.index_of(Address(p as u64)).unwrap()
}

#[test]
fn cells_are_allocated_in_the_current_compartments_own_blocks() {
    for align in [8, 16] {
        let (mut h, _, node, leaf) = heap(align);
        let root = h.root_compartment();
        let r = new_node(&mut h, node, 1);
        let a = h.new_compartment().unwrap();
        let b = h.new_compartment().unwrap();
        assert_ne!(a, b);
        assert_eq!(
            h.current_compartment(),
            root,
            "making one does not enter it"
        );
        h.set_current_compartment(a).unwrap();
        let xa: Vec<*mut u8> = (0..50).map(|_| new_node(&mut h, node, 1)).collect();
        let big_a = h.alloc(leaf, 200_000).unwrap().as_ptr();
        h.set_current_compartment(b).unwrap();
        let xb: Vec<*mut u8> = (0..50).map(|_| new_node(&mut h, node, 1)).collect();
        h.set_current_compartment(a).unwrap();
        let xa2 = new_node(&mut h, node, 1);
        assert_eq!(h.compartment_of(r).unwrap(), root);
        for &p in xa.iter().chain([&big_a, &xa2]) {
            assert_eq!(h.compartment_of(p.wrapping_add(3)).unwrap(), a);
        }
        for &p in &xb {
            assert_eq!(h.compartment_of(p).unwrap(), b);
        }
        // Each compartment its own memory: no block is shared.
        let blocks_a: HashSet<usize> = xa.iter().map(|&p| block_of(&h, p)).collect();
        let blocks_b: HashSet<usize> = xb.iter().map(|&p| block_of(&h, p)).collect();
        assert!(blocks_a.is_disjoint(&blocks_b));
        assert!(!blocks_a.contains(&block_of(&h, r)) && !blocks_b.contains(&block_of(&h, r)));
        assert!(
            blocks_a.contains(&block_of(&h, xa2)),
            "a's cursor was parked and taken back"
        );
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}

#[test]
fn every_collection_counts_the_edges_between_compartments_per_pair() {
    let (mut h, mut vm, node, _) = heap(8);
    let root = h.root_compartment();
    let a = h.new_compartment().unwrap();
    let b = h.new_compartment().unwrap();
    let r = new_node(&mut h, node, 4);
    h.set_current_compartment(a).unwrap();
    let xa = new_node(&mut h, node, 2);
    h.set_current_compartment(b).unwrap();
    let xb = new_node(&mut h, node, 2);
    let yb = new_node(&mut h, node, 2);
    set(r, 0, xa); // root -> a
    set(r, 1, xb); // root -> b
    set(xa, 0, xb); // a -> b
    set(xa, 1, yb.wrapping_add(8)); // a -> b, interior
    set(xb, 0, yb); // b -> b: local
    set(yb, 0, xa); // b -> a
    vm.roots.push(r);
    h.collect(&mut vm).unwrap();
    let e = |h: &CellHeap, f, t| h.compartment_edges(f, t).unwrap();
    assert_eq!(e(&h, root, a).last, 1);
    assert_eq!(e(&h, root, b).last, 1);
    assert_eq!(e(&h, a, b).last, 2);
    assert_eq!(e(&h, b, a).last, 1);
    assert_eq!(e(&h, b, b).last, 0, "local edges are not in the report");
    assert_eq!(e(&h, a, root).last, 0);
    set(xa, 1, std::ptr::null());
    h.collect(&mut vm).unwrap();
    assert_eq!(e(&h, a, b).last, 1, "the last collection's count");
    assert_eq!(e(&h, a, b).total, 3, "and every collection's");
    let report = h.compartment_report();
    assert_eq!(report.len(), 4, "{report:?}");
}

#[test]
fn incremental_cycles_and_lazy_sweeps_keep_compartments_apart() {
    let (mut h, mut vm, node, _) = heap(8);
    let a = h.new_compartment().unwrap();
    let b = h.new_compartment().unwrap();
    for round in 0..4 {
        h.set_current_compartment(a).unwrap();
        let xs: Vec<*mut u8> = (0..3000).map(|_| new_node(&mut h, node, 1)).collect();
        h.set_current_compartment(b).unwrap();
        let ys: Vec<*mut u8> = (0..3000).map(|_| new_node(&mut h, node, 1)).collect();
        // keep every third of each; b's kept ones point to a's.
        vm.roots = ys.iter().step_by(3).copied().collect();
        for (k, &y) in ys.iter().enumerate().step_by(3) {
            set(y, 0, xs[k]);
        }
        h.start(&mut vm).unwrap();
        h.set_current_compartment(a).unwrap();
        let during = new_node(&mut h, node, 1);
        assert_eq!(h.compartment_of(during).unwrap(), a);
        while !h.step(&mut vm, 100).unwrap() {}
        h.begin(&mut vm).unwrap();
        h.begin_sweep().unwrap();
        let mut steps = 0;
        loop {
            // Allocation between sweep steps stays in its compartment.
            h.set_current_compartment(if steps % 2 == 0 { a } else { b })
                .unwrap();
            let p = new_node(&mut h, node, 1);
            let want = if steps % 2 == 0 { a } else { b };
            assert_eq!(h.compartment_of(p).unwrap(), want, "round {round}");
            steps += 1;
            if h.sweep(&mut vm, 1).unwrap() {
                break;
            }
        }
        assert_eq!(h.compartment_edges(b, a).unwrap().last, 1000);
        for &y in vm.roots.iter() {
            assert_eq!(h.compartment_of(y).unwrap(), b);
        }
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}

#[test]
fn freed_blocks_are_reused_by_whichever_compartment_needs_them() {
    let (mut h, mut vm, node, _) = heap(8);
    let a = h.new_compartment().unwrap();
    let b = h.new_compartment().unwrap();
    h.set_current_compartment(a).unwrap();
    let xs: Vec<*mut u8> = (0..20_000).map(|_| new_node(&mut h, node, 1)).collect();
    let blocks_a: HashSet<usize> = xs.iter().map(|&p| block_of(&h, p)).collect();
    h.collect(&mut vm).unwrap(); // all of a's cells die: its blocks are free
    h.set_current_compartment(b).unwrap();
    let ys: Vec<*mut u8> = (0..20_000).map(|_| new_node(&mut h, node, 1)).collect();
    assert!(ys.iter().all(|&y| h.compartment_of(y).unwrap() == b));
    let blocks_b: HashSet<usize> = ys.iter().map(|&p| block_of(&h, p)).collect();
    assert!(
        !blocks_a.is_disjoint(&blocks_b),
        "a's freed blocks were reused"
    );
    h.set_current_compartment(a).unwrap();
    let again = new_node(&mut h, node, 1);
    assert_eq!(h.compartment_of(again).unwrap(), a);
    assert!(!blocks_b.contains(&block_of(&h, again)));
    assert!(h.verify().is_empty(), "{:?}", h.verify());
}

#[test]
fn strict_mode_refuses_a_cross_compartment_store_unless_through_a_crossing() {
    let (mut h, _, node, leaf) = heap(8);
    let a = h.new_compartment().unwrap();
    let b = h.new_compartment().unwrap();
    h.set_current_compartment(a).unwrap();
    let xa = new_node(&mut h, node, 1);
    let ya = new_node(&mut h, node, 1);
    h.set_current_compartment(b).unwrap();
    let xb = new_node(&mut h, node, 1);
    let proxy = new_node(&mut h, node, 1);
    // Not strict: every store is allowed, nothing counted.
    h.check_store(xa, xb).unwrap();
    h.set_strict(true);
    h.check_store(xa, ya).unwrap();
    h.check_store(xa, std::ptr::null()).unwrap();
    assert_eq!(h.check_store(xa, xb), Err(GcError::CompartmentViolation));
    assert_eq!(
        h.check_store(xb.wrapping_add(4), xa.wrapping_add(8)),
        Err(GcError::CompartmentViolation),
        "interior pointers too"
    );
    assert_eq!(h.compartment_edges(a, b).unwrap().refused, 1);
    assert_eq!(h.compartment_edges(b, a).unwrap().refused, 1);
    h.declare_crossing(proxy).unwrap();
    h.check_store(xa, proxy).unwrap();
    h.check_store(proxy, xa).unwrap();
    assert_eq!(h.compartment_edges(a, b).unwrap().refused, 1);
    // Checked: a stored value must be a live cell.
    let outside = 0u64;
    assert!(matches!(
        h.check_store(xa, std::ptr::from_ref(&outside).cast()),
        Err(GcError::NotACell(_))
    ));
    // A crossing's address reused by a new cell is no crossing.
    let (mut h2, mut vm2, node2, _) = heap(8);
    let c = h2.new_compartment().unwrap();
    let p = new_node(&mut h2, node2, 1);
    h2.declare_crossing(p).unwrap();
    h2.collect(&mut vm2).unwrap(); // p dies
    let q = new_node(&mut h2, node2, 1);
    assert_eq!(p, q, "the cell is reused at the same address");
    h2.set_current_compartment(c).unwrap();
    let z = new_node(&mut h2, node2, 1);
    h2.set_strict(true);
    assert_eq!(h2.check_store(z, q), Err(GcError::CompartmentViolation));
    assert_eq!(
        h2.declare_crossing(leaf_nothing()),
        Err(GcError::NotACell(8))
    );
    let _ = leaf;
}

fn leaf_nothing() -> *const u8 {
    8 as *const u8
}

#[test]
fn misuse_gets_its_own_error_and_leaves_the_heap_usable() {
    let (mut h, mut vm, node, _) = heap(8);
    let (other, _, _, _) = heap(8);
    let a = h.new_compartment().unwrap();
    let foreign = other.root_compartment();
    assert_eq!(h.set_current_compartment(foreign), Err(GcError::WrongHeap));
    assert_eq!(h.compartment(foreign.token()), Err(GcError::WrongHeap));
    assert_eq!(
        h.compartment(3),
        Err(GcError::InvalidCompartment),
        "a bare number"
    );
    let mine = h.root_compartment().token();
    assert_eq!(
        h.compartment(mine + 77),
        Err(GcError::InvalidCompartment),
        "never made"
    );
    assert_eq!(
        h.compartment(mine + (1 << 20)),
        Err(GcError::InvalidCompartment)
    );
    assert_eq!(h.compartment(a.token()), Ok(a));
    // Retiring: not the root, not the current one, only when idle.
    assert_eq!(
        h.retire_compartment(h.root_compartment()),
        Err(GcError::CompartmentViolation)
    );
    h.set_current_compartment(a).unwrap();
    let kept = new_node(&mut h, node, 1);
    assert_eq!(h.retire_compartment(a), Err(GcError::CompartmentViolation));
    h.set_current_compartment(h.root_compartment()).unwrap();
    vm.roots.push(kept);
    h.begin(&mut vm).unwrap();
    assert!(matches!(
        h.retire_compartment(a),
        Err(GcError::WrongPhase { .. })
    ));
    assert!(matches!(
        h.set_current_compartment(a),
        Err(GcError::WrongPhase { .. })
    ));
    assert!(matches!(
        h.new_compartment(),
        Err(GcError::WrongPhase { .. })
    ));
    h.finish(&mut vm).unwrap();
    h.retire_compartment(a).unwrap();
    assert_eq!(h.compartment(a.token()), Err(GcError::CompartmentDestroyed));
    assert_eq!(
        h.set_current_compartment(a),
        Err(GcError::CompartmentDestroyed)
    );
    assert_eq!(h.retire_compartment(a), Err(GcError::CompartmentDestroyed));
    // Its cell lives while referenced, and dies after.
    h.collect(&mut vm).unwrap();
    assert_eq!(h.compartment_of(kept).unwrap(), a);
    vm.roots.clear();
    h.collect(&mut vm).unwrap();
    assert!(!h.owns(kept));
    // The heap goes on.
    let b = h.new_compartment().unwrap();
    h.set_current_compartment(b).unwrap();
    let p = new_node(&mut h, node, 1);
    assert_eq!(h.compartment_of(p).unwrap(), b);
    assert!(h.verify().is_empty(), "{:?}", h.verify());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Random allocation across compartments, random edges, collections:
    /// every cell stays in the compartment it was allocated in, and the
    /// report equals the cross edges of the model's reachable cells.
    #[test]
    fn the_report_matches_a_model(
        ops in proptest::collection::vec((0u8..3, 0usize..64, 0usize..64), 1..200),
        sizes in proptest::collection::vec(0u64..3000, 64),
    ) {
        let (mut h, mut vm, node, _) = heap(8);
        let comps = [h.root_compartment(), h.new_compartment().unwrap(), h.new_compartment().unwrap()];
        let mut cells: Vec<(*mut u8, usize)> = Vec::new();
        for (k, &(c, _, _)) in ops.iter().enumerate().take(64) {
            h.set_current_compartment(comps[c as usize]).unwrap();
            let p = h.alloc(node, 16 + 8 + sizes[k] ).unwrap().as_ptr();
            // SAFETY: the payload has room for the count, MAGIC and one pointer.
            unsafe { p.cast::<u64>().write(1); p.cast::<u64>().add(2).write(0); }
            cells.push((p, c as usize));
        }
        let n = cells.len();
        for &(_, i, j) in &ops {
            set(cells[i % n].0, 0, cells[j % n].0);
        }
        vm.roots = vec![cells[0].0];
        h.collect(&mut vm).unwrap();
        // The model: follow one pointer per cell from the root.
        let mut want = std::collections::HashMap::new();
        let mut seen = HashSet::new();
        let mut at = 0usize;
        while seen.insert(at) {
            // SAFETY: a live node of the test.
            let next = unsafe { cells[at].0.cast::<u64>().add(2).read() } as *mut u8;
            let Some(j) = cells.iter().position(|&(p, _)| p == next) else { break };
            if cells[at].1 != cells[j].1 {
                *want.entry((cells[at].1, cells[j].1)).or_insert(0u64) += 1;
            }
            at = j;
        }
        for f in 0..3 {
            for t in 0..3 {
                let got = h.compartment_edges(comps[f], comps[t]).unwrap().last;
                prop_assert_eq!(got, want.get(&(f, t)).copied().unwrap_or(0));
            }
        }
        for &k in &seen {
            prop_assert_eq!(h.compartment_of(cells[k].0).unwrap(), comps[cells[k].1]);
        }
        prop_assert!(h.verify().is_empty());
    }
}

#[test]
fn collecting_one_compartment_alone_keeps_what_others_reach_and_frees_only_its_own() {
    for align in [8, 16] {
        let (mut h, mut vm, node, _) = heap(align);
        let a = h.new_compartment().unwrap();
        let b = h.new_compartment().unwrap();
        let r = new_node(&mut h, node, 2); // root compartment
        h.set_current_compartment(a).unwrap();
        let big_a: Vec<*mut u8> = (0..5000).map(|_| new_node(&mut h, node, 1)).collect();
        let xa = new_node(&mut h, node, 1);
        h.set_current_compartment(b).unwrap();
        let kept_direct = new_node(&mut h, node, 1); // a root
        let kept_via_a = new_node(&mut h, node, 1); // reached from a's xa
        let garbage_b: Vec<*mut u8> = (0..100).map(|_| new_node(&mut h, node, 1)).collect();
        set(r, 0, xa);
        set(xa, 0, kept_via_a);
        vm.roots = vec![r, kept_direct];
        h.collect(&mut vm).unwrap(); // a's 5000 and b's 100 garbage die; remembers xa
        let garbage_a: Vec<*mut u8> = {
            h.set_current_compartment(a).unwrap();
            (0..300).map(|_| new_node(&mut h, node, 1)).collect()
        };
        h.set_current_compartment(b).unwrap();
        let garbage_b2: Vec<*mut u8> = (0..300).map(|_| new_node(&mut h, node, 1)).collect();
        let kept2 = new_node(&mut h, node, 1);
        set(r, 1, kept2); // a store after the whole collection, reported:
        h.check_store(r, kept2).unwrap();
        vm.released.clear();
        let cycle = h.collect_compartment(&mut vm, b).unwrap();
        assert_eq!(cycle.freed_cells, 300, "b's new garbage, nothing else");
        for p in [kept_direct, kept_via_a, kept2, xa, r] {
            assert!(h.owns(p));
        }
        assert!(garbage_b2.iter().all(|&p| !h.owns(p)));
        assert!(
            garbage_a.iter().all(|&p| h.owns(p)),
            "a's garbage untouched"
        );
        let released: HashSet<u64> = vm.released.iter().copied().collect();
        assert!(garbage_a.iter().all(|&p| !released.contains(&(p as u64))));
        assert!(h.verify().is_empty(), "{:?}", h.verify());
        // Allocation goes on in both, in their own blocks.
        let y = new_node(&mut h, node, 1);
        assert_eq!(h.compartment_of(y).unwrap(), b);
        h.set_current_compartment(a).unwrap();
        let z = new_node(&mut h, node, 1);
        assert_eq!(h.compartment_of(z).unwrap(), a);
        // A whole collection then frees a's garbage too.
        let before = h.stats().cells;
        h.collect(&mut vm).unwrap();
        assert!(h.stats().cells < before - 299);
        let _ = (big_a, garbage_b);
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}

#[test]
fn collecting_one_compartment_is_refused_in_the_wrong_phase_or_for_a_bad_id() {
    let (mut h, mut vm, _, _) = heap(8);
    let (other, _, _, _) = heap(8);
    let a = h.new_compartment().unwrap();
    assert_eq!(
        h.collect_compartment(&mut vm, other.root_compartment())
            .unwrap_err(),
        GcError::WrongHeap
    );
    h.start(&mut vm).unwrap();
    assert!(matches!(
        h.collect_compartment(&mut vm, a),
        Err(GcError::WrongPhase { .. })
    ));
    h.begin(&mut vm).unwrap();
    h.finish(&mut vm).unwrap();
    h.set_current_compartment(h.root_compartment()).unwrap();
    h.retire_compartment(a).unwrap();
    assert_eq!(
        h.collect_compartment(&mut vm, a).unwrap_err(),
        GcError::CompartmentDestroyed
    );
    h.collect_compartment(&mut vm, h.root_compartment())
        .unwrap();
    assert!(h.verify().is_empty());
}

#[test]
fn weak_references_the_vm_keeps_are_counted_apart() {
    let (mut h, mut vm, node, _) = heap(8);
    let root = h.root_compartment();
    let a = h.new_compartment().unwrap();
    let r = new_node(&mut h, node, 1);
    h.set_current_compartment(a).unwrap();
    let xa = new_node(&mut h, node, 1);
    let ya = new_node(&mut h, node, 1);
    h.set_current_compartment(root).unwrap();
    vm.roots = vec![r, xa, ya];
    // Outside marking: the wrong phase, nothing counted.
    assert!(matches!(
        h.note_weak_edge(r, xa),
        Err(GcError::WrongPhase { .. })
    ));
    h.begin(&mut vm).unwrap();
    h.note_weak_edge(r, xa).unwrap(); // root -> a
    h.note_weak_edge(r, ya.wrapping_add(8)).unwrap(); // root -> a, interior
    h.note_weak_edge(xa, ya).unwrap(); // a -> a: local, not counted
    assert!(matches!(
        h.note_weak_edge(r, 16 as *const u8),
        Err(GcError::NotACell(_))
    ));
    assert!(matches!(
        h.note_weak_edge(std::ptr::null(), xa),
        Err(GcError::NotACell(_))
    ));
    h.finish(&mut vm).unwrap();
    let w = h.compartment_weak_edges(root, a).unwrap();
    assert_eq!((w.last, w.total, w.refused), (2, 2, 0));
    assert_eq!(h.compartment_weak_edges(a, a).unwrap().last, 0);
    assert_eq!(h.compartment_weak_edges(a, root).unwrap().last, 0);
    assert_eq!(
        h.compartment_edges(root, a).unwrap().last,
        0,
        "weak references are not traced edges"
    );
    // The next collection without any: last 0, total kept.
    h.collect(&mut vm).unwrap();
    let w = h.compartment_weak_edges(root, a).unwrap();
    assert_eq!((w.last, w.total), (0, 2));
    // Another heap's compartment.
    let (h2, _, _, _) = heap(8);
    assert!(matches!(
        h.compartment_weak_edges(h2.root_compartment(), a),
        Err(GcError::WrongHeap)
    ));
    assert!(h.verify().is_empty(), "{:?}", h.verify());
}

#[test]
fn a_retired_compartments_memory_is_returned_once_nothing_references_it() {
    for align in [8, 16] {
        let (mut h, mut vm, node, _) = heap(align);
        let a = h.new_compartment().unwrap();
        h.set_current_compartment(a).unwrap();
        let xs: Vec<*mut u8> = (0..20_000).map(|_| new_node(&mut h, node, 1)).collect();
        h.set_current_compartment(h.root_compartment()).unwrap();
        let r = new_node(&mut h, node, 1);
        set(r, 0, xs[0]); // the root still references one of a's cells
        vm.roots = vec![r];
        let before = h.compartment_held_blocks(a).unwrap();
        assert!(before > 5, "{before} blocks");
        h.retire_compartment(a).unwrap();
        let token = a.token();
        assert!(matches!(
            h.compartment(token),
            Err(GcError::CompartmentDestroyed)
        ));
        assert!(
            h.compartment_made(token).is_ok_and(|c| c == a),
            "still answered by its token"
        );
        h.collect(&mut vm).unwrap();
        assert_eq!(
            h.compartment_held_blocks(a).unwrap(),
            1,
            "the referenced cell's block"
        );
        // A freed block's memory was returned: it reads as zero again.
        let last = *xs.last().unwrap();
        assert_ne!(block_of(&h, last), block_of(&h, xs[0]));
        // SAFETY: the heap's region stays mapped (decommitted pages read as zero).
        assert_eq!(unsafe { last.cast::<u64>().add(1).read() }, 0);
        // SAFETY: the kept cell is live.
        assert_eq!(unsafe { xs[0].cast::<u64>().add(1).read() }, MAGIC);
        set(r, 0, std::ptr::null());
        h.collect(&mut vm).unwrap();
        assert_eq!(h.compartment_held_blocks(a).unwrap(), 0, "torn down");
        // The pool reuses its blocks for others; the heap is intact.
        let b = h.new_compartment().unwrap();
        h.set_current_compartment(b).unwrap();
        let ys: Vec<*mut u8> = (0..20_000).map(|_| new_node(&mut h, node, 1)).collect();
        vm.roots = ys.clone();
        h.collect(&mut vm).unwrap();
        assert_eq!(h.compartment_held_blocks(a).unwrap(), 0);
        assert!(h.compartment_held_blocks(b).unwrap() >= before - 1);
        // Misuse: another heap's compartment, a number never made.
        let (h2, _, _, _) = heap(align);
        assert!(matches!(
            h.compartment_held_blocks(h2.root_compartment()),
            Err(GcError::WrongHeap)
        ));
        assert!(matches!(
            h.compartment_made(token + 100),
            Err(GcError::InvalidCompartment)
        ));
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}
