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

use capability_heap::RefMode;
use capgc_benches::cli::{modes_named, plan_named, run_in, PerMode};
use capgc_benches::summary::{median, range, spread};
use capgc_benches::workloads::{
    binary_trees, c_peer_output, gcbench, gcbench_expected, BinaryTrees, GcBenchParams,
};
use gc_core::{CollectionKind, Heap, HeapConfig, Plan, ScanStrategy};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The modes compared by default (`--modes` selects any of
/// [`capgc_benches::cli::MODES`]).
const DEFAULT_MODES: &str = "native,p128,softcheri-morello,softcheri-morello/tags";

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
    wall_ms: f64,
}

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
    workload: &'a str,
    n: u32,
    nursery: &'a str,
}

impl PerMode for Child<'_> {
    type Output = Result<String, String>;
    fn run<M: RefMode>(self, scan: ScanStrategy) -> Self::Output {
        child::<M>(self, scan)
    }
}

fn child<M: RefMode>(run: Child<'_>, scan: ScanStrategy) -> Result<String, String> {
    let Child {
        plan,
        workload,
        n,
        nursery,
    } = run;
    let cfg = config_for(plan, scan, nursery);
    let mut h = Heap::<M>::new(cfg).map_err(|e| e.to_string())?;
    let start = Instant::now();
    if workload == "gcbench" {
        let got = gcbench(&mut h, GcBenchParams::default()).map_err(|e| e.to_string())?;
        if got.trees != gcbench_expected(GcBenchParams::default()) {
            return Err(format!("wrong GCBench result: {got:?}"));
        }
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
    let nursery = args.get(4).map_or("", String::as_str);
    let run = Child {
        plan,
        workload,
        n,
        nursery,
    };
    let r = run_in(mode, run).unwrap_or_else(|| Err(format!("unknown mode {mode:?}")));
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

/// One column of the comparison: a CapGC configuration or a C peer.
#[derive(Clone)]
enum Entry {
    Capgc {
        plan: Plan,
        mode: &'static str,
        /// "latency", "throughput" or a fixed nursery in KiB (Generational).
        nursery: String,
    },
    Peer {
        name: &'static str,
        exe: PathBuf,
    },
}

impl Entry {
    fn plan_label(&self) -> String {
        match self {
            Entry::Capgc { plan, nursery, .. } if *plan == Plan::Generational => {
                if nursery.parse::<u64>().is_ok() {
                    format!("generational ({nursery} KiB)")
                } else {
                    format!("generational ({nursery})")
                }
            }
            Entry::Capgc { plan, .. } => plan.name().to_string(),
            Entry::Peer { name, .. } => format!("C peer: {name}"),
        }
    }

    fn mode_label(&self) -> &str {
        match self {
            Entry::Capgc { mode, .. } => mode,
            Entry::Peer { .. } => "native (C)",
        }
    }
}

/// Runs `cmd` to completion (its stderr passes through): its stdout, whole-process wall time (ms) and
/// peak RSS (MiB, from `wait4`).
fn run_measured(mut cmd: Command) -> Result<(String, f64, f64), String> {
    use std::io::Read;
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut out)
        .map_err(|e| e.to_string())?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of the plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pid is our own child, not yet waited for (std's handle
    // is dropped without waiting); status and usage are valid out
    // pointers for the call's duration.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64() * 1e3;
    if pid < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(format!(
            "failed (wait status {status}; its stderr is above)"
        ));
    }
    Ok((out, wall, usage.ru_maxrss as f64 / 1024.0))
}

fn usage() -> ! {
    eprintln!(
        "usage: workloads [binary-trees N | gcbench] [--rounds R] [--plans marksweep,semispace,generational] \
         [--modes native,p128,softcheri-morello,softcheri-morello/tags,softcheri-cheri-v9,softcheri-riscv-std] [--presets latency,throughput] \
         [--nursery-kib K] [--no-peers]"
    );
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        run_child(&args[1..]);
    }
    let mut rounds = 3;
    let mut workload = ("binary-trees".to_string(), 16u32);
    let mut plans: Vec<Plan> = Plan::ALL.to_vec();
    let mut modes = modes_named(DEFAULT_MODES).expect("the default modes exist");
    let mut presets: Vec<String> = vec!["latency".into(), "throughput".into()];
    let mut peers = true;
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
            "--presets" => {
                presets = next
                    .split(',')
                    .filter(|p| ["latency", "throughput"].contains(p))
                    .map(str::to_string)
                    .collect();
                i += 1;
            }
            "--nursery-kib" => {
                if next.parse::<u64>().is_err() {
                    usage();
                }
                presets = vec![next.clone()];
                i += 1;
            }
            "--modes" => {
                modes = modes_named(&next).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                });
                i += 1;
            }
            "--no-peers" => peers = false,
            _ => usage(),
        }
        i += 1;
    }
    if plans.is_empty() || modes.is_empty() || presets.is_empty() {
        eprintln!("no plan, mode or preset selected");
        std::process::exit(2);
    }
    let exe = std::env::current_exe().expect("own path");
    let label = if workload.0 == "gcbench" {
        "gcbench".to_string()
    } else {
        format!("binary-trees {}", workload.1)
    };

    let mut entries = Vec::new();
    for plan in &plans {
        let nurseries: Vec<String> = if *plan == Plan::Generational {
            presets.clone()
        } else {
            vec![String::new()]
        };
        for nursery in nurseries {
            for mode in &modes {
                entries.push(Entry::Capgc {
                    plan: *plan,
                    mode,
                    nursery: nursery.clone(),
                });
            }
        }
    }
    let peer_dir = PathBuf::from(env!("CAPGC_PEERS_DIR"));
    let stem = if workload.0 == "gcbench" {
        "gcbench"
    } else {
        "binary_trees"
    };
    let mut missing = Vec::new();
    if peers {
        for name in ["malloc", "bdwgc"] {
            let path = peer_dir.join(format!("{stem}-{name}"));
            if path.exists() {
                entries.push(Entry::Peer { name, exe: path });
            } else {
                missing.push(name);
            }
        }
    }
    let d = HeapConfig::latency();
    println!(
        "workload: {label}, {rounds} interleaved rounds (A B C … A B C …), one process per run, medians (min–max)\n\
         presets: latency = nursery sized to a {:.1} ms pause goal, at most {} KiB (final size in the last column); \
         throughput = fixed {} KiB nursery\n",
        d.pause_goal.map_or(0.0, |g| g.as_secs_f64() * 1e3),
        d.nursery_size >> 10,
        HeapConfig::THROUGHPUT_NURSERY >> 10,
    );
    if !missing.is_empty() {
        println!(
            "C peers not built (no C compiler or no bdwgc when this binary was built): {}\n",
            missing.join(", ")
        );
    }

    let expected = c_peer_output(&workload.0, workload.1);
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); entries.len()];
    for _ in 0..rounds {
        for (ei, e) in entries.iter().enumerate() {
            let mut cmd;
            match e {
                Entry::Capgc {
                    plan,
                    mode,
                    nursery,
                } => {
                    cmd = Command::new(&exe);
                    cmd.args([
                        "--child",
                        plan.name(),
                        mode,
                        &workload.0,
                        &workload.1.to_string(),
                        nursery,
                    ]);
                }
                Entry::Peer { exe, .. } => {
                    cmd = Command::new(exe);
                    if workload.0 != "gcbench" {
                        cmd.arg(workload.1.to_string());
                    }
                }
            }
            let (out, wall, rss) = match run_measured(cmd) {
                Ok(r) => r,
                Err(err) => {
                    eprintln!("{} {}: {err}", e.plan_label(), e.mode_label());
                    std::process::exit(1);
                }
            };
            let mut r = match e {
                Entry::Capgc { .. } => parse_run(out.trim()),
                Entry::Peer { name, .. } => {
                    if out != expected {
                        eprintln!("C peer {name} printed wrong checksums:\n{out}");
                        std::process::exit(1);
                    }
                    Run::default()
                }
            };
            r.wall_ms = wall;
            r.rss_mib = rss;
            runs[ei].push(r);
        }
    }

    println!("| plan | mode | wall ms | total ms | gc ms | pause p50 ms | p99 ms | max ms | minor p99 ms | GCs | copied MiB | copy GB/s | peak RSS MiB | nursery KiB |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (ei, e) in entries.iter().enumerate() {
        let r = &runs[ei];
        let wall = spread(r, |x| x.wall_ms, 0);
        if let Entry::Peer { .. } = e {
            println!(
                "| {} | {} | {wall} | | | | | | | | | | {:.0} | |",
                e.plan_label(),
                e.mode_label(),
                median(r, |x| x.rss_mib)
            );
            continue;
        }
        let gc = median(r, |x| x.gc_ms);
        let copied = median(r, |x| x.copied_mib);
        let rate = if gc > 0.0 {
            copied * 1.048_576 / gc
        } else {
            0.0
        };
        println!(
            "| {} | {} | {wall} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {:.2} | {:.0} | {:.0} |",
            e.plan_label(),
            e.mode_label(),
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
    println!();

    // Ratios per (plan, preset): the modes against Native.
    let find = |plan: Plan, nursery: &str, mode: &str| {
        entries.iter().position(|e| {
            matches!(e, Entry::Capgc { plan: p, mode: m, nursery: n }
                if *p == plan && *m == mode && n == nursery)
        })
    };
    for (ei, e) in entries.iter().enumerate() {
        let Entry::Capgc {
            plan,
            mode: "native",
            nursery,
        } = e
        else {
            continue;
        };
        let n = median(&runs[ei], |x| x.wall_ms);
        let ratio =
            |mode: &str| find(*plan, nursery, mode).map(|j| median(&runs[j], |x| x.wall_ms) / n);
        if let (Some(p), Some(c)) = (ratio("p128"), ratio("softcheri-morello")) {
            println!(
                "{}: Native : P128 : SoftCheri = 1 : {p:.2} : {c:.2}   (wide pointers {p:.2}x, software checks {:.2}x; wall time)",
                e.plan_label(),
                c / p
            );
        }
    }
    // Every CapGC configuration against the C peers, wall time and peak RSS.
    let peer = |name: &str| {
        entries
            .iter()
            .position(|e| matches!(e, Entry::Peer { name: n, .. } if *n == name))
    };
    for name in ["bdwgc", "malloc"] {
        let Some(pi) = peer(name) else { continue };
        println!("\nvs {name} (ratio of medians of wall time; peak RSS):");
        let pw = median(&runs[pi], |x| x.wall_ms);
        let pr = median(&runs[pi], |x| x.rss_mib);
        for (ei, e) in entries.iter().enumerate() {
            if let Entry::Capgc { .. } = e {
                let w = &runs[ei];
                let (lo, hi) = range(w, |x| x.wall_ms);
                let (lo, hi) = (lo / pw, hi / pw);
                println!(
                    "  {} {}: {:.2}x ({lo:.2}–{hi:.2}), RSS {:.2}x",
                    e.plan_label(),
                    e.mode_label(),
                    median(w, |x| x.wall_ms) / pw,
                    median(w, |x| x.rss_mib) / pr
                );
            }
        }
    }
    if let (Some(b), Some(m)) = (peer("bdwgc"), peer("malloc")) {
        println!(
            "\nbdwgc vs malloc: {:.2}x",
            median(&runs[b], |x| x.wall_ms) / median(&runs[m], |x| x.wall_ms)
        );
    }
    let best = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.mode_label() == "native" && matches!(e, Entry::Capgc { .. }))
        .map(|(i, e)| (e.plan_label(), median(&runs[i], |x| x.wall_ms)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((best, t)) = best {
        println!("fastest configuration in Native: {best} ({t:.0} ms wall)");
    }
    println!("memcpy bandwidth: {:.2} GB/s (copy GB/s above is bytes copied / GC time, tracing included)", memcpy_gbps());
}
