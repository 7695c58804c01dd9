//! Collecting one compartment of a cell heap alone does work in
//! proportion to that compartment, not to the heap (issue #29's target),
//! asserted by work, not time: the VM's trace callback counts the cells
//! it is asked to trace, per compartment. Public API only.

use gc_core::{CellCompartment, CellConfig, CellHeap, CellType, CellVm, Marker};
use std::collections::HashSet;
use std::ptr::NonNull;

/// A cell: two pointers (`next` in its chain, `cross` anywhere), each
/// null or a payload address.
const CELL: u64 = 16;

/// Roots: chain heads. Counts every cell traced, split by whether it is
/// one of `large`.
struct Vm {
    roots: Vec<*mut u8>,
    large: HashSet<u64>,
    traced_large: u64,
    traced_other: u64,
}

impl CellVm for Vm {
    fn roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            assert!(m.mark(r));
        }
    }
    fn trace(&mut self, _ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        if self.large.contains(&(cell.as_ptr() as u64)) {
            self.traced_large += 1;
        } else {
            self.traced_other += 1;
        }
        let p = cell.as_ptr().cast::<*const u8>();
        // SAFETY: every cell has two pointer slots, written at allocation
        // (`chain`) or by `set_cross`.
        let (next, cross) = unsafe { (p.read(), p.add(1).read()) };
        assert!(m.mark(next) && m.mark(cross));
    }
    fn release(&mut self, _ty: CellType, _cell: NonNull<u8>) {}
}

/// `n` cells of `ty` in the current compartment, linked by `next`; every
/// cell returned (the head first).
fn chain(h: &mut CellHeap, ty: CellType, n: usize) -> Vec<*mut u8> {
    let mut cells = Vec::with_capacity(n);
    let mut next: *mut u8 = std::ptr::null_mut();
    for _ in 0..n {
        let p = h.alloc(ty, CELL).unwrap().as_ptr();
        // SAFETY: a fresh 16-byte payload.
        unsafe {
            p.cast::<*mut u8>().write(next);
            p.cast::<*mut u8>().add(1).write(std::ptr::null_mut());
        }
        cells.push(p);
        next = p;
    }
    cells.reverse();
    cells
}

/// Points `from`'s second slot at `to`, reported as the barrier would.
fn set_cross(h: &mut CellHeap, from: *mut u8, to: *mut u8) {
    // SAFETY: a live cell's second pointer slot.
    unsafe { from.cast::<*mut u8>().add(1).write(to) };
    h.check_store(from, to).unwrap();
}

fn setup(
    checked: bool,
    large_n: usize,
    small_n: usize,
    into_small: usize,
) -> (
    CellHeap,
    Vm,
    CellType,
    CellCompartment,
    Vec<*mut u8>,
    Vec<*mut u8>,
) {
    let mut h = CellHeap::new(CellConfig {
        limit: 256 << 20,
        checked,
        manual: true,
        ..CellConfig::default()
    })
    .unwrap();
    let ty = h.register_type(false).unwrap();
    let big = h.new_compartment().unwrap();
    let small = h.new_compartment().unwrap();
    h.set_current_compartment(big).unwrap();
    let large = chain(&mut h, ty, large_n);
    h.set_current_compartment(small).unwrap();
    let little = chain(&mut h, ty, small_n);
    // Edges both ways: `into_small` large cells, evenly spread, into the
    // small chain's tail half; every 10th small cell into the large chain.
    for (k, i) in (0..large_n).step_by(large_n / into_small).enumerate() {
        set_cross(&mut h, large[i], little[small_n / 2 + k % (small_n / 2)]);
    }
    for i in (0..small_n).step_by(10) {
        set_cross(&mut h, little[i], large[(i * 7919) % large_n]);
    }
    let vm = Vm {
        roots: vec![large[0], little[0]],
        large: large.iter().map(|&p| p as u64).collect(),
        traced_large: 0,
        traced_other: 0,
    };
    (h, vm, ty, small, large, little)
}

#[test]
fn collecting_a_small_compartment_traces_none_of_the_large_ones_cells_but_its_remembered() {
    for checked in [false, true] {
        let (large_n, small_n) = (100_000, 1_000);
        let (mut h, mut vm, ty, small, large, little) = setup(checked, large_n, small_n, 100);
        let remembered = 100;
        // A whole collection traces everything (and remembers the large
        // cells pointing into the small compartment).
        h.collect(&mut vm).unwrap();
        assert_eq!(vm.traced_large, large_n as u64);
        assert_eq!(vm.traced_other, small_n as u64);
        assert_eq!(h.stats().cells, (large_n + small_n) as u64);
        for round in 0..3 {
            // Garbage in the small compartment, some pointing into the
            // large one.
            let garbage = chain(&mut h, ty, 500);
            set_cross(&mut h, garbage[0], large[round]);
            (vm.traced_large, vm.traced_other) = (0, 0);
            let cycle = h.collect_compartment(&mut vm, small).unwrap();
            // The large compartment's cells traced are exactly its
            // remembered ones (extra roots), not its 100,000.
            assert_eq!(vm.traced_large, remembered, "round {round}");
            assert_eq!(vm.traced_other, small_n as u64, "round {round}");
            assert_eq!(cycle.freed_cells, 500, "the garbage, nothing else");
            assert!(garbage.iter().all(|&p| !h.owns(p)));
            assert!(large.iter().chain(&little).all(|&p| h.owns(p)));
            assert_eq!(h.stats().cells, (large_n + small_n) as u64);
        }
        assert!(h.verify().is_empty(), "{:?}", h.verify());
    }
}

#[test]
fn the_work_of_collecting_the_small_compartment_does_not_grow_with_the_large_one() {
    // The same small compartment next to a large one ten times bigger:
    // the cells traced are the small ones plus the remembered, whatever
    // the large compartment's size (its crossings into the small one held
    // at 10).
    let mut traced = Vec::new();
    for large_n in [10_000, 100_000] {
        let (mut h, mut vm, ty, small, _, little) = setup(false, large_n, 2_000, 10);
        h.collect(&mut vm).unwrap();
        chain(&mut h, ty, 1_000); // garbage
        (vm.traced_large, vm.traced_other) = (0, 0);
        let cycle = h.collect_compartment(&mut vm, small).unwrap();
        assert_eq!(cycle.freed_cells, 1_000);
        assert!(little.iter().all(|&p| h.owns(p)));
        traced.push((vm.traced_large, vm.traced_other));
    }
    assert_eq!(traced[0], traced[1], "{traced:?}");
    assert_eq!(traced[0], (10, 2_000));
}
