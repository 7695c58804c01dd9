//! Runs a GC workload under every reference mode, interleaved round by
//! round so the modes share the machine's noise, and prints per-mode
//! medians and the purecap cost ratios (Native : P128 : SoftCheri).
//!
//! ```text
//! cargo run --release -p capgc-benches --bin workloads -- binary-trees 18 --rounds 5
//! cargo run --release -p capgc-benches --bin workloads -- gcbench
//! ```

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use capgc_benches::workloads::{binary_trees, gcbench, BinaryTrees, GcBenchParams};
use gc_core::{Heap, HeapConfig, ScanStrategy};
use std::time::{Duration, Instant};

#[derive(Clone, Copy)]
enum Workload {
    BinaryTrees(u32),
    GcBench,
}

/// One measured run.
#[derive(Clone, Copy, Default)]
struct Run {
    total: Duration,
    gc: Duration,
    max_pause: Duration,
    collections: u64,
    allocated: u64,
    peak_heap: u64,
}

fn run<M: RefMode>(w: Workload, scan: ScanStrategy) -> Result<Run, String> {
    let cfg = HeapConfig {
        limit: 4 << 30,
        scan,
        log: gc_core::log_from_env(),
        ..HeapConfig::default()
    };
    let mut h = Heap::<M>::new(cfg).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut peak = 0;
    match w {
        Workload::BinaryTrees(n) => {
            let got = binary_trees(&mut h, n).map_err(|e| e.to_string())?;
            if got != BinaryTrees::expected(n) {
                return Err(format!("wrong binary-trees result: {got:?}"));
            }
        }
        Workload::GcBench => {
            gcbench(&mut h, GcBenchParams::default()).map_err(|e| e.to_string())?;
        }
    }
    let total = start.elapsed();
    let s = h.stats();
    peak = peak.max(s.heap_bytes);
    Ok(Run {
        total,
        gc: s.total_pause,
        max_pause: s.max_pause,
        collections: s.collections,
        allocated: s.bytes_allocated,
        peak_heap: peak,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

type Runner = fn(Workload, ScanStrategy) -> Result<Run, String>;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut rounds = 3;
    let mut workload = Workload::BinaryTrees(18);
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "binary-trees" => {
                let n = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(18);
                workload = Workload::BinaryTrees(n);
                i += 1;
            }
            "gcbench" => workload = Workload::GcBench,
            "--rounds" => {
                rounds = args.get(i + 1).and_then(|a| a.parse().ok()).unwrap_or(3);
                i += 1;
            }
            other => {
                eprintln!(
                    "usage: workloads [binary-trees N | gcbench] [--rounds R]  (got {other:?})"
                );
                std::process::exit(2);
            }
        }
        i += 1;
    }
    let modes: [(&str, ScanStrategy, Runner); 4] = [
        ("native", ScanStrategy::TypeMap, run::<Native>),
        ("p128", ScanStrategy::TypeMap, run::<P128>),
        (
            "softcheri-morello",
            ScanStrategy::TypeMap,
            run::<SoftCheri<Morello>>,
        ),
        (
            "softcheri-morello/tags",
            ScanStrategy::Tags,
            run::<SoftCheri<Morello>>,
        ),
    ];
    let name = match workload {
        Workload::BinaryTrees(n) => format!("binary-trees {n}"),
        Workload::GcBench => "gcbench".to_string(),
    };
    println!("workload: {name}, plan marksweep, {rounds} interleaved rounds, medians\n");
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); modes.len()];
    for _ in 0..rounds {
        for (k, (label, scan, f)) in modes.iter().enumerate() {
            match f(workload, *scan) {
                Ok(r) => runs[k].push(r),
                Err(e) => {
                    eprintln!("{label}: {e}");
                    std::process::exit(1);
                }
            }
        }
    }
    println!("| mode | total ms | gc ms | max pause ms | collections | allocated MiB | heap MiB | total vs native |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let base = median(runs[0].iter().map(|r| r.total).collect());
    let mut totals = Vec::new();
    for (k, (label, _, _)) in modes.iter().enumerate() {
        let t = median(runs[k].iter().map(|r| r.total).collect());
        let g = median(runs[k].iter().map(|r| r.gc).collect());
        let p = median(runs[k].iter().map(|r| r.max_pause).collect());
        let r = runs[k][0];
        totals.push(t);
        println!(
            "| {label} | {:.1} | {:.1} | {:.2} | {} | {:.1} | {:.1} | {:.2}x |",
            ms(t),
            ms(g),
            ms(p),
            r.collections,
            r.allocated as f64 / (1 << 20) as f64,
            r.peak_heap as f64 / (1 << 20) as f64,
            t.as_secs_f64() / base.as_secs_f64()
        );
    }
    println!(
        "\nNative : P128 : SoftCheri = 1 : {:.2} : {:.2}   (P128 -> SoftCheri = {:.2}x, the cost of software checks)",
        totals[1].as_secs_f64() / totals[0].as_secs_f64(),
        totals[2].as_secs_f64() / totals[0].as_secs_f64(),
        totals[2].as_secs_f64() / totals[1].as_secs_f64(),
    );
}
