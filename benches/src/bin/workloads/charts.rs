//! The report as SVG charts, drawn with `plotters`' SVG backend:
//! `time.svg` (median wall time of every configuration, one horizontal
//! bar each with its min–max, coloured by mode), `pauses.svg` (pause p50 /
//! p90 / p99 / p99.9 / max, one row per configuration, log scale) and,
//! for live-sweep, `live.svg` (a full collection's pause, and GC time per
//! collection while allocating, against live data, one line per
//! configuration; the other two charts show its largest step).
//!
//! Every legend sits in a strip right of the data, never over it. Bars
//! are horizontal, so a label is as long as it needs and never overlaps
//! the next. Whole programs on the C ABI (the C program, the Scheme
//! interpreter) get time panels of their own scale, so they do not squash
//! the rest (the alternative, one log axis for all, makes bar lengths
//! meaningless); a panel whose slowest bar is still more than
//! [`LOG_ABOVE`] times its fastest falls back to a log axis. Log axes are
//! labelled at 1, 2 and 5 times a power of ten only, and a pause axis
//! spans the data rather than a fixed floor.

use crate::report::{is_peer, per_collection, CAPGC_H, MMTK_MODE, PEER_MODE, SCHEME};
use crate::results::Configuration;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

type Drawn = Result<(), Box<dyn std::error::Error>>;

/// The labels in first-seen order.
fn distinct<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut v: Vec<&str> = Vec::new();
    for s in it {
        if !v.contains(&s) {
            v.push(s);
        }
    }
    v
}

/// A plan label short enough for an axis: `gen. (lat.)`,
/// `C/capgc.h: semispace`, `C: malloc, idiomatic`, `Scheme: gen. (lat.)`.
/// A bare `C peer: X` is the idiomatic program (`benches/c/*_idiomatic.c`,
/// what every "× bdwgc" figure is against): its bar says so, beside the
/// `…, capgc.h's shape` ones.
fn short(plan: &str) -> String {
    let s = plan
        .replace("C on capgc.h: ", "C/capgc.h: ")
        .replace("C on capgc_fast.h: ", "C/capgc_fast.h: ")
        .replace("Scheme on capgc.h: ", "Scheme: ")
        .replace("C peer: ", "C: ")
        .replace("generational", "gen.")
        .replace("(latency)", "(lat.)")
        .replace("(throughput)", "(thr.)");
    match s.strip_prefix("C: ") {
        Some(peer) if !peer.contains(',') => format!("{s}, idiomatic"),
        _ => s,
    }
}

/// Above this ratio of slowest to fastest bar a time chart's axis is
/// logarithmic.
const LOG_ABOVE: f64 = 25.0;

/// Width of the legend strip right of every chart, in pixels.
const LEGEND_W: u32 = 230;

/// A legend entry: its label, colour and mark.
type Entry = (String, RGBAColor, Mark);

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Mark {
    Bar,
    Line,
    /// A dot of this radius.
    Dot(u32),
    /// A cross (an ×).
    Cross,
}

/// A legend in its own strip (`area`), entries under a heading, then
/// lines of explanation under them: nothing of it covers data.
fn legend(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    heading: &str,
    entries: &[Entry],
    note: &[&str],
) -> Drawn {
    let font = ("sans-serif", 14).into_font();
    area.draw(&Text::new(heading.to_string(), (8, 44), font.clone()))?;
    let mut y = 70;
    for (label, color, mark) in entries {
        match mark {
            Mark::Bar => area.draw(&Rectangle::new([(8, y - 6), (22, y + 6)], color.filled()))?,
            Mark::Line => area.draw(&PathElement::new(
                vec![(6, y), (24, y)],
                color.stroke_width(2),
            ))?,
            Mark::Dot(r) => area.draw(&Circle::new((15, y), *r, color.filled()))?,
            Mark::Cross => area.draw(&Cross::new((15, y), 5, color.stroke_width(2)))?,
        }
        area.draw(&Text::new(label.clone(), (30, y - 7), font.clone()))?;
        y += 22;
    }
    y += 10;
    for line in note {
        area.draw(&Text::new(
            line.to_string(),
            (8, y),
            ("sans-serif", 12).into_font(),
        ))?;
        y += 16;
    }
    Ok(())
}

/// What live-sweep's time chart needs said beside it: why P128 can beat
/// Native there. `{ratio}` is replaced by how many more objects Native
/// holds at equal bytes ([`live_note`]).
const LIVE_NOTE: [&str; 8] = [
    "Live data and allocation are",
    "counted in bytes of cells: at",
    "equal bytes Native holds {ratio}x",
    "the objects of P128 and SoftCheri",
    "(8- vs 16-byte slots), so it does",
    "more work and P128 can be faster",
    "here. Compare modes on the other",
    "workloads; live-sweep per mode.",
];

/// [`LIVE_NOTE`] with the ratio of a two-reference node's cell in P128 to
/// its cell in Native, as this build lays them out.
fn live_note() -> Vec<String> {
    let ratio = match (
        capgc_benches::cli::run_in("p128", NodeCell),
        capgc_benches::cli::run_in("native", NodeCell),
    ) {
        (Some(p), Some(n)) if n > 0 => format!("{:.1}", p as f64 / n as f64),
        _ => "more".to_string(),
    };
    LIVE_NOTE
        .iter()
        .map(|l| l.replace("{ratio}x", &format!("{ratio}x")))
        .collect()
}

/// The bytes of live-sweep's node in a mode.
struct NodeCell;

impl capgc_benches::cli::PerMode for NodeCell {
    type Output = u64;
    fn run<M: capability_heap::RefMode>(self, _: gc_core::ScanStrategy) -> u64 {
        capgc_benches::workloads::live_sweep::node_cell::<M>()
    }
}

/// Which panel of a time chart a configuration goes in: 0, CapGC
/// through the Rust API or the C fast path (`capgc_fast.h`, on the same
/// scale) and the other collectors (the comparison); 1,
/// the C program on `capgc.h`; 2, the Scheme interpreter on `capgc.h` —
/// whole programs on the C ABI, each on a scale of its own so that they
/// do not squash the rest.
fn panel_of(c: &Configuration) -> usize {
    if c.plan.starts_with(CAPGC_H) {
        1
    } else if c.plan.starts_with(SCHEME) {
        2
    } else {
        0
    }
}

/// The headings of [`panel_of`]'s panels.
const PANELS: [&str; 3] = [
    "CapGC through the Rust API and capgc_fast.h, and the other collectors",
    "the C program on capgc.h (its own scale)",
    "binary-trees in the Scheme interpreter (bindings/scheme: capgc_fast.h) (its own scale)",
];

/// A row label: `gen. (lat.) softcheri-morello`; a peer's plan alone
/// (`C: bdwgc, idiomatic`, `MMTk: Immix`: its mode is the legend's).
fn row_label(c: &Configuration) -> String {
    if c.mode == PEER_MODE || c.mode == MMTK_MODE {
        short(&c.plan)
    } else {
        format!("{} {}", short(&c.plan), c.mode)
    }
}

/// A mode's colour, the same in every chart (matplotlib's "tab10"):
/// CapGC's modes in [`capgc_benches::cli::MODES`]' order, then the C
/// peers (grey) and MMTk (purple).
fn mode_color(mode: &str) -> RGBAColor {
    const TAB10: [(u8, u8, u8); 9] = [
        (31, 119, 180),
        (44, 160, 44),
        (255, 127, 14),
        (214, 39, 40),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (148, 103, 189),
        (188, 189, 34),
    ];
    let i = capgc_benches::cli::MODES
        .iter()
        .position(|m| *m == mode)
        .unwrap_or(match mode {
            PEER_MODE => 6,
            MMTK_MODE => 7,
            _ => 8,
        });
    let (r, g, b) = TAB10[i];
    RGBColor(r, g, b).to_rgba()
}

/// Pixels per bar row of a time chart.
const ROW_H: u32 = 22;

/// Median wall time of every configuration, one horizontal bar each with
/// its min–max, coloured by mode, grouped by plan; whole programs on the
/// C ABI in panels of their own ([`panel_of`]). A panel whose slowest bar
/// is more than [`LOG_ABOVE`] times its fastest uses a log axis. `note`
/// is said beside the legend.
fn time(path: &Path, configs: &[Configuration], title: &str, note: &[String]) -> Drawn {
    let modes = distinct(configs.iter().map(|c| c.mode.as_str()));
    let color = |m: &str| mode_color(m);
    // Each panel's rows, a blank row (None) between plans.
    let mut panels: Vec<(usize, Vec<Option<&Configuration>>)> = Vec::new();
    for p in 0..PANELS.len() {
        let mut rows: Vec<Option<&Configuration>> = Vec::new();
        for c in configs.iter().filter(|c| panel_of(c) == p) {
            let last = rows.last().copied().flatten();
            if last.is_some_and(|l| {
                l.plan != c.plan
                    && !(is_peer(l) && is_peer(c) && panel_of(c) == 0 && l.mode == c.mode)
            }) {
                rows.push(None);
            }
            rows.push(Some(c));
        }
        if !rows.is_empty() {
            panels.push((p, rows));
        }
    }
    let widest = configs
        .iter()
        .map(|c| row_label(c).chars().count())
        .max()
        .unwrap_or(10) as u32;
    let label_w = 7 * widest + 20;
    let plot_w = label_w + 660;
    let width = plot_w + LEGEND_W;
    let heights: Vec<u32> = panels
        .iter()
        .map(|(_, rows)| 90 + ROW_H * rows.len() as u32)
        .collect();
    // Tall enough for the legend and its note too.
    let legend_h = 140 + 22 * modes.len() as u32 + 16 * note.len() as u32;
    let height = (40 + heights.iter().sum::<u32>()).max(legend_h);
    let root = SVGBackend::new(path, (width, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 20))?;
    let (plots, side) = root.split_horizontally(plot_w);
    let mut rest = plots;
    for ((p, rows), h) in panels.iter().zip(&heights) {
        let (area, below) = rest.split_vertically(*h);
        rest = below;
        let bars: Vec<&Configuration> = rows.iter().flatten().copied().collect();
        let top = bars
            .iter()
            .filter_map(|c| c.summary.max.get("wall_ms"))
            .fold(1e-3f64, |a, b| a.max(*b));
        let bottom = bars
            .iter()
            .map(|c| c.summary.get("wall_ms"))
            .fold(top, f64::min)
            .max(1e-3);
        let n = rows.len();
        // Row i (from the top) at y = n - 1 - i.
        let y_of = |i: usize| (n - 1 - i) as f64;
        let labels: Vec<String> = rows
            .iter()
            .map(|r| r.map(row_label).unwrap_or_default())
            .collect();
        let log = top / bottom > LOG_ABOVE;
        let x_desc = if log {
            "wall ms (median, min–max; log scale)"
        } else {
            "wall ms (median, min–max)"
        };
        let y_range = -0.6f64..n as f64 - 0.4;
        // One body for both axis kinds: the bars start at the axis' floor.
        macro_rules! draw_bars {
            ($chart:expr, $floor:expr) => {{
                let chart = &mut $chart;
                chart
                    .configure_mesh()
                    .disable_y_mesh()
                    .y_labels(n)
                    .y_label_formatter(&|y| {
                        let i = y.round();
                        if (y - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
                            labels[n - 1 - i as usize].clone()
                        } else {
                            String::new()
                        }
                    })
                    .x_label_formatter(&|x| if log { log_tick(*x) } else { tick(*x) })
                    .label_style(("sans-serif", 12))
                    .axis_desc_style(("sans-serif", 12))
                    .x_desc(x_desc)
                    .draw()?;
                for (i, c) in rows.iter().enumerate() {
                    let Some(c) = c else { continue };
                    let s = &c.summary;
                    let (y, v) = (y_of(i), s.get("wall_ms"));
                    chart.draw_series(std::iter::once(Rectangle::new(
                        [($floor, y - 0.38), (v, y + 0.38)],
                        color(&c.mode).filled(),
                    )))?;
                    chart.draw_series(std::iter::once(ErrorBar::new_horizontal(
                        y,
                        s.min["wall_ms"],
                        v,
                        s.max["wall_ms"],
                        BLACK.stroke_width(1),
                        8,
                    )))?;
                    let at = s.max["wall_ms"].max(v);
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((at, y))
                            + Text::new(
                                if v < 10.0 {
                                    format!("{v:.1}")
                                } else {
                                    format!("{v:.0}")
                                },
                                (6, -6),
                                ("sans-serif", 12).into_font(),
                            ),
                    ))?;
                }
            }};
        }
        let mut b = ChartBuilder::on(&area);
        b.caption(PANELS[*p], ("sans-serif", 15))
            .margin(8)
            .x_label_area_size(36)
            .y_label_area_size(label_w);
        if log {
            let floor = bottom / 2.0;
            let mut chart = b.build_cartesian_2d((floor..top * 3.0).log_scale(), y_range)?;
            draw_bars!(chart, floor);
        } else {
            let mut chart = b.build_cartesian_2d(0.0..top * 1.15, y_range)?;
            draw_bars!(chart, 0.0);
        }
    }
    let entries: Vec<Entry> = modes
        .iter()
        .map(|m| (m.to_string(), color(m), Mark::Bar))
        .collect();
    let note: Vec<&str> = note.iter().map(String::as_str).collect();
    legend(&side, "mode", &entries, &note)?;
    root.present()?;
    Ok(())
}

/// An axis tick's label: the value with no needless decimals.
fn tick(x: f64) -> String {
    if x == 0.0 {
        "0".to_string()
    } else if x.abs() >= 10.0 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A log axis' tick label: only at 1, 2 and 5 times a power of ten, so
/// that the labels of the upper end of a decade do not run together.
fn log_tick(x: f64) -> String {
    if x <= 0.0 {
        return String::new();
    }
    let mantissa = x / 10f64.powf(x.log10().floor());
    if [1.0, 2.0, 5.0, 10.0]
        .iter()
        .any(|m| (mantissa - m).abs() < 1e-6 * m)
    {
        tick(x)
    } else {
        String::new()
    }
}

/// A chart's frame: its title, margin and axis label areas.
fn builder<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, plotters::coord::Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(60);
    b
}

type Chart<'a, X, Y> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>;

/// Draws series `i` of a line chart: its line and its points (its
/// legend entry is drawn beside the chart).
fn line<X, Y>(chart: &mut Chart<'_, X, Y>, i: usize, points: Vec<(f64, f64)>) -> Drawn
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let color = Palette99::pick(i).to_rgba();
    chart.draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?;
    chart.draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))?;
    Ok(())
}

/// The pause percentiles the charts plot, with their figure names.
const QUANTILES: [(&str, &str); 5] = [
    ("p50", "p50_ms"),
    ("p90", "p90_ms"),
    ("p99", "p99_ms"),
    ("p99.9", "p999_ms"),
    ("max", "max_ms"),
];

/// The radius and colour of each of [`QUANTILES`]' dots but the last,
/// largest first: a later dot drawn on an earlier one of the same value
/// leaves it a ring. The longest pause is a black cross on top of them.
const DOTS: [(u32, (u8, u8, u8)); 4] = [
    (9, (31, 119, 180)),
    (7, (44, 160, 44)),
    (5, (255, 127, 14)),
    (3, (214, 39, 40)),
];

/// The pause distribution of every CapGC configuration, one row each: a
/// line from p50 to the longest pause on a log axis spanning the data, a
/// marker at each of [`QUANTILES`] (the peers have no pauses to show; a
/// configuration that never collected says so).
fn pauses(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let configs: Vec<&Configuration> = configs.iter().filter(|c| !is_peer(c)).collect();
    let collected = |c: &Configuration| c.summary.get("max_ms") > 0.0;
    let values = || {
        configs
            .iter()
            .filter(|c| collected(c))
            .flat_map(|c| QUANTILES.iter().map(|(_, k)| c.summary.get(k)))
            .filter(|v| *v > 0.0)
    };
    let top = values().fold(1e-3, f64::max) * 1.6;
    // At least one decade, so a log axis has its labels.
    let low = (values().fold(top, f64::min) / 1.6).min(top / 10.0);
    let value = |c: &Configuration, k: &str| c.summary.get(k).max(low);
    let rows = configs.len().max(1);
    let names: Vec<String> = configs
        .iter()
        .map(|c| format!("{} {}", short(&c.plan), c.mode))
        .collect();
    let widest = names.iter().map(|n| n.chars().count()).max().unwrap_or(20) as u32;
    let label_w = 7 * widest + 24;
    let width = label_w + 640 + LEGEND_W;
    let root = SVGBackend::new(path, (width, 110 + 26 * rows.max(6) as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, side) = root.split_horizontally(width - LEGEND_W);
    let mut chart = ChartBuilder::on(&plot)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(label_w)
        .build_cartesian_2d((low..top).log_scale(), -0.5f64..rows as f64 - 0.5)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(rows)
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 1e-6 && i >= 0.0 {
                names
                    .get(rows - 1 - i as usize)
                    .cloned()
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_labels(12)
        .max_light_lines(0)
        .x_label_formatter(&|x| log_tick(*x))
        .label_style(("sans-serif", 12))
        .axis_desc_style(("sans-serif", 12))
        .x_desc("pause ms (median over rounds; log scale)")
        .draw()?;
    let y = |i: usize| (rows - 1 - i) as f64;
    let drawn: Vec<(usize, &&Configuration)> = configs
        .iter()
        .enumerate()
        .filter(|(_, c)| collected(c))
        .collect();
    chart.draw_series(drawn.iter().map(|(i, c)| {
        PathElement::new(
            [(value(c, "p50_ms"), y(*i)), (value(c, "max_ms"), y(*i))],
            BLACK.mix(0.5).stroke_width(1),
        )
    }))?;
    chart.draw_series(
        configs
            .iter()
            .enumerate()
            .filter(|(_, c)| !collected(c))
            .map(|(i, _)| {
                EmptyElement::at((low, y(i)))
                    + Text::new(
                        "no collection",
                        (8, -7),
                        ("sans-serif", 13).into_font().color(&BLACK.mix(0.6)),
                    )
            }),
    )?;
    let mut entries = Vec::new();
    for (qi, (label, key)) in QUANTILES.iter().enumerate() {
        let at = |(i, c): &(usize, &&Configuration)| (value(c, key), y(*i));
        let (color, mark) = match DOTS.get(qi) {
            Some(&(r, (red, green, blue))) => {
                let color = RGBColor(red, green, blue).to_rgba();
                chart.draw_series(drawn.iter().map(|d| Circle::new(at(d), r, color.filled())))?;
                (color, Mark::Dot(r))
            }
            None => {
                let color = BLACK.to_rgba();
                chart.draw_series(
                    drawn
                        .iter()
                        .map(|d| Cross::new(at(d), 5, color.stroke_width(2))),
                )?;
                (color, Mark::Cross)
            }
        };
        entries.push((label.to_string(), color, mark));
    }
    legend(
        &side,
        "pause percentile",
        &entries,
        &[
            "Equal values: the later",
            "marker sits inside the",
            "earlier one; the longest",
            "pause is the black cross.",
        ],
    )?;
    root.present()?;
    Ok(())
}

/// One panel of `live.svg`: `figure` of every plan and mode against
/// live MiB, log–log (a step where `figure` is `None`, no data, is left
/// out of its line).
fn live_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    configs: &[Configuration],
    title: &str,
    y_desc: &str,
    figure: fn(&Configuration) -> Option<f64>,
) -> Result<Vec<Entry>, Box<dyn std::error::Error>> {
    let lines = distinct(configs.iter().map(|c| c.plan.as_str()))
        .into_iter()
        .flat_map(|p| {
            distinct(configs.iter().map(|c| c.mode.as_str()))
                .into_iter()
                .map(move |m| (p, m))
        })
        .collect::<Vec<_>>();
    let floor = 1e-3;
    let top = configs
        .iter()
        .filter_map(figure)
        .fold(floor * 10.0, f64::max);
    let right = configs
        .iter()
        .map(|c| c.summary.get("live_mib"))
        .fold(2.0, f64::max);
    let mut chart = builder(area, title).build_cartesian_2d(
        (0.5f64..right * 1.5).log_scale(),
        (floor..top * 2.0).log_scale(),
    )?;
    chart
        .configure_mesh()
        .x_desc("live data, MiB (after a full collection)")
        .y_desc(y_desc)
        .draw()?;
    let mut entries = Vec::new();
    for (i, (plan, mode)) in lines.iter().enumerate() {
        let mut points: Vec<(f64, f64)> = configs
            .iter()
            .filter(|c| c.plan == *plan && c.mode == *mode)
            .filter_map(|c| Some((c.summary.get("live_mib").max(0.5), figure(c)?.max(floor))))
            .collect();
        if points.is_empty() {
            continue;
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        line(&mut chart, i, points)?;
        entries.push((
            format!("{} {mode}", short(plan)),
            Palette99::pick(i).to_rgba(),
            Mark::Line,
        ));
    }
    Ok(entries)
}

/// live-sweep, two panels against live MiB: a full collection's pause
/// (forced after the allocation phase; it must grow with live data), and
/// the allocation phase's GC time per collection (for Generational, minor
/// collections, which should not).
fn live(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let root = SVGBackend::new(path, (1400 + LEGEND_W + 60, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let (panels, side) = root.split_horizontally(1400);
    let (left, right) = panels.split_horizontally(700);
    let mut entries = live_panel(
        &left,
        configs,
        &format!("{title}: one full collection"),
        "full collection ms (median)",
        |c| Some(c.summary.get("forced_full_ms")),
    )?;
    let more = live_panel(
        &right,
        configs,
        "same allocation volume: GC ms per collection",
        "GC ms per collection while allocating (median; none: left out)",
        // A step whose allocation phase collected nothing (the heap grew
        // to hold it) has no figure, not a zero one.
        |c| (c.summary.get("sweep_collections") > 0.0).then(|| per_collection(&c.summary, false)),
    )?;
    for e in more {
        if !entries.iter().any(|(l, _, _)| *l == e.0) {
            entries.push(e);
        }
    }
    let note = live_note();
    let note: Vec<&str> = note.iter().map(String::as_str).collect();
    legend(&side, "plan and mode", &entries, &note)?;
    root.present()?;
    Ok(())
}

/// Draws the charts for `configs` into `dir`; the paths written.
pub fn draw(
    dir: &Path,
    configs: &[Configuration],
    label: &str,
    sweep: bool,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    // live-sweep's time and pause charts show its largest step (one bar
    // per plan and mode); live.svg shows every step.
    let largest = configs.iter().map(|c| c.size).max().unwrap_or(0);
    let last: Vec<Configuration> = configs
        .iter()
        .filter(|c| !sweep || c.size == largest)
        .cloned()
        .collect();
    let mut one = |file: &str, drawn: &dyn Fn(&Path) -> Drawn| {
        let path = dir.join(file);
        drawn(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
        Ok::<(), String>(())
    };
    let label = if sweep {
        format!("{label} at {largest} MiB")
    } else {
        label.to_string()
    };
    let note = if sweep { live_note() } else { Vec::new() };
    let time_title = if sweep {
        format!("{label}: wall time (equal bytes: Native holds more objects)")
    } else {
        format!("{label}: wall time")
    };
    one("time.svg", &|p| time(p, &last, &time_title, &note))?;
    one("pauses.svg", &|p| {
        pauses(p, &last, &format!("{label}: pause percentiles"))
    })?;
    if sweep {
        one("live.svg", &|p| live(p, configs, "live-sweep"))?;
    }
    Ok(written)
}
