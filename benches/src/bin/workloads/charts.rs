//! The report as SVG charts, drawn with `plotters`' SVG backend:
//! `time.svg` (median wall time per plan, one bar per mode, min–max error
//! bars), `pauses.svg` (pause p50 / p90 / p99 / p99.9 / max, one row
//! per configuration, log scale) and, for live-sweep, `live.svg` (a full
//! collection's pause, and GC time per collection while allocating,
//! against live data, one line per configuration; the other two charts
//! show its largest step).
//!
//! Every legend sits in a strip right of the data, never over it; a time
//! chart whose slowest bar is more than [`LOG_ABOVE`] times its fastest
//! uses a log axis, so one slow configuration (a whole VM in C) does not
//! squash the rest; axis labels are shortened and the chart is as wide as
//! its labels need.

use crate::report::{is_peer, per_collection};
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
/// `C/capgc.h: semispace`, `C: malloc`, `Scheme: gen. (lat.)`.
fn short(plan: &str) -> String {
    plan.replace("C on capgc.h: ", "C/capgc.h: ")
        .replace("C on capgc_fast.h: ", "C/capgc_fast.h: ")
        .replace("Scheme on capgc.h: ", "Scheme: ")
        .replace("C peer: ", "C: ")
        .replace("generational", "gen.")
        .replace("(latency)", "(lat.)")
        .replace("(throughput)", "(thr.)")
}

/// Above this ratio of slowest to fastest bar a time chart's axis is
/// logarithmic.
const LOG_ABOVE: f64 = 8.0;

/// Width of the legend strip right of every chart, in pixels.
const LEGEND_W: u32 = 230;

/// A legend entry: its label, colour and mark.
type Entry = (String, RGBAColor, Mark);

/// How a legend entry is drawn.
#[derive(Clone, Copy)]
enum Mark {
    Bar,
    Line,
    Dot,
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
            Mark::Dot => area.draw(&Circle::new((15, y), 5, color.filled()))?,
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
/// Native there.
const LIVE_NOTE: [&str; 8] = [
    "Live data and allocation are",
    "counted in bytes: at equal bytes",
    "Native (8-byte slots) holds and",
    "allocates about twice the objects",
    "of P128 and SoftCheri (16-byte",
    "slots), so P128 can be faster",
    "here. Compare modes on the other",
    "workloads; live-sweep per mode.",
];

/// Median wall time per plan (groups) and mode (bars), with min–max; a
/// group's bars are centred on it whatever modes it has. The y axis is
/// logarithmic when one bar dwarfs the rest ([`LOG_ABOVE`]); `note` is
/// said beside the legend.
fn time(path: &Path, configs: &[Configuration], title: &str, note: &[&str]) -> Drawn {
    let groups = distinct(configs.iter().map(|c| c.plan.as_str()));
    let modes = distinct(configs.iter().map(|c| c.mode.as_str()));
    let top = configs
        .iter()
        .filter_map(|c| c.summary.max.get("wall_ms"))
        .fold(1.0f64, |a, b| a.max(*b));
    let bottom = configs
        .iter()
        .filter_map(|c| c.summary.min.get("wall_ms"))
        .fold(top, |a, b| a.min(*b))
        .max(1e-3);
    let labels: Vec<String> = groups.iter().map(|g| short(g)).collect();
    let widest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(8) as u32;
    let per_group = (8 * widest + 16).max(130);
    // As wide as the labels and the title need.
    let plot_w =
        (100 + per_group * groups.len() as u32).max(10 * title.chars().count() as u32 + 40);
    let width = plot_w + LEGEND_W;
    let root = SVGBackend::new(path, (width, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let (plot, side) = root.split_horizontally(width - LEGEND_W);
    let log = top / bottom > LOG_ABOVE;
    let x_range = -0.5f64..groups.len() as f64 - 0.5;
    let y_desc = if log {
        "wall ms (median, min–max; log scale)"
    } else {
        "wall ms (median, min–max)"
    };
    // One body for both axis kinds: the bars start at the axis' floor.
    macro_rules! draw_bars {
        ($chart:expr, $floor:expr) => {{
            let chart = &mut $chart;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(groups.len())
                .x_label_formatter(&|x| {
                    let i = x.round();
                    if (x - i).abs() < 1e-6 && i >= 0.0 {
                        labels.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                })
                .y_desc(y_desc)
                .draw()?;
            let present: Vec<Vec<&str>> = groups
                .iter()
                .map(|g| {
                    distinct(
                        configs
                            .iter()
                            .filter(|c| c.plan == *g)
                            .map(|c| c.mode.as_str()),
                    )
                })
                .collect();
            let most = present.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let w = 0.8 / most as f64;
            for (mi, mode) in modes.iter().enumerate() {
                let color = Palette99::pick(mi).to_rgba();
                let bars: Vec<(f64, &Configuration)> = configs
                    .iter()
                    .filter(|c| c.mode == *mode)
                    .filter_map(|c| {
                        let g = groups.iter().position(|g| *g == c.plan)?;
                        let here = &present[g];
                        let k = here.iter().position(|m| m == mode)?;
                        let left = g as f64 - w * here.len() as f64 / 2.0;
                        Some((left + w * (k as f64 + 0.5), c))
                    })
                    .collect();
                chart.draw_series(bars.iter().map(|(x, c)| {
                    let y = c.summary.get("wall_ms");
                    Rectangle::new([(x - w * 0.45, $floor), (x + w * 0.45, y)], color.filled())
                }))?;
                chart.draw_series(bars.iter().map(|(x, c)| {
                    let s = &c.summary;
                    ErrorBar::new_vertical(
                        *x,
                        s.min["wall_ms"],
                        s.get("wall_ms"),
                        s.max["wall_ms"],
                        BLACK.stroke_width(1),
                        6,
                    )
                }))?;
            }
        }};
    }
    if log {
        let floor = bottom / 2.0;
        let mut chart =
            builder(&plot, title).build_cartesian_2d(x_range, (floor..top * 1.5).log_scale())?;
        draw_bars!(chart, floor);
    } else {
        let mut chart = builder(&plot, title).build_cartesian_2d(x_range, 0.0..top * 1.1)?;
        draw_bars!(chart, 0.0);
    }
    let entries: Vec<Entry> = modes
        .iter()
        .enumerate()
        .map(|(i, m)| (m.to_string(), Palette99::pick(i).to_rgba(), Mark::Bar))
        .collect();
    legend(&side, "mode", &entries, note)?;
    root.present()?;
    Ok(())
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

/// The pause distribution of every CapGC configuration, one row each: a
/// line from p50 to the longest pause on a log axis, a marker at each of
/// [`QUANTILES`] (the C peers have no pauses to show).
fn pauses(path: &Path, configs: &[Configuration], title: &str) -> Drawn {
    let configs: Vec<&Configuration> = configs.iter().filter(|c| !is_peer(c)).collect();
    let floor = 1e-3;
    let value = |c: &Configuration, k: &str| c.summary.get(k).max(floor);
    let top = configs
        .iter()
        .flat_map(|c| QUANTILES.iter().map(|(_, k)| value(c, k)))
        .fold(floor * 10.0, f64::max);
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
        .build_cartesian_2d((floor..top * 2.0).log_scale(), -0.5f64..rows as f64 - 0.5)?;
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
        .x_desc("pause ms (median over rounds; log scale)")
        .draw()?;
    let y = |i: usize| (rows - 1 - i) as f64;
    chart.draw_series(configs.iter().enumerate().map(|(i, c)| {
        PathElement::new(
            [(value(c, "p50_ms"), y(i)), (value(c, "max_ms"), y(i))],
            BLACK.mix(0.5).stroke_width(1),
        )
    }))?;
    let mut entries = Vec::new();
    for (qi, (label, key)) in QUANTILES.iter().enumerate() {
        let color = Palette99::pick(qi).to_rgba();
        chart.draw_series(
            configs
                .iter()
                .enumerate()
                .map(|(i, c)| Circle::new((value(c, key), y(i)), 5, color.filled())),
        )?;
        entries.push((label.to_string(), color, Mark::Dot));
    }
    legend(&side, "pause percentile", &entries, &[])?;
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
    legend(&side, "plan and mode", &entries, &LIVE_NOTE[..])?;
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
    let note: &[&str] = if sweep { &LIVE_NOTE } else { &[] };
    one("time.svg", &|p| {
        time(p, &last, &format!("{label}: wall time"), note)
    })?;
    one("pauses.svg", &|p| {
        pauses(p, &last, &format!("{label}: pause percentiles"))
    })?;
    if sweep {
        one("live.svg", &|p| live(p, configs, "live-sweep"))?;
    }
    Ok(written)
}
