//! The cell heap against a small VM: cells hold a count and that many
//! pointers (type `NODE`), or bytes (type `LEAF`).

mod compartments;
mod incremental;

use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

/// A VM whose roots are a list of pointers.
#[derive(Default)]
struct Vm {
    node: Option<CellType>,
    roots: Vec<*mut u8>,
    /// Released cells, in order.
    released: Vec<u64>,
    /// Payload word 1 of each released cell, read at release time.
    seen_at_release: Vec<u64>,
    /// Every release also reads the first pointer of the cell: it must
    /// still hold its contents (nothing is reclaimed before all releases).
    extra: Vec<*const u8>,
}

const MAGIC: u64 = 0x5eed_cafe;

impl CellVm for Vm {
    fn roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            m.mark(r);
        }
        for &e in &self.extra {
            m.mark(e);
        }
    }
    fn trace(&mut self, ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        assert_eq!(Some(ty), self.node);
        let p = cell.as_ptr().cast::<u64>();
        // SAFETY: a node: word 0 is its count, then that many pointers.
        unsafe {
            let n = p.read();
            for k in 0..n as usize {
                m.mark(p.add(2 + k).read() as *const u8);
            }
        }
    }
    fn release(&mut self, _ty: CellType, cell: NonNull<u8>) {
        self.released.push(cell.as_ptr() as u64);
        // SAFETY: a dead cell, not yet reclaimed: its words are intact.
        unsafe {
            self.seen_at_release
                .push(cell.as_ptr().cast::<u64>().add(1).read())
        };
    }
}

fn heap(align: u64) -> (CellHeap, Vm, CellType, CellType) {
    let mut h = CellHeap::new(CellConfig {
        limit: 64 << 20,
        align,
        checked: true,
        ..CellConfig::default()
    })
    .unwrap();
    let node = h.register_type(false).unwrap();
    let leaf = h.register_type(true).unwrap();
    let vm = Vm {
        node: Some(node),
        ..Vm::default()
    };
    (h, vm, node, leaf)
}

/// A node with room for `n` pointers, all null.
fn new_node(h: &mut CellHeap, ty: CellType, n: u64) -> *mut u8 {
    let p = h.alloc(ty, 16 + 8 * n).unwrap().as_ptr();
    // SAFETY: the payload has 16 + 8n bytes.
    unsafe {
        let w = p.cast::<u64>();
        w.write(n);
        w.add(1).write(MAGIC);
        for k in 0..n as usize {
            w.add(2 + k).write(0);
        }
    }
    p
}

fn set(p: *mut u8, k: usize, q: *const u8) {
    // SAFETY: callers pass a node with more than k slots.
    unsafe { p.cast::<u64>().add(2 + k).write(q as u64) };
}

/// [`Marker::mark_shallow`]: the first report of a node is fresh and the
/// second is not (null is not either); the node is never traced, and
/// the pointer the VM reports for it in line keeps its target; a cell
/// reached only through an unreported slot of it dies.
#[test]
fn a_shallow_mark_is_fresh_once_and_never_traced() {
    struct Shallow {
        node: *mut u8,
        answers: Vec<Option<bool>>,
        traced: usize,
    }
    impl CellVm for Shallow {
        fn roots(&mut self, m: &mut Marker<'_>) {
            for _ in 0..2 {
                let a = m.mark_shallow(self.node);
                if a == Some(true) {
                    // SAFETY: a node with two slots: report slot 0 only.
                    m.mark(unsafe { self.node.cast::<u64>().add(2).read() } as *const u8);
                }
                self.answers.push(a);
            }
            self.answers.push(m.mark_shallow(std::ptr::null()));
        }
        fn trace(&mut self, _ty: CellType, _cell: NonNull<u8>, _m: &mut Marker<'_>) {
            self.traced += 1;
        }
        fn release(&mut self, _ty: CellType, _cell: NonNull<u8>) {}
    }
    let (mut h, _, node, leaf) = heap(8);
    let n = new_node(&mut h, node, 2);
    let kept = h.alloc(leaf, 8).unwrap().as_ptr();
    let lost = h.alloc(leaf, 8).unwrap().as_ptr();
    set(n, 0, kept);
    set(n, 1, lost);
    let mut vm = Shallow {
        node: n,
        answers: Vec::new(),
        traced: 0,
    };
    let cycle = h.collect(&mut vm).unwrap();
    assert_eq!(vm.answers, [Some(true), Some(false), Some(false)]);
    assert_eq!(vm.traced, 0);
    assert!(h.owns(n) && h.owns(kept) && !h.owns(lost));
    assert_eq!(cycle.freed_cells, 1);
}

#[test]
fn cells_are_aligned_owned_and_sized() {
    for align in [8, 16] {
        let (mut h, _, node, leaf) = heap(align);
        for size in [0, 1, 7, 8, 24, 100, 8000, 9000, 70_000, 4 << 20] {
            let p = h.alloc(leaf, size).unwrap().as_ptr();
            assert_eq!(p as u64 % align, 0);
            assert!(h.owns(p));
            assert!(h.owns(p.wrapping_add(size.saturating_sub(1) as usize)));
            assert!(h.cell_size(p).unwrap() >= size);
            assert_eq!(h.type_of(p).unwrap(), leaf);
        }
        let n = new_node(&mut h, node, 3);
        assert_eq!(h.type_of(n.wrapping_add(5)).unwrap(), node, "interior");
        assert!(!h.owns(std::ptr::null()));
        assert!(!h.owns(&align as *const u64 as *const u8));
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}

#[test]
fn collection_keeps_the_reachable_and_releases_the_rest() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let a = new_node(&mut h, node, 2);
    let b = new_node(&mut h, node, 2);
    let c = new_node(&mut h, node, 1);
    let s = h.alloc(leaf, 30).unwrap().as_ptr();
    let big = h.alloc(leaf, 1 << 20).unwrap().as_ptr();
    set(a, 0, b);
    set(b, 0, a); // a cycle
    set(b, 1, s.wrapping_add(3)); // interior pointer into a leaf
    set(c, 0, big); // c is garbage, and so is big
    vm.roots.push(a);
    let before = h.stats().bytes_held;
    let cyc = h.collect(&mut vm).unwrap();
    assert_eq!(cyc.live_cells, 3);
    assert_eq!(cyc.freed_cells, 2);
    let released: HashSet<u64> = vm.released.iter().copied().collect();
    assert_eq!(released, HashSet::from([c as u64, big as u64]));
    assert!(h.owns(a) && h.owns(b) && h.owns(s));
    assert!(!h.owns(c) && !h.owns(big));
    assert!(h.stats().bytes_held < before, "the large run went back");
    assert_eq!(h.stats().cells, 3);
    // Dropping the root frees the cycle too.
    vm.roots.clear();
    vm.released.clear();
    assert_eq!(h.collect(&mut vm).unwrap().freed_cells, 3);
    assert_eq!(h.stats().cells, 0);
    assert!(h.verify().is_empty());
}

#[test]
fn every_release_comes_before_any_reclaim() {
    let (mut h, mut vm, node, _) = heap(8);
    // A chain of dead nodes: every release reads its cell's magic word,
    // so a cell reclaimed (and zeroed or reused) early would show.
    for _ in 0..10_000 {
        let p = new_node(&mut h, node, 1);
        let q = new_node(&mut h, node, 1);
        set(p, 0, q);
    }
    let held = h.stats().bytes_held;
    h.collect(&mut vm).unwrap();
    assert_eq!(vm.released.len(), 20_000);
    assert!(vm.seen_at_release.iter().all(|&w| w == MAGIC));
    assert_eq!(h.stats().bytes_held, 0, "empty blocks are returned");
    // Their blocks are reused afterwards.
    for _ in 0..20_000 {
        new_node(&mut h, node, 1);
    }
    assert_eq!(h.stats().bytes_held, held);
}

#[test]
fn split_collection_lets_the_vm_mark_in_phases() {
    let (mut h, mut vm, node, leaf) = heap(16);
    let table = new_node(&mut h, node, 0);
    let key = h.alloc(leaf, 8).unwrap().as_ptr();
    let value = h.alloc(leaf, 8).unwrap().as_ptr();
    vm.roots.push(table);
    vm.roots.push(key);
    h.begin(&mut vm).unwrap();
    assert!(h.is_marked(table).unwrap());
    assert!(h.is_marked(key).unwrap());
    assert!(!h.is_marked(value).unwrap());
    // An ephemeron step: the key is marked, so the VM marks the value.
    h.mark(value).unwrap();
    h.drain(&mut vm).unwrap();
    assert!(h.is_marked(value).unwrap());
    assert!(!h.is_marked(std::ptr::null()).unwrap());
    h.finish(&mut vm).unwrap();
    assert!(vm.released.is_empty());
    assert!(h.owns(value));
}

#[test]
fn calls_in_the_wrong_phase_are_refused() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let p = new_node(&mut h, node, 0);
    let phase = |e: GcError| matches!(e, GcError::WrongPhase { .. });
    assert!(phase(h.mark(p).unwrap_err()));
    assert!(phase(h.drain(&mut vm).unwrap_err()));
    assert!(phase(h.is_marked(p).unwrap_err()));
    assert!(phase(h.finish(&mut vm).unwrap_err()));
    h.begin(&mut vm).unwrap();
    assert!(phase(h.begin(&mut vm).unwrap_err()));
    assert!(phase(h.alloc(leaf, 8).unwrap_err()));
    assert!(phase(h.release_all(&mut vm).unwrap_err()));
    h.finish(&mut vm).unwrap();
    assert!(h.alloc(leaf, 8).is_ok(), "usable afterwards");
    assert!(h.verify().is_empty());
}

#[test]
fn pointers_not_into_live_cells_are_errors_and_never_marked() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let dead = h.alloc(leaf, 64).unwrap().as_ptr();
    let keeper = h.alloc(leaf, 64).unwrap().as_ptr(); // keeps the block
    vm.roots.push(keeper);
    h.collect(&mut vm).unwrap(); // `dead` is reclaimed
    let a = new_node(&mut h, node, 3);
    vm.roots.push(a);
    set(a, 0, dead.wrapping_add(8)); // a freed cell (not reused yet)
    let outside = Box::new(0u64);
    set(a, 1, (&*outside as *const u64).cast()); // not heap memory
    let e = h.collect(&mut vm).unwrap_err();
    assert!(matches!(e, GcError::NotACell(_)), "{e}");
    assert!(!h.owns(dead), "the freed cell stays free");
    assert!(h.owns(a), "the collection went on and kept the live");
    assert_eq!(h.stats().bad_pointers, 2);
    // Unchecked: a pointer outside the heap is ignored, a stale one not.
    let mut u = CellHeap::new(CellConfig::default()).unwrap();
    let node = u.register_type(false).unwrap();
    vm.node = Some(node);
    let a = new_node(&mut u, node, 1);
    vm.roots = vec![a];
    set(a, 0, (&*outside as *const u64).cast());
    assert!(u.collect(&mut vm).is_ok());
    let l = u.alloc(node, 16).unwrap().as_ptr();
    vm.roots = vec![];
    u.collect(&mut vm).unwrap();
    vm.roots = vec![l];
    assert!(u.collect(&mut vm).is_err(), "a freed cell's address");
}

#[test]
fn bad_types_sizes_and_configs_are_refused() {
    let (mut h, mut vm, _, leaf) = heap(8);
    assert!(matches!(
        h.alloc(h.space.typed(99), 8),
        Err(GcError::UnknownCellType(99))
    ));
    assert!(h.cell_type(99).is_err());
    assert!(matches!(
        h.alloc(leaf, u64::MAX),
        Err(GcError::OutOfMemory { .. })
    ));
    assert!(matches!(
        h.alloc(leaf, 1 << 40),
        Err(GcError::OutOfMemory { .. })
    ));
    for bad in [
        CellConfig {
            align: 4,
            ..CellConfig::default()
        },
        CellConfig {
            limit: 100,
            ..CellConfig::default()
        },
    ] {
        assert!(matches!(CellHeap::new(bad), Err(GcError::InvalidConfig(_))));
    }
    assert!(h.collect(&mut vm).is_ok());
    assert!(h.verify().is_empty());
}

#[test]
fn a_full_heap_is_out_of_memory_until_the_vm_collects() {
    let mut h = CellHeap::new(CellConfig {
        limit: 1 << 20,
        checked: true,
        ..CellConfig::default()
    })
    .unwrap();
    let leaf = h.register_type(true).unwrap();
    let mut vm = Vm::default();
    let mut n = 0;
    while h.alloc(leaf, 1000).is_ok() {
        n += 1;
    }
    assert!(n > 900, "{n} cells of 1000 bytes in 1 MiB");
    assert!(h.verify().is_empty());
    h.collect(&mut vm).unwrap();
    assert_eq!(vm.released.len(), n);
    assert!(h.alloc(leaf, 1000).is_ok());
    assert!(h.alloc(leaf, 512 << 10).is_ok(), "a large cell fits again");
}

#[test]
fn release_all_releases_every_cell_and_empties_the_heap() {
    let (mut h, mut vm, node, leaf) = heap(8);
    let a = new_node(&mut h, node, 1);
    set(a, 0, h.alloc(leaf, 5 << 20).unwrap().as_ptr());
    vm.roots.push(a);
    assert_eq!(h.release_all(&mut vm).unwrap(), 2);
    assert_eq!(vm.released.len(), 2);
    assert_eq!(h.stats().cells, 0);
    assert_eq!(h.stats().bytes_held, 0);
    assert!(h.verify().is_empty());
    assert!(h.alloc(leaf, 10).is_ok());
}

#[test]
fn the_verifier_sees_a_smashed_header() {
    let (mut h, mut vm, _, leaf) = heap(8);
    let p = h.alloc(leaf, 24).unwrap().as_ptr();
    vm.roots.push(p);
    // SAFETY: the word before the payload is the header, in the heap.
    unsafe { p.cast::<u64>().sub(1).write(77) };
    assert!(!h.verify().is_empty());
    let e = h.collect(&mut vm).unwrap_err();
    assert!(
        matches!(e, GcError::NotACell(_) | GcError::CellHeapCorrupt(_)),
        "{e}"
    );
    assert!(h.stats().bad_pointers >= 1, "never traced as a node");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random graphs: after each collection exactly the cells reachable
    /// from the roots (by a model walk) survive, the rest were released
    /// once, and the heap verifies.
    #[test]
    fn survivors_are_exactly_the_reachable(
        ops in prop::collection::vec((0u8..4, any::<u16>(), any::<u16>(), 0u64..3000), 1..400)
    ) {
        let (mut h, mut vm, node, leaf) = heap(8);
        let mut all: Vec<*mut u8> = Vec::new();
        for (op, i, j, size) in ops {
            match op {
                0 => all.push(new_node(&mut h, node, 4)),
                1 => all.push(h.alloc(leaf, size).unwrap().as_ptr()),
                2 if !all.is_empty() => {
                    let p = all[i as usize % all.len()];
                    if h.type_of(p).unwrap() == node {
                        let q = all[j as usize % all.len()];
                        set(p, (j % 4) as usize, q.wrapping_add((i % 2) as usize));
                    }
                }
                3 if !all.is_empty() => {
                    vm.roots = all.iter().copied().filter(|&p| (p as u64 >> 4) % 3 == u64::from(i % 3)).collect();
                    // The model: reachable from the roots.
                    let mut live = HashSet::new();
                    let mut stack = vm.roots.clone();
                    while let Some(p) = stack.pop() {
                        if !live.insert(p as u64) { continue; }
                        if h.type_of(p).unwrap() == node {
                            for k in 0..4 {
                                // SAFETY: a live node of 4 slots.
                                let q = unsafe { p.cast::<u64>().add(2 + k).read() };
                                if q != 0 { stack.push((q & !1) as *mut u8); }
                            }
                        }
                    }
                    vm.released.clear();
                    h.collect(&mut vm).unwrap();
                    let freed: HashSet<u64> = vm.released.iter().copied().collect();
                    prop_assert_eq!(freed.len(), vm.released.len(), "released once each");
                    for &r in &vm.released {
                        prop_assert!(!live.contains(&r));
                    }
                    prop_assert_eq!(freed.len() + live.len(), all.len());
                    all.retain(|p| live.contains(&(*p as u64)));
                    for &p in &all { prop_assert!(h.owns(p)); }
                    prop_assert_eq!(h.stats().cells, all.len() as u64);
                    prop_assert!(h.verify().is_empty());
                }
                _ => {}
            }
        }
    }
}

#[test]
fn the_automatic_trigger_collects_and_a_manual_heap_never_does() {
    for manual in [true, false] {
        let mut h = CellHeap::new(CellConfig {
            limit: 8 << 20,
            manual,
            initial_size: 1 << 20,
            ..CellConfig::default()
        })
        .unwrap();
        let leaf = h.register_type(true).unwrap();
        let mut vm = Vm::default();
        let mut ok = 0;
        for _ in 0..100_000 {
            if h.alloc_with(&mut vm, leaf, 200).is_ok() {
                ok += 1;
            }
        }
        if manual {
            assert_eq!(h.stats().collections, 0);
            assert!(ok < 100_000, "a manual heap fills up");
        } else {
            assert_eq!(ok, 100_000);
            assert!(h.stats().collections >= 10, "{:?}", h.stats());
            assert!(h.stats().bytes_held <= 2 << 20);
        }
    }
}

#[test]
fn collect_inside_a_collection_leaves_it_alone() {
    let (mut h, mut vm, node, _) = heap(8);
    let p = new_node(&mut h, node, 0);
    h.begin(&mut vm).unwrap();
    assert!(matches!(
        h.collect(&mut vm),
        Err(GcError::WrongPhase { .. })
    ));
    assert_eq!(h.phase(), CellPhase::Marking, "the VM's cycle goes on");
    h.finish(&mut vm).unwrap();
    assert!(!h.owns(p));
}

/// Zeal in a cell heap: `collect:N` makes a collection due every N
/// allocations — a manual heap reports it, an automatic one runs it —
/// and `poison` fills the freed cells; without zeal nothing is due.
#[test]
fn zeal_makes_collections_due_and_poisons_freed_cells() {
    for (zeal, manual) in [
        ("collect:5,verify,poison", true),
        ("collect:5,verify,poison", false),
        ("", true),
    ] {
        let zeal = crate::Zeal::parse(zeal).unwrap();
        let mut h = CellHeap::new(CellConfig {
            limit: 64 << 20,
            manual,
            zeal,
            ..CellConfig::default()
        })
        .unwrap();
        let leaf = h.register_type(true).unwrap();
        let mut vm = Vm::default();
        let mut due_after = Vec::new();
        for i in 1..=12u32 {
            let p = h.alloc_with(&mut vm, leaf, 24).unwrap().as_ptr();
            // SAFETY: 24 payload bytes.
            unsafe { p.cast::<u64>().write(MAGIC) };
            if h.collection_due() {
                due_after.push(i);
            }
        }
        let want: &[u32] = match (zeal.collect_every, manual) {
            (0, _) => &[],
            (_, true) => &[5, 6, 7, 8, 9, 10, 11, 12], // due until the VM collects
            (_, false) => &[5, 10],                    // run at the next allocation
        };
        assert_eq!(due_after, want, "{zeal:?} manual {manual}");
        let auto_collections = if manual || zeal.collect_every == 0 {
            0
        } else {
            2
        };
        assert_eq!(h.stats().collections, auto_collections);
        let dead = h.alloc(leaf, 24).unwrap().as_ptr();
        // SAFETY: 24 payload bytes.
        unsafe { dead.cast::<u64>().write(MAGIC) };
        h.collect(&mut vm).unwrap(); // nothing is rooted
        assert!(!h.collection_due());
        // SAFETY: a freed small cell stays mapped (its block may be
        // returned to the free pool, never unmapped).
        let w = unsafe { dead.cast::<u64>().read() };
        assert_eq!(w == crate::Zeal::POISON_WORD, zeal.poison, "{w:#x}");
    }
}
