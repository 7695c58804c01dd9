//! What a full collection of an empty heap costs with a 2^32-slot root
//! region (issue #24): the region reserves 64 GiB of slots, the VM uses a
//! few (4 slots in use). Prints the median of `--runs` collections
//! (default 15) in each mode and plan, beside the same heap with a
//! 16-slot region.
//!
//! `cargo run --release -p gc-core --example big_root_region [-- --runs N]`

use capability_heap::{Morello, Native, RefMode, SoftCheri};
use gc_core::{Heap, HeapConfig, Plan};
use std::time::{Duration, Instant};

/// The median time of `runs` full collections of `heap`.
fn median_collect<M: RefMode>(heap: &mut Heap<M>, runs: usize) -> Duration {
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            heap.collect().expect("collect");
            start.elapsed()
        })
        .collect();
    t.sort();
    t[runs / 2]
}

/// The median collection time of a heap whose root region has `slots`
/// slots, 4 of them in use (a VM's stack: a few slots at the bottom).
fn with_region<M: RefMode>(plan: Plan, slots: u64, runs: usize) -> Duration {
    let mut heap = Heap::<M>::new(HeapConfig {
        plan,
        ..HeapConfig::default()
    })
    .expect("heap");
    let node = heap.record_type(1, 8).expect("type");
    let region = heap.root_region_new(slots).expect("region");
    for i in 0..4 {
        let o = heap.alloc(node).expect("alloc");
        heap.root_set(region, i, &o).expect("root_set");
    }
    median_collect(&mut heap, runs)
}

fn measure<M: RefMode>(mode: &str, plan: Plan, runs: usize) {
    let small = with_region::<M>(plan, 16, runs);
    let big = with_region::<M>(plan, 1 << 32, runs);
    println!(
        "{mode:<18} {:<13} 16-slot region {:>10.1} µs   2^32-slot region {:>10.1} µs",
        format!("{plan:?}"),
        small.as_secs_f64() * 1e6,
        big.as_secs_f64() * 1e6
    );
}

fn main() {
    let mut runs = 15;
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--runs") {
        runs = args
            .get(i + 1)
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .expect("--runs N");
    }
    println!("median of {runs} full collections of a heap holding 4 objects, all in a root region");
    for plan in [Plan::MarkSweep, Plan::SemiSpace, Plan::Generational] {
        measure::<Native>("native", plan, runs);
        measure::<SoftCheri<Morello>>("softcheri-morello", plan, runs);
    }
}
