//! The pause of collecting one small compartment of a cell heap next to a
//! large one, against a whole collection (docs/design.md "Compartments in
//! the binding profile"):
//!
//!     cargo run --release -p gc-core --example cell_compartment_pause [LARGE [SMALL]]
//!
//! LARGE cells (default 2,000,000) live in one compartment, SMALL (default
//! 10,000) in another, each a chain from one root; every round both make
//! the same number of cells of garbage. Prints the median pause of each
//! kind of collection over 7 rounds.

use gc_core::{CellConfig, CellHeap, CellType, CellVm, Marker};
use std::ptr::NonNull;
use std::time::Duration;

/// Roots: two chain heads. Cells: one pointer.
struct Vm {
    roots: Vec<*mut u8>,
}

impl CellVm for Vm {
    fn roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            m.mark(r);
        }
    }
    fn trace(&mut self, _ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        // SAFETY: every cell holds one pointer (or null), written at
        // allocation.
        m.mark(unsafe { cell.as_ptr().cast::<*const u8>().read() });
    }
    fn release(&mut self, _ty: CellType, _cell: NonNull<u8>) {}
}

fn chain(h: &mut CellHeap, ty: CellType, n: usize) -> *mut u8 {
    let mut next: *mut u8 = std::ptr::null_mut();
    for _ in 0..n {
        let p = h.alloc(ty, 8).expect("alloc").as_ptr();
        // SAFETY: an 8-byte payload.
        unsafe { p.cast::<*mut u8>().write(next) };
        next = p;
    }
    next
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let arg = |i: usize, d: usize| {
        std::env::args()
            .nth(i)
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let (large, small) = (arg(1, 2_000_000), arg(2, 10_000));
    let mut h = CellHeap::new(CellConfig {
        limit: 4 << 30,
        ..CellConfig::default()
    })
    .expect("heap");
    let ty = h.register_type(false).expect("type");
    let big = h.new_compartment().expect("compartment");
    let little = h.new_compartment().expect("compartment");
    h.set_current_compartment(big).expect("enter");
    let a = chain(&mut h, ty, large);
    h.set_current_compartment(little).expect("enter");
    let b = chain(&mut h, ty, small);
    let mut vm = Vm { roots: vec![a, b] };
    let (mut whole, mut alone) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        h.set_current_compartment(little).expect("enter");
        chain(&mut h, ty, small); // garbage
        whole.push(h.collect(&mut vm).expect("collect").pause);
        chain(&mut h, ty, small); // garbage
        alone.push(
            h.collect_compartment(&mut vm, little)
                .expect("collect one")
                .pause,
        );
    }
    let (w, s) = (median(whole), median(alone));
    println!(
        "large {large} cells, small {small}: whole collection {:.3} ms, the small compartment alone {:.3} ms ({:.0}x shorter)",
        w.as_secs_f64() * 1e3,
        s.as_secs_f64() * 1e3,
        w.as_secs_f64() / s.as_secs_f64()
    );
}
