//! What a run measured, as data: one [`Run`] per child process, summed
//! up per configuration ([`Summary`]: median, min and max of every
//! figure) and written with the run's parameters and the machine's
//! description to `results.json` ([`Results`]).
//!
//! The summary is taken field by field over the JSON form of the runs,
//! so a figure added to [`Run`] is summed up, written and parsed back
//! without being named again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One run's figures. The child fills in what its workload measures
/// (the rest stays 0); the parent adds wall time, CPU time and peak RSS.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Run {
    /// Whole-process wall time, ms (parent).
    pub wall_ms: f64,
    /// Whole-process user + system CPU time, ms (parent, from `wait4`).
    pub cpu_ms: f64,
    /// Peak RSS, MiB (parent, from `wait4`).
    pub rss_mib: f64,
    /// The workload's own time, ms.
    pub total_ms: f64,
    /// Time in collections, ms.
    pub gc_ms: f64,
    /// Pause percentiles and maximum over all collections, ms.
    pub p50_ms: f64,
    /// 90th percentile pause.
    pub p90_ms: f64,
    /// 99th percentile pause.
    pub p99_ms: f64,
    /// 99.9th percentile pause.
    pub p999_ms: f64,
    /// Longest pause.
    pub max_ms: f64,
    /// 99th percentile of minor (nursery) pauses.
    pub minor_p99_ms: f64,
    /// Collections.
    pub collections: f64,
    /// Bytes copied by moving collections, MiB.
    pub copied_mib: f64,
    /// Bytes of cells allocated, MiB.
    pub allocated_mib: f64,
    /// Capabilities derived (allocation and collection), millions.
    pub caps_derived_m: f64,
    /// Capability checks performed on mutator accesses, millions (0 in
    /// the unchecked modes, which perform none).
    pub checks_m: f64,
    /// Final nursery size, KiB (Generational).
    pub nursery_kib: f64,
    /// large: bytes asked for, MiB.
    pub requested_mib: f64,
    /// large: bytes of padding the mode's layout added, MiB.
    pub padding_mib: f64,
    /// live-sweep: live data after a full collection, MiB.
    pub live_mib: f64,
    /// live-sweep: collections during the allocation phase.
    pub sweep_collections: f64,
    /// live-sweep: their time, ms.
    pub sweep_gc_ms: f64,
    /// live-sweep: full collections among them.
    pub sweep_full_collections: f64,
    /// live-sweep: their time, ms.
    pub sweep_full_gc_ms: f64,
    /// live-sweep: one full collection of the live data alone, ms (the
    /// median of those forced after the allocation phase).
    pub forced_full_ms: f64,
}

/// Median, least and greatest of every figure of a configuration's runs.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Medians (the upper one of an even count).
    pub median: BTreeMap<String, f64>,
    /// Least values.
    pub min: BTreeMap<String, f64>,
    /// Greatest values.
    pub max: BTreeMap<String, f64>,
}

impl Summary {
    /// Sums up `runs` figure by figure.
    pub fn of(runs: &[Run]) -> Summary {
        let rows: Vec<BTreeMap<String, f64>> = runs
            .iter()
            .map(|r| {
                serde_json::from_value(serde_json::to_value(r).expect("figures serialise"))
                    .expect("figures are numbers")
            })
            .collect();
        let mut s = Summary::default();
        let Some(first) = rows.first() else {
            return s;
        };
        for key in first.keys() {
            let f = |r: &BTreeMap<String, f64>| r[key];
            let (lo, hi) = capgc_benches::summary::range(&rows, f);
            s.median
                .insert(key.clone(), capgc_benches::summary::median(&rows, f));
            s.min.insert(key.clone(), lo);
            s.max.insert(key.clone(), hi);
        }
        s
    }

    /// The median of `key` (0 if there is no such figure).
    pub fn get(&self, key: &str) -> f64 {
        self.median.get(key).copied().unwrap_or(0.0)
    }
}

/// One configuration: what ran, every round's figures, their summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Configuration {
    /// Plan label as in the table (`generational (latency)`, `C peer: bdwgc`).
    pub plan: String,
    /// Mode label as in the table.
    pub mode: String,
    /// The workload's size parameter (for live-sweep, the live MiB of this step).
    pub size: u32,
    /// One entry per round, in order.
    pub runs: Vec<Run>,
    /// Their summary.
    pub summary: Summary,
}

/// A ratio of medians the report quotes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ratio {
    /// What kind of comparison: `native` (a mode against Native),
    /// `bdwgc`, `malloc` (the idiomatic peers), `bdwgc shaped`, `malloc
    /// shaped`, `mmtk best` (MMTk's fastest plan in the run), `rust api`
    /// (a program on `capgc.h` against the Rust API); empty in results
    /// written before it existed.
    #[serde(default)]
    pub baseline: String,
    /// The configuration measured (`plan mode`).
    pub config: String,
    /// What it is divided by (`plan mode`).
    pub against: String,
    /// Ratio of median wall times.
    pub wall: f64,
    /// Its range: the configuration's least and greatest wall time over
    /// the other's median.
    pub wall_min: f64,
    /// See `wall_min`.
    pub wall_max: f64,
    /// Ratio of median peak RSS.
    pub rss: f64,
    /// Ratio of median CPU time (user + system, every thread: MMTk's GC
    /// workers and CapGC's alike), the steadier figure on a shared
    /// machine; 0 in results written before it existed.
    #[serde(default)]
    pub cpu: f64,
}

/// The run's command line and selections.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Parameters {
    /// The harness's arguments.
    pub args: Vec<String>,
    /// Workload name.
    pub workload: String,
    /// Workload label as in the report.
    pub label: String,
    /// Interleaved rounds.
    pub rounds: u32,
    /// Plans by name.
    pub plans: Vec<String>,
    /// Modes by name.
    pub modes: Vec<String>,
    /// Generational presets (or a nursery in KiB).
    pub presets: Vec<String>,
    /// Whether the C peers were asked for.
    pub peers: bool,
}

/// What the machine is.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// Memory, MiB (`/proc/meminfo`).
    pub memory_mib: f64,
    /// Kernel release.
    pub kernel: String,
    /// memcpy bandwidth measured before the run, GB/s.
    pub memcpy_gbps: f64,
    /// memset bandwidth measured before the run, GB/s.
    pub memset_gbps: f64,
    /// When the run ended, seconds since the Unix epoch.
    pub unix_time: u64,
    /// The same, as a UTC date (`YYYY-MM-DD`).
    pub date: String,
}

/// The UTC civil date of `unix` seconds (Howard Hinnant's `civil_from_days`).
pub fn utc_date(unix: u64) -> String {
    let z = (unix / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

impl Machine {
    /// This machine, with the bandwidths measured by the caller.
    pub fn here(memcpy_gbps: f64, memset_gbps: f64) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let field = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
                .unwrap_or_default()
        };
        let mem_kib = field(&read("/proc/meminfo"), "MemTotal")
            .trim_end_matches("kB")
            .trim()
            .parse::<f64>()
            .unwrap_or(0.0);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Machine {
            cpu: field(&read("/proc/cpuinfo"), "model name"),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_mib: mem_kib / 1024.0,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
            memcpy_gbps,
            memset_gbps,
            unix_time: now,
            date: utc_date(now),
        }
    }
}

/// Everything `results.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    /// How the harness was run.
    pub parameters: Parameters,
    /// Where.
    pub machine: Machine,
    /// Every configuration, in the table's order.
    pub configurations: Vec<Configuration>,
    /// The ratios the report quotes.
    pub ratios: Vec<Ratio>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_civil() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_796_255_999), "2026-12-02");
        assert_eq!(utc_date(1_796_256_000), "2026-12-03");
    }

    #[test]
    fn every_figure_is_summed_up() {
        let runs: Vec<Run> = [3.0, 1.0, 2.0]
            .iter()
            .map(|w| Run {
                wall_ms: *w,
                padding_mib: 2.0 * w,
                ..Run::default()
            })
            .collect();
        let s = Summary::of(&runs);
        assert_eq!(s.get("wall_ms"), 2.0);
        assert_eq!(s.min["padding_mib"], 2.0);
        assert_eq!(s.max["padding_mib"], 6.0);
        assert_eq!(s.median.len(), 25);
        assert!(Summary::of(&[]).median.is_empty());
    }
}
