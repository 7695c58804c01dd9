//! Runs a GC workload under every plan × reference mode and prints the
//! purecap cost comparison as a markdown table of medians.
//!
//! Each configuration runs in a child process of its own (so peak RSS is
//! that configuration's), and the configurations are interleaved round by
//! round so they share the machine's noise. Reported per configuration:
//! total time, GC time, pause p50 / p99 / max (all collections, and minor
//! ones alone for Generational), collections, bytes copied, copy
//! throughput, peak RSS; then the ratios Native : P128 : SoftCheri per plan
//! and the machine's memcpy bandwidth for reference.
//!
//! ```text
//! cargo run --release -p capgc-benches --bin workloads -- binary-trees 16
//! cargo run --release -p capgc-benches --bin workloads -- gcbench --rounds 3 --plans generational
//! ```

use capability_heap::{Morello, Native, RefMode, SoftCheri, P128};
use capgc_benches::workloads::{binary_trees, gcbench, BinaryTrees, GcBenchParams};
use gc_core::{CollectionKind, Heap, HeapConfig, Plan, ScanStrategy};
use std::process::Command;
use std::time::{Duration, Instant};

const MODES: [&str; 4] = [
    "native",
    "p128",
    "softcheri-morello",
    "softcheri-morello/tags",
];

fn plan_named(s: &str) -> Option<Plan> {
    Plan::ALL.into_iter().find(|p| p.name() == s)
}

/// One run's figures, as the child prints them (one line, space-separated
/// `key=value`).
#[derive(Clone, Default)]
struct Run {
    total_ms: f64,
    gc_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    minor_p99_ms: f64,
    collections: f64,
    copied_mib: f64,
    rss_mib: f64,
    nursery_kib: f64,
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn child<M: RefMode>(
    plan: Plan,
    scan: ScanStrategy,
    workload: &str,
    n: u32,
    nursery: Option<u64>,
) -> Result<String, String> {
    let defaults = HeapConfig::default();
    let cfg = HeapConfig {
        plan,
        nursery_size: nursery.unwrap_or(defaults.nursery_size),
        // A nursery size given on the command line is fixed.
        pause_goal: if nursery.is_some() {
            None
        } else {
            defaults.pause_goal
        },
        limit: 8 << 30,
        scan,
        log: gc_core::log_from_env(),
        ..defaults
    };
    let mut h = Heap::<M>::new(cfg).map_err(|e| e.to_string())?;
    let start = Instant::now();
    if workload == "gcbench" {
        gcbench(&mut h, GcBenchParams::default()).map_err(|e| e.to_string())?;
    } else {
        let got = binary_trees(&mut h, n).map_err(|e| e.to_string())?;
        if got != BinaryTrees::expected(n) {
            return Err(format!("wrong binary-trees result: {got:?}"));
        }
    }
    let total = start.elapsed();
    let s = h.stats();
    let p = h.pauses();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    Ok(format!(
        "total_ms={} gc_ms={} p50_ms={} p99_ms={} max_ms={} minor_p99_ms={} collections={} copied_mib={} rss_mib={} nursery_kib={}",
        total.as_secs_f64() * 1e3,
        s.total_pause.as_secs_f64() * 1e3,
        ms(p.percentile(None, 0.5)),
        ms(p.percentile(None, 0.99)),
        ms(p.max(None)),
        ms(p.percentile(Some(CollectionKind::Minor), 0.99)),
        s.collections,
        s.bytes_copied as f64 / (1 << 20) as f64,
        peak_rss_mib(),
        s.nursery_bytes >> 10,
    ))
}

fn run_child(args: &[String]) -> ! {
    let plan = plan_named(&args[0]).expect("plan");
    let mode = args[1].as_str();
    let workload = args[2].as_str();
    let n: u32 = args[3].parse().unwrap_or(16);
    let nursery = args
        .get(4)
        .and_then(|k| k.parse::<u64>().ok())
        .map(|k| k << 10);
    let r = match mode {
        "native" => child::<Native>(plan, ScanStrategy::TypeMap, workload, n, nursery),
        "p128" => child::<P128>(plan, ScanStrategy::TypeMap, workload, n, nursery),
        "softcheri-morello" => {
            child::<SoftCheri<Morello>>(plan, ScanStrategy::TypeMap, workload, n, nursery)
        }
        _ => child::<SoftCheri<Morello>>(plan, ScanStrategy::Tags, workload, n, nursery),
    };
    match r {
        Ok(line) => {
            println!("{line}");
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}

fn parse_run(line: &str) -> Run {
    let mut r = Run::default();
    for kv in line.split_whitespace() {
        let Some((k, v)) = kv.split_once('=') else {
            continue;
        };
        let v: f64 = v.parse().unwrap_or(0.0);
        match k {
            "total_ms" => r.total_ms = v,
            "gc_ms" => r.gc_ms = v,
            "p50_ms" => r.p50_ms = v,
            "p99_ms" => r.p99_ms = v,
            "max_ms" => r.max_ms = v,
            "minor_p99_ms" => r.minor_p99_ms = v,
            "collections" => r.collections = v,
            "copied_mib" => r.copied_mib = v,
            "rss_mib" => r.rss_mib = v,
            "nursery_kib" => r.nursery_kib = v,
            _ => {}
        }
    }
    r
}

fn median(runs: &[Run], f: impl Fn(&Run) -> f64) -> f64 {
    let mut v: Vec<f64> = runs.iter().map(f).collect();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// memcpy bandwidth of this machine (GB/s), for the copy-throughput column.
fn memcpy_gbps() -> f64 {
    let n = 64 << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
    }
    n as f64 / best / 1e9
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        run_child(&args[1..]);
    }
    let mut rounds = 3;
    let mut workload = ("binary-trees".to_string(), 16u32);
    let mut plans: Vec<Plan> = Plan::ALL.to_vec();
    let mut modes: Vec<&str> = MODES.to_vec();
    let mut nursery_kib = String::new();
    let mut i = 0;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "binary-trees" => {
                if let Ok(n) = next.parse() {
                    workload = ("binary-trees".into(), n);
                    i += 1;
                } else {
                    workload = ("binary-trees".into(), 16);
                }
            }
            "gcbench" => workload = ("gcbench".into(), 0),
            "--rounds" => {
                rounds = next.parse().unwrap_or(3);
                i += 1;
            }
            "--plans" => {
                plans = next.split(',').filter_map(plan_named).collect();
                i += 1;
            }
            "--nursery-kib" => {
                nursery_kib = next.clone();
                i += 1;
            }
            "--modes" => {
                modes = MODES
                    .into_iter()
                    .filter(|m| next.split(',').any(|x| x == *m))
                    .collect();
                i += 1;
            }
            other => {
                eprintln!(
                    "usage: workloads [binary-trees N | gcbench] [--rounds R] [--plans marksweep,semispace,generational] [--modes native,p128,softcheri-morello,softcheri-morello/tags] [--nursery-kib K]  (got {other:?})"
                );
                std::process::exit(2);
            }
        }
        i += 1;
    }
    if plans.is_empty() || modes.is_empty() {
        eprintln!("no plan or mode selected");
        std::process::exit(2);
    }
    let exe = std::env::current_exe().expect("own path");
    let label = if workload.0 == "gcbench" {
        "gcbench".to_string()
    } else {
        format!("binary-trees {}", workload.1)
    };
    let nursery = if nursery_kib.is_empty() {
        let d = HeapConfig::default();
        match d.pause_goal {
            Some(g) => format!(
                "sized to a {:.1} ms pause goal, at most {} KiB (final size in the last column)",
                g.as_secs_f64() * 1e3,
                d.nursery_size >> 10
            ),
            None => format!("{} KiB (default)", d.nursery_size >> 10),
        }
    } else {
        format!("{nursery_kib} KiB")
    };
    println!(
        "workload: {label}, {rounds} interleaved rounds, one process per run, medians; nursery {nursery}\n"
    );
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); plans.len() * modes.len()];
    for _ in 0..rounds {
        for (pi, plan) in plans.iter().enumerate() {
            for (mi, mode) in modes.iter().enumerate() {
                let out = Command::new(&exe)
                    .args([
                        "--child",
                        plan.name(),
                        mode,
                        &workload.0,
                        &workload.1.to_string(),
                        &nursery_kib,
                    ])
                    .output()
                    .expect("spawn child");
                if !out.status.success() {
                    eprintln!(
                        "{} {mode}: {}",
                        plan.name(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                    std::process::exit(1);
                }
                let line = String::from_utf8_lossy(&out.stdout);
                runs[pi * modes.len() + mi].push(parse_run(line.trim()));
            }
        }
    }
    println!("| plan | mode | total ms | gc ms | pause p50 ms | p99 ms | max ms | minor p99 ms | GCs | copied MiB | copy GB/s | peak RSS MiB | nursery KiB |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (pi, plan) in plans.iter().enumerate() {
        for (mi, mode) in modes.iter().enumerate() {
            let r = &runs[pi * modes.len() + mi];
            let gc = median(r, |x| x.gc_ms);
            let copied = median(r, |x| x.copied_mib);
            let rate = if gc > 0.0 {
                copied * 1.048_576 / gc
            } else {
                0.0
            };
            println!(
                "| {} | {mode} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} |",
                plan.name(),
                median(r, |x| x.total_ms),
                gc,
                median(r, |x| x.p50_ms),
                median(r, |x| x.p99_ms),
                median(r, |x| x.max_ms),
                median(r, |x| x.minor_p99_ms),
                median(r, |x| x.collections),
                copied,
                rate,
                median(r, |x| x.rss_mib),
                median(r, |x| x.nursery_kib),
            );
        }
    }
    println!();
    let total = |pi: usize, mode: &str| {
        modes
            .iter()
            .position(|m| *m == mode)
            .map(|mi| median(&runs[pi * modes.len() + mi], |x| x.total_ms))
    };
    for (pi, plan) in plans.iter().enumerate() {
        if let (Some(n), Some(p), Some(c)) = (
            total(pi, "native"),
            total(pi, "p128"),
            total(pi, "softcheri-morello"),
        ) {
            println!(
                "{}: Native : P128 : SoftCheri = 1 : {:.2} : {:.2}   (wide pointers {:.2}x, software checks {:.2}x)",
                plan.name(),
                p / n,
                c / n,
                p / n,
                c / p
            );
        }
    }
    let all_native: Vec<(Plan, f64)> = plans
        .iter()
        .enumerate()
        .filter_map(|(pi, p)| total(pi, "native").map(|t| (*p, t)))
        .collect();
    if let Some((best, t)) = all_native.iter().min_by(|a, b| a.1.total_cmp(&b.1)) {
        println!("fastest plan in Native: {} ({t:.0} ms)", best.name());
    }
    println!("memcpy bandwidth: {:.2} GB/s (copy GB/s above is bytes copied / GC time, tracing included)", memcpy_gbps());
}
