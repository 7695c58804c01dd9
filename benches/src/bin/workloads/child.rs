//! The child process's side: one workload under one plan, mode and
//! nursery, its checksums asserted, its figures printed on stdout as one
//! line of JSON ([`Run`]) for the parent to read back.

use crate::results::Run;
use crate::workload::Workload;
use capability_heap::RefMode;
use capgc_benches::cli::{plan_named, run_in, PerMode};
use capgc_benches::workloads::churn::{churn, churn_expected, ChurnParams};
use capgc_benches::workloads::large::{large, large_checksum, LargeParams};
use capgc_benches::workloads::live_sweep::{live_sweep, LiveSweepParams};
use capgc_benches::workloads::{
    binary_trees, gcbench, gcbench_expected, BinaryTrees, GcBenchParams,
};
use gc_core::{CollectionKind, Heap, HeapConfig, Plan, ScanStrategy};
use std::time::{Duration, Instant};

/// Bytes allocated at every step of live-sweep, whatever the live size.
pub const SWEEP_GARBAGE_MIB: u64 = 128;

const MIB: f64 = (1 << 20) as f64;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// How the child configures its heap: the latency preset (the default),
/// the throughput preset, or a fixed nursery of so many KiB.
fn config_for(plan: Plan, scan: ScanStrategy, nursery: &str) -> HeapConfig {
    let base = match nursery {
        "throughput" => HeapConfig::throughput(),
        _ => HeapConfig::latency(),
    };
    let fixed = nursery.parse::<u64>().ok().map(|k| k << 10);
    HeapConfig {
        plan,
        nursery_size: fixed.unwrap_or(base.nursery_size),
        // A nursery size given on the command line is fixed.
        pause_goal: if fixed.is_some() {
            None
        } else {
            base.pause_goal
        },
        limit: 8 << 30,
        scan,
        log: gc_core::log_from_env(),
        ..base
    }
}

/// One child's run: a workload under one plan and nursery.
struct Child<'a> {
    plan: Plan,
    workload: Workload,
    nursery: &'a str,
}

impl PerMode for Child<'_> {
    type Output = Result<Run, String>;
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
        child::<M>(self, scan)
    }
}

/// Runs the workload on `h`, checks its result, and fills in the
/// workload's own figures.
fn run_workload<M: RefMode>(h: &mut Heap<M>, w: Workload, r: &mut Run) -> Result<(), String> {
    let e = |e: gc_core::GcError| e.to_string();
    match w {
        Workload::BinaryTrees(n) => {
            let got = binary_trees(h, n).map_err(e)?;
            if got != BinaryTrees::expected(n) {
                return Err(format!("wrong binary-trees result: {got:?}"));
            }
        }
        Workload::GcBench => {
            let got = gcbench(h, GcBenchParams::default()).map_err(e)?;
            if got.trees != gcbench_expected(GcBenchParams::default()) {
                return Err(format!("wrong GCBench result: {got:?}"));
            }
        }
        Workload::Churn(slots) => {
            let p = ChurnParams::with_slots(slots);
            let got = churn(h, p).map_err(e)?;
            if got != churn_expected(p) {
                return Err(format!("wrong churn result: {got:?}"));
            }
        }
        Workload::Large(allocations) => {
            let p = LargeParams {
                allocations: u64::from(allocations),
                ..LargeParams::default()
            };
            let got = large(h, p).map_err(e)?;
            if got.checksum != large_checksum(p) {
                return Err(format!("wrong large result: {got:?}"));
            }
            r.requested_mib = got.requested_bytes as f64 / MIB;
            r.padding_mib = got.padding_bytes as f64 / MIB;
        }
        Workload::LiveSweep(live_mib) => {
            let p = LiveSweepParams {
                live_bytes: u64::from(live_mib) << 20,
                garbage_bytes: SWEEP_GARBAGE_MIB << 20,
                forced_full: 3,
            };
            let got = live_sweep(h, p).map_err(e)?;
            if got.trees_found != got.trees {
                return Err(format!("live-sweep lost live data: {got:?}"));
            }
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            r.live_mib = got.live_bytes as f64 / MIB;
            r.sweep_collections = got.collections as f64;
            r.sweep_gc_ms = ms(got.gc);
            r.sweep_full_collections = got.full_collections as f64;
            r.sweep_full_gc_ms = ms(got.full_gc);
            r.forced_full_ms = ms(got.forced_full);
        }
    }
    Ok(())
}

fn child<M: RefMode>(run: Child<'_>, scan: ScanStrategy) -> Result<Run, String> {
    let cfg = config_for(run.plan, scan, run.nursery);
    let mut h = Heap::<M>::new(cfg).map_err(|e| e.to_string())?;
    let mut r = Run::default();
    let start = Instant::now();
    run_workload(&mut h, run.workload, &mut r)?;
    let total = start.elapsed();
    let s = h.stats();
    let p = h.pauses();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    r.total_ms = ms(total);
    r.gc_ms = ms(s.total_pause);
    r.p50_ms = ms(p.percentile(None, 0.5));
    r.p90_ms = ms(p.percentile(None, 0.9));
    r.p99_ms = ms(p.percentile(None, 0.99));
    r.p999_ms = ms(p.percentile(None, 0.999));
    r.max_ms = ms(p.max(None));
    r.minor_p99_ms = ms(p.percentile(Some(CollectionKind::Minor), 0.99));
    r.collections = s.collections as f64;
    r.copied_mib = s.bytes_copied as f64 / MIB;
    r.allocated_mib = s.bytes_allocated as f64 / MIB;
    r.caps_derived_m = s.caps_derived as f64 / 1e6;
    r.checks_m = s.checks as f64 / 1e6;
    r.rss_mib = peak_rss_mib();
    r.nursery_kib = (s.nursery_bytes >> 10) as f64;
    Ok(r)
}

/// The child's entry: `--child PLAN MODE WORKLOAD N [NURSERY]`.
pub fn run_child(args: &[String]) -> ! {
    let plan = plan_named(&args[0]).expect("plan");
    let mode = args[1].as_str();
    let n: u32 = args[3].parse().expect("workload size");
    let workload = Workload::sized(&args[2], n).expect("workload");
    let nursery = args.get(4).map_or("", String::as_str);
    let run = Child {
        plan,
        workload,
        nursery,
    };
    let r = run_in(mode, run).unwrap_or_else(|| Err(format!("unknown mode {mode:?}")));
    match r {
        Ok(r) => {
            println!("{}", serde_json::to_string(&r).expect("figures serialise"));
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
