//! The report as text: the markdown table of medians that the harness
//! prints and writes to `results.md`, and the ratios under it — Native :
//! P128 : SoftCheri per plan and preset; every configuration against
//! idiomatic bdwgc (the headline), idiomatic malloc and MMTk's best plan,
//! every CapGC configuration against the peers shaped like the `capgc.h`
//! program — which [`ratios`] computes once for the text and the JSON.

use crate::results::{Configuration, Ratio, Summary};
use crate::workload::Workload;
use std::fmt::Write;

/// The mode label of the malloc and bdwgc peers' rows.
pub const PEER_MODE: &str = "native (C)";

/// What the labels of the C peers shaped like the `capgc.h` program end
/// with (every reference through a stack of slots, a third word per
/// node); the idiomatic ones are plain `C peer: bdwgc`, `C peer: malloc`.
pub const SHAPED: &str = ", capgc.h's shape";

/// The mode label of the MMTk peer's rows.
pub const MMTK_MODE: &str = "native (MMTk)";

/// What the plan labels of the MMTk peer start with.
pub const MMTK: &str = "MMTk: ";

/// What the plan labels of the C peer on `capgc.h` start with.
pub const CAPGC_H: &str = "C on capgc.h: ";

/// What the plan labels of the C peer on `capgc_fast.h` start with.
pub const CAPGC_FAST_H: &str = "C on capgc_fast.h: ";

/// What the plan labels of the Scheme interpreter's rows start with.
pub const SCHEME: &str = "Scheme on capgc.h: ";

/// The rows of programs on the C ABI, each compared with the same plan
/// and mode through the Rust API: their label prefix, and what the ratio
/// line calls them.
const VIA_C: [(&str, &str); 3] = [
    (CAPGC_H, "the C program on capgc.h"),
    (
        CAPGC_FAST_H,
        "the C program on capgc_fast.h (the fast path)",
    ),
    (
        SCHEME,
        "binary-trees in the Scheme interpreter (bindings/scheme, its hot paths on capgc_fast.h)",
    ),
];

/// The plan of a row on the C ABI (its label without the prefix).
fn via_c(c: &Configuration) -> Option<&str> {
    VIA_C
        .iter()
        .find_map(|(prefix, _)| c.plan.strip_prefix(prefix))
}

/// Whether `c` is a peer's row (malloc, bdwgc, MMTk, `capgc.h`, the
/// interpreter), whose figures are the process's alone (wall and CPU
/// time, peak RSS).
pub fn is_peer(c: &Configuration) -> bool {
    is_foreign(c) || via_c(c).is_some()
}

/// Whether `c` is another collector's or allocator's row (malloc, bdwgc,
/// MMTk): not CapGC.
fn is_foreign(c: &Configuration) -> bool {
    c.mode == PEER_MODE || c.mode == MMTK_MODE
}

/// `plan mode`, with the live size when the run has several.
fn name(c: &Configuration, sized: bool) -> String {
    if sized {
        format!("{} @ {} MiB live {}", c.plan, c.size, c.mode)
    } else {
        format!("{} {}", c.plan, c.mode)
    }
}

fn sized(configs: &[Configuration]) -> bool {
    configs.iter().any(|c| c.size != configs[0].size)
}

fn ratio(c: &Configuration, of: &Configuration, sized: bool, baseline: &str) -> Ratio {
    let base = of.summary.get("wall_ms");
    Ratio {
        baseline: baseline.to_string(),
        config: name(c, sized),
        against: name(of, sized),
        wall: c.summary.get("wall_ms") / base,
        wall_min: c.summary.min.get("wall_ms").copied().unwrap_or(0.0) / base,
        wall_max: c.summary.max.get("wall_ms").copied().unwrap_or(0.0) / base,
        rss: c.summary.get("rss_mib") / of.summary.get("rss_mib"),
        // A toy run's peer may use no measurable CPU time (0 ms): no ratio.
        cpu: match of.summary.get("cpu_ms") {
            0.0 => 0.0,
            base => c.summary.get("cpu_ms") / base,
        },
    }
}

/// The [`Ratio::baseline`] of a mode against Native.
pub const VS_NATIVE: &str = "native";
/// The [`Ratio::baseline`] of a program on `capgc.h` against the Rust API.
pub const VS_RUST_API: &str = "rust api";
/// The [`Ratio::baseline`] of ratios against MMTk's best plan.
pub const VS_MMTK_BEST: &str = "mmtk best";

/// The peers every configuration is compared with, in the report's
/// order: [`Ratio::baseline`], the row's plan label (for MMTk: its best
/// plan, the least median wall time), what the report calls it, and
/// whether the other peers are compared with it too (the shaped peers
/// compare CapGC's rows alone).
fn baselines(configs: &[Configuration]) -> Vec<(&'static str, &Configuration, String, bool)> {
    let c_peer = |n: &str| {
        configs
            .iter()
            .find(|c| c.mode == PEER_MODE && c.plan == format!("C peer: {n}"))
    };
    let mut out = Vec::new();
    for (key, label, what, all) in [
        (
            "bdwgc",
            "bdwgc",
            "idiomatic bdwgc (pointers in C locals, GC_MALLOC; the headline peer)".to_string(),
            true,
        ),
        (
            "malloc",
            "malloc",
            "idiomatic malloc/free".to_string(),
            true,
        ),
        (
            "bdwgc shaped",
            "bdwgc, capgc.h's shape",
            format!("bdwgc{SHAPED} (references through a stack of slots, 3-word nodes)"),
            false,
        ),
        (
            "malloc shaped",
            "malloc, capgc.h's shape",
            format!("malloc{SHAPED}"),
            false,
        ),
    ] {
        if let Some(c) = c_peer(label) {
            out.push((key, c, what, all));
        }
    }
    let mmtk_best = configs
        .iter()
        .filter(|c| c.mode == MMTK_MODE)
        .min_by(|a, b| {
            a.summary
                .get("wall_ms")
                .total_cmp(&b.summary.get("wall_ms"))
        });
    if let Some(b) = mmtk_best {
        let plan = b.plan.trim_start_matches(MMTK).to_string();
        out.push((
            VS_MMTK_BEST,
            b,
            format!("MMTk's best plan here ({plan})"),
            true,
        ));
    }
    out
}

/// Every mode against Native of the same plan, preset and size (the C
/// program on `capgc.h` too); every configuration against idiomatic
/// bdwgc and malloc and MMTk's best plan, and every CapGC configuration
/// against the shaped peers ([`baselines`]); the C program on `capgc.h`
/// against the same plan and mode through the Rust API.
pub fn ratios(configs: &[Configuration]) -> Vec<Ratio> {
    let sized = sized(configs);
    let mut out = Vec::new();
    for native in configs.iter().filter(|c| c.mode == "native") {
        for c in configs {
            if c.mode != "native"
                && !is_foreign(c)
                && c.plan == native.plan
                && c.size == native.size
            {
                out.push(ratio(c, native, sized, VS_NATIVE));
            }
        }
    }
    for (key, base, _, all) in baselines(configs) {
        for c in configs {
            if !std::ptr::eq(c, base) && (all || !is_foreign(c)) {
                out.push(ratio(c, base, sized, key));
            }
        }
    }
    for c in configs {
        if let Some(plan) = via_c(c) {
            let rust = configs
                .iter()
                .find(|r| r.plan == plan && r.mode == c.mode && r.size == c.size);
            if let Some(r) = rust {
                out.push(ratio(c, r, sized, VS_RUST_API));
            }
        }
    }
    out
}

/// Columns only some workloads have: header and cell.
type Extra = (&'static str, fn(&Summary) -> String);

fn extra_columns(w: Workload) -> Vec<Extra> {
    match w {
        Workload::Large(_) => vec![
            ("requested MiB", |s| {
                format!("{:.0}", s.get("requested_mib"))
            }),
            ("padding MiB", |s| format!("{:.1}", s.get("padding_mib"))),
            ("padding %", |s| {
                format!(
                    "{:.2}",
                    100.0 * s.get("padding_mib") / s.get("requested_mib")
                )
            }),
        ],
        Workload::LiveSweep(_) => vec![
            ("live MiB", |s| format!("{:.1}", s.get("live_mib"))),
            ("sweep GCs", |s| {
                format!("{:.0}", s.get("sweep_collections"))
            }),
            ("ms / GC", |s| format!("{:.3}", per_collection(s, false))),
            ("full GCs", |s| {
                format!("{:.0}", s.get("sweep_full_collections"))
            }),
            ("ms / full GC", |s| {
                format!("{:.3}", per_collection(s, true))
            }),
            ("forced full GC ms", |s| {
                format!("{:.2}", s.get("forced_full_ms"))
            }),
        ],
        _ => Vec::new(),
    }
}

/// live-sweep's figure: GC time per collection of the allocation phase
/// (all collections, or the full ones alone); 0 where there were none.
pub fn per_collection(s: &Summary, full: bool) -> f64 {
    let (gc, n) = if full {
        (s.get("sweep_full_gc_ms"), s.get("sweep_full_collections"))
    } else {
        (s.get("sweep_gc_ms"), s.get("sweep_collections"))
    };
    if n > 0.0 {
        gc / n
    } else {
        0.0
    }
}

/// `median (min–max)` of `key`.
fn spread(s: &Summary, key: &str) -> String {
    let (lo, hi) = (s.min[key], s.max[key]);
    format!("{:.0} ({lo:.0}–{hi:.0})", s.get(key))
}

fn table(out: &mut String, w: Workload, configs: &[Configuration]) {
    let extra = extra_columns(w);
    let heads: String = extra.iter().map(|(h, _)| format!(" {h} |")).collect();
    let aligns: String = extra.iter().map(|_| "---:|").collect();
    let _ = writeln!(out, "| plan | mode | wall ms | cpu ms | total ms | gc ms | pause p50 ms | p99 ms | max ms | minor p99 ms | GCs | allocated MiB | copied MiB | copy GB/s | caps derived M | checks M | peak RSS MiB | nursery KiB |{heads}");
    let _ = writeln!(
        out,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{aligns}"
    );
    for c in configs {
        let s = &c.summary;
        let (wall, cpu) = (spread(s, "wall_ms"), spread(s, "cpu_ms"));
        if is_peer(c) {
            let blanks = " |".repeat(extra.len());
            let _ = writeln!(
                out,
                "| {} | {} | {wall} | {cpu} | | | | | | | | | | | | | {:.0} | |{blanks}",
                c.plan,
                c.mode,
                s.get("rss_mib")
            );
            continue;
        }
        let gc = s.get("gc_ms");
        let copied = s.get("copied_mib");
        let rate = if gc > 0.0 {
            copied * 1.048_576 / gc
        } else {
            0.0
        };
        let cells: String = extra.iter().map(|(_, f)| format!(" {} |", f(s))).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {wall} | {cpu} | {:.0} | {gc:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} | {copied:.0} | {rate:.2} | {:.1} | {:.1} | {:.0} | {:.0} |{cells}",
            c.plan,
            c.mode,
            s.get("total_ms"),
            s.get("p50_ms"),
            s.get("p99_ms"),
            s.get("max_ms"),
            s.get("minor_p99_ms"),
            s.get("collections"),
            s.get("allocated_mib"),
            s.get("caps_derived_m"),
            s.get("checks_m"),
            s.get("rss_mib"),
            s.get("nursery_kib"),
        );
    }
}

/// The whole report: `header`, the table, the ratios, the memcpy and
/// memset bandwidths (GB/s).
pub fn markdown(
    header: &str,
    w: Workload,
    configs: &[Configuration],
    ratios: &[Ratio],
    (memcpy_gbps, memset_gbps): (f64, f64),
) -> String {
    let mut out = String::from(header);
    table(&mut out, w, configs);
    out.push('\n');
    let find = |config: &str, against: &str| {
        ratios
            .iter()
            .find(|r| r.config == config && r.against == against)
            .map(|r| r.wall)
    };
    let sized = sized(configs);
    for native in configs.iter().filter(|c| c.mode == "native") {
        let n = name(native, sized);
        let other = |mode: &str| n.strip_suffix("native").map(|p| format!("{p}{mode}"));
        let p = other("p128").and_then(|c| find(&c, &n));
        let c = other("softcheri-morello").and_then(|c| find(&c, &n));
        if let (Some(p), Some(c)) = (p, c) {
            let label = n.trim_end_matches(" native");
            let _ = writeln!(
                out,
                "{label}: Native : P128 : SoftCheri = 1 : {p:.2} : {c:.2}   (wide pointers {p:.2}x, software checks {:.2}x; wall time)",
                c / p
            );
        }
    }
    for (key, base, what, _) in baselines(configs) {
        let rows: Vec<&Ratio> = ratios.iter().filter(|r| r.baseline == key).collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\nvs {what}, {:.0} ms (ratio of medians of wall time, min–max of the rounds; of CPU time; of peak RSS):",
            base.summary.get("wall_ms")
        );
        for r in rows {
            let _ = writeln!(
                out,
                "  {}: {:.2}x ({:.2}–{:.2}), CPU {:.2}x, RSS {:.2}x",
                r.config, r.wall, r.wall_min, r.wall_max, r.cpu, r.rss
            );
        }
    }
    for (prefix, what) in VIA_C {
        let rows: Vec<&Ratio> = ratios
            .iter()
            .filter(|r| r.baseline == VS_RUST_API && r.config.starts_with(prefix))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{what} vs the same plan and mode through the Rust API (wall time):"
        );
        for r in rows {
            let _ = writeln!(
                out,
                "  {}: {:.2}x ({:.2}–{:.2})",
                r.config.trim_start_matches(prefix),
                r.wall,
                r.wall_min,
                r.wall_max
            );
        }
    }
    let best = configs
        .iter()
        .filter(|c| c.mode == "native")
        .min_by(|a, b| {
            a.summary
                .get("wall_ms")
                .total_cmp(&b.summary.get("wall_ms"))
        });
    if let Some(b) = best {
        let _ = writeln!(
            out,
            "fastest configuration in Native: {} ({:.0} ms wall)",
            name(b, sized).trim_end_matches(" native"),
            b.summary.get("wall_ms")
        );
    }
    let _ = writeln!(out, "memcpy bandwidth: {memcpy_gbps:.2} GB/s, memset: {memset_gbps:.2} GB/s (copy GB/s above is bytes copied / GC time, tracing included)");
    out
}
