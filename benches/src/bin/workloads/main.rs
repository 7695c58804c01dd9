//! Runs a GC workload under every plan × reference mode and prints the
//! purecap cost comparison as a markdown table of medians; writes it,
//! with every round's figures, as `results.json`, `results.md` and SVG
//! charts to `--out DIR` (default `target/capgc-results/`).
//!
//! Each configuration runs in a child process of its own (so peak RSS and
//! CPU time are that configuration's), and the configurations are
//! interleaved round by round so they share the machine's noise. Reported
//! per configuration: wall and CPU time, total time, GC time, pause p50 /
//! p99 / max (all collections, and minor ones alone for Generational),
//! collections, bytes copied, copy throughput, peak RSS; then the ratios
//! Native : P128 : SoftCheri per plan and the machine's memcpy bandwidth
//! for reference.
//!
//! - [`child`]: the child process's side, one run.
//! - [`workload`]: the workloads by name and their steps.
//! - [`results`]: the figures as data, and `results.json`.
//! - [`report`]: the table and ratios as text.
//! - [`charts`]: the SVG charts.
//!
//! ```text
//! cargo run --release -p capgc-benches --bin workloads -- binary-trees 16
//! cargo run --release -p capgc-benches --bin workloads -- gcbench --rounds 3 --plans generational
//! cargo run --release -p capgc-benches --bin workloads -- live-sweep --max-live 1024 --plans marksweep
//! ```

mod charts;
mod child;
mod report;
mod results;
mod workload;

use capgc_benches::cli::{modes_named, plan_named};
use gc_core::{HeapConfig, Plan};
use indicatif::{ProgressBar, ProgressStyle};
use results::{Configuration, Machine, Parameters, Results, Run, Summary};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use workload::Workload;

/// The modes compared by default (`--modes` selects any of
/// [`capgc_benches::cli::MODES`]).
const DEFAULT_MODES: &str = "native,p128,softcheri-morello,softcheri-morello/tags";

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
        /// The workload (for live-sweep, this entry's step).
        workload: Workload,
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
            Entry::Peer { .. } => report::PEER_MODE,
        }
    }

    fn size(&self, w: Workload) -> u32 {
        match self {
            Entry::Capgc { workload, .. } => workload.size(),
            Entry::Peer { .. } => w.size(),
        }
    }

    fn command(&self, exe: &Path, w: Workload) -> Command {
        match self {
            Entry::Capgc {
                plan,
                mode,
                nursery,
                workload,
            } => {
                let mut cmd = Command::new(exe);
                cmd.args(["--child", plan.name(), mode, workload.name()])
                    .arg(workload.size().to_string())
                    .arg(nursery);
                cmd
            }
            Entry::Peer { exe, .. } => {
                let mut cmd = Command::new(exe);
                if let Workload::BinaryTrees(n) = w {
                    cmd.arg(n.to_string());
                }
                cmd
            }
        }
    }
}

/// Runs `cmd` to completion (its stderr passes through): its stdout, and
/// a [`Run`] with the whole process's wall time, CPU time (user + system)
/// and peak RSS (from `wait4`).
fn run_measured(mut cmd: Command) -> Result<(String, Run), String> {
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
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    let run = Run {
        wall_ms: wall,
        cpu_ms: ms(usage.ru_utime) + ms(usage.ru_stime),
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
        ..Run::default()
    };
    Ok((out, run))
}

fn usage() -> ! {
    eprintln!(
        "usage: workloads [binary-trees N | gcbench | churn SLOTS | large ARRAYS | live-sweep] [--rounds R] \
         [--plans marksweep,semispace,generational] \
         [--modes native,p128,softcheri-morello,softcheri-morello/tags,softcheri-cheri-v9,softcheri-riscv-std] \
         [--presets latency,throughput] [--nursery-kib K] [--no-peers] [--max-live MIB] [--out DIR]"
    );
    std::process::exit(2);
}

/// What the command line selected.
struct Options {
    rounds: u32,
    workload: Workload,
    plans: Vec<Plan>,
    modes: Vec<&'static str>,
    presets: Vec<String>,
    peers: bool,
    out: PathBuf,
}

/// `target/capgc-results`: beside the `release` folder this binary is in.
fn default_out() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
        .join("capgc-results")
}

fn parse_args(args: &[String]) -> Options {
    let mut o = Options {
        rounds: 3,
        workload: Workload::named("binary-trees").expect("a workload"),
        plans: Plan::ALL.to_vec(),
        modes: modes_named(DEFAULT_MODES).expect("the default modes exist"),
        presets: vec!["latency".into(), "throughput".into()],
        peers: true,
        out: default_out(),
    };
    let mut max_live = None;
    let mut i = 0;
    while i < args.len() {
        let next = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            name if workload::NAMES.contains(&name) => {
                o.workload = Workload::named(name).expect("a workload");
                if let (Ok(n), false) = (next.parse(), name == "gcbench") {
                    o.workload = Workload::sized(name, n).expect("a workload");
                    i += 1;
                }
            }
            "--rounds" => {
                o.rounds = next.parse().unwrap_or_else(|_| usage());
                i += 1;
            }
            "--plans" => {
                o.plans = next.split(',').filter_map(plan_named).collect();
                i += 1;
            }
            "--presets" => {
                o.presets = next
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
                o.presets = vec![next.clone()];
                i += 1;
            }
            "--modes" => {
                o.modes = modes_named(&next).unwrap_or_else(|e| {
                    eprintln!("{e}");
                    usage()
                });
                i += 1;
            }
            "--max-live" => {
                max_live = Some(next.parse::<u32>().unwrap_or_else(|_| usage()));
                i += 1;
            }
            "--out" => {
                o.out = PathBuf::from(&next);
                i += 1;
            }
            "--no-peers" => o.peers = false,
            _ => usage(),
        }
        i += 1;
    }
    if let (Workload::LiveSweep(_), Some(m)) = (o.workload, max_live) {
        o.workload = Workload::LiveSweep(m);
    }
    if o.plans.is_empty() || o.modes.is_empty() || o.presets.is_empty() || o.rounds == 0 {
        eprintln!("no plan, mode, preset or round selected");
        std::process::exit(2);
    }
    o
}

/// The configurations, in the table's order; the C peers that were asked
/// for but not built.
fn entries(o: &Options) -> (Vec<Entry>, Vec<&'static str>) {
    let mut entries = Vec::new();
    for step in o.workload.steps() {
        for plan in &o.plans {
            let nurseries: Vec<String> = if *plan == Plan::Generational {
                o.presets.clone()
            } else {
                vec![String::new()]
            };
            for nursery in nurseries {
                for mode in &o.modes {
                    entries.push(Entry::Capgc {
                        plan: *plan,
                        mode,
                        nursery: nursery.clone(),
                        workload: step,
                    });
                }
            }
        }
    }
    let peer_dir = PathBuf::from(env!("CAPGC_PEERS_DIR"));
    let mut missing = Vec::new();
    if let (true, Some(stem)) = (o.peers, o.workload.peer_stem()) {
        for name in ["malloc", "bdwgc"] {
            let path = peer_dir.join(format!("{stem}-{name}"));
            if path.exists() {
                entries.push(Entry::Peer { name, exe: path });
            } else {
                missing.push(name);
            }
        }
    }
    (entries, missing)
}

fn header(o: &Options, missing: &[&str]) -> String {
    let d = HeapConfig::latency();
    let mut s = format!(
        "workload: {}, {} interleaved rounds (A B C … A B C …), one process per run, medians (min–max)\n\
         presets: latency = nursery sized to a {:.1} ms pause goal, at most {} KiB (final size in the nursery column); \
         throughput = fixed {} KiB nursery\n\n",
        o.workload.label(),
        o.rounds,
        d.pause_goal.map_or(0.0, |g| g.as_secs_f64() * 1e3),
        d.nursery_size >> 10,
        HeapConfig::THROUGHPUT_NURSERY >> 10,
    );
    if !missing.is_empty() {
        s += &format!(
            "C peers not built (no C compiler or no bdwgc when this binary was built): {}\n\n",
            missing.join(", ")
        );
    }
    s
}

/// Runs every entry `rounds` times, interleaved, with a progress bar on
/// stderr (hidden when stderr is not a terminal); exits on a failure.
fn run_rounds(o: &Options, entries: &[Entry]) -> Vec<Vec<Run>> {
    let exe = std::env::current_exe().expect("own path");
    let bar = ProgressBar::new(u64::from(o.rounds) * entries.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let expected = o
        .workload
        .peer_stem()
        .map(|_| capgc_benches::workloads::c_peer_output(o.workload.name(), o.workload.size()));
    let mut runs: Vec<Vec<Run>> = vec![Vec::new(); entries.len()];
    for round in 1..=o.rounds {
        for (ei, e) in entries.iter().enumerate() {
            bar.set_message(format!(
                "round {round}: {} {}",
                e.plan_label(),
                e.mode_label()
            ));
            let fail = |msg: String| -> ! {
                bar.abandon();
                eprintln!("{msg}");
                std::process::exit(1)
            };
            let (out, measured) = run_measured(e.command(&exe, o.workload)).unwrap_or_else(|err| {
                fail(format!("{} {}: {err}", e.plan_label(), e.mode_label()))
            });
            let mut r = match e {
                Entry::Capgc { .. } => serde_json::from_str::<Run>(out.trim())
                    .unwrap_or_else(|err| fail(format!("unreadable child figures {out:?}: {err}"))),
                Entry::Peer { name, .. } => {
                    if Some(&out) != expected.as_ref() {
                        fail(format!("C peer {name} printed wrong checksums:\n{out}"));
                    }
                    Run::default()
                }
            };
            (r.wall_ms, r.cpu_ms, r.rss_mib) =
                (measured.wall_ms, measured.cpu_ms, measured.rss_mib);
            runs[ei].push(r);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    runs
}

/// Writes `results.json`, `results.md` and the charts to `o.out`; the
/// paths written.
fn write_out(o: &Options, results: &Results, markdown: &str) -> Result<Vec<PathBuf>, String> {
    let dir = &o.out;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let write = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok::<PathBuf, String>(path)
    };
    let json = serde_json::to_string_pretty(results).map_err(|e| e.to_string())?;
    let mut written = vec![
        write("results.json", &json)?,
        write("results.md", markdown)?,
    ];
    let sweep = matches!(o.workload, Workload::LiveSweep(_));
    written.extend(charts::draw(
        dir,
        &results.configurations,
        &o.workload.label(),
        sweep,
    )?);
    Ok(written)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        child::run_child(&args[1..]);
    }
    let o = parse_args(&args);
    let (entries, missing) = entries(&o);
    let header = header(&o, &missing);
    print!("{header}");
    let runs = run_rounds(&o, &entries);
    let configurations: Vec<Configuration> = entries
        .iter()
        .zip(runs)
        .map(|(e, runs)| Configuration {
            plan: e.plan_label(),
            mode: e.mode_label().to_string(),
            size: e.size(o.workload),
            summary: Summary::of(&runs),
            runs,
        })
        .collect();
    let ratios = report::ratios(&configurations);
    let machine = Machine::here(memcpy_gbps());
    let markdown = report::markdown(
        &header,
        o.workload,
        &configurations,
        &ratios,
        machine.memcpy_gbps,
    );
    print!("{}", &markdown[header.len()..]);
    let results = Results {
        parameters: Parameters {
            args,
            workload: o.workload.name().to_string(),
            label: o.workload.label(),
            rounds: o.rounds,
            plans: o.plans.iter().map(|p| p.name().to_string()).collect(),
            modes: o.modes.iter().map(|m| m.to_string()).collect(),
            presets: o.presets.clone(),
            peers: o.peers,
        },
        machine,
        configurations,
        ratios,
    };
    match write_out(&o, &results, &markdown) {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            println!("\nwritten: {}", names.join(", "));
        }
        Err(e) => {
            eprintln!("writing the results: {e}");
            std::process::exit(1);
        }
    }
}
