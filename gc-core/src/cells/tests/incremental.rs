//! Incremental marking (`start`, `step`, then `begin` as the atomic
//! phase) against the small VM of the parent module.

use super::*;

/// A chain of `n` nodes, each pointing to the next; returns them.
fn chain(h: &mut CellHeap, node: CellType, n: usize) -> Vec<*mut u8> {
    let v: Vec<*mut u8> = (0..n).map(|_| new_node(h, node, 2)).collect();
    for w in v.windows(2) {
        set(w[0], 0, w[1]);
    }
    v
}

#[test]
fn steps_trace_at_most_their_budget() {
    let (mut h, mut vm, node, _) = heap(8);
    let c = chain(&mut h, node, 10);
    vm.roots = vec![c[0]];
    h.start(&mut vm).unwrap();
    assert_eq!(h.phase(), CellPhase::Incremental);
    assert!(h.is_marked(c[0]).unwrap(), "roots are marked by start");
    assert!(!h.is_marked(c[1]).unwrap(), "and nothing is traced");
    let mut steps = 0;
    while !h.step(&mut vm, 1).unwrap() {
        steps += 1;
        assert!(h.is_marked(c[steps]).unwrap());
        assert!(steps < 10 || !h.is_marked(c[steps + 1]).unwrap());
    }
    assert_eq!(steps, 9, "one cell per step along the chain");
    assert!(c.iter().all(|&p| h.is_marked(p).unwrap()));
    h.begin(&mut vm).unwrap();
    let cycle = h.finish(&mut vm).unwrap();
    assert_eq!(cycle.live_cells, 10);
    assert_eq!(cycle.steps, 11, "start and ten steps");
    assert!(vm.released.is_empty());
    assert_eq!(h.stats().steps, 11);
    assert!(h.verify().is_empty());
}

#[test]
fn cells_allocated_during_marking_are_white_and_barriers_keep_them() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let a = new_node(&mut h, node, 2);
    let b = new_node(&mut h, node, 2);
    set(a, 0, b);
    vm.roots = vec![a];
    h.start(&mut vm).unwrap();
    assert!(!h.step(&mut vm, 1).unwrap(), "a traced, b gray");
    // The mutator runs: a is black now.
    let kept = new_node(&mut h, node, 0);
    let lost = new_node(&mut h, node, 0);
    let unreferenced = h.alloc(leaf, 40).unwrap().as_ptr();
    assert!(!h.is_marked(kept).unwrap(), "allocated white");
    set(a, 1, kept);
    h.mark(kept).unwrap(); // the VM's barrier
    set(b, 1, lost); // b is still gray: no barrier needed...
    set(a, 0, std::ptr::null()); // ...but b stays marked (floating garbage)
    while !h.step(&mut vm, 1).unwrap() {}
    h.begin(&mut vm).unwrap();
    h.finish(&mut vm).unwrap();
    let released: HashSet<u64> = vm.released.iter().copied().collect();
    assert_eq!(
        released,
        HashSet::from([unreferenced as u64]),
        "b and lost float until the next cycle"
    );
    vm.released.clear();
    h.collect(&mut vm).unwrap();
    let released: HashSet<u64> = vm.released.iter().copied().collect();
    assert_eq!(released, HashSet::from([b as u64, lost as u64]));
    assert!(h.owns(kept) && h.owns(a));
    assert!(h.verify().is_empty());
}

#[test]
fn a_store_into_a_black_cell_without_a_barrier_is_not_seen() {
    // The contract's other half: the invariant is the VM's to keep.
    let (mut h, mut vm, node, _) = heap(8);
    let a = new_node(&mut h, node, 1);
    vm.roots = vec![a];
    h.start(&mut vm).unwrap();
    assert!(h.step(&mut vm, 1).unwrap());
    let n = new_node(&mut h, node, 0);
    set(a, 0, n); // no barrier
    h.begin(&mut vm).unwrap();
    h.finish(&mut vm).unwrap();
    assert_eq!(vm.released, vec![n as u64]);
}

#[test]
fn the_atomic_phase_reports_the_roots_again() {
    let (mut h, mut vm, node, _) = heap(8);
    let a = new_node(&mut h, node, 1);
    vm.roots = vec![a];
    h.start(&mut vm).unwrap();
    while !h.step(&mut vm, 100).unwrap() {}
    let n = new_node(&mut h, node, 1);
    let m = new_node(&mut h, node, 0);
    set(n, 0, m);
    vm.roots.push(n); // a new root (a VM stack slot): no barrier
    h.begin(&mut vm).unwrap();
    assert!(h.is_marked(m).unwrap(), "traced from the new root");
    h.finish(&mut vm).unwrap();
    assert!(vm.released.is_empty());
    assert_eq!(h.stats().cells, 3);
}

#[test]
fn incremental_calls_in_the_wrong_phase_are_refused() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let p = new_node(&mut h, node, 0);
    vm.roots = vec![p];
    let phase = |e: GcError| matches!(e, GcError::WrongPhase { .. });
    assert!(
        phase(h.step(&mut vm, 10).unwrap_err()),
        "a step outside a cycle"
    );
    h.start(&mut vm).unwrap();
    assert!(phase(h.start(&mut vm).unwrap_err()));
    assert!(phase(h.collect(&mut vm).unwrap_err()));
    assert!(phase(h.release_all(&mut vm).unwrap_err()));
    assert!(
        phase(h.finish(&mut vm).unwrap_err()),
        "finish before the atomic phase"
    );
    assert!(
        h.alloc(leaf, 8).is_ok(),
        "the mutator allocates between steps"
    );
    h.begin(&mut vm).unwrap();
    assert!(
        phase(h.step(&mut vm, 10).unwrap_err()),
        "a step in the atomic phase"
    );
    assert!(phase(h.start(&mut vm).unwrap_err()));
    assert!(phase(h.alloc(leaf, 8).unwrap_err()));
    h.finish(&mut vm).unwrap();
    assert!(
        phase(h.step(&mut vm, 10).unwrap_err()),
        "a step after the cycle"
    );
    assert!(h.verify().is_empty());
    assert_eq!(h.stats().cells, 1, "the unreferenced leaf was freed");
}

#[test]
fn an_automatic_heap_does_not_collect_during_incremental_marking() {
    let (mut h, mut vm, node, leaf) = heap(8);
    h.config.manual = false;
    h.trigger = 0; // due at once
    vm.roots = vec![new_node(&mut h, node, 0)];
    h.start(&mut vm).unwrap();
    for _ in 0..100 {
        h.alloc_with(&mut vm, leaf, 64).unwrap();
    }
    assert_eq!(h.phase(), CellPhase::Incremental);
    assert_eq!(h.stats().collections, 0);
    h.begin(&mut vm).unwrap();
    assert_eq!(h.finish(&mut vm).unwrap().freed_cells, 100);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random mutation interleaved with steps of random budgets, with a
    /// Dijkstra barrier (the stored cell is marked): every cell reachable
    /// from the roots at the atomic phase survives, every released one
    /// was unreachable, and the heap verifies.
    #[test]
    fn incremental_cycles_keep_everything_reachable(
        ops in prop::collection::vec((0u8..5, any::<u16>(), any::<u16>(), 0u64..4), 1..400)
    ) {
        let (mut h, mut vm, node, leaf) = heap(8);
        let mut all: Vec<*mut u8> = Vec::new();
        for (op, i, j, budget) in ops {
            match op {
                0 => all.push(new_node(&mut h, node, 4)),
                1 => all.push(h.alloc(leaf, u64::from(j % 300)).unwrap().as_ptr()),
                2 if !all.is_empty() => {
                    let p = all[i as usize % all.len()];
                    if h.type_of(p).unwrap() == node {
                        let q = all[j as usize % all.len()];
                        set(p, (j % 4) as usize, q);
                        if h.phase() == CellPhase::Incremental {
                            h.mark(q).unwrap();
                        }
                    }
                }
                3 if !all.is_empty() => {
                    if h.phase() == CellPhase::Idle {
                        vm.roots = all.iter().copied().filter(|&p| (p as u64 >> 4) % 3 == u64::from(i % 3)).collect();
                        h.start(&mut vm).unwrap();
                    } else {
                        h.step(&mut vm, budget).unwrap();
                    }
                }
                4 if h.phase() == CellPhase::Incremental => {
                    // A root may be added (a stack push): seen by begin.
                    if !all.is_empty() && i % 2 == 0 {
                        vm.roots.push(all[j as usize % all.len()]);
                    }
                    let mut live = HashSet::new();
                    let mut stack = vm.roots.clone();
                    while let Some(p) = stack.pop() {
                        if !live.insert(p as u64) { continue; }
                        if h.type_of(p).unwrap() == node {
                            for k in 0..4 {
                                // SAFETY: a live node of 4 slots.
                                let q = unsafe { p.cast::<u64>().add(2 + k).read() };
                                if q != 0 { stack.push(q as *mut u8); }
                            }
                        }
                    }
                    vm.released.clear();
                    h.begin(&mut vm).unwrap();
                    h.finish(&mut vm).unwrap();
                    for &r in &vm.released {
                        prop_assert!(!live.contains(&r), "a reachable cell was released");
                    }
                    let freed: HashSet<u64> = vm.released.iter().copied().collect();
                    all.retain(|p| !freed.contains(&(*p as u64)));
                    for &p in &all { prop_assert!(h.owns(p)); }
                    for p in live { prop_assert!(h.owns(p as *const u8)); }
                    prop_assert_eq!(h.stats().cells, all.len() as u64);
                    prop_assert!(h.verify().is_empty());
                }
                _ => {}
            }
        }
    }
}

/// The parent's VM, with the cells `keep` keeps in a lazy sweep.
struct KeepVm {
    inner: Vm,
    keep: HashSet<u64>,
    asked: Vec<u64>,
}

impl CellVm for KeepVm {
    fn roots(&mut self, m: &mut Marker<'_>) {
        self.inner.roots(m)
    }
    fn trace(&mut self, ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        self.inner.trace(ty, cell, m)
    }
    fn release(&mut self, ty: CellType, cell: NonNull<u8>) {
        self.inner.release(ty, cell)
    }
    fn keep(&mut self, _ty: CellType, cell: NonNull<u8>) -> bool {
        self.asked.push(cell.as_ptr() as u64);
        self.keep.contains(&(cell.as_ptr() as u64))
    }
}

#[test]
fn a_lazy_sweep_releases_the_dead_a_block_at_a_time_while_the_mutator_allocates() {
    let (mut h, vm, node, leaf) = heap(8);
    let mut vm = KeepVm {
        inner: vm,
        keep: HashSet::new(),
        asked: Vec::new(),
    };
    // Three blocks' worth of dead 48-byte nodes, and a live chain.
    let live = chain(&mut h, node, 100);
    let dead: Vec<*mut u8> = (0..4000).map(|_| new_node(&mut h, node, 2)).collect();
    let dead_leaf = h.alloc(leaf, 8).unwrap().as_ptr();
    let kept_leaf = h.alloc(leaf, 8).unwrap().as_ptr();
    let big_dead = h.alloc(leaf, 1 << 20).unwrap().as_ptr();
    vm.keep.insert(kept_leaf as u64);
    vm.inner.roots = vec![live[0]];
    h.begin(&mut vm).unwrap();
    h.begin_sweep().unwrap();
    assert_eq!(h.phase(), CellPhase::Sweeping);
    assert!(
        vm.inner.released.is_empty(),
        "nothing released before a step"
    );
    let mut fresh = Vec::new();
    let mut steps = 0;
    loop {
        // The mutator allocates between steps, in swept and unswept blocks.
        fresh.push(new_node(&mut h, node, 0));
        set(live[99], 0, *fresh.last().unwrap());
        steps += 1;
        if h.sweep(&mut vm, 1).unwrap() {
            break;
        }
        if steps == 1 {
            assert!(vm.inner.released.len() < dead.len(), "not all at once");
        }
    }
    assert!(steps > 3, "one block per step: {steps} {:?}", h.stats());
    let released: HashSet<u64> = vm.inner.released.iter().copied().collect();
    let mut want: HashSet<u64> = dead.iter().map(|&p| p as u64).collect();
    want.insert(dead_leaf as u64);
    want.insert(big_dead as u64);
    assert_eq!(released, want, "the dead, and only once each");
    assert_eq!(released.len(), vm.inner.released.len());
    assert!(vm.asked.contains(&(dead_leaf as u64)) && vm.asked.contains(&(kept_leaf as u64)));
    assert!(
        !vm.asked.contains(&(dead[0] as u64)),
        "never asked for a node"
    );
    assert!(
        fresh.iter().all(|&p| h.owns(p)),
        "allocated during the sweep"
    );
    assert!(h.owns(kept_leaf) && live.iter().all(|&p| h.owns(p)));
    let st = h.stats();
    assert_eq!(st.collections, 1);
    assert_eq!(st.cells, 100 + fresh.len() as u64 + 1);
    assert_eq!(st.last.freed_cells, 4002);
    assert!(h.verify().is_empty(), "{:?}", h.verify());
    // Kept once, collected by the next collection that does not keep it.
    vm.keep.clear();
    vm.inner.released.clear();
    h.collect(&mut vm).unwrap();
    assert!(vm.inner.released.contains(&(kept_leaf as u64)));
    assert!(fresh[..fresh.len() - 1].iter().all(|&p| !h.owns(p)) || fresh.len() == 1);
}

#[test]
fn a_cell_budget_stops_a_sweep_step_inside_a_block_and_the_next_resumes_there() {
    let (mut h, vm, node, leaf) = heap(8);
    let mut vm = KeepVm {
        inner: vm,
        keep: HashSet::new(),
        asked: Vec::new(),
    };
    let live = chain(&mut h, node, 50);
    // Dead nodes interleaved with live leaves, so blocks stay partly live.
    let mut dead = Vec::new();
    let mut leaves = Vec::new();
    for k in 0..3000 {
        dead.push(new_node(&mut h, node, 2));
        if k % 3 == 0 {
            leaves.push(h.alloc(leaf, 8).unwrap().as_ptr());
        }
    }
    let kept = leaves[7];
    vm.keep.insert(kept as u64);
    let big_dead = h.alloc(leaf, 1 << 17).unwrap().as_ptr();
    vm.inner.roots = vec![live[0]];
    h.begin(&mut vm).unwrap();
    h.begin_sweep().unwrap();
    assert!(!h.sweep_some(&mut vm, 1, 0).unwrap(), "a zero budget");
    assert!(vm.inner.released.is_empty() && vm.asked.is_empty());
    let mut steps = 0;
    let mut fresh = Vec::new();
    loop {
        let released = vm.inner.released.len();
        let done = h.sweep_some(&mut vm, 4, 37).unwrap();
        steps += 1;
        assert!(
            vm.inner.released.len() - released <= 37,
            "a step releases at most its budget of dead cells"
        );
        if done {
            break;
        }
        fresh.push(new_node(&mut h, node, 0));
        set(live[49], 0, *fresh.last().unwrap());
    }
    let released: HashSet<u64> = vm.inner.released.iter().copied().collect();
    assert_eq!(released.len(), vm.inner.released.len(), "each once");
    let mut want: HashSet<u64> = dead.iter().map(|&p| p as u64).collect();
    want.extend(leaves.iter().filter(|&&p| p != kept).map(|&p| p as u64));
    want.insert(big_dead as u64);
    assert_eq!(released, want, "the dead and only the dead");
    assert!(steps >= want.len() / 37, "{steps} steps for {}", want.len());
    assert!(h.owns(kept) && live.iter().all(|&p| h.owns(p)));
    assert!(
        fresh.iter().all(|&p| h.owns(p)),
        "allocated during the sweep"
    );
    assert_eq!(h.stats().last.freed_cells, want.len() as u64);
    assert!(h.verify().is_empty(), "{:?}", h.verify());
}

#[test]
fn lazy_sweep_calls_in_the_wrong_phase_are_refused() {
    let (mut h, mut vm, node, leaf) = heap(8);
    vm.roots = vec![new_node(&mut h, node, 0)];
    new_node(&mut h, node, 0);
    let phase = |e: GcError| matches!(e, GcError::WrongPhase { .. });
    assert!(phase(h.begin_sweep().unwrap_err()), "idle");
    assert!(phase(h.sweep(&mut vm, 1).unwrap_err()), "idle");
    h.start(&mut vm).unwrap();
    assert!(phase(h.begin_sweep().unwrap_err()), "incremental marking");
    assert!(phase(h.sweep(&mut vm, 1).unwrap_err()));
    h.begin(&mut vm).unwrap();
    assert!(
        phase(h.sweep(&mut vm, 1).unwrap_err()),
        "before begin_sweep"
    );
    h.begin_sweep().unwrap();
    assert!(phase(h.begin_sweep().unwrap_err()));
    assert!(phase(h.start(&mut vm).unwrap_err()));
    assert!(phase(h.begin(&mut vm).unwrap_err()));
    assert!(phase(h.finish(&mut vm).unwrap_err()));
    assert!(phase(h.collect(&mut vm).unwrap_err()));
    assert!(phase(h.release_all(&mut vm).unwrap_err()));
    assert!(phase(h.mark(vm.roots[0]).unwrap_err()));
    assert!(phase(h.is_marked(vm.roots[0]).unwrap_err()));
    assert!(phase(h.step(&mut vm, 1).unwrap_err()));
    assert!(h.alloc(leaf, 8).is_ok());
    while !h.sweep(&mut vm, 1).unwrap() {}
    assert!(phase(h.sweep(&mut vm, 1).unwrap_err()), "after the sweep");
    assert_eq!(h.phase(), CellPhase::Idle);
    assert_eq!(vm.released.len(), 1);
    assert!(h.verify().is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Whole incremental cycles — marking steps, then a lazy sweep —
    /// with mutation and allocation in every phase (a Dijkstra barrier
    /// while marking): nothing reachable is ever released, every cell is
    /// released at most once, and the heap verifies after every cycle.
    #[test]
    fn lazily_swept_cycles_keep_everything_reachable(
        ops in prop::collection::vec((0u8..5, any::<u16>(), any::<u16>(), 0u64..4), 1..500)
    ) {
        let (mut h, mut vm, node, leaf) = heap(8);
        let mut all: Vec<*mut u8> = Vec::new();
        let mut released = 0usize;
        for (op, i, j, budget) in ops {
            match op {
                0 => all.push(new_node(&mut h, node, 4)),
                1 => all.push(h.alloc(leaf, u64::from(j % 3000)).unwrap().as_ptr()),
                2 if !all.is_empty() => {
                    let p = all[i as usize % all.len()];
                    if h.type_of(p).unwrap() == node {
                        let q = all[j as usize % all.len()];
                        set(p, (j % 4) as usize, q);
                        if h.phase() == CellPhase::Incremental {
                            h.mark(q).unwrap();
                        }
                    }
                }
                3 => match h.phase() {
                    CellPhase::Idle if !all.is_empty() => {
                        vm.roots = all.iter().copied().filter(|&p| (p as u64 >> 4) % 3 == u64::from(i % 3)).collect();
                        h.start(&mut vm).unwrap();
                    }
                    CellPhase::Incremental => { h.step(&mut vm, budget).unwrap(); }
                    CellPhase::Sweeping if h.sweep(&mut vm, budget).unwrap() => {
                        prop_assert!(h.verify().is_empty(), "{:?}", h.verify());
                    }
                    _ => {}
                },
                4 if h.phase() == CellPhase::Incremental => {
                    h.begin(&mut vm).unwrap();
                    // From here the mutator holds only what is marked: a
                    // VM cannot reach an unmarked cell any more.
                    all.retain(|&p| h.is_marked(p).unwrap());
                    h.begin_sweep().unwrap();
                }
                _ => {}
            }
            // Nothing reachable from the roots is ever released: every
            // released cell was unreachable when it was released.
            if vm.released.len() > released {
                let mut live = HashSet::new();
                let mut stack = vm.roots.clone();
                while let Some(p) = stack.pop() {
                    if !live.insert(p as u64) { continue; }
                    if h.type_of(p).is_ok_and(|t| t == node) {
                        for k in 0..4 {
                            // SAFETY: a live node of 4 slots.
                            let q = unsafe { p.cast::<u64>().add(2 + k).read() };
                            if q != 0 { stack.push(q as *mut u8); }
                        }
                    }
                }
                for &r in &vm.released[released..] {
                    prop_assert!(!live.contains(&r), "a reachable cell was released");
                }
                let freed: HashSet<u64> = vm.released[released..].iter().copied().collect();
                all.retain(|p| !freed.contains(&(*p as u64)));
                released = vm.released.len();
                // No reachable node points to a released cell.
                for &p in &all {
                    if live.contains(&(p as u64)) && h.type_of(p).unwrap() == node {
                        for k in 0..4 {
                            // SAFETY: a live node of 4 slots.
                            let q = unsafe { p.cast::<u64>().add(2 + k).read() };
                            prop_assert!(!freed.contains(&q), "a live node points to a released cell");
                        }
                    }
                }
            }
        }
        let distinct: HashSet<u64> = vm.released.iter().copied().collect();
        prop_assert!(distinct.len() <= vm.released.len());
    }
}
