//! `mmtk-peer`: binary-trees and GCBench on MMTk (the `mmtk` crate,
//! mmtk-core) through a minimal VM binding, the MMTk peer of CapGC's
//! comparison harness (`workloads` runs it beside CapGC and the C peers,
//! interleaved, and checks what it prints).
//!
//! ```text
//! mmtk-peer PLAN binary-trees N
//! mmtk-peer PLAN gcbench [STRETCH]
//! ```
//!
//! PLAN is an MMTk plan: GenImmix, Immix, SemiSpace, MarkSweep (any of
//! MMTk's `PlanSelector` names). The heap is MMTk's `DynamicHeapSize`
//! trigger from 64 MiB to 8 GiB: its MemBalancer grows and shrinks the
//! heap, as bdwgc and CapGC grow theirs (MMTk's own default is a fixed
//! heap of half the machine's memory, which would hardly collect). From
//! 16 MiB the balancer kept binary-trees 18's heap so tight that
//! GenImmix collected 290 times in 4.6 s of CPU, against 66 times in
//! 0.9 s from 64 MiB (peak RSS 55 and 83 MiB; bdwgc's 66). The GC
//! threads are MMTk's default, one per CPU. `MMTK_*` variables override
//! any option (MMTk's own convention: `MMTK_THREADS=1`,
//! `MMTK_GC_TRIGGER=FixedHeapSize:128M`, `MMTK_STRESS_FACTOR=65536`).
//!
//! MMTk does not run under valgrind: at start-up it reserves about 11 TB
//! of address space for its side metadata in one `mmap`, which valgrind
//! 3.19 refuses (`EINVAL`), and MMTk panics. Its figures come from the
//! harness's timed runs alone.
//!
//! - [`binding`]: the VM binding (object model, scanning, collection,
//!   the one mutator).
//! - [`object`]: the object layout, one header word; the raw memory access.
//! - [`mutator`]: allocation (MMTk's bump-pointer fast path), the write
//!   barrier, the shadow stack.
//! - [`workloads`]: the two programs.

mod binding;
mod mutator;
mod object;
mod workloads;

use mmtk::{memory_manager, MMTKBuilder};

/// MMTk's heap trigger for the peer (see the crate doc).
const GC_TRIGGER: &str = "DynamicHeapSize:64M,8G";

fn usage() -> ! {
    eprintln!("usage: mmtk-peer PLAN binary-trees N | mmtk-peer PLAN gcbench [STRETCH 8..18]");
    std::process::exit(2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(plan), Some(workload)) = (args.first(), args.get(1)) else {
        usage()
    };
    let size: Option<u32> = args.get(2).map(|s| s.parse().unwrap_or_else(|_| usage()));
    let mut builder = MMTKBuilder::new_no_env_vars();
    if !builder.set_option("plan", plan) {
        eprintln!("mmtk-peer: unknown MMTk plan {plan:?}");
        usage();
    }
    for (k, v) in [
        ("gc_trigger", GC_TRIGGER),
        ("no_finalizer", "true"),
        ("no_reference_types", "true"),
    ] {
        assert!(builder.set_option(k, v), "MMTk option {k}={v}");
    }
    builder.options.read_env_var_settings();
    let mmtk = binding::set_mmtk(memory_manager::mmtk_init(&builder));
    memory_manager::initialize_collection(mmtk, binding::mutator_tls().0);
    let mut peer = mutator::Peer::new();
    match (workload.as_str(), size) {
        ("binary-trees", Some(n)) if n <= 30 => workloads::binary_trees(&mut peer, n),
        ("gcbench", None) => workloads::gcbench(&mut peer, 18),
        ("gcbench", Some(s)) if (8..=18).contains(&s) => workloads::gcbench(&mut peer, s),
        _ => usage(),
    }
    eprintln!(
        "backend mmtk {plan}, {} collections",
        binding::collections()
    );
}
