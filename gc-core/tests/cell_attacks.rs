//! Attacks on the binding profile's Rust API (`gc_core::CellHeap`) from
//! outside the crate, with only the public API: another heap's types,
//! huge sizes, lying roots and traces (freed cells, headers, other heaps'
//! cells, unaligned and wild addresses), a VM that smashes a header, and
//! calls in the wrong phase. Each gets its specific error, nothing it
//! points at is marked, and the heap stays sound (it verifies, allocates,
//! collects and keeps what is reachable).

use gc_core::{CellConfig, CellHeap, CellPhase, CellType, CellVm, GcError, Marker};
use std::ptr::NonNull;

/// A VM whose roots are a list of addresses it claims are cells, and
/// whose one traced type holds a single pointer in its first word.
struct Liar {
    roots: Vec<usize>,
    released: usize,
}

impl CellVm for Liar {
    fn roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            m.mark(r as *const u8);
        }
    }
    fn trace(&mut self, _ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        // SAFETY: every traced cell of these tests has a first word.
        let p = unsafe { cell.as_ptr().cast::<usize>().read() };
        m.mark(p as *const u8);
    }
    fn release(&mut self, _ty: CellType, _cell: NonNull<u8>) {
        self.released += 1;
    }
}

fn heap(checked: bool) -> (CellHeap, CellType, CellType) {
    let mut h = CellHeap::new(CellConfig {
        limit: 16 << 20,
        checked,
        ..CellConfig::default()
    })
    .expect("heap");
    let node = h.register_type(false).expect("node");
    let leaf = h.register_type(true).expect("leaf");
    (h, node, leaf)
}

/// A node pointing at `next`.
fn node(h: &mut CellHeap, ty: CellType, next: usize) -> usize {
    let p = h.alloc(ty, 16).expect("alloc").as_ptr();
    // SAFETY: 16 payload bytes.
    unsafe { p.cast::<usize>().write(next) };
    p as usize
}

/// Sound: verifies, allocates, collects, keeps `keep` (and what it
/// reaches) alive.
fn sound(h: &mut CellHeap, vm: &mut Liar, keep: usize) {
    assert_eq!(h.verify(), Vec::<String>::new());
    vm.roots = vec![keep];
    h.collect(vm).expect("a clean collection");
    assert!(h.owns(keep as *const u8));
    assert!(h.verify().is_empty());
}

#[test]
fn another_heaps_types_are_refused() {
    let (mut a, a_node, _) = heap(false);
    let (mut b, _, b_leaf) = heap(false);
    assert!(matches!(a.alloc(b_leaf, 8), Err(GcError::WrongHeap)));
    // Same index, different heap: still refused.
    assert_eq!(a_node.index(), 0);
    let b_first = b.cell_type(0).unwrap();
    assert!(matches!(a.alloc(b_first, 8), Err(GcError::WrongHeap)));
    assert!(matches!(a.cell_type(7), Err(GcError::UnknownCellType(7))));
    let keep = node(&mut a, a_node, 0);
    sound(
        &mut a,
        &mut Liar {
            roots: vec![],
            released: 0,
        },
        keep,
    );
    assert!(b.alloc(b_leaf, 8).is_ok());
}

#[test]
fn huge_sizes_are_out_of_memory_and_change_nothing() {
    let (mut h, ty, leaf) = heap(true);
    let keep = node(&mut h, ty, 0);
    let before = h.stats();
    for size in [u64::MAX, u64::MAX - 7, 1 << 63, 1 << 40, (16 << 20) + 1] {
        assert!(
            matches!(h.alloc(leaf, size), Err(GcError::OutOfMemory { .. })),
            "{size}"
        );
    }
    assert_eq!(h.stats(), before);
    sound(
        &mut h,
        &mut Liar {
            roots: vec![],
            released: 0,
        },
        keep,
    );
}

#[test]
fn lying_roots_and_traces_mark_nothing() {
    for checked in [false, true] {
        let (mut h, ty, leaf) = heap(checked);
        let (mut other, other_ty, _) = heap(false);
        let foreign = node(&mut other, other_ty, 0);
        let keep = node(&mut h, ty, 0);
        let dead = h.alloc(leaf, 40).unwrap().as_ptr() as usize;
        let neighbour = h.alloc(leaf, 40).unwrap().as_ptr() as usize; // keeps the block
        let mut vm = Liar {
            roots: vec![keep, neighbour],
            released: 0,
        };
        h.collect(&mut vm).unwrap();
        assert!(!h.owns(dead as *const u8));
        let stack = 0u64;
        // In the heap but not a live cell: refused in every mode.
        for lie in [dead, dead + 3, neighbour - 8, neighbour - 1] {
            vm.roots = vec![keep, neighbour, lie];
            let e = h.collect(&mut vm).unwrap_err();
            assert!(matches!(e, GcError::NotACell(p) if p == lie as u64), "{e}");
            assert!(!h.owns(dead as *const u8), "never revived");
        }
        // Outside the heap: refused when checked, ignored otherwise.
        for lie in [foreign, &stack as *const u64 as usize, 8, usize::MAX - 7] {
            vm.roots = vec![keep, neighbour, lie];
            let r = h.collect(&mut vm);
            assert_eq!(r.is_err(), checked, "{lie:#x}: {r:?}");
        }
        // A trace that lies: a node whose pointer is to a freed cell.
        let liar = node(&mut h, ty, dead + 8);
        vm.roots = vec![keep, neighbour, liar];
        assert!(matches!(h.collect(&mut vm), Err(GcError::NotACell(_))));
        assert!(h.owns(liar as *const u8) && !h.owns(dead as *const u8));
        assert!(h.stats().bad_pointers >= 5);
        sound(&mut h, &mut vm, keep);
        assert!(
            other.owns(foreign as *const u8),
            "the other heap is untouched"
        );
    }
}

#[test]
fn a_smashed_header_is_seen_and_never_traced() {
    let (mut h, ty, _) = heap(false);
    let keep = node(&mut h, ty, 0);
    let victim = node(&mut h, ty, keep);
    // SAFETY: the word before a payload is its header, in the heap: the VM
    // overflowing a neighbour's buffer.
    unsafe { (victim as *mut u64).sub(1).write(0xdead_beef) };
    assert_eq!(h.verify().len(), 1);
    let mut vm = Liar {
        roots: vec![victim],
        released: 0,
    };
    assert!(matches!(h.collect(&mut vm), Err(GcError::NotACell(_))));
    assert!(
        !h.owns(keep as *const u8),
        "not traced through the smashed cell"
    );
    // SAFETY: as above: the VM repairs it.
    unsafe { (victim as *mut u64).sub(1).write(u64::from(ty.index())) };
    let keep = node(&mut h, ty, 0);
    sound(&mut h, &mut vm, keep);
}

#[test]
fn calls_in_the_wrong_phase_are_refused() {
    let (mut h, ty, leaf) = heap(true);
    let keep = node(&mut h, ty, 0);
    let mut vm = Liar {
        roots: vec![keep],
        released: 0,
    };
    h.begin(&mut vm).unwrap();
    assert_eq!(h.phase(), CellPhase::Marking);
    for e in [
        h.alloc(leaf, 8).map(|_| ()),
        h.begin(&mut vm),
        h.collect(&mut vm).map(|_| ()),
        h.release_all(&mut vm).map(|_| ()),
    ] {
        assert!(matches!(e, Err(GcError::WrongPhase { .. })), "{e:?}");
    }
    h.finish(&mut vm).unwrap();
    for e in [
        h.mark(keep as *const u8),
        h.drain(&mut vm),
        h.is_marked(keep as *const u8).map(|_| ()),
        h.finish(&mut vm).map(|_| ()),
    ] {
        assert!(matches!(e, Err(GcError::WrongPhase { .. })), "{e:?}");
    }
    sound(&mut h, &mut vm, keep);
}
