//! The `workloads` binary end to end on tiny workloads: it writes
//! `results.json` that parses back with the structure promised (every
//! configuration, its rounds, its summary, the parameters and the
//! machine), `results.md`, and SVG charts.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs the harness with `args` into a fresh folder named `name`; the
/// folder and the parsed JSON.
fn run(name: &str, args: &[&str]) -> (PathBuf, Value) {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_workloads"))
        .args(args)
        .arg("--out")
        .arg(&out)
        .status()
        .expect("the harness runs");
    assert!(status.success(), "workloads {args:?}");
    let json = std::fs::read_to_string(out.join("results.json")).expect("results.json");
    (
        out,
        serde_json::from_str(&json).expect("results.json parses"),
    )
}

fn assert_svg(path: &Path) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        text.starts_with("<svg") || text.starts_with("<?xml"),
        "{} is not SVG",
        path.display()
    );
}

/// Every configuration has `rounds` runs and a median, min and max of
/// each figure, min ≤ median ≤ max.
fn assert_configurations(v: &Value, rounds: usize) -> &Vec<Value> {
    let configs = v["configurations"].as_array().expect("configurations");
    assert!(!configs.is_empty());
    for c in configs {
        assert!(c["plan"].is_string() && c["mode"].is_string() && c["size"].is_u64());
        let runs = c["runs"].as_array().expect("runs");
        assert_eq!(runs.len(), rounds, "{c}");
        for r in runs {
            assert!(r["wall_ms"].as_f64().unwrap() > 0.0);
            assert!(r["cpu_ms"].as_f64().unwrap() >= 0.0);
        }
        let s = &c["summary"];
        for key in ["wall_ms", "cpu_ms", "gc_ms", "p99_ms", "rss_mib"] {
            let (lo, mid, hi) = (
                s["min"][key].as_f64().unwrap(),
                s["median"][key].as_f64().unwrap(),
                s["max"][key].as_f64().unwrap(),
            );
            assert!(lo <= mid && mid <= hi, "{key}: {lo} {mid} {hi}");
        }
    }
    configs
}

#[test]
fn binary_trees_writes_json_markdown_and_charts() {
    let (out, v) = run(
        "harness-binary-trees",
        &[
            "binary-trees",
            "6",
            "--rounds",
            "2",
            "--plans",
            "marksweep,generational",
            "--modes",
            "native,p128,softcheri-morello",
            "--presets",
            "latency",
            "--c-plans",
            "marksweep,generational",
        ],
    );
    assert_eq!(v["parameters"]["workload"], "binary-trees");
    assert_eq!(v["parameters"]["rounds"], 2);
    assert!(v["machine"]["cpus"].as_u64().unwrap() >= 1);
    assert!(v["machine"]["memcpy_gbps"].as_f64().unwrap() > 0.0);
    assert!(v["machine"]["memset_gbps"].as_f64().unwrap() > 0.0);
    assert_eq!(v["machine"]["date"].as_str().unwrap().len(), 10);
    let configs = assert_configurations(&v, 2);
    // 2 plans × 3 modes in Rust and on capgc.h, and the malloc peer at least.
    assert!(configs.len() >= 13, "{}", configs.len());
    assert!(configs.iter().any(|c| c["plan"] == "C peer: malloc"));
    let config = |plan: &str, mode: &str| {
        configs
            .iter()
            .find(|c| c["plan"] == plan && c["mode"] == mode)
            .unwrap_or_else(|| panic!("no {plan} {mode}"))
    };
    for plan in ["marksweep", "generational (latency)"] {
        for mode in ["native", "p128", "softcheri-morello"] {
            config(&format!("C on capgc.h: {plan}"), mode);
        }
    }
    let median = |c: &Value, key: &str| c["summary"]["median"][key].as_f64().unwrap();
    // The counters: allocation everywhere, checks and derived
    // capabilities in SoftCheri alone, more bytes with 16-byte slots.
    let (native, p128, cheri) = (
        config("marksweep", "native"),
        config("marksweep", "p128"),
        config("marksweep", "softcheri-morello"),
    );
    assert!(median(native, "allocated_mib") > 0.0);
    assert!(median(p128, "allocated_mib") > median(native, "allocated_mib"));
    assert!(median(cheri, "checks_m") > 0.0 && median(cheri, "caps_derived_m") > 0.0);
    assert_eq!(median(native, "checks_m"), 0.0);
    let ratios = v["ratios"].as_array().expect("ratios");
    assert!(ratios
        .iter()
        .any(|r| r["config"] == "marksweep softcheri-morello"
            && r["against"] == "marksweep native"
            && r["wall"].as_f64().unwrap() > 0.0));
    assert!(ratios.iter().any(
        |r| r["config"] == "C on capgc.h: marksweep softcheri-morello"
            && r["against"] == "marksweep softcheri-morello"
    ));
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("| plan | mode | wall ms | cpu ms |") && md.contains("C peer: malloc"));
    assert!(md.contains("caps derived M") && md.contains("memset:"));
    assert!(md.contains("the C program on capgc.h vs the same plan and mode"));
    assert_svg(&out.join("time.svg"));
    assert_svg(&out.join("pauses.svg"));
    assert!(!out.join("live.svg").exists());
    legend_outside_the_data(&out.join("time.svg"), &["native", "softcheri-morello"]);
    legend_outside_the_data(&out.join("pauses.svg"), &["p50", "p99", "max"]);
}

/// The width of the legend strip right of every chart
/// (`charts.rs::LEGEND_W`).
const LEGEND_W: f64 = 230.0;

/// The legend entries `labels` of a chart are drawn in the strip right
/// of its plot, and nothing drawn in that strip is data: every circle or
/// rectangle there is a legend swatch, just left of its label — so the
/// legend covers no data point.
fn legend_outside_the_data(path: &Path, labels: &[&str]) {
    let svg = std::fs::read_to_string(path).expect("chart");
    let attr = |tag: &str, name: &str| -> Option<f64> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        tag[at..].split('"').next()?.parse().ok()
    };
    let width = attr(&svg, "width").expect("svg width");
    let strip = width - LEGEND_W;
    let texts: Vec<(f64, f64, String)> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| {
            let content = t.split('>').nth(1)?.split('<').next()?.trim().to_string();
            Some((attr(t, "x")?, attr(t, "y")?, content))
        })
        .collect();
    for label in labels {
        let at: Vec<f64> = texts
            .iter()
            .filter(|(_, _, c)| c.starts_with(label))
            .map(|(x, _, _)| *x)
            .collect();
        assert!(
            !at.is_empty(),
            "{}: no legend entry {label}",
            path.display()
        );
        assert!(
            at.iter().all(|x| *x > strip),
            "{}: legend entry {label} at x {at:?}, inside the plot (strip from {strip})",
            path.display()
        );
    }
    let circles = svg
        .split("<circle")
        .skip(1)
        .filter_map(|t| Some((attr(t, "cx")? + 5.0, attr(t, "cy")?)));
    // Every rectangle but the background.
    let rects = svg.split("<rect").skip(1).filter_map(|t| {
        let (x, w) = (attr(t, "x")?, attr(t, "width")?);
        let mid = attr(t, "y")? + attr(t, "height")? / 2.0;
        (w < width).then_some((x + w, mid))
    });
    for (right, mid) in circles.chain(rects) {
        if right <= strip {
            continue;
        }
        let swatch = texts
            .iter()
            .any(|(x, y, _)| (0.0..=20.0).contains(&(x - right)) && (mid - y).abs() <= 12.0);
        assert!(
            swatch,
            "{}: a data mark ending at x {right}, y {mid} lies in the legend strip",
            path.display()
        );
    }
}

#[test]
fn new_workloads_run_from_the_harness() {
    let common = [
        "--rounds",
        "1",
        "--plans",
        "semispace",
        "--modes",
        "native,softcheri-morello",
    ];
    let (_, v) = run("harness-churn", &[&["churn", "500"][..], &common].concat());
    assert_eq!(assert_configurations(&v, 1).len(), 2);

    let (_, v) = run("harness-large", &[&["large", "200"][..], &common].concat());
    let configs = assert_configurations(&v, 1);
    let padding = |mode: &str| {
        let c = configs.iter().find(|c| c["mode"] == mode).unwrap();
        c["summary"]["median"]["padding_mib"].as_f64().unwrap()
    };
    assert!(
        padding("softcheri-morello") > padding("native"),
        "CRRL pads past the threshold"
    );

    let (out, v) = run(
        "harness-live-sweep",
        &[&["live-sweep", "--max-live", "4"][..], &common].concat(),
    );
    let configs = assert_configurations(&v, 1);
    let sizes: Vec<u64> = configs
        .iter()
        .map(|c| c["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [1, 1, 2, 2, 4, 4]);
    for c in configs {
        assert!(
            c["summary"]["median"]["sweep_collections"]
                .as_f64()
                .unwrap()
                > 0.0
        );
        assert!(c["summary"]["median"]["live_mib"].as_f64().unwrap() > 0.5);
        assert!(c["summary"]["median"]["forced_full_ms"].as_f64().unwrap() > 0.0);
    }
    assert_svg(&out.join("live.svg"));
}

/// `--scheme`: binary-trees in the Scheme interpreter (linked in, on
/// `capgc.h`) under every plan and mode selected, its output checked
/// against the other binary-trees' (the harness fails on a difference),
/// and its ratio against the same plan and mode through the Rust API.
#[test]
fn scheme_interpreter_runs_beside_the_rust_workload() {
    let (out, v) = run(
        "scheme",
        &[
            "binary-trees",
            "8",
            "--rounds",
            "2",
            "--plans",
            "semispace,generational",
            "--presets",
            "latency",
            "--modes",
            "native,softcheri-morello/tags,softcheri-riscv-std",
            "--no-peers",
            "--scheme",
        ],
    );
    let configs = assert_configurations(&v, 2);
    for plan in ["semispace", "generational (latency)"] {
        for mode in ["native", "softcheri-morello/tags", "softcheri-riscv-std"] {
            let label = format!("Scheme on capgc.h: {plan}");
            assert!(
                configs
                    .iter()
                    .any(|c| c["plan"] == label.as_str() && c["mode"] == mode),
                "no row {label} {mode}"
            );
            let ratio = v["ratios"].as_array().unwrap().iter().find(|r| {
                r["config"] == format!("{label} {mode}").as_str()
                    && r["against"] == format!("{plan} {mode}").as_str()
            });
            assert!(
                ratio.is_some_and(|r| r["wall"].as_f64().unwrap() > 0.0),
                "no ratio of {label} {mode} against the Rust API"
            );
        }
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(
        md.contains("binary-trees in the Scheme interpreter"),
        "{md}"
    );
    // The charts again from the JSON alone.
    let again = out.join("redrawn");
    let status = Command::new(env!("CARGO_BIN_EXE_workloads"))
        .arg("--charts-from")
        .arg(out.join("results.json"))
        .arg(&again)
        .status()
        .expect("the harness runs");
    assert!(status.success());
    for svg in ["time.svg", "pauses.svg"] {
        assert_svg(&again.join(svg));
    }
}

/// The peers run beside CapGC and every ratio is in results.json: each
/// configuration against idiomatic malloc (and bdwgc when it was built),
/// CapGC's against the shaped peers alone, and — when `mmtk-peer` is
/// built beside the harness (`cargo test --workspace` builds it) — the
/// MMTk rows and every configuration against MMTk's fastest plan.
#[test]
fn peers_run_and_every_ratio_is_written() {
    let (out, v) = run(
        "harness-peers",
        &[
            "binary-trees",
            "6",
            "--rounds",
            "1",
            "--plans",
            "generational",
            "--modes",
            "native",
            "--presets",
            "throughput",
            "--mmtk-plans",
            "GenImmix,MarkSweep",
        ],
    );
    let configs = assert_configurations(&v, 1);
    let ratios = v["ratios"].as_array().expect("ratios");
    let config = |plan: &str| configs.iter().find(|c| c["plan"] == plan);
    let wall = |c: &Value| c["summary"]["median"]["wall_ms"].as_f64().unwrap();
    let capgc = "generational (throughput) native";
    let against = |baseline: &str| -> Vec<&Value> {
        ratios
            .iter()
            .filter(|r| r["baseline"] == baseline)
            .collect()
    };
    let mut peers = vec![("malloc", "C peer: malloc")];
    if env!("CAPGC_PEERS_BDWGC") == "1" {
        peers.push(("bdwgc", "C peer: bdwgc"));
    }
    for (key, plan) in peers {
        for (key, plan) in [
            (key.to_string(), plan.to_string()),
            (format!("{key} shaped"), format!("{plan}, capgc.h's shape")),
        ] {
            let base = config(&plan).unwrap_or_else(|| panic!("no {plan} row"));
            assert_eq!(base["mode"], "native (C)");
            let rows = against(&key);
            let r = rows
                .iter()
                .find(|r| r["config"] == capgc)
                .unwrap_or_else(|| panic!("no {capgc} vs {plan}"));
            let c = config("generational (throughput)").unwrap();
            let expected = wall(c) / wall(base);
            assert!(
                (r["wall"].as_f64().unwrap() - expected).abs() < 1e-9 * expected,
                "{r}"
            );
            let cpu = |c: &Value| c["summary"]["median"]["cpu_ms"].as_f64().unwrap();
            let expected = if cpu(base) > 0.0 {
                cpu(c) / cpu(base)
            } else {
                0.0
            };
            assert!(
                (r["cpu"].as_f64().unwrap() - expected).abs() <= 1e-9 * expected,
                "{r}"
            );
            // The idiomatic peers are compared with every other row, the
            // shaped ones with CapGC's alone.
            let foreign = rows
                .iter()
                .any(|r| r["config"].as_str().unwrap().contains("(C)"));
            assert_eq!(foreign, !key.ends_with("shaped"), "{key}");
        }
    }
    let md = std::fs::read_to_string(out.join("results.md")).unwrap();
    assert!(md.contains("vs idiomatic malloc/free"), "{md}");
    let mmtk = Path::new(env!("CARGO_BIN_EXE_workloads")).with_file_name("mmtk-peer");
    if !mmtk.exists() {
        assert!(
            md.contains("MMTk (cargo build --release -p mmtk-peer)"),
            "{md}"
        );
        assert!(against("mmtk best").is_empty());
        return;
    }
    let mmtk_rows: Vec<&Value> = configs
        .iter()
        .filter(|c| c["mode"] == "native (MMTk)")
        .collect();
    let plans: Vec<&str> = mmtk_rows
        .iter()
        .map(|c| c["plan"].as_str().unwrap())
        .collect();
    assert_eq!(plans, ["MMTk: GenImmix", "MMTk: MarkSweep"]);
    let best = mmtk_rows
        .iter()
        .min_by(|a, b| wall(a).total_cmp(&wall(b)))
        .unwrap();
    let rows = against("mmtk best");
    let best_name = format!("{} native (MMTk)", best["plan"].as_str().unwrap());
    assert!(
        rows.iter().all(|r| r["against"] == best_name.as_str()),
        "{best_name}"
    );
    assert!(rows.iter().any(|r| r["config"] == capgc));
    assert!(rows
        .iter()
        .any(|r| r["config"] == "C peer: malloc native (C)"));
    assert!(md.contains("vs MMTk's best plan here"), "{md}");
}

/// The results page's first screen (`benches/scripts/summary.py`, run by
/// `benches/results.sh`) is copied from the sections' `results.json`:
/// its row for a plan gives that run's Native wall time, its Native :
/// P128 : SoftCheri ratios and its ratios against the idiomatic peers and
/// MMTk's best plan, exactly as the JSON has them.
#[test]
fn the_first_screen_is_copied_from_the_json() {
    let mut args = vec![
        "binary-trees",
        "6",
        "--rounds",
        "1",
        "--plans",
        "marksweep",
        "--modes",
        "native,p128,softcheri-morello",
        "--c-plans",
        "marksweep",
    ];
    let mmtk = Path::new(env!("CARGO_BIN_EXE_workloads"))
        .with_file_name("mmtk-peer")
        .exists();
    if mmtk {
        args.extend(["--mmtk-plans", "GenImmix,MarkSweep"]);
    }
    let (out, v) = run("first-screen", &args);
    let page = out.join("page.md");
    std::fs::write(&page, "# results\n\n## binary-trees\n\nthe section\n").unwrap();
    std::fs::copy(out.join("results.json"), out.join("binary-trees.json")).unwrap();
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/summary.py"))
        .arg(&page)
        .arg(&out)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(
        text.contains("## What purecap costs (the first screen)"),
        "{text}"
    );
    assert!(text.contains("## binary-trees\n\nthe section"), "{text}");
    let configs = v["configurations"].as_array().unwrap();
    let ratios = v["ratios"].as_array().unwrap();
    let ratio = |baseline: &str, config: &str| {
        ratios
            .iter()
            .find(|r| r["baseline"] == baseline && r["config"] == config)
            .map(|r| format!("{:.2}", r["wall"].as_f64().unwrap()))
            .unwrap_or_else(|| panic!("no {config} vs {baseline} in the JSON"))
    };
    let native_wall = configs
        .iter()
        .find(|c| c["plan"] == "marksweep" && c["mode"] == "native")
        .map(|c| c["summary"]["median"]["wall_ms"].as_f64().unwrap())
        .unwrap();
    for plan in ["marksweep", "C on capgc.h: marksweep"] {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| {plan} |")))
            .unwrap_or_else(|| panic!("no row {plan}: {text}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let n = |mode: &str| format!("{plan} {mode}");
        assert_eq!(
            cells[3],
            format!(
                "1 : {} : {}",
                ratio("native", &n("p128")),
                ratio("native", &n("softcheri-morello"))
            ),
            "{row}"
        );
        let mut peers = vec!["malloc"];
        if env!("CAPGC_PEERS_BDWGC") == "1" {
            peers.insert(0, "bdwgc");
        }
        if mmtk {
            peers.push("mmtk best");
        }
        for (i, peer) in peers.iter().enumerate() {
            let expected: Vec<String> = ["native", "p128", "softcheri-morello"]
                .iter()
                .map(|m| ratio(peer, &n(m)))
                .collect();
            assert_eq!(cells[4 + i], expected.join(" / "), "{peer}: {row}");
        }
        if plan == "marksweep" {
            assert_eq!(cells[2], format!("{native_wall:.0}"), "{row}");
        }
    }
}
