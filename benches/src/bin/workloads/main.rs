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
//! collections, bytes allocated and copied, copy throughput, capabilities
//! derived, checks performed, peak RSS; then the ratios Native : P128 :
//! SoftCheri per plan; every configuration against the peers — bdwgc and
//! malloc as their users write the program (the headline), the same two
//! shaped like the `capgc.h` program, MMTk's best plan — and the C program
//! on `capgc.h` against the Rust API; and the machine's memcpy and memset
//! bandwidth for reference.
//!
//! The peers: binary-trees and GCBench in C on glibc malloc/free and on
//! bdwgc, idiomatic (`benches/c/*_idiomatic.c`) and shaped
//! (`benches/c/{binary_trees,gcbench}.c` over `backend.h`), built by
//! `build.rs`; the same on MMTk under GenImmix, Immix, SemiSpace and
//! MarkSweep (`benches/mmtk-peer`, the `mmtk-peer` binary beside this one:
//! `cargo build --release -p mmtk-peer`).
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

/// The MMTk plans the MMTk peer runs under by default (`--mmtk-plans`).
const MMTK_PLANS: [&str; 4] = ["GenImmix", "Immix", "SemiSpace", "MarkSweep"];

/// memcpy and memset bandwidth of this machine (GB/s; the best of five
/// passes over 64 MiB), beside the copy-throughput column.
fn bandwidths() -> (f64, f64) {
    let n = 64 << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    let (mut copy, mut set) = (f64::MAX, f64::MAX);
    for i in 0..5u8 {
        let t = Instant::now();
        dst.copy_from_slice(std::hint::black_box(&src));
        copy = copy.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
        let t = Instant::now();
        dst.fill(std::hint::black_box(i));
        set = set.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&dst);
    }
    (n as f64 / copy / 1e9, n as f64 / set / 1e9)
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
    /// A peer program: C on malloc or bdwgc or the MMTk peer (each an
    /// executable of its own), or C on `capgc.h` (this binary, `--c-peer
    /// STEM MODE PLAN [N]`), or the Scheme interpreter on `capgc.h` (this
    /// binary, `--scheme ARGS`).
    Peer {
        /// `C peer: malloc`, `MMTk: GenImmix`, `C on capgc.h: generational (latency)`, …
        label: String,
        /// [`report::PEER_MODE`], [`report::MMTK_MODE`], or the CapGC mode
        /// it runs in.
        mode: String,
        exe: PathBuf,
        args: Vec<String>,
    },
}

/// The plan label of a CapGC configuration (with its preset or nursery).
fn plan_label(plan: Plan, nursery: &str) -> String {
    match plan {
        Plan::Generational if nursery.parse::<u64>().is_ok() => {
            format!("generational ({nursery} KiB)")
        }
        Plan::Generational => format!("generational ({nursery})"),
        _ => plan.name().to_string(),
    }
}

impl Entry {
    fn plan_label(&self) -> String {
        match self {
            Entry::Capgc { plan, nursery, .. } => plan_label(*plan, nursery),
            Entry::Peer { label, .. } => label.clone(),
        }
    }

    fn mode_label(&self) -> &str {
        match self {
            Entry::Capgc { mode, .. } => mode,
            Entry::Peer { mode, .. } => mode,
        }
    }

    fn size(&self, w: Workload) -> u32 {
        match self {
            Entry::Capgc { workload, .. } => workload.size(),
            Entry::Peer { .. } => w.size(),
        }
    }

    fn command(&self, exe: &Path) -> Command {
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
            Entry::Peer { exe, args, .. } => {
                let mut cmd = Command::new(exe);
                cmd.args(args);
                cmd
            }
        }
    }
}

/// Runs `cmd` to completion: its stdout, and a [`Run`] with the whole
/// process's wall time, CPU time (user + system) and peak RSS (from
/// `wait4`). Its stderr passes through, or with `quiet` is kept and shown
/// only if it fails (the C peers name their backend there).
fn run_measured(mut cmd: Command, quiet: bool) -> Result<(String, Run), String> {
    use std::io::Read;
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(if quiet {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .map_err(|e| e.to_string())?;
    let err = child.stderr.take().map(|mut e| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = e.read_to_string(&mut s);
            s
        })
    });
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
        let err = err.and_then(|t| t.join().ok()).unwrap_or_default();
        return Err(if quiet {
            format!("failed (wait status {status}): {}", err.trim_end())
        } else {
            format!("failed (wait status {status}; its stderr is above)")
        });
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
         [--presets latency,throughput] [--nursery-kib K] [--no-peers] [--c-plans PLANS] \
         [--mmtk-plans GenImmix,Immix,SemiSpace,MarkSweep] [--scheme] [--max-live MIB] [--out DIR]\n       \
         workloads --charts-from RESULTS.json DIR"
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
    /// The plans the C program on capgc.h runs under.
    c_plans: Vec<Plan>,
    /// The MMTk plans the MMTk peer runs under (MMTk's names).
    mmtk_plans: Vec<String>,
    /// Also run binary-trees in the Scheme interpreter (every plan and
    /// mode selected).
    scheme: bool,
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
        c_plans: Vec::new(),
        mmtk_plans: MMTK_PLANS.iter().map(|p| p.to_string()).collect(),
        scheme: false,
        out: default_out(),
    };
    let mut c_plans = None;
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
            "--c-plans" => {
                c_plans = Some(next.split(',').filter_map(plan_named).collect::<Vec<_>>());
                i += 1;
            }
            "--mmtk-plans" => {
                o.mmtk_plans = next
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect();
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
            "--scheme" => o.scheme = true,
            _ => usage(),
        }
        i += 1;
    }
    if let (Workload::LiveSweep(_), Some(m)) = (o.workload, max_live) {
        o.workload = Workload::LiveSweep(m);
    }
    // By default the C program on capgc.h runs under Generational, or the
    // first plan selected without it.
    o.c_plans = c_plans.unwrap_or_else(|| {
        let first = if o.plans.contains(&Plan::Generational) {
            Some(Plan::Generational)
        } else {
            o.plans.first().copied()
        };
        first.into_iter().collect()
    });
    if o.scheme && !matches!(o.workload, Workload::BinaryTrees(_)) {
        eprintln!("--scheme runs binary-trees in the interpreter: select binary-trees N");
        std::process::exit(2);
    }
    if o.plans.is_empty() || o.modes.is_empty() || o.presets.is_empty() || o.rounds == 0 {
        eprintln!("no plan, mode, preset or round selected");
        std::process::exit(2);
    }
    o
}

/// The configurations, in the table's order; the peers that were asked
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
    let exe = std::env::current_exe().expect("own path");
    if let (true, Workload::BinaryTrees(n)) = (o.scheme, o.workload) {
        // The interpreter under every plan and mode selected, with
        // capgc.h's default configuration (Generational: the latency
        // preset).
        for plan in &o.plans {
            for mode in &o.modes {
                let Some(flags) = capgc_benches::c_peers::scheme_mode(mode) else {
                    continue;
                };
                let mut args = vec!["--scheme".to_string(), "--plan".into(), plan.name().into()];
                args.extend(flags.iter().map(|f| f.to_string()));
                args.extend([
                    capgc_benches::c_peers::SCHEME_BINARY_TREES.to_string(),
                    "--".into(),
                    n.to_string(),
                ]);
                entries.push(Entry::Peer {
                    label: format!("{}{}", report::SCHEME, plan_label(*plan, "latency")),
                    mode: mode.to_string(),
                    exe: exe.clone(),
                    args,
                });
            }
        }
    }
    let peer_dir = PathBuf::from(env!("CAPGC_PEERS_DIR"));
    let mut missing = Vec::new();
    let Some(stem) = o.workload.peer_stem().filter(|_| o.peers) else {
        return (entries, missing);
    };
    // binary-trees takes its depth; GCBench runs at its original size.
    let size: Vec<String> = match o.workload {
        Workload::BinaryTrees(n) => vec![n.to_string()],
        _ => Vec::new(),
    };
    // The C peers, idiomatic (the headline) and shaped like the capgc.h
    // program.
    for (name, shape, stem) in [
        ("malloc", "", format!("{stem}_idiomatic")),
        ("bdwgc", "", format!("{stem}_idiomatic")),
        ("malloc", report::SHAPED, stem.to_string()),
        ("bdwgc", report::SHAPED, stem.to_string()),
    ] {
        let path = peer_dir.join(format!("{stem}-{name}"));
        if path.exists() {
            entries.push(Entry::Peer {
                label: format!("C peer: {name}{shape}"),
                mode: report::PEER_MODE.to_string(),
                exe: path,
                args: size.clone(),
            });
        } else if !missing.contains(&name) {
            missing.push(name);
        }
    }
    // The MMTk peer: `mmtk-peer` beside this binary (a workspace member
    // of its own, so that mmtk's build is not this crate's).
    let mmtk = exe.with_file_name("mmtk-peer");
    if !o.mmtk_plans.is_empty() && !mmtk.exists() {
        missing.push("MMTk (cargo build --release -p mmtk-peer)");
    } else {
        for plan in &o.mmtk_plans {
            let mut args = vec![plan.clone(), o.workload.name().to_string()];
            args.extend(size.iter().cloned());
            entries.push(Entry::Peer {
                label: format!("{}{plan}", report::MMTK),
                mode: report::MMTK_MODE.to_string(),
                exe: mmtk.clone(),
                args,
            });
        }
    }
    // On capgc.h (the slot API) and on capgc_fast.h (the fast path): the
    // `--c-plans` (Generational with capgc.h's default, the latency
    // preset), in every selected mode C can ask for.
    for plan in &o.c_plans {
        for mode in &o.modes {
            let Some(c_mode) = capgc_benches::c_peers::c_mode(mode) else {
                continue;
            };
            let mut args = vec![
                "--c-peer".to_string(),
                stem.to_string(),
                c_mode.to_string(),
                plan.name().to_string(),
            ];
            args.extend(size.iter().cloned());
            let mut fast = args.clone();
            fast[1] = format!("{stem}_fast");
            entries.push(Entry::Peer {
                label: format!("{}{}", report::CAPGC_H, plan_label(*plan, "latency")),
                mode: mode.to_string(),
                exe: exe.clone(),
                args,
            });
            // The same program on the fast path (capgc_fast.h).
            entries.push(Entry::Peer {
                label: format!("{}{}", report::CAPGC_FAST_H, plan_label(*plan, "latency")),
                mode: mode.to_string(),
                exe: exe.clone(),
                args: fast,
            });
        }
    }
    (entries, missing)
}

fn header(o: &Options, missing: &[&str]) -> String {
    let d = HeapConfig::latency();
    let mut s = format!(
        "workload: {}, {} interleaved rounds (A B C … A B C …), one process per run, medians (min–max)\n\
         presets: latency = nursery sized to a {:.1} ms pause goal, at most {} KiB (final size in the nursery column); \
         throughput = nursery of half the live heap, {} to {} KiB (final size in the nursery column)\n\n",
        o.workload.label(),
        o.rounds,
        d.pause_goal.map_or(0.0, |g| g.as_secs_f64() * 1e3),
        d.nursery_size >> 10,
        HeapConfig::THROUGHPUT_NURSERY >> 11,
        HeapConfig::THROUGHPUT_NURSERY >> 10,
    );
    if !missing.is_empty() {
        s += &format!(
            "peers not built (no C compiler or no bdwgc when this binary was built; no mmtk-peer beside it): {}\n\n",
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
            let (out, measured) = run_measured(e.command(&exe), matches!(e, Entry::Peer { .. }))
                .unwrap_or_else(|err| {
                    fail(format!("{} {}: {err}", e.plan_label(), e.mode_label()))
                });
            let mut r = match e {
                Entry::Capgc { .. } => serde_json::from_str::<Run>(out.trim())
                    .unwrap_or_else(|err| fail(format!("unreadable child figures {out:?}: {err}"))),
                Entry::Peer { label, mode, .. } => {
                    if Some(&out) != expected.as_ref() {
                        fail(format!("{label} {mode} printed wrong checksums:\n{out}"));
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

/// `--charts-from RESULTS.json DIR`: draws the charts of an earlier run
/// from its `results.json` into `DIR` (no workload runs).
fn redraw(json: &Path, dir: &Path) -> i32 {
    let drawn = std::fs::read_to_string(json)
        .map_err(|e| format!("{}: {e}", json.display()))
        .and_then(|text| {
            serde_json::from_str::<Results>(&text).map_err(|e| format!("{}: {e}", json.display()))
        })
        .and_then(|r| {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let sweep = r.parameters.workload == "live-sweep";
            charts::draw(dir, &r.configurations, &r.parameters.label, sweep)
        });
    match drawn {
        Ok(paths) => {
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            println!("written: {}", names.join(", "));
            0
        }
        Err(e) => {
            eprintln!("--charts-from: {e}");
            1
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child") => child::run_child(&args[1..]),
        Some("--c-peer") => {
            let status = args
                .get(1)
                .and_then(|stem| capgc_benches::c_peers::run(stem, &args[2..]));
            std::process::exit(status.unwrap_or(2))
        }
        Some("--scheme") => {
            std::process::exit(capgc_benches::c_peers::scheme(&args[1..]).unwrap_or(2))
        }
        Some("--charts-from") => match (args.get(1), args.get(2)) {
            (Some(json), Some(dir)) => std::process::exit(redraw(Path::new(json), Path::new(dir))),
            _ => usage(),
        },
        _ => {}
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
    let (memcpy, memset) = bandwidths();
    let machine = Machine::here(memcpy, memset);
    let markdown = report::markdown(
        &header,
        o.workload,
        &configurations,
        &ratios,
        (machine.memcpy_gbps, machine.memset_gbps),
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
