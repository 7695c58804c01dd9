//! The pause of collecting one small compartment of a VM-traced cell heap
//! next to a large one, against a whole collection (issue #29's target:
//! "pauses in proportion to the sandbox, not the whole heap"; design.md
//! "Compartments in the binding profile").
//!
//! ```text
//! cargo run --release -p capgc-benches --bin cell_compartment_pause -- \
//!     [--large-mib 64,256] [--small-mib 0.25,1,4] [--rounds 7] [--checked] [--only whole|small]
//! ```
//!
//! A large compartment of LARGE MiB of live cells (linked in 64 chains
//! from the roots) and a small one, the sandbox, of SMALL MiB of live
//! cells (one chain); 2048 large cells, evenly spread, point into the
//! sandbox (the same number at every size) and
//! every 10th sandbox cell into the large compartment (reported through
//! `check_store`, the barrier). Each round makes SMALL MiB of garbage in
//! the sandbox (its first cell pointing into the large compartment) and
//! collects, alternating the order of the two kinds between rounds: the
//! whole heap, or the sandbox alone (`collect_compartment`). Prints the
//! median thread CPU time of each kind per collection (a shared machine:
//! wall time is noisy) and checks every round that exactly the garbage
//! was freed; at the end that every live cell is still there and the heap
//! verifies. `--checked` runs the checked configuration (the verifier
//! after every collection). `--only K` runs one collection of kind K
//! (after the setup and a whole collection) inside a function named
//! `measured_collection`, for `valgrind --tool=callgrind
//! --toggle-collect='*measured_collection*'`.

use gc_core::{CellCompartment, CellConfig, CellHeap, CellType, CellVm, Marker};
use std::process::exit;
use std::ptr::NonNull;
use std::time::Duration;

/// A cell's payload: two pointers (`next` in its chain, `cross`).
const CELL: u64 = 16;
/// Bytes a cell takes (payload and its 8-byte header, in the 32-byte
/// size class: the table's "heap live MiB" column is the heap's count).
const CELL_BYTES: f64 = 32.0;
/// Large cells pointing into the sandbox, whatever the sizes (so the
/// sandbox's extra roots stay the same as the large compartment grows).
const INTO_SANDBOX: usize = 2048;
/// Chains in the large compartment.
const CHAINS: usize = 64;

/// Roots: the chain heads. Counts the cells traced.
struct Vm {
    roots: Vec<*mut u8>,
    traced: u64,
}

impl CellVm for Vm {
    fn roots(&mut self, m: &mut Marker<'_>) {
        for &r in &self.roots {
            m.mark(r);
        }
    }
    fn trace(&mut self, _ty: CellType, cell: NonNull<u8>, m: &mut Marker<'_>) {
        self.traced += 1;
        let p = cell.as_ptr().cast::<*const u8>();
        // SAFETY: every cell has two pointer slots, written by `chain`
        // and `set_cross`.
        let (next, cross) = unsafe { (p.read(), p.add(1).read()) };
        m.mark(next);
        m.mark(cross);
    }
    fn release(&mut self, _ty: CellType, _cell: NonNull<u8>) {}
}

/// `n` linked cells in the current compartment, the head first.
fn chain(h: &mut CellHeap, ty: CellType, n: usize) -> Vec<*mut u8> {
    let mut cells = Vec::with_capacity(n);
    let mut next: *mut u8 = std::ptr::null_mut();
    for _ in 0..n {
        let p = h.alloc(ty, CELL).expect("alloc").as_ptr();
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

/// `from.cross = to`, reported as a VM's barrier would.
fn set_cross(h: &mut CellHeap, from: *mut u8, to: *mut u8) {
    // SAFETY: a live cell's second pointer slot.
    unsafe { from.cast::<*mut u8>().add(1).write(to) };
    h.check_store(from, to).expect("store");
}

/// This thread's CPU time.
fn cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to write.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The collection callgrind measures (`--only`): whole, or the sandbox.
#[inline(never)]
fn measured_collection(h: &mut CellHeap, vm: &mut Vm, small: Option<CellCompartment>) -> u64 {
    match small {
        Some(c) => {
            h.collect_compartment(vm, c)
                .expect("collect one")
                .freed_cells
        }
        None => h.collect(vm).expect("collect").freed_cells,
    }
}

struct World {
    h: CellHeap,
    vm: Vm,
    ty: CellType,
    small: CellCompartment,
    large_cells: Vec<*mut u8>,
    small_cells: Vec<*mut u8>,
}

fn build(large_mib: f64, small_mib: f64, checked: bool) -> World {
    let large_n = (large_mib * 1048576.0 / CELL_BYTES) as usize;
    let small_n = ((small_mib * 1048576.0 / CELL_BYTES) as usize).max(20);
    let mut h = CellHeap::new(CellConfig {
        limit: ((large_mib + 4.0 * small_mib) as u64 + 64) << 20,
        checked,
        manual: true,
        ..CellConfig::default()
    })
    .expect("heap");
    let ty = h.register_type(false).expect("type");
    let big = h.new_compartment().expect("compartment");
    let small = h.new_compartment().expect("compartment");
    h.set_current_compartment(big).expect("enter");
    let mut roots = Vec::new();
    let mut large_cells = Vec::with_capacity(large_n);
    for _ in 0..CHAINS {
        let c = chain(&mut h, ty, large_n / CHAINS);
        roots.push(c[0]);
        large_cells.extend(c);
    }
    h.set_current_compartment(small).expect("enter");
    let small_cells = chain(&mut h, ty, small_n);
    roots.push(small_cells[0]);
    let step = (large_cells.len() / INTO_SANDBOX).max(1);
    for (k, i) in (0..large_cells.len()).step_by(step).enumerate() {
        set_cross(&mut h, large_cells[i], small_cells[k % small_n]);
    }
    for i in (0..small_n).step_by(10) {
        let to = large_cells[(i * 7919) % large_cells.len()];
        set_cross(&mut h, small_cells[i], to);
    }
    let mut vm = Vm { roots, traced: 0 };
    h.collect(&mut vm).expect("collect"); // remembers the crossings
    World {
        h,
        vm,
        ty,
        small,
        large_cells,
        small_cells,
    }
}

/// Sandbox garbage: `n` cells, the first pointing into the large
/// compartment.
fn garbage(w: &mut World, n: usize) {
    let g = chain(&mut w.h, w.ty, n);
    set_cross(&mut w.h, g[0], w.large_cells[n % w.large_cells.len()]);
}

fn check(ok: bool, what: &str) {
    if !ok {
        eprintln!("cell_compartment_pause: FAILED: {what}");
        exit(1);
    }
}

fn list(s: &str) -> Vec<f64> {
    s.split(',')
        .map(|x| x.parse().unwrap_or_else(|_| usage()))
        .collect()
}

fn usage() -> ! {
    eprintln!(
        "usage: cell_compartment_pause [--large-mib A,B] [--small-mib X,Y] [--rounds N] [--checked] [--only whole|small]"
    );
    exit(2)
}

fn main() {
    let (mut larges, mut smalls, mut rounds) = (vec![64.0, 256.0], vec![0.25, 1.0, 4.0], 7);
    let (mut checked, mut only) = (false, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--large-mib" => larges = list(&val()),
            "--small-mib" => smalls = list(&val()),
            "--rounds" => rounds = val().parse().unwrap_or_else(|_| usage()),
            "--checked" => checked = true,
            "--only" => only = Some(val()),
            _ => usage(),
        }
    }
    if let Some(kind) = only {
        let mut w = build(larges[0], smalls[0], checked);
        let n = w.small_cells.len();
        garbage(&mut w, n);
        let c = match kind.as_str() {
            "whole" => None,
            "small" => Some(w.small),
            _ => usage(),
        };
        w.vm.traced = 0;
        let freed = measured_collection(&mut w.h, &mut w.vm, c);
        check(freed == n as u64, "exactly the garbage freed");
        println!(
            "{kind}: large {} MiB, small {} MiB: freed {freed}, traced {}",
            larges[0], smalls[0], w.vm.traced
        );
        return;
    }
    println!(
        "| large live | sandbox live | cells (large / sandbox) | heap live MiB | whole collection CPU ms | sandbox alone CPU ms | whole / alone | cells traced (whole / alone) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &large in &larges {
        for &small in &smalls {
            let mut w = build(large, small, checked);
            let n = w.small_cells.len();
            let live = w.h.stats().cells;
            check(
                live == (w.large_cells.len() + n) as u64,
                "the setup's collection keeps every live cell",
            );
            let (mut whole, mut alone) = (Vec::new(), Vec::new());
            let (mut tw, mut ta) = (0, 0);
            for r in 0..rounds {
                for kind in if r % 2 == 0 { [0, 1] } else { [1, 0] } {
                    garbage(&mut w, n);
                    w.vm.traced = 0;
                    let t = cpu();
                    let freed = if kind == 0 {
                        w.h.collect(&mut w.vm).expect("collect").freed_cells
                    } else {
                        w.h.collect_compartment(&mut w.vm, w.small)
                            .expect("collect one")
                            .freed_cells
                    };
                    let d = cpu() - t;
                    check(freed == n as u64, "exactly the garbage freed");
                    check(w.h.stats().cells == live, "every live cell kept");
                    if kind == 0 {
                        whole.push(d);
                        tw = w.vm.traced;
                    } else {
                        alone.push(d);
                        ta = w.vm.traced;
                    }
                }
            }
            check(
                w.large_cells
                    .iter()
                    .chain(&w.small_cells)
                    .all(|&p| w.h.owns(p)),
                "every reachable cell survives",
            );
            check(w.h.verify().is_empty(), "the heap verifies");
            let (a, b) = (median(whole), median(alone));
            println!(
                "| {large} MiB | {small} MiB | {} / {n} | {:.1} | {:.2} | {:.3} | {:.0}x | {tw} / {ta} |",
                w.large_cells.len(),
                w.h.stats().bytes_in_use as f64 / 1048576.0,
                a.as_secs_f64() * 1e3,
                b.as_secs_f64() * 1e3,
                a.as_secs_f64() / b.as_secs_f64()
            );
        }
    }
}
